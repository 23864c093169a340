"""Fitting speed: frames/s of `--mode multishot` for P people × T frames on CPU, to convergence.

Prints one JSON object. The input is generated (msmesh.eval.synthetic) so the benchmark needs no data:
P sequences of T sampled frames with cuts every 3–6 frames, fitted together in one batched optimisation.
"To convergence" means the fitter's stopping rule (see msmesh/fit/fitter.py: stage 2 ends at its iteration
cap or when L-BFGS's change tolerances are met). ``peak_rss_mb`` is the process's peak resident memory
(whole process: Python, torch, the body model, the data and the fit).
Run: `.venv/bin/python bench/fit_speed.py [--people 10 --frames 100 --threads 2 --optimizer adam]`;
memory for 10 × 1,000 frames: `--people 10 --frames 1000`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--optimizer", default=None, help="adam | lbfgs (default: the fitter's)")
    ap.add_argument("--iters", type=int, default=None, help="stage-2 iteration cap (default: the fitter's)")
    ap.add_argument("--mode", default="multishot")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--set", nargs="*", default=[], metavar="OPTION=VALUE", help="other fit options")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from msmesh.body import load_body_model
    from msmesh.eval.synthetic import SyntheticConfig, generate, score
    from msmesh.fit.fitter import MultiShotFitter

    bm = load_body_model("open")
    clips = ("run", "punch", "dance_b", "kick")
    n_clips = min(args.people, len(clips))
    cfg = SyntheticConfig(seed=0, clips=clips[:n_clips], procedural=args.people - n_clips, frames=args.frames)
    data = generate(bm, cfg)
    from synthetic_hard import _value  # bench/ is on the path when run as a script

    options = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    if args.optimizer:
        options["optimizer"] = args.optimizer
    if args.iters:
        options["stage2_iters"] = args.iters
    fitter = MultiShotFitter(bm, mode=args.mode, device=args.device, **options)
    fitter.fit(
        generate(bm, SyntheticConfig(seed=1, clips=("walk",), procedural=0, frames=8)).tracks
    )  # warm-up
    t0 = time.perf_counter()
    res = fitter.fit(data.tracks)
    seconds = time.perf_counter() - t0
    frames = sum(len(p) for p in data.tracks.people)
    acc = score(res, data, bm)
    print(
        json.dumps(
            {
                "benchmark": "fit_speed",
                "mode": args.mode,
                "people": args.people,
                "frames_per_person": args.frames,
                "frames": frames,
                "seconds": round(seconds, 3),
                "frames_per_s": round(frames / seconds, 1),
                "optimizer": fitter.opt.optimizer,
                "options": options,
                "iterations": fitter.stats.iterations,
                "function_evaluations": fitter.stats.evaluations,
                "threads": args.threads,
                "device": args.device,
                "cpu_count": os.cpu_count(),
                "platform": platform.platform(),
                "torch": torch.__version__,
                "pa_mpjpe_mm": round(acc["pa_mpjpe_mm"], 1),
                "final_energy": round(fitter.stats.final_energy, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
