"""`msmesh reconstruct` end to end on the shipped example, resume after a kill, and the bad-input battery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from videos import EXAMPLE, EXAMPLE_CUTS, audio_only, truncated_copy, write_video

from msmesh.data import load_shots_json, load_smpl, load_tracks, load_video_json

FAST = ["--no-video", "--no-glb", "--quiet"]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "msmesh.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run") / "demo"
    proc = _cli("reconstruct", str(EXAMPLE), "--mode", "optimize", "--out", str(run), *FAST)
    assert proc.returncode == 0, proc.stderr
    return run


def test_example_cuts_people_and_joints(example_run: Path) -> None:
    shots = load_shots_json(example_run / "shots.json")
    assert [s.start for s in shots[1:]] == EXAMPLE_CUTS
    tracks = load_tracks(example_run / "tracks.json")
    assert len(tracks.people) == 2
    result = load_smpl(example_run / "smpl.npz")
    assert len(result.people) == 2
    for track in tracks.people:
        seq = result.person(track.id)
        np.testing.assert_array_equal(seq.frames, track.frames)  # joints for every frame the person is seen
        assert seq.joints.shape == (len(track), 24, 3)
        assert np.isfinite(seq.joints).all()
        assert (seq.joints[:, 0, 2] > 0.5).all()  # pelvis in front of the camera
        assert len(set(track.shot.tolist())) >= 3  # each person spans several shots
    # the close-up shots belong to different people
    owners = {shot: [p.id for p in tracks.people if shot in p.shot] for shot in (1, 3)}
    assert len(owners[1]) == 1 and len(owners[3]) == 1 and owners[1] != owners[3]
    # every sampled frame of both close-ups is fitted, to the right person: the man of shot 1 is the one alone
    # on screen in the first second (frames 0-36), the woman of shot 3 is not
    sampled = load_video_json(example_run / "video.json").sampled_frames
    for shot in (1, 3):
        frames = {f for f in sampled if shots[shot].start <= f < shots[shot].end}
        assert frames <= set(result.person(owners[shot][0]).frames.tolist()), shot
    assert {0, 12, 24, 36} & set(tracks.person(owners[1][0]).frames.tolist()) == {0, 12, 24, 36}
    assert not {0, 12, 24, 36} & set(tracks.person(owners[3][0]).frames.tolist())


def test_rerun_skips_finished_stages(example_run: Path) -> None:
    before = (example_run / "smpl.npz").stat().st_mtime_ns
    proc = _cli("reconstruct", str(EXAMPLE), "--out", str(example_run), *FAST[:2])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("resumed") == 5
    assert (example_run / "smpl.npz").stat().st_mtime_ns == before


def test_changed_option_reruns_only_dependent_stages(example_run: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(example_run, run)
    proc = _cli("reconstruct", str(EXAMPLE), "--out", str(run), "--fit-mode", "frame", *FAST[:2])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("resumed") == 4  # decode, shots, detect, track
    frame = load_smpl(run / "smpl.npz")
    multi = load_smpl(example_run / "smpl.npz")
    assert not np.allclose(frame.people[0].body_pose, multi.people[0].body_pose)


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_result(example_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "msmesh.cli", "reconstruct", str(EXAMPLE), "--out", str(run),
                             *FAST], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (run / "tracks.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "smpl.npz").exists() or proc.returncode == 0
    again = _cli("reconstruct", str(EXAMPLE), "--out", str(run), *FAST)
    assert again.returncode == 0, again.stderr
    a, b = load_smpl(run / "smpl.npz"), load_smpl(example_run / "smpl.npz")
    for p, q in zip(a.people, b.people, strict=True):
        np.testing.assert_allclose(p.joints, q.joints, atol=1e-5)
    assert not [f for f in run.iterdir() if f.name.endswith(".tmp")]


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    noise = np.random.default_rng(0).integers(0, 255, size=(10, 96, 128, 3), dtype=np.uint8)
    grey = [np.full((96, 128, 3), 90, np.uint8)] * 12
    text = tmp / "notes.mp4"
    text.write_text("not a video\n")
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    blocker = tmp / "a-file"  # an output folder below a plain file cannot be created, even by root
    blocker.write_text("x")
    return {
        "zero-byte": ([str(empty)], "empty"),
        "truncated": ([str(truncated_copy(EXAMPLE, tmp / "trunc.mp4", 0.02))], "bad"),
        "text": ([str(text)], "not a readable video"),
        "one-frame": ([str(write_video(tmp / "one.mp4", [noise[0]]))], "no people"),
        "audio-only": ([str(audio_only(tmp / "audio.mp4"))], "no video stream"),
        "no-people": ([str(write_video(tmp / "grey.mp4", grey))], "no people"),
        "missing": ([str(tmp / "nope.mp4")], "not found"),
        "unwritable": ([str(EXAMPLE), "--out", str(blocker / "run")], "cannot write"),
        "fps-0": ([str(EXAMPLE), "--fps", "0"], "--fps"),
        "unknown-mode": ([str(EXAMPLE), "--mode", "dream"], "dream"),
        "unknown-flag": ([str(EXAMPLE), "--frobnicate"], "No such option"),
    }


@pytest.mark.parametrize("case", ["zero-byte", "truncated", "text", "one-frame", "audio-only", "no-people",
                                  "missing", "unwritable", "fps-0", "unknown-mode", "unknown-flag"])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(tmp_path: Path, case: str) -> None:
    args, words = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out"
    if "--out" not in args:
        args = [*args, "--out", str(out)]
    proc = _cli("reconstruct", *args, *FAST)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    error_lines = [ln for ln in lines if "error" in ln.lower()]
    assert error_lines, proc.stderr
    if case != "truncated":
        assert words.lower() in proc.stderr.lower(), proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_train_on_a_run_then_regress_and_init_from_it(example_run: Path, tmp_path: Path) -> None:
    """The paper's loop on the example: multi-shot fit → pseudo-GT → train a (tiny) HMR → regress with it."""
    config = tmp_path / "tiny.json"
    config.write_text('{"layers": [1, 1, 1, 1], "width": 8, "image_size": 64, "hidden": 64}')
    weights = tmp_path / "hmr"
    proc = _cli("train", "hmr", "--data", str(example_run), "--out", str(weights), "--config", str(config),
                "--steps", "20", "--batch-size", "8", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (weights / "model.safetensors").exists() and (weights / "config.json").exists()
    run = tmp_path / "regress"
    proc = _cli("regress", str(EXAMPLE), "--weights", str(weights), "--out", str(run), *FAST)
    assert proc.returncode == 0, proc.stderr
    regressed = load_smpl(run / "smpl.npz")
    tracks = load_tracks(run / "tracks.json")
    assert [len(p) for p in regressed.people] == [len(p) for p in tracks.people]
    for seq in regressed.people:
        assert np.isfinite(seq.joints).all() and (seq.joints[:, 0, 2] > 0).all()
    init_run = tmp_path / "init"
    proc = _cli("reconstruct", str(EXAMPLE), "--init", "regress", "--weights", str(weights), "--out",
                str(init_run), *FAST)
    assert proc.returncode == 0, proc.stderr
    assert len(load_smpl(init_run / "smpl.npz").people) == 2


def test_regress_works_out_of_the_box_in_the_same_run_folder(example_run: Path, tmp_path: Path) -> None:
    """Shipped t-HMMR, no --weights, no network: the fitted run's front end is reused, smpl.npz rewritten."""
    import shutil

    run = tmp_path / "regress"
    shutil.copytree(example_run, run)
    env_offline = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty-cache")}
    proc = subprocess.run([sys.executable, "-m", "msmesh.cli", "regress", str(EXAMPLE), "--temporal", "--out",
                           str(run), *FAST[:2]], capture_output=True, text=True, timeout=300, env=env_offline)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("resumed") == 4  # decode, shots, detect, track
    regressed, fitted = load_smpl(run / "smpl.npz"), load_smpl(example_run / "smpl.npz")
    tracks = load_tracks(run / "tracks.json")
    assert [len(p) for p in regressed.people] == [len(p) for p in tracks.people]
    for seq in regressed.people:
        assert np.isfinite(seq.joints).all() and (seq.joints[:, 0, 2] > 0.5).all()
        # the regressed pelvis lands near the fitted one (same people, same camera), closer than 1 m mostly
        ref = fitted.person(seq.id)
        d = np.linalg.norm(seq.joints[:, 0] - ref.joints[:, 0], axis=1)
        assert np.median(d) < 1.0


def test_train_fine_tunes_the_shipped_models_on_a_run(example_run: Path, tmp_path: Path) -> None:
    """The self-training loop: reconstruct run folder (pseudo-GT) → fine-tune HMR and t-HMMR → regress with them."""
    from msmesh.regress import hub

    hmr_out, th_out = tmp_path / "hmr", tmp_path / "thmmr"
    proc = _cli("train", "hmr", "--data", str(example_run), "--out", str(hmr_out), "--steps", "8",
                "--batch-size", "64", "--lr", "1e-3", "--quiet")
    assert proc.returncode == 0, proc.stderr
    proc = _cli("train", "thmmr", "--data", str(example_run), "--init", str(hmr_out), "--out", str(th_out),
                "--steps", "4", "--batch-size", "64", "--quiet")
    assert proc.returncode == 0, proc.stderr
    shipped, tuned = hub.load_regressor(), hub.load_regressor(hmr_out)
    assert tuned.config.input == "keypoints" and tuned.config.extra["fine_tune_steps"] == 8
    assert not np.allclose(tuned.smpl_head.fc1.weight.detach(), shipped.smpl_head.fc1.weight.detach())
    th = hub.load_regressor(th_out, temporal=True)
    for k, v in tuned.backbone.state_dict().items():  # t-HMMR reads the fine-tuned HMR's features
        assert np.array_equal(th.backbone.state_dict()[k].numpy(), v.numpy())
    proc = _cli("fit", str(example_run / "tracks.json"), "--out", str(tmp_path / "fit"), "--iterations", "5",
                "--quiet")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("case", ["corrupt", "shapes"])
def test_bad_weights_are_one_line_exit_2_naming_the_file(tmp_path: Path, case: str) -> None:
    import json
    import shutil

    from msmesh.regress import hub

    weights = tmp_path / "w"
    shutil.copytree(hub.shipped_path(hub.registry()["hmr"]), weights)
    if case == "corrupt":
        data = (weights / "model.safetensors").read_bytes()
        (weights / "model.safetensors").write_bytes(data[:1000])
    else:
        cfg = json.loads((weights / "config.json").read_text())
        cfg["kp_dim"] = 128
        (weights / "config.json").write_text(json.dumps(cfg))
    run = tmp_path / "run"
    proc = _cli("regress", str(EXAMPLE), "--weights", str(weights), "--out", str(run), *FAST)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("msmesh: error:") and "Traceback" not in proc.stderr
    assert str(weights / "model.safetensors") in lines[0]
    assert not run.exists()


@pytest.mark.slow
def test_example_with_exports(example_run: Path, tmp_path: Path) -> None:
    """The README's main job with its default exports: overlay video at full rate, one GLB per person."""
    import shutil

    import av

    run = tmp_path / "exports"
    shutil.copytree(example_run, run)  # fitted stages resume; only the export stage runs
    proc = _cli("reconstruct", str(EXAMPLE), "--mode", "optimize", "--out", str(run), "--quiet")
    assert proc.returncode == 0, proc.stderr
    with av.open(str(run / "overlay.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 230
    assert sorted(p.name for p in run.glob("p*.glb")) == ["p0.glb", "p1.glb"]
    assert (run / "cameras.json").exists()
