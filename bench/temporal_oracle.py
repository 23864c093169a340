"""How much can a truncated frame gain from its neighbours in t-HMMR's 13-frame window? Oracle bounds.

    python bench/temporal_oracle.py [--weights DIR] [--threads 1]

On the held-out synthetic sets of bench/regress_synthetic.py (the benchmark, seed 0, and ``second_set``), for
every truncated frame: HMR's own estimate, then HMR's estimate with information from the other frames of
its window (±6 sampled frames, cuts included) put in by hand —

- ``legs_truth_nearest``: the leg joints' true rotations (hips, knees, ankles, feet) copied from the nearest
  untruncated frame in the window;
- ``legs_truth_interp``: linearly interpolated between the nearest untruncated frames on both sides;
- ``legs_hmr_nearest``: HMR's own leg estimate of the nearest untruncated frame (what a temporal model could
  copy without any motion model);
- ``body_truth_nearest``: the whole true body pose of the nearest untruncated frame (true orientation);
- ``legs_truth_self``: the frame's own true legs (what perfect legs would give);
- ``thmmr``: t-HMMR's estimate, and ``thmmr_gain_by_distance_mm`` its gain over HMR by the distance to the
  nearest untruncated frame (if it uses the other shots, the gain is largest next to a full view).

Frames with no untruncated frame in the window keep HMR's estimate. ``window_has_full_view`` is their
complement, ``distance_to_full_view`` the histogram of the distance (99 = none). PA-MPJPE (mm, 14 joints) on
truncated frames. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from regress_synthetic import second_set_config, with_landmarks

from msmesh.body import load_body_model
from msmesh.eval.metrics import pa_mpjpe
from msmesh.eval.synthetic import EVAL_JOINTS, SyntheticConfig, generate
from msmesh.regress import hub
from msmesh.regress.predict import regress_tracks

LEG_JOINTS = [1, 2, 4, 5, 7, 8, 10, 11]  # SMPL-24: hips, knees, ankles, feet
HALF = 6


def _oracle(data, tracks, model, bm, temporal=None) -> dict:  # noqa: ANN001
    res = regress_tracks(tracks, None, model, body_model=bm)
    tres = regress_tracks(tracks, None, temporal, body_model=bm) if temporal else None
    return oracle_rows(data, res, bm, tres)


def oracle_rows(data, res, bm, other=None, half: int = HALF,  # noqa: ANN001
                names: tuple[str, str] = ("hmr", "thmmr")) -> dict:
    """The oracle rows for any per-frame estimate ``res`` (a FitResult) of ``data``: its own truncated-frame
    error (``names[0]``), with leg / body information from untruncated frames at most ``half`` sampled frames
    away put in by hand, and ``other`` (a second FitResult, ``names[1]``) with its gain by distance."""
    tres = {p.id: p for p in other.people} if other is not None else {}

    def error(go: np.ndarray, bp: np.ndarray, betas: np.ndarray, gt: np.ndarray) -> float:
        j, _ = bm.joints_only(torch.tensor(go[None], dtype=torch.float32),
                              torch.tensor(bp.reshape(1, 69), dtype=torch.float32),
                              torch.tensor(betas[None], dtype=torch.float32), None)
        return float(pa_mpjpe(j.numpy()[:, EVAL_JOINTS], gt[None, EVAL_JOINTS])[0] * 1000.0)

    rows: dict[str, list[float]] = {k: [] for k in (names[0], "legs_truth_nearest", "legs_truth_interp",
                                                    "legs_hmr_nearest", "body_truth_nearest", "legs_truth_self",
                                                    names[1])}
    dist: list[int] = []
    for seq in res.people:
        gt, trunc, gp = data.gt_joints[seq.id], data.truncated[seq.id], data.gt_params[seq.id]
        t_n = len(gt)
        true_bp = np.asarray(gp["body_pose"]).reshape(t_n, 23, 3)
        pred_bp = seq.body_pose.reshape(t_n, 23, 3)
        full = np.flatnonzero(~trunc)

        def legs_from(t: int, src: np.ndarray, seq=seq, pred_bp=pred_bp, gt=gt) -> float:  # noqa: ANN001
            bp = pred_bp[t].copy()
            bp[[j - 1 for j in LEG_JOINTS]] = src[[j - 1 for j in LEG_JOINTS]]
            return error(seq.global_orient[t], bp, seq.betas, gt[t])

        for t in np.flatnonzero(trunc):
            own = error(seq.global_orient[t], pred_bp[t], seq.betas, gt[t])
            rows[names[0]].append(own)
            rows["legs_truth_self"].append(legs_from(t, true_bp[t]))
            if tres:
                ts = tres[seq.id]
                rows[names[1]].append(error(ts.global_orient[t], ts.body_pose[t], ts.betas, gt[t]))
            near = full[np.abs(full - t) <= half]
            if len(near) == 0:
                dist.append(99)
                for k in ("legs_truth_nearest", "legs_truth_interp", "legs_hmr_nearest", "body_truth_nearest"):
                    rows[k].append(own)
                continue
            n = int(near[np.argmin(np.abs(near - t))])
            dist.append(abs(n - int(t)))
            rows["legs_truth_nearest"].append(legs_from(t, true_bp[n]))
            rows["legs_hmr_nearest"].append(legs_from(t, pred_bp[n]))
            rows["body_truth_nearest"].append(error(gp["global_orient"][t], true_bp[n], gp["betas"], gt[t]))
            lo, hi = near[near < t], near[near > t]
            if len(lo) and len(hi):
                a, b = int(lo.max()), int(hi.min())
                w = (t - a) / (b - a)
                rows["legs_truth_interp"].append(legs_from(t, (1 - w) * true_bp[a] + w * true_bp[b]))
            else:
                rows["legs_truth_interp"].append(legs_from(t, true_bp[n]))
    d = np.array(dist)
    out: dict = {k: round(float(np.mean(v)), 1) for k, v in rows.items() if v}
    if tres:  # the second estimate's gain by distance to the nearest full view: does it use the other shots?
        h, t = np.array(rows[names[0]]), np.array(rows[names[1]])
        out[f"{names[1]}_gain_by_distance_mm"] = {
            name: round(float((h[sel] - t[sel]).mean()), 1) if sel.any() else None
            for name, sel in (("1", d == 1), ("2-3", (d >= 2) & (d <= 3)), ("4-6", (d >= 4) & (d <= 6)),
                              ("7+", (d >= 7) & (d < 99)), ("none", d == 99))}
    out["truncated_frames"] = len(d)
    out["window_has_full_view"] = round(float((d < 99).mean()), 3)
    out["distance_to_full_view"] = {int(k): int((d == k).sum()) for k in np.unique(d)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", type=Path, help="folder with hmr/ and thmmr/ (default: the shipped ones)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bm = load_body_model("open")
    model = hub.load_regressor(args.weights / "hmr" if args.weights else None, temporal=False)
    temporal = hub.load_regressor(args.weights / "thmmr" if args.weights else None, temporal=True)
    report = {}
    for name, cfg in (("benchmark", SyntheticConfig(seed=0)), ("second_set", second_set_config(0))):
        data = generate(bm, cfg)
        report[name] = {"coco17": _oracle(data, data.tracks, model, bm, temporal),
                        "coco17+blazepose": _oracle(data, with_landmarks(data, bm, 0), model, bm, temporal)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
