"""Hard synthetic multi-shot benchmark (msmesh.eval.synthetic_hard): frame / shot / multishot PA-MPJPE.

Prints one JSON object: per seed and mode, PA-MPJPE over all and truncated frames, cross-shot PCK, seconds;
plus the means over seeds and the ratio multishot / frame on truncated frames.
``--init regress`` starts every mode's fit from the shipped t-HMMR (as `reconstruct`/`fit --init auto` do, with
``msmesh.stages.REGRESS_INIT_ITERS`` iterations) and also reports the regressor alone (mode ``regressor``);
``--preset old`` runs the default benchmark's set (`msmesh eval synthetic`) instead of the hard one.
Run: `python bench/synthetic_hard.py [--seeds 0 1 2] [--threads 1] [--init regress] [--set w_sm_joint=4000 ...]`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _from_regressor(bm, cfg, modes: tuple[str, ...], options: dict) -> dict:  # noqa: ANN001
    """``run_benchmark``'s result with every fit started from the shipped t-HMMR (timed with it)."""
    from msmesh.eval.synthetic import generate, score
    from msmesh.fit.fitter import MultiShotFitter
    from msmesh.regress.hub import load_regressor
    from msmesh.regress.predict import regress_tracks
    from msmesh.stages import REGRESS_INIT_ITERS

    data = generate(bm, cfg)
    model = load_regressor(None, temporal=True)
    t0 = time.perf_counter()
    init = regress_tracks(data.tracks, None, model, "cpu", body_model=bm)
    t_reg = time.perf_counter() - t0
    rows = {"regressor": {**score(init, data, bm), "seconds": t_reg}}
    for mode in modes:
        fitter = MultiShotFitter(bm, mode=mode, **{"stage2_iters": REGRESS_INIT_ITERS, **options})
        t0 = time.perf_counter()
        res = fitter.fit(data.tracks, init=init)
        rows[mode] = {**score(res, data, bm), "seconds": time.perf_counter() - t0 + t_reg,
                      "iterations": fitter.stats.iterations, "fallbacks": fitter.stats.fallbacks}
    return {"seed": cfg.seed, "frames": int(sum(len(p) for p in data.tracks.people)),
            "truncated_frames": int(sum(t.sum() for t in data.truncated.values())), "modes": rows}


def main() -> None:
    from msmesh.eval.synthetic_hard import REPORT_SEEDS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(REPORT_SEEDS))
    ap.add_argument("--modes", nargs="+", default=["frame", "shot", "multishot"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--frames", type=int, default=None, help="sampled frames per sequence (default 60)")
    ap.add_argument("--landmarks", action="store_true", help="simulated BlazePose landmarks + world landmarks")
    ap.add_argument("--world-noise-corr", type=float, default=0.0,
                    help="with --landmarks: frame-to-frame correlation of the world landmarks' noise")
    ap.add_argument("--set", nargs="*", default=[], metavar="OPTION=VALUE", help="fit options")
    ap.add_argument("--init", default="heuristic", choices=("heuristic", "regress"))
    ap.add_argument("--preset", default="hard", choices=("hard", "old"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from msmesh.body import load_body_model
    from msmesh.eval.synthetic import SyntheticConfig, run_benchmark
    from msmesh.eval.synthetic_hard import hard_config

    options = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    bm = load_body_model("open")
    runs = []
    for seed in args.seeds:
        over = {"frames": args.frames} if args.frames else {}
        over["landmarks"] = args.landmarks
        over["world_noise_corr"] = args.world_noise_corr
        cfg = hard_config(seed, **over) if args.preset == "hard" else replace(SyntheticConfig(seed=seed), **over)
        if args.init == "regress":
            runs.append(_from_regressor(bm, cfg, tuple(args.modes), options))
        else:
            runs.append(run_benchmark(bm, cfg, modes=tuple(args.modes), **options))
    if args.init == "regress":
        args.modes = ["regressor", *args.modes]
    mean = {
        mode: {
            k: round(float(np.mean([r["modes"][mode][k] for r in runs])), 2)
            for k in ("pa_mpjpe_mm", "pa_mpjpe_truncated_mm", "cross_shot_pck", "seconds")
        }
        for mode in args.modes
    }
    out = {
        "benchmark": "synthetic_hard" if args.preset == "hard" else "synthetic",
        "init": args.init,
        "seeds": args.seeds,
        "options": options,
        "landmarks": args.landmarks,
        "world_noise_corr": args.world_noise_corr,
        "frames": [r["frames"] for r in runs],
        "truncated_frames": [r["truncated_frames"] for r in runs],
        "mean": mean,
        "runs": [
            {"seed": r["seed"], "modes": {m: {k: v for k, v in row.items()} for m, row in r["modes"].items()}}
            for r in runs
        ],
    }
    if "frame" in mean and "multishot" in mean:
        out["truncated_ratio_multishot_frame"] = round(
            mean["multishot"]["pa_mpjpe_truncated_mm"] / mean["frame"]["pa_mpjpe_truncated_mm"], 3
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
