"""Which files each finished stage left in the run folder, so a resumed run can trust them.

`Pipeline` (pipeline.py) records, per stage in ``run.json``, a fingerprint of every file the stage wrote: the
SHA-256 of its data files (``video.json``, ``tracks.json``, ``smpl.npz`` … which later stages read back) and
the size of its exports (``overlay.mp4``, ``p{id}.glb``, meshes: large, and read by nobody downstream). A stage
resumes only when every recorded file is still there unchanged; otherwise it runs again. Files that a stage
wrote last time but a stage that must rerun makes stale are removed, so a folder reused for another video
never keeps the old video's overlay or GLBs. Temporary files of atomic writes that a killed run left behind
are removed when a run starts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

EXPORT_PATTERNS = (r"overlay\.mp4", r"cameras\.json", r"p\d+\.glb", r"meshes/p\d+_f\d+\.obj")
"""The files the export stage owns (names relative to the run folder)."""

_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")  # data._atomic_target's mkstemp names


def sha256_16(path: Path) -> str:
    """The first 16 hex digits of a file's SHA-256."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def export_files(run_dir: Path) -> list[str]:
    """The export-stage files now in ``run_dir`` (sorted names relative to it)."""
    found = []
    for folder in (run_dir, run_dir / "meshes"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            name = path.relative_to(run_dir).as_posix()
            if path.is_file() and any(re.fullmatch(p, name) for p in EXPORT_PATTERNS):
                found.append(name)
    return sorted(found)


def fingerprints(run_dir: Path, data_files: Iterable[str], export_files: Iterable[str]) -> dict[str, str]:
    """``{name: "sha256:…"}`` for data files and ``{name: "size:…"}`` for exports (see the module docstring)."""
    prints = {name: f"sha256:{sha256_16(run_dir / name)}" for name in data_files if (run_dir / name).is_file()}
    prints.update({name: f"size:{(run_dir / name).stat().st_size}" for name in export_files
                   if (run_dir / name).is_file()})
    return prints


def intact(run_dir: Path, prints: dict[str, str]) -> bool:
    """Whether every recorded file is still there with the recorded fingerprint."""
    if not isinstance(prints, dict):
        return False
    for name, want in prints.items():
        if not isinstance(want, str):
            return False
        path = run_dir / name
        if not path.is_file():
            return False
        kind, _, value = want.partition(":")
        got = sha256_16(path) if kind == "sha256" else str(path.stat().st_size)
        if got != value:
            return False
    return True


def remove(run_dir: Path, names: Iterable[str]) -> None:
    """Delete these files of the run folder (those already gone are fine; nothing outside it is touched)."""
    root = run_dir.resolve()
    for name in names:
        path = (run_dir / name).resolve()
        if path.parent == root or path.parent.parent == root:  # run_dir/x or run_dir/meshes/x only
            path.unlink(missing_ok=True)


def remove_temporaries(run_dir: Path) -> int:
    """Delete the temporary files of atomic writes left by a killed run; returns how many."""
    count = 0
    for folder in (run_dir, run_dir / "meshes"):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and _TEMPORARY.match(path.name):
                    path.unlink(missing_ok=True)
                    count += 1
    return count
