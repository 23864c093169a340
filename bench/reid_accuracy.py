"""Tracking + re-identification accuracy on edited footage whose people are known (identity-labelled).

Cases (labels in `bench/data/reid_labels.json`, see its "about"):
- ``example``: the shipped `examples/cuts_demo.mp4` (5 shots, 2 people, two close-ups); its truth is the
  Sports2D labels mapped through each frame's crop, so it runs without any wheel.
- ``edit-SEED``: a seeded multi-camera edit (``build_reid_edit``) of the Sports2D demo and the 8 Pose2Sim
  camera views (4 people: two per scene; the Pose2Sim man is in all 8 views): shots of 10–40 frames, wide,
  punch-in, waist-up and head-and-shoulders framings, the last two centred on one labelled person. Needs the
  sports2d==0.8.34 and pose2sim==0.10.49 wheels (``--wheels``, as bench/detect_recall.py).

Each case is sampled at ``--fps`` (the pipeline's default 5), detected with ``--detector`` (cached in ``--cache``,
detection is the slow part), then tracked and linked exactly as the pipeline's track stage does
(``people.reid.identify``), with the true cuts (shot detection is benched by bench/shots_accuracy.py). Every
output person-frame is matched to a labelled box (IoU ≥ 0.3 or ≥ 60 % inside, one-to-one); people matched to
a bystander or an ambiguous box are left out. Scores:
- ``id_accuracy``: the share of matched person-frames whose identity is right, after the best one-to-one
  assignment (Hungarian) of predicted ids to true ids — a person split in two counts its smaller part wrong;
- ``coverage``: matched / labelled visible person-frames; ``identities``: predicted people that cover a
  labelled person vs the true number (fragmentation when larger), ``people``: all predicted people.
- ``errors`` (``error_types``): where the wrong person-frames come from — tracker switches, wrong links, missed
  links (and how many a within-shot duplicate blocked) — and how many duplicate tracklets are left.
``--variants`` compares re-ID cue sets (``people.reid.CUES``) on the same detections. Prints one JSON line per
case and variant, then the totals over the edits.

    .venv/bin/python bench/reid_accuracy.py --wheels /tmp/wheels [--seeds 0 1 2] [--variants colour,all]
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cut_edit import OUT_H, OUT_W, load_sources, next_shot  # noqa: E402
from detect_recall import match_pairs  # noqa: E402

from msmesh.data import Shot  # noqa: E402
from msmesh.people.detection import Detection  # noqa: E402
from msmesh.video.reader import iter_frames  # noqa: E402

LABELS = REPO / "bench" / "data" / "reid_labels.json"
EXAMPLE = REPO / "examples" / "cuts_demo.mp4"
FRAMINGS = ("wide", "punch-in", "waist-up", "close-up")


def window(image_hw: tuple[int, int], framing: str, box: list[int] | None,
           rng: np.random.Generator) -> tuple[int, int, int, int]:
    """A 16:9 crop (x, y, w, h) of a source frame: the widest, a 50–65 % punch-in on the middle, or a window on
    a person's ``box`` whose height is 60 % (waist-up) or 35 % (head and shoulders) of the body's."""
    h, w = image_hw
    full_w = min(w, h * 16 / 9)
    if framing in ("wide", "punch-in") or box is None:
        cw = full_w * (rng.uniform(0.5, 0.65) if framing == "punch-in" else 1.0)
        cx = w / 2 + rng.uniform(-0.1, 0.1) * w
        cy = (h / 2 if w > h else 0.42 * h) + rng.uniform(-0.05, 0.05) * h
        top = cy - cw * 9 / 32
    else:
        body = box[3] - box[1]
        ch = body * (0.6 if framing == "waist-up" else 0.35) * rng.uniform(0.9, 1.1)
        cw = min(full_w, ch * 16 / 9)
        cx = (box[0] + box[2]) / 2 + rng.uniform(-0.1, 0.1) * cw
        top = box[1] - 0.08 * body
    cw = int(cw)
    ch = int(cw * 9 / 16)
    x = int(np.clip(cx - cw / 2, 0, w - cw))
    y = int(np.clip(top, 0, h - ch))
    return x, y, cw, ch


def build_reid_edit(sources: dict[str, list[np.ndarray]], labels: dict, shots: int = 40,
                    seed: int = 0) -> tuple[list[np.ndarray], list[int], list[tuple[str, int, tuple]]]:
    """Edited frames (640×360), the cuts, and where every frame comes from (source, frame, crop)."""
    rng = np.random.default_rng(seed)
    position = {n: 0 for n in sources}
    frames: list[np.ndarray] = []
    cuts: list[int] = []
    origin: list[tuple[str, int, tuple]] = []
    previous = None
    for k in range(shots):
        name, start, length = next_shot(sources, position, previous, rng, (10, 41))
        source = sources[name]
        framing = str(rng.choice(FRAMINGS))
        people = [p for p in labels[name].get(str(start), []) if p[0] is not None]
        box = people[int(rng.integers(len(people)))][1:] if people else None
        crop = window(source[0].shape[:2], framing, box, rng)
        if k:
            cuts.append(len(frames))
        x, y, w, h = crop
        for i in range(start, start + length):
            frames.append(cv2.resize(source[i][y:y + h, x:x + w], (OUT_W, OUT_H),
                                     interpolation=cv2.INTER_AREA if w >= OUT_W else cv2.INTER_LINEAR))
            origin.append((name, i, crop))
        previous = name
    return frames, cuts, origin


def truth_boxes(labels: dict, name: str, index: int, crop: tuple, min_visible: float = 0.15) -> list[tuple]:
    """The labelled people (identity or None, box in output pixels) visible in a crop of a source frame: a
    person counts when at least ``min_visible`` of their box is inside and it is ≥ 10 % of the frame high."""
    x, y, w, h = crop
    scale = OUT_W / w
    out = []
    for ident, *box in labels[name].get(str(index), []):
        b = (np.asarray(box, float) - [x, y, x, y]) * scale
        c = np.clip(b, 0, [OUT_W, OUT_H, OUT_W, OUT_H])
        full = (b[2] - b[0]) * (b[3] - b[1])
        seen = (c[2] - c[0]) * (c[3] - c[1])
        if full > 0 and seen >= min_visible * full and c[3] - c[1] >= 0.1 * OUT_H:
            out.append((ident, c))
    return out


def score(people: list, truth: dict[int, list[tuple]]) -> dict:
    """id_accuracy, coverage and identity counts of predicted ``people`` (msmesh PersonTrack) against the truth
    (per frame: (identity or None, box))."""
    predicted: dict[int, list[tuple[int, np.ndarray]]] = {}
    for p in people:
        for f, box in zip(p.frames, p.bbox, strict=True):
            predicted.setdefault(int(f), []).append((p.id, box))
    ids = sorted({ident for boxes in truth.values() for ident, _ in boxes if ident is not None})
    counts = np.zeros((len(people), len(ids)), int)
    visible = sum(1 for boxes in truth.values() for ident, _ in boxes if ident is not None)
    for f, boxes in truth.items():
        mine = predicted.get(f, [])
        for i, j in match_pairs([b for _, b in boxes], [b for _, b in mine]):
            if boxes[i][0] is not None:
                counts[[p.id for p in people].index(mine[j][0]), ids.index(boxes[i][0])] += 1
    matched = int(counts.sum())
    rows, cols = linear_sum_assignment(-counts)
    correct = int(counts[rows, cols].sum())
    return {"id_accuracy": round(correct / max(matched, 1), 4), "coverage": round(matched / max(visible, 1), 4),
            "person_frames": matched, "labelled": visible, "identities": int((counts.sum(1) > 0).sum()),
            "true_identities": len(ids), "people": len(people)}


def error_types(found, truth: dict[int, list[tuple]]) -> dict:
    """Where the wrong person-frames come from, with the truth matched to every tracklet's detections (one-to-one
    per frame, as ``score``) and the best assignment of output people to true identities:
    - ``switch``: the frame is in a tracklet whose majority is another person (the tracker swapped people);
    - ``wrong_merge``: the tracklet is right but was linked into another person's cluster;
    - ``split``: the tracklet's cluster is that person's, but another cluster holds the person's identity
      (a missed merge); ``split_blocked_dup`` of them could not join because the right cluster has a tracklet of
      the same person overlapping in time (a within-shot duplicate blocks the merge);
    and ``duplicate_frames``: detections of a tracklet sitting on a true person another tracklet already covers in
    that frame, ``duplicate_tracklets``: tracklets with such a frame, ``impure_tracklets``: tracklets of ≥ 2 people."""
    clusters = [found.clusters[p.id] for p in found.tracks.people]
    per_frame: dict[int, list[tuple[int, int, np.ndarray]]] = {}
    for ci, cluster in enumerate(clusters):
        for t in cluster:
            for f, d in zip(t.frames, t.detections, strict=True):
                per_frame.setdefault(int(f), []).append((ci, t.id, d.bbox))
    frame_truth: dict[tuple[int, int], str] = {}  # (tracklet id, frame) -> true identity
    duplicate: set[tuple[int, int]] = set()
    for f, boxes in truth.items():
        mine = per_frame.get(f, [])
        pairs = match_pairs([b for _, b in boxes], [b for _, _, b in mine])
        matched_boxes = {j for _, j in pairs}
        for i, j in pairs:
            if boxes[i][0] is not None:
                frame_truth[(mine[j][1], f)] = boxes[i][0]
        for j, (_, tid, b) in enumerate(mine):
            if j not in matched_boxes and any(ident is not None and match_pairs([tb], [b])
                                              for ident, tb in boxes):
                duplicate.add((tid, f))
    ids = sorted({ident for boxes in truth.values() for ident, _ in boxes if ident is not None})
    counts = np.zeros((len(clusters), len(ids)), int)
    tracklet_major: dict[int, str] = {}
    impure = 0
    for ci, cluster in enumerate(clusters):
        for t in cluster:
            names = [frame_truth[(t.id, int(f))] for f in t.frames if (t.id, int(f)) in frame_truth]
            for n in names:
                counts[ci, ids.index(n)] += 1
            if names:
                tracklet_major[t.id] = max(sorted(set(names)), key=names.count)
                impure += len(set(names)) > 1
    rows, cols = linear_sum_assignment(-counts)
    assigned = {int(r): ids[c] for r, c in zip(rows, cols, strict=True)}
    owner = {ids[c]: int(r) for r, c in zip(rows, cols, strict=True)}
    major = [ids[int(np.argmax(row))] if row.sum() else None for row in counts]
    out = {"correct": 0, "switch": 0, "wrong_merge": 0, "split": 0, "split_blocked_dup": 0}
    for ci, cluster in enumerate(clusters):
        for t in cluster:
            for f in t.frames:
                name = frame_truth.get((t.id, int(f)))
                if name is None:
                    continue
                if assigned.get(ci) == name:
                    out["correct"] += 1
                elif tracklet_major[t.id] != name:
                    out["switch"] += 1
                elif major[ci] != name:
                    out["wrong_merge"] += 1
                else:
                    out["split"] += 1
                    right = clusters[owner[name]] if name in owner else []
                    if any(u.start <= t.end and t.start <= u.end and tracklet_major.get(u.id) == name
                           for u in right for t in cluster):
                        out["split_blocked_dup"] += 1
    out["duplicate_frames"] = len(duplicate)
    out["duplicate_tracklets"] = len({tid for tid, _ in duplicate})
    out["impure_tracklets"] = impure
    return out


def detect_cached(name: str, frames: list[tuple[int, np.ndarray]], detector_name: str,
                  cache: Path) -> dict[int, list[Detection]]:
    """Each sampled frame's detections (cached in ``cache``, detection is the slow part), with their re-ID
    colour descriptors (``appearance``) computed."""
    from msmesh.people.reid import appearance

    path = cache / f"{name}_{detector_name}.pkl"
    if path.exists():
        detections: dict[int, list[Detection]] = pickle.loads(path.read_bytes())
    else:
        from msmesh.people.detect import make_detector

        detector = make_detector(detector_name)
        detections = {f: detector(img) for f, img in frames}
        path.write_bytes(pickle.dumps(detections))
    images = dict(frames)
    for f, dets in detections.items():
        for d in dets:
            d.appearance = appearance(images[f], d)
    return detections


def shots_of(cuts: list[int], total: int) -> list[Shot]:
    """The shots between the cuts of a ``total``-frame video."""
    bounds = [0, *cuts, total]
    return [Shot(k, a, b) for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))]


def run_case(name: str, frames: list[tuple[int, np.ndarray]], cuts: list[int], total: int,
             truth: dict[int, list[tuple]], detector_name: str, cache: Path, variants: list[str],
             threshold: float) -> list[dict]:
    """Detect (or load the cached detections), then track + re-ID per variant and score."""
    from msmesh.data import VideoInfo
    from msmesh.people.reid import identify

    detections = detect_cached(name, frames, detector_name, cache)
    shots = shots_of(cuts, total)
    info = VideoInfo(source=name, fps=30.0, frame_count=total, width=OUT_W, height=OUT_H,
                     sampled_frames=[f for f, _ in frames])
    out = []
    for variant in variants:
        found = identify(detections, shots, info, min_frames=min(2, len(frames)), cues=variant,
                         threshold=threshold)
        out.append({"case": name, "variant": variant, "sampled_frames": len(frames), "shots": len(shots),
                    "tracklets": len(found.tracklets), **score(found.tracks.people, truth),
                    "errors": error_types(found, truth)})
    return out


def example_case(labels: dict, step: int) -> tuple:
    """The shipped example's sampled frames, cuts and truth."""
    crops = labels["example"]["crops"]
    frames = [(f, img) for f, img in iter_frames(EXAMPLE) if f % step == 0]
    truth = {f: truth_boxes(labels["sources"], labels["example"]["source"], f, tuple(crops[str(f)]))
             for f, _ in frames}
    cuts = [60, 100, 140, 180]  # examples/cuts_demo.cuts.json
    return frames, cuts, len(crops), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder holding the sports2d and pose2sim wheels")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--shots", type=int, default=40)
    parser.add_argument("--fps", type=float, default=5.0, help="sampling rate of the 30 fps edits")
    parser.add_argument("--detector", default="auto")
    parser.add_argument("--variants", default="colour,head,body,all")
    parser.add_argument("--threshold", type=float, default=0.4, help="linking threshold (people.reid)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/msmesh_reid_cache"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    args.cache.mkdir(parents=True, exist_ok=True)
    variants = args.variants.split(",")
    labels = json.loads(LABELS.read_text())
    step = max(1, round(30 / args.fps))
    rows = run_case("example", *example_case(labels, step), args.detector, args.cache, variants,
                        args.threshold)
    if args.wheels:
        sources = load_sources(next(args.wheels.glob("sports2d-0.8.34-*.whl")),
                               next(args.wheels.glob("pose2sim-0.10.49-*.whl")))
        for seed in args.seeds:
            edit, cuts, origin = build_reid_edit(sources, labels["sources"], args.shots, seed)
            frames = [(f, img) for f, img in enumerate(edit) if f % step == 0]
            truth = {f: truth_boxes(labels["sources"], *origin[f]) for f, _ in frames}
            rows += run_case(f"edit-{seed}", frames, cuts, len(edit), truth, args.detector, args.cache, variants,
                        args.threshold)
    for row in rows:
        print(json.dumps(row))
    for variant in variants:
        mine = [r for r in rows if r["variant"] == variant and r["case"].startswith("edit")]
        if mine:
            n = sum(r["person_frames"] for r in mine)
            print(json.dumps({"case": "edits", "variant": variant, "seeds": args.seeds,
                              "id_accuracy": round(sum(r["id_accuracy"] * r["person_frames"] for r in mine) / n, 4),
                              "identities": sum(r["identities"] for r in mine),
                              "true_identities": sum(r["true_identities"] for r in mine),
                              "coverage": round(n / sum(r["labelled"] for r in mine), 4)}))


if __name__ == "__main__":
    main()
