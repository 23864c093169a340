"""Per-video work of a batch: `process_video` runs the pipeline on one video and never raises.

Both engines (local process pool, Ray) call this top-level, picklable function in their workers. It turns
the outcome into a plain dict (the run summary, or the error's type and one-line message), so that one bad
video is recorded in ``batch_report.json`` and the batch goes on. Stage changes and progress are sent to
an optional event sink that the engine installs in the worker (a multiprocessing or Ray queue), which the
driver turns into its per-video status lines.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable, Collection
from dataclasses import fields
from pathlib import Path
from typing import Any

from msmesh.errors import InputError, MsmeshError

EventSink = Callable[[str, str, dict[str, Any]], None]
"""sink(key, event, data): key is the run folder (str); events are "start", "stage" and "advance"."""

_sink: EventSink | None = None
_threads: int | None = None
ADVANCE_INTERVAL_S = 0.5  # at most two progress messages per second per worker


def set_event_sink(sink: EventSink | None) -> None:
    """Install (or remove) the worker's event sink; called by the engines' worker initialisers."""
    global _sink
    _sink = sink


def set_thread_limit(threads: int | None) -> None:
    """Torch (and OpenCV) threads for the videos this worker runs; applied when a video starts, so a
    worker process does not pay torch's import before it has work."""
    global _threads
    _threads = threads


def apply_thread_limit() -> None:
    """``torch.set_num_threads`` (and ``cv2.setNumThreads``) to the worker's limit, if one is set."""
    if _threads is None:
        return
    import torch

    if torch.get_num_threads() != _threads:
        torch.set_num_threads(_threads)
    try:
        import cv2

        cv2.setNumThreads(_threads)
    except ImportError:  # pragma: no cover - opencv is a dependency; the limit is best effort
        pass


def _emit(key: str, event: str, data: dict[str, Any]) -> None:
    if _sink is None:
        return
    try:
        _sink(key, event, data)
    except Exception:  # a lost status message must never fail a video
        pass


def options_from_dict(options: dict[str, Any]) -> Any:
    """A validated ``PipelineOptions`` from its dict form; an unknown key is an InputError."""
    from msmesh.options import PipelineOptions

    known = {f.name for f in fields(PipelineOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InputError(f"unknown pipeline option(s): {', '.join(unknown)}")
    opts = PipelineOptions(**options)
    opts.validate()
    return opts


def progress_factory(key: str) -> Callable[[str, int | None], Callable[[int], None]]:
    """A pipeline progress factory that forwards stage starts and (throttled) progress to the sink."""
    def factory(stage: str, total: int | None) -> Callable[[int], None]:
        _emit(key, "stage", {"stage": stage, "total": total})
        state = {"done": 0, "sent": time.monotonic()}

        def advance(n: int = 1) -> None:
            state["done"] += n
            now = time.monotonic()
            if now - state["sent"] >= ADVANCE_INTERVAL_S or (total is not None and state["done"] >= total):
                state["sent"] = now
                _emit(key, "advance", {"stage": stage, "done": state["done"], "total": total})

        return advance

    return factory


def _run(video: Path, run_dir: Path, options: dict[str, Any], stages: Collection[str] | None,
         progress: Callable[[str, int | None], Callable[[int], None]]) -> dict[str, Any]:
    from msmesh.batch.stage_subset import run_pipeline

    apply_thread_limit()
    summary = run_pipeline(video, run_dir, options_from_dict(options), progress, stages)
    return summary.to_json()


def process_video(video_path: str, run_dir: str, options_dict: dict[str, Any], *,
                  stages: Collection[str] | None = None) -> dict[str, Any]:
    """Run the pipeline for one video into ``run_dir``; return ``{"status": "ok", "summary": ...}`` or
    ``{"status": "failed", "error": {"type", "message", "user_error"}}`` — never raise (except Ctrl-C).

    ``stages`` restricts the run to those stage names (the Ray engine splits GPU and CPU stages).
    """
    key = str(run_dir)
    started = time.perf_counter()
    _emit(key, "start", {"host": socket.gethostname(), "pid": os.getpid()})
    result: dict[str, Any] = {"video": str(video_path), "run_dir": str(run_dir), "host": socket.gethostname(),
                              "pid": os.getpid(), "summary": None, "error": None}
    try:
        result["summary"] = _run(Path(video_path), Path(run_dir), options_dict, stages,
                                 progress_factory(key))
        result["status"] = "ok"
    except MsmeshError as exc:
        result["status"] = "failed"
        result["error"] = {"type": type(exc).__name__, "message": exc.one_line(), "user_error": True}
    except Exception as exc:  # a bug, or a library failing on odd input: record it, keep the batch going
        result["status"] = "failed"
        result["error"] = {"type": type(exc).__name__, "message": " ".join(str(exc).split()) or repr(exc),
                           "user_error": False, "traceback": traceback.format_exc(limit=20)}
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result
