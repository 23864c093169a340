"""BlazePose backend and the hybrid ``auto`` detector: decoding geometry on constructed inputs, and the models
on the example's real frames (values checked by eye on rendered overlays: the close-ups' skeletons lie on the
people, the knees of the truncated bodies are below the frame)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from videos import EXAMPLE

from msmesh.errors import ModelUnavailableError
from msmesh.people.blazepose import BlazePose, plausible, same_place
from msmesh.people.blazepose_ops import (
    Roi,
    decode_boxes,
    refine_from_heatmap,
    roi_from_points,
    ssd_anchors,
    weighted_nms,
)
from msmesh.people.detection import Detection
from msmesh.people.hybrid import HybridDetector, duplicate, keypoints_agree, roi_from_coco
from msmesh.people.movenet import MoveNet
from msmesh.video.reader import iter_frames


@pytest.fixture(scope="module")
def frames() -> dict[int, np.ndarray]:
    """The example's wide shot (50: both people), the man's close-up (70, 80), the woman's close-up (150)."""
    return dict(iter_frames(EXAMPLE, [50, 70, 80, 150]))


@pytest.fixture(scope="module")
def blazepose() -> BlazePose:
    return BlazePose(threads=1)


def test_ssd_anchors_follow_the_detector_layout() -> None:
    a = ssd_anchors()
    assert a.shape == (2254, 2)  # 28²·2 + 14²·2 + 7²·6
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])  # two anchors per cell
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])  # x runs fastest
    np.testing.assert_allclose(a[28 * 28 * 2], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])
    assert len({tuple(r) for r in a[-6:]}) == 1  # the three stride-32 layers share one 7×7 grid


def test_decode_boxes_is_relative_to_the_anchor() -> None:
    raw = np.zeros((1, 12))
    raw[0, :4] = [22.4, -11.2, 44.8, 22.4]
    raw[0, 4:6] = [0, 112]
    boxes, kps = decode_boxes(raw, np.array([[0.5, 0.5]]))
    np.testing.assert_allclose(boxes[0], [0.5, 0.4, 0.7, 0.5])
    np.testing.assert_allclose(kps[0, 0], [0.5, 1.0])
    np.testing.assert_allclose(kps[0, 1], [0.5, 0.5])


def test_weighted_nms_averages_a_cluster_and_keeps_others() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    kps = boxes[:, None, :2].repeat(4, axis=1)
    out = weighted_nms(boxes, kps, np.array([0.9, 0.3, 0.5]), threshold=0.3)
    assert [round(s, 2) for s, _, _ in out] == [0.9, 0.5]
    np.testing.assert_allclose(out[0][1], [0.25, 0, 10.25, 10])  # (0.9·0 + 0.3·1) / 1.2
    np.testing.assert_allclose(out[1][1], boxes[2])


def test_roi_is_upright_on_the_body_axis() -> None:
    up = roi_from_points(np.array([100.0, 200.0]), np.array([100.0, 120.0]))
    assert up.angle == pytest.approx(0.0) and up.size == pytest.approx(2 * 80 * 1.25)
    lying = roi_from_points(np.array([100.0, 200.0]), np.array([180.0, 200.0]))  # head to the right
    assert lying.angle == pytest.approx(math.pi / 2)
    # the crop's top centre (where the head goes) lands on the scale-point side
    np.testing.assert_allclose(lying.to_image(np.array([[0.5, 0.1]]))[0], [100 + 0.4 * lying.size, 200])
    # crop_to_image and to_image agree, and rotate() turns crop "up" (−y) into image "right"
    roi = Roi(50.0, 60.0, 128.0, 0.7)
    uv = np.array([[0.2, 0.9], [0.5, 0.5]])
    m = roi.crop_to_image()
    np.testing.assert_allclose(uv * 256 @ m[:, :2].T + m[:, 2], roi.to_image(uv), atol=1e-9)
    np.testing.assert_allclose(lying.rotate(np.array([[0.0, -1.0, 0.3]])), [[1.0, 0.0, 0.3]], atol=1e-12)


def test_heatmap_refinement_moves_to_the_peak() -> None:
    heat = np.full((64, 64, 2), -10.0)
    heat[20, 30, 0] = 10.0  # confident peak near landmark 0; landmark 1 has none
    uv = np.array([[31.5 / 64, 21.5 / 64], [0.5, 0.5]])
    out = refine_from_heatmap(uv, heat)
    np.testing.assert_allclose(out[0], [30 / 64, 20 / 64], atol=1e-4)
    np.testing.assert_allclose(out[1], uv[1])


def test_blazepose_on_the_example_close_ups(frames: dict[int, np.ndarray], blazepose: BlazePose) -> None:
    """Measured: one person each (score 0.95/0.96), upright ROI; the man's nose at (360, 108), the woman's at
    (171, 109), on their faces; the woman's left knee (y 374) below the 360-pixel frame → confidence 0."""
    for frame, nose in ((80, (360, 108)), (150, (171, 109))):
        people = blazepose(frames[frame])
        assert len(people) == 1
        det = people[0]
        assert det.score > 0.8
        assert det.landmarks is not None and det.landmarks.shape == (33, 3)
        assert det.world_landmarks is not None and det.world_landmarks.shape == (33, 4)
        np.testing.assert_allclose(det.landmarks[0, :2], nose, atol=12)
        np.testing.assert_allclose(det.keypoints[0, :2], det.landmarks[0, :2])  # COCO nose = landmark 0
        assert (det.keypoints[5:7, 2] > 0.9).all()  # shoulders
        world = det.world_landmarks[:, :3]
        np.testing.assert_allclose(world[[23, 24]].mean(0), 0, atol=0.02)  # hip-centred
        shoulders = world[[11, 12]].mean(0)
        assert -0.6 < shoulders[1] < -0.35 and abs(shoulders[0]) < 0.08  # upright: shoulders above the hips
    woman = blazepose(frames[150])[0]
    assert woman.landmarks[25, 1] > 360 and woman.keypoints[13, 2] == 0.0  # knee below the frame: not claimed


def test_world_landmarks_turn_with_the_image(frames: dict[int, np.ndarray], blazepose: BlazePose) -> None:
    """The man's close-up rotated 90° clockwise: the ROI turns with him and the world landmarks stay in camera
    axes, so his shoulders are now to the right of his hips (measured X = +0.45 m, Y ≈ 0)."""
    rotated = np.ascontiguousarray(np.rot90(frames[80], -1))
    people = blazepose.people(rotated)
    assert len(people) == 1
    assert people[0].roi.angle == pytest.approx(math.pi / 2, abs=0.2)
    shoulders = people[0].world[[11, 12]].mean(0)
    assert 0.35 < shoulders[0] < 0.6 and abs(shoulders[1]) < 0.08


def test_hybrid_finds_both_people_of_a_wide_shot_with_landmarks(frames: dict[int, np.ndarray],
                                                                 blazepose: BlazePose) -> None:
    """BlazePose's own detector finds nobody in this wide shot (people ~150 px tall); MoveNet does, and the
    hybrid gives each of them landmarks from an ROI seeded by MoveNet's keypoints."""
    assert blazepose(frames[50]) == []
    hybrid = HybridDetector(blazepose=blazepose, threads=1)
    people = hybrid(frames[50])
    assert len(people) == 2
    assert all(p.landmarks is not None for p in people)
    xs = sorted(float(p.bbox[[0, 2]].mean()) for p in people)
    assert xs[0] < 320 < xs[1]  # the man on the box (left) and the woman (right)
    for frame in (80, 150):
        assert len(hybrid(frames[frame])) == 1


def test_hybrid_runs_the_small_movenet_only_where_blazepose_found_a_large_person(
        frames: dict[int, np.ndarray], blazepose: BlazePose) -> None:
    hybrid = HybridDetector(blazepose=blazepose, threads=1)
    used: list[int] = []

    class Counted:
        def __init__(self, model: MoveNet) -> None:
            self.model = model

        def __call__(self, image: np.ndarray) -> list[Detection]:
            used.append(self.model.long_side)
            return self.model(image)

    hybrid.movenet, hybrid.movenet_close = Counted(hybrid.movenet), Counted(hybrid.movenet_close)  # type: ignore
    assert len(hybrid(frames[50])) == 2
    assert len(hybrid(frames[70])) == 1
    assert used == [448, 320]  # wide shot: full MoveNet; the man's close-up (ROI 1.5 × the frame): the 320 one


def test_same_place_matches_one_body_reported_twice() -> None:
    a = Roi(100.0, 100.0, 200.0, 0.0)
    assert same_place(a, Roi(130.0, 110.0, 240.0, 0.3), 0.25)
    assert not same_place(a, Roi(200.0, 100.0, 200.0, 0.0), 0.25)  # half a body away
    assert not same_place(a, Roi(100.0, 100.0, 400.0, 0.0), 0.25)  # same centre, twice the size


def _person(centre: tuple[float, float], height: float, conf: float = 0.9) -> Detection:
    """A standing COCO-17 skeleton: head at the top, ankles at the bottom of a ``height``-tall body."""
    cx, cy = centre
    rows = {0: -0.45, 1: -0.47, 2: -0.47, 3: -0.45, 4: -0.45, 5: -0.3, 6: -0.3, 7: -0.12, 8: -0.12, 9: 0.02,
            10: 0.02, 11: 0.02, 12: 0.02, 13: 0.25, 14: 0.25, 15: 0.48, 16: 0.48}
    kp = np.array([[cx + (0.08 if k % 2 else -0.08) * height * (k > 4), cy + rows[k] * height, conf]
                   for k in range(17)])
    return Detection(bbox=np.array([cx - 0.2 * height, cy - 0.5 * height, cx + 0.2 * height, cy + 0.5 * height]),
                     keypoints=kp, score=conf)


def test_roi_from_coco_keypoints() -> None:
    person = _person((300.0, 400.0), 300.0)
    roi = roi_from_coco(person.keypoints)
    assert roi is not None and roi.angle == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose([roi.cx, roi.cy], [300, 406], atol=1e-6)  # hip centre
    assert roi.size >= 2 * 1.25 * 150  # the ROI holds the whole body
    close = person.keypoints.copy()
    close[11:, 2] = 0.0  # hips and legs out of the frame: hip centre estimated below the shoulders
    roi = roi_from_coco(close)
    assert roi is not None and roi.cy > 310 and roi.angle == pytest.approx(0.0, abs=1e-6)
    close[5, 2] = 0.0
    assert roi_from_coco(close) is None


def test_duplicates_are_told_from_people_who_overlap() -> None:
    a = _person((300.0, 400.0), 300.0)
    assert keypoints_agree(a, _person((305.0, 402.0), 300.0)) and duplicate(_person((305.0, 402.0), 300.0), a, True)
    behind = _person((360.0, 380.0), 280.0)  # a second person half hidden behind the first
    assert not duplicate(behind, a, True)
    # a "skeleton" drawn along the person's own arm/torso points, lying mostly inside their box
    along = Detection(bbox=a.bbox * [1, 1, 1, 1] + [10, 40, -10, -60], keypoints=a.keypoints[[5, 7, 9, 6, 8, 10, 11,
                      12, 5, 7, 9, 6, 8, 10, 11, 12, 0]] + [25, 0, 0], score=0.3)
    assert duplicate(along, a, False) and not duplicate(along, a, True)


def test_missing_or_corrupt_blazepose_model_is_one_line(tmp_path: Path) -> None:
    from msmesh.assets import asset_path

    with pytest.raises(ModelUnavailableError, match=r"pose_detection\.tflite is missing.*extract_blazepose"):
        BlazePose(tmp_path)
    shipped = asset_path("models", "blazepose")
    for name in ("pose_detection.tflite", "SHA256SUMS"):
        (tmp_path / name).write_bytes((shipped / name).read_bytes())
    (tmp_path / "pose_landmark_full.tflite").write_bytes(b"\0" * 64)
    with pytest.raises(ModelUnavailableError) as info:
        BlazePose(tmp_path)
    message = info.value.one_line()
    assert "pose_landmark_full.tflite" in message and "sha256" in message and "extract_blazepose" in message
    (tmp_path / "SHA256SUMS").write_text("")  # no checksum to compare: the loader itself must refuse it
    with pytest.raises(ModelUnavailableError, match="not a loadable TFLite model"):
        BlazePose(tmp_path)


def test_reconstruct_with_a_corrupt_model_exits_2_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from msmesh.assets import asset_path
    from msmesh.cli import main

    models = tmp_path / "models"
    models.mkdir()
    shipped = asset_path("models", "blazepose")
    for name in ("pose_detection.tflite", "SHA256SUMS"):
        (models / name).write_bytes((shipped / name).read_bytes())
    (models / "pose_landmark_full.tflite").write_bytes(b"corrupt")
    monkeypatch.setattr("msmesh.people.blazepose.asset_path", lambda *parts: models)
    code = main(["reconstruct", str(EXAMPLE), "--out", str(tmp_path / "run"), "--detector", "auto", "--fps", "1",
                 "--no-video", "--end", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("msmesh: error:")
    assert "pose_landmark_full.tflite" in err and "tools/extract_blazepose.py" in err


def test_landmarks_travel_from_detections_to_tracks(tmp_path: Path) -> None:
    """detections.json keeps each person's landmarks; tracks.json (tracks@2) stacks them per person, with
    zeros in frames whose detection had none (a MoveNet-only frame)."""
    from msmesh.data import Shot, VideoInfo, load_tracks, save_tracks
    from msmesh.people.detection import load_detections, save_detections
    from msmesh.people.reid import clusters_to_tracks
    from msmesh.people.track import track_shots

    rng = np.random.default_rng(0)
    dets = {}
    for f in range(3):
        d = _person((200.0 + 5 * f, 300.0), 240.0)
        if f != 1:
            d.landmarks = np.column_stack([rng.uniform(0, 400, (33, 2)), rng.uniform(0, 1, 33)])
            d.world_landmarks = np.column_stack([rng.normal(0, 0.3, (33, 3)), d.landmarks[:, 2]])
        dets[f * 10] = [d]
    save_detections(tmp_path / "detections.json", dets)
    back = load_detections(tmp_path / "detections.json")
    np.testing.assert_allclose(back[0][0].landmarks, dets[0][0].landmarks, atol=1e-3)
    np.testing.assert_allclose(back[20][0].world_landmarks, dets[20][0].world_landmarks, atol=1e-4)
    assert back[10][0].landmarks is None
    shots = [Shot(0, 0, 30)]
    tracklets = track_shots(back, shots)
    assert len(tracklets) == 1
    tracks = clusters_to_tracks([tracklets], VideoInfo("v.mp4", 10.0, 30, 400, 400, [0, 10, 20]), shots)
    person = tracks.people[0]
    assert person.landmarks is not None and person.landmarks.shape == (3, 33, 3)
    assert person.world_landmarks is not None and person.world_landmarks.shape == (3, 33, 4)
    assert not person.landmarks[1].any() and person.landmarks[0].any()
    save_tracks(tmp_path / "tracks.json", tracks)
    loaded = load_tracks(tmp_path / "tracks.json").people[0]
    np.testing.assert_allclose(loaded.landmarks, person.landmarks, atol=1e-3)
    np.testing.assert_allclose(loaded.world_landmarks, person.world_landmarks, atol=1e-4)


def test_detections_file_with_misshapen_landmarks_is_one_line(tmp_path: Path) -> None:
    import json

    from msmesh.errors import InputError
    from msmesh.people.detection import DETECTIONS_FORMAT, load_detections

    path = tmp_path / "detections.json"
    path.write_text(json.dumps({"format": DETECTIONS_FORMAT, "frames": [{"frame": 0, "people": [
        {"bbox": [0, 0, 1, 1], "keypoints": [[0, 0, 0]] * 17, "score": 1, "landmarks": [[0, 0, 0]] * 32}]}]}))
    with pytest.raises(InputError, match="33×3"):
        load_detections(path)


def test_implausible_skeletons_are_rejected() -> None:
    """The landmark model's known failures: an upside-down ROI (presence ≈ 1 all the same), a head below hips
    and shoulders, a limb longer than 1.6 torsos (in metres)."""
    from msmesh.people.blazepose import PoseLandmarks

    rng = np.random.default_rng(1)
    lm = np.zeros((33, 5))
    lm[:, 3:] = 0.95
    lm[:, :2] = [200.0, 300.0] + rng.normal(0, 5, (33, 2))
    lm[0, :2], lm[[11, 12], :2], lm[[23, 24], :2] = [200, 120], [[170, 170], [230, 170]], [[180, 300], [220, 300]]
    world = np.zeros((33, 3))
    world[[11, 12]] = [[0.18, -0.5, 0], [-0.18, -0.5, 0]]
    world[[23, 24]] = [[0.1, 0, 0], [-0.1, 0, 0]]
    for a, b in ((11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28)):
        world[b] = world[a] + [0, 0.35, 0]
    good = PoseLandmarks(Roi(200, 300, 400, 0.1), 0.99, lm, world, np.zeros((2, 2)))
    assert plausible(good, 720, 640)
    assert not plausible(PoseLandmarks(Roi(200, 300, 400, 3.0), 0.99, lm, world, np.zeros((2, 2))), 720, 640)
    flipped = lm.copy()
    flipped[:, 1] = 600 - flipped[:, 1]  # head at the bottom, hips above the shoulders
    assert not plausible(PoseLandmarks(Roi(200, 300, 400, 0.1), 0.99, flipped, world, np.zeros((2, 2))), 720, 640)
    long_arm = world.copy()
    long_arm[15] = long_arm[13] + [0, 0.9, 0]
    assert not plausible(PoseLandmarks(Roi(200, 300, 400, 0.1), 0.99, lm, long_arm, np.zeros((2, 2))), 720, 640)
