"""Tests for the joint sets and keypoint maps."""

from __future__ import annotations

import numpy as np
import pytest

from msmesh.body.joints import (
    COCO17_FLIP,
    COCO17_NAMES,
    H36M17_NAMES,
    H36M17_PARENTS,
    OPENPOSE25_NAMES,
    SMPL24_FLIP,
    SMPL24_NAMES,
    SMPL24_PARENTS,
    openpose25_to_coco17,
    smpl24_depths,
)


def test_openpose_to_coco_by_name():
    kp = np.arange(25 * 3, dtype=float).reshape(25, 3)
    out = openpose25_to_coco17(kp[None])[0]
    for k, name in enumerate(COCO17_NAMES):
        side, part = name.split("_") if "_" in name else ("", name)
        op = (side[:1].upper() + part.capitalize()) if side else "Nose"
        assert np.array_equal(out[k], kp[OPENPOSE25_NAMES.index(op)]), name
    with pytest.raises(ValueError):
        openpose25_to_coco17(np.zeros((17, 3)))


def _side(name: str) -> tuple[str, str]:
    for pre, side in (("left_", "L"), ("right_", "R"), ("l_", "L"), ("r_", "R")):
        if name.startswith(pre):
            return side, name[len(pre):]
    return "", name


def test_flips_are_involutions_and_swap_sides():
    for names, flip in ((COCO17_NAMES, COCO17_FLIP), (SMPL24_NAMES, SMPL24_FLIP)):
        assert [flip[f] for f in flip] == list(range(len(names)))
        for i, f in enumerate(flip):
            a, b = _side(names[i]), _side(names[f])
            assert a[1] == b[1], (names[i], names[f])
            assert (a[0] == b[0] == "") or {a[0], b[0]} == {"L", "R"}


def test_trees():
    assert len(SMPL24_PARENTS) == 24 and len(H36M17_PARENTS) == len(H36M17_NAMES) == 17
    assert all(p < i for i, p in enumerate(SMPL24_PARENTS))
    assert max(smpl24_depths()) == 8
