"""Read SMPL model files (the user's licensed .pkl, or an SMPL-style .npz) into plain numpy arrays.

Official SMPL pickles are Python-2 pickles that contain `chumpy` objects (shapedirs, sometimes J, weights)
and scipy sparse matrices (J_regressor). chumpy does not work on numpy 2 / Python 3.11, so a restricted
unpickler maps every chumpy class to a small stub and converts it to its array (``x``) afterwards. Only
numpy, scipy.sparse, chumpy and the pickle helpers they need can be referenced; anything else in the file
is refused (pickles can run code).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from msmesh.errors import FormatError

SMPL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


class ChumpyStub:
    """Stands in for any chumpy class while unpickling; keeps the pickled state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state


_ALLOWED = {
    ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("__builtin__", "object"),
    ("builtins", "object"), ("copyreg", "__newobj__"), ("builtins", "set"), ("__builtin__", "set"),
    ("_codecs", "encode"),
}


class _SmplUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "chumpy" or module.startswith("chumpy."):
            return ChumpyStub
        if module.startswith("scipy.sparse"):
            import scipy.sparse

            if hasattr(scipy.sparse, name):
                return getattr(scipy.sparse, name)
        if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                      "numpy._core.numeric", "numpy.dtypes") or (module, name) in _ALLOWED:
            if (module, name) in _ALLOWED or module.startswith("numpy"):
                return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from an SMPL pickle")


def _to_array(obj: Any, path: Path, key: str) -> Any:
    """Convert chumpy stubs / sparse matrices to dense numpy arrays; leave other values alone."""
    if isinstance(obj, ChumpyStub):
        state = obj.__dict__.get("_state")
        if isinstance(state, dict) and "x" in state:
            return _to_array(state["x"], path, key)
        if isinstance(state, dict) and "a" in state:  # chumpy wrappers around a single operand
            return _to_array(state["a"], path, key)
        raise FormatError(path, key, "chumpy object without an array value")
    if hasattr(obj, "toarray") and "scipy.sparse" in type(obj).__module__:
        return np.asarray(obj.toarray())
    return obj


def load_smpl_pickle(path: str | Path) -> dict[str, Any]:
    """Load an SMPL .pkl (chumpy-free) as a dict of numpy arrays; checks the keys SMPL needs."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = _SmplUnpickler(fh, encoding="latin1").load()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as e:
        raise FormatError(path, "<file>", f"not a readable SMPL pickle ({e})") from e
    if not isinstance(raw, dict):
        raise FormatError(path, "<file>", f"expected a dict of arrays, got {type(raw).__name__}")
    data = {k: _to_array(v, path, k) for k, v in raw.items()}
    return check_smpl_arrays(data, path)


def load_smpl_npz(path: str | Path) -> dict[str, Any]:
    """Load an SMPL-style .npz (same keys as the pickle) as a dict of numpy arrays."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
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
    for k in ("v_template", "shapedirs", "J_regressor", "weights", "posedirs"):
        if k in out:
            out[k] = np.asarray(out[k], dtype=np.float64)
    out["f"] = np.asarray(out["f"]).astype(np.int64)
    out["kintree_table"] = np.asarray(out["kintree_table"]).astype(np.int64)
    V = out["v_template"].shape[0]
    checks = {
        "v_template": out["v_template"].shape == (V, 3),
        "shapedirs": out["shapedirs"].ndim == 3 and out["shapedirs"].shape[:2] == (V, 3)
        and out["shapedirs"].shape[2] >= 10,
        "J_regressor": out["J_regressor"].shape == (24, V),
        "weights": out["weights"].shape == (V, 24),
        "kintree_table": out["kintree_table"].shape == (2, 24),
        "f": out["f"].ndim == 2 and out["f"].shape[1] == 3 and int(out["f"].max()) < V,
    }
    if "posedirs" in out:
        checks["posedirs"] = out["posedirs"].shape == (V, 3, 207)
    for k, ok in checks.items():
        if not ok:
            raise FormatError(path, k, f"unexpected shape {np.shape(out[k])} for a 24-joint SMPL model")
    return out
