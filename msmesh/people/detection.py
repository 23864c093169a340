"""What a detector finds — ``Detection`` (one person in one frame) and the detector protocol — and the
``detections.json`` file the detect stage writes. A leaf module: backends (movenet, blazepose, hybrid,
hub_vitpose), tracking, re-ID and keypoint-file import all build on it; ``people.detect`` is the registry
and stage driver on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from msmesh.atomic import atomic_write_json
from msmesh.errors import FormatError, InputError
from msmesh.jsonread import read_json

DETECTIONS_FORMAT = "msmesh/detections@1"


@dataclass
class Detection:
    """One person in one frame: box (x0,y0,x1,y1 pixels), COCO-17 keypoints (17,3: x,y,conf), score.

    ``appearance`` is the re-ID colour descriptor (people.reid), filled in by the detect stage. Backends that
    run BlazePose add ``landmarks`` (33,3: x, y pixels, visibility in [0,1]) and ``world_landmarks``
    (33,4: X, Y, Z metres, hip-centred, camera axes x right / y down / z forward, and visibility).
    """

    bbox: np.ndarray
    keypoints: np.ndarray
    score: float
    appearance: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    world_landmarks: np.ndarray | None = None

    @property
    def diagonal(self) -> float:
        """The box's diagonal in pixels (the person's size that distances between detections are measured in)."""
        return float(np.hypot(*(self.bbox[2:] - self.bbox[:2])))


def mean_point_distance(a: np.ndarray, b: np.ndarray, min_conf: float, min_points: int) -> float | None:
    """Mean pixel distance between the points of two (K,3) arrays (x, y, confidence or visibility) that both are
    sure of (≥ ``min_conf``); None with fewer than ``min_points`` such points. Tracking, the ``auto``
    detector's duplicate and agreement checks and the left/right flip checks all compare two readings so."""
    both = (a[:, 2] >= min_conf) & (b[:, 2] >= min_conf)
    if both.sum() < min_points:
        return None
    return float(np.linalg.norm(a[both, :2] - b[both, :2], axis=1).mean())


class PersonDetector(Protocol):
    """Detects people and their COCO-17 keypoints in an RGB uint8 frame."""

    def __call__(self, image: np.ndarray) -> list[Detection]: ...


def keypoint_box(keypoints: np.ndarray, min_conf: float = 0.2, margin: float = 0.1) -> np.ndarray | None:
    """A box around the confident keypoints (grown by ``margin`` of its size), or None if < 2 are confident."""
    ok = keypoints[:, 2] >= min_conf
    if ok.sum() < 2:
        return None
    lo, hi = keypoints[ok, :2].min(0), keypoints[ok, :2].max(0)
    pad = (hi - lo) * margin
    return np.concatenate([lo - pad, hi + pad])


def save_detections(path: str | Path, detections: dict[int, list[Detection]]) -> None:
    """Write ``detections.json``: per sampled frame, every person's box, keypoints and score."""
    atomic_write_json(path, {"format": DETECTIONS_FORMAT, "frames": [
        {"frame": int(f), "people": [{"bbox": np.round(d.bbox, 2).tolist(),
                                      "keypoints": np.round(d.keypoints, 3).tolist(),
                                      "score": round(float(d.score), 4),
                                      **({"appearance": np.round(d.appearance, 5).tolist()}
                                         if d.appearance is not None else {}),
                                      **({"landmarks": np.round(d.landmarks, 3).tolist()}
                                         if d.landmarks is not None else {}),
                                      **({"world_landmarks": np.round(d.world_landmarks, 4).tolist()}
                                         if d.world_landmarks is not None else {})} for d in dets]}
        for f, dets in sorted(detections.items())]})


def _detection(p: dict) -> Detection:
    optional = lambda key, dtype: np.asarray(p[key], dtype) if key in p else None  # noqa: E731
    det = Detection(np.asarray(p["bbox"], float), np.asarray(p["keypoints"], float), float(p["score"]),
                    optional("appearance", np.float32), optional("landmarks", float),
                    optional("world_landmarks", float))
    if det.keypoints.shape != (17, 3) or det.bbox.shape != (4,):
        raise ValueError("bbox must be 4 numbers and keypoints 17×3")
    if (det.landmarks is not None and det.landmarks.shape != (33, 3)) or (
            det.world_landmarks is not None and det.world_landmarks.shape != (33, 4)):
        raise ValueError("landmarks must be 33×3 and world_landmarks 33×4")
    return det


def load_detections(path: str | Path) -> dict[int, list[Detection]]:
    """Read ``detections.json`` back."""
    try:
        obj = read_json(path, DETECTIONS_FORMAT)
        if obj.get("format") != DETECTIONS_FORMAT:
            raise FormatError(path, "format", f"expected {DETECTIONS_FORMAT!r}")
        return {int(fr["frame"]): [_detection(p) for p in fr["people"]] for fr in obj["frames"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise InputError(f"{path}: unreadable detections file ({exc})") from exc
