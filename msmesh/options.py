"""What a pipeline run is asked to do and what it reports: ``PipelineOptions`` (every option that changes a
run's result, validated in one place), ``StageReport`` / ``RunSummary`` and the ``ProgressFactory`` callback
type. A leaf module: the pipeline, its stages, the commands and the batch engines all build on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from msmesh.errors import InputError


class FitMode(str, Enum):
    """Temporal terms of the fit: none, within shots, or across cuts in a canonical frame (the paper)."""

    frame = "frame"
    shot = "shot"
    multishot = "multishot"


class Method(str, Enum):
    optimize = "optimize"
    regress = "regress"


class Init(str, Enum):
    """Fitter initialisation; ``auto`` is resolved by the commands before a run (``resolve_init``)."""

    auto = "auto"
    heuristic = "heuristic"
    regress = "regress"


class ShotDetector(str, Enum):
    adaptive = "adaptive"
    content = "content"
    transnet = "transnet"


class Detector(str, Enum):
    auto = "auto"
    movenet = "movenet"
    blazepose = "blazepose"
    vitpose = "vitpose"


class OutFormat(str, Enum):
    npz = "npz"
    json = "json"


FIT_MODES: tuple[str, ...] = tuple(m.value for m in FitMode)
RUN_INITS = (Init.heuristic.value, Init.regress.value)  # what a run takes once ``auto`` is resolved
DEFAULT_FPS = 5.0
"""Default sampling rate for detection and fitting: fine enough that both sides of a cut are sampled
within 0.2 s, coarse enough that a feature film stays tractable on a CPU (AVA's benchmark uses 1 fps)."""
MAX_SECONDS = 1e7  # --start/--end beyond ~116 days are typos (and overflow frame arithmetic)


def check_rate(name: str, value: float | None) -> None:
    """A frame rate option (``--fps``, ``--overlay-fps``) is None or a finite number > 0; else InputError."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a finite number > 0, got {value}")


@dataclass
class PipelineOptions:
    """Every option that changes what a run produces (hashed per stage for resume)."""

    fps: float | None = DEFAULT_FPS  # sampling rate for detection/fitting; None = every frame
    start: float | None = None  # seconds
    end: float | None = None  # seconds
    shots: str = "content"  # shot detector: adaptive | content | transnet
    detector: str = "auto"  # people/keypoint backend (people.detect.DETECTORS)
    keypoints: str | None = None  # user keypoints file/folder (OpenPose / COCO JSON) instead of detection
    max_people: int | None = None
    method: str = "optimize"  # optimize | regress
    fit_mode: str = "multishot"  # frame | shot | multishot
    init: str = "heuristic"  # heuristic | regress
    temporal: bool = False  # regress: t-HMMR instead of per-frame HMR
    weights: str | None = None  # regressor weights (file/folder); None = the registry default
    body_model: str = "open"
    pose_prior: str | None = None
    device: str = "auto"
    video: bool = True  # overlay.mp4
    side_by_side: bool = False  # overlay.mp4 with a side view of the bodies
    overlay_fps: float | None = None  # overlay.mp4 frame rate; None = the source's
    save_mesh: bool = False  # meshes/*.obj
    glb: bool = True  # p{id}.glb
    output_format: str = "npz"  # smpl.npz or smpl.json

    def validate(self) -> None:
        """Reject impossible option values with a one-line InputError."""
        check_rate("--fps", self.fps)
        for name, value in (("--start", self.start), ("--end", self.end)):
            if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
                raise InputError(f"{name} must be a number of seconds in [0, {MAX_SECONDS:.0e}], got {value}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InputError(f"--end ({self.end}) must be after --start ({self.start})")
        if self.fit_mode not in FIT_MODES:
            raise InputError(f"unknown fit mode {self.fit_mode!r} (expected one of {', '.join(FIT_MODES)})")
        if self.method not in {m.value for m in Method}:
            raise InputError(f"unknown method {self.method!r} (expected optimize or regress)")
        if self.init not in RUN_INITS:
            raise InputError(f"unknown init {self.init!r} (expected {' or '.join(RUN_INITS)})")
        check_rate("--overlay-fps", self.overlay_fps)
        if self.max_people is not None and self.max_people < 1:
            raise InputError(f"--max-people must be ≥ 1, got {self.max_people}")
        if self.output_format not in {f.value for f in OutFormat}:
            raise InputError(f"--format must be npz or json, got {self.output_format!r}")


@dataclass
class StageReport:
    """What one stage did: ran or resumed, how long, and a few counts for the summary table."""

    name: str
    seconds: float
    resumed: bool
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class RunSummary:
    """The outcome of a pipeline run, for the CLI's summary table and for batch reports."""

    run_dir: Path
    stages: list[StageReport]
    shots: int = 0
    people: int = 0
    frames_fitted: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"run_dir": str(self.run_dir), "shots": self.shots, "people": self.people,
                "frames_fitted": self.frames_fitted,
                "stages": [asdict(s) for s in self.stages]}


ProgressFactory = Callable[[str, int | None], Callable[[int], None]]
"""progress(stage_name, total) → advance(n): how stages report progress (rich in the CLI)."""
