"""Left/right label flips inside a tracklet (msmesh.people.flips)."""

from __future__ import annotations

import numpy as np

from msmesh.body.joints import COCO17_FLIP
from msmesh.people.detection import Detection
from msmesh.people.flips import fix_label_flips, mirrored
from msmesh.people.track import Tracklet

# a front-facing COCO-17 skeleton in pixels: the subject's left is on the image's right
FRONT = np.array([
    [100, 40], [104, 36], [96, 36], [110, 38], [90, 38],  # nose, eyes, ears
    [125, 70], [75, 70], [135, 105], [65, 105], [140, 140], [60, 140],  # shoulders, elbows, wrists
    [115, 150], [85, 150], [118, 200], [82, 200], [120, 250], [80, 250],  # hips, knees, ankles
], dtype=float)


def _det(points: np.ndarray, rng: np.random.Generator) -> Detection:
    kp = np.column_stack([points + rng.normal(0, 1.5, points.shape), np.ones(17)])
    lm = np.zeros((33, 3))
    lm[:, 2] = 1.0
    lm[11], lm[12] = (1, 1, 1), (2, 2, 1)  # BlazePose left / right shoulder, to see them swapped back
    return Detection(bbox=np.array([50.0, 30.0, 150.0, 260.0]), keypoints=kp, score=0.9, landmarks=lm)


def _tracklet(poses: list[np.ndarray], seed: int = 0) -> Tracklet:
    rng = np.random.default_rng(seed)
    return Tracklet(id=0, shot=0, frames=[6 * i for i in range(len(poses))], detections=[_det(p, rng) for p in poses])


def _walk(n: int) -> list[np.ndarray]:
    return [FRONT + np.array([3.0 * i, 0.0]) for i in range(n)]


def test_single_swapped_frame_is_relabelled() -> None:
    for swapped in (0, 2, 4):  # first, interior and last frame
        t = _tracklet(_walk(5))
        truth = t.detections[swapped].keypoints.copy()
        t.detections[swapped] = mirrored(t.detections[swapped])
        assert fix_label_flips(t) == [t.frames[swapped]]
        np.testing.assert_array_equal(t.detections[swapped].keypoints, truth)
        assert tuple(t.detections[swapped].landmarks[11]) == (1, 1, 1)


def test_consistent_tracklets_are_left_alone() -> None:
    t = _tracklet(_walk(6))
    before = [d.keypoints.copy() for d in t.detections]
    assert fix_label_flips(t) == []
    for d, b in zip(t.detections, before, strict=True):
        np.testing.assert_array_equal(d.keypoints, b)
    # a person seen from behind throughout (labels mirrored in every frame) stays as detected
    back = _tracklet([p[COCO17_FLIP] for p in _walk(6)], seed=1)
    assert fix_label_flips(back) == []


def test_turning_round_over_several_frames_is_not_a_flip() -> None:
    # the shoulders' and hips' left-right spread shrinks through zero over the frames: a real turn
    poses = []
    for s in (1.0, 0.6, 0.2, -0.2, -0.6, -1.0):
        p = FRONT.copy()
        p[:, 0] = 100 + (FRONT[:, 0] - 100) * s
        poses.append(p)
    t = _tracklet(poses, seed=2)
    assert fix_label_flips(t) == []
