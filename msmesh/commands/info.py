"""`msmesh info`: what this installation can do — version, compute device, body models, caches."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from msmesh import __version__


def _body_models() -> dict[str, str]:
    try:
        from msmesh.body import available_body_models
    except ImportError:
        return {}
    return {name: (str(path) if path else "not installed") for name, path in available_body_models().items()}


def _hub_cache() -> str:
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - huggingface_hub is a runtime dependency
        return "huggingface_hub not installed"
    offline = " (offline: HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE else ""
    return f"{constants.HF_HUB_CACHE}{offline}"


def collect_info() -> dict[str, str]:
    """Facts about this installation, as label → value."""
    import torch

    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} device(s))"
    else:
        device = "cpu (no CUDA device found)"
    info = {
        "msmesh": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device (--device auto)": device,
        "cpu threads": str(torch.get_num_threads()),
    }
    for name, where in _body_models().items():
        info[f"body model '{name}'"] = where
    info["Hugging Face cache"] = _hub_cache()
    info["SMPL folder (MSMESH_SMPL_DIR)"] = os.environ.get("MSMESH_SMPL_DIR", "not set")
    info["package folder"] = str(Path(__file__).resolve().parents[1])
    return info


def command() -> None:
    """Show the version, torch and CUDA device, the body models available and the cache folders."""
    table = Table(title=f"msmesh {__version__}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for key, value in collect_info().items():
        table.add_row(key, value)
    Console().print(table)
    raise typer.Exit(0)
