"""HMR: a person crop → ResNet features → iterative SMPL regressor (the per-frame feed-forward path).

``HMR`` = ``backbone`` (ResNet-50 by default, see resnet.py) + ``smpl_head`` (``RegressorHead``): an MLP on
[feature, current 6D pose of 24 joints (144), betas (10), weak-perspective camera (3)] that predicts
residual updates, 3 iterations, starting from the mean parameters stored in the buffers ``init_body_pose``,
``init_betas``, ``init_cam``. Module and buffer names match the multi-shot authors' released models, so
their ``hmr_ava.pt`` loads (see hub.py for the key mapping). t-HMMR (thmmr.py) reuses the same head.

The camera is weak-perspective in the crop: [s, tx, ty]; as a perspective camera with the crop focal
``f`` (5000 px for a crop of ``image_size`` px) it is the translation (tx, ty, 2f/(image_size·s)).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from msmesh.regress.resnet import ResNet, ResNetConfig
from msmesh.rotations import rot6d_to_rotmat

NUM_JOINTS = 24
NPOSE = 6 * NUM_JOINTS  # 144
NUM_BETAS = 10
KINDS = ("hmr", "thmmr")
INPUTS = ("image", "keypoints")
ENCODERS = ("transformer", "conv", "gru")


@dataclass
class RegressorConfig:
    """Everything needed to rebuild a regressor; saved as ``config.json`` beside the weights.

    The defaults are the authors' released architecture (ResNet-50, 2048-d features, head width 1024,
    3 iterations, 13-frame window, one transformer layer with one head and feed-forward 1024). Their models
    were trained on 256-px crops; msmesh's own default crop is 224 px (``image_size``).
    """

    kind: str = "hmr"  # hmr | thmmr
    input: str = "image"  # image (ResNet on crops) | keypoints (MLP on keypoint/landmark features, keypoints.py)
    kp_dim: int = 256  # keypoints input: width of the per-frame feature φ
    kp_hidden: int = 512  # keypoints input: hidden width of the feature MLP
    layers: tuple[int, int, int, int] = (3, 4, 6, 3)
    width: int = 64
    image_size: int = 224
    focal: float = 5000.0  # the crop camera's focal length (pixels of an image_size crop)
    pool: str = "max"  # max | mean: spatial pooling of the layer-4 feature map
    hidden: int = 1024
    n_iter: int = 3
    dropout: float = 0.5
    encoder: str = "transformer"  # t-HMMR temporal encoder: transformer | conv | gru
    window: int = 13
    ff_dim: int = 1024
    nhead: int = 1
    residual_scale: float = 0.1  # t-HMMR: Φ = φ + residual_scale·Δφ (the authors' 0.1; keypoint models 1.0)
    pre_norm: bool = False  # transformer: pre-norm layer, Δφ = its residual branches, zero at the start
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layers = tuple(int(v) for v in self.layers)  # type: ignore[assignment]
        if self.kind not in KINDS:
            raise ValueError(f"unknown regressor kind {self.kind!r} (expected one of {KINDS})")
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown temporal encoder {self.encoder!r} (expected one of {ENCODERS})")
        if self.input not in INPUTS:
            raise ValueError(f"unknown regressor input {self.input!r} (expected one of {INPUTS})")
        if self.pool not in ("max", "mean"):
            raise ValueError(f"unknown pooling {self.pool!r} (expected max or mean)")

    @property
    def backbone(self) -> ResNetConfig:
        return ResNetConfig(layers=self.layers, width=self.width)

    @property
    def feat_dim(self) -> int:
        return self.kp_dim if self.input == "keypoints" else self.backbone.out_channels

    def to_json(self) -> str:
        d = asdict(self)
        d["layers"] = list(self.layers)
        return json.dumps({"format": "msmesh/regressor@1", **d}, indent=1)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> RegressorConfig:
        known = {k: v for k, v in d.items() if k in RegressorConfig.__dataclass_fields__}
        return RegressorConfig(**known)


def mean_params() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """msmesh's initial parameters: rest pose facing the camera (π about x), zero betas, cam [0.9, 0, 0].

    (The authors initialise from SPIN's ``smpl_mean_params.npz``; their values arrive with their weights,
    since the buffers are part of the state dict.)
    """
    pose = torch.zeros(NUM_JOINTS, 3, 3)
    pose[:] = torch.eye(3)
    pose[0] = torch.diag(torch.tensor([1.0, -1.0, -1.0]))
    pose6d = pose[:, :, :2].reshape(1, NPOSE)
    return pose6d, torch.zeros(1, NUM_BETAS), torch.tensor([[0.9, 0.0, 0.0]])


@dataclass
class SmplPrediction:
    """Regressor output for N crops: rotations (6D and matrices; joint 0 = global orient), betas, camera."""

    pose6d: torch.Tensor  # (N,144)
    rotmat: torch.Tensor  # (N,24,3,3)
    betas: torch.Tensor  # (N,10)
    cam: torch.Tensor  # (N,3) weak perspective [s, tx, ty] in the crop


class RegressorHead(nn.Module):
    """Iterative error feedback: 3 × (MLP([φ, Θ, β, Π]) → ΔΘ, Δβ, ΔΠ), from the mean parameters."""

    init_body_pose: torch.Tensor  # buffers (register_buffer)
    init_betas: torch.Tensor
    init_cam: torch.Tensor

    def __init__(self, feat_dim: int, hidden: int = 1024, n_iter: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.n_iter = n_iter
        self.fc1 = nn.Linear(feat_dim + NPOSE + NUM_BETAS + 3, hidden)
        self.drop1 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, hidden)
        self.drop2 = nn.Dropout(dropout)
        self.decpose = nn.Linear(hidden, NPOSE)
        self.decshape = nn.Linear(hidden, NUM_BETAS)
        self.deccam = nn.Linear(hidden, 3)
        for lin in (self.decpose, self.decshape, self.deccam):
            nn.init.xavier_uniform_(lin.weight, gain=0.01)
        pose6d, betas, cam = mean_params()
        self.register_buffer("init_body_pose", pose6d)
        self.register_buffer("init_betas", betas)
        self.register_buffer("init_cam", cam)

    def forward(self, feat: torch.Tensor) -> SmplPrediction:
        n = feat.shape[0]
        pose = self.init_body_pose.expand(n, -1).to(feat.dtype)
        betas = self.init_betas.expand(n, -1).to(feat.dtype)
        cam = self.init_cam.expand(n, -1).to(feat.dtype)
        for _ in range(self.n_iter):
            x = torch.cat([feat, pose, betas, cam], dim=1)
            x = self.drop1(F.relu(self.fc1(x)))
            x = self.drop2(F.relu(self.fc2(x)))
            pose = pose + self.decpose(x)
            betas = betas + self.decshape(x)
            cam = cam + self.deccam(x)
        rotmat = rot6d_to_rotmat(pose.float().reshape(n, NUM_JOINTS, 6))
        return SmplPrediction(pose6d=pose, rotmat=rotmat, betas=betas, cam=cam)


def pool_features(fmap: torch.Tensor, pool: str = "max") -> torch.Tensor:
    """(B,C,h,w) layer-4 map → (B,C) feature φ."""
    if pool == "max":
        return fmap.amax(dim=(2, 3))
    return fmap.mean(dim=(2, 3))


def make_backbone(config: RegressorConfig) -> nn.Module:
    """The per-frame encoder of a config: ResNet on crops, or the keypoint-feature MLP."""
    if config.input == "keypoints":
        from msmesh.regress.keypoints import KeypointEncoder

        return KeypointEncoder(config.kp_dim, config.kp_hidden)
    return ResNet(config.backbone)


def backbone_features(backbone: nn.Module, x: torch.Tensor, config: RegressorConfig) -> torch.Tensor:
    """φ (B, feat_dim) from the encoder's input (crops or keypoint feature vectors)."""
    if config.input == "keypoints":
        return backbone(x)
    return pool_features(backbone(x), config.pool)


class HMR(nn.Module):
    """Per-frame regressor: crop (B,3,S,S) ImageNet-normalised → SmplPrediction."""

    def __init__(self, config: RegressorConfig | None = None) -> None:
        super().__init__()
        self.config = config or RegressorConfig(kind="hmr")
        self.backbone = make_backbone(self.config)
        self.smpl_head = RegressorHead(self.config.feat_dim, self.config.hidden, self.config.n_iter,
                                       self.config.dropout)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The per-frame feature φ (B, feat_dim) that t-HMMR consumes (frozen); ``images`` are the keypoint
        feature vectors (B, keypoints.FEATURE_DIM) for a keypoints model."""
        return backbone_features(self.backbone, images, self.config)

    def forward(self, images: torch.Tensor) -> SmplPrediction:
        return self.smpl_head(self.features(images))


def weak_perspective_to_translation(cam: torch.Tensor, focal: float = 5000.0, image_size: int = 224) -> torch.Tensor:
    """[s, tx, ty] → the crop camera's translation (tx, ty, 2f/(image_size·s))."""
    s = cam[..., 0]
    tz = 2.0 * focal / (image_size * s + 1e-9)
    return torch.stack([cam[..., 1], cam[..., 2], tz], dim=-1)


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (for reports)."""
    return sum(math.prod(p.shape) for p in module.parameters())
