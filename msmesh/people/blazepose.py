"""BlazePose GHUM (MediaPipe Pose, Apache-2.0) through LiteRT: 33 landmarks and metric 3D per person.

Two shipped models (``assets/models/blazepose/``, see its PROVENANCE.md): a face-anchored person detector
(224×224, SSD + weighted NMS) that also predicts the hip centre and a body-scale point, and the "full"
landmark model, run on a rotated square ROI (256×256) around each person. Unlike MediaPipe's single-person
solution every detection gets its own landmark pass, then duplicates and implausible skeletons are dropped.

``BlazePose()(rgb) -> list[Detection]`` is the stand-alone backend; ``people.hybrid`` seeds its ROIs from
MoveNet too. Landmark visibility is MediaPipe's (sigmoid of the model's logit); a landmark outside the frame
keeps its position in ``landmarks`` but gets confidence 0 in the COCO-17 keypoints, so a fitter never pulls
an out-of-frame knee onto the border.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from msmesh.assets import asset_path
from msmesh.body.joints import BLAZEPOSE33_NAMES, BLAZEPOSE33_TO_COCO17
from msmesh.errors import ModelUnavailableError
from msmesh.people.blazepose_ops import (
    DETECTOR_SIZE,
    LANDMARK_SIZE,
    Roi,
    decode_boxes,
    letterbox_matrix,
    refine_from_heatmap,
    roi_from_points,
    sigmoid,
    ssd_anchors,
    weighted_nms,
)
from msmesh.people.detection import Detection
from msmesh.people.tflite import allocate, load_interpreter

NUM_LANDMARKS = len(BLAZEPOSE33_NAMES)
_RESTORE = ("reinstall msmesh, or in a source checkout re-extract it with tools/extract_blazepose.py (see "
            "assets/models/blazepose/PROVENANCE.md)")
# bones checked for plausibility: (a, b) landmark pairs of the limbs
LIMBS = ((11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28))


@dataclass
class PoseCandidate:
    """One detector hit: score, face box (x0,y0,x1,y1) and keypoints (4,2: hip centre, full-body scale point,
    shoulder centre, upper-body scale point), image pixels."""

    score: float
    box: np.ndarray
    keypoints: np.ndarray


@dataclass
class PoseLandmarks:
    """One landmark pass: the ROI it ran on, pose presence, and per landmark x, y (pixels), z (pixels, depth
    relative to the hips), visibility and presence (33,5); world landmarks (33,3) in metres; the two auxiliary
    landmarks (2,2) that place the next ROI."""

    roi: Roi
    presence: float
    landmarks: np.ndarray
    world: np.ndarray
    aux: np.ndarray
    score: float = 1.0

    def in_frame(self, h: int, w: int) -> np.ndarray:
        """Mask (33,) of landmarks inside the ``w``×``h`` frame."""
        x, y = self.landmarks[:, 0], self.landmarks[:, 1]
        return (x >= 0) & (x < w) & (y >= 0) & (y < h)

    def confidence(self, h: int, w: int) -> np.ndarray:
        """Per landmark: visibility where it lies inside the frame, else 0."""
        return np.where(self.in_frame(h, w), self.landmarks[:, 3], 0.0)

    def visible_box(self, h: int, w: int, min_conf: float = 0.5) -> np.ndarray:
        """Box around the confident in-frame landmarks (all of them when fewer than 3), clipped to the frame."""
        ok = self.confidence(h, w) >= min_conf
        pts = self.landmarks[ok if ok.sum() >= 3 else slice(None), :2]
        box = np.concatenate([pts.min(0), pts.max(0)])
        return np.clip(box, 0, [w, h, w, h])

    def to_detection(self, h: int, w: int) -> Detection:
        """A ``Detection``: COCO-17 keypoints from the landmarks, landmarks and world landmarks attached."""
        conf = self.confidence(h, w)
        coco = np.column_stack([self.landmarks[BLAZEPOSE33_TO_COCO17, :2], conf[BLAZEPOSE33_TO_COCO17]])
        return Detection(bbox=self.visible_box(h, w), keypoints=coco, score=float(self.score),
                         landmarks=np.column_stack([self.landmarks[:, :2], conf]),
                         world_landmarks=np.column_stack([self.world, conf]))


class BlazePose:
    """Callable multi-person BlazePose: ``BlazePose()(rgb_image) -> list[Detection]``."""

    def __init__(self, folder: str | Path | None = None, variant: str = "full", threads: int | None = None,
                 min_score: float = 0.2, min_presence: float = 0.5, nms_iou: float = 0.3,
                 max_people: int = 6) -> None:
        folder = Path(folder) if folder else asset_path("models", "blazepose")
        self._det = load_interpreter(folder / "pose_detection.tflite", _RESTORE, threads)
        self._lmk = load_interpreter(folder / f"pose_landmark_{variant}.tflite", _RESTORE, threads)
        allocate(self._det)
        allocate(self._lmk)
        self._det_in = self._det.get_input_details()[0]["index"]
        det_out = {d["name"]: d for d in self._det.get_output_details()}
        self._lmk_in = self._lmk.get_input_details()[0]["index"]
        lmk_out = {d["name"]: d for d in self._lmk.get_output_details()}
        try:
            self._det_reg, self._det_cls = det_out["Identity"]["index"], det_out["Identity_1"]["index"]
            self._lmk_out = {k: lmk_out[f"Identity{s}"]["index"] for k, s in
                             (("landmarks", ""), ("presence", "_1"), ("heatmap", "_3"), ("world", "_4"))}
        except KeyError as exc:
            raise ModelUnavailableError(f"{folder}: BlazePose model without output {exc}; {_RESTORE}") from exc
        self.anchors = ssd_anchors()
        self.min_score, self.min_presence, self.nms_iou, self.max_people = min_score, min_presence, nms_iou, max_people

    def detect(self, image: np.ndarray) -> list[PoseCandidate]:
        """The person detector on the whole frame (letterboxed), after weighted NMS, best first."""
        h, w = image.shape[:2]
        m = letterbox_matrix(h, w)
        # MediaPipe samples with warpAffine (no half-pixel shift) and pads black: uint8 0 → -1 after scaling
        canvas = cv2.warpAffine(image, m, (DETECTOR_SIZE, DETECTOR_SIZE), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        self._det.set_tensor(self._det_in, (canvas.astype(np.float32) / 127.5 - 1.0)[None])
        self._det.invoke()
        scores = sigmoid(self._det.get_tensor(self._det_cls)[0, :, 0])
        keep = scores >= self.min_score
        if not keep.any():
            return []
        boxes, kps = decode_boxes(self._det.get_tensor(self._det_reg)[0][keep].astype(np.float64),
                                  self.anchors[keep])
        inverse = cv2.invertAffineTransform(m)
        out = []
        for score, box, kp in weighted_nms(boxes, kps, scores[keep], self.nms_iou)[: self.max_people]:
            pts = np.vstack([box.reshape(2, 2), kp]) * DETECTOR_SIZE
            pts = pts @ inverse[:, :2].T + inverse[:, 2]
            out.append(PoseCandidate(score, pts[:2].reshape(4), pts[2:]))
        return out

    def landmarks(self, image: np.ndarray, roi: Roi) -> PoseLandmarks | None:
        """The landmark model on ``roi``; None when the model says no person is there."""
        crop = cv2.warpAffine(image, roi.crop_to_image(), (LANDMARK_SIZE, LANDMARK_SIZE),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        self._lmk.set_tensor(self._lmk_in, (crop.astype(np.float32) / 255.0)[None])
        self._lmk.invoke()
        presence = float(self._lmk.get_tensor(self._lmk_out["presence"]).reshape(-1)[0])
        if not presence >= self.min_presence:
            return None
        raw = self._lmk.get_tensor(self._lmk_out["landmarks"]).reshape(-1, 5).astype(np.float64)
        heatmap = self._lmk.get_tensor(self._lmk_out["heatmap"])[0]
        world = self._lmk.get_tensor(self._lmk_out["world"]).reshape(-1, 3).astype(np.float64)
        uv = refine_from_heatmap(raw[:, :2] / LANDMARK_SIZE, heatmap)
        xy = roi.to_image(uv)
        z = raw[:, 2] / LANDMARK_SIZE * roi.size
        lm = np.column_stack([xy, z, sigmoid(raw[:, 3]), sigmoid(raw[:, 4])])
        n = NUM_LANDMARKS
        return PoseLandmarks(roi, presence, lm[:n], roi.rotate(world[:n]), lm[n:n + 2, :2], presence)

    def people(self, image: np.ndarray, same_roi: float = 0.0) -> list[PoseLandmarks]:
        """Detector → ROI → landmarks for every detection; implausible skeletons and duplicates dropped. With
        ``same_roi`` > 0 a detection whose ROI matches an already found person's (``same_place``) gets no
        landmark pass: the detector reporting one body twice."""
        h, w = image.shape[:2]
        found: list[PoseLandmarks] = []
        for cand in self.detect(image):
            roi = roi_from_points(cand.keypoints[0], cand.keypoints[1])
            if same_roi and any(same_place(roi, p.roi, same_roi) for p in found):
                continue
            person = self.landmarks(image, roi)
            if person is not None and plausible(person, h, w):
                person.score = cand.score * person.presence
                found.append(person)
        return deduplicate(found, h, w)

    def __call__(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        return [p.to_detection(h, w) for p in self.people(image)]


def same_place(a: Roi, b: Roi, tolerance: float) -> bool:
    """True when two ROIs frame the same body: centres within ``tolerance`` × the larger size, sizes within a
    factor 1 + 2 × ``tolerance``."""
    big, small = max(a.size, b.size), min(a.size, b.size)
    near = math.hypot(a.cx - b.cx, a.cy - b.cy) <= tolerance * big
    return bool(near and big <= (1 + 2 * tolerance) * small)


def plausible(person: PoseLandmarks, h: int, w: int, min_conf: float = 0.5, max_limb: float = 1.6) -> bool:
    """False for the landmark model's known failures: a crop turned more than 120° from upright (it still
    reports presence ≈ 1 but the skeleton is nonsense), a skeleton whose head is below its hips with the
    shoulders below the hips too, or a limb longer (in metres) than ``max_limb`` × the torso."""
    if abs(person.roi.angle) > 2 * math.pi / 3:
        return False
    lm, conf = person.landmarks, person.confidence(h, w)
    sh, hip = lm[[11, 12], :2].mean(0), lm[[23, 24], :2].mean(0)
    if (conf[[0, 11, 12, 23, 24]] >= min_conf).all() and lm[0, 1] > hip[1] and sh[1] > hip[1]:
        return False
    world = person.world
    torso = np.linalg.norm(world[[11, 12]].mean(0) - world[[23, 24]].mean(0))
    limbs = np.linalg.norm(world[[a for a, _ in LIMBS]] - world[[b for _, b in LIMBS]], axis=1)
    return bool(torso > 0 and (limbs <= max_limb * torso).all())


def deduplicate(people: list[PoseLandmarks], h: int, w: int, max_overlap: float = 0.7) -> list[PoseLandmarks]:
    """The detector also fires on hands and knees as "faces", so one body can get several landmark passes.
    Keep the best (highest score) and drop any whose visible-landmark box lies mostly (intersection over the
    smaller box > ``max_overlap``) inside a better one's."""
    kept: list[PoseLandmarks] = []
    boxes: list[np.ndarray] = []
    for p in sorted(people, key=lambda p: -p.score):
        box = p.visible_box(h, w)
        if not any(overlap_of_smaller(box, b) > max_overlap for b in boxes):
            kept.append(p)
            boxes.append(box)
    return kept


def overlap_of_smaller(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of two x0,y0,x1,y1 boxes over the area of the smaller one."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(iw * ih / small) if small > 0 else 0.0
