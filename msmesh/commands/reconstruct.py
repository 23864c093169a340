"""`msmesh reconstruct`: a video in, SMPL for every person out, fitted by the multi-shot optimizer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from msmesh.commands.common import Quiet, RunFolder, pipeline_options, with_run_options
from msmesh.commands.progress import rich_progress, summary_table
from msmesh.options import PipelineOptions
from msmesh.pipeline import Pipeline


def default_run_dir(video: Path) -> Path:
    """``runs/<video stem>`` when the user gives no ``--out``."""
    return Path("runs") / video.stem


@with_run_options()
def command(
    video: Annotated[Path, typer.Argument(help="The video file (any format FFmpeg reads: mp4, mkv, mov, avi...).")],
    out: RunFolder = None, quiet: Quiet = False, *, run: dict[str, Any],
) -> None:
    """Reconstruct every person in VIDEO as SMPL, across shot cuts.

    Stages (each saved in the run folder; rerunning skips finished ones): decode → shots → people and
    keypoints → tracking → re-identification across shots → multi-shot fit → exports.
    """
    run_pipeline(video, out or default_run_dir(video), pipeline_options(**run), quiet)


def run_pipeline(video: Path, out: Path, options: PipelineOptions, quiet: bool) -> None:
    """Run the pipeline with rich progress and print the summary table (shared with `regress`)."""
    console = Console(stderr=True)
    with rich_progress(console, enabled=not quiet) as progress:
        summary = Pipeline(video, out, options, progress=progress).run()
    Console().print(summary_table(summary))
