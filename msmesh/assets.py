"""Where msmesh's run-time assets live: the open body model, the pose prior and motion clips, MoveNet.

In a source checkout or an editable install they are the repository's top-level ``assets/`` folder; a wheel
carries a copy of the run-time part (``body``, ``priors``, ``models``) inside the package as
``msmesh/_assets`` (``setup.py`` copies it at build time; ``assets/readme`` is documentation and stays out).
Every module asks :func:`asset_path` (or :func:`find_asset` where "not installed" is an answer, not an error)
instead of computing paths of its own.
"""

from __future__ import annotations

from pathlib import Path

from msmesh.errors import ModelUnavailableError

PACKAGED_ASSETS = Path(__file__).resolve().parent / "_assets"
_REPO = Path(__file__).resolve().parents[1]
CHECKOUT_ASSETS = _REPO / "assets"
# searched in this order; the checkout only counts where msmesh/ sits in a source tree (next to pyproject.toml),
# so an unrelated top-level "assets" folder in site-packages is never read by an installed wheel
ASSET_ROOTS = (CHECKOUT_ASSETS, PACKAGED_ASSETS) if (_REPO / "pyproject.toml").is_file() else (PACKAGED_ASSETS,)
RUNTIME_PARTS = ("body", "priors", "models")  # what a wheel carries; keep in step with setup.py


def find_asset(*parts: str, roots: tuple[Path, ...] = ASSET_ROOTS) -> Path | None:
    """``roots[i]/parts...`` for the first root where it exists (file or folder), else None."""
    if not parts:
        raise ValueError("find_asset needs a path inside assets/, e.g. find_asset('body', 'x.npz')")
    for root in roots:
        path = root.joinpath(*parts)
        if path.exists():
            return path
    return None


def asset_path(*parts: str, roots: tuple[Path, ...] = ASSET_ROOTS) -> Path:
    """The installed asset ``assets/<parts...>``: the checkout's copy if there is one, else the wheel's.

    Raises ModelUnavailableError (one line, naming the missing file) when no root holds it.
    """
    path = find_asset(*parts, roots=roots)
    if path is None:
        rel = "/".join(parts)
        raise ModelUnavailableError(
            f"msmesh asset {rel} is missing (looked in {', '.join(str(r) for r in roots)}); reinstall msmesh "
            "(pip install --force-reinstall <the msmesh wheel or source folder>), or in a source checkout "
            f"restore assets/{rel} (git, or the tools/ script named in its folder's PROVENANCE.md)"
        )
    return path
