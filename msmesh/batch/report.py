"""`batch_report.json`: what happened to every video of a batch, and the basis of batch-level resume.

The report lives in the batch output folder and is rewritten atomically after every finished video, so an
interrupted batch loses nothing. A video is skipped on the next run when its entry says ``ok``, the
pipeline options are the same, the video file has the same size and modification time, and its run folder
still holds ``run.json``; anything else goes back through the pipeline, which itself resumes stage by stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from msmesh import __version__
from msmesh.atomic import atomic_write_json
from msmesh.batch.inputs import BatchItem
from msmesh.errors import FormatError

REPORT_NAME = "batch_report.json"
REPORT_FORMAT = "msmesh/batch_report@1"
RUN_MANIFEST = "run.json"  # written by msmesh.pipeline in every run folder


def options_digest(options: dict[str, Any]) -> str:
    """A short hash of the pipeline options (a changed option means finished videos are re-checked)."""
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:16]


def video_identity(video: Path) -> dict[str, int] | None:
    """Size and modification time of the video file, or None when it cannot be read."""
    try:
        st = video.stat()
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class BatchReport:
    """The batch report of one output folder: one entry per run folder name."""

    def __init__(self, out_dir: Path, entries: dict[str, dict[str, Any]] | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / REPORT_NAME
        self.entries: dict[str, dict[str, Any]] = entries or {}
        self.meta: dict[str, Any] = {}

    @classmethod
    def load(cls, out_dir: str | os.PathLike[str]) -> BatchReport:
        """The folder's report, or an empty one; a damaged report is a FormatError naming the field."""
        report = cls(Path(out_dir))
        if not report.path.exists():
            return report
        try:
            data = json.loads(report.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON, bad UTF-8, huge ints
            problem = f"not readable JSON ({exc}); move it away to start over"
            raise FormatError(report.path, "(file)", problem) from exc
        if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
            raise FormatError(report.path, "format", f"expected {REPORT_FORMAT!r}")
        videos = data.get("videos")
        if not isinstance(videos, list):
            raise FormatError(report.path, "videos", "expected a list")
        for i, entry in enumerate(videos):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                    or not isinstance(entry.get("video"), str):
                raise FormatError(report.path, f"videos[{i}]", "expected an object with 'name' and 'video'")
            report.entries[entry["name"]] = entry
        return report

    def previous_names(self) -> dict[str, str]:
        """video path → run folder name, as assigned by earlier runs of this batch."""
        return {entry["video"]: name for name, entry in self.entries.items()}

    def is_done(self, item: BatchItem, digest: str) -> bool:
        """True when ``item`` finished ok with these options and neither video nor run folder changed."""
        entry = self.entries.get(item.name)
        return (entry is not None and entry.get("status") == "ok" and entry.get("video") == str(item.video)
                and entry.get("options_digest") == digest
                and entry.get("video_identity") == video_identity(item.video)
                and (item.run_dir / RUN_MANIFEST).exists())

    def record(self, item: BatchItem, result: dict[str, Any], digest: str) -> dict[str, Any]:
        """Store one video's result (from ``process_video``) and save the report."""
        previous = self.entries.get(item.name, {})
        entry = {
            "name": item.name, "video": str(item.video), "run_dir": str(item.run_dir),
            "status": result.get("status", "failed"), "seconds": result.get("seconds"),
            "host": result.get("host"), "summary": result.get("summary"), "error": result.get("error"),
            "options_digest": digest, "video_identity": video_identity(item.video),
            "attempts": int(previous.get("attempts", 0)) + 1, "finished_at": _now(),
        }
        if result.get("hosts"):  # Ray with GPUs: the hosts of the GPU task and of the CPU task
            entry["hosts"] = result["hosts"]
        self.entries[item.name] = entry
        self.save()
        return entry

    def counts(self) -> dict[str, int]:
        counts = {"ok": 0, "failed": 0}
        for entry in self.entries.values():
            counts[entry.get("status", "failed")] = counts.get(entry.get("status", "failed"), 0) + 1
        return counts

    def save(self) -> None:
        data = {"format": REPORT_FORMAT, "msmesh_version": __version__, **self.meta, "updated_at": _now(),
                "counts": self.counts(),
                "videos": [self.entries[name] for name in sorted(self.entries)]}
        atomic_write_json(self.path, data)
