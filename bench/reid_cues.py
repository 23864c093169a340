"""How well each re-ID cue tells one person from another, before it is used for linking: AUC over tracklet pairs.

The tracklets of bench/reid_accuracy.py's seeded edits (same detections, cache and tracker: ``track_shots`` and
the label-flip fix of the track stage) get a true identity each (the labelled person most of their detections
match, one-to-one per frame); every pair of labelled tracklets that do not overlap in time (the pairs re-ID may
link) is same person or not. Per cue (``people.reid``), the AUC of its similarity at separating the two, over
the pairs where both tracklets have the cue, for all pairs, the two Pose2Sim people only (``p2s``: the
shirtless man and the woman in grey), and the two women of the two demos only (``women``):
- ``torso``, ``legs``, ``head``: Bhattacharyya coefficient of one region's colour histogram;
- ``head_set``: ``similarity`` with the pipeline's cue set (torso, legs, head, equal weights, the regions both
  have);
- ``bones``: ``bone_similarity`` of the median bone lengths from the world landmarks;
- ``calibrated``: per-region reliability weighting — each region's coefficient turned into a log-likelihood
  ratio by a logistic fit (same vs different) on these pairs, summed over the regions both have. In-sample:
  fit and scored on the same seeds, so an upper bound for what that weighting can add.
Pairs, not end-to-end accuracy: a cue can score better here and still link worse (bench/reid_accuracy.py
is the judge). Prints one JSON line per cue and a line with the fitted per-region weights.

    .venv/bin/python bench/reid_cues.py --wheels /tmp/wheels [--seeds 100 101 102]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.stats import mannwhitneyu

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cut_edit import load_sources  # noqa: E402
from detect_recall import match_pairs  # noqa: E402
from reid_accuracy import LABELS, build_reid_edit, detect_cached, shots_of, truth_boxes  # noqa: E402

from msmesh.people import reid  # noqa: E402
from msmesh.people.flips import fix_label_flips  # noqa: E402
from msmesh.people.track import Tracklet, track_shots  # noqa: E402


def tracklet_identity(tracklets: list[Tracklet], truth: dict[int, list[tuple]]) -> dict[int, str]:
    """Each tracklet's true identity: the labelled person most of its detections match (one-to-one per frame,
    as bench/reid_accuracy.py scores); tracklets matching no labelled person are left out."""
    per_frame: dict[int, list[tuple[int, np.ndarray]]] = {}
    for t in tracklets:
        for f, d in zip(t.frames, t.detections, strict=True):
            per_frame.setdefault(int(f), []).append((t.id, d.bbox))
    names: dict[int, list[str]] = {}
    for f, boxes in truth.items():
        mine = per_frame.get(f, [])
        for i, j in match_pairs([b for _, b in boxes], [b for _, b in mine]):
            if boxes[i][0] is not None:
                names.setdefault(mine[j][0], []).append(boxes[i][0])
    return {tid: max(sorted(set(n)), key=n.count) for tid, n in names.items()}


def region_similarity(a: reid.Descriptor, b: reid.Descriptor, k: int) -> float:
    """Bhattacharyya coefficient of region ``k``'s histograms; NaN when either tracklet lacks the region."""
    sa, sb = a.colour[reid.REGION_SLICES[k]], b.colour[reid.REGION_SLICES[k]]
    return float(np.sqrt(sa * sb).sum()) if sa.sum() > 0 and sb.sum() > 0 else float("nan")


def auc(scores: np.ndarray, same: np.ndarray) -> float | None:
    """Probability that a same-person pair scores above a different-person pair (ties count half)."""
    ok = ~np.isnan(scores)
    pos, neg = scores[ok & same], scores[ok & ~same]
    if not len(pos) or not len(neg):
        return None
    return round(float(mannwhitneyu(pos, neg).statistic) / (len(pos) * len(neg)), 4)


def logistic_weights(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(offset, slope) of log-odds(same) = offset + slope × score − log-odds of the base rate (a log-likelihood
    ratio), fitted by maximum likelihood over the pairs that have the score."""
    ok = ~np.isnan(scores)
    x, y = scores[ok], same[ok].astype(float)

    def nll(p: np.ndarray) -> float:
        z = p[0] + p[1] * x
        return float(np.sum(np.logaddexp(0.0, z) - y * z))

    p = minimize(nll, np.array([0.0, 1.0])).x
    return float(p[0] - np.log(y.mean() / (1 - y.mean()))), float(p[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, required=True, help="folder holding the sports2d and pose2sim wheels")
    parser.add_argument("--seeds", type=int, nargs="*", default=[100, 101, 102])
    parser.add_argument("--shots", type=int, default=40)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--detector", default="auto")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/msmesh_reid_cache"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    labels = json.loads(LABELS.read_text())
    sources = load_sources(next(args.wheels.glob("sports2d-0.8.34-*.whl")),
                           next(args.wheels.glob("pose2sim-0.10.49-*.whl")))
    step = max(1, round(30 / args.fps))
    pairs: list[tuple[str, str, reid.Descriptor, reid.Descriptor]] = []
    for seed in args.seeds:
        edit, cuts, origin = build_reid_edit(sources, labels["sources"], args.shots, seed)
        frames = [(f, img) for f, img in enumerate(edit) if f % step == 0]
        truth = {f: truth_boxes(labels["sources"], *origin[f]) for f, _ in frames}
        tracklets = track_shots(detect_cached(f"edit-{seed}", frames, args.detector, args.cache),
                                shots_of(cuts, len(edit)))
        for t in tracklets:
            fix_label_flips(t)
        who = tracklet_identity(tracklets, truth)
        known = [t for t in tracklets if t.id in who]
        desc = {t.id: reid.tracklet_descriptor([d.appearance for d in t.detections],
                                               [reid.bone_lengths(d) for d in t.detections]) for t in known}
        pairs += [(who[a.id], who[b.id], desc[a.id], desc[b.id]) for a, b in itertools.combinations(known, 2)
                  if not (a.start <= b.end and b.start <= a.end)]
    same = np.array([a == b for a, b, _, _ in pairs])
    groups = {"all": np.ones(len(pairs), bool),
              "p2s": np.array([{a, b} <= {"p2s_man", "p2s_woman"} for a, b, _, _ in pairs]),
              "women": np.array([{a, b} <= {"p2s_woman", "s2d_woman"} for a, b, _, _ in pairs])}
    regions = {name: np.array([region_similarity(x, y, k) for _, _, x, y in pairs])
               for k, name in enumerate(reid.REGIONS)}
    weights = {name: logistic_weights(s, same) for name, s in regions.items()}
    llr = np.array([sum(weights[n][0] + weights[n][1] * regions[n][i] for n in reid.REGIONS
                        if not np.isnan(regions[n][i])) if any(not np.isnan(regions[n][i]) for n in reid.REGIONS)
                    else np.nan for i in range(len(pairs))])
    cues = {**regions,
            "head_set": np.array([reid.similarity(x, y, "head") if any(not np.isnan(regions[n][i])
                                                                       for n in reid.REGIONS) else np.nan
                                  for i, (_, _, x, y) in enumerate(pairs)]),
            "bones": np.array([s if (s := reid.bone_similarity(x.bones, y.bones)) is not None else np.nan
                               for _, _, x, y in pairs]),
            "calibrated": llr}
    for name, s in cues.items():
        row = {"cue": name, "seeds": args.seeds}
        for g, mask in groups.items():
            row[f"auc_{g}"] = auc(np.where(mask, s, np.nan), same)
            row[f"pairs_{g}"] = int((mask & ~np.isnan(s)).sum())
        print(json.dumps(row))
    print(json.dumps({"calibrated_weights": {n: [round(a, 3), round(b, 3)] for n, (a, b) in weights.items()},
                      "pairs": len(pairs), "same_pairs": int(same.sum())}))


if __name__ == "__main__":
    main()
