"""msmesh's keypoint HMR / t-HMMR / conv / GRU and the fitter started from them, on the held-out synthetic set.

    python bench/regress_synthetic.py [--baselines DIR] [--threads 1] [--out FILE]

The set is the `msmesh eval --dataset synthetic` benchmark (seed 0: the held-out DeepMimic clips run, punch,
dance_b, kick + 4 procedural sequences, multi-shot edits with close-ups, 15 fps), which no model was trained
on; ``second_set`` repeats the model rows on a set with issue 14's first synthetic set's statistics
(:func:`second_set_config`: ≈ 25 % truncated frames, cuts every 3–10 frames, 3 framings). Each model is
scored from COCO-17 alone (what the set gives) and from COCO-17 + synthetic BlazePose landmarks
(msmesh.regress.landmark_noise, no missing sequences). Rows: PA-MPJPE (mm, 14 joints) on all and on truncated
frames. Fitter rows: multishot fit from the heuristic init (300 iterations) vs from the t-HMMR
estimate with ``stages.REGRESS_INIT_ITERS`` iterations, without and with the fitter's init prior. Speed:
regress frames/s after detection (features + network + body-model joints) on the given threads.
``world_noise``: the world-landmark noise model's statistics (aligned error, limb-length error) next to
the real BlazePose measurement they are fitted to. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from msmesh.body import load_body_model
from msmesh.data import Tracks
from msmesh.eval.synthetic import SyntheticConfig, generate, score
from msmesh.fit.fitter import MultiShotFitter
from msmesh.regress import hub
from msmesh.regress.landmark_noise import MEASURED_WORLD, LandmarkNoise, synth_landmarks, world_error_mm
from msmesh.regress.predict import regress_tracks
from msmesh.stages import REGRESS_INIT_ITERS


def with_landmarks(data, bm, seed: int = 0) -> Tracks:  # noqa: ANN001
    """The set's tracks with synthetic BlazePose landmarks added to every person."""
    rng = np.random.default_rng(seed)
    people = []
    for p in data.tracks.people:
        lm, wl = synth_landmarks(bm, p, data.gt_params[p.id], data.gt_joints[p.id], rng,
                                 LandmarkNoise(p_missing_sequence=0.0))
        people.append(replace(p, landmarks=lm, world_landmarks=wl))
    return replace(data.tracks, people=people)


def _row(result, data, bm) -> dict:  # noqa: ANN001
    s = score(result, data, bm)
    return {"pa_mpjpe_mm": round(s["pa_mpjpe_mm"], 1), "pa_mpjpe_truncated_mm": round(s["pa_mpjpe_truncated_mm"], 1)}


def second_set_config(seed: int = 0) -> SyntheticConfig:
    """The second held-out set, with issue 14's first synthetic set's statistics: the 4 held-out clips × 60
    sampled frames, a cut every 3–10 frames, 3 framings mostly wide (≈ 25 % truncated frames at seed 0)."""
    return SyntheticConfig(seed=seed, procedural=0, frames=60, shot_min=3, shot_max=10,
                           cameras=("wide",) * 5 + ("medium", "close"))


def _models_on(data, bm, load, seed: int, threads: int, timed: bool) -> tuple[dict, dict]:  # noqa: ANN001
    """Rows per model and input for one set (+ the results, for the fitter rows)."""
    inputs = {"coco17": data.tracks, "coco17+blazepose": with_landmarks(data, bm, seed)}
    report: dict = {"frames": int(sum(len(p) for p in data.tracks.people)),
                    "truncated_frames": int(sum(t.sum() for t in data.truncated.values())), "models": {}}
    if timed:
        report["threads"] = threads
        report["speed_frames_per_s"] = {}
    results = {}
    for name in ("hmr", "thmmr", "conv", "gru"):
        model = load(name)
        if model is None:
            continue
        rows = {}
        for inp, tracks in inputs.items():
            res = regress_tracks(tracks, None, model, body_model=bm)
            rows[inp] = _row(res, data, bm)
            results[(name, inp)] = res
        report["models"][name] = rows
        if timed:
            reps = 5
            t0 = time.perf_counter()
            for _ in range(reps):
                regress_tracks(inputs["coco17+blazepose"], None, model, body_model=bm)
            report["speed_frames_per_s"][name] = round(reps * report["frames"] / (time.perf_counter() - t0), 1)
    h, t = report["models"].get("hmr"), report["models"].get("thmmr")
    if h and t:
        report["thmmr_vs_hmr_truncated"] = {inp: round(1 - t[inp]["pa_mpjpe_truncated_mm"]
                                                       / h[inp]["pa_mpjpe_truncated_mm"], 3) for inp in inputs}
    return report, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baselines", type=Path, help="folder with conv/ and gru/ from tools/build_regressors.py")
    ap.add_argument("--weights", type=Path, help="folder with hmr/ and thmmr/ (default: the shipped ones)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-fit", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bm = load_body_model("open")

    def load(name: str) -> torch.nn.Module | None:
        if name in ("hmr", "thmmr"):
            w = args.weights / name if args.weights else None
            return hub.load_regressor(w, temporal=name == "thmmr")
        if args.baselines is None or not (args.baselines / name).exists():
            return None
        return hub.load_regressor(args.baselines / name, temporal=True)

    data = generate(bm, SyntheticConfig(seed=args.seed))
    main_set, results = _models_on(data, bm, load, args.seed, args.threads, timed=True)
    report: dict = {"dataset": "synthetic", "seed": args.seed, **main_set}
    second = generate(bm, second_set_config(args.seed))
    report["second_set"] = {"config": "bench/regress_synthetic.py second_set_config (4 held-out clips × 60 frames, "
                            "cuts every 3-10, wide×5/medium/close)", **_models_on(second, bm, load, args.seed,
                                                                                    args.threads, timed=False)[0]}
    if not args.no_fit:
        fits = {}
        init = results.get(("thmmr", "coco17"))
        runs = [("heuristic", None, 300, 0.0)]
        if init is not None:
            runs += [("thmmr", init, REGRESS_INIT_ITERS, 0.0), ("thmmr_prior_1e3", init, REGRESS_INIT_ITERS, 1e3),
                     ("thmmr_prior_1e4", init, REGRESS_INIT_ITERS, 1e4)]
        for label, init, iters, prior in runs:
            fitter = MultiShotFitter(bm, mode="multishot", stage2_iters=iters, init_prior_weight=prior)
            t0 = time.perf_counter()
            res = fitter.fit(data.tracks, init=init)
            fits[label] = {**_row(res, data, bm), "iterations": int(sum(fitter.stats.iterations)),
                           "max_iterations": iters, "seconds": round(time.perf_counter() - t0, 1)}
        report["fitter_coco17"] = fits
    report["world_noise"] = {"simulated": {k: round(v, 1) for k, v in world_error_mm(bm).items()},
                             "measured_real": MEASURED_WORLD, "model": vars(LandmarkNoise()),
                             "real_footage": "bench/world_landmark_noise.py RUN (BlazePose vs the multi-shot fit)"}
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
