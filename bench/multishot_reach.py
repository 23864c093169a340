"""Why (or whether) cross-cut information reaches the close-ups: PA-MPJPE of truncated frames by their
distance (in sampled frames) to the nearest untruncated frame of the same person, per fit mode and options.

Prints one JSON object. Uses the hard synthetic benchmark (msmesh.eval.synthetic_hard), default on its tuning
seed. Run: `python bench/multishot_reach.py [--seed 100] [--frames 60] [--init-regress] [--oracle]
[--set w_sm_joint=8000 ...]`. ``--oracle`` adds the bound on what propagation across cuts can give at best.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

LEG_JOINTS = ("l_knee", "r_knee", "l_ankle", "r_ankle")


def distance_to_untruncated(truncated: np.ndarray) -> np.ndarray:
    """(T,) bool → (T,) frames to the nearest untruncated frame (0 for untruncated; T if there is none)."""
    t = len(truncated)
    seen = np.flatnonzero(~truncated)
    if not len(seen):
        return np.full(t, t)
    return np.abs(np.arange(t)[:, None] - seen[None]).min(1)


def _truth(data, bm, part: str):
    """The generated truth as a FitResult (for ``--init-gt``); ``orient``: only orientation and translation
    true, body pose the fitter's mean-pose start, shape 0."""
    from msmesh.data import FitResult, SmplSequence
    from msmesh.fit.prior import mean_pose

    seqs = []
    for p in data.tracks.people:
        g = data.gt_params[p.id]
        bp, be = g["body_pose"], g["betas"]
        if part == "orient":
            bp, be = np.tile(mean_pose(), (len(p), 1)), np.zeros(10)
        seqs.append(
            SmplSequence(id=p.id, frames=p.frames, shot=p.shot, global_orient=g["global_orient"],
                         body_pose=bp, betas=be, transl=g["transl"], joints=data.gt_joints[p.id])
        )
    cam = data.tracks.camera
    return FitResult(people=seqs, focal=cam.focal, center=tuple(cam.center))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--modes", nargs="+", default=["frame", "multishot"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init-gt", choices=["all", "orient"], default=None,
                    help="oracle start: the true parameters (all), or the fitter's own start with the true "
                    "global orientation and translation (orient)")
    ap.add_argument("--init-regress", action="store_true",
                    help="start from the shipped t-HMMR, REGRESS_INIT_ITERS iterations (as --init auto)")
    ap.add_argument("--set", nargs="*", default=[], metavar="OPTION=VALUE")
    ap.add_argument("--oracle", action="store_true",
                    help="also bound what cross-cut propagation can give: the first mode's estimate of each "
                    "truncated frame with the true legs (or body) of the nearest untruncated frame, any distance, "
                    "put in by hand (bench/temporal_oracle.py's rows), the last mode as the second estimate")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from synthetic_hard import _value  # bench/ is on the path when run as a script

    from msmesh.body import load_body_model
    from msmesh.body.joints import SMPL24_NAMES
    from msmesh.eval.metrics import procrustes_align
    from msmesh.eval.synthetic import EVAL_JOINTS, generate
    from msmesh.eval.synthetic_hard import hard_config
    from msmesh.fit.fitter import MultiShotFitter

    options = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    bm = load_body_model("open")
    data = generate(bm, hard_config(args.seed, frames=args.frames))
    legs = [EVAL_JOINTS.index(SMPL24_NAMES.index(n)) for n in LEG_JOINTS]
    out = {"benchmark": "multishot_reach", "seed": args.seed, "options": options, "init_gt": args.init_gt,
           "modes": {}}
    init = _truth(data, bm, args.init_gt) if args.init_gt else None
    if args.init_regress:
        from msmesh.regress.hub import load_regressor
        from msmesh.regress.predict import regress_tracks
        from msmesh.stages import REGRESS_INIT_ITERS

        init = regress_tracks(data.tracks, None, load_regressor(None, temporal=True), "cpu", body_model=bm)
        options = {"stage2_iters": REGRESS_INIT_ITERS, **options}
    out["init_regress"] = args.init_regress
    results = {}
    for mode in args.modes:
        fitter = MultiShotFitter(bm, mode=mode, **options)
        t0 = time.perf_counter()
        res = results[mode] = fitter.fit(data.tracks, init=init)
        sec = time.perf_counter() - t0
        errs, leg_errs, dists, trunc = [], [], [], []
        for seq in res.people:
            gt = data.gt_joints[seq.id][:, EVAL_JOINTS]
            al = procrustes_align(seq.joints[:, EVAL_JOINTS], gt)
            per_joint = np.linalg.norm(al - gt, axis=-1) * 1000.0
            errs.append(per_joint.mean(1))
            leg_errs.append(per_joint[:, legs].mean(1))
            dists.append(distance_to_untruncated(data.truncated[seq.id]))
            trunc.append(data.truncated[seq.id])
        e, le, d, tr = (np.concatenate(x) for x in (errs, leg_errs, dists, trunc))
        bins = {"0": d == 0, "1": d == 1, "2": d == 2, "3-4": (d >= 3) & (d <= 4), "5+": d >= 5}
        out["modes"][mode] = {
            "pa_mpjpe_mm": round(float(e.mean()), 1),
            "pa_mpjpe_truncated_mm": round(float(e[tr].mean()), 1),
            "legs_truncated_mm": round(float(le[tr].mean()), 1),
            "by_distance_mm": {k: round(float(e[m].mean()), 1) for k, m in bins.items() if m.any()},
            "legs_by_distance_mm": {k: round(float(le[m].mean()), 1) for k, m in bins.items() if m.any()},
            "frames_by_distance": {k: int(m.sum()) for k, m in bins.items()},
            "seconds": round(sec, 2),
            "iterations": fitter.stats.iterations,
            "final_energy": round(fitter.stats.final_energy, 2),
        }
    if args.oracle:
        from temporal_oracle import oracle_rows

        first, last = args.modes[0], args.modes[-1]
        out["oracle"] = oracle_rows(data, results[first], bm, results[last], half=len(data.tracks.people[0]) * 10,
                                    names=(first, last))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
