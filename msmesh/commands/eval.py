"""`msmesh eval`: run a benchmark and print a Table-1-style table (or JSON with --json).

Datasets are entries of ``DATASETS``: name → function(body_model, options) → result dict with a ``modes``
table. ``synthetic`` is built in; ava / h36m / 3dpw register themselves from ``msmesh.eval.<name>`` when
those modules exist (each exposes ``run(body_model, **options) -> dict``).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from msmesh.errors import InputError


def _synthetic(bm, seed: int, quick: bool, fit_options: dict[str, Any]) -> dict[str, Any]:
    from msmesh.eval.synthetic import SyntheticConfig, run_benchmark

    cfg = SyntheticConfig(seed=seed)
    if quick:
        cfg = SyntheticConfig(seed=seed, clips=cfg.clips[:2], procedural=1, frames=16)
    return run_benchmark(bm, cfg, **fit_options)


DATASETS: dict[str, Callable[..., dict[str, Any]] | str] = {
    "synthetic": _synthetic,
    "ava": "msmesh.eval.ava",
    "h36m": "msmesh.eval.h36m",
    "3dpw": "msmesh.eval.threedpw",
}
"""Dataset registry: a callable (bm, seed, quick, fit_options) or the module that provides ``run``."""


def resolve_dataset(name: str) -> Callable[..., dict[str, Any]]:
    entry = DATASETS.get(name)
    if entry is None:
        raise InputError(f"unknown dataset {name!r} (expected one of {', '.join(DATASETS)})")
    if callable(entry):
        return entry
    try:
        module = importlib.import_module(entry)
    except ModuleNotFoundError as exc:
        if exc.name != entry:
            raise
        raise InputError(f"dataset {name!r} is not available in this version (only: synthetic)") from exc
    return lambda bm, seed, quick, fit_options: module.run(bm, seed=seed, quick=quick, **fit_options)


def results_table(result: dict[str, Any]) -> Table:
    """Rows: fit modes; columns: PA-MPJPE (all / truncated frames), cross-shot PCK@0.1, time."""
    table = Table(title=f"msmesh eval — {result.get('dataset', '?')}")
    table.add_column("fit mode")
    table.add_column("PA-MPJPE ↓ (mm)", justify="right")
    table.add_column("PA-MPJPE truncated ↓", justify="right")
    table.add_column("cross-shot PCK@0.1 ↑", justify="right")
    table.add_column("time", justify="right")

    def fmt(v: Any, spec: str) -> str:
        return "—" if v is None or v != v else format(v, spec)

    for mode, row in result["modes"].items():
        table.add_row(
            mode,
            fmt(row.get("pa_mpjpe_mm"), ".1f"),
            fmt(row.get("pa_mpjpe_truncated_mm"), ".1f"),
            fmt(100 * row["cross_shot_pck"] if row.get("cross_shot_pck") is not None else None, ".1f"),
            fmt(row.get("seconds"), ".1f") + " s",
        )
    table.caption = (
        f"{result.get('sequences', '?')} sequences, {result.get('frames', '?')} frames "
        f"({result.get('truncated_frames', '?')} truncated), seed {result.get('seed', '?')}"
    )
    return table


def command(
    dataset: str = typer.Option(
        "synthetic",
        "--dataset",
        help="Benchmark: synthetic (generated multi-shot sequences with simulated cuts).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated data."),
    quick: bool = typer.Option(False, "--quick", help="A small set (3 sequences) for a fast check."),
    pose_prior: str = typer.Option(
        "gmm+limits",
        "--prior",
        help="Open pose prior: gmm+limits, gmm, limits, l2 (or a path to SMPLify's gmm_08.pkl).",
    ),
    body_model: str = typer.Option("open", "--body-model", help="open, smpl or a path to a SMPL file."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Evaluate the fitter on a benchmark: PA-MPJPE for frame / shot / multishot fitting (all frames and
    truncated frames) and cross-shot PCK@0.1, like the paper's Table 1."""
    from pathlib import Path

    from msmesh.body import load_body_model

    run = resolve_dataset(dataset)
    bm = load_body_model(body_model)
    options: dict[str, Any] = {}
    if Path(pose_prior).suffix in (".pkl", ".npz"):
        options["pose_prior_path"] = pose_prior
    else:
        options["pose_prior"] = pose_prior
    console = Console(stderr=True)
    with console.status(f"evaluating on {dataset}…", spinner="dots") if not as_json else _null():
        result = run(bm, seed, quick, options)
    if as_json:
        typer.echo(json.dumps(result, indent=1, default=float))
    else:
        Console().print(results_table(result))


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
