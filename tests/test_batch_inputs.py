"""Batch inputs and report: INPUTS expansion, run-folder naming, resume bookkeeping (fast, no workers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msmesh.batch.inputs import assign_run_dirs, expand_inputs
from msmesh.batch.report import REPORT_FORMAT, BatchReport, options_digest
from msmesh.errors import FormatError, InputError


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_expand_files_folders_and_list(tmp_path: Path) -> None:
    a = _touch(tmp_path / "films" / "a.mp4")
    b = _touch(tmp_path / "films" / "sub" / "b.MKV")
    _touch(tmp_path / "films" / "notes.txt")  # inside a folder: not a list, not a video
    _touch(tmp_path / "films" / ".hidden" / "h.mp4")
    c = _touch(tmp_path / "other" / "c.mov")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my films\n\nother/c.mov\n{a}\nmissing/d.mp4\n")
    videos = expand_inputs([tmp_path / "films", listing, str(a)])
    assert videos == [a, b, c, tmp_path / "missing" / "d.mp4"]  # de-duplicated, order kept


def test_expand_skips_output_folder_and_rejects_missing(tmp_path: Path) -> None:
    a = _touch(tmp_path / "a.mp4")
    _touch(tmp_path / "runs" / "a" / "overlay.mp4")
    assert expand_inputs([tmp_path], exclude=tmp_path / "runs") == [a]
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([tmp_path / "nope.mp4"])
    with pytest.raises(InputError, match="no videos found"):
        expand_inputs([tmp_path / "runs"], exclude=tmp_path / "runs")


def test_run_dir_names_are_unique_and_stable(tmp_path: Path) -> None:
    x = tmp_path / "x" / "clip.mp4"
    y = tmp_path / "y" / "clip.mp4"
    z = tmp_path / "y" / "Other film.mkv"
    items = assign_run_dirs([x, z], tmp_path / "out")
    assert [i.name for i in items] == ["clip", "Other_film"]
    # A second video with the same stem appears later: the first keeps its folder via the report mapping.
    previous = {str(i.video): i.name for i in items}
    items2 = assign_run_dirs([x, y, z], tmp_path / "out", previous)
    names = [i.name for i in items2]
    assert names[0] == "clip" and names[2] == "Other_film"
    assert names[1].startswith("clip-") and len(set(n.casefold() for n in names)) == 3
    # Without history, colliding stems both get a path-derived suffix, the same on every call.
    fresh = [i.name for i in assign_run_dirs([x, y], tmp_path / "out")]
    assert fresh == [i.name for i in assign_run_dirs([x, y], tmp_path / "out")]
    assert len(set(fresh)) == 2 and all(n.startswith("clip-") for n in fresh)
    assert all(i.run_dir.parent == tmp_path / "out" for i in items2)


def test_report_records_and_decides_skips(tmp_path: Path) -> None:
    video = _touch(tmp_path / "a.mp4", b"abc")
    (item,) = assign_run_dirs([video], tmp_path / "out")
    digest = options_digest({"fps": 2.0})
    report = BatchReport.load(tmp_path / "out")
    report.record(item, {"status": "ok", "seconds": 1.5, "summary": {"people": 2}}, digest)
    assert not report.is_done(item, digest)  # run folder has no run.json
    _touch(item.run_dir / "run.json", b"{}")
    reloaded = BatchReport.load(tmp_path / "out")
    assert reloaded.is_done(item, digest)
    assert not reloaded.is_done(item, options_digest({"fps": 3.0}))  # other options: re-run
    video.write_bytes(b"abcd")  # video changed: re-run
    assert not reloaded.is_done(item, digest)
    data = json.loads((tmp_path / "out" / "batch_report.json").read_text())
    assert data["format"] == REPORT_FORMAT and data["counts"] == {"ok": 1, "failed": 0}
    assert data["videos"][0]["attempts"] == 1 and data["videos"][0]["seconds"] == 1.5


def test_damaged_report_is_a_format_error(tmp_path: Path) -> None:
    (tmp_path / "batch_report.json").write_text('{"format": "msmesh/batch_report@1", "videos": {}}')
    with pytest.raises(FormatError, match="videos"):
        BatchReport.load(tmp_path)
