"""Synthetic BlazePose landmarks for the regressors' training data, with a noise model for each block.

The body model's own 33 landmarks (``body.landmarks``; posed mesh → ``BodyOutput.landmarks``) in the
sequence's cameras become what the front end would report:

- **2D landmarks** (pixels + visibility): in view, Gaussian noise of ``sigma_2d`` × the box side and a
  visibility in [0.6, 1]; out of view (truncation) BlazePose still reports every landmark: extrapolated
  (``sigma_2d_out`` × box side of noise, visibility in [0, 0.3]) or, in ``p_squeeze`` of the sequences,
  squeezed into the frame as it does with a close-up's legs (measured on the example: knees 84 % down the
  frame with visibility 0.5 while the real knees are below it) — clamped in, pulled up to 30 % of the
  height inwards, visibility in [0, 0.6].
- **World landmarks** (metres, hip-centred, camera axes + visibility): the true landmarks minus the hip
  centre, scaled per sequence (BlazePose's GHUM body, not the subject's), then rebuilt bone by bone along the
  kinematic tree with errors on each bone's length and direction (:func:`world_noise`), so errors accumulate
  down a limb and limb lengths err as a skeleton regressor's do, not as independent points would. The
  defaults are fitted to BlazePose measured on real footage against multi-shot fits of the same frames
  (``MEASURED_WORLD``, bench/world_landmark_noise.py): 90 mm mean error after alignment, limb-length
  error 20.8 mm median / 67.4 mm p90 (the model gives ≈ 90 / 20 / 68, :func:`world_error_mm`;
  tests/test_regress_landmark_noise.py holds it there).
- The BlazePose blocks are missing for a whole sequence with probability ``p_missing_sequence`` and for
  single frames with ``p_missing_frame`` (its person detector failed / no ROI).

:func:`world_error_mm` measures a noise setting's PA-aligned error so the bench can report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from msmesh.body.joints import BLAZEPOSE33_NAMES
from msmesh.eval.metrics import pa_mpjpe
from msmesh.eval.synthetic import HEIGHT, WIDTH, rebuild_along_tree
from msmesh.fit.camera import default_focal, project_np
from msmesh.regress.crop import square_box

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

HIPS = [BLAZEPOSE33_NAMES.index("left_hip"), BLAZEPOSE33_NAMES.index("right_hip")]


# What the world-landmark noise is matched to: BlazePose (full model) on the example video against the
# multi-shot fit of the same 42 person-frames (bench/world_landmark_noise.py; the fit's own error is included,
# so these bound BlazePose's noise from above): mean per-landmark error after Procrustes alignment, and the
# median / 90th percentile of |limb-length error| over shoulder–elbow, elbow–wrist, hip–knee, knee–ankle.
MEASURED_WORLD = {"pa_mean_mm": 90.0, "limb_length_abs_mm_p50": 20.8, "limb_length_abs_mm_p90": 67.4}


@dataclass
class LandmarkNoise:
    """Noise of the synthetic BlazePose output (see the module docstring for where the numbers come from)."""

    sigma_2d: float = 0.02  # in view: × box side
    sigma_2d_out: float = 0.12  # out of view: × box side
    scale_sd: float = 0.05  # per sequence, relative (GHUM's body is not the subject's)
    length_sd: float = 0.045  # bone length, relative: per sequence and bone
    length_frame_sd: float = 0.025  # bone length, relative: per frame and bone
    length_outlier: float = 0.18  # probability per frame and bone of a gross length error …
    length_outlier_sd: float = 0.33  # … of this relative size
    direction_sd: float = 0.065  # bone direction (radians, per axis): per sequence and bone
    direction_frame_sd: float = 0.10  # bone direction: per frame and bone, AR(1) over frames
    depth_factor: float = 1.6  # direction noise along the camera's z × this
    correlation: float = 0.7  # AR(1) over the sequence's frames
    point_mm: float = 8.0  # independent per landmark and frame, per axis
    out_factor: float = 2.0  # direction noise × this for bones ending out of view
    p_missing_sequence: float = 0.3
    p_missing_frame: float = 0.05
    p_squeeze: float = 0.5  # per sequence: off-image landmarks reported inside the frame instead


def _ar1(white: np.ndarray, c: float) -> np.ndarray:
    out = np.empty_like(white)
    out[0] = white[0]
    for i in range(1, len(white)):
        out[i] = c * out[i - 1] + np.sqrt(1 - c * c) * white[i]
    return out


def world_noise(true: np.ndarray, rng: np.random.Generator, noise: LandmarkNoise,
                out_of_view: np.ndarray | None = None) -> np.ndarray:
    """Noisy hip-centred world landmarks (T,33,3) from the true camera-frame landmarks (T,33,3).

    Chain-structured, as a network regressing a skeleton errs: every bone of the landmark tree
    (``eval.synthetic.LANDMARK_PARENT``, rooted at the left hip) gets a length error (per sequence + per frame
    + occasional gross errors) and a direction error (per sequence + temporally correlated per frame, larger
    in depth and for bones that end out of view); the skeleton is rebuilt from the root
    (``eval.synthetic.rebuild_along_tree``), so errors accumulate down each limb and a limb's length error is
    its bone's alone. A few millimetres of independent per-landmark noise go on top."""
    t = len(true)
    rel = (true - true[:, HIPS].mean(1, keepdims=True)) * rng.normal(1.0, noise.scale_sd)
    n = rel.shape[1]
    length = (rng.normal(0.0, noise.length_sd, (1, n)) + rng.normal(0.0, noise.length_frame_sd, (t, n))
              + np.where(rng.random((t, n)) < noise.length_outlier, rng.normal(0.0, noise.length_outlier_sd, (t, n)),
                         0.0))
    tilt = (rng.normal(0.0, noise.direction_sd, (1, n, 3))
            + _ar1(rng.normal(0.0, noise.direction_frame_sd, (t, n, 3)), noise.correlation))
    tilt = tilt * np.array([1.0, 1.0, noise.depth_factor])
    if out_of_view is not None:
        tilt = tilt * np.where(out_of_view[..., None], noise.out_factor, 1.0)

    def noisy_bone(k: int, bone: np.ndarray) -> np.ndarray:
        size = np.linalg.norm(bone, axis=-1, keepdims=True)
        direction = bone / size.clip(1e-9) + tilt[:, k]
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True).clip(1e-9)
        return direction * size * (1.0 + length[:, k:k + 1])

    out = rebuild_along_tree(rel, noisy_bone)
    out = out + rng.normal(0.0, noise.point_mm / 1000.0, out.shape)
    return out - out[:, HIPS].mean(1, keepdims=True)


def _f32(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def synth_landmarks(bm: BodyModel, track: object, params: dict[str, np.ndarray], gt: np.ndarray,
                    rng: np.random.Generator, noise: LandmarkNoise | None = None
                    ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``synth.generate``'s ``landmark_fn``: (landmarks (T,33,3), world (T,33,4)) or (None, None)."""
    noise = noise or LandmarkNoise()
    if rng.random() < noise.p_missing_sequence:
        return None, None
    t = len(gt)
    with torch.no_grad():
        out = bm(_f32(params["global_orient"]), _f32(np.asarray(params["body_pose"])),
                 _f32(np.tile(params["betas"], (t, 1))), _f32(params["transl"]))
    lm3 = out.landmarks.numpy().astype(np.float64)
    focal, center = default_focal(WIDTH, HEIGHT), (WIDTH / 2, HEIGHT / 2)
    uv = project_np(lm3, focal, center)
    inside = (uv[..., 0] >= 0) & (uv[..., 0] < WIDTH) & (uv[..., 1] >= 0) & (uv[..., 1] < HEIGHT) & (lm3[..., 2] > 0.05)
    _, side = square_box(track.bbox)  # type: ignore[attr-defined]
    sd = np.where(inside, noise.sigma_2d, noise.sigma_2d_out) * side[:, None]
    xy = uv + rng.normal(size=uv.shape) * sd[..., None]
    vis = np.where(inside, rng.uniform(0.6, 1.0, inside.shape), rng.uniform(0.0, 0.3, inside.shape))
    if rng.random() < noise.p_squeeze:  # BlazePose squeezing off-frame legs into a close-up (seen on the example)
        squeeze = ~inside & (rng.random(inside.shape) < 0.7)
        below = uv[..., 1] >= HEIGHT
        xy[..., 0] = np.where(squeeze, np.clip(xy[..., 0], 2.0, WIDTH - 3.0), xy[..., 0])
        pulled = np.clip(xy[..., 1], 2.0, HEIGHT - 3.0) - rng.uniform(0, 0.3, inside.shape) * HEIGHT * below
        xy[..., 1] = np.where(squeeze, pulled, xy[..., 1])
        vis = np.where(squeeze, rng.uniform(0.0, 0.6, inside.shape), vis)
    world = world_noise(lm3, rng, noise, ~inside)
    wvis = vis.copy()
    missing = rng.random(t) < noise.p_missing_frame
    lm = np.concatenate([xy, vis[..., None]], -1)
    wl = np.concatenate([world, wvis[..., None]], -1)
    lm[missing] = 0.0
    wl[missing] = 0.0
    return lm, wl


def world_error_mm(bm: BodyModel, noise: LandmarkNoise | None = None, frames: int = 64,
                   seed: int = 0) -> dict[str, float]:
    """The noise model's mean per-landmark error after Procrustes alignment (mm) and limb-length spread,
    on a standing/walking clip — the statistics the published numbers describe."""
    from msmesh.eval.motion import load_clip

    noise = noise or LandmarkNoise()
    rng = np.random.default_rng(seed)
    m = load_clip("walk", fps=15.0, frames=frames)
    t = len(m)
    with torch.no_grad():
        out = bm(_f32(m.global_orient), _f32(m.body_pose), torch.zeros(t, 10), _f32(m.transl))
    true = out.landmarks.numpy().astype(np.float64)
    errs, limb = [], []
    pairs = [(11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28)]
    for _ in range(20):
        noisy = world_noise(true, rng, noise)
        rel = true - true[:, HIPS].mean(1, keepdims=True)
        errs.append(pa_mpjpe(noisy, rel) * 1000.0)
        for a, b in pairs:
            limb.append((np.linalg.norm(noisy[:, a] - noisy[:, b], axis=-1)
                         - np.linalg.norm(rel[:, a] - rel[:, b], axis=-1)) * 1000.0)
    e = np.concatenate(errs)
    lim = np.concatenate(limb)
    return {"pa_mean_mm": float(e.mean()), "limb_length_abs_mm_p50": float(np.median(np.abs(lim))),
            "limb_length_abs_mm_p90": float(np.percentile(np.abs(lim), 90))}
