"""MPJPE, PA-MPJPE, PCK and cross-shot PCK against hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmesh.data import FitResult, PersonTrack, Shot, SmplSequence, Tracks, VideoInfo
from msmesh.eval.metrics import box_size, cross_shot_pck, mpjpe, pa_mpjpe, pck, procrustes_align
from msmesh.fit.camera import project_np
from msmesh.rotations import aa_to_mat_np


@pytest.fixture(scope="module")
def open_body_model():
    from msmesh.body import load_body_model

    return load_body_model("open")


def test_mpjpe_root_relative_known_value() -> None:
    gt = np.zeros((1, 3, 3))
    gt[0, 1] = [1, 0, 0]
    pred = gt.copy()
    pred[0, 2] = [0, 0, 0.3]
    assert mpjpe(pred, gt)[0] == pytest.approx(0.1)
    assert mpjpe(pred + 5.0, gt)[0] == pytest.approx(0.1)  # root-relative ignores translation


def test_pa_mpjpe_is_zero_under_similarity_and_positive_otherwise() -> None:
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 14, 3))
    rot = aa_to_mat_np(rng.normal(size=(4, 3)))
    pred = 1.7 * np.einsum("nij,nkj->nki", rot, gt) + rng.normal(size=(4, 1, 3))
    assert pa_mpjpe(pred, gt).max() < 1e-9
    assert np.allclose(procrustes_align(pred, gt), gt, atol=1e-9)
    noisy = gt + rng.normal(scale=0.05, size=gt.shape)
    e = pa_mpjpe(noisy, gt)
    assert (e > 0.01).all() and (e < 0.1).all()
    # a mirror image cannot be aligned by a rotation
    assert pa_mpjpe(gt * np.array([-1, 1, 1]), gt).min() > 0.1


def test_pck_threshold_is_alpha_times_box_size() -> None:
    gt = np.zeros((1, 4, 2))
    pred = np.array([[[0, 9.0], [0, 11.0], [0, 5.0], [0, 50.0]]])
    vis = np.array([[True, True, True, False]])
    size = box_size(np.array([[0, 0, 100, 40]]))
    assert size[0] == 100
    assert pck(pred, gt, vis, size, alpha=0.1) == pytest.approx(2 / 3)


def _person(bm, go, bp, tr, frames, shots):
    with torch.no_grad():
        j, c = bm.joints_only(
            torch.tensor(go, dtype=torch.float32),
            torch.tensor(bp, dtype=torch.float32),
            None,
            torch.tensor(tr, dtype=torch.float32),
        )
    return (
        j.numpy(),
        c.numpy(),
        SmplSequence(
            0,
            np.array(frames),
            np.array(shots),
            go.astype(np.float32),
            bp.astype(np.float32),
            np.zeros(10, np.float32),
            tr.astype(np.float32),
            j.numpy(),
        ),
    )


def test_cross_shot_pck_perfect_when_pose_is_constant_across_the_cut(open_body_model) -> None:
    bm = open_body_model
    go = np.array([[np.pi, 0, 0], [np.pi * 0.9, 0.6, 0.0]])
    bp = np.zeros((2, 69))
    bp[:, 9] = bp[:, 12] = 0.4
    tr = np.array([[0, 0.2, 5.0], [0.3, 0.1, 3.0]])
    _, coco, seq = _person(bm, go, bp, tr, [0, 1], [0, 1])
    uv = project_np(coco, 1000.0, (640, 360))
    kp = np.concatenate([uv, np.ones((2, 17, 1))], -1)
    bbox = np.concatenate([uv.min(1), uv.max(1)], -1)
    tracks = Tracks(
        VideoInfo("x", 25, 2, 1280, 720, [0, 1]),
        [Shot(0, 0, 1), Shot(1, 1, 2)],
        [PersonTrack(0, np.array([0, 1]), np.array([0, 1]), bbox, kp)],
    )
    res = FitResult([seq], 1000.0, (640.0, 360.0))
    score = cross_shot_pck(res, tracks, bm)
    assert score.cuts == 1 and score.keypoints == 34 and score.value == pytest.approx(1.0)
    # a different body pose at t+1 (arms raised) fails part of the keypoints when swapped across the cut
    seq.body_pose = seq.body_pose.copy()
    seq.body_pose[1, 47] = -1.2  # left shoulder about z
    seq.body_pose[1, 50] = 1.2
    worse = cross_shot_pck(res, tracks, bm)
    assert worse.value < 0.95
