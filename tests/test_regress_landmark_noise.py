"""The simulated BlazePose world landmarks match what BlazePose measured on real footage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmesh.regress.landmark_noise import HIPS, MEASURED_WORLD, LandmarkNoise, world_error_mm, world_noise


@pytest.fixture(scope="module")
def body():
    from msmesh.body import load_body_model

    return load_body_model("open")


def test_world_noise_statistics_match_the_real_measurement(body):
    torch.set_num_threads(1)
    sim = world_error_mm(body)
    assert abs(sim["pa_mean_mm"] - MEASURED_WORLD["pa_mean_mm"]) < 0.1 * MEASURED_WORLD["pa_mean_mm"]
    for key in ("limb_length_abs_mm_p50", "limb_length_abs_mm_p90"):
        assert abs(sim[key] - MEASURED_WORLD[key]) < 0.15 * MEASURED_WORLD[key], (key, sim)


def test_world_noise_is_chain_structured():
    """Without length errors, limbs keep their length however large the direction noise (a bone is rotated,
    not its endpoints moved independently), and the error grows down the arm (shoulder < elbow < wrist)."""
    rng = np.random.default_rng(0)
    true = rng.normal(0, 0.3, (200, 33, 3))
    quiet = LandmarkNoise(scale_sd=0.0, length_sd=0.0, length_frame_sd=0.0, length_outlier=0.0, point_mm=0.0,
                          direction_sd=0.1, direction_frame_sd=0.2)
    noisy = world_noise(true, rng, quiet)
    rel = true - true[:, HIPS].mean(1, keepdims=True)
    for a, b in ((11, 13), (13, 15), (23, 25), (25, 27)):
        np.testing.assert_allclose(np.linalg.norm(noisy[:, a] - noisy[:, b], axis=-1),
                                   np.linalg.norm(rel[:, a] - rel[:, b], axis=-1), rtol=1e-6)
    err = np.linalg.norm(noisy - rel, axis=-1).mean(0)
    assert err[11] < err[13] < err[15]
