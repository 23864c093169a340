"""Build msmesh's open pose prior and motion clips from the DeepMimic motion-capture clips in pybullet.

Build-time tool, not imported by msmesh; pybullet is NOT a runtime dependency. It reads the 15
``pybullet_data/data/motions/humanoid3d_*.txt`` clips straight out of a pybullet wheel or sdist (give one with
``--archive``, or let the tool run ``pip download --no-deps pybullet`` into a temporary folder), retargets
them onto SMPL's 24-joint kinematic tree as SMPL axis-angle parameters, mirrors them left↔right, and fits a
Gaussian mixture to the 69-D body poses (EM, full covariances, numpy). It writes

- ``assets/priors/deepmimic_smpl.npz`` — every clip as SMPL ``global_orient``/``body_pose``/``transl`` plus
  its frame rate (used by ``msmesh.eval.motion`` for synthetic benchmarks), and
- ``assets/priors/open_gmm_08.npz`` — the mixture (weights, means, covariances), in the same layout as
  SMPLify's ``gmm_08.pkl``, fitted only on the TRAIN clips so the synthetic benchmark can use held-out
  clips (``HELD_OUT``).

Retargeting (only the kinematic tree matters, not a mesh):
- DeepMimic's humanoid is y-up, faces +x, its right side is +z; SMPL's canonical frame is y-up, faces +z,
  its left side is +x. ``C`` (a −90° turn about y) maps DeepMimic coordinates to SMPL's; a rotation R
  becomes ``C R Cᵀ``.
- DeepMimic's rest pose has the arms hanging down, SMPL's is a T-pose. The arm chain's global rotations get
  a rest correction ``A`` (−90° about z for the left arm, +90° for the right) so that bone directions agree:
  ``G_smpl = C G_dm Cᵀ A``; hence the shoulder's local rotation is ``C q_sh Cᵀ A`` and the elbow's
  ``Aᵀ C q_el Cᵀ A``.
- DeepMimic's chest joint becomes SMPL spine1/spine2/spine3 (one third of the rotation each), its neck
  becomes SMPL neck/head (half each); knees and elbows are DeepMimic's 1-DOF hinges about their z axis;
  collars, wrists, hands and feet stay at rest.

Usage: ``python tools/build_pose_prior.py [--archive pybullet-*.whl] [--out assets/priors]``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from msmesh.eval.motion import mirror_body_pose

SMPL_NAMES = [
    "pelvis",
    "l_hip",
    "r_hip",
    "spine1",
    "l_knee",
    "r_knee",
    "spine2",
    "l_ankle",
    "r_ankle",
    "spine3",
    "l_foot",
    "r_foot",
    "neck",
    "l_collar",
    "r_collar",
    "head",
    "l_shoulder",
    "r_shoulder",
    "l_elbow",
    "r_elbow",
    "l_wrist",
    "r_wrist",
    "l_hand",
    "r_hand",
]
J = {n: i for i, n in enumerate(SMPL_NAMES)}
HELD_OUT = ("run", "punch", "dance_b", "kick")
"""Clips left out of the GMM so benchmarks can measure the prior on motion it has not seen."""

C = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
A_LEFT = Rotation.from_euler("z", -90, degrees=True).as_matrix()
A_RIGHT = Rotation.from_euler("z", 90, degrees=True).as_matrix()


def _quat(frame: np.ndarray, i: int) -> np.ndarray:
    """DeepMimic stores quaternions w,x,y,z; scipy wants x,y,z,w. Returns a rotation matrix."""
    w, x, y, z = frame[i : i + 4]
    return Rotation.from_quat([x, y, z, w]).as_matrix()


def _hinge(angle: float) -> np.ndarray:
    return Rotation.from_rotvec([0.0, 0.0, angle]).as_matrix()


def _conj(r: np.ndarray) -> np.ndarray:
    return C @ r @ C.T


def _frac(r: np.ndarray, f: float) -> np.ndarray:
    return Rotation.from_matrix(r).as_rotvec() * f


def retarget_frame(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One 44-value DeepMimic frame → SMPL (global_orient (3), body_pose (69), transl (3))."""
    local = np.zeros((24, 3))
    root = _conj(_quat(frame, 4))
    chest = _conj(_quat(frame, 8))
    neck = _conj(_quat(frame, 12))
    for name in ("spine1", "spine2", "spine3"):
        local[J[name]] = _frac(chest, 1 / 3)
    local[J["neck"]] = _frac(neck, 0.5)
    local[J["head"]] = _frac(neck, 0.5)
    for side, hip, knee, ankle, sh, el, a in (
        ("r", 16, 20, 21, 25, 29, A_RIGHT),
        ("l", 30, 34, 35, 39, 43, A_LEFT),
    ):
        local[J[f"{side}_hip"]] = Rotation.from_matrix(_conj(_quat(frame, hip))).as_rotvec()
        local[J[f"{side}_knee"]] = Rotation.from_matrix(_conj(_hinge(frame[knee]))).as_rotvec()
        local[J[f"{side}_ankle"]] = Rotation.from_matrix(_conj(_quat(frame, ankle))).as_rotvec()
        local[J[f"{side}_shoulder"]] = Rotation.from_matrix(_conj(_quat(frame, sh)) @ a).as_rotvec()
        local[J[f"{side}_elbow"]] = Rotation.from_matrix(a.T @ _conj(_hinge(frame[el])) @ a).as_rotvec()
    go = Rotation.from_matrix(root).as_rotvec()
    transl = C @ frame[1:4]
    return go, local[1:].reshape(69), transl


def fit_gmm(
    x: np.ndarray, k: int, seed: int = 0, iters: int = 200, reg: float = 0.01
) -> dict[str, np.ndarray]:
    """EM for a full-covariance Gaussian mixture; ``reg`` (rad²) is added to every covariance's diagonal,
    which keeps the joints DeepMimic never moves (collars, wrists, hands, feet) loosely constrained."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    # k-means++ style seeding
    means = [x[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min([((x - m) ** 2).sum(1) for m in means], axis=0)
        means.append(x[rng.choice(n, p=d2 / d2.sum())])
    means = np.array(means)
    covs = np.stack([np.cov(x.T) + reg * np.eye(d)] * k)
    weights = np.full(k, 1.0 / k)
    prev = -np.inf
    for _ in range(iters):
        logp = np.empty((n, k))
        for j in range(k):
            chol = np.linalg.cholesky(covs[j])
            z = np.linalg.solve(chol, (x - means[j]).T)
            logp[:, j] = (
                np.log(weights[j])
                - 0.5 * (z * z).sum(0)
                - np.log(np.diag(chol)).sum()
                - 0.5 * d * np.log(2 * np.pi)
            )
        mx = logp.max(1, keepdims=True)
        ll = (mx[:, 0] + np.log(np.exp(logp - mx).sum(1))).mean()
        resp = np.exp(logp - mx)
        resp /= resp.sum(1, keepdims=True)
        nk = resp.sum(0) + 1e-9
        weights = nk / n
        means = (resp.T @ x) / nk[:, None]
        for j in range(k):
            diff = x - means[j]
            covs[j] = (resp[:, j, None] * diff).T @ diff / nk[j] + reg * np.eye(d)
        if ll - prev < 1e-5:
            break
        prev = ll
    return {"weights": weights, "means": means, "covars": covs, "mean_log_likelihood": np.array(ll)}


def read_clips(archive: Path) -> dict[str, tuple[np.ndarray, float]]:
    """name → (frames (N, 44), fps) for every humanoid3d clip in a pybullet wheel (zip) or sdist (tar.gz)."""
    clips: dict[str, tuple[np.ndarray, float]] = {}

    def add(name: str, text: bytes) -> None:
        frames = np.asarray(json.loads(text)["Frames"], dtype=np.float64)
        clip = Path(name).stem.replace("humanoid3d_", "")
        clips[clip] = (frames, float(round(1.0 / np.median(frames[:, 0]), 3)))

    if archive.suffix == ".whl" or zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if "data/motions/humanoid3d_" in name and name.endswith(".txt"):
                    add(name, z.read(name))
    else:
        import tarfile

        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if "data/motions/humanoid3d_" in m.name and m.name.endswith(".txt"):
                    add(m.name, t.extractfile(m).read())  # type: ignore[union-attr]
    if not clips:
        raise SystemExit(f"{archive}: no pybullet_data/data/motions/humanoid3d_*.txt inside")
    return dict(sorted(clips.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archive", type=Path, help="a pybullet wheel or sdist (default: pip download it)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "assets" / "priors")
    ap.add_argument("--components", type=int, default=8)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        archive = args.archive
        if archive is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "pybullet", "-d", tmp], check=True
            )
            archive = next(Path(tmp).iterdir())
        sha = hashlib.sha256(archive.read_bytes()).hexdigest()
        clips = read_clips(archive)
    store: dict[str, np.ndarray] = {
        "clip_names": np.array(list(clips)),
        "source_sha256": np.array(sha),
        "source": np.array(archive.name),
    }
    train = []
    for name, (frames, fps) in clips.items():
        go, bp, tr = (np.array(v) for v in zip(*(retarget_frame(f) for f in frames), strict=True))
        store[f"{name}_global_orient"] = go.astype(np.float32)
        store[f"{name}_body_pose"] = bp.astype(np.float32)
        store[f"{name}_transl"] = tr.astype(np.float32)
        store[f"{name}_fps"] = np.array(fps)
        if name not in HELD_OUT:
            train.append(bp)
        print(f"{name:18s} {len(frames):4d} frames @ {fps:g} fps{'  (held out)' if name in HELD_OUT else ''}")
    x = np.concatenate(train)
    x = np.concatenate([x, mirror_body_pose(x)])
    gmm = fit_gmm(x, args.components)
    args.out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **store)
    (args.out / "deepmimic_smpl.npz").write_bytes(buf.getvalue())
    buf = io.BytesIO()
    np.savez(
        buf,
        weights=gmm["weights"].astype(np.float64),
        means=gmm["means"],
        covars=gmm["covars"],
        train_clips=np.array([c for c in clips if c not in HELD_OUT]),
        held_out=np.array(HELD_OUT),
        source=np.array(archive.name),
        source_sha256=np.array(sha),
    )
    (args.out / f"open_gmm_{args.components:02d}.npz").write_bytes(buf.getvalue())
    print(
        f"GMM: {args.components} components on {len(x)} poses (with mirrors), "
        f"mean log-likelihood {float(gmm['mean_log_likelihood']):.1f}; source sha256 {sha[:16]}…"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
