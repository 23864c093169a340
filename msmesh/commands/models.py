"""`msmesh models list|download`: the regressor weights registry and pre-fetching into the Hub cache."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from msmesh.errors import InputError
from msmesh.regress import hub

app = typer.Typer(no_args_is_help=True, help="List or pre-download regressor weights from the Hugging Face Hub.")


@app.command("list")
def list_models() -> None:
    """Show where each model's default weights come from: the package copy (offline, used first) and the
    Hub mirror (repository, pinned revision, whether uploaded and cached)."""
    table = Table("name", "kind", "used from", "package copy", "Hub mirror", "revision", "cached", "description")
    for entry in hub.registry().values():
        shipped = hub.shipped_path(entry)
        cached = hub.cached_path(entry)
        used = "package" if shipped else ("Hub cache" if cached else ("Hub" if entry.published else "—"))
        table.add_row(entry.name, entry.kind, used, str(shipped) if shipped else "not installed", entry.repo_id,
                      (entry.revision or "not uploaded")[:12], str(cached) if cached else "no", entry.source)
    console = Console()
    console.print(table)
    console.print(f"Hub cache: {hub.hub_cache_dir()}  (HF_HUB_CACHE / HF_HOME; HF_HUB_OFFLINE="
                  f"{'1' if hub.hub_offline() else '0'})")


@app.command("download")
def download(names: Annotated[list[str] | None, typer.Argument(
        help="Registry names (default: all published ones).")] = None) -> None:
    """Fetch weights into the Hub cache so later runs work offline."""
    wanted = names or [n for n, e in hub.registry().items() if e.published]
    if not wanted:
        raise InputError("no weights are uploaded to the Hub mirror yet (see `msmesh models list`); the package "
                         "ships msmesh's own, which need no download")
    console = Console()
    for name in wanted:
        if name not in hub.registry():
            raise InputError(f"unknown model {name!r} (known: {', '.join(hub.registry())})")
        folder = hub.download(hub.registry()[name])
        console.print(f"{name}: {folder}")
