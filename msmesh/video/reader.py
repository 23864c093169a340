"""Stage 1 — decode: open a video with PyAV, probe it, choose the sampled frames, stream them.

Frames are yielded one at a time (never the whole video in memory) as ``(frame_index, RGB uint8 array)``
where ``frame_index`` is the index in the original video. Every decoding problem becomes a one-line
``VideoError`` naming the file and what is wrong with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np

from msmesh.data import VideoInfo
from msmesh.errors import InputError, VideoError

DEFAULT_FPS = 5.0
"""Default sampling rate for detection and fitting: fine enough that both sides of a cut are sampled
within 0.2 s, coarse enough that a feature film stays tractable on a CPU (AVA's benchmark uses 1 fps)."""


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"{path}: file not found")
    if path.is_dir():
        raise VideoError(f"{path}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: file is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise VideoError(f"{path}: not a readable video ({_reason(exc)})") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream (audio-only or data file)")
    return container


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())[:160]


def probe(path: str | Path) -> VideoInfo:
    """Read the video's size, frame rate and frame count (counting frames by decoding when the header lacks it).

    ``sampled_frames`` is left empty; see :func:`sample_frames`.
    """
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        count = int(stream.frames or 0)
        if count <= 0 or not fps:
            count = 0
            for _ in container.decode(stream):
                count += 1
        if fps <= 0 or not math.isfinite(fps):
            fps = 25.0
    except av.error.FFmpegError as exc:
        raise VideoError(f"{path}: cannot decode ({_reason(exc)})") from exc
    finally:
        container.close()
    if width <= 0 or height <= 0:
        raise VideoError(f"{path}: video stream has no frame size")
    if count <= 0:
        raise VideoError(f"{path}: no decodable video frames")
    return VideoInfo(source=str(path), fps=fps, frame_count=count, width=width, height=height, sampled_frames=[])


def sample_frames(info: VideoInfo, fps: float | None = DEFAULT_FPS, start: float | None = None,
                  end: float | None = None) -> list[int]:
    """Original frame indices to process: every ``info.fps / fps``-th frame between ``start`` and ``end`` s.

    ``fps=None`` or ``fps ≥ info.fps`` keeps every frame. Frame i is taken when it is the first frame at or
    after each sampling instant, so the chosen frames are evenly spaced in time whatever the source rate.
    """
    if fps is not None and not fps > 0:
        raise InputError(f"--fps must be > 0, got {fps}")
    first = 0 if start is None else int(math.ceil(start * info.fps - 1e-6))
    last = info.frame_count if end is None else min(info.frame_count, int(math.ceil(end * info.fps - 1e-6)))
    if start is not None and first >= info.frame_count:
        raise InputError(f"--start {start} s is past the end of the video ({info.frame_count / info.fps:.2f} s)")
    if last <= first:
        raise InputError(f"no frames between --start {start} and --end {end}")
    if fps is None or fps >= info.fps:
        return list(range(first, last))
    step = info.fps / fps
    picks = np.unique(np.ceil(first + np.arange(0, (last - first) / step) * step - 1e-6).astype(np.int64))
    return [int(f) for f in picks if first <= f < last]


def iter_frames(path: str | Path, frames: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, H×W×3 uint8 RGB)`` for the requested original frame indices, in order.

    Decodes sequentially and drops unwanted frames, so memory stays at one frame whatever the video length.
    A video that breaks off mid-way raises ``VideoError`` naming the last good frame.
    """
    path = Path(path)
    wanted = None if frames is None else sorted(set(int(f) for f in frames))
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        pos = 0
        index = 0
        try:
            for frame in container.decode(stream):
                if wanted is None or (pos < len(wanted) and wanted[pos] == index):
                    yield index, frame.to_ndarray(format="rgb24")
                    pos += 1
                    if wanted is not None and pos == len(wanted):
                        return
                index += 1
        except av.error.FFmpegError as exc:
            raise VideoError(f"{path}: decoding failed after frame {index} ({_reason(exc)})") from exc
    finally:
        container.close()


class FrameCache:
    """Random access to a few decoded frames (for crops and overlays): decode forward, keep the last few."""

    def __init__(self, path: str | Path, frames: Iterable[int]) -> None:
        self._iter = iter_frames(path, frames)
        self._cache: dict[int, np.ndarray] = {}
        self._order: list[int] = []

    def __call__(self, index: int) -> np.ndarray:
        while index not in self._cache:
            try:
                i, img = next(self._iter)
            except StopIteration as exc:
                raise VideoError(f"frame {index} is not available (past the end or not requested)") from exc
            self._cache[i] = img
            self._order.append(i)
            if len(self._order) > 64:
                self._cache.pop(self._order.pop(0), None)
        return self._cache[index]
