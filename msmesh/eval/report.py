"""Shared plumbing of the dataset evaluators (AVA, Human3.6M, 3DPW): result tables, JSON, predictions, cache.

Every ``run_<dataset>`` returns one JSON-ready *result* dict::

    {"format": "msmesh/eval@1", "dataset": "ava", "title": "...",
     "columns": [{"key": "cross_shot_pck", "label": "cross-shot PCK@0.1 ↑", "scale": 100, "digits": 1}, ...],
     "rows": [{"method": "multishot", "cross_shot_pck": 0.55, ...}, ...],
     "counts": {...}, "skipped": [{"item": "...", "reason": "..."}], "options": {...}}

``results_table`` renders it with rich (plus the paper's number for the same row where the paper has one),
``write_result_json`` writes it. ``--save-predictions`` writes a predictions file (``save_predictions``): an
uncompressed ``.npz`` holding ``format`` = ``msmesh/eval-predictions@1``, ``dataset``, ``meta`` (a JSON string:
the options of the run) and the dataset's arrays — enough for ``rescore_<dataset>`` to recompute every number
without running anything again (``msmesh eval --rescore FILE``, dispatched by ``eval.rescore``).
``evaluate_items`` is every evaluator's loop: ``ItemCache`` keeps one small ``.npz`` per video/sequence in the
output folder so an interrupted evaluation resumes where it stopped, failed items are skipped and reported.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from msmesh.atomic import atomic_save_npz, atomic_write_json
from msmesh.errors import FormatError, InputError, MsmeshError

RESULT_FORMAT = "msmesh/eval@1"
PREDICTIONS_FORMAT = "msmesh/eval-predictions@1"

Progress = Callable[[int, int, str], None]
"""``progress(done, total, label)``: items (videos / sequences) finished out of the total."""

PAPER: dict[str, dict[str, dict[str, float]]] = {
    # Pavlakos et al., CVPR 2022 — Table 1 (optimization), Table 2 (single-frame regressors), Table 3 (temporal).
    "h36m": {"frame": {"pa_mpjpe_mm": 68.5}, "shot": {"pa_mpjpe_mm": 62.7}, "multishot": {"pa_mpjpe_mm": 59.2}},
    "ava": {"frame": {"cross_shot_pck": 0.380}, "shot": {"cross_shot_pck": 0.423},
            "multishot": {"cross_shot_pck": 0.552},
            "hmr": {"cross_shot_pck": 0.431},  # HMR⁺ + AVA multi-shot pseudo-GT (Table 2)
            "thmmr": {"same_frame_pck": 0.821, "cross_shot_pck": 0.546}},  # t-HMMR w/ multi-shot AVA (Table 3)
    "3dpw": {"hmr": {"pa_mpjpe_mm": 57.8}},  # HMR⁺ + AVA multi-shot pseudo-GT (Table 2)
}
"""The paper's numbers for the rows msmesh can produce (our regressor rows correspond to its best variants)."""


def digest(obj: Any) -> str:
    """Short stable hash of a JSON-able object (options, subsets) for cache keys."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class SkipLog:
    """Items (videos, sequences, pairs) that could not be evaluated, with why; reported, never fatal."""

    entries: list[dict[str, str]] = field(default_factory=list)

    def add(self, item: str, reason: str) -> None:
        self.entries.append({"item": item, "reason": reason})

    def __len__(self) -> int:
        return len(self.entries)

    def to_json(self) -> list[dict[str, str]]:
        return list(self.entries)


def column(key: str, label: str, scale: float = 1.0, digits: int = 1) -> dict[str, Any]:
    """A table column: ``value × scale`` printed with ``digits`` decimals."""
    return {"key": key, "label": label, "scale": scale, "digits": digits}


def make_result(dataset: str, title: str, columns: list[dict[str, Any]], rows: list[dict[str, Any]],
                counts: dict[str, Any] | None = None, skipped: SkipLog | None = None,
                options: dict[str, Any] | None = None, notes: Iterable[str] = ()) -> dict[str, Any]:
    """Assemble the result dict (module docstring); NaN values become ``None`` so the JSON stays valid."""
    clean_rows = [{k: _finite_or_none(v) for k, v in r.items()} for r in rows]
    return {"format": RESULT_FORMAT, "dataset": dataset, "title": title, "columns": columns, "rows": clean_rows,
            "counts": counts or {}, "skipped": skipped.to_json() if skipped else [], "options": options or {},
            "notes": list(notes)}


def _finite_or_none(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _fmt(value: Any, col: dict[str, Any]) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return f"{value * col.get('scale', 1.0):.{col.get('digits', 1)}f}"
    return str(value)


def results_table(result: dict[str, Any], paper: bool = True) -> Table:
    """A rich table of a result: one row per method, one column per metric, then the paper's value(s)."""
    table = Table(title=result.get("title") or result.get("dataset"), title_justify="left")
    table.add_column("method", style="bold")
    cols = result.get("columns", [])
    for c in cols:
        table.add_column(c["label"], justify="right")
    ref = PAPER.get(result.get("dataset", ""), {}) if paper else {}
    ref_keys = [c for c in cols if any(c["key"] in r for r in ref.values())]
    for c in ref_keys:
        table.add_column(f"paper {c['label']}", justify="right", style="dim")
    for row in result.get("rows", []):
        cells = [str(row.get("method", ""))] + [_fmt(row.get(c["key"]), c) for c in cols]
        cells += [_fmt(ref.get(row.get("method"), {}).get(c["key"]), c) for c in ref_keys]
        table.add_row(*cells)
    skipped = result.get("skipped") or []
    if skipped:
        table.caption = f"{len(skipped)} item(s) skipped (see --json for why)"
    return table


def write_result_json(path: str | os.PathLike[str], result: dict[str, Any]) -> None:
    """Write a result dict as JSON (atomically)."""
    atomic_write_json(path, result)


# --------------------------------------------------------------------------- predictions files


@dataclass
class Predictions:
    """A loaded predictions file: which dataset, the run's options and its arrays."""

    dataset: str
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


def save_predictions(path: str | os.PathLike[str], dataset: str, meta: dict[str, Any],
                     arrays: dict[str, np.ndarray]) -> None:
    """Write a predictions file (module docstring) atomically."""
    reserved = {"format", "dataset", "meta"} & set(arrays)
    if reserved:
        raise ValueError(f"reserved array names {sorted(reserved)}")
    atomic_save_npz(path, format=np.array(PREDICTIONS_FORMAT), dataset=np.array(dataset),
                    meta=np.array(json.dumps(meta, sort_keys=True, default=str)), **arrays)


def load_predictions(path: str | os.PathLike[str]) -> Predictions:
    """Read and check a predictions file written by ``save_predictions``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: predictions file not found (write one with `msmesh eval ... --save-predictions`)")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{p}: not a readable predictions .npz ({exc})") from exc
    for key in ("format", "dataset", "meta"):
        if key not in arrays:
            raise FormatError(p, key, "missing (not an msmesh predictions file)")
    if str(arrays["format"]) != PREDICTIONS_FORMAT:
        raise FormatError(p, "format", f"expected '{PREDICTIONS_FORMAT}', got {str(arrays['format'])!r}")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as exc:
        raise FormatError(p, "meta", f"not JSON: {exc}") from exc
    arrays.pop("format")
    dataset = str(arrays.pop("dataset"))
    return Predictions(dataset=dataset, meta=meta, arrays=arrays)


def require_arrays(pred: Predictions, path: str, names: Iterable[str]) -> None:
    """FormatError naming the first array a rescorer needs that the predictions file lacks."""
    for n in names:
        if n not in pred.arrays:
            raise FormatError(path, n, f"missing from the {pred.dataset} predictions")


# --------------------------------------------------------------------------- per-item cache (resume)


class ItemCache:
    """One ``<folder>/<item>.npz`` per finished item (video / sequence), keyed by the options that made it.

    A cached entry is used only when its stored key equals the current key, so changing an option re-runs
    the item instead of reusing stale numbers.
    """

    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def _path(self, item: str) -> Path:
        assert self.folder is not None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in item)
        return self.folder / f"{safe}.npz"

    def load(self, item: str, key: str) -> dict[str, np.ndarray] | None:
        """The cached arrays of ``item`` when they were made with ``key``, else None."""
        if self.folder is None:
            return None
        path = self._path(item)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            return None  # a damaged cache entry is recomputed
        if str(arrays.pop("_key", "")) != key:
            return None
        return arrays

    def save(self, item: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        if self.folder is None:
            return
        atomic_save_npz(self._path(item), _key=np.array(key), **arrays)


@dataclass
class Item:
    """One unit of an evaluation (a video × method, a sequence): how to name, cache and compute it.

    ``compute`` returns the item's arrays; an ``MsmeshError`` from it skips the item (reported with
    ``skip_note`` appended), never the whole evaluation.
    """

    label: str
    cache_name: str
    key: str
    compute: Callable[[], dict[str, np.ndarray]]
    skip_note: str = ""


def evaluate_items(items: Iterable[Item], cache: ItemCache, skipped: SkipLog, progress: Progress | None = None,
                   fatal: tuple[type[Exception], ...] = ()) -> list[tuple[Item, dict[str, np.ndarray]]]:
    """Each evaluated item with its arrays: from the cache when made with the same key, else computed and cached.

    Failed items go to ``skipped``; exceptions in ``fatal`` (e.g. missing weights: every item would fail)
    propagate. ``progress(done, total, label)`` follows every finished item.
    """
    items = list(items)
    out = []
    for k, item in enumerate(items):
        arrays = cache.load(item.cache_name, item.key)
        if arrays is None:
            try:
                arrays = item.compute()
            except fatal:
                raise
            except MsmeshError as exc:
                skipped.add(item.label, exc.one_line() + item.skip_note)
                continue
            cache.save(item.cache_name, item.key, arrays)
        out.append((item, arrays))
        if progress:
            progress(k + 1, len(items), item.label)
    return out


def stack_items(items: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate the items' arrays key by key (empty dict for no items)."""
    return {k: np.concatenate([a[k] for a in items]) for k in items[0]} if items else {}
