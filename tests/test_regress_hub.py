"""Weights from a (local, offline) Hugging Face Hub cache, local files and the authors' checkpoint layout."""

from __future__ import annotations

import shutil

import pytest
import torch

from msmesh.errors import InputError, ModelUnavailableError
from msmesh.regress import hub
from msmesh.regress.hmr import HMR, RegressorConfig
from msmesh.regress.thmmr import THMMR

TINY = dict(layers=(1, 1, 1, 1), width=4, hidden=32, ff_dim=16, image_size=64)
REV = "0123456789abcdef0123456789abcdef01234567"


def _tiny_hmr(seed: int = 0) -> HMR:
    torch.manual_seed(seed)
    return HMR(RegressorConfig(**TINY)).eval()


def _fake_hub_cache(cache, repo_id, files: dict[str, bytes]) -> None:
    """The layout huggingface_hub writes: models--org--name/{refs/main, snapshots/REV/FILE, blobs}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REV)
    snap = repo / "snapshots" / REV
    snap.mkdir(parents=True)
    for name, data in files.items():
        (snap / name).write_bytes(data)


def _entry(tmp_path, model) -> tuple[hub.HubEntry, dict[str, bytes]]:
    out = hub.save_regressor(model, tmp_path / "trained")
    files = {f: (out / f).read_bytes() for f in (hub.WEIGHTS_FILE, hub.CONFIG_FILE)}
    digests = tuple((f, hub.sha256_file(out / f)) for f in files)
    entry = hub.HubEntry(name="hmr", kind="hmr", repo_id="testorg/tiny-hmr", revision=REV, sha256=digests,
                         published=True, source="test")
    return entry, files


@pytest.mark.parametrize("env", ["HF_HUB_CACHE", "HF_HOME"])
def test_load_from_offline_hub_cache(tmp_path, monkeypatch, env):
    model = _tiny_hmr()
    entry, files = _entry(tmp_path, model)
    cache = tmp_path / "hf" / ("hub" if env == "HF_HOME" else "")
    _fake_hub_cache(cache, entry.repo_id, files)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv(env, str(tmp_path / "hf" if env == "HF_HOME" else cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.hub_offline() and hub.hub_cache_dir() == cache
    loaded = hub.load_regressor(entry=entry)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(x).pose6d, model(x).pose6d, atol=1e-6)
    assert hub.cached_path(entry) is not None


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    entry, files = _entry(tmp_path, _tiny_hmr())
    data = bytearray(files[hub.WEIGHTS_FILE])
    data[-100] ^= 0xFF  # corrupt one byte of tensor data
    files[hub.WEIGHTS_FILE] = bytes(data)
    _fake_hub_cache(tmp_path / "cache", entry.repo_id, files)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="sha256"):
        hub.load_regressor(entry=entry)


def test_offline_and_not_cached_says_what_to_download(tmp_path, monkeypatch):
    entry, _ = _entry(tmp_path, _tiny_hmr())
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as err:
        hub.load_regressor(entry=entry)
    msg = err.value.one_line()
    assert "msmesh models download hmr" in msg and entry.repo_id in msg and str(tmp_path / "empty") in msg


def test_registry_defaults_are_the_package_copy_and_the_mirror_is_honest(monkeypatch, tmp_path):
    import dataclasses

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name, entry in hub.registry().items():
        assert entry.published == (entry.revision is not None)  # pinned in MIRROR.json once uploaded
        assert hub.shipped_path(entry) is not None and len(entry.sha256) == 2
        model = hub.load_regressor(temporal=(name == "thmmr"))  # offline, no download
        assert model.config.input == "keypoints" and model.config.kind == name
        gone = dataclasses.replace(entry, package="models/regress/not-there")
        if not entry.published:
            with pytest.raises(ModelUnavailableError, match="not uploaded"):
                hub.load_regressor(temporal=(name == "thmmr"), entry=gone)


def test_shipped_files_match_the_registry_checksums(tmp_path, monkeypatch):
    for entry in hub.registry().values():
        hub.verify_shipped(entry, hub.shipped_path(entry))
    entry = hub.registry()["hmr"]
    copy = tmp_path / "models" / "regress" / "hmr"
    shutil.copytree(hub.shipped_path(entry), copy)
    cfg = copy / hub.CONFIG_FILE
    cfg.write_text(cfg.read_text() + " ")
    monkeypatch.setattr(hub, "shipped_path", lambda e: copy)
    with pytest.raises(ModelUnavailableError, match="sha256"):
        hub.load_regressor(entry=entry)


def test_trained_folder_round_trip_and_kind_check(tmp_path):
    torch.manual_seed(1)
    model = THMMR(RegressorConfig(kind="thmmr", **TINY)).eval()
    out = hub.save_regressor(model, tmp_path / "run")
    loaded = hub.load_regressor(out, temporal=True)
    feats, mask = torch.randn(1, 13, 128), torch.zeros(1, 13, dtype=torch.bool)
    with torch.no_grad():
        assert torch.allclose(loaded(feats, mask).cam, model(feats, mask).cam, atol=1e-6)
    assert loaded.backbone is not None and loaded.config.kind == "thmmr"
    with pytest.raises(InputError, match="add --temporal"):
        hub.load_regressor(out / hub.WEIGHTS_FILE, temporal=False)


def test_authors_checkpoint_layout(tmp_path):
    """{'model': state_dict} with a 'model.'/'module.' prefix, t-HMMR without backbone beside HMR."""
    hmr = _tiny_hmr(2)
    torch.manual_seed(3)
    th = THMMR(RegressorConfig(kind="thmmr", **TINY), with_backbone=False).eval()
    folder = tmp_path / "authors"
    folder.mkdir()
    hmr_sd = {"module." + k: v for k, v in hmr.state_dict().items()}
    hmr_sd["module.smpl.J_regressor"] = torch.zeros(3)  # training-only module in their checkpoints
    torch.save({"model": hmr_sd}, folder / "hmr_ava.pt")
    torch.save({"model": {"model." + k: v for k, v in th.state_dict().items()}}, folder / "thmmr_ava.pt")
    loaded_hmr = hub.load_regressor(folder / "hmr_ava.pt")
    assert loaded_hmr.config.image_size == 256 and loaded_hmr.config.width == 4
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded_hmr(x).betas, hmr(x).betas, atol=1e-6)
    loaded_th = hub.load_regressor(folder, temporal=True)
    assert loaded_th.config.window == 13 and loaded_th.config.ff_dim == 16
    for k, v in hmr.backbone.state_dict().items():
        assert torch.equal(loaded_th.backbone.state_dict()[k], v)
    # t-HMMR checkpoint alone: the missing backbone is explained
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(folder / "thmmr_ava.pt", lone / "thmmr_ava.pt")
    with pytest.raises(ModelUnavailableError, match="hmr_ava.pt"):
        hub.load_regressor(lone / "thmmr_ava.pt", temporal=True)


def test_bad_weights_paths(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        hub.load_regressor(tmp_path / "nope.safetensors")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a loadable"):
        hub.load_regressor(tmp_path / "junk.pt")


def test_models_cli(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from msmesh.commands.models import app

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "300")
    runner = CliRunner()
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0 and "msmesh/hmr-keypoints" in res.output and "not uploaded" in res.output
    assert "package" in res.output and "models/regress/thmmr" in res.output
    res = runner.invoke(app, ["download"])
    assert res.exit_code != 0 and "ships msmesh's own" in str(res.exception)
