"""Loading the shipped TFLite models (MoveNet, BlazePose) through LiteRT, checked against their SHA256SUMS.

Every failure a user can cause — a missing, truncated or corrupt model file — becomes one
``ModelUnavailableError`` naming the file and the ``tools/`` script that restores it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def expected_sha256(path: Path) -> str | None:
    """The digest listed for ``path`` in its folder's SHA256SUMS, or None when not listed."""
    sums = path.parent / "SHA256SUMS"
    if not sums.exists():
        return None
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name.strip() == path.name:
            return digest.strip()
    return None


def load_interpreter(path: Path, restore: str, threads: int | None = None) -> Any:
    """A LiteRT ``Interpreter`` for the model at ``path`` (tensors not yet allocated).

    ``restore`` tells the user how to get the file back (e.g. "re-extract it with tools/extract_movenet.py").
    """
    from msmesh.errors import ModelUnavailableError

    if not path.is_file():
        raise ModelUnavailableError(f"model file {path} is missing; {restore}")
    data = path.read_bytes()
    expected = expected_sha256(path)
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise ModelUnavailableError(f"{path}: sha256 mismatch (corrupt model file); {restore}")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:  # pragma: no cover - a runtime dependency
        raise ModelUnavailableError("msmesh's detectors need ai-edge-litert: pip install ai-edge-litert") from exc
    try:
        with native_stderr_silenced():
            return Interpreter(model_content=data, num_threads=threads or max(1, os.cpu_count() or 1))
    except (ValueError, RuntimeError) as exc:
        raise ModelUnavailableError(f"{path}: not a loadable TFLite model ({exc}); {restore}") from exc


def allocate(interpreter: Any) -> None:
    """``allocate_tensors`` without LiteRT's native "Created TensorFlow Lite XNNPACK delegate" log line."""
    with native_stderr_silenced():
        interpreter.allocate_tensors()


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for a moment: native libraries' log lines bypass Python's stderr."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture or a replaced stderr: nothing to do
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
