"""The run-folder files: round trips, validation messages that name file and field, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from msmesh import atomic, data
from msmesh.errors import FormatError, InputError, OutputError


def _tracks() -> data.Tracks:
    rng = np.random.default_rng(0)
    video = data.VideoInfo("film.mp4", 25.0, 100, 640, 360, list(range(0, 100, 5)))
    shots = [data.Shot(0, 0, 40), data.Shot(1, 40, 100)]
    frames = np.array([30, 35, 45, 50])
    kp = rng.uniform(0, 300, size=(4, 17, 3))
    kp[..., 2] = rng.uniform(0, 1, size=(4, 17))
    person = data.PersonTrack(id=3, frames=frames, shot=np.array([0, 0, 1, 1]),
                              bbox=np.tile([10.0, 20.0, 110.0, 320.0], (4, 1)), keypoints=kp)
    return data.Tracks(video, shots, [person], camera=data.Camera(700.0, (320.0, 180.0)))


def _fit_result() -> data.FitResult:
    rng = np.random.default_rng(1)
    seq = data.SmplSequence(
        id=3, frames=np.array([30, 35]), shot=np.array([0, 0]),
        global_orient=rng.normal(size=(2, 3)).astype(np.float32),
        body_pose=rng.normal(size=(2, 69)).astype(np.float32), betas=rng.normal(size=10).astype(np.float32),
        transl=rng.normal(size=(2, 3)).astype(np.float32), joints=rng.normal(size=(2, 24, 3)).astype(np.float32))
    return data.FitResult([seq], focal=700.0, center=(320.0, 180.0), body_model="open")


def test_tracks_round_trip(tmp_path: Path) -> None:
    tracks = _tracks()
    data.save_tracks(tmp_path / "tracks.json", tracks)
    back = data.load_tracks(tmp_path / "tracks.json")
    assert back.video == tracks.video
    assert back.shots == tracks.shots
    assert back.camera == tracks.camera
    p, q = back.people[0], tracks.people[0]
    np.testing.assert_array_equal(p.frames, q.frames)
    np.testing.assert_allclose(p.keypoints, q.keypoints, atol=1e-3)
    assert json.loads((tmp_path / "tracks.json").read_text())["format"] == "msmesh/tracks@2"


def test_tracks_v2_landmarks_round_trip_and_v1_still_reads(tmp_path: Path) -> None:
    tracks = _tracks()
    rng = np.random.default_rng(2)
    lm = rng.uniform(0, 300, size=(4, 33, 3))
    lm[..., 2] = rng.uniform(0, 1, size=(4, 33))
    lm[1] = 0.0  # a frame without landmarks
    world = rng.normal(0, 0.3, size=(4, 33, 4))
    world[..., 3] = rng.uniform(0, 1, size=(4, 33))
    tracks.people[0].landmarks, tracks.people[0].world_landmarks = lm, world
    data.save_tracks(tmp_path / "tracks.json", tracks)
    back = data.load_tracks(tmp_path / "tracks.json").people[0]
    assert back.landmarks is not None and back.world_landmarks is not None
    np.testing.assert_allclose(back.landmarks, lm, atol=1e-3)
    np.testing.assert_allclose(back.world_landmarks, world, atol=1e-4)

    obj = json.loads((tmp_path / "tracks.json").read_text())
    obj["people"][0]["world_landmarks"][2][5][3] = 1.5
    (tmp_path / "bad.json").write_text(json.dumps(obj))
    with pytest.raises(FormatError, match=r"people\[0\]\.world_landmarks.*visibility"):
        data.load_tracks(tmp_path / "bad.json")

    obj["format"] = "msmesh/tracks@1"
    for p in obj["people"]:
        del p["landmarks"], p["world_landmarks"]
    (tmp_path / "v1.json").write_text(json.dumps(obj))
    v1 = data.load_tracks(tmp_path / "v1.json").people[0]
    assert v1.landmarks is None and v1.world_landmarks is None
    np.testing.assert_allclose(v1.keypoints, tracks.people[0].keypoints, atol=1e-3)


@pytest.mark.parametrize("fmt", ["npz", "json"])
def test_smpl_round_trip(tmp_path: Path, fmt: str) -> None:
    result = _fit_result()
    path = tmp_path / f"smpl.{fmt}"
    data.save_smpl(path, result, format=fmt)
    back = data.load_smpl(path)
    assert back.focal == pytest.approx(700.0)
    assert back.body_model == "open"
    np.testing.assert_allclose(back.people[0].body_pose, result.people[0].body_pose, atol=1e-6)
    np.testing.assert_allclose(back.people[0].joints, result.people[0].joints, atol=1e-6)


def test_video_and_shots_round_trip(tmp_path: Path) -> None:
    tracks = _tracks()
    data.save_video_json(tmp_path / "video.json", tracks.video)
    data.save_shots_json(tmp_path / "shots.json", tracks.shots)
    assert data.load_video_json(tmp_path / "video.json") == tracks.video
    assert data.load_shots_json(tmp_path / "shots.json") == tracks.shots
    assert data.shot_of_frame(tracks.shots, 40) == 1


def _corrupt(tmp_path: Path, edit) -> Path:
    path = tmp_path / "tracks.json"
    data.save_tracks(path, _tracks())
    obj = json.loads(path.read_text())
    edit(obj)
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (lambda o: o["people"][0].pop("frames"), "people[0].frames", "missing"),
        (lambda o: o["people"][0]["keypoints"][1].pop(), "people[0].keypoints", "shape"),
        (lambda o: o["people"][0]["shot"].__setitem__(0, 7), "people[0].shot", "unknown shot"),
        (lambda o: o["people"][0]["frames"].reverse(), "people[0].frames", "increasing"),
        (lambda o: o["video"].__setitem__("fps", -1), "video.fps", "> 0"),
        (lambda o: o["shots"][1].__setitem__("start", 10), "shots[1].start", "overlaps"),
        (lambda o: o.__setitem__("keypoint_format", "body25"), "keypoint_format", "coco17"),
        (lambda o: o.__setitem__("format", "msmesh/other@1"), "format", "expected"),
    ],
)
def test_tracks_validation_names_field(tmp_path: Path, edit, field: str, words: str) -> None:
    path = _corrupt(tmp_path, edit)
    with pytest.raises(FormatError) as info:
        data.load_tracks(path)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(path) in str(info.value)


def test_nan_keypoints_are_rejected_with_frame(tmp_path: Path) -> None:
    path = tmp_path / "tracks.json"
    data.save_tracks(path, _tracks())
    text = path.read_text()
    obj = json.loads(text)
    obj["people"][0]["keypoints"][2][5][0] = "NaN-marker"
    path.write_text(json.dumps(obj).replace('"NaN-marker"', "NaN"))
    with pytest.raises(FormatError, match="frame 45, keypoint 5"):
        data.load_tracks(path)


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]"])
def test_malformed_json_is_one_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tracks.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        data.load_tracks(path)
    assert "\n" not in info.value.one_line()
    assert "tracks.json" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        data.load_tracks(tmp_path / "nope.json")
    with pytest.raises(InputError, match="not found"):
        data.load_smpl(tmp_path / "nope.npz")


def test_corrupt_npz(tmp_path: Path) -> None:
    path = tmp_path / "smpl.npz"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(InputError, match="not a readable"):
        data.load_smpl(path)


def test_smpl_missing_array_names_field(tmp_path: Path) -> None:
    path = tmp_path / "smpl.npz"
    data.save_smpl(path, _fit_result())
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "p3_transl"}
    np.savez(path, **arrays)
    with pytest.raises(FormatError) as info:
        data.load_smpl(path)
    assert info.value.field == "p3_transl"


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    atomic.atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic.atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_unwritable_output_is_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        atomic.atomic_write_text(blocker / "sub" / "out.json", "x")
