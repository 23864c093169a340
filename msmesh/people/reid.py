"""Stage 5 — re-identification across shots: link tracklets of the same person into one identity.

Each detection gets an appearance descriptor — hue/saturation histograms of the torso and of the upper legs,
regions placed from its keypoints, so a close-up that shows only the chest still yields a torso histogram.
A tracklet's descriptor is the mean over its detections. Linking is greedy agglomerative clustering on the
Bhattacharyya similarity of the descriptors (best pair first, above ``threshold``), never merging two
clusters whose tracklets overlap in time (one person is never in two places at once). Every link is recorded
with its score for ``reid.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from msmesh.data import PersonTrack, Shot, Tracks, VideoInfo
from msmesh.people.detection import Detection
from msmesh.people.track import Tracklet

H_BINS, S_BINS = 12, 4
DESCRIPTOR_SIZE = 2 * H_BINS * S_BINS
_L_SHO, _R_SHO, _L_HIP, _R_HIP, _L_KNEE, _R_KNEE = 5, 6, 11, 12, 13, 14


def _region_hist(hsv: np.ndarray, polygon: np.ndarray) -> np.ndarray | None:
    h, w = hsv.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(polygon).astype(np.int32), 255)
    if cv2.countNonZero(mask) < 30:
        return None
    hist = cv2.calcHist([hsv], [0, 1], mask, [H_BINS, S_BINS], [0, 180, 0, 256]).reshape(-1)
    return hist / max(float(hist.sum()), 1e-9)


def appearance(image: np.ndarray, det: Detection, min_conf: float = 0.2) -> np.ndarray:
    """Torso and leg colour histograms, concatenated (a region that cannot be placed is all zeros)."""
    kp = det.keypoints
    ok = kp[:, 2] >= min_conf
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    size = H_BINS * S_BINS
    torso = legs = None
    if ok[_L_SHO] and ok[_R_SHO]:
        ls, rs = kp[_L_SHO, :2], kp[_R_SHO, :2]
        width = np.linalg.norm(ls - rs)
        if ok[_L_HIP] and ok[_R_HIP]:
            lh, rh = kp[_L_HIP, :2], kp[_R_HIP, :2]
        else:  # hips off-frame (close-up): a torso of 1.4 shoulder widths straight down
            down = np.array([0.0, 1.4 * width])
            lh, rh = ls + down, rs + down
        shrink = lambda p, q: p + 0.15 * (q - p)  # noqa: E731 - stay inside the clothes
        torso = _region_hist(hsv, np.array([shrink(ls, rh), shrink(rs, lh), shrink(rh, ls), shrink(lh, rs)]))
        if ok[_L_HIP] and ok[_R_HIP] and ok[_L_KNEE] and ok[_R_KNEE]:
            legs = _region_hist(hsv, np.array([kp[_L_HIP, :2], kp[_R_HIP, :2], kp[_R_KNEE, :2], kp[_L_KNEE, :2]]))
    return np.concatenate([torso if torso is not None else np.zeros(size),
                           legs if legs is not None else np.zeros(size)]).astype(np.float32)


def tracklet_descriptor(descriptors: list[np.ndarray | None]) -> np.ndarray:
    """Mean of the per-detection descriptors, each half over the detections that had it (None: no pixels)."""
    stack = np.stack([d if d is not None else np.zeros(DESCRIPTOR_SIZE, np.float32) for d in descriptors])
    half = stack.shape[1] // 2
    out = []
    for part in (stack[:, :half], stack[:, half:]):
        present = part.sum(1) > 0
        out.append(part[present].mean(0) if present.any() else np.zeros(half, np.float32))
    return np.concatenate(out)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya coefficient of torso histograms, averaged with that of leg histograms when both have legs."""
    half = len(a) // 2
    scores = []
    for sl in (slice(0, half), slice(half, None)):
        if a[sl].sum() > 0 and b[sl].sum() > 0:
            scores.append(float(np.sqrt(a[sl] * b[sl]).sum()))
    return float(np.mean(scores)) if scores else 0.0


@dataclass
class Link:
    """Two clusters of tracklets joined into one person, and the similarity that joined them."""

    tracklets_a: list[int]
    tracklets_b: list[int]
    score: float


def _overlap(a: list[Tracklet], b: list[Tracklet]) -> bool:
    return any(x.start <= y.end and y.start <= x.end for x in a for y in b)


def link_tracklets(tracklets: list[Tracklet], descriptors: dict[int, np.ndarray], threshold: float = 0.5,
                   max_people: int | None = None) -> tuple[list[list[Tracklet]], list[Link]]:
    """Cluster tracklets into people; return the clusters (largest first) and the links made."""
    clusters: list[list[Tracklet]] = [[t] for t in tracklets]
    desc = [descriptors[t.id] for t in tracklets]
    weight = [len(t.frames) for t in tracklets]
    links: list[Link] = []
    while True:
        best, pair = threshold, None
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                s = similarity(desc[i], desc[j])
                if s > best and not _overlap(clusters[i], clusters[j]):
                    best, pair = s, (i, j)
        if pair is None:
            break
        i, j = pair
        links.append(Link([t.id for t in clusters[i]], [t.id for t in clusters[j]], round(best, 4)))
        wi, wj = weight[i], weight[j]
        desc[i] = (desc[i] * wi + desc[j] * wj) / (wi + wj)
        weight[i] = wi + wj
        clusters[i] = sorted(clusters[i] + clusters[j], key=lambda t: t.start)
        del clusters[j], desc[j], weight[j]
    clusters.sort(key=lambda c: -sum(len(t.frames) for t in c))
    if max_people is not None:
        clusters = clusters[:max_people]
    return clusters, links


def clusters_to_tracks(clusters: list[list[Tracklet]], video: VideoInfo, shots: list[Shot]) -> Tracks:
    """One ``PersonTrack`` per cluster (ids 0, 1, … by size), frames in time order across shots."""
    people = []
    for pid, cluster in enumerate(clusters):
        items = sorted(((f, t.shot, d) for t in cluster for f, d in zip(t.frames, t.detections, strict=True)),
                       key=lambda item: item[0])
        dets = [d for _, _, d in items]
        people.append(PersonTrack(
            id=pid, frames=np.array([f for f, _, _ in items], dtype=np.int64),
            shot=np.array([s for _, s, _ in items], dtype=np.int64),
            bbox=np.stack([d.bbox for d in dets]), keypoints=np.stack([d.keypoints for d in dets]),
            landmarks=_stack_optional([d.landmarks for d in dets], (33, 3)),
            world_landmarks=_stack_optional([d.world_landmarks for d in dets], (33, 4))))
    return Tracks(video=video, shots=shots, people=people)


def _stack_optional(arrays: list[np.ndarray | None], shape: tuple[int, ...]) -> np.ndarray | None:
    """Per-frame arrays stacked, zeros in frames without one; None when no frame has one."""
    if all(a is None for a in arrays):
        return None
    return np.stack([a if a is not None else np.zeros(shape) for a in arrays])
