"""Stage 5 — re-identification across shots: link tracklets of the same person into one identity.

Cues, per detection, averaged over a tracklet:
- colour: hue/saturation histograms of the torso, the upper legs and the head (hair, skin, a cap), regions placed
  from the keypoints — a close-up that shows only the chest still yields a torso histogram, a shot of the legs a
  leg and lower-torso one, and the head region is placed from BlazePose's face landmarks where the detector gave
  them (COCO nose/eyes/ears otherwise);
- body proportions: bone lengths (metres) from BlazePose's world landmarks, median over the tracklet.
Two tracklets' similarity is the weighted mean of the cues both have; ``CUES`` names the sets. The default,
"head", is colour of torso, legs and head. Measured by bench/reid_accuracy.py (identity-labelled edits, seeds
0–2, share of person-frames with the right identity; two detector versions): torso + legs 0.60–0.66, + head
0.71–0.72, + bones 0.55–0.62 (and 0.63 on the example, where the colour sets score 1.0): single-view bone
lengths are too noisy to tell people apart (same-person pairs differ by 17 % on median, as much as different
people), so "body" and "all" are not used.
Linking is greedy agglomerative clustering (best pair first, above ``threshold``), never merging two clusters
whose tracklets overlap in time (one person is never in two places at once), in passes: tracklets seen in one
sampled frame join only after the longer ones have been linked (on the edits' tuning seeds 100–102, 0.80 →
0.90 of person-frames right). Every link is recorded with its score for ``reid.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from msmesh.data import PersonTrack, Shot, Tracks, VideoInfo
from msmesh.people.detection import Detection
from msmesh.people.track import Tracklet

H_BINS, S_BINS = 12, 4
BLOCK = H_BINS * S_BINS
REGIONS = ("torso", "legs", "head")
DESCRIPTOR_SIZE = len(REGIONS) * BLOCK
REGION_SLICES = tuple(slice(k * BLOCK, (k + 1) * BLOCK) for k in range(len(REGIONS)))  # each region's block
_L_SHO, _R_SHO, _L_HIP, _R_HIP, _L_KNEE, _R_KNEE = 5, 6, 11, 12, 13, 14
# BlazePose landmark pairs whose lengths describe a body: shoulders, hips, upper arms, forearms, thighs, shins
BONES = ((11, 12), (23, 24), (11, 13), (12, 14), (13, 15), (14, 16), (23, 25), (24, 26), (25, 27), (26, 28))
# cue weights per cue set: torso, legs, head colour, body proportions
CUES = {"colour": (1.0, 1.0, 0.0, 0.0), "head": (1.0, 1.0, 1.0, 0.0), "body": (1.0, 1.0, 0.0, 1.0),
        "all": (1.0, 1.0, 1.0, 1.0)}


def _region_hist(hsv: np.ndarray, polygon: np.ndarray) -> np.ndarray | None:
    h, w = hsv.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(polygon).astype(np.int32), 255)
    if cv2.countNonZero(mask) < 30:
        return None
    hist = cv2.calcHist([hsv], [0, 1], mask, [H_BINS, S_BINS], [0, 180, 0, 256]).reshape(-1)
    return hist / max(float(hist.sum()), 1e-9)


def head_polygon(det: Detection, min_conf: float = 0.5) -> np.ndarray | None:
    """A box (4,2 corners) around the head from the face landmarks (BlazePose 0–10: nose, eyes, ears, mouth), or
    the COCO nose/eyes/ears; None with fewer than 3 confident points. It reaches above the eyes for the hair."""
    if det.landmarks is not None:
        face = det.landmarks[:11]
        pts = face[face[:, 2] >= min_conf, :2]
    else:
        face = det.keypoints[:5]
        pts = face[face[:, 2] >= 0.3, :2]
    if len(pts) < 3:
        return None
    r = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
    if r < 2.0:
        return None
    cx, cy = pts.mean(0)
    x0, x1, y0, y1 = cx - 0.8 * r, cx + 0.8 * r, cy - 1.1 * r, cy + 0.6 * r
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def appearance(image: np.ndarray, det: Detection, min_conf: float = 0.2) -> np.ndarray:
    """Torso, leg and head colour histograms, concatenated (a region that cannot be placed is all zeros)."""
    kp = det.keypoints
    ok = kp[:, 2] >= min_conf
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    torso = legs = None
    hips = ok[_L_HIP] and ok[_R_HIP]
    shrink = lambda p, q: p + 0.15 * (q - p)  # noqa: E731 - stay inside the clothes
    if ok[_L_SHO] and ok[_R_SHO]:
        ls, rs = kp[_L_SHO, :2], kp[_R_SHO, :2]
        if hips:
            lh, rh = kp[_L_HIP, :2], kp[_R_HIP, :2]
        else:  # hips off-frame (close-up): a torso of 1.4 shoulder widths straight down
            down = np.array([0.0, 1.4 * np.linalg.norm(ls - rs)])
            lh, rh = ls + down, rs + down
        torso = _region_hist(hsv, np.array([shrink(ls, rh), shrink(rs, lh), shrink(rh, ls), shrink(lh, rs)]))
    elif hips:  # shoulders above the frame (a shot of the legs): the torso 2.5 hip widths up, as far as seen
        lh, rh = kp[_L_HIP, :2], kp[_R_HIP, :2]
        up = np.array([0.0, 2.5 * np.linalg.norm(lh - rh)])
        torso = _region_hist(hsv, np.array([shrink(lh - up, rh), shrink(rh - up, lh), shrink(rh, lh - up),
                                            shrink(lh, rh - up)]))
    if hips:
        lh, rh = kp[_L_HIP, :2], kp[_R_HIP, :2]
        if ok[_L_KNEE] and ok[_R_KNEE]:
            lk, rk = kp[_L_KNEE, :2], kp[_R_KNEE, :2]
        else:  # knees unsure or off-frame: thighs of 1.5 hip widths straight down
            down = np.array([0.0, 1.5 * np.linalg.norm(lh - rh)])
            lk, rk = lh + down, rh + down
        legs = _region_hist(hsv, np.array([lh, rh, rk, lk]))
    head_box = head_polygon(det)
    head = _region_hist(hsv, head_box) if head_box is not None else None
    return np.concatenate([r if r is not None else np.zeros(BLOCK) for r in (torso, legs, head)]).astype(np.float32)


def bone_lengths(det: Detection, min_conf: float = 0.5) -> np.ndarray:
    """Lengths (metres) of ``BONES`` from the world landmarks; NaN where an end is unsure or there are none."""
    out = np.full(len(BONES), np.nan)
    world = det.world_landmarks
    if world is None:
        return out
    a, b = np.array(BONES).T
    ok = (world[a, 3] >= min_conf) & (world[b, 3] >= min_conf)
    out[ok] = np.linalg.norm(world[a[ok], :3] - world[b[ok], :3], axis=1)
    return out


@dataclass
class Descriptor:
    """A tracklet's re-ID cues: colour histograms (``DESCRIPTOR_SIZE``; a region's block is zeros when never
    seen) and median bone lengths (NaN where never seen)."""

    colour: np.ndarray
    bones: np.ndarray


def tracklet_descriptor(descriptors: list[np.ndarray | None],
                        bones: list[np.ndarray] | None = None) -> Descriptor:
    """Mean of the per-detection colour descriptors, each region over the detections that had it (None: no
    pixels; a descriptor of an older, shorter layout lacks the head), and the median of each bone length."""
    blocks = []
    for d in descriptors:
        d = np.zeros(DESCRIPTOR_SIZE, np.float32) if d is None else np.asarray(d, np.float32)
        blocks.append(np.pad(d, (0, DESCRIPTOR_SIZE - len(d))) if len(d) < DESCRIPTOR_SIZE else d)
    stack = np.stack(blocks)
    out = []
    for sl in REGION_SLICES:
        part = stack[:, sl]
        present = part.sum(1) > 0
        out.append(part[present].mean(0) if present.any() else np.zeros(BLOCK, np.float32))
    lengths = np.full(len(BONES), np.nan)
    if bones:
        seen = np.stack(bones)
        have = ~np.isnan(seen).all(0)
        lengths[have] = np.nanmedian(seen[:, have], axis=0)
    return Descriptor(np.concatenate(out), lengths)


def bone_similarity(a: np.ndarray, b: np.ndarray, min_bones: int = 3, sigma: float = 0.15) -> float | None:
    """exp(−(m/σ)²) of the mean absolute log ratio m of the bones both have; None with fewer than ``min_bones``."""
    both = ~np.isnan(a) & ~np.isnan(b) & (a > 0) & (b > 0)
    if both.sum() < min_bones:
        return None
    m = float(np.abs(np.log(a[both] / b[both])).mean())
    return float(np.exp(-(m / sigma) ** 2))


def similarity(a: np.ndarray | Descriptor, b: np.ndarray | Descriptor, cues: str = "head") -> float:
    """Weighted mean over the cues both have: Bhattacharyya coefficients of the torso, leg and head histograms,
    and the bone-length agreement; 0 when they share none. Plain arrays are colour descriptors."""
    weights = CUES[cues]
    ca = a.colour if isinstance(a, Descriptor) else np.asarray(a)
    cb = b.colour if isinstance(b, Descriptor) else np.asarray(b)
    total = norm = 0.0
    for k, sl in enumerate(REGION_SLICES):
        sa, sb = ca[sl], cb[sl]
        if weights[k] > 0 and sa.sum() > 0 and sb.sum() > 0:
            total += weights[k] * float(np.sqrt(sa * sb).sum())
            norm += weights[k]
    if weights[3] > 0 and isinstance(a, Descriptor) and isinstance(b, Descriptor):
        s = bone_similarity(a.bones, b.bones)
        if s is not None:
            total += weights[3] * s
            norm += weights[3]
    return total / norm if norm else 0.0


@dataclass
class Link:
    """Two clusters of tracklets joined into one person, and the similarity that joined them."""

    tracklets_a: list[int]
    tracklets_b: list[int]
    score: float


def _overlap(a: list[Tracklet], b: list[Tracklet]) -> bool:
    return any(x.start <= y.end and y.start <= x.end for x in a for y in b)


def link_tracklets(tracklets: list[Tracklet], descriptors: dict[int, Descriptor], threshold: float = 0.4,
                   max_people: int | None = None, cues: str = "head",
                   first_min_frames: int = 2) -> tuple[list[list[Tracklet]], list[Link]]:
    """Cluster tracklets into people; return the clusters (largest first) and the links made.

    Three passes of the same greedy clustering: first only clusters of at least ``first_min_frames`` sampled
    frames link to each other, then shorter ones to those, then everything left. A tracklet seen in one frame has
    a noisy descriptor (often a partial or second reading), and once linked it blocks every later link that
    overlaps it in time; linked late, it joins a person already assembled from the longer tracklets. (Two passes,
    the second linking everything, split the example's man: two of his one-frame tracklets linked to each other
    and then could join nobody.)"""
    clusters: list[list[Tracklet]] = [[t] for t in tracklets]
    desc = [descriptors[t.id] for t in tracklets]
    weight = [len(t.frames) for t in tracklets]
    links: list[Link] = []
    # (fewest frames of the smaller cluster, of the larger one) a link needs in each pass
    for smaller, larger in ((first_min_frames, first_min_frames), (1, first_min_frames), (1, 1)):
        while True:
            best, pair = threshold, None
            for i in range(len(clusters)):
                for j in range(i + 1, len(clusters)):
                    if min(weight[i], weight[j]) < smaller or max(weight[i], weight[j]) < larger:
                        continue
                    s = similarity(desc[i], desc[j], cues)
                    if s > best and not _overlap(clusters[i], clusters[j]):
                        best, pair = s, (i, j)
            if pair is None:
                break
            i, j = pair
            links.append(Link([t.id for t in clusters[i]], [t.id for t in clusters[j]], round(best, 4)))
            wi, wj = weight[i], weight[j]
            desc[i] = merged(desc[i], desc[j], wi, wj)
            weight[i] = wi + wj
            clusters[i] = sorted(clusters[i] + clusters[j], key=lambda t: t.start)
            del clusters[j], desc[j], weight[j]
    clusters.sort(key=lambda c: -sum(len(t.frames) for t in c))
    if max_people is not None:
        clusters = clusters[:max_people]
    return clusters, links


def merged(a: Descriptor, b: Descriptor, wa: float, wb: float) -> Descriptor:
    """The descriptor of two clusters joined: colour blocks averaged by weight over the clusters that have
    them, bone lengths likewise."""
    colour = np.empty_like(a.colour)
    for sl in REGION_SLICES:
        ha, hb = a.colour[sl].sum() > 0, b.colour[sl].sum() > 0
        w = (wa * ha, wb * hb)
        colour[sl] = (a.colour[sl] * w[0] + b.colour[sl] * w[1]) / max(w[0] + w[1], 1e-9)
    bones = np.where(np.isnan(a.bones), b.bones, np.where(np.isnan(b.bones), a.bones,
                                                         (a.bones * wa + b.bones * wb) / (wa + wb)))
    return Descriptor(colour, bones)


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


@dataclass
class Identities:
    """The track stage's result: tracklets, the clusters they were linked into, the links, and the tracks."""

    tracklets: list[Tracklet]
    clusters: list[list[Tracklet]]
    links: list[Link]
    tracks: Tracks
    relabelled: dict[int, list[int]] = field(default_factory=dict)  # tracklet id → frames mirrored (people.flips)


def identify(detections: dict[int, list[Detection]], shots: list[Shot], video: VideoInfo,
             max_people: int | None = None, min_frames: int = 1, cues: str = "head",
             threshold: float = 0.4) -> Identities:
    """Track inside shots, undo left/right label flips inside each tracklet (people.flips), link the
    tracklets across shots, and build the tracks (people seen in fewer than ``min_frames`` sampled frames
    dropped; ids keep their cluster's index)."""
    from msmesh.people.flips import fix_label_flips
    from msmesh.people.track import track_shots

    tracklets = track_shots(detections, shots)
    relabelled = {t.id: frames for t in tracklets if (frames := fix_label_flips(t))}
    descriptors = {t.id: tracklet_descriptor([d.appearance for d in t.detections],
                                             [bone_lengths(d) for d in t.detections]) for t in tracklets}
    clusters, links = link_tracklets(tracklets, descriptors, threshold, max_people, cues)
    tracks = clusters_to_tracks(clusters, video, shots)
    tracks.people = [p for p in tracks.people if len(p) >= min_frames]
    return Identities(tracklets, clusters, links, tracks, relabelled)
