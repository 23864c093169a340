"""`msmesh regress`: the feed-forward path — HMR per frame, or t-HMMR over each person's frames."""

from __future__ import annotations

from pathlib import Path

import typer

from msmesh.commands.reconstruct import default_run_dir, run_pipeline
from msmesh.options import DEFAULT_FPS, Detector, OutFormat, PipelineOptions, ShotDetector


def command(
    video: Path = typer.Argument(..., help="The video file."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder (default: runs/<video name>)."),
    temporal: bool = typer.Option(False, "--temporal", help="t-HMMR (transformer over each person's frames, "
                                  "absent frames masked) instead of per-frame HMR."),
    weights: str | None = typer.Option(None, "--weights", help="Weights file or folder (from `msmesh train` "
                                       "or the authors' .pt) (default: the shipped msmesh weights)."),
    fps: float = typer.Option(DEFAULT_FPS, "--fps", help="Frames per second sampled."),
    start: float | None = typer.Option(None, "--start", help="Start time in seconds."),
    end: float | None = typer.Option(None, "--end", help="End time in seconds."),
    shots: ShotDetector = typer.Option(ShotDetector.content, "--shots", help="Shot-cut detector."),
    detector: Detector = typer.Option(Detector.auto, "--detector", help="People + keypoints: auto, movenet, "
                                      "blazepose (shipped, offline) or vitpose (Hub; msmesh[hub])."),
    keypoints: Path | None = typer.Option(None, "--keypoints", help="Your own 2D keypoints (OpenPose folder "
                                          "or COCO results JSON) instead of detection."),
    max_people: int | None = typer.Option(None, "--max-people", help="Keep at most this many people."),
    body_model: str = typer.Option("open", "--body-model", help="open, smpl or a path to a SMPL file."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when present; fp16 there), cpu or cuda[:N]."),
    video_out: bool = typer.Option(True, "--video/--no-video", help="Write overlay.mp4."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Overlay video with a side view of the bodies."),
    overlay_fps: float | None = typer.Option(None, "--overlay-fps", help="Frames per second of overlay.mp4 "
                                             "(default: the video's own rate); lower it for long films, where "
                                             "the overlay dominates the run time."),
    glb: bool = typer.Option(True, "--glb/--no-glb", help="Write one animated GLB per person."),
    save_mesh: bool = typer.Option(False, "--save-mesh", help="Also write OBJ meshes per frame."),
    out_format: OutFormat = typer.Option(OutFormat.npz, "--format", help="smpl.npz or smpl.json."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Regress SMPL for every person in VIDEO with HMR (per frame) or t-HMMR (--temporal).

    Same front end as `reconstruct` (decode, shots, people, tracking, re-ID), then the regressor.
    """
    options = PipelineOptions(
        fps=fps, start=start, end=end, shots=shots.value, detector=detector.value,
        keypoints=str(keypoints) if keypoints else None,
        max_people=max_people, method="regress", temporal=temporal, weights=weights, body_model=body_model,
        device=device, video=video_out, side_by_side=side_by_side, overlay_fps=overlay_fps, glb=glb,
        save_mesh=save_mesh,
        output_format=out_format.value)
    run_pipeline(video, out or default_run_dir(video), options, quiet)
