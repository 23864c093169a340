"""`msmesh batch`: many videos → one run folder each, on a local process pool or a Ray cluster."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from msmesh.batch.display import RichBatchDisplay
from msmesh.batch.runner import BatchOutcome, run_batch
from msmesh.commands.common import pipeline_options, with_run_options

MAX_LISTED_FAILURES = 20


class Engine(str, Enum):
    local = "local"
    ray = "ray"


def default_jobs() -> int:
    """One local job per 4 cores (each job's torch then gets 4 threads), at least 1."""
    return max(1, (os.cpu_count() or 1) // 4)


HELP = {
    "start": "Start time in seconds (every video).",
    "end": "End time in seconds (every video).",
    "keypoints": "Your own 2D keypoints instead of detection (an OpenPose BODY_25 JSON folder or a COCO results "
                 "JSON), used for every video: meant for a batch of one video.",
    "video": "Write overlay.mp4 per video.",
}


@with_run_options(help=HELP)
def command(
    inputs: Annotated[list[Path], typer.Argument(help="Video files, folders (searched recursively for videos) "
                                                 "or text files listing paths, one per line.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: one run folder per video, named after "
                                      "the video, plus batch_report.json.")],
    engine: Annotated[Engine, typer.Option("--engine", help="local: a process pool on this machine. ray: tasks "
                                           "on a Ray cluster (pip install \"msmesh\\[ray]\").")] = Engine.local,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Local engine: videos processed at once "
                                             "(default: one per 4 CPU cores).")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Ray engine: cluster address ('auto' = the "
                                                "cluster this machine belongs to; default: start a local "
                                                "Ray).")] = None,
    cpus_per_task: Annotated[float, typer.Option("--cpus-per-task", help="Ray engine: CPUs each video task "
                                                 "declares (and torch threads it uses).")] = 1.0,
    gpus_per_task: Annotated[float | None, typer.Option("--gpus-per-task", help="Ray engine: GPUs for the "
                                                        "detection/regression task of each video (fractions "
                                                        "share a GPU; default: 1 if the cluster has GPUs, "
                                                        "else 0).")] = None,
    recheck: Annotated[bool, typer.Option("--recheck", help="Also pass videos finished by an earlier run "
                                          "through the pipeline (it resumes them; missing outputs are "
                                          "redone).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display, only the final "
                                        "summary.")] = False,
    *,
    run: dict[str, Any],
) -> None:
    """Reconstruct every video of INPUTS, one run folder each under --out, resumable.

    Takes the options of `reconstruct`. Rerunning the same command skips finished videos and resumes
    unfinished ones stage by stage. A video that fails is recorded with its error in
    OUT/batch_report.json and the others go on; the exit code is 1 when any video failed.
    """
    if run["keypoints"] is not None:
        run["keypoints"] = run["keypoints"].absolute()  # every video's worker sees the same file
    options = pipeline_options(**run)
    with RichBatchDisplay(Console(stderr=True), enabled=not quiet) as display:
        outcome = run_batch(inputs, out, options, engine=engine.value, jobs=jobs or default_jobs(),
                            address=address, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                            recheck=recheck, listener=display)
    console = Console()
    if outcome.failures:
        console.print(failures_table(outcome))
    console.print(escape(outcome_summary(outcome)))
    if outcome.failed:
        raise typer.Exit(1)


def outcome_summary(outcome: BatchOutcome) -> str:
    """One line: what this invocation did and where the report is."""
    return (f"{outcome.total} video(s): {outcome.ok} done, {outcome.failed} failed, "
            f"{outcome.skipped} skipped (done earlier) in {outcome.seconds:.1f} s; "
            f"report: {outcome.report_path}")


def failures_table(outcome: BatchOutcome) -> Table:
    """The failed videos with their errors (the first MAX_LISTED_FAILURES)."""
    table = Table(title="failed videos")
    table.add_column("video")
    table.add_column("error")
    for entry in outcome.failures[:MAX_LISTED_FAILURES]:
        err = entry.get("error") or {}
        table.add_row(escape(entry["name"]), escape(f"{err.get('type')}: {err.get('message')}"))
    more = len(outcome.failures) - MAX_LISTED_FAILURES
    if more > 0:
        table.caption = f"{more} more in the report"
    return table
