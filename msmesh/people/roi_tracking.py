"""MediaPipe's tracking mode for the ``auto`` detector: inside one shot, follow each person's landmark ROI from
the previous sampled frame instead of running the detectors on every frame.

The full pass (``HybridDetector.find``: BlazePose's detector, MoveNet, a landmark pass per person) runs on a
shot's first sampled frame (``start_shot``; the detect stage calls it at every cut and after a gap of more than
``MAX_GAP_S`` between sampled frames, see ``restart_frames``), every ``every`` sampled frames after it, and on
any frame where following fails. Otherwise each person of the last frame gets one landmark pass on the ROI its
landmarks place (MediaPipe's: from the two auxiliary landmarks, hip centre and body-scale point), and the frame
is accepted only when every person is found again: presence ≥ ``min_presence``, a plausible skeleton
(``blazepose.plausible``), a next ROI of about the same size and place (``steady``: a crop that slid onto the
background can still report presence), left/right labels as in the last frame (``swapped``) and no two followed
people on one body (``hybrid.keypoints_agree``). A person the last pass found without landmarks (MoveNet alone)
cannot be followed, so such frames get the full pass too. On a full-pass frame the people followed from the last
frame whom the full pass missed this time are kept (the full pass flickers on small people in wide shots), and
nobody whose labels the full pass swapped is followed next (``flipped_from``). People who enter mid-shot are
found by the next scheduled full pass, at most ``every`` − 1 sampled frames late.

A followed person keeps the score the full pass gave it, times the new presence; its box is the visible
landmarks' box (the full pass also joins MoveNet's box), its keypoints BlazePose's alone.

Chosen by measurement (bench/frontend_speed.py, and against the per-frame pass on the example and the Sports2D
demo at 30, 15, 10, 5 and 3 sampled frames/s, before the left/right checks were added): ``every`` 5 (3 finds a
few more of the per-frame pass's people for ~15 ms more a frame, 8 fewer); running BlazePose's detector on
followed frames to catch people entering found 1–3 more person-frames for 11–16 ms a frame and was dropped; at
5 frames/s (0.2 s apart) following kept only 87–90 % of the per-frame pass's person-frames (30 frames/s: 97 %),
hence ``MAX_GAP_S``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from msmesh.body.joints import COCO17_FLIP
from msmesh.data import Shot, VideoInfo, shot_of_frame
from msmesh.people.blazepose import PoseLandmarks, plausible
from msmesh.people.blazepose_ops import roi_from_points
from msmesh.people.detection import Detection, mean_point_distance
from msmesh.people.flips import mirrored
from msmesh.people.hybrid import Found, HybridDetector, duplicate, keypoints_agree

_L_SHO, _R_SHO = 5, 6  # COCO-17
MAX_GAP_S = 0.05
"""Longest time between two sampled frames over which a person is followed."""


class RoiTracker:
    """Callable shot-aware ``auto`` backend: ``start_shot()`` at each cut, then ``tracker(rgb) -> list[Detection]``
    per sampled frame in order. ``stats`` counts full passes, followed frames, frames where someone was lost and
the landmark passes spent following."""

    def __init__(self, hybrid: HybridDetector | None = None, threads: int | None = None, every: int = 5,
                 min_presence: float = 0.8, max_change: float = 1.5) -> None:
        self.hybrid = hybrid or HybridDetector(threads=threads)
        self.every = every
        self.min_presence = min_presence
        self.max_change = max_change
        self._people: list[tuple[Found, float]] = []  # each person as last seen, and its full-pass score
        self._since_full: int | None = None  # sampled frames since the last full pass; None: none this shot
        self.stats = {"full": 0, "followed": 0, "lost": 0, "follow_passes": 0}

    def start_shot(self) -> None:
        """Forget everyone: the next frame is a new shot's first and gets the full pass."""
        self._people, self._since_full = [], None

    def __call__(self, image: np.ndarray) -> list[Detection]:
        followed = self._follow(image) if self._since_full is not None else []
        everyone = all(f is not None for f in followed) and bool(followed)
        if everyone and self._since_full is not None and self._since_full + 1 < self.every:
            self._since_full += 1
            self._people = [f for f in followed if f is not None]
            self.stats["followed"] += 1
            return [d for (d, _), _ in self._people]
        if followed and not everyone:
            self.stats["lost"] += 1
        before = [d for (d, _), _ in self._people]
        found: list[tuple[Found, float]] = [((d, None if flipped_from(d, before) else lm), d.score)
                                            for d, lm in self.hybrid.find(image)]
        for f in followed:  # people the full pass missed this time but followed from the last frame
            if f is not None and not any(duplicate(f[0][0], d, confirmed=False) for (d, _), _ in found):
                found.append(f)
        self._people, self._since_full = found, 0
        self.stats["full"] += 1
        return [d for (d, _), _ in found]

    def _follow(self, image: np.ndarray) -> list[tuple[Found, float] | None]:
        """Each person of the last frame on the ROI its landmarks place; None for one not found again (or
        without landmarks, or on the same body as someone followed before it)."""
        h, w = image.shape[:2]
        out: list[tuple[Found, float] | None] = []
        for (before, last), score in self._people:
            if last is None:
                out.append(None)
                continue
            result = self.hybrid.blazepose.landmarks(image, roi_from_points(last.aux[0], last.aux[1]))
            self.stats["follow_passes"] += 1
            if (result is None or result.presence < self.min_presence or not plausible(result, h, w)
                    or not steady(result, self.max_change)):
                out.append(None)
                continue
            result.score = score * result.presence
            det = result.to_detection(h, w)
            same = any(keypoints_agree(det, f[0][0]) for f in out if f is not None)
            out.append(None if same or swapped(before, det) else ((det, result), score))
        return out


def steady(now: PoseLandmarks, max_change: float) -> bool:
    """True when the ROI ``now``'s landmarks place is within a factor ``max_change`` of the size of the one they
    were found on, and its centre moved less than that ROI's size (a crop that slid off the person onto
    background can still report presence)."""
    nxt = roi_from_points(now.aux[0], now.aux[1])
    ratio = nxt.size / max(now.roi.size, 1e-9)
    moved = float(np.hypot(nxt.cx - now.roi.cx, nxt.cy - now.roi.cy))
    return bool(1 / max_change <= ratio <= max_change and moved <= 0.5 * now.roi.size)


def swapped(before: Detection, now: Detection, ratio: float = 0.5, min_conf: float = 0.3) -> bool:
    """True when ``now``'s COCO-17 keypoints, with every left/right label exchanged, lie closer to ``before``'s
    than ``ratio`` × as labelled (a side view, where the two sides nearly coincide, is not a swap), or its
    shoulders, both well apart, crossed over (a half-swapped skeleton): the landmark
    model's front/back confusion, which followed crops of a front-facing person in a close-up show more often
    than the full pass (the example's man: 5 of his first 16 followed frames)."""
    a, b = before.keypoints, now.keypoints
    sho_a, sho_b = a[_R_SHO, :2] - a[_L_SHO, :2], b[_R_SHO, :2] - b[_L_SHO, :2]
    big = 0.05 * before.diagonal
    if (a[[_L_SHO, _R_SHO], 2].min() >= min_conf and b[[_L_SHO, _R_SHO], 2].min() >= min_conf
            and float(sho_a @ sho_b) < 0 and min(np.linalg.norm(sho_a), np.linalg.norm(sho_b)) >= big):
        return True  # the shoulders alone crossed over
    costs = [mean_point_distance(mine, a, min_conf, 4) for mine in (b, b[COCO17_FLIP])]
    return costs[1] is not None and costs[1] < ratio * (np.inf if costs[0] is None else costs[0])


def flipped_from(det: Detection, before: list[Detection]) -> bool:
    """True when ``det`` is someone of the previous frame (``before``) with every left/right label exchanged: the
    full pass's own front/back confusion. Nobody is followed from such a frame (the next frame gets the full
    pass too), so that one wrong frame, which the track stage's ``people.flips`` relabels, does not become a run
    of followed wrong frames that it would take for a real turn."""
    return any(swapped(b, det) and keypoints_agree(b, mirrored(det)) for b in before)


def restart_frames(info: VideoInfo, shots: list[Shot], max_gap: float = MAX_GAP_S) -> set[int]:
    """The sampled frames where following starts afresh with the full pass: each shot's first sampled frame and
    any frame more than ``max_gap`` seconds after the sampled frame before it."""
    frames = sorted(info.sampled_frames)
    times = info.frame_times(np.asarray(frames, dtype=np.float64))
    out: set[int] = set()
    for k, frame in enumerate(frames):
        if k == 0 or shot_of_frame(shots, frame) != shot_of_frame(shots, frames[k - 1]) or \
                times[k] - times[k - 1] > max_gap:
            out.add(frame)
    return out


def in_order(tracker: RoiTracker, info: VideoInfo, shots: list[Shot]) -> Callable[[int, np.ndarray], list[Detection]]:
    """``detect(frame_index, rgb)`` for the sampled frames of ``info`` taken in order: ``tracker``, started
    afresh at each of ``restart_frames``."""
    restarts = restart_frames(info, shots)

    def detect(frame: int, image: np.ndarray) -> list[Detection]:
        if frame in restarts:
            tracker.start_shot()
        return tracker(image)

    return detect
