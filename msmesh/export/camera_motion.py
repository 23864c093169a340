"""Stage "export", cameras part: the camera's motion across each shot cut, from the fitted bodies (``cameras.json``).

Each frame's SMPL parameters are in that frame's camera coordinates. A person fitted at the last sampled
frame t of shot A and the first sampled frame t' of shot B is, over the fraction of a second between them,
in ~the same place and pose in the world; what changed is the camera. With R = rotation of
``global_orient`` and T = the pelvis joint position, the map from camera A's coordinates to camera B's,
X_B = R_AB·X_A + t_AB, is R_AB = R_B·R_Aᵀ, t_AB = T_B − R_AB·T_A. Several people seen across the same cut
are averaged: the rotation by the quaternion mean (Markley's eigenvector method, via SciPy), then
t_AB = mean(T_B − R_AB·T_A). The spread (largest angle between a person's R_AB and the mean) says how much
the people agree.

Chaining the cuts gives every shot's camera relative to the first shot of its chain (``shots``); a cut
nobody is seen across breaks the chain, and the next shot starts a new one (its own reference).

``cameras.json``: ``{"format": "msmesh/cameras@1", "convention": ..., "cuts": [{"frame_before",
"frame_after", "shot_before", "shot_after", "R": 3×3 or null, "t": [x,y,z] or null, "people": [ids],
"pairs": [{"person", "frame_before", "frame_after"}], "rotation_deg", "spread_deg"}], "shots": [{"shot",
"reference_shot", "R", "t"}]}``; a cut nobody is seen across has ``R``/``t`` null and no people. In
``shots``, X_shot = R @ X_reference + t (identity for a chain's first shot).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from msmesh.atomic import atomic_write_json
from msmesh.data import FitResult, Shot

CAMERAS_FORMAT = "msmesh/cameras@1"
CONVENTION = ("X_after = R @ X_before + t maps camera coordinates of the shot before the cut to those of the "
              "shot after it (x right, y down, z forward, metres)")


def cut_pairs(fit: FitResult, before: Shot, after: Shot, window: int) -> list[tuple[int, int, int]]:
    """(person id, index of their last fitted frame in ``before``, index of their first in ``after``) for
    everyone fitted within ``window`` frames on both sides of the cut between the two shots."""
    pairs = []
    for p in fit.people:
        ia = np.flatnonzero((p.shot == before.id) & (p.frames >= before.end - window))
        ib = np.flatnonzero((p.shot == after.id) & (p.frames < after.start + window))
        if len(ia) and len(ib):
            pairs.append((p.id, int(ia[-1]), int(ib[0])))
    return pairs


def relative_camera(fit: FitResult, pairs: Sequence[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, float]:
    """The averaged camera motion (R (3,3), t (3,)) and the spread in degrees, from (person, ia, ib) pairs."""
    rots, t_a, t_b = [], [], []
    for pid, ia, ib in pairs:
        p = fit.person(pid)
        ra = Rotation.from_rotvec(np.asarray(p.global_orient[ia], np.float64))
        rb = Rotation.from_rotvec(np.asarray(p.global_orient[ib], np.float64))
        rots.append((rb * ra.inv()).as_quat())
        t_a.append(np.asarray(p.joints[ia, 0], np.float64))
        t_b.append(np.asarray(p.joints[ib, 0], np.float64))
    each = Rotation.from_quat(np.asarray(rots))
    mean = each.mean()
    spread = float(np.degrees((each * mean.inv()).magnitude().max()))
    R = mean.as_matrix()
    t = np.mean(np.asarray(t_b) - np.asarray(t_a) @ R.T, axis=0)
    return R, t, spread


def camera_cuts(fit: FitResult, shots: Sequence[Shot], window: int) -> list[dict[str, Any]]:
    """One entry per cut between consecutive shots (see the module docstring)."""
    cuts = []
    ordered = sorted(shots, key=lambda s: s.start)
    for before, after in zip(ordered[:-1], ordered[1:], strict=True):
        pairs = cut_pairs(fit, before, after, window)
        entry: dict[str, Any] = {"frame_before": before.end - 1, "frame_after": after.start,
                                 "shot_before": before.id, "shot_after": after.id, "R": None, "t": None,
                                 "people": [pid for pid, _, _ in pairs],
                                 "pairs": [{"person": pid, "frame_before": int(fit.person(pid).frames[ia]),
                                            "frame_after": int(fit.person(pid).frames[ib])}
                                           for pid, ia, ib in pairs],
                                 "rotation_deg": None, "spread_deg": None}
        if pairs:
            R, t, spread = relative_camera(fit, pairs)
            entry.update(R=np.round(R, 6).tolist(), t=np.round(t, 5).tolist(),
                         rotation_deg=round(float(np.degrees(Rotation.from_matrix(R).magnitude())), 3),
                         spread_deg=round(spread, 3))
        cuts.append(entry)
    return cuts


def chain_shots(cuts: Sequence[dict[str, Any]], shots: Sequence[Shot]) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
    """Each shot's camera relative to a reference shot, by chaining the cuts: ``{shot id: (reference shot id,
    R, t)}`` with X_shot = R·X_reference + t. A cut without an estimate starts a new chain (the shot after it
    is its own reference)."""
    ordered = sorted(shots, key=lambda s: s.start)
    if not ordered:
        return {}
    by_cut = {(c["shot_before"], c["shot_after"]): c for c in cuts}
    ref, R, t = ordered[0].id, np.eye(3), np.zeros(3)
    poses = {ref: (ref, R, t)}
    for before, after in zip(ordered[:-1], ordered[1:], strict=True):
        cut = by_cut.get((before.id, after.id))
        if cut is not None and cut["R"] is not None:
            Rc, tc = np.asarray(cut["R"], np.float64), np.asarray(cut["t"], np.float64)
            R, t = Rc @ R, Rc @ t + tc
        else:
            ref, R, t = after.id, np.eye(3), np.zeros(3)
        poses[after.id] = (ref, R, t)
    return poses


def write_cameras(path: Path, fit: FitResult, shots: Sequence[Shot], window: int) -> list[dict[str, Any]]:
    """Write ``cameras.json`` atomically; returns its cuts (count the estimates with ``c["R"] is not None``)."""
    cuts = camera_cuts(fit, shots, window)
    chained = [{"shot": sid, "reference_shot": ref, "R": np.round(R, 6).tolist(), "t": np.round(t, 5).tolist()}
               for sid, (ref, R, t) in chain_shots(cuts, shots).items()]
    atomic_write_json(path, {"format": CAMERAS_FORMAT, "convention": CONVENTION, "cuts": cuts, "shots": chained})
    return cuts
