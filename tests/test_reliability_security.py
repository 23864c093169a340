"""Security and reliability (issue 16, items 1, 2, 3, 11): no code runs from data files, one writer per run
folder, nothing non-finite is saved, Ctrl-C says how to resume. Every input is built here."""

from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from reliability_inputs import (
    cli_env,
    gadget,
    npz_with_object_pickle,
    numpy_load_chain,
    one_error_line,
    run,
    smpl_sequence,
    start,
    touch_gadget,
    tracks_obj,
    wait_reading,
    write_json,
)
from videos import shots_video

from msmesh.body.smpl_file import load_smpl_pickle
from msmesh.cli import main
from msmesh.data import (
    MAX_CONFIDENCE,
    MAX_FPS,
    MAX_IMAGE_SIDE,
    MAX_PIXEL_VALUE,
    FitResult,
    VideoInfo,
    load_smpl,
    save_smpl,
    save_video_json,
)
from msmesh.errors import FormatError, InputError, ResultError
from msmesh.eval import h36m, threedpw
from msmesh.fit.prior import load_gmm
from msmesh.runlock import LOCK_NAME, run_lock
from msmesh.safe_pickle import UnsafePickleError, safe_load

needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir() or sys.platform == "win32",
                                reason="needs Linux /proc and POSIX signals")


# ------------------------------------------------------------------------------------ 1: pickles are data

HOSTILE_GLOBALS = [  # names a pickle may use to run code; the old whitelist admitted all of numpy
    ("numpy", "load"), ("numpy", "save"), ("numpy", "fromfile"), ("numpy", "vectorize"), ("numpy.lib.npyio", "load"),
    ("numpy.testing", "assert_"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"),
    ("builtins", "getattr"), ("builtins", "__import__"), ("subprocess", "Popen"), ("copyreg", "_reconstructor"),
    ("scipy.sparse", "load_npz"), ("torch", "load"),
]


@pytest.fixture()
def marker(tmp_path: Path) -> Path:
    return tmp_path / "PWNED"


def test_payload_is_live_under_plain_pickle(tmp_path: Path, marker: Path) -> None:
    """Control: the hostile pickles really do run code when loaded the unsafe way."""
    pickle.loads(numpy_load_chain(tmp_path, marker))
    assert marker.exists()


@pytest.mark.parametrize(("module", "name"), HOSTILE_GLOBALS)
def test_safe_load_refuses_every_callable(module: str, name: str, tmp_path: Path, marker: Path) -> None:
    if (module, name) == ("numpy", "load"):
        payload = numpy_load_chain(tmp_path, marker)
    elif (module, name) == ("copyreg", "_reconstructor"):  # admitted, but it only builds the data stand-ins
        payload = b"ccopyreg\n_reconstructor\n(c__builtin__\nfrozenset\nc__builtin__\nobject\nNtR."
    else:
        payload = gadget(module, name, f"touch {marker}")
    with pytest.raises(UnsafePickleError):
        safe_load(io.BytesIO(payload))
    assert not marker.exists()


def test_smpl_pickle_numpy_load_chain_is_refused(tmp_path: Path, marker: Path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(numpy_load_chain(tmp_path, marker))
    with pytest.raises(FormatError, match="refusing to load numpy.load"):
        load_smpl_pickle(evil)
    assert not marker.exists()


def test_fit_with_hostile_body_model_or_prior_is_one_line(tmp_path: Path, marker: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    tracks = write_json(tmp_path / "t.json", tracks_obj())
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(numpy_load_chain(tmp_path, marker))
    for option in ("--body-model", "--pose-prior"):
        out = tmp_path / f"out{option}"
        assert main(["fit", str(tracks), "--out", str(out), option, str(evil), "--iterations", "2", "-q"]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith("msmesh: error:") and "refusing to load numpy.load" in line
        assert not marker.exists() and not out.exists()


def test_gmm_prior_pickle_whitelist(tmp_path: Path, marker: Path) -> None:
    evil = tmp_path / "gmm_08.pkl"
    evil.write_bytes(touch_gadget(marker))
    with pytest.raises(InputError, match="refusing"):
        load_gmm(evil)
    assert not marker.exists()
    # SMPLify's layout (a dict of arrays, Python-2 protocol) still loads
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 69, 69))
    good = tmp_path / "ok.pkl"
    good.write_bytes(pickle.dumps({"weights": np.array([0.4, 0.6]), "means": rng.normal(size=(2, 69)) * 0.1,
                                   "covars": a @ a.transpose(0, 2, 1) + np.eye(69)}, protocol=2))
    assert load_gmm(good).means.shape == (2, 69)


def test_3dpw_and_h36m_loaders_never_unpickle_code(tmp_path: Path, marker: Path) -> None:
    seq = tmp_path / "sequenceFiles" / "test"
    seq.mkdir(parents=True)
    (seq / "evil_00.pkl").write_bytes(numpy_load_chain(tmp_path, marker))
    with pytest.raises(InputError, match="refusing"):
        threedpw.load_sequence(seq / "evil_00.pkl")
    root = tmp_path / "h36m"
    root.mkdir()
    npz_with_object_pickle(root / h36m.FILE_3D, "positions_3d", touch_gadget(marker))
    with pytest.raises(InputError, match="refusing"):
        h36m.load_h36m(root)
    assert not marker.exists()


def test_h36m_object_npz_of_plain_data_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, positions_3d=np.array({"S1": {"Walk": np.ones((3, 32, 3), np.float32)}}, dtype=object))
    from msmesh.safe_pickle import safe_npz_item

    d = safe_npz_item(path, "positions_3d").item()
    assert d["S1"]["Walk"].shape == (3, 32, 3)


def test_run_folder_cannot_name_a_model_file(tmp_path: Path, marker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """smpl.npz's body_model is a name (open/smpl), never a path that export would load."""
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(numpy_load_chain(tmp_path, marker))
    run_dir = tmp_path / "shared_run"
    save_video_json(run_dir / "video.json", VideoInfo("v.mp4", 25.0, 2, 64, 48, [0, 1]))
    save_smpl(run_dir / "smpl.npz", FitResult([smpl_sequence()], 50.0, (32.0, 24.0), body_model=str(evil)))
    assert main(["export", str(run_dir), "--glb", "-q"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "body_model" in line and "expected one of open, smpl" in line
    assert not marker.exists() and not (run_dir / "p0.glb").exists()


def test_sparse_matrix_with_out_of_range_indices_is_a_format_error(tmp_path: Path) -> None:
    """J_regressor's stand-in is expanded with checked indices (scipy's C code would write out of bounds)."""
    from msmesh.safe_pickle import _Csc

    bad = _Csc()
    bad.__setstate__({"_shape": (2, 2), "data": np.ones(1), "indices": np.array([7]), "indptr": np.array([0, 1, 1])})
    with pytest.raises(ValueError, match="out of range"):
        bad.toarray()


# ------------------------------------------------------------------------------------ 2: one writer


def test_run_lock_is_reentrant_and_released(tmp_path: Path) -> None:
    with run_lock(tmp_path), run_lock(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text().startswith(f"msmesh pid {os.getpid()} on ")
    assert not (tmp_path / LOCK_NAME).exists()


@pytest.mark.skipif(sys.platform == "win32", reason="fcntl")
def test_filesystem_without_locks_warns_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    import msmesh.runlock as runlock

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(runlock.fcntl, "flock", no_locks)
    with run_lock(tmp_path):
        pass
    assert "cannot lock the run folder" in one_error_line(capsys.readouterr().err)


HOLD_LOCK = "import sys, time; from msmesh.runlock import run_lock\nwith run_lock(sys.argv[1]):\n" \
            "    print('locked', flush=True); time.sleep(120)"


@needs_proc
def test_second_writer_gets_one_line_and_a_killed_owner_leaves_no_stale_lock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Another process holds the folder: fit, export and reconstruct here each fail with one line and write
    nothing; after the owner is SIGKILLed (no cleanup runs) the folder is free again."""
    tracks = write_json(tmp_path / "t.json", tracks_obj())
    video = shots_video(tmp_path / "clip.mp4")
    run_dir = tmp_path / "run"
    save_video_json(run_dir / "video.json", VideoInfo("v.mp4", 25.0, 3, 640, 480, [0, 1, 2]))
    owner = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)], stdout=subprocess.PIPE, text=True,
                             env=cli_env())
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "locked"
        for args in (["fit", str(tracks), "--out", str(run_dir), "--iterations", "2", "-q"],
                     ["export", str(run_dir), "--json", "-q"],
                     ["reconstruct", str(video), "--out", str(run_dir), "-q"]):
            assert main(args) == 2
            line = one_error_line(capsys.readouterr().err)
            assert f"run folder is in use by msmesh pid {owner.pid} on " in line, line
        assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_NAME, "video.json"]  # busy writers wrote nothing
    finally:
        owner.kill()  # SIGKILL: no cleanup runs, the lock file stays behind
        owner.wait()
    assert (run_dir / LOCK_NAME).exists()
    assert main(["fit", str(tracks), "--out", str(run_dir), "--iterations", "2", "-q"]) == 0
    assert load_smpl(run_dir / "smpl.npz").people and not (run_dir / LOCK_NAME).exists()


@pytest.mark.slow
@needs_proc
def test_two_reconstructs_into_one_folder(tmp_path: Path) -> None:
    """Two real `reconstruct` processes: the second into a busy folder fails at once and leaves the first run's
    files alone; Ctrl-C on the first prints the resume hint and keeps its finished stages."""
    video_a = shots_video(tmp_path / "a.mp4")
    video_b = shots_video(tmp_path / "b.mp4", lengths=(10, 10))
    fifo = tmp_path / "kp.json"
    os.mkfifo(fifo)
    hold = os.open(fifo, os.O_RDWR)  # keeps the FIFO open so the reader blocks in read(), not open()
    run_dir = tmp_path / "run"
    first = start(["reconstruct", str(video_a), "--keypoints", str(fifo), "--out", str(run_dir), "-q"])
    try:
        wait_reading(first, fifo)  # in the detect stage, holding the lock
        second = run(["reconstruct", str(video_b), "--out", str(run_dir), "-q"])
        assert second.returncode == 2
        assert "run folder is in use by msmesh pid" in one_error_line(second.stderr)
        from msmesh.data import load_video_json

        assert load_video_json(run_dir / "video.json").frame_count == 60  # still video_a's
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
        os.close(hold)
    assert first.returncode == 130
    assert one_error_line(err) == "msmesh: interrupted; rerun the same command to resume"
    assert (run_dir / "video.json").exists() and (run_dir / "shots.json").exists()  # resumable
    assert not (run_dir / LOCK_NAME).exists()


# ------------------------------------------------------------------------------------ 3: nothing non-finite


@pytest.mark.parametrize("where", ["keypoint", "confidence", "bbox", "width", "fps", "focal", "frame"])
def test_fit_rejects_absurd_magnitudes(where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obj = tracks_obj()
    person = obj["people"][0]
    if where == "keypoint":
        person["keypoints"][1][5][0] = 1e300
    elif where == "confidence":
        person["keypoints"][0][3][2] = 9e5
    elif where == "bbox":
        person["bbox"][2][3] = -1e300
    elif where == "width":
        obj["video"]["width"] = 10**300
    elif where == "fps":
        obj["video"]["fps"] = 1e300
    elif where == "focal":
        obj["camera"] = {"focal": 1e300, "center": [320, 240]}
    else:
        person["frames"][2] = 10**30
    out = tmp_path / "out"
    assert main(["fit", str(write_json(tmp_path / "t.json", obj)), "--out", str(out), "-q"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "out of range" in line or "must be in" in line, line
    assert not out.exists()


def test_fit_at_the_input_limits_never_writes_non_finite(tmp_path: Path) -> None:
    """Inputs at the largest accepted magnitudes (coordinates ~1e6 px, confidence 1000, 100k-px image, fps 1e4) fit
    to a finite result (9e5 confidences made the fit diverge before the range check)."""
    obj = tracks_obj(scale=2500.0)
    obj["video"]["width"] = obj["video"]["height"] = MAX_IMAGE_SIDE
    obj["video"]["fps"] = MAX_FPS
    for frame in obj["people"][0]["keypoints"]:
        for kp in frame:
            kp[2] = MAX_CONFIDENCE
    assert np.abs(np.array(obj["people"][0]["keypoints"])[..., :2]).max() > 0.9 * MAX_PIXEL_VALUE
    out = tmp_path / "out"
    assert main(["fit", str(write_json(tmp_path / "t.json", obj)), "--out", str(out), "--iterations", "3",
                 "-q"]) == 0
    result = load_smpl(out / "smpl.npz")  # msmesh's own loader accepts what fit wrote
    assert all(np.isfinite(p.joints).all() and np.isfinite(p.transl).all() for p in result.people)


@pytest.mark.parametrize("value", [np.nan, np.inf, 1e39])  # 1e39 overflows float32, smpl.npz's dtype
@pytest.mark.parametrize("fmt", ["npz", "json"])
def test_save_smpl_refuses_non_finite(value: float, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"smpl.{fmt}"
    with pytest.raises(ResultError, match="person 0's global_orient"):
        save_smpl(path, FitResult([smpl_sequence(value=value)], 50.0, (32.0, 24.0)), format=fmt)
    assert list(tmp_path.iterdir()) == []


def test_fit_command_checks_the_result_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import msmesh.fit.fitter as fitter

    def diverged(tracks, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return FitResult([smpl_sequence(value=np.nan)], 500.0, (320.0, 240.0))

    monkeypatch.setattr(fitter, "fit_tracks", diverged)
    out = tmp_path / "out"
    assert main(["fit", str(write_json(tmp_path / "t.json", tracks_obj())), "--out", str(out), "-q"]) == 2
    assert "is not finite" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_load_smpl_rejects_values_beyond_float32(tmp_path: Path) -> None:
    arrays = {"format": np.array("msmesh/smpl@1"), "focal": np.array(50.0), "center": np.array([1.0, 1.0]),
              "person_ids": np.array([0])}
    seq = smpl_sequence()
    for key in ("frames", "shot", "global_orient", "body_pose", "betas", "transl", "joints"):
        arrays[f"p0_{key}"] = np.asarray(getattr(seq, key), dtype=np.float64)
    arrays["p0_transl"][0, 0] = 1e300
    np.savez(tmp_path / "smpl.npz", **arrays)
    with pytest.raises(FormatError, match="p0_transl"):
        load_smpl(tmp_path / "smpl.npz")


# ------------------------------------------------------------------------------------ 11: Ctrl-C


@needs_proc
def test_ctrl_c_prints_the_resume_hint(tmp_path: Path) -> None:
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)
    hold = os.open(fifo, os.O_RDWR)
    proc = start(["convert", str(fifo), "--width", "64", "--height", "48", "--out", str(tmp_path / "t.json")])
    try:
        wait_reading(proc, fifo)
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(hold)
    assert proc.returncode == 130
    assert one_error_line(err) == "msmesh: interrupted; rerun the same command to resume"


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_chumpy_and_sparse_stand_ins_in_every_protocol(protocol: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """SMPL files are Python-2 pickles (protocol 0/2, copy_reg._reconstructor): chumpy objects and the sparse
    J_regressor become arrays without importing chumpy or running scipy's unchecked C code."""
    import types

    import scipy.sparse

    from msmesh.body.smpl_file import _to_array

    mod = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x: np.ndarray) -> None:
            self.x = x

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    mod.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
    monkeypatch.setitem(sys.modules, "chumpy.ch", mod)
    rng = np.random.default_rng(0)
    dense = rng.random((4, 6)) * (rng.random((4, 6)) < 0.4)
    raw = {"shapedirs": Ch(rng.normal(size=(6, 3, 2))), "J_regressor": scipy.sparse.csc_matrix(dense),
           "coo": scipy.sparse.coo_matrix(dense), "csr": scipy.sparse.csr_matrix(dense), "s": "lbs"}
    data = pickle.dumps(raw, protocol=protocol)
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    loaded = safe_load(io.BytesIO(data))
    np.testing.assert_array_equal(_to_array(loaded["shapedirs"], Path("x"), "shapedirs"), raw["shapedirs"].x)
    for key in ("J_regressor", "coo", "csr"):
        np.testing.assert_array_equal(_to_array(loaded[key], Path("x"), key), dense)
    assert loaded["s"] == "lbs"
