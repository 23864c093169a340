"""The batch-last kinematics kernels against plain per-joint loops."""

from __future__ import annotations

import torch

from msmesh.body.joints import SMPL24_PARENTS, smpl24_depths
from msmesh.body.lbs import TreeLevels, chain_t, rodrigues_t
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
