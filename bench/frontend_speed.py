"""Speed of the video front end on the shipped example: ms per frame for each stage before fitting.

Stages timed separately on examples/cuts_demo.mp4 (230 frames, 640×360, 30 fps), at full rate (every frame)
and at 1 fps: decode (PyAV, only the sampled frames converted to RGB), shots (each registered detector; they
always read every frame, so "ms per video frame"), MoveNet detection, appearance descriptors, tracking,
re-ID linking. Shot-detector timings include loading (TransNetV2 builds its network each call, as the pipeline
does). Each timing is the best of ``--repeat`` runs. Prints one JSON object.

    .venv/bin/python bench/frontend_speed.py [--repeat 3] [--fps 30 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch

from msmesh.people.movenet import MoveNet
from msmesh.people.reid import appearance, link_tracklets, tracklet_descriptor
from msmesh.people.track import track_shots
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


def frontend_timings(video: Path, fps: float, repeat: int, detector: MoveNet) -> dict:
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
    track_s, tracklets = best_of(repeat, lambda: track_shots(dets, shots))

    def reid() -> tuple:
        desc = {t.id: tracklet_descriptor([d.appearance for d in t.detections]) for t in tracklets}
        return link_tracklets(tracklets, desc)

    reid_s, (clusters, _) = best_of(repeat, reid)
    return {"fps": fps, "frames_sampled": n, "detections": found, "tracklets": len(tracklets),
            "people": len(clusters),
            "ms_per_sampled_frame": {"decode": ms(decode_s, n), "movenet": ms(detect_s, n),
                                     "appearance": ms(appearance_s, n), "tracking": ms(track_s, n),
                                     "reid_link": ms(reid_s, n)},
            "seconds": {"decode": round(decode_s, 4), "movenet": round(detect_s, 4),
                        "appearance": round(appearance_s, 4), "tracking": round(track_s, 5),
                        "reid_link": round(reid_s, 5)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=EXAMPLE)
    parser.add_argument("--fps", type=float, nargs="+", default=[30.0, 1.0], help="sampling rates (30 = full)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    info = probe(args.video)
    detector = MoveNet()
    runs = [frontend_timings(args.video, fps, args.repeat, detector) for fps in args.fps]
    print(json.dumps({"benchmark": "frontend_speed", "video": str(args.video), "frames": info.frame_count,
                      "size": [info.width, info.height], "video_fps": info.fps,
                      "shots": shots_timings(args.video, args.repeat), "runs": runs,
                      "torch_threads": torch.get_num_threads(), "platform": platform.platform()}, indent=1))


if __name__ == "__main__":
    main()
