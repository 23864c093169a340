"""What the run commands (`reconstruct`, `regress`, `batch`) share: their Typer options, read from the one
table in ``msmesh.options.OPTIONS`` (``with_run_options``), and the step from parsed values to a validated
``PipelineOptions``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from msmesh.options import OPTIONS, PipelineOptions

RUN_OPTIONS = tuple(OPTIONS)
PARAM_NAMES = {"video": "video_out"}  # a run option's Python parameter name where its field name is taken (VIDEO)
LAST_PARAMS = ("quiet",)  # a command's own parameters that --help lists after the run options
RunFolder = Annotated[Path | None, typer.Option("--out", "-o", help="Run folder (default: runs/<video name>).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def run_option(name: str, *, help: str | None = None) -> Any:
    """The ``typer.Option`` of the run option ``name`` (flags and help from the table; ``help`` overrides)."""
    spec = OPTIONS[name]
    return typer.Option(*spec.flags, help=help or spec.help)


def run_default(name: str) -> Any:
    """The command-line default of the run option ``name`` (an enum member for a choice)."""
    spec = OPTIONS[name]
    return spec.choices(spec.default) if spec.choices is not None else spec.default


def with_run_options(names: tuple[str, ...] = RUN_OPTIONS, *,
                     help: Mapping[str, str] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a Typer command the run options ``names`` after its own parameters (but before ``--quiet``), with
    flags, type, default and help from OPTIONS (``help`` overrides a text for this command). The command takes
    their values as one keyword argument ``run``, a dict keyed by ``PipelineOptions`` field, ready for
    ``pipeline_options(**run)``."""
    helps = dict(help or {})
    params = {name: PARAM_NAMES.get(name, name) for name in names}

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "run"]
        added = [_parameter(name, param, helps.get(name)) for name, param in params.items()]

        @functools.wraps(command)
        def with_options(*args: Any, **kwargs: Any) -> Any:
            run = {name: kwargs.pop(param) for name, param in params.items() if param in kwargs}
            return command(*args, **kwargs, run=run)

        last = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own if p.name in LAST_PARAMS]
        first = [p for p in own if p.name not in LAST_PARAMS]
        signature = inspect.Signature([*first, *added, *last], return_annotation=None)
        with_options.__signature__ = signature  # type: ignore[attr-defined]  # what Typer reads
        with_options.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
        return with_options

    return decorate


def _parameter(name: str, param: str, help: str | None) -> inspect.Parameter:
    annotation: Any = Annotated[OPTIONS[name].cli_type(), run_option(name, help=help)]
    return inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, default=run_default(name), annotation=annotation)


def pipeline_options(**values: Any) -> PipelineOptions:
    """Validated ``PipelineOptions`` from parsed command-line values: enums become their values, paths
    strings. ``init`` stays as given (``auto`` too): the Pipeline and ``run_batch`` resolve it, as they do
    for library callers."""
    plain: dict[str, Any] = {k: (v.value if isinstance(v, Enum) else str(v) if isinstance(v, Path) else v)
                             for k, v in values.items()}
    options = PipelineOptions(**plain)
    options.validate()
    return options
