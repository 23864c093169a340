"""Keypoint features: what the front end gives per person-frame → the vector msmesh's own regressors read.

msmesh's shipped HMR / t-HMMR (``RegressorConfig.input == "keypoints"``) do not look at pixels: like HMR 2.0
on a frozen ViTPose, they sit on a pretrained perception model and read its output. One person-frame is

======================  =====  ==========================================================================
block                   size   content
======================  =====  ==========================================================================
COCO-17 keypoints       17×3   x, y in *crop units* of the person's square box (``crop.square_box``: ×1.2,
                               centre 0, side 1), confidence; (0, 0, 0) where not seen
BlazePose landmarks     33×3   x, y in crop units, visibility; zeros when absent
  present flag          1      1 when the landmarks block is filled
world landmarks         33×4   x, y, z metres, hip-centred, camera axes (x right, y down, z forward),
                               visibility; zeros when absent
  present flag          1      1 when the world block is filled
======================  =====  ==========================================================================

(``FEATURE_DIM`` = 284). Training drops the landmark blocks at random (modality dropout), so the same
weights work from COCO-17 alone (``msmesh fit tracks.json`` from OpenPose or COCO files).

``KeypointEncoder`` is the per-frame encoder (an MLP → φ); the IEF head, the temporal encoders and the
weak-perspective camera are those of the image models, with the person's square box as the "crop".
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from msmesh.regress.crop import image_to_crop_units, square_box

N_COCO = 17
N_LANDMARKS = 33
COCO_SLICE = slice(0, N_COCO * 3)
LANDMARKS_SLICE = slice(COCO_SLICE.stop, COCO_SLICE.stop + N_LANDMARKS * 3)
LANDMARKS_FLAG = LANDMARKS_SLICE.stop
WORLD_SLICE = slice(LANDMARKS_FLAG + 1, LANDMARKS_FLAG + 1 + N_LANDMARKS * 4)
WORLD_FLAG = WORLD_SLICE.stop
FEATURE_DIM = WORLD_FLAG + 1
CLIP = 3.0  # crop units beyond ±CLIP (far outside the box, behind the camera) are clamped


class KeypointEncoder(nn.Module):
    """Per-frame feature φ from a keypoint feature vector: 3-layer MLP with LayerNorm."""

    def __init__(self, out_dim: int = 256, hidden: int = 512, in_dim: int = FEATURE_DIM) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


def _points_to_crop(points: np.ndarray, centre: np.ndarray, side: np.ndarray) -> np.ndarray:
    """(T,K,3) pixel x, y, confidence → crop units with confidence; unseen points all zero."""
    xy = np.clip(image_to_crop_units(points[..., :2].astype(np.float64), centre, side), -CLIP, CLIP)
    conf = np.clip(points[..., 2].astype(np.float64), 0.0, 1.0)
    out = np.concatenate([xy, conf[..., None]], axis=-1)
    out[conf <= 0] = 0.0
    return out


def build_features(keypoints: np.ndarray, bbox: np.ndarray, landmarks: np.ndarray | None = None,
                   world_landmarks: np.ndarray | None = None) -> np.ndarray:
    """Feature vectors (T, FEATURE_DIM) float32 for one person.

    ``keypoints`` (T,17,3) COCO-17 pixels + confidence, ``bbox`` (T,4) pixels; optional ``landmarks``
    (T,33,3) pixels + visibility and ``world_landmarks`` (T,33,4) metres + visibility. A frame whose
    landmark rows are all unseen counts as absent for that block.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    t = kp.shape[0]
    centre, side = square_box(np.asarray(bbox, dtype=np.float64).reshape(t, 4))
    out = np.zeros((t, FEATURE_DIM), dtype=np.float64)
    out[:, COCO_SLICE] = _points_to_crop(kp, centre, side).reshape(t, -1)
    if landmarks is not None:
        lm = np.asarray(landmarks, dtype=np.float64).reshape(t, N_LANDMARKS, 3)
        have = np.asarray((lm[..., 2] > 0).any(axis=1))  # the stubs' any(axis=) may be a scalar
        out[:, LANDMARKS_SLICE] = _points_to_crop(lm, centre, side).reshape(t, -1) * have[:, None]
        out[:, LANDMARKS_FLAG] = have
    if world_landmarks is not None:
        wl = np.asarray(world_landmarks, dtype=np.float64).reshape(t, N_LANDMARKS, 4)
        have_world = np.asarray(np.isfinite(wl).all(axis=(1, 2)) & (wl[..., 3] > 0).any(axis=1))
        wl = np.clip(np.where(np.isfinite(wl), wl, 0.0), -CLIP, CLIP)
        out[:, WORLD_SLICE] = wl.reshape(t, -1) * have_world[:, None]
        out[:, WORLD_FLAG] = have_world
    return out.astype(np.float32)


def track_features(person: object) -> np.ndarray:
    """Feature vectors of a ``data.PersonTrack`` (landmark blocks filled when the track carries them)."""
    return build_features(person.keypoints, person.bbox,  # type: ignore[attr-defined]
                          getattr(person, "landmarks", None), getattr(person, "world_landmarks", None))


def drop_modalities(x: np.ndarray, rng: np.random.Generator, p_landmarks: float = 0.5,
                    p_world: float = 0.5) -> np.ndarray:
    """Training-time modality dropout: blank the landmark and world blocks of random rows (in place)."""
    n = x.shape[0]
    kill = rng.random(n) < p_landmarks
    x[kill, LANDMARKS_SLICE] = 0.0
    x[kill, LANDMARKS_FLAG] = 0.0
    kill = rng.random(n) < p_world
    x[kill, WORLD_SLICE] = 0.0
    x[kill, WORLD_FLAG] = 0.0
    return x
