"""Evaluation metrics: MPJPE, PA-MPJPE, PCK and the paper's cross-shot PCK.

Definitions (the numbers ``msmesh eval`` prints):

- **MPJPE**: mean Euclidean distance between predicted and true 3D joints, after subtracting each skeleton's
  root (``root`` index; pelvis by default), averaged over joints, per frame.
- **PA-MPJPE**: MPJPE after a Procrustes alignment of the prediction to the truth with rotation,
  translation and one isotropic scale (least squares, Umeyama; reflections excluded), per frame.
- **PCK@α**: fraction of visible ground-truth 2D keypoints whose prediction lies within ``α·s`` pixels,
  where ``s`` is the person's box size = the longer side of the person's bounding box in that frame.
- **Cross-shot PCK@α** (paper §5, "novel-view" evaluation): for every cut of a person, i.e. two consecutive
  fitted frames t, t+1 of that person in different shots, pose the body with frame t's body pose and the
  person's shape β but frame t+1's global orientation and translation, project its COCO-17 keypoints with
  the fit's camera into frame t+1 and score them against frame t+1's keypoints with PCK@α (box size of
  frame t+1's box); and vice versa (t+1's pose in t's camera placement). Only keypoints with confidence above
  ``min_conf`` count. The result pools every scored keypoint of every cut in both directions. It measures
  whether the pose recovered in one shot is right when seen from the other shot's camera — which only holds
  when the fit got the 3D pose, not just its projection, right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from msmesh.data import FitResult, Tracks
from msmesh.fit.camera import project_np

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel


def mpjpe(pred: np.ndarray, gt: np.ndarray, root: int | None = 0) -> np.ndarray:
    """(N, J, 3) × 2 → (N,) mean per-joint position error, root-relative when ``root`` is not None."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if root is not None:
        pred = pred - pred[:, root : root + 1]
        gt = gt - gt[:, root : root + 1]
    return np.linalg.norm(pred - gt, axis=-1).mean(-1)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Similarity-align each (J, 3) prediction to its ground truth (rotation, translation, scale)."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    mu_p = pred.mean(1, keepdims=True)
    mu_g = gt.mean(1, keepdims=True)
    p = pred - mu_p
    g = gt - mu_g
    var_p = (p**2).sum((1, 2))
    cov = np.einsum("nji,njk->nik", g, p)  # Σ g pᵀ  (3×3)
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones((len(pred), 3))
    fix[:, 2] = d
    rot = u @ (fix[:, :, None] * vt)
    scale = (s * fix).sum(1) / np.maximum(var_p, 1e-12)
    return scale[:, None, None] * np.einsum("nij,nkj->nki", rot, p) + mu_g


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, J, 3) × 2 → (N,) MPJPE after Procrustes alignment with scale."""
    return mpjpe(procrustes_align(pred, gt), gt, root=None)


def box_size(bbox: np.ndarray) -> np.ndarray:
    """(N, 4) x0,y0,x1,y1 → (N,) the longer side."""
    b = np.asarray(bbox, dtype=np.float64)
    return np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])


def pck_hits(
    pred2d: np.ndarray, gt2d: np.ndarray, visible: np.ndarray, size: np.ndarray, alpha: float = 0.1
) -> tuple[int, int]:
    """(hits, visible count) for PCK@α: pred/gt (N, K, 2), visible (N, K) bool, size (N,) pixels."""
    dist = np.linalg.norm(np.asarray(pred2d) - np.asarray(gt2d), axis=-1)
    hit = (dist <= alpha * np.asarray(size)[:, None]) & visible
    return int(hit.sum()), int(np.asarray(visible).sum())


def pck(
    pred2d: np.ndarray, gt2d: np.ndarray, visible: np.ndarray, size: np.ndarray, alpha: float = 0.1
) -> float:
    """PCK@α in [0, 1] (NaN when nothing is visible)."""
    hits, n = pck_hits(pred2d, gt2d, visible, size, alpha)
    return hits / n if n else float("nan")


@dataclass
class CrossShotPCK:
    """Cross-shot PCK pooled over cuts: ``value`` in [0, 1] (NaN without cuts), and its counts."""

    value: float
    cuts: int
    keypoints: int


def cross_shot_pck(
    result: FitResult,
    tracks: Tracks,
    body_model: BodyModel,
    alpha: float = 0.1,
    min_conf: float = 0.1,
    device: str | torch.device = "cpu",
) -> CrossShotPCK:
    """The paper's cross-shot PCK (module docstring) of ``result`` against the keypoints in ``tracks``."""
    go, bp, be, tr, gt, vis, size = [], [], [], [], [], [], []
    cuts = 0
    for seq in result.people:
        try:
            track = tracks.person(seq.id)
        except KeyError:
            continue
        index = {int(f): i for i, f in enumerate(track.frames)}
        for a in range(len(seq) - 1):
            if seq.shot[a] == seq.shot[a + 1]:
                continue
            cuts += 1
            for src, dst in ((a, a + 1), (a + 1, a)):
                k = index.get(int(seq.frames[dst]))
                if k is None:
                    continue
                go.append(seq.global_orient[dst])
                tr.append(seq.transl[dst])
                bp.append(seq.body_pose[src])
                be.append(seq.betas)
                gt.append(track.keypoints[k, :, :2])
                vis.append(track.keypoints[k, :, 2] > min_conf)
                size.append(box_size(track.bbox[k : k + 1])[0])
    if not go:
        return CrossShotPCK(float("nan"), cuts, 0)
    with torch.no_grad():
        go_t, bp_t, be_t, tr_t = (torch.as_tensor(np.array(a), dtype=torch.float32, device=device)
                                  for a in (go, bp, be, tr))
        _, c17 = body_model.joints_only(go_t, bp_t, be_t, tr_t)
    pred = project_np(c17.cpu().numpy(), result.focal, result.center)
    hits, n = pck_hits(pred, np.array(gt), np.array(vis), np.array(size), alpha)
    return CrossShotPCK(hits / n if n else float("nan"), cuts, n)
