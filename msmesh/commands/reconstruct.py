"""`msmesh reconstruct`: a video in, SMPL for every person out, fitted by the multi-shot optimizer."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from msmesh.commands.progress import rich_progress, summary_table
from msmesh.options import DEFAULT_FPS, Detector, FitMode, Init, Method, OutFormat, PipelineOptions, ShotDetector
from msmesh.pipeline import Pipeline


def resolve_init(init: str, weights: str | None) -> str:
    """``auto`` → ``regress`` when regressor weights are at hand (--weights, the package copy, the Hub
    cache), else ``heuristic``."""
    if init != "auto":
        return init
    from msmesh.regress.hub import default_weights_available

    return "regress" if weights is not None or default_weights_available(temporal=True) else "heuristic"


def default_run_dir(video: Path) -> Path:
    """``runs/<video stem>`` when the user gives no ``--out``."""
    return Path("runs") / video.stem


def command(
    video: Path = typer.Argument(..., help="The video file (any format FFmpeg reads: mp4, mkv, mov, avi...)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder (default: runs/<video name>)."),
    mode: Method = typer.Option(Method.optimize, "--mode", help="optimize: multi-shot SMPL fit to 2D keypoints "
                              "(the paper's method). regress: feed-forward HMR / t-HMMR only."),
    fit_mode: FitMode = typer.Option(FitMode.multishot, "--fit-mode", help="Temporal terms of the fit: frame "
                                     "(none), shot (within shots only), multishot (across cuts; the default)."),
    fps: float = typer.Option(DEFAULT_FPS, "--fps", help="Frames per second sampled for detection and fitting "
                              "(AVA uses 1). 0 < fps; a value ≥ the video's rate uses every frame."),
    start: float | None = typer.Option(None, "--start", help="Start time in seconds."),
    end: float | None = typer.Option(None, "--end", help="End time in seconds."),
    shots: ShotDetector = typer.Option(ShotDetector.content, "--shots", help="Shot-cut detector."),
    detector: Detector = typer.Option(Detector.auto, "--detector", help="People + keypoints: auto (MoveNet + "
                                      "BlazePose landmarks, shipped, offline), movenet, blazepose, or vitpose "
                                      "(RT-DETR + ViTPose from the Hub; msmesh[hub])."),
    keypoints: Path | None = typer.Option(None, "--keypoints", help="Use your own 2D keypoints instead of "
                                          "detection: an OpenPose BODY_25 JSON folder or a COCO results JSON."),
    max_people: int | None = typer.Option(None, "--max-people", help="Keep at most this many people "
                                          "(the ones seen in the most frames)."),
    init: Init = typer.Option(Init.auto, "--init", help="Fitter initialisation: regress (the t-HMMR estimate; "
                              "the fit then needs a third of the iterations), heuristic (mean pose, torso "
                              "orientation, depth from torso size), or auto (regress when weights are present)."),
    weights: str | None = typer.Option(None, "--weights", help="Regressor weights (file or folder) for "
                                       "--init regress / --mode regress (default: the shipped msmesh weights)."),
    temporal: bool = typer.Option(False, "--temporal", help="With --mode regress: t-HMMR instead of HMR."),
    body_model: str = typer.Option("open", "--body-model", help="open (shipped), smpl ($MSMESH_SMPL_DIR) or "
                                   "a path to your SMPL .pkl/.npz."),
    pose_prior: Path | None = typer.Option(None, "--pose-prior", help="SMPLify GMM pose prior (gmm_08.pkl) "
                                           "instead of the shipped open prior."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when present), cpu or cuda[:N]."),
    video_out: bool = typer.Option(True, "--video/--no-video", help="Write overlay.mp4."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Overlay video with a side view of the bodies."),
    overlay_fps: float | None = typer.Option(None, "--overlay-fps", help="Frames per second of overlay.mp4 "
                                             "(default: the video's own rate); lower it for long films, where "
                                             "the overlay dominates the run time."),
    glb: bool = typer.Option(True, "--glb/--no-glb", help="Write one animated GLB per person."),
    save_mesh: bool = typer.Option(False, "--save-mesh", help="Also write one OBJ per person per fitted frame."),
    out_format: OutFormat = typer.Option(OutFormat.npz, "--format", help="smpl.npz or smpl.json."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Reconstruct every person in VIDEO as SMPL, across shot cuts.

    Stages (each saved in the run folder; rerunning skips finished ones): decode → shots → people and
    keypoints → tracking → re-identification across shots → multi-shot fit → exports.
    """
    options = PipelineOptions(
        fps=fps, start=start, end=end, shots=shots.value, detector=detector.value,
        keypoints=str(keypoints) if keypoints else None,
        max_people=max_people, method=mode.value, fit_mode=fit_mode.value,
        init=resolve_init(init.value, weights) if mode == Method.optimize else "heuristic",
        temporal=temporal, weights=weights, body_model=body_model,
        pose_prior=str(pose_prior) if pose_prior else None, device=device, video=video_out,
        side_by_side=side_by_side, overlay_fps=overlay_fps, glb=glb,
        save_mesh=save_mesh, output_format=out_format.value)
    run_pipeline(video, out or default_run_dir(video), options, quiet)


def run_pipeline(video: Path, out: Path, options: PipelineOptions, quiet: bool) -> None:
    """Run the pipeline with rich progress and print the summary table (shared with `regress`)."""
    console = Console(stderr=True)
    with rich_progress(console, enabled=not quiet) as progress:
        summary = Pipeline(video, out, options, progress=progress).run()
    Console().print(summary_table(summary))
