"""Training HMR and t-HMMR on run folders (multi-shot pseudo-ground truth) — the library of `msmesh train`.

The samples come from :mod:`msmesh.regress.samples` (run folder → :class:`FrameSample`); this module is the
losses, batching and the optimisation loops.

Losses (paper §4): ``L_2D`` = L1 between projected predicted joints and the 2D targets; ``L_smpl`` = squared
error of rotation matrices and betas against the pseudo-GT; for t-HMMR also smoothness of consecutive
present frames' body-pose rotations and canonical 3D joints (global orientation and translation removed).
HMR trains the whole network with crop augmentation (scale/shift jitter and random truncation, as in HMR⁺);
t-HMMR keeps the HMR image encoder frozen, precomputes the per-frame features once, and trains the temporal
encoder and head on 13-timestamp windows with absent frames masked.

Checkpoints: ``train_state.pt`` (model + optimiser + step, for ``resume``) and, at the end, the
``model.safetensors`` + ``config.json`` that ``regress --weights DIR`` loads.
"""

from __future__ import annotations

import functools
import json
import operator
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from msmesh.body.model import BodyModel
from msmesh.errors import InputError
from msmesh.regress import hub
from msmesh.regress.crop import normalise, project_crop
from msmesh.regress.hmr import HMR, RegressorConfig, SmplPrediction
from msmesh.regress.samples import FrameSample
from msmesh.regress.thmmr import THMMR
from msmesh.rotations import rotmat_to_axis_angle

STATE_FILE = "train_state.pt"
StepCallback = Callable[[int, int, dict[str, float]], None]


@dataclass
class TrainOptions:
    """Optimisation settings (defaults follow the authors' configs where they apply)."""

    steps: int = 2000
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    weights: dict[str, float] = field(default_factory=lambda: {  # loss term → weight
        "2d": 1.0, "joints2d": 1.0, "pose": 0.1, "betas": 0.05, "smooth_pose": 1.0, "smooth_joints": 10.0})
    augment: bool = True
    truncation_prob: float = 0.3
    checkpoint_every: int = 500
    seed: int = 0


# --------------------------------------------------------------------------- augmentation


def augment_crop(crop: np.ndarray, points: list[np.ndarray], rng: np.random.Generator,
                 truncation_prob: float = 0.3) -> tuple[np.ndarray, list[np.ndarray]]:
    """Random re-crop of a crop (scale/shift jitter; with ``truncation_prob`` a tight box on a random part
    of the body, so the person is cut by the frame). ``points`` (K,≥2) in crop units follow along."""
    size = crop.shape[0]
    if rng.random() < truncation_prob:
        side = rng.uniform(0.35, 0.7)
        c = np.array([rng.uniform(-0.15, 0.15), rng.uniform(-0.5 + side / 2, 0.5 - side / 2)])
    else:
        side = rng.uniform(0.85, 1.15)
        c = rng.uniform(-0.08, 0.08, 2)
    s = 1.0 / side
    m = np.array([[s, 0, (size / 2) - s * size * (c[0] + 0.5)], [0, s, (size / 2) - s * size * (c[1] + 0.5)]])
    out = cv2.warpAffine(crop, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    moved = []
    for p in points:
        q = p.copy()
        q[:, :2] = (p[:, :2] - c) / side
        moved.append(q)
    return out, moved


# --------------------------------------------------------------------------- losses


def _body_joints(body_model: BodyModel, rotmat: torch.Tensor, betas: torch.Tensor,
                 canonical: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    n = rotmat.shape[0]
    aa = rotmat_to_axis_angle(rotmat.float())
    go = torch.zeros_like(aa[:, 0]) if canonical else aa[:, 0]
    joints, coco = body_model.joints_only(go, aa[:, 1:].reshape(n, 69), betas.float(), torch.zeros_like(aa[:, 0]))
    return joints, coco


def frame_losses(pred: SmplPrediction, batch: dict[str, torch.Tensor], body_model: BodyModel,
                 config: RegressorConfig, opts: TrainOptions) -> dict[str, torch.Tensor]:
    """Per-frame losses (means over the frames where ``batch['valid']``)."""
    valid = batch["valid"].float()
    nv = valid.sum().clamp_min(1.0)
    j24, c17 = _body_joints(body_model, pred.rotmat, pred.betas)
    kp_pred = project_crop(c17, pred.cam.float(), config.focal, config.image_size)
    j_pred = project_crop(j24, pred.cam.float(), config.focal, config.image_size)
    kp, jt = batch["kp2d"], batch["j2d"]
    l_kp = ((kp_pred - kp[..., :2]).abs().sum(-1) * kp[..., 2]).mean(-1)
    l_j = ((j_pred - jt[..., :2]).abs().sum(-1) * jt[..., 2]).mean(-1)
    l_pose = ((pred.rotmat - batch["rotmat"]) ** 2).sum((-1, -2)).mean(-1)
    l_betas = ((pred.betas.float() - batch["betas"]) ** 2).mean(-1)
    return {
        "2d": (l_kp * valid).sum() / nv,
        "joints2d": (l_j * valid).sum() / nv,
        "pose": (l_pose * valid).sum() / nv,
        "betas": (l_betas * valid).sum() / nv,
    }


def smoothness_losses(pred: SmplPrediction, present: torch.Tensor, body_model: BodyModel
                      ) -> dict[str, torch.Tensor]:
    """Squared differences between consecutive present frames of each window (B,T): body-pose rotations and
    canonical joints (the Eq. 1/2 analogues of the paper for the regressor)."""
    b, t = present.shape
    rot = pred.rotmat.reshape(b, t, 24, 3, 3)[:, :, 1:]
    j, _ = _body_joints(body_model, pred.rotmat, pred.betas, canonical=True)
    j = j.reshape(b, t, 24, 3)
    pair = (present[:, 1:] & present[:, :-1]).float()
    npair = pair.sum().clamp_min(1.0)
    d_rot = ((rot[:, 1:] - rot[:, :-1]) ** 2).sum((-1, -2)).mean(-1)
    d_j = ((j[:, 1:] - j[:, :-1]) ** 2).sum(-1).mean(-1)
    return {"smooth_pose": (d_rot * pair).sum() / npair, "smooth_joints": (d_j * pair).sum() / npair}


def total_loss(parts: dict[str, torch.Tensor], opts: TrainOptions) -> torch.Tensor:
    return functools.reduce(operator.add, (opts.weights[k] * v for k, v in parts.items()))


# --------------------------------------------------------------------------- batches


def _stack(samples: Sequence[FrameSample], crops: Sequence[np.ndarray] | None = None,
           pts: Sequence[list[np.ndarray]] | None = None) -> dict[str, torch.Tensor]:
    kp = [p[0] for p in pts] if pts else [s.kp2d for s in samples]
    j2 = [p[1] for p in pts] if pts else [s.j2d for s in samples]
    out = {
        "kp2d": torch.from_numpy(np.stack(kp).astype(np.float32)),
        "j2d": torch.from_numpy(np.stack(j2).astype(np.float32)),
        "rotmat": torch.from_numpy(np.stack([s.rotmat for s in samples]).astype(np.float32)),
        "betas": torch.from_numpy(np.stack([s.betas for s in samples]).astype(np.float32)),
        "valid": torch.ones(len(samples), dtype=torch.bool),
    }
    if crops is not None:
        out["images"] = torch.from_numpy(np.stack([normalise(c) for c in crops]))
    return out


def hmr_batch(samples: Sequence[FrameSample], idx: np.ndarray, rng: np.random.Generator,
              opts: TrainOptions) -> dict[str, torch.Tensor]:
    chosen = [samples[i] for i in idx]
    if not opts.augment:
        return _stack(chosen, [s.crop for s in chosen])
    crops, pts = [], []
    for s in chosen:
        c, p = augment_crop(s.crop, [s.kp2d, s.j2d], rng, opts.truncation_prob)
        crops.append(c)
        pts.append(p)
    return _stack(chosen, crops, pts)


def sequence_index(samples: Sequence[FrameSample]) -> dict[int, dict[int, int]]:
    """seq id → {timestamp: sample index}."""
    seqs: dict[int, dict[int, int]] = {}
    for i, s in enumerate(samples):
        seqs.setdefault(s.seq, {})[s.time] = i
    return seqs


def window_batch(samples: Sequence[FrameSample], feats: torch.Tensor, seqs: dict[int, dict[int, int]],
                 batch_size: int, window: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor,
                                                                                   dict[str, torch.Tensor]]:
    """Random windows of ``window`` consecutive timestamps (absent ones padded with zeros and masked)."""
    keys = list(seqs)
    rows = np.full((batch_size, window), -1, dtype=np.int64)
    for b in range(batch_size):
        seq = seqs[keys[rng.integers(len(keys))]]
        times = np.array(sorted(seq))
        centre = times[rng.integers(len(times))]
        start = centre - rng.integers(window)
        for k in range(window):
            rows[b, k] = seq.get(int(start + k), -1)
    present = rows >= 0
    flat = rows.reshape(-1)
    safe = np.where(flat >= 0, flat, 0)
    x = feats[torch.from_numpy(safe)].reshape(batch_size, window, -1) * torch.from_numpy(present)[..., None]
    batch = _stack([samples[i] for i in safe])
    batch["valid"] = torch.from_numpy(present.reshape(-1))
    return x, torch.from_numpy(~present), batch


# --------------------------------------------------------------------------- loops


def _save_state(path: Path, model: HMR | THMMR, optim: torch.optim.Optimizer, step: int) -> None:
    import io

    from msmesh.atomic import atomic_write_bytes

    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "step": step,
                "config": model.config.to_json()}, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load_state(path: Path, model: HMR | THMMR, optim: torch.optim.Optimizer) -> int:
    state = torch.load(path, map_location="cpu", weights_only=True)
    saved = RegressorConfig.from_dict(json.loads(state["config"]))
    if saved != model.config:
        raise InputError(f"{path}: checkpoint was made with a different configuration; use another --out")
    model.load_state_dict(state["model"])
    optim.load_state_dict(state["optim"])
    return int(state["step"])


def optimiser_step(optim: torch.optim.Optimizer, loss: torch.Tensor, params: list[torch.nn.Parameter],
                   max_norm: float) -> float:
    """One step on ``loss`` with the gradient norm clipped to ``max_norm``; returns the loss value."""
    optim.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    optim.step()
    return float(loss.detach())


def _run_loop(model: HMR | THMMR, params: list[torch.nn.Parameter], make_loss: Callable[[int], tuple[
        torch.Tensor, dict[str, torch.Tensor]]], out_dir: Path | None, opts: TrainOptions, resume: bool,
        device: torch.device, on_step: StepCallback | None) -> list[float]:
    optim = torch.optim.Adam(params, lr=opts.lr, weight_decay=opts.weight_decay)
    start = 0
    state_path = out_dir / STATE_FILE if out_dir is not None else None
    if resume and state_path is not None and state_path.exists():
        start = _load_state(state_path, model, optim)
    model.to(device)
    history: list[float] = []
    for step in range(start, opts.steps):
        model.train()
        loss, parts = make_loss(step)
        history.append(optimiser_step(optim, loss, params, 10.0))
        if on_step is not None:
            on_step(step + 1, opts.steps, {"loss": history[-1], **{k: float(v.detach()) for k, v in parts.items()}})
        if state_path is not None and (step + 1) % opts.checkpoint_every == 0:
            _save_state(state_path, model, optim, step + 1)
    if out_dir is not None and state_path is not None:
        _save_state(state_path, model, optim, opts.steps)
        hub.save_regressor(model.cpu().eval(), out_dir)
    return history


def train_hmr(samples: Sequence[FrameSample], config: RegressorConfig, body_model: BodyModel,
              opts: TrainOptions | None = None, out_dir: str | os.PathLike[str] | None = None,
              init: torch.nn.Module | None = None, resume: bool = False, device: torch.device | str = "cpu",
              on_step: StepCallback | None = None) -> tuple[HMR, list[float]]:
    """Train HMR on per-frame samples; returns the model and the loss per step."""
    opts = opts or TrainOptions()
    device = torch.device(device)
    torch.manual_seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    model = HMR(config)
    if init is not None:
        model.load_state_dict(init.state_dict(), strict=False)
    model.to(device)
    body_model = body_model.to(device)

    def make_loss(step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        idx = rng.choice(len(samples), size=min(opts.batch_size, len(samples)), replace=False)
        batch = {k: v.to(device) for k, v in hmr_batch(samples, idx, rng, opts).items()}
        parts = frame_losses(model(batch["images"]), batch, body_model, config, opts)
        return total_loss(parts, opts), parts

    out = Path(out_dir) if out_dir is not None else None
    history = _run_loop(model, list(model.parameters()), make_loss, out, opts, resume, device, on_step)
    return model.eval(), history


@torch.no_grad()
def precompute_features(model: HMR | THMMR, samples: Sequence[FrameSample], device: torch.device,
                        batch_size: int = 64) -> torch.Tensor:
    """Frozen per-frame features (N, D) of the samples' (un-augmented) crops."""
    model.eval()
    out = []
    for s in range(0, len(samples), batch_size):
        x = torch.from_numpy(np.stack([normalise(c.crop) for c in samples[s:s + batch_size]])).to(device)
        out.append(model.features(x).float().cpu())
    return torch.cat(out)


def train_thmmr(samples: Sequence[FrameSample], config: RegressorConfig, body_model: BodyModel,
                hmr: HMR, opts: TrainOptions | None = None, out_dir: str | os.PathLike[str] | None = None,
                resume: bool = False, device: torch.device | str = "cpu", on_step: StepCallback | None = None,
                features: torch.Tensor | None = None) -> tuple[THMMR, list[float]]:
    """Train t-HMMR (encoder + head) on frozen features of ``hmr``; the head starts from HMR's."""
    opts = opts or TrainOptions()
    device = torch.device(device)
    torch.manual_seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    if config.feat_dim != hmr.config.feat_dim:
        raise InputError("t-HMMR and HMR feature sizes differ")
    model = THMMR(config)
    assert model.backbone is not None  # built with_backbone
    model.backbone.load_state_dict(hmr.backbone.state_dict())
    model.smpl_head.load_state_dict(hmr.smpl_head.state_dict())
    model.to(device)
    hmr.to(device)
    body_model = body_model.to(device)
    feats = features if features is not None else precompute_features(hmr, samples, device)
    seqs = sequence_index(samples)
    params = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]

    def make_loss(step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, mask, batch = window_batch(samples, feats, seqs, opts.batch_size, config.window, rng)
        batch = {k: v.to(device) for k, v in batch.items()}
        pred = model(x.to(device), mask.to(device))
        parts = frame_losses(pred, batch, body_model, config, opts)
        parts.update(smoothness_losses(pred, ~mask.to(device), body_model))
        return total_loss(parts, opts), parts

    out = Path(out_dir) if out_dir is not None else None
    history = _run_loop(model, params, make_loss, out, opts, resume, device, on_step)
    return model.eval(), history
