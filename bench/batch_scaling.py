"""Batch throughput on this machine: videos/hour with 1 vs 2 local workers, and the speed-up; prints JSON.

    .venv/bin/python bench/batch_scaling.py [--video examples/x.mp4] [--clips 4] [--seconds 2] [--fps 2]

Cuts ``--clips`` short clips from the video (PyAV), runs ``msmesh batch`` (the local engine) on them into a
fresh folder once per worker count, and reports wall time, videos/hour and the speed-up over 1 worker.
Each worker gets ``cores // jobs`` torch threads, so the speed-up measures what process parallelism adds
over torch's own threading. Settings mirror a pseudo-ground-truth run: no overlay video, no GLB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def cut_clip(src: Path, dst: Path, start_s: float, seconds: float) -> Path:
    """Re-encode ``seconds`` of ``src`` from ``start_s`` into ``dst`` (H.264 mp4)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream_in = inp.streams.video[0]
        stream = out.add_stream("libx264", rate=stream_in.average_rate or Fraction(25))
        stream.width = stream_in.codec_context.width // 2 * 2
        stream.height = stream_in.codec_context.height // 2 * 2
        stream.pix_fmt = "yuv420p"
        for frame in inp.decode(stream_in):
            t = float(frame.time or 0.0)
            if t < start_s:
                continue
            if t >= start_s + seconds:
                break
            img = np.ascontiguousarray(frame.to_ndarray(format="rgb24")[:stream.height, :stream.width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def duration_s(video: Path) -> float:
    import av

    with av.open(str(video)) as inp:
        stream = inp.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return float(inp.duration or 0) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=None, help="source video (default: examples/*.mp4)")
    parser.add_argument("--clips", type=int, default=4, help="number of clips (videos) per run")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each clip")
    parser.add_argument("--fps", type=float, default=2.0, help="msmesh --fps")
    parser.add_argument("--jobs", default="1,2", help="worker counts to compare, comma-separated")
    args = parser.parse_args()

    from msmesh.batch import run_batch
    from msmesh.options import PipelineOptions

    video = args.video or next(iter(sorted((ROOT / "examples").glob("*.mp4"))), None)
    if video is None:
        print("no --video given and no examples/*.mp4", file=sys.stderr)
        return 2
    total = duration_s(video)
    work = Path(tempfile.mkdtemp(prefix="msmesh_batch_bench_"))
    try:
        starts = [(i * args.seconds) % max(total - args.seconds, 1e-3) for i in range(args.clips)]
        (work / "clips").mkdir()
        clips = [cut_clip(video, work / "clips" / f"clip{i:02d}.mp4", s, args.seconds)
                 for i, s in enumerate(starts)]
        options = PipelineOptions(fps=args.fps, video=False, glb=False, device="cpu")
        results = []
        for jobs in [int(j) for j in args.jobs.split(",")]:
            out = work / f"out_jobs{jobs}"
            t0 = time.perf_counter()
            outcome = run_batch(clips, out, options, engine="local", jobs=jobs)
            wall = time.perf_counter() - t0
            results.append({"jobs": jobs, "wall_s": round(wall, 2), "ok": outcome.ok,
                            "failed": outcome.failed, "videos_per_hour": round(outcome.ok / wall * 3600, 1)})
        base = results[0]["videos_per_hour"]
        for r in results:
            r["speedup_vs_first"] = round(r["videos_per_hour"] / base, 3) if base else None
        print(json.dumps({
            "bench": "batch_scaling", "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                                  "python": platform.python_version()},
            "source": str(video), "clips": args.clips, "clip_seconds": args.seconds,
            "options": {"fps": args.fps, "video": False, "glb": False, "device": "cpu"},
            "results": results,
            "speedup": results[-1]["speedup_vs_first"] if len(results) > 1 else None,
        }, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
