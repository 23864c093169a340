"""BlazePose GHUM's 33 landmarks as points of the SMPL-format body model (the landmark correspondences).

The front end (people/) detects the 33 BlazePose landmarks; the fitter reprojects the model's version of
them, and the regressors' training-data generator makes synthetic ones. All three need the same answer to
"which point of the body is landmark k", and this module is that answer.

Each landmark is one row of a linear regressor over the posed mesh vertices and the 24 SMPL joints, like
the COCO-17 keypoints in ``body.model``. Rows are built from the model's *named points*:

- open model: anny's per-vertex keypoint regressor (COCO-17 + big/small toes + heels) and the smplx-style
  vertex ids (fingertips, ``vertex_ids_*`` in the npz);
- licensed SMPL: the standard face vertex ids, SMPL joints for the limbs, smplx's ``smplh`` vertex ids for
  toes, heels and fingertips.

- nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles: the COCO-17 point of the same name;
- eye inner / outer: the template vertex nearest to the point 24 % of the inter-eye distance from the eye
  towards / away from the other eye (eye corners sit ≈ 15 mm either side of the pupil);
- mouth left / right: the template vertex nearest to nose + (±24, −37, −26) mm (subject's left = +X,
  up = +Y, forward = +Z);
- pinky / index: the template vertex nearest to wrist + 45 % of wrist → fingertip (MediaPipe marks the
  knuckles); thumb: wrist + 70 % of wrist → thumb tip (its second knuckle);
- heel: the heel point; foot index: the big-toe point.

"Nearest template vertex" is chosen once on the rest-pose mean shape, so the landmark then moves with the
skin under pose and shape. The rules use only named points, so the same table serves both models.
Expect a few centimetres of systematic offset against BlazePose's own notion of each point (its hips, for
one, sit higher and wider than COCO's); the fitter's robust loss and per-landmark weights absorb that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from msmesh.body.joints import (
    BLAZEPOSE33_NAMES,
    COCO17_NAMES,
    SMPL24_NAMES,
    SMPL_COCO_BODY_JOINTS,
    SMPL_COCO_FACE_VERTEX_IDS,
)

NUM_LANDMARKS = len(BLAZEPOSE33_NAMES)

# canonical point name -> smplx vertex-id key (both models' vertex id tables use these keys)
_VERTEX_ID_POINTS = {
    "left_thumb_tip": "lthumb", "left_index_tip": "lindex", "left_pinky_tip": "lpinky",
    "right_thumb_tip": "rthumb", "right_index_tip": "rindex", "right_pinky_tip": "rpinky",
}
_SMPL_FOOT_VERTEX_IDS = {"left_big_toe": "LBigToe", "right_big_toe": "RBigToe",
                         "left_heel": "LHeel", "right_heel": "RHeel"}

Rule = tuple[Any, ...]


def _rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {n: ("point", n) for n in COCO17_NAMES}
    for side, other in (("left", "right"), ("right", "left")):
        s = 1.0 if side == "left" else -1.0  # subject's left is +X
        rules[f"{side}_eye_inner"] = ("near_lerp", f"{side}_eye", f"{other}_eye", 0.24)
        rules[f"{side}_eye_outer"] = ("near_lerp", f"{side}_eye", f"{other}_eye", -0.24)
        rules[f"mouth_{side}"] = ("near_offset", "nose", (s * 0.024, -0.037, -0.026))
        rules[f"{side}_pinky"] = ("near_lerp", f"{side}_wrist", f"{side}_pinky_tip", 0.45)
        rules[f"{side}_index"] = ("near_lerp", f"{side}_wrist", f"{side}_index_tip", 0.45)
        rules[f"{side}_thumb"] = ("near_lerp", f"{side}_wrist", f"{side}_thumb_tip", 0.70)
        rules[f"{side}_heel"] = ("point", f"{side}_heel")
        rules[f"{side}_foot_index"] = ("point", f"{side}_big_toe")
    return rules


LANDMARK_RULES: dict[str, Rule] = _rules()
"""How each landmark is defined from named body points (see the module docstring)."""


def _vertex_ids(data: dict[str, Any]) -> dict[str, int]:
    if "vertex_ids_names" in data:
        return {str(k): int(v) for k, v in zip(data["vertex_ids_names"], data["vertex_ids_values"], strict=True)}
    from smplx.vertex_ids import vertex_ids

    return {k: int(v) for k, v in vertex_ids["smplh"].items()}


def named_points(data: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every named point of the model as (vertex row (V,), joint row (24,)): position = row_v·V + row_j·J."""
    n_v = int(np.asarray(data["v_template"]).shape[0])
    vids = _vertex_ids(data)

    def vertex(i: int) -> tuple[np.ndarray, np.ndarray]:
        row = np.zeros(n_v)
        row[i] = 1.0
        return row, np.zeros(24)

    def joint(name: str) -> tuple[np.ndarray, np.ndarray]:
        row = np.zeros(24)
        row[SMPL24_NAMES.index(name)] = 1.0
        return np.zeros(n_v), row

    points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if "keypoint_regressor" in data:  # the open model
        reg = np.asarray(data["keypoint_regressor"], np.float64)
        for k, name in enumerate(str(n) for n in data["keypoint_names"]):
            points[name] = (reg[k], np.zeros(24))
    else:  # licensed SMPL
        for name, vid in SMPL_COCO_FACE_VERTEX_IDS.items():
            points[name] = vertex(vid)
        for name, jname in SMPL_COCO_BODY_JOINTS.items():
            points[name] = joint(jname)
        for name, key in _SMPL_FOOT_VERTEX_IDS.items():
            points[name] = vertex(vids[key])
    for name, key in _VERTEX_ID_POINTS.items():
        points[name] = vertex(vids[key])
    return points


def landmark_regressor(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The 33 BlazePose landmarks as (C_v (33,V), C_j (33,24)): landmarks = C_v @ vertices + C_j @ joints.

    ``data`` holds the model's arrays (``v_template``, ``J_regressor`` and the named-point tables), as
    ``body.model`` reads them from the npz/pkl.
    """
    points = named_points(data)
    vt = np.asarray(data["v_template"], np.float64)
    jt = np.asarray(data["J_regressor"], np.float64) @ vt

    def rest(name: str) -> np.ndarray:
        rv, rj = points[name]
        return rv @ vt + rj @ jt

    def nearest_vertex(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        row = np.zeros(len(vt))
        row[int(np.argmin(((vt - target) ** 2).sum(1)))] = 1.0
        return row, np.zeros(24)

    c_v = np.zeros((NUM_LANDMARKS, len(vt)))
    c_j = np.zeros((NUM_LANDMARKS, 24))
    for k, name in enumerate(BLAZEPOSE33_NAMES):
        rule = LANDMARK_RULES[name]
        if rule[0] == "point":
            rv, rj = points[rule[1]]
        elif rule[0] == "near_lerp":
            a, b = rest(rule[1]), rest(rule[2])
            rv, rj = nearest_vertex(a + rule[3] * (b - a))
        else:  # near_offset
            rv, rj = nearest_vertex(rest(rule[1]) + np.asarray(rule[2]))
        c_v[k], c_j[k] = rv, rj
    return c_v, c_j


def landmarks_from_mesh(c_v: np.ndarray, c_j: np.ndarray, vertices: np.ndarray, joints: np.ndarray
                        ) -> np.ndarray:
    """Posed landmarks (..., 33, 3) from posed vertices (..., V, 3) and joints (..., 24, 3)."""
    return np.einsum("kv,...vc->...kc", c_v, vertices) + np.einsum("kj,...jc->...kc", c_j, joints)
