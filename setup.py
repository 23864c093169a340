"""Build hook: a wheel carries the run-time assets (assets/body, assets/priors, assets/models) as
msmesh/_assets, so a non-editable install works offline. assets/readme (README images) stays out; an
editable install reads the checkout's assets/ directly. Everything else is in pyproject.toml."""

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
        shutil.rmtree(target, ignore_errors=True)  # no stale files from an earlier build in build/lib
        for part in RUNTIME_PARTS:
            if not (source / part).is_dir():
                raise FileNotFoundError(f"{source / part} is missing: a wheel without it would not run offline")
            shutil.copytree(source / part, target / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store"))


setup(cmdclass={"build_py": BuildPyWithAssets})
