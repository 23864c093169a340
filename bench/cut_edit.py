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


def next_shot(sources: dict[str, list[np.ndarray]], position: dict[str, int], previous: str | None,
              rng: np.random.Generator, lengths: tuple[int, int]) -> tuple[str, int, int]:
    """The next shot of an edit: another source than ``previous``, a length in ``lengths`` (half-open), resuming
    the source where it last stopped (from its start when too few frames are left); advances ``position``."""
    name = str(rng.choice([n for n in sorted(sources) if n != previous]))
    length = int(rng.integers(*lengths))
    if position[name] + length > len(sources[name]):
        position[name] = 0
    start = position[name]
    position[name] += length
    return name, start, length


def _pan(source: list[np.ndarray], start: int, length: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A fast pan: a punch-in window sweeping across the frame (20–45 % of its width per 10 frames), with the
    motion blur a camera gives at that speed (a horizontal box kernel as long as the step)."""
    h, w = source[0].shape[:2]
    cw = int(min(w, h * 16 / 9) * 0.55)
    ch = int(cw * 9 / 16)
    speed = rng.uniform(0.02, 0.045) * w * rng.choice([-1, 1])
    x0 = (w - cw) / 2 - speed * length / 2
    y = int(np.clip((h - ch) / 2 + rng.uniform(-0.05, 0.05) * h, 0, h - ch))
    out = []
    for k in range(length):
        x = int(np.clip(x0 + speed * k, 0, w - cw))
        frame = cv2.resize(source[(start + k) % len(source)][y:y + ch, x:x + cw], (OUT_W, OUT_H),
                           interpolation=cv2.INTER_AREA)
        blur = max(1, int(abs(speed) * OUT_W / cw))
        out.append(cv2.blur(frame, (blur, 1)))
    return out


def _flash(frames: list[np.ndarray], at: int, rng: np.random.Generator) -> None:
    """A photographer's flash or a lighting change inside a shot: 1–3 frames brightened ×1.6–2.5 (or blown to
    near white), decaying back."""
    gain = rng.uniform(1.6, 2.5)
    for k in range(int(rng.integers(1, 4))):
        if at + k < len(frames):
            g = 1 + (gain - 1) * 0.5 ** k
            frames[at + k] = np.clip(frames[at + k].astype(np.float32) * g + 40 * (g - 1), 0, 255).astype(np.uint8)


def build_film_edit(sources: dict[str, list[np.ndarray]], shots: int = 40,
                    seed: int = 0) -> tuple[list[np.ndarray], list[int], list[tuple[int, int]], dict[str, list[int]]]:
    """A harder, more film-like edit than ``build_edit``: besides hard cuts, shots that are fast blurred pans,
    flashes and brightness jumps inside shots (non-cut events that fool detectors), and dissolves.

    Returns the frames, the hard cuts (first frame of the new shot), the dissolves as (first, last) mixed frame
    — a gradual transition, found when a detector puts a cut inside it (± 2 frames) — and the frames of the
    non-cut events by kind ("pan", "flash"), where any cut is a false positive.
    """
    rng = np.random.default_rng(seed)
    position = {n: 0 for n in sources}
    frames: list[np.ndarray] = []
    cuts: list[int] = []
    dissolves: list[tuple[int, int]] = []
    events: dict[str, list[int]] = {"pan": [], "flash": []}
    previous = None
    last_length = 0
    for k in range(shots):
        name, start, length = next_shot(sources, position, previous, rng, (15, 41))
        source = sources[name]
        # a dissolve over 8–20 frames mixes the end of the previous shot with this one's start
        span = min(int(rng.integers(8, 21)), last_length - 5, length - 8) if k and rng.random() < 0.2 else 0
        span = span if span >= 4 else 0
        base = len(frames) - span  # this shot's frame j lands on base + j
        if rng.random() < 0.25:
            shot = _pan(source, start, length, rng)
            events["pan"] += list(range(base + max(span, 1), base + length))
        else:
            x, y, w, h = _framing(source[0], bool(rng.random() < 0.5), rng)
            shot = [cv2.resize(source[i][y:y + h, x:x + w], (OUT_W, OUT_H),
                               interpolation=cv2.INTER_AREA if w >= OUT_W else cv2.INTER_LINEAR)
                    for i in range(start, start + length)]
        if rng.random() < 0.3:
            at = int(rng.integers(max(3, span + 2), length - 4))
            _flash(shot, at, rng)
            events["flash"] += list(range(base + at, base + at + 4))
        if span:
            for j in range(span):
                a = (j + 1) / (span + 1)
                frames[base + j] = cv2.addWeighted(frames[base + j], 1 - a, shot[j], a, 0)
            dissolves.append((base, base + span - 1))
        elif k:
            cuts.append(base)
        shot = shot[span:]
        last_length = length - span
        frames += shot
        previous = name
    return frames, cuts, dissolves, events
