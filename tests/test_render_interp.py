"""Full-rate parameter interpolation: slerp hits its endpoints, values never mix across a cut, nothing is drawn
inside long gaps or outside the fitted range."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from msmesh.data import Shot, SmplSequence
from msmesh.render.interp import (
    axis_angle_to_quat,
    interpolate_person,
    person_shots,
    sampling_step,
    shot_ids,
    slerp,
)

SHOTS = [Shot(0, 0, 22), Shot(1, 22, 80)]
FRAMES = np.array([0, 6, 12, 18, 24, 30, 60, 66])
STEP = 6


def _sequence() -> SmplSequence:
    rng = np.random.default_rng(0)
    T = len(FRAMES)
    return SmplSequence(id=3, frames=FRAMES, shot=shot_ids(FRAMES, SHOTS),
                        global_orient=rng.normal(0, 0.5, (T, 3)), body_pose=rng.normal(0, 0.2, (T, 69)),
                        betas=np.zeros(10), transl=rng.normal(0, 1, (T, 3)), joints=np.zeros((T, 24, 3)))


def test_slerp_endpoints_and_midpoint() -> None:
    rng = np.random.default_rng(1)
    q0 = axis_angle_to_quat(rng.normal(0, 1, (50, 3)))
    q1 = axis_angle_to_quat(rng.normal(0, 1, (50, 3)))
    r0, r1 = Rotation.from_quat(q0), Rotation.from_quat(q1)
    assert np.all((Rotation.from_quat(slerp(q0, q1, 0.0)) * r0.inv()).magnitude() < 1e-7)
    assert np.all((Rotation.from_quat(slerp(q0, q1, 1.0)) * r1.inv()).magnitude() < 1e-7)
    mid = Rotation.from_quat(slerp(q0, q1, 0.5))
    half = (mid * r0.inv()).magnitude()
    full = (r1 * r0.inv()).magnitude()
    assert np.allclose(half, full / 2, atol=1e-7)
    assert np.allclose((r1 * mid.inv()).magnitude(), full / 2, atol=1e-7)


def test_interpolation_never_crosses_a_cut() -> None:
    seq = _sequence()
    frames = np.arange(0, 90)
    p = interpolate_person(seq, frames, shot_ids(frames, SHOTS), STEP)
    # fitted frames: stored values exactly
    for k, f in enumerate(FRAMES):
        assert p.visible[f] and np.array_equal(p.transl[f], seq.transl[k])
        assert np.allclose(p.global_orient[f], seq.global_orient[k])
    # within a shot: linear translation, slerped rotation
    assert np.allclose(p.transl[3], (seq.transl[0] + seq.transl[1]) / 2)
    r = Rotation.from_rotvec(p.global_orient[3])
    r0, r1 = Rotation.from_rotvec(seq.global_orient[0]), Rotation.from_rotvec(seq.global_orient[1])
    assert np.isclose((r * r0.inv()).magnitude(), (r1 * r0.inv()).magnitude() / 2, atol=1e-6)
    # around the cut at 22 (last fitted 18 in shot 0, first 24 in shot 1): values held, never mixed
    for f in (19, 20, 21):
        assert p.visible[f] and np.array_equal(p.transl[f], seq.transl[3])
    for f in (22, 23):
        assert p.visible[f] and np.array_equal(p.transl[f], seq.transl[4])


def test_no_drawing_in_long_gaps_or_outside_range() -> None:
    seq = _sequence()
    frames = np.arange(0, 90)
    p = interpolate_person(seq, frames, shot_ids(frames, SHOTS), STEP)
    # gap 30 → 60 (5 intervals): held less than one interval on each side, empty in between
    assert p.visible[31:36].all() and p.visible[55:60].all()
    assert not p.visible[36:55].any()
    assert np.all(p.transl[36:55] == 0)
    # after the last fitted frame (66): nothing
    assert not p.visible[67:].any()
    # starting later: nothing before the first fitted frame
    late = interpolate_person(seq, np.arange(-5, 3), np.zeros(8, dtype=np.int64), STEP)
    assert not late.visible[:5].any() and late.visible[5]


def test_shots_inferred_without_shots_json() -> None:
    seq = _sequence()
    s = person_shots(seq, np.array([19, 20, 21, 22, 23]))
    assert s.tolist() == [0, 0, 0, 1, 1]  # the cut placed midway between 18 and 24
    assert sampling_step([0, 6, 12, 18, 24]) == 6 and sampling_step([5]) == 1
