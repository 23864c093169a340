"""A joints-only SMPL-tree skeleton for synthetic experiments and tests of the regressors.

It has the body model's ``joints_only`` interface (SMPL-24 joints and COCO-17 keypoints from axis-angle
pose, betas, translation) but no mesh: rest joint positions approximate SMPL's, betas[0] scales the
skeleton, the other betas are ignored, and COCO face points all sit at the head joint. It lets the
regressor losses, the Table-3 experiment and the tests run without the full body model; real runs use
``msmesh.body.load_body_model``.
"""

from __future__ import annotations

import torch
from torch import nn

from msmesh.rotations import axis_angle_to_rotmat

PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
REST = [
    (0.0, 0.0, 0.0), (0.07, -0.09, 0.0), (-0.07, -0.09, 0.0), (0.0, 0.11, -0.02), (0.11, -0.47, 0.0),
    (-0.11, -0.47, 0.0), (0.0, 0.25, 0.0), (0.07, -0.87, -0.04), (-0.07, -0.87, -0.04), (0.0, 0.30, 0.02),
    (0.12, -0.93, 0.08), (-0.12, -0.93, 0.08), (0.0, 0.51, -0.01), (0.08, 0.42, 0.0), (-0.08, 0.42, 0.0),
    (0.0, 0.60, 0.05), (0.19, 0.45, -0.01), (-0.19, 0.45, -0.01), (0.45, 0.43, -0.03), (-0.45, 0.43, -0.03),
    (0.71, 0.44, -0.02), (-0.71, 0.44, -0.02), (0.79, 0.43, -0.03), (-0.79, 0.43, -0.03),
]
COCO17_FROM_SMPL24 = [15, 15, 15, 15, 15, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8]


class Skeleton(nn.Module):
    """Forward kinematics of the SMPL tree: ``joints_only(go, body_pose, betas, transl) -> (j24, coco17)``."""

    name = "skeleton"
    rest: torch.Tensor  # buffer (register_buffer)

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("rest", torch.tensor(REST, dtype=torch.float32))
        self.parents = list(PARENTS)

    def joints_only(self, global_orient: torch.Tensor, body_pose: torch.Tensor, betas: torch.Tensor,
                    transl: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = global_orient.shape[0]
        rot = axis_angle_to_rotmat(torch.cat([global_orient, body_pose], dim=1).reshape(n, 24, 3))
        return self.joints_from_rotmat(rot, betas, transl)

    def joints_from_rotmat(self, rot: torch.Tensor, betas: torch.Tensor,
                           transl: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotation matrices (N,24,3,3) → joints (N,24,3) and COCO-17 (N,17,3)."""
        scale = (1.0 + 0.05 * betas[:, :1]).unsqueeze(-1)  # (N,1,1)
        rest = self.rest.to(rot.dtype)[None] * scale
        glob_r: list[torch.Tensor] = [rot[:, 0]]
        pos: list[torch.Tensor] = [rest[:, 0]]
        for j in range(1, 24):
            p = self.parents[j]
            offset = rest[:, j] - rest[:, p]
            pos.append(pos[p] + (glob_r[p] @ offset.unsqueeze(-1)).squeeze(-1))
            glob_r.append(glob_r[p] @ rot[:, j])
        joints = torch.stack(pos, dim=1) + transl[:, None, :]
        return joints, joints[:, COCO17_FROM_SMPL24]

    def forward(self, global_orient: torch.Tensor, body_pose: torch.Tensor, betas: torch.Tensor,
                transl: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.joints_only(global_orient, body_pose, betas, transl)
