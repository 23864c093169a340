"""Stage 4 — tracking inside a shot: link per-frame detections into tracklets; every tracklet ends at a cut.

Consecutive sampled frames of one shot are matched by the Hungarian algorithm (scipy) on a cost that mixes
box overlap (1 − IoU) and how far the body points moved (``pose_distance``: BlazePose's 33 landmarks where both
detections have them, the COCO keypoints otherwise); pairs above ``max_cost`` are not linked. A detection left
unmatched starts a new tracklet. (Measured on bench/reid_accuracy.py's tuning edits, landmarks instead of
keypoints change nothing here — the auto detector's keypoints already come from the landmarks — and an
OKS-like landmark score split more tracklets; they matter for the duplicates below.)

Then duplicates go (``merge_duplicates``): a detector sometimes reports one person twice in a frame (a weak
MoveNet box with a few keypoints on someone BlazePose also found), and the second reading becomes a tracklet of
its own that runs alongside the person's. Re-ID never joins two tracklets that overlap in time, so such a
duplicate kept the person's tracklets from being linked across shots. Two tracklets of a shot that share
frames are one person when, over their shared frames, their body points agree (``pose_distance``, median ≤
``max_distance`` of the smaller box's diagonal) and one box lies mostly inside the other — or one is a ``weak``
reading (no landmarks, a few sure keypoints) whose box nearly coincides with the other's; they are merged,
keeping the better detection (landmarks, then more sure keypoints, then score) in each shared frame.
Thresholds, measured by bench/track_dedup.py on the labelled two-person clips: readings of two different people
in one frame are ≥ 0.318 apart (5th percentile 0.44) against the 0.12 threshold, and their boxes' IoU ≤ 0.31
(≤ 0.41 on bench/reid_accuracy.py's tuning edits) against the weak rule's 0.5; no merge joins two labelled
people there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from msmesh.data import Shot, shot_of_frame
from msmesh.people.blazepose import overlap_of_smaller
from msmesh.people.detection import Detection, mean_point_distance

MIN_LANDMARKS = 8  # landmarks visible in both detections needed to compare them instead of COCO keypoints


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


def pose_distance(a: Detection, b: Detection, min_points: int = 2, scale: str = "larger", min_conf: float = 0.2,
                  min_vis: float = 0.5) -> float | None:
    """Mean distance between the body points both detections are sure of — BlazePose's landmarks visible in both
    when there are ``MIN_LANDMARKS`` of them, else the COCO keypoints confident in both — in units of the
    ``larger`` (or ``smaller``) box diagonal; None with fewer than ``min_points`` shared points."""
    d = None
    if a.landmarks is not None and b.landmarks is not None:
        d = mean_point_distance(a.landmarks, b.landmarks, min_vis, MIN_LANDMARKS)
    if d is None:
        d = mean_point_distance(a.keypoints, b.keypoints, min_conf, min_points)
        if d is None:
            return None
    size = (max if scale == "larger" else min)(a.diagonal, b.diagonal)
    return d / max(size, 1.0)


def match_cost(a: Detection, b: Detection) -> float:
    """Cost of saying ``a`` and ``b`` (consecutive sampled frames) are the same person: half 1 − IoU, half
    twice the ``pose_distance`` (capped at 1; 1 with fewer than two shared points)."""
    d = pose_distance(a, b)
    return 0.5 * (1.0 - box_iou(a.bbox, b.bbox)) + 0.5 * (1.0 if d is None else min(1.0, 2.0 * d))


def weak(det: Detection, min_conf: float = 0.3, min_keypoints: int = 5) -> bool:
    """A reading with little body in it: no landmarks and fewer than ``min_keypoints`` sure COCO keypoints (the
    kind of box MoveNet adds around someone with two or three keypoints on them)."""
    return det.landmarks is None and int((det.keypoints[:, 2] >= min_conf).sum()) < min_keypoints


def same_person(a: Tracklet, b: Tracklet, max_distance: float = 0.12, min_overlap: float = 0.6,
                weak_iou: float = 0.5, weak_overlap: float = 0.9) -> bool:
    """True when two tracklets of one shot read one person in the frames they share (medians over those frames):
    their body points agree (``pose_distance`` ≤ ``max_distance``) and the smaller box lies ≥ ``min_overlap``
    inside the other; or one of them is ``weak`` in every shared frame and the boxes nearly coincide (IoU ≥
    ``weak_iou``, the smaller ≥ ``weak_overlap`` inside), its few keypoints too unsure to compare. Tracklets that
    share no frame are not (that is re-ID's question)."""
    da, db = dict(zip(a.frames, a.detections, strict=True)), dict(zip(b.frames, b.detections, strict=True))
    shared = sorted(set(da) & set(db))
    if a.shot != b.shot or not shared:
        return False
    overlap = float(np.median([overlap_of_smaller(da[f].bbox, db[f].bbox) for f in shared]))
    if overlap < min(min_overlap, weak_overlap):
        return False
    if overlap >= weak_overlap and (all(weak(da[f]) for f in shared) or all(weak(db[f]) for f in shared)) \
            and float(np.median([box_iou(da[f].bbox, db[f].bbox) for f in shared])) >= weak_iou:
        return True
    distances = [d for f in shared if (d := pose_distance(da[f], db[f], 3, "smaller")) is not None]
    return bool(distances) and float(np.median(distances)) <= max_distance and overlap >= min_overlap


def _quality(det: Detection) -> tuple[bool, int, float]:
    return det.landmarks is not None, int((det.keypoints[:, 2] >= 0.3).sum()), float(det.score)


def merge_duplicates(tracklets: list[Tracklet], max_distance: float = 0.12,
                     min_overlap: float = 0.6) -> list[Tracklet]:
    """The tracklets with every pair that ``same_person`` calls one person merged into one (the earlier one
    keeps its id; in shared frames the better detection is kept), until no such pair is left in any shot."""
    out: list[Tracklet] = []
    for shot in dict.fromkeys(t.shot for t in tracklets):
        group = [t for t in tracklets if t.shot == shot]
        while pair := next(((a, b) for i, a in enumerate(group) for b in group[i + 1:]
                            if same_person(a, b, max_distance, min_overlap)), None):
            keep, drop = pair
            by_frame = dict(zip(drop.frames, drop.detections, strict=True))
            for f, d in zip(keep.frames, keep.detections, strict=True):
                if f not in by_frame or _quality(d) >= _quality(by_frame[f]):
                    by_frame[f] = d
            keep.frames = sorted(by_frame)
            keep.detections = [by_frame[f] for f in keep.frames]
            group.remove(drop)
        out += group
    return out


def track_shots(detections: dict[int, list[Detection]], shots: list[Shot], max_cost: float = 0.75,
                min_length: int = 1, dedup: bool = True) -> list[Tracklet]:
    """Tracklets over all shots (ids in order of appearance); duplicates of one person merged
    (``merge_duplicates``, unless ``dedup`` is False); tracklets shorter than ``min_length`` dropped."""
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
    if dedup:
        tracklets = merge_duplicates(tracklets)
    kept = [t for t in tracklets if len(t.frames) >= min_length]
    for i, t in enumerate(kept):
        t.id = i
    return kept
