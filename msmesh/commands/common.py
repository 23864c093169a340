"""What the run commands (`reconstruct`, `regress`, `batch`) share: their Typer options, read from the one
table in ``msmesh.options.OPTIONS``, and the step from parsed values to a validated ``PipelineOptions``."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from msmesh.options import OPTIONS, PipelineOptions


def run_option(name: str, *, help: str | None = None) -> Any:
    """The ``typer.Option`` of the run option ``name`` (flags and help from the table; ``help`` overrides)."""
    spec = OPTIONS[name]
    return typer.Option(*spec.flags, help=help or spec.help)


def run_default(name: str) -> Any:
    """The command-line default of the run option ``name`` (an enum member for a choice)."""
    spec = OPTIONS[name]
    return spec.choices(spec.default) if spec.choices is not None else spec.default


def pipeline_options(**values: Any) -> PipelineOptions:
    """Validated ``PipelineOptions`` from parsed command-line values: enums become their values, paths
    strings. ``init`` stays as given (``auto`` too): the Pipeline and ``run_batch`` resolve it, as they do
    for library callers."""
    plain: dict[str, Any] = {k: (v.value if isinstance(v, Enum) else str(v) if isinstance(v, Path) else v)
                             for k, v in values.items()}
    options = PipelineOptions(**plain)
    options.validate()
    return options
