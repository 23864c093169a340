"""Rich progress for `msmesh batch`: one overall bar, one line per running video, one line per result.

Running videos show their current pipeline stage and its progress (sent by the workers); a finished
video leaves a ✓ / ✗ line above the bars, so a long batch keeps a readable log of what happened.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from msmesh.batch.inputs import BatchItem
from msmesh.batch.runner import BatchListener


class RichBatchDisplay(BatchListener):
    """A BatchListener drawing rich progress; use as a context manager around ``run_batch``."""

    def __init__(self, console: Console | None = None, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}", style="bold"),
                                 TextColumn("{task.fields[stage]}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, transient=False)
        self.overall: TaskID | None = None
        self.running: dict[str, TaskID] = {}
        self.started: dict[str, float] = {}

    def __enter__(self) -> RichBatchDisplay:
        return self  # the display starts with the first batch (begin): an input error draws nothing

    def __exit__(self, *exc: object) -> None:
        if self.progress.live.is_started:
            self.progress.stop()

    def begin(self, items: Sequence[BatchItem], skipped: Sequence[BatchItem]) -> None:
        if not self.enabled:
            return
        self.progress.start()
        self.overall = self.progress.add_task("videos", total=len(items), completed=len(skipped),
                                              stage="")
        if skipped:
            self.progress.console.print(f"{len(skipped)} video(s) already done in an earlier run: skipped")

    def _task(self, key: str) -> TaskID:
        if key not in self.running:
            self.started[key] = time.monotonic()
            self.running[key] = self.progress.add_task(f"  {escape(Path(key).name)}", total=None,
                                                       stage="starting")
        return self.running[key]

    def event(self, key: str, event: str, data: dict[str, Any]) -> None:
        if not self.enabled:
            return
        task = self._task(key)
        if event == "stage":
            self.progress.update(task, stage=escape(str(data.get("stage", ""))), total=data.get("total"),
                                 completed=0)
        elif event == "advance":
            self.progress.update(task, completed=data.get("done", 0), total=data.get("total"))

    def result(self, item: BatchItem, entry: dict[str, Any]) -> None:
        if not self.enabled:
            return
        key = str(item.run_dir)
        if key in self.running:
            self.progress.remove_task(self.running.pop(key))
        seconds = entry.get("seconds")
        took = f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
        if entry["status"] == "ok":
            s = entry.get("summary") or {}
            self.progress.console.print(
                f"[green]✓[/] {escape(item.name)}  {took}  {s.get('shots', 0)} shot(s), "
                f"{s.get('people', 0)} person(s), {s.get('frames_fitted', 0)} frame(s) fitted")
        else:
            err = entry.get("error") or {}
            what = f"{err.get('type', 'Error')}: {err.get('message', '')}"
            self.progress.console.print(f"[red]✗[/] {escape(item.name)}  {took}  {escape(what)}")
        if self.overall is not None:
            self.progress.advance(self.overall)
