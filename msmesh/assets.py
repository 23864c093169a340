"""Where msmesh's run-time assets live: the open body model, the pose prior and motion clips, MoveNet.

In a source checkout or an editable install they are the repository's top-level ``assets/`` folder; a wheel
carries a copy of the run-time part (``body``, ``priors``, ``models``) inside the package as
``msmesh/_assets`` (``setup.py`` copies it at build time). Every module asks :data:`ASSETS_DIR` instead of
computing paths of its own.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED_ASSETS = Path(__file__).resolve().parent / "_assets"
CHECKOUT_ASSETS = Path(__file__).resolve().parents[1] / "assets"
RUNTIME_PARTS = ("body", "priors", "models")  # what a wheel carries (assets/readme is documentation only)


def find_assets_dir(candidates: tuple[Path, ...] = (CHECKOUT_ASSETS, PACKAGED_ASSETS)) -> Path:
    """The first candidate that holds the body model folder; the checkout's path when none does (so that
    "file not found" messages name where the assets belong)."""
    for cand in candidates:
        if (cand / "body").is_dir():
            return cand
    return candidates[0]


ASSETS_DIR = find_assets_dir()
