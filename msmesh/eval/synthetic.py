"""Synthetic multi-shot benchmark: the paper's "Human3.6M with simulated cuts", with generated data.

A benchmark set is a list of sequences (one person each, laid end to end in one synthetic 1280×720 video).
Each sequence is a body motion (a held-out DeepMimic clip or smooth procedural motion, see
:mod:`msmesh.eval.motion`) with a random shape, watched by several cameras of three kinds —

- ``wide``   4.5–6 m away, aimed at the pelvis: the whole body in view;
- ``medium`` 2.0–2.6 m, aimed at the chest: waist-up, legs cut off;
- ``close``  1.0–1.3 m, aimed at the head: head and shoulders, most of the body outside the frame —

placed at random azimuths around the person (mostly frontal) and heights. The edit cuts to a different camera
every ``shot_min``–``shot_max`` sampled frames; a camera is static within a shot, aimed at its target's
position at the shot's first frame. 2D keypoints are the projected COCO-17 keypoints of the body model plus
detector-like noise (Gaussian with the per-keypoint COCO OKS σ scaled like COCO's OKS by the visible
keypoints' extent: ``noise`` × 0.5 × k_i × √area), a few outliers and random drops; confidence is 0
outside the image or when
dropped. Ground truth: the SMPL-24 joints in camera coordinates. Everything is seeded.

``run_benchmark`` fits the set in frame / shot / multishot modes and reports PA-MPJPE (mm, 14 joints:
shoulders, elbows, wrists, hips, knees, ankles, neck, head) over all frames and over *truncated* frames
(≥ 1 of the 12 body keypoints shoulders…ankles outside the image), and cross-shot PCK@0.1 against the clean
2D keypoints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch
from scipy.spatial.transform import Rotation

from msmesh.body.joints import SMPL24_NAMES
from msmesh.data import Camera, FitResult, PersonTrack, Shot, Tracks, VideoInfo
from msmesh.eval.metrics import cross_shot_pck, pa_mpjpe
from msmesh.eval.motion import HELD_OUT_CLIPS, Motion, load_clip, procedural_motion
from msmesh.fit.camera import default_focal, project_np
from msmesh.options import FIT_MODES

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

WIDTH, HEIGHT = 1280, 720
EVAL_JOINTS = [
    SMPL24_NAMES.index(n)
    for n in (
        "l_shoulder",
        "r_shoulder",
        "l_elbow",
        "r_elbow",
        "l_wrist",
        "r_wrist",
        "l_hip",
        "r_hip",
        "l_knee",
        "r_knee",
        "l_ankle",
        "r_ankle",
        "neck",
        "head",
    )
]
BODY_KEYPOINTS = list(range(5, 17))
OKS_SIGMAS = np.array(
    [
        0.026,
        0.025,
        0.025,
        0.035,
        0.035,
        0.079,
        0.079,
        0.072,
        0.072,
        0.062,
        0.062,
        0.107,
        0.107,
        0.087,
        0.087,
        0.089,
        0.089,
    ]
)
CAMERA_KINDS = {
    "wide": ((4.5, 6.0), "pelvis"),
    "medium": ((2.0, 2.6), "spine3"),
    "close": ((1.0, 1.3), "head"),
}


@dataclass
class SyntheticConfig:
    """What to generate. Defaults: the `msmesh eval --dataset synthetic` benchmark."""

    seed: int = 0
    clips: tuple[str, ...] = HELD_OUT_CLIPS
    procedural: int = 4
    fast: int = 0  # extra procedural sequences played ``fast_factor`` × faster (fast motion between frames)
    fast_factor: float = 3.0
    frames: int = 24  # sampled frames per sequence
    fps: float = 15.0  # rate of the sampled frames
    video_fps: float = 30.0  # the synthetic video's rate (frame step = video_fps / fps)
    shot_min: int = 3
    shot_max: int = 6
    cameras: tuple[str, ...] = ("wide", "medium", "close", "close")
    noise: float = 1.0
    drop: float = 0.05
    outliers: float = 0.02
    azimuth: float = 1.2  # cameras within ± this many radians of the direction the person faces
    landmarks: bool = False  # also BlazePose-33 landmarks and world landmarks (tracks@2), see _landmarks()
    world_noise: float = 0.055  # m, per-landmark Gaussian σ of the world landmarks (×1.5 outside the image)
    world_bone_error: float = 0.05  # m, limb-length error of the world landmarks, uniform ±, per person
    world_noise_corr: float = 0.0  # frame-to-frame correlation of that noise (AR(1); same σ), 0 = independent


@dataclass
class SyntheticSet:
    """Generated input (``tracks``: noisy keypoints), clean 2D (``clean``), and 3D truth per person."""

    tracks: Tracks
    clean: Tracks
    gt_joints: dict[int, np.ndarray]  # id → (T,24,3) camera coordinates, metres
    truncated: dict[int, np.ndarray]  # id → (T,) bool
    gt_params: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)


def _in_view(uv: np.ndarray, cam: np.ndarray) -> npt.NDArray[np.bool_]:
    """Which projected points ``uv`` fall inside the image, from points ``cam`` in front of the camera."""
    return (uv[..., 0] >= 0) & (uv[..., 0] < WIDTH) & (uv[..., 1] >= 0) & (uv[..., 1] < HEIGHT) & (cam[..., 2] > 0.05)


def _look_at(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World→camera rotation (OpenCV: x right, y down, z forward) for a camera at ``position`` aimed at
    ``target`` with world y up."""
    fwd = target - position
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    return np.stack([right, down, fwd])


def _world_joints(
    bm: BodyModel, motion: Motion, betas: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = len(motion)
    with torch.no_grad():
        j, c, lm = bm.joints_only(
            torch.tensor(motion.global_orient, dtype=torch.float32),
            torch.tensor(motion.body_pose, dtype=torch.float32),
            torch.tensor(np.tile(betas, (t, 1)), dtype=torch.float32),
            torch.tensor(motion.transl, dtype=torch.float32),
            landmarks=True,
        )
        rest, _ = bm.joints_only(
            torch.zeros(1, 3), torch.zeros(1, 69), torch.tensor(betas[None], dtype=torch.float32), None
        )
    as64 = [x.numpy().astype(np.float64) for x in (j, c, lm)]
    return as64[0], as64[1], rest[0, 0].numpy().astype(np.float64), as64[2]


# BlazePose-33 landmarks: the parent of each in a tree rooted at the hips (limb-length errors move subtrees),
# and their 2D noise σ in COCO OKS units (face like eyes, hands like wrists, feet like ankles)
LANDMARK_PARENT = {
    **{k: 11 for k in range(11)},
    11: 23, 12: 24, 13: 11, 14: 12, 15: 13, 16: 14,
    **{k: 15 for k in (17, 19, 21)}, **{k: 16 for k in (18, 20, 22)},
    23: -1, 24: 23, 25: 23, 26: 24, 27: 25, 28: 26, 29: 27, 30: 28, 31: 27, 32: 28,
}
LANDMARK_SIGMAS = np.array(
    [0.026] + [0.025] * 10 + [0.079] * 2 + [0.072] * 2 + [0.062] * 8 + [0.107] * 2 + [0.087] * 2 + [0.089] * 6
)


def _landmarks(
    lm_cam: np.ndarray, inside: np.ndarray, area: np.ndarray, cfg: SyntheticConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated BlazePose output for one person: (T,33,3) 2D landmarks + visibility and (T,33,4) world
    landmarks (hip-centred camera axes + visibility).

    2D: projected model landmarks with the same OKS-scaled noise as the keypoints, visibility U(0.6, 1) inside
    the image and 0 outside (position 0 too). World: the true camera-frame landmarks around the hip centre,
    each limb lengthened or shortened by up to ``world_bone_error`` (per person), plus Gaussian noise σ =
    ``world_noise`` (1.5σ for landmarks outside the image, where BlazePose guesses) — ≈ 85–110 mm PA error,
    like BlazePose against triangulation; off-image landmarks keep a low visibility U(0.1, 0.4), as BlazePose
    still reports a (guessed) 3D point there.
    """
    uv = project_np(lm_cam, default_focal(WIDTH, HEIGHT), (WIDTH / 2, HEIGHT / 2))
    sigma = cfg.noise * 0.5 * LANDMARK_SIGMAS[None] * np.sqrt(area)[:, None]
    vis = np.where(inside, rng.uniform(0.6, 1.0, inside.shape), 0.0)
    uv = np.where(inside[..., None], uv + rng.normal(size=uv.shape) * sigma[..., None], 0.0)
    lm2d = np.concatenate([uv, vis[..., None]], -1)
    hip = (lm_cam[:, 23] + lm_cam[:, 24]) / 2
    rel = lm_cam - hip[:, None]
    scale = rng.uniform(-cfg.world_bone_error, cfg.world_bone_error, 33)
    world = rebuild_along_tree(
        rel, lambda k, bone: bone * (1 + scale[k] / np.linalg.norm(bone, axis=-1, keepdims=True).clip(1e-6))
    )
    white = rng.normal(size=world.shape)
    rho = cfg.world_noise_corr
    for i in range(1, len(white)):  # AR(1) in time: errors that persist over frames, like a detector's
        white[i] = rho * white[i - 1] + np.sqrt(1 - rho * rho) * white[i]
    noise = white * cfg.world_noise * np.where(inside, 1.0, 1.5)[..., None]
    world = world + noise
    wvis = np.where(inside, vis, rng.uniform(0.1, 0.4, inside.shape))
    return lm2d, np.concatenate([world, wvis[..., None]], -1)


def _landmark_depth(k: int) -> int:
    d = 0
    while LANDMARK_PARENT[k] >= 0:
        k, d = LANDMARK_PARENT[k], d + 1
    return d


LANDMARK_ORDER = sorted(LANDMARK_PARENT, key=_landmark_depth)
"""The 33 landmarks parents first (root: the left hip)."""


def rebuild_along_tree(rel: np.ndarray, bone: Callable[[int, np.ndarray], np.ndarray]) -> np.ndarray:
    """Landmarks (T,33,3) rebuilt from the root along ``LANDMARK_PARENT``, each bone vector (T,3) from its
    parent to landmark ``k`` replaced by ``bone(k, vector)`` — the chain structure of simulated world-landmark
    errors (here and in ``msmesh.regress.landmark_noise``)."""
    out = rel.copy()
    for k in LANDMARK_ORDER:
        p = LANDMARK_PARENT[k]
        if p >= 0:
            out[:, k] = out[:, p] + bone(k, rel[:, k] - rel[:, p])
    return out


def make_sequence(
    bm: BodyModel, motion: Motion, cfg: SyntheticConfig, rng: np.random.Generator, pid: int, frame0: int, shot0: int
) -> tuple[PersonTrack, PersonTrack, list[Shot], np.ndarray, np.ndarray, dict]:
    """One person's sequence: noisy track, clean track, its shots, GT camera joints, truncation flags."""
    t = len(motion)
    step = int(round(cfg.video_fps / cfg.fps))
    betas = np.clip(rng.normal(0, 0.8, 10), -2, 2) * (np.arange(10) < 4)
    joints_w, coco_w, pelvis_rest, lm_w = _world_joints(bm, motion, betas)
    facing = Rotation.from_rotvec(motion.global_orient[0]).apply([0.0, 0.0, 1.0])
    base_az = np.arctan2(facing[0], facing[2])
    cams = []
    for kind in cfg.cameras:
        (dmin, dmax), target = CAMERA_KINDS[kind]
        cams.append(
            {
                "kind": kind,
                "dist": rng.uniform(dmin, dmax),
                "target": SMPL24_NAMES.index(target),
                "az": base_az + rng.uniform(-cfg.azimuth, cfg.azimuth),
                "el": rng.uniform(-0.1, 0.3),
                "aim": rng.normal(0, 0.05, 3),
            }
        )
    # shot segmentation: consecutive segments, each with a different camera than the last
    shot_of = np.zeros(t, dtype=np.int64)
    cam_of = np.zeros(t, dtype=np.int64)
    shots: list[Shot] = []
    start, last = 0, -1
    while start < t:
        length = int(rng.integers(cfg.shot_min, cfg.shot_max + 1))
        cam = int(rng.choice([c for c in range(len(cams)) if c != last]))
        end = min(t, start + length)
        shot_of[start:end] = shot0 + len(shots)
        cam_of[start:end] = cam
        shots.append(
            Shot(id=shot0 + len(shots), start=frame0 + start * step, end=frame0 + (end - 1) * step + 1)
        )
        start, last = end, cam
    # cameras per shot
    focal = default_focal(WIDTH, HEIGHT)
    center = (WIDTH / 2, HEIGHT / 2)
    gt_cam = np.zeros((t, 24, 3))
    kp_cam = np.zeros((t, 17, 3))
    lm_cam = np.zeros((t, 33, 3))
    go_c = np.zeros((t, 3))
    tr_c = np.zeros((t, 3))
    for s in shots:
        idx = np.flatnonzero(shot_of == s.id)
        c = cams[cam_of[idx[0]]]
        target = joints_w[idx[0], c["target"]] + c["aim"]
        offset = c["dist"] * np.array(
            [np.sin(c["az"]) * np.cos(c["el"]), np.sin(c["el"]), np.cos(c["az"]) * np.cos(c["el"])]
        )
        pos = target + offset
        r = _look_at(pos, target)
        gt_cam[idx] = (joints_w[idx] - pos) @ r.T
        kp_cam[idx] = (coco_w[idx] - pos) @ r.T
        lm_cam[idx] = (lm_w[idx] - pos) @ r.T
        go_c[idx] = (Rotation.from_matrix(r) * Rotation.from_rotvec(motion.global_orient[idx])).as_rotvec()
        tr_c[idx] = (motion.transl[idx] + pelvis_rest - pos) @ r.T - pelvis_rest
    uv = project_np(kp_cam, focal, center)
    inside = _in_view(uv, kp_cam)
    truncated = ~np.all(inside[:, BODY_KEYPOINTS], axis=1)
    # detector-like noise, scaled by the visible keypoints' extent
    vis_box = [np.ptp(uv[i][inside[i]], axis=0) if inside[i].sum() >= 2 else np.ones(2) for i in range(t)]
    area = np.array([np.prod(b) for b in vis_box]).clip(100.0)  # COCO's scale: the visible extent
    sigma = cfg.noise * 0.5 * OKS_SIGMAS[None] * np.sqrt(area)[:, None]
    noisy = uv + rng.normal(size=uv.shape) * sigma[..., None]
    conf = rng.uniform(0.6, 1.0, size=inside.shape)
    out = rng.random(inside.shape) < cfg.outliers
    if out.any():
        noisy[out] = (
            uv[out]
            + rng.normal(size=(out.sum(), 2)) * 0.3 * np.sqrt(area).repeat(17).reshape(t, 17)[out, None]
        )
        conf[out] = rng.uniform(0.2, 0.6, size=out.sum())
    conf[(rng.random(inside.shape) < cfg.drop) | ~inside] = 0.0
    noisy[conf == 0] = 0.0
    frames = frame0 + np.arange(t) * step

    def track(kp2d: np.ndarray, c: np.ndarray) -> PersonTrack:
        vis = c > 0
        boxes = np.zeros((t, 4))
        for i in range(t):
            pts = kp2d[i][vis[i]] if vis[i].any() else np.array([[0.0, 0.0], [1.0, 1.0]])
            lo, hi = pts.min(0), pts.max(0)
            pad = 0.1 * (hi - lo)
            boxes[i] = [
                max(0, lo[0] - pad[0]),
                max(0, lo[1] - pad[1]),
                min(WIDTH, hi[0] + pad[0]),
                min(HEIGHT, hi[1] + pad[1]),
            ]
        return PersonTrack(
            id=pid,
            frames=frames.copy(),
            shot=shot_of.copy(),
            bbox=boxes,
            keypoints=np.concatenate([kp2d, c[..., None]], -1),
        )

    clean_uv = np.where(inside[..., None], uv, 0.0)
    params = {"global_orient": go_c, "body_pose": motion.body_pose, "transl": tr_c, "betas": betas}
    observed = track(noisy, conf)
    if cfg.landmarks:  # own generator: the keypoint data stay identical with or without landmarks
        lm_uv = project_np(lm_cam, focal, center)
        lm_inside = _in_view(lm_uv, lm_cam)
        lm_rng = np.random.default_rng([cfg.seed, pid, 33])
        observed.landmarks, observed.world_landmarks = _landmarks(lm_cam, lm_inside, area, cfg, lm_rng)
        params["landmarks_cam"] = lm_cam
    return (observed, track(clean_uv, inside.astype(np.float64)), shots, gt_cam, truncated, params)


def generate(bm: BodyModel, cfg: SyntheticConfig | None = None) -> SyntheticSet:
    """A seeded synthetic multi-shot set (see the module docstring)."""
    cfg = cfg or SyntheticConfig()
    rng = np.random.default_rng(cfg.seed)
    from msmesh.fit.prior import mean_pose as open_mean_pose

    mean_pose = open_mean_pose()
    motions = [load_clip(c, fps=cfg.fps, frames=cfg.frames) for c in cfg.clips]
    motions += [
        procedural_motion(cfg.frames, cfg.fps, rng, mean_pose, f"procedural{i}")
        for i in range(cfg.procedural)
    ]
    # fast motion: the same smooth random motion evaluated on a time axis ``fast_factor`` × longer
    motions += [
        procedural_motion(cfg.frames, cfg.fps / cfg.fast_factor, rng, mean_pose, f"fast{i}")
        for i in range(cfg.fast)
    ]
    step = int(round(cfg.video_fps / cfg.fps))
    people: list[PersonTrack] = []
    clean: list[PersonTrack] = []
    shots: list[Shot] = []
    gt, trunc, params = {}, {}, {}
    frame0 = 0
    for pid, m in enumerate(motions):
        noisy, cl, sh, j, tr, pa = make_sequence(bm, m, cfg, rng, pid, frame0, len(shots))
        people.append(noisy)
        clean.append(cl)
        shots += sh
        gt[pid], trunc[pid], params[pid] = j, tr, pa
        frame0 += len(m) * step + step
    # fill gaps between sequences with shots so the shot list covers the video
    filled: list[Shot] = []
    next_id = len(shots)
    cursor = 0
    for s in shots:
        if s.start > cursor:
            filled.append(Shot(id=next_id, start=cursor, end=s.start))
            next_id += 1
        filled.append(s)
        cursor = s.end
    video = VideoInfo(
        source="synthetic",
        fps=cfg.video_fps,
        frame_count=cursor,
        width=WIDTH,
        height=HEIGHT,
        sampled_frames=[int(f) for p in people for f in p.frames],
    )
    camera = Camera(focal=default_focal(WIDTH, HEIGHT), center=(WIDTH / 2, HEIGHT / 2))
    return SyntheticSet(
        tracks=Tracks(video=video, shots=filled, people=people, camera=camera),
        clean=Tracks(video=video, shots=filled, people=clean, camera=camera),
        gt_joints=gt,
        truncated=trunc,
        gt_params=params,
    )


def score(result: FitResult, data: SyntheticSet, bm: BodyModel) -> dict[str, float]:
    """PA-MPJPE (mm) over all / truncated frames, MPJPE-free of scale, and cross-shot PCK@0.1."""
    errs, terrs = [], []
    for seq in result.people:
        e = pa_mpjpe(seq.joints[:, EVAL_JOINTS], data.gt_joints[seq.id][:, EVAL_JOINTS]) * 1000.0
        errs.append(e)
        terrs.append(e[data.truncated[seq.id]])
    all_e, tr_e = np.concatenate(errs), np.concatenate(terrs)
    xs = cross_shot_pck(result, data.clean, bm, alpha=0.1)
    return {
        "pa_mpjpe_mm": float(all_e.mean()),
        "pa_mpjpe_truncated_mm": float(tr_e.mean()) if len(tr_e) else float("nan"),
        "cross_shot_pck": xs.value,
        "frames": int(len(all_e)),
        "truncated_frames": int(len(tr_e)),
        "cuts": xs.cuts,
    }


def run_benchmark(
    bm: BodyModel,
    cfg: SyntheticConfig | None = None,
    modes: tuple[str, ...] = FIT_MODES,
    progress: Any = None,
    **fit_options: Any,
) -> dict[str, Any]:
    """Generate the set, fit it in each mode and score; returns a JSON-ready dict."""
    from msmesh.fit.fitter import MultiShotFitter

    cfg = cfg or SyntheticConfig()
    data = generate(bm, cfg)
    rows = {}
    for mode in modes:
        fitter = MultiShotFitter(bm, mode=mode, **fit_options)
        t0 = time.perf_counter()
        res = fitter.fit(data.tracks)
        row: dict[str, Any] = dict(score(res, data, bm))
        row["seconds"] = time.perf_counter() - t0
        row["iterations"] = fitter.stats.iterations
        rows[mode] = row
        if progress:
            progress(mode)
    return {
        "dataset": "synthetic",
        "seed": cfg.seed,
        "sequences": len(data.tracks.people),
        "frames": int(sum(len(p) for p in data.tracks.people)),
        "truncated_frames": int(sum(t.sum() for t in data.truncated.values())),
        "modes": rows,
        "options": fit_options,
    }
