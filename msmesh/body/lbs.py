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


def rodrigues_t(rot_vecs: Tensor) -> Tensor:
    """Batch-last Rodrigues without the batched matmul (``joints_only``'s form): (3, ...) axis-angle → (3, 3, ...).

    K² = a aᵀ − I for the unit axis a, so R = cos I + sin K + (1 − cos) a aᵀ, written entry by entry on the
    (...)-shaped components (same 1e-8 offset as smplx; equal to float32 round-off). Kept beside
    :func:`msmesh.rotations.axis_angle_to_rotmat` because it is faster where the fitter uses it: for 24×85
    rotations forward+backward ~0.9 ms vs ~2.8 ms on CPU, 1 thread (tools: timeit, shared machine)."""
    v0, v1, v2 = (rot_vecs + 1e-8).unbind(0)
    angle = torch.sqrt(v0 * v0 + v1 * v1 + v2 * v2)  # torch.norm over a leading dim is slow on CPU
    x, y, z = (rot_vecs / angle).unbind(0)
    cos = torch.cos(angle)
    sin = torch.sin(angle)
    c1 = 1 - cos
    cx, cy, cz = c1 * x, c1 * y, c1 * z
    sx, sy, sz = sin * x, sin * y, sin * z
    cxy, cxz, cyz = cx * y, cx * z, cy * z
    return torch.stack([
        cos + cx * x, cxy - sz, cxz + sy,
        cxy + sz, cos + cy * y, cyz - sx,
        cxz - sy, cyz + sx, cos + cz * z,
    ], 0).view(3, 3, *angle.shape)


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
