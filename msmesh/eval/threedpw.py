"""`msmesh eval --dataset 3dpw`: PA-MPJPE of the regressors on 3DPW (paper Table 2).

Expected layout of ``--root DIR`` (the official 3DPW release):

    DIR/sequenceFiles/<split>/<sequence>.pkl   Python-2 pickles (load with ``encoding="latin1"``), a dict with
        sequence        the name
        poses, betas, trans           per actor: (T, 72), (10+,), (T, 3) SMPL parameters (world)
        jointPositions  per actor: (T, 72) — the 24 SMPL joints in world coordinates, metres
        poses2d         per actor: (T, 3, 18) — OpenPose-COCO-18 x, y, confidence (rows) per frame
        cam_poses       (T, 4, 4) world → camera extrinsics per frame
        cam_intrinsics  (3, 3) K
        campose_valid   per actor: (T,) — 1 where the camera pose is aligned to the image
        img_frame_ids   (T,) — the image index of each frame
    DIR/imageFiles/<sequence>/image_%05d.jpg   the frames (index = position in the sequence)

Pickles can run code when loaded: load only the files from the 3DPW release.

Protocol: a frame of an actor is evaluated when ``campose_valid`` is set and at least 6 of its 2D keypoints
have confidence > 0.3 (the usual 3DPW protocol). The predictor sees tracks built from 3DPW's own 2D keypoints
(COCO-17 via ``OPENPOSE18_TO_COCO17``, box = their extent padded by 15 %) and the images; the error is
PA-MPJPE (and root-relative MPJPE) in mm on 14 SMPL joints (shoulders, elbows, wrists, hips, knees, ankles,
neck, head), ground truth = ``jointPositions`` in camera coordinates. The paper's protocol regresses 14
H36M-style joints from the mesh with SMPL's H36M regressor, which the open body model has no counterpart of,
so absolute numbers differ somewhat from published ones; rows are comparable with each other.
"""

from __future__ import annotations

import functools
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from msmesh.body.joints import SMPL24_NAMES
from msmesh.data import Camera, FitResult, PersonTrack, Shot, Tracks, VideoInfo
from msmesh.errors import InputError, ModelUnavailableError
from msmesh.eval import report
from msmesh.eval.metrics import mpjpe, pa_mpjpe
from msmesh.safe_pickle import safe_load_path

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

LAYOUT = ("expected the 3DPW layout DIR/sequenceFiles/<split>/<sequence>.pkl (latin1 pickles with poses, betas, "
          "trans, jointPositions, poses2d, cam_poses, cam_intrinsics, campose_valid, img_frame_ids, sequence) and "
          "DIR/imageFiles/<sequence>/image_00000.jpg …")
REQUIRED_KEYS = ("sequence", "jointPositions", "poses2d", "cam_poses", "cam_intrinsics", "campose_valid",
                 "img_frame_ids")
OPENPOSE18_TO_COCO17 = [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10]
"""OpenPose-COCO-18 index (nose, neck, r-arm, l-arm, r-leg, l-leg, r/l eye, r/l ear) of each COCO-17 keypoint."""
EVAL_JOINTS = [SMPL24_NAMES.index(n) for n in (
    "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee",
    "l_ankle", "r_ankle", "neck", "head")]
MIN_KEYPOINTS = 6
KEYPOINT_CONF = 0.3
FPS = 30.0

FramesProvider = Callable[[int], np.ndarray]
Predictor = Callable[[Tracks, FramesProvider], FitResult]
"""``predictor(tracks, frames) → FitResult``; ``frames(i)`` is image i as H×W×3 uint8 RGB."""


@dataclass
class PW3DSequence:
    """One 3DPW sequence: per actor 2D keypoints, camera-frame 3D joints and validity."""

    name: str
    keypoints: np.ndarray  # (A, T, 17, 3) COCO-17 pixels + confidence
    joints: np.ndarray  # (A, T, 24, 3) camera coordinates, metres
    valid: np.ndarray  # (A, T) bool: evaluated frames
    intrinsics: np.ndarray  # (3, 3)
    image_dir: Path

    @property
    def frames(self) -> int:
        return int(self.keypoints.shape[1])


def load_sequence(path: str | os.PathLike[str], image_root: str | os.PathLike[str] | None = None) -> PW3DSequence:
    """Read one 3DPW sequence pickle and bring the 3D joints into each frame's camera coordinates."""
    p = Path(path)
    try:
        raw = safe_load_path(p)  # arrays and plain data only: a pickle can run code
    except (OSError, pickle.UnpicklingError, EOFError, UnicodeDecodeError, ValueError, TypeError, KeyError,
            IndexError, AttributeError, RecursionError, MemoryError) as exc:
        raise InputError(f"{p}: not a readable 3DPW pickle ({exc}); {LAYOUT}") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{p}: expected a dict; {LAYOUT}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise InputError(f"{p}: missing key(s) {', '.join(missing)}; {LAYOUT}")
    name = str(raw["sequence"])
    cam = np.asarray(raw["cam_poses"], dtype=np.float64)
    t = len(cam)
    if cam.shape != (t, 4, 4):
        raise InputError(f"{p}: cam_poses has shape {cam.shape}, expected (T, 4, 4)")
    k = np.asarray(raw["cam_intrinsics"], dtype=np.float64)
    if k.shape != (3, 3):
        raise InputError(f"{p}: cam_intrinsics has shape {k.shape}, expected (3, 3)")
    kps, joints, valid = [], [], []
    actors = len(raw["jointPositions"])
    if not (len(raw["poses2d"]) == len(raw["campose_valid"]) == actors) or actors == 0:
        raise InputError(f"{p}: jointPositions, poses2d and campose_valid must list the same actors (≥ 1)")
    for a in range(actors):
        j = np.asarray(raw["jointPositions"][a], dtype=np.float64)
        k2 = np.asarray(raw["poses2d"][a], dtype=np.float64)
        v = np.asarray(raw["campose_valid"][a]).astype(bool)
        if j.shape != (t, 72) or k2.shape != (t, 3, 18) or v.shape != (t,):
            raise InputError(f"{p}: actor {a}: jointPositions {j.shape}, poses2d {k2.shape}, campose_valid "
                             f"{v.shape}; expected (T, 72), (T, 3, 18), (T,) with T = {t}")
        jw = j.reshape(t, 24, 3)
        jc = np.einsum("tij,tkj->tki", cam[:, :3, :3], jw) + cam[:, None, :3, 3]
        op = k2.transpose(0, 2, 1)  # (T, 18, 3)
        coco = op[:, OPENPOSE18_TO_COCO17]
        ok = v & ((op[..., 2] > KEYPOINT_CONF).sum(1) >= MIN_KEYPOINTS)
        kps.append(coco)
        joints.append(jc)
        valid.append(ok)
    image_dir = Path(image_root) / name if image_root is not None else p.parent.parent.parent / "imageFiles" / name
    return PW3DSequence(name=name, keypoints=np.stack(kps), joints=np.stack(joints), valid=np.stack(valid),
                        intrinsics=k, image_dir=image_dir)


def image_path(seq: PW3DSequence, index: int) -> Path:
    return seq.image_dir / f"image_{index:05d}.jpg"


def read_image(path: Path) -> np.ndarray:
    """An RGB uint8 image, or InputError naming the file."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"{path}: image missing or unreadable; {LAYOUT}")
    return img[:, :, ::-1].copy()


def image_size(seq: PW3DSequence) -> tuple[int, int]:
    """(width, height) from the first image, else twice the principal point."""
    first = image_path(seq, 0)
    if first.is_file():
        h, w = read_image(first).shape[:2]
        return w, h
    return int(round(2 * seq.intrinsics[0, 2])), int(round(2 * seq.intrinsics[1, 2]))


def sequence_tracks(seq: PW3DSequence, pad: float = 0.15) -> Tracks:
    """Tracks of the evaluated frames of every actor (one shot; 3DPW has no cuts)."""
    w, h = image_size(seq)
    people = []
    for a in range(len(seq.keypoints)):
        frames = np.flatnonzero(seq.valid[a])
        kp = seq.keypoints[a, frames].copy()
        kp[..., 2] = np.where(kp[..., 2] > KEYPOINT_CONF, kp[..., 2], 0.0)
        kp[kp[..., 2] == 0, :2] = 0.0
        boxes = np.zeros((len(frames), 4))
        for i in range(len(frames)):
            pts = kp[i, kp[i, :, 2] > 0, :2]
            lo, hi = pts.min(0), pts.max(0)
            ext = (hi - lo) * pad
            boxes[i] = [max(0.0, lo[0] - ext[0]), max(0.0, lo[1] - ext[1]), min(w, hi[0] + ext[0]),
                        min(h, hi[1] + ext[1])]
        people.append(PersonTrack(id=a, frames=frames.astype(np.int64), shot=np.zeros(len(frames), dtype=np.int64),
                                  bbox=boxes, keypoints=kp))
    video = VideoInfo(source=str(seq.image_dir), fps=FPS, frame_count=seq.frames, width=w, height=h,
                      sampled_frames=list(range(seq.frames)))
    focal = float((seq.intrinsics[0, 0] + seq.intrinsics[1, 1]) / 2)
    return Tracks(video=video, shots=[Shot(0, 0, seq.frames)], people=people,
                  camera=Camera(focal=focal, center=(float(seq.intrinsics[0, 2]), float(seq.intrinsics[1, 2]))))


def regressor_predictor(temporal: bool = False, weights: str | None = None, device: str = "cpu",
                        body_model: BodyModel | None = None) -> Predictor:
    """HMR (or t-HMMR) from msmesh.regress as a 3DPW predictor; weights load on first use."""
    state: dict[str, Any] = {}

    def predict(tracks: Tracks, frames: FramesProvider) -> FitResult:
        from msmesh.regress.hub import load_regressor
        from msmesh.regress.predict import regress_tracks

        if "model" not in state:
            state["model"] = load_regressor(weights, temporal=temporal, device=device)
        return regress_tracks(tracks, frames, state["model"], device=device, body_model=body_model)

    predict.cache_key = {"regressor": "thmmr" if temporal else "hmr", "weights": weights}  # type: ignore
    return predict


def score_3dpw(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """PA-MPJPE and pelvis-relative MPJPE (mm) of (N, 15, 3) arrays whose last joint is the pelvis."""
    ok = np.isfinite(pred).all((1, 2))
    p, g = pred[ok], gt[ok]
    if not len(p):
        return {"pa_mpjpe_mm": float("nan"), "mpjpe_mm": float("nan"), "frames": 0, "missing": int((~ok).sum())}
    root_rel = mpjpe(p[:, :-1] - p[:, -1:], g[:, :-1] - g[:, -1:], root=None)
    return {"pa_mpjpe_mm": float(pa_mpjpe(p[:, :-1], g[:, :-1]).mean() * 1000),
            "mpjpe_mm": float(root_rel.mean() * 1000),
            "frames": int(len(p)), "missing": int((~ok).sum())}


def evaluate_sequence(seq: PW3DSequence, predictors: Mapping[str, Predictor]) -> dict[str, np.ndarray]:
    """Run each predictor on one sequence; arrays of the evaluated frames (gt/pred: 14 joints + pelvis)."""
    tracks = sequence_tracks(seq)
    sel = EVAL_JOINTS + [0]
    actor, frame = np.nonzero(seq.valid)
    out: dict[str, np.ndarray] = {"seq": np.array([seq.name] * len(actor)), "actor": actor, "frame": frame,
                                  "gt": seq.joints[actor, frame][:, sel]}
    for name, predictor in predictors.items():
        res = predictor(tracks, lambda i: read_image(image_path(seq, i)))
        pred = np.full((len(actor), len(sel), 3), np.nan)
        where = {(int(a), int(f)): i for i, (a, f) in enumerate(zip(actor, frame, strict=True))}
        for p in res.people:
            for t, f in enumerate(p.frames):
                i = where.get((p.id, int(f)))
                if i is not None:
                    pred[i] = np.asarray(p.joints[t], dtype=np.float64)[sel]
        out[f"{name}__pred"] = pred
    return out


def run_3dpw(root: str | os.PathLike[str], split: str = "test", predictors: Mapping[str, Predictor] | None = None,
             out_dir: str | os.PathLike[str] | None = None, max_sequences: int | None = None,
             save_predictions_to: str | os.PathLike[str] | None = None, progress: report.Progress | None = None) \
        -> dict[str, Any]:
    """Evaluate the predictors (default: HMR and t-HMMR from the Hub registry) on a 3DPW split."""
    root = Path(root)
    folder = root / "sequenceFiles" / split
    if not folder.is_dir():
        raise InputError(f"{folder}: not found; {LAYOUT}")
    files = sorted(folder.glob("*.pkl"))
    if not files:
        raise InputError(f"{folder}: no .pkl sequence files; {LAYOUT}")
    if max_sequences is not None:
        files = files[:max_sequences]
    predictors = dict(predictors) if predictors else {"hmr": regressor_predictor(False),
                                                      "thmmr": regressor_predictor(True)}
    keys = {n: getattr(p, "cache_key", getattr(p, "__name__", "custom")) for n, p in predictors.items()}
    cache = report.ItemCache(Path(out_dir) / "cache" if out_dir is not None else None)
    skipped = report.SkipLog()

    def compute(f: Path) -> dict[str, np.ndarray]:
        return evaluate_sequence(load_sequence(f, root / "imageFiles"), predictors)

    items = report.evaluate_items(
        (report.Item(f.stem, f.stem, report.digest({"predictors": keys, "file": f.name, "size": f.stat().st_size}),
                     functools.partial(compute, f)) for f in files),
        cache, skipped, progress, fatal=(ModelUnavailableError,))
    stacked = report.stack_items([arrays for _, arrays in items])
    meta = {"split": split, "methods": list(predictors)}
    if save_predictions_to is not None and stacked:
        report.save_predictions(save_predictions_to, "3dpw", meta, stacked)
    return _result(stacked, list(predictors), skipped, {**meta, "sequences": len(items)})


def _result(stacked: dict[str, np.ndarray], methods: list[str], skipped: report.SkipLog, options: dict[str, Any]) \
        -> dict[str, Any]:
    rows = [{"method": m, **score_3dpw(stacked[f"{m}__pred"], stacked["gt"])} for m in methods
            if f"{m}__pred" in stacked]
    cols = [report.column("pa_mpjpe_mm", "PA-MPJPE mm ↓"), report.column("mpjpe_mm", "MPJPE mm ↓"),
            report.column("frames", "frames", digits=0), report.column("missing", "no prediction", digits=0)]
    counts = {"sequences": int(len(np.unique(stacked["seq"]))) if stacked else 0, "skipped": len(skipped)}
    return report.make_result("3dpw", "3DPW — PA-MPJPE, 14 SMPL joints (paper Table 2)", cols, rows, counts, skipped,
                       options)


def rescore_3dpw(pred: report.Predictions, path: str = "predictions") -> dict[str, Any]:
    """Recompute the 3DPW table from a predictions file."""
    methods = list(pred.meta.get("methods", []))
    report.require_arrays(pred, path, ["seq", "gt"] + [f"{m}__pred" for m in methods])
    return _result(pred.arrays, methods, report.SkipLog(), {**pred.meta, "rescored": path})
