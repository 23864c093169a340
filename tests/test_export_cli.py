"""`msmesh export`: user mistakes are one line and exit code 2; a run folder exports its files."""

from __future__ import annotations

import json

import numpy as np

from msmesh.cli import main
from msmesh.data import (
    FitResult,
    Shot,
    SmplSequence,
    VideoInfo,
    load_smpl,
    save_shots_json,
    save_smpl,
    save_video_json,
)


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("msmesh: error:") and "\n" not in err
    return err


def test_missing_and_malformed_run_folders(tmp_path, capsys) -> None:
    assert "not found" in _error(capsys, ["export", str(tmp_path / "nope"), "--glb"])
    (tmp_path / "file.txt").write_text("x")
    assert "not a folder" in _error(capsys, ["export", str(tmp_path / "file.txt")])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no smpl.npz" in _error(capsys, ["export", str(empty), "--glb"])  # video.json is optional
    save_video_json(empty / "video.json", VideoInfo("gone.mp4", 25.0, 10, 64, 48, [0, 5]))
    assert "smpl" in _error(capsys, ["export", str(empty), "--glb"])
    (empty / "smpl.npz").write_bytes(b"not an npz")
    assert "smpl.npz" in _error(capsys, ["export", str(empty), "--glb"])


def _run(tmp_path):
    run = tmp_path / "run"
    save_video_json(run / "video.json", VideoInfo("gone.mp4", 25.0, 20, 64, 48, [0, 5, 10, 15]))
    save_shots_json(run / "shots.json", [Shot(0, 0, 10), Shot(1, 10, 20)])
    frames = np.array([5, 10])
    joints = np.zeros((2, 24, 3), np.float32)
    joints[:, 0] = [[0, 0, 3], [0.5, 0, 3]]
    p = SmplSequence(0, frames, np.array([0, 1]), np.tile([np.pi, 0, 0], (2, 1)).astype(np.float32),
                     np.zeros((2, 69), np.float32), np.zeros(10, np.float32), joints[:, 0].copy(), joints)
    save_smpl(run / "smpl.npz", FitResult([p], 60.0, (32.0, 24.0), "open"))
    return run


def test_export_cli_writes_files_and_reports_missing_video(tmp_path, capsys) -> None:
    run = _run(tmp_path)
    assert main(["export", str(run), "--glb", "--json", "--obj", "-q"]) == 0
    assert (run / "p0.glb").is_file() and (run / "smpl.json").is_file()
    assert (run / "meshes" / "p0_f000010.obj").is_file()
    cams = json.loads((run / "cameras.json").read_text())
    assert cams["cuts"][0]["people"] == [0] and np.allclose(cams["cuts"][0]["t"], [0.5, 0, 0], atol=1e-5)
    capsys.readouterr()
    assert "source video not found" in _error(capsys, ["export", str(run), "--video", "-q"])
    fit = load_smpl(run / "smpl.npz")
    fit.body_model = "smpl"
    save_smpl(run / "smpl.npz", fit)
    err = _error(capsys, ["export", str(run), "--glb", "--body-model", "open", "-q"])
    assert "fitted with the 'smpl' body model" in err
