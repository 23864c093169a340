"""The local batch engine and `run_batch` with an injected per-video function (no pipeline needed).

The fake per-video functions below are top-level so that the spawned worker processes can import them;
they write a run folder the way the pipeline does and report what the worker looked like (pid, torch
threads), so the tests measure the engine: parallelism, thread limits, failure isolation, resume.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from msmesh.batch import BatchListener, run_batch
from msmesh.batch.inputs import BatchItem
from msmesh.batch.local import run_local, threads_per_job
from msmesh.batch.worker import process_video, progress_factory
from msmesh.errors import InputError
from msmesh.options import PipelineOptions

SLEEP_S = 0.6


def fake_video(video: str, run_dir: str, options: dict[str, Any]) -> dict[str, Any]:
    """Stands in for process_video: 'CORRUPT' files fail like a bad video, 'CRASH' kills the worker;
    'torch' files also report the worker's torch threads (importing torch costs seconds per worker)."""
    data = Path(video).read_bytes()
    if data.startswith(b"CRASH"):
        os._exit(3)  # what a segfault in a native decoder looks like to the pool
    started = time.time()
    advance = progress_factory(run_dir)("fake", 2)
    time.sleep(SLEEP_S)
    advance(2)
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    worker = {"pid": os.getpid(), "started": started, "ended": time.time()}
    if b"torch" in data:
        from msmesh.batch.worker import apply_thread_limit

        apply_thread_limit()  # what process_video does before running the pipeline
        import torch

        worker["threads"] = torch.get_num_threads()
    (Path(run_dir) / "worker.json").write_text(json.dumps(worker))
    result = {"video": video, "run_dir": run_dir, "host": "here", "seconds": round(time.time() - started, 3),
              "error": None, "summary": None}
    if data.startswith(b"CORRUPT"):
        return {**result, "status": "failed",
                "error": {"type": "VideoError", "message": f"{video}: cannot decode", "user_error": True}}
    (Path(run_dir) / "run.json").write_text(json.dumps({"fps": options["fps"]}))
    return {**result, "status": "ok", "summary": {"shots": 1, "people": 1, "frames_fitted": 2, "stages": []}}


class Recorder(BatchListener):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.results: dict[str, dict[str, Any]] = {}

    def event(self, key: str, event: str, data: dict[str, Any]) -> None:
        self.events.append((Path(key).name, event))

    def result(self, item: BatchItem, entry: dict[str, Any]) -> None:
        self.results[item.name] = entry


def _videos(folder: Path, contents: dict[str, bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in contents.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def test_threads_per_job() -> None:
    assert threads_per_job(1, cores=8) == 8
    assert threads_per_job(3, cores=8) == 2
    assert threads_per_job(4, cores=2) == 1


def test_two_jobs_run_in_parallel_and_a_failure_does_not_stop_the_rest(tmp_path: Path) -> None:
    _videos(tmp_path / "in", {"a.mp4": b"ok torch", "b.mp4": b"CORRUPT", "c.mp4": b"ok torch",
                                     "d.mp4": b"ok torch"})
    listener = Recorder()
    outcome = run_batch([tmp_path / "in"], tmp_path / "out", PipelineOptions(fps=2), jobs=2,
                        fn=fake_video, listener=listener)
    assert (outcome.total, outcome.ok, outcome.failed, outcome.skipped) == (4, 3, 1, 0)
    report = json.loads((tmp_path / "out" / "batch_report.json").read_text())
    entries = {e["name"]: e for e in report["videos"]}
    assert entries["b"]["status"] == "failed" and entries["b"]["error"]["type"] == "VideoError"
    assert all(entries[n]["status"] == "ok" for n in "acd")
    assert report["counts"] == {"ok": 3, "failed": 1} and report["options"]["fps"] == 2
    assert report["engine"] == "local" and report["jobs"] == 2
    # Two worker processes, overlapping in time, each with cores // 2 torch threads.
    workers = [json.loads((tmp_path / "out" / n / "worker.json").read_text()) for n in "abcd"]
    assert len({w["pid"] for w in workers}) == 2
    spans = sorted((w["started"], w["ended"]) for w in workers)
    assert any(spans[i + 1][0] < spans[i][1] for i in range(len(spans) - 1))
    assert {w["threads"] for w in workers if "threads" in w} == {threads_per_job(2)}
    # The workers' status events reached the driver for every video.
    assert {name for name, ev in listener.events if ev == "stage"} == {"a", "b", "c", "d"}
    assert {name for name, ev in listener.events if ev == "advance"} == {"a", "b", "c", "d"}


def test_rerun_skips_finished_videos_and_retries_failed_ones(tmp_path: Path) -> None:
    a, b = _videos(tmp_path / "in", {"a.mp4": b"ok", "b.mp4": b"CORRUPT"})
    run_batch([a, b], tmp_path / "out", PipelineOptions(fps=2), jobs=1, fn=fake_video)
    b.write_bytes(b"ok now")
    listener = Recorder()
    outcome = run_batch([a, b], tmp_path / "out", PipelineOptions(fps=2), jobs=1, fn=fake_video,
                        listener=listener)
    assert (outcome.skipped, outcome.ok, outcome.failed) == (1, 1, 0)
    assert set(listener.results) == {"b"}
    report = json.loads((tmp_path / "out" / "batch_report.json").read_text())
    assert {e["name"]: e["attempts"] for e in report["videos"]} == {"a": 1, "b": 2}
    # Other options: nothing is skipped at batch level (the pipeline resumes per stage instead).
    outcome = run_batch([a, b], tmp_path / "out", PipelineOptions(fps=3), jobs=1, fn=fake_video)
    assert (outcome.skipped, outcome.ok) == (0, 2)


def test_a_video_that_kills_its_worker_is_recorded_and_the_rest_finish(tmp_path: Path) -> None:
    items = [BatchItem(p, tmp_path / "out" / p.stem) for p in
             _videos(tmp_path / "in", {"a.mp4": b"ok", "crash.mp4": b"CRASH", "c.mp4": b"ok"})]
    results = run_local(items, {"fps": 2}, jobs=2, fn=fake_video)
    by_name = {Path(r["run_dir"]).name: r for r in results}
    assert by_name["a"]["status"] == "ok" and by_name["c"]["status"] == "ok"
    assert by_name["crash"]["status"] == "failed" and by_name["crash"]["error"]["type"] == "WorkerDied"


def test_bad_arguments_fail_before_any_work(tmp_path: Path) -> None:
    (a,) = _videos(tmp_path / "in", {"a.mp4": b"ok"})
    with pytest.raises(InputError, match="--jobs"):
        run_batch([a], tmp_path / "out", PipelineOptions(), jobs=0, fn=fake_video)
    with pytest.raises(InputError, match="--fps"):
        run_batch([a], tmp_path / "out", PipelineOptions(fps=-1), fn=fake_video)
    with pytest.raises(InputError, match="engine"):
        run_batch([a], tmp_path / "out", PipelineOptions(), engine="slurm", fn=fake_video)
    assert not (tmp_path / "out").exists()


def test_process_video_turns_errors_into_results(tmp_path: Path) -> None:
    video = str(tmp_path / "a.mp4")
    bad = process_video(video, str(tmp_path / "out"), {"fps": -1.0})
    assert bad["status"] == "failed" and bad["error"]["type"] == "InputError" and bad["error"]["user_error"]
    assert "--fps" in bad["error"]["message"] and bad["seconds"] >= 0
    unknown = process_video(video, str(tmp_path / "out"), {"fsp": 2.0})
    assert unknown["error"]["type"] == "InputError" and "fsp" in unknown["error"]["message"]
    bug = process_video(video, str(tmp_path / "out"), {"fps": "fast"})  # not a user error: has a traceback
    assert bug["error"]["type"] == "TypeError" and not bug["error"]["user_error"]
    assert "Traceback" in bug["error"]["traceback"]
