"""Stage "export": everything made from a run folder's fitted SMPL parameters, in one call.

``export_run`` is called by the pipeline (stages.py) after fitting/regression and by ``msmesh export``.
It reads ``smpl.npz``/``smpl.json``, ``video.json`` and ``shots.json`` (both optional: a folder made by
``msmesh fit`` has neither), and writes, each atomically: ``cameras.json`` (with shots; camera motion across
cuts), ``p{id}.glb`` (animated skinned mesh per person), ``meshes/p{id}_f{frame:06d}.obj`` (one per person
per fitted frame), ``overlay.mp4`` (meshes over the original frames of the run's range; needs video.json and
the video) and, on request, ``smpl.json`` (the parameters as JSON).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from msmesh.data import FitResult, Shot, VideoInfo, load_shots_json, load_smpl, load_video_json, save_smpl
from msmesh.errors import InputError, VideoError
from msmesh.options import check_rate

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

Progress = Callable[[str, int | None], Callable[[int], None]]
FALLBACK_FPS = 25.0  # GLB timing of a folder without video.json (made by `msmesh fit` from a tracks.json)


def _no_progress(stage: str, total: int | None) -> Callable[[int], None]:
    def advance(n: int = 1) -> None:
        return None

    return advance


def find_smpl(run_dir: Path) -> Path:
    """The run folder's fitted parameters file (smpl.npz, else smpl.json)."""
    for name in ("smpl.npz", "smpl.json"):
        if (run_dir / name).is_file():
            return run_dir / name
    raise InputError(f"{run_dir}: no smpl.npz or smpl.json (run `msmesh reconstruct` or `msmesh fit` first)")


def check_run_dir(run_dir: Path) -> None:
    """Raise a one-line InputError when ``run_dir`` is not a folder (video.json is optional; see export_run)."""
    if not run_dir.exists():
        raise InputError(f"{run_dir}: run folder not found")
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a folder (expected a run folder made by `msmesh reconstruct` or `fit`)")


def _video_info(run_dir: Path, fit: FitResult) -> tuple[VideoInfo, bool]:
    """The run's video.json, or (for a folder made by ``msmesh fit``) a stand-in at ``FALLBACK_FPS`` sized
    from the camera centre; the flag says whether a real video.json was found."""
    if (run_dir / "video.json").is_file():
        return load_video_json(run_dir / "video.json"), True
    frames = [int(f) for p in fit.people for f in p.frames]
    width, height = (max(2, round(2 * c)) for c in fit.center)
    return VideoInfo(source="", fps=FALLBACK_FPS, frame_count=max(frames, default=0) + 1, width=width,
                     height=height, sampled_frames=sorted(set(frames))), False


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
               overlay_fps: float | None = None) -> dict[str, int]:
    """Write the requested exports of a run folder; returns counts for the summary table.

    ``obj``: meshes/*.obj; ``glb``: p{id}.glb; ``json``: smpl.json; ``video``: overlay.mp4 (with a side
    view when ``side_by_side``; ``overlay_fps`` frames a second instead of the source rate); cameras.json is
    always written when shots.json is there. Without video.json, GLBs are timed at ``FALLBACK_FPS`` and the
    overlay is refused. ``smpl_path``
    defaults to the run's smpl.npz (else smpl.json), ``video_path`` to the source named in video.json.
    ``body_model`` "auto" uses the model named in the parameters file ("open" or "smpl"); ``body`` passes a
    ready model instead (any object with BodyModel's interface, e.g. a tiny one in tests).
    """
    from msmesh.export.camera_motion import chain_shots, write_cameras
    from msmesh.export.glb_skinned import write_person_glb
    from msmesh.render.interp import frame_clock, sampling_step

    run_dir = Path(run_dir)
    check_run_dir(run_dir)
    check_rate("--overlay-fps", overlay_fps)
    smpl_path = find_smpl(run_dir) if smpl_path is None else Path(smpl_path)
    progress = progress or _no_progress
    fit = load_smpl(smpl_path)
    info, has_video_json = _video_info(run_dir, fit)
    if video and not has_video_json:
        raise InputError(f"{run_dir}: no video.json, so no source video for the overlay (a folder made by "
                         "`msmesh fit`); --glb, --obj and --json work without it")
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
        glb_step = sampling_step(frame_clock(info.fps, info.timestamps)(info.sampled_frames))
        for p in fit.people:
            write_person_glb(run_dir / f"p{p.id}.glb", body, p, info.fps, shots, glb_step,
                             camera=(fit.focal, info.width, info.height), shot_cameras=shot_cameras,
                             timestamps=info.timestamps)
            advance(1)
        counts["glb"] = len(fit.people)
    if obj:
        counts["obj"] = export_objs(run_dir, body, fit, progress("obj", int(sum(len(p) for p in fit.people))))
    if video:
        from msmesh.render.video_overlay import overlay_frame_indices, write_overlay

        total = len(overlay_frame_indices(info, overlay_fps))
        counts["overlay_frames"] = write_overlay(run_dir / "overlay.mp4", src, info, fit, shots, body,
                                                 side_by_side=side_by_side, overlay_fps=overlay_fps,
                                                 advance=progress("overlay", total))
    return counts
