"""Pose priors: the shipped open GMM, SMPLify-layout loading, joint limits."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from msmesh.errors import InputError
from msmesh.eval.motion import HELD_OUT_CLIPS, load_clip
from msmesh.fit.prior import GMMPrior, JointLimitPrior, build_pose_prior, load_gmm, open_gmm_path


def test_open_gmm_prefers_real_motion_over_random_poses() -> None:
    prior = load_gmm(open_gmm_path())
    real = torch.tensor(np.concatenate([load_clip(c).body_pose for c in HELD_OUT_CLIPS]), dtype=torch.float32)
    rng = np.random.default_rng(0)
    random = torch.tensor(rng.normal(scale=0.4, size=(200, 69)), dtype=torch.float32)
    e_real, e_rand = prior(real), prior(random)
    assert torch.isfinite(e_real).all() and (e_real >= -1e-3).all()
    assert float(e_real.median()) * 5 < float(e_rand.median())


def test_smplify_pickle_layout_loads(tmp_path) -> None:
    with np.load(open_gmm_path()) as z:
        data = {"weights": z["weights"], "means": z["means"], "covars": z["covars"]}
    path = tmp_path / "gmm_08.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    a, b = load_gmm(path), load_gmm(open_gmm_path())
    x = torch.randn(5, 69) * 0.3
    assert torch.allclose(a(x), b(x))
    combined = build_pose_prior(path=path)
    assert combined(x).shape == (5,)


def test_bad_prior_files_are_input_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_gmm(tmp_path / "missing.pkl")
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps({"weights": np.ones(2)}))
    with pytest.raises(InputError, match="missing"):
        load_gmm(bad)
    with pytest.raises(InputError):
        GMMPrior(np.ones(2), np.zeros((2, 10)), np.zeros((2, 10, 10)))
    with pytest.raises(InputError, match="unknown pose prior"):
        build_pose_prior("nope")


def test_joint_limits_zero_on_mocap_and_positive_on_hyperextension() -> None:
    limits = JointLimitPrior()
    real = torch.tensor(load_clip("walk").body_pose, dtype=torch.float32)
    assert float(limits(real).max()) < 1e-3
    bad = torch.zeros(1, 69)
    bad[0, 9] = -1.0  # left knee bent backwards by 1 rad
    assert float(limits(bad)) > 0.5
