"""The library entry point: `Pipeline` strings the stages together over one run folder.

    video ─► decode ─► shots ─► detect ─► track ─► reid ─► fit | regress ─► export

Each stage is a small function in its own module; the pipeline only orders them, saves each stage's
output into the run folder and skips a stage whose output files are all still there unchanged *and* were
made from the same inputs and options (recorded in ``run.json``; run_files.py), so a crashed or interrupted
run resumes where it stopped and reaches the same result. A run holds the run folder's lock
(runlock.py): a second writer fails at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Collection
from functools import partial
from pathlib import Path
from typing import Any

from msmesh import run_files, stages
from msmesh.atomic import atomic_write_json
from msmesh.errors import InputError, MsmeshError, OutputError
from msmesh.jsonread import read_json
from msmesh.options import PipelineOptions, ProgressFactory, RunSummary, StageReport
from msmesh.runlock import run_lock

RUN_MANIFEST = "run.json"
RUN_FORMAT = "msmesh/run@1"
def _no_progress(stage: str, total: int | None) -> Callable[[int], None]:
    def advance(n: int = 1) -> None:
        return None

    return advance


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Pipeline:
    """Video → run folder with ``smpl.npz`` for every person (and exports), resumable stage by stage."""

    def __init__(self, video: str | Path, run_dir: str | Path, options: PipelineOptions | None = None,
                 progress: ProgressFactory | None = None) -> None:
        self.video = Path(video)
        self.run_dir = Path(run_dir)
        (options or PipelineOptions()).validate()
        self.options = (options or PipelineOptions()).resolved()  # init "auto" decided once, for the resume keys
        self.progress = progress or _no_progress
        self._manifest: dict[str, Any] = {}

    # ------------------------------------------------------------------ resume bookkeeping

    def _load_manifest(self) -> None:
        path = self.run_dir / RUN_MANIFEST
        self._manifest = {}
        if path.exists():
            try:
                self._manifest = read_json(path, RUN_FORMAT)
            except InputError:  # unreadable or another format: every stage reruns
                self._manifest = {}
        if not isinstance(self._manifest, dict) or not isinstance(self._manifest.get("stages", {}), dict):
            self._manifest = {}
        self._manifest.setdefault("format", RUN_FORMAT)
        self._manifest["stages"] = {k: v for k, v in self._manifest.get("stages", {}).items() if isinstance(v, dict)}

    def _save_manifest(self) -> None:
        atomic_write_json(self.run_dir / RUN_MANIFEST, self._manifest)

    def _stage_key(self, name: str, option_names: tuple[str, ...], inputs: tuple[str, ...]) -> str:
        opts = {k: getattr(self.options, k) for k in option_names}
        deps = {n: self._manifest["stages"].get(n, {}).get("key") for n in inputs}
        return _digest({"stage": name, "options": opts, "inputs": deps, "source": self._source_digest})

    def _run_stage(self, stage: Any, fn: Callable[[], dict[str, int]], plan: list[Any]) -> StageReport:
        name = stage.name
        key = self._stage_key(name, stage.options, stage.inputs)
        done = self._manifest["stages"].get(name, {})
        if done.get("key") == key and all((self.run_dir / o).exists() for o in stage.outputs) and \
                run_files.intact(self.run_dir, done.get("files", {})):
            return StageReport(name, 0.0, True, done.get("counts", {}))
        if done.get("key") not in (None, key):
            self._forget_dependents(name, plan)
        if stage.exports:  # stale exports (other people, options or video) must not outlive this run
            run_files.remove(self.run_dir, run_files.export_files(self.run_dir))
        t0 = time.perf_counter()
        counts = fn()
        seconds = time.perf_counter() - t0
        exports = run_files.export_files(self.run_dir) if stage.exports else []
        self._manifest["stages"][name] = {"key": key, "counts": counts, "seconds": round(seconds, 3),
                                          "files": run_files.fingerprints(self.run_dir, stage.outputs, exports)}
        self._save_manifest()
        return StageReport(name, seconds, False, counts)

    def _forget_dependents(self, name: str, plan: list[Any]) -> None:
        """``name`` reruns with new inputs: the files of every stage built on it are stale; remove them."""
        stale = {name}
        for stage in plan:  # in order, so dependencies come first
            if stage.name not in stale and stale.intersection(stage.inputs):
                stale.add(stage.name)
                entry = self._manifest["stages"].pop(stage.name, {})
                run_files.remove(self.run_dir, [*stage.outputs, *entry.get("files", {})])
        self._save_manifest()

    def _check_video(self) -> None:
        if not self.video.exists():
            raise InputError(f"{self.video}: file not found")
        if not self.video.is_file():
            raise InputError(f"{self.video}: not a file")

    def _prepare_run_dir(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            probe = self.run_dir / f".write_test.{os.getpid()}"  # per process: two runs may start together
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputError(f"cannot write to output folder {self.run_dir}: {exc.strerror or exc}") from exc
        self._source_digest = f"{self.video.resolve()}:{self.video.stat().st_size}:{run_files.sha256_16(self.video)}"

    def _remove_if(self, created: bool) -> None:
        if created and self.run_dir.exists():
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # ------------------------------------------------------------------ the run

    def run(self, only: Collection[str] | None = None) -> RunSummary:
        """Run every stage that is not already done (of those named in ``only``, if given); return what happened.

        ``only`` lets a distributed runner split a video's stages between workers (batch/ray_engine.py): the
        stages left out must be done already or be run later in the same run folder.

        A user error (``MsmeshError``) in a run folder this call created removes that folder again, so a
        failed first run leaves nothing behind; in an existing run folder the finished stages stay for resume.
        """
        created = not self.run_dir.exists()
        try:
            self._check_video()
            stages.preflight(self.options)
            self._prepare_run_dir()
        except MsmeshError:
            self._remove_if(created)
            raise
        with run_lock(self.run_dir):  # a second writer fails here, before touching anything
            try:
                self._load_manifest()  # now that no other process can be writing it
                run_files.remove_temporaries(self.run_dir)  # a killed run's half-written files
                reports: list[StageReport] = []
                plan = stages.plan(self.options)
                for stage in plan:
                    if only is not None and stage.name not in only:
                        continue
                    run = partial(stage.run, self.video, self.run_dir, self.options, self.progress)
                    reports.append(self._run_stage(stage, run, plan))
            except MsmeshError:
                self._remove_if(created)
                raise
        return stages.summarize(self.run_dir, reports)
