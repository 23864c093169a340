"""Reading msmesh's JSON files: parse, check the ``format`` tag, and read fields with errors naming the field.

Every run-folder JSON file is read through :func:`read_json` and :class:`JsonReader`, so a bad file gives one
``msmesh: error:`` line naming the file and field (``FormatError``) instead of a traceback.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from msmesh.errors import FormatError, InputError

MAX_FRAME_INDEX = 2**31 - 1


class JsonReader:
    """Field access on a parsed JSON object that raises FormatError naming file and field."""

    def __init__(self, path: str | os.PathLike[str], obj: Any, prefix: str = "") -> None:
        self.path = path
        self.obj = obj
        self.prefix = prefix

    def name(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.prefix}[{key}]"
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str | int, problem: str) -> FormatError:
        return FormatError(self.path, self.name(key), problem)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., check: Callable[[Any], bool]
            | None = None, expect: str = "") -> Any:
        if not isinstance(self.obj, dict):
            raise FormatError(self.path, self.prefix or "<root>", "expected a JSON object")
        if key not in self.obj:
            if default is not ...:
                return default
            raise self.fail(key, "missing")
        value = self.obj[key]
        if kind in (int, float) or kind == (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(key, f"expected a number, got {type(value).__name__}")
            try:
                as_float = float(value)
            except OverflowError:
                raise self.fail(key, "number out of range") from None
            if not math.isfinite(as_float):
                raise self.fail(key, "must be finite")
            if kind is int and not (isinstance(value, int) or as_float.is_integer()):
                raise self.fail(key, f"expected an integer, got {as_float:.6g}")
            value = int(value) if kind is int else float(value)
        elif not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(key, f"expected {want}, got {type(value).__name__}")
        if check is not None and not check(value):
            raise self.fail(key, expect or f"invalid value {value!r}")
        return value

    def child(self, key: str | int) -> JsonReader:
        value = self.obj[key]
        return JsonReader(self.path, value, self.name(key))


def parse_json(text: str, path: str | os.PathLike[str]) -> Any:
    """``json.loads`` whose every failure (syntax, absurd nesting, 5000-digit numbers) is one InputError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: JSON nested too deeply to be a msmesh file") from exc
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise InputError(f"{path}: unreadable JSON ({exc})") from exc


def read_json(path: str | os.PathLike[str], expected_format: str | tuple[str, ...]) -> dict[str, Any]:
    """A JSON object file whose ``format`` (if present) is one of ``expected_format``; every failure (missing,
    a folder, unreadable, empty, malformed, not an object, wrong format) is one InputError/FormatError."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: file not found")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, expected a JSON file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read: {exc}") from exc
    if not text.strip():
        raise InputError(f"{p}: file is empty")
    obj = parse_json(text, p)
    if not isinstance(obj, dict):
        raise FormatError(p, "<root>", "expected a JSON object")
    fmt = obj.get("format")
    accepted = (expected_format,) if isinstance(expected_format, str) else expected_format
    if fmt is not None and fmt not in accepted:
        raise FormatError(p, "format", f"expected {' or '.join(repr(a) for a in accepted)}, got {fmt!r}")
    return obj


def read_array(reader: JsonReader, key: str, shape_tail: tuple[int, ...], dtype: type = float,
           length: int | None = None, allow_nan: bool = False) -> np.ndarray:
    """Field ``key`` as a float64 (or int64 for ``dtype=int``) array of shape (T, *shape_tail), checked."""
    raw = reader.get(key, list)
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise reader.fail(key, f"expected a numeric array: {exc}") from exc
    if len(raw) == 0:
        arr = arr.reshape((0, *shape_tail))
    if arr.shape[1:] != shape_tail:
        want = "×".join(str(s) for s in ("T", *shape_tail))
        raise reader.fail(key, f"expected shape {want}, got {'×'.join(map(str, arr.shape))}")
    if length is not None and arr.shape[0] != length:
        raise reader.fail(key, f"expected {length} entries (one per frame), got {arr.shape[0]}")
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise reader.fail(key, f"non-finite value at index {tuple(int(i) for i in bad)}")
    if dtype is int:
        if np.any(arr != np.round(arr)):
            raise reader.fail(key, "expected integers")
        if arr.size and np.abs(arr).max() > MAX_FRAME_INDEX:
            raise reader.fail(key, f"integer out of range (|value| ≤ {MAX_FRAME_INDEX})")
        return arr.astype(np.int64)
    return arr.astype(np.float64)
