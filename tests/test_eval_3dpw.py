"""3DPW: the sequence-pickle loader (latin1 pickles in the published key layout), tracks, scoring, robustness.

The fixture writes ``sequenceFiles/test/<name>.pkl`` with the real keys and shapes (per-actor lists; poses2d
(T, 3, 18) OpenPose-COCO-18; jointPositions (T, 72) world; cam_poses (T, 4, 4) world → camera) and a few
JPEG frames under ``imageFiles/<name>/``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from msmesh.data import FitResult, SmplSequence
from msmesh.errors import InputError
from msmesh.eval import threedpw
from msmesh.eval.rescore import rescore_file

T, W, H = 8, 96, 160
K = np.array([[150.0, 0, 48.0], [0, 150.0, 80.0], [0, 0, 1]])
# SMPL-24 joint used for each OpenPose-18 point (nose, neck, r arm, l arm, r leg, l leg; eyes/ears at the head)
OP18_FROM_SMPL = [15, 12, 17, 19, 21, 16, 18, 20, 2, 5, 8, 1, 4, 7, 15, 15, 15, 15]


def _rot(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _actor_joints(rng: np.random.Generator, offset: float) -> np.ndarray:
    base = rng.normal(scale=0.3, size=(24, 3)) + np.array([offset, 0.0, 0.0])
    return np.stack([base + rng.normal(scale=0.02, size=(24, 3)) for _ in range(T)])  # (T,24,3) world


def _write_sequence(root, name: str = "downtown_test_00", seed: int = 0, images: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    joints = [_actor_joints(rng, -0.4), _actor_joints(rng, 0.4)]
    cam = np.tile(np.eye(4), (T, 1, 1))
    for t in range(T):
        cam[t, :3, :3] = _rot(0.05 * t)
        cam[t, :3, 3] = [0.0, 0.0, 5.0]
    poses2d, valid = [], []
    for a, j in enumerate(joints):
        jc = np.einsum("tij,tkj->tki", cam[:, :3, :3], j) + cam[:, None, :3, 3]
        uv = jc[..., :2] / jc[..., 2:] * 150.0 + np.array([48.0, 80.0])
        op = np.concatenate([uv[:, OP18_FROM_SMPL], np.ones((T, 18, 1))], -1)
        if a == 0:
            op[2, :14, 2] = 0.1  # frame 2 of actor 0: too few confident keypoints
        poses2d.append(op.transpose(0, 2, 1))
        v = np.ones(T)
        if a == 1:
            v[5] = 0  # frame 5 of actor 1: camera pose not aligned
        valid.append(v)
    data = {"sequence": name, "poses": [np.zeros((T, 72))] * 2, "betas": [np.zeros(10)] * 2,
            "trans": [np.zeros((T, 3))] * 2, "jointPositions": [j.reshape(T, 72) for j in joints],
            "poses2d": poses2d, "cam_poses": cam, "cam_intrinsics": K, "campose_valid": valid,
            "img_frame_ids": np.arange(T) * 2, "genders": ["m", "f"]}
    folder = root / "sequenceFiles" / "test"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.pkl").open("wb") as f:
        pickle.dump(data, f, protocol=2)
    if images:
        import cv2

        (root / "imageFiles" / name).mkdir(parents=True, exist_ok=True)
        for t in range(T):
            cv2.imwrite(str(root / "imageFiles" / name / f"image_{t:05d}.jpg"), np.full((H, W, 3), 20 * t, np.uint8))
    return {"joints": joints, "cam": cam}


def test_loader_brings_joints_into_camera_coordinates_and_applies_the_protocol(tmp_path):
    truth = _write_sequence(tmp_path)
    seq = threedpw.load_sequence(tmp_path / "sequenceFiles" / "test" / "downtown_test_00.pkl")
    assert seq.name == "downtown_test_00" and seq.keypoints.shape == (2, T, 17, 3)
    want = truth["joints"][1][3] @ truth["cam"][3, :3, :3].T + truth["cam"][3, :3, 3]
    np.testing.assert_allclose(seq.joints[1, 3], want, atol=1e-9)
    assert seq.valid[0].tolist() == [True, True, False] + [True] * 5
    assert seq.valid[1].tolist() == [True] * 5 + [False] + [True] * 2
    # COCO left shoulder ← OpenPose 5 (LShoulder) ← SMPL l_shoulder (16); right hip ← OpenPose 8
    uv = seq.joints[0, 0] [:, :2] / seq.joints[0, 0][:, 2:] * 150 + np.array([48.0, 80.0])
    np.testing.assert_allclose(seq.keypoints[0, 0, 5, :2], uv[16], atol=1e-9)
    np.testing.assert_allclose(seq.keypoints[0, 0, 12, :2], uv[2], atol=1e-9)
    tracks = threedpw.sequence_tracks(seq)
    assert (tracks.video.width, tracks.video.height) == (W, H)
    assert tracks.camera.focal == 150.0 and tracks.camera.center == (48.0, 80.0)
    assert tracks.people[0].frames.tolist() == [0, 1, 3, 4, 5, 6, 7]
    box = tracks.people[1].bbox[0]
    kp = tracks.people[1].keypoints[0]
    assert box[0] <= kp[:, 0].min() and box[2] >= kp[:, 0].max()


def _oracle(noise: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    seen = {}

    def predict(tracks, frames):
        seen["image"] = frames(0).shape
        name = tracks.video.source.split("/")[-1]
        seq = threedpw.load_sequence(predict.root / "sequenceFiles" / "test" / f"{name}.pkl")
        people = []
        for p in tracks.people:
            j = seq.joints[p.id, p.frames] + rng.normal(scale=noise, size=(len(p), 24, 3)) if noise else \
                seq.joints[p.id, p.frames]
            n = len(p)
            people.append(SmplSequence(p.id, p.frames, p.shot, np.zeros((n, 3)), np.zeros((n, 69)), np.zeros(10),
                                       np.zeros((n, 3)), j))
        return FitResult(people=people, focal=tracks.camera.focal, center=tracks.camera.center)

    predict.seen = seen
    predict.cache_key = f"oracle-{noise}"
    return predict


def test_run_scores_predictors_and_rescore_matches(tmp_path):
    _write_sequence(tmp_path)
    exact, noisy = _oracle(), _oracle(noise=0.03)
    exact.root = noisy.root = tmp_path
    res = threedpw.run_3dpw(tmp_path, predictors={"exact": exact, "noisy": noisy}, out_dir=tmp_path / "out",
                            save_predictions_to=tmp_path / "pred.npz")
    rows = {r["method"]: r for r in res["rows"]}
    assert exact.seen["image"] == (H, W, 3)
    assert rows["exact"]["pa_mpjpe_mm"] < 1e-6 and rows["exact"]["mpjpe_mm"] < 1e-6
    assert rows["exact"]["frames"] == 14 and rows["exact"]["missing"] == 0  # 16 actor-frames minus 2 invalid
    assert 15 < rows["noisy"]["pa_mpjpe_mm"] < rows["noisy"]["mpjpe_mm"] < 80
    again = rescore_file(tmp_path / "pred.npz")
    assert again["rows"] == [pytest.approx(r) for r in res["rows"]]


def test_missing_predictions_are_counted_not_scored(tmp_path):
    _write_sequence(tmp_path)
    exact = _oracle()
    exact.root = tmp_path

    def first_actor_only(tracks, frames):
        res = exact(tracks, frames)
        res.people = res.people[:1]
        return res

    res = threedpw.run_3dpw(tmp_path, predictors={"partial": first_actor_only})
    row = res["rows"][0]
    assert row["frames"] == 7 and row["missing"] == 7 and row["pa_mpjpe_mm"] < 1e-6


def test_layout_errors_and_bad_sequences_are_skipped(tmp_path):
    with pytest.raises(InputError, match="sequenceFiles/<split>/<sequence>.pkl"):
        threedpw.run_3dpw(tmp_path / "nope", predictors={"x": _oracle()})
    _write_sequence(tmp_path, "good_00")
    (tmp_path / "sequenceFiles" / "test" / "broken_00.pkl").write_bytes(b"not a pickle")
    with (tmp_path / "sequenceFiles" / "test" / "keys_00.pkl").open("wb") as f:
        pickle.dump({"sequence": "keys_00", "poses": []}, f, protocol=2)
    exact = _oracle()
    exact.root = tmp_path
    res = threedpw.run_3dpw(tmp_path, predictors={"exact": exact})
    assert res["counts"] == {"sequences": 1, "skipped": 2}
    reasons = {s["item"]: s["reason"] for s in res["skipped"]}
    assert "not a readable 3DPW pickle" in reasons["broken_00"]
    assert "missing key(s)" in reasons["keys_00"] and "jointPositions" in reasons["keys_00"]
    assert res["rows"][0]["frames"] == 14
