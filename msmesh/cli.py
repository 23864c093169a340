"""The `msmesh` command line: a thin Typer shell over the library.

Each command lives in ``msmesh/commands/<name>.py`` as a plain function; this module only registers
them, adds ``--version``, and turns every ``MsmeshError`` into one line on stderr and exit code 2.
"""

from __future__ import annotations

import functools
import importlib
import sys
import warnings
from collections.abc import Callable
from typing import Annotated, Any

import typer

from msmesh import __version__

try:  # typer >= 0.20 vendors click as typer._click; older releases use click itself
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException as _ClickException  # type: ignore[assignment]

from msmesh.errors import MsmeshError, MsmeshWarning

app = typer.Typer(
    name="msmesh",
    help="Recover 3D human body meshes (SMPL) from edited video with shot cuts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# name -> (module under msmesh.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "reconstruct": ("reconstruct", "Video → SMPL for every person, with the multi-shot optimizer."),
    "regress": ("regress", "Video → SMPL with the pretrained HMR / t-HMMR regressors."),
    "fit": ("fit", "Fit SMPL to a tracks.json (2D keypoints) with the multi-shot optimizer."),
    "eval": ("eval", "Evaluate on a benchmark (synthetic, AVA, Human3.6M, 3DPW)."),
    "export": ("export", "Export a run folder's smpl.npz to OBJ / GLB / JSON / overlay video."),
    "convert": ("convert", "Convert OpenPose BODY_25 or COCO-results keypoints into a tracks.json."),
    "info": ("info", "Show version, device, body models and cache folders."),
    "models": ("models", "List or pre-download regressor weights from the Hugging Face Hub."),
    "train": ("train", "Train HMR / t-HMMR on run folders (multi-shot pseudo-ground truth)."),
    "batch": ("batch", "Process many videos, locally or on a Ray cluster."),
}


class _Interrupted(Exception):
    """Ctrl-C inside a command, carried past Typer (which turns KeyboardInterrupt into a silent exit 130)."""


def _interruptible(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise _Interrupted() from exc

    return command


def _register() -> None:
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"msmesh.commands.{module_name}")
        sub = getattr(module, "app", None)
        if isinstance(sub, typer.Typer):
            for info in sub.registered_commands:
                if info.callback is not None:
                    info.callback = _interruptible(info.callback)
            app.add_typer(sub, name=name, help=help_text)
        else:
            app.command(name, help=(module.command.__doc__ or help_text))(_interruptible(module.command))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"msmesh {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """msmesh: human mesh recovery (SMPL) from films and other edited video, across shot cuts."""


_register()


_show_warning = warnings.showwarning


def _one_line_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    if issubclass(category, MsmeshWarning):
        print(f"msmesh: warning: {' '.join(str(message).split())}", file=sys.stderr)
    else:
        _show_warning(message, category, *args, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app; user errors become one line and exit code 2."""
    from msmesh.commands.eval import legacy_argv

    warnings.showwarning = _one_line_warning
    try:
        result = app(args=legacy_argv(list(sys.argv[1:] if argv is None else argv)), standalone_mode=False)
    except MsmeshError as exc:
        print(f"msmesh: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except _Interrupted:
        print("msmesh: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except typer.Abort:
        print("msmesh: aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("msmesh: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except _ClickException as exc:  # usage errors: unknown option, bad value, missing argument
        exc.show()
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
