"""`msmesh eval --dataset ava`: cross-shot PCK (and same-frame PCK) on AVA cuts — the paper's Tables 1–3.

Expected layout of ``--root DIR`` (the official AVA v2.x release, as the AVA download scripts leave it):

    DIR/annotations/ava_val_v2.2.csv    (or ava_train_v2.x.csv; any ava_*_v2.*.csv) — no header, one row per
                                        (box, action): video_id, timestamp, x1, y1, x2, y2, action_id, person_id;
                                        timestamps are whole seconds of the movie (keyframes 902..1798, 1 fps),
                                        boxes normalised to [0, 1]
    DIR/videos/<video_id>.<mkv|mp4|webm>          full movies  (timestamps = seconds of the file), or
    DIR/videos_15min/<video_id>.<mkv|mp4|webm>    the 15-minute clips cut at 900 s (timestamp t ↔ t − 900 s)
    DIR/msmesh_cuts.json                the curated cut pairs (msmesh/eval/cutpairs.py; or pass ``cuts=``),
                                        made with tools/curate_ava_cuts.py

What ``run_ava`` does, per video that has accepted cut pairs:
1. runs the pipeline at 1 fps over the video's annotated range (min..max timestamp of that video in the
   CSVs, else 902..1798 s) once per method — ``frame``/``shot``/``multishot`` (the optimizer, Table 1) and
   ``hmr``/``thmmr`` (the regressors, Tables 2–3). Detection, tracking and re-identification (which links
   tracklets across cuts) are the pipeline's; how a video becomes (tracks, fit) is an injected
   ``processor(video, run_dir, method, start_s, end_s) → (Tracks, FitResult)`` so other front ends (and the
   tests) can plug in;
2. matches each pair to the reconstructed person whose boxes overlap the pair's boxes at both frames
   (IoU ≥ ``iou_min``; a pair whose two frames land on different people — a re-ID miss — or on nobody
   counts as a miss: all its keypoints wrong);
3. predicts 2D keypoints: *same-frame* — each frame's own body projected into it; *cross-shot* — the body
   pose (θ_b, β) of frame t placed with frame t+1's global orientation and translation and projected into
   t+1, and vice versa (the cut changes the camera, not the pose: see msmesh.eval.metrics);
4. scores PCK@α (α = 0.1 of the longer side of the curated box) over the visible curated keypoints.

Robustness: a missing video or a video that fails to decode is skipped and counted (never a crash); per
video and method the predictions are cached in ``out_dir/cache`` and the pipeline's run folders in
``out_dir/runs`` resume, so an interrupted evaluation continues where it stopped.
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from msmesh.data import FitResult, Tracks
from msmesh.errors import FormatError, InputError, NoPeopleError
from msmesh.eval import report
from msmesh.eval.cutpairs import CutPair, load_cut_pairs, to_pixels
from msmesh.eval.metrics import pck_hits
from msmesh.fit.camera import project_np
from msmesh.options import FIT_MODES
from msmesh.people.track import box_iou
from msmesh.video.reader import probe

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

AVA_FIRST_KEYFRAME = 902
AVA_LAST_KEYFRAME = 1798
AVA_CLIP_START = 900  # videos_15min clips start at 900 s of the movie
VIDEO_EXTS = (".mkv", ".mp4", ".webm", ".avi", ".mov")
FIT_METHODS = FIT_MODES
REGRESS_METHODS = ("hmr", "thmmr")
METHODS = FIT_METHODS + REGRESS_METHODS
CUTS_FILE = "msmesh_cuts.json"
LAYOUT = ("expected the AVA layout DIR/annotations/ava_<split>_v2.<n>.csv (video_id, timestamp, x1, y1, x2, y2, "
          "action_id, person_id), DIR/videos/<video_id>.<mkv|mp4|webm> (or DIR/videos_15min/) and the curated "
          f"cut pairs DIR/{CUTS_FILE} (make it with tools/curate_ava_cuts.py)")

Processor = Callable[[Path, Path, str, float, float], tuple[Tracks, FitResult]]
"""``processor(video, run_dir, method, start_s, end_s) → (tracks, fit)`` — times in seconds of the file."""


# --------------------------------------------------------------------------- annotations and videos


@dataclass
class AvaBox:
    """One annotated person box at one keyframe (the actions of the same box merged)."""

    video: str
    timestamp: int
    box: np.ndarray  # (4,) normalised x1, y1, x2, y2
    person: int
    actions: tuple[int, ...] = ()


def read_ava_csv(path: str | os.PathLike[str]) -> list[AvaBox]:
    """Parse an AVA v2.x annotation CSV (no header; 8 columns, or 7 without person_id) into merged boxes."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: AVA annotation CSV not found; {LAYOUT}")
    merged: dict[tuple[str, int, int, tuple[float, ...]], AvaBox] = {}
    try:
        with p.open(newline="", encoding="utf-8") as f:
            for lineno, row in enumerate(csv.reader(f), start=1):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) not in (7, 8):
                    raise FormatError(p, f"line {lineno}", f"expected 8 columns (video_id, timestamp, x1, y1, x2, "
                                      f"y2, action_id, person_id), got {len(row)}")
                try:
                    ts = float(row[1])
                    box = tuple(float(v) for v in row[2:6])
                    action = int(row[6]) if row[6].strip() else 0
                    person = int(row[7]) if len(row) == 8 and row[7].strip() else -1
                except ValueError as exc:
                    raise FormatError(p, f"line {lineno}", f"not a number: {exc}") from exc
                if not ts.is_integer():
                    raise FormatError(p, f"line {lineno}", f"timestamp {row[1]!r} is not a whole second")
                if not (0 <= box[0] < box[2] <= 1.0001 and 0 <= box[1] < box[3] <= 1.0001):
                    raise FormatError(p, f"line {lineno}", "box must be normalised x1 < x2, y1 < y2 in [0, 1]")
                key = (row[0].strip(), int(ts), person, box)
                if key in merged:
                    merged[key].actions += (action,)
                else:
                    merged[key] = AvaBox(video=key[0], timestamp=int(ts), box=np.array(box), person=person,
                                         actions=(action,))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read: {exc}") from exc
    return list(merged.values())


def find_annotation_csvs(root: str | os.PathLike[str], split: str | None = None) -> list[Path]:
    """The AVA annotation CSVs under ``root/annotations`` (or ``root``), optionally of one split."""
    root = Path(root)
    found: list[Path] = []
    for folder in (root / "annotations", root):
        if folder.is_dir():
            found += sorted(p for p in folder.glob("ava_*_v2.*.csv")
                            if "excluded" not in p.name and "predicted" not in p.name
                            and (split is None or p.name.startswith(f"ava_{split}_")))
        if found:
            break
    return found


def index_boxes(boxes: Iterable[AvaBox]) -> dict[tuple[str, int], list[AvaBox]]:
    """Boxes grouped by (video_id, timestamp)."""
    out: dict[tuple[str, int], list[AvaBox]] = {}
    for b in boxes:
        out.setdefault((b.video, b.timestamp), []).append(b)
    return out


def annotated_range(boxes: Iterable[AvaBox]) -> dict[str, tuple[int, int]]:
    """Per video, the first and last annotated keyframe timestamp."""
    out: dict[str, tuple[int, int]] = {}
    for b in boxes:
        lo, hi = out.get(b.video, (b.timestamp, b.timestamp))
        out[b.video] = (min(lo, b.timestamp), max(hi, b.timestamp))
    return out


def find_video(root: str | os.PathLike[str], video_id: str) -> tuple[Path, float] | None:
    """``(path, time offset)`` of a video: ``videos/`` (offset 0) or ``videos_15min/`` (offset 900 s)."""
    root = Path(root)
    for folder, offset in (("videos", 0.0), ("videos_15min", float(AVA_CLIP_START))):
        for ext in VIDEO_EXTS:
            p = root / folder / f"{video_id}{ext}"
            if p.is_file():
                return p, offset
    return None


def timestamp_to_frame(timestamp: float, fps: float, offset: float = 0.0) -> int:
    """The frame index of an AVA timestamp (seconds of the movie) in a file that starts ``offset`` s in."""
    return int(round((timestamp - offset) * fps))


def check_root(root: str | os.PathLike[str]) -> Path:
    """``root`` as a Path, or an InputError naming the expected layout."""
    p = Path(root)
    if not p.is_dir():
        raise InputError(f"{p}: AVA folder not found; {LAYOUT}")
    if not (p / "videos").is_dir() and not (p / "videos_15min").is_dir():
        raise InputError(f"{p}: no videos/ (or videos_15min/) folder; {LAYOUT}")
    return p


# --------------------------------------------------------------------------- matching and prediction


@dataclass
class PairMatch:
    """Which fitted person and which of its frames stand for a cut pair (``None`` when unmatched)."""

    person: int | None
    index_a: int | None = None
    index_b: int | None = None
    unlinked: bool = False  # both frames were found, but on different people (a re-ID miss across the cut)


def _frame_index(frames: np.ndarray, target: int, tol: float) -> int | None:
    if len(frames) == 0:
        return None
    i = int(np.argmin(np.abs(frames - target)))
    return i if abs(int(frames[i]) - target) <= tol else None


def match_pair(pair: CutPair, tracks: Tracks, result: FitResult, offset: float = 0.0, iou_min: float = 0.4,
               tol_s: float = 0.25) -> PairMatch:
    """Find the fitted person whose boxes overlap the pair's boxes at both of its frames."""
    fps, w, h = tracks.video.fps, tracks.video.width, tracks.video.height
    fa, fb = (timestamp_to_frame(f.timestamp, fps, offset) for f in (pair.a, pair.b))
    box_a, _ = to_pixels(pair.a, w, h)
    box_b, _ = to_pixels(pair.b, w, h)
    tol = tol_s * fps
    best: tuple[float, PairMatch] | None = None
    seen_a = seen_b = False
    for seq in result.people:
        try:
            track = tracks.person(seq.id)
        except KeyError:
            continue
        ia, ib = _frame_index(seq.frames, fa, tol), _frame_index(seq.frames, fb, tol)
        ta = _frame_index(track.frames, fa, tol)
        tb = _frame_index(track.frames, fb, tol)
        iou_a = box_iou(track.bbox[ta], box_a) if ta is not None and ia is not None else 0.0
        iou_b = box_iou(track.bbox[tb], box_b) if tb is not None and ib is not None else 0.0
        seen_a |= iou_a >= iou_min
        seen_b |= iou_b >= iou_min
        if iou_a >= iou_min and iou_b >= iou_min:
            score = min(iou_a, iou_b)
            if best is None or score > best[0]:
                best = (score, PairMatch(person=seq.id, index_a=ia, index_b=ib))
    if best is not None:
        return best[1]
    return PairMatch(person=None, unlinked=seen_a and seen_b)


def predict_pair(result: FitResult, match: PairMatch, body_model: BodyModel) -> tuple[np.ndarray, np.ndarray]:
    """(same-frame (2,17,2), cross-shot (2,17,2)) predicted pixels for a matched pair; index 0 = frame a.

    cross[1] is frame a's pose placed in frame b's camera pose (scored against b's keypoints); cross[0] is
    frame b's pose placed in frame a's (scored against a's).
    """
    assert match.person is not None and match.index_a is not None and match.index_b is not None
    seq = result.person(match.person)
    ia, ib = match.index_a, match.index_b
    # rows: same a, same b, a→b (pose a, placement b), b→a (pose b, placement a)
    pose_idx = [ia, ib, ia, ib]
    place_idx = [ia, ib, ib, ia]
    arrays = (np.asarray(seq.global_orient)[place_idx], np.asarray(seq.body_pose)[pose_idx],
              np.tile(np.asarray(seq.betas, dtype=np.float32), (4, 1)), np.asarray(seq.transl)[place_idx])
    with torch.no_grad():
        go, bp, be, tr = (torch.as_tensor(a, dtype=torch.float32) for a in arrays)
        _, c17 = body_model.joints_only(go, bp, be, tr)
    uv = project_np(c17.cpu().numpy(), result.focal, result.center)
    return uv[[0, 1]], uv[[3, 2]]


# --------------------------------------------------------------------------- scoring


def score_ava(gt: np.ndarray, size: np.ndarray, pred_same: np.ndarray, pred_cross: np.ndarray,
              alpha: float = 0.1) -> dict[str, float | int]:
    """Same-frame and cross-shot PCK@α of P pairs.

    gt (P,2,17,3) pixels + visibility, size (P,2) box sizes in pixels, predictions (P,2,17,2) with NaN for
    unmatched pairs (which therefore score 0 on every visible keypoint).
    """
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 17, 3)
    vis = gt[..., 2] > 0
    sz = np.asarray(size, dtype=np.float64).reshape(-1)
    out: dict[str, float | int] = {}
    for name, pred in (("same_frame_pck", pred_same), ("cross_shot_pck", pred_cross)):
        p = np.asarray(pred, dtype=np.float64).reshape(-1, 17, 2)
        with np.errstate(invalid="ignore"):
            hits, n = pck_hits(p, gt[..., :2], vis, sz, alpha)
        out[name] = hits / n if n else float("nan")
    out["keypoints"] = int(vis.sum())
    return out


# --------------------------------------------------------------------------- the default processor


FRONT_END_FILES = ("video.json", "shots.json", "detections.json", "tracks.json", "reid.json", "run.json")


def _seed_front_end(run_dir: Path, folder: Path) -> None:
    """Copy a finished sibling run's front-end files into a new method folder (the fit stage still reruns)."""
    import shutil

    if (folder / "run.json").exists() or not run_dir.is_dir():
        return
    for sibling in sorted(p for p in run_dir.iterdir() if p.is_dir() and p != folder):
        if all((sibling / name).exists() for name in FRONT_END_FILES):
            folder.mkdir(parents=True, exist_ok=True)
            for name in FRONT_END_FILES:
                shutil.copy2(sibling / name, folder / name)
            return


def pipeline_processor(body_model: str = "open", device: str = "auto", weights: str | None = None,
                       detector: str | None = None, progress=None) -> Processor:
    """The processor ``msmesh eval`` uses: :class:`msmesh.pipeline.Pipeline` at 1 fps, one run folder per method.

    Each method gets its own run folder (``run_dir/<method>``). A new method folder is seeded with the front
    end (decode, shots, detection, tracking, re-ID) of a sibling method's folder, so the pipeline's resume runs
    only the fit for every method after the first; a repeated evaluation resumes everything.
    """
    def process(video: Path, run_dir: Path, method: str, start: float, end: float) -> tuple[Tracks, FitResult]:
        from msmesh.data import load_smpl, load_tracks
        from msmesh.options import PipelineOptions
        from msmesh.pipeline import Pipeline

        opts: dict[str, Any] = dict(fps=1.0, start=start, end=end, body_model=body_model, device=device,
                                    video=False, glb=False, save_mesh=False)
        if detector is not None:
            opts["detector"] = detector
        if method in FIT_METHODS:
            opts.update(method="optimize", fit_mode=method, init="heuristic")  # evaluations keep the mean-pose start
        else:
            opts.update(method="regress", temporal=(method == "thmmr"), weights=weights)
        folder = run_dir / method
        _seed_front_end(run_dir, folder)
        Pipeline(video, folder, PipelineOptions(**opts), progress=progress).run()
        return load_tracks(folder / "tracks.json"), load_smpl(folder / "smpl.npz")

    process.cache_key = {"processor": "pipeline", "body_model": body_model, "weights": weights,  # type: ignore
                         "detector": detector}
    return process


# --------------------------------------------------------------------------- the evaluation


def _body_model_cache(injected: BodyModel | None) -> Callable[[str], BodyModel]:
    models: dict[str, BodyModel] = {}

    def get(name: str) -> BodyModel:
        if injected is not None:
            return injected
        if name not in models:
            from msmesh.body import load_body_model

            models[name] = load_body_model(name)
        return models[name]

    return get


def _video_arrays(pairs: Sequence[CutPair], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    gt = np.zeros((len(pairs), 2, 17, 3))
    size = np.zeros((len(pairs), 2))
    for i, p in enumerate(pairs):
        for j, fr in enumerate((p.a, p.b)):
            box, kp = to_pixels(fr, width, height)
            gt[i, j] = kp
            size[i, j] = max(box[2] - box[0], box[3] - box[1])
    return gt, size


def evaluate_video(pairs: Sequence[CutPair], tracks: Tracks, result: FitResult, body_model: BodyModel,
                   offset: float = 0.0, iou_min: float = 0.4) -> dict[str, np.ndarray]:
    """Predictions for one video's pairs (arrays as stored in the cache and the predictions file)."""
    n = len(pairs)
    gt, size = _video_arrays(pairs, tracks.video.width, tracks.video.height)
    same = np.full((n, 2, 17, 2), np.nan)
    cross = np.full((n, 2, 17, 2), np.nan)
    matched = np.zeros(n, dtype=bool)
    unlinked = np.zeros(n, dtype=bool)
    for i, pair in enumerate(pairs):
        m = match_pair(pair, tracks, result, offset, iou_min)
        unlinked[i] = m.unlinked
        if m.person is None:
            continue
        matched[i] = True
        same[i], cross[i] = predict_pair(result, m, body_model)
    return {"pair_ids": np.array([p.id for p in pairs]), "gt": gt, "size": size, "pred_same": same,
            "pred_cross": cross, "matched": matched, "unlinked": unlinked}


def run_ava(root: str | os.PathLike[str], cuts: str | os.PathLike[str] | None = None,
            methods: Sequence[str] = FIT_METHODS, out_dir: str | os.PathLike[str] | None = None,
            alpha: float = 0.1, iou_min: float = 0.4, split: str | None = None,
            processor: Processor | None = None, body_model: BodyModel | None = None,
            save_predictions_to: str | os.PathLike[str] | None = None,
            progress: report.Progress | None = None) -> dict[str, Any]:
    """Evaluate ``methods`` on the accepted pairs of the cut-pair file (module docstring); result dict rows."""
    root = check_root(root)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown AVA method(s) {unknown} (expected some of {', '.join(METHODS)})")
    cuts_path = Path(cuts) if cuts is not None else root / CUTS_FILE
    if not cuts_path.is_file():
        raise InputError(f"{cuts_path}: cut-pair file not found; {LAYOUT}")
    cut_set = load_cut_pairs(cuts_path)
    pairs = cut_set.accepted()
    if not pairs:
        raise InputError(f"{cuts_path}: no accepted cut pairs to evaluate ({cut_set.counts()}); review them with "
                         "tools/curate_ava_cuts.py")
    csvs = find_annotation_csvs(root, split)
    ranges = annotated_range(b for c in csvs for b in read_ava_csv(c))
    notes = [] if csvs else [f"no annotation CSVs under {root}/annotations: the default AVA range "
                             f"{AVA_FIRST_KEYFRAME}..{AVA_LAST_KEYFRAME} s was processed"]
    out = Path(out_dir) if out_dir is not None else Path("eval-runs") / "ava"
    cache = report.ItemCache(out / "cache")
    processor = processor or pipeline_processor()
    proc_key = getattr(processor, "cache_key", getattr(processor, "__name__", "custom"))
    bm_for = _body_model_cache(body_model)
    by_video: dict[str, list[CutPair]] = {}
    for p in pairs:
        by_video.setdefault(p.video, []).append(p)
    skipped = report.SkipLog()
    items = []
    for video_id, vpairs in sorted(by_video.items()):
        found = find_video(root, video_id)
        if found is None:
            skipped.add(video_id, f"video file not found (looked for videos/{video_id}.<{'|'.join(VIDEO_EXTS)}>); "
                        f"{len(vpairs)} pair(s) not scored")
            continue
        path, offset = found
        first, last = ranges.get(video_id, (AVA_FIRST_KEYFRAME, AVA_LAST_KEYFRAME))
        lo = min([float(first)] + [p.a.timestamp for p in vpairs])
        hi = max([float(last)] + [p.b.timestamp for p in vpairs])
        start, end = max(0.0, lo - offset), hi - offset + 0.5
        for method in methods:
            key = report.digest({"pairs": [p.to_json() for p in vpairs], "method": method, "iou": iou_min,
                          "range": [start, end], "processor": proc_key, "video": str(path)})
            compute = functools.partial(_evaluate_method, processor, path, out / "runs" / video_id, method, start,
                                        end, vpairs, offset, iou_min, bm_for)
            items.append(report.Item(f"{video_id} ({method})", f"{video_id}.{method}", key, compute,
                              skip_note=f"; {len(vpairs)} pair(s) not scored"))
    per_method: dict[str, list[dict[str, np.ndarray]]] = {m: [] for m in methods}
    for item, arrays in report.evaluate_items(items, cache, skipped, progress):
        per_method[item.cache_name.rsplit(".", 1)[1]].append(arrays)
    stacked = {m: report.stack_items(v) for m, v in per_method.items() if v}
    if save_predictions_to is not None:
        flat = {f"{m}__{k}": v for m, arrs in stacked.items() for k, v in arrs.items()}
        report.save_predictions(save_predictions_to, "ava", {"alpha": alpha, "methods": list(stacked), "cuts":
                                                      str(cuts_path), "iou_min": iou_min}, flat)
    return _ava_result(stacked, alpha, skipped, {"cuts": str(cuts_path), "methods": list(methods), "alpha": alpha,
                                                 "iou_min": iou_min, "out_dir": str(out)},
                       extra_counts={"videos": len(by_video), "pairs_accepted": len(pairs)}, notes=notes)


def _evaluate_method(processor: Processor, path: Path, run_dir: Path, method: str, start: float, end: float,
                     vpairs: list[CutPair], offset: float, iou_min: float, bm_for: Callable[[str], Any]
                     ) -> dict[str, np.ndarray]:
    """One video × method: run the processor and score its pairs (all unmatched when nobody was found)."""
    try:
        tracks, result = processor(path, run_dir, method, start, end)
    except NoPeopleError:
        info = probe(path)
        gt, size = _video_arrays(vpairs, info.width, info.height)
        n = len(vpairs)
        return {"pair_ids": np.array([p.id for p in vpairs]), "gt": gt, "size": size,
                "pred_same": np.full((n, 2, 17, 2), np.nan), "pred_cross": np.full((n, 2, 17, 2), np.nan),
                "matched": np.zeros(n, dtype=bool), "unlinked": np.zeros(n, dtype=bool)}
    return evaluate_video(vpairs, tracks, result, bm_for(result.body_model), offset, iou_min)


def _ava_result(stacked: dict[str, dict[str, np.ndarray]], alpha: float, skipped: report.SkipLog,
                options: dict[str, Any], extra_counts: dict[str, Any] | None = None,
                notes: Iterable[str] = ()) -> dict[str, Any]:
    rows = []
    for method, a in stacked.items():
        s = score_ava(a["gt"], a["size"], a["pred_same"], a["pred_cross"], alpha)
        rows.append({"method": method, "same_frame_pck": s["same_frame_pck"], "cross_shot_pck": s["cross_shot_pck"],
                     "pairs": int(len(a["pair_ids"])), "matched": int(a["matched"].sum()),
                     "unlinked": int(a["unlinked"].sum()) if "unlinked" in a else None,
                     "keypoints": s["keypoints"]})
    pct = f"@{alpha:g}"
    cols = [report.column("same_frame_pck", f"same-frame PCK{pct} ↑", 100),
            report.column("cross_shot_pck", f"cross-shot PCK{pct} ↑", 100),
            report.column("pairs", "pairs", digits=0), report.column("matched", "matched", digits=0),
            report.column("unlinked", "re-ID misses", digits=0)]
    counts = dict(extra_counts or {})
    counts["skipped"] = len(skipped)
    return report.make_result("ava", "AVA cuts — same-frame / cross-shot PCK (paper Tables 1–3)", cols, rows, counts,
                       skipped, options, notes)


def rescore_ava(pred: report.Predictions, alpha: float | None = None, path: str = "predictions") -> dict[str, Any]:
    """Recompute the AVA table from a predictions file (optionally at another α) without running anything."""
    alpha = float(pred.meta.get("alpha", 0.1)) if alpha is None else alpha
    methods = list(pred.meta.get("methods", []))
    stacked = {}
    for m in methods:
        names = [f"{m}__{k}" for k in ("pair_ids", "gt", "size", "pred_same", "pred_cross", "matched")]
        report.require_arrays(pred, path, names)
        stacked[m] = {n.split("__", 1)[1]: pred.arrays[n] for n in names + [f"{m}__unlinked"] if n in pred.arrays}
    return _ava_result(stacked, alpha, report.SkipLog(), {**pred.meta, "alpha": alpha, "rescored": path})
