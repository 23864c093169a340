"""Batch inputs: expand `msmesh batch INPUTS...` into a list of videos, each with its own run folder.

An INPUT is a video file, a folder (searched recursively for video files) or a text file listing paths
(one per line; ``#`` comments and blank lines ignored; relative paths are relative to the list file).
Run folders are named after the video stem; videos that share a stem get a short, stable suffix derived
from their full path, and a name given to a video by an earlier batch report is kept so that resuming a
batch never moves a video to a different folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from msmesh.errors import InputError

VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".flv",
    ".wmv", ".ogv", ".3gp", ".vob",
})
LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})


@dataclass(frozen=True)
class BatchItem:
    """One video of a batch and the run folder it goes to."""

    video: Path  # absolute
    run_dir: Path  # absolute, inside the batch output folder

    @property
    def name(self) -> str:
        return self.run_dir.name


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _scan_folder(folder: Path, exclude: Path | None) -> list[Path]:
    """Video files under ``folder`` (recursive, sorted), skipping hidden entries and the output folder."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _inside(root_path / d, exclude))
        for name in sorted(files):
            path = root_path / name
            if path.suffix.lower() in VIDEO_SUFFIXES and not _is_hidden(path, folder):
                found.append(path)
    return found


def _read_list(list_file: Path) -> list[Path]:
    """Paths listed in a text file; relative entries resolve against the list file's folder."""
    try:
        text = list_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{list_file}: cannot read the list of videos: {exc}") from exc
    paths = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        path = Path(entry).expanduser()
        paths.append(path if path.is_absolute() else list_file.parent / path)
    return paths


def expand_inputs(inputs: Iterable[str | os.PathLike[str]], exclude: str | os.PathLike[str] | None = None) \
        -> list[Path]:
    """Every video named by ``inputs``, absolute, de-duplicated, in the order given (folders sorted).

    A command-line INPUT that does not exist is an ``InputError`` (a typo should not start a long batch);
    a missing entry inside a list file is kept, so that it is reported as a failed video with the rest.
    Videos under ``exclude`` (the batch output folder, which holds ``overlay.mp4`` files) are skipped.
    """
    exclude_path = Path(exclude).resolve() if exclude is not None else None
    videos: list[Path] = []
    for raw in inputs:
        path = Path(raw).expanduser()
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_dir():
            videos.extend(_scan_folder(path.resolve(), exclude_path))
        elif path.suffix.lower() in LIST_SUFFIXES:
            for entry in _read_list(path):
                if entry.is_dir():
                    videos.extend(_scan_folder(entry.resolve(), exclude_path))
                else:
                    videos.append(entry)
        else:
            videos.append(path)
    seen: set[Path] = set()
    unique: list[Path] = []
    for video in videos:
        absolute = Path(os.path.abspath(video))
        if absolute not in seen and not _inside(absolute.resolve(), exclude_path):
            seen.add(absolute)
            unique.append(absolute)
    if not unique:
        raise InputError("no videos found in the given inputs (video suffixes: "
                         f"{', '.join(sorted(VIDEO_SUFFIXES))}; or give a .txt list of paths)")
    return unique


def _suffix(video: Path) -> str:
    return hashlib.sha1(str(video).encode("utf-8")).hexdigest()[:6]


def _safe_stem(video: Path) -> str:
    stem = video.stem.strip() or "video"
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in stem).lstrip(".") or "video"


def assign_run_dirs(videos: list[Path], out: str | os.PathLike[str],
                    previous: Mapping[str, str] | None = None) -> list[BatchItem]:
    """Give every video a run folder ``out/<stem>``; stems shared by several videos get ``-<hash6>``.

    ``previous`` maps video path → run-folder name from an earlier report of this batch; those names are
    kept (resume never renames), and new names avoid them.
    """
    out_path = Path(os.path.abspath(out))
    previous = dict(previous or {})
    names: dict[Path, str] = {}
    taken: set[str] = set()  # case-folded: `Clip` and `clip` are one folder on macOS and Windows
    for video in videos:
        name = previous.get(str(video))
        if name and name.casefold() not in taken:
            names[video] = name
            taken.add(name.casefold())
    stems: dict[str, int] = {}
    for video in videos:
        key = _safe_stem(video).casefold()
        stems[key] = stems.get(key, 0) + 1
    for video in videos:
        if video in names:
            continue
        stem = _safe_stem(video)
        unique = stems[stem.casefold()] == 1 and stem.casefold() not in taken
        name = stem if unique else f"{stem}-{_suffix(video)}"
        counter = 2
        while name.casefold() in taken:  # a hash collision or a clash with a kept name: unique, stable
            name = f"{stem}-{_suffix(video)}-{counter}"
            counter += 1
        names[video] = name
        taken.add(name.casefold())
    return [BatchItem(video, out_path / names[video]) for video in videos]
