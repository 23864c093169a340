"""Read the pickles msmesh has to accept (SMPL models, SMPLify's GMM prior, 3DPW sequences, Human3.6M npz
files) without ever running code from them.

A pickle can call any function it names, so ``pickle.load`` on a downloaded file is code execution. Here the
unpickler resolves only a fixed list of names: numpy's array/dtype/scalar rebuilders, a few builtin
containers, the latin1 ``bytes`` helper of Python-2 pickles, and stand-ins for chumpy and scipy.sparse
classes (plain state holders, converted to arrays by the caller). Callables that could build other objects
(``copyreg._reconstructor``, ``__newobj__``) are wrapped so they only build those same classes. Everything
else — ``numpy.load``, ``os.system``, ``builtins.eval``, any class of another package — is refused with
``UnsafePickleError``. Model files and run folders are data, never code.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names something outside the whitelist (it could run code)."""


class ChumpyStub:
    """Stands in for any chumpy class; keeps the pickled state (its array is ``x``, or ``a`` for wrappers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state


class SparseStub:
    """Stands in for a scipy.sparse matrix; keeps the pickled state. ``toarray`` checks every index."""

    format = ""

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state

    def toarray(self) -> np.ndarray:
        state = self.__dict__.get("_state")
        if not isinstance(state, dict):
            raise ValueError("sparse matrix without state")
        shape: Any = state.get("_shape", state.get("shape"))
        try:
            rows, cols = (int(s) for s in shape)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sparse matrix with an invalid shape {shape!r}") from exc
        if not (0 <= rows <= 1 << 20 and 0 <= cols <= 1 << 20):
            raise ValueError(f"sparse matrix shape {(rows, cols)} out of range")
        data = np.asarray(state.get("data"), dtype=np.float64).reshape(-1)
        if self.format == "coo":
            row, col = state["coords"] if "coords" in state else (state.get("row"), state.get("col"))  # scipy ≥ 1.13
            r = np.asarray(row, dtype=np.int64).reshape(-1)
            c = np.asarray(col, dtype=np.int64).reshape(-1)
        else:
            indices = np.asarray(state.get("indices"), dtype=np.int64).reshape(-1)
            indptr = np.asarray(state.get("indptr"), dtype=np.int64).reshape(-1)
            major = cols if self.format == "csc" else rows
            if indptr.shape != (major + 1,) or indptr[0] != 0 or np.any(np.diff(indptr) < 0) \
                    or indptr[-1] != indices.size:
                raise ValueError("sparse matrix with an inconsistent indptr")
            outer = np.repeat(np.arange(major), np.diff(indptr))
            r, c = (indices, outer) if self.format == "csc" else (outer, indices)
        if not (r.size == c.size == data.size):
            raise ValueError("sparse matrix index and data lengths differ")
        if r.size and (r.min() < 0 or r.max() >= rows or c.min() < 0 or c.max() >= cols):
            raise ValueError("sparse matrix index out of range")
        dense = np.zeros((rows, cols))
        np.add.at(dense, (r, c), data)
        return dense


class _Csc(SparseStub):
    format = "csc"


class _Csr(SparseStub):
    format = "csr"


class _Coo(SparseStub):
    format = "coo"


_SPARSE = {"csc_matrix": _Csc, "csc_array": _Csc, "csr_matrix": _Csr, "csr_array": _Csr, "coo_matrix": _Coo,
           "coo_array": _Coo}
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_BUILDABLE = (ChumpyStub, SparseStub)  # classes copyreg's helpers may instantiate


def _numpy_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise UnsafePickleError(f"refusing to rebuild an array of type {subtype!r}")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _scalar(dtype: Any, *args: Any) -> Any:
    if not isinstance(dtype, np.dtype):
        raise UnsafePickleError("numpy scalar without a dtype")
    try:
        from numpy._core.multiarray import scalar  # type: ignore[import-not-found, unused-ignore]  # numpy >= 2 only
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    return scalar(dtype, *args)


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError("refusing an object array from a buffer")
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


def _buildable(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, _BUILDABLE)


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    if not _buildable(cls) or base is not object:
        raise UnsafePickleError(f"refusing to build {cls!r} from {base!r}")
    return copyreg._reconstructor(cls, base, state)  # type: ignore[attr-defined]


def _newobj(cls: Any, *args: Any) -> Any:
    if not (_buildable(cls) or cls in (np.ndarray, np.dtype, set, frozenset)):
        raise UnsafePickleError(f"refusing to build {cls!r}")
    return cls.__new__(cls, *args)


def _latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError("refusing _codecs.encode with anything but (str, 'latin1')")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    **{(m, "_reconstruct"): _numpy_reconstruct for m in _NUMPY_MODULES},
    **{(m, "scalar"): _scalar for m in _NUMPY_MODULES},
    **{(m, "_frombuffer"): _frombuffer for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("copyreg", "__newobj__"): _newobj,
    ("copy_reg", "__newobj__"): _newobj,
    ("_codecs", "encode"): _latin1_bytes,
    **{(m, n): t for m in ("builtins", "__builtin__") for n, t in
       (("object", object), ("set", set), ("frozenset", frozenset))},
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "chumpy" or module.startswith("chumpy."):
            return ChumpyStub
        if (module == "scipy.sparse" or module.startswith("scipy.sparse.")) and name in _SPARSE:
            return _SPARSE[name]
        raise UnsafePickleError(f"refusing to load {module}.{name} (a pickle may only hold arrays and plain data)")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refusing a pickle with persistent ids")


def safe_load(fh: BinaryIO, encoding: str = "latin1") -> Any:
    """Unpickle ``fh`` admitting only arrays, plain containers and chumpy/sparse stand-ins.

    Raises ``UnsafePickleError`` for anything else, and the usual ``pickle.UnpicklingError`` / ``EOFError``
    / ``ValueError`` / ``TypeError`` for a damaged file.
    """
    return _SafeUnpickler(fh, encoding=encoding).load()


def safe_load_path(path: str | Path, encoding: str = "latin1") -> Any:
    """``safe_load`` of a file."""
    with open(path, "rb") as fh:
        return safe_load(fh, encoding=encoding)


def safe_npz_item(path: str | Path, key: str) -> Any:
    """One array of an ``.npz`` whose arrays may be pickled objects (e.g. a dict), read with ``safe_load``.

    Raises ``KeyError`` when ``key`` is absent, ``ValueError`` / ``zipfile.BadZipFile`` for a damaged file.
    """
    with zipfile.ZipFile(path) as zf:
        name = f"{key}.npy"
        if name not in zf.namelist():
            raise KeyError(key)
        raw = zf.read(name)
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in read_header:
        raise ValueError(f"unsupported .npy version {version}")
    _shape, _fortran, dtype = read_header[version](fp)
    if not dtype.hasobject:
        return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
    return safe_load(fp)


def npz_keys(path: str | Path) -> list[str]:
    """The array names of an ``.npz`` file."""
    with zipfile.ZipFile(path) as zf:
        return [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
