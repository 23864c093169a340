"""Stage 4 — left/right label flips inside a tracklet, undone before the fit sees them.

BlazePose (and MoveNet, less often) sometimes labels a front-facing person's left side as the right in a
single frame — seen on the example's close-up: arms outstretched, every left/right pair swapped with
confidence 1.0, world landmarks swapped too. The fit then faithfully turns the body round to face away.

A frame is relabelled when its keypoints, mirrored (left ↔ right labels swapped, positions kept), sit much
closer to what its neighbours in the tracklet predict than as labelled: the reference is the mean of the
nearest frame on each side (or the two nearest on one side at a tracklet's end), the two reference frames must
agree with each other as labelled, and the mirrored cost must be below ``ratio`` × the labelled cost. A person
really turning round does so over several frames, so neighbours that agree with each other and a single frame
that agrees with them only when mirrored mark a label error, not a turn.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from msmesh.body.joints import BLAZEPOSE33_FLIP, COCO17_FLIP
from msmesh.people.detection import Detection, mean_point_distance
from msmesh.people.track import Tracklet

MIN_CONF = 0.3


def _cost(a: np.ndarray, b: np.ndarray, scale: float, min_conf: float = MIN_CONF) -> float | None:
    """Mean distance of the keypoints confident in both (17,3) arrays (at least 6), in units of ``scale``."""
    d = mean_point_distance(a, b, min_conf, 6)
    return None if d is None else d / scale


def _reference(frames: list[int], i: int) -> tuple[int, int] | None:
    """Indices of the two frames that predict frame ``i``: one each side, else the two nearest on one side."""
    n = len(frames)
    if 0 < i < n - 1:
        return i - 1, i + 1
    if i == 0 and n >= 3:
        return 1, 2
    if i == n - 1 and n >= 3:
        return n - 2, n - 3
    return None


def mirrored(det: Detection) -> Detection:
    """The detection with every left/right label swapped (positions unchanged)."""
    return replace(
        det,
        keypoints=det.keypoints[COCO17_FLIP],
        landmarks=None if det.landmarks is None else det.landmarks[BLAZEPOSE33_FLIP],
        world_landmarks=None if det.world_landmarks is None else det.world_landmarks[BLAZEPOSE33_FLIP],
    )


def fix_label_flips(tracklet: Tracklet, ratio: float = 0.5) -> list[int]:
    """Relabel the frames of ``tracklet`` whose left/right labels are swapped; returns those frames."""
    original = list(tracklet.detections)
    fixed: list[int] = []
    for i, det in enumerate(original):
        ref = _reference(tracklet.frames, i)
        if ref is None:
            continue
        a, b = original[ref[0]].keypoints, original[ref[1]].keypoints
        scale = max(det.diagonal, 1.0)
        agree = _cost(a, b, scale)
        agree_mirrored = _cost(a, b[COCO17_FLIP], scale)
        if agree is None or agree_mirrored is None or agree >= agree_mirrored:
            continue
        predicted = a.copy()
        predicted[:, :2] = (a[:, :2] + b[:, :2]) / 2
        predicted[:, 2] = np.minimum(a[:, 2], b[:, 2])
        as_labelled = _cost(det.keypoints, predicted, scale)
        as_mirrored = _cost(det.keypoints[COCO17_FLIP], predicted, scale)
        if as_labelled is None or as_mirrored is None:
            continue
        if as_mirrored < ratio * as_labelled:
            tracklet.detections[i] = mirrored(det)
            fixed.append(tracklet.frames[i])
    return fixed
