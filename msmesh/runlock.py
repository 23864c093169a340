"""One writer per run folder: ``run_lock(dir)`` is held by the pipeline, `msmesh fit` and `msmesh export` while
they write into a run folder.

The lock is ``fcntl.flock`` on ``DIR/.msmesh.lock`` (``msvcrt.locking`` on Windows). The kernel drops it when
its process dies, so a run killed with ``kill -9`` leaves no stale lock: the next run takes it. The file holds
the owner's pid and host for the error message of a second writer, which fails at once with
``RunFolderBusyError`` (one line, exit code 2) instead of mixing two runs' files in one folder. On release the
file is removed; locking re-checks that the file it locked is still the one at the path, so a release racing
with another run's acquire cannot hand the folder to two writers. Re-entrant within one process.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from msmesh.errors import OutputError, RunFolderBusyError

LOCK_NAME = ".msmesh.lock"

_held: dict[str, int] = {}  # resolved lock path → nesting depth in this process

try:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:  # a filesystem without locks (some network mounts): run, but say so
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
            print(f"msmesh: warning: this filesystem cannot lock the run folder ({exc.strerror}); make sure no "
                  "other msmesh process writes to it", file=sys.stderr)
        return True
except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True


def lock_owner(run_dir: str | os.PathLike[str]) -> str:
    """Who holds (or last held) the run folder's lock, as written in the lock file; '' when unknown."""
    try:
        return (Path(run_dir) / LOCK_NAME).read_text(encoding="utf-8", errors="replace").strip()[:200]
    except OSError:
        return ""


def _acquire(path: Path, run_dir: Path) -> int:
    for _ in range(100):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot write to output folder {run_dir}: {exc.strerror or exc}") from exc
        if not _try_lock(fd):
            os.close(fd)
            owner = lock_owner(run_dir) or "another msmesh process"
            raise RunFolderBusyError(f"{run_dir}: run folder is in use by {owner}; wait for it to finish or "
                                     "choose another --out")
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed the file between our open and lock: lock the new one
    raise RunFolderBusyError(f"{run_dir}: could not lock the run folder (its lock file keeps changing)")


@contextmanager
def run_lock(run_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the exclusive write lock of ``run_dir`` (which must exist) for the ``with`` block."""
    run_dir = Path(run_dir)
    path = run_dir / LOCK_NAME
    key = str(path.resolve())
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    fd = _acquire(path, run_dir)
    _held[key] = 1
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"msmesh pid {os.getpid()} on {socket.gethostname()}\n".encode())
        yield
    finally:
        del _held[key]
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                path.unlink()
        except OSError:
            pass  # folder removed by the run itself (failed first run), or a read-only/Windows file
        os.close(fd)


@contextmanager
def output_folder(out: str | os.PathLike[str]) -> Iterator[None]:
    """Create ``out`` if needed and hold its lock for the block; a folder created here is removed on failure."""
    out = Path(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write to output folder {out}: {exc.strerror or exc}") from exc
    with run_lock(out):
        try:
            yield
        except BaseException:
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise
