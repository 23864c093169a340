"""`msmesh regress`: the feed-forward path — HMR per frame, or t-HMMR over each person's frames."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msmesh.commands.common import pipeline_options, run_default, run_option
from msmesh.commands.reconstruct import default_run_dir, run_pipeline
from msmesh.options import Detector, OutFormat, ShotDetector


def command(
    video: Annotated[Path, typer.Argument(help="The video file.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder (default: runs/<video name>).")] = None,
    temporal: Annotated[bool, run_option("temporal", help="t-HMMR (transformer over each person's frames, "
                                         "absent frames masked) instead of per-frame HMR.")] = False,
    weights: Annotated[str | None, run_option("weights", help="Weights file or folder (from `msmesh train` or "
                                              "the authors' .pt) (default: the shipped msmesh weights).")] = None,
    fps: Annotated[float, run_option("fps")] = run_default("fps"),
    start: Annotated[float | None, run_option("start")] = run_default("start"),
    end: Annotated[float | None, run_option("end")] = run_default("end"),
    shots: Annotated[ShotDetector, run_option("shots")] = run_default("shots"),
    detector: Annotated[Detector, run_option("detector")] = run_default("detector"),
    keypoints: Annotated[Path | None, run_option("keypoints")] = run_default("keypoints"),
    max_people: Annotated[int | None, run_option("max_people")] = run_default("max_people"),
    body_model: Annotated[str, run_option("body_model")] = run_default("body_model"),
    device: Annotated[str, run_option("device", help="auto (CUDA when present; fp16 there), cpu or "
                                      "cuda[:N].")] = run_default("device"),
    video_out: Annotated[bool, run_option("video")] = run_default("video"),
    side_by_side: Annotated[bool, run_option("side_by_side")] = run_default("side_by_side"),
    overlay_fps: Annotated[float | None, run_option("overlay_fps")] = run_default("overlay_fps"),
    glb: Annotated[bool, run_option("glb")] = run_default("glb"),
    save_mesh: Annotated[bool, run_option("save_mesh")] = run_default("save_mesh"),
    out_format: Annotated[OutFormat, run_option("output_format")] = run_default("output_format"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Regress SMPL for every person in VIDEO with HMR (per frame) or t-HMMR (--temporal).

    Same front end as `reconstruct` (decode, shots, people, tracking, re-ID), then the regressor.
    """
    options = pipeline_options(
        fps=fps, start=start, end=end, shots=shots, detector=detector, keypoints=keypoints,
        max_people=max_people, method="regress", temporal=temporal, weights=weights, body_model=body_model,
        device=device, video=video_out, side_by_side=side_by_side, overlay_fps=overlay_fps, glb=glb,
        save_mesh=save_mesh, output_format=out_format)
    run_pipeline(video, out or default_run_dir(video), options, quiet)
