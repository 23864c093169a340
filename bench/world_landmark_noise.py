"""BlazePose world landmarks against the multi-shot fit of the same frames, on real footage.

    msmesh reconstruct examples/cuts_demo.mp4 --detector auto --init heuristic --out runs/demo
    python bench/world_landmark_noise.py runs/demo [--refit]

For every person-frame whose ``tracks.json`` has world landmarks: the fitted body's 33 landmarks
(``body.landmarks``, posed mesh in the camera), both hip-centred; per-landmark distance after Procrustes
alignment (visible landmarks, visibility ≥ 0.5), and limb-length differences (shoulder–elbow, elbow–wrist,
hip–knee, knee–ankle). The fit is not ground truth (its own error on the synthetic benchmark is ≈ 125 mm
PA-MPJPE), so the numbers bound BlazePose's noise from above; they are what ``landmark_noise.LandmarkNoise``
is compared with. The pipeline's fit uses the world landmarks itself (``FitOptions.w_world_bones``) and so
agrees with them more; ``--refit`` fits the tracks again without that term for an independent comparison.
``noise_model`` gives the training noise model's own statistics beside them
(``noise_model_targets``: the values it was fitted to). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from msmesh.body import load_body_model
from msmesh.data import load_smpl, load_tracks
from msmesh.regress.landmark_noise import HIPS, MEASURED_WORLD, world_error_mm

LIMBS = [(11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28)]


def _procrustes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` (K,3) aligned to ``b`` by rotation, scale and translation."""
    ma, mb = a.mean(0), b.mean(0)
    x, y = a - ma, b - mb
    u, s, vt = np.linalg.svd(x.T @ y)
    d = np.sign(np.linalg.det(u @ vt))
    s[-1] *= d
    u[:, -1] *= d
    r = u @ vt
    scale = s.sum() / (x**2).sum()
    return scale * x @ r + mb


def independent_fit(tracks, bm):  # noqa: ANN001, ANN201
    """The multi-shot fit of the run's tracks without the world-landmark term and from the heuristic start,
    so the fit owes nothing to the world landmarks it is compared with (the pipeline's default fit pulls the
    body's bones toward them, ``FitOptions.w_world_bones``, and so agrees with them more)."""
    from msmesh.fit.fitter import MultiShotFitter

    return MultiShotFitter(bm, mode="multishot", w_world_bones=0.0).fit(tracks)


def measure(run: Path, refit: bool = False) -> dict:
    tracks = load_tracks(run / "tracks.json")
    fit = load_smpl(run / "smpl.npz")
    if refit:
        fit = independent_fit(tracks, load_body_model(fit.body_model if fit.body_model in ("open", "smpl") else "open"))
    bm = load_body_model(fit.body_model if fit.body_model in ("open", "smpl") else "open")
    errs, limbs, frames = [], [], 0
    for p in tracks.people:
        if p.world_landmarks is None:
            continue
        try:
            seq = fit.person(p.id)
        except KeyError:
            continue
        row = {int(f): i for i, f in enumerate(seq.frames.tolist())}
        for t, f in enumerate(p.frames.tolist()):
            wl = p.world_landmarks[t]
            if int(f) not in row or not (wl[:, 3] > 0).any():
                continue
            i = row[int(f)]
            with torch.no_grad():
                out = bm(torch.tensor(seq.global_orient[i:i + 1]), torch.tensor(seq.body_pose[i:i + 1]),
                         torch.tensor(seq.betas[None]), torch.tensor(seq.transl[i:i + 1]))
            model = out.landmarks[0].numpy().astype(np.float64)
            model -= model[HIPS].mean(0)
            bp = wl[:, :3].astype(np.float64) - wl[HIPS, :3].mean(0)
            vis = wl[:, 3] >= 0.5
            if vis.sum() < 6:
                continue
            aligned = _procrustes(bp[vis], model[vis])
            errs.append(np.linalg.norm(aligned - model[vis], axis=1).mean() * 1000.0)
            for a, b in LIMBS:
                if vis[a] and vis[b]:
                    limbs.append((np.linalg.norm(bp[a] - bp[b]) - np.linalg.norm(model[a] - model[b])) * 1000.0)
            frames += 1
    if not frames:
        raise SystemExit(f"{run}: no person-frame with world landmarks and a fit (run with --detector auto)")
    e, lim = np.array(errs), np.abs(np.array(limbs))
    return {"run": str(run), "fit": "refit without world landmarks" if refit else "run's smpl.npz",
            "frames": frames, "pa_mean_mm": round(float(e.mean()), 1),
            "pa_median_mm": round(float(np.median(e)), 1),
            "limb_length_abs_mm_p50": round(float(np.median(lim)), 1) if len(lim) else None,
            "limb_length_abs_mm_p90": round(float(np.percentile(lim, 90)), 1) if len(lim) else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", type=Path, help="a run folder made with the BlazePose front end (--detector auto)")
    ap.add_argument("--refit", action="store_true", help="compare with a fit of the run's tracks made without "
                                                         "the world-landmark term (independent of them)")
    args = ap.parse_args()
    report = measure(args.run, args.refit)
    report["noise_model"] = {k: round(v, 1) for k, v in world_error_mm(load_body_model("open")).items()}
    report["noise_model_targets"] = MEASURED_WORLD
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
