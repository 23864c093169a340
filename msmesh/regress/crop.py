"""Person crops for the regressors and the camera geometry between a crop and the full image.

A person's box (x0,y0,x1,y1) becomes a square of side ``scale``·max(w,h) around its centre, resampled to
``size``×``size`` (224 by default) and ImageNet-normalised. The regressor's weak-perspective camera
[s, tx, ty] lives in that crop; :func:`crop_camera_to_full` turns it into a translation in the full
image's perspective camera (focal ``F``, principal point (cx, cy); without a known camera the focal is
``msmesh.fit.camera.default_focal``, shared with fitting): with box centre (bx, by) and side b,
``Tz = 2F/(b·s)``, ``Tx = tx + 2(bx−cx)/(b·s)``, ``Ty = ty + 2(by−cy)/(b·s)``.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from msmesh.fit.camera import default_focal

__all__ = ["default_focal", "crop_person", "crop_image", "normalise", "square_box", "crop_camera_to_full",
           "full_to_crop_camera", "image_to_crop_units", "project_crop"]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CROP_SCALE = 1.2
CROP_SIZE = 224


def square_box(bbox: np.ndarray, scale: float = CROP_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """(N,4) or (4,) boxes x0,y0,x1,y1 → centres (N,2) and square sides (N,) enlarged by ``scale``."""
    b = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    centre = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
    side = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * scale
    return centre, np.maximum(side, 1.0)


def crop_image(image: np.ndarray, centre: np.ndarray, side: float, size: int = CROP_SIZE) -> np.ndarray:
    """Resample the square (centre, side) of an RGB uint8 image to size×size (outside: black)."""
    s = size / float(side)
    m = np.array([[s, 0.0, size / 2 - s * centre[0]], [0.0, s, size / 2 - s * centre[1]]], dtype=np.float64)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(image, m, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def normalise(crop: np.ndarray) -> np.ndarray:
    """RGB uint8 (S,S,3) → ImageNet-normalised float32 (3,S,S)."""
    x = crop.astype(np.float32) / 255.0
    return ((x - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)


def crop_person(image: np.ndarray, bbox: np.ndarray, size: int = CROP_SIZE,
                scale: float = CROP_SCALE) -> tuple[np.ndarray, np.ndarray, float]:
    """One person's network input (3,S,S) float32, plus its square box centre (2,) and side."""
    centre, side = square_box(bbox, scale)
    return normalise(crop_image(image, centre[0], float(side[0]), size)), centre[0], float(side[0])


def image_to_crop_units(points: np.ndarray, centre: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Image pixels (N,K,2) → crop units in [-0.5, 0.5] (the frame the crop camera projects into)."""
    return (points - centre[:, None, :]) / side[:, None, None]


def crop_camera_to_full(cam: torch.Tensor, centre: torch.Tensor, side: torch.Tensor, focal: float,
                        image_center: tuple[float, float]) -> torch.Tensor:
    """Weak-perspective crop cameras (N,3) → translations (N,3) in the full image's perspective camera."""
    s = cam[:, 0].clamp_min(1e-6)
    bs = side * s
    tz = 2.0 * focal / bs
    tx = cam[:, 1] + 2.0 * (centre[:, 0] - image_center[0]) / bs
    ty = cam[:, 2] + 2.0 * (centre[:, 1] - image_center[1]) / bs
    return torch.stack([tx, ty, tz], dim=-1)


def full_to_crop_camera(transl: torch.Tensor, centre: torch.Tensor, side: torch.Tensor, focal: float,
                        image_center: tuple[float, float]) -> torch.Tensor:
    """Inverse of :func:`crop_camera_to_full`: full-image translations → weak-perspective [s, tx, ty]."""
    s = 2.0 * focal / (side * transl[:, 2].clamp_min(1e-6))
    bs = side * s
    tx = transl[:, 0] - 2.0 * (centre[:, 0] - image_center[0]) / bs
    ty = transl[:, 1] - 2.0 * (centre[:, 1] - image_center[1]) / bs
    return torch.stack([s, tx, ty], dim=-1)


def project_crop(points: torch.Tensor, cam: torch.Tensor, focal: float = 5000.0,
                 image_size: int = CROP_SIZE) -> torch.Tensor:
    """3D points (N,K,3) in the body frame, crop camera [s,tx,ty] → crop units (N,K,2) (perspective with
    the crop focal, like the authors' training code; ≈ weak perspective for f = 5000)."""
    tz = 2.0 * focal / (image_size * cam[:, 0] + 1e-9)
    t = torch.stack([cam[:, 1], cam[:, 2], tz], dim=-1)
    p = points + t[:, None, :]
    z = p[..., 2:3].clamp_min(1e-3)
    return (focal / image_size) * p[..., :2] / z
