"""The batch-last kinematics kernels against plain per-joint loops."""

from __future__ import annotations

import torch

from msmesh.body.joints import SMPL24_PARENTS, smpl24_depths
from msmesh.body.lbs import TreeLevels, chain_t, mv3_t, rodrigues_t, skin_t
from msmesh.rotations import axis_angle_to_rotmat


def test_chain_t_matches_a_per_joint_loop() -> None:
    torch.manual_seed(0)
    b = 4
    aa = torch.randn(b, 24, 3, dtype=torch.float64) * 0.4
    rel = torch.randn(b, 24, 3, dtype=torch.float64)
    rot = axis_angle_to_rotmat(aa)
    tree = TreeLevels.from_parents(SMPL24_PARENTS, smpl24_depths())
    rw, tw = chain_t(rot.permute(2, 3, 1, 0), rel.permute(2, 1, 0), tree, torch.as_tensor(tree.perm))
    world_r = [rot[:, 0]]
    world_t = [rel[:, 0]]
    for j in range(1, 24):
        p = SMPL24_PARENTS[j]
        world_r.append(world_r[p] @ rot[:, j])
        world_t.append((world_r[p] @ rel[:, j, :, None])[..., 0] + world_t[p])
    assert torch.allclose(rw.permute(3, 2, 0, 1), torch.stack(world_r, 1), atol=1e-12)
    assert torch.allclose(tw.permute(2, 1, 0), torch.stack(world_t, 1), atol=1e-12)


def test_rodrigues_t_matches_axis_angle_to_rotmat() -> None:
    torch.manual_seed(1)
    aa = torch.randn(50, 3, dtype=torch.float64)
    r = rodrigues_t(aa.T.contiguous()).permute(2, 0, 1)
    assert torch.allclose(r, axis_angle_to_rotmat(aa), atol=1e-7)


def _chain_reference(rot: torch.Tensor, joints: torch.Tensor, tree: TreeLevels) -> tuple[torch.Tensor, ...]:
    """skin_t's outputs through chain_t and autograd (the form it replaces)."""
    rel = torch.cat([joints[:, :1], joints[:, 1:] - joints[:, SMPL24_PARENTS[1:]]], 1)
    rw, tw = chain_t(rot, rel, tree, torch.as_tensor(tree.perm))
    return rw, tw, tw - mv3_t(rw, joints)


def test_skin_t_values_and_hand_written_gradient_match_autograd() -> None:
    torch.manual_seed(2)
    tree = TreeLevels.from_parents(SMPL24_PARENTS, smpl24_depths())
    parents = torch.tensor([0, *SMPL24_PARENTS[1:]])
    rot = rodrigues_t(torch.randn(3, 24, 5, dtype=torch.float64)).detach().requires_grad_(True)
    joints = torch.randn(3, 24, 5, dtype=torch.float64, requires_grad=True)
    ref = _chain_reference(rot, joints, tree)
    out = skin_t(rot, joints, tree, parents)
    for a, b in zip(ref, out, strict=True):
        assert torch.allclose(a, b, atol=1e-12)
    weights = [torch.randn_like(a) for a in ref]
    g_ref = torch.autograd.grad(sum((w * a).sum() for w, a in zip(weights, ref, strict=True)), (rot, joints))
    g_out = torch.autograd.grad(sum((w * a).sum() for w, a in zip(weights, out, strict=True)), (rot, joints))
    for a, b in zip(g_ref, g_out, strict=True):
        assert torch.allclose(a, b, atol=1e-10)
    # one output unused (its gradient None) still gives the right gradient
    g_one = torch.autograd.grad(skin_t(rot, joints, tree, parents)[1].sum(), (rot, joints))
    g_one_ref = torch.autograd.grad(_chain_reference(rot, joints, tree)[1].sum(), (rot, joints))
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(g_one, g_one_ref, strict=True))


def test_rodrigues_t_hand_written_gradient_matches_autograd_of_its_formula() -> None:
    torch.manual_seed(3)
    aa = torch.randn(3, 40, dtype=torch.float64)
    aa[:, :5] *= 1e-4  # near the rest pose too
    aa.requires_grad_(True)
    w = torch.randn(3, 3, 40, dtype=torch.float64)
    rotmat = axis_angle_to_rotmat(aa.T)  # autograd through the general conversion
    g_ref = torch.autograd.grad((rotmat.permute(1, 2, 0) * w).sum(), aa)[0]
    g = torch.autograd.grad((rodrigues_t(aa) * w).sum(), aa)[0]
    assert torch.allclose(g, g_ref, atol=1e-6)
    assert torch.autograd.gradcheck(rodrigues_t, (aa[:, 5:12].detach().clone().requires_grad_(True),))
    zero = torch.zeros(3, 2, requires_grad=True)
    assert torch.isfinite(torch.autograd.grad(rodrigues_t(zero).sum(), zero)[0]).all()
