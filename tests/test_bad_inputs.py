"""Bad inputs are one line, exit code 2 and leave nothing behind (issue 16, items 9 and 10); `convert` rejects
what `fit` would reject. Every input is built here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from reliability_inputs import STANDING, one_error_line, smpl_sequence, tracks_obj, write_json
from videos import shots_video

from msmesh.cli import main
from msmesh.data import FitResult, VideoInfo, load_tracks, save_smpl, save_video_json
from msmesh.pipeline import Pipeline


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shots_video(tmp_path_factory.mktemp("video") / "clip.mp4")


def _coco_entry(**changes: object) -> dict:
    kp = np.concatenate([STANDING / 10, np.full((17, 1), 0.9)], 1).reshape(-1).tolist()  # fits a 64×48 frame
    return {"image_id": 3, "category_id": 1, "keypoints": kp, "score": 0.9, **changes}


def _kp_strings() -> list[str]:
    return [str(v) for v in _coco_entry()["keypoints"]]


def _negative_confidence() -> list[float]:
    kp = _coco_entry()["keypoints"]
    kp[2] = -0.5
    return kp


BAD_COCO = {  # name → the JSON text of a COCO results file
    "string image_id": json.dumps([_coco_entry(image_id="3")]),
    "fractional image_id": json.dumps([_coco_entry(image_id=2.7)]),
    "negative image_id": json.dumps([_coco_entry(image_id=-4)]),
    "boolean image_id": json.dumps([_coco_entry(image_id=True)]),
    "string keypoints": json.dumps([_coco_entry(keypoints=_kp_strings())]),
    "keypoints a string": json.dumps([_coco_entry(keypoints="1 2 3")]),
    "boolean keypoint": json.dumps([_coco_entry(keypoints=[True] * 51)]),
    "400-digit keypoint": json.dumps([_coco_entry(keypoints=[10**400] + _coco_entry()["keypoints"][1:])]),
    "NaN keypoint": json.dumps([_coco_entry(keypoints=[float("nan")] + _coco_entry()["keypoints"][1:])]),
    "negative confidence": json.dumps([_coco_entry(keypoints=_negative_confidence())]),
    "string score": json.dumps([_coco_entry(score="high")]),
    "negative score": json.dumps([_coco_entry(score=-1)]),
    "entry not an object": json.dumps([[1, 2, 3]]),
    "nested 100k deep": "[" * 100_000 + "]" * 100_000,
    "5000-digit number": "[" + "7" * 5000 + "]",
}


@pytest.mark.parametrize("case", sorted(BAD_COCO))
def test_convert_bad_coco_is_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "results.json"
    src.write_text(BAD_COCO[case])
    out = tmp_path / "tracks.json"
    assert main(["convert", str(src), "--width", "64", "--height", "48", "--out", str(out)]) == 2
    assert one_error_line(capsys.readouterr().err).startswith("msmesh: error:")
    assert not out.exists()


@pytest.mark.parametrize("case", ["string keypoints", "string image_id", "string score", "fractional image_id",
                                  "negative confidence", "nested 100k deep"])
def test_reconstruct_with_bad_keypoints_leaves_no_folder(case: str, video: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "results.json"
    src.write_text(BAD_COCO[case])
    run_dir = tmp_path / "run"
    assert main(["reconstruct", str(video), "--keypoints", str(src), "--out", str(run_dir), "-q"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"msmesh: error: {src}: "), line  # the keypoints file is blamed, not "no people"
    assert not run_dir.exists()


def _openpose(folder: Path, name: str, people: object) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps({"version": 1.3, "people": people}))


def _body25() -> list[float]:
    kp = np.zeros((25, 3))
    kp[[0, 2, 5, 9, 12]] = [[32, 10, 0.9], [29, 15, 0.9], [35, 15, 0.9], [30, 25, 0.9], [34, 25, 0.9]]
    return kp.reshape(-1).tolist()


@pytest.mark.parametrize("case", ["person as a list", "duplicate frame number", "string keypoints",
                                  "negative confidence"])
def test_convert_bad_openpose_is_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "openpose"
    good = {"pose_keypoints_2d": _body25()}
    if case == "person as a list":
        _openpose(folder, "clip_000000000000_keypoints.json", [_body25()])
    elif case == "duplicate frame number":  # two files, one frame: the second would overwrite the first
        _openpose(folder, "clip_000000000005_keypoints.json", [good])
        _openpose(folder, "take2_5_keypoints.json", [good])
    elif case == "string keypoints":
        _openpose(folder, "clip_000000000000_keypoints.json", [{"pose_keypoints_2d": [str(v) for v in _body25()]}])
    else:
        kp = _body25()
        kp[2] = -1.0
        _openpose(folder, "clip_000000000000_keypoints.json", [{"pose_keypoints_2d": kp}])
    out = tmp_path / "tracks.json"
    assert main(["convert", str(folder), "--width", "64", "--height", "48", "--out", str(out)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert case != "duplicate frame number" or "frame 5 is also" in line
    assert not out.exists()


@pytest.mark.parametrize("option", [["--fps", "nan"], ["--fps", "inf"], ["--fps", "0"], ["--fps", "-3"],
                                    ["--width", "1000000"], ["--height", "0"]])
def test_convert_options_fit_would_reject(option: list[str], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    src = write_json(tmp_path / "results.json", [_coco_entry(image_id=i) for i in range(3)])
    out = tmp_path / "tracks.json"
    args = ["convert", str(src), "--width", "64", "--height", "48", "--out", str(out)]
    assert main(args + option) == 2
    assert option[0] in one_error_line(capsys.readouterr().err)
    assert not out.exists()
    assert main(args) == 0  # control: the same file with sane options converts, and fit's loader reads it
    assert load_tracks(out).video.fps == 30.0


@pytest.mark.parametrize("option", [["--start", "nan"], ["--start", "inf"], ["--start", "1e308"], ["--start", "-1"],
                                    ["--end", "nan"], ["--end", "inf"], ["--end", "1e308"], ["--fps", "nan"],
                                    ["--fps", "inf"]])
def test_reconstruct_bad_range_options(option: list[str], video: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    assert main(["reconstruct", str(video), "--out", str(run_dir), "-q", *option]) == 2
    assert option[0] in one_error_line(capsys.readouterr().err)
    assert not run_dir.exists()


def test_deeply_nested_tracks_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tracks = tmp_path / "tracks.json"
    tracks.write_text('{"people": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["fit", str(tracks), "--out", str(tmp_path / "out"), "-q"]) == 2
    assert "nested too deeply" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_unreadable_run_manifest_means_rerun(video: Path, tmp_path: Path) -> None:
    pipe = Pipeline(video, tmp_path)
    for text in ("[" * 100_000 + "]" * 100_000, '["not", "an", "object"]', '{"stages": {"decode": 7}}'):
        (tmp_path / "run.json").write_text(text)
        pipe._load_manifest()
        assert pipe._manifest["stages"] == {}


def _run_with_smpl(tmp_path: Path, **overrides: np.ndarray) -> Path:
    run = tmp_path / "run"
    save_video_json(run / "video.json", VideoInfo("v.mp4", 25.0, 2, 64, 48, [0, 1]))
    save_smpl(run / "smpl.npz", FitResult([smpl_sequence()], 50.0, (32.0, 24.0)))
    with np.load(run / "smpl.npz") as z:
        arrays = {k: z[k] for k in z.files}
    for key, value in overrides.items():
        arrays[key] = value
    if "person_ids" in overrides:
        for key in [k for k in arrays if k.startswith("p0_")]:
            for pid in overrides["person_ids"].tolist():
                arrays[f"p{pid}_{key[3:]}"] = arrays[key]
    np.savez(run / "smpl.npz", **arrays)
    return run


@pytest.mark.parametrize("ids", [np.array(["a"]), np.array(["0"]), np.array([0.5]), np.array([0, 0])])
def test_smpl_npz_with_bad_person_ids(ids: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run_with_smpl(tmp_path, person_ids=ids)
    assert main(["export", str(run), "--json", "-q"]) == 2
    assert "person_ids" in one_error_line(capsys.readouterr().err)
    tracks = write_json(tmp_path / "t.json", tracks_obj())
    assert main(["fit", str(tracks), "--init", str(run / "smpl.npz"), "--out", str(tmp_path / "o"), "-q"]) == 2
    assert "person_ids" in one_error_line(capsys.readouterr().err)
    assert not (run / "smpl.json").exists() and not (tmp_path / "o").exists()


@pytest.mark.parametrize(("key", "value"), [("focal", np.array("wide")), ("center", np.array(["a", "b"])),
                                            ("p0_betas", np.array(["x"] * 10)), ("p0_transl", np.full((2, 3), "z"))])
def test_smpl_npz_with_strings_in_numeric_fields(key: str, value: np.ndarray, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run = _run_with_smpl(tmp_path, **{key: value})
    assert main(["export", str(run), "--json", "-q"]) == 2
    assert key in one_error_line(capsys.readouterr().err)


def test_deeply_nested_batch_report_and_train_config(video: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    out = tmp_path / "batch"
    out.mkdir()
    (out / "batch_report.json").write_text(nested)
    assert main(["batch", str(video), "--out", str(out), "-q"]) == 2
    assert "batch_report.json" in one_error_line(capsys.readouterr().err)
    config = tmp_path / "config.json"
    config.write_text(nested)
    assert main(["train", "hmr", "--data", str(tmp_path), "--out", str(tmp_path / "w"), "--config", str(config)]) == 2
    assert "--config" in one_error_line(capsys.readouterr().err)


def test_tracks_json_with_a_400_digit_keypoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(tracks_obj()).replace("0.9]", "1" + "0" * 400 + "]", 1)
    tracks = tmp_path / "tracks.json"
    tracks.write_text(text)
    assert main(["fit", str(tracks), "--out", str(tmp_path / "out"), "-q"]) == 2
    assert "keypoints" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()
