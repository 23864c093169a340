"""The Table-3-style experiment runs end to end on a small configuration and learns something."""

from __future__ import annotations

import numpy as np

from msmesh.regress.skeleton import Skeleton
from msmesh.regress.table3 import METHODS, Table3Config, generate_sequences, run_table3


def test_generated_sequences_have_gaps_cuts_and_truncation():
    cfg = Table3Config()
    seq = generate_sequences(20, cfg, np.random.default_rng(0), Skeleton())
    assert seq.obs.shape == (20, cfg.length, 17, 3) and seq.joints.shape == (20, cfg.length, 24, 3)
    assert 0.03 < 1 - seq.present.mean() < 0.4  # B-roll gaps
    assert 0.15 < seq.truncated.mean() < 0.35
    # motion is smooth between consecutive frames except at cuts (global orientation jumps)
    body_step = np.linalg.norm(np.diff(seq.joints, axis=1), axis=-1).mean(-1)  # mean joint motion per step (m)
    assert np.median(body_step) < 0.1
    go = seq.rotmat[:, :, 0]
    jumps = np.linalg.norm(np.diff(go, axis=1), axis=(2, 3))
    assert (jumps > 0.3).sum() >= 20  # at least one cut per sequence on average


def test_table3_small_run():
    cfg = Table3Config(train_sequences=16, test_sequences=6, length=40, stage1_steps=500, stage2_steps=30,
                       hidden=64, frame_batch=64, window_batch=8)
    res = run_table3(cfg)
    assert set(res["methods"]) == set(METHODS)
    for m in METHODS:
        v = res["methods"][m]
        assert np.isfinite(v["mpjpe_mm"]) and np.isfinite(v["mpjpe_near_gap_mm"])
    # stage 1 learned pose from keypoints: better than predicting the rest pose
    assert res["methods"]["hmr"]["mpjpe_mm"] < 0.9 * res["rest_pose_facing_camera_mpjpe_mm"]
    assert res["frames_near_gap"] > 0 and res["frames_truncated"] > 0
