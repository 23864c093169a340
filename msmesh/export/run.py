"""Stage "export": everything made from a run folder's fitted SMPL parameters, in one call.

``export_run`` is called by the pipeline (stages.py) after fitting/regression and by ``msmesh export``.
It reads ``video.json``, ``shots.json`` (optional) and ``smpl.npz``/``smpl.json``, and writes, each atomically:
``cameras.json`` (always; camera motion across cuts), ``p{id}.glb`` (animated skinned mesh per person),
``meshes/p{id}_f{frame:06d}.obj`` (one per person per fitted frame), ``overlay.mp4`` (meshes over the
original frames at full frame rate) and, on request, ``smpl.json`` (the parameters as JSON).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from msmesh.data import FitResult, Shot, VideoInfo, load_shots_json, load_smpl, load_video_json, save_smpl
from msmesh.errors import InputError, VideoError

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_progress(stage: str, total: int | None) -> Callable[[int], None]:
    return lambda n=1: None


def find_smpl(run_dir: Path) -> Path:
    """The run folder's fitted parameters file (smpl.npz, else smpl.json)."""
    for name in ("smpl.npz", "smpl.json"):
        if (run_dir / name).is_file():
            return run_dir / name
    raise InputError(f"{run_dir}: no smpl.npz or smpl.json (run `msmesh reconstruct` or `msmesh fit` first)")


def check_run_dir(run_dir: Path) -> None:
    """Raise a one-line InputError when ``run_dir`` is not a run folder."""
    if not run_dir.exists():
        raise InputError(f"{run_dir}: run folder not found")
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a folder (expected a run folder made by `msmesh reconstruct`)")
    if not (run_dir / "video.json").is_file():
        raise InputError(f"{run_dir}: no video.json, not a run folder (made by `msmesh reconstruct`/`fit`)")


def _load_shots(run_dir: Path) -> list[Shot] | None:
    path = run_dir / "shots.json"
    return load_shots_json(path) if path.is_file() else None


def _body(name: str, fit: FitResult) -> BodyModel:
    from msmesh.body import load_body_model

    body = load_body_model(fit.body_model if name == "auto" else name)
    if body.name != fit.body_model:
        raise InputError(f"the parameters were fitted with the '{fit.body_model}' body model but export was asked "
                         f"to use '{name}' ({body.name}); betas do not transfer, pass --body-model {fit.body_model}")
    return body


def _resolve_video(video_path: Path | None, info: VideoInfo, run_dir: Path) -> Path:
    candidates = [video_path] if video_path is not None else [Path(info.source), run_dir / info.source]
    for c in candidates:
        if c is not None and c.is_file():
            return c
    shown = video_path if video_path is not None else info.source
    raise VideoError(f"{shown}: source video not found for the overlay (pass --source-video PATH, or --no-video)")


def export_objs(run_dir: Path, body: BodyModel, fit: FitResult, advance: Callable[[int], None]) -> int:
    """One OBJ per person per fitted frame; returns the number written."""
    from msmesh.export.objfile import obj_name, write_obj

    count = 0
    f32 = torch.float32
    for p in fit.people:
        for s in range(0, len(p), 64):
            sl = slice(s, s + 64)
            n = len(p.frames[sl])
            with torch.no_grad():
                verts = body(torch.as_tensor(p.global_orient[sl], dtype=f32),
                             torch.as_tensor(p.body_pose[sl], dtype=f32),
                             torch.as_tensor(p.betas, dtype=f32)[None].expand(n, -1),
                             torch.as_tensor(p.transl[sl], dtype=f32)).vertices.cpu().numpy()
            for k, frame in enumerate(p.frames[sl]):
                write_obj(run_dir / obj_name(p.id, int(frame)), verts[k], body.faces,
                          comment=f"msmesh person {p.id} frame {int(frame)}; camera coordinates "
                                  "(x right, y down, z forward), metres")
                count += 1
                advance(1)
    return count


def export_run(run_dir: Path, *, obj: bool = False, glb: bool = False, json: bool = False, video: bool = False,
               side_by_side: bool = False, progress: Progress | None = None, smpl_path: Path | None = None,
               video_path: Path | None = None, body_model: str = "auto", body: BodyModel | None = None,
               overlay: bool | None = None, params_json: bool | None = None,
               body_model_name: str | None = None) -> dict[str, int]:
    """Write the requested exports of a run folder; returns counts for the summary table.

    ``obj``: meshes/*.obj; ``glb``: p{id}.glb; ``json``: smpl.json; ``video``: overlay.mp4 (with a side
    view when ``side_by_side``); cameras.json is always written when shots.json is there. ``smpl_path``
    defaults to the run's smpl.npz (else smpl.json), ``video_path`` to the source named in video.json.
    ``body_model`` "auto" uses the model named in the parameters file ("open" or "smpl"); ``body`` passes a
    ready model instead (any object with BodyModel's interface, e.g. a tiny one in tests).
    ``overlay``, ``params_json`` and ``body_model_name`` are the older names of ``video``, ``json`` and
    ``body_model`` (still accepted from stages.py).
    """
    from msmesh.export.camera_motion import chain_shots, write_cameras
    from msmesh.export.glb_skinned import write_person_glb
    from msmesh.render.interp import sampling_step

    video = video if overlay is None else overlay
    json = json if params_json is None else params_json
    body_model = body_model if body_model_name is None else body_model_name
    run_dir = Path(run_dir)
    check_run_dir(run_dir)
    smpl_path = find_smpl(run_dir) if smpl_path is None else Path(smpl_path)
    progress = progress or _no_progress
    info = load_video_json(run_dir / "video.json")
    fit = load_smpl(smpl_path)
    shots = _load_shots(run_dir)
    step = sampling_step(info.sampled_frames)
    counts: dict[str, int] = {}
    shot_cameras = None
    if shots is not None:
        cuts = write_cameras(run_dir / "cameras.json", fit, shots, window=2 * step)
        counts["camera_cuts"] = sum(c["R"] is not None for c in cuts)
        shot_cameras = chain_shots(cuts, shots)
    if json and smpl_path.suffix != ".json":
        save_smpl(run_dir / "smpl.json", fit, format="json")
        counts["json"] = 1
    if not (obj or glb or video):
        return counts
    if body is None:
        body = _body(body_model, fit)
    if video:
        src = _resolve_video(video_path, info, run_dir)
    if glb:
        advance = progress("glb", len(fit.people))
        for p in fit.people:
            write_person_glb(run_dir / f"p{p.id}.glb", body, p, info.fps, shots, step,
                             camera=(fit.focal, info.width, info.height), shot_cameras=shot_cameras)
            advance(1)
        counts["glb"] = len(fit.people)
    if obj:
        counts["obj"] = export_objs(run_dir, body, fit, progress("obj", int(sum(len(p) for p in fit.people))))
    if video:
        from msmesh.render.video_overlay import write_overlay

        counts["overlay_frames"] = write_overlay(run_dir / "overlay.mp4", src, info, fit, shots, body,
                                                 side_by_side=side_by_side,
                                                 advance=progress("overlay", info.frame_count))
    return counts
