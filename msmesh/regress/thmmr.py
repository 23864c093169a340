"""t-HMMR: frozen per-frame HMR features over a 13-frame window → temporal encoder → the HMR head.

Each window holds consecutive timestamps of one person; frames where the person is absent (gaps, B-roll,
cuts to someone else) are padded and masked. The encoder (temporal.py; a transformer by default, the
conv/GRU baselines of Table 3 otherwise) refines the features, then the same iterative regressor head as
HMR predicts SMPL and the weak-perspective camera per frame.

Modules: ``backbone`` (HMR's ResNet, frozen, or msmesh's keypoint encoder, fine-tuned from HMR's for the
shipped t-HMMR — it carries its own copy; optional: the authors' ``thmmr_ava.pt`` has none and takes it from
``hmr_ava.pt``), ``encoder`` (``encoder.trans``, ``encoder.pos_embedding``), ``smpl_head``.
"""

from __future__ import annotations

import torch
from torch import nn

from msmesh.regress.hmr import HMR, RegressorConfig, RegressorHead, SmplPrediction, backbone_features, make_backbone
from msmesh.regress.temporal import make_encoder


class THMMR(nn.Module):
    """Temporal regressor on feature windows: (B,T,D) features + (B,T) absent mask → B·T predictions."""

    def __init__(self, config: RegressorConfig | None = None, with_backbone: bool = True) -> None:
        super().__init__()
        self.config = config or RegressorConfig(kind="thmmr")
        cfg = self.config
        self.backbone: nn.Module | None = make_backbone(cfg) if with_backbone else None
        if self.backbone is not None:
            self.backbone.requires_grad_(False)
        self.encoder = make_encoder(cfg.encoder, cfg.feat_dim, cfg.ff_dim, cfg.window, cfg.nhead, cfg.residual_scale,
                                    cfg.pre_norm)
        self.smpl_head = RegressorHead(cfg.feat_dim, cfg.hidden, cfg.n_iter, cfg.dropout)

    def train(self, mode: bool = True) -> THMMR:
        super().train(mode)
        if self.backbone is not None:  # the image encoder stays frozen, BatchNorm statistics included
            self.backbone.eval()
        return self

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Per-frame HMR features φ (N, D) of crops (N,3,S,S)."""
        if self.backbone is None:
            raise RuntimeError("this t-HMMR has no image backbone; load HMR weights for it (see hub.py)")
        return backbone_features(self.backbone, images, self.config)

    def forward(self, feats: torch.Tensor, pad_mask: torch.Tensor,
                timestamps: torch.Tensor | None = None) -> SmplPrediction:
        b, t, d = feats.shape
        refined = self.encoder(feats, pad_mask, timestamps)
        return self.smpl_head(refined.reshape(b * t, d))


Regressor = HMR | THMMR
"""Either regressor, as ``hub.load_regressor`` returns it."""
