"""OBJ export: a body mesh written with normals reads back identically through trimesh."""

from __future__ import annotations

import numpy as np
import torch
import trimesh

from msmesh.body import load_body_model
from msmesh.export.objfile import obj_name, vertex_normals, write_obj


def test_obj_round_trip(tmp_path) -> None:
    body = load_body_model("open")
    with torch.no_grad():
        out = body(torch.tensor([[np.pi, 0.0, 0.0]], dtype=torch.float32), torch.zeros(1, 69),
                   torch.zeros(1, 10), torch.tensor([[0.0, 0.0, 3.0]]))
    verts = out.vertices[0].numpy()
    path = tmp_path / obj_name(2, 17)
    assert path.name == "p2_f000017.obj"
    write_obj(path, verts, body.faces, comment="test")
    mesh = trimesh.load(path, process=False, maintain_order=True)
    assert mesh.vertices.shape == verts.shape and np.array_equal(mesh.faces, body.faces)
    assert np.abs(mesh.vertices - verts).max() < 1e-5
    text = path.read_text()
    assert text.count("\nvn ") == len(verts)
    n = vertex_normals(verts, body.faces)
    assert np.allclose(np.linalg.norm(n, axis=1), 1, atol=1e-6)
    # outward winding (positive signed volume, ~0.07 m³ for an adult) and normals agreeing with trimesh's
    tri = verts[body.faces].astype(np.float64)
    volume = np.einsum("fc,fc->f", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
    assert 0.03 < volume < 0.2
    ref = trimesh.Trimesh(verts, body.faces, process=False).vertex_normals
    assert np.mean(np.sum(n * ref, axis=1)) > 0.98
    assert not list(tmp_path.glob("meshes/.*"))  # no temporary files left behind
