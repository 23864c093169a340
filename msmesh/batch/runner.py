"""`run_batch`: inputs → run folders → engine → batch report; the library side of `msmesh batch`.

It expands the inputs, names a run folder per video, skips the videos an earlier run of the same batch
finished (see ``report.py``), hands the rest to the local or the Ray engine and records every result in
``batch_report.json`` as it arrives.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from msmesh.batch.inputs import BatchItem, assign_run_dirs, expand_inputs
from msmesh.batch.local import VideoFn, run_local
from msmesh.batch.report import BatchReport, options_digest
from msmesh.batch.worker import process_video
from msmesh.errors import InputError, OutputError
from msmesh.options import PipelineOptions

ENGINES = ("local", "ray")


class BatchListener:
    """What a display wants to hear from a batch; every method is optional (this base does nothing)."""

    def begin(self, items: Sequence[BatchItem], skipped: Sequence[BatchItem]) -> None: ...

    def event(self, key: str, event: str, data: dict[str, Any]) -> None: ...

    def result(self, item: BatchItem, entry: dict[str, Any]) -> None: ...


@dataclass
class BatchOutcome:
    """The counts of one `msmesh batch` invocation and where its report is."""

    out_dir: Path
    report_path: Path
    total: int
    skipped: int
    ok: int
    failed: int
    seconds: float
    failures: list[dict[str, Any]] = field(default_factory=list)


def run_batch(inputs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str],
              options: PipelineOptions, *, engine: str = "local", jobs: int = 1, address: str | None = None,
              cpus_per_task: float = 1, gpus_per_task: float | None = None, recheck: bool = False,
              fn: VideoFn = process_video, listener: BatchListener | None = None,
              ray_gpu_stages: Callable[[dict[str, Any]], list[str]] | None = None) -> BatchOutcome:
    """Process every video of ``inputs`` into ``out/<name>/`` with ``engine``; never stops on a bad video.

    ``recheck`` sends finished videos through the pipeline again (it resumes their stages, so this only
    re-verifies them and redoes missing outputs). ``fn`` replaces the per-video function (tests, benchmarks).
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (expected local or ray)")
    if jobs < 1:
        raise InputError(f"--jobs must be ≥ 1, got {jobs}")
    if engine == "ray":
        from msmesh.batch.ray_engine import import_ray

        import_ray()  # fail fast, before scanning folders
    options.validate()
    opts = asdict(options.resolved())  # the init actually used: its digest decides what is finished
    digest = options_digest(opts)
    out_dir = Path(os.path.abspath(out))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out_dir}: {exc.strerror or exc}") from exc

    report = BatchReport.load(out_dir)
    items = assign_run_dirs(expand_inputs(inputs, exclude=out_dir), out_dir, report.previous_names())
    skipped = [item for item in items if not recheck and report.is_done(item, digest)]
    done_before = set(skipped)
    todo = [item for item in items if item not in done_before]
    report.meta = {"engine": engine, "jobs": jobs if engine == "local" else None,
                   "ray_address": address if engine == "ray" else None, "options": opts,
                   "options_digest": digest, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    report.save()

    listener = listener or BatchListener()
    listener.begin(items, skipped)
    counts = {"ok": 0, "failed": 0}
    failures: list[dict[str, Any]] = []

    def on_result(item: BatchItem, result: dict[str, Any]) -> None:
        entry = report.record(item, result, digest)
        counts["ok" if entry["status"] == "ok" else "failed"] += 1
        if entry["status"] != "ok":
            failures.append(entry)
        listener.result(item, entry)

    started = time.perf_counter()
    if todo:
        if engine == "local":
            run_local(todo, opts, jobs=jobs, fn=fn, on_event=listener.event, on_result=on_result)
        else:
            from msmesh.batch.ray_engine import run_ray

            run_ray(todo, opts, address=address, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                    gpu_stages=ray_gpu_stages, fn=fn, on_event=listener.event, on_result=on_result)
    return BatchOutcome(out_dir=out_dir, report_path=report.path, total=len(items), skipped=len(skipped),
                        ok=counts["ok"], failed=counts["failed"], seconds=time.perf_counter() - started,
                        failures=failures)
