"""Tests for the open body model: fast path == full path, symmetry, plausible sizes, COCO points, posing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from msmesh.body import available_body_models, load_body_model
from msmesh.body.joints import COCO17_NAMES, SMPL24_FLIP, SMPL24_NAMES
from msmesh.body.model import open_model_path
from msmesh.errors import ModelUnavailableError


@pytest.fixture(scope="module")
def bm():
    return load_body_model("open")


def _zeros(B: int = 1):
    return torch.zeros(B, 3), torch.zeros(B, 69), torch.zeros(B, 10), torch.zeros(B, 3)


def _bend(joint: str, axis_angle: list[float]) -> torch.Tensor:
    bp = torch.zeros(1, 69)
    j = SMPL24_NAMES.index(joint)
    bp[0, 3 * (j - 1):3 * j] = torch.tensor(axis_angle)
    return bp


def test_asset_small_float32_and_documented():
    path = open_model_path()
    assert path is not None
    assert path.stat().st_size < 6e6
    with np.load(path) as z:
        assert z["v_template"].dtype == np.float32 and z["shapedirs"].shape == (13718, 3, 10)
        assert "posedirs" not in z.files  # implicit zeros
        assert "anny" in str(z["meta"])
    assert (path.parent / "PROVENANCE.md").is_file() and (path.parent / "LICENSE").is_file()


def test_fast_path_equals_full_path(bm):
    g = torch.Generator().manual_seed(0)
    B = 16
    go = torch.randn(B, 3, generator=g)
    bp = torch.randn(B, 69, generator=g) * 0.4
    be = torch.randn(B, 10, generator=g) * 1.5
    tr = torch.randn(B, 3, generator=g)
    out = bm(go, bp, be, tr)
    j, c = bm.joints_only(go, bp, be, tr)
    assert out.vertices.shape == (B, 13718, 3) and out.joints.shape == (B, 24, 3) and out.coco17.shape == (B, 17, 3)
    assert (out.joints - j).abs().max().item() < 1e-5
    assert (out.coco17 - c).abs().max().item() < 1e-5
    j2, c2, lm = bm.joints_only(go, bp, be, tr, landmarks=True)
    assert torch.equal(j2, j) and torch.equal(c2, c) and lm.shape == (B, 33, 3)
    assert (out.landmarks - lm).abs().max().item() < 1e-5


def test_fast_path_has_gradients(bm):
    go, bp, be, tr = (x.requires_grad_(True) for x in _zeros(4))
    j, c = bm.joints_only(go, bp, be, tr)
    (j.square().sum() + c.square().sum()).backward()
    for x in (go, bp, be, tr):
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_fast_path_per_person_betas_equal_per_frame_betas(bm):
    g = torch.Generator().manual_seed(1)
    counts = [5, 0, 7, 3]  # frames grouped by person; a person without frames too
    B = sum(counts)
    go = torch.randn(B, 3, generator=g).requires_grad_(True)
    bp = (torch.randn(B, 69, generator=g) * 0.4).requires_grad_(True)
    betas = torch.randn(4, 10, generator=g).requires_grad_(True)
    tr = torch.randn(B, 3, generator=g)
    per_frame = betas[torch.arange(4).repeat_interleave(torch.tensor(counts))]
    ref = bm.joints_only(go, bp, per_frame, tr, landmarks=True)
    out = bm.joints_only(go, bp, betas, tr, landmarks=True, person_frames=counts)
    assert all((a - b).abs().max().item() < 1e-5 for a, b in zip(ref, out, strict=True))
    w = [torch.randn_like(a) for a in ref]
    g_ref = torch.autograd.grad(sum((x * a).sum() for x, a in zip(w, ref, strict=True)), (go, bp, betas))
    g_out = torch.autograd.grad(sum((x * a).sum() for x, a in zip(w, out, strict=True)), (go, bp, betas))
    for a, b in zip(g_ref, g_out, strict=True):
        assert (a - b).abs().max().item() < 1e-5 * max(1.0, a.abs().max().item())
    with pytest.raises(ValueError):
        bm.joints_only(go, bp, betas, tr, person_frames=[5, 7, 3])


def test_tpose_left_right_symmetric(bm):
    out = bm(*_zeros())
    v = out.vertices[0].numpy()
    mirrored = v * np.array([-1.0, 1.0, 1.0])
    d, _ = cKDTree(v).query(mirrored)
    assert d.max() < 3e-3, d.max()
    J = out.joints[0].numpy()
    assert np.abs(J[SMPL24_FLIP] * np.array([-1.0, 1.0, 1.0]) - J).max() < 1e-3
    # T-pose: arms along +-X, left side at +X, face towards +Z
    li, lw = SMPL24_NAMES.index("l_shoulder"), SMPL24_NAMES.index("l_wrist")
    arm = J[lw] - J[li]
    assert arm[0] > 0.4 and abs(arm[1]) < 0.01 and abs(arm[2]) < 0.01
    nose = out.coco17[0, COCO17_NAMES.index("nose")].numpy()
    assert nose[2] > J[SMPL24_NAMES.index("head"), 2] + 0.05


@pytest.mark.parametrize("b1", [-2.0, -1.0, 0.0, 1.0, 2.0])
def test_height_and_limbs_plausible(bm, b1):
    betas = torch.zeros(1, 10)
    betas[0, 0] = b1
    go, bp, _, tr = _zeros()
    out = bm(go, bp, betas, tr)
    v = out.vertices[0].numpy()
    height = np.ptp(v[:, 1])
    assert 1.45 < height < 1.95, height
    J = out.joints[0].numpy()

    def bone(a: str, b: str) -> float:
        return float(np.linalg.norm(J[SMPL24_NAMES.index(a)] - J[SMPL24_NAMES.index(b)]))

    s = height / 1.7
    assert 0.2 * s < bone("l_shoulder", "l_elbow") < 0.36 * s
    assert 0.18 * s < bone("l_elbow", "l_wrist") < 0.32 * s
    assert 0.33 * s < bone("l_hip", "l_knee") < 0.5 * s
    assert 0.33 * s < bone("l_knee", "l_ankle") < 0.5 * s


def test_beta1_is_height(bm):
    go, bp, _, tr = _zeros()
    heights = []
    for b1 in (-2.0, 0.0, 2.0):
        betas = torch.zeros(1, 10)
        betas[0, 0] = b1
        heights.append(np.ptp(bm(go, bp, betas, tr).vertices[0, :, 1].numpy()))
    assert heights[0] < 1.6 < heights[1] < 1.8 < heights[2]


def test_coco_points_on_the_right_limbs(bm):
    bp = _bend("l_shoulder", [0, 0, -1.2]) + _bend("r_shoulder", [0, 0, 1.2]) + _bend("l_knee", [0.5, 0, 0])
    out = bm(torch.zeros(1, 3), bp, torch.zeros(1, 10), torch.zeros(1, 3))
    J = out.joints[0].numpy()
    kp = out.coco17[0].numpy()
    expected = {"left_shoulder": "l_shoulder", "right_shoulder": "r_shoulder", "left_elbow": "l_elbow",
                "right_elbow": "r_elbow", "left_wrist": "l_wrist", "right_wrist": "r_wrist", "left_hip": "l_hip",
                "right_hip": "r_hip", "left_knee": "l_knee", "right_knee": "r_knee", "left_ankle": "l_ankle",
                "right_ankle": "r_ankle"}
    for k, j in expected.items():
        p = kp[COCO17_NAMES.index(k)]
        nearest = int(np.argmin(np.linalg.norm(J - p, axis=1)))
        assert SMPL24_NAMES[nearest] == j, (k, SMPL24_NAMES[nearest])
        assert np.linalg.norm(J[nearest] - p) < 0.1
    head = J[SMPL24_NAMES.index("head")]
    for k in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"):
        assert np.linalg.norm(kp[COCO17_NAMES.index(k)] - head) < 0.2
    assert kp[COCO17_NAMES.index("left_eye"), 0] > 0 > kp[COCO17_NAMES.index("right_eye"), 0]
    assert kp[COCO17_NAMES.index("left_ear"), 0] > kp[COCO17_NAMES.index("left_eye"), 0]


def test_elbow_bend_turns_forearm(bm):
    e, w, s = (SMPL24_NAMES.index(n) for n in ("l_elbow", "l_wrist", "l_shoulder"))
    rest = bm(*_zeros()).joints[0].numpy()
    bp = _bend("l_elbow", [0.0, -math.pi / 2, 0.0])
    posed = bm(torch.zeros(1, 3), bp, torch.zeros(1, 10), torch.zeros(1, 3)).joints[0].numpy()
    f0 = (rest[w] - rest[e]) / np.linalg.norm(rest[w] - rest[e])
    f1 = (posed[w] - posed[e]) / np.linalg.norm(posed[w] - posed[e])
    # rotating -90 deg about +Y takes the forearm from +X to +Z (forward)
    assert f0[0] > 0.99 and f1[2] > 0.99
    assert np.abs(posed[[s, e]] - rest[[s, e]]).max() < 1e-6  # upper arm unchanged
    assert abs(np.linalg.norm(posed[w] - posed[e]) - np.linalg.norm(rest[w] - rest[e])) < 1e-5


def test_global_orient_and_transl(bm):
    # camera-facing convention: rotation of pi about x flips y and z
    go = torch.tensor([[math.pi, 0.0, 0.0]])
    tr = torch.tensor([[0.1, 0.2, 3.0]])
    a = bm(*_zeros())
    b = bm(go, torch.zeros(1, 69), torch.zeros(1, 10), tr)
    pelvis = a.joints[0, 0]
    expect = (a.joints[0] - pelvis) * torch.tensor([1.0, -1.0, -1.0]) + pelvis + tr[0]
    assert (b.joints[0] - expect).abs().max() < 1e-5


def test_rest_joints_and_exporter_arrays(bm):
    betas = torch.randn(3, 10, generator=torch.Generator().manual_seed(1))
    go, bp, _, tr = _zeros(3)
    assert (bm.rest_joints(betas) - bm(go, bp, betas, tr).joints).abs().max() < 1e-5
    assert bm.rest_joints(np.zeros(10)).shape == (24, 3)
    assert bm.faces.shape == (27420, 3) and bm.faces.max() < bm.num_vertices
    assert torch.allclose(bm.lbs_weights.sum(1), torch.ones(bm.num_vertices), atol=1e-5)
    assert bm.parents[0] == -1 and len(bm.parents) == 24
    assert bm.v_template.shape == (13718, 3) and bm.shapedirs.shape == (13718, 3, 10)
    assert bm.J_regressor.shape == (24, 13718)
    n = bm.vertex_normals(bm(*_zeros()).vertices)
    assert torch.allclose(n.norm(dim=-1), torch.ones(1, 13718), atol=1e-4)
    # normals point outwards: at the top of the head, up
    top = int(bm.v_template[:, 1].argmax())
    assert n[0, top, 1] > 0.8


def test_unavailable_models(monkeypatch, tmp_path):
    monkeypatch.delenv("MSMESH_SMPL_DIR", raising=False)
    with pytest.raises(ModelUnavailableError, match="MSMESH_SMPL_DIR"):
        load_body_model("smpl")
    monkeypatch.setenv("MSMESH_SMPL_DIR", str(tmp_path))
    with pytest.raises(ModelUnavailableError, match="SMPL_NEUTRAL.pkl"):
        load_body_model("smpl")
    with pytest.raises(ModelUnavailableError):
        load_body_model(str(tmp_path / "nope.pkl"))
    av = available_body_models()
    assert av["smpl"] is None and av["open"] is not None
