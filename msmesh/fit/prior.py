"""Pose priors of the fit: a Gaussian-mixture prior (SMPLify's ``gmm_08.pkl`` or msmesh's open one) and
anatomical joint-angle limits.

SMPLify's GMM is license-gated, so msmesh ships an open mixture fitted by ``tools/build_pose_prior.py`` on
DeepMimic motion-capture clips retargeted to SMPL (``assets/priors/open_gmm_08.npz``, see PROVENANCE.md).
``--pose-prior PATH`` loads SMPLify's pickle (or any npz/pkl with ``weights``, ``means``, ``covars``); pickles
are read by ``msmesh.safe_pickle`` (arrays and plain data only, never code).

All priors map body poses (N, 69) to a per-frame energy (N,). The mixture is evaluated like SMPLify's
"max-mixture": min over components of ½ (θ−μ_k)ᵀ Σ_k⁻¹ (θ−μ_k) − log w_k + ½ log det Σ_k, minus its minimum
possible value so a perfectly typical pose costs ~0.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from msmesh.assets import asset_path
from msmesh.body.joints import SMPL24_NAMES
from msmesh.errors import InputError
from msmesh.safe_pickle import UnsafePickleError, safe_load_path

OPEN_GMM_FILE = "open_gmm_08.npz"
DEFAULT_PRIOR = "gmm+limits"
PRIOR_CHOICES = ("gmm+limits", "gmm", "limits", "l2")

# Anatomical limits (radians) on axis-angle components of hinge-like joints, in SMPL's canonical axes
# (x: left, y: up, z: forward). Knees bend about +x, elbows about ∓y (left −, right +); twists and sideways
# bends of these hinges are nearly impossible. Ranges from standard goniometry tables (knee 0–150°, elbow
# 0–150°, limited ab/adduction), widened by ~10° for the SMPL joint placement.
JOINT_LIMITS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "l_knee": ((-0.15, 2.7), (-0.25, 0.25), (-0.25, 0.25)),
    "r_knee": ((-0.15, 2.7), (-0.25, 0.25), (-0.25, 0.25)),
    "l_elbow": ((-0.4, 0.4), (-2.7, 0.15), (-0.4, 0.4)),
    "r_elbow": ((-0.4, 0.4), (-0.15, 2.7), (-0.4, 0.4)),
    "spine1": ((-0.6, 1.0), (-0.6, 0.6), (-0.5, 0.5)),
    "spine2": ((-0.5, 0.6), (-0.5, 0.5), (-0.4, 0.4)),
    "spine3": ((-0.5, 0.6), (-0.5, 0.5), (-0.4, 0.4)),
    "neck": ((-0.7, 0.8), (-0.9, 0.9), (-0.6, 0.6)),
    "head": ((-0.7, 0.8), (-0.9, 0.9), (-0.6, 0.6)),
    "l_collar": ((-0.4, 0.4), (-0.5, 0.5), (-0.5, 0.5)),
    "r_collar": ((-0.4, 0.4), (-0.5, 0.5), (-0.5, 0.5)),
    "l_hip": ((-2.5, 0.6), (-0.9, 0.9), (-0.5, 1.3)),
    "r_hip": ((-2.5, 0.6), (-0.9, 0.9), (-1.3, 0.5)),
    "l_ankle": ((-0.6, 0.9), (-0.5, 0.5), (-0.4, 0.4)),
    "r_ankle": ((-0.6, 0.9), (-0.5, 0.5), (-0.4, 0.4)),
    "l_wrist": ((-0.8, 0.8), (-1.2, 1.2), (-1.0, 1.0)),
    "r_wrist": ((-0.8, 0.8), (-1.2, 1.2), (-1.0, 1.0)),
}


def joint_limit_bounds() -> tuple[np.ndarray, np.ndarray]:
    """(69,) lower and upper bounds; ±∞ for joints without a limit (feet, hands, shoulders)."""
    lo = np.full((23, 3), -np.inf)
    hi = np.full((23, 3), np.inf)
    for name, rng in JOINT_LIMITS.items():
        j = SMPL24_NAMES.index(name) - 1
        lo[j] = [r[0] for r in rng]
        hi[j] = [r[1] for r in rng]
    return lo.reshape(69), hi.reshape(69)


class JointLimitPrior(nn.Module):
    """Squared hinge outside the anatomical ranges: Σ relu(lo−θ)² + relu(θ−hi)². (N,)."""

    lo: torch.Tensor  # buffers (register_buffer)
    hi: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        lo, hi = joint_limit_bounds()
        self.register_buffer("lo", torch.tensor(np.nan_to_num(lo, neginf=-1e3), dtype=torch.float32))
        self.register_buffer("hi", torch.tensor(np.nan_to_num(hi, posinf=1e3), dtype=torch.float32))

    def forward(self, body_pose: torch.Tensor) -> torch.Tensor:
        return (torch.relu(self.lo - body_pose).pow(2) + torch.relu(body_pose - self.hi).pow(2)).sum(-1)


class GMMPrior(nn.Module):
    """SMPLify-style max-mixture Gaussian prior on the 69-D body pose."""

    means: torch.Tensor  # buffers (register_buffer)
    chol_t: torch.Tensor
    const: torch.Tensor
    proj: torch.Tensor
    offset: torch.Tensor

    def __init__(self, weights: np.ndarray, means: np.ndarray, covars: np.ndarray, name: str = "gmm") -> None:
        super().__init__()
        try:
            weights = np.asarray(weights, dtype=np.float64).reshape(-1)
            means = np.asarray(means, dtype=np.float64)
            covars = np.asarray(covars, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"pose prior {name}: weights, means and covars must be numeric arrays") from exc
        k = weights.shape[0]
        if means.shape != (k, 69) or covars.shape != (k, 69, 69):
            raise InputError(
                f"pose prior {name}: expected means (K,69) and covars (K,69,69) for K={k}, got "
                f"{means.shape} and {covars.shape}"
            )
        if not (k and all(np.all(np.isfinite(a)) for a in (weights, means, covars)) and np.all(weights > 0)):
            raise InputError(f"pose prior {name}: values must be finite and the weights > 0")
        try:
            prec = np.linalg.inv(covars)
            chol = np.linalg.cholesky(prec)  # prec = L Lᵀ → quadratic form = ‖Lᵀ (θ−μ)‖²
        except np.linalg.LinAlgError as exc:
            raise InputError(f"pose prior {name}: covariances must be symmetric positive definite") from exc
        _, logdet = np.linalg.slogdet(covars)
        nll_const = -np.log(weights / weights.sum()) + 0.5 * logdet
        self.name = name
        self.register_buffer("means", torch.tensor(means, dtype=torch.float32))
        self.register_buffer("chol_t", torch.tensor(np.transpose(chol, (0, 2, 1)), dtype=torch.float32))
        self.register_buffer("const", torch.tensor(nll_const - nll_const.min(), dtype=torch.float32))
        # z_k = Lₖᵀ(θ − μₖ) = θ W − b as one GEMM over all components: W (69, K·69), b (K·69,)
        self.register_buffer("proj", torch.tensor(np.transpose(chol, (1, 0, 2)).reshape(69, k * 69),
                                                  dtype=torch.float32))
        self.register_buffer("offset", torch.tensor(np.einsum("kji,kj->ki", chol, means).reshape(-1),
                                                    dtype=torch.float32))

    def forward(self, body_pose: torch.Tensor) -> torch.Tensor:
        z = torch.addmm(-self.offset, body_pose, self.proj).view(body_pose.shape[0], -1, 69)  # (N,K,69)
        energy = 0.5 * (z * z).sum(-1) + self.const  # (N,K)
        return energy.min(-1).values


class L2Prior(nn.Module):
    """‖θ‖²: pull every joint towards the rest pose (the weakest prior; a baseline)."""

    def forward(self, body_pose: torch.Tensor) -> torch.Tensor:
        return (body_pose * body_pose).sum(-1)


class CombinedPrior(nn.Module):
    """Sum of priors with weights: e.g. GMM + joint limits."""

    def __init__(self, parts: list[tuple[nn.Module, float]]) -> None:
        super().__init__()
        self.parts = nn.ModuleList([p for p, _ in parts])
        self.weights = [w for _, w in parts]

    def forward(self, body_pose: torch.Tensor) -> torch.Tensor:
        return sum(w * p(body_pose) for p, w in zip(self.parts, self.weights, strict=True))


def _load_mixture_arrays(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"pose prior {path}: file not found")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        obj = safe_load_path(path)  # arrays and plain data only: a pickle can run code
    except UnsafePickleError as exc:
        raise InputError(f"pose prior {path}: {exc}") from exc
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, RecursionError, MemoryError, zipfile.BadZipFile) as exc:
        raise InputError(f"pose prior {path}: not a readable pickle or npz ({exc})") from exc
    if not isinstance(obj, dict):
        raise InputError(f"pose prior {path}: expected a dict with weights, means and covars, got "
                         f"{type(obj).__name__}")
    return obj


def load_gmm(path: str | os.PathLike[str]) -> GMMPrior:
    """A mixture prior from SMPLify's ``gmm_08.pkl`` or an npz with ``weights``/``means``/``covars``."""
    p = Path(path)
    data = _load_mixture_arrays(p)
    missing = [k for k in ("weights", "means", "covars") if data.get(k) is None]
    if missing:
        raise InputError(
            f"pose prior {p}: missing {', '.join(missing)} (expected SMPLify's gmm_08.pkl layout)"
        )
    return GMMPrior(data["weights"], data["means"], data["covars"], name=p.name)


def open_gmm_path() -> Path:
    """The shipped open pose prior (ModelUnavailableError if it is not installed)."""
    return asset_path("priors", OPEN_GMM_FILE)


def mean_pose() -> np.ndarray:
    """(69,) the open mixture's weight-averaged mean: a relaxed stance, used to initialise fits."""
    with np.load(open_gmm_path()) as z:
        return (z["weights"][:, None] * z["means"]).sum(0) / z["weights"].sum()


def build_pose_prior(kind: str = DEFAULT_PRIOR, path: str | os.PathLike[str] | None = None) -> nn.Module:
    """The pose prior the fitter uses.

    ``path`` (``--pose-prior``) wins: SMPLify's GMM (plus joint limits, which cost nothing on plausible
    poses). Otherwise ``kind``: ``gmm+limits`` (default, measured best on the synthetic benchmark), ``gmm``
    (the open mixture alone), ``limits`` (joint limits + a weak L2), ``l2``.
    """
    limits_weight = 10.0
    if path is not None:
        return CombinedPrior([(load_gmm(path), 1.0), (JointLimitPrior(), limits_weight)])
    if kind == "gmm+limits":
        return CombinedPrior([(load_gmm(open_gmm_path()), 1.0), (JointLimitPrior(), limits_weight)])
    if kind == "gmm":
        return load_gmm(open_gmm_path())
    if kind == "limits":
        return CombinedPrior([(JointLimitPrior(), limits_weight), (L2Prior(), 1.0)])
    if kind == "l2":
        return L2Prior()
    raise InputError(f"unknown pose prior {kind!r} (expected one of {', '.join(PRIOR_CHOICES)} or a file)")
