"""MultiShotFitter / fit_tracks on a small generated sequence, its errors, and `msmesh fit`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msmesh.data import FitResult, SmplSequence, load_smpl, save_tracks
from msmesh.errors import InputError
from msmesh.eval.synthetic import SyntheticConfig, generate
from msmesh.fit.camera import project_np
from msmesh.fit.fitter import MultiShotFitter, fit_tracks

FAST = {"stage1_iters": 20, "stage2_iters": 60}


@pytest.fixture(scope="module")
def bm():
    from msmesh.body import load_body_model

    return load_body_model("open")


@pytest.fixture(scope="module")
def small(bm):
    return generate(bm, SyntheticConfig(seed=3, clips=("walk",), procedural=1, frames=8))


def _reproj_px(bm, res, tracks) -> float:
    errs = []
    for seq, p in zip(res.people, tracks.people, strict=True):
        with torch.no_grad():
            _, c = bm.joints_only(
                torch.tensor(seq.global_orient),
                torch.tensor(seq.body_pose),
                torch.tensor(seq.betas)[None].expand(len(seq), 10),
                torch.tensor(seq.transl),
            )
        uv = project_np(c.numpy(), res.focal, res.center)
        vis = p.keypoints[..., 2] > 0
        errs.append(np.linalg.norm(uv - p.keypoints[..., :2], axis=-1)[vis])
    return float(np.median(np.concatenate(errs)))


def test_fit_outputs_every_frame_and_consistent_joints(bm, small) -> None:
    res = fit_tracks(small.tracks, bm, mode="multishot", **FAST)
    assert [p.id for p in res.people] == [0, 1]
    for seq, track in zip(res.people, small.tracks.people, strict=True):
        assert np.array_equal(seq.frames, track.frames) and np.array_equal(seq.shot, track.shot)
        assert (
            seq.global_orient.shape == (8, 3)
            and seq.body_pose.shape == (8, 69)
            and seq.joints.shape == (8, 24, 3)
        )
        with torch.no_grad():
            j, _ = bm.joints_only(
                torch.tensor(seq.global_orient),
                torch.tensor(seq.body_pose),
                torch.tensor(seq.betas)[None].expand(8, 10),
                torch.tensor(seq.transl),
            )
        assert np.abs(j.numpy() - seq.joints).max() < 1e-5
        assert (seq.joints[:, 0, 2] > 0.3).all()  # in front of the camera
    assert res.focal == pytest.approx(small.tracks.camera.focal)


def test_fit_reduces_reprojection_error_below_the_initialisation(bm, small) -> None:
    init = MultiShotFitter(bm, mode="frame", stage1_iters=0, stage2_iters=0).fit(small.tracks)
    fitted = fit_tracks(small.tracks, bm, mode="frame", **FAST)
    before, after = _reproj_px(bm, init, small.tracks), _reproj_px(bm, fitted, small.tracks)
    assert after < 0.5 * before and after < 25.0


def test_init_from_a_fit_result_and_lbfgs_optimizer(bm, small) -> None:
    first = fit_tracks(small.tracks, bm, mode="shot", **FAST)
    again = fit_tracks(small.tracks, bm, mode="shot", init=first, optimizer="lbfgs", stage2_iters=10)
    assert _reproj_px(bm, again, small.tracks) < _reproj_px(bm, first, small.tracks) * 1.2


def test_nan_keypoints_name_person_and_frame(bm, small) -> None:
    import copy

    bad = copy.deepcopy(small.tracks)
    bad.people[1].keypoints[3, 5, 0] = np.nan
    frame = int(bad.people[1].frames[3])
    with pytest.raises(InputError, match=f"person 1, frame {frame}"):
        fit_tracks(bad, bm, **FAST)
    bad = copy.deepcopy(small.tracks)
    bad.people[0].world_landmarks = np.zeros((8, 33, 4))
    bad.people[0].world_landmarks[2, 7, 1] = np.inf
    with pytest.raises(InputError, match=f"person 0, frame {int(bad.people[0].frames[2])}: world_landmarks 7"):
        fit_tracks(bad, bm, **FAST)
    bad.people[0].world_landmarks = np.zeros((8, 33, 3))
    with pytest.raises(InputError, match="world_landmarks must be"):
        fit_tracks(bad, bm, **FAST)


def test_bad_mode_and_option_are_input_errors(bm, small) -> None:
    with pytest.raises(InputError, match="mode"):
        fit_tracks(small.tracks, bm, mode="video")
    with pytest.raises(InputError, match="unknown fit option"):
        fit_tracks(small.tracks, bm, w_nonsense=1.0)
    with pytest.raises(InputError, match="line search"):
        fit_tracks(small.tracks, bm, line_search="armijo")


def test_cli_fit_writes_smpl(tmp_path, small) -> None:
    from msmesh.cli import main

    path = tmp_path / "tracks.json"
    save_tracks(path, small.tracks)
    rc = main(
        [
            "fit",
            str(path),
            "--mode",
            "shot",
            "--out",
            str(tmp_path / "run"),
            "--iterations",
            "20",
            "-q",
            "--format",
            "json",
        ]
    )
    assert rc == 0
    res = load_smpl(tmp_path / "run" / "smpl.json")
    assert len(res.people) == 2 and res.people[0].joints.shape == (8, 24, 3)
    assert main(["fit", str(tmp_path / "missing.json"), "--out", str(tmp_path / "x")]) == 2


def _gt_init(data) -> FitResult:

    seqs = []
    for p in data.tracks.people:
        g = data.gt_params[p.id]
        seqs.append(
            SmplSequence(
                id=p.id, frames=p.frames, shot=p.shot, global_orient=g["global_orient"].astype(np.float32),
                body_pose=g["body_pose"].astype(np.float32), betas=g["betas"].astype(np.float32),
                transl=g["transl"].astype(np.float32), joints=data.gt_joints[p.id].astype(np.float32),
            )
        )
    cam = data.tracks.camera
    return FitResult(people=seqs, focal=cam.focal, center=tuple(cam.center))


def test_init_prior_weights_follow_missing_keypoints() -> None:
    from msmesh.fit.fitter import init_prior_weights

    conf = np.ones((3, 17))
    conf[1, 11:17] = 0.0  # legs unseen
    w = init_prior_weights(conf, np.array([True, True, False]), 0.05).reshape(3, 23, 3)
    assert w[0].max() == 0.0 and w[2].max() == 0.0  # all seen / no init estimate
    assert np.allclose(w[1, [0, 3, 6], :], 1.0)  # l_hip, l_knee, l_ankle: every witness missing
    assert np.allclose(w[1, [17, 19], :], 0.0)  # r_elbow, r_wrist: arms seen
    assert np.allclose(w[1, 2, :], 0.5)  # spine1: half of the body keypoints missing


def test_init_prior_keeps_the_init_pose_where_keypoints_are_missing(bm, small) -> None:
    noisy = _gt_init(small)
    rng = np.random.default_rng(0)
    for seq in noisy.people:  # a regressor-like estimate: the truth plus 0.15 rad of noise
        seq.body_pose = seq.body_pose + rng.normal(0, 0.15, seq.body_pose.shape).astype(np.float32)
    legs = [3 * (j - 1) + k for j in (1, 2, 4, 5) for k in range(3)]

    def leg_gap(weight: float) -> float:
        res = fit_tracks(small.tracks, bm, mode="frame", init=noisy, init_prior_weight=weight, stage2_iters=60)
        gaps = []
        for seq, start, track in zip(res.people, noisy.people, small.tracks.people, strict=True):
            unseen = (track.keypoints[:, 13:17, 2] == 0).all(1)
            gaps.append(np.abs(seq.body_pose[unseen][:, legs] - start.body_pose[unseen][:, legs]).mean())
        return float(np.mean(gaps))

    assert any((p.keypoints[:, 13:17, 2] == 0).all(1).any() for p in small.tracks.people)
    free, held = leg_gap(0.0), leg_gap(1e5)
    assert held < 0.2 * free


def test_landmarks_and_world_bone_term_improve_the_fit(bm) -> None:
    import copy

    from msmesh.eval.synthetic import score
    from msmesh.eval.synthetic_hard import hard_config

    data = generate(bm, hard_config(3, clips=("run",), procedural=0, fast=1, frames=10, landmarks=True))
    plain = copy.deepcopy(data)
    for p in plain.tracks.people:
        p.landmarks = p.world_landmarks = None
    errs = {}
    for name, d, opts in (
        ("keypoints", plain, {}),
        ("landmarks", data, {"w_world_bones": 0.0}),
        ("world", data, {}),  # the default uses the world landmarks' bones
    ):
        errs[name] = score(fit_tracks(d.tracks, bm, mode="multishot", **FAST, **opts), d, bm)["pa_mpjpe_mm"]
    assert errs["landmarks"] < errs["keypoints"] + 2.0
    assert errs["world"] < errs["landmarks"] - 5.0, errs


def test_bone_direction_term_ignores_global_rotation_when_aligned() -> None:
    from scipy.spatial.transform import Rotation

    from msmesh.fit.losses import bone_directions

    g = torch.Generator().manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(4, 14, 3, generator=g), dim=-1)
    rot = torch.tensor(Rotation.random(4, random_state=1).as_matrix(), dtype=torch.float32)
    c = torch.rand(4, 14, generator=g)
    assert bone_directions(u, u @ rot, c, align=True).max() < 1e-6
    assert bone_directions(u, u @ rot, c, align=False).min() > 0.5
    assert bone_directions(u, u, c, align=False).max() < 1e-9


def test_stopping_rule_and_trace(bm, small) -> None:
    capped = MultiShotFitter(bm, mode="multishot", stage1_iters=10, stage2_iters=100, trace_every=10)
    capped.fit(small.tracks)
    assert capped.stats.iterations[-1] == 100
    times = [t for t, _, _, _ in capped.stats.trace]
    assert len(times) >= 9 and times == sorted(times) and capped.stats.trace[0][3].shape == (16, 24, 3)
    early = MultiShotFitter(bm, mode="multishot", stage1_iters=10, stage2_iters=100, stop_rel_decrease=0.2,
                            stop_window=10)
    early.fit(small.tracks)
    assert early.stats.iterations[-1] < 100 and early.stats.iterations[-1] % 10 == 0


def test_continuation_and_unseen_prior_options_change_the_multishot_fit(bm, small) -> None:
    base = MultiShotFitter(bm, mode="multishot", **FAST)
    base.fit(small.tracks)
    warm = MultiShotFitter(bm, mode="multishot", sm_warmup_iters=10, **FAST)
    warm.fit(small.tracks)
    assert len(warm.stats.iterations) == len(base.stats.iterations) + 1
    unseen = MultiShotFitter(bm, mode="multishot", prior_unseen_scale=0.1, **FAST)
    unseen.fit(small.tracks)
    assert abs(unseen.stats.final_energy - base.stats.final_energy) > 1e-3 * base.stats.final_energy
    frame = MultiShotFitter(bm, mode="frame", sm_warmup_iters=10, **FAST)  # no pairs: no warm-up stage
    frame.fit(small.tracks)
    assert len(frame.stats.iterations) == 3  # multi-start, stage 1, stage 2


def test_yaw_multistart_recovers_a_turned_body(bm) -> None:
    # wide views from random azimuths: the keypoint heuristic's yaw is often off, the multi-start less so
    from scipy.spatial.transform import Rotation

    from msmesh.eval.synthetic import score

    data = generate(bm, SyntheticConfig(seed=4, clips=("walk",), procedural=0, frames=6, cameras=("wide", "wide")))
    errs = {}
    for starts in (0, 6):
        fitter = MultiShotFitter(bm, mode="frame", yaw_starts=starts, stage1_iters=20, stage2_iters=0)
        res = fitter.fit(data.tracks)
        truth = data.gt_params[0]["global_orient"]
        rel = Rotation.from_rotvec(res.people[0].global_orient).inv() * Rotation.from_rotvec(truth)
        errs[starts] = float(np.degrees(rel.magnitude()).mean())
    assert errs[6] < 0.6 * errs[0], errs  # measured: 37° from one start, 16° from six
    assert score(res, data, bm)["frames"] == 6


def test_start_from_an_estimate_solves_translations_and_scales_variables(bm, small) -> None:
    rng = np.random.default_rng(1)
    start = _gt_init(small)
    for seq in start.people:  # a regressor-like estimate: noisy pose, depth jittering by ±30 % frame to frame
        seq.body_pose = seq.body_pose + rng.normal(0, 0.15, seq.body_pose.shape).astype(np.float32)
        seq.transl = seq.transl * rng.uniform(0.7, 1.3, (len(seq), 1)).astype(np.float32)

    def run(**kw):  # noqa: ANN003, ANN202
        f = MultiShotFitter(bm, mode="multishot", stage2_iters=15, **kw)
        return f, f.fit(small.tracks, init=start)

    plain, plain_res = run(init_solve_transl=False, init_jacobi_probes=0)
    fast, fast_res = run()
    assert fast.stats.iterations == [15] and fast.stats.final_energy < 0.5 * plain.stats.final_energy  # 0.33×
    assert _reproj_px(bm, fast_res, small.tracks) < 0.6 * _reproj_px(bm, plain_res, small.tracks)  # 9 vs 27 px
    assert fast.stats.evaluations == [15]  # scaled: unit L-BFGS steps, one evaluation per iteration
    wolfe, _ = run(line_search="strong_wolfe")
    assert wolfe.stats.evaluations[0] > 15 and fast.stats.final_energy < 1.5 * wolfe.stats.final_energy
    frame = MultiShotFitter(bm, mode="frame", stage2_iters=15)  # frame mode: the translations only
    frame.fit(small.tracks, init=start)
    assert frame.stats.iterations == [15]


def test_unit_steps_that_diverge_are_run_again_with_the_line_search(bm) -> None:
    """A stage whose unit steps end above their starting energy restarts from its start with strong Wolfe.
    The toy energy is one where unit-step L-BFGS ends at ~69 from 19.5 and the line search reaches ~0."""
    fitter = MultiShotFitter(bm, mode="multishot")
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)

    def energy() -> torch.Tensor:
        return (x**2).sum() + 50 * torch.sin(3 * x).sum() ** 2

    fitter._run_stage([x], energy, 20, None, 0, 20, unit_steps=True)
    assert fitter.stats.fallbacks == 1 and float(energy().detach()) < 1e-6
    assert fitter.stats.evaluations[0] > 20  # both attempts counted
    calm = MultiShotFitter(bm, mode="multishot")
    y = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)

    def quartic() -> torch.Tensor:
        return 100 * (y**4).sum() + (y**2).sum()

    calm._run_stage([y], quartic, 20, None, 0, 20, unit_steps=True)
    assert calm.stats.fallbacks == 0 and float(quartic().detach()) < 1e-6 and calm.stats.evaluations[0] <= 20


def test_unit_steps_whose_last_step_diverges_are_caught(bm) -> None:
    """L-BFGS takes its last unit step without evaluating it; the guard must look at where the stage ended,
    not at the energy before that step (here 38.5 → 70.6 on the last step went unnoticed)."""
    fitter = MultiShotFitter(bm, mode="multishot")
    x = torch.tensor([-1.0959191882464379, 0.2329723015209031], dtype=torch.float64, requires_grad=True)

    def energy() -> torch.Tensor:
        return (x**2).sum() + 28.377321362495422 * torch.sin(3.293764352798462 * x).sum() ** 2

    with torch.no_grad():
        start = float(energy())
    fitter._run_stage([x], energy, 3, None, 0, 3, unit_steps=True)
    with torch.no_grad():
        end = float(energy())
    assert fitter.stats.fallbacks == 1 and end < start
