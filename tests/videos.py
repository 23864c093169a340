"""Small video files for tests, written with PyAV: solid-colour shots, audio-only, truncated copies."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cuts_demo.mp4"
EXAMPLE_CUTS = [60, 100, 140, 180]


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25, display_rotation: float | None = None) -> Path:
    """Encode RGB uint8 frames as H.264 mp4 (with ``display_rotation``: that display matrix angle)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if display_rotation is not None:
            stream.set_display_rotation(display_rotation)
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def shots_video(path: Path, lengths: tuple[int, ...] = (20, 15, 25), size: tuple[int, int] = (64, 48)) -> Path:
    """Static shots of different random-noise images: cuts at the cumulative lengths."""
    rng = np.random.default_rng(0)
    frames = []
    for n in lengths:
        image = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
        frames += [image] * n
    return write_video(path, frames)


def audio_only(path: Path) -> Path:
    """An mp4 holding one second of AAC audio and no video stream."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        samples = (np.sin(np.linspace(0, 2 * np.pi * 440, 44100)) * 0.1).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def truncated_copy(src: Path, dst: Path, fraction: float = 0.3) -> Path:
    """The first ``fraction`` of ``src``'s bytes (an mp4 cut off mid-file)."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def marker_frame(height: int, width: int, value: int = 0) -> np.ndarray:
    """A dark frame with a bright block in its top-left corner (shows which way up a frame comes out)."""
    img = np.full((height, width, 3), 30 + value % 40, np.uint8)
    img[: height // 4, : width // 4] = 230
    return img


def rotated_video(path: Path, upright: list[np.ndarray], rotation: float = -90.0, fps: int = 25) -> Path:
    """A phone-style video: ``upright`` frames stored turned, with a display matrix that turns them back.

    ``rotation`` is the display matrix's counter-clockwise angle (−90: shown turned 90° clockwise), so the
    stored frames are the upright ones turned the other way.
    """
    stored = [np.ascontiguousarray(np.rot90(img, -int(round(rotation / 90)))) for img in upright]
    return write_video(path, stored, fps, display_rotation=rotation)


def vfr_video(path: Path, frames: list[np.ndarray], times: list[float]) -> Path:
    """A variable-frame-rate Matroska file: frame ``i`` shown at ``times[i]`` seconds (millisecond clock).

    The header's nominal rate is 30 fps whatever the times, as with a phone's VFR recording.
    """
    from fractions import Fraction

    tb = Fraction(1, 1000)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.time_base = tb
        for img, t in zip(frames, times, strict=True):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = int(round(t * 1000)), tb
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def gop_video(path: Path, n: int = 60, gop: int = 10, size: tuple[int, int] = (128, 96)) -> Path:
    """Random-noise frames with a keyframe every ``gop`` frames (so each GOP decodes on its own)."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        for _ in range(n):
            img = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def corrupt_frames(src: Path, dst: Path, first: int, last: int) -> Path:
    """A copy of ``src`` whose packets for frames ``[first, last)`` are overwritten with zeros (a broken GOP)."""
    data = bytearray(src.read_bytes())
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        step = 1 / float(stream.average_rate * stream.time_base)
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None and first <= round(packet.pts / step) < last:
                data[packet.pos:packet.pos + packet.size] = bytes(packet.size)
    dst.write_bytes(bytes(data))
    return dst
