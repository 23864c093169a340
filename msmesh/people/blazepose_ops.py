"""BlazePose's numerical parts, free of any model: SSD anchors, box decoding, weighted NMS, the rotated ROI,
the affine maps in and out of it, and heatmap refinement of landmarks.

They follow MediaPipe's pose graphs (``pose_detection_cpu``, ``pose_detection_to_roi``, the landmark
post-processing); ``people.blazepose`` runs the models around them. Coordinates are image pixels unless a
name says "normalised".
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
_STRIDES = (8, 16, 32, 32, 32)


def ssd_anchors(size: int = DETECTOR_SIZE, strides: tuple[int, ...] = _STRIDES) -> np.ndarray:
    """Anchor centres (N, 2), normalised, in the detector's output order.

    Every layer contributes two anchors per cell (aspect ratio 1 and the interpolated scale) and consecutive
    layers with the same stride share one grid: for 224 that is 28²·2 + 14²·2 + 7²·6 = 2254 anchors.
    """
    centres = []
    for stride, group in itertools.groupby(strides):
        layers = len(list(group))
        cells = math.ceil(size / stride)
        grid = (np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), -1).reshape(-1, 2) + 0.5) / cells
        centres.append(np.repeat(grid, 2 * layers, axis=0))
    return np.concatenate(centres).astype(np.float64)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """Logistic function, clipped so that extreme logits do not overflow."""
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -100.0, 100.0)))


def decode_boxes(raw: np.ndarray, anchors: np.ndarray, size: int = DETECTOR_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Raw regressions (N, 12) → face boxes (N, 4: x0,y0,x1,y1) and keypoints (N, 4, 2), normalised.

    Each row is [dx, dy, w, h, 4 × (x, y)] in detector pixels relative to its anchor centre.
    """
    centre = raw[:, :2] / size + anchors
    half = raw[:, 2:4] / size / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:12].reshape(-1, 4, 2) / size + anchors[:, None, :]
    return boxes, keypoints


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one x0,y0,x1,y1 box with each of ``boxes``."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda b: np.prod(np.clip(b[..., 2:] - b[..., :2], 0, None), axis=-1)  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-12)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 threshold: float = 0.3) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's weighted non-maximum suppression: (score, box, keypoints) per cluster, best first.

    The best remaining box and every box overlapping it by IoU > ``threshold`` form a cluster; it is replaced
    by the score-weighted mean of its boxes and keypoints and keeps the best score.
    """
    order = np.argsort(-scores, kind="stable")
    out = []
    while order.size:
        overlap = iou_one_to_many(boxes[order[0]], boxes[order])
        cluster = order[overlap > threshold]
        if cluster.size == 0:
            cluster = order[:1]
        w = scores[cluster]
        box = (boxes[cluster] * w[:, None]).sum(0) / w.sum()
        kp = (keypoints[cluster] * w[:, None, None]).sum(0) / w.sum()
        out.append((float(scores[order[0]]), box, kp))
        order = order[overlap <= threshold]
    return out


def letterbox_matrix(h: int, w: int, size: int = DETECTOR_SIZE) -> np.ndarray:
    """2×3 affine map image → square detector input, the image centred with equal padding."""
    s = size / max(h, w)
    return np.array([[s, 0.0, (max(h, w) - w) / 2 * s], [0.0, s, (max(h, w) - h) / 2 * s]])


@dataclass
class Roi:
    """A rotated square crop: centre, side (pixels) and rotation (radians; positive turns the crop clockwise
    on screen, so a body leaning that way appears upright inside it)."""

    cx: float
    cy: float
    size: float
    angle: float

    def crop_to_image(self, crop_size: int = LANDMARK_SIZE) -> np.ndarray:
        """2×3 affine map from crop pixels to image pixels."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        k = self.size / crop_size
        half = crop_size / 2
        return np.array([[c * k, -s * k, self.cx - half * k * (c - s)],
                         [s * k, c * k, self.cy - half * k * (s + c)]])

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """Points normalised to the crop ([0,1]², (N, 2)) → image pixels."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        u, v = (uv[:, 0] - 0.5) * self.size, (uv[:, 1] - 0.5) * self.size
        return np.stack([c * u - s * v + self.cx, s * u + c * v + self.cy], axis=1)

    def rotate(self, xyz: np.ndarray) -> np.ndarray:
        """Vectors (N, 3) from the crop's axes to the image's axes (rotation about the viewing axis)."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.stack([c * xyz[:, 0] - s * xyz[:, 1], s * xyz[:, 0] + c * xyz[:, 1], xyz[:, 2]], axis=1)

    def corners(self) -> np.ndarray:
        """The four corners (4, 2) in image pixels, clockwise from the crop's top-left."""
        return self.to_image(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))


def roi_from_points(centre: np.ndarray, scale_point: np.ndarray, enlarge: float = 1.25) -> Roi:
    """The landmark model's ROI: a square on ``centre`` (the hip centre), side 2·|scale_point − centre|·enlarge,
    rotated so that ``scale_point`` (above the hips on an upright body) points straight up in the crop."""
    dx, dy = (np.asarray(scale_point, float) - np.asarray(centre, float)).tolist()
    angle = math.pi / 2 - math.atan2(-dy, dx)
    angle -= 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))  # into [-π, π)
    return Roi(float(centre[0]), float(centre[1]), 2.0 * math.hypot(dx, dy) * enlarge, angle)


def refine_from_heatmap(uv: np.ndarray, heatmap: np.ndarray, kernel: int = 7, min_conf: float = 0.5) -> np.ndarray:
    """Move each landmark (normalised crop coordinates, (N, 2)) to the confidence-weighted mean of the heatmap
    cells in a ``kernel``-wide window around it, when the window's best cell is at least ``min_conf``.

    ``heatmap`` is (H, W, N) logits. Landmarks outside the heatmap are left as they are.
    """
    rows, cols, _ = heatmap.shape
    out = uv.copy()
    off = (kernel - 1) // 2
    for i, (x, y) in enumerate(uv):
        col, row = int(x * cols), int(y * rows)
        if not (0 <= col < cols and 0 <= row < rows):
            continue
        r0, r1, c0, c1 = max(0, row - off), min(rows, row + off + 1), max(0, col - off), min(cols, col + off + 1)
        conf = sigmoid(heatmap[r0:r1, c0:c1, i])
        total = conf.sum()
        if conf.max() >= min_conf and total > 0:
            rr, cc = np.mgrid[r0:r1, c0:c1]
            out[i] = ((cc * conf).sum() / cols / total, (rr * conf).sum() / rows / total)
    return out
