"""The local batch engine: a pool of worker processes on this machine (`msmesh batch --engine local`).

Workers are started with the ``spawn`` method (no fork of a process that already holds torch/OpenMP
threads) and each limits torch to ``cores // jobs`` threads, so N jobs share the cores instead of
oversubscribing them. A worker that dies (segfault in a decoder, out-of-memory kill) breaks the pool: the
videos that were running are retried one at a time in a fresh pool, so the one that kills its worker again
is recorded as failed and the others go on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_module
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from msmesh.batch.inputs import BatchItem
from msmesh.batch.worker import process_video, set_event_sink, set_thread_limit

VideoFn = Callable[..., dict[str, Any]]
"""fn(video_path: str, run_dir: str, options: dict) -> result dict (see worker.process_video)."""
EventCallback = Callable[[str, str, dict[str, Any]], None]
ResultCallback = Callable[[BatchItem, dict[str, Any]], None]

MAX_WORKER_DEATHS = 2  # a video whose worker dies this many times is recorded as failed
_POLL_S = 0.2
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Torch threads for each of ``jobs`` workers: ``max(1, cores // jobs)``."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def _queue_sink(events: Any) -> Callable[[str, str, dict[str, Any]], None]:
    def sink(key: str, event: str, data: dict[str, Any]) -> None:
        events.put_nowait((key, event, data))

    return sink


def _init_worker(threads: int, events: Any) -> None:
    """Worker initialiser: thread limits (applied before torch starts its pools) and the event queue."""
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    set_thread_limit(threads)
    set_event_sink(_queue_sink(events) if events is not None else None)


def _drain(events: Any, on_event: EventCallback | None) -> None:
    if events is None:
        return
    while True:
        try:
            key, event, data = events.get_nowait()
        except (queue_module.Empty, OSError, EOFError):
            return
        if on_event is not None:
            on_event(key, event, data)


def _died(item: BatchItem, deaths: int) -> dict[str, Any]:
    return {"video": str(item.video), "run_dir": str(item.run_dir), "status": "failed", "summary": None,
            "seconds": None, "host": None,
            "error": {"type": "WorkerDied", "user_error": False,
                      "message": f"the worker process died {deaths} time(s) on this video (crash in a native "
                                 "library or killed for memory); try --jobs 1 or a smaller --fps"}}


def run_local(items: Sequence[BatchItem], options: dict[str, Any], *, jobs: int = 1,
              fn: VideoFn = process_video, on_event: EventCallback | None = None,
              on_result: ResultCallback | None = None) -> list[dict[str, Any]]:
    """Process ``items`` with ``jobs`` worker processes; return one result dict per item, in item order.

    ``fn`` must be a top-level (picklable) function; ``on_event`` receives the workers' status events and
    ``on_result`` each result as soon as it arrives (both called in this process).
    """
    jobs = max(1, int(jobs))
    ctx = mp.get_context("spawn")
    events = ctx.Queue() if on_event is not None else None
    threads = threads_per_job(jobs)
    pending: deque[BatchItem] = deque(items)
    deaths: dict[BatchItem, int] = {}
    results: dict[BatchItem, dict[str, Any]] = {}

    def finish(item: BatchItem, result: dict[str, Any]) -> None:
        results[item] = result
        if on_result is not None:
            on_result(item, result)

    try:
        while pending:
            pool = ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=ctx,
                                       initializer=_init_worker, initargs=(threads, events))
            running: dict[Future[dict[str, Any]], BatchItem] = {}
            try:
                broken = False
                while (pending or running) and not broken:
                    # A video that already killed a worker runs alone, so a second death is its own.
                    suspect_running = any(deaths.get(i) for i in running.values())
                    while pending and len(running) < jobs and not suspect_running:
                        if deaths.get(pending[0]) and running:
                            break
                        item = pending.popleft()
                        running[pool.submit(fn, str(item.video), str(item.run_dir), options)] = item
                        suspect_running = bool(deaths.get(item))
                    done, _ = wait(running, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                    _drain(events, on_event)
                    for future in done:
                        item = running.pop(future)
                        try:
                            finish(item, future.result())
                        except BrokenProcessPool:
                            broken = True
                            deaths[item] = deaths.get(item, 0) + 1
                            if deaths[item] >= MAX_WORKER_DEATHS:
                                finish(item, _died(item, deaths[item]))
                            else:
                                pending.appendleft(item)
                if broken:  # the other running futures ended with the pool: keep those that finished
                    wait(running, timeout=10)
                    for future, item in running.items():
                        if future.done() and not future.cancelled() and future.exception() is None:
                            finish(item, future.result())
                            continue
                        deaths[item] = deaths.get(item, 0) + 1
                        if deaths[item] >= MAX_WORKER_DEATHS:
                            finish(item, _died(item, deaths[item]))
                        else:
                            pending.appendleft(item)
                    running.clear()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
            _drain(events, on_event)
    finally:
        if events is not None:
            events.close()
            events.join_thread()
    return [results[item] for item in items if item in results]
