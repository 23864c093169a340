"""Training data for msmesh's own regressors: synthetic multi-shot person sequences from open motion.

Each sequence is one person's motion seen through a multi-shot edit, made by
:func:`msmesh.eval.synthetic.make_sequence` (the benchmark's camera model: wide / medium / close framings, a
cut every few sampled frames, truncation exactly as close-ups truncate, detector-like 2D noise, outliers and
drops), plus what a real detector does on top of it here: MoveNet-like confidences, off-image body parts
guessed inside the frame with low scores, left/right swaps and B-roll gaps (the person absent for a few
timestamps). Motion comes from a :class:`MotionSource` — the DeepMimic clips shipped in
``assets/priors`` **minus the benchmark's held-out clips**, any extra clips handed in (the tools script adds
pybullet's ``walker/`` clips), smooth procedural motion, keyframed samples of the open GMM pose prior, and
left↔right mirrors of all of them — at a random sampled-frame rate, with a random shape.

Targets per person-frame: the 24 rotations (global orientation in the camera), betas, the root-relative
camera-frame joints, the 24 joints projected into the person's box ("crop units") and the box's
weak-perspective camera. Everything is seeded by the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.spatial.transform import Rotation, Slerp

from msmesh.body.joints import COCO17_FLIP_PAIRS
from msmesh.eval.motion import HELD_OUT_CLIPS, Motion, clip_names, load_clip, mirror_motion, procedural_motion
from msmesh.eval.synthetic import HEIGHT, WIDTH, SyntheticConfig, make_sequence
from msmesh.fit.camera import default_focal, project_np
from msmesh.regress.crop import full_to_crop_camera, image_to_crop_units, square_box
from msmesh.regress.keypoints import FEATURE_DIM, build_features
from msmesh.rotations import axis_angle_to_rotmat

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

FPS_CHOICES = (5.0, 10.0, 15.0)
CAMERA_SETS = (("wide", "medium", "close", "close"), ("wide", "close"), ("medium", "close"),
               ("wide", "medium"), ("wide", "medium", "close"), ("close", "close", "medium"))


@dataclass
class SynthOptions:
    """Sizes and noise of the generated set."""

    sequences: int = 2000
    length: int = 32  # sampled frames per sequence
    p_clip: float = 0.55  # motion source mix: clip / procedural / GMM keyframes
    p_procedural: float = 0.2
    p_mirror: float = 0.5
    p_swap: float = 0.02  # per frame: one left/right keypoint pair exchanged
    p_hallucinate: float = 0.6  # per sequence: off-image body keypoints guessed inside the frame (MoveNet does)
    conf_range: tuple[float, float] = (0.3, 0.95)  # confidences of seen keypoints (MoveNet's: median ≈ 0.65)
    p_gap: float = 0.5  # per sequence: a B-roll gap of 1–5 timestamps
    azimuth: float = 2.0  # cameras within ± this of the person's facing direction (the benchmark: 1.2)
    noise: tuple[float, float] = (0.5, 1.5)
    extra_clips: dict[str, Motion] = field(default_factory=dict)  # name → motion at its own rate


@dataclass
class SynthSet:
    """Generated training sequences (S sequences × L timestamps)."""

    features: np.ndarray  # (S,L,FEATURE_DIM) float32
    present: np.ndarray  # (S,L) bool: the person is detected at that timestamp
    truncated: np.ndarray  # (S,L) bool
    rotmat: np.ndarray  # (S,L,24,3,3) float32, joint 0 = global orientation in the camera
    betas: np.ndarray  # (S,10) float32
    joints: np.ndarray  # (S,L,24,3) float32, camera axes, pelvis at the origin
    j2d: np.ndarray  # (S,L,24,2) float32, crop units of the person's square box
    cam: np.ndarray  # (S,L,3) float32 weak-perspective [s, tx, ty] of the box
    source: list[str]

    def __len__(self) -> int:
        return len(self.features)


class MotionSource:
    """Random training motion windows; never the benchmark's held-out clips."""

    def __init__(self, opts: SynthOptions, rng: np.random.Generator) -> None:
        from msmesh.fit.prior import joint_limit_bounds, mean_pose

        self.opts = opts
        self.rng = rng
        self.names = [n for n in clip_names() if n not in HELD_OUT_CLIPS]
        self.extra = dict(opts.extra_clips)
        self.mean_pose = mean_pose()
        self.gmm_weights, self.gmm_means, self.gmm_covars = _gmm_arrays()
        self.lo, self.hi = joint_limit_bounds()
        self._cache: dict[tuple[str, float], Motion] = {}

    def clips(self) -> list[str]:
        return self.names + list(self.extra)

    def _looped(self, name: str, fps: float, frames: int) -> Motion:
        key = (name, fps)
        if key not in self._cache:
            if name in self.extra:
                m = self.extra[name]
                self._cache[key] = _resample(m, fps, max(frames, 4 * frames))
            else:
                self._cache[key] = load_clip(name, fps=fps, frames=4 * frames)
        return self._cache[key]

    def sample(self, frames: int, fps: float) -> Motion:
        r = self.rng.random()
        if r < self.opts.p_clip:
            name = self.clips()[int(self.rng.integers(len(self.clips())))]
            m = self._looped(name, fps, frames)
            s = int(self.rng.integers(0, max(1, len(m) - frames)))
            m = Motion(name, m.global_orient[s:s + frames], m.body_pose[s:s + frames], m.transl[s:s + frames], fps)
        elif r < self.opts.p_clip + self.opts.p_procedural:
            m = procedural_motion(frames, fps, self.rng, self.mean_pose)
        else:
            m = self.gmm_motion(frames, fps)
        if self.rng.random() < self.opts.p_mirror:
            m = mirror_motion(m)
        return m

    def gmm_motion(self, frames: int, fps: float) -> Motion:
        """Keyframes drawn from the open GMM pose prior every 0.5–1.5 s, slerped; the body turns slowly."""
        step = float(self.rng.uniform(0.5, 1.5))
        t = np.arange(frames) / fps
        keys_t = np.arange(0.0, t[-1] + step, step)
        comp = self.rng.choice(len(self.gmm_weights), size=len(keys_t), p=self.gmm_weights)
        poses = np.stack([self.rng.multivariate_normal(self.gmm_means[c], self.gmm_covars[c]) for c in comp])
        lo = np.where(np.isfinite(self.lo), self.lo, -np.pi)
        hi = np.where(np.isfinite(self.hi), self.hi, np.pi)
        poses = np.clip(poses, lo, hi)
        if len(keys_t) == 1:
            body = np.tile(poses, (frames, 1))
        else:
            body = _resample_rotvecs(poses.reshape(len(keys_t), 23, 3), keys_t, t).reshape(frames, 69)
        yaw = self.rng.uniform(-np.pi, np.pi) + self.rng.uniform(-0.6, 0.6) * t
        tilt = self.rng.normal(0, 0.1, 2)
        go = (Rotation.from_euler("y", yaw[:, None]) * Rotation.from_euler("xz", tilt)).as_rotvec()
        tr = np.zeros((frames, 3))
        tr[:, 1] = 0.9
        return Motion("gmm", go, body, tr, fps)


def _gmm_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from msmesh.fit.prior import open_gmm_path

    with np.load(open_gmm_path()) as z:
        w = z["weights"].astype(np.float64)
        return w / w.sum(), z["means"].astype(np.float64), z["covars"].astype(np.float64)


def _resample_rotvecs(rv: np.ndarray, t_src: np.ndarray, t_dst: np.ndarray) -> np.ndarray:
    t_dst = np.clip(t_dst, t_src[0], t_src[-1])
    out = np.empty((len(t_dst), rv.shape[1], 3))
    for j in range(rv.shape[1]):
        out[:, j] = Slerp(t_src, Rotation.from_rotvec(rv[:, j]))(t_dst).as_rotvec()
    return out


def _resample(m: Motion, fps: float, frames: int) -> Motion:
    """A clip at its own rate → ``fps``, looped by repetition (short walker cycles) up to ``frames``."""
    t_src = np.arange(len(m)) / m.fps
    reps = int(np.ceil(frames / fps / max(t_src[-1], 1e-6)))
    rvs, trs = [], []
    for k in range(reps):
        full = np.concatenate([m.global_orient[:, None], m.body_pose.reshape(-1, 23, 3)], 1)
        rvs.append(full if k == 0 else full[1:])
        shift = (m.transl[-1] - m.transl[0]) * k * np.array([1.0, 0.0, 1.0])
        trs.append(m.transl + shift if k == 0 else (m.transl + shift)[1:])
    rv, tr = np.concatenate(rvs), np.concatenate(trs)
    t_all = np.arange(len(rv)) / m.fps
    t_dst = np.arange(frames) / fps
    t_dst = t_dst[t_dst <= t_all[-1]]
    res = _resample_rotvecs(rv, t_all, t_dst)
    tr_res = np.stack([np.interp(t_dst, t_all, tr[:, k]) for k in range(3)], -1)
    return Motion(m.name, res[:, 0], res[:, 1:].reshape(-1, 69), tr_res, fps)


# COCO-17 body keypoint → the SMPL-24 joint it sits on (shoulders … ankles)
_COCO_BODY_JOINT = {5: 16, 6: 17, 7: 18, 8: 19, 9: 20, 10: 21, 11: 1, 12: 2, 13: 4, 14: 5, 15: 7, 16: 8}


def _hallucinate(kp: np.ndarray, gt_px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What MoveNet does with body parts below a close-up's frame: it still reports them, inside the image
    near the border, with a low score. Unseen body keypoints (conf 0) whose true position is off the image
    become such guesses (each with probability ½): the true point clamped into the frame, pulled inwards by
    up to 15 % of the image height, confidence U(0.02, 0.35)."""
    kp = kp.copy()
    for k, j in _COCO_BODY_JOINT.items():
        p = gt_px[:, j]
        off = (p[:, 0] < 0) | (p[:, 0] >= WIDTH) | (p[:, 1] < 0) | (p[:, 1] >= HEIGHT)
        pick = (kp[:, k, 2] == 0) & off & (rng.random(len(kp)) < 0.5)
        if not pick.any():
            continue
        inward = rng.uniform(0.0, 0.15, pick.sum()) * HEIGHT
        x = np.clip(p[pick, 0], 2.0, WIDTH - 3.0)
        y = np.clip(p[pick, 1], 2.0, HEIGHT - 3.0) - inward * (p[pick, 1] >= HEIGHT)
        kp[pick, k] = np.stack([x, y, rng.uniform(0.02, 0.35, pick.sum())], -1)
    return kp


def _swap_pairs(kp: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """A detector's left/right confusions: per frame, with probability p, one COCO pair exchanged."""
    kp = kp.copy()
    for i in np.flatnonzero(rng.random(len(kp)) < p):
        a, b = COCO17_FLIP_PAIRS[int(rng.integers(1, len(COCO17_FLIP_PAIRS)))]
        kp[i, [a, b]] = kp[i, [b, a]]
    return kp


def generate(bm: BodyModel, opts: SynthOptions, rng: np.random.Generator,
             landmark_fn=None) -> SynthSet:  # noqa: ANN001
    """Generate ``opts.sequences`` training sequences (see the module docstring).

    ``landmark_fn(bm, track, params, gt_joints, rng)`` may return ``(landmarks (T,33,3) pixels+visibility,
    world_landmarks (T,33,4))`` for a sequence (either may be None) to fill the landmark feature blocks.
    """
    source = MotionSource(opts, rng)
    s_n, L = opts.sequences, opts.length
    feats = np.zeros((s_n, L, FEATURE_DIM), np.float32)
    present = np.zeros((s_n, L), bool)
    trunc = np.zeros((s_n, L), bool)
    rotmat = np.zeros((s_n, L, 24, 3, 3), np.float32)
    betas = np.zeros((s_n, 10), np.float32)
    joints = np.zeros((s_n, L, 24, 3), np.float32)
    j2d = np.zeros((s_n, L, 24, 2), np.float32)
    cam = np.zeros((s_n, L, 3), np.float32)
    names: list[str] = []
    focal = default_focal(WIDTH, HEIGHT)
    center = (WIDTH / 2, HEIGHT / 2)
    for i in range(s_n):
        fps = float(FPS_CHOICES[int(rng.integers(len(FPS_CHOICES)))])
        motion = source.sample(L, fps)
        cfg = SyntheticConfig(frames=L, fps=fps, video_fps=30.0, shot_min=2, shot_max=8,
                              cameras=CAMERA_SETS[int(rng.integers(len(CAMERA_SETS)))],
                              noise=float(rng.uniform(*opts.noise)), drop=float(rng.uniform(0.0, 0.1)),
                              outliers=float(rng.uniform(0.0, 0.04)), azimuth=opts.azimuth)
        track, _, _, gt, tr, params = make_sequence(bm, motion, cfg, rng, 0, 0, 0)
        kp = track.keypoints.copy()
        seen = kp[..., 2] >= 0.6  # make_sequence: U(0.6, 1) seen, U(0.2, 0.6) outliers
        kp[..., 2] = np.where(seen, rng.uniform(*opts.conf_range, seen.shape), kp[..., 2])
        gt_px = project_np(gt, focal, center)
        if rng.random() < opts.p_hallucinate:
            kp = _hallucinate(kp, gt_px, rng)
        kp = _swap_pairs(kp, rng, opts.p_swap)
        lm = wl = None
        if landmark_fn is not None:
            lm, wl = landmark_fn(bm, track, params, gt, rng)
        feats[i] = build_features(kp, track.bbox, lm, wl)
        seen = (track.keypoints[..., 2] > 0).sum(-1) >= 3
        if rng.random() < opts.p_gap:
            g = int(rng.integers(1, 6))
            s0 = int(rng.integers(0, L - g))
            seen[s0:s0 + g] = False
        present[i] = seen
        trunc[i] = tr
        go = torch.as_tensor(params["global_orient"], dtype=torch.float32)
        bp = torch.as_tensor(np.asarray(params["body_pose"]).reshape(L, 23, 3), dtype=torch.float32)
        rotmat[i] = axis_angle_to_rotmat(torch.cat([go[:, None], bp], 1)).numpy()
        betas[i] = params["betas"]
        joints[i] = gt - gt[:, :1]
        centre, side = square_box(track.bbox)
        j2d[i] = image_to_crop_units(gt_px, centre, side)
        cam[i] = full_to_crop_camera(torch.as_tensor(params["transl"], dtype=torch.float64),
                                     torch.as_tensor(centre), torch.as_tensor(side), focal, center).numpy()
        names.append(motion.name)
    return SynthSet(feats, present, trunc, rotmat, betas, joints, j2d, cam, names)
