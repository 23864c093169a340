"""Stage 4 — tracking inside a shot: link per-frame detections into tracklets; every tracklet ends at a cut.

Consecutive sampled frames of one shot are matched by the Hungarian algorithm (scipy) on a cost that mixes
box overlap (1 − IoU) and keypoint distance normalised by the person's size; pairs above ``max_cost`` are
not linked. A detection left unmatched starts a new tracklet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from msmesh.data import Shot, shot_of_frame
from msmesh.people.detection import Detection


@dataclass
class Tracklet:
    """One person inside one shot: the sampled frames and the detection in each."""

    id: int
    shot: int
    frames: list[int] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.frames[0]

    @property
    def end(self) -> int:
        return self.frames[-1]


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two x0,y0,x1,y1 boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def keypoint_distance(a: Detection, b: Detection, min_conf: float = 0.2) -> float:
    """Mean distance of the keypoints confident in both, in units of the larger box diagonal (1.0 if none)."""
    ok = (a.keypoints[:, 2] >= min_conf) & (b.keypoints[:, 2] >= min_conf)
    if ok.sum() < 2:
        return 1.0
    scale = max(np.hypot(*(a.bbox[2:] - a.bbox[:2])), np.hypot(*(b.bbox[2:] - b.bbox[:2])), 1.0)
    return float(np.linalg.norm(a.keypoints[ok, :2] - b.keypoints[ok, :2], axis=1).mean() / scale)


def match_cost(a: Detection, b: Detection) -> float:
    """Cost of saying ``a`` and ``b`` (consecutive sampled frames) are the same person."""
    return 0.5 * (1.0 - box_iou(a.bbox, b.bbox)) + 0.5 * min(1.0, 2.0 * keypoint_distance(a, b))


def track_shots(detections: dict[int, list[Detection]], shots: list[Shot], max_cost: float = 0.75,
                min_length: int = 1) -> list[Tracklet]:
    """Tracklets over all shots (ids in order of appearance); tracklets shorter than ``min_length`` dropped."""
    tracklets: list[Tracklet] = []
    active: list[Tracklet] = []
    current_shot: int | None = None
    for frame in sorted(detections):
        shot = shot_of_frame(shots, frame)
        if shot != current_shot:
            active, current_shot = [], shot
        dets = detections[frame]
        matched_dets: set[int] = set()
        still_active: list[Tracklet] = []
        if active and dets:
            cost = np.array([[match_cost(t.detections[-1], d) for d in dets] for t in active])
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] <= max_cost:
                    active[r].frames.append(frame)
                    active[r].detections.append(dets[c])
                    matched_dets.add(int(c))
                    still_active.append(active[r])
        for c, det in enumerate(dets):
            if c not in matched_dets:
                t = Tracklet(id=len(tracklets), shot=shot, frames=[frame], detections=[det])
                tracklets.append(t)
                still_active.append(t)
        active = still_active
    kept = [t for t in tracklets if len(t.frames) >= min_length]
    for i, t in enumerate(kept):
        t.id = i
    return kept
