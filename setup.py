"""Build hook: a wheel carries the run-time assets (assets/body, assets/priors, assets/models) as
msmesh/_assets, so a non-editable install works offline. Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RUNTIME_PARTS = ("body", "priors", "models")  # keep in step with msmesh/assets.py


class BuildPyWithAssets(build_py):
    """build_py, then copy the repository's run-time assets into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout's assets/
            return
        source = Path(__file__).resolve().parent / "assets"
        target = Path(self.build_lib) / "msmesh" / "_assets"
        for part in RUNTIME_PARTS:
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithAssets})
