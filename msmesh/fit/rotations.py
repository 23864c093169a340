"""Axis-angle ⇄ rotation-matrix helpers (torch and numpy) used by the fitter, the metrics and the tools.

SMPL stores every joint rotation as an axis-angle vector; the fitter needs rotation matrices to undo the
global orientation (Eq. 1 of the paper) and the initialiser needs to go back the other way.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation


def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle → (..., 3, 3) rotation matrices (Rodrigues; smooth at zero angle)."""
    theta2 = (aa * aa).sum(-1, keepdim=True)
    small = theta2 < 1e-8
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    a = torch.where(small, 1 - theta2 / 6, torch.sin(theta) / theta)
    b = torch.where(
        small, 0.5 - theta2 / 24, (1 - torch.cos(theta)) / torch.where(small, torch.ones_like(theta2), theta2)
    )
    x, y, z = aa.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*aa.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device)
    return eye + a[..., None] * k + b[..., None] * (k @ k)


def aa_to_mat_np(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle → (..., 3, 3) rotation matrices, numpy."""
    aa = np.asarray(aa, dtype=np.float64)
    return Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(*aa.shape[:-1], 3, 3)


def mat_to_aa_np(mat: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices → (..., 3) axis-angle (angle in [0, π]), numpy."""
    mat = np.asarray(mat, dtype=np.float64)
    return Rotation.from_matrix(mat.reshape(-1, 3, 3)).as_rotvec().reshape(*mat.shape[:-2], 3)
