"""The data model of a run folder and the load/save of its files.

Every stage of the pipeline hands the next one of these objects, and saves it into the run folder so a
rerun can skip the stage. The files are contracts (see DESIGN.md): each JSON file carries
``"format": "msmesh/<name>@1"``; loaders validate every field and name the file and field that is wrong.
All writes are atomic (:mod:`msmesh.atomic`), so a crash never leaves a half-written file behind; the JSON
field checks are :mod:`msmesh.jsonread`'s.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from msmesh.atomic import atomic_save_npz, atomic_write_json
from msmesh.errors import FormatError, InputError, ResultError
from msmesh.jsonread import MAX_FRAME_INDEX, JsonReader, read_array, read_json

VIDEO_FORMAT = "msmesh/video@2"
VIDEO_FORMATS_READ = ("msmesh/video@1", VIDEO_FORMAT)  # @2 added timestamps, range, rotation, skipped_frames
SHOTS_FORMAT = "msmesh/shots@1"
TRACKS_FORMAT = "msmesh/tracks@2"
TRACKS_FORMATS_READ = ("msmesh/tracks@1", TRACKS_FORMAT)  # @1 = @2 without landmarks
SMPL_FORMAT = "msmesh/smpl@1"

NUM_COCO17 = 17
NUM_LANDMARKS = 33  # BlazePose GHUM (body.joints.BLAZEPOSE33_NAMES)
NUM_BETAS = 10
NUM_SMPL_JOINTS = 24
BODY_MODEL_NAMES = ("open", "smpl")  # what smpl.npz's body_model may say
# Input ranges of tracks.json: far beyond any real video, small enough that the fit's float32 arithmetic
# (squared pixel residuals × confidences) stays finite.
MAX_PIXEL_VALUE = 1e6
MAX_CONFIDENCE = 1000.0  # the fit measured finite up to 1e4 and diverging at 9e5
MAX_IMAGE_SIDE = 100_000
MAX_FPS = 10_000.0
MAX_WORLD_METRES = 1000.0  # world landmarks are hip-centred: a body is a couple of metres across


# --------------------------------------------------------------------------- video.json


def frame_seconds(frames: np.ndarray | list[float], fps: float,
                  timestamps: np.ndarray | list[float] | None = None) -> np.ndarray:
    """Times in seconds of (possibly fractional) frame indices: ``frames / fps``, or with per-frame
    ``timestamps`` interpolated linearly between frames and continued at ``fps`` past either end."""
    f = np.asarray(frames, dtype=np.float64)
    if timestamps is None or len(timestamps) < 2:
        return f / fps
    t = np.asarray(timestamps, dtype=np.float64)
    last = len(t) - 1
    out = np.interp(f, np.arange(len(t), dtype=np.float64), t)
    out = np.where(f > last, t[last] + (f - last) / fps, out)
    return np.where(f < 0, t[0] + f / fps, out)


@dataclass
class VideoInfo:
    """The source video and which of its frames the pipeline samples.

    Frames are numbered in decoding order from 0 (frames that could not be decoded are left out and counted in
    ``skipped_frames``). ``timestamps`` holds each frame's presentation time in seconds from the first frame when
    the video is variable-frame-rate (or has gaps); ``None`` means frame ``i`` is at ``i / fps``. ``range`` is
    the half-open frame range the run covers (``--start``/``--end``); ``width``/``height`` are the displayed
    size, after the ``rotation`` (degrees counter-clockwise, from the display matrix) the decoder applies.
    """

    source: str
    fps: float
    frame_count: int
    width: int
    height: int
    sampled_frames: list[int] = field(default_factory=list)
    timestamps: list[float] | None = None
    range: tuple[int, int] | None = None
    rotation: int = 0
    skipped_frames: int = 0

    def frame_range(self) -> tuple[int, int]:
        """The processed frames ``[first, end)`` (the whole video when no range was recorded)."""
        return self.range if self.range is not None else (0, self.frame_count)

    def times(self) -> np.ndarray:
        """Every frame's presentation time in seconds (``frame_count`` values)."""
        if self.timestamps is not None:
            return np.asarray(self.timestamps, dtype=np.float64)
        return np.arange(self.frame_count, dtype=np.float64) / self.fps

    def frame_times(self, frames: np.ndarray | list[float]) -> np.ndarray:
        """Times in seconds of (possibly fractional) frame indices; see :func:`frame_seconds`."""
        return frame_seconds(frames, self.fps, self.timestamps)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "fps": self.fps, "frame_count": self.frame_count,
                "width": self.width, "height": self.height, "rotation": self.rotation,
                "skipped_frames": self.skipped_frames,
                "range": None if self.range is None else [int(x) for x in self.range],
                "sampled_frames": list(self.sampled_frames),
                "timestamps": None if self.timestamps is None else [round(float(t), 6) for t in self.timestamps]}

    @staticmethod
    def from_reader(r: JsonReader) -> VideoInfo:
        positive = (lambda v: v > 0, "must be > 0")
        info = VideoInfo(
            source=r.get("source", str),
            fps=r.get("fps", float, check=positive[0], expect=positive[1]),
            frame_count=r.get("frame_count", int, check=lambda v: v >= 0, expect="must be ≥ 0"),
            width=r.get("width", int, check=positive[0], expect=positive[1]),
            height=r.get("height", int, check=positive[0], expect=positive[1]),
            sampled_frames=[],
            rotation=r.get("rotation", int, default=0, check=lambda v: v % 90 == 0, expect="must be a multiple of 90"),
            skipped_frames=r.get("skipped_frames", int, default=0, check=lambda v: v >= 0, expect="must be ≥ 0"),
        )
        frames = read_array(r, "sampled_frames", (), dtype=int) if "sampled_frames" in r.obj else np.arange(0)
        if frames.size and (np.any(np.diff(frames) <= 0) or frames[0] < 0):
            raise r.fail("sampled_frames", "must be increasing non-negative frame indices")
        if frames.size and info.frame_count and frames[-1] >= info.frame_count:
            raise r.fail("sampled_frames", f"index {int(frames[-1])} ≥ frame_count {info.frame_count}")
        info.sampled_frames = [int(f) for f in frames]
        if r.obj.get("timestamps") is not None:
            t = read_array(r, "timestamps", (), length=info.frame_count)
            if t.size and np.any(np.diff(t) <= 0):
                raise r.fail("timestamps", "must be increasing")
            info.timestamps = [float(x) for x in t]
        if r.obj.get("range") is not None:
            first, end = (int(x) for x in read_array(r, "range", (), dtype=int, length=2))
            if not 0 <= first < end <= info.frame_count:
                raise r.fail("range", f"expected [first, end) with 0 ≤ first < end ≤ {info.frame_count}")
            info.range = (first, end)
        return info


def save_video_json(path: str | os.PathLike[str], info: VideoInfo) -> None:
    """Write ``video.json``."""
    atomic_write_json(path, {"format": VIDEO_FORMAT, **info.to_json()})


def load_video_json(path: str | os.PathLike[str]) -> VideoInfo:
    """Read and validate ``video.json``."""
    return VideoInfo.from_reader(JsonReader(path, read_json(path, VIDEO_FORMATS_READ)))


# --------------------------------------------------------------------------- shots.json


@dataclass
class Shot:
    """A shot: the half-open range ``[start, end)`` of original frame indices between two cuts."""

    id: int
    start: int
    end: int

    def __contains__(self, frame: int) -> bool:
        return self.start <= frame < self.end


def _shots_from(r: JsonReader, key: str) -> list[Shot]:
    raw = r.get(key, list)
    shots: list[Shot] = []
    for i in range(len(raw)):
        s = r.child(key).child(i)
        shot = Shot(id=s.get("id", int), start=s.get("start", int, check=lambda v: v >= 0, expect="must be ≥ 0"),
                    end=s.get("end", int))
        if shot.end <= shot.start:
            raise s.fail("end", f"must be > start ({shot.start}), got {shot.end}")
        if shots and shot.start < shots[-1].end:
            raise s.fail("start", f"overlaps the previous shot (which ends at {shots[-1].end})")
        shots.append(shot)
    ids = [s.id for s in shots]
    if len(set(ids)) != len(ids):
        raise r.fail(key, "shot ids must be unique")
    return shots


def _shots_json(shots: list[Shot]) -> list[dict[str, int]]:
    return [{"id": s.id, "start": s.start, "end": s.end} for s in shots]


def save_shots_json(path: str | os.PathLike[str], shots: list[Shot]) -> None:
    """Write ``shots.json``."""
    atomic_write_json(path, {"format": SHOTS_FORMAT, "shots": _shots_json(shots)})


def load_shots_json(path: str | os.PathLike[str]) -> list[Shot]:
    """Read and validate ``shots.json``."""
    return _shots_from(JsonReader(path, read_json(path, SHOTS_FORMAT)), "shots")


def shot_of_frame(shots: list[Shot], frame: int) -> int:
    """The id of the shot that contains ``frame`` (raises InputError when none does)."""
    for s in shots:
        if frame in s:
            return s.id
    raise InputError(f"frame {frame} lies in no shot")


# --------------------------------------------------------------------------- tracks.json


@dataclass
class Camera:
    """Pinhole intrinsics shared by all frames: focal length and principal point in pixels."""

    focal: float
    center: tuple[float, float]


@dataclass
class PersonTrack:
    """One person's observations per frame, possibly spanning shots, with gaps: COCO-17 keypoints, and
    where the front end gives them (tracks@2) the 33 BlazePose landmarks and their 3D world landmarks."""

    id: int
    frames: np.ndarray  # (T,) int, increasing original frame indices
    shot: np.ndarray  # (T,) int shot id per frame
    bbox: np.ndarray  # (T,4) x0,y0,x1,y1 pixels
    keypoints: np.ndarray  # (T,17,3) x,y,conf; conf 0 = not seen
    # (T,33,3) x,y pixels + visibility in [0,1] (body.joints.BLAZEPOSE33_NAMES order); all 0 in frames without
    landmarks: np.ndarray | None = None
    # (T,33,4) X,Y,Z metres, hip-centred, camera axes (x right, y down, z away from the camera) + visibility
    world_landmarks: np.ndarray | None = None

    def __len__(self) -> int:
        return int(len(self.frames))


@dataclass
class Tracks:
    """The input of fitting and regression: the video, its shots and every person's keypoint track."""

    video: VideoInfo
    shots: list[Shot]
    people: list[PersonTrack]
    keypoint_format: str = "coco17"
    camera: Camera | None = None

    def person(self, pid: int) -> PersonTrack:
        for p in self.people:
            if p.id == pid:
                return p
        raise KeyError(pid)


def save_tracks(path: str | os.PathLike[str], tracks: Tracks) -> None:
    """Write ``tracks.json``."""
    obj: dict[str, Any] = {
        "format": TRACKS_FORMAT,
        "video": tracks.video.to_json(),
        "keypoint_format": tracks.keypoint_format,
        "shots": _shots_json(tracks.shots),
        "people": [
            {"id": int(p.id), "frames": [int(f) for f in p.frames], "shot": [int(s) for s in p.shot],
             "bbox": np.round(np.asarray(p.bbox, dtype=float), 2).tolist(),
             "keypoints": np.round(np.asarray(p.keypoints, dtype=float), 3).tolist(),
             **({"landmarks": np.round(np.asarray(p.landmarks, dtype=float), 3).tolist()}
                if p.landmarks is not None else {}),
             **({"world_landmarks": np.round(np.asarray(p.world_landmarks, dtype=float), 4).tolist()}
                if p.world_landmarks is not None else {})}
            for p in tracks.people
        ],
    }
    if tracks.camera is not None:
        obj["camera"] = {"focal": float(tracks.camera.focal), "center": [float(c) for c in tracks.camera.center]}
    atomic_write_json(path, obj)


def load_tracks(path: str | os.PathLike[str]) -> Tracks:
    """Read and validate ``tracks.json`` (DESIGN.md), naming the file and field of any problem."""
    r = JsonReader(path, read_json(path, TRACKS_FORMATS_READ))
    video = VideoInfo.from_reader(r.child("video") if isinstance(r.obj.get("video"), dict)
                                  else _raise(r.fail("video", "missing or not an object")))
    _check_video_range(r.child("video"), video)
    kf = r.get("keypoint_format", str, default="coco17")
    if kf != "coco17":
        raise r.fail("keypoint_format", f"expected 'coco17', got {kf!r} (convert with `msmesh convert`)")
    shots = _shots_from(r, "shots")
    shot_ids = {s.id for s in shots}
    camera = None
    if "camera" in r.obj:
        c = r.child("camera")
        center = read_array(c, "center", ()) if "center" in c.obj else np.array([video.width / 2, video.height / 2])
        if center.shape != (2,):
            raise c.fail("center", "expected [cx, cy]")
        if np.abs(center).max() > MAX_PIXEL_VALUE:
            raise c.fail("center", f"out of range (|value| ≤ {MAX_PIXEL_VALUE:.0e} pixels)")
        camera = Camera(focal=c.get("focal", float, check=lambda v: 0 < v <= MAX_PIXEL_VALUE,
                                    expect=f"must be in (0, {MAX_PIXEL_VALUE:.0e}] pixels"),
                        center=(float(center[0]), float(center[1])))
    people = []
    raw_people = r.get("people", list)
    seen_ids: set[int] = set()
    for i in range(len(raw_people)):
        pr = r.child("people").child(i)
        pid = pr.get("id", int)
        if pid in seen_ids:
            raise pr.fail("id", f"duplicate person id {pid}")
        seen_ids.add(pid)
        frames = read_array(pr, "frames", (), dtype=int)
        n = len(frames)
        if n and np.any(np.diff(frames) <= 0):
            raise pr.fail("frames", "must be strictly increasing")
        shot = read_array(pr, "shot", (), dtype=int, length=n)
        unknown = set(shot.tolist()) - shot_ids
        if unknown:
            raise pr.fail("shot", f"unknown shot id(s) {sorted(unknown)}")
        bbox = read_array(pr, "bbox", (4,), length=n)
        keypoints = read_array(pr, "keypoints", (NUM_COCO17, 3), length=n, allow_nan=True)
        nan = ~np.isfinite(keypoints)
        if nan.any():
            t, k, _ = np.argwhere(nan)[0]
            raise pr.fail("keypoints", f"non-finite value at frame {int(frames[t])}, keypoint {int(k)}")
        if np.any(keypoints[..., 2] < 0) or np.any(keypoints[..., 2] > MAX_CONFIDENCE):
            raise pr.fail("keypoints", f"confidence must be in [0, {MAX_CONFIDENCE:g}]")
        if n and (frames[0] < 0 or frames[-1] > MAX_FRAME_INDEX):
            raise pr.fail("frames", f"frame indices must lie in [0, {MAX_FRAME_INDEX}]")
        for key, arr, limit in (("bbox", bbox, 10 * MAX_PIXEL_VALUE), ("keypoints", keypoints, MAX_PIXEL_VALUE)):
            if arr.size and np.abs(arr).max() > limit:
                raise pr.fail(key, f"value {np.abs(arr).max():.3g} out of range (|value| ≤ {limit:.0e}: pixel "
                                   "coordinates and confidences)")
        landmarks = (_visibility_array(pr, "landmarks", (NUM_LANDMARKS, 3), n, MAX_PIXEL_VALUE)
                     if "landmarks" in pr.obj else None)
        world = (_visibility_array(pr, "world_landmarks", (NUM_LANDMARKS, 4), n, MAX_WORLD_METRES)
                 if "world_landmarks" in pr.obj else None)
        people.append(PersonTrack(id=pid, frames=frames, shot=shot, bbox=bbox, keypoints=keypoints,
                                  landmarks=landmarks, world_landmarks=world))
    return Tracks(video=video, shots=shots, people=people, keypoint_format=kf, camera=camera)


def _check_video_range(r: JsonReader, video: VideoInfo) -> None:
    """Bounds that keep the fit's arithmetic finite (a 1e300-pixel image is not a video)."""
    for key, value, limit in (("width", video.width, MAX_IMAGE_SIDE), ("height", video.height, MAX_IMAGE_SIDE),
                              ("fps", video.fps, MAX_FPS), ("frame_count", video.frame_count, MAX_FRAME_INDEX)):
        if value > limit:
            raise r.fail(key, f"{value:.3g} out of range (≤ {limit:g})")


def _visibility_array(r: JsonReader, key: str, shape_tail: tuple[int, ...], n: int, limit: float) -> np.ndarray:
    """A per-frame point array whose last column is a visibility in [0, 1] and the rest |coordinates| ≤ limit."""
    arr = read_array(r, key, shape_tail, length=n)
    if arr.size and np.abs(arr[..., :-1]).max() > limit:
        raise r.fail(key, f"value {np.abs(arr[..., :-1]).max():.3g} out of range (|value| ≤ {limit:.0e})")
    vis = arr[..., -1]
    if np.any((vis < 0) | (vis > 1)):
        t, k = np.argwhere((vis < 0) | (vis > 1))[0]
        raise r.fail(key, f"visibility must be in [0, 1] (frame index {int(t)}, landmark {int(k)})")
    return arr


def _raise(exc: Exception) -> Any:
    raise exc


# --------------------------------------------------------------------------- smpl.npz


@dataclass
class SmplSequence:
    """One person's SMPL parameters per frame, in each frame's camera coordinates (metres)."""

    id: int
    frames: np.ndarray  # (T,)
    shot: np.ndarray  # (T,)
    global_orient: np.ndarray  # (T,3) axis-angle
    body_pose: np.ndarray  # (T,69) axis-angle
    betas: np.ndarray  # (10,)
    transl: np.ndarray  # (T,3)
    joints: np.ndarray  # (T,24,3)

    def __len__(self) -> int:
        return int(len(self.frames))


@dataclass
class FitResult:
    """SMPL parameters for every person of a video, plus the camera they are expressed in."""

    people: list[SmplSequence]
    focal: float
    center: tuple[float, float]
    body_model: str = "open"

    def person(self, pid: int) -> SmplSequence:
        for p in self.people:
            if p.id == pid:
                return p
        raise KeyError(pid)


_SEQ_FIELDS: dict[str, tuple[int, ...]] = {
    "frames": (), "shot": (), "global_orient": (3,), "body_pose": (69,), "transl": (3,),
    "joints": (NUM_SMPL_JOINTS, 3),
}


def _smpl_arrays(result: FitResult) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {
        "format": np.array(SMPL_FORMAT),
        "focal": np.array(float(result.focal)),
        "center": np.asarray(result.center, dtype=np.float64),
        "body_model": np.array(result.body_model),
        "person_ids": np.array([p.id for p in result.people], dtype=np.int64),
    }
    for p in result.people:
        pre = f"p{p.id}_"
        arrays[pre + "frames"] = np.asarray(p.frames, dtype=np.int64)
        arrays[pre + "shot"] = np.asarray(p.shot, dtype=np.int64)
        with np.errstate(over="ignore"):  # beyond float32 becomes Inf, which save_smpl refuses
            for key in ("global_orient", "body_pose", "transl", "joints"):
                arrays[pre + key] = np.asarray(getattr(p, key), dtype=np.float32)
        arrays[pre + "betas"] = np.asarray(p.betas, dtype=np.float32)
    return arrays


def _validate_smpl(path: str | os.PathLike[str], get: Callable[[str], Any], keys: set[str]) -> FitResult:
    def need(key: str) -> Any:
        if key not in keys:
            raise FormatError(path, key, "missing")
        return get(key)

    fmt = str(need("format"))
    if fmt != SMPL_FORMAT:
        raise FormatError(path, "format", f"expected '{SMPL_FORMAT}', got {fmt!r}")
    focal_arr = np.asarray(need("focal"))
    focal = float(focal_arr) if focal_arr.dtype.kind in "iuf" and focal_arr.size == 1 else math.nan
    if not (math.isfinite(focal) and focal > 0):
        raise FormatError(path, "focal", "must be a positive number")
    center = np.asarray(need("center")).reshape(-1)
    if center.dtype.kind not in "iuf" or center.shape != (2,) or not np.all(np.isfinite(center)):
        raise FormatError(path, "center", "expected [cx, cy]")
    ids = np.asarray(need("person_ids")).reshape(-1)
    if ids.dtype.kind not in "iu":
        raise FormatError(path, "person_ids", f"expected integers, got {ids.dtype.name} values")
    if len(set(ids.tolist())) != ids.size:
        raise FormatError(path, "person_ids", "must be unique")
    people = []
    for pid in ids.tolist():
        pre = f"p{int(pid)}_"
        vals: dict[str, np.ndarray] = {}
        n = None
        for key, tail in _SEQ_FIELDS.items():
            arr = np.asarray(need(pre + key))
            if arr.ndim != 1 + len(tail) or arr.shape[1:] != tail:
                raise FormatError(path, pre + key, f"expected shape (T,{','.join(map(str, tail))}), got "
                                  f"{arr.shape}")
            if n is None:
                n = arr.shape[0]
            elif arr.shape[0] != n:
                raise FormatError(path, pre + key, f"expected {n} frames, got {arr.shape[0]}")
            if arr.dtype.kind not in "iuf":
                raise FormatError(path, pre + key, f"expected numbers, got {arr.dtype.name} values")
            with np.errstate(over="ignore"):
                finite = arr.dtype.kind != "f" or bool(np.all(np.isfinite(arr.astype(np.float32))))
            if not finite:
                raise FormatError(path, pre + key, "contains non-finite values (or values beyond float32)")
            vals[key] = arr
        betas = np.asarray(need(pre + "betas")).reshape(-1)
        if betas.dtype.kind not in "iuf" or betas.shape != (NUM_BETAS,):
            raise FormatError(path, pre + "betas", f"expected {NUM_BETAS} numbers, got {betas.size} "
                              f"{betas.dtype.name} values")
        with np.errstate(over="ignore"):
            betas = betas.astype(np.float32)
        if not np.all(np.isfinite(betas)):
            raise FormatError(path, pre + "betas", "contains non-finite values (or values beyond float32)")
        people.append(SmplSequence(id=int(pid), frames=vals["frames"].astype(np.int64),
                                   shot=vals["shot"].astype(np.int64),
                                   global_orient=vals["global_orient"].astype(np.float32),
                                   body_pose=vals["body_pose"].astype(np.float32), betas=betas,
                                   transl=vals["transl"].astype(np.float32),
                                   joints=vals["joints"].astype(np.float32)))
    body_model = str(get("body_model")) if "body_model" in keys else "open"
    if body_model not in BODY_MODEL_NAMES:  # a run folder names its model, never a file to load (code)
        raise FormatError(path, "body_model", f"expected one of {', '.join(BODY_MODEL_NAMES)}, got "
                          f"{body_model[:80]!r} (pass a model file with --body-model PATH)")
    return FitResult(people=people, focal=focal, center=(float(center[0]), float(center[1])),
                     body_model=body_model)


def save_smpl(path: str | os.PathLike[str], result: FitResult, format: str = "npz") -> None:
    """Write ``smpl.npz`` (or the same content as JSON with ``format="json"``).

    Refuses (``ResultError``, nothing written) parameters that are not finite as float32: a diverged fit
    must never reach the run folder, where msmesh's own loader would reject it.
    """
    arrays = _smpl_arrays(result)
    for key, arr in arrays.items():
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr.astype(np.float32))):
            who = f"person {key[1:].split('_')[0]}'s {key.split('_', 1)[1]}" if key.startswith("p") else key
            raise ResultError(f"the result is not finite ({who} holds NaN or Inf, e.g. the fit diverged); "
                              f"{path} was not written")
    if format == "npz":
        atomic_save_npz(path, **arrays)
    elif format == "json":
        atomic_write_json(path, {k: (v.tolist() if v.ndim else v.item()) for k, v in arrays.items()})
    else:
        raise InputError(f"unknown output format {format!r} (expected npz or json)")


def load_smpl(path: str | os.PathLike[str]) -> FitResult:
    """Read and validate ``smpl.npz`` or its JSON twin."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: file not found")
    if p.suffix == ".json":
        obj = read_json(p, SMPL_FORMAT)

        def get(key: str) -> np.ndarray:
            try:
                return np.asarray(obj[key])
            except (TypeError, ValueError, OverflowError) as exc:
                raise FormatError(p, key, f"not a numeric array ({exc})") from exc

        return _validate_smpl(p, get, set(obj))
    try:
        with np.load(p, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{p}: not a readable .npz file ({exc})") from exc
    return _validate_smpl(p, data.__getitem__, set(data))
