"""Inputs for the reliability/security tests: a small valid tracks.json, hostile pickles, CLI subprocesses."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from msmesh.data import SmplSequence

ROOT = Path(__file__).resolve().parents[1]

# A standing person, COCO-17 pixel coordinates in a 640×480 image.
STANDING = np.array([
    [320, 100], [326, 94], [314, 94], [334, 98], [306, 98], [350, 150], [290, 150], [362, 200], [278, 200],
    [366, 245], [274, 245], [340, 250], [300, 250], [342, 320], [298, 320], [344, 390], [296, 390],
], dtype=float)


def tracks_obj(frames: int = 3, scale: float = 1.0) -> dict:
    """A valid tracks.json object: one person over ``frames`` frames of one shot."""
    kps = []
    for t in range(frames):
        xy = STANDING * scale + np.array([2.0 * t, 0.0])
        kps.append(np.concatenate([xy, np.full((17, 1), 0.9)], 1).tolist())
    box = [float(STANDING[:, 0].min() - 20), float(STANDING[:, 1].min() - 20), float(STANDING[:, 0].max() + 20),
           float(STANDING[:, 1].max() + 20)]
    return {
        "format": "msmesh/tracks@1",
        "video": {"source": "synthetic", "fps": 25.0, "frame_count": frames, "width": 640, "height": 480,
                  "sampled_frames": list(range(frames))},
        "keypoint_format": "coco17",
        "shots": [{"id": 0, "start": 0, "end": frames}],
        "people": [{"id": 0, "frames": list(range(frames)), "shot": [0] * frames, "bbox": [box] * frames,
                    "keypoints": kps}],
    }


def write_json(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj))
    return path


def gadget(module: str, name: str, *args: object) -> bytes:
    """A protocol-0 pickle that calls ``module.name(*args)`` when loaded with plain ``pickle.load``."""
    call_args = pickle.dumps(tuple(args), protocol=0)[:-1]  # the argument tuple, without STOP
    return f"c{module}\n{name}\n".encode() + call_args + b"R."


def touch_gadget(marker: Path) -> bytes:
    """``os.system('touch MARKER')`` as a pickle (posix.system is what os.system pickles as)."""
    return gadget(os.system.__module__, "system", f"touch {marker}")


def numpy_load_chain(tmp: Path, marker: Path) -> bytes:
    """The reported attack: an SMPL-looking pickle calling ``numpy.load(inner, None, True)``, and ``inner`` is an
    unrestricted pickle that runs ``touch MARKER``."""
    inner = tmp / "inner.pkl"
    inner.write_bytes(touch_gadget(marker))
    return gadget("numpy", "load", str(inner), None, True)


def npz_with_object_pickle(path: Path, key: str, payload: bytes) -> Path:
    """An .npz whose ``key`` array is an object array whose pickle is ``payload``."""
    buf = io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(np.empty((), dtype=object))
    np.lib.format.write_array_header_1_0(buf, header)
    buf.write(payload)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{key}.npy", buf.getvalue())
    return path


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def start(args: list[str], **kwargs: object) -> subprocess.Popen[str]:
    """A real msmesh process (SIGINT at its default even if the test runner ignores it)."""
    return subprocess.Popen([sys.executable, "-m", "msmesh.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


def run(args: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "msmesh.cli", *args], capture_output=True, text=True,
                          env=cli_env(), cwd=ROOT, timeout=timeout)


def wait_reading(proc: subprocess.Popen[str], path: Path, timeout: float = 120) -> None:
    """Wait until ``proc`` has ``path`` open (blocked reading a FIFO nobody writes to)."""
    deadline = time.monotonic() + timeout
    target = os.path.realpath(path)
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            fds = os.listdir(f"/proc/{proc.pid}/fd")
        except FileNotFoundError:
            fds = []
        for fd in fds:
            try:
                if os.readlink(f"/proc/{proc.pid}/fd/{fd}") == target:
                    return
            except OSError:
                continue
        time.sleep(0.05)
    raise AssertionError(f"process never opened {path}")


def one_error_line(stderr: str) -> str:
    """The single stderr line of a user error (asserts there is exactly one and no traceback)."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def smpl_sequence(pid: int = 0, n: int = 2, value: float = 0.0) -> SmplSequence:
    """A small valid SMPL sequence; ``value`` is added to the global orientation (NaN, Inf, 1e39 ...)."""
    z = np.zeros
    return SmplSequence(id=pid, frames=np.arange(n), shot=z(n, np.int64), global_orient=z((n, 3)) + value,
                        body_pose=z((n, 69)), betas=z(10), transl=z((n, 3)) + [0, 0, 3], joints=z((n, 24, 3)))
