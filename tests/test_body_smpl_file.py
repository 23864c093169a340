"""Tests for reading real-SMPL-format pickles (with chumpy objects) without chumpy, and the smpl source."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import torch

from msmesh.body import available_body_models, load_body_model
from msmesh.body.joints import SMPL24_PARENTS
from msmesh.body.smpl_file import load_smpl_pickle
from msmesh.errors import FormatError

V = 6890  # SMPL's vertex count (the COCO face vertex ids index into it)


def _fake_chumpy_modules():
    """Install throwaway `chumpy`, `chumpy.ch` modules with a Ch class, as real SMPL pickles reference."""
    ch_mod = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = np.asarray(x)
            self._cache = {}

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    ch_mod.Ch = Ch
    root = types.ModuleType("chumpy")
    root.ch = ch_mod
    return {"chumpy": root, "chumpy.ch": ch_mod}, Ch


def _random_smpl(rng: np.random.Generator) -> dict:
    v = rng.normal(size=(V, 3)) * 0.3
    jreg = rng.random((24, V)) * (rng.random((24, V)) < 0.01)
    jreg /= jreg.sum(1, keepdims=True)
    w = rng.random((V, 24)) * (rng.random((V, 24)) < 0.15)
    w[np.arange(V), rng.integers(0, 24, V)] += 1.0
    w /= w.sum(1, keepdims=True)
    return dict(
        v_template=v, shapedirs=rng.normal(size=(V, 3, 10)) * 0.01, posedirs=rng.normal(size=(V, 3, 207)) * 0.01,
        J_regressor=scipy.sparse.csc_matrix(jreg), weights=w, f=rng.integers(0, V, size=(200, 3)).astype(np.uint32),
        kintree_table=np.array([[4294967295] + SMPL24_PARENTS[1:], list(range(24))], dtype=np.int64),
        bs_style="lbs", bs_type="lrotmin",
    )


@pytest.fixture(scope="module")
def smpl_pickle(tmp_path_factory):
    rng = np.random.default_rng(0)
    data = _random_smpl(rng)
    mods, Ch = _fake_chumpy_modules()
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        raw = dict(data, shapedirs=Ch(data["shapedirs"]), J=Ch(data["J_regressor"] @ data["v_template"]),
                   weights=Ch(data["weights"]))
        path = tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.pkl"
        with open(path, "wb") as fh:
            pickle.dump(raw, fh, protocol=2)
    finally:
        for k, old in saved.items():
            if old is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = old
    assert "chumpy" not in sys.modules or sys.modules["chumpy"] is saved["chumpy"]
    return path, data


def test_pickle_loads_without_chumpy(smpl_pickle):
    path, data = smpl_pickle
    d = load_smpl_pickle(path)
    assert isinstance(d["shapedirs"], np.ndarray) and np.allclose(d["shapedirs"], data["shapedirs"])
    assert np.allclose(d["weights"], data["weights"])
    assert np.allclose(d["J_regressor"], data["J_regressor"].toarray())
    assert d["f"].dtype == np.int64


def test_smpl_model_runs_through_smplx_and_fast_path_agrees(smpl_pickle, monkeypatch):
    path, _ = smpl_pickle
    monkeypatch.setenv("MSMESH_SMPL_DIR", str(path.parent))
    assert available_body_models()["smpl"] == str(path)
    bm = load_body_model("smpl")
    assert bm.name == "smpl" and bm.has_posedirs and bm.num_vertices == V
    g = torch.Generator().manual_seed(0)
    B = 5
    args = (torch.randn(B, 3, generator=g), torch.randn(B, 69, generator=g) * 0.4,
            torch.randn(B, 10, generator=g), torch.randn(B, 3, generator=g))
    out = bm(*args)
    j, c = bm.joints_only(*args)
    assert (out.joints - j).abs().max() < 1e-5
    assert (out.coco17 - c).abs().max() < 1e-5
    assert (out.landmarks - bm.joints_only(*args, landmarks=True)[2]).abs().max() < 1e-5
    # COCO body points are SMPL joints, face points SMPL vertices
    assert torch.allclose(out.coco17[:, 9], out.joints[:, 20])  # left_wrist == l_wrist
    assert torch.allclose(out.coco17[:, 0], out.vertices[:, 332])  # nose
    # same file through an explicit path
    assert load_body_model(str(path)).name == "smpl"


def test_refuses_foreign_classes(tmp_path):
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"x": types.SimpleNamespace(a=1)}, fh)
    with pytest.raises(FormatError, match="refusing"):
        load_smpl_pickle(path)


def test_missing_keys_is_format_error(tmp_path):
    path = tmp_path / "bad.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"v_template": np.zeros((5, 3))}, fh)
    with pytest.raises(FormatError, match="shapedirs"):
        load_smpl_pickle(path)
