"""Rich progress bars and the run summary table, shared by `reconstruct`, `regress` and `batch`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from msmesh.options import RunSummary


@contextmanager
def rich_progress(console: Console | None = None, enabled: bool = True) \
        -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    """Yield a pipeline progress factory: ``factory(stage, total) → advance(n)``, one bar per stage."""
    console = console or Console(stderr=True)
    if not enabled:
        def nothing(n: int = 1) -> None:
            return None

        yield lambda stage, total: nothing
        return
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        def factory(stage: str, total: int | None) -> Callable[[int], None]:
            task = progress.add_task(stage, total=total)

            def advance(n: int = 1) -> None:
                progress.advance(task, n)

            return advance

        yield factory


def summary_table(summary: RunSummary, title: str = "msmesh run") -> Table:
    """Shots, people, frames fitted and the time per stage (resumed stages marked)."""
    table = Table(title=f"{title}: {summary.run_dir}")
    table.add_column("stage")
    table.add_column("time", justify="right")
    table.add_column("result")
    for s in summary.stages:
        counts = ", ".join(f"{k} {v}" for k, v in s.counts.items())
        table.add_row(s.name, "resumed" if s.resumed else f"{s.seconds:.1f} s", counts)
    table.caption = (f"{summary.shots} shot(s), {summary.people} person(s), "
                     f"{summary.frames_fitted} frame(s) fitted")
    return table
