"""Stage 2 — shots, ``--shots hybrid``: hard cuts from a colour-jump test that tells cuts from flashes, gradual
transitions from TransNetV2, in one decoding pass.

A hard cut at frame ``i`` is a large HSV change from frame ``i-1`` (``jump``), much larger than the changes around
it (``ratio``: not a fast pan, where every frame changes), that *persists*: frame ``i-1`` differs as much from the
next 4 frames and frame ``i`` as much from the 4 before. A flash or brightness jump of 1–3 frames fails the last
test, because the frames on either side of it are alike. TransNetV2 must give the cut some weight (``min_score``)
and supplies the transitions the colour test cannot see (dissolves, fades) unless a flash-like jump lies in them.
Thresholds were chosen on ``cut_edit.build_film_edit`` seeds 100–102, the 47-cut multi-camera edit and the uncut
Sports2D source (bench/shots_accuracy.py), not on the seeds README reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from msmesh.data import VideoInfo
from msmesh.video.transnet import load_transnet, transition_ends, transnet_input, transnet_scores

CUE_SIZE = (160, 90)  # HSV differences are taken on frames scaled to this (w, h)
PERSIST_FRAMES = 4  # a cut's change must hold this many frames on either side
MIN_JUMP = 30.0  # mean |ΔHSV| (0–255 scale) of a hard cut; measured ≥ 43 at every hard cut, ≤ 21 on sun flare
MIN_RATIO = 3.0  # jump / mean of the 4 neighbouring jumps (+1); cuts ≥ 3.8, pans ≤ 2
MIN_PERSIST = 0.72  # smallest change across the cut over the jump; cuts ≥ 0.90, flashes ≤ 0.54
MIN_SCORE = 0.1  # TransNetV2's largest score at frames i-2..i; cuts ≥ 0.28
TRANSITION_SCORE = 0.5  # TransNetV2's own threshold for the gradual transitions
MERGE_FRAMES = 3  # a TransNetV2 transition this close to a hard cut is that cut


class CutCues:
    """Per-frame colour cues, streaming: ``push`` frames in order, then ``jump`` and ``persist`` (arrays, frame
    0 gets 0). Holds only the last ``2 * PERSIST_FRAMES + 2`` small HSV frames."""

    def __init__(self) -> None:
        self._hsv: dict[int, np.ndarray] = {}
        self._jump: list[float] = [0.0]
        self._persist: dict[int, float] = {0: 0.0}
        self.count = 0

    def _diff(self, a: int, b: int) -> float:
        return float(np.abs(self._hsv[a] - self._hsv[b]).mean())

    def push(self, rgb: np.ndarray) -> None:
        import cv2

        small = cv2.resize(rgb, CUE_SIZE, interpolation=cv2.INTER_AREA)
        t = self.count
        self._hsv[t] = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.int16)
        self.count += 1
        if t:
            self._jump.append(self._diff(t, t - 1))
        if t - PERSIST_FRAMES >= 1:
            self._settle(t - PERSIST_FRAMES)
        self._hsv.pop(t - 2 * PERSIST_FRAMES - 1, None)

    def _settle(self, i: int) -> None:
        across = [self._diff(i - 1, i + k) for k in range(1, PERSIST_FRAMES + 1) if i + k < self.count]
        across += [self._diff(i, i - 1 - k) for k in range(1, PERSIST_FRAMES + 1) if i - 1 - k >= 0]
        self._persist[i] = min(across + [self._jump[i]]) / max(self._jump[i], 1e-3)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """``(jump, persist)`` over all pushed frames."""
        for i in range(max(1, self.count - PERSIST_FRAMES), self.count):
            self._settle(i)
        jump = np.asarray(self._jump[:self.count], np.float64)
        persist = np.array([self._persist[i] for i in range(self.count)], np.float64)
        return jump, persist


def hybrid_cuts(score: np.ndarray, jump: np.ndarray, persist: np.ndarray) -> list[int]:
    """Cut frames from TransNetV2's per-frame ``score`` and the colour cues (all of one length)."""
    n = len(jump)
    padded = np.concatenate([np.zeros(3), jump, np.zeros(3)])
    neighbours = (padded[1:-5] + padded[2:-4] + padded[4:-2] + padded[5:-1]) / 4  # jumps at i-2, i-1, i+1, i+2
    ratio = jump / (neighbours + 1.0)
    before = np.concatenate([[0.0], score[:-1]])  # TransNetV2 marks the last frame before a cut
    hard = [i for i in range(1, n) if jump[i] >= MIN_JUMP and ratio[i] >= MIN_RATIO and persist[i] >= MIN_PERSIST
            and before[max(0, i - 1):i + 2].max() >= MIN_SCORE]
    flashes = [i for i in range(1, n) if jump[i] >= MIN_JUMP and persist[i] < MIN_PERSIST]
    gradual = [c for c in transition_ends(score > TRANSITION_SCORE)
               if not any(abs(c - h) <= MERGE_FRAMES for h in hard)
               and not any(c - PERSIST_FRAMES <= f <= c + 1 for f in flashes)]
    return sorted(hard + gradual)


class HybridShots:
    """``--shots hybrid``: needs the ``msmesh[transnet]`` extra like ``--shots transnet`` (same one-line error)."""

    def cut_frames(self, path: Path, info: VideoInfo) -> list[int]:
        from msmesh.video.reader import iter_frames

        model = load_transnet("hybrid")
        cues = CutCues()

        def small(frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[np.ndarray]:
            for _, rgb in frames:
                cues.push(rgb)
                yield transnet_input(rgb)

        score = transnet_scores(model, small(iter_frames(path)))
        jump, persist = cues.finish()
        return hybrid_cuts(score, jump, persist)
