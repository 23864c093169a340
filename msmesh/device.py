"""Choosing the torch device from the user's `--device auto|cpu|cuda[:N]` option."""

from __future__ import annotations

import torch

from msmesh.errors import InputError


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cuda`` without a GPU is a user error."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {spec}: no CUDA device is available (use --device cpu or auto)")
        try:
            device = torch.device(spec)
        except RuntimeError as exc:
            raise InputError(f"--device {spec}: {exc}") from exc
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present")
        return device
    raise InputError(f"--device {spec!r}: expected auto, cpu or cuda[:N]")
