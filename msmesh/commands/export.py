"""`msmesh export`: a run folder's fitted SMPL parameters → OBJ / animated GLB / JSON / overlay video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from msmesh.commands.common import Quiet
from msmesh.commands.progress import rich_progress
from msmesh.export.run import check_run_dir, export_run, find_smpl
from msmesh.runlock import run_lock


def command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder made by `msmesh reconstruct`, `regress` or `fit`.")],
    obj: Annotated[bool, typer.Option("--obj", help="One OBJ per person per fitted frame "
                                                    "(meshes/p{id}_f{frame}.obj).")] = False,
    glb: Annotated[bool, typer.Option("--glb", help="One animated, skinned GLB per person (p{id}.glb).")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="The SMPL parameters as smpl.json.")] = False,
    video: Annotated[bool, typer.Option("--video", help="overlay.mp4: the meshes drawn over the original "
                                                        "frames.")] = False,
    side_by_side: Annotated[bool, typer.Option("--side-by-side", help="With --video: add a view of the bodies "
                                                                      "from the side, next to the overlay.")] = False,
    overlay_fps: Annotated[float | None, typer.Option("--overlay-fps", help="With --video: frames per second of "
                                                                            "overlay.mp4 (default: the video's "
                                                                            "own rate).")] = None,
    source_video: Annotated[Path | None, typer.Option("--source-video", help="The original video, when it is no "
                                                                             "longer where video.json says.")] = None,
    body_model: Annotated[str, typer.Option("--body-model", help="The body model the run was fitted with: auto "
                                                                 "(the one smpl.npz names), open, smpl or a "
                                                                 "path to your SMPL .pkl/.npz.")] = "auto",
    quiet: Quiet = False,
) -> None:
    """Export RUN_DIR's fitted bodies: --obj, --glb, --json, --video (any combination; cameras.json always).

    Writes into the run folder: cameras.json (camera motion across each shot cut), p{id}.glb, meshes/*.obj,
    smpl.json and overlay.mp4. With no option, only cameras.json is (re)written. A folder made by `msmesh fit`
    (no video.json) exports GLB (timed at 25 fps), OBJ and JSON; only --video needs the source video.
    """
    check_run_dir(run_dir)
    with run_lock(run_dir), rich_progress(Console(stderr=True), enabled=not quiet) as progress:
        smpl = find_smpl(run_dir)
        counts = export_run(run_dir, smpl_path=smpl, video_path=source_video, obj=obj, glb=glb, json=json_out,
                            video=video, body_model=body_model, progress=progress, side_by_side=side_by_side,
                            overlay_fps=overlay_fps)
    table = Table(title=f"msmesh export: {run_dir}")
    table.add_column("output")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key, str(value))
    Console().print(table)
