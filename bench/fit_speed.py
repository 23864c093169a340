"""Fitting speed: frames/s of `--mode multishot` for P people × T frames on CPU, to convergence, and accuracy.

Prints one JSON object. The input is generated (msmesh.eval.synthetic) so the benchmark needs no data:
P sequences of T sampled frames with cuts every 3–6 frames, fitted together in one batched optimisation.
``--init`` as the pipeline's: ``auto`` (default; the shipped t-HMMR when installed) starts the fit from the
regressor and runs ``msmesh.stages.REGRESS_INIT_ITERS`` iterations, ``heuristic`` from the mean pose with the
fitter's full schedule. "To convergence" means the fitter's stopping rule (msmesh/fit/fitter.py's docstring).
``frames_per_s`` counts everything the fit needs (the regressor included); ``fit_frames_per_s`` the fit alone;
``cpu_seconds`` is the process CPU time of both (steadier than wall time on a shared machine).
``pa_mpjpe_mm`` / ``pa_mpjpe_truncated_mm``: accuracy of the fit (and ``regressor_pa_mpjpe_mm`` of its start).
``peak_rss_mb`` is the process's peak resident memory (whole process: Python, torch, the body model, the data
and the fit).
Run: `.venv/bin/python bench/fit_speed.py [--people 10 --frames 100 --threads 1 --init heuristic]`;
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
    ap.add_argument("--init", default="auto", choices=("auto", "regress", "heuristic"))
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
    init_kind = args.init
    if init_kind == "auto":
        from msmesh.regress.hub import default_weights_available

        init_kind = "regress" if default_weights_available(temporal=True) else "heuristic"
    regress = None
    if init_kind == "regress":
        from msmesh.regress.hub import load_regressor
        from msmesh.regress.predict import regress_tracks
        from msmesh.stages import REGRESS_INIT_ITERS

        model = load_regressor(None, temporal=True)
        options.setdefault("stage2_iters", REGRESS_INIT_ITERS)

        def regress(tracks):  # noqa: ANN001, ANN202
            return regress_tracks(tracks, None, model, args.device, body_model=bm)

    if args.optimizer:
        options["optimizer"] = args.optimizer
    if args.iters:
        options["stage2_iters"] = args.iters
    fitter = MultiShotFitter(bm, mode=args.mode, device=args.device, **options)
    warm = generate(bm, SyntheticConfig(seed=1, clips=("walk",), procedural=0, frames=8)).tracks
    fitter.fit(warm, init=regress(warm) if regress else None)  # warm-up
    c0, t0 = time.process_time(), time.perf_counter()
    init = regress(data.tracks) if regress else None
    t_reg = time.perf_counter() - t0
    res = fitter.fit(data.tracks, init=init)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    frames = sum(len(p) for p in data.tracks.people)
    acc = score(res, data, bm)
    reg_acc = score(init, data, bm) if init is not None else None
    print(
        json.dumps(
            {
                "benchmark": "fit_speed",
                "mode": args.mode,
                "people": args.people,
                "frames_per_person": args.frames,
                "frames": frames,
                "init": init_kind,
                "seconds": round(seconds, 3),
                "frames_per_s": round(frames / seconds, 1),
                "regress_seconds": round(t_reg, 3),
                "fit_frames_per_s": round(frames / (seconds - t_reg), 1),
                "cpu_seconds": round(cpu, 3),
                "frames_per_cpu_s": round(frames / cpu, 1),
                "optimizer": fitter.opt.optimizer,
                "options": options,
                "iterations": fitter.stats.iterations,
                "function_evaluations": fitter.stats.evaluations,
                "line_search_fallbacks": fitter.stats.fallbacks,
                "threads": args.threads,
                "device": args.device,
                "cpu_count": os.cpu_count(),
                "platform": platform.platform(),
                "torch": torch.__version__,
                "pa_mpjpe_mm": round(acc["pa_mpjpe_mm"], 1),
                "pa_mpjpe_truncated_mm": round(acc["pa_mpjpe_truncated_mm"], 1),
                "regressor_pa_mpjpe_mm": round(reg_acc["pa_mpjpe_mm"], 1) if reg_acc else None,
                "final_energy": round(fitter.stats.final_energy, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
