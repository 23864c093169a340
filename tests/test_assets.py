"""Run-time assets: found in the checkout or inside an installed wheel, and actually carried by the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from msmesh.assets import ASSETS_DIR, RUNTIME_PARTS, find_assets_dir

REPO = Path(__file__).resolve().parents[1]


def test_checkout_assets_hold_every_runtime_file() -> None:
    assert ASSETS_DIR == REPO / "assets"
    for rel in ("body/open_smpl_neutral.npz", "priors/open_gmm_08.npz", "priors/deepmimic_smpl.npz",
                "models/movenet/movenet.tflite"):
        assert (ASSETS_DIR / rel).is_file(), rel


def test_packaged_copy_is_used_when_there_is_no_checkout(tmp_path: Path) -> None:
    checkout, packaged = tmp_path / "repo_assets", tmp_path / "msmesh_assets"
    (packaged / "body").mkdir(parents=True)
    assert find_assets_dir((checkout, packaged)) == packaged
    (checkout / "body").mkdir(parents=True)
    assert find_assets_dir((checkout, packaged)) == checkout
    # neither: the checkout's path, so "not found" errors name where the files belong
    assert find_assets_dir((tmp_path / "a", tmp_path / "b")) == tmp_path / "a"


@pytest.mark.slow
def test_wheel_carries_the_runtime_assets(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "msmesh", src / "msmesh", ignore=shutil.ignore_patterns("__pycache__", "_assets"))
    shutil.copytree(REPO / "assets", src / "assets")
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(src)], check=True, capture_output=True)
    (wheel,) = out.glob("msmesh-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for part in RUNTIME_PARTS:
        shipped = {p.relative_to(REPO / "assets").as_posix() for p in (REPO / "assets" / part).rglob("*")
                   if p.is_file()}
        assert shipped, part
        assert {f"msmesh/_assets/{s}" for s in shipped} <= names, part
    assert not any(n.startswith("msmesh/_assets/readme") for n in names)
