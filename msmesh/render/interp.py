"""SMPL parameters at full frame rate: interpolate a person's fitted frames, never across a shot cut.

Fitting runs on sampled frames (5 fps by default); the overlay video and the animated GLB play at the
video's own rate. Between two fitted frames of the same shot at most ``max_gap`` frames apart (default two
sampling intervals) every joint rotation is slerped and the translation is interpolated linearly. A frame
is otherwise drawn only when a fitted frame of the *same shot* lies less than one sampling interval away
(its parameters are held), so a person appears in the frames around their detections, up to each cut but
never across it, never inside a long gap and never before their first or after their last fitted frame.

Quaternions are (x, y, z, w), glTF's and SciPy's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from msmesh.data import Shot, SmplSequence, frame_seconds

NUM_JOINTS = 24


# --------------------------------------------------------------------------- rotation helpers


def axis_angle_to_quat(aa: np.ndarray) -> np.ndarray:
    """Axis-angle (...,3) → unit quaternions (...,4) as (x, y, z, w)."""
    aa = np.asarray(aa, dtype=np.float64)
    return Rotation.from_rotvec(aa.reshape(-1, 3)).as_quat().reshape(*aa.shape[:-1], 4)


def quat_to_axis_angle(q: np.ndarray) -> np.ndarray:
    """Quaternions (...,4) (x, y, z, w) → axis-angle (...,3)."""
    q = np.asarray(q, dtype=np.float64)
    return Rotation.from_quat(q.reshape(-1, 4)).as_rotvec().reshape(*q.shape[:-1], 3)


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions (...,4) along the shorter arc; ``t`` broadcasts."""
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    small = sin < 1e-6
    safe = np.where(small, 1.0, sin)
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(small, t, np.sin(t * theta) / safe)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


# --------------------------------------------------------------------------- full-rate parameters


@dataclass
class FrameParams:
    """One person's SMPL parameters at the requested frames; rows where ``visible`` is False are zeros."""

    frames: np.ndarray  # (N,) original frame indices
    visible: np.ndarray  # (N,) bool
    global_orient: np.ndarray  # (N,3)
    body_pose: np.ndarray  # (N,69)
    transl: np.ndarray  # (N,3)
    betas: np.ndarray  # (10,)


def frame_clock(fps: float, timestamps: np.ndarray | list[float] | None = None
                ) -> Callable[[np.ndarray | Sequence[int]], np.ndarray]:
    """The integer clock interpolation runs on: the frame index itself for constant-frame-rate video, the
    frame's time in microseconds when per-frame ``timestamps`` are given (variable frame rate), so gaps and
    holds are measured in time rather than in frames of uneven length."""
    if timestamps is None:
        return lambda f: np.asarray(f, dtype=np.int64)
    return lambda f: np.round(frame_seconds(np.asarray(f, dtype=np.int64), fps, timestamps) * 1e6).astype(np.int64)


def sampling_step(sampled_frames: np.ndarray | Sequence[int]) -> int:
    """The typical interval between sampled frames (1 when every frame was fitted)."""
    f = np.asarray(sampled_frames, dtype=np.int64)
    if f.size < 2:
        return 1
    return max(1, int(np.median(np.diff(f))))


def shot_ids(frames: np.ndarray, shots: Sequence[Shot]) -> np.ndarray:
    """The shot id of each frame (-1 for a frame no shot contains)."""
    frames = np.asarray(frames, dtype=np.int64)
    out = np.full(frames.shape, -1, dtype=np.int64)
    for s in shots:
        out[(frames >= s.start) & (frames < s.end)] = s.id
    return out


def person_shots(seq: SmplSequence, frames: np.ndarray) -> np.ndarray:
    """Shot ids of ``frames`` inferred from the person's own fitted frames when no shots.json is at hand:
    each frame takes the shot of its nearest fitted frame (a cut is placed midway between two samples)."""
    frames = np.asarray(frames, dtype=np.int64)
    fit = np.asarray(seq.frames, dtype=np.int64)
    j = np.clip(np.searchsorted(fit, frames), 1, len(fit) - 1) if len(fit) > 1 else np.zeros_like(frames)
    if len(fit) == 1:
        return np.full(frames.shape, int(seq.shot[0]))
    left = np.abs(frames - fit[j - 1]) <= np.abs(fit[j] - frames)
    return np.where(left, seq.shot[j - 1], seq.shot[j]).astype(np.int64)


def interpolate_person(seq: SmplSequence, frames: np.ndarray, frame_shots: np.ndarray, step: int,
                       max_gap: int | None = None) -> FrameParams:
    """A person's parameters at ``frames`` (original indices) whose shot ids are ``frame_shots``.

    ``step`` is the sampling interval of the fit; ``max_gap`` (default ``2*step``) the longest gap between
    two fitted frames of one shot that is interpolated rather than left empty.
    """
    frames = np.asarray(frames, dtype=np.int64)
    frame_shots = np.asarray(frame_shots, dtype=np.int64)
    max_gap = 2 * step if max_gap is None else max_gap
    hold = step - 1
    n = len(frames)
    fit_frames = np.asarray(seq.frames, dtype=np.int64)
    fit_shot = np.asarray(seq.shot, dtype=np.int64)
    T = len(fit_frames)
    go = np.zeros((n, 3))
    bp = np.zeros((n, 69))
    tr = np.zeros((n, 3))
    visible = np.zeros(n, dtype=bool)
    if T == 0 or n == 0:
        return FrameParams(frames, visible, go, bp, tr, np.asarray(seq.betas, np.float64))
    i = np.searchsorted(fit_frames, frames, side="right") - 1  # last fitted frame ≤ f
    j = i + 1  # first fitted frame > f
    has_i = i >= 0
    has_j = j < T
    ic = np.clip(i, 0, T - 1)
    jc = np.clip(j, 0, T - 1)
    exact = has_i & (fit_frames[ic] == frames)
    in_range = exact | (has_i & has_j)
    same_i = has_i & (fit_shot[ic] == frame_shots)
    same_j = has_j & (fit_shot[jc] == frame_shots)
    gap = fit_frames[jc] - fit_frames[ic]
    lerp = in_range & ~exact & same_i & same_j & (gap <= max_gap)
    d_i = frames - fit_frames[ic]
    d_j = fit_frames[jc] - frames
    hold_i = in_range & ~exact & ~lerp & same_i & (d_i <= hold) & (~same_j | (d_i <= d_j) | (d_j > hold))
    hold_j = in_range & ~exact & ~lerp & ~hold_i & same_j & (d_j <= hold)
    # source indices a, b and weight w: value = slerp(a, b, w)
    a = np.where(hold_j, jc, ic)
    b = np.where(lerp, jc, a)
    w = np.where(lerp, d_i / np.maximum(gap, 1), 0.0)
    visible = exact | lerp | hold_i | hold_j
    if visible.any():
        rot = np.concatenate([np.asarray(seq.global_orient, np.float64)[:, None],
                              np.asarray(seq.body_pose, np.float64).reshape(T, 23, 3)], axis=1)
        q = axis_angle_to_quat(rot)  # (T,24,4)
        av, bv, wv = a[visible], b[visible], w[visible]
        aa = quat_to_axis_angle(slerp(q[av], q[bv], wv[:, None]))  # (M,24,3)
        go[visible] = aa[:, 0]
        bp[visible] = aa[:, 1:].reshape(-1, 69)
        t = np.asarray(seq.transl, np.float64)
        tr[visible] = t[av] * (1.0 - wv[:, None]) + t[bv] * wv[:, None]
        k = ic[exact]  # fitted frames themselves: the stored values, untouched by the quaternion round trip
        go[exact] = np.asarray(seq.global_orient, np.float64)[k]
        bp[exact] = np.asarray(seq.body_pose, np.float64)[k]
        tr[exact] = t[k]
    return FrameParams(frames, visible, go, bp, tr, np.asarray(seq.betas, np.float64))
