"""`regress_tracks`: crops, streaming, windows with gaps, camera conversion, output format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmesh.data import Camera, PersonTrack, Shot, Tracks, VideoInfo
from msmesh.regress.crop import default_focal
from msmesh.regress.hmr import HMR, RegressorConfig
from msmesh.regress.predict import regress_tracks, strided_windows, temporal_windows, timeline
from msmesh.regress.skeleton import Skeleton
from msmesh.regress.thmmr import THMMR
from msmesh.rotations import axis_angle_to_rotmat

TINY = dict(layers=(1, 1, 1, 1), width=4, hidden=32, ff_dim=16, image_size=64)


pytestmark = pytest.mark.usefixtures("one_thread")
W, H = 160, 120


def _tracks(camera: Camera | None = None) -> Tracks:
    sampled = list(range(0, 60, 3))  # 20 timestamps
    rng = np.random.default_rng(0)

    def person(pid, frames, shot):
        frames = np.asarray(frames)
        x0 = 20 + rng.uniform(0, 40, len(frames))
        y0 = 10 + rng.uniform(0, 20, len(frames))
        bbox = np.stack([x0, y0, x0 + 40, y0 + 80], 1)
        return PersonTrack(id=pid, frames=frames, shot=np.asarray(shot), bbox=bbox,
                           keypoints=np.zeros((len(frames), 17, 3)))

    a_frames = [f for f in sampled if not 18 <= f < 33]  # a gap (B-roll) in the middle
    people = [person(1, a_frames, [0 if f < 30 else 1 for f in a_frames]),
              person(2, sampled[5:12], [0 if f < 30 else 1 for f in sampled[5:12]])]
    video = VideoInfo(source="x.mp4", fps=30.0, frame_count=60, width=W, height=H, sampled_frames=sampled)
    return Tracks(video=video, shots=[Shot(0, 0, 30), Shot(1, 30, 60)], people=people, camera=camera)


class Frames:
    def __init__(self, seed: int = 0, changed: set[int] | None = None):
        self.calls: list[int] = []
        self.seed = seed
        self.changed = changed or set()

    def __call__(self, frame: int) -> np.ndarray:
        self.calls.append(frame)
        seed = frame + (1000 if frame in self.changed else 0)
        return np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)


def test_windows_follow_timestamps_with_gaps():
    times = np.array([0, 1, 2, 7, 8])
    rows, mask = temporal_windows(times, 5)
    assert rows[0].tolist() == [-1, -1, 0, 1, 2] and mask[0].tolist() == [True, True, False, False, False]
    assert rows[2].tolist() == [0, 1, 2, -1, -1]
    assert rows[3].tolist() == [-1, -1, 3, 4, -1]
    tl = timeline(_tracks())
    assert tl.tolist() == list(range(0, 60, 3))


def test_strided_windows_cover_every_frame_near_a_window_centre():
    times = np.array([0, 1, 2, 4, 5, 9, 10, 11, 12, 30])
    rows1, mask1, which1, pos1 = strided_windows(times, 13, 1)
    ref, ref_mask = temporal_windows(times, 13)
    assert np.array_equal(rows1[which1], ref) and np.array_equal(mask1[which1], ref_mask)
    assert (pos1 == 6).all()
    for stride in (3, 5, 13):
        rows, mask, which, pos = strided_windows(times, 13, stride)
        assert np.array_equal(rows[which, pos], np.arange(len(times)))  # each frame sits in its window
        assert (np.abs(pos - 6) <= stride // 2).all() and np.array_equal(mask, rows < 0)
        assert len(rows) <= len(times) and len(np.unique(which)) == len(rows)  # no window without a frame
    assert len(strided_windows(times, 13, 5)[0]) == 4  # centres 2, 7, 12, 32
    with pytest.raises(ValueError):
        strided_windows(times, 13, 14)


def test_strided_thmmr_frames_at_a_window_centre_get_the_per_frame_estimate():
    torch.manual_seed(0)
    model = THMMR(RegressorConfig(kind="thmmr", **TINY))
    tracks = _tracks()
    kw = dict(batch_size=4, fp16=False, body_model=Skeleton())
    one = regress_tracks(tracks, Frames(), model, "cpu", stride=1, **kw)
    five = regress_tracks(tracks, Frames(), model, "cpu", stride=5, **kw)
    line = timeline(tracks)
    centred = 0
    for a, b, tr in zip(one.people, five.people, tracks.people, strict=True):
        _, _, _, pos = strided_windows(np.searchsorted(line, tr.frames), model.config.window, 5)
        at_centre = pos == model.config.window // 2  # the same 13-frame window as stride 1 gives it
        centred += int(at_centre.sum())
        assert np.abs(a.body_pose[at_centre] - b.body_pose[at_centre]).max() < 1e-5
        assert np.abs(a.body_pose[~at_centre] - b.body_pose[~at_centre]).max() > 1e-6  # other context
    assert centred >= 3


@pytest.mark.parametrize("temporal", [False, True])
def test_regress_tracks_outputs(temporal):
    torch.manual_seed(0)
    cfg = RegressorConfig(kind="thmmr" if temporal else "hmr", **TINY)
    model = THMMR(cfg) if temporal else HMR(cfg)
    frames = Frames()
    tracks = _tracks()
    res = regress_tracks(tracks, frames, model, "cpu", batch_size=4, fp16=True, body_model=Skeleton())
    assert frames.calls == sorted(set(frames.calls))  # each frame decoded once, in order
    assert res.focal == pytest.approx(default_focal(W, H)) and res.center == (W / 2, H / 2)
    assert [p.id for p in res.people] == [1, 2]
    for p, tr in zip(res.people, tracks.people, strict=True):
        t = len(tr)
        assert np.array_equal(p.frames, tr.frames) and np.array_equal(p.shot, tr.shot)
        assert p.global_orient.shape == (t, 3) and p.body_pose.shape == (t, 69) and p.betas.shape == (10,)
        assert p.transl.shape == (t, 3) and p.joints.shape == (t, 24, 3)
        assert np.all(np.isfinite(p.joints)) and np.all(p.transl[:, 2] > 0)
        # joints are the body model's for the stored parameters
        j, _ = Skeleton().joints_only(torch.from_numpy(p.global_orient), torch.from_numpy(p.body_pose),
                                      torch.from_numpy(p.betas).expand(t, 10), torch.from_numpy(p.transl))
        assert np.allclose(j.numpy(), p.joints, atol=1e-4)
        # axis-angle is a valid rotation encoding (angles ≤ π)
        assert np.linalg.norm(p.body_pose.reshape(t, 23, 3), axis=-1).max() <= np.pi + 1e-4


def test_tracks_camera_is_used_and_translation_scales_with_focal():
    torch.manual_seed(0)
    model = HMR(RegressorConfig(**TINY))
    a = regress_tracks(_tracks(Camera(500.0, (80.0, 60.0))), Frames(), model, "cpu", body_model=Skeleton())
    b = regress_tracks(_tracks(Camera(1000.0, (80.0, 60.0))), Frames(), model, "cpu", body_model=Skeleton())
    assert a.focal == 500.0
    za, zb = a.people[0].transl[:, 2], b.people[0].transl[:, 2]
    assert np.allclose(zb, 2 * za, rtol=1e-4)  # Tz = 2F/(b·s)
    r = axis_angle_to_rotmat(torch.from_numpy(a.people[0].global_orient))
    assert torch.allclose(r @ r.transpose(-1, -2), torch.eye(3).expand(len(r), 3, 3), atol=1e-4)


def test_thmmr_prediction_uses_only_the_window():
    """Changing frames more than 6 timestamps away (or during the person's gap) changes nothing."""
    torch.manual_seed(0)
    model = THMMR(RegressorConfig(kind="thmmr", dropout=0.0, **TINY))
    with torch.no_grad():  # make the encoder matter
        model.encoder.trans.linear2.weight.mul_(100)
    tracks = _tracks()
    base = regress_tracks(tracks, Frames(), model, "cpu", body_model=Skeleton()).people[0]
    far = {54, 57}  # timestamps 18, 19: more than 6 steps from person 1's first frames (0..5)
    moved = regress_tracks(tracks, Frames(changed=far), model, "cpu", body_model=Skeleton()).people[0]
    near_rows = [i for i, f in enumerate(base.frames) if f <= 15]
    far_rows = [i for i, f in enumerate(base.frames) if f >= 36]
    assert np.allclose(base.body_pose[near_rows], moved.body_pose[near_rows], atol=1e-6)
    assert not np.allclose(base.body_pose[far_rows], moved.body_pose[far_rows], atol=1e-6)


@pytest.mark.cuda
def test_fp16_inference_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.manual_seed(0)
    model = THMMR(RegressorConfig(kind="thmmr", **TINY))
    tracks = _tracks()
    ref = regress_tracks(tracks, Frames(), model, "cpu", body_model=Skeleton())
    res = regress_tracks(tracks, Frames(), model, "cuda", fp16=True, body_model=Skeleton())
    for p, q in zip(ref.people, res.people, strict=True):
        assert np.all(np.isfinite(q.joints))
        assert np.abs(p.joints - q.joints).max() < 0.05 * np.abs(p.joints).max()


def test_regress_tracks_with_the_open_body_model():
    from msmesh.body import load_body_model

    torch.manual_seed(0)
    res = regress_tracks(_tracks(), Frames(), HMR(RegressorConfig(**TINY)), "cpu", body_model=load_body_model("open"))
    assert res.body_model == "open"
    p = res.people[0]
    assert p.joints.shape == (len(p.frames), 24, 3) and np.all(np.isfinite(p.joints))


def test_a_keypoint_thmmr_with_a_window_shorter_than_the_stride_runs():
    """The default stride is capped at the model's window (a 3-frame t-HMMR was a ValueError: stride 5 > 3)."""
    from msmesh.regress.train_keypoints import keypoint_config

    torch.manual_seed(0)
    model = THMMR(keypoint_config("thmmr", kp_dim=16, kp_hidden=16, hidden=16, ff_dim=16, nhead=1, window=3)).eval()
    tracks = _tracks()
    out = regress_tracks(tracks, None, model, "cpu", fp16=False, body_model=Skeleton())
    ref = regress_tracks(tracks, None, model, "cpu", fp16=False, body_model=Skeleton(), stride=3)
    assert [len(p.frames) for p in out.people] == [len(p) for p in tracks.people if len(p)]
    assert all(np.array_equal(a.body_pose, b.body_pose) for a, b in zip(out.people, ref.people, strict=True))
