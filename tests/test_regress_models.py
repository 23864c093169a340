"""Regressor architectures: rotations, HMR/t-HMMR shapes and names, masking property, temporal baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from msmesh.regress.crop import crop_camera_to_full, full_to_crop_camera, project_crop
from msmesh.regress.hmr import HMR, RegressorConfig, weak_perspective_to_translation
from msmesh.regress.resnet import ResNet, ResNetConfig
from msmesh.regress.thmmr import THMMR
from msmesh.rotations import (
    axis_angle_to_rotmat,
    rot6d_to_rotmat,
    rotmat_to_axis_angle,
    rotmat_to_rot6d,
)

TINY = dict(layers=(1, 1, 1, 1), width=4, hidden=32, ff_dim=16, image_size=64)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_rotation_round_trips():
    g = torch.Generator().manual_seed(0)
    axis = torch.nn.functional.normalize(torch.randn(500, 3, generator=g), dim=-1)
    angle = torch.rand(500, 1, generator=g) * math.pi * 0.999
    aa = axis * angle
    aa[0] = 0.0  # identity
    aa[1] = torch.tensor([math.pi - 1e-4, 0.0, 0.0])  # near π
    r = axis_angle_to_rotmat(aa)
    assert torch.allclose(r @ r.transpose(-1, -2), torch.eye(3).expand(500, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(500), atol=1e-5)
    back = rotmat_to_axis_angle(r)
    assert (back - aa).abs().max().item() < 2e-3
    assert torch.allclose(axis_angle_to_rotmat(back), r, atol=1e-4)
    assert torch.allclose(rot6d_to_rotmat(rotmat_to_rot6d(r)), r, atol=1e-5)
    # 6D layout: the first two columns, row-major (SPIN / authors' convention)
    assert torch.allclose(rotmat_to_rot6d(r[:1]).reshape(3, 2), r[0, :, :2])


def test_rot6d_orthonormalises_noisy_input():
    x = torch.randn(100, 6, generator=torch.Generator().manual_seed(1))
    r = rot6d_to_rotmat(x)
    assert torch.allclose(r @ r.transpose(-1, -2), torch.eye(3).expand(100, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(100), atol=1e-5)


def test_resnet50_names_and_feature_size():
    net = ResNet(ResNetConfig())
    keys = set(net.state_dict())
    for k in ("conv1.weight", "bn1.running_mean", "layer1.0.downsample.0.weight", "layer4.2.conv3.weight",
              "layer3.5.bn2.weight"):
        assert k in keys
    assert not any(k.startswith("fc.") for k in keys)
    n_params = sum(p.numel() for p in net.parameters())
    assert abs(n_params - 23_508_032) < 1000  # torchvision ResNet-50 without fc
    assert ResNetConfig().out_channels == 2048


def test_hmr_output_and_mean_init():
    torch.manual_seed(0)
    model = HMR(RegressorConfig(**TINY)).eval()
    x = torch.randn(3, 3, 64, 64)
    pred = model(x)
    assert pred.pose6d.shape == (3, 144) and pred.rotmat.shape == (3, 24, 3, 3)
    assert pred.betas.shape == (3, 10) and pred.cam.shape == (3, 3)
    r = pred.rotmat
    assert torch.allclose(r @ r.transpose(-1, -2), torch.eye(3).expand(3, 24, 3, 3), atol=1e-5)
    # with zero residual decoders the iterations keep the mean: facing the camera (π about x), rest pose
    for lin in (model.smpl_head.decpose, model.smpl_head.decshape, model.smpl_head.deccam):
        torch.nn.init.zeros_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
    pred = model(x)
    assert torch.allclose(pred.rotmat[:, 0], torch.diag(torch.tensor([1.0, -1.0, -1.0])).expand(3, 3, 3))
    assert torch.allclose(pred.rotmat[:, 1:], torch.eye(3).expand(3, 23, 3, 3))
    assert torch.allclose(pred.cam, torch.tensor([[0.9, 0.0, 0.0]]).expand(3, 3))
    names = set(model.state_dict())
    for k in ("smpl_head.fc1.weight", "smpl_head.fc2.bias", "smpl_head.decpose.weight", "smpl_head.decshape.weight",
              "smpl_head.deccam.weight", "smpl_head.init_body_pose", "smpl_head.init_betas", "smpl_head.init_cam",
              "backbone.layer4.0.conv1.weight"):
        assert k in names


def test_thmmr_default_sizes_match_authors():
    model = THMMR(RegressorConfig(kind="thmmr"), with_backbone=False)
    sd = model.state_dict()
    assert sd["encoder.pos_embedding.weight"].shape == (13, 2048)
    assert sd["encoder.trans.linear1.weight"].shape == (1024, 2048)
    assert sd["encoder.trans.self_attn.in_proj_weight"].shape == (3 * 2048, 2048)
    assert sd["smpl_head.fc1.weight"].shape == (1024, 2048 + 144 + 10 + 3)
    assert model.encoder.trans.self_attn.num_heads == 1


@pytest.mark.parametrize("train_mode", [False, True])
def test_thmmr_valid_outputs_ignore_masked_content(train_mode):
    """Property: changing the features of masked (absent) frames leaves valid frames' outputs unchanged."""
    torch.manual_seed(0)
    cfg = RegressorConfig(kind="thmmr", dropout=0.0, **TINY)
    model = THMMR(cfg, with_backbone=False)
    model.encoder.trans.dropout.p = model.encoder.trans.dropout1.p = model.encoder.trans.dropout2.p = 0.0
    model.encoder.trans.self_attn.dropout = 0.0
    model.train(train_mode)
    g = torch.Generator().manual_seed(3)
    for trial in range(5):
        b, t, d = 4, 13, cfg.feat_dim
        feats = torch.randn(b, t, d, generator=g)
        mask = torch.rand(b, t, generator=g) < 0.4
        mask[:, 6] = False  # the centre frame is present
        other = feats.clone()
        other[mask] = torch.randn(int(mask.sum()), d, generator=g) * 10
        out1 = model(feats, mask).pose6d.reshape(b, t, -1)
        out2 = model(other, mask).pose6d.reshape(b, t, -1)
        valid = ~mask
        diff = (out1[valid] - out2[valid]).abs().max().item()
        assert diff < 1e-5, (trial, diff)
        # and masked frames do influence nothing, while valid context does influence the output
        other2 = feats.clone()
        first_valid_other = valid.clone()
        first_valid_other[:, 6] = False
        other2[first_valid_other] += 5.0
        out3 = model(other2, mask).pose6d.reshape(b, t, -1)
        assert (out3[:, 6] - out1[:, 6]).abs().max().item() > 1e-4


@pytest.mark.parametrize("encoder", ["conv", "gru"])
def test_baseline_encoders_shapes_and_gap_handling(encoder):
    torch.manual_seed(0)
    cfg = RegressorConfig(kind="thmmr", encoder=encoder, dropout=0.0, **TINY)
    model = THMMR(cfg, with_backbone=False).eval()
    feats = torch.randn(2, 13, cfg.feat_dim)
    mask = torch.zeros(2, 13, dtype=torch.bool)
    mask[:, 3:7] = True
    out = model(feats, mask)
    assert out.pose6d.shape == (26, 144)
    other = feats.clone()
    other[mask] = 100.0
    a = model(feats, mask).pose6d.reshape(2, 13, -1)
    b = model(other, mask).pose6d.reshape(2, 13, -1)
    # padding/concatenation: absent frames' content never leaks into present frames
    assert (a[~mask] - b[~mask]).abs().max().item() < 1e-5
    # the same 7 present frames, once with a 1-frame gap, once with a 3-frame gap
    m1 = torch.ones(1, 13, dtype=torch.bool)
    m1[0, [0, 1, 2, 4, 5, 6, 7]] = False
    m2 = torch.ones(1, 13, dtype=torch.bool)
    m2[0, [0, 1, 2, 6, 7, 8, 9]] = False
    seq = torch.randn(7, cfg.feat_dim)
    f1, f2 = torch.zeros(1, 13, cfg.feat_dim), torch.zeros(1, 13, cfg.feat_dim)
    f1[~m1], f2[~m2] = seq, seq
    y1, y2 = model.encoder(f1, m1)[~m1], model.encoder(f2, m2)[~m2]
    gap_effect = (y1 - y2).abs().max().item()
    if encoder == "gru":
        assert gap_effect < 1e-5  # concatenation: the gap's length is invisible
    else:
        assert gap_effect > 1e-4  # padding: the conv sees the zeros of the gap


def test_camera_conversions_agree():
    g = torch.Generator().manual_seed(0)
    n = 20
    cam = torch.stack([torch.rand(n, generator=g) * 0.5 + 0.5, torch.randn(n, generator=g) * 0.1,
                       torch.randn(n, generator=g) * 0.1], dim=1)
    centre = torch.rand(n, 2, generator=g) * 500 + 100
    side = torch.rand(n, generator=g) * 200 + 100
    focal, cc = 1500.0, (400.0, 300.0)
    transl = crop_camera_to_full(cam, centre, side, focal, cc)
    assert torch.allclose(full_to_crop_camera(transl, centre, side, focal, cc), cam, atol=1e-4)
    # a point near the body projects to the same image pixel both ways
    pts = torch.randn(n, 5, 3, generator=g) * 0.3
    pts[..., 2] = 0.0  # in the plane through the body origin the two cameras agree exactly
    crop_units = project_crop(pts, cam, focal=5000.0, image_size=224)
    via_crop = centre[:, None] + side[:, None, None] * crop_units
    p = pts + transl[:, None]
    full = focal * p[..., :2] / p[..., 2:3] + torch.tensor(cc)
    rel = ((via_crop - full).norm(dim=-1) / side[:, None]).max().item()
    assert rel < 1e-4
    assert weak_perspective_to_translation(cam)[:, 2].allclose(2 * 5000.0 / (224 * cam[:, 0]), rtol=1e-4)


def test_property_of_crop_person_normalisation():
    from msmesh.regress.crop import IMAGENET_MEAN, crop_person

    img = np.full((100, 200, 3), 128, np.uint8)
    x, centre, side = crop_person(img, np.array([50, 20, 90, 80]), size=32)
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    assert np.allclose(centre, [70, 50]) and side == pytest.approx(72.0)
    inside = x[:, 16, 16]
    assert np.allclose(inside, (128 / 255 - IMAGENET_MEAN) / np.array([0.229, 0.224, 0.225]), atol=1e-2)
