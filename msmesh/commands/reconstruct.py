"""`msmesh reconstruct`: a video in, SMPL for every person out, fitted by the multi-shot optimizer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from msmesh.commands.common import pipeline_options, run_default, run_option
from msmesh.commands.progress import rich_progress, summary_table
from msmesh.options import Detector, FitMode, Init, Method, OutFormat, PipelineOptions, ShotDetector
from msmesh.pipeline import Pipeline


def default_run_dir(video: Path) -> Path:
    """``runs/<video stem>`` when the user gives no ``--out``."""
    return Path("runs") / video.stem


def command(
    video: Annotated[Path, typer.Argument(help="The video file (any format FFmpeg reads: mp4, mkv, mov, avi...).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder (default: runs/<video name>).")] = None,
    mode: Annotated[Method, run_option("method")] = run_default("method"),
    fit_mode: Annotated[FitMode, run_option("fit_mode")] = run_default("fit_mode"),
    fps: Annotated[float, run_option("fps")] = run_default("fps"),
    start: Annotated[float | None, run_option("start")] = run_default("start"),
    end: Annotated[float | None, run_option("end")] = run_default("end"),
    shots: Annotated[ShotDetector, run_option("shots")] = run_default("shots"),
    detector: Annotated[Detector, run_option("detector")] = run_default("detector"),
    keypoints: Annotated[Path | None, run_option("keypoints")] = run_default("keypoints"),
    max_people: Annotated[int | None, run_option("max_people")] = run_default("max_people"),
    init: Annotated[Init, run_option("init")] = run_default("init"),
    weights: Annotated[str | None, run_option("weights")] = run_default("weights"),
    temporal: Annotated[bool, run_option("temporal")] = run_default("temporal"),
    body_model: Annotated[str, run_option("body_model")] = run_default("body_model"),
    pose_prior: Annotated[Path | None, run_option("pose_prior")] = run_default("pose_prior"),
    device: Annotated[str, run_option("device")] = run_default("device"),
    video_out: Annotated[bool, run_option("video")] = run_default("video"),
    side_by_side: Annotated[bool, run_option("side_by_side")] = run_default("side_by_side"),
    overlay_fps: Annotated[float | None, run_option("overlay_fps")] = run_default("overlay_fps"),
    glb: Annotated[bool, run_option("glb")] = run_default("glb"),
    save_mesh: Annotated[bool, run_option("save_mesh")] = run_default("save_mesh"),
    out_format: Annotated[OutFormat, run_option("output_format")] = run_default("output_format"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Reconstruct every person in VIDEO as SMPL, across shot cuts.

    Stages (each saved in the run folder; rerunning skips finished ones): decode → shots → people and
    keypoints → tracking → re-identification across shots → multi-shot fit → exports.
    """
    options = pipeline_options(
        fps=fps, start=start, end=end, shots=shots, detector=detector, keypoints=keypoints,
        max_people=max_people, method=mode, fit_mode=fit_mode, init=init, temporal=temporal, weights=weights,
        body_model=body_model, pose_prior=pose_prior, device=device, video=video_out,
        side_by_side=side_by_side, overlay_fps=overlay_fps, glb=glb, save_mesh=save_mesh,
        output_format=out_format)
    run_pipeline(video, out or default_run_dir(video), options, quiet)


def run_pipeline(video: Path, out: Path, options: PipelineOptions, quiet: bool) -> None:
    """Run the pipeline with rich progress and print the summary table (shared with `regress`)."""
    console = Console(stderr=True)
    with rich_progress(console, enabled=not quiet) as progress:
        summary = Pipeline(video, out, options, progress=progress).run()
    Console().print(summary_table(summary))
