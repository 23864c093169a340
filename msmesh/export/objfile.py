"""Stage "export", mesh part: one Wavefront OBJ per person per fitted frame (``meshes/p{id}_f{frame:06d}.obj``).

Vertices in the frame's camera coordinates (metres; x right, y down, z forward), area-weighted vertex
normals (``vn``) and triangles written as ``f v//vn`` (1-based). Written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from msmesh.atomic import atomic_write_text


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V,3) of a triangle mesh with outward (counter-clockwise) winding."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def obj_text(vertices: np.ndarray, faces: np.ndarray, comment: str = "") -> str:
    """The OBJ file text for one mesh, with vertex normals."""
    normals = vertex_normals(vertices, faces)
    buf = io.StringIO()
    if comment:
        buf.write("".join(f"# {line}\n" for line in comment.splitlines()))
    np.savetxt(buf, np.asarray(vertices, dtype=np.float64), fmt="v %.6f %.6f %.6f")
    np.savetxt(buf, normals, fmt="vn %.5f %.5f %.5f")
    f = np.asarray(faces, dtype=np.int64) + 1
    np.savetxt(buf, np.repeat(f, 2, axis=1), fmt="f %d//%d %d//%d %d//%d")
    return buf.getvalue()


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray, comment: str = "") -> None:
    """Write one mesh as OBJ (vertices, vertex normals, triangles) atomically."""
    atomic_write_text(path, obj_text(vertices, faces, comment))


def obj_name(person_id: int, frame: int) -> str:
    """The file name of a person's mesh at a frame, relative to the run folder."""
    return f"meshes/p{person_id}_f{frame:06d}.obj"
