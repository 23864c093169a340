"""Training: tiny HMR / t-HMMR overfit synthetic samples; run folders → samples → weights → regress."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from msmesh.regress import hub
from msmesh.regress.crop import project_crop
from msmesh.regress.hmr import HMR, RegressorConfig
from msmesh.regress.samples import FrameSample, load_run_samples
from msmesh.regress.skeleton import Skeleton
from msmesh.regress.train import TrainOptions, augment_crop, train_hmr, train_thmmr
from msmesh.rotations import axis_angle_to_rotmat

TINY = dict(layers=(1, 1, 1, 1), width=4, hidden=64, ff_dim=32, image_size=64, dropout=0.0)


pytestmark = pytest.mark.usefixtures("one_thread")
COLORS = np.random.default_rng(7).integers(60, 255, (17, 3))


def _synthetic_samples(n: int, seq_len: int = 0, seed: int = 0) -> list[FrameSample]:
    """Skeleton poses drawn as coloured keypoint blobs on a 64-px crop, with exact 2D / SMPL targets."""
    rng = np.random.default_rng(seed)
    sk = Skeleton()
    out = []
    base = rng.normal(0, 0.3, (69,))
    for i in range(n):
        bp = base + (np.sin(0.3 * i + np.arange(69)) * 0.2 if seq_len else rng.normal(0, 0.3, 69))
        go = np.array([np.pi, 0, 0]) + rng.normal(0, 0.1, 3)
        aa = torch.tensor(np.concatenate([go, bp]), dtype=torch.float32)[None]
        betas = torch.zeros(1, 10)
        j24, c17 = sk.joints_only(aa[:, :3], aa[:, 3:], betas, torch.zeros(1, 3))
        cam = torch.tensor([[0.8, 0.0, 0.1]])
        kp = project_crop(c17, cam, 5000.0, 64)[0].numpy()
        j2 = project_crop(j24, cam, 5000.0, 64)[0].numpy()
        img = np.zeros((64, 64, 3), np.uint8)
        for k, (x, y) in enumerate(kp):
            cv2.circle(img, (int((x + 0.5) * 64), int((y + 0.5) * 64)), 3, COLORS[k].tolist(), -1)
        out.append(FrameSample(
            crop=img, kp2d=np.concatenate([kp, np.ones((17, 1))], 1).astype(np.float32),
            j2d=np.concatenate([j2, np.ones((24, 1))], 1).astype(np.float32),
            rotmat=axis_angle_to_rotmat(aa.reshape(24, 3)).numpy(), betas=np.zeros(10, np.float32),
            seq=i // seq_len if seq_len else i, time=i % seq_len if seq_len else 0))
    return out


def test_augment_crop_moves_points_with_the_image():
    rng = np.random.default_rng(0)
    img = np.zeros((64, 64, 3), np.uint8)
    img[40, 20] = 255
    pt = np.array([[(20 + 0.5) / 64 - 0.5, (40 + 0.5) / 64 - 0.5, 1.0]])
    for _ in range(20):
        out, (moved,) = augment_crop(img, [pt], rng, truncation_prob=0.0)
        if out.max() == 0:
            continue
        y, x = np.unravel_index(out[..., 0].argmax(), out.shape[:2])
        px = (moved[0, :2] + 0.5) * 64 - 0.5
        assert abs(px[0] - x) <= 1.5 and abs(px[1] - y) <= 1.5


def test_tiny_hmr_overfits_synthetic_samples():
    samples = _synthetic_samples(8)
    opts = TrainOptions(steps=120, batch_size=8, lr=1e-3, augment=False, weight_decay=0.0)
    model, hist = train_hmr(samples, RegressorConfig(**TINY), Skeleton(), opts)
    first, last = np.mean(hist[:5]), np.mean(hist[-5:])
    assert last < 0.35 * first, (first, last)


def test_tiny_thmmr_trains_on_windows_with_gaps():
    samples = _synthetic_samples(24, seq_len=12)
    samples = [s for s in samples if s.time not in (4, 5, 6)]  # a gap in each sequence
    hmr = HMR(RegressorConfig(**TINY))
    cfg = RegressorConfig(kind="thmmr", **TINY)
    opts = TrainOptions(steps=80, batch_size=4, lr=1e-3, weight_decay=0.0)
    model, hist = train_thmmr(samples, cfg, Skeleton(), hmr, opts)
    assert np.mean(hist[-5:]) < 0.5 * np.mean(hist[:5])
    for k, v in hmr.backbone.state_dict().items():  # the image encoder stayed frozen
        assert torch.equal(model.backbone.state_dict()[k].cpu(), v.cpu())


def _write_run(tmp_path, n_frames: int = 6):
    import av

    from msmesh.data import (
        FitResult,
        PersonTrack,
        Shot,
        SmplSequence,
        Tracks,
        VideoInfo,
        save_smpl,
        save_tracks,
        save_video_json,
    )

    w, h = 96, 64
    video = tmp_path / "clip.mp4"
    with av.open(str(video), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(n_frames):
            img = np.full((h, w, 3), 20 * i, np.uint8)
            img[20:50, 40:56] = 200
            for pkt in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    run = tmp_path / "run"
    frames = np.arange(0, n_frames, 1)
    info = VideoInfo(source=str(video), fps=10.0, frame_count=n_frames, width=w, height=h,
                     sampled_frames=frames.tolist())
    save_video_json(run / "video.json", info)
    t = len(frames)
    bbox = np.tile([40.0, 18.0, 56.0, 52.0], (t, 1))
    kp = np.zeros((t, 17, 3))
    kp[:, :, 0], kp[:, :, 1], kp[:, :, 2] = 48.0, 35.0, 0.9
    tracks = Tracks(video=info, shots=[Shot(0, 0, n_frames)],
                    people=[PersonTrack(id=3, frames=frames, shot=np.zeros(t, int), bbox=bbox, keypoints=kp)])
    save_tracks(run / "tracks.json", tracks)
    go = np.tile([np.pi, 0, 0], (t, 1)).astype(np.float32)
    transl = np.tile([0.0, 0.2, 8.0], (t, 1)).astype(np.float32)
    j, _ = Skeleton().joints_only(torch.from_numpy(go), torch.zeros(t, 69), torch.zeros(t, 10),
                                  torch.from_numpy(transl))
    seq = SmplSequence(id=3, frames=frames, shot=np.zeros(t, int), global_orient=go,
                       body_pose=np.zeros((t, 69), np.float32), betas=np.zeros(10, np.float32), transl=transl,
                       joints=j.numpy())
    save_smpl(run / "smpl.npz", FitResult(people=[seq], focal=100.0, center=(48.0, 32.0), body_model="open"))
    return run


def test_run_folder_samples(tmp_path):
    run = _write_run(tmp_path)
    samples = load_run_samples(run, Skeleton(), image_size=32)
    assert len(samples) == 6
    s = samples[2]
    assert s.crop.shape == (32, 32, 3) and s.time == 2
    # square box ×1.2 around (40..56, 18..52): side 40.8, centre (48, 35) → keypoint at the crop centre
    assert np.allclose(s.kp2d[:, :2], 0.0, atol=1e-6) and np.allclose(s.kp2d[:, 2], 0.9)
    assert s.crop[16, 16].mean() > 150 and s.crop[16, 2].mean() < 100  # the bright box is centred
    assert np.allclose(s.rotmat[0], np.diag([1.0, -1.0, -1.0]), atol=1e-5)
    # projected pseudo-GT joints lie in the crop frame: pelvis (0, 0.2, 8) → pixel (48, 34.5)
    assert np.allclose(s.j2d[0, :2], [(48 - 48) / 40.8, (34.5 - 35) / 40.8], atol=1e-3)


def test_train_command_writes_loadable_weights_and_resumes(tmp_path, monkeypatch):
    from msmesh.commands import train as train_cmd

    run = _write_run(tmp_path)
    out = tmp_path / "weights"
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({**TINY, "layers": [1, 1, 1, 1]}))
    monkeypatch.setattr(train_cmd, "_body_model", lambda name: Skeleton())
    train_cmd.command(model="hmr", data=[run], out=out, steps=3, batch_size=2, config=cfg, init=None,
                      resume=False, device="cpu", lr=1e-4, quiet=True)
    model = hub.load_regressor(out)
    assert model.config.width == 4
    state = torch.load(out / "train_state.pt", weights_only=True)
    assert state["step"] == 3
    train_cmd.command(model="hmr", data=[run], out=out, steps=5, batch_size=2, config=cfg, init=None,
                      resume=True, device="cpu", lr=1e-4, quiet=True)
    assert torch.load(out / "train_state.pt", weights_only=True)["step"] == 5
    resumed = hub.load_regressor(out)
    assert not torch.equal(resumed.smpl_head.fc1.weight, model.smpl_head.fc1.weight)  # 2 more steps
    train_cmd.command(model="thmmr", data=[run], out=tmp_path / "tw", steps=2, batch_size=2, config=cfg,
                      init=out, resume=False, device="cpu", lr=1e-4, quiet=True)
    th = hub.load_regressor(tmp_path / "tw", temporal=True)
    for k, v in resumed.backbone.state_dict().items():
        assert torch.equal(th.backbone.state_dict()[k], v)


@pytest.mark.slow
def test_open_body_model_in_losses():
    """The real (open) body model works in the loss path (joints_only on predicted rotations)."""
    from msmesh.body import load_body_model

    samples = _synthetic_samples(4)
    opts = TrainOptions(steps=5, batch_size=4, lr=1e-3, augment=True)
    _, hist = train_hmr(samples, RegressorConfig(**TINY), load_body_model("open"), opts)
    assert np.all(np.isfinite(hist))
