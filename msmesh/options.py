"""What a pipeline run is asked to do and what it reports: ``PipelineOptions`` (every option that changes a
run's result, validated in one place), ``StageReport`` / ``RunSummary`` and the ``ProgressFactory`` callback
type. A leaf module (but for ``resolve_init``'s look-up of the shipped regressor weights): the pipeline, its
stages, the commands and the batch engines all build on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
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
    """Fitter initialisation; ``auto`` is resolved before a run (``resolve_init``)."""

    auto = "auto"
    heuristic = "heuristic"
    regress = "regress"


class ShotDetector(str, Enum):
    adaptive = "adaptive"
    content = "content"
    transnet = "transnet"
    hybrid = "hybrid"


class Detector(str, Enum):
    auto = "auto"
    movenet = "movenet"
    blazepose = "blazepose"
    vitpose = "vitpose"


class OutFormat(str, Enum):
    npz = "npz"
    json = "json"


FIT_MODES: tuple[str, ...] = tuple(m.value for m in FitMode)
DEFAULT_FPS = 5.0
"""Default sampling rate for detection and fitting: fine enough that both sides of a cut are sampled
within 0.2 s, coarse enough that a feature film stays tractable on a CPU (AVA's benchmark uses 1 fps)."""
MAX_SECONDS = 1e7  # --start/--end beyond ~116 days are typos (and overflow frame arithmetic)


def resolve_init(init: str, weights: str | None, method: str = Method.optimize.value) -> str:
    """The init a run takes, ``heuristic`` or ``regress``: ``auto`` → ``regress`` when regressor weights are at hand
    (--weights, the package copy, the Hub cache), else ``heuristic``. A ``--mode regress`` run fits nothing,
    so it takes ``heuristic`` whatever was asked (its resume key then ignores --init). The one place where
    ``auto`` is decided: ``PipelineOptions.resolved`` (the library, ``batch``) and ``msmesh fit`` call it."""
    if method != Method.optimize.value:
        return Init.heuristic.value
    if init != Init.auto.value:
        return init
    from msmesh.regress.hub import default_weights_available

    available = weights is not None or default_weights_available(temporal=True)
    return Init.regress.value if available else Init.heuristic.value


def check_choice(label: str, value: str, choices: type[Enum] | None) -> None:
    """``value`` is one of the enum's values; else a one-line InputError listing them."""
    allowed = [c.value for c in choices] if choices is not None else []
    if value not in allowed:
        raise InputError(f"unknown {label} {value!r} (expected one of {', '.join(allowed)})")


def check_rate(name: str, value: float | None) -> None:
    """A frame rate option (``--fps``, ``--overlay-fps``) is None or a finite number > 0; else InputError."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a finite number > 0, got {value}")


@dataclass(frozen=True)
class OptionSpec:
    """One run option as the commands show it: flags, default, allowed values and help."""

    flags: tuple[str, ...]
    default: Any
    help: str
    choices: type[Enum] | None = None  # the allowed values; None = free value, checked by validate()
    value_type: Any = None  # the command-line value type where a None default does not show it

    def cli_type(self) -> Any:
        """The type a command parses the value as: the choices' enum, else ``value_type`` (``| None`` when
        the default is None), else the default's type."""
        if self.choices is not None:
            return self.choices
        if self.default is None:
            return self.value_type | None
        return self.value_type or type(self.default)


OPTIONS: dict[str, OptionSpec] = {
    # keys are PipelineOptions fields; `reconstruct`, `regress` and `batch` read their flags from here
    "method": OptionSpec(("--mode",), Method.optimize.value, "optimize: multi-shot SMPL fit to 2D keypoints "
                         "(the paper's method). regress: feed-forward HMR / t-HMMR only.", Method),
    "fit_mode": OptionSpec(("--fit-mode",), FitMode.multishot.value, "Temporal terms of the fit: frame (none), "
                           "shot (within shots only), multishot (across cuts; the default).", FitMode),
    "fps": OptionSpec(("--fps",), DEFAULT_FPS, "Frames per second sampled for detection and fitting (AVA uses "
                      "1). 0 < fps; a value ≥ the video's rate uses every frame."),
    "start": OptionSpec(("--start",), None, "Start time in seconds.", value_type=float),
    "end": OptionSpec(("--end",), None, "End time in seconds.", value_type=float),
    "shots": OptionSpec(("--shots",), ShotDetector.content.value, "Shot-cut detector.", ShotDetector),
    "detector": OptionSpec(("--detector",), Detector.auto.value, "People + keypoints: auto (MoveNet + BlazePose "
                           "landmarks, shipped, offline), movenet, blazepose, or vitpose (RT-DETR + ViTPose from "
                           "the Hub; msmesh[hub]).", Detector),
    "keypoints": OptionSpec(("--keypoints",), None, "Use your own 2D keypoints instead of detection: an OpenPose "
                            "BODY_25 JSON folder or a COCO results JSON.", value_type=Path),
    "max_people": OptionSpec(("--max-people",), None, "Keep at most this many people (the ones seen in the most "
                             "frames).", value_type=int),
    "init": OptionSpec(("--init",), Init.auto.value, "Fitter initialisation: regress (the t-HMMR estimate; the fit "
                       "then needs a tenth of the iterations), heuristic (mean pose, torso orientation, depth "
                       "from torso size), or auto (regress when weights are present).", Init),
    "weights": OptionSpec(("--weights",), None, "Regressor weights (file or folder) for --init regress / --mode "
                          "regress (default: the shipped msmesh weights).", value_type=str),
    "temporal": OptionSpec(("--temporal",), False, "With --mode regress: t-HMMR instead of HMR."),
    "body_model": OptionSpec(("--body-model",), "open", "open (shipped), smpl ($MSMESH_SMPL_DIR) or a path to "
                             "your SMPL .pkl/.npz."),
    "pose_prior": OptionSpec(("--pose-prior",), None, "SMPLify GMM pose prior (gmm_08.pkl) instead of the "
                             "shipped open prior.", value_type=Path),
    "device": OptionSpec(("--device",), "auto", "auto (CUDA when present), cpu or cuda[:N]."),
    "video": OptionSpec(("--video/--no-video",), True, "Write overlay.mp4."),
    "side_by_side": OptionSpec(("--side-by-side",), False, "Overlay video with a side view of the bodies."),
    "overlay_fps": OptionSpec(("--overlay-fps",), None, "Frames per second of overlay.mp4 (default: the video's "
                              "own rate); lower it for long films, where the overlay dominates the run time.",
                              value_type=float),
    "glb": OptionSpec(("--glb/--no-glb",), True, "Write one animated GLB per person."),
    "save_mesh": OptionSpec(("--save-mesh",), False, "Also write one OBJ per person per fitted frame."),
    "output_format": OptionSpec(("--format",), OutFormat.npz.value, "smpl.npz or smpl.json.", OutFormat),
}


def _default(name: str) -> Any:
    return OPTIONS[name].default


@dataclass
class PipelineOptions:
    """Every option that changes what a run produces (hashed per stage for resume); defaults from OPTIONS."""

    fps: float | None = _default("fps")  # sampling rate for detection/fitting; None = every frame
    start: float | None = _default("start")  # seconds
    end: float | None = _default("end")  # seconds
    shots: str = _default("shots")
    detector: str = _default("detector")  # people/keypoint backend (people.detect.DETECTORS)
    keypoints: str | None = _default("keypoints")  # user keypoints file/folder instead of detection
    max_people: int | None = _default("max_people")
    method: str = _default("method")
    fit_mode: str = _default("fit_mode")
    init: str = _default("init")  # "auto" until resolved() (Pipeline and run_batch resolve it)
    temporal: bool = _default("temporal")  # regress: t-HMMR instead of per-frame HMR
    weights: str | None = _default("weights")  # regressor weights (file/folder); None = the registry default
    body_model: str = _default("body_model")
    pose_prior: str | None = _default("pose_prior")
    device: str = _default("device")
    video: bool = _default("video")  # overlay.mp4
    side_by_side: bool = _default("side_by_side")  # overlay.mp4 with a side view of the bodies
    overlay_fps: float | None = _default("overlay_fps")  # overlay.mp4 frame rate; None = the source's
    save_mesh: bool = _default("save_mesh")  # meshes/*.obj
    glb: bool = _default("glb")  # p{id}.glb
    output_format: str = _default("output_format")  # smpl.npz or smpl.json

    def resolved(self) -> PipelineOptions:
        """These options as a run takes them: ``init`` resolved (``resolve_init``), so a run's resume keys
        and a batch's options digest hold the init actually used."""
        return replace(self, init=resolve_init(self.init, self.weights, self.method))

    def validate(self) -> None:
        """Reject impossible option values with a one-line InputError."""
        check_rate("--fps", self.fps)
        for name, value in (("--start", self.start), ("--end", self.end)):
            if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
                raise InputError(f"{name} must be a number of seconds in [0, {MAX_SECONDS:.0e}], got {value}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InputError(f"--end ({self.end}) must be after --start ({self.start})")
        for name, label in (("fit_mode", "fit mode"), ("method", "method"), ("shots", "shot detector"),
                            ("detector", "detector"), ("init", "init"), ("output_format", "--format")):
            check_choice(label, getattr(self, name), OPTIONS[name].choices)
        check_rate("--overlay-fps", self.overlay_fps)
        if self.max_people is not None and self.max_people < 1:
            raise InputError(f"--max-people must be ≥ 1, got {self.max_people}")


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
