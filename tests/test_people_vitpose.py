"""The Hub detector backend (RT-DETR + ViTPose through transformers), loaded offline from a Hub cache that the
test lays out with tiny random-initialised models — the same code path as a user's real download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")

from msmesh.errors import ModelUnavailableError  # noqa: E402
from msmesh.people.hub_vitpose import HUB_MODELS, HubModel, ViTPoseDetector  # noqa: E402

REV_DET = "1" * 40
REV_POSE = "2" * 40


def _save_in_hub_cache(cache: Path, repo_id: str, revision: str, model, processor) -> None:  # noqa: ANN001
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    model.save_pretrained(snapshot)
    processor.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import (
        RTDetrConfig,
        RTDetrForObjectDetection,
        RTDetrImageProcessor,
        RTDetrResNetConfig,
        VitPoseBackboneConfig,
        VitPoseConfig,
        VitPoseForPoseEstimation,
        VitPoseImageProcessor,
    )

    torch.manual_seed(0)  # module fixtures run before the per-test seeding
    cache = tmp_path_factory.mktemp("hf") / "hub"
    backbone = RTDetrResNetConfig(embedding_size=8, hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1],
                                  out_features=["stage2", "stage3", "stage4"])
    det = RTDetrForObjectDetection(RTDetrConfig(
        backbone_config=backbone, d_model=16, encoder_hidden_dim=16, encoder_in_channels=[8, 16, 16],
        encoder_layers=1, encoder_ffn_dim=32, encoder_attention_heads=2, decoder_layers=1, decoder_ffn_dim=32,
        decoder_attention_heads=2, num_queries=10, decoder_in_channels=[16, 16, 16], decoder_n_points=2,
        num_labels=1, id2label={0: "person"}, label2id={"person": 0}, num_denoising=0,
        anchor_image_size=None))
    _save_in_hub_cache(cache, "tiny/det", REV_DET, det, RTDetrImageProcessor(size={"height": 64, "width": 64}))
    pose = VitPoseForPoseEstimation(VitPoseConfig(backbone_config=VitPoseBackboneConfig(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, image_size=[64, 48],
        patch_size=[8, 8], out_indices=[1]), num_labels=17))
    _save_in_hub_cache(cache, "tiny/pose", REV_POSE, pose, VitPoseImageProcessor(size={"height": 64, "width": 48}))
    return cache


def test_offline_load_from_hub_cache_and_detect(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    detector = ViTPoseDetector(HubModel("tiny/det", REV_DET, "test"), HubModel("tiny/pose", REV_POSE, "test"),
                               device="cpu", min_score=0.0, cache_dir=hub_cache)
    image = (np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8)
    people = detector(image)
    assert detector.person_label == 0
    assert len(people) == 10  # random weights, one class, threshold 0: every one of the 10 queries is a person
    for det in people:
        assert det.keypoints.shape == (17, 3) and np.isfinite(det.keypoints).all()
        assert (det.bbox[:2] >= 0).all() and det.bbox[2] <= 160 and det.bbox[3] <= 120


def test_offline_and_not_cached_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as info:
        ViTPoseDetector(device="cpu", cache_dir=tmp_path)
    message = info.value.one_line()
    assert HUB_MODELS["detector"].repo_id in message and "huggingface-cli download" in message


def test_registry_pins_full_commits() -> None:
    for model in HUB_MODELS.values():
        assert len(model.revision) == 40 and all(c in "0123456789abcdef" for c in model.revision)
