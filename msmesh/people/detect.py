"""Stage 3 — people and 2D keypoints: the detector interface, its registry, and the stage driver.

A backend turns one RGB frame into a list of ``Detection`` (people.detection: box + COCO-17 keypoints with
confidences, BlazePose landmarks where the backend has them); ``detections.json`` is read and written there.
Backends: ``auto`` (default; people.hybrid: MoveNet's boxes in wide shots + BlazePose landmarks per person, and
BlazePose's own detector where MoveNet finds nobody; the detect stage follows people from frame to frame inside a
shot with people.roi_tracking when sampled frames are close in time), ``movenet`` and ``blazepose`` alone
(shipped in assets/, offline on CPU), and ``vitpose`` (RT-DETR + ViTPose from the Hugging Face Hub via
``transformers``, an extra).
User-supplied keypoints (OpenPose / COCO JSON) bypass detection entirely (``people.keypoint_files``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from msmesh.errors import InputError
from msmesh.people.detection import Detection, PersonDetector


def _movenet() -> PersonDetector:
    from msmesh.people.movenet import MoveNet

    return MoveNet()


def _blazepose() -> PersonDetector:
    from msmesh.people.blazepose import BlazePose

    return BlazePose()


def _auto() -> PersonDetector:
    from msmesh.people.hybrid import HybridDetector

    return HybridDetector()


def _vitpose() -> PersonDetector:
    from msmesh.people.hub_vitpose import ViTPoseDetector

    return ViTPoseDetector()


DETECTORS: dict[str, Callable[[], PersonDetector]] = {"movenet": _movenet, "blazepose": _blazepose, "auto": _auto,
                                                      "vitpose": _vitpose}


def make_detector(name: str) -> PersonDetector:
    """The backend called ``name`` (InputError for an unknown one)."""
    if name not in DETECTORS:
        raise InputError(f"unknown detector {name!r} (expected one of {', '.join(DETECTORS)})")
    return DETECTORS[name]()


def detect_frames(frames: Iterable[tuple[int, np.ndarray]], detector: PersonDetector,
                  advance: Callable[[int], None] | None = None) -> dict[int, list[Detection]]:
    """Run ``detector`` on every ``(frame_index, image)``; return detections per frame index."""
    out: dict[int, list[Detection]] = {}
    for index, image in frames:
        out[index] = detector(image)
        if advance is not None:
            advance(1)
    return out
