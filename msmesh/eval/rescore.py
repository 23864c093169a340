"""`msmesh eval --rescore FILE`: recompute a result table from a saved predictions file, whichever dataset
wrote it, without running anything (the dispatcher over the evaluators' ``rescore_<dataset>``)."""

from __future__ import annotations

import os
from typing import Any

from msmesh.errors import FormatError, InputError
from msmesh.eval.ava import rescore_ava
from msmesh.eval.h36m import rescore_h36m
from msmesh.eval.report import load_predictions
from msmesh.eval.threedpw import rescore_3dpw


def rescore_file(path: str | os.PathLike[str], alpha: float | None = None) -> dict[str, Any]:
    """Recompute a result from a predictions file (``alpha`` re-thresholds AVA's PCK)."""
    pred = load_predictions(path)
    if pred.dataset == "ava":
        return rescore_ava(pred, alpha=alpha, path=str(path))
    if alpha is not None:
        raise InputError(f"--alpha only applies to AVA predictions, not {pred.dataset}")
    if pred.dataset == "h36m":
        return rescore_h36m(pred, path=str(path))
    if pred.dataset == "3dpw":
        return rescore_3dpw(pred, path=str(path))
    raise FormatError(path, "dataset", f"unknown dataset {pred.dataset!r} (expected ava, h36m or 3dpw)")
