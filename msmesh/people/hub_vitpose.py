"""Detector backend for users with network: RT-DETR person boxes + ViTPose keypoints from the Hugging Face Hub.

Two stages, both through ``transformers`` (optional extra ``msmesh[hub]``): RT-DETR finds people (COCO's
"person" class), ViTPose estimates COCO-17 keypoints inside each box. Both models are pinned to a Hub commit
(``HUB_MODELS``) and cached by ``huggingface_hub`` (``HF_HOME`` / ``HF_HUB_CACHE``); with ``HF_HUB_OFFLINE=1``
only the cache is used and a missing model is a one-line error saying what to download.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from msmesh.errors import ModelUnavailableError
from msmesh.people.detection import Detection


@dataclass(frozen=True)
class HubModel:
    """A Hub repository pinned to one commit."""

    repo_id: str
    revision: str
    license: str


HUB_MODELS: dict[str, HubModel] = {
    "detector": HubModel("PekingU/rtdetr_r50vd_coco_o365", "457857cec8ac28ddede40ecee9eed2beca321af8", "Apache-2.0"),
    "pose": HubModel("usyd-community/vitpose-base-simple", "f6e1613793fc8a9220d857bdc4b9fc23f79eafe9", "Apache-2.0"),
}


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().upper() in ("1", "ON", "YES", "TRUE")


def _load(kind: str, model: HubModel, cache_dir: str | None):  # noqa: ANN202 - transformers classes
    from transformers import AutoImageProcessor, RTDetrForObjectDetection, VitPoseForPoseEstimation

    network_cls = RTDetrForObjectDetection if kind == "detector" else VitPoseForPoseEstimation
    offline = _offline()
    try:
        processor = AutoImageProcessor.from_pretrained(model.repo_id, revision=model.revision, cache_dir=cache_dir,
                                                       local_files_only=offline)
        network = network_cls.from_pretrained(model.repo_id, revision=model.revision, cache_dir=cache_dir,
                                              local_files_only=offline)
    except (OSError, ValueError) as exc:
        hint = (f"HF_HUB_OFFLINE is set and {model.repo_id}@{model.revision[:12]} is not in the Hub cache; "
                if _offline() else f"cannot load {model.repo_id}@{model.revision[:12]} ({exc}); ")
        raise ModelUnavailableError(
            hint + f"download it where there is network with `huggingface-cli download {model.repo_id} --revision "
            f"{model.revision}` (or use the offline default detector: --detector movenet)") from exc
    return processor, network.eval()


class ViTPoseDetector:
    """Callable detector: ``ViTPoseDetector()(rgb_image) -> list[Detection]`` (COCO-17 keypoints)."""

    def __init__(self, detector: HubModel | None = None, pose: HubModel | None = None, device: str = "auto",
                 min_score: float = 0.5, cache_dir: str | Path | None = None) -> None:
        try:
            import transformers  # noqa: F401
        except ImportError as exc:
            raise ModelUnavailableError("--detector vitpose needs the optional extra: pip install 'msmesh[hub]'") \
                from exc
        from msmesh.device import resolve_device

        cache = str(cache_dir) if cache_dir is not None else None
        self.device = resolve_device(device)
        self.det_processor, self.detector = _load("detector", detector or HUB_MODELS["detector"], cache)
        self.pose_processor, self.pose = _load("pose", pose or HUB_MODELS["pose"], cache)
        self.detector.to(self.device)
        self.pose.to(self.device)
        labels = {str(v).lower(): int(k) for k, v in self.detector.config.id2label.items()}
        self.person_label = labels.get("person", 0)
        self.min_score = min_score

    def __call__(self, image: np.ndarray) -> list[Detection]:
        import torch

        h, w = image.shape[:2]
        with torch.inference_mode():
            inputs = self.det_processor(images=image, return_tensors="pt").to(self.device)
            found = self.det_processor.post_process_object_detection(
                self.detector(**inputs), target_sizes=torch.tensor([(h, w)]), threshold=self.min_score)[0]
            keep = found["labels"] == self.person_label
            boxes = found["boxes"][keep].cpu().numpy().astype(np.float64)
            scores = found["scores"][keep].cpu().numpy().astype(np.float64)
            if len(boxes) == 0:
                return []
            boxes = np.clip(boxes, 0, [w, h, w, h])
            xywh = boxes.copy()
            xywh[:, 2:] -= xywh[:, :2]
            pose_inputs = self.pose_processor(image, boxes=[xywh], return_tensors="pt").to(self.device)
            poses = self.pose_processor.post_process_pose_estimation(self.pose(**pose_inputs), boxes=[xywh])[0]
        people = []
        for box, score, pose in zip(boxes, scores, poses, strict=True):
            kp = np.concatenate([pose["keypoints"].cpu().numpy().reshape(-1, 2),
                                 pose["scores"].cpu().numpy().reshape(-1, 1)], axis=1).astype(np.float64)
            if kp.shape != (17, 3):
                raise ModelUnavailableError(f"the pose model returned {kp.shape[0]} keypoints, expected COCO's 17")
            people.append(Detection(bbox=box, keypoints=kp, score=float(score)))
        return people
