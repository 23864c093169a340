"""A Table-3-style experiment on generated data: per-frame HMR vs conv vs GRU vs t-HMMR on frozen features.

Paper Table 3 compares temporal encoders on AVA, where a person's frames are interrupted by B-roll and cuts.
Here the same comparison runs on synthetic sequences, with every method seeing identical frozen features:

- **Motion**: smooth SMPL body poses (sums of slow sinusoids per joint angle), the person facing the camera
  with a slowly drifting yaw; at a *cut* the yaw jumps (a new camera angle), the body motion continues.
  Each sequence has B-roll *gaps* (2–8 timestamps where the person is absent).
- **Observation** (stands in for an image): the skeleton's COCO-17 keypoints (``skeleton.Skeleton``),
  root-centred, with noise, random keypoint dropout, and on some frames truncation (half the body missing).
- **Stage 1 (HMR)**: an MLP "image encoder" on the keypoints → 64-d feature φ → the HMR regressor head,
  trained per frame. φ is then frozen.
- **Stage 2**: the transformer (t-HMMR), the conv and the GRU encoders of temporal.py, each + a copy of the
  stage-1 head, trained the same number of steps on 13-timestamp windows (absent frames masked / zero-padded
  / concatenated, as each architecture allows).
- **Metric**: root-relative MPJPE (mm) of the 24 joints at present frames, overall, near a gap (an absent
  timestamp within ±2), and on truncated frames.

Nothing here is tuned toward a result; the seeds and sizes are fixed below. ``run_table3`` returns the dict.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from msmesh.regress.hmr import RegressorHead
from msmesh.regress.predict import temporal_windows
from msmesh.regress.skeleton import Skeleton
from msmesh.regress.temporal import make_encoder
from msmesh.rotations import axis_angle_to_rotmat

METHODS = ("hmr", "conv", "gru", "transformer")


@dataclass
class Table3Config:
    """Sizes of the experiment (defaults: the bench; tests shrink them)."""

    train_sequences: int = 200
    test_sequences: int = 60
    length: int = 64
    feat_dim: int = 64
    hidden: int = 256
    window: int = 13
    stage1_steps: int = 1000
    stage2_steps: int = 1000
    frame_batch: int = 128
    window_batch: int = 16
    lr: float = 1e-3
    noise: float = 0.02
    keypoint_dropout: float = 0.1
    truncation_prob: float = 0.25
    seed: int = 0


@dataclass
class Sequences:
    obs: np.ndarray  # (S,L,17,3) observed keypoints x,y,conf
    rotmat: np.ndarray  # (S,L,24,3,3) ground truth
    joints: np.ndarray  # (S,L,24,3) root-relative ground-truth joints
    present: np.ndarray  # (S,L) bool
    truncated: np.ndarray  # (S,L) bool


def _rot_y(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    r = np.zeros((*angle.shape, 3, 3))
    r[..., 0, 0], r[..., 0, 2], r[..., 1, 1], r[..., 2, 0], r[..., 2, 2] = c, s, 1, -s, c
    return r


def generate_sequences(n: int, cfg: Table3Config, rng: np.random.Generator, skeleton: Skeleton) -> Sequences:
    """Smooth motion with cuts and gaps, and its noisy/truncated keypoint observations."""
    length = cfg.length
    t = np.arange(length)
    amp = rng.uniform(0.0, 0.35, (n, 1, 69))
    freq = rng.uniform(0.02, 0.12, (n, 1, 69))
    phase = rng.uniform(0, 2 * math.pi, (n, 1, 69))
    body = (amp * np.sin(2 * math.pi * freq * t[None, :, None] + phase)).astype(np.float32)
    yaw = rng.uniform(-0.6, 0.6, (n, 1)) + np.cumsum(rng.normal(0, 0.03, (n, length)), axis=1)
    present = np.ones((n, length), dtype=bool)
    for i in range(n):
        for _ in range(rng.integers(1, 4)):  # B-roll gaps
            g, start = rng.integers(2, 9), rng.integers(0, length - 8)
            present[i, start:start + g] = False
        for _ in range(rng.integers(1, 3)):  # cuts: a new camera angle
            yaw[i, rng.integers(4, length - 4):] += rng.uniform(-1.2, 1.2)
    go = np.einsum("ij,nljk->nlik", np.diag([1.0, -1.0, -1.0]), _rot_y(yaw))  # π about x, then yaw
    body_rot = axis_angle_to_rotmat(torch.from_numpy(body.reshape(n, length, 23, 3))).numpy()
    rot = np.concatenate([go[:, :, None], body_rot], axis=2).astype(np.float32)
    flat = torch.from_numpy(rot.reshape(n * length, 24, 3, 3))
    j24_t, c17_t = skeleton.joints_from_rotmat(flat, torch.zeros(n * length, 10), torch.zeros(n * length, 3))
    j24 = (j24_t - j24_t[:, :1]).numpy().reshape(n, length, 24, 3)
    c17 = c17_t.numpy().reshape(n, length, 17, 3)
    root = j24[:, :, :1, :2] * 0  # already root-relative (pelvis at the origin)
    xy = c17[..., :2] - root + rng.normal(0, cfg.noise, c17[..., :2].shape)
    conf = (rng.random((n, length, 17)) > cfg.keypoint_dropout).astype(np.float32)
    truncated = rng.random((n, length)) < cfg.truncation_prob
    upper = np.arange(17) < 11  # COCO: face, arms | hips, legs
    for i, j in zip(*np.nonzero(truncated), strict=True):
        conf[i, j, upper if rng.random() < 0.5 else ~upper] = 0.0
    obs = np.concatenate([xy * conf[..., None], conf[..., None]], axis=-1).astype(np.float32)
    return Sequences(obs=obs, rotmat=rot, joints=j24.astype(np.float32), present=present, truncated=truncated)


class KeypointEncoder(nn.Module):
    """The stand-in image encoder: COCO-17 keypoints with confidences → feature φ."""

    def __init__(self, feat_dim: int = 64, hidden: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(17 * 3, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, feat_dim))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs.reshape(*obs.shape[:-2], 51))


def _losses(rotmat: torch.Tensor, betas: torch.Tensor, gt_rot: torch.Tensor, gt_joints: torch.Tensor,
            skeleton: Skeleton, weight: torch.Tensor) -> torch.Tensor:
    n = rotmat.shape[0]
    j, _ = skeleton.joints_from_rotmat(rotmat, torch.zeros(n, 10), torch.zeros(n, 3))
    j = j - j[:, :1]
    per = ((rotmat - gt_rot) ** 2).sum((-1, -2)).mean(-1) + 10.0 * ((j - gt_joints) ** 2).sum(-1).mean(-1)
    return (per * weight).sum() / weight.sum().clamp_min(1.0)


def _mpjpe_mm(rotmat: torch.Tensor, gt_joints: torch.Tensor, skeleton: Skeleton) -> np.ndarray:
    n = rotmat.shape[0]
    j, _ = skeleton.joints_from_rotmat(rotmat, torch.zeros(n, 10), torch.zeros(n, 3))
    return ((j - j[:, :1] - gt_joints).norm(dim=-1).mean(-1) * 1000).numpy()


def _windows(seq: Sequences, idx: np.ndarray, centres: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    half = window // 2
    times = centres[:, None] - half + np.arange(window)[None]
    inside = (times >= 0) & (times < seq.present.shape[1])
    tc = np.clip(times, 0, seq.present.shape[1] - 1)
    present = inside & seq.present[idx[:, None], tc]
    return tc, present


def run_table3(cfg: Table3Config | None = None) -> dict:
    """Train every method on the same generated data and frozen features; return metrics per method.

    Runs single-threaded: the networks are tiny, and on a shared CPU extra intra-op threads only spin.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_table3(cfg or Table3Config())
    finally:
        torch.set_num_threads(threads)


def _run_table3(cfg: Table3Config) -> dict:
    t0 = time.time()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    sk = Skeleton()
    train = generate_sequences(cfg.train_sequences, cfg, rng, sk)
    test = generate_sequences(cfg.test_sequences, cfg, np.random.default_rng(cfg.seed + 1), sk)

    # stage 1: per-frame encoder + head (HMR)
    encoder = KeypointEncoder(cfg.feat_dim, cfg.hidden)
    head = RegressorHead(cfg.feat_dim, cfg.hidden, 3, dropout=0.0)
    opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=cfg.lr)
    si, ti = np.nonzero(train.present)
    for _ in range(cfg.stage1_steps):
        k = rng.integers(0, len(si), cfg.frame_batch)
        obs = torch.from_numpy(train.obs[si[k], ti[k]])
        pred = head(encoder(obs))
        loss = _losses(pred.rotmat, pred.betas, torch.from_numpy(train.rotmat[si[k], ti[k]]),
                       torch.from_numpy(train.joints[si[k], ti[k]]), sk, torch.ones(len(k)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    encoder.requires_grad_(False)
    with torch.no_grad():
        feats_train = encoder(torch.from_numpy(train.obs))  # (S,L,D) frozen
        feats_test = encoder(torch.from_numpy(test.obs))
    head_state = {k: v.clone() for k, v in head.state_dict().items()}

    # evaluation frames: every present test frame
    es, et = np.nonzero(test.present)
    near_gap = np.zeros(len(es), dtype=bool)
    for n, (s, t) in enumerate(zip(es, et, strict=True)):
        lo, hi = max(0, t - 2), min(cfg.length, t + 3)
        near_gap[n] = not test.present[s, lo:hi].all()
    trunc = test.truncated[es, et]
    gt_j = torch.from_numpy(test.joints[es, et])

    def summarise(err: np.ndarray, train_s: float) -> dict:
        return {"mpjpe_mm": float(err.mean()), "mpjpe_near_gap_mm": float(err[near_gap].mean()),
                "mpjpe_truncated_mm": float(err[trunc].mean()), "train_seconds": round(train_s, 1)}

    results: dict[str, dict] = {}
    rest = torch.eye(3).expand(len(es), 24, 3, 3).clone()  # rest pose, facing the camera
    rest[:, 0] = torch.diag(torch.tensor([1.0, -1.0, -1.0]))
    rest_err = _mpjpe_mm(rest, gt_j, sk)
    with torch.no_grad():
        pred = head(feats_test[es, et])
    results["hmr"] = summarise(_mpjpe_mm(pred.rotmat, gt_j, sk), 0.0)

    # stage 2: temporal encoders on frozen features, same head init, same steps and batches
    ps, pt = np.nonzero(train.present)
    for kind in ("conv", "gru", "transformer"):
        torch.manual_seed(cfg.seed + 10)
        r2 = np.random.default_rng(cfg.seed + 10)
        enc = make_encoder(kind, cfg.feat_dim, cfg.hidden, cfg.window, 1)
        h2 = RegressorHead(cfg.feat_dim, cfg.hidden, 3, dropout=0.0)
        h2.load_state_dict(head_state)
        opt = torch.optim.Adam([*enc.parameters(), *h2.parameters()], lr=cfg.lr)
        start = time.time()
        for _ in range(cfg.stage2_steps):
            k = r2.integers(0, len(ps), cfg.window_batch)
            idx, centres = ps[k], pt[k] + r2.integers(-(cfg.window // 2), cfg.window // 2 + 1, len(k))
            tc, present = _windows(train, idx, np.clip(centres, 0, cfg.length - 1), cfg.window)
            x = feats_train[idx[:, None], tc] * torch.from_numpy(present)[..., None]
            out = h2(enc(x, torch.from_numpy(~present)).reshape(-1, cfg.feat_dim))
            gi, gt = np.repeat(idx, cfg.window), tc.reshape(-1)
            loss = _losses(out.rotmat, out.betas, torch.from_numpy(train.rotmat[gi, gt]),
                           torch.from_numpy(train.joints[gi, gt]), sk, torch.from_numpy(present.reshape(-1)).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
        enc.eval()
        errs = np.zeros(len(es))
        with torch.no_grad():
            for s in np.unique(es):
                sel = np.nonzero(es == s)[0]
                times = et[sel]
                rows, mask = temporal_windows(times, cfg.window)
                f = torch.cat([feats_test[s, times], torch.zeros(1, cfg.feat_dim)])[torch.from_numpy(rows)]
                o = h2(enc(f, torch.from_numpy(mask)).reshape(-1, cfg.feat_dim))
                centre = torch.arange(len(times)) * cfg.window + cfg.window // 2
                errs[sel] = _mpjpe_mm(o.rotmat[centre], gt_j[sel], sk)
        results[kind] = summarise(errs, time.time() - start)

    return {"config": asdict(cfg), "rest_pose_facing_camera_mpjpe_mm": float(rest_err.mean()),
            "frames_evaluated": int(len(es)), "frames_near_gap": int(near_gap.sum()),
            "frames_truncated": int(trunc.sum()), "methods": results, "seconds": round(time.time() - t0, 1)}
