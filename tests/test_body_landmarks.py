"""BlazePose-33 landmark correspondences on the body model (msmesh.body.landmarks)."""

from __future__ import annotations

import numpy as np
import torch

from msmesh.body.joints import BLAZEPOSE33_FLIP, BLAZEPOSE33_NAMES, BLAZEPOSE33_TO_COCO17, SMPL24_NAMES
from msmesh.body.model import load_body_model


def test_landmarks_contain_coco17_and_are_mirror_symmetric_on_the_template() -> None:
    model = load_body_model("open")
    out = model(torch.zeros(1, 3), torch.zeros(1, 69))
    lm = out.landmarks[0].double().numpy()
    assert lm.shape == (33, 3)
    np.testing.assert_allclose(lm[BLAZEPOSE33_TO_COCO17], out.coco17[0].double().numpy(), atol=1e-5)
    mirrored = lm[BLAZEPOSE33_FLIP] * np.array([-1.0, 1.0, 1.0])  # subject's left is +X
    assert np.abs(mirrored - lm).max() < 0.01  # the template is symmetric to within a centimetre


def test_landmarks_sit_where_their_names_say() -> None:
    model = load_body_model("open")
    lm = model(torch.zeros(1, 3), torch.zeros(1, 69)).landmarks[0].numpy()
    at = {n: lm[i] for i, n in enumerate(BLAZEPOSE33_NAMES)}
    # eye corners straddle the eye, inner one nearer the midline, each ≈ 1–2.5 cm from the pupil
    for side in ("left", "right"):
        inner, eye, outer = at[f"{side}_eye_inner"], at[f"{side}_eye"], at[f"{side}_eye_outer"]
        assert abs(inner[0]) < abs(eye[0]) < abs(outer[0])
        assert 0.008 < np.linalg.norm(inner - eye) < 0.025 and 0.008 < np.linalg.norm(outer - eye) < 0.025
        # mouth corner below the nose and on its side; hand points beyond the wrist; heel behind the toes
        mouth = at[f"mouth_{side}"]
        assert at["nose"][1] - 0.06 < mouth[1] < at["nose"][1] - 0.02 and mouth[0] * eye[0] > 0
        for hand in ("pinky", "index", "thumb"):
            d = np.linalg.norm(at[f"{side}_{hand}"] - at[f"{side}_wrist"])
            assert 0.04 < d < 0.14, (side, hand, d)
        assert at[f"{side}_heel"][2] < at[f"{side}_ankle"][2] < at[f"{side}_foot_index"][2]
        assert at[f"{side}_foot_index"][1] < at[f"{side}_knee"][1]


def test_landmarks_follow_the_pose() -> None:
    model = load_body_model("open")
    pose = torch.zeros(1, 69)
    pose[0, 3 * (SMPL24_NAMES.index("r_elbow") - 1) + 2] = 1.2  # bend the right elbow about z
    rest = model(torch.zeros(1, 3), torch.zeros(1, 69)).landmarks[0]
    bent = model(torch.zeros(1, 3), pose).landmarks[0]
    moved = (bent - rest).norm(dim=-1)
    hand = [BLAZEPOSE33_NAMES.index(n) for n in ("right_wrist", "right_pinky", "right_index", "right_thumb")]
    legs = [BLAZEPOSE33_NAMES.index(n) for n in ("left_knee", "right_ankle", "left_heel")]
    assert moved[hand].min() > 0.1 and moved[legs].max() < 1e-6
