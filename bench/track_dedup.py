"""Within-shot duplicate merging (people.track.merge_duplicates) on the labelled source clips, where two people
stand close: it must remove second readings of one person and never merge the two people.

The Sports2D demo and the 4 Pose2Sim multi-person cameras (2 labelled people each, labels in
`bench/data/reid_labels.json`) are framed wide and as a punch-in (``reid_accuracy.window``, 640×360), detected
with ``--detector`` on every frame (every 2nd of Sports2D; cached in ``--cache``) and tracked as one shot each,
with and without the merging. Per clip and in total:
- ``covered``: labelled person-frames matched one-to-one by a tracklet's detection (a merge of two people loses
  one of them in that frame, so this must not drop);
- ``impure``: tracklets carrying frames of two labelled people; ``tracklets``: how many;
- ``people_lost``: labelled people of a frame that a reading overlapped best before the merging and none after
  (a merge of two people; ``covered`` can also drop when a second reading of one person had been matched to
  the other person's box, which is why both are printed);
and over all frames, ``pose_distance`` (smaller box's diagonal) of every pair of detections of one frame on
two different labelled people (``different_min``) vs on the same one (``same_*``), against the merge
threshold. ``--fixture PATH`` writes the detections of two short pieces (close people: m3 wide frames 18–39;
duplicates: m2 punch-in frames 12–23) with their labels, for tests/test_track_dedup.py.

    .venv/bin/python bench/track_dedup.py --wheels /tmp/wheels [--fixture tests/data/track_dedup.json]
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cut_edit import OUT_H, OUT_W, load_sources  # noqa: E402
from detect_recall import match_pairs  # noqa: E402
from reid_accuracy import LABELS, truth_boxes, window  # noqa: E402

from msmesh.data import Shot  # noqa: E402
from msmesh.people.detection import Detection  # noqa: E402
from msmesh.people.track import Tracklet, pose_distance, track_shots  # noqa: E402

CLIPS = ("s2d", "m1", "m2", "m3", "m4")
FIXTURE_PIECES = {"close_people": ("m3", "wide", 18, 39), "duplicates": ("m2", "punch-in", 12, 23)}
Clip = list[tuple[int, list[Detection], list[tuple]]]  # (source frame, detections, truth)


def detect_clips(wheels: Path, detector_name: str, cache: Path) -> dict[tuple[str, str], Clip]:
    """Every clip's frames detected (from the cache when there), with the labelled boxes of each frame."""
    path = cache / f"track_dedup_{detector_name}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    from msmesh.people.detect import make_detector

    labels = json.loads(LABELS.read_text())["sources"]
    sources = load_sources(next(wheels.glob("sports2d-0.8.34-*.whl")), next(wheels.glob("pose2sim-0.10.49-*.whl")))
    detector = make_detector(detector_name)
    rng = np.random.default_rng(7)
    out: dict[tuple[str, str], Clip] = {}
    for name in CLIPS:
        frames = sources[name]
        for framing in ("wide", "punch-in"):
            x, y, w, h = crop = window(frames[0].shape[:2], framing, None, rng)
            clip = []
            for i in range(0, len(frames), 2 if name == "s2d" else 1):
                img = cv2.resize(frames[i][y:y + h, x:x + w], (OUT_W, OUT_H),
                                 interpolation=cv2.INTER_AREA if w >= OUT_W else cv2.INTER_LINEAR)
                clip.append((i, detector(img), truth_boxes(labels, name, i, crop)))
            out[(name, framing)] = clip
    path.write_bytes(pickle.dumps(out))
    return out


def labelled(tracklets: list[Tracklet], clip: Clip) -> dict[tuple[int, int], str]:
    """(tracklet id, frame) → the labelled person its detection is matched to (one-to-one per frame)."""
    out = {}
    for f, _, truth in clip:
        mine = [(t.id, d) for t in tracklets for g, d in zip(t.frames, t.detections, strict=True) if g == f]
        for i, j in match_pairs([b for _, b in truth], [d.bbox for _, d in mine]):
            if truth[i][0] is not None:
                out[(mine[j][0], f)] = truth[i][0]
    return out


def person_of(det: Detection, truth: list[tuple]) -> str | None:
    """The labelled person whose box the detection overlaps best (as bench/detect_recall matches), or None."""
    from msmesh.people.track import box_iou

    hits = [(box_iou(np.asarray(b, float), det.bbox), ident) for ident, b in truth
            if ident is not None and match_pairs([b], [det.bbox])]
    return max(hits, key=lambda h: h[0])[1] if hits else None


def clip_scores(clip: Clip) -> dict:
    """Tracklets, covered person-frames and impure tracklets without and with the merging, and ``people_lost``:
    labelled people of a frame that some reading overlapped best before the merging and none after."""
    detections = {f: dets for f, dets, _ in clip}
    truth = {f: t for f, _, t in clip}
    row: dict = {}
    present: dict[bool, set[tuple[int, str | None]]] = {}
    for dedup in (False, True):
        tracklets = track_shots(detections, [Shot(0, 0, 10**6)], dedup=dedup)
        names = labelled(tracklets, clip)
        impure = sum(len({n for (tid, _), n in names.items() if tid == t.id}) > 1 for t in tracklets)
        key = "merged" if dedup else "plain"
        row[key] = {"tracklets": len(tracklets), "covered": len(names), "impure": impure}
        present[dedup] = {(f, person_of(d, truth[f])) for t in tracklets
                          for f, d in zip(t.frames, t.detections, strict=True)}
    row["people_lost"] = sum(1 for _, who in present[False] - present[True] if who is not None)
    return row


def pair_distances(clips: dict[tuple[str, str], Clip]) -> dict:
    """pose_distance of detection pairs of one frame on two different labelled people vs on one person."""
    same, different = [], []
    for clip in clips.values():
        for _, dets, truth in clip:
            who = [person_of(d, truth) for d in dets]
            for i in range(len(dets)):
                for j in range(i + 1, len(dets)):
                    d = pose_distance(dets[i], dets[j], 3, "smaller")
                    if who[i] is None or who[j] is None or d is None:
                        continue
                    (same if who[i] == who[j] else different).append(d)
    return {"different_pairs": len(different), "different_min": round(min(different), 4),
            "different_p5": round(float(np.percentile(different, 5)), 4), "same_pairs": len(same),
            "same_median": round(float(np.median(same)), 4),
            "same_below_0.12": int(sum(d <= 0.12 for d in same))}


def write_fixture(clips: dict[tuple[str, str], Clip], path: Path) -> None:
    """The two pieces' detections (box, keypoints, landmarks rounded) with each one's labelled person."""
    def person(det: Detection, truth: list[tuple]) -> dict:
        out = {"bbox": np.round(det.bbox, 1).tolist(), "keypoints": np.round(det.keypoints, 1).tolist(),
               "score": round(float(det.score), 3), "person": person_of(det, truth)}
        if det.landmarks is not None:
            out["landmarks"] = np.round(det.landmarks, 1).tolist()
        return out

    pieces = {}
    for piece, (name, framing, first, last) in FIXTURE_PIECES.items():
        pieces[piece] = [{"frame": f, "people": [person(d, truth) for d in dets]}
                         for f, dets, truth in clips[(name, framing)] if first <= f <= last]
    about = ("msmesh's auto detector on Pose2Sim multi-person demo frames (pose2sim 0.10.49, BSD-3-Clause), "
             "framed as bench/track_dedup.py does; person = the labelled person (bench/data/reid_labels.json) "
             "the box overlaps best. Written by `python bench/track_dedup.py --fixture`.")
    path.write_text(json.dumps({"about": about, "pieces": pieces}, separators=(",", ":")) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, required=True, help="folder holding the sports2d and pose2sim wheels")
    parser.add_argument("--detector", default="auto")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/msmesh_reid_cache"))
    parser.add_argument("--fixture", type=Path, help="write the test fixture here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    args.cache.mkdir(parents=True, exist_ok=True)
    clips = detect_clips(args.wheels, args.detector, args.cache)
    total: dict[str, dict[str, int]] = {"plain": {}, "merged": {}}
    lost = 0
    for (name, framing), clip in clips.items():
        row = clip_scores(clip)
        print(json.dumps({"clip": name, "framing": framing, **row}))
        for key in ("plain", "merged"):
            for k, v in row[key].items():
                total[key][k] = total[key].get(k, 0) + v
        lost += row["people_lost"]
    print(json.dumps({"clip": "all", **total, "people_lost": lost, **pair_distances(clips)}))
    if args.fixture:
        write_fixture(clips, args.fixture)


if __name__ == "__main__":
    main()
