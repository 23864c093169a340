"""Stage 1 — decode: open a video with PyAV, probe it, choose the sampled frames, stream them.

Frames are yielded one at a time (never the whole video in memory) as ``(frame_index, RGB uint8 array)``
where ``frame_index`` is the index in the original video, upright (the display matrix of a phone video is
applied). Frames are timed by their own timestamps, so variable-frame-rate video is sampled evenly in time.
Undecodable packets are skipped and counted; a video of which nothing decodes becomes a one-line
``VideoError`` naming the file and what is wrong with it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np

from msmesh.data import VideoInfo
from msmesh.errors import InputError, VideoError, VideoWarning
from msmesh.options import DEFAULT_FPS, check_rate


def quiet_ffmpeg() -> None:
    """Keep FFmpeg's own log (corrupt-packet reports, encoder statistics) out of the terminal.

    PyAV drops it by default, but PySceneDetect's PyAV backend reinstalls FFmpeg's stderr logger; a user who
    chose a PyAV log level keeps it.
    """
    if av.logging.get_level() is None:
        av.logging.set_level(None)


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"{path}: file not found")
    if path.is_dir():
        raise VideoError(f"{path}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: file is empty (0 bytes)")
    quiet_ffmpeg()
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


class _Decoder:
    """The video stream's frames in presentation order, skipping packets the decoder rejects.

    ``probe`` and ``iter_frames`` both number frames with this one loop, so a frame index means the same
    frame in every pass however many packets are corrupt. ``skipped`` counts the rejected packets.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped = 0
        self.last_error = ""

    def __iter__(self) -> Iterator[av.VideoFrame]:
        container = _open(self.path)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            packets = container.demux(stream)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError as exc:  # the container itself breaks off: keep what decoded
                    self.skipped += 1
                    self.last_error = _reason(exc)
                    break
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as exc:
                    self.skipped += 1
                    self.last_error = _reason(exc)
                    continue
                yield from frames
        finally:
            container.close()


def _upright(frame: av.VideoFrame) -> np.ndarray:
    """The frame as H×W×3 RGB, turned as its display matrix says (phone videos are stored sideways)."""
    image = frame.to_ndarray(format="rgb24")
    turns = _quarter_turns(frame)
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _quarter_turns(frame: av.VideoFrame) -> int:
    try:
        rotation = frame.rotation
    except (AttributeError, ValueError):
        return 0
    return int(round((rotation or 0) / 90.0)) % 4


def _frame_time(frame: av.VideoFrame) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base)


def _header_fps(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    return fps if fps > 0 and math.isfinite(fps) else 25.0


def _timeline(raw: list[float | None], header_fps: float) -> tuple[float, list[float] | None]:
    """The frame rate and the per-frame times (``None`` for constant frame rate) from the decoded frames' pts.

    Times start at 0 at the first frame. The video counts as constant-rate when every frame lies within a
    quarter frame of ``i / header_fps``; otherwise the rate is the mean over the video and the times are kept.
    """
    n = len(raw)
    if n < 2 or any(t is None for t in raw):
        return header_fps, None
    t = np.asarray(raw, dtype=np.float64) - float(raw[0])  # type: ignore[arg-type]
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        return header_fps, None  # broken timestamps: fall back to the header's rate
    if np.all(np.abs(t - np.arange(n) / header_fps) < 0.25 / header_fps):
        return header_fps, None
    fps = (n - 1) / float(t[-1])
    return fps, [float(x) for x in t]


def probe(path: str | Path) -> VideoInfo:
    """Decode the whole video once: its displayed size, frame rate, frame count and frame times.

    Undecodable packets are skipped and counted (``skipped_frames``), with a warning; a video of which
    nothing decodes is a ``VideoError``. ``sampled_frames`` is left empty; see :func:`sample_frames`.
    """
    path = Path(path)
    container = _open(path)
    try:
        header_fps = _header_fps(container.streams.video[0])
    finally:
        container.close()
    decoder = _Decoder(path)
    raw: list[float | None] = []
    width = height = rotation = 0
    for frame in decoder:
        if not raw:
            turns = _quarter_turns(frame)
            rotation = 90 * turns
            width, height = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
        raw.append(_frame_time(frame))
    if not raw:
        why = f" ({decoder.last_error})" if decoder.last_error else ""
        raise VideoError(f"{path}: no decodable video frames{why}")
    if width <= 0 or height <= 0:
        raise VideoError(f"{path}: video stream has no frame size")
    if decoder.skipped:
        warnings.warn(f"{path}: skipped {decoder.skipped} undecodable packet(s) (corrupt data); "
                      f"{len(raw)} frames decoded", VideoWarning, stacklevel=2)
    fps, timestamps = _timeline(raw, header_fps)
    return VideoInfo(source=str(path), fps=fps, frame_count=len(raw), width=width, height=height,
                     sampled_frames=[], timestamps=timestamps, rotation=rotation, skipped_frames=decoder.skipped)


def frame_range(info: VideoInfo, start: float | None = None, end: float | None = None) -> tuple[int, int]:
    """The half-open range of frames whose presentation times lie in ``[start, end)`` seconds."""
    times = info.times()
    eps = 1e-6 / info.fps
    first = 0 if start is None else int(np.searchsorted(times, start - eps, side="left"))
    last = info.frame_count if end is None else int(np.searchsorted(times, end - eps, side="left"))
    if start is not None and first >= info.frame_count:
        duration = float(times[-1]) + 1.0 / info.fps
        raise InputError(f"--start {start} s is past the end of the video ({duration:.2f} s)")
    if last <= first:
        raise InputError(f"no frames between --start {start} and --end {end}")
    return first, last


def pick_frames(info: VideoInfo, first: int, last: int, fps: float | None) -> list[int]:
    """Frames of ``[first, last)`` at ``fps``: for each instant ``t[first] + k / fps`` the first frame at or
    after it, so the picks are evenly spaced in time whatever the source rate (constant or variable)."""
    if fps is None or (info.timestamps is None and fps >= info.fps):
        return list(range(first, last))
    times = info.times()
    eps = 1e-6 / info.fps
    span = times[last - 1] - times[first]
    instants = times[first] + np.arange(0, int(math.floor(span * fps + 1e-9)) + 1) / fps
    picks = np.unique(np.searchsorted(times, instants - eps, side="left"))
    return [int(f) for f in picks if first <= f < last]


def sample_frames(info: VideoInfo, fps: float | None = DEFAULT_FPS, start: float | None = None,
                  end: float | None = None) -> list[int]:
    """Original frame indices to process: frames ``fps`` times a second between ``start`` and ``end`` s.

    ``fps=None`` or ``fps ≥ info.fps`` keeps every frame (of a constant-rate video). Times are the frames' own
    presentation times, so a variable-frame-rate video is sampled evenly in time.
    """
    check_rate("--fps", fps)
    first, last = frame_range(info, start, end)
    return pick_frames(info, first, last, fps)


def iter_frames(path: str | Path, frames: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, H×W×3 uint8 RGB)`` for the requested original frame indices, in order.

    Decodes sequentially and drops unwanted frames, so memory stays at one frame whatever the video length.
    Frames are upright (the display matrix applied) and numbered as :func:`probe` numbers them: undecodable
    packets are skipped. A requested frame that does not come is left out.
    """
    path = Path(path)
    wanted = None if frames is None else sorted(set(int(f) for f in frames))
    pos = 0
    for index, frame in enumerate(_Decoder(path)):
        if wanted is None or (pos < len(wanted) and wanted[pos] == index):
            yield index, _upright(frame)
            pos += 1
            if wanted is not None and pos == len(wanted):
                return


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
