"""Read SMPL model files (the user's licensed .pkl, or an SMPL-style .npz) into plain numpy arrays.

Official SMPL pickles are Python-2 pickles that contain `chumpy` objects (shapedirs, sometimes J, weights)
and scipy sparse matrices (J_regressor). chumpy does not work on numpy 2 / Python 3.11, and a pickle can run
code, so the file is read by ``msmesh.safe_pickle``: numpy arrays and plain data only, every chumpy class and
sparse matrix a state-holding stand-in that is converted to its array here. Anything else is refused.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from msmesh.errors import FormatError
from msmesh.safe_pickle import ChumpyStub, SparseStub, safe_load_path

SMPL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


def _to_array(obj: Any, path: Path, key: str) -> Any:
    """Convert chumpy stubs / sparse matrices to dense numpy arrays; leave other values alone."""
    if isinstance(obj, ChumpyStub):
        state = obj.__dict__.get("_state")
        if isinstance(state, dict) and "x" in state:
            return _to_array(state["x"], path, key)
        if isinstance(state, dict) and "a" in state:  # chumpy wrappers around a single operand
            return _to_array(state["a"], path, key)
        raise FormatError(path, key, "chumpy object without an array value")
    if isinstance(obj, SparseStub):
        try:
            return obj.toarray()
        except (ValueError, TypeError) as e:
            raise FormatError(path, key, f"unreadable sparse matrix ({e})") from e
    return obj


def load_smpl_pickle(path: str | Path) -> dict[str, Any]:
    """Load an SMPL .pkl (chumpy-free) as a dict of numpy arrays; checks the keys SMPL needs."""
    path = Path(path)
    try:
        raw = safe_load_path(path)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError,
            KeyError, RecursionError, MemoryError) as e:
        raise FormatError(path, "<file>", f"not a readable SMPL pickle ({e})") from e
    if not isinstance(raw, dict):
        raise FormatError(path, "<file>", f"expected a dict of arrays, got {type(raw).__name__}")
    data = {}
    for k, v in raw.items():
        try:
            data[k] = _to_array(v, path, k)
        except FormatError:
            if k in SMPL_KEYS:
                raise  # an entry msmesh does not use (e.g. a chumpy expression for J) is dropped instead
    return check_smpl_arrays(data, path)


def load_smpl_npz(path: str | Path) -> dict[str, Any]:
    """Load an SMPL-style .npz (same keys as the pickle) as a dict of numpy arrays."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise FormatError(path, "<file>", f"not a readable npz ({e})") from e
    return check_smpl_arrays(data, path)


def check_smpl_arrays(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Validate and normalise SMPL arrays (dense float64 arrays, faces int64, posedirs optional)."""
    for k in SMPL_KEYS:
        if k == "posedirs":
            continue
        if k not in data:
            raise FormatError(path, k, "missing (not an SMPL model file?)")
    out = dict(data)
    for k in ("v_template", "shapedirs", "J_regressor", "weights", "posedirs", "f", "kintree_table"):
        if k not in out:
            continue
        try:
            arr = np.asarray(out[k], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise FormatError(path, k, f"not a numeric array ({e})") from e
        if not np.all(np.isfinite(arr)):
            raise FormatError(path, k, "contains non-finite values")
        out[k] = arr.astype(np.int64) if k in ("f", "kintree_table") else arr
    V = out["v_template"].shape[0] if out["v_template"].ndim == 2 else -1
    checks = {
        "v_template": out["v_template"].shape == (V, 3),
        "shapedirs": out["shapedirs"].ndim == 3 and out["shapedirs"].shape[:2] == (V, 3)
        and out["shapedirs"].shape[2] >= 10,
        "J_regressor": out["J_regressor"].shape == (24, V),
        "weights": out["weights"].shape == (V, 24),
        "kintree_table": out["kintree_table"].shape == (2, 24),
        "f": out["f"].ndim == 2 and out["f"].shape[1] == 3 and out["f"].size > 0
        and 0 <= int(out["f"].min()) and int(out["f"].max()) < V,
    }
    if "posedirs" in out:
        checks["posedirs"] = out["posedirs"].shape == (V, 3, 207)
    for k, ok in checks.items():
        if not ok:
            raise FormatError(path, k, f"unexpected shape {np.shape(out[k])} for a 24-joint SMPL model")
    return out
