"""Run-time assets: found in the checkout or inside an installed wheel, and actually carried by the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from msmesh.assets import ASSET_ROOTS, RUNTIME_PARTS, asset_path, find_asset
from msmesh.errors import ModelUnavailableError

REPO = Path(__file__).resolve().parents[1]
RUNTIME_FILES = ("body/open_smpl_neutral.npz", "priors/open_gmm_08.npz", "priors/deepmimic_smpl.npz",
                 "models/movenet/movenet.tflite", "models/movenet/SHA256SUMS",
                 "models/blazepose/pose_detection.tflite", "models/blazepose/pose_landmark_full.tflite",
                 "models/blazepose/SHA256SUMS")


def test_checkout_assets_hold_every_runtime_file() -> None:
    assert ASSET_ROOTS[0] == REPO / "assets"  # a checkout reads its own top-level assets/ first
    for rel in RUNTIME_FILES:
        path = asset_path(*rel.split("/"))
        assert path == REPO / "assets" / rel
        assert path.is_file() and path.stat().st_size > 0, rel


def test_modules_resolve_their_assets_through_asset_path() -> None:
    from msmesh.body.model import open_model_path
    from msmesh.eval.motion import clip_names
    from msmesh.fit.prior import open_gmm_path
    from msmesh.people import movenet

    assert open_model_path() == REPO / "assets/body/open_smpl_neutral.npz"
    assert open_gmm_path() == REPO / "assets/priors/open_gmm_08.npz"
    assert movenet.ASSET_DIR == REPO / "assets/models/movenet"
    assert len(clip_names()) >= 4


def test_missing_asset_raises_one_line_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        asset_path("priors", "no_such_prior.npz")
    message = info.value.one_line()
    assert "priors/no_such_prior.npz" in message and "reinstall msmesh" in message
    assert str(info.value) == message  # already one line
    assert find_asset("priors", "no_such_prior.npz") is None
    with pytest.raises(ModelUnavailableError, match="body/open_smpl_neutral.npz"):
        asset_path("body", "open_smpl_neutral.npz", roots=(tmp_path / "a", tmp_path / "b"))


def test_packaged_copy_is_used_when_the_checkout_lacks_it(tmp_path: Path) -> None:
    checkout, packaged = tmp_path / "repo_assets", tmp_path / "msmesh_assets"
    (packaged / "body").mkdir(parents=True)
    (packaged / "body" / "m.npz").write_bytes(b"x")
    roots = (checkout, packaged)
    assert asset_path("body", "m.npz", roots=roots) == packaged / "body" / "m.npz"
    (checkout / "body").mkdir(parents=True)
    (checkout / "body" / "m.npz").write_bytes(b"y")
    assert asset_path("body", "m.npz", roots=roots) == checkout / "body" / "m.npz"
    assert asset_path("body", roots=roots) == checkout / "body"  # folders too


@pytest.mark.slow
def test_wheel_carries_the_runtime_assets(tmp_path: Path) -> None:
    pytest.importorskip("setuptools", minversion="77")  # the build backend pyproject.toml asks for
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
    with zipfile.ZipFile(wheel) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    for part in RUNTIME_PARTS:
        shipped = {p.relative_to(REPO / "assets").as_posix(): p.stat().st_size
                   for p in (REPO / "assets" / part).rglob("*") if p.is_file()}
        assert shipped, part
        for rel, size in shipped.items():
            assert infos[f"msmesh/_assets/{rel}"].file_size == size, rel
    assert not any(n.startswith("msmesh/_assets/readme") for n in infos)
    assert not any(n.startswith("assets/") for n in infos)  # no stray top-level folder in site-packages
