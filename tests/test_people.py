"""Stages 3–5 on real footage: MoveNet detection (incl. close-ups), tracking inside shots, re-ID across cuts,
and user keypoint files (OpenPose BODY_25, COCO results)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from videos import EXAMPLE

from msmesh.data import Shot
from msmesh.errors import InputError
from msmesh.people.detection import Detection, load_detections, save_detections
from msmesh.people.keypoint_files import load_keypoint_detections
from msmesh.people.movenet import MoveNet
from msmesh.people.reid import appearance, link_tracklets, similarity, tracklet_descriptor
from msmesh.people.track import box_iou, track_shots
from msmesh.video.reader import iter_frames, probe, sample_frames
from msmesh.video.shots import detect_shots


@pytest.fixture(scope="module")
def example_detections() -> dict[int, list[Detection]]:
    """MoveNet over the example at 5 fps, with appearance descriptors (about 2 s)."""
    info = probe(EXAMPLE)
    model = MoveNet()
    out = {}
    for frame, image in iter_frames(EXAMPLE, sample_frames(info, 5.0)):
        out[frame] = model(image)
        for det in out[frame]:
            det.appearance = appearance(image, det)
    return out


def test_movenet_finds_people_in_wide_shot_and_close_ups(example_detections: dict[int, list[Detection]]) -> None:
    wide = example_detections[30]
    assert len(wide) >= 1
    # close-up of the man's upper body (shot 1): head and shoulders confidently found, hips or below cut off
    closeup = max(example_detections[72], key=lambda d: d.score)
    conf = closeup.keypoints[:, 2]
    assert (conf[[0, 5, 6]] > 0.3).all()
    assert closeup.bbox[3] - closeup.bbox[1] > 250  # fills the 360-px frame height
    # keypoints lie inside the image when confident
    for dets in example_detections.values():
        for d in dets:
            ok = d.keypoints[:, 2] > 0
            assert (d.keypoints[ok, 0] >= 0).all() and (d.keypoints[ok, 0] < 640).all()


def test_movenet_rejects_a_corrupt_model(tmp_path: Path) -> None:
    from msmesh.errors import ModelUnavailableError
    from msmesh.people.movenet import ASSET_DIR

    (tmp_path / "movenet.tflite").write_bytes(b"\0" * 100)
    (tmp_path / "SHA256SUMS").write_text((ASSET_DIR / "SHA256SUMS").read_text())
    with pytest.raises(ModelUnavailableError, match="sha256"):
        MoveNet(tmp_path / "movenet.tflite")


def test_tracking_ends_at_cuts_and_reid_links_close_ups(example_detections: dict[int, list[Detection]]) -> None:
    shots = detect_shots(EXAMPLE, probe(EXAMPLE))
    tracklets = track_shots(example_detections, shots)
    for t in tracklets:
        assert all(s.start <= f < s.end for f in t.frames for s in shots if s.id == t.shot)
    descriptors = {t.id: tracklet_descriptor([d.appearance for d in t.detections]) for t in tracklets}
    clusters, links = link_tracklets(tracklets, descriptors)
    assert len(clusters) == 2
    assert all(0 < lk.score <= 1 for lk in links)

    def person_with_shot(shot_id: int) -> list:
        return next(c for c in clusters if any(t.shot == shot_id for t in c))

    man, woman = person_with_shot(1), person_with_shot(3)  # shot 1: man close-up, shot 3: woman close-up
    assert man is not woman
    # in the first wide shot the man stands on the box (left half), the woman enters from the right
    man_x = [np.mean(d.bbox[[0, 2]]) for t in man if t.shot == 0 for d in t.detections]
    woman_x = [np.mean(d.bbox[[0, 2]]) for t in woman if t.shot == 0 for d in t.detections]
    assert man_x and max(man_x) < 320
    assert woman_x and min(woman_x) > 400
    # never two tracklets of one person at the same time
    for cluster in clusters:
        spans = sorted((t.start, t.end) for t in cluster)
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_appearance_similarity_separates_the_two_people(example_detections: dict[int, list[Detection]]) -> None:
    man = max(example_detections[30], key=lambda d: d.score)  # wide shot, only the man
    man_close = max(example_detections[72], key=lambda d: d.score)
    woman_close = max(example_detections[156], key=lambda d: d.score)
    assert similarity(man.appearance, man_close.appearance) > similarity(man_close.appearance, woman_close.appearance)


def test_box_iou() -> None:
    a = np.array([0, 0, 10, 10.0])
    assert box_iou(a, a) == pytest.approx(1.0)
    assert box_iou(a, np.array([5, 0, 15, 10.0])) == pytest.approx(1 / 3)
    assert box_iou(a, np.array([20, 20, 30, 30.0])) == 0.0


def _moving_person(frame: int, x0: float) -> Detection:
    kp = np.zeros((17, 3))
    kp[:, 0] = x0 + frame * 2 + np.linspace(0, 40, 17)
    kp[:, 1] = np.linspace(10, 200, 17)
    kp[:, 2] = 0.9
    return Detection(bbox=np.array([kp[:, 0].min(), 10, kp[:, 0].max(), 200]), keypoints=kp, score=0.9)


def test_tracking_two_walkers_and_a_cut() -> None:
    shots = [Shot(0, 0, 10), Shot(1, 10, 20)]
    dets = {f: [_moving_person(f, 0), _moving_person(f, 300)] for f in range(0, 20, 2)}
    tracklets = track_shots(dets, shots)
    assert len(tracklets) == 4
    assert sorted((t.shot, t.frames[0], len(t.frames)) for t in tracklets) == [(0, 0, 5), (0, 0, 5), (1, 10, 5),
                                                                               (1, 10, 5)]
    for t in tracklets:  # each tracklet stays on one walker
        xs = [d.keypoints[0, 0] - 2 * f for f, d in zip(t.frames, t.detections, strict=True)]
        assert max(xs) - min(xs) < 1e-9


def test_detections_round_trip(tmp_path: Path, example_detections: dict[int, list[Detection]]) -> None:
    save_detections(tmp_path / "d.json", example_detections)
    back = load_detections(tmp_path / "d.json")
    assert sorted(back) == sorted(example_detections)
    d0, e0 = back[30][0], example_detections[30][0]
    np.testing.assert_allclose(d0.keypoints, e0.keypoints, atol=1e-3)
    np.testing.assert_allclose(d0.appearance, e0.appearance, atol=1e-5)


def _openpose_person(x: float) -> list[float]:
    kp = np.zeros((25, 3))
    kp[:, 0] = x + np.arange(25)
    kp[:, 1] = 100 + 5 * np.arange(25)
    kp[:, 2] = 0.8
    return kp.reshape(-1).tolist()


def test_openpose_folder_to_coco17(tmp_path: Path) -> None:
    for frame in (0, 1, 2):
        (tmp_path / f"clip_{frame:012d}_keypoints.json").write_text(json.dumps(
            {"version": 1.3, "people": [{"pose_keypoints_2d": _openpose_person(10 * frame)}]}))
    dets = load_keypoint_detections(tmp_path)
    assert sorted(dets) == [0, 1, 2]
    kp = dets[1][0].keypoints
    assert kp.shape == (17, 3)
    # BODY_25 index 0 (nose) → COCO 0; BODY_25 5 (l_shoulder) → COCO 5; BODY_25 12 (l_hip) → COCO 11
    assert kp[0, 0] == pytest.approx(10 + 0) and kp[5, 0] == pytest.approx(10 + 5)
    assert kp[11, 0] == pytest.approx(10 + 12)


def test_coco_results_json(tmp_path: Path) -> None:
    kp = np.column_stack([np.linspace(10, 50, 17), np.linspace(5, 90, 17), np.full(17, 2)]).reshape(-1)
    entries = [{"image_id": 4, "category_id": 1, "keypoints": kp.tolist(), "score": 0.7},
               {"image_id": 9, "category_id": 1, "keypoints": kp.tolist(), "score": 0.6}]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(entries))
    dets = load_keypoint_detections(path)
    assert sorted(dets) == [4, 9]
    assert dets[4][0].score == pytest.approx(0.7)
    assert set(dets[4][0].keypoints[:, 2]) == {1.0}  # visibility flags become confidences


@pytest.mark.parametrize(("content", "words"), [
    ("{oops", "malformed JSON"),
    ('[{"image_id": 1}]', "lacks"),
    ('[{"image_id": 1, "keypoints": [1, 2, 3]}]', "expected 51"),
    ('[{"image_id": 1, "keypoints": [NaN' + ", 1" * 50 + "]}]", "NaN"),
])
def test_bad_keypoint_files(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(InputError, match=words):
        load_keypoint_detections(path)


def test_movenet_on_a_head_and_shoulders_close_up() -> None:
    """scikit-image's astronaut (a real head-and-shoulders portrait): MoveNet finds one person from the face and
    shoulders alone, with low person confidence — the kind of frame multi-shot fitting exists for. Measured:
    person score 0.27, 6 keypoints > 0.3 (nose, eyes, ears, one shoulder), nothing below the chest."""
    import cv2

    image = cv2.cvtColor(cv2.imread(str(Path(__file__).parent / "data" / "astronaut.png")), cv2.COLOR_BGR2RGB)
    people = MoveNet()(image)
    assert len(people) == 1
    person = people[0]
    assert 0.2 <= person.score < 0.5
    conf = person.keypoints[:, 2]
    assert (conf[:5] > 0.3).sum() >= 4  # face keypoints
    assert (conf[11:] < 0.3).all()  # hips, knees, ankles are out of the frame and not claimed


def test_movenet_finds_people_in_an_enlarged_low_resolution_frame() -> None:
    """The example's wide shots shrunk to 160×90 (a low-resolution source): MoveNet enlarges them bilinearly and
    still finds the people. Measured: 1–2 people in each of frames 10, 30, 50 (scores 0.55–0.59); with the old
    INTER_AREA enlargement (blocky, nearest-neighbour-like) it found nobody in any of them."""
    import cv2

    model = MoveNet(threads=1)
    frames = dict(iter_frames(EXAMPLE, [10, 30, 50]))
    for frame in (10, 30, 50):
        small = cv2.resize(frames[frame], (160, 90), interpolation=cv2.INTER_AREA)
        people = model(small)
        assert len(people) >= 1, frame
        assert max(p.score for p in people) >= 0.4
        assert (people[0].bbox[2:] <= [160, 90]).all()


@pytest.mark.parametrize("shape", [(1, 4000, 3), (4000, 1, 3), (1, 1, 3), (3, 2, 3)])
def test_movenet_handles_degenerate_frame_sizes(shape: tuple[int, int, int]) -> None:
    """A 1×4000 or 4000×1 frame used to raise cv2.error (a zero-sized resize); now it is searched and empty."""
    assert MoveNet(threads=1)(np.full(shape, 128, np.uint8)) == []
