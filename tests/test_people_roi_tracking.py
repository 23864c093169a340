"""Tracking mode of the ``auto`` detector (people.roi_tracking) on the example's real frames: followed frames
find the same person as the full pass, a person who appears mid-shot is found by the next scheduled full pass,
and a cut (or a long gap between sampled frames) starts afresh."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from videos import EXAMPLE, EXAMPLE_CUTS

from msmesh.data import Shot, VideoInfo
from msmesh.people.hybrid import HybridDetector, keypoints_agree
from msmesh.people.roi_tracking import RoiTracker, in_order, restart_frames
from msmesh.video.reader import iter_frames

BOUNDS = [0, *EXAMPLE_CUTS, 230]
SHOTS = [Shot(k, a, b) for k, (a, b) in enumerate(zip(BOUNDS[:-1], BOUNDS[1:], strict=True))]


def _info(frames: list[int], fps: float = 30.0) -> VideoInfo:
    return VideoInfo(source="example", fps=fps, frame_count=230, width=640, height=360, sampled_frames=frames)


@pytest.fixture(scope="module")
def hybrid() -> HybridDetector:
    return HybridDetector(threads=1)


def test_restarts_at_each_cut_and_after_a_long_gap() -> None:
    every_frame = list(range(50, 110))
    assert restart_frames(_info(every_frame), SHOTS) == {50, 60, 100}
    five_fps = list(range(0, 230, 6))
    assert restart_frames(_info(five_fps), SHOTS) == set(five_fps)  # 0.2 s apart: never followed
    assert restart_frames(_info([]), SHOTS) == set()


def test_followed_frames_find_the_same_person_as_the_full_pass(hybrid: HybridDetector) -> None:
    """The man's close-up at full rate: after the full pass on the shot's first frame the detectors are skipped on
    most frames, and every frame's person agrees (labels included) with what the full pass finds there."""
    frames = list(range(60, 72))
    tracker = RoiTracker(hybrid, every=6)
    detect = in_order(tracker, _info(frames), SHOTS)
    for frame, image in iter_frames(EXAMPLE, frames):
        tracked, full = detect(frame, image), hybrid(image)
        assert len(tracked) == len(full) == 1, frame
        assert keypoints_agree(tracked[0], full[0]), frame
        assert tracked[0].landmarks is not None and tracked[0].world_landmarks is not None
    # frames 60 and 66 are scheduled full passes; the others where the crop swapped left/right get one too
    assert tracker.stats["followed"] >= 5 and tracker.stats["full"] + tracker.stats["followed"] == len(frames)


def test_a_person_appearing_mid_shot_is_found_by_the_next_full_pass(hybrid: HybridDetector) -> None:
    """The wide shot's frame 50 (the man on the box left, the woman right) with the woman painted over for the
    first two sampled frames: she is missed while only the man is followed, then found within ``every``."""
    image = next(iter_frames(EXAMPLE, [50]))[1]
    people = sorted(hybrid(image), key=lambda d: d.bbox[0])
    assert len(people) == 2
    x0, y0, x1, y1 = people[1].bbox.astype(int)
    hidden = image.copy()
    hidden[max(y0 - 10, 0):y1 + 10, max(x0 - 10, 0):x1 + 10] = np.median(image.reshape(-1, 3), 0).astype(np.uint8)
    every = 3
    tracker = RoiTracker(hybrid, every=every)
    tracker.start_shot()
    counts = [len(tracker(im)) for im in [hidden, hidden] + [image] * every]
    assert counts[:2] == [1, 1]
    assert tracker.stats["followed"] >= 1
    assert 2 in counts[2:2 + every - 1] or counts[2 + every - 1] == 2
    assert counts[-1] == 2


def test_a_cut_starts_with_the_full_pass(hybrid: HybridDetector) -> None:
    """Across the cut from the wide shot to the man's close-up (frame 60) nobody is carried over: frame 60 gets
    the full pass and finds the one person of the close-up."""
    frames = [57, 58, 59, 60, 61]
    tracker = RoiTracker(hybrid, every=10)
    detect = in_order(tracker, _info(frames), SHOTS)
    full_before: dict[int, int] = {}
    found = {}
    for frame, image in iter_frames(EXAMPLE, frames):
        full_before[frame] = tracker.stats["full"]
        found[frame] = detect(frame, image)
    assert full_before[61] - full_before[60] == 1  # the cut's frame: the full pass
    assert len(found[60]) == 1 and len(found[61]) == 1


@pytest.mark.parametrize("fps", [30.0, 5.0])
def test_detect_stage_follows_people_only_when_frames_are_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                fps: float) -> None:
    """The detect stage runs ``auto`` in tracking mode: at 30 sampled frames/s the man's close-up (12 frames)
    needs at most half as many full passes; at 5 frames/s (0.2 s apart) every sampled frame gets the full pass."""
    from msmesh import stages
    from msmesh.data import save_shots_json, save_video_json
    from msmesh.options import PipelineOptions

    frames = list(range(60, 72)) if fps == 30.0 else [60, 66, 72]
    save_video_json(tmp_path / "video.json", _info(frames))
    save_shots_json(tmp_path / "shots.json", SHOTS)
    calls: list[int] = []
    find = HybridDetector.find
    monkeypatch.setattr(HybridDetector, "find", lambda self, image: calls.append(1) or find(self, image))
    counts = stages._detect(EXAMPLE, tmp_path, PipelineOptions(), lambda name, total: lambda n: None)
    assert counts["detections"] == len(frames)  # the man, once per frame
    assert len(calls) <= len(frames) // 2 if fps == 30.0 else len(calls) == len(frames)
