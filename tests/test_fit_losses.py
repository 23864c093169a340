"""Camera, rotations, robust losses and the mode pair masks of the fitter."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from msmesh.fit import losses
from msmesh.fit.camera import default_center, default_focal, project, project_np
from msmesh.fit.fitter import pair_weights
from msmesh.rotations import aa_to_mat_np, axis_angle_to_rotmat, mat_to_aa_np


def test_default_focal_is_image_diagonal() -> None:
    assert default_focal(1280, 720) == pytest.approx(math.hypot(1280, 720))
    assert default_center(1280, 720) == (640.0, 360.0)
    with pytest.raises(ValueError):
        default_focal(0, 10)


def test_projection_pinhole_and_numpy_twin() -> None:
    pts = torch.tensor([[0.0, 0.0, 2.0], [1.0, -0.5, 4.0]])
    uv = project(pts, 1000.0, (640.0, 360.0))
    assert torch.allclose(uv, torch.tensor([[640.0, 360.0], [890.0, 235.0]]))
    assert np.allclose(project_np(pts.numpy(), 1000.0, (640.0, 360.0)), uv.numpy())
    behind = project(torch.tensor([[1.0, 1.0, -3.0]]), 1000.0, (0.0, 0.0))
    assert torch.isfinite(behind).all()


def test_gmof_is_quadratic_near_zero_and_saturates() -> None:
    r = torch.tensor([0.1, 1.0, 1e4])
    g = losses.gmof(r, sigma=100.0)
    assert g[0] == pytest.approx(0.01, rel=1e-3)
    assert g[2] < 100.0**2 and g[2] > 0.99 * 100.0**2


def test_rotation_roundtrip_torch_numpy() -> None:
    rng = np.random.default_rng(0)
    aa = rng.normal(size=(50, 3))
    m_np = aa_to_mat_np(aa)
    m_t = axis_angle_to_rotmat(torch.tensor(aa)).numpy()
    assert np.abs(m_np - m_t).max() < 1e-10
    assert np.allclose(aa_to_mat_np(mat_to_aa_np(m_np)), m_np, atol=1e-9)
    assert torch.allclose(axis_angle_to_rotmat(torch.zeros(1, 3)), torch.eye(3)[None])


def test_axis_angle_to_rotmat_gradient_finite_at_rest_and_batch_shape() -> None:
    aa = torch.zeros(2, 5, 3, dtype=torch.float64, requires_grad=True)
    r = axis_angle_to_rotmat(aa)
    assert r.shape == (2, 5, 3, 3)
    (r * torch.arange(9.0, dtype=torch.float64).reshape(3, 3)).sum().backward()
    assert aa.grad is not None and torch.isfinite(aa.grad).all() and aa.grad.abs().max() > 0.1


def test_canonical_joints_undo_global_rotation_and_position() -> None:
    rng = np.random.default_rng(1)
    joints = torch.tensor(rng.normal(size=(1, 24, 3)))
    rot = torch.tensor(aa_to_mat_np(rng.normal(size=(1, 3))))
    moved = joints @ rot.transpose(1, 2) + torch.tensor([1.0, 2.0, 3.0])
    can_a = losses.canonical_joints(joints, torch.eye(3, dtype=joints.dtype)[None], joints[:, 0])
    can_b = losses.canonical_joints(moved, rot, moved[:, 0])
    assert torch.allclose(can_a, can_b, atol=1e-10)


def test_bending_prior_penalises_the_unnatural_direction() -> None:
    natural = torch.zeros(1, 69)
    natural[0, 9] = natural[0, 12] = 1.0  # knees bent forward (+x)
    natural[0, 52], natural[0, 55] = -1.0, 1.0  # elbows bent inwards
    assert losses.bending(natural) < losses.bending(-natural) / 10


def test_pair_masks_per_mode() -> None:
    same = torch.tensor([True, False, True])
    gap = torch.tensor([1.0, 1.0, 0.25])
    can, cam = pair_weights(same, gap, "frame")
    assert can.sum() == 0 and cam.sum() == 0
    can, cam = pair_weights(same, gap, "shot")
    assert can.tolist() == [1.0, 0.0, 0.25] and cam.tolist() == [1.0, 0.0, 0.25]
    can, cam = pair_weights(same, gap, "multishot")
    assert can.tolist() == [1.0, 1.0, 0.25] and cam.tolist() == [1.0, 0.0, 0.25]


def test_canonical_smoothness_matches_its_terms_and_their_autograd_gradient() -> None:
    torch.manual_seed(4)
    n = 9
    points = torch.randn(n, 24, 3, dtype=torch.float64).permute(2, 1, 0).requires_grad_(True)  # the fitter's layout
    aa = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    w = torch.rand(n - 1, dtype=torch.float64)
    w[3] = 0.0  # a pair across two people

    def reference(points: torch.Tensor, aa: torch.Tensor) -> torch.Tensor:
        can = losses.canonical_joints_t(points, axis_angle_to_rotmat(aa).permute(1, 2, 0))
        acc = can[..., 2:] - 2 * can[..., 1:-1] + can[..., :-2]
        accel = (w[1:] * w[:-1] * (acc * acc).sum((0, 1))).sum()
        return 7.0 * (w * losses.consecutive_sq_diff_t(can)).sum() + 3.0 * accel

    def fast(points: torch.Tensor, aa: torch.Tensor) -> torch.Tensor:
        return losses.canonical_smoothness_t(points, axis_angle_to_rotmat(aa).permute(1, 2, 0), w, 7.0, 3.0)

    assert float(fast(points, aa).detach()) == pytest.approx(float(reference(points, aa).detach()), rel=1e-12)
    g_ref = torch.autograd.grad(reference(points, aa), (points, aa))
    g = torch.autograd.grad(fast(points, aa), (points, aa))
    assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(g, g_ref, strict=True))
    no_accel = losses.canonical_smoothness_t(points, axis_angle_to_rotmat(aa).permute(1, 2, 0), w, 7.0, 0.0)
    can = losses.canonical_joints_t(points, axis_angle_to_rotmat(aa).permute(1, 2, 0))
    expected = 7.0 * (w * losses.consecutive_sq_diff_t(can)).sum()
    assert float(no_accel.detach()) == pytest.approx(float(expected.detach()), rel=1e-12)
