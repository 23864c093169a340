"""A multi-camera "film" with known cuts, edited from permissive footage, for the shot-detector bench.

Sources (BSD-3-Clause, from PyPI wheels): the Sports2D demo (`sports2d==0.8.34`, one outdoor camera, 1768×994,
30 fps) and the Pose2Sim demos (`pose2sim==0.10.49`, the same lab filmed by four cameras, portrait 1088×1920,
60 fps, taken at every 2nd frame). `build_edit` cuts them into shots of 8–30 frames (640×360, 30 fps):
wide frames and punch-in crops of one camera (wide ↔ punch-in when a camera follows itself), cuts between
cameras of the same room, and between the two scenes — the hard cases of a real multi-camera edit. Every shot
resumes its source where that source last stopped, so the motion inside a shot is continuous and the cut
frames are exactly known. Seeded: the same wheels give the
same clip.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import av
import cv2
import numpy as np

OUT_W, OUT_H, FPS = 640, 360, 30


def _frames(data: bytes, step: int) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i % step == 0]


def load_sources(sports2d_wheel: Path, pose2sim_wheel: Path) -> dict[str, list[np.ndarray]]:
    """Every source's frames (RGB), keyed by a short name."""
    out = {}
    with zipfile.ZipFile(sports2d_wheel) as whl:
        out["s2d"] = _frames(whl.read("Sports2D/Demo/demo.mp4"), 1)
    with zipfile.ZipFile(pose2sim_wheel) as whl:
        for demo in ("SinglePerson", "MultiPerson"):
            for cam in (1, 2, 3, 4):
                out[f"{demo[0].lower()}{cam}"] = _frames(whl.read(f"Pose2Sim/Demo_{demo}/videos/cam0{cam}.mp4"), 2)
    return out


def _framing(image: np.ndarray, tight: bool, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """A 16:9 window (x, y, w, h) on the action: the widest one, or (``tight``) a 50–65 % punch-in.

    The people are in the middle of a landscape source and a little above the middle of a portrait one (the
    Pose2Sim cameras), so windows are centred there with some jitter.
    """
    h, w = image.shape[:2]
    full_w = min(w, h * 16 / 9)
    cw = int(full_w * (rng.uniform(0.5, 0.65) if tight else 1.0))
    ch = int(cw * 9 / 16)
    cx = w / 2 + rng.uniform(-0.15, 0.15) * w
    cy = (h / 2 if w > h else 0.42 * h) + rng.uniform(-0.06, 0.06) * h
    x = int(np.clip(cx - cw / 2, 0, w - cw))
    y = int(np.clip(cy - ch / 2, 0, h - ch))
    return x, y, cw, ch


def build_edit(sources: dict[str, list[np.ndarray]], shots: int = 48,
               seed: int = 0) -> tuple[list[np.ndarray], list[int]]:
    """The edited frames and the first frame of every shot after the first (the cuts)."""
    rng = np.random.default_rng(seed)
    names = sorted(sources)
    position = {n: 0 for n in names}
    frames: list[np.ndarray] = []
    cuts: list[int] = []
    previous = None
    tight: dict[str, bool] = {}
    for k in range(shots):
        # mostly another camera (often of the same room), sometimes the same camera re-framed
        same = previous is not None and rng.random() < 0.15
        name = previous if same else str(rng.choice([n for n in names if n != previous]))
        length = int(rng.integers(8, 31))
        source = sources[name]
        if position[name] + length > len(source):
            position[name] = 0
        # a camera cut back to itself changes the framing (wide ↔ punch-in), as an editor's re-frame does
        tight[name] = (not tight.get(name, False)) if same else bool(rng.random() < 0.5)
        x, y, w, h = _framing(source[0], tight[name], rng)
        if k:
            cuts.append(len(frames))
        for i in range(position[name], position[name] + length):
            crop = source[i][y:y + h, x:x + w]
            frames.append(cv2.resize(crop, (OUT_W, OUT_H),
                                     interpolation=cv2.INTER_AREA if w >= OUT_W else cv2.INTER_LINEAR))
        position[name] += length
        previous = name
    return frames, cuts
