"""Build and hand-check the AVA cut-pair subset that `msmesh eval --dataset ava` scores (msmesh/eval/cutpairs.py).

Workflow:

1. Run the pipeline at 1 fps on the AVA movies you want to curate from, e.g.
   ``msmesh reconstruct DIR/videos/<id>.mkv --fps 1 --start 902 --end 1799 -o RUNS/<id>``
   (or reuse the run folders ``msmesh eval --dataset ava`` leaves in ``<out>/runs/<id>/<method>/``).
2. ``propose``: for each pair of consecutive AVA keyframes t, t+1 of a video with a shot cut between them
   (the run's shots), and each AVA box at t that a tracked person overlaps, whose track also continues at
   t+1 on an AVA box there (the pipeline's re-ID linked it across the cut), add a *pending* pair whose
   keypoints are the tracker's (visible where confidence > ``--min-conf``).
3. ``review`` (interactive) or ``render`` + ``mark``: look at a PNG of both frames with the box and skeleton
   drawn and accept the pair only if it is the same person, there is a cut between the frames, and every
   keypoint marked visible is where it should be (fix or zero out wrong keypoints by editing the JSON —
   coordinates are normalised to [0, 1] — and render again). Rejected pairs stay in the file as a record.
4. ``verify``: check the file and that the videos are there.

    python tools/curate_ava_cuts.py propose --root DIR --runs RUNS --out DIR/msmesh_cuts.json
    python tools/curate_ava_cuts.py review  --root DIR --cuts DIR/msmesh_cuts.json --png pngs/
    python tools/curate_ava_cuts.py render  --root DIR --cuts DIR/msmesh_cuts.json --png pngs/ [--status all]
    python tools/curate_ava_cuts.py mark    --cuts DIR/msmesh_cuts.json --accept ID ... --reject ID ...
    python tools/curate_ava_cuts.py verify  --root DIR --cuts DIR/msmesh_cuts.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from msmesh.atomic import atomic_write_bytes
from msmesh.body.joints import COCO17_SKELETON
from msmesh.data import Tracks, load_tracks
from msmesh.errors import InputError, MsmeshError
from msmesh.eval.ava import box_iou, find_annotation_csvs, find_video, index_boxes, read_ava_csv, timestamp_to_frame
from msmesh.eval.cutpairs import CutFrame, CutPair, CutPairSet, load_cut_pairs, save_cut_pairs, to_pixels


def _run_tracks(runs: Path, video_id: str) -> Tracks | None:
    for sub in ("", "multishot", "shot", "frame"):
        p = runs / video_id / sub / "tracks.json"
        if p.is_file():
            return load_tracks(p)
    return None


def _shot_at(tracks: Tracks, frame: int) -> int | None:
    for s in tracks.shots:
        if frame in s:
            return s.id
    return None


def propose(root: Path, runs: Path, split: str | None = None, iou_min: float = 0.4, min_conf: float = 0.3,
            existing: CutPairSet | None = None) -> CutPairSet:
    """Candidate cut pairs (status pending) from the AVA CSVs and the pipeline's tracks (module docstring)."""
    csvs = find_annotation_csvs(root, split)
    if not csvs:
        raise InputError(f"{root}: no AVA annotation CSVs under annotations/ (ava_<split>_v2.x.csv)")
    boxes = index_boxes(b for c in csvs for b in read_ava_csv(c))
    out = existing or CutPairSet(source=", ".join(c.name for c in csvs))
    known = {(p.video, p.a.timestamp, p.b.timestamp, tuple(np.round(p.a.box, 3))) for p in out.pairs}
    ids = {p.id for p in out.pairs}
    for video_id in sorted({v for v, _ in boxes}):
        found = find_video(root, video_id)
        tracks = _run_tracks(runs, video_id)
        if found is None or tracks is None:
            continue
        offset = found[1]
        fps, w, h = tracks.video.fps, tracks.video.width, tracks.video.height
        stamps = sorted(t for v, t in boxes if v == video_id)
        for ta, tb in zip(stamps, stamps[1:], strict=False):
            if tb != ta + 1:
                continue
            fa, fb = timestamp_to_frame(ta, fps, offset), timestamp_to_frame(tb, fps, offset)
            sa, sb = _shot_at(tracks, fa), _shot_at(tracks, fb)
            if sa is None or sb is None or sa == sb:
                continue
            for box_a in boxes[(video_id, ta)]:
                for person in tracks.people:
                    ia, ib = (np.flatnonzero(np.abs(person.frames - f) <= fps * 0.25) for f in (fa, fb))
                    if not len(ia) or not len(ib):
                        continue
                    ia, ib = int(ia[0]), int(ib[0])
                    scale = np.array([w, h, w, h])
                    if box_iou(person.bbox[ia], box_a.box * scale) < iou_min:
                        continue
                    cands = [(box_iou(person.bbox[ib], b.box * scale), b) for b in boxes[(video_id, tb)]]
                    cands = [c for c in cands if c[0] >= iou_min]
                    if not cands:
                        continue
                    box_b = max(cands, key=lambda c: c[0])[1]
                    key = (video_id, float(ta), float(tb), tuple(np.round(box_a.box, 3)))
                    if key in known:
                        continue
                    known.add(key)
                    n = 0
                    while f"{video_id}_{ta}_{n}" in ids:
                        n += 1
                    pid = f"{video_id}_{ta}_{n}"
                    ids.add(pid)
                    sides = []
                    for idx, ab in ((ia, box_a), (ib, box_b)):
                        kp = np.asarray(person.keypoints[idx], dtype=np.float64).copy()
                        kp[:, 0] /= w
                        kp[:, 1] /= h
                        vis = (kp[:, 2] > min_conf) & np.all((kp[:, :2] >= 0) & (kp[:, :2] <= 1), axis=1)
                        kp[:, 2] = vis.astype(float)
                        kp[~vis, :2] = 0.0
                        sides.append(CutFrame(timestamp=float(ab.timestamp), box=ab.box.copy(),
                                              keypoints=kp, ava_person=ab.person))
                    out.pairs.append(CutPair(id=pid, video=video_id, a=sides[0], b=sides[1], status="pending"))
    return out


def read_frame(video: Path, frame: int) -> np.ndarray:
    """One frame (BGR) of a video by index."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
        ok, img = cap.read()
    finally:
        cap.release()
    if not ok or img is None:
        raise InputError(f"{video}: cannot read frame {frame}")
    return img


def draw_side(img: np.ndarray, side: CutFrame, label: str) -> np.ndarray:
    """The frame with the pair's box and visible keypoints (numbered) drawn on it."""
    import cv2

    img = img.copy()
    h, w = img.shape[:2]
    box, kp = to_pixels(side, w, h)
    thick = max(1, round(min(w, h) / 300))
    cv2.rectangle(img, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), (0, 255, 255), thick)
    for i, j in COCO17_SKELETON:
        if kp[i, 2] > 0 and kp[j, 2] > 0:
            cv2.line(img, (int(kp[i, 0]), int(kp[i, 1])), (int(kp[j, 0]), int(kp[j, 1])), (0, 200, 0), thick)
    for k, (x, y, v) in enumerate(kp):
        if v > 0:
            color = (255, 128, 0) if k in (1, 3, 5, 7, 9, 11, 13, 15) else (0, 0, 255)  # left blue, right red
            cv2.circle(img, (int(x), int(y)), 2 * thick + 1, color, -1)
            cv2.putText(img, str(k), (int(x) + 3, int(y) - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.3 * thick, color, 1)
    cv2.putText(img, label, (5, 10 + 12 * thick), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, (255, 255, 255), thick)
    return img


def render_pair(root: Path, pair: CutPair, out_dir: Path) -> Path:
    """Write ``out_dir/<pair id>.png``: frame a | frame b with box and keypoints; return its path."""
    import cv2

    found = find_video(root, pair.video)
    if found is None:
        raise InputError(f"video {pair.video} not found under {root}/videos")
    video, offset = found
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    sides = []
    for name, side in (("a", pair.a), ("b", pair.b)):
        img = read_frame(video, timestamp_to_frame(side.timestamp, fps, offset))
        sides.append(draw_side(img, side, f"{pair.id} {name} t={side.timestamp:g}s [{pair.status}]"))
    h = max(s.shape[0] for s in sides)
    sides = [np.pad(s, ((0, h - s.shape[0]), (0, 0), (0, 0))) for s in sides]
    ok, buf = cv2.imencode(".png", np.concatenate(sides, axis=1))
    if not ok:
        raise InputError(f"cannot encode the PNG of {pair.id}")
    path = out_dir / f"{pair.id}.png"
    atomic_write_bytes(path, buf.tobytes())
    return path


def mark(cuts: CutPairSet, accept: list[str], reject: list[str], note: str = "") -> None:
    """Set the status of the named pairs (InputError for unknown ids)."""
    by_id = cuts.by_id()
    unknown = [i for i in accept + reject if i not in by_id]
    if unknown:
        raise InputError(f"unknown pair id(s): {', '.join(unknown)}")
    for ids, status in ((accept, "accepted"), (reject, "rejected")):
        for i in ids:
            by_id[i].status = status
            if note:
                by_id[i].note = note


def verify(root: Path | None, cuts: CutPairSet) -> list[str]:
    """Problems worth a look (missing videos, visible keypoints far outside their box); empty when clean."""
    problems = []
    for p in cuts.pairs:
        if root is not None and find_video(root, p.video) is None:
            problems.append(f"{p.id}: video {p.video} not found under {root}/videos")
        for name, side in (("a", p.a), ("b", p.b)):
            vis = side.keypoints[:, 2] > 0
            if p.status == "accepted" and not vis.any():
                problems.append(f"{p.id}: {name} has no visible keypoint (nothing to score)")
            x1, y1, x2, y2 = side.box
            mx, my = 0.5 * (x2 - x1), 0.5 * (y2 - y1)
            kx, ky = side.keypoints[vis, 0], side.keypoints[vis, 1]
            if np.any((kx < x1 - mx) | (kx > x2 + mx) | (ky < y1 - my) | (ky > y2 + my)):
                problems.append(f"{p.id}: {name} has keypoints far outside its box")
    return problems


def _review(root: Path, path: Path, png: Path) -> None:
    cuts = load_cut_pairs(path)
    for pair in [p for p in cuts.pairs if p.status == "pending"]:
        shown = render_pair(root, pair, png)
        print(f"{pair.id}: open {shown}")
        answer = input("  same person, real cut, keypoints right? [a]ccept / [r]eject / [s]kip / [q]uit: ").strip()
        if answer[:1].lower() == "q":
            break
        if answer[:1].lower() in ("a", "r"):
            pair.status = "accepted" if answer[:1].lower() == "a" else "rejected"
            pair.note = input("  note (optional): ").strip()
            save_cut_pairs(path, cuts)
    print(cuts.counts())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("propose", help="candidate pairs from AVA CSVs + pipeline tracks")
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--runs", type=Path, required=True, help="folder of run folders RUNS/<video_id>/tracks.json")
    p.add_argument("--split", default=None)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--min-conf", type=float, default=0.3)
    r = sub.add_parser("render", help="write PNGs of pairs for checking")
    r.add_argument("--root", type=Path, required=True)
    r.add_argument("--cuts", type=Path, required=True)
    r.add_argument("--png", type=Path, required=True)
    r.add_argument("--status", default="pending", choices=("pending", "accepted", "rejected", "all"))
    v = sub.add_parser("review", help="interactive: render each pending pair, ask accept/reject")
    v.add_argument("--root", type=Path, required=True)
    v.add_argument("--cuts", type=Path, required=True)
    v.add_argument("--png", type=Path, required=True)
    m = sub.add_parser("mark", help="accept / reject pairs by id")
    m.add_argument("--cuts", type=Path, required=True)
    m.add_argument("--accept", nargs="*", default=[])
    m.add_argument("--reject", nargs="*", default=[])
    m.add_argument("--note", default="")
    c = sub.add_parser("verify", help="check the file (and the videos)")
    c.add_argument("--cuts", type=Path, required=True)
    c.add_argument("--root", type=Path, default=None)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "propose":
            existing = load_cut_pairs(a.out) if a.out.is_file() else None
            before = len(existing.pairs) if existing else 0
            cuts = propose(a.root, a.runs, a.split, min_conf=a.min_conf, existing=existing)
            save_cut_pairs(a.out, cuts)
            print(f"{len(cuts.pairs) - before} new pending pair(s); {cuts.counts()} in {a.out}")
        elif a.cmd == "render":
            cuts = load_cut_pairs(a.cuts)
            chosen = [q for q in cuts.pairs if a.status == "all" or q.status == a.status]
            for q in chosen:
                print(render_pair(a.root, q, a.png))
        elif a.cmd == "review":
            _review(a.root, a.cuts, a.png)
        elif a.cmd == "mark":
            cuts = load_cut_pairs(a.cuts)
            mark(cuts, a.accept, a.reject, a.note)
            save_cut_pairs(a.cuts, cuts)
            print(cuts.counts())
        elif a.cmd == "verify":
            cuts = load_cut_pairs(a.cuts)
            problems = verify(a.root, cuts)
            print(f"{a.cuts}: {cuts.counts()}")
            for line in problems:
                print("  " + line)
            return 1 if problems else 0
    except MsmeshError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
