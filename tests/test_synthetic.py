"""The synthetic multi-shot benchmark: seeded generation, truncation, and the measured mode ordering."""

from __future__ import annotations

import numpy as np
import pytest

from msmesh.eval.synthetic import HEIGHT, WIDTH, SyntheticConfig, generate, run_benchmark


@pytest.fixture(scope="module")
def bm():
    from msmesh.body import load_body_model

    return load_body_model("open")


def test_generation_is_seeded_and_well_formed(bm) -> None:
    cfg = SyntheticConfig(seed=5, clips=("walk",), procedural=1, frames=12)
    a, b = generate(bm, cfg), generate(bm, cfg)
    for pa, pb in zip(a.tracks.people, b.tracks.people, strict=True):
        assert np.array_equal(pa.keypoints, pb.keypoints)
    other = generate(bm, SyntheticConfig(seed=6, clips=("walk",), procedural=1, frames=12))
    assert not np.array_equal(other.tracks.people[0].keypoints, a.tracks.people[0].keypoints)
    for p, clean in zip(a.tracks.people, a.clean.people, strict=True):
        assert len(np.unique(p.shot)) >= 2  # there are cuts
        kp, ck = p.keypoints, clean.keypoints
        inside = ck[..., 2] > 0
        assert (ck[inside, 0] >= 0).all() and (ck[inside, 0] < WIDTH).all()
        assert (ck[inside, 1] >= 0).all() and (ck[inside, 1] < HEIGHT).all()
        assert (kp[~inside, 2] == 0).all() and (kp[kp[..., 2] == 0, :2] == 0).all()  # unseen: conf 0
        dropped = inside & (kp[..., 2] == 0)
        assert dropped.mean() < 0.15
    assert any(t.any() for t in a.truncated.values()) and any((~t).any() for t in a.truncated.values())
    shots = a.tracks.shots
    assert all(s.end <= t.start for s, t in zip(shots, shots[1:], strict=False))


@pytest.mark.slow
def test_multishot_beats_frame_mode_on_truncated_frames(bm) -> None:
    cfg = SyntheticConfig(seed=11, clips=("punch", "run"), procedural=2, frames=20)
    res = run_benchmark(bm, cfg, modes=("frame", "multishot"))
    frame, multi = res["modes"]["frame"], res["modes"]["multishot"]
    assert res["truncated_frames"] >= 20
    assert multi["pa_mpjpe_truncated_mm"] < frame["pa_mpjpe_truncated_mm"] - 5.0
    assert multi["pa_mpjpe_mm"] < frame["pa_mpjpe_mm"]
    assert multi["cross_shot_pck"] > frame["cross_shot_pck"] + 0.1


def test_hard_benchmark_is_mostly_truncated_with_frequent_cuts(bm) -> None:
    from msmesh.eval.synthetic_hard import hard_config

    data = generate(bm, hard_config(0, frames=30))
    truncated = np.concatenate(list(data.truncated.values()))
    assert truncated.mean() >= 0.4
    assert len(data.tracks.people) == 8
    for p in data.tracks.people:
        lengths = np.diff(np.flatnonzero(np.diff(np.r_[-1, p.shot, -2]) != 0))
        assert lengths[:-1].min() >= 3 and lengths.max() <= 10  # last shot may be cut short
    # fast sequences move more per frame than the slow procedural ones
    def speed(pid: int) -> float:
        return float(np.abs(np.diff(data.gt_params[pid]["body_pose"], axis=0)).mean())

    assert min(speed(6), speed(7)) > 1.5 * max(speed(4), speed(5))


def test_synthetic_landmarks_like_blazepose(bm) -> None:
    from msmesh.eval.metrics import procrustes_align

    cfg = SyntheticConfig(seed=5, clips=("walk",), procedural=1, frames=12)
    plain = generate(bm, cfg)
    data = generate(bm, SyntheticConfig(seed=5, clips=("walk",), procedural=1, frames=12, landmarks=True))
    body = [*range(11, 17), *range(23, 29)]
    errs = []
    for p, q in zip(data.tracks.people, plain.tracks.people, strict=True):
        assert np.array_equal(p.keypoints, q.keypoints) and q.landmarks is None
        assert p.landmarks.shape == (12, 33, 3) and p.world_landmarks.shape == (12, 33, 4)
        # COCO-17 ⊂ BlazePose-33: the same points, so the same in-image flags
        from msmesh.body.joints import BLAZEPOSE33_TO_COCO17

        clean = plain.clean.people[p.id].keypoints[..., 2] > 0
        assert np.array_equal(p.landmarks[:, BLAZEPOSE33_TO_COCO17, 2] > 0, clean)
        gt = data.gt_params[p.id]["landmarks_cam"]
        gt = gt - (gt[:, 23:24] + gt[:, 24:25]) / 2
        w = p.world_landmarks[..., :3]
        errs.append(np.linalg.norm(procrustes_align(w[:, body], gt[:, body]) - gt[:, body], axis=-1).mean(1))
    assert 0.07 < np.concatenate(errs).mean() < 0.125  # BlazePose vs triangulation: 85–110 mm
