"""The camera model of fitting: a pinhole with one focal length and a principal point, no distortion.

Every frame's body is expressed in that frame's camera coordinates (OpenCV convention: x right, y down,
z forward), so the camera itself has no extrinsics: a cut changes the person's global orientation and
translation instead. The intrinsics are shared by the whole video: ``tracks.json``'s ``camera`` when given,
otherwise :func:`default_focal` and the image centre.
"""

from __future__ import annotations

import math

import torch

DEFAULT_DIAGONAL_FOV_DEG = 2 * math.degrees(math.atan(0.5))
"""Diagonal field of view of the default camera: focal = image diagonal ⇔ ≈ 53.1° diagonal (≈ 45° horizontal
at 16:9), a typical film/phone lens and the same default CLIFF and other full-frame HMR methods use."""


def default_focal(width: int | float, height: int | float) -> float:
    """The documented default focal length in pixels when ``tracks.json`` gives none: the image diagonal,
    ``sqrt(width² + height²)``."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}×{height}")
    return float(math.hypot(width, height))


def default_center(width: int | float, height: int | float) -> tuple[float, float]:
    """The principal point when none is given: the image centre."""
    return float(width) / 2.0, float(height) / 2.0


def project(
    points: torch.Tensor,
    focal: float | torch.Tensor,
    center: tuple[float, float] | torch.Tensor,
    min_depth: float = 1e-2,
) -> torch.Tensor:
    """Perspective projection of camera-frame points (..., 3) to pixels (..., 2).

    Depth is clamped to ``min_depth`` metres so points that wander behind the camera during optimisation
    give large, finite residuals instead of NaN.
    """
    z = points[..., 2:3].clamp_min(min_depth)
    xy = points[..., :2] / z
    c = torch.as_tensor(center, dtype=points.dtype, device=points.device)
    return xy * focal + c


def project_np(points, focal: float, center: tuple[float, float]):
    """NumPy twin of :func:`project` for metrics and data generation."""
    import numpy as np

    p = np.asarray(points, dtype=np.float64)
    z = np.maximum(p[..., 2:3], 1e-2)
    return p[..., :2] / z * focal + np.asarray(center, dtype=np.float64)
