"""The ``auto`` detector: MoveNet and BlazePose together, so people are found in wide shots and close-ups.

MoveNet MultiPose finds every person of a wide shot (small people, people side by side) but misses many
head-and-shoulders close-ups; BlazePose's face-anchored detector finds close-ups but one body per ROI and
not the small people. Per frame:

1. BlazePose's detector gives its own (face-anchored) people, each with a landmark pass (``BlazePose.people``);
   then MoveNet gives people with COCO-17 keypoints (on a smaller input when BlazePose found a large person).
2. Each MoveNet person is paired with the BlazePose person whose keypoints agree with its own; a MoveNet
   person without one gets a landmark pass on an ROI seeded from its keypoints.
3. A pair is merged: BlazePose's landmarks and keypoints, with MoveNet's keypoints filling joints BlazePose
   does not see, and the union of the boxes. A BlazePose person left unpaired is kept too.
4. Duplicates go, best score first (``duplicate``): MoveNet sometimes reports one person twice, and the
   BlazePose detector fires on hands and knees, drawing a skeleton along someone's arms; implausible
   skeletons were already dropped by ``blazepose.plausible``.
"""

from __future__ import annotations

import numpy as np

from msmesh.people.blazepose import BlazePose, PoseLandmarks, plausible
from msmesh.people.blazepose_ops import Roi, roi_from_points
from msmesh.people.detection import Detection, mean_point_distance
from msmesh.people.movenet import MoveNet

_NOSE, _L_SHO, _R_SHO, _L_HIP, _R_HIP = 0, 5, 6, 11, 12
Found = tuple[Detection, PoseLandmarks | None]
"""One person of a full pass and the landmark pass behind its landmarks (None: MoveNet's keypoints only)."""


def roi_from_coco(keypoints: np.ndarray, min_conf: float = 0.3) -> Roi | None:
    """A BlazePose landmark ROI from COCO-17 keypoints (17,3), or None without both shoulders.

    Centred on the hip centre (estimated 1.3 shoulder widths below the shoulders when the hips are not
    seen), the scale point up the body axis at the farthest confident keypoint or 1.6 torso lengths.
    """
    ok = keypoints[:, 2] >= min_conf
    if not (ok[_L_SHO] and ok[_R_SHO]):
        return None
    xy = keypoints[:, :2]
    shoulders = xy[[_L_SHO, _R_SHO]].mean(0)
    if ok[_L_HIP] and ok[_R_HIP]:
        centre = xy[[_L_HIP, _R_HIP]].mean(0)
        up = shoulders - centre
    else:
        across = xy[_R_SHO] - xy[_L_SHO]
        normal = np.array([across[1], -across[0]])  # perpendicular to the shoulder line
        towards_head = xy[_NOSE] - shoulders if ok[_NOSE] else np.array([0.0, -1.0])
        if normal @ towards_head < 0:
            normal = -normal
        up = normal / max(np.linalg.norm(normal), 1e-9) * 1.3 * np.linalg.norm(across)
        centre = shoulders - up
    torso = float(np.linalg.norm(up))
    if torso < 1.0:
        return None
    reach = float(np.linalg.norm(xy[ok] - centre, axis=1).max())
    radius = max(1.1 * reach, 1.6 * torso)
    return roi_from_points(centre, centre + up / torso * radius)


def keypoints_agree(a: Detection, b: Detection, min_conf: float = 0.3, max_distance: float = 0.12) -> bool:
    """True when ≥ 3 keypoints confident in both lie on average within ``max_distance`` × the larger box
    diagonal of each other (the same person seen by two detectors)."""
    d = mean_point_distance(a.keypoints, b.keypoints, min_conf, 3)
    return d is not None and d <= max_distance * max(a.diagonal, b.diagonal, 1.0)


def merge(movenet: Detection, blaze: Detection, fill_conf: float = 0.5) -> Detection:
    """One person from both detectors: BlazePose's keypoints and landmarks, MoveNet's keypoints where BlazePose
    is unsure and MoveNet confident, the union of the boxes, the better score."""
    keypoints = blaze.keypoints.copy()
    fill = (blaze.keypoints[:, 2] < 0.3) & (movenet.keypoints[:, 2] >= fill_conf)
    keypoints[fill] = movenet.keypoints[fill]
    bbox = np.concatenate([np.minimum(movenet.bbox[:2], blaze.bbox[:2]), np.maximum(movenet.bbox[2:], blaze.bbox[2:])])
    return Detection(bbox=bbox, keypoints=keypoints, score=max(movenet.score, blaze.score),
                     landmarks=blaze.landmarks, world_landmarks=blaze.world_landmarks)


def duplicate(candidate: Detection, kept: Detection, confirmed: bool, min_conf: float = 0.3) -> bool:
    """True when ``candidate`` is another reading of the person ``kept`` rather than someone else.

    Their keypoints agree (MoveNet reporting one person twice, or both detectors on one person); or, for a
    candidate only BlazePose saw (``confirmed`` False), most of its confident keypoints lie on ``kept``'s
    body (within 0.15 of ``kept``'s size of any of its keypoints): a skeleton the landmark model drew along
    someone's outstretched arms. People MoveNet confirmed are never dropped on that ground: real people overlap.
    """
    if keypoints_agree(candidate, kept):
        return True
    if confirmed:
        return False
    mine = candidate.keypoints[candidate.keypoints[:, 2] >= min_conf, :2]
    theirs = kept.keypoints[kept.keypoints[:, 2] >= min_conf, :2]
    if len(mine) < 3 or len(theirs) < 3:
        return False
    near = np.linalg.norm(mine[:, None] - theirs[None], axis=2).min(1) <= 0.15 * kept.diagonal
    return bool(near.mean() >= 0.5)


class HybridDetector:
    """Callable ``auto`` backend: ``HybridDetector()(rgb_image) -> list[Detection]``.

    BlazePose runs first. When it finds a person whose ROI is at least ``close_size`` × the frame height (the ROI
    is ≈ 1.25 × the body, so the body is taller than the frame: a waist-up shot or a close-up), the people
    MoveNet must add are large too, and MoveNet runs on a
    ``close_long_side`` input instead of 448 (about half the cost); small people are why 448 is kept for the
    other frames. A BlazePose detection whose ROI matches an already found person's gets no landmark pass
    (``same_roi``, see ``BlazePose.people``). Measured on bench/detect_recall.py (97 frames, 1 thread):
    MoveNet at 448 on 37 % of the frames, at 320 on 63 %, 1.88 landmark passes per frame instead of 2.07;
    recall 0.95 / 0.925 / 0.915 (close-up / waist-up / full, was 0.925 / 0.925 / 0.915), precision 0.979 (was
    0.972); the same with ``close_size`` 1.1 or 1.4. At 256 waist-up recall fell to 0.887.
    """

    def __init__(self, movenet: MoveNet | None = None, blazepose: BlazePose | None = None,
                 threads: int | None = None, close_size: float = 1.2, close_long_side: int = 320,
                 same_roi: float = 0.25) -> None:
        self.movenet = movenet or MoveNet(threads=threads)
        self.movenet_close = MoveNet(threads=threads, long_side=close_long_side) if close_size else None
        self.blazepose = blazepose or BlazePose(threads=threads)
        self.close_size = close_size
        self.same_roi = same_roi

    def __call__(self, image: np.ndarray) -> list[Detection]:
        return [d for d, _ in self.find(image)]

    def find(self, image: np.ndarray) -> list[Found]:
        """Every person of the frame (the full pass), each with the landmark pass it got (None for a person
        only MoveNet sees): ``people.roi_tracking`` places the next frame's ROI from it."""
        h, w = image.shape[:2]
        people = self.blazepose.people(image, self.same_roi)
        close = self.movenet_close is not None and any(p.roi.size >= self.close_size * h for p in people)
        found = (self.movenet_close if close and self.movenet_close is not None else self.movenet)(image)
        blaze = [p.to_detection(h, w) for p in people]
        paired: set[int] = set()
        out: list[Found] = []  # people MoveNet found, with BlazePose's landmarks where it has them
        for m in sorted(found, key=lambda d: -d.score):
            j = next((j for j, b in enumerate(blaze) if j not in paired and keypoints_agree(m, b)), None)
            if j is not None:
                paired.add(j)
                out.append((merge(m, blaze[j]), people[j]))
                continue
            seeded = self._seeded(image, m)
            out.append((merge(m, seeded[0]), seeded[1]) if seeded is not None else (m, None))
        candidates = [(f, True) for f in out] + [((b, people[j]), False) for j, b in enumerate(blaze)
                                                  if j not in paired]
        kept: list[Found] = []
        for f, confirmed in sorted(candidates, key=lambda c: (not c[1], -c[0][0].score)):
            if not any(duplicate(f[0], k, confirmed) for k, _ in kept):
                kept.append(f)
        return kept

    def _seeded(self, image: np.ndarray, person: Detection) -> tuple[Detection, PoseLandmarks] | None:
        """A landmark pass on an ROI placed from MoveNet's keypoints, kept only when it agrees with them."""
        h, w = image.shape[:2]
        roi = roi_from_coco(person.keypoints)
        if roi is None:
            return None
        result: PoseLandmarks | None = self.blazepose.landmarks(image, roi)
        if result is None or not plausible(result, h, w):
            return None
        det = result.to_detection(h, w)
        return (det, result) if keypoints_agree(person, det) else None
