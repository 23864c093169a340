"""The Hub mirror table (MIRROR.json) and tools/publish_regressors.py against an in-memory stand-in for the Hub.

Nothing can be uploaded from here; the stand-in records what the tool sends and serves it back, so what is
tested is msmesh's side: what gets uploaded, that the download-back check catches a bad upload, and that a
pinned revision then loads offline through huggingface_hub from the Hub cache layout.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from msmesh.errors import ModelUnavailableError
from msmesh.regress import hub

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("publish_regressors", ROOT / "tools" / "publish_regressors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeHub:
    """Records create_repo / upload_folder; a commit id is the sha1 of the uploaded bytes; serves files back."""

    def __init__(self, corrupt: str | None = None) -> None:
        self.repos: set[str] = set()
        self.files: dict[tuple[str, str, str], bytes] = {}
        self.corrupt = corrupt

    def create_repo(self, repo_id, token=None, private=False, exist_ok=False):  # noqa: ANN001, ANN201
        assert exist_ok
        self.repos.add(repo_id)

    def upload_folder(self, repo_id, folder_path, token=None, commit_message=None):  # noqa: ANN001, ANN201
        assert repo_id in self.repos
        blobs = {p.name: p.read_bytes() for p in sorted(Path(folder_path).iterdir())}
        oid = hashlib.sha1(b"".join(blobs.values())).hexdigest()
        for name, data in blobs.items():
            if name == self.corrupt:
                data = data[:-1] + bytes([data[-1] ^ 1])
            self.files[(repo_id, oid, name)] = data
        return SimpleNamespace(oid=oid)

    def download(self, repo_id, filename, revision, cache_dir, token=None):  # noqa: ANN001, ANN201
        """Write the file where huggingface_hub's cache would hold it; return that path."""
        snap = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}" / "snapshots" / revision
        snap.mkdir(parents=True, exist_ok=True)
        (snap / filename).write_bytes(self.files[(repo_id, revision, filename)])
        return str(snap / filename)


def _mirror(tmp_path: Path) -> Path:
    path = tmp_path / "MIRROR.json"
    path.write_text((ROOT / "assets" / "models" / "regress" / "MIRROR.json").read_text())
    return path


def test_shipped_mirror_table_is_consistent_with_the_registry():
    table = json.loads((ROOT / "assets" / "models" / "regress" / "MIRROR.json").read_text())
    for name, entry in hub.registry().items():
        assert entry.repo_id == table[name]["repo_id"]
        assert entry.revision == table[name]["revision"] and entry.published == (entry.revision is not None)


def test_publish_uploads_checks_and_pins_then_loads_offline(tmp_path, monkeypatch):
    fake, mirror = FakeHub(), _mirror(tmp_path)
    pinned = _tool().publish(["hmr", "thmmr"], fake, fake.download, mirror)
    assert set(pinned) == {"hmr", "thmmr"} and all(hub.is_commit(r) for r in pinned.values())
    for name, revision in pinned.items():
        repo = hub.registry()[name].repo_id
        uploaded = {f for (r, rev, f) in fake.files if r == repo and rev == revision}
        assert uploaded == {"model.safetensors", "config.json", "README.md"}
        assert "license: apache-2.0" in fake.files[(repo, revision, "README.md")].decode()
    registry = hub.load_registry(mirror)
    assert all(registry[n].published and registry[n].revision == r for n, r in pinned.items())

    # an install without the package copy now loads the pinned revision from the Hub cache, offline
    cache = tmp_path / "hub-cache"
    for filename in hub.registry()["thmmr"].files:
        fake.download(registry["thmmr"].repo_id, filename, pinned["thmmr"], str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = dataclasses.replace(registry["thmmr"], package="models/regress/not-there")
    model = hub.load_regressor(temporal=True, entry=entry)
    assert model.config.kind == "thmmr" and hub.cached_path(entry, cache) is not None


def test_a_bad_upload_is_caught_and_nothing_is_pinned(tmp_path):
    fake, mirror = FakeHub(corrupt="model.safetensors"), _mirror(tmp_path)
    before = mirror.read_text()
    with pytest.raises(SystemExit, match="sha256"):
        _tool().publish(["hmr"], fake, fake.download, mirror)
    assert mirror.read_text() == before


@pytest.mark.parametrize("text", ['{"hmr": {"repo_id": "a/b", "revision": "main"}}', "[1]", "{not json"])
def test_malformed_mirror_table_is_refused_with_its_name(tmp_path, text):
    path = tmp_path / "MIRROR.json"
    path.write_text(text)
    with pytest.raises(ModelUnavailableError, match="MIRROR.json"):
        hub.load_registry(path)


_CLI_WITH_MIRROR = """
import sys
import msmesh.assets as assets
real = assets.find_asset
assets.find_asset = lambda *parts, **kw: sys.argv[1] if parts[-1:] == ("MIRROR.json",) else real(*parts, **kw)
from msmesh.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_broken_mirror_table_is_one_line_error_of_the_commands_that_need_it(tmp_path):
    """The table is read on first use, not at import: ``--help`` still works and ``models list`` says what is
    wrong in one line, exit code 2 (it was a traceback of every command, ``--help`` included)."""
    path = tmp_path / "MIRROR.json"
    path.write_text('{"hmr": {"repo_id": "a/b", "revision": "main"}}')

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _CLI_WITH_MIRROR, str(path), *args], capture_output=True,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)

    helped = cli("--help")
    assert helped.returncode == 0 and "Traceback" not in helped.stderr
    listed = cli("models", "list")
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    assert listed.stderr.strip().startswith("msmesh: error:") and "MIRROR.json" in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1


def test_an_unknown_name_is_refused_in_a_dry_run_too(tmp_path):
    with pytest.raises(SystemExit, match="unknown model 'nope'"):
        _tool().main(["--names", "nope", "--dry-run", "--mirror-file", str(_mirror(tmp_path))])


@pytest.mark.parametrize("args", [["--names", "nope", "--dry-run"],
                                  ["--dry-run", "--mirror-file", "/nonexistent/MIRROR.json"],
                                  ["--dry-run", "--mirror-file", "BROKEN"]])
def test_the_tool_refuses_bad_input_in_one_line_with_exit_code_2(tmp_path, capsys, args):
    broken = tmp_path / "MIRROR.json"
    broken.write_text("{not json")
    args = [str(broken) if a == "BROKEN" else a for a in args]
    with pytest.raises(SystemExit) as stop:
        _tool().run(args)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("publish_regressors: error:")
    assert "Traceback" not in err and ("nope" in err or "MIRROR.json" in err)
