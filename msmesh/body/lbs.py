"""Kinematics kernels of the body model's fast path (``BodyModel.joints_only``), apart from loading.

Everything is batch-last — rotations (3, 3, 24, B), points (3, 24, B) — so the 3×3 products of SMPL's
kinematic chain unroll into a few elementwise ops on contiguous rows (torch's bmm on thousands of 3×3
matrices costs a copy and a tiny GEMM per matrix), and the tree is walked one level at a time. As smplx
splits ``body_models.py`` (loading) from ``lbs.py`` (the math), ``body.model`` loads and this module computes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

Selector = slice | tuple[int, int] | list[int]


class TreeLevels:
    """SMPL's kinematic tree as levels (all joints at one depth), with cheap selectors for each level and
    for each joint's parent in the previous level; ``perm`` restores joint order after concatenation."""

    @classmethod
    def from_parents(cls, parents: list[int], depth: list[int]) -> TreeLevels:
        """Levels 1..max(depth) of the tree (joint 0, the root, is level 0)."""
        n = len(parents)
        return cls([[j for j in range(n) if depth[j] == d] for d in range(1, max(depth) + 1)], parents)

    def __init__(self, levels: list[list[int]], parents: list[int]) -> None:
        self.levels = levels
        parent_pos = []
        prev = [0]
        for lvl in levels:
            parent_pos.append([prev.index(parents[j]) for j in lvl])
            prev = lvl
        order = np.concatenate([[0]] + levels)
        self.perm = np.argsort(order)
        self.perm_needed = bool(np.any(self.perm != np.arange(len(parents))))
        self.level_sel = [selector(lvl) for lvl in levels]
        self.contiguous = sum(levels, [0]) == list(range(len(parents)))
        self.split_sizes = [1] + [len(lvl) for lvl in levels]
        self.parent_sel = [selector(pp) for pp in parent_pos]


def chain_t(rot: Tensor, rel: Tensor, tree: TreeLevels, perm: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """World rotations (3,3,J,B) and posed joints (3,J,B) from local rotations (3,3,J,B) and parent-relative
    rest offsets (3,J,B), one batched step per tree level. ``perm``: ``tree.perm`` as a tensor on the
    device (needed only if ``tree.perm_needed``)."""
    # split/unbind, not slices: cheaper backward
    if tree.contiguous:
        rot_l = list(torch.split(rot, tree.split_sizes, 2))
        rel_l = list(torch.split(rel, tree.split_sizes, 1))
    else:
        rot_l = [rot[:, :, :1]] + [take(rot, sel, 2) for sel in tree.level_sel]
        rel_l = [rel[:, :1]] + [take(rel, sel, 1) for sel in tree.level_sel]
    R_lvl = [rot_l[0]]
    t_lvl = [rel_l[0]]
    for k, psel in enumerate(tree.parent_sel, 1):
        Rp = take(R_lvl[-1], psel, 2)
        R_lvl.append(mm3_t(Rp, rot_l[k]))
        t_lvl.append(mv3_t(Rp, rel_l[k]) + take(t_lvl[-1], psel, 1))
    Rw = torch.cat(R_lvl, 2)
    tw = torch.cat(t_lvl, 1)
    if tree.perm_needed:
        assert perm is not None
        Rw = Rw[:, :, perm]
        tw = tw[:, perm]
    return Rw, tw


def _rodrigues_parts(rot_vecs: Tensor) -> tuple[Tensor, ...]:
    v0, v1, v2 = (rot_vecs + 1e-8).unbind(0)
    angle = torch.sqrt(v0 * v0 + v1 * v1 + v2 * v2)  # torch.norm over a leading dim is slow on CPU
    x, y, z = (rot_vecs / angle).unbind(0)
    return angle, x, y, z, torch.cos(angle), torch.sin(angle)


class _Rodrigues(torch.autograd.Function):
    """:func:`rodrigues_t` with a hand-written backward (the entries' derivatives in the angle and axis)."""

    @staticmethod
    def forward(ctx, rot_vecs: Tensor) -> Tensor:
        angle, x, y, z, cos, sin = _rodrigues_parts(rot_vecs)
        ctx.save_for_backward(rot_vecs, angle, cos, sin)
        c1 = 1 - cos
        cx, cy, cz = c1 * x, c1 * y, c1 * z
        sx, sy, sz = sin * x, sin * y, sin * z
        cxy, cxz, cyz = cx * y, cx * z, cy * z
        return torch.stack([
            cos + cx * x, cxy - sz, cxz + sy,
            cxy + sz, cos + cy * y, cyz - sx,
            cxz - sy, cyz + sx, cos + cz * z,
        ], 0).view(3, 3, *angle.shape)

    @staticmethod
    def backward(ctx, g: Tensor) -> Tensor:
        rot_vecs, angle, cos, sin = ctx.saved_tensors
        x, y, z = (rot_vecs / angle).unbind(0)
        c1 = 1 - cos
        g00, g01, g02, g10, g11, g12, g20, g21, g22 = g.reshape(9, *angle.shape).unbind(0)
        s01, s02, s12 = g01 + g10, g02 + g20, g12 + g21
        d0, d1, d2 = g21 - g12, g02 - g20, g10 - g01  # the antisymmetric part (sin's coefficients)
        g_sin = x * d0 + y * d1 + z * d2
        g_c1 = x * (g00 * x + s01 * y + s02 * z) + y * (g11 * y + s12 * z) + z * g22 * z
        g_angle = sin * (g_c1 - (g00 + g11 + g22)) + cos * g_sin
        gx = c1 * (2 * g00 * x + s01 * y + s02 * z) + sin * d0
        gy = c1 * (2 * g11 * y + s01 * x + s12 * z) + sin * d1
        gz = c1 * (2 * g22 * z + s02 * x + s12 * y) + sin * d2
        # axis = v / angle, angle = ‖v + 1e-8‖: ∂/∂v = (g_axis − n (g_axis·axis)) / angle + n g_angle, n = ∂angle/∂v
        radial = g_angle - (gx * x + gy * y + gz * z) / angle
        inv = 1 / angle
        n = (rot_vecs + 1e-8) * inv
        return torch.stack([gx * inv, gy * inv, gz * inv], 0) + n * radial


def rodrigues_t(rot_vecs: Tensor) -> Tensor:
    """Batch-last Rodrigues without the batched matmul (``joints_only``'s form): (3, ...) axis-angle → (3, 3, ...).

    K² = a aᵀ − I for the unit axis a, so R = cos I + sin K + (1 − cos) a aᵀ, written entry by entry on the
    (...)-shaped components (same 1e-8 offset as smplx; equal to float32 round-off). Kept beside
    :func:`msmesh.rotations.axis_angle_to_rotmat` because it is faster where the fitter uses it: for 24×85
    rotations forward+backward ~0.9 ms vs ~2.8 ms on CPU, 1 thread (tools: timeit, shared machine). The
    backward is hand-written (derivatives of the nine entries in the angle and the axis; autograd's graph of
    the same ops cost ~2× as much)."""
    return _Rodrigues.apply(rot_vecs)


def mm3_t(a: Tensor, b: Tensor) -> Tensor:
    """Batch-last (3, 3, ...) @ (3, 3, ...), unrolled over the inner index (contiguous elementwise ops)."""
    a0, a1, a2 = a.unbind(1)
    b0, b1, b2 = b.unbind(0)
    return a0[:, None] * b0[None] + a1[:, None] * b1[None] + a2[:, None] * b2[None]


def mv3_t(a: Tensor, v: Tensor) -> Tensor:
    """Batch-last (3, 3, ...) @ (3, ...) unrolled."""
    a0, a1, a2 = a.unbind(1)
    v0, v1, v2 = v.unbind(0)
    return a0 * v0[None] + a1 * v1[None] + a2 * v2[None]


def selector(idx: list[int]) -> Selector:
    """How to take ``idx`` along dim 1 cheaply: a slice (consecutive), (i, n) (one index repeated n times)
    or the list itself (gather)."""
    if idx == list(range(idx[0], idx[0] + len(idx))):
        return slice(idx[0], idx[0] + len(idx))
    if len(set(idx)) == 1:
        return (idx[0], len(idx))
    return idx


def take(x: Tensor, sel: Selector, dim: int) -> Tensor:
    """``x`` indexed by a :func:`selector` along ``dim``."""
    if isinstance(sel, slice):
        return x.narrow(dim, sel.start, sel.stop - sel.start)
    if isinstance(sel, tuple):
        i, n = sel
        shape = list(x.shape)
        shape[dim] = n
        return x.narrow(dim, i, 1).expand(shape)
    return x.index_select(dim, torch.as_tensor(sel, device=x.device))


def _scatter_add(target: Tensor, sel: Selector, src: Tensor, dim: int) -> None:
    """The adjoint of :func:`take`: ``target[sel] += src`` along ``dim`` (repeated indices summed)."""
    if isinstance(sel, slice):
        target.narrow(dim, sel.start, sel.stop - sel.start).add_(src)
    elif isinstance(sel, tuple):
        target.narrow(dim, sel[0], 1).add_(src.sum(dim, keepdim=True))
    else:
        target.index_add_(dim, torch.as_tensor(sel, device=target.device), src)


def _mtm3_t(a: Tensor, b: Tensor) -> Tensor:
    """Batch-last aᵀ @ b for (3, 3, ...) a and (3, 3, ...) or (3, ...) b."""
    a0, a1, a2 = a.unbind(0)
    b0, b1, b2 = b.unbind(0)
    if b.dim() == a.dim():
        return a0[:, None] * b0[None] + a1[:, None] * b1[None] + a2[:, None] * b2[None]
    return a0 * b0[None] + a1 * b1[None] + a2 * b2[None]


def _mmt3_t(a: Tensor, b: Tensor) -> Tensor:
    """Batch-last a @ bᵀ for (3, 3, ...) a and b."""
    a0, a1, a2 = a.unbind(1)
    b0, b1, b2 = b.unbind(1)
    return a0[:, None] * b0[None] + a1[:, None] * b1[None] + a2[:, None] * b2[None]


class _Skinning(torch.autograd.Function):
    """Kinematic chain and skinning transforms with a hand-written backward (see :func:`skin_t`)."""

    @staticmethod
    def forward(ctx, rot: Tensor, joints: Tensor, tree: TreeLevels, parents: Tensor
                ) -> tuple[Tensor, Tensor, Tensor]:
        rel = torch.cat([joints[:, :1], joints[:, 1:] - joints.index_select(1, parents[1:])], 1)
        rot_l = list(torch.split(rot, tree.split_sizes, 2))
        R_lvl = [rot_l[0]]
        for k, psel in enumerate(tree.parent_sel, 1):
            R_lvl.append(mm3_t(take(R_lvl[-1], psel, 2), rot_l[k]))
        Rw = torch.cat(R_lvl, 2)
        # every joint's offset turned by its parent's world rotation at once; then summed down the tree
        u = mv3_t(Rw.index_select(2, parents), rel)
        u[:, 0] = rel[:, 0]
        u_l = list(torch.split(u, tree.split_sizes, 1))
        t_lvl = [u_l[0]]
        for k, psel in enumerate(tree.parent_sel, 1):
            t_lvl.append(u_l[k] + take(t_lvl[-1], psel, 1))
        tw = torch.cat(t_lvl, 1)
        A_t = tw - mv3_t(Rw, joints)
        ctx.tree = tree
        ctx.save_for_backward(rot, joints, rel, Rw, parents)
        return Rw, tw, A_t

    @staticmethod
    def backward(ctx, g_Rw: Tensor | None, g_tw: Tensor | None, g_A: Tensor | None
                 ) -> tuple[Tensor, Tensor, None, None]:
        rot, joints, rel, Rw, parents = ctx.saved_tensors
        tree: TreeLevels = ctx.tree
        g_R = torch.zeros_like(Rw) if g_Rw is None else g_Rw.clone()
        g_t = torch.zeros_like(joints) if g_tw is None else g_tw.clone()
        g_joints = torch.zeros_like(joints)
        if g_A is not None:  # A_t = tw − Rw·J
            g_t += g_A
            g_R -= g_A[:, None] * joints[None]
            g_joints -= _mtm3_t(Rw, g_A)
        sizes = tree.split_sizes
        gR_l = list(torch.split(g_R, sizes, 2))  # views: accumulating into a parent level writes into g_R
        gt_l = list(torch.split(g_t, sizes, 1))
        rot_l = list(torch.split(rot, sizes, 2))
        rel_l = list(torch.split(rel, sizes, 1))
        for k in range(len(sizes) - 1, 0, -1):  # children before parents: a level's gradient is then complete
            psel = tree.parent_sel[k - 1]
            _scatter_add(gR_l[k - 1], psel, _mmt3_t(gR_l[k], rot_l[k]) + gt_l[k][:, None] * rel_l[k][None], 2)
            _scatter_add(gt_l[k - 1], psel, gt_l[k], 1)
        # R_j = R_parent · rot_j and t_j = R_parent · rel_j + t_parent: every joint at once, the root apart
        Rp = Rw.index_select(2, parents)
        g_rot = _mtm3_t(Rp, g_R)
        g_rel = _mtm3_t(Rp, g_t)
        g_rot[:, :, 0] = g_R[:, :, 0]
        g_rel[:, 0] = g_t[:, 0]
        g_joints += g_rel
        g_joints.index_add_(1, parents[1:], -g_rel[:, 1:])
        return g_rot, g_joints, None, None


def skin_t(rot: Tensor, joints: Tensor, tree: TreeLevels, parents: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """World rotations Rw (3,3,J,B), posed joints tw (3,J,B) and the skinning transforms' translations
    A_t = tw − Rw·joints (3,J,B) from local rotations (3,3,J,B) and rest joints (3,J,B) (``parents``: (J,)
    long, the root's entry unused). Equal to :func:`chain_t` on the parent-relative offsets, with a
    hand-written backward: one reverse sweep over the tree levels (autograd's graph of the same elementwise
    ops, with its broadcast reductions, cost ~2× as much on CPU). Needs a tree whose levels are in joint order
    (``tree.contiguous``, as SMPL's)."""
    if not tree.contiguous:
        raise ValueError("skin_t needs a tree whose levels are in joint order")
    return _Skinning.apply(rot, joints, tree, parents)
