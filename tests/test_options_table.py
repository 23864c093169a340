"""The run options are declared once (msmesh.options.OPTIONS) and the run commands read them from there."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
import typer

from msmesh.cli import app
from msmesh.errors import InputError
from msmesh.options import OPTIONS, PipelineOptions


def _params(command: str) -> dict[str, Any]:
    group: Any = typer.main.get_command(app)  # typer's own (vendored) click group
    return {p.name: p for p in group.commands[command].params if p.name}


def test_every_table_row_is_a_pipeline_option_with_the_same_default() -> None:
    names = {f.name: f.default for f in fields(PipelineOptions)}
    assert set(OPTIONS) == set(names)
    assert all(OPTIONS[k].default == names[k] for k in names if k != "init")  # init: the CLI resolves "auto"


@pytest.mark.parametrize("command", ["reconstruct", "batch"])
def test_run_commands_take_every_table_option_with_its_default(command: str) -> None:
    params = _params(command)
    flags = {opt for p in params.values() for opt in p.opts}
    for spec in OPTIONS.values():
        assert spec.flags[0].split("/")[0] in flags
    assert params["fps"].default == OPTIONS["fps"].default and params["glb"].default is True


@pytest.mark.parametrize("field,value,match", [("init", "regres", "unknown init"),
                                               ("shots", "nope", "shot detector"),
                                               ("fit_mode", "multi", "fit mode"), ("fps", 0.0, "--fps")])
def test_validate_rejects_a_typo_in_one_line(field: str, value: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        PipelineOptions(**{field: value}).validate()
