"""The fit's one-shot translation solve (msmesh.fit.translation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from msmesh.eval.synthetic import SyntheticConfig, generate
from msmesh.fit.translation import solve_translations


@pytest.fixture(scope="module")
def scene():
    from msmesh.body import load_body_model

    bm = load_body_model("open")
    data = generate(bm, SyntheticConfig(seed=5, clips=("walk",), procedural=0, frames=12, noise=0.0, outliers=0.0,
                                        drop=0.0))
    p = data.tracks.people[0]
    g = data.gt_params[p.id]
    n = len(p)
    with torch.no_grad():
        j, c = bm.joints_only(torch.tensor(g["global_orient"], dtype=torch.float32),
                              torch.tensor(g["body_pose"], dtype=torch.float32),
                              torch.tensor(g["betas"], dtype=torch.float32)[None].expand(n, 10),
                              torch.zeros(n, 3))
    return data, p, g, c.numpy(), j[:, 0].numpy()


def _solve(data, p, points, pelvis, t0, conf, pair_weight):
    cam = data.tracks.camera
    return solve_translations(points, pelvis, p.keypoints[..., :2], conf, pair_weight, t0, cam.focal,
                              tuple(cam.center), math.hypot(1280, 720) / 1000, 100.0)


def test_recovers_the_true_translations_from_a_wrong_depth(scene) -> None:
    data, p, g, points, pelvis = scene
    conf = (p.keypoints[..., 2] > 0).astype(np.float64)
    t0 = g["transl"] * np.array([1.2, 0.8, 1.5])  # a weak-perspective guess, 50 % too far
    t = _solve(data, p, points, pelvis, t0, conf, np.zeros(len(p) - 1))
    err = np.linalg.norm(t - g["transl"], axis=1)
    assert err.max() < 0.02, err  # keypoints are exact: only the 3 IRLS linearisations limit it
    assert np.linalg.norm(t0 - g["transl"], axis=1).min() > 0.5


def test_smoothness_carries_a_frame_without_keypoints(scene) -> None:
    data, p, g, points, pelvis = scene
    conf = (p.keypoints[..., 2] > 0).astype(np.float64)
    conf[3] = 0.0  # frame 3 unseen: only its neighbours (same shot) say where it is
    t0 = g["transl"].copy()
    t0[3] += np.array([1.0, -1.0, 3.0])
    same = p.shot[1:] == p.shot[:-1]
    assert same[2] and same[3]
    alone = _solve(data, p, points, pelvis, t0, conf, np.zeros(len(p) - 1))
    linked = _solve(data, p, points, pelvis, t0, conf, 1e3 * same)
    assert np.linalg.norm(alone[3] - t0[3]) < 1e-3  # no evidence: the anchor keeps the start
    assert np.linalg.norm(linked[3] - g["transl"][3]) < 0.1  # the pelvis moves smoothly from its neighbours
