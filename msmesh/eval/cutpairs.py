"""The curated cut-pair subset: the ground truth of AVA cross-shot PCK.

The paper scores cross-shot PCK on a hand-checked subset of AVA: pairs of consecutive 1 fps keyframes
t and t+1 with a shot cut between them, the same person visible in both (re-identification verified by a
person), and 2D keypoints at both frames that a person checked. This module defines that file, which
``tools/curate_ava_cuts.py`` writes and ``msmesh eval --dataset ava`` reads.

File format ``msmesh/ava-cuts@1`` (JSON)::

    {
      "format": "msmesh/ava-cuts@1",
      "keypoint_format": "coco17",
      "source": "ava_val_v2.2.csv",              # free text: where the candidates came from (optional)
      "pairs": [
        {
          "id": "1j20qq1JyX4_1001_0",            # unique; the tool uses <video>_<t>_<n>
          "video": "1j20qq1JyX4",                # AVA video_id (file DIR/videos/<video_id>.<ext>)
          "status": "accepted",                  # accepted | rejected | pending — only accepted pairs count
          "note": "",                            # optional free text from the curator
          "a": {"timestamp": 1001, "box": [x1, y1, x2, y2], "ava_person": 3,
                "keypoints": [[x, y, v] × 17]},
          "b": {"timestamp": 1002, "box": [...], "ava_person": 5, "keypoints": [...]}
        }, ...
      ]
    }

- ``a`` is the frame before the cut (AVA keyframe timestamp t, seconds from the start of the movie),
  ``b`` the frame after it (t+1; any later timestamp is accepted but consecutive keyframes are the protocol).
- ``box``: the person's box, normalised to [0, 1] by the frame's width and height like AVA's CSVs.
- ``keypoints``: COCO-17 order (msmesh.body.joints.COCO17_NAMES), x and y normalised to [0, 1] like the box,
  ``v`` = 1 for a checked, visible keypoint and 0 for one that is not visible / not labelled (not scored).
  Normalised coordinates keep the file valid for any transcode of the same movie.
- ``ava_person``: AVA's person_id of the box (optional, ``null`` when the box is not from AVA). AVA ids are
  only consistent inside a tracklet, so the two ids of an accepted pair may differ: the pair itself records
  the verified identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from msmesh.atomic import atomic_write_json
from msmesh.errors import FormatError
from msmesh.jsonread import JsonReader, read_json

CUTS_FORMAT = "msmesh/ava-cuts@1"
STATUSES = ("accepted", "rejected", "pending")


@dataclass
class CutFrame:
    """One side of a cut pair: timestamp (s), normalised box and keypoints (17, 3) with visibility."""

    timestamp: float
    box: np.ndarray  # (4,) normalised x1, y1, x2, y2
    keypoints: np.ndarray  # (17, 3) normalised x, y, visibility 0/1
    ava_person: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"timestamp": _num(self.timestamp), "box": [round(float(v), 5) for v in self.box],
                "ava_person": self.ava_person,
                "keypoints": [[round(float(x), 5), round(float(y), 5), int(v > 0)] for x, y, v in self.keypoints]}


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


@dataclass
class CutPair:
    """A cut between frames ``a`` and ``b`` of one video with the same (verified) person in both."""

    id: str
    video: str
    a: CutFrame
    b: CutFrame
    status: str = "pending"
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "video": self.video, "status": self.status, "note": self.note,
                "a": self.a.to_json(), "b": self.b.to_json()}


@dataclass
class CutPairSet:
    """A whole cut-pair file."""

    pairs: list[CutPair] = field(default_factory=list)
    source: str = ""

    def accepted(self) -> list[CutPair]:
        return [p for p in self.pairs if p.status == "accepted"]

    def by_id(self) -> dict[str, CutPair]:
        return {p.id: p for p in self.pairs}

    def counts(self) -> dict[str, int]:
        return {s: sum(p.status == s for p in self.pairs) for s in STATUSES}


def _frame(r: JsonReader) -> CutFrame:
    ts = r.get("timestamp", float, check=lambda v: v >= 0, expect="must be ≥ 0 seconds")
    box = np.asarray(r.get("box", list), dtype=object)
    try:
        box = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise r.fail("box", "expected four numbers") from exc
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise r.fail("box", f"expected [x1, y1, x2, y2], got shape {box.shape}")
    if not (np.all((box >= -0.01) & (box <= 1.01)) and box[2] > box[0] and box[3] > box[1]):
        raise r.fail("box", "expected normalised coordinates in [0, 1] with x2 > x1 and y2 > y1")
    try:
        kp = np.asarray(r.get("keypoints", list), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise r.fail("keypoints", "expected 17 [x, y, v] triples") from exc
    if kp.shape != (17, 3) or not np.all(np.isfinite(kp)):
        raise r.fail("keypoints", f"expected 17 [x, y, v] triples (COCO-17), got shape {kp.shape}")
    if not np.all(np.isin(kp[:, 2], (0.0, 1.0))):
        raise r.fail("keypoints", "visibility v must be 0 or 1")
    vis = kp[:, 2] > 0
    if np.any((kp[vis, :2] < -0.01) | (kp[vis, :2] > 1.01)):
        raise r.fail("keypoints", "x, y must be normalised to [0, 1]")
    person = r.get("ava_person", (int, type(None)), default=None)
    return CutFrame(timestamp=float(ts), box=box, keypoints=kp, ava_person=person)


def load_cut_pairs(path: str | os.PathLike[str]) -> CutPairSet:
    """Read and validate a cut-pair file, naming the file and field of any problem."""
    obj = read_json(path, CUTS_FORMAT)
    r = JsonReader(path, obj)
    if obj.get("format") != CUTS_FORMAT:
        raise r.fail("format", f"expected '{CUTS_FORMAT}' (a cut-pair file from tools/curate_ava_cuts.py)")
    kf = r.get("keypoint_format", str, default="coco17")
    if kf != "coco17":
        raise r.fail("keypoint_format", f"expected 'coco17', got {kf!r}")
    raw = r.get("pairs", list)
    pairs, seen = [], set()
    for i in range(len(raw)):
        pr = r.child("pairs").child(i)
        pid = pr.get("id", str, check=bool, expect="must be a non-empty string")
        if pid in seen:
            raise pr.fail("id", f"duplicate pair id {pid!r}")
        seen.add(pid)
        status = pr.get("status", str, default="pending", check=lambda s: s in STATUSES,
                        expect=f"must be one of {', '.join(STATUSES)}")
        for side in ("a", "b"):
            if not isinstance(pr.obj.get(side), dict):
                raise pr.fail(side, "missing or not an object")
        a, b = _frame(pr.child("a")), _frame(pr.child("b"))
        if b.timestamp <= a.timestamp:
            raise pr.child("b").fail("timestamp", f"must be after a's timestamp ({a.timestamp})")
        pairs.append(CutPair(id=pid, video=pr.get("video", str, check=bool, expect="must be a non-empty string"),
                             a=a, b=b, status=status, note=pr.get("note", str, default="")))
    return CutPairSet(pairs=pairs, source=r.get("source", str, default=""))


def save_cut_pairs(path: str | os.PathLike[str], cuts: CutPairSet) -> None:
    """Write a cut-pair file atomically."""
    ids = [p.id for p in cuts.pairs]
    if len(set(ids)) != len(ids):
        raise FormatError(Path(path), "pairs", "pair ids must be unique")
    atomic_write_json(path, {"format": CUTS_FORMAT, "keypoint_format": "coco17", "source": cuts.source,
                             "pairs": [p.to_json() for p in cuts.pairs]})


def to_pixels(frame: CutFrame, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(box (4,) pixels, keypoints (17, 3) pixels + visibility) of a cut frame in a ``width``×``height`` video."""
    scale = np.array([width, height, width, height], dtype=np.float64)
    kp = frame.keypoints.copy()
    kp[:, :2] *= (width, height)
    return frame.box * scale, kp
