"""The initialisation heuristic: orientation from torso keypoints, depth from keypoint spread."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from msmesh.fit.camera import project_np
from msmesh.fit.init import initial_parameters, orientation_from_keypoints


@pytest.fixture(scope="module")
def bm():
    from msmesh.body import load_body_model

    return load_body_model("open")


def _keypoints(bm, yaw_deg: float, transl, visible=None):
    rot = Rotation.from_rotvec([np.pi, 0, 0]) * Rotation.from_rotvec([0, np.radians(yaw_deg), 0])
    with torch.no_grad():
        _, c = bm.joints_only(
            torch.tensor(rot.as_rotvec()[None], dtype=torch.float32),
            torch.zeros(1, 69),
            None,
            torch.tensor([transl], dtype=torch.float32),
        )
    uv = project_np(c.numpy(), 1000.0, (640, 360))
    conf = np.ones((1, 17, 1))
    if visible is not None:
        conf[0, [k for k in range(17) if k not in visible]] = 0
    return np.concatenate([uv, conf], -1), rot


@pytest.mark.parametrize("yaw", [0, 35, -60, 150, 180, -120])
def test_orientation_recovers_yaw(bm, yaw: float) -> None:
    kp, rot = _keypoints(bm, yaw, [0, 0.2, 4.0])
    est = orientation_from_keypoints(kp, width_ratio=0.63)
    err = np.degrees((Rotation.from_matrix(est[0]).inv() * rot).magnitude())
    assert err < 15


def test_depth_from_full_body_and_from_head_and_shoulders(bm) -> None:
    mean_pose = np.zeros(69)
    kp, _ = _keypoints(bm, 0, [0.1, 0.2, 6.0])
    p = initial_parameters(kp, np.zeros(1, int), 1000.0, (640, 360), bm, mean_pose)
    assert p["transl"][0, 2] == pytest.approx(6.0, rel=0.08)
    close, _ = _keypoints(bm, 10, [0.0, 0.3, 1.2], visible={0, 1, 2, 3, 4, 5, 6})
    p = initial_parameters(close, np.zeros(1, int), 1000.0, (640, 360), bm, mean_pose)
    assert p["transl"][0, 2] == pytest.approx(1.2, rel=0.15)
    assert np.isfinite(p["global_orient"]).all()


def test_frames_without_keypoints_borrow_from_neighbours(bm) -> None:
    kp, _ = _keypoints(bm, 0, [0.0, 0.2, 5.0])
    kp = np.concatenate([kp, kp, kp])
    kp[1, :, 2] = 0
    p = initial_parameters(kp, np.zeros(3, int), 1000.0, (640, 360), bm, np.zeros(69))
    assert np.allclose(p["transl"][1], p["transl"][0])
    assert np.isfinite(p["transl"]).all()
