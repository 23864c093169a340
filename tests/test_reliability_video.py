"""Reliability of the video side (issue 16, items 4–8 and 12), each on an input the test builds.

4 phone video with a −90° display matrix comes out upright; 5 variable frame rate is timed by its timestamps;
6 resume notices deleted/changed exports, stale files of a reused folder and killed runs' temp files;
7 the overlay covers only --start/--end, and --overlay-fps thins it; 8 `msmesh export` works without
video.json; 12 a corrupt GOP is skipped with a warning and a count, FFmpeg's log stays out of the terminal.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from videos import corrupt_frames, gop_video, marker_frame, rotated_video, vfr_video, write_video

from msmesh.cli import main
from msmesh.data import (
    FitResult,
    SmplSequence,
    load_video_json,
    save_smpl,
    save_video_json,
)
from msmesh.errors import InputError, VideoError, VideoWarning
from msmesh.export.glb_skinned import animation_keys
from msmesh.export.run import export_run
from msmesh.options import PipelineOptions
from msmesh.pipeline import Pipeline
from msmesh.render.interp import frame_clock, sampling_step
from msmesh.video.reader import iter_frames, probe, sample_frames
from msmesh.video.shots import detect_shots

# ---------------------------------------------------------------------------------------------- helpers


def _frame_times(path: Path) -> list[float]:
    import av

    with av.open(str(path)) as container:
        return [float(f.time) for f in container.decode(container.streams.video[0])]


def _person(frames: list[int], shot: int = 0) -> SmplSequence:
    t = len(frames)
    transl = np.tile([0.0, 0.3, 3.0], (t, 1)).astype(np.float32)
    transl[:, 0] = np.linspace(-0.3, 0.3, t)
    return SmplSequence(id=0, frames=np.asarray(frames), shot=np.full(t, shot), body_pose=np.zeros((t, 69), np.float32),
                        global_orient=np.tile([np.pi, 0.0, 0.0], (t, 1)).astype(np.float32),
                        betas=np.zeros(10, np.float32), transl=transl, joints=np.zeros((t, 24, 3), np.float32))


def _bright_corner(img: np.ndarray) -> str:
    """Which corner of a ``marker_frame`` holds the bright block."""
    h, w = img.shape[:2]
    corners = {"top-left": img[: h // 8, : w // 8], "top-right": img[: h // 8, -w // 8:],
               "bottom-left": img[-h // 8:, : w // 8], "bottom-right": img[-h // 8:, -w // 8:]}
    return max(corners, key=lambda k: float(corners[k].mean()))


# ---------------------------------------------------------------------------------------------- 4 rotation


def test_display_matrix_is_honoured(tmp_path: Path) -> None:
    upright = [marker_frame(96, 64, i) for i in range(6)]  # portrait: 96 tall, 64 wide, block top-left
    video = rotated_video(tmp_path / "phone.mp4", upright, rotation=-90)
    stored = _stored_size(video)
    assert stored == (96, 64)  # stored landscape (width, height): the decoder must turn it
    info = probe(video)
    assert (info.width, info.height, info.rotation) == (64, 96, 270)
    frames = dict(iter_frames(video))
    assert all(img.shape == (96, 64, 3) for img in frames.values())
    assert {_bright_corner(img) for img in frames.values()} == {"top-left"}
    run = tmp_path / "run"
    Pipeline(video, run, PipelineOptions()).run(only={"decode"})
    saved = load_video_json(run / "video.json")
    assert (saved.width, saved.height, saved.rotation) == (64, 96, 270)


def _stored_size(path: Path) -> tuple[int, int]:
    import av

    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        return ctx.width, ctx.height


def test_overlay_of_a_rotated_video_is_upright(tmp_path: Path) -> None:
    upright = [marker_frame(96, 64, i) for i in range(4)]
    video = rotated_video(tmp_path / "phone.mp4", upright, rotation=-90)
    run = tmp_path / "run"
    info = probe(video)
    info.sampled_frames = [0, 2]
    save_video_json(run / "video.json", info)
    save_smpl(run / "smpl.npz", FitResult([], 60.0, (32.0, 48.0), "open"))
    assert export_run(run, video=True)["overlay_frames"] == 4
    frames = dict(iter_frames(run / "overlay.mp4"))
    assert frames[0].shape == (96, 64, 3) and _bright_corner(frames[0]) == "top-left"


# ---------------------------------------------------------------------------------------------- 5 VFR


VFR_TIMES = [i / 30 for i in range(20)] + [19 / 30 + 0.3 * k for k in range(1, 21)]  # 6.63 s, 40 frames


def _vfr(tmp_path: Path, cut: int | None = None) -> Path:
    rng = np.random.default_rng(0)
    images = [(rng.random((48, 64, 3)) * 255).astype(np.uint8) for _ in range(2)]
    frames = [images[0] if cut is None or i < cut else images[1] for i in range(len(VFR_TIMES))]
    return vfr_video(tmp_path / "vfr.mkv", frames, VFR_TIMES)


def test_variable_frame_rate_is_timed_by_timestamps(tmp_path: Path) -> None:
    video = _vfr(tmp_path)
    info = probe(video)
    assert info.frame_count == 40 and info.timestamps is not None
    np.testing.assert_allclose(info.timestamps, VFR_TIMES, atol=1.5e-3)
    assert info.fps == pytest.approx(39 / VFR_TIMES[-1], rel=1e-3)  # the mean rate, not the header's 30
    frames = sample_frames(info, fps=5.0, start=4.0)  # 4 s is inside the 6.6 s video
    times = np.asarray(info.timestamps)[frames]
    assert times[0] >= 4.0 - 1e-6 and times[0] < 4.3
    assert np.all(np.diff(times) >= 0.2 - 1e-6)  # evenly in time: never two picks closer than 1/5 s
    dense = sample_frames(info, fps=5.0, end=0.65)  # the 30 fps part: every 6th frame
    assert dense == [0, 6, 12, 18]
    with pytest.raises(InputError, match=r"past the end of the video \(6\.\d\d s\)"):
        sample_frames(info, fps=5.0, start=7.0)
    run = tmp_path / "run"
    Pipeline(video, run, PipelineOptions(start=4.0)).run(only={"decode"})
    saved = load_video_json(run / "video.json")
    assert saved.sampled_frames == frames and saved.timestamps == pytest.approx(info.timestamps)
    assert json.loads((run / "video.json").read_text())["format"] == "msmesh/video@2"


def test_old_video_json_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "video.json"
    path.write_text(json.dumps({"format": "msmesh/video@1", "source": "a.mp4", "fps": 25.0, "frame_count": 10,
                                "width": 64, "height": 48, "sampled_frames": [0, 5]}))
    info = load_video_json(path)
    assert info.timestamps is None and info.frame_range() == (0, 10) and info.rotation == 0
    np.testing.assert_allclose(info.frame_times([0, 5, 12]), [0.0, 0.2, 0.48])


def test_vfr_shot_cut_and_glb_timing(tmp_path: Path) -> None:
    video = _vfr(tmp_path, cut=30)  # the cut lies in the slow part, where frame numbers and times disagree most
    info = probe(video)
    assert [s.start for s in detect_shots(video, info, "content")] == [0, 30]
    step = sampling_step(frame_clock(info.fps, info.timestamps)(sample_frames(info, 5.0)))  # µs: 0.3 s
    person = _person([0, 6, 12, 30, 31])
    person.shot = np.array([0, 0, 0, 1, 1])
    keys = animation_keys(person, info.fps, detect_shots(video, info, "content"), step, timestamps=info.timestamps)
    for frame in (0, 6, 12, 30, 31):  # each fitted frame's key at that frame's own time
        assert np.min(np.abs(keys["times"] - info.timestamps[frame])) < 1e-6
    assert np.all(np.diff(keys["times"]) > 0)
    # 0, 6, 12 are 0.2 s apart: interpolated (no hold keys between them); the cut at 30 is a step
    assert np.sum(keys["times"] < info.timestamps[12] + 1e-6) == 3
    assert len(keys["times"]) == 6  # + a hold key a quarter frame before the cut (the first frame after it)
    # visible from 0 through the frames less than a step (0.3 s) after 12 (13-19), hidden from frame 20 (0.93 s)
    # until the cut, visible from 30
    vis_on = keys["scale_times"][keys["scale"] == 1]
    vis_off = keys["scale_times"][keys["scale"] == 0]
    assert vis_on[0] == pytest.approx(0.0) and vis_on[1] == pytest.approx(info.timestamps[30])
    assert vis_off[0] == pytest.approx(info.timestamps[20])


def test_vfr_overlay_keeps_timestamps_and_interpolates_in_time(tmp_path: Path) -> None:
    video = vfr_video(tmp_path / "grey.mkv", [np.full((48, 64, 3), 120, np.uint8)] * len(VFR_TIMES), VFR_TIMES)
    run = tmp_path / "run"
    info = probe(video)
    info.sampled_frames = sample_frames(info, 5.0)  # 0, 6, 12, 18 then every (0.3 s) frame
    save_video_json(run / "video.json", info)
    save_smpl(run / "smpl.npz", FitResult([_person([0, 6, 12])], 60.0, (32.0, 24.0), "open"))
    assert export_run(run, video=True)["overlay_frames"] == 40
    np.testing.assert_allclose(_frame_times(run / "overlay.mp4"), VFR_TIMES, atol=2e-3)
    drawn = {i: int((np.abs(img.astype(int) - 120).sum(axis=2) > 30).sum())
             for i, img in iter_frames(run / "overlay.mp4")}
    # 0.2 s between fitted frames is one sampling interval: interpolated, although most sampled frames
    # (the slow part) are one frame apart
    assert all(drawn[f] > 50 for f in range(0, 13)), drawn
    assert all(drawn[f] < 5 for f in range(20, 40)), drawn  # long after the last fitted frame: nothing


# ---------------------------------------------------------------------------------------------- 7 overlay range


def test_overlay_covers_only_the_range_and_overlay_fps(tmp_path: Path) -> None:
    n, fps = 30, 10
    video = write_video(tmp_path / "v.mp4", [np.full((48, 64, 3), 100, np.uint8)] * n, fps=fps)
    run = tmp_path / "run"
    Pipeline(video, run, PipelineOptions(start=1.0, end=2.0)).run(only={"decode"})
    info = load_video_json(run / "video.json")
    assert info.frame_range() == (10, 20)
    save_smpl(run / "smpl.npz", FitResult([_person([10, 15])], 60.0, (32.0, 24.0), "open"))
    assert export_run(run, video=True)["overlay_frames"] == 10
    assert probe(run / "overlay.mp4").frame_count == 10
    assert export_run(run, video=True, overlay_fps=2.5)["overlay_frames"] == 3  # 10, 14, 18
    thin = probe(run / "overlay.mp4")
    assert thin.frame_count == 3 and thin.fps == pytest.approx(2.5)
    assert main(["export", str(run), "--video", "--overlay-fps", "5", "-q"]) == 0
    assert probe(run / "overlay.mp4").frame_count == 5  # 10, 12, 14, 16, 18
    assert main(["export", str(run), "--video", "--overlay-fps", "nan", "-q"]) == 2
    with pytest.raises(InputError, match="--overlay-fps"):
        PipelineOptions(overlay_fps=0.0).validate()


# ---------------------------------------------------------------------------------------------- 8 export w/o video


def test_export_of_a_fit_folder_without_video_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "fitted"
    save_smpl(folder / "smpl.npz", FitResult([_person([0, 5, 10])], 60.0, (32.0, 24.0), "open"))
    assert main(["export", str(folder), "--glb", "--obj", "--json", "-q"]) == 0
    assert (folder / "p0.glb").is_file() and (folder / "smpl.json").is_file()
    assert len(list((folder / "meshes").glob("p0_f*.obj"))) == 3
    capsys.readouterr()
    assert main(["export", str(folder), "--video", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("msmesh: error:") and "\n" not in err and "video.json" in err
    assert not (folder / "overlay.mp4").exists()


# ---------------------------------------------------------------------------------------------- 12 corrupt GOP


def test_corrupt_gop_is_skipped_and_counted(tmp_path: Path) -> None:
    good = gop_video(tmp_path / "good.mp4", n=60, gop=10)
    bad = corrupt_frames(good, tmp_path / "bad.mp4", 20, 30)
    with pytest.warns(VideoWarning, match="skipped"):
        info = probe(bad)
    assert 40 <= info.frame_count < 60 and info.skipped_frames > 0
    assert len(list(iter_frames(bad))) == info.frame_count
    run = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VideoWarning)
        Pipeline(bad, run, PipelineOptions()).run(only={"decode"})
    saved = load_video_json(run / "video.json")
    assert saved.skipped_frames == info.skipped_frames and saved.timestamps is not None  # the gap is in the times
    dead = corrupt_frames(good, tmp_path / "dead.mp4", 0, 60)
    with pytest.raises(VideoError, match="no decodable video frames"):
        probe(dead)


def test_corrupt_gop_cli_prints_one_warning_and_no_ffmpeg_log(tmp_path: Path) -> None:
    good = gop_video(tmp_path / "good.mp4", n=60, gop=10)
    bad = corrupt_frames(good, tmp_path / "bad.mp4", 20, 30)
    kp = tmp_path / "kp.json"
    points = np.c_[np.linspace(30, 90, 17), np.linspace(10, 80, 17), np.full(17, 0.9)]
    kp.write_text(json.dumps([{"image_id": f, "category_id": 1, "keypoints": points.ravel().tolist()}
                              for f in (0, 40)]))
    proc = subprocess.run([sys.executable, "-m", "msmesh.cli", "convert", str(kp), "--video", str(bad), "--out",
                           str(tmp_path / "tracks.json")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("msmesh: warning:") and "skipped" in lines[0], proc.stderr


# ---------------------------------------------------------------------------------------------- 6 resume


W, H, N = 128, 96, 30
_STANDING = np.array([[0, -36], [2, -38], [-2, -38], [4, -37], [-4, -37], [9, -28], [-9, -28], [11, -16],
                      [-11, -16], [12, -5], [-12, -5], [6, -4], [-6, -4], [6, 12], [-6, 12], [6, 28], [-6, 28]], float)


def _keypoints_file(path: Path, frames: range) -> Path:
    entries = []
    for f in frames:
        kp = _STANDING + [W / 2 + f * 0.5, H / 2 + 8]
        entries.append({"image_id": f, "category_id": 1, "score": 0.9,
                        "keypoints": np.c_[kp, np.full(17, 0.9)].ravel().round(2).tolist()})
    path.write_text(json.dumps(entries))
    return path


def _options(folder: Path, **kw: object) -> PipelineOptions:
    # the heuristic init: no regressor to load, these tests are about resume, not fit quality
    return PipelineOptions(keypoints=str(folder / "kp.json"), fps=2.0, init="heuristic", **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished run (overlay + GLB) of a small video with one person's keypoints given as a file."""
    folder = tmp_path_factory.mktemp("resume")
    video = write_video(folder / "v.mp4", [np.full((H, W, 3), 100 + i, np.uint8) for i in range(N)], fps=10)
    _keypoints_file(folder / "kp.json", range(N))
    Pipeline(video, folder / "run", _options(folder)).run()
    return folder, video


def _copy(finished_run: tuple[Path, Path], tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(finished_run[0] / "run", run)
    return run


def _rerun(finished_run: tuple[Path, Path], run: Path, source: Path | None = None, **kw: object) -> dict[str, bool]:
    summary = Pipeline(source or finished_run[1], run, _options(finished_run[0], **kw)).run()
    return {r.name: r.resumed for r in summary.stages}


@pytest.mark.parametrize("name", ["overlay.mp4", "p0.glb"])
def test_deleted_export_is_rebuilt(finished_run: tuple[Path, Path], tmp_path: Path, name: str) -> None:
    run = _copy(finished_run, tmp_path)
    before = (run / name).read_bytes()
    (run / name).unlink()
    resumed = _rerun(finished_run, run)
    assert resumed["fit"] and not resumed["export"]
    assert (run / name).read_bytes() == before  # rebuilt, byte-identical


def test_changed_data_file_is_rebuilt_not_resumed(finished_run: tuple[Path, Path], tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path)
    good = (run / "video.json").read_bytes()
    (run / "video.json").write_text('{"format": "msmesh/video@2", "broken": ')
    resumed = _rerun(finished_run, run)
    assert not resumed["decode"] and resumed["fit"]
    assert (run / "video.json").read_bytes() == good


def test_reused_folder_keeps_nothing_of_the_old_video(finished_run: tuple[Path, Path], tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path)
    shutil.copy(run / "p0.glb", run / "p1.glb")  # as if the old video had a second person
    other = write_video(tmp_path / "other.mp4", [np.full((H, W, 3), 60 + i, np.uint8) for i in range(N)], fps=10)
    resumed = _rerun(finished_run, run, source=other, video=False)
    assert not any(resumed.values())
    assert not (run / "overlay.mp4").exists() and not (run / "p1.glb").exists()
    assert (run / "p0.glb").is_file() and load_video_json(run / "video.json").source == str(other)


def test_reused_folder_whose_new_run_fails_drops_old_results(finished_run: tuple[Path, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(finished_run, tmp_path)
    other = write_video(tmp_path / "other.mp4", [np.full((H, W, 3), 60, np.uint8)] * N, fps=10)
    empty = tmp_path / "none.json"
    empty.write_text("[]")
    assert main(["reconstruct", str(other), "--out", str(run), "--keypoints", str(empty), "-q"]) == 2
    assert "no people" in capsys.readouterr().err
    left = {p.name for p in run.iterdir()}  # the new video's video.json and shots.json, nothing of the old one
    assert not left & {"overlay.mp4", "p0.glb", "smpl.npz", "tracks.json", "reid.json", "cameras.json"}
    assert load_video_json(run / "video.json").source == str(other)


def test_killed_export_leaves_no_temp_file_after_resume(finished_run: tuple[Path, Path], tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path)
    (run / "overlay.mp4").unlink()
    for target in (run / "overlay.mp4", run / "meshes" / "p0_f000000.obj"):  # a writer killed mid-file
        code = ("import os, sys; from msmesh.atomic import atomic_output; "
                "tmp = atomic_output(sys.argv[1]).__enter__(); tmp.write_bytes(b'x' * 1000); os._exit(9)")
        proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True)
        assert proc.returncode == 9, proc.stderr
    temps = [p for p in run.rglob(".*tmp*")]
    assert len(temps) == 2
    _rerun(finished_run, run)
    assert not [p for p in run.rglob(".*tmp*")] and (run / "overlay.mp4").is_file()
