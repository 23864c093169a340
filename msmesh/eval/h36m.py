"""`msmesh eval --dataset h36m`: Human3.6M with simulated cuts, PA-MPJPE per fit mode (paper Table 1).

Expected layout of ``--root DIR`` — the preprocessed files of VideoPose3D (facebookresearch/VideoPose3D,
``data/prepare_data_h36m.py``), the most widely shared Human3.6M preprocessing:

    DIR/data_3d_h36m.npz      key ``positions_3d``: a pickled dict subject → action → (T, 32, 3) float32,
                              world coordinates in **metres** (files in millimetres are detected and converted)
    DIR/data_2d_h36m_gt.npz   key ``positions_2d``: subject → action → list of 4 arrays (T, 17, 2), the 3D
                              joints projected into the 4 cameras (in the order 54138969, 55011271, 58860488,
                              60457274), pixels, lens distortion included; key ``metadata``
    DIR/<subject>/Videos/<action>.<camera id>.mp4   only for ``input_2d="detector"`` (the original videos)

The 17 joints are the 32 mocap joints minus the static/duplicate ones (``H36M32_TO_17``), in the order of
``msmesh.body.joints.H36M17_NAMES``. Both ``.npz`` files hold pickled Python dicts (that is their published
format); they are read with ``msmesh.safe_pickle`` (arrays and plain containers only, never code).

The benchmark, per (subject, action):
- sample every ``stride``-th frame (50 fps → 10 fps by default), at most ``max_frames`` of them;
- simulate cuts by switching camera every ``cut_every`` sampled frames (cycling 0 → 1 → 2 → 3 → 0 …): each
  run of frames seen by one camera is one shot, so the input is an "edited" video of one person;
- 2D input: the dataset's own projections (``input_2d="gt"``, plus optional Gaussian ``noise_px``) or an
  injected 2D detector run on the videos (``input_2d="detector"``). Each camera's pixels are mapped into
  one shared pinhole camera (``COMMON_FOCAL``, centre (500, 500)) — exact for a pinhole — because a run
  folder has one camera for the whole video;
- H36M-17 → COCO-17 for fitting (``H36M17_TO_COCO17``): shoulders, elbows, wrists, hips, knees and ankles
  map one to one; COCO's nose takes H36M's "neck/nose" point with reduced confidence (``nose_conf``, it sits
  between nose and chin); eyes and ears have no H36M counterpart and get confidence 0 (not fitted);
- fit in each mode (frame / shot / multishot) and score PA-MPJPE in mm on the 14 joints SMPL-24 and H36M-17
  share (``SMPL24_TO_H36M17``): pelvis, hips, knees, ankles, neck↔thorax, shoulders, elbows, wrists. The
  usual protocol instead regresses H36M joints from the SMPL mesh with a regressor only the real SMPL
  ecosystem ships; joint-centre conventions differ slightly between SMPL and the H36M mocap skeleton, which
  adds a small constant to every mode's error — compare modes with each other, not with the paper's
  absolute numbers. ``pa_mpjpe_cut_mm`` is the same error on the frames next to a simulated cut.
"""

from __future__ import annotations

import functools
import os
import pickle
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from msmesh.body.joints import H36M17_NAMES, SMPL24_NAMES
from msmesh.data import Camera, FitResult, PersonTrack, Shot, Tracks, VideoInfo
from msmesh.errors import InputError
from msmesh.eval import report
from msmesh.eval.metrics import pa_mpjpe
from msmesh.options import FIT_MODES
from msmesh.safe_pickle import npz_keys, safe_npz_item

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

FILE_3D = "data_3d_h36m.npz"
FILE_2D = "data_2d_h36m_gt.npz"
LAYOUT = (f"expected the VideoPose3D preprocessing of Human3.6M: DIR/{FILE_3D} (positions_3d: subject → action "
          f"→ (T, 32, 3) metres) and DIR/{FILE_2D} (positions_2d: subject → action → 4 × (T, 17, 2) pixels), made "
          "by VideoPose3D's data/prepare_data_h36m.py")
TEST_SUBJECTS = ("S9", "S11")
MODES = FIT_MODES
FPS = 50.0
H36M32_TO_17 = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
"""Indices of the 17 kept joints among the 32 of the mocap skeleton (VideoPose3D's ``remove_static_joints``)."""

CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
# Per-camera intrinsics from the Human3.6M calibration (fx, fy, cx, cy) and image size (w, h).
CAMERA_INTRINSICS = (
    (1145.0494, 1143.7811, 512.5415, 515.4515, 1000, 1002),
    (1149.6757, 1147.5917, 508.8486, 508.0649, 1000, 1000),
    (1149.1407, 1148.7990, 519.8159, 501.4026, 1000, 1000),
    (1145.5114, 1144.7739, 514.9682, 501.8820, 1000, 1002),
)
COMMON_FOCAL = 1147.0
COMMON_CENTER = (500.0, 500.0)
IMAGE_SIZE = (1000, 1000)

_H = H36M17_NAMES.index
H36M17_TO_COCO17: list[int] = [
    _H("neck_nose"), -1, -1, -1, -1, _H("l_shoulder"), _H("r_shoulder"), _H("l_elbow"), _H("r_elbow"),
    _H("l_wrist"), _H("r_wrist"), _H("l_hip"), _H("r_hip"), _H("l_knee"), _H("r_knee"), _H("l_ankle"),
    _H("r_ankle"),
]
"""H36M-17 index for each COCO-17 keypoint; -1 = no counterpart (eyes, ears: confidence 0)."""

SMPL24_TO_H36M17: list[tuple[str, str]] = [
    ("pelvis", "pelvis"), ("l_hip", "l_hip"), ("r_hip", "r_hip"), ("l_knee", "l_knee"), ("r_knee", "r_knee"),
    ("l_ankle", "l_ankle"), ("r_ankle", "r_ankle"), ("neck", "thorax"), ("l_shoulder", "l_shoulder"),
    ("r_shoulder", "r_shoulder"), ("l_elbow", "l_elbow"), ("r_elbow", "r_elbow"), ("l_wrist", "l_wrist"),
    ("r_wrist", "r_wrist"),
]
"""The 14 joints scored: (SMPL-24 name, H36M-17 name)."""
EVAL_SMPL = [SMPL24_NAMES.index(s) for s, _ in SMPL24_TO_H36M17]
EVAL_H36M = [H36M17_NAMES.index(h) for _, h in SMPL24_TO_H36M17]

Fit = Callable[[Tracks, str], FitResult]
"""``fit(tracks, mode) → FitResult`` (default: msmesh.fit.fitter.fit_tracks with the open body model)."""
Detector = Callable[[Path, np.ndarray], np.ndarray]
"""``detector(video, frame_indices) → (T, 17, 3)`` COCO-17 x, y, conf in that video's pixels."""


# --------------------------------------------------------------------------- loading


@dataclass
class H36MData:
    """The two VideoPose3D files: 3D (T,17,3) metres world per (subject, action); 2D per camera."""

    positions_3d: dict[str, dict[str, np.ndarray]]
    positions_2d: dict[str, dict[str, list[np.ndarray]]]

    def sequences(self, subjects: Sequence[str] | None = None, actions: Sequence[str] | None = None) \
            -> list[tuple[str, str]]:
        """(subject, action) pairs present in the 3D file, filtered (actions match by prefix, e.g. 'Walking')."""
        out = []
        for s in sorted(self.positions_3d):
            if subjects and s not in subjects:
                continue
            for a in sorted(self.positions_3d[s]):
                if actions and not any(a == x or a.split(" ")[0] == x for x in actions):
                    continue
                out.append((s, a))
        return out


def _load_pickled_dict(path: Path, key: str) -> dict:
    if not path.is_file():
        raise InputError(f"{path}: not found; {LAYOUT}")
    try:
        if key not in (keys := npz_keys(path)):
            raise InputError(f"{path}: no '{key}' array (has {', '.join(keys) or 'nothing'}); {LAYOUT}")
        obj = safe_npz_item(path, key)  # the pickled dict is read as data only, never code
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, TypeError, KeyError,
            IndexError, AttributeError, RecursionError, MemoryError) as exc:
        raise InputError(f"{path}: not a readable .npz ({exc}); {LAYOUT}") from exc
    obj = obj.item() if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == () else obj
    if not isinstance(obj, dict):
        raise InputError(f"{path}: '{key}' is not a subject → action dict; {LAYOUT}")
    return obj


def load_h36m(root: str | os.PathLike[str]) -> H36MData:
    """Load and check both files under ``root`` (module docstring), converting 3D to 17 joints in metres."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: Human3.6M folder not found; {LAYOUT}")
    raw3d = _load_pickled_dict(root / FILE_3D, "positions_3d")
    raw2d = _load_pickled_dict(root / FILE_2D, "positions_2d")
    p3d: dict[str, dict[str, np.ndarray]] = {}
    for subject, actions in raw3d.items():
        if not isinstance(actions, dict):
            raise InputError(f"{root / FILE_3D}: positions_3d[{subject!r}] is not an action dict; {LAYOUT}")
        p3d[str(subject)] = {}
        for action, arr in actions.items():
            a = np.asarray(arr, dtype=np.float64)
            if a.ndim != 3 or a.shape[1] not in (32, 17) or a.shape[2] != 3:
                raise InputError(f"{root / FILE_3D}: positions_3d[{subject!r}][{action!r}] has shape {a.shape}, "
                                 f"expected (T, 32, 3); {LAYOUT}")
            if a.shape[1] == 32:
                a = a[:, H36M32_TO_17]
            if len(a) and np.nanmedian(np.abs(a)) > 50.0:  # millimetres
                a = a / 1000.0
            p3d[str(subject)][str(action)] = a
    p2d: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject, actions in raw2d.items():
        p2d[str(subject)] = {}
        for action, cams in dict(actions).items():
            views = [np.asarray(c, dtype=np.float64) for c in cams]
            if len(views) != 4 or any(v.ndim != 3 or v.shape[1:] != (17, 2) for v in views):
                raise InputError(f"{root / FILE_2D}: positions_2d[{subject!r}][{action!r}] must be 4 arrays "
                                 f"(T, 17, 2), got {[v.shape for v in views]}; {LAYOUT}")
            p2d[str(subject)][str(action)] = views
    return H36MData(positions_3d=p3d, positions_2d=p2d)


# --------------------------------------------------------------------------- building the input


def simulate_cuts(n: int, cut_every: int, cameras: int = 4, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(camera (n,), shot (n,)) for ``n`` sampled frames switching camera every ``cut_every`` frames."""
    if cut_every < 1:
        raise InputError(f"--cut-every must be ≥ 1 sampled frame, got {cut_every}")
    shot = np.arange(n) // cut_every
    return (first + shot) % cameras, shot


def to_common_camera(uv: np.ndarray, camera: np.ndarray | int) -> np.ndarray:
    """Pixels (..., K, 2) of H36M camera(s) ``camera`` → pixels of the shared pinhole (COMMON_FOCAL/CENTER)."""
    intr = np.asarray(CAMERA_INTRINSICS)[np.asarray(camera)]  # (..., 6)
    fx, fy, cx, cy = (intr[..., i][..., None] for i in range(4))
    x = (uv[..., 0] - cx) / fx * COMMON_FOCAL + COMMON_CENTER[0]
    y = (uv[..., 1] - cy) / fy * COMMON_FOCAL + COMMON_CENTER[1]
    return np.stack([x, y], -1)


def h36m17_to_coco17(kp: np.ndarray, conf: np.ndarray | float = 1.0, nose_conf: float = 0.5) -> np.ndarray:
    """(T, 17, 2) H36M-17 pixels (+ optional (T, 17) confidences) → (T, 17, 3) COCO-17 x, y, conf."""
    kp = np.asarray(kp, dtype=np.float64)
    c = np.broadcast_to(np.asarray(conf, dtype=np.float64), kp.shape[:-1])
    out = np.zeros((*kp.shape[:-2], 17, 3))
    for coco, h in enumerate(H36M17_TO_COCO17):
        if h < 0:
            continue
        out[..., coco, :2] = kp[..., h, :]
        out[..., coco, 2] = c[..., h] * (nose_conf if coco == 0 else 1.0)
    out[..., :2] = np.where(out[..., 2:] > 0, out[..., :2], 0.0)  # conf 0 = missing, stored as (0, 0)
    return out


def boxes_from_keypoints(uv: np.ndarray, pad: float = 0.1, size: tuple[int, int] = IMAGE_SIZE) -> np.ndarray:
    """(T, K, 2) → (T, 4) boxes around the points, padded by ``pad`` × extent, clipped to the image."""
    lo, hi = uv.min(1), uv.max(1)
    ext = (hi - lo) * pad
    lo, hi = lo - ext, hi + ext
    return np.stack([np.clip(lo[:, 0], 0, size[0]), np.clip(lo[:, 1], 0, size[1]),
                     np.clip(hi[:, 0], 0, size[0]), np.clip(hi[:, 1], 0, size[1])], 1)


@dataclass
class H36MConfig:
    """Benchmark settings (module docstring)."""

    stride: int = 5
    max_frames: int | None = 100
    cut_every: int = 10
    input_2d: str = "gt"  # gt | detector
    noise_px: float = 0.0
    nose_conf: float = 0.5
    seed: int = 0


@dataclass
class H36MSequence:
    """One sequence ready to fit, with its ground truth."""

    name: str
    tracks: Tracks
    gt: np.ndarray  # (T, 17, 3) metres, world
    camera: np.ndarray  # (T,) camera index per sampled frame


def video_path(root: Path, subject: str, action: str, camera: int) -> Path | None:
    """The original video of a (subject, action, camera), undoing VideoPose3D's action renames."""
    names = [action, action.replace("Photo", "TakingPhoto"), action.replace("WalkDog", "WalkingDog")]
    for n in dict.fromkeys(names):
        p = root / subject / "Videos" / f"{n}.{CAMERA_IDS[camera]}.mp4"
        if p.is_file():
            return p
    return None


def build_sequence(data: H36MData, subject: str, action: str, cfg: H36MConfig, root: Path | None = None,
                   detector: Detector | None = None) -> H36MSequence:
    """The edited single-person input of one (subject, action) and its 3D ground truth."""
    gt_all = data.positions_3d[subject][action]
    views = data.positions_2d.get(subject, {}).get(action)
    if views is None:
        raise InputError(f"{subject}/{action}: no 2D projections in {FILE_2D}")
    t_all = min(len(gt_all), *(len(v) for v in views))
    frames = np.arange(0, t_all, max(1, cfg.stride))
    if cfg.max_frames is not None:
        frames = frames[:cfg.max_frames]
    n = len(frames)
    if n < 2:
        raise InputError(f"{subject}/{action}: only {n} frame(s)")
    cam, shot = simulate_cuts(n, cfg.cut_every)
    if cfg.input_2d == "gt":
        uv = np.stack([views[c][f] for c, f in zip(cam, frames, strict=True)])
        if cfg.noise_px > 0:
            rng = np.random.default_rng([cfg.seed, zlib.crc32(f"{subject}/{action}".encode())])
            uv = uv + rng.normal(scale=cfg.noise_px, size=uv.shape)
        kp = h36m17_to_coco17(to_common_camera(uv, cam), nose_conf=cfg.nose_conf)
        box_pts = to_common_camera(uv, cam)
    elif cfg.input_2d == "detector":
        if detector is None or root is None:
            raise InputError("--input detector needs a 2D keypoint detector and the videos under DIR/<subject>/Videos")
        kp = np.zeros((n, 17, 3))
        for c in range(4):
            sel = np.flatnonzero(cam == c)
            if not len(sel):
                continue
            path = video_path(root, subject, action, c)
            if path is None:
                raise InputError(f"{subject}/{action}: video {root}/{subject}/Videos/{action}.{CAMERA_IDS[c]}.mp4 "
                                 "not found")
            det = np.asarray(detector(path, frames[sel]), dtype=np.float64)
            if det.shape != (len(sel), 17, 3):
                raise InputError(f"detector returned shape {det.shape}, expected ({len(sel)}, 17, 3)")
            det[..., :2] = np.where(det[..., 2:] > 0, to_common_camera(det[..., :2], c), 0.0)
            kp[sel] = det
        box_pts = None
    else:
        raise InputError(f"unknown 2D input {cfg.input_2d!r} (expected gt or detector)")
    if box_pts is None:
        vis = kp[..., 2] > 0
        box_pts = np.where(vis[..., None], kp[..., :2], np.nan)
        box_pts = np.where(np.isnan(box_pts), np.nanmean(box_pts, 1, keepdims=True), box_pts)
        box_pts = np.nan_to_num(box_pts, nan=COMMON_CENTER[0])
    bbox = boxes_from_keypoints(box_pts)
    starts = np.flatnonzero(np.r_[True, np.diff(shot) != 0])
    shots = []
    for k, s in enumerate(starts):
        end = int(frames[starts[k + 1]]) if k + 1 < len(starts) else t_all
        shots.append(Shot(id=int(shot[s]), start=0 if k == 0 else int(frames[s]), end=end))
    video = VideoInfo(source=f"h36m:{subject}/{action}", fps=FPS, frame_count=t_all, width=IMAGE_SIZE[0],
                      height=IMAGE_SIZE[1], sampled_frames=[int(f) for f in frames])
    person = PersonTrack(id=0, frames=frames.astype(np.int64), shot=shot.astype(np.int64), bbox=bbox, keypoints=kp)
    tracks = Tracks(video=video, shots=shots, people=[person],
                    camera=Camera(focal=COMMON_FOCAL, center=COMMON_CENTER))
    return H36MSequence(name=f"{subject}/{action}", tracks=tracks, gt=gt_all[frames], camera=cam)


# --------------------------------------------------------------------------- fitting and scoring


def default_fit(body_model: BodyModel | None = None, device: str = "cpu", **fit_options: Any) -> Fit:
    """``fit(tracks, mode)`` with msmesh's multi-shot fitter (options: msmesh.fit.fitter.FitOptions)."""
    state: dict[str, Any] = {"bm": body_model}

    def fit(tracks: Tracks, mode: str) -> FitResult:
        from msmesh.fit.fitter import fit_tracks

        if state["bm"] is None:
            from msmesh.body import load_body_model

            state["bm"] = load_body_model("open")
        return fit_tracks(tracks, state["bm"], mode=mode, device=device, **fit_options)

    fit.cache_key = {"fitter": "msmesh", "options": fit_options,  # type: ignore[attr-defined]
                     "body_model": getattr(body_model, "name", "open")}
    return fit


def near_cut(shot: np.ndarray) -> np.ndarray:
    """(T,) True for a frame whose neighbour is in another shot."""
    change = np.diff(shot) != 0
    out = np.zeros(len(shot), dtype=bool)
    out[:-1] |= change
    out[1:] |= change
    return out


def score_h36m(pred: np.ndarray, gt: np.ndarray, cut: np.ndarray | None = None) -> dict[str, float]:
    """PA-MPJPE (mm) of (N, 14, 3) predictions vs truth, over all frames and frames next to a cut."""
    e = pa_mpjpe(pred, gt) * 1000.0
    out = {"pa_mpjpe_mm": float(e.mean()) if len(e) else float("nan")}
    if cut is not None:
        out["pa_mpjpe_cut_mm"] = float(e[cut].mean()) if cut.any() else float("nan")
    return out


def run_h36m(root: str | os.PathLike[str], subjects: Sequence[str] = TEST_SUBJECTS,
             actions: Sequence[str] | None = None, modes: Sequence[str] = MODES, config: H36MConfig | None = None,
             out_dir: str | os.PathLike[str] | None = None, fit: Fit | None = None, detector: Detector | None = None,
             max_sequences: int | None = None, save_predictions_to: str | os.PathLike[str] | None = None,
             progress: report.Progress | None = None) -> dict[str, Any]:
    """Fit every selected sequence in each mode and score PA-MPJPE (module docstring); result dict."""
    cfg = config or H36MConfig()
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise InputError(f"unknown fit mode(s) {bad} (expected some of {', '.join(MODES)})")
    root = Path(root)
    data = load_h36m(root)
    seqs = data.sequences(subjects, actions)
    if not seqs:
        have = ", ".join(sorted(data.positions_3d)) or "none"
        raise InputError(f"{root / FILE_3D}: no sequences for subjects {list(subjects)}"
                         f"{' and actions ' + str(list(actions)) if actions else ''} (subjects in the file: {have})")
    if max_sequences is not None:
        seqs = seqs[:max_sequences]
    fit = fit or default_fit()
    fit_key = getattr(fit, "cache_key", getattr(fit, "__name__", "custom"))
    cache = report.ItemCache(Path(out_dir) / "cache" if out_dir is not None else None)
    skipped = report.SkipLog()

    def compute(subject: str, action: str) -> dict[str, np.ndarray]:
        seq = build_sequence(data, subject, action, cfg, root, detector)
        arrays = {"seq": np.array([f"{subject}/{action}"] * len(seq.gt)), "frame": seq.tracks.people[0].frames,
                  "camera": seq.camera, "near_cut": near_cut(seq.tracks.people[0].shot), "gt": seq.gt[:, EVAL_H36M]}
        for mode in modes:
            res = fit(seq.tracks, mode)
            if not res.people or len(res.people[0]) != len(seq.gt):
                raise InputError(f"the fit returned {len(res.people)} people / wrong frame count")
            arrays[f"{mode}__pred"] = np.asarray(res.people[0].joints, dtype=np.float64)[:, EVAL_SMPL]
        return arrays

    items = report.evaluate_items(
        (report.Item(f"{subject}/{action}", f"{subject}_{action}",
                     report.digest({"cfg": asdict(cfg), "modes": list(modes), "fit": fit_key,
                                    "n": len(data.positions_3d[subject][action])}),
                     functools.partial(compute, subject, action)) for subject, action in seqs),
        cache, skipped, progress)
    stacked = report.stack_items([arrays for _, arrays in items])
    meta = {"modes": list(modes), "config": asdict(cfg), "subjects": list(subjects),
            "actions": list(actions) if actions else None}
    if save_predictions_to is not None and stacked:
        report.save_predictions(save_predictions_to, "h36m", meta, stacked)
    return _h36m_result(stacked, list(modes), skipped, {**meta, "sequences": len(items)})


def _h36m_result(stacked: dict[str, np.ndarray], modes: list[str], skipped: report.SkipLog,
                 options: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for mode in modes:
        if f"{mode}__pred" not in stacked:
            continue
        s = score_h36m(stacked[f"{mode}__pred"], stacked["gt"], stacked["near_cut"].astype(bool))
        rows.append({"method": mode, **s, "frames": int(len(stacked["gt"]))})
    cols = [report.column("pa_mpjpe_mm", "PA-MPJPE mm ↓"), report.column("pa_mpjpe_cut_mm", "at cuts mm ↓"),
            report.column("frames", "frames", digits=0)]
    counts = {"sequences": int(len(np.unique(stacked["seq"]))) if stacked else 0, "skipped": len(skipped)}
    return report.make_result("h36m", "Human3.6M with simulated cuts — PA-MPJPE, 14 joints (paper Table 1)", cols, rows,
                       counts, skipped, options,
                       notes=["SMPL joints vs H36M mocap joints (14 shared): compare modes, not absolute values"])


def rescore_h36m(pred: report.Predictions, path: str = "predictions") -> dict[str, Any]:
    """Recompute the Human3.6M table from a predictions file."""
    modes = list(pred.meta.get("modes", MODES))
    report.require_arrays(pred, path, ["seq", "gt", "near_cut"] + [f"{m}__pred" for m in modes])
    return _h36m_result(pred.arrays, modes, report.SkipLog(), {**pred.meta, "rescored": path})
