"""Accuracy versus time of the fitter's solvers: PA-MPJPE of the joints every k energy evaluations.

One fit per solver on the same generated input (the hard synthetic benchmark's motions and cameras,
multishot mode, 1 thread by default); the fitter records the joints along the way (``trace_every``), the
time spent recording is excluded. ``--regress``: also L-BFGS from the shipped t-HMMR (the default ``--init
auto`` path: translation solve + Jacobi-scaled L-BFGS), its curve starting at the regressor's own time and
error. Prints one JSON object and, with ``--png``, draws the curves (OpenCV, no plotting library needed). Run:
`python bench/fit_curve.py --png assets/readme/fit_curve.png --regress [--frames 30 --solvers lbfgs adam]`.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

COLORS = [(200, 90, 30), (40, 140, 40), (40, 40, 200), (150, 60, 150), (20, 150, 180)]  # BGR


def draw(curves: dict[str, list[tuple[float, float]]], path: str, title: str) -> None:
    """Line chart of (seconds, mm) per solver into a PNG."""
    import cv2

    w, h, left, right, top, bottom = 900, 520, 80, 30, 50, 60
    img = np.full((h, w, 3), 255, np.uint8)
    xs = [x for c in curves.values() for x, _ in c]
    ys = [y for c in curves.values() for _, y in c]
    x_max = max(xs) * 1.05
    y_lo, y_hi = np.floor(min(ys) / 10) * 10, np.ceil(max(ys) / 10) * 10

    def px(x: float, y: float) -> tuple[int, int]:
        return (
            int(left + x / x_max * (w - left - right)),
            int(top + (y_hi - y) / max(y_hi - y_lo, 1e-9) * (h - top - bottom)),
        )

    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.rectangle(img, (left, top), (w - right, h - bottom), (0, 0, 0), 1)
    for y in np.arange(y_lo, y_hi + 1e-9, 10 if y_hi - y_lo <= 80 else 20):
        p = px(0, y)
        cv2.line(img, (left, p[1]), (w - right, p[1]), (225, 225, 225), 1)
        cv2.putText(img, f"{y:.0f}", (left - 45, p[1] + 5), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    step = float(10 ** np.floor(np.log10(x_max / 2)))
    step = step * 2 if x_max / step > 10 else step
    for x in np.arange(0, x_max, step):
        p = px(x, y_lo)
        cv2.line(img, (p[0], top), (p[0], h - bottom), (225, 225, 225), 1)
        cv2.putText(img, f"{x:g}", (p[0] - 10, h - bottom + 20), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "seconds (1 thread)", (w // 2 - 70, h - 15), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "PA-MPJPE (mm)", (5, top - 15), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, title, (left + 150, top - 15), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (name, c) in enumerate(curves.items()):
        color = COLORS[i % len(COLORS)]
        pts = np.array([px(x, y) for x, y in c], np.int32)
        cv2.polylines(img, [pts], False, color, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, tuple(int(v) for v in p), 3, color, -1, cv2.LINE_AA)
        cv2.putText(img, name, (w - right - 320, top + 25 + 22 * i), font, 0.55, color, 2, cv2.LINE_AA)
    from msmesh.atomic import atomic_output

    with atomic_output(path) as tmp:  # keeps the .png suffix, so imwrite knows the format
        cv2.imwrite(str(tmp), img)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--solvers", nargs="+", default=["lbfgs", "adam"])
    ap.add_argument("--iters", type=int, default=600, help="stage-2 iteration cap of every solver")
    ap.add_argument("--every", type=int, default=20, help="record every k evaluations")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--png", default=None)
    ap.add_argument("--regress", action="store_true", help="also L-BFGS from the shipped t-HMMR")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from msmesh.body import load_body_model
    from msmesh.eval.metrics import pa_mpjpe
    from msmesh.eval.synthetic import EVAL_JOINTS, generate
    from msmesh.eval.synthetic_hard import hard_config
    from msmesh.fit.fitter import MultiShotFitter

    bm = load_body_model("open")
    data = generate(bm, hard_config(args.seed, frames=args.frames))
    gt = np.concatenate([data.gt_joints[p.id] for p in data.tracks.people])[:, EVAL_JOINTS]
    frames = len(gt)
    out = {"benchmark": "fit_curve", "seed": args.seed, "frames": frames, "threads": args.threads, "solvers": {}}
    curves = {}
    small = generate(bm, hard_config(1, frames=4, clips=("walk",), procedural=0, fast=0)).tracks
    runs = [(f"{solver}, heuristic start", solver, False) for solver in args.solvers]
    if args.regress:
        runs.insert(0, ("lbfgs, t-HMMR start (default)", "lbfgs", True))
    for label, solver, from_regressor in runs:
        init, offset, first = None, 0.0, []
        if from_regressor:
            import time

            from msmesh.regress.hub import load_regressor
            from msmesh.regress.predict import regress_tracks

            model = load_regressor(None, temporal=True)
            regress_tracks(small, None, model, "cpu", body_model=bm)  # warm-up
            t0 = time.perf_counter()
            init = regress_tracks(data.tracks, None, model, "cpu", body_model=bm)
            offset = time.perf_counter() - t0
            j0 = np.concatenate([p.joints for p in init.people])[:, EVAL_JOINTS]
            first = [(round(offset, 3), 0, None, round(float(pa_mpjpe(j0, gt).mean() * 1000), 2))]
        MultiShotFitter(bm, mode="multishot", optimizer=solver, stage2_iters=5).fit(small)  # warm-up
        fitter = MultiShotFitter(bm, mode="multishot", optimizer=solver, stage2_iters=args.iters,
                                 trace_every=args.every)
        fitter.fit(data.tracks, init=init)
        pts = first + [
            (round(t + offset, 3), ev, round(en, 2), round(float(pa_mpjpe(j[:, EVAL_JOINTS], gt).mean() * 1000), 2))
            for t, ev, en, j in fitter.stats.trace
        ]
        out["solvers"][label] = {"seconds_evaluations_energy_mm": pts}
        curves[label] = [(p[0], p[3]) for p in pts]
    if args.png:
        draw(curves, args.png, f"hard synthetic set, {frames} frames, multishot")
        out["png"] = args.png
    print(json.dumps(out))


if __name__ == "__main__":
    main()
