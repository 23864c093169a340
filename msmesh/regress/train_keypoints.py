"""Training msmesh's keypoint-input HMR and t-HMMR (and the conv / GRU baselines) on generated sequences.

Stage 1 (HMR): the keypoint encoder + IEF head per frame, on present person-frames with modality dropout.
Stage 2 (temporal): a temporal encoder (transformer = t-HMMR, or the conv / GRU baselines of Table 3) + a
copy of HMR's head train on windows of 13 consecutive timestamps of a sequence (they span its cuts; absent
timestamps — B-roll gaps, past the ends — are masked), on HMR's per-frame features: frozen and precomputed
(``backbone_lr`` 0), or HMR's keypoint encoder fine-tuned with them at ``backbone_lr`` (the shipped t-HMMR:
its windows then carry features made for the temporal model, not only for HMR's head).
The encoder outputs φ + Δφ, so at the start t-HMMR *is* HMR and learns a residual on the per-frame estimate.

Losses per present frame: rotation matrices (squared error), root-relative 3D joints (L1, metres), the 24
joints projected with the predicted weak-perspective camera against the truth in crop units (L1, also for
joints outside the image — that is how truncated frames learn their legs), the camera [log s, tx, ty] (L1)
and betas (squared error). Data come from :mod:`msmesh.regress.synth` or, for fine-tuning, from run folders
(:func:`run_folder_set`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from msmesh.regress.crop import project_crop
from msmesh.regress.hmr import HMR, RegressorConfig, SmplPrediction
from msmesh.regress.keypoints import drop_modalities
from msmesh.regress.synth import SynthSet
from msmesh.regress.thmmr import THMMR
from msmesh.regress.train import optimiser_step
from msmesh.rotations import rotmat_to_axis_angle

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

Log = Callable[[str], None]


@dataclass
class KeypointTrainOptions:
    """Optimisation settings (the shipped weights' values are recorded in their config's ``extra``)."""

    steps: int = 4000
    batch_size: int = 256  # frames (HMR) or windows × 13 / 8 (temporal: batch_size // 8 windows)
    lr: float = 1e-3
    weight_decay: float = 1e-5
    weights: dict[str, float] = field(default_factory=lambda: {  # loss term (see losses()) → weight
        "pose": 1.0, "joints": 5.0, "j2d": 1.0, "cam": 0.5, "betas": 0.1})
    p_drop_landmarks: float = 0.5
    p_drop_world: float = 0.5
    backbone_lr: float = 0.0  # temporal stage: HMR's per-frame encoder frozen (0) or fine-tuned at this rate
    seed: int = 0


def keypoint_config(kind: str = "hmr", encoder: str = "transformer", **kw: object) -> RegressorConfig:
    """The shipped keypoint models' architecture (small: ~1.5 M parameters for t-HMMR)."""
    base: dict[str, object] = dict(kind=kind, input="keypoints", kp_dim=256, kp_hidden=512, hidden=512,
                                   dropout=0.1, encoder=encoder, window=13, ff_dim=512, nhead=4,
                                   residual_scale=1.0, pre_norm=kind == "thmmr" and encoder == "transformer")
    # pre_norm, measured on validation seed 1 (truncated frames, COCO-17 / + landmarks): post-norm t-HMMR
    # 137.0 / 97.9 mm (HMR 135.0 / 103.2), pre-norm 130.4 / 94.6 on the benchmark; 141.3 / 103.9 → 136.5 / 100.1
    # on bench/regress_synthetic.py's second set
    base.update(kw)
    return RegressorConfig(**base)  # type: ignore[arg-type]


def losses(pred: SmplPrediction, batch: dict[str, torch.Tensor], body_model: BodyModel,
           config: RegressorConfig) -> dict[str, torch.Tensor]:
    """Loss terms averaged over ``batch['valid']`` frames (see the module docstring)."""
    valid = batch["valid"].float()
    nv = valid.sum().clamp_min(1.0)
    n = pred.rotmat.shape[0]
    aa = rotmat_to_axis_angle(pred.rotmat.float())
    j24, _ = body_model.joints_only(aa[:, 0], aa[:, 1:].reshape(n, 69), pred.betas.float(),
                                    torch.zeros_like(aa[:, 0]))
    rel = j24 - j24[:, :1]
    l_pose = ((pred.rotmat - batch["rotmat"]) ** 2).sum((-1, -2)).mean(-1)
    l_joints = (rel - batch["joints"]).norm(dim=-1).mean(-1)
    proj = project_crop(j24, pred.cam.float(), config.focal, config.image_size)
    w2d = (batch["j2d"].abs() < 3.0).all(-1).float()
    l_j2d = ((proj - batch["j2d"]).abs().sum(-1) * w2d).mean(-1)
    cam, cam_gt = pred.cam.float(), batch["cam"]
    l_cam = ((cam[:, 0].clamp_min(1e-3).log() - cam_gt[:, 0].clamp_min(1e-3).log()).abs()
             + (cam[:, 1:] - cam_gt[:, 1:]).abs().sum(-1))
    l_betas = ((pred.betas.float() - batch["betas"]) ** 2).mean(-1)
    terms = {"pose": l_pose, "joints": l_joints, "j2d": l_j2d, "cam": l_cam, "betas": l_betas}
    return {k: (v * valid).sum() / nv for k, v in terms.items()}


def _total(parts: dict[str, torch.Tensor], o: KeypointTrainOptions) -> torch.Tensor:
    return sum(o.weights[k] * v for k, v in parts.items())  # type: ignore[return-value]


def _frame_batch(data: SynthSet, flat_idx: np.ndarray, feats: np.ndarray) -> dict[str, torch.Tensor]:
    s, t = np.divmod(flat_idx, data.present.shape[1])
    return {
        "x": torch.from_numpy(feats),
        "rotmat": torch.from_numpy(data.rotmat[s, t]),
        "joints": torch.from_numpy(data.joints[s, t]),
        "j2d": torch.from_numpy(data.j2d[s, t]),
        "cam": torch.from_numpy(data.cam[s, t]),
        "betas": torch.from_numpy(data.betas[s]),
        "valid": torch.from_numpy(data.present[s, t]),
    }


def _schedule(optim: torch.optim.Optimizer, lr: float, step: int, steps: int) -> None:
    warm = min(1.0, (step + 1) / 100)
    for g in optim.param_groups:
        g["lr"] = lr * g.get("lr_scale", 1.0) * warm * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1)))


def _loop(model: torch.nn.Module, groups: list[dict], step_fn: Callable[[int], tuple[
        torch.Tensor, dict[str, torch.Tensor]]], o: KeypointTrainOptions, log: Log | None, name: str) -> list[float]:
    optim = torch.optim.AdamW(groups, lr=o.lr, weight_decay=o.weight_decay)
    params = [p for g in groups for p in g["params"]]
    history: list[float] = []
    t0 = time.perf_counter()
    for step in range(o.steps):
        model.train()
        _schedule(optim, o.lr, step, o.steps)
        loss, parts = step_fn(step)
        history.append(optimiser_step(optim, loss, params, 5.0))
        if log is not None and (step + 1) % max(1, o.steps // 10) == 0:
            msg = " ".join(f"{k} {float(v.detach()):.4f}" for k, v in parts.items())
            log(f"{name} step {step + 1}/{o.steps} loss {np.mean(history[-50:]):.4f} ({msg}) "
                f"{time.perf_counter() - t0:.0f} s")
    return history


def train_hmr(data: SynthSet, body_model: BodyModel, config: RegressorConfig | None = None,
              opts: KeypointTrainOptions | None = None, init: HMR | None = None,
              log: Log | None = None) -> tuple[HMR, list[float]]:
    """Train (or fine-tune ``init``) the per-frame keypoint HMR on the present frames of ``data``."""
    o = opts or KeypointTrainOptions()
    config = config or (init.config if init is not None else keypoint_config("hmr"))
    torch.manual_seed(o.seed)
    rng = np.random.default_rng(o.seed)
    model = HMR(config)
    if init is not None:
        model.load_state_dict(init.state_dict())
    frames = np.flatnonzero(data.present.reshape(-1))
    if len(frames) == 0:
        raise ValueError("no present person-frames to train on")
    flat = data.features.reshape(-1, data.features.shape[-1])

    def step_fn(step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        idx = rng.choice(frames, size=min(o.batch_size, len(frames)), replace=False)
        x = drop_modalities(flat[idx].copy(), rng, o.p_drop_landmarks, o.p_drop_world)
        batch = _frame_batch(data, idx, x)
        parts = losses(model(batch["x"]), batch, body_model, config)
        return _total(parts, o), parts

    history = _loop(model, [{"params": list(model.parameters())}], step_fn, o, log, "hmr")
    return model.eval(), history


@torch.no_grad()
def frozen_features(hmr: HMR | THMMR, data: SynthSet, rng: np.random.Generator,
                    opts: KeypointTrainOptions | None = None) -> torch.Tensor:
    """HMR's per-frame features (S,L,D) of every timestamp (modality dropout applied once per frame)."""
    o = opts or KeypointTrainOptions()
    hmr.eval()
    flat = drop_modalities(data.features.reshape(-1, data.features.shape[-1]).copy(), rng, o.p_drop_landmarks,
                           o.p_drop_world)
    out = torch.cat([hmr.features(torch.from_numpy(flat[s:s + 4096])) for s in range(0, len(flat), 4096)])
    return out.reshape(*data.present.shape, -1)


def window_index(lengths: int, window: int, count: int, rng: np.random.Generator,
                 sequences: int) -> tuple[np.ndarray, np.ndarray]:
    """Random windows: (count,) sequence ids and (count, window) timestamps (may hang over the ends)."""
    seq = rng.integers(0, sequences, size=count)
    start = rng.integers(-(window // 2), lengths - window // 2, size=count)
    return seq, start[:, None] + np.arange(window)[None]


def train_temporal(data: SynthSet, body_model: BodyModel, hmr: HMR | None, encoder: str = "transformer",
                   opts: KeypointTrainOptions | None = None, init: THMMR | None = None,
                   log: Log | None = None) -> tuple[THMMR, list[float]]:
    """Train a temporal model (t-HMMR's transformer, or the conv / GRU baseline) on HMR's per-frame features.

    The per-frame encoder is ``hmr``'s; with ``hmr=None`` (fine-tuning ``init``) it is ``init``'s own, the one
    its temporal layers were trained with."""
    o = opts or KeypointTrainOptions()
    if hmr is None and init is None:
        raise ValueError("train_temporal needs hmr (the per-frame encoder) or init (a t-HMMR to fine-tune)")
    torch.manual_seed(o.seed)
    rng = np.random.default_rng(o.seed + 1)
    if init is not None:
        config = init.config
    else:
        assert hmr is not None
        config = keypoint_config("thmmr", encoder=encoder,
                                 **{k: getattr(hmr.config, k) for k in ("kp_dim", "kp_hidden", "hidden")})
    model = THMMR(config)
    if init is not None:
        model.load_state_dict(init.state_dict())
    if hmr is not None:
        if init is None:
            model.smpl_head.load_state_dict(hmr.smpl_head.state_dict())
        model.backbone.load_state_dict(hmr.backbone.state_dict())  # type: ignore[union-attr]  # φ comes from HMR
    tune = o.backbone_lr > 0
    if tune:
        model.backbone.requires_grad_(True)  # type: ignore[union-attr]
    feats = None if tune else frozen_features(model, data, rng, o)
    s_n, length = data.present.shape
    window = config.window
    n_win = max(1, o.batch_size // 8)

    def window_features(seq: np.ndarray, tt: np.ndarray) -> torch.Tensor:
        if feats is not None:
            return feats[torch.from_numpy(seq[:, None]), torch.from_numpy(tt)]
        raw = drop_modalities(data.features[seq[:, None], tt].reshape(-1, data.features.shape[-1]).copy(), rng,
                              o.p_drop_landmarks, o.p_drop_world)
        return model.backbone(torch.from_numpy(raw)).reshape(*tt.shape, -1)  # type: ignore[misc]

    def step_fn(step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        seq, times = window_index(length, window, n_win, rng, s_n)
        inside = (times >= 0) & (times < length)
        tt = np.clip(times, 0, length - 1)
        present = inside & data.present[seq[:, None], tt]
        x = window_features(seq, tt) * torch.from_numpy(present)[..., None]
        flat_idx = (seq[:, None] * length + tt).reshape(-1)
        batch = _frame_batch(data, flat_idx, np.zeros((0,), np.float32))
        batch["valid"] = torch.from_numpy(present.reshape(-1))
        pred = model(x, torch.from_numpy(~present))
        parts = losses(pred, batch, body_model, config)
        return _total(parts, o), parts

    params = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    groups = [{"params": params, "lr_scale": 1.0}]
    if tune:
        groups.append({"params": list(model.backbone.parameters()),  # type: ignore[union-attr]
                       "lr_scale": o.backbone_lr / o.lr})
    history = _loop(model, groups, step_fn, o, log, encoder)
    return model.eval(), history


def run_folder_set(run_dirs: list, smpl_name: str = "smpl.npz") -> SynthSet:  # noqa: ANN001
    """Run folders made by ``msmesh reconstruct`` (``tracks.json`` + the fit's ``smpl.npz``) → a training set
    with the fit as pseudo-ground truth (the paper's self-training loop): one sequence per person, on the
    video's sampled-frame timeline, absent where the person has no fitted frame."""
    from pathlib import Path

    from msmesh.data import load_smpl, load_tracks
    from msmesh.errors import InputError
    from msmesh.fit.camera import project_np
    from msmesh.regress.crop import full_to_crop_camera, image_to_crop_units, square_box
    from msmesh.regress.keypoints import track_features
    from msmesh.regress.predict import timeline
    from msmesh.rotations import axis_angle_to_rotmat

    seqs: list[dict[str, np.ndarray]] = []
    for run in map(Path, run_dirs):
        for name in ("tracks.json", smpl_name):
            if not (run / name).exists():
                raise InputError(f"{run}: {name} missing (train on run folders made by `msmesh reconstruct`)")
        tracks = load_tracks(run / "tracks.json")
        fit = load_smpl(run / smpl_name)
        line = timeline(tracks)
        for person in fit.people:
            try:
                track = tracks.person(person.id)
            except KeyError:
                continue
            row_of = {int(f): i for i, f in enumerate(track.frames.tolist())}
            rows = [(r, row_of[int(f)]) for r, f in enumerate(person.frames.tolist()) if int(f) in row_of]
            if not rows:
                continue
            r_fit = np.array([a for a, _ in rows])
            r_trk = np.array([b for _, b in rows])
            times = np.searchsorted(line, track.frames[r_trk])
            feats = track_features(track)[r_trk]
            centre, side = square_box(track.bbox[r_trk])
            joints = person.joints[r_fit].astype(np.float64)
            aa = np.concatenate([person.global_orient[r_fit], person.body_pose[r_fit]], 1).reshape(-1, 24, 3)
            cam = full_to_crop_camera(torch.as_tensor(person.transl[r_fit], dtype=torch.float64),
                                      torch.as_tensor(centre), torch.as_tensor(side), fit.focal, fit.center)
            seqs.append({
                "times": times - times.min(), "features": feats,
                "rotmat": axis_angle_to_rotmat(torch.as_tensor(aa, dtype=torch.float32)).numpy(),
                "betas": np.asarray(person.betas, np.float32), "joints": joints - joints[:, :1],
                "j2d": image_to_crop_units(project_np(joints, fit.focal, fit.center), centre, side),
                "cam": cam.numpy()})
    if not seqs:
        raise InputError("no training samples: the run folders have no person frames with SMPL")
    length = int(max(s["times"].max() for s in seqs)) + 1
    n = len(seqs)
    out = SynthSet(features=np.zeros((n, length, seqs[0]["features"].shape[1]), np.float32),
                   present=np.zeros((n, length), bool), truncated=np.zeros((n, length), bool),
                   rotmat=np.tile(np.eye(3, dtype=np.float32), (n, length, 24, 1, 1)),
                   betas=np.zeros((n, 10), np.float32), joints=np.zeros((n, length, 24, 3), np.float32),
                   j2d=np.zeros((n, length, 24, 2), np.float32), cam=np.ones((n, length, 3), np.float32),
                   source=[f"run{i}" for i in range(n)])
    for i, s in enumerate(seqs):
        t = s["times"]
        out.present[i, t] = True
        out.betas[i] = s["betas"]
        for key in ("features", "rotmat", "joints", "j2d", "cam"):
            getattr(out, key)[i, t] = s[key]
    return out
