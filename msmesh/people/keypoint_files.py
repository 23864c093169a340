"""Keypoints users already have: OpenPose BODY_25 per-frame JSON and COCO results JSON → detections.

Both become per-frame ``Detection`` lists in COCO-17 (msmesh's internal 2D format), which the tracking and
re-ID stages then turn into ``tracks.json`` — so `msmesh reconstruct --keypoints` and `msmesh convert`
accept either.

- OpenPose: a folder (or one file) of ``<name>_<frame:012d>_keypoints.json`` with
  ``{"people": [{"pose_keypoints_2d": [x, y, c] × 25}]}``; the frame index is the last number in the name.
- COCO results: one JSON list of ``{"image_id": frame, "keypoints": [x, y, v] × 17, "score": s}``
  (``category_id`` 1 or absent); ``image_id`` is the frame index.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from msmesh.body.joints import openpose25_to_coco17
from msmesh.data import MAX_CONFIDENCE, MAX_PIXEL_VALUE, VideoInfo
from msmesh.errors import InputError
from msmesh.jsonread import MAX_FRAME_INDEX, parse_json
from msmesh.people.detection import Detection, keypoint_box

_FRAME_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def _read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    return parse_json(text, path)


def _numbers(value: object, count: int, where: str, what: str) -> np.ndarray:
    """``value`` as ``count`` finite numbers (a JSON list of numbers, nothing else), or a one-line InputError."""
    if not isinstance(value, list) or len(value) != count:
        got = f"{len(value)} values" if isinstance(value, list) else type(value).__name__
        raise InputError(f"{where}: {what} has {got}, expected {count} numbers")
    bad = next((v for v in value if isinstance(v, bool) or not isinstance(v, (int, float))), None)
    if bad is not None:
        raise InputError(f"{where}: {what} must hold numbers only, got {bad!r}")
    if any(abs(v) > MAX_PIXEL_VALUE for v in value):  # before numpy, which overflows on 400-digit integers
        raise InputError(f"{where}: {what} has a value out of range (|value| ≤ {MAX_PIXEL_VALUE:.0e})")
    return np.asarray(value, dtype=np.float64)


def _frame_index(value: object, where: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value) or not 0 <= value <= MAX_FRAME_INDEX):
        raise InputError(f"{where}: the frame index must be an integer in [0, {MAX_FRAME_INDEX}], got {value!r}")
    return int(value)


def _detection(kp: np.ndarray, where: str) -> Detection | None:
    if not np.all(np.isfinite(kp)):
        raise InputError(f"{where}: keypoints contain NaN or infinite values")
    if np.any(kp[:, 2] < 0) or np.any(kp[:, 2] > MAX_CONFIDENCE):
        raise InputError(f"{where}: keypoint confidences must be in [0, {MAX_CONFIDENCE:g}]")
    if np.abs(kp).max() > MAX_PIXEL_VALUE:
        raise InputError(f"{where}: keypoint value {np.abs(kp).max():.3g} out of range (|value| ≤ "
                         f"{MAX_PIXEL_VALUE:.0e})")
    box = keypoint_box(kp, min_conf=0.05)
    if box is None:
        return None
    return Detection(bbox=box, keypoints=kp, score=float(kp[kp[:, 2] > 0, 2].mean()))


def load_openpose(path: str | Path) -> dict[int, list[Detection]]:
    """OpenPose BODY_25 JSON files (a folder or a single file) → detections per frame index."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise InputError(f"{path}: no OpenPose *_keypoints.json files found")
    out: dict[int, list[Detection]] = {}
    source: dict[int, Path] = {}
    for file in files:
        match = _FRAME_NUMBER.search(file.stem)
        if match is None:
            raise InputError(f"{file}: cannot tell the frame number from the file name")
        frame = _frame_index(int(match.group(1)), str(file))
        if frame in source:
            raise InputError(f"{file}: frame {frame} is also {source[frame].name}'s frame (one file per frame)")
        source[frame] = file
        obj = _read_json(file)
        if not isinstance(obj, dict) or not isinstance(obj.get("people"), list):
            raise InputError(f"{file}: not an OpenPose keypoints file (no 'people' list)")
        dets = []
        for i, person in enumerate(obj["people"]):
            where = f"{file}: people[{i}]"
            if not isinstance(person, dict):
                raise InputError(f"{where}: expected an object with pose_keypoints_2d, got {type(person).__name__}")
            raw = _numbers(person.get("pose_keypoints_2d", []), 75, where, "pose_keypoints_2d (BODY_25)")
            det = _detection(openpose25_to_coco17(raw.reshape(25, 3)), where)
            if det is not None:
                dets.append(det)
        out[frame] = dets
    return out


def load_coco_results(path: str | Path) -> dict[int, list[Detection]]:
    """A COCO keypoint results JSON (list of person entries) → detections per frame (``image_id``)."""
    path = Path(path)
    obj = _read_json(path)
    if isinstance(obj, dict) and isinstance(obj.get("annotations"), list):
        obj = obj["annotations"]  # a COCO annotation file works too
    if not isinstance(obj, list):
        raise InputError(f"{path}: expected a JSON list of COCO keypoint results")
    out: dict[int, list[Detection]] = {}
    for i, entry in enumerate(obj):
        where = f"{path}: entry [{i}]"
        if not isinstance(entry, dict) or "image_id" not in entry or "keypoints" not in entry:
            raise InputError(f"{where} lacks 'image_id' or 'keypoints'")
        if entry.get("category_id", 1) != 1:
            continue
        frame = _frame_index(entry["image_id"], f"{where}: image_id")
        kp = _numbers(entry["keypoints"], 51, where, "keypoints (COCO-17)").reshape(17, 3)
        if kp[:, 2].max() > 1.0 and np.all(kp[:, 2] >= 0):  # COCO visibility flags 0/1/2 rather than confidences
            kp[:, 2] = (kp[:, 2] > 0).astype(np.float64)
        det = _detection(kp, where)
        if "score" in entry:
            score = entry["score"]
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= MAX_PIXEL_VALUE:
                raise InputError(f"{where}: score must be a number ≥ 0, got {score!r}")
            if det is not None:
                det.score = float(score)
        if det is not None:
            out.setdefault(frame, []).append(det)
    return out


def load_keypoint_detections(path: str | Path, video: VideoInfo | None = None,
                             keypoint_format: str = "auto") -> dict[int, list[Detection]]:
    """Detections from OpenPose or COCO files (``auto``: a folder or ``*_keypoints.json`` is OpenPose)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: keypoints file or folder not found")
    if keypoint_format == "auto":
        keypoint_format = "openpose" if path.is_dir() or path.name.endswith("_keypoints.json") else "coco"
    if keypoint_format == "openpose":
        detections = load_openpose(path)
    elif keypoint_format == "coco":
        detections = load_coco_results(path)
    else:
        raise InputError(f"unknown keypoint format {keypoint_format!r} (expected auto, openpose or coco)")
    if video is not None:
        bad = [f for f in detections if not 0 <= f < video.frame_count]
        if bad:
            raise InputError(f"{path}: frame {bad[0]} is outside the video's {video.frame_count} frames")
    return detections
