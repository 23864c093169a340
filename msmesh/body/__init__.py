"""Body model: SMPL-format mesh, SMPL-24 joints and COCO-17 keypoints ("open" model shipped, or real SMPL).

See model.py (BodyModel, load_body_model), joints.py (joint sets and maps), smpl_file.py (SMPL file reading).
"""

from msmesh.body.model import BodyModel, BodyOutput, available_body_models, load_body_model

__all__ = ["BodyModel", "BodyOutput", "available_body_models", "load_body_model"]
