"""`msmesh regress`: the feed-forward path — HMR per frame, or t-HMMR over each person's frames."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from msmesh.commands.common import RUN_OPTIONS, Quiet, RunFolder, pipeline_options, with_run_options
from msmesh.commands.reconstruct import default_run_dir, run_pipeline

# every run option but the optimizer's (--mode is this command's own, "regress"); the regressor's first
REGRESS_OPTIONS = ("temporal", "weights", *(n for n in RUN_OPTIONS if n not in
                                            ("method", "fit_mode", "init", "pose_prior", "temporal", "weights")))
HELP = {
    "temporal": "t-HMMR (transformer over each person's frames, absent frames masked) instead of per-frame HMR.",
    "weights": "Weights file or folder (from `msmesh train` or the authors' .pt) (default: the shipped msmesh "
               "weights).",
    "device": "auto (CUDA when present; fp16 there), cpu or cuda[:N].",
}


@with_run_options(REGRESS_OPTIONS, help=HELP)
def command(
    video: Annotated[Path, typer.Argument(help="The video file.")],
    out: RunFolder = None, quiet: Quiet = False, *, run: dict[str, Any],
) -> None:
    """Regress SMPL for every person in VIDEO with HMR (per frame) or t-HMMR (--temporal).

    Same front end as `reconstruct` (decode, shots, people, tracking, re-ID), then the regressor.
    """
    run_pipeline(video, out or default_run_dir(video), pipeline_options(method="regress", **run), quiet)
