"""Speed of the video front end on the shipped example: ms per frame for each stage before fitting.

Stages timed separately on examples/cuts_demo.mp4 (230 frames, 640×360, 30 fps), at full rate (every frame)
and at 1 fps: decode (PyAV, only the sampled frames converted to RGB), shots (each registered detector; they
always read every frame, so "ms per video frame"), people detection (``--detector``, default the pipeline's
``auto``, on 1 thread), appearance descriptors, tracking, re-ID linking. For ``auto`` the detection's parts are
counted and timed too (MoveNet at 448 and at its close-shot size, BlazePose's detector, landmark passes), so
the per-frame total can be checked against its components on a loaded machine, and ``auto`` is run again in
its tracking mode (people.roi_tracking, what the detect stage runs) against the per-frame pass: ms per frame
and person-frames found, also on the ``--also`` videos. Shot-detector timings include
loading (TransNetV2 builds its network each call, as the pipeline does). Each timing is the best of
``--repeat`` runs. Prints one JSON object.

    .venv/bin/python bench/frontend_speed.py [--repeat 3] [--fps 30 1] [--detector auto|movenet|blazepose]
        [--also Sports2D/Demo/demo.mp4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch

from msmesh.people.blazepose import BlazePose, overlap_of_smaller
from msmesh.people.detection import PersonDetector
from msmesh.people.hybrid import HybridDetector
from msmesh.people.movenet import MoveNet
from msmesh.people.reid import appearance, identify
from msmesh.people.roi_tracking import RoiTracker, in_order, restart_frames
from msmesh.people.track import box_iou
from msmesh.video.reader import iter_frames, probe, sample_frames
from msmesh.video.shots import DETECTORS, detect_shots

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cuts_demo.mp4"


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    """Fastest wall time (s) of ``repeat`` calls, and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ms(seconds: float, n: int) -> float:
    return round(1000.0 * seconds / max(n, 1), 3)


def shots_timings(video: Path, repeat: int) -> dict[str, dict]:
    info = probe(video)
    out = {}
    for name in DETECTORS:
        try:
            seconds, shots = best_of(repeat if name != "transnet" else 1, lambda n=name: detect_shots(video, info, n))
        except Exception as exc:  # an optional extra not installed: say so instead of failing the whole bench
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out[name] = {"ms_per_video_frame": ms(seconds, info.frame_count), "seconds": round(seconds, 3),
                     "cuts": [s.start for s in shots[1:]]}
    return out


class Timed:
    """Wraps a callable, adding up its calls and seconds under ``key`` in ``totals``."""

    def __init__(self, fn: Callable, key: str, totals: dict[str, list[float]]) -> None:
        self.fn, self.key, self.totals = fn, key, totals
        totals.setdefault(key, [0, 0.0])

    def __call__(self, *args: object) -> object:
        t0 = time.perf_counter()
        out = self.fn(*args)
        self.totals[self.key][0] += 1
        self.totals[self.key][1] += time.perf_counter() - t0
        return out


def components(detector: HybridDetector, frames: list) -> dict:
    """Calls per frame and ms per call of each part of the ``auto`` detector over ``frames``."""
    totals: dict[str, list[float]] = {}
    saved = detector.movenet, detector.movenet_close, detector.blazepose.detect, detector.blazepose.landmarks
    detector.movenet = Timed(saved[0], f"movenet_{saved[0].long_side}", totals)  # type: ignore[assignment]
    if saved[1] is not None:
        detector.movenet_close = Timed(saved[1], f"movenet_{saved[1].long_side}", totals)  # type: ignore
    detector.blazepose.detect = Timed(saved[2], "blazepose_detector", totals)  # type: ignore[method-assign]
    detector.blazepose.landmarks = Timed(saved[3], "landmark_pass", totals)  # type: ignore[method-assign]
    try:
        for _, img in frames:
            detector(img)
    finally:
        detector.movenet, detector.movenet_close = saved[0], saved[1]
        detector.blazepose.detect, detector.blazepose.landmarks = saved[2], saved[3]  # type: ignore
    n = max(len(frames), 1)
    return {k: {"calls_per_frame": round(c / n, 3), "ms_per_call": round(1000 * t / max(c, 1), 2)}
            for k, (c, t) in totals.items()}


def matched(reference: list, found: list, min_iou: float = 0.3, min_inside: float = 0.6) -> int:
    """People of ``reference`` matched one-to-one by ``found`` (box IoU ≥ ``min_iou`` or the smaller box ≥
    ``min_inside`` inside the other, best first), as bench/detect_recall.py matches labels."""
    pairs = sorted(((max(box_iou(a.bbox, b.bbox), overlap_of_smaller(a.bbox, b.bbox)), i, j)
                    for i, a in enumerate(reference) for j, b in enumerate(found)), reverse=True)
    used_a, used_b = set(), set()
    for value, i, j in pairs:
        if (box_iou(reference[i].bbox, found[j].bbox) >= min_iou or value >= min_inside) and \
                i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(used_a)


def landmark_seconds(detector: HybridDetector, frames: list) -> float:
    """Seconds of one landmark pass (the median over ``frames``, on each frame's first person's ROI)."""
    times = []
    for _, img in frames:
        people = [lm for _, lm in detector.find(img) if lm is not None]
        if people:
            t0 = time.perf_counter()
            detector.blazepose.landmarks(img, people[0].roi)
            times.append(time.perf_counter() - t0)
    return float(sorted(times)[len(times) // 2]) if times else 0.0


def tracking_comparison(video: Path, fps: float, repeat: int, detector: HybridDetector,
                        frames: list | None = None) -> dict:
    """ms per sampled frame of ``auto`` per frame (tracking off) and in tracking mode (people.roi_tracking, as the
    detect stage runs it: content shots, restarts at cuts and gaps > MAX_GAP_S), and the person-frames each finds:
    ``matched`` counts the tracking mode's people that match one the per-frame pass found in the same frame."""
    info = probe(video)
    info.sampled_frames = sample_frames(info, fps)
    if frames is None:
        frames = list(iter_frames(video, info.sampled_frames))
    shots = detect_shots(video, info, "content")
    off_s, off = best_of(repeat, lambda: {f: detector(img) for f, img in frames})
    trackers: list[RoiTracker] = []

    def tracked() -> dict:
        trackers.append(RoiTracker(detector))
        detect = in_order(trackers[-1], info, shots)
        return {f: detect(f, img) for f, img in frames}

    on_s, on = best_of(repeat, tracked)
    n = len(frames)
    stats = trackers[-1].stats
    # load-robust cross-check: tracking on priced from this run's per-frame time and landmark-pass time
    pass_s = landmark_seconds(detector, frames[: min(n, 20)])
    parts = (stats["full"] * off_s / max(n, 1) + stats["follow_passes"] * pass_s) / max(n, 1)
    return {"video": video.name, "fps": fps, "frames_sampled": n, "shots": len(shots),
            "ms_per_frame": {"tracking_off": ms(off_s, n), "tracking_on": ms(on_s, n),
                             "tracking_on_from_parts": ms(parts, 1), "landmark_pass": ms(pass_s, 1)},
            "tracking": {**stats, "restarts": len(restart_frames(info, shots)), "every": trackers[-1].every},
            "person_frames": {"tracking_off": sum(len(d) for d in off.values()),
                              "tracking_on": sum(len(d) for d in on.values()),
                              "tracking_on_matching_off": sum(matched(off[f], on[f]) for f in off)}}


def frontend_timings(video: Path, fps: float, repeat: int, detector: PersonDetector) -> dict:
    info = probe(video)
    info.sampled_frames = sample_frames(info, fps)  # fps ≥ the video's rate keeps every frame
    n = len(info.sampled_frames)
    decode_s, frames = best_of(repeat, lambda: list(iter_frames(video, info.sampled_frames)))
    detect_s, dets = best_of(repeat, lambda: {f: detector(img) for f, img in frames})

    def describe() -> int:
        for f, img in frames:
            for det in dets[f]:
                det.appearance = appearance(img, det)
        return sum(len(d) for d in dets.values())

    appearance_s, found = best_of(repeat, describe)
    shots = detect_shots(video, info, "content")
    track_s, found_ids = best_of(repeat, lambda: identify(dets, shots, info))
    out = {"fps": fps, "frames_sampled": n, "detections": found, "tracklets": len(found_ids.tracklets),
           "people": len(found_ids.tracks.people),
           "ms_per_sampled_frame": {"decode": ms(decode_s, n), "detect": ms(detect_s, n),
                                    "appearance": ms(appearance_s, n), "track_reid": ms(track_s, n)},
           "seconds": {"decode": round(decode_s, 4), "detect": round(detect_s, 4),
                       "appearance": round(appearance_s, 4), "track_reid": round(track_s, 5)}}
    if isinstance(detector, HybridDetector):
        out["detect_components"] = components(detector, frames)
        out["tracking_mode"] = tracking_comparison(video, fps, repeat, detector, frames)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=EXAMPLE)
    parser.add_argument("--fps", type=float, nargs="+", default=[30.0, 1.0], help="sampling rates (30 = full)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--detector", choices=("auto", "movenet", "blazepose"), default="auto")
    parser.add_argument("--also", type=Path, nargs="*", default=[],
                        help="more videos (e.g. Sports2D/Demo/demo.mp4) for the auto tracking on/off comparison")
    args = parser.parse_args()
    torch.set_num_threads(1)
    info = probe(args.video)
    detector = {"auto": HybridDetector, "movenet": MoveNet, "blazepose": BlazePose}[args.detector](threads=1)
    runs = [frontend_timings(args.video, fps, args.repeat, detector) for fps in args.fps]
    others = [tracking_comparison(v, fps, args.repeat, detector) for v in args.also for fps in args.fps
              if isinstance(detector, HybridDetector)]
    print(json.dumps({"benchmark": "frontend_speed", "video": str(args.video), "frames": info.frame_count,
                      "size": [info.width, info.height], "video_fps": info.fps,
                      "shots": shots_timings(args.video, args.repeat), "runs": runs,
                      "tracking_mode_other_videos": others,
                      "detector": args.detector, "detector_threads": 1, "torch_threads": torch.get_num_threads(),
                      "load_average": list(os.getloadavg()), "platform": platform.platform()}, indent=1))


if __name__ == "__main__":
    main()
