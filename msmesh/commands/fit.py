"""`msmesh fit`: fit SMPL to a tracks.json (2D keypoint tracks) with the multi-shot optimizer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from msmesh.commands.common import run_default, run_option
from msmesh.errors import InputError
from msmesh.options import FitMode, OutFormat, resolve_init
from msmesh.runlock import output_folder


def command(
    tracks: Annotated[Path, typer.Argument(help="The tracks.json to fit (COCO-17 keypoints per person and frame).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder; smpl.npz (or smpl.json) is written there.")],
    mode: Annotated[FitMode, typer.Option("--mode", help="Temporal terms: frame (none), shot (within shots "
                                                         "only), multishot (canonical-frame smoothness across "
                                                         "cuts; the "
                                                         "paper).")] = FitMode.multishot,
    init: Annotated[str, typer.Option("--init", help="What starts the fit: regress (msmesh's t-HMMR on the "
                                                     "keypoints; the fit then runs a tenth of the iterations), "
                                                     "heuristic (mean "
                                                     "pose), auto (regress when its weights are installed), or "
                                                     "the path of an "
                                                     "smpl.npz/json whose parameters initialise the fit.")] = "auto",
    body_model: Annotated[str, run_option("body_model")] = run_default("body_model"),
    pose_prior: Annotated[Path | None, run_option("pose_prior")] = run_default("pose_prior"),
    iterations: Annotated[int | None, typer.Option("--iterations", help="Maximum optimiser iterations of the "
                                                                        "main stage (default 300).", min=1)] = None,
    device: Annotated[str, run_option("device")] = run_default("device"),
    out_format: Annotated[OutFormat, run_option("output_format")] = run_default("output_format"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Fit SMPL to TRACKS (a tracks.json) and write OUT/smpl.npz: per person and frame the SMPL parameters in
    that frame's camera, and the 24 SMPL joints in metres."""
    from msmesh.body import load_body_model
    from msmesh.data import load_smpl, load_tracks, save_smpl
    from msmesh.device import resolve_device

    console = Console(stderr=True)
    data = load_tracks(tracks)
    if not data.people:
        raise InputError(f"{tracks}: no people to fit")
    dev = resolve_device(device)
    bm = load_body_model(body_model)
    options: dict = {}
    init_result = None
    init = resolve_init(init, None)  # "auto" as `reconstruct` decides it
    if init == "regress":
        from msmesh.regress.hub import load_regressor
        from msmesh.regress.predict import regress_tracks
        from msmesh.stages import REGRESS_INIT_ITERS

        init_result = regress_tracks(data, None, load_regressor(None, temporal=True), dev, body_model=bm)
        options["stage2_iters"] = REGRESS_INIT_ITERS
    elif init != "heuristic":
        init_result = load_smpl(Path(init))
    if pose_prior is not None:
        options["pose_prior_path"] = str(pose_prior)
    if iterations is not None:
        options["stage2_iters"] = iterations
    frames = sum(len(p) for p in data.people)
    target = out / ("smpl.json" if out_format == OutFormat.json else "smpl.npz")
    with output_folder(out):
        result = _fit(data, bm, mode, init_result, dev, options, console, quiet)
        save_smpl(target, result, format=out_format.value)  # refuses a non-finite result
    if not quiet:
        console.print(f"fitted {len(result.people)} person(s), {frames} frame(s) ({mode.value}) → {target}")


def _fit(data, bm, mode: FitMode, init_result, dev, options: dict, console: Console, quiet: bool):  # noqa: ANN001, ANN202
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from msmesh.fit.fitter import fit_tracks

    with Progress(
        TextColumn("[bold]fit"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} iterations"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as progress:
        task = progress.add_task("fit", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return fit_tracks(
            data, bm, mode=mode.value, init=init_result, device=dev, progress=report, **options
        )

