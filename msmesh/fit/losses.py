"""The energy terms of the multi-shot fit (paper Eq. 1–3), as plain torch functions.

Every term returns a per-item tensor so the fitter can weight and sum them; none of them knows about people,
shots or modes — the fitter decides which frame pairs enter the smoothness terms (the pair masks that make
``frame`` / ``shot`` / ``multishot`` modes).
"""

from __future__ import annotations

import torch

# SMPLify's bending prior: body_pose indices (69-D, no global orientation) of the left/right elbow's y
# rotation and the left/right knee's x rotation, and the sign that marks the unnatural direction.
BEND_INDICES = (52, 55, 9, 12)
BEND_SIGNS = (1.0, -1.0, -1.0, -1.0)


def gmof(residual: torch.Tensor, sigma: float) -> torch.Tensor:
    """Geman-McClure robust penalty ``σ² r² / (σ² + r²)``: quadratic near 0, saturating at σ² for outliers."""
    r2 = residual * residual
    s2 = sigma * sigma
    return s2 * r2 / (s2 + r2)


def reprojection(
    projected: torch.Tensor,
    keypoints: torch.Tensor,
    confidence: torch.Tensor,
    sigma: float,
    scale: torch.Tensor | float = 1.0,
) -> torch.Tensor:
    """Robust confidence-weighted reprojection error per frame.

    projected, keypoints: (N, K, 2) pixels; confidence: (N, K); ``scale`` divides the pixel residuals
    (e.g. image diagonal / 1000, making σ independent of resolution). Returns (N,): Σ_k c_k ρ(‖Δ_k‖).
    """
    d = (projected - keypoints) / scale
    dist = torch.sqrt((d * d).sum(-1) + 1e-9)
    return (confidence * gmof(dist, sigma)).sum(-1)


def bending(body_pose: torch.Tensor) -> torch.Tensor:
    """SMPLify's prior against unnatural elbow/knee bending: Σ exp(s·θ)² over the four hinge angles. (N,)."""
    idx = torch.tensor(BEND_INDICES, device=body_pose.device)
    sign = torch.tensor(BEND_SIGNS, dtype=body_pose.dtype, device=body_pose.device)
    return torch.exp(body_pose[:, idx] * sign).pow(2).sum(-1)


def shape_prior(betas: torch.Tensor) -> torch.Tensor:
    """‖β‖² per person (β are unit-variance PCA coefficients). (P,)."""
    return (betas * betas).sum(-1)


def canonical_joints(
    joints: torch.Tensor, root_rotmat: torch.Tensor, transl_free_root: torch.Tensor
) -> torch.Tensor:
    """Eq. 1's X_can = R_glᵀ (X − X_root): joints in the body's own frame (global rotation and position
    undone).

    joints (N, J, 3) camera coordinates; root_rotmat (N, 3, 3) the global orientation; transl_free_root
    (N, 3) the point to subtract first (the pelvis), so the translation drops out as well.
    """
    return (joints - transl_free_root[:, None]) @ root_rotmat


def canonical_joints_t(points: torch.Tensor, root_rotmat: torch.Tensor) -> torch.Tensor:
    """:func:`canonical_joints` batch-last, as the body model's fast path lays joints out: points (3, J, N),
    root rotations (3, 3, N) → (3, J, N), the root joint (index 0) subtracted. The 3×3 product is unrolled
    into elementwise ops on contiguous rows (faster than a batched matmul of N tiny matrices on CPU)."""
    return _in_root_frame(points - points[:, :1], root_rotmat)


def _in_root_frame(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Rᵀ applied to batch-last root-relative points: x (3, J, N), r (3, 3, N) → (3, J, N)."""
    return torch.stack([r[0, c] * x[0] + r[1, c] * x[1] + r[2, c] * x[2] for c in range(3)])


def consecutive_sq_diff(x: torch.Tensor) -> torch.Tensor:
    """‖x[t+1] − x[t]‖² summed over every axis but the first, for t = 0..N−2 (slices, no gathers). (N−1,)."""
    d = x[1:] - x[:-1]
    return d.reshape(d.shape[0], -1).pow(2).sum(-1)


def consecutive_sq_diff_t(x: torch.Tensor) -> torch.Tensor:
    """:func:`consecutive_sq_diff` for batch-last tensors (..., N): over the last axis, summed over the others.
    (N−1,). For rotation matrices it is ‖R_{t+1} − R_t‖²_F = 4(1 − cos θ), a smooth stand-in for the squared
    geodesic angle."""
    d = x[..., 1:] - x[..., :-1]
    return (d * d).reshape(-1, d.shape[-1]).sum(0)


def bone_directions(
    model: torch.Tensor, observed: torch.Tensor, confidence: torch.Tensor, align: bool = True
) -> torch.Tensor:
    """3D bone-direction term per frame: Σ_b c_b ‖u_b − R v_b‖² for model unit bones u (N,B,3), observed unit
    bones v (N,B,3) and confidences c (N,B). Returns (N,).

    ``align``: R is the rotation that best maps the observed bones onto the model's in that frame (Kabsch,
    confidence-weighted), so only the body's shape of bones counts, not its global orientation (which the
    2D keypoints fix better). R is not differentiated: at the optimal R the term's derivative with respect
    to R vanishes, so the gradient is exact anyway. ``align=False``: R = I (both in camera axes).
    """
    v = observed
    if align:
        with torch.no_grad():
            h = (confidence[..., None, None] * (v[..., :, None] * model[..., None, :])).sum(1)  # (N,3,3)
            u_, _, vt = torch.linalg.svd(h)
            d = torch.sign(torch.linalg.det(vt.transpose(1, 2) @ u_.transpose(1, 2)))
            fix = torch.ones_like(h[:, 0])
            fix[:, 2] = d
            rot = vt.transpose(1, 2) @ (fix[:, :, None] * u_.transpose(1, 2))  # maps observed → model
        v = v @ rot.transpose(1, 2)
    return (confidence * (model - v).pow(2).sum(-1)).sum(-1)


class _CanonicalSmoothness(torch.autograd.Function):
    """Eq. 1's joint smoothness and its acceleration term on the canonical joints, with a hand-written
    backward (see :func:`canonical_smoothness_t`)."""

    @staticmethod
    def forward(ctx, points: torch.Tensor, rot: torch.Tensor, w_pair: torch.Tensor,
                w_joint: float, w_accel: float) -> torch.Tensor:
        x = points - points[:, :1]
        can = _in_root_frame(x, rot)
        d = can[..., 1:] - can[..., :-1]
        wd = (2 * w_joint) * w_pair * d  # ∂/∂d of w_joint Σ w_t ‖d_t‖²
        energy = 0.5 * (wd * d).sum()
        wa = None
        if w_accel > 0 and d.shape[-1] > 1:
            a = d[..., 1:] - d[..., :-1]
            wa = (2 * w_accel) * (w_pair[1:] * w_pair[:-1]) * a
            energy = energy + 0.5 * (wa * a).sum()
        ctx.save_for_backward(x, rot, wd, wa if wa is not None else wd.new_zeros(0))
        return energy

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None, None]:
        x, rot, wd, wa = ctx.saved_tensors
        gd = wd.clone()
        if wa.numel():  # a_t = d_{t+1} − d_t
            gd[..., 1:] += wa
            gd[..., :-1] -= wa
        gcan = torch.zeros_like(x)
        gcan[..., 1:] += gd
        gcan[..., :-1] -= gd
        gcan = gcan * g
        gx = torch.stack([rot[c, 0] * gcan[0] + rot[c, 1] * gcan[1] + rot[c, 2] * gcan[2] for c in range(3)])
        gp = gx.clone()
        gp[:, 0] -= gx.sum(1)
        grot = (x[:, None] * gcan[None]).sum(2)  # ∂/∂R[c,d] = Σ_j x[c,j] gcan[d,j]
        return gp, grot, None, None, None


def canonical_smoothness_t(points: torch.Tensor, rot: torch.Tensor, w_pair: torch.Tensor, w_joint: float,
                           w_accel: float) -> torch.Tensor:
    """w_joint Σ_t w_t ‖X_can^{t+1} − X_can^t‖² + w_accel Σ_t w_t w_{t+1} ‖X_can^{t+2} − 2 X_can^{t+1} + X_can^t‖²
    (a scalar) for batch-last points (3, J, N), root rotations (3, 3, N) and pair weights w (N−1,), X_can as
    :func:`canonical_joints_t`. Equal to those terms written with :func:`consecutive_sq_diff_t`; the backward
    is hand-written (autograd's graph of the broadcast products cost ~2× as much on CPU)."""
    return _CanonicalSmoothness.apply(points, rot, w_pair, w_joint, w_accel)
