"""The CLI shell: version, info, unknown options and user errors exit 2 with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from msmesh import __version__
from msmesh.cli import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "msmesh.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"msmesh {__version__}"


def test_info_lists_device_and_caches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "device" in out and "Hugging Face cache" in out


def test_unknown_option_exits_2_without_traceback() -> None:
    proc = _run("--no-such-flag")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "No such option" in proc.stderr


def test_help_lists_every_command() -> None:
    proc = _run("--help")
    assert proc.returncode == 0
    for name in ("reconstruct", "regress", "fit", "eval", "export", "info"):
        assert name in proc.stdout


def test_device_resolution() -> None:
    import torch

    from msmesh.device import resolve_device
    from msmesh.errors import InputError

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA"):
            resolve_device("cuda")


def test_a_command_exit_code_reaches_the_shell() -> None:
    import typer

    from msmesh.cli import app

    @app.command("exit-three", hidden=True)
    def _exit_three() -> None:
        raise typer.Exit(3)

    try:
        assert main(["exit-three"]) == 3
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands if c.name != "exit-three"]
