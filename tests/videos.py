"""Small video files for tests, written with PyAV: solid-colour shots, audio-only, truncated copies."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cuts_demo.mp4"
EXAMPLE_CUTS = [60, 100, 140, 180]


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """Encode RGB uint8 frames as H.264 mp4."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
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
