"""The offline default detector: MoveNet MultiPose Lightning (Apache-2.0) through LiteRT.

Up to 6 people, 17 COCO keypoints each. The model file ships in ``assets/models/movenet/`` (see its
PROVENANCE.md) and its sha256 is checked once at load. Input: the frame letterboxed into 256×448 (or
448×256 for portrait video) — dimensions must be multiples of 32.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from msmesh.assets import asset_path
from msmesh.people.detection import Detection
from msmesh.people.tflite import allocate, load_interpreter


def __getattr__(name: str) -> Path:
    """``ASSET_DIR``: the shipped MoveNet folder, resolved on first use (ModelUnavailableError if missing)."""
    if name == "ASSET_DIR":
        return asset_path("models", "movenet")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class MoveNet:
    """Callable detector: ``MoveNet()(rgb_image) -> list[Detection]``."""

    def __init__(self, model_path: str | Path | None = None, min_score: float = 0.2, threads: int | None = None,
                 long_side: int = 448, border: float = 0.015) -> None:
        path = Path(model_path) if model_path else asset_path("models", "movenet", "movenet.tflite")
        self._interp = load_interpreter(path, "reinstall msmesh, or in a source checkout re-extract it with "
                                        "tools/extract_movenet.py (see assets/models/movenet/PROVENANCE.md)",
                                        threads)
        self._input = self._interp.get_input_details()[0]["index"]
        self._output = self._interp.get_output_details()[0]["index"]
        self._shape: tuple[int, int] | None = None
        self.min_score = min_score
        self.long_side = long_side
        self.border = border

    def _input_size(self, h: int, w: int) -> tuple[int, int]:
        short = max(32, int(round(self.long_side * min(h, w) / max(h, w) / 32)) * 32)
        return (short, self.long_side) if w >= h else (self.long_side, short)

    def __call__(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        ih, iw = self._input_size(h, w)
        scale = min(ih / h, iw / w)
        rh, rw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))  # a 1×4000 frame keeps one row
        canvas = np.zeros((ih, iw, 3), np.uint8)
        canvas[:rh, :rw] = resize_to(image, rw, rh)
        if self._shape != (ih, iw):
            self._interp.resize_tensor_input(self._input, [1, ih, iw, 3])
            allocate(self._interp)
            self._shape = (ih, iw)
        self._interp.set_tensor(self._input, canvas[None])
        self._interp.invoke()
        raw = self._interp.get_tensor(self._output)[0]  # (6, 56)
        people = []
        for row in raw:
            score = float(row[55])
            if score < self.min_score:
                continue
            kp = row[:51].reshape(17, 3)  # y, x, score — normalised to the input canvas
            keypoints = np.stack([kp[:, 1] * iw / scale, kp[:, 0] * ih / scale, kp[:, 2]], axis=1)
            y0, x0, y1, x1 = row[51:55]
            bbox = np.array([x0 * iw, y0 * ih, x1 * iw, y1 * ih]) / scale
            bbox = np.clip(bbox, 0, [w, h, w, h])
            # MoveNet clamps joints that are out of the frame (truncated bodies in close-ups) onto the image
            # border; a keypoint within a thin band at the border is far more often such a guess than a
            # real joint, and fitting it would fold the legs up into the frame.
            m = self.border * max(h, w)
            outside = ((keypoints[:, 0] < m) | (keypoints[:, 0] >= w - m) | (keypoints[:, 1] < m)
                       | (keypoints[:, 1] >= h - m))
            keypoints[outside, 2] = 0.0
            people.append(Detection(bbox=bbox.astype(np.float64), keypoints=keypoints.astype(np.float64),
                                    score=score))
        return people


def resize_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize with the right filter: area averaging to shrink, bilinear to enlarge.

    INTER_AREA on an enlargement behaves like nearest neighbour; blocky low-resolution frames then hide the
    people from the detectors (issue #12: 4 of 54 film frames found instead of 40).
    """
    h, w = image.shape[:2]
    if (width, height) == (w, h):
        return image
    enlarge = width * height > w * h
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR if enlarge else cv2.INTER_AREA)
