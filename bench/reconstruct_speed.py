"""End-to-end speed of `msmesh reconstruct` on the shipped example: seconds per stage and frames/s.

Runs the Pipeline on examples/cuts_demo.mp4 at several sampling rates (full rate = every frame, and 1 fps),
each in a fresh run folder, without exports (``--with-export`` adds a run with overlay + GLB). Prints JSON.

    .venv/bin/python bench/reconstruct_speed.py [--fps 30 5 1] [--with-export]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from msmesh.options import PipelineOptions
from msmesh.pipeline import Pipeline

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cuts_demo.mp4"


def run_once(video: Path, fps: float, export: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        options = PipelineOptions(fps=fps, video=export, glb=export, device="cpu")
        t0 = time.perf_counter()
        summary = Pipeline(video, Path(tmp) / "run", options).run()
        total = time.perf_counter() - t0
    sampled = next(s.counts.get("sampled", 0) for s in summary.stages if s.name == "decode")
    frames = next(s.counts.get("frames", 0) for s in summary.stages if s.name == "decode")
    return {"fps": fps, "export": export, "frames_in_video": frames, "frames_sampled": sampled,
            "seconds_total": round(total, 3), "video_frames_per_s": round(frames / total, 1),
            "sampled_frames_per_s": round(sampled / total, 1),
            "stages": {s.name: round(s.seconds, 3) for s in summary.stages},
            "people": summary.people, "shots": summary.shots, "frames_fitted": summary.frames_fitted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=EXAMPLE)
    parser.add_argument("--fps", type=float, nargs="+", default=[30.0, 5.0, 1.0])
    parser.add_argument("--with-export", action="store_true")
    args = parser.parse_args()
    runs = [run_once(args.video, fps, False) for fps in args.fps]
    if args.with_export:
        runs.append(run_once(args.video, 5.0, True))
    print(json.dumps({"benchmark": "reconstruct_speed", "video": str(args.video), "runs": runs,
                      "torch_threads": torch.get_num_threads(), "platform": platform.platform()}, indent=1))


if __name__ == "__main__":
    main()
