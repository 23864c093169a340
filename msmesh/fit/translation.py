"""Translations of a whole batch of frames in one linear solve, the pose held fixed (the fit's init step).

A regressor's per-frame translation comes from a weak-perspective camera: its depth jitters from frame to frame,
so at the start of a fit the translation-smoothness term dominates the energy and L-BFGS spends its first
iterations trading pose for depth. Given the posed body (keypoints X_k without translation, pelvis p) this
solves, for every frame's translation t at once,

    min_t  Σ_frames Σ_k c_k ρ(‖Π(X_k + t) − x_k‖ / s) + Σ_pairs w_t ‖(p^{t+1} + t^{t+1}) − (p^t + t^t)‖²
           + λ ‖t − t_0‖²

— the fit's reprojection and translation-smoothness terms, with a weak pull λ to the given translation t_0 for
frames with too few keypoints — by iteratively reweighted linear least squares: the projection is linearised
as f(X + t)_x − u'(Z + t_z) = 0 divided by the current depth (so residuals are in pixels), and ρ (Geman–McClure)
becomes IRLS weights. Each frame has 3 unknowns coupled only to its neighbours, so the normal equations are a
symmetric banded matrix (bandwidth 3) solved in O(N).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solveh_banded


def solve_translations(
    points: np.ndarray,
    pelvis: np.ndarray,
    keypoints: np.ndarray,
    conf: np.ndarray,
    pair_weight: np.ndarray,
    t0: np.ndarray,
    focal: float,
    center: tuple[float, float],
    scale: float,
    sigma: float,
    anchor: float = 1.0,
    iterations: int = 3,
    min_depth: float = 0.2,
) -> np.ndarray:
    """(N,3) translations for N frames laid end to end.

    points (N,K,3) model keypoints with zero translation; pelvis (N,3) likewise; keypoints (N,K,2) pixels;
    conf (N,K) (0 = unseen); pair_weight (N−1,) the smoothness weight between frame t and t+1 (0 between
    people or shots); t0 (N,3) the starting translations; ``scale`` divides pixel residuals and ``sigma`` is
    the Geman–McClure scale in those units (as in the fit's energy); ``anchor`` λ."""
    n = len(points)
    t = np.asarray(t0, dtype=np.float64).copy()
    X = np.asarray(points, dtype=np.float64)
    uv = np.asarray(keypoints, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    c = np.asarray(conf, dtype=np.float64)
    pw = np.asarray(pair_weight, dtype=np.float64)
    dp = np.diff(np.asarray(pelvis, dtype=np.float64), axis=0)  # (N−1,3)
    s2 = sigma * sigma
    robust = np.ones_like(c)
    for _ in range(iterations):
        depth = np.maximum(X[..., 2] + t[:, None, 2], min_depth)  # (N,K)
        w = c * robust / (depth * scale) ** 2
        # rows a·t = b per keypoint and axis: a_u = (f, 0, −u'), b_u = u'Z − fX (and v likewise)
        u, v = uv[..., 0], uv[..., 1]
        h = np.zeros((n, 3, 3))
        g = np.zeros((n, 3))
        f2 = focal * focal
        h[:, 0, 0] = f2 * w.sum(1)
        h[:, 1, 1] = h[:, 0, 0]
        h[:, 0, 2] = h[:, 2, 0] = -focal * (w * u).sum(1)
        h[:, 1, 2] = h[:, 2, 1] = -focal * (w * v).sum(1)
        h[:, 2, 2] = (w * (u * u + v * v)).sum(1)
        bu = u * X[..., 2] - focal * X[..., 0]
        bv = v * X[..., 2] - focal * X[..., 1]
        g[:, 0] = focal * (w * bu).sum(1)
        g[:, 1] = focal * (w * bv).sum(1)
        g[:, 2] = -(w * (u * bu + v * bv)).sum(1)
        h[:, [0, 1, 2], [0, 1, 2]] += anchor
        g += anchor * np.asarray(t0, dtype=np.float64)
        # smoothness: pw ‖Δt + Δp‖² → diagonal blocks +pw I, off-diagonal −pw I, rhs ∓pw Δp
        diag = h[:, [0, 1, 2], [0, 1, 2]]
        diag[:-1] += pw[:, None]
        diag[1:] += pw[:, None]
        g[:-1] += pw[:, None] * dp
        g[1:] -= pw[:, None] * dp
        # upper banded storage, bandwidth 3: ab[3 + i − j, j] = A[i, j] for i ≤ j (unknown index 3·frame + axis)
        ab = np.zeros((4, 3 * n))
        ab[3] = diag.reshape(-1)
        ab[2, 2::3] = h[:, 1, 2]  # (y, z) of a frame: offset 1
        ab[1, 2::3] = h[:, 0, 2]  # (x, z): offset 2
        ab[0, 3:] = -np.repeat(pw, 3)  # same axis, next frame: offset 3
        t = solveh_banded(ab, g.reshape(-1)).reshape(n, 3)
        # Geman–McClure IRLS weights ρ'(r)/(2r) = σ⁴ / (σ² + r²)² (up to the constant σ⁴, kept relative)
        z = np.maximum(X[..., 2] + t[:, None, 2], min_depth)
        proj = focal * (X[..., :2] + t[:, None, :2]) / z[..., None]
        r2 = ((proj - uv) ** 2).sum(-1) / (scale * scale)
        robust = (s2 / (s2 + r2)) ** 2
    return t.astype(np.float32)
