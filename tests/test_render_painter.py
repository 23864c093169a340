"""The painter rasteriser: a known triangle lands on the expected pixels, back faces are culled, and the
nearer of two overlapping faces wins whatever order the meshes come in."""

from __future__ import annotations

import numpy as np

from msmesh.render.painter import MeshDraw, blend, draw_meshes, rasterize

FOCAL, CENTER, SIZE = 100.0, (80.0, 45.0), (90, 160)
# camera coordinates, z = 2 m: projects to pixels (80,45), (105,45), (80,70)
TRI = np.array([[0.0, 0.0, 2.0], [0.5, 0.0, 2.0], [0.0, 0.5, 2.0]])
FRONT = np.array([[0, 2, 1]])  # normal towards the camera (-z)
BACK = np.array([[0, 1, 2]])


def test_triangle_fills_expected_pixels() -> None:
    layer = rasterize(SIZE, [MeshDraw(TRI, np.array([255.0, 0.0, 0.0]))], FRONT, FOCAL, CENTER)
    filled = layer[..., 3] > 0
    v, u = np.nonzero(filled)
    # the triangle u ≥ 80, v ≥ 45, (u-80)+(v-45) ≤ 25: area 312.5 px
    assert 280 <= filled.sum() <= 360
    assert u.min() >= 79 and v.min() >= 44 and u.max() <= 106 and v.max() <= 71
    assert np.all((u - 80) + (v - 45) <= 27)
    assert filled[50, 85] and not filled[65, 100] and not filled[40, 85]
    # Lambert-shaded red: red channel dominant, not black
    assert layer[50, 85, 0] > 100 and layer[50, 85, 1] == 0


def test_back_faces_are_culled_and_behind_camera_dropped() -> None:
    assert rasterize(SIZE, [MeshDraw(TRI, np.array([255.0, 0, 0]))], BACK, FOCAL, CENTER)[..., 3].sum() == 0
    behind = TRI * np.array([1, 1, -1])
    assert rasterize(SIZE, [MeshDraw(behind, np.array([255.0, 0, 0]))], BACK, FOCAL, CENTER)[..., 3].sum() == 0


def test_nearer_face_wins_in_any_order() -> None:
    near = MeshDraw(TRI * np.array([1, 1, 0.5]), np.array([0.0, 255.0, 0.0]))  # z = 1: twice as large
    far = MeshDraw(TRI, np.array([255.0, 0.0, 0.0]))
    for meshes in ([near, far], [far, near]):
        layer = rasterize(SIZE, meshes, FRONT, FOCAL, CENTER)
        assert layer[50, 85, 1] > 100 and layer[50, 85, 0] == 0


def test_blend_is_semi_transparent_only_where_drawn() -> None:
    image = np.full((*SIZE, 3), 100, np.uint8)
    out = draw_meshes(image, [MeshDraw(TRI, np.array([255.0, 255.0, 255.0]))], FRONT, FOCAL, CENTER, alpha=0.5)
    assert np.array_equal(out[5, 5], image[5, 5])
    assert 100 < out[50, 85, 0] < 255
    layer = np.zeros((*SIZE, 4), np.uint8)
    assert np.array_equal(blend(image, layer), image)
