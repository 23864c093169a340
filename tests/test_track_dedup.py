"""Within-shot tracking (people.track): a second reading of one person is merged into that person's tracklet,
two people standing close are not, and landmarks are compared where both detections have them.

Real pieces come from tests/data/track_dedup.json (msmesh's auto detector on the Pose2Sim multi-person demo,
written by bench/track_dedup.py, which also measures the margins on all labelled clips)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from msmesh.data import Shot
from msmesh.people.detection import Detection
from msmesh.people.track import merge_duplicates, pose_distance, same_person, track_shots

FIXTURE = Path(__file__).parent / "data" / "track_dedup.json"
SHOT = [Shot(0, 0, 1000)]
MAX_DISTANCE = 0.12  # merge_duplicates' default


def _piece(name: str) -> tuple[dict[int, list[Detection]], dict[int, list[str | None]]]:
    """A fixture piece's detections per frame and each detection's labelled person."""
    frames = json.loads(FIXTURE.read_text())["pieces"][name]
    dets, who = {}, {}
    for fr in frames:
        dets[fr["frame"]] = [Detection(np.array(p["bbox"]), np.array(p["keypoints"]), p["score"],
                                       landmarks=np.array(p["landmarks"]) if "landmarks" in p else None)
                             for p in fr["people"]]
        who[fr["frame"]] = [p["person"] for p in fr["people"]]
    return dets, who


def _people_per_frame(tracklets: list, who: dict[int, list[str | None]],
                      dets: dict[int, list[Detection]]) -> dict[int, list[str | None]]:
    """Per frame, the labelled person of every detection the tracklets kept."""
    out: dict[int, list[str | None]] = {}
    for t in tracklets:
        for f, d in zip(t.frames, t.detections, strict=True):
            out.setdefault(f, []).append(who[f][next(i for i, e in enumerate(dets[f]) if e is d)])
    return out


def test_two_close_people_are_never_merged() -> None:
    """m3: the two people overlap (boxes up to 0.87 inside each other); every frame keeps both, and their body
    points stay far above the merge threshold (measured: ≥ 0.32 of the smaller diagonal, on all clips ≥ 0.318)."""
    dets, who = _piece("close_people")
    distances = [pose_distance(d[0], d[1], 3, "smaller") for f, d in dets.items()
                 if len(d) == 2 and None not in who[f] and who[f][0] != who[f][1]]
    assert len(distances) >= 18
    assert min(d for d in distances if d is not None) >= 2.5 * MAX_DISTANCE
    tracklets = track_shots(dets, SHOT)
    assert len(tracklets) == len(track_shots(dets, SHOT, dedup=False))
    kept = _people_per_frame(tracklets, who, dets)
    for f in dets:
        assert sorted(kept[f], key=str) == sorted(who[f], key=str)


def test_second_reading_of_one_person_is_merged() -> None:
    """m2 punch-in: a weak MoveNet box with a few keypoints on the man BlazePose also found — without the merge
    some frames hold two tracklets on him, with it none, and the landmark reading is the one kept."""
    dets, who = _piece("duplicates")
    plain = _people_per_frame(track_shots(dets, SHOT, dedup=False), who, dets)
    assert sum(names.count("p2s_man") > 1 for names in plain.values()) >= 5  # 7 of 12 frames
    tracklets = track_shots(dets, SHOT)
    merged = _people_per_frame(tracklets, who, dets)
    assert not [f for f, names in merged.items() if names.count("p2s_man") > 1]
    assert all("p2s_man" in merged[f] for f in plain if "p2s_man" in plain[f])  # he is never lost


def _walker(frame: int, x0: float, jitter: float = 0.0, landmarks: bool = True,
            rng: np.random.Generator | None = None) -> Detection:
    """A person walking right, keypoints spread over a 120 × 280 px body (box 140 px wide); ``jitter`` px of
    noise on every point."""
    kp = np.zeros((17, 3))
    kp[:, 0] = x0 + 4 * frame + np.linspace(0, 120, 17)
    kp[:, 1] = np.linspace(20, 300, 17)
    kp[:, 2] = 0.9
    if rng is not None:
        kp[:, :2] += rng.normal(0, jitter, (17, 2))
    lm = None
    if landmarks:
        lm = np.zeros((33, 3))
        lm[:, 0] = x0 + 4 * frame + np.linspace(0, 120, 33)
        lm[:, 1] = np.linspace(20, 300, 33)
        lm[:, 2] = 0.95
    box = np.array([kp[:, 0].min() - 10, 10, kp[:, 0].max() + 10, 310])
    return Detection(bbox=box, keypoints=kp, score=0.9, landmarks=lm)


def test_duplicated_detection_stream_collapses_to_one_tracklet() -> None:
    """Every frame reports the walker twice (a landmark reading and a noisier keypoint-only one with a wider
    box): one tracklet, holding the landmark readings."""
    rng = np.random.default_rng(0)
    dets = {}
    for f in range(0, 20, 2):
        weak = _walker(f, 100, 6.0, landmarks=False, rng=rng)
        weak.bbox = weak.bbox + [-30, -10, 30, 10]
        weak.score = 0.3
        dets[f] = [weak, _walker(f, 100)] if f % 4 else [_walker(f, 100), weak]
    assert len(track_shots(dets, SHOT, dedup=False)) == 2
    tracklets = track_shots(dets, SHOT)
    assert len(tracklets) == 1
    assert tracklets[0].frames == list(range(0, 20, 2))
    assert all(d.landmarks is not None for d in tracklets[0].detections)


def test_duplicate_that_outlives_the_person_extends_the_tracklet() -> None:
    """A second reading seen in frames 0–8 while the landmark reading stops at 4: merged, the tracklet runs
    0–8 with the landmark reading where there is one."""
    dets = {f: [_walker(f, 100, landmarks=False)] + ([_walker(f, 102)] if f <= 4 else []) for f in range(0, 10, 2)}
    tracklets = track_shots(dets, SHOT)
    assert len(tracklets) == 1
    t = tracklets[0]
    assert t.frames == [0, 2, 4, 6, 8]
    assert [d.landmarks is not None for d in t.detections] == [True, True, True, False, False]


@pytest.mark.parametrize("gap", [45.0, 70.0])
def test_two_people_side_by_side_stay_two(gap: float) -> None:
    """Two walkers ``gap`` px apart in every frame, boxes 68 % / 50 % inside each other, body points 0.136 /
    0.21 of the diagonal apart (just above the 0.12 threshold; real different people measured ≥ 0.318): two
    tracklets, each on one walker throughout."""
    a, b = _walker(0, 100), _walker(0, 100 + gap)
    assert pose_distance(a, b, 3, "smaller") == pytest.approx(gap / np.hypot(140, 300), rel=1e-6)
    dets = {f: [_walker(f, 100), _walker(f, 100 + gap)] for f in range(0, 20, 2)}
    tracklets = track_shots(dets, SHOT)
    assert len(tracklets) == 2
    for t in tracklets:
        xs = {round(d.keypoints[0, 0] - 4 * f) for f, d in zip(t.frames, t.detections, strict=True)}
        assert len(xs) == 1


def test_same_person_needs_shared_frames_and_one_shot() -> None:
    a = track_shots({0: [_walker(0, 100)], 2: [_walker(2, 100)]}, SHOT)[0]
    b = track_shots({4: [_walker(4, 100)]}, SHOT)[0]
    assert not same_person(a, b)  # no frame in common: a re-ID question, not a duplicate
    c = track_shots({2: [_walker(2, 101)]}, [Shot(0, 0, 1000)])[0]
    assert same_person(a, c)
    c.shot = 1
    assert not same_person(a, c)
    assert merge_duplicates([a, c]) == [a, c]


def test_landmarks_are_compared_where_both_have_them() -> None:
    """Keypoints that disagree but landmarks that agree: the landmarks decide; without landmarks on one side,
    the keypoints do."""
    a, b = _walker(0, 100), _walker(0, 100)
    b.keypoints[:, 0] += 80
    assert pose_distance(a, b) == pytest.approx(0.0)
    b.landmarks = None
    assert pose_distance(a, b) > 0.2


def _weak_box(frame: int, box: np.ndarray) -> Detection:
    """A MoveNet-like reading: no landmarks, three sure keypoints scattered in ``box``, the rest unsure."""
    kp = np.zeros((17, 3))
    kp[:, :2] = box[:2] + (box[2:] - box[:2]) * np.linspace(0.1, 0.9, 17)[:, None] * [1.0, 0.3]
    kp[[0, 9, 16], 2] = 0.5
    kp[:, 0] += 4 * frame
    return Detection(bbox=box + [4 * frame, 0, 4 * frame, 0], keypoints=kp, score=0.25)


@pytest.mark.parametrize(("height", "merged"), [(0.85, True), (0.3, False)])
def test_weak_reading_on_a_person_is_merged_only_when_the_boxes_coincide(height: float, merged: bool) -> None:
    """A weak box inside the walker's (its keypoints unlike the walker's): one tracklet when it covers most of
    the walker's box (IoU 0.79), two when it is a small box inside it (IoU 0.28: maybe someone in front)."""
    box = np.array([90.0, 20.0, 230.0, 20.0 + height * 280])
    dets = {f: [_walker(f, 100), _weak_box(f, box)] for f in range(0, 10, 2)}
    first = dets[0]
    assert pose_distance(first[0], first[1], 3, "smaller") > 0.2
    assert len(track_shots(dets, SHOT)) == (1 if merged else 2)
