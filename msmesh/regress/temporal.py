"""Temporal encoders over a window of per-frame features: t-HMMR's transformer and two baselines.

All three take per-frame features φ (B,T,D), a padding mask (B,T) that is True where the person is absent
(gap, B-roll, other shot), and optionally the frame timestamps within the window (B,T), and return refined
features Φ = φ + Δφ (B,T,D). Absent frames' outputs are meaningless and ignored downstream.

How each one copes with a gap (paper §4, Table 3):
- ``TransformerEncoder`` (t-HMMR): the timestamp embedding is added and absent frames are removed from the
  attention (``src_key_padding_mask``): context on both sides of a gap is used and timing is kept.
- ``ConvEncoder``: a 1D convolution needs a dense grid, so absent frames are *padded* with zeros; the
  kernel sees the zeros as if they were frames.
- ``GRUEncoder``: a recurrent net runs over the present frames *concatenated* (gaps closed up), so it
  keeps the context but loses how much time passed across the gap.
Module names of the transformer (``trans``, ``pos_embedding``) are those of the authors' ``thmmr_ava.pt``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

RESIDUAL_SCALE = 0.1  # the authors' Δφ scale (their checkpoints); msmesh's keypoint models use 1.0
POSITION_SCALE = 0.1


def _timestamps(x: torch.Tensor, timestamps: torch.Tensor | None, window: int) -> torch.Tensor:
    b, t = x.shape[:2]
    if timestamps is None:
        timestamps = torch.arange(t, device=x.device).expand(b, t)
    return timestamps.long().clamp(0, window - 1)


class TransformerEncoder(nn.Module):
    """One transformer encoder layer (self-attention + feed-forward) with absent frames masked out."""

    def __init__(self, d_model: int = 2048, nhead: int = 1, ff_dim: int = 1024, window: int = 13,
                 dropout: float = 0.1, residual_scale: float = RESIDUAL_SCALE, pre_norm: bool = False) -> None:
        super().__init__()
        self.window = window
        self.residual_scale = residual_scale
        self.pre_norm = pre_norm
        self.trans = nn.TransformerEncoderLayer(d_model=d_model, nhead=nhead, dim_feedforward=ff_dim,
                                                dropout=dropout, batch_first=True, norm_first=pre_norm)
        self.pos_embedding = nn.Embedding(num_embeddings=window, embedding_dim=d_model)
        if pre_norm:  # the residual branches start at zero: t-HMMR starts as HMR exactly
            for lin in (self.trans.self_attn.out_proj, self.trans.linear2):
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor, timestamps: torch.Tensor | None = None) -> torch.Tensor:
        pad_mask = pad_mask.bool()
        # a window with nobody present would make attention NaN; its outputs are ignored anyway
        pad_mask = pad_mask & ~pad_mask.all(dim=1, keepdim=True)
        pos = self.pos_embedding(_timestamps(x, timestamps, self.window)).to(x.dtype) * POSITION_SCALE
        z = x + pos
        y = self.trans(z, src_key_padding_mask=pad_mask)
        # post-norm (the authors'): Δφ is the layer's layer-normalised output; pre-norm: its residual branches
        return x + self.residual_scale * (y - z if self.pre_norm else y)


class ConvEncoder(nn.Module):
    """Two 1D convolutions (kernel 3) over time; absent frames are zero-padded (the conv sees them)."""

    def __init__(self, d_model: int = 2048, hidden: int = 1024, window: int = 13, kernel: int = 3,
                 residual_scale: float = RESIDUAL_SCALE) -> None:
        super().__init__()
        self.window = window
        self.residual_scale = residual_scale
        self.conv = nn.Sequential(
            nn.Conv1d(d_model, hidden, kernel, padding=kernel // 2), nn.ReLU(inplace=True),
            nn.Conv1d(hidden, d_model, kernel, padding=kernel // 2),
        )

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor, timestamps: torch.Tensor | None = None) -> torch.Tensor:
        present = (~pad_mask.bool()).unsqueeze(-1).to(x.dtype)
        padded = x * present
        y = self.conv(padded.transpose(1, 2)).transpose(1, 2)
        return x + self.residual_scale * y


class GRUEncoder(nn.Module):
    """A bidirectional GRU over the present frames concatenated (gaps closed up, timing lost)."""

    def __init__(self, d_model: int = 2048, hidden: int = 1024, window: int = 13,
                 residual_scale: float = RESIDUAL_SCALE) -> None:
        super().__init__()
        self.window = window
        self.residual_scale = residual_scale
        self.gru = nn.GRU(d_model, hidden // 2, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(hidden, d_model)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor, timestamps: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape
        present = ~pad_mask.bool()
        lengths = present.sum(dim=1)
        # stable order: present frames first, in time order → the "concatenated" sequence
        key = (~present).long() * t + torch.arange(t, device=x.device)
        order = key.argsort(dim=1)
        packed_in = torch.gather(x, 1, order.unsqueeze(-1).expand(b, t, d))
        keep = lengths > 0
        delta = torch.zeros_like(x)
        if keep.any():
            packed = pack_padded_sequence(packed_in[keep], lengths[keep].cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, _ = self.gru(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
            y = self.proj(out)  # (b_keep, t, d) in concatenated order
            y_full = torch.zeros(b, t, d, dtype=y.dtype, device=x.device)
            y_full[keep] = y
            y_full = y_full * (torch.arange(t, device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1)
            delta = torch.zeros_like(x).scatter(1, order.unsqueeze(-1).expand(b, t, d), y_full.to(x.dtype))
        return x + self.residual_scale * delta


def make_encoder(kind: str, d_model: int, ff_dim: int = 1024, window: int = 13, nhead: int = 1,
                 residual_scale: float = RESIDUAL_SCALE, pre_norm: bool = False) -> nn.Module:
    """Build the temporal encoder named ``kind`` (transformer | conv | gru)."""
    if kind == "transformer":
        return TransformerEncoder(d_model, nhead, ff_dim, window, residual_scale=residual_scale, pre_norm=pre_norm)
    if kind == "conv":
        return ConvEncoder(d_model, ff_dim, window, residual_scale=residual_scale)
    if kind == "gru":
        return GRUEncoder(d_model, ff_dim, window, residual_scale=residual_scale)
    raise ValueError(f"unknown temporal encoder {kind!r} (expected transformer, conv or gru)")
