"""`msmesh batch`: many videos → one run folder each, on a local process pool or a Ray cluster."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from msmesh.batch.display import RichBatchDisplay
from msmesh.batch.runner import BatchOutcome, run_batch
from msmesh.commands.reconstruct import resolve_init
from msmesh.options import DEFAULT_FPS, Detector, FitMode, Init, Method, OutFormat, PipelineOptions, ShotDetector

MAX_LISTED_FAILURES = 20


class Engine(str, Enum):
    local = "local"
    ray = "ray"


def default_jobs() -> int:
    """One local job per 4 cores (each job's torch then gets 4 threads), at least 1."""
    return max(1, (os.cpu_count() or 1) // 4)


def command(
    inputs: list[Path] = typer.Argument(..., help="Video files, folders (searched recursively for videos) "
                                        "or text files listing paths, one per line."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: one run folder per video, named after "
                             "the video, plus batch_report.json."),
    engine: Engine = typer.Option(Engine.local, "--engine", help="local: a process pool on this machine. "
                                  "ray: tasks on a Ray cluster (pip install \"msmesh\\[ray]\")."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Local engine: videos processed at once "
                                    "(default: one per 4 CPU cores)."),
    address: str | None = typer.Option(None, "--address", help="Ray engine: cluster address ('auto' = the "
                                       "cluster this machine belongs to; default: start a local Ray)."),
    cpus_per_task: float = typer.Option(1.0, "--cpus-per-task", help="Ray engine: CPUs each video task "
                                        "declares (and torch threads it uses)."),
    gpus_per_task: float | None = typer.Option(None, "--gpus-per-task", help="Ray engine: GPUs for the "
                                               "detection/regression task of each video (fractions share a "
                                               "GPU; default: 1 if the cluster has GPUs, else 0)."),
    recheck: bool = typer.Option(False, "--recheck", help="Also pass videos finished by an earlier run "
                                 "through the pipeline (it resumes them; missing outputs are redone)."),
    mode: Method = typer.Option(Method.optimize, "--mode", help="optimize (multi-shot fit) or regress "
                              "(HMR / t-HMMR only)."),
    fit_mode: FitMode = typer.Option(FitMode.multishot, "--fit-mode", help="Temporal terms of the fit: "
                                     "frame, shot or multishot."),
    fps: float = typer.Option(DEFAULT_FPS, "--fps", help="Frames per second sampled for detection and fitting."),
    start: float | None = typer.Option(None, "--start", help="Start time in seconds (every video)."),
    end: float | None = typer.Option(None, "--end", help="End time in seconds (every video)."),
    shots: ShotDetector = typer.Option(ShotDetector.content, "--shots", help="Shot-cut detector."),
    detector: Detector = typer.Option(Detector.auto, "--detector", help="People + keypoints: auto (MoveNet + "
                                      "BlazePose landmarks, shipped, offline), movenet, blazepose, or vitpose "
                                      "(RT-DETR + ViTPose from the Hub; msmesh[hub])."),
    keypoints: Path | None = typer.Option(None, "--keypoints", help="Your own 2D keypoints instead of "
                                          "detection (an OpenPose BODY_25 JSON folder or a COCO results JSON), "
                                          "used for every video: meant for a batch of one video."),
    max_people: int | None = typer.Option(None, "--max-people", help="Keep at most this many "
                                          "people per video."),
    init: Init = typer.Option(Init.auto, "--init", help="Fitter initialisation: regress, heuristic or auto "
                              "(regress when regressor weights are present)."),
    weights: str | None = typer.Option(None, "--weights", help="Regressor weights (default: the Hub registry "
                                       "entry)."),
    temporal: bool = typer.Option(False, "--temporal", help="With --mode regress: t-HMMR instead of HMR."),
    body_model: str = typer.Option("open", "--body-model", help="open (shipped), smpl or a SMPL file path."),
    pose_prior: Path | None = typer.Option(None, "--pose-prior", help="SMPLify GMM pose prior (gmm_08.pkl)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when present), cpu or cuda[:N]."),
    video_out: bool = typer.Option(True, "--video/--no-video", help="Write overlay.mp4 per video."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Overlay video with a side view of the "
                                      "bodies."),
    overlay_fps: float | None = typer.Option(None, "--overlay-fps", help="Frames per second of overlay.mp4 "
                                             "(default: the video's own rate); lower it for long films, where "
                                             "the overlay dominates the run time."),
    glb: bool = typer.Option(True, "--glb/--no-glb", help="Write one animated GLB per person."),
    save_mesh: bool = typer.Option(False, "--save-mesh", help="Also write one OBJ per "
                                   "person per fitted frame."),
    out_format: OutFormat = typer.Option(OutFormat.npz, "--format", help="smpl.npz or smpl.json."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display, only the final summary."),
) -> None:
    """Reconstruct every video of INPUTS, one run folder each under --out, resumable.

    Takes the options of `reconstruct`. Rerunning the same command skips finished videos and resumes
    unfinished ones stage by stage. A video that fails is recorded with its error in
    OUT/batch_report.json and the others go on; the exit code is 1 when any video failed.
    """
    options = PipelineOptions(
        fps=fps, start=start, end=end, shots=shots.value, detector=detector.value,
        keypoints=str(keypoints.absolute()) if keypoints else None, max_people=max_people, method=mode.value,
        fit_mode=fit_mode.value, init=resolve_init(init.value, weights) if mode == Method.optimize else "heuristic",
        temporal=temporal, weights=weights, body_model=body_model,
        pose_prior=str(pose_prior) if pose_prior else None, device=device, video=video_out,
        side_by_side=side_by_side, overlay_fps=overlay_fps, glb=glb,
        save_mesh=save_mesh, output_format=out_format.value)
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
