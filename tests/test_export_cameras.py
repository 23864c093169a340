"""cameras.json: the camera motion across a cut is recovered from the bodies seen on both sides of it."""

from __future__ import annotations

import json

import numpy as np
from scipy.spatial.transform import Rotation

from msmesh.data import FitResult, Shot, SmplSequence
from msmesh.export.camera_motion import CAMERAS_FORMAT, camera_cuts, chain_shots, write_cameras

SHOTS = [Shot(0, 0, 30), Shot(1, 30, 60), Shot(2, 60, 90)]
R_TRUE = Rotation.from_rotvec([0.1, -0.6, 0.05])
T_TRUE = np.array([0.8, -0.1, 1.5])


def _person(pid: int, rng: np.random.Generator, noise: float) -> SmplSequence:
    """Fitted at 18, 24 (shot 0) and 30, 36 (shot 1): shot 1's camera is R_TRUE, T_TRUE from shot 0's."""
    frames = np.array([18, 24, 30, 36])
    go_a = Rotation.from_rotvec([np.pi, 0, 0]) * Rotation.from_rotvec(rng.normal(0, 0.4, 3))
    pelvis_a = np.array([rng.uniform(-1, 1), 0.3, rng.uniform(3, 6)])
    go_b = R_TRUE * go_a
    pelvis_b = R_TRUE.apply(pelvis_a) + T_TRUE
    jitter = Rotation.from_rotvec(rng.normal(0, noise, (4, 3)))
    go = jitter * Rotation.concatenate([go_a, go_a, go_b, go_b])
    pelvis = np.stack([pelvis_a, pelvis_a, pelvis_b, pelvis_b]) + rng.normal(0, noise, (4, 3))
    joints = np.zeros((4, 24, 3))
    joints[:, 0] = pelvis
    return SmplSequence(id=pid, frames=frames, shot=np.array([0, 0, 1, 1]), global_orient=go.as_rotvec(),
                        body_pose=np.zeros((4, 69)), betas=np.zeros(10), transl=pelvis, joints=joints)


def _errors(cut: dict) -> tuple[float, float]:
    r_err = np.degrees((Rotation.from_matrix(np.array(cut["R"])) * R_TRUE.inv()).magnitude())
    return float(r_err), float(np.linalg.norm(np.array(cut["t"]) - T_TRUE))


def test_known_camera_change_recovered_exactly() -> None:
    fit = FitResult(people=[_person(0, np.random.default_rng(0), 0.0)], focal=500.0, center=(80.0, 45.0))
    cuts = camera_cuts(fit, SHOTS, window=12)
    assert len(cuts) == 2
    r_err, t_err = _errors(cuts[0])
    assert r_err < 1e-3 and t_err < 1e-4
    assert cuts[0]["people"] == [0] and cuts[0]["pairs"][0] == {"person": 0, "frame_before": 24, "frame_after": 30}
    assert cuts[1]["R"] is None and cuts[1]["people"] == []  # nobody seen across the second cut


def test_average_over_people_with_noise(tmp_path) -> None:
    rng = np.random.default_rng(1)
    fit = FitResult(people=[_person(i, rng, 0.02) for i in range(4)], focal=500.0, center=(80.0, 45.0))
    cuts = write_cameras(tmp_path / "cameras.json", fit, SHOTS, window=12)
    data = json.loads((tmp_path / "cameras.json").read_text())
    assert sum(c["R"] is not None for c in cuts) == 1 and data["format"] == CAMERAS_FORMAT
    # per shot: 1 refers to 0 through the estimated cut; nobody crosses into 2, so it starts its own chain
    assert [(c["shot"], c["reference_shot"]) for c in data["shots"]] == [(0, 0), (1, 0), (2, 2)]
    assert np.allclose(data["shots"][1]["R"], data["cuts"][0]["R"]) and np.allclose(data["shots"][2]["R"], np.eye(3))
    cut = data["cuts"][0]
    r_err, t_err = _errors(cut)
    print(f"camera recovery, 4 people, 0.02 rad / 2 cm noise: R error {r_err:.3f}°, t error {t_err * 100:.2f} cm")
    assert sorted(cut["people"]) == [0, 1, 2, 3]
    assert r_err < 2.0 and t_err < 0.15
    assert cut["spread_deg"] > 0


def test_chained_shot_cameras() -> None:
    """Two estimated cuts compose: X_2 = R12 (R01 X_0 + t01) + t12; an unknown cut starts a new chain."""
    rng = np.random.default_rng(2)
    r01, r12 = Rotation.from_rotvec(rng.normal(0, 0.5, 3)), Rotation.from_rotvec(rng.normal(0, 0.5, 3))
    t01, t12 = rng.normal(0, 1, 3), rng.normal(0, 1, 3)
    four = [*SHOTS, Shot(3, 90, 120)]
    cuts = [{"shot_before": 0, "shot_after": 1, "R": r01.as_matrix().tolist(), "t": t01.tolist()},
            {"shot_before": 1, "shot_after": 2, "R": r12.as_matrix().tolist(), "t": t12.tolist()},
            {"shot_before": 2, "shot_after": 3, "R": None, "t": None}]
    poses = chain_shots(cuts, four)
    x0 = rng.normal(0, 1, (5, 3))
    x2 = r12.apply(r01.apply(x0) + t01) + t12
    ref, R, t = poses[2]
    assert ref == 0 and np.abs(x0 @ R.T + t - x2).max() < 1e-9
    assert poses[3][0] == 3 and np.allclose(poses[3][1], np.eye(3)) and np.allclose(poses[3][2], 0)
