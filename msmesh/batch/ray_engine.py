"""The Ray batch engine (`msmesh batch --engine ray`): one Ray task per video, or two with GPUs.

Without GPUs each video is one task declaring ``cpus_per_task`` CPUs. With ``gpus_per_task > 0`` a video
is split in two tasks: its GPU stages (decode ... detect, and regress for ``--mode regress``) run on a
worker holding a GPU, then the whole pipeline runs again on a CPU-only worker, where the finished stages
are resumed from the run folder and only tracking, fitting and exports are computed; meanwhile the GPU
takes the next video's detection. Every task reads the video and writes its run folder through the same
paths as the driver, so ``--out`` (and the videos) must be on a filesystem shared by all nodes (NFS, a
cluster file system, or a single machine); the driver checks that each finished run folder is visible.

``ray`` is an optional dependency (``pip install "msmesh[ray]"``), imported only here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from msmesh.batch.inputs import BatchItem
from msmesh.batch.local import EventCallback, ResultCallback, VideoFn
from msmesh.batch.worker import process_video, set_event_sink, set_thread_limit
from msmesh.errors import InputError, MsmeshError

_POLL_S = 0.2
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def import_ray() -> Any:
    """``import ray``, or a one-line MsmeshError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise MsmeshError('--engine ray needs Ray: pip install "msmesh[ray]"') from exc
    return ray


def _task(fn: VideoFn, video: str, run_dir: str, options: dict[str, Any], stages: list[str] | None,
          threads: int, events: Any, hide_gpus: bool) -> dict[str, Any]:
    """Body of every Ray task: thread limits, status events to the driver's queue, then ``fn``.

    Ray leaves CUDA_VISIBLE_DEVICES alone for tasks that declare no GPU, so ``hide_gpus`` hides them
    (``--device auto`` then means CPU); a worker that ran a GPU task exits after it (Ray's default
    ``max_calls=1`` for GPU tasks), so CUDA is never initialised before this runs.
    """
    import os

    if hide_gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    set_thread_limit(threads)
    if events is not None:
        set_event_sink(lambda key, event, data: events.put_nowait((key, event, data)))
    try:
        if stages is None:
            return fn(video, run_dir, options)
        return fn(video, run_dir, options, stages=stages)
    finally:
        set_event_sink(None)


def _failed(item: BatchItem, kind: str, message: str) -> dict[str, Any]:
    return {"video": str(item.video), "run_dir": str(item.run_dir), "status": "failed", "summary": None,
            "seconds": None, "host": None,
            "error": {"type": kind, "message": " ".join(message.split()), "user_error": False}}


def _connect(ray: Any, address: str | None) -> bool:
    """Connect to (or start) Ray; True when this call started it and must shut it down."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address or None, log_to_driver=False, include_dashboard=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise MsmeshError(f"cannot connect to {where}: {exc}") from exc
    return True


def plan_resources(cluster: dict[str, float], cpus_per_task: float, gpus_per_task: float | None) -> float:
    """The GPUs each GPU task asks for: ``None`` = 1 when the cluster has GPUs, else 0. Impossible
    requests (which Ray would leave pending forever) are InputErrors."""
    gpus = float(cluster.get("GPU", 0))
    cpus = float(cluster.get("CPU", 0))
    if cpus_per_task <= 0:
        raise InputError(f"--cpus-per-task must be > 0, got {cpus_per_task}")
    if cpus_per_task > cpus:
        raise InputError(f"--cpus-per-task {cpus_per_task:g}: the Ray cluster has only {cpus:g} CPU(s)")
    if gpus_per_task is None:
        return 1.0 if gpus >= 1 else 0.0
    if gpus_per_task < 0:
        raise InputError(f"--gpus-per-task must be ≥ 0, got {gpus_per_task}")
    if gpus_per_task > 0 and gpus_per_task > gpus:
        raise InputError(f"--gpus-per-task {gpus_per_task:g}: the Ray cluster has {gpus:g} GPU(s)")
    return float(gpus_per_task)


def run_ray(items: Sequence[BatchItem], options: dict[str, Any], *, address: str | None = None,
            cpus_per_task: float = 1, gpus_per_task: float | None = None,
            gpu_stages: Callable[[dict[str, Any]], list[str]] | None = None, fn: VideoFn = process_video,
            on_event: EventCallback | None = None, on_result: ResultCallback | None = None) \
        -> list[dict[str, Any]]:
    """Process ``items`` as Ray tasks; return one result dict per item, in item order.

    Uses the Ray instance already initialised in this process, else connects to ``address`` ("auto" = the
    running cluster; None = start a local instance, shut down again at the end). ``gpu_stages(options)``
    names the stages of the GPU task (default: the pipeline's stages up to the last GPU stage).
    """
    ray = import_ray()
    started = _connect(ray, address)
    try:
        gpus = plan_resources(ray.cluster_resources(), cpus_per_task, gpus_per_task)
        return _schedule(ray, items, options, cpus_per_task, gpus, gpu_stages, fn, on_event, on_result)
    finally:
        if started:
            ray.shutdown()


def _default_gpu_stages(options: dict[str, Any]) -> list[str]:
    from msmesh.batch.stage_subset import split_gpu_cpu, stage_names
    from msmesh.batch.worker import options_from_dict

    gpu_part, cpu_part = split_gpu_cpu(stage_names(options_from_dict(options)))
    return gpu_part if cpu_part else []  # nothing to hand over to a CPU worker: one GPU task does it all


def _schedule(ray: Any, items: Sequence[BatchItem], options: dict[str, Any], cpus: float, gpus: float,
              gpu_stages: Callable[[dict[str, Any]], list[str]] | None, fn: VideoFn,
              on_event: EventCallback | None, on_result: ResultCallback | None) -> list[dict[str, Any]]:
    from ray.util.queue import Queue

    events = Queue(actor_options={"num_cpus": 0}) if on_event is not None else None
    threads = max(1, int(cpus))
    remote = ray.remote(_task)
    cpu_task = remote.options(num_cpus=cpus, num_gpus=0, max_retries=1)
    split = (gpu_stages or _default_gpu_stages)(options) if gpus > 0 else []
    first = remote.options(num_cpus=cpus, num_gpus=gpus, max_retries=1) if gpus > 0 else cpu_task
    first_stages = split or None  # with GPUs but nothing to split, the single task still gets its GPU

    refs: dict[Any, tuple[BatchItem, str]] = {}
    for item in items:
        ref = first.remote(fn, str(item.video), str(item.run_dir), options, first_stages, threads, events,
                           gpus == 0)
        refs[ref] = (item, "gpu" if split else "all")
    results: dict[BatchItem, dict[str, Any]] = {}
    gpu_results: dict[BatchItem, dict[str, Any]] = {}

    def finish(item: BatchItem, result: dict[str, Any]) -> None:
        if result.get("status") == "ok" and not item.run_dir.is_dir():
            result = _failed(item, "OutputError", f"finished on host {result.get('host')} but its run folder "
                             f"{item.run_dir} is not visible here: --out must be on a filesystem shared by "
                             "all Ray nodes")
        results[item] = result
        if on_result is not None:
            on_result(item, result)

    try:
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1, timeout=_POLL_S)
            _drain(events, on_event)
            for ref in done:
                item, phase = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # the worker died (after a retry) or the task could not run
                    finish(item, _failed(item, type(exc).__name__, str(exc).splitlines()[0] if str(exc)
                                         else repr(exc)))
                    continue
                if phase == "gpu" and result.get("status") == "ok":
                    # Fitting and exports on a CPU worker; the GPU stages resume from the run folder.
                    gpu_results[item] = result
                    next_ref = cpu_task.remote(fn, str(item.video), str(item.run_dir), options, None, threads,
                                               events, True)
                    refs[next_ref] = (item, "all")
                    continue
                finish(item, merge_phases(gpu_results.pop(item, None), result))
        _drain(events, on_event)
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise
    finally:
        if events is not None:
            ray.kill(events.actor)
    return [results[item] for item in items if item in results]


def merge_phases(gpu: dict[str, Any] | None, rest: dict[str, Any]) -> dict[str, Any]:
    """One result from a video's GPU task and its CPU task: times added, the stages that the GPU task ran
    reported with its timings (the CPU task saw them as resumed), both hosts listed."""
    if gpu is None:
        return rest
    merged = dict(rest)
    merged["seconds"] = round((gpu.get("seconds") or 0) + (rest.get("seconds") or 0), 3)
    merged["hosts"] = {"gpu": gpu.get("host"), "cpu": rest.get("host")}
    ran = {s["name"]: s for s in (gpu.get("summary") or {}).get("stages", []) if not s.get("resumed")}
    if merged.get("summary"):
        summary = dict(merged["summary"])
        summary["stages"] = [ran.get(s["name"], s) for s in summary.get("stages", [])]
        merged["summary"] = summary
    return merged


def _drain(events: Any, on_event: EventCallback | None) -> None:
    if events is None or on_event is None:
        return
    n = events.qsize()
    if n:
        for key, event, data in events.get_nowait_batch(n):
            on_event(key, event, data)
