"""Initialisation of the fit when no regressor estimate is given: a documented heuristic, per frame.

1. **Body pose**: the "mean pose" — the weight-averaged mean of the open GMM's components (a relaxed stance,
   arms down; the rest T-pose would put the wrists far from any detection). Shape β = 0.
2. **Orientation** (camera frame; OpenCV axes): upright and facing the camera is a rotation of π about x.
   In-plane roll comes from the body's "up" direction in the image — hip-centre → shoulder-centre when both
   are seen, else perpendicular to the shoulder line (towards the head), else perpendicular to the eye/ear
   line, else straight up. Facing away (yaw π) when the person's left shoulder/hip appear left of the right
   ones in the image; a partial turn (|yaw| = arccos of the shoulder width relative to the torso length,
   signed by which side the nose lies on) when both hips and shoulders are seen.
3. **Depth and position**: the mean-shape body in that orientation is fitted to the visible keypoints by
   weak perspective (least-squares scale s and 2D shift over keypoints with confidence > ``min_conf``);
   depth = focal / s and the 2D centroid is back-projected at that depth. This works with any ≥ 2 visible
   keypoints, so a head-and-shoulders close-up gets a sensible (close) depth from its shoulder width.
4. Frames with fewer than two usable keypoints copy the nearest initialised frame of the same person in the
   same shot (else any shot); a person with none gets a default 4 m in front of the camera.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from msmesh.rotations import mat_to_aa_np

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

# COCO-17 indices
NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SH, R_SH, L_HIP, R_HIP = 0, 1, 2, 3, 4, 5, 6, 11, 12
DEFAULT_DEPTH = 4.0


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def orientation_from_keypoints(
    kp: np.ndarray, min_conf: float = 0.1, width_ratio: float = 0.63
) -> np.ndarray:
    """(T, 17, 3) keypoints → (T, 3, 3) camera-frame global orientation guesses (module docstring, step 2).

    ``width_ratio``: the body's shoulder width / torso length (shoulder centre to hip centre) at rest.
    """
    t = len(kp)
    ok = kp[..., 2] > min_conf
    xy = kp[..., :2]
    up = np.tile(np.array([0.0, -1.0]), (t, 1))
    have_sh = ok[:, L_SH] & ok[:, R_SH]
    have_hip = ok[:, L_HIP] & ok[:, R_HIP]
    have_eyes = ok[:, L_EYE] & ok[:, R_EYE]
    have_ears = ok[:, L_EAR] & ok[:, R_EAR]
    sh_mid = (xy[:, L_SH] + xy[:, R_SH]) / 2
    hip_mid = (xy[:, L_HIP] + xy[:, R_HIP]) / 2
    sh_vec = xy[:, L_SH] - xy[:, R_SH]
    hip_vec = xy[:, L_HIP] - xy[:, R_HIP]
    # side vector (person's right → left, in the image) from whatever pair is visible
    side = np.where(
        have_sh[:, None],
        sh_vec,
        np.where(
            have_hip[:, None],
            hip_vec,
            np.where(have_eyes[:, None], xy[:, L_EYE] - xy[:, R_EYE], xy[:, L_EAR] - xy[:, R_EAR]),
        ),
    )
    have_side = have_sh | have_hip | have_eyes | have_ears
    facing_away = have_side & (side[:, 0] < 0)
    # up direction: perpendicular to the side vector, pointing to the image top when facing the camera
    perp = np.stack([side[:, 1], -side[:, 0]], -1)
    perp = np.where(facing_away[:, None], -perp, perp)
    up = np.where(have_side[:, None], perp, up)
    torso = sh_mid - hip_mid
    both = have_sh & have_hip
    up = np.where(both[:, None], torso, up)
    up /= np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-6)
    roll = np.arctan2(up[:, 0], -up[:, 1])  # 0 when up = (0, -1)
    # yaw magnitude from the foreshortened shoulder width (torso length as the unforeshortened reference)
    yaw = np.where(facing_away, np.pi, 0.0)
    width = np.linalg.norm(sh_vec, axis=-1)
    length = np.linalg.norm(torso, axis=-1)
    ratio = np.clip(width / np.maximum(width_ratio * length, 1e-6), 0.0, 1.0)
    turn = np.arccos(ratio)
    nose_side = np.sign(((xy[:, NOSE] - sh_mid) * sh_vec).sum(-1))
    turn = np.where(ok[:, NOSE], -turn * nose_side, 0.0)
    yaw = np.where(both, np.where(facing_away, np.pi + turn, turn), yaw)
    # camera-frame rotation: roll in the image plane ∘ yaw about the body's vertical ∘ upright facing camera
    return _rot_z(roll) @ _rot_y(yaw) @ _rot_x(np.pi)


def initial_parameters(
    kp: np.ndarray,
    shot: np.ndarray,
    focal: float,
    center: tuple[float, float],
    body_model: BodyModel,
    mean_pose: np.ndarray,
    min_conf: float = 0.1,
) -> dict[str, np.ndarray]:
    """Heuristic initial SMPL parameters for one person: (T,3) global_orient, (T,69) body_pose, (T,3) transl.

    ``kp`` (T, 17, 3) COCO-17 pixels + confidence; ``mean_pose`` (69,).
    """
    t = len(kp)
    dev = next(iter(body_model.buffers())).device
    with torch.no_grad():
        _, rest = body_model.joints_only(
            torch.zeros(1, 3, device=dev), torch.zeros(1, 69, device=dev), None, None
        )
    r = rest[0].cpu().numpy()
    width = np.linalg.norm(r[L_SH] - r[R_SH])
    length = np.linalg.norm((r[L_SH] + r[R_SH]) / 2 - (r[L_HIP] + r[R_HIP]) / 2)
    rot = orientation_from_keypoints(kp, min_conf, width_ratio=float(width / length))
    go = mat_to_aa_np(rot).astype(np.float32)
    bp = np.tile(np.asarray(mean_pose, dtype=np.float32), (t, 1))
    with torch.no_grad():
        _, c17 = body_model.joints_only(
            torch.tensor(go, device=dev), torch.tensor(bp, device=dev), None, None
        )
    model = c17.cpu().numpy().astype(np.float64)  # (T,17,3) with zero translation
    conf = np.where(kp[..., 2] > min_conf, kp[..., 2], 0.0)
    transl = np.zeros((t, 3))
    valid = np.zeros(t, dtype=bool)
    c = np.asarray(center, dtype=np.float64)
    for i in range(t):
        w = conf[i]
        if (w > 0).sum() < 2:
            continue
        a = model[i, :, :2]
        b = kp[i, :, :2]
        ws = w / w.sum()
        a_bar, b_bar = ws @ a, ws @ b
        da, db = a - a_bar, b - b_bar
        den = (w * (da * da).sum(-1)).sum()
        s = (w * (da * db).sum(-1)).sum() / max(den, 1e-9)
        if not np.isfinite(s) or s <= 1e-6:
            continue
        z = focal / s
        z_bar = ws @ model[i, :, 2]
        transl[i, 2] = z - z_bar
        transl[i, :2] = (b_bar - c) * z / focal - a_bar
        valid[i] = True
    if not valid.any():
        transl[:, 2] = DEFAULT_DEPTH
        return {"global_orient": go, "body_pose": bp, "transl": transl.astype(np.float32)}
    idx = np.flatnonzero(valid)
    for i in np.flatnonzero(~valid).tolist():
        same = idx[shot[idx] == shot[i]]
        pool = same if len(same) else idx
        j = pool[np.argmin(np.abs(pool - i))]
        transl[i] = transl[j]
        if (kp[i, :, 2] > min_conf).sum() == 0:
            go[i] = go[j]
    return {"global_orient": go, "body_pose": bp, "transl": transl.astype(np.float32)}
