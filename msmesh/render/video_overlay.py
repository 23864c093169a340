"""Stage "export", overlay part: ``overlay.mp4``, every person's mesh drawn over the original frames.

The overlay covers the run's frame range (``--start``/``--end``, ``VideoInfo.range``), at the source frame
rate or, with ``overlay_fps``, at a lower one (frames picked evenly in time, as for sampling). The source
video is streamed block by block (never held in memory). For each block, each person's SMPL
parameters are interpolated to the block's frames (render/interp.py: slerp within a shot, never across a
cut, nothing in long gaps or outside the fitted range), the body model poses the visible ones in one batch,
and the painter (render/painter.py) draws all people of a frame together. Frames are encoded with PyAV as
H.264 yuv420p; a variable-frame-rate source keeps its frames' own timestamps. With ``side_by_side`` the
right half shows the same bodies seen from their right-hand side (rotated 90° about the vertical axis
through the shot's mean pelvis position).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from msmesh.atomic import atomic_output
from msmesh.body.model import BodyModel
from msmesh.data import FitResult, Shot, VideoInfo
from msmesh.render.interp import FrameParams, frame_clock, interpolate_person, person_shots, sampling_step, shot_ids
from msmesh.render.painter import MeshDraw, blend, person_colour, rasterize
from msmesh.video.reader import iter_frames, pick_frames, quiet_ffmpeg

BLOCK = 16  # frames posed and drawn together
VFR_TIME_BASE = Fraction(1, 90000)  # timestamps of a variable-frame-rate overlay (MPEG's 90 kHz clock)
SIDE_BACKGROUND = (48, 48, 52)


def pose_block(body: BodyModel, params: FrameParams) -> dict[int, np.ndarray]:
    """Vertices (V,3) in camera coordinates for each visible frame of ``params``, keyed by frame index."""
    idx = np.flatnonzero(params.visible)
    if idx.size == 0:
        return {}
    f32 = torch.float32
    with torch.no_grad():
        out = body(torch.as_tensor(params.global_orient[idx], dtype=f32),
                   torch.as_tensor(params.body_pose[idx], dtype=f32),
                   torch.as_tensor(params.betas, dtype=f32)[None].expand(len(idx), -1),
                   torch.as_tensor(params.transl[idx], dtype=f32))
    verts = out.vertices.cpu().numpy()
    return {int(params.frames[i]): verts[k] for k, i in enumerate(idx)}


def shot_pivots(fit: FitResult, shots: Sequence[Shot]) -> dict[int, np.ndarray]:
    """Per shot, the mean pelvis position of everyone fitted in it: the centre of the side view."""
    pivots: dict[int, np.ndarray] = {}
    for s in shots:
        pts = [p.joints[(p.shot == s.id), 0] for p in fit.people]
        pts = [x for x in pts if len(x)]
        if pts:
            pivots[s.id] = np.concatenate(pts).astype(np.float64).mean(axis=0)
    return pivots


def side_view(vertices: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    """Vertices seen from the side: rotated -90° about the camera's y axis around ``pivot``."""
    rot = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    return (vertices - pivot) @ rot.T + pivot


class OverlayRenderer:
    """Draws one frame's people over the frame (and optionally a side view next to it)."""

    def __init__(self, body: BodyModel, fit: FitResult, shots: Sequence[Shot], alpha: float = 0.7,
                 side_by_side: bool = False) -> None:
        self.faces = np.asarray(body.faces)
        self.focal = float(fit.focal)
        self.center = (float(fit.center[0]), float(fit.center[1]))
        self.alpha = alpha
        self.side_by_side = side_by_side
        self.pivots = shot_pivots(fit, shots)

    def render(self, image: np.ndarray, meshes: list[MeshDraw], shot: int) -> np.ndarray:
        """The output frame: ``image`` (H,W,3 RGB) with the meshes; twice as wide with the side view."""
        size = image.shape[:2]
        out = blend(image, rasterize(size, meshes, self.faces, self.focal, self.center), self.alpha)
        if not self.side_by_side:
            return out
        side = np.empty_like(image)
        side[:] = SIDE_BACKGROUND
        pivot = self.pivots.get(shot)
        if pivot is not None and meshes:
            turned = [MeshDraw(side_view(m.vertices, pivot), m.colour) for m in meshes]
            side = blend(side, rasterize(size, turned, self.faces, self.focal, self.center), 1.0)
        cv2.putText(side, "side view", (8, 8 + max(10, size[0] // 30)), cv2.FONT_HERSHEY_SIMPLEX,
                    max(0.35, size[0] / 900), (200, 200, 200), 1, cv2.LINE_AA)
        return np.concatenate([out, side], axis=1)


def _blocks(frames: Iterator[tuple[int, np.ndarray]], size: int) -> Iterator[list[tuple[int, np.ndarray]]]:
    block: list[tuple[int, np.ndarray]] = []
    for item in frames:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def overlay_frame_indices(info: VideoInfo, overlay_fps: float | None = None) -> list[int]:
    """The source frames the overlay shows: the run's frame range, every frame or ``overlay_fps`` a second."""
    first, end = info.frame_range()
    return pick_frames(info, first, end, overlay_fps)


def overlay_frames(video_path: Path, info: VideoInfo, fit: FitResult, shots: Sequence[Shot] | None,
                   body: BodyModel, side_by_side: bool = False, alpha: float = 0.7,
                   frames: Sequence[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, rendered RGB frame)`` for ``frames`` (default: the run's range), streaming.

    Interpolation runs on ``frame_clock``: in time for variable-frame-rate video.
    """
    clock = frame_clock(info.fps, info.timestamps)
    step = sampling_step(clock(info.sampled_frames))
    people = [replace(p, frames=clock(p.frames)) for p in fit.people]
    renderer = OverlayRenderer(body, fit, shots or [], alpha=alpha, side_by_side=side_by_side)
    wanted = overlay_frame_indices(info) if frames is None else frames
    for block in _blocks(iter_frames(video_path, wanted), BLOCK):
        idx = np.array([i for i, _ in block], dtype=np.int64)
        block_shots = shot_ids(idx, shots) if shots else np.full(len(idx), -1)
        posed: list[tuple[np.ndarray, dict[int, np.ndarray]]] = []
        ticks = clock(idx)
        for p in people:
            fs = block_shots if shots else person_shots(p, ticks)
            posed.append((person_colour(p.id), pose_block(body, interpolate_person(p, ticks, fs, step))))
        for k, (_, img) in enumerate(block):
            t = int(ticks[k])
            meshes = [MeshDraw(v[t], colour) for colour, v in posed if t in v]
            yield int(idx[k]), renderer.render(img, meshes, int(block_shots[k]))


def write_overlay(out_path: Path, video_path: Path, info: VideoInfo, fit: FitResult, shots: Sequence[Shot] | None,
                  body: BodyModel, side_by_side: bool = False, alpha: float = 0.7,
                  advance: Callable[[int], None] | None = None, crf: int = 20,
                  overlay_fps: float | None = None) -> int:
    """Render and encode ``overlay.mp4`` atomically (H.264 yuv420p); returns frames written.

    Covers the run's frame range at the source rate, or ``overlay_fps`` frames a second. A constant-rate
    result is encoded at its rate; a variable-rate source (without ``overlay_fps``) keeps its timestamps.
    """
    frames = overlay_frame_indices(info, overlay_fps)
    if overlay_fps is not None and (info.timestamps is not None or overlay_fps < info.fps):
        rate, times = Fraction(overlay_fps).limit_denominator(1001), None
    else:
        rate = Fraction(info.fps).limit_denominator(1001)
        at = np.asarray(frames)
        times = dict(zip(frames, info.frame_times(at) - info.frame_times(at[:1]), strict=True)) \
            if info.timestamps is not None and frames else None
    count = 0
    quiet_ffmpeg()  # libx264 would print its statistics over the progress bars
    with atomic_output(out_path) as tmp, av.open(str(tmp), "w") as container:
        stream = None
        for index, frame in overlay_frames(video_path, info, fit, shots, body, side_by_side, alpha, frames):
            h, w = frame.shape[:2]
            if h % 2 or w % 2:  # yuv420p needs even sizes: repeat the last row/column
                frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            if stream is None:
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height = frame.shape[1], frame.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast"}
                if times is not None:
                    stream.codec_context.time_base = stream.time_base = VFR_TIME_BASE
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            if times is not None:
                picture.pts = int(round(times[index] / VFR_TIME_BASE))
                picture.time_base = VFR_TIME_BASE
            for packet in stream.encode(picture):
                container.mux(packet)
            count += 1
            if advance is not None:
                advance(1)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return count
