"""What the run commands (`reconstruct`, `regress`, `batch`) share: their Typer options, read from the one
table in ``msmesh.options.OPTIONS``, and the step from parsed values to a validated ``PipelineOptions``."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from msmesh.options import OPTIONS, Init, Method, PipelineOptions


def run_option(name: str, *, help: str | None = None) -> Any:
    """The ``typer.Option`` of the run option ``name`` (flags and help from the table; ``help`` overrides)."""
    spec = OPTIONS[name]
    return typer.Option(*spec.flags, help=help or spec.help)


def run_default(name: str) -> Any:
    """The command-line default of the run option ``name`` (an enum member for a choice)."""
    spec = OPTIONS[name]
    return spec.choices(spec.default) if spec.choices is not None else spec.default


def resolve_init(init: str, weights: str | None) -> str:
    """``auto`` → ``regress`` when regressor weights are at hand (--weights, the package copy, the Hub
    cache), else ``heuristic``."""
    if init != Init.auto.value:
        return init
    from msmesh.regress.hub import default_weights_available

    return "regress" if weights is not None or default_weights_available(temporal=True) else "heuristic"


def pipeline_options(**values: Any) -> PipelineOptions:
    """``PipelineOptions`` from parsed command-line values: enums become their values, paths strings, and
    ``init`` is resolved (``auto``; only the optimizer uses it)."""
    plain: dict[str, Any] = {k: (v.value if isinstance(v, Enum) else str(v) if isinstance(v, Path) else v)
             for k, v in values.items()}
    if "init" in plain:
        optimize = plain.get("method", Method.optimize.value) == Method.optimize.value
        plain["init"] = resolve_init(plain["init"], plain.get("weights")) if optimize else Init.heuristic.value
    options = PipelineOptions(**plain)
    options.validate()
    return options
