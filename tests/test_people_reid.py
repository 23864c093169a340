"""Re-ID cues (people.reid): the head region placed from BlazePose face landmarks tells apart people dressed
alike, descriptors of the older torso+legs layout still load, and the track stage's ``identify`` links
tracklets of one person across cuts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from msmesh.data import Shot, VideoInfo
from msmesh.people.detection import Detection
from msmesh.people.reid import (
    BLOCK,
    DESCRIPTOR_SIZE,
    appearance,
    head_polygon,
    identify,
    similarity,
    tracklet_descriptor,
)

SHIRT, TROUSERS, SKIN = (40, 90, 200), (30, 30, 60), (200, 160, 130)


def _person(x: float, hair: tuple[int, int, int], rng: np.random.Generator | None = None,
            shirt: tuple[int, int, int] = SHIRT, trousers: tuple[int, int, int] = TROUSERS,
            ) -> tuple[np.ndarray, Detection]:
    """A 640×360 frame with one cartoon person at ``x`` in these colours (plus noise from ``rng``); COCO
    keypoints and BlazePose landmarks (face points 0–10 on the face) placed on the drawing."""
    img = np.full((360, 640, 3), 120, np.uint8)
    if rng is not None:
        img += rng.integers(0, 20, img.shape, dtype=np.uint8)
    cv2.rectangle(img, (int(x) - 40, 110), (int(x) + 40, 220), shirt, -1)
    cv2.rectangle(img, (int(x) - 35, 220), (int(x) + 35, 340), trousers, -1)
    cv2.circle(img, (int(x), 75), 30, SKIN, -1)
    cv2.ellipse(img, (int(x), 62), (32, 22), 0, 180, 360, hair, -1)
    kp = np.zeros((17, 3))
    kp[:, 2] = 0.9
    kp[[0, 1, 2, 3, 4], :2] = [[x, 80], [x - 10, 72], [x + 10, 72], [x - 25, 76], [x + 25, 76]]
    kp[[5, 6], :2] = [[x - 38, 112], [x + 38, 112]]
    kp[[11, 12], :2] = [[x - 30, 218], [x + 30, 218]]
    kp[[13, 14], :2] = [[x - 28, 280], [x + 28, 280]]
    kp[15:, :2] = [[x - 28, 335], [x + 28, 335]]
    lm = np.zeros((33, 3))
    lm[:, 2] = 0.9
    lm[:11, :2] = [[x, 80], [x - 6, 72], [x - 10, 72], [x - 14, 72], [x + 6, 72], [x + 10, 72], [x + 14, 72],
                   [x - 26, 76], [x + 26, 76], [x - 8, 92], [x + 8, 92]]
    lm[11:, :2] = [x, 200]
    det = Detection(bbox=np.array([x - 42, 40, x + 42, 345]), keypoints=kp, score=0.9, landmarks=lm)
    return img, det


def test_head_region_tells_apart_people_dressed_alike() -> None:
    rng = np.random.default_rng(0)
    dark = [appearance(*_person(x, (20, 15, 10), rng)) for x in (200, 400)]
    red = appearance(*_person(300, (200, 40, 20), rng))
    assert dark[0].shape == (DESCRIPTOR_SIZE,)
    assert similarity(dark[0], red, "colour") > 0.95  # torso and legs alone: the same person
    head = slice(2 * BLOCK, None)
    assert dark[0][head].sum() > 0.99  # the head block is a normalised histogram
    assert similarity(dark[0][head], dark[1][head]) > 0.95
    assert similarity(dark[0][head], red[head]) < 0.9
    assert similarity(dark[0], red, "head") < similarity(dark[0], red, "colour") - 0.03


def test_head_polygon_prefers_landmarks_and_needs_three_face_points() -> None:
    _, det = _person(300, (0, 0, 0), np.random.default_rng(1))
    box = head_polygon(det)
    assert box is not None
    assert box[:, 0].min() < 280 and box[:, 0].max() > 320 and box[:, 1].min() < 50  # reaches the hair
    det.landmarks[:11, 2] = 0.0
    det.keypoints[:5, 2] = 0.0
    det.keypoints[:2, 2] = 0.9
    assert head_polygon(det) is None


def test_old_descriptor_layout_loads_without_head() -> None:
    old = np.ones(2 * BLOCK, np.float32) / BLOCK  # detections.json written before the head region
    d = tracklet_descriptor([old, None])
    assert d.colour.shape == (DESCRIPTOR_SIZE,)
    assert d.colour[2 * BLOCK:].sum() == 0.0
    assert similarity(d, d) > 0.99


def test_identify_links_face_close_ups_by_the_head_region() -> None:
    """Shots: P wide, Q wide, P face close-up, Q face close-up (only face points seen). Torso and legs link
    nothing to a close-up; the head region links each close-up to its person."""
    rng = np.random.default_rng(2)
    people = [((20, 15, 10), (40, 90, 200), (30, 30, 60)), ((200, 40, 20), (60, 160, 60), (150, 120, 60))]
    detections, shots = {}, []
    for shot in range(4):
        shots.append(Shot(shot, 10 * shot, 10 * shot + 10))
        for k in range(3):
            hair, shirt, trousers = people[shot % 2]
            img, det = _person(250 + 5 * k, hair, rng, shirt, trousers)
            if shot >= 2:  # close-up: nothing below the face is seen
                det.keypoints[5:, 2] = 0.0
                det.landmarks[11:, 2] = 0.0
            det.appearance = appearance(img, det)
            detections[10 * shot + 3 * k] = [det]
    video = VideoInfo(source="x", fps=30.0, frame_count=40, width=640, height=360, sampled_frames=sorted(detections))
    found = identify(detections, shots, video, min_frames=2)
    assert len(found.tracklets) == 4
    assert sorted(sorted(set(p.shot.tolist())) for p in found.tracks.people) == [[0, 2], [1, 3]]
    assert len(identify(detections, shots, video, cues="colour").tracks.people) == 4


def test_single_frame_tracklet_links_after_the_long_ones() -> None:
    """A person in shot 0 (frames 0–8) and shot 1 (frames 10–18), and in shot 1 a one-frame second reading
    whose colours happen to match shot 0 exactly: linked in one pass, the one-frame tracklet joins shot 0's
    first and then blocks the person's shot-1 tracklet (they overlap in time); in passes the person is one."""
    from msmesh.people.reid import link_tracklets
    from msmesh.people.track import Tracklet

    rng = np.random.default_rng(0)
    colour = rng.uniform(0, 1, DESCRIPTOR_SIZE).astype(np.float32)
    other = np.clip(colour + rng.normal(0, 0.15, DESCRIPTOR_SIZE), 0, None).astype(np.float32)

    def tracklet(tid: int, shot: int, frames: list[int]) -> Tracklet:
        d = Detection(np.zeros(4), np.zeros((17, 3)), 0.9)
        return Tracklet(tid, shot, frames, [d] * len(frames))

    tracklets = [tracklet(0, 0, [0, 2, 4, 6, 8]), tracklet(1, 1, [10, 12, 14, 16, 18]), tracklet(2, 1, [12])]
    descriptors = {0: tracklet_descriptor([colour]), 1: tracklet_descriptor([other]), 2: tracklet_descriptor([colour])}
    assert similarity(descriptors[0], descriptors[2]) > similarity(descriptors[0], descriptors[1]) > 0.8
    one_pass, _ = link_tracklets(tracklets, descriptors, first_min_frames=1)
    assert not any({0, 1} <= {t.id for t in c} for c in one_pass)
    clusters, links = link_tracklets(tracklets, descriptors)
    assert [sorted(t.id for t in c) for c in clusters] == [[0, 1], [2]]
    assert len(links) == 1


def test_one_frame_tracklets_join_people_before_each_other() -> None:
    """The example's case: the man's long tracklets form him; a one-frame tracklet of him (x) is only fairly like
    him (0.57) but just like a one-frame second reading (y) seen while his long tracklet runs. Linking one-frame
    tracklets to each other first would pair x with y, and then neither could join him; x must join him."""
    from msmesh.people.reid import link_tracklets
    from msmesh.people.track import Tracklet

    def hist(*bins: tuple[int, float]) -> np.ndarray:
        h = np.zeros(BLOCK, np.float32)
        for b, v in bins:
            h[b] = v
        return h

    man = np.concatenate([hist((0, 1.0)), hist((1, 1.0)), hist((2, 1.0))])
    reading = np.concatenate([hist((0, 1.0)), hist((5, 1.0)), hist((2, 0.5), (3, 0.5))])

    def tracklet(tid: int, shot: int, frames: list[int]) -> Tracklet:
        return Tracklet(tid, shot, frames, [Detection(np.zeros(4), np.zeros((17, 3)), 0.9)] * len(frames))

    tracklets = [tracklet(0, 0, [0, 2, 4, 6, 8]), tracklet(1, 1, [12, 14, 16, 18, 20]), tracklet(2, 1, [10]),
                 tracklet(3, 1, [16])]
    descriptors = {0: tracklet_descriptor([man]), 1: tracklet_descriptor([man]), 2: tracklet_descriptor([reading]),
                   3: tracklet_descriptor([reading])}
    assert similarity(descriptors[2], descriptors[0]) == pytest.approx((1 + 0 + np.sqrt(0.5)) / 3, abs=1e-6)
    clusters, _ = link_tracklets(tracklets, descriptors)
    assert [sorted(t.id for t in c) for c in clusters] == [[0, 1, 2], [3]]
