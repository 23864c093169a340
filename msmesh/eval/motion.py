"""Motion for synthetic benchmarks: retargeted DeepMimic clips and smooth procedural motion, as SMPL params.

Clips come from ``assets/priors/deepmimic_smpl.npz`` (built by tools/build_pose_prior.py from the motion
capture shipped in pybullet; see assets/priors/PROVENANCE.md). Their world frame is SMPL's canonical one:
y up, the body faces +z at zero orientation. ``HELD_OUT_CLIPS`` were not used to fit the open pose prior, so
a benchmark on them does not reward the prior for memorising its training motion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from msmesh.assets import asset_path
from msmesh.body.joints import SMPL24_FLIP
from msmesh.errors import InputError
from msmesh.fit.prior import joint_limit_bounds

CLIPS_FILE = "deepmimic_smpl.npz"  # in assets/priors/
HELD_OUT_CLIPS = ("run", "punch", "dance_b", "kick")


@dataclass
class Motion:
    """A body motion in the world (y up): (T,3) global_orient, (T,69) body_pose, (T,3) transl, at ``fps``."""

    name: str
    global_orient: np.ndarray
    body_pose: np.ndarray
    transl: np.ndarray
    fps: float

    def __len__(self) -> int:
        return len(self.body_pose)


def clip_names() -> list[str]:
    """Names of the shipped clips."""
    with np.load(_clips_file()) as z:
        return [str(n) for n in z["clip_names"]]


def _clips_file() -> Path:
    return asset_path("priors", CLIPS_FILE)


def _resample_rotvecs(rv: np.ndarray, t_src: np.ndarray, t_dst: np.ndarray) -> np.ndarray:
    """Slerp each joint's rotation from times t_src to t_dst. rv (T, J, 3) → (T', J, 3)."""
    out = np.empty((len(t_dst), rv.shape[1], 3))
    for j in range(rv.shape[1]):
        out[:, j] = Slerp(t_src, Rotation.from_rotvec(rv[:, j]))(t_dst).as_rotvec()
    return out


def load_clip(name: str, fps: float | None = None, frames: int | None = None) -> Motion:
    """A clip, resampled to ``fps`` (default: its own rate) and looped (continuing the root's path) or
    truncated to ``frames`` frames."""
    with np.load(_clips_file()) as z:
        if f"{name}_body_pose" not in z.files:
            raise InputError(f"unknown motion clip {name!r} (have: {', '.join(map(str, z['clip_names']))})")
        go = z[f"{name}_global_orient"].astype(np.float64)
        bp = z[f"{name}_body_pose"].astype(np.float64)
        tr = z[f"{name}_transl"].astype(np.float64)
        src_fps = float(z[f"{name}_fps"])
    fps = fps or src_fps
    want = frames or int(len(bp) * fps / src_fps)
    duration = (len(bp) - 1) / src_fps
    # loop: each repetition continues from where the last one ended (horizontal offset and heading)
    reps = int(np.ceil((want - 1) / fps / max(duration, 1e-6))) + 1
    gos, bps, trs = [go], [bp], [tr]
    for _ in range(reps - 1):
        turn = Rotation.from_rotvec(gos[-1][-1]) * Rotation.from_rotvec(go[0]).inv()
        yaw = Rotation.from_rotvec([0.0, turn.as_euler("YXZ")[0], 0.0])
        start = trs[-1][-1]
        rel = yaw.apply(tr - tr[0])
        rel[:, 1] = tr[:, 1] - tr[0, 1]
        gos.append((yaw * Rotation.from_rotvec(go)).as_rotvec()[1:])
        bps.append(bp[1:])
        trs.append((start + rel)[1:])
    go, bp, tr = (np.concatenate(x) for x in (gos, bps, trs))
    t_src = np.arange(len(bp)) / src_fps
    t_dst = np.arange(want) / fps
    t_dst = t_dst[t_dst <= t_src[-1] + 1e-9]
    full = np.concatenate([go[:, None], bp.reshape(-1, 23, 3)], 1)
    res = _resample_rotvecs(full, t_src, t_dst)
    tr_res = np.stack([np.interp(t_dst, t_src, tr[:, k]) for k in range(3)], -1)
    return Motion(name, res[:, 0], res[:, 1:].reshape(-1, 69), tr_res, fps)


def procedural_motion(
    frames: int, fps: float, rng: np.random.Generator, mean_pose: np.ndarray, name: str = "procedural"
) -> Motion:
    """Smooth random motion inside the joint limits: each joint swings around ``mean_pose`` with a few
    sinusoids (0.1–0.8 Hz, amplitudes scaled to its range), the body turns slowly and walks a little."""
    t = np.arange(frames) / fps
    lo, hi = joint_limit_bounds()
    span = np.where(np.isfinite(hi - lo), hi - lo, 2.0)
    amp = 0.2 * span
    pose = np.tile(np.asarray(mean_pose, dtype=np.float64), (frames, 1))
    for _ in range(3):
        f = rng.uniform(0.1, 0.8, 69)
        ph = rng.uniform(0, 2 * np.pi, 69)
        a = amp * rng.uniform(0.2, 1.0, 69)
        pose += a * np.sin(2 * np.pi * f * t[:, None] + ph)
    # hinge joints: keep bends in the natural direction
    pose = np.clip(pose, np.where(np.isfinite(lo), lo * 0.9, -3), np.where(np.isfinite(hi), hi * 0.9, 3))
    hands = [3 * (j - 1) + k for j in (20, 21, 22, 23) for k in range(3)]
    pose[:, hands] *= 0.3
    yaw = rng.uniform(-np.pi, np.pi) + rng.uniform(-0.8, 0.8) * t
    go = Rotation.from_euler("y", yaw[:, None]).as_rotvec()
    speed = rng.uniform(0.0, 0.8)
    heading = yaw[0] + rng.uniform(-0.5, 0.5)
    tr = np.zeros((frames, 3))
    tr[:, 0] = speed * t * np.sin(heading)
    tr[:, 2] = speed * t * np.cos(heading)
    tr[:, 1] = 0.9
    return Motion(name, go, pose, tr, fps)


def mirror_body_pose(body_pose: np.ndarray) -> np.ndarray:
    """Left↔right mirror of (N, 69) body poses: swap sides, negate the y and z axis-angle components."""
    full = np.concatenate([np.zeros((len(body_pose), 3)), np.asarray(body_pose, dtype=np.float64)], 1)
    out = full.reshape(-1, 24, 3)[:, SMPL24_FLIP] * np.array([1.0, -1.0, -1.0])
    return out.reshape(-1, 72)[:, 3:]


def mirror_motion(motion: Motion) -> Motion:
    """The motion reflected in the world's x = 0 plane (left and right exchanged)."""
    go = np.asarray(motion.global_orient, dtype=np.float64) * np.array([1.0, -1.0, -1.0])
    tr = np.asarray(motion.transl, dtype=np.float64) * np.array([-1.0, 1.0, 1.0])
    return Motion(motion.name + "_mirror", go, mirror_body_pose(motion.body_pose), tr, motion.fps)
