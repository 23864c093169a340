"""`msmesh convert`: OpenPose BODY_25 or COCO-results keypoints → a `tracks.json` that `msmesh fit` reads."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from msmesh.atomic import atomic_output
from msmesh.data import (
    MAX_FPS,
    MAX_IMAGE_SIDE,
    Shot,
    Tracks,
    VideoInfo,
    load_tracks,
    save_tracks,
)
from msmesh.errors import FormatError, InputError, NoPeopleError
from msmesh.people.keypoint_files import load_keypoint_detections
from msmesh.people.reid import appearance, identify


class KeypointFormat(str, Enum):
    auto = "auto"
    openpose = "openpose"
    coco = "coco"


def command(
    keypoints: Annotated[Path, typer.Argument(help="OpenPose JSON folder (or one file) or a COCO results JSON.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The tracks.json to write.")] = Path("tracks.json"),
    keypoint_format: Annotated[KeypointFormat, typer.Option(
        "--keypoint-format", help="auto: a folder or *_keypoints.json is OpenPose.")] = KeypointFormat.auto,
    video: Annotated[Path | None, typer.Option("--video", help="The source video: gives size, frame rate, shot "
                                                               "cuts and appearance for linking people across "
                                                               "cuts.")] = None,
    width: Annotated[int | None, typer.Option("--width", help="Image width (without --video).")] = None,
    height: Annotated[int | None, typer.Option("--height", help="Image height (without --video).")] = None,
    fps: Annotated[float, typer.Option("--fps", help="Frame rate (without --video).")] = 30.0,
) -> None:
    """Turn keypoints from OpenPose or a COCO-style detector into msmesh's tracks.json.

    People are tracked inside each shot; with --video, shots are detected and tracklets are linked across
    cuts by appearance. Without --video everything is one shot and --width/--height are required.
    """
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise InputError(f"--fps must be a number in (0, {MAX_FPS:g}], got {fps}")
    for name, side in (("--width", width), ("--height", height)):
        if side is not None and not 0 < side <= MAX_IMAGE_SIDE:
            raise InputError(f"{name} must be in [1, {MAX_IMAGE_SIDE}] pixels, got {side}")
    detections = load_keypoint_detections(keypoints, None, keypoint_format.value)
    frames = sorted(detections)
    if not frames:
        raise NoPeopleError(f"{keypoints}: no keypoint frames found")
    if video is not None:
        from msmesh.video.reader import iter_frames, probe
        from msmesh.video.shots import detect_shots

        info = probe(video)
        bad = [f for f in frames if f >= info.frame_count]
        if bad:
            raise InputError(f"{keypoints}: frame {bad[0]} is past the video's {info.frame_count} frames")
        info.sampled_frames = frames
        shots = detect_shots(video, info)
        for frame, image in iter_frames(video, frames):
            for det in detections[frame]:
                det.appearance = appearance(image, det)
    else:
        if not width or not height or width <= 0 or height <= 0:
            raise InputError("without --video, give the image size with --width and --height")
        count = frames[-1] + 1
        info = VideoInfo(source=str(keypoints), fps=fps, frame_count=count, width=width, height=height,
                         sampled_frames=frames)
        shots = [Shot(0, 0, count)]
    tracks = identify(detections, shots, info).tracks
    if not tracks.people:
        raise NoPeopleError(f"{keypoints}: no person has usable keypoints")
    write_checked_tracks(out, tracks)
    Console().print(f"wrote {out}: {len(tracks.people)} person(s), {len(shots)} shot(s), {len(frames)} frame(s)")


def write_checked_tracks(out: Path, tracks: Tracks) -> None:
    """Write ``out`` only if `msmesh fit` will accept it: it is read back with fit's own loader first."""
    with atomic_output(out) as tmp:
        save_tracks(tmp, tracks)
        try:
            load_tracks(tmp)
        except FormatError as exc:
            raise InputError(f"{out}: field '{exc.field}': {exc.problem} (not written)") from exc
