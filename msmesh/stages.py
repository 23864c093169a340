"""The pipeline's stages: what each one reads and writes in the run folder, and the call that does it.

`Pipeline` (pipeline.py) runs them in order and skips the ones already done; this module is the glue between
the run-folder files and the library functions of each stage (video/, people/, fit/, regress/, export/).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from msmesh.atomic import atomic_write_json
from msmesh.data import (
    FitResult,
    Tracks,
    load_shots_json,
    load_smpl,
    load_tracks,
    load_video_json,
    save_shots_json,
    save_smpl,
    save_tracks,
    save_video_json,
)
from msmesh.errors import NoPeopleError
from msmesh.options import PipelineOptions, ProgressFactory, RunSummary, StageReport

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

REGRESS_INIT_ITERS = 33  # L-BFGS iterations of the main fit stage when the regressor starts it (default 300)

StageFn = Callable[[Path, Path, PipelineOptions, ProgressFactory], dict[str, int]]


@dataclass(frozen=True)
class Stage:
    """One step: its outputs (files in the run folder), the options and earlier stages its result depends on."""

    name: str
    outputs: tuple[str, ...]
    options: tuple[str, ...]
    inputs: tuple[str, ...]
    run: StageFn
    exports: bool = False  # writes the export files (run_files.EXPORT_PATTERNS), whose names depend on the data


def smpl_file(options: PipelineOptions) -> str:
    return "smpl.json" if options.output_format == "json" else "smpl.npz"


# ---------------------------------------------------------------------------------------------- stages


def _decode(video: Path, run: Path, opts: PipelineOptions, progress: ProgressFactory) -> dict[str, int]:
    from msmesh.video.reader import frame_range, probe, sample_frames

    info = probe(video)
    info.sampled_frames = sample_frames(info, opts.fps, opts.start, opts.end)
    info.range = frame_range(info, opts.start, opts.end)
    save_video_json(run / "video.json", info)
    counts = {"frames": info.frame_count, "sampled": len(info.sampled_frames)}
    if info.skipped_frames:
        counts["skipped"] = info.skipped_frames
    return counts


def _shots(video: Path, run: Path, opts: PipelineOptions, progress: ProgressFactory) -> dict[str, int]:
    from msmesh.video.shots import detect_shots

    info = load_video_json(run / "video.json")
    shots = detect_shots(video, info, opts.shots)
    save_shots_json(run / "shots.json", shots)
    return {"shots": len(shots)}


def _detect(video: Path, run: Path, opts: PipelineOptions, progress: ProgressFactory) -> dict[str, int]:
    from msmesh.people.detect import make_detector
    from msmesh.people.detection import save_detections
    from msmesh.people.reid import appearance
    from msmesh.video.reader import iter_frames

    info = load_video_json(run / "video.json")
    if opts.keypoints:
        from msmesh.people.keypoint_files import load_keypoint_detections

        detections = load_keypoint_detections(opts.keypoints, info)
        wanted = set(info.sampled_frames)
        detections = {f: d for f, d in detections.items() if f in wanted}
    else:
        detector = make_detector(opts.detector)
        if opts.detector == "auto":  # inside a shot, people are followed from frame to frame
            from msmesh.people.roi_tracking import RoiTracker, in_order

            tracker = RoiTracker(detector)  # type: ignore[arg-type]
            detect_one = in_order(tracker, info, load_shots_json(run / "shots.json"))
        else:
            detect_one = lambda frame, image: detector(image)  # noqa: E731
        detections = {}
    advance = progress("detect", len(info.sampled_frames))
    for frame, image in iter_frames(video, info.sampled_frames):
        if not opts.keypoints:
            detections[frame] = detect_one(frame, image)
        for det in detections.get(frame, []):
            det.appearance = appearance(image, det)
        advance(1)
    save_detections(run / "detections.json", detections)
    found = sum(len(d) for d in detections.values())
    if found == 0:
        raise NoPeopleError(f"{video}: no people found in {len(info.sampled_frames)} sampled frames")
    return {"detections": found}


def _track(video: Path, run: Path, opts: PipelineOptions, progress: ProgressFactory) -> dict[str, int]:
    from msmesh.people.detection import load_detections
    from msmesh.people.reid import identify

    info = load_video_json(run / "video.json")
    shots = load_shots_json(run / "shots.json")
    detections = load_detections(run / "detections.json")
    # one-frame people are mostly false positives
    found = identify(detections, shots, info, opts.max_people, min_frames=min(2, len(info.sampled_frames)))
    tracklets, clusters, links, tracks = found.tracklets, found.clusters, found.links, found.tracks
    if not tracks.people:
        raise NoPeopleError(f"{video}: nobody was tracked over more than one sampled frame")
    atomic_write_json(run / "reid.json", {
        "format": "msmesh/reid@1",
        "tracklets": [{"id": t.id, "shot": t.shot, "frames": t.frames} for t in tracklets],
        "people": [{"id": pid, "tracklets": [t.id for t in c]} for pid, c in enumerate(clusters)],
        "links": [{"a": lk.tracklets_a, "b": lk.tracklets_b, "score": lk.score} for lk in links],
        "relabelled": [{"tracklet": tid, "frames": frames} for tid, frames in found.relabelled.items()],
    })
    save_tracks(run / "tracks.json", tracks)
    summary = {"tracklets": len(tracklets), "people": len(tracks.people)}
    if found.relabelled:
        summary["left/right fixed"] = sum(len(f) for f in found.relabelled.values())
    return summary


def _frames_provider(video: Path, tracks: Tracks) -> Callable[[int], np.ndarray]:
    from msmesh.video.reader import FrameCache

    frames = sorted({int(f) for p in tracks.people for f in p.frames})
    return FrameCache(video, frames)


def _regress(video: Path, tracks: Tracks, opts: PipelineOptions, body_model: BodyModel, progress: ProgressFactory,
             temporal: bool | None = None) -> FitResult:
    from msmesh.device import resolve_device
    from msmesh.regress.hub import load_regressor
    from msmesh.regress.predict import regress_tracks

    device = resolve_device(opts.device)
    model = load_regressor(opts.weights, opts.temporal if temporal is None else temporal, device)
    frames = None if model.config.input == "keypoints" else _frames_provider(video, tracks)
    return regress_tracks(tracks, frames, model, device, body_model=body_model,
                          progress=_counter(progress, "regress"))


def init_temporal(opts: PipelineOptions) -> bool:
    """Which regressor starts the fit with ``--init regress``: the shipped t-HMMR unless --weights names
    one (then --temporal says which)."""
    return opts.temporal or opts.weights is None


def _counter(progress: ProgressFactory, stage: str) -> Callable[[int, int], None]:
    """Adapt the pipeline's progress factory to the ``callback(done, total)`` style of fit and regress."""
    advance: Callable[[int], None] | None = None
    last = 0

    def callback(done: int, total: int) -> None:
        nonlocal advance, last
        if advance is None:
            advance = progress(stage, total)
        advance(max(0, done - last))
        last = done

    return callback


def _fit(video: Path, run: Path, opts: PipelineOptions, progress: ProgressFactory) -> dict[str, int]:
    import torch

    from msmesh.body import load_body_model
    from msmesh.device import resolve_device
    from msmesh.fit.fitter import FitOptions, fit_tracks

    tracks = load_tracks(run / "tracks.json")
    device = resolve_device(opts.device)
    body_model = load_body_model(opts.body_model, device=device)
    if opts.method == "regress":
        result = _regress(video, tracks, opts, body_model, progress)
    else:
        init = (_regress(video, tracks, opts, body_model, progress, init_temporal(opts))
                if opts.init == "regress" else None)
        fit_options = FitOptions(pose_prior_path=opts.pose_prior or None)
        if init is not None:
            fit_options.stage2_iters = REGRESS_INIT_ITERS
        threads = torch.get_num_threads()
        if device.type == "cpu":
            torch.set_num_threads(1)  # the fit's small tensor ops run fastest on one thread
        try:
            result = fit_tracks(tracks, body_model, mode=opts.fit_mode, init=init, device=device,
                                progress=_counter(progress, "fit"), options=fit_options)
        finally:
            torch.set_num_threads(threads)
    save_smpl(run / smpl_file(opts), result, format=opts.output_format)
    return {"people": len(result.people), "frames": sum(len(p) for p in result.people)}


def _export(video: Path, run: Path, opts: PipelineOptions, progress: ProgressFactory) -> dict[str, int]:
    from msmesh.export.run import export_run

    return export_run(run, smpl_path=run / smpl_file(opts), video_path=video, obj=opts.save_mesh,
                      glb=opts.glb, video=opts.video, body_model=opts.body_model, progress=progress,
                      side_by_side=opts.side_by_side, overlay_fps=opts.overlay_fps)


def preflight(options: PipelineOptions) -> None:
    """Fail before any work when a model the run will need cannot be had (weights, body model)."""
    from msmesh.body import load_body_model

    load_body_model(options.body_model)
    if options.method == "regress" or options.init == "regress":
        from pathlib import Path as _Path

        from msmesh.errors import InputError
        from msmesh.regress.hub import default_weights, load_regressor, registry

        temporal = options.temporal if options.method == "regress" else init_temporal(options)
        if options.weights is not None:
            if not _Path(options.weights).exists():
                raise InputError(f"--weights {options.weights}: file or folder not found")
            load_regressor(options.weights, temporal)  # unreadable or ill-fitting weights stop the run here
        else:
            default_weights(registry()["thmmr" if temporal else "hmr"])


def plan(options: PipelineOptions) -> list[Stage]:
    """The stages to run for these options, in order."""
    fit_opts = ("method", "fit_mode", "init", "temporal", "weights", "body_model", "pose_prior", "output_format")
    # only the auto detector's tracking mode reads the shots (it restarts at each cut)
    detect_inputs = ("decode", "shots") if options.detector == "auto" and not options.keypoints else ("decode",)
    stages = [
        Stage("decode", ("video.json",), ("fps", "start", "end"), (), _decode),
        Stage("shots", ("shots.json",), ("shots",), ("decode",), _shots),
        Stage("detect", ("detections.json",), ("detector", "keypoints"), detect_inputs, _detect),
        Stage("track", ("tracks.json", "reid.json"), ("max_people",), ("shots", "detect"), _track),
        Stage("fit" if options.method == "optimize" else "regress", (smpl_file(options),), fit_opts, ("track",),
              _fit),
    ]
    if options.video or options.glb or options.save_mesh:
        export_opts = ("video", "side_by_side", "overlay_fps", "glb", "save_mesh", "body_model")
        stages.append(Stage("export", (), export_opts, (stages[-1].name,), _export, exports=True))
    return stages


def summarize(run: Path, reports: list[StageReport]) -> RunSummary:
    """Counts for the summary table, read back from the run folder."""
    summary = RunSummary(run_dir=run, stages=reports)
    if (run / "shots.json").exists():
        summary.shots = len(load_shots_json(run / "shots.json"))
    for name in ("smpl.npz", "smpl.json"):
        if (run / name).exists():
            result = load_smpl(run / name)
            summary.people = len(result.people)
            summary.frames_fitted = sum(len(p) for p in result.people)
            break
    return summary
