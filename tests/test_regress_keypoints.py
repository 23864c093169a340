"""msmesh's keypoint-input regressors: features, training data, training, run-folder fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmesh.eval.motion import HELD_OUT_CLIPS, Motion, mirror_motion
from msmesh.regress import keypoints as K
from msmesh.regress.thmmr import THMMR
from msmesh.regress.train_keypoints import KeypointTrainOptions, keypoint_config, train_hmr, train_temporal

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def body():
    from msmesh.body import load_body_model

    return load_body_model("open")


@pytest.fixture(scope="module")
def tiny_set(body):
    from msmesh.regress.landmark_noise import synth_landmarks
    from msmesh.regress.synth import SynthOptions, generate

    return generate(body, SynthOptions(sequences=6, length=16), np.random.default_rng(0), synth_landmarks)


def test_feature_layout_in_box_units():
    kp = np.zeros((2, 17, 3))
    kp[0, 0] = [150.0, 100.0, 0.9]  # the box centre
    kp[0, 1] = [150.0 + 60.0, 100.0, 0.5]  # half a side to the right: side = 1.2 × 100
    kp[1, 2] = [1e6, -1e6, 0.4]  # absurd: clamped
    bbox = np.tile([100.0, 50.0, 200.0, 150.0], (2, 1))
    x = K.build_features(kp, bbox)
    assert x.shape == (2, K.FEATURE_DIM) and x.dtype == np.float32
    coco = x[:, K.COCO_SLICE].reshape(2, 17, 3)
    assert np.allclose(coco[0, 0], [0, 0, 0.9]) and np.allclose(coco[0, 1], [0.5, 0, 0.5])
    assert np.allclose(coco[1, 2], [K.CLIP, -K.CLIP, 0.4])
    assert np.all(coco[0, 2:] == 0) and x[:, K.LANDMARKS_FLAG].sum() == 0 and x[:, K.WORLD_FLAG].sum() == 0
    lm = np.zeros((2, 33, 3))
    lm[1, :, 2] = 0.7
    lm[1, :, :2] = [150.0, 100.0]
    wl = np.full((2, 33, 4), 0.1)
    wl[0] = 0.0  # a frame without world landmarks
    x = K.build_features(kp, bbox, lm, wl)
    assert list(x[:, K.LANDMARKS_FLAG]) == [0, 1] and list(x[:, K.WORLD_FLAG]) == [0, 1]
    assert np.all(x[0, K.LANDMARKS_SLICE] == 0) and np.allclose(x[1, K.WORLD_SLICE], 0.1)
    dropped = K.drop_modalities(np.tile(x[1:], (200, 1)), np.random.default_rng(0))
    kept = dropped[:, K.LANDMARKS_FLAG] == 1
    assert 50 < kept.sum() < 150 and np.all(dropped[~kept, K.LANDMARKS_SLICE] == 0)
    assert np.all(dropped[:, K.COCO_SLICE] == x[1, K.COCO_SLICE])  # COCO-17 is never dropped


def test_mirror_motion_is_an_involution_and_swaps_sides():
    rng = np.random.default_rng(0)
    m = Motion("x", rng.normal(0, 0.5, (4, 3)), rng.normal(0, 0.3, (4, 69)), rng.normal(0, 1, (4, 3)), 10.0)
    mm = mirror_motion(mirror_motion(m))
    for a, b in ((m.global_orient, mm.global_orient), (m.body_pose, mm.body_pose), (m.transl, mm.transl)):
        assert np.allclose(a, b)
    once = mirror_motion(m)
    # l_hip (body_pose joint 0) ← r_hip (joint 1) with y, z negated
    assert np.allclose(once.body_pose[:, 0:3], m.body_pose[:, 3:6] * [1, -1, -1])


def test_training_data_never_uses_benchmark_clips_and_has_truncation(tiny_set):
    from msmesh.regress.synth import MotionSource, SynthOptions

    src = MotionSource(SynthOptions(), np.random.default_rng(0))
    assert not set(src.clips()) & set(HELD_OUT_CLIPS) and len(src.clips()) == 11
    s = tiny_set
    assert s.features.shape == (6, 16, K.FEATURE_DIM) and np.isfinite(s.features).all()
    assert not {n.replace("_mirror", "") for n in s.source} & set(HELD_OUT_CLIPS)
    assert s.truncated[s.present].mean() > 0.2  # close-ups cut the body
    assert 0.6 < s.present.mean() < 1.0  # B-roll gaps and lost detections
    # rotations are orthonormal; the pelvis is the origin of the 3D targets
    r = s.rotmat.reshape(-1, 3, 3)
    assert np.allclose(r @ r.transpose(0, 2, 1), np.eye(3), atol=1e-4)
    assert np.allclose(s.joints[:, :, 0], 0)
    # the weak-perspective camera reprojects the true joints onto the 2D targets (weak-perspective error)
    from msmesh.regress.crop import project_crop

    n = 16
    pred = project_crop(torch.from_numpy(s.joints[0]), torch.from_numpy(s.cam[0]), 5000.0, 224).numpy()
    pelvis_offset = pred[:, :1] - s.j2d[0, :, :1]
    spread = (pred - pelvis_offset) - s.j2d[0]
    assert np.median(np.abs(spread)) < 0.05 and len(pred) == n


def test_hmr_and_thmmr_learn_on_generated_data(body, tiny_set):
    opts = KeypointTrainOptions(steps=60, batch_size=64, lr=2e-3)
    hmr, hist = train_hmr(tiny_set, body, config=keypoint_config(kp_dim=32, kp_hidden=64, hidden=64), opts=opts)
    assert np.mean(hist[-10:]) < 0.7 * np.mean(hist[:10])
    th, hist = train_temporal(tiny_set, body, hmr, opts=KeypointTrainOptions(steps=10, batch_size=64))
    assert isinstance(th, THMMR) and th.config.input == "keypoints" and np.isfinite(hist).all()
    # absent frames are masked: changing them leaves the present frames' estimates unchanged
    x = torch.randn(2, 13, 32)
    mask = torch.zeros(2, 13, dtype=torch.bool)
    mask[:, 3:6] = True
    y = x.clone()
    y[:, 3:6] = torch.randn(2, 3, 32) * 10
    with torch.no_grad():
        a, b = th(x, mask).rotmat.reshape(2, 13, -1), th(y, mask).rotmat.reshape(2, 13, -1)
    assert torch.allclose(a[~mask], b[~mask], atol=1e-5) and not torch.allclose(a[mask], b[mask])
    # HMR's encoder is frozen inside t-HMMR by default; with backbone_lr it is fine-tuned (HMR's stays as is)
    for k, v in hmr.backbone.state_dict().items():
        assert torch.equal(th.backbone.state_dict()[k], v)
    before = {k: v.clone() for k, v in hmr.backbone.state_dict().items()}
    tuned, hist = train_temporal(tiny_set, body, hmr, opts=KeypointTrainOptions(steps=10, batch_size=64,
                                                                                 backbone_lr=1e-3))
    assert np.isfinite(hist).all()
    assert all(torch.equal(hmr.backbone.state_dict()[k], v) for k, v in before.items())
    assert any(not torch.equal(tuned.backbone.state_dict()[k], v) for k, v in before.items())


def test_shipped_models_on_held_out_synthetic_sequences(body):
    """The shipped weights on benchmark motion they never saw (seed 0, two held-out clips + one procedural)."""
    import sys
    from pathlib import Path

    from msmesh.eval.synthetic import SyntheticConfig, generate, score
    from msmesh.regress import hub
    from msmesh.regress.predict import regress_tracks

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from regress_synthetic import with_landmarks

    data = generate(body, SyntheticConfig(seed=0, clips=HELD_OUT_CLIPS[:2], procedural=1))
    errors = {}
    for name in ("hmr", "thmmr"):
        model = hub.load_regressor(temporal=name == "thmmr")
        for inp, tracks in (("coco", data.tracks), ("blazepose", with_landmarks(data, body))):
            s = score(regress_tracks(tracks, None, model, body_model=body), data, body)
            errors[name, inp] = s["pa_mpjpe_mm"]
    assert errors["hmr", "coco"] < 150 and errors["thmmr", "coco"] < 150
    assert errors["hmr", "blazepose"] < 100 and errors["thmmr", "blazepose"] < 100
    assert errors["thmmr", "blazepose"] < errors["hmr", "coco"] - 25  # landmarks help a lot


def test_robust_depth_moves_outliers_along_their_ray():
    from msmesh.regress.predict import robust_depth

    t = torch.tensor([[0.1, 0.2, 5.0], [0.1, 0.2, 5.2], [100.0, 40.0, 600.0], [0.0, 0.0, 2.0], [0.0, 0.0, 2.1]])
    out = robust_depth(t, np.array([0, 0, 0, 1, 1]))
    assert torch.allclose(out[[0, 1, 3, 4]], t[[0, 1, 3, 4]])
    assert abs(float(out[2, 2]) - 5.2 * 2.5) < 1e-4  # clamped to 2.5 × the shot's median depth
    assert torch.allclose(out[2, :2] / out[2, 2], t[2, :2] / t[2, 2])  # same viewing ray
