"""MultiShotFitter: SMPL fitted to 2D keypoint tracks across shot cuts (the paper's §3.1, Eq. 1–3).

One optimisation over every frame of every person of a video (people batched together, no fixed-size
chunks). Parameters: per frame global orientation (it absorbs the camera rotation, which changes at a cut),
body pose and translation in that frame's camera; one shape β per person. The camera is a pinhole shared
by the video (``tracks.json``'s camera or :func:`msmesh.fit.camera.default_focal`).

Energy (per frame, then per consecutive-frame pair of a person):

    E = Σ_t  w_rep·Σ_k c_k ρ_σ(‖Π(K_k^t) − x_k^t‖ / s) + w_pose·E_pose(θ_b^t) + w_bend·E_bend(θ_b^t)
      + w_shape·‖β‖²
      + Σ_pairs g_t·m_can·( w_sj·‖X_can^t − X_can^{t+1}‖² + w_sp·‖θ_b^t − θ_b^{t+1}‖² )        (Eq. 1, 2)
      + Σ_triples g_t·g_{t+1}·m_can·w_sa·‖X_can^{t+1} − 2 X_can^t + X_can^{t−1}‖²        (acceleration, below)
      + Σ_pairs g_t·m_cam·( w_so·‖R_gl^t − R_gl^{t+1}‖²_F + w_st·‖P^t − P^{t+1}‖² )

with K the model's COCO-17 keypoints, ρ_σ Geman-McClure, s = image diagonal / 1000 (so σ is in
"pixels of a 1000-pixel-diagonal image"), X_can the 24 joints with the pelvis position and global rotation
undone, P the pelvis in camera coordinates, and g_t = min(1, step / gap) the time-gap factor (``step`` = the
video's usual frame step between fitted frames, so a gap of many frames constrains less).

The modes differ only in the pair masks: ``frame`` m_can = m_cam = 0; ``shot`` m_can = m_cam = same shot;
``multishot`` m_can = 1 (across cuts too — the paper's insight) and m_cam = same shot.

Init prior (``init_prior_weight``, default 0 = off): when the fit starts from a given estimate (``init``,
e.g. a regressor's ``reconstruct --init regress``), the term ``w_init·Σ_j m_j^t ‖θ_j^t − θ_j,init^t‖²`` keeps
each body joint near that estimate where the keypoints that witness it are missing: m_j^t is the fraction of
the joint's witnesses with confidence ≤ ``min_conf`` (legs: hip/knee/ankle keypoints; arms: shoulder/elbow/
wrist; trunk and head: all twelve body keypoints), 0 on frames the init does not cover — so fully seen frames
are fitted as before. Scale: the reprojection term is in squared pixels of a 1000-pixel diagonal, so useful
weights are 1e3–1e5 (measured on a small set: 1e4 keeps unseen legs ~2.5× nearer the init, 1e5 ~25×).

Landmarks (tracks@2): when a person has BlazePose landmarks, the model's 33 landmarks (body/landmarks.py)
are reprojected with the same robust term, visibility as confidence, weight ``w_landmarks`` (heels, toes
and hands fix the ankles and wrists). 3D term, used when world landmarks are given (``w_world_bones``,
default 3000; 0 turns it off): per frame
Σ_b c_b ‖u_b − R v_b‖² over 14 bones (arms, legs, feet, torso sides), u the model's unit bone vectors, v the
world landmarks', c the smaller visibility of the bone's ends, R the frame's best rotation of v onto u
(Kabsch, ``world_bones_align``), so only directions between body parts count, not BlazePose's global
orientation nor its limb lengths (±50 mm). Measured on the hard set with simulated landmarks (tuning seed
100, before the orientation multi-start; world landmarks ≈ 95 mm PA error, limb lengths ±50 mm), multishot
PA-MPJPE all / truncated (frame mode in brackets): off 124.4 / 144.3 (132.6 / 153.5); w = 300:
115.5 / 135.5; 1,000: 99.6 / 118.3 (without the alignment 97.9 / 117.5 — the simulation has no orientation
error, real BlazePose has); 3,000: 76.0 / 89.0 (85.5 / 100.8), cross-shot PCK unchanged (0.70 → 0.71);
10,000: 67.6 / 74.6 (77.3 / 86.0) but cross-shot PCK falls to 0.64 (3D trusted over the 2D keypoints) →
default 3,000. Report seeds: README.

Why cross-cut information reaches the close-ups only partly — measured with ``bench/multishot_reach.py``
on the hard synthetic set (eval/synthetic_hard.py, tuning seed 100: 480 frames, 292 truncated, 158 of them
≥ 5 sampled frames away from any full view of the person; before the orientation multi-start), PA-MPJPE of
truncated frames, frame → multishot:

- By distance d to the nearest untruncated frame: d = 1: 142 → 115 mm; d = 2: 147 → 128; d = 3–4:
  163 → 148; d ≥ 5: 157 → 144. Leg joints: 217 → 171 at d = 1 but 228 → 215 at d ≥ 5. The gain is in the
  frames next to a full view.
- Not the iteration cap: 1,000 instead of 300 iterations halves the final energy (5,022 → 2,528) and moves
  truncated frames only 139.3 → 137.4 mm.
- Not the smoothness weights: Eq. 1 and 2 × 4: 138.2 mm; × 20 for the first 100 iterations
  (continuation, ``sm_warmup_iters``): 138.8.
- Not the pose prior pulling unseen legs to the mean: w_pose 20 → 5: 141.8; prior × 0.2 on frames whose
  body keypoints are unseen (``prior_unseen_scale``): 140.2.
- Not the time-gap factor: g = 1 for every pair of consecutive sampled frames (here and on real video).
- Orientation costs every mode alike: starting from the true global orientation and translation (pose
  from the mean) gives 132.3 → 123.1 mm (from 155.4 → 139.3); the close-ups' orientation guess from face
  and shoulders is poor, but the cross-cut gain stays ≈ 0.9×. Hence the multi-start of stage 1 (below).
- The cause — reach test (truth everywhere except the legs of truncated frames, reset to the mean pose):
  multishot recovers legs one frame from a full view (160 → 123 mm) but not two or more (167 → 156,
  167 → 163, 173 → 180); more iterations or 10× smoothness make it *worse everywhere* (1,000 iterations: the
  full views' legs 80 → 101 mm), a 10× weaker prior helps slightly. Eq. 1's first-difference smoothness
  treats real motion as error: with fast motion at 15 sampled frames/s the minimum-energy legs of a run of
  unseen frames are an average of the neighbours', close to the mean pose, and the unseen frames pull the
  seen ones towards it. The missing information is not in this energy, so no weight or solver setting
  recovers it; the regressor's estimate as an init prior or BlazePose's 3D bones (above) add it.
- Later session, from the t-HMMR start (30 iterations, tuning seed 100; frame 127.5 / 144.9 mm, all /
  truncated; multishot 112.7 / 130.8, by distance d = 1 / 2 / 3–4 / ≥ 5: 109.6 / 123.8 / 127.4 / 138.5 vs
  frame's 145.0 / 139.9 / 137.7 / 148.8): a second-difference (acceleration) term on the canonical joints,
  ``w_sm_accel`` Σ g_t g_{t+1} ‖X_can^{t+1} − 2 X_can^t + X_can^{t−1}‖², across cuts like Eq. 1: 2,000 →
  111.9 / 129.0; 5,000 → 112.0 / 128.3; 20,000 → 116.7 / 131.1; 2,000 with Eq. 1's w_sm_joint halved to 1,000
  → 111.0 / 128.3 (d = 1 / 2 / 3–4 / ≥ 5: 102.7 / 119.4 / 127.1 / 136.6) — kept as the default (report seeds
  0–2, multishot, heuristic start 116.8 / 131.7 → 114.8 / 129.9, cross-shot PCK 72 → 76 %; from t-HMMR
  112.8 / 128.5 → 111.2 / 126.8, and 108.0 / 124.5 once the Jacobi scales were capped). The t-HMMR
  estimate as an init prior on unseen joints (``init_prior_weight``)
  in multishot: 1e3 → 113.7 / 132.2, 1e4 → 117.6 / 137.6 — worse here too, so off. The gain stays at the
  frames next to a full view (d = 1: 0.71 × frame) while frames ≥ 5 away stay at 0.92 × frame, so the target of
  0.70 × frame over all truncated frames is out of reach of this energy with this regressor (measured
  0.89 from the heuristic start, 0.91 from t-HMMR): the regressor is no better than the fit on those frames
  (140.2 mm truncated on the hard set), so neither start nor prior carries the legs across several unseen
  frames.
- An upper bound on propagation (``bench/multishot_reach.py --init-regress --oracle``, report seeds 0 / 1 / 2,
  truncated frames): frame mode's estimate with the *true* leg rotations of the nearest untruncated frame put
  in by hand is worse than frame mode itself (148.1 / 151.0 / 139.7 vs 141.2 / 134.1 / 129.9 mm), true legs
  interpolated from both sides too (145.5 / 145.8 / 134.5); only the frame's *own* true legs reach the target
  (92.4 / 89.6 / 84.5, 0.65 × frame). On this set a truncated frame is a median ~6 sampled frames from a full
  view and the motion is fast, so the legs of the full views say little about the legs of the close-up; the
  multishot fit (125.8 / 123.5 / 115.5, 0.89 / 0.92 / 0.89 × frame) already does better than that oracle.
  0.70 × frame would need leg information that is not in the other shots.

Optimisation: staged like SMPLify — stage 1 fits orientation and translation (torso and head keypoints,
pose fixed), stage 2 everything — with L-BFGS (strong-Wolfe line search, history 20). Stage 1 is multi-start
(``yaw_starts`` = 6): every frame's initial orientation turned about the body's vertical axis by 0°, 60°, …,
300°, each fitted (all frames and starts in one batch, no pairs), and per frame the start whose fit
reprojects the torso best is kept; then the usual stage 1 and 2. Measured on the hard set (seed 100, 160
frames), PA-MPJPE frame / multishot: one start 136.7 / 123.9 mm; 4 starts 130.2 / 115.1; 6 starts
127.9 / 113.6; 12 starts 128.0 / 114.2. Stopping rule: stage 1
runs ≤ 30 iterations; stage 2 ends at its cap (``stage2_iters``, 300) or when L-BFGS's own tolerances are met
(a step changes the energy or every parameter by < ``tol_change`` = 1e-7, or the largest gradient component
is < 1e-9), whichever comes first; with ``stop_rel_decrease`` > 0 it also ends when a window of
``stop_window`` (25) iterations lowers the energy by less than that share of it. On the synthetic sets the cap
is what ends the fit. Adam is selectable (``optimizer="adam"``): on the old benchmark (seed 1) it reached a
lower energy but worse accuracy (130 vs 113 mm); on the hard set (seed 100, one start) frame 151.5 vs
135.7 mm, multishot 124.2 vs 121.6 — under monocular depth ambiguity the energy minimum is not the best 3D
pose. Its early PA-MPJPE can be lower (bench/fit_curve.py: 111 mm after 50 steps, then drifting to 122), but
its energy stays 20–40× above L-BFGS's because it sends frames with few keypoints tens to hundreds of metres
away, which PA-MPJPE (scale- and translation-free) does not see.

From an estimate (``init``; the pipeline's default ``--init auto`` gives the shipped t-HMMR and
``msmesh.stages.REGRESS_INIT_ITERS`` = 33 stage-2 iterations): no multi-start and no stage 1 (the regressor
gives the orientation), then

1. ``init_solve_transl``: every translation re-solved at once with the pose held (fit/translation.py: the
   reprojection and translation-smoothness terms, linearised, IRLS for ρ, one banded solve). The regressor's
   weak-perspective depth jitters: at its raw start the translation-smoothness term is 93 % of the energy
   (66,329 of 71,731 per frame on bench/fit_speed.py's set) and L-BFGS first trades pose for depth — after 30
   iterations the fit was *worse* than the regressor (151.0 vs 126.7 mm). After the solve that term is 28.
2. ``init_jacobi_probes`` (shot and multishot modes): L-BFGS runs on scaled variables u = x / s, s = 1/√h,
   h the diagonal of the Gauss–Newton Hessian of the reprojection and smoothness residuals (4 random-sign
   probes, one backward pass each) plus the pose prior's curvature. Legs of a close-up (no keypoints) and a
   wide shot's hips differ by orders of magnitude in curvature; one L-BFGS scale for all of them is what made
   the fit need hundreds of iterations.
3. On those scaled variables L-BFGS takes unit steps (``line_search`` "auto": no line search where the Jacobi
   scales are used, strong Wolfe everywhere else): one energy evaluation per iteration. On bench/fit_speed.py's
   set, 33 iterations: 102.7 / 109.9 mm in 33 evaluations, with the strong-Wolfe search 102.6 / 109.8 in 40; per
   evaluation: 40 unit steps 100.8 / 108.0. Hard set seed 0, shot / multishot: 113.2 / 135.1, 106.6 / 125.8
   (strong Wolfe 113.2 / 135.0, 106.7 / 125.8). Guard: a stage whose unit steps end with a non-finite or higher
   energy than they started from is run again from its start with the strong-Wolfe search
   (``FitStats.fallbacks``; 0 on fit_speed's set and on the hard set's seeds 0–2 in every mode).

Measured on bench/fit_speed.py's set (10 people × 100 frames, multishot, 1 thread; before the acceleration
term), PA-MPJPE all / truncated by stage-2 energy evaluations: regressor alone 126.7 / 134.5; its start, 100
iterations, neither step (the previous default) 115.9 / 126.8; + translation solve: 30 evaluations
117.7 / 125.5, 100: 107.6 / 115.5; + Jacobi scaling: 30: 109.8 / 118.1, 40: 106.8 / 115.0, 60: 104.0 / 112.1,
then a plateau of 102.1 / 110.0 from ~110 on (energy still −3 % per 10 iterations, accuracy flat). On the hard
set (bench/fit_curve.py, seed 0) the error is lowest at 40–60 evaluations (98.9 mm) and then rises to 109.5 at
600 while the energy falls: past that the fit trades the regressor's 3D for 2D agreement.

Stopping rule of the default (from an estimate): stage 2 ends after ``REGRESS_INIT_ITERS`` = 33 L-BFGS
iterations (= 33 energy evaluations with unit steps; frame mode, unscaled, keeps the line search: ≈ 40) or
earlier when L-BFGS's own tolerances are met (a step changes the energy or every parameter by < ``tol_change`` =
1e-7, or the largest gradient component is < 1e-9), whichever comes first; no energy-window rule
(``stop_rel_decrease`` = 0). On bench/fit_speed.py's set, from the t-HMMR on strided windows
(regress/predict.py), PA-MPJPE all / truncated, unit steps: 30 iterations 103.5 / 110.7 mm, 33: 102.7 / 109.9,
35: 101.9 / 109.2; the previous default (30 iterations with the line search, 35 evaluations, from the t-HMMR on
every frame's window) 103.1 / 110.4 — 33 is the smallest cap at least as accurate on both. The Jacobi probes
(30 iterations, line search): 1 → 116.4 / 123.6, 2 → 108.1 / 115.4, 4 → 103.7 / 110.9, 6–12 → 103.0–103.5
(noise), so 4. The heuristic start with the multi-start and 300 iterations: 109.4 / 117.0 at 85 frames/s
(README). Tried and not kept:
one global scale per variable kind (translation × 0.2, orientation × 0.5: 110.0 vs 112.1 mm at 60
iterations, superseded by the Jacobi scales); re-running stage 1 from the init (no gain per evaluation);
L-BFGS history 8, 10 or 50 (no change in accuracy nor, for 8–10, in time); the Jacobi scales on the
heuristic path (worse: 114.2 vs 111.7 mm, 3×
the final energy — stage 1 leaves large residuals the diagonal misjudges) and in frame mode (truncated frames
141.2 vs 136.3 mm on the hard set: a faster descent into frame mode's worse minimum); a hand-written
backward for the mixture prior (5.2 vs 5.0 ms, no gain). What an evaluation costs (CPU time, 1,000 frames,
1 thread, shared machine so ~2× an idle one's): body model forward + backward ~15 ms, the rest 20 → 13 ms since
the smoothness terms are computed batch-last on the body model's own layout (no N×3×3 matmuls). Then, profiled
with torch.profiler, autograd's bookkeeping of many small elementwise ops dominated the backward pass (its
MulBackward nodes alone ~8 ms an evaluation under the profiler), and the per-frame shape contraction of the
keypoints ~7 ms: now hand-written backward passes for the kinematic chain and skinning transforms
(body/lbs.skin_t), Rodrigues (lbs.rodrigues_t) and Eq. 1's canonical smoothness with its acceleration term
(losses.canonical_smoothness_t), and the shape part of the keypoints contracted once per person
(``joints_only(person_frames=...)``, :meth:`MultiShotFitter._body`). With the unit steps and the strided
t-HMMR, bench/fit_speed.py runs at 1,009–1,095 frames/s end to end (fit alone 1,144–1,236; shared machine
near idle, 1 thread; the previous default 695–705 in the same minutes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from msmesh.body.lbs import rodrigues_t
from msmesh.data import FitResult, SmplSequence, Tracks
from msmesh.errors import InputError
from msmesh.fit import losses
from msmesh.fit.camera import default_center, default_focal, project
from msmesh.fit.init import initial_parameters
from msmesh.fit.prior import DEFAULT_PRIOR, GMMPrior, build_pose_prior, mean_pose
from msmesh.fit.translation import solve_translations
from msmesh.options import FIT_MODES
from msmesh.rotations import axis_angle_to_rotmat, rotmat_to_axis_angle

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

MODES = FIT_MODES
# COCO-17 keypoints used in stage 1 (rigid-ish: face, shoulders, hips)
TORSO_KEYPOINTS = (0, 1, 2, 3, 4, 5, 6, 11, 12)

ProgressCallback = Callable[[int, int], None]
"""``progress(done, total)``: optimiser iterations done out of the planned maximum."""


@dataclass
class FitOptions:
    """Weights and optimiser settings (defaults chosen on the synthetic benchmark, see eval/synthetic.py)."""

    sigma: float = 100.0
    w_rep: float = 1.0
    w_pose: float = 20.0
    w_bend: float = 10.0
    w_shape: float = 20.0
    w_sm_joint: float = 1e3
    w_sm_pose: float = 20.0
    w_sm_orient: float = 50.0
    w_sm_transl: float = 1e3
    w_sm_accel: float = 2e3  # second differences of the canonical joints (t−1, t, t+1), across cuts in multishot
    min_conf: float = 0.05
    init_prior_weight: float = 0.0
    sm_warmup_iters: int = 0  # stage-2 iterations run first with the canonical smoothness × sm_warmup_factor
    sm_warmup_factor: float = 10.0
    prior_unseen_scale: float = 1.0  # pose prior × this on frames with every body keypoint unseen (not frame mode)
    w_landmarks: float = 1.0
    w_world_bones: float = 3000.0
    world_bones_align: bool = True
    stage1_iters: int = 30
    init_jacobi_probes: int = 4  # with an init, shot/multishot: Jacobi-scaled stage 2 from this many probes (0 = off)
    init_solve_transl: bool = True  # with an init: re-solve every translation first (fit/translation.py)
    yaw_starts: int = 6  # > 1: multi-start stage 1 over this many turns about the body's vertical axis
    stage2_iters: int = 300
    history: int = 20
    line_search: str = "auto"  # L-BFGS: strong_wolfe | none (unit steps) | auto (none on Jacobi-scaled stage 2)
    stop_rel_decrease: float = 0.0  # > 0: stop stage 2 when a window lowers the energy by less than this share
    stop_window: int = 25  # iterations per window of that stopping rule
    tol_change: float = 1e-7
    pose_prior: str = DEFAULT_PRIOR
    pose_prior_path: str | None = None
    optimizer: str = "lbfgs"  # lbfgs | adam
    trace_every: int = 0  # record the joints every k energy evaluations of stage 2 (FitStats.trace)
    adam_lr: float = 0.03

    @classmethod
    def from_kwargs(cls, **kw: Any) -> FitOptions:
        return cls().updated(**kw)

    def updated(self, **kw: Any) -> FitOptions:
        """A copy with the given fields replaced; an unknown name is an :class:`InputError`."""
        names = {f.name for f in fields(self)}
        unknown = set(kw) - names
        if unknown:
            raise InputError(f"unknown fit option(s): {', '.join(sorted(unknown))}")
        return replace(self, **kw)


@dataclass
class FitStats:
    """What the last fit did: function evaluations/iterations per stage (the multi-start stage first, when it
    runs: one entry per chunk of MULTISTART_CHUNK frames, each on ``yaw_starts`` × its frames) and the final
    energy."""

    iterations: list[int] = field(default_factory=list)
    evaluations: list[int] = field(default_factory=list)
    final_energy: float = float("nan")
    fallbacks: int = 0  # stages whose unit steps diverged and were run again with the line search
    # with ``trace_every`` > 0: (seconds since the fit began, evaluations, energy, SMPL-24 joints (N,24,3))
    trace: list[tuple[float, int, float, np.ndarray]] = field(default_factory=list)


@dataclass
class _Batch:
    """All people's frames stacked: index arrays that define frames, people and pairs."""

    person_index: torch.Tensor  # (N,) which person each frame belongs to
    keypoints: torch.Tensor  # (N,17,2)
    conf: torch.Tensor  # (N,17)
    first: torch.Tensor  # (M,) pair frame indices: always consecutive frames (t, t+1) of a person
    second: torch.Tensor  # (M,)
    same_shot: torch.Tensor  # (M,) bool
    gap_weight: torch.Tensor  # (M,)
    slices: list[tuple[int, int]]  # per person [start, end) into N
    prior_target: torch.Tensor | None = None  # (N,69) the init's body pose (init prior), or None
    prior_weight: torch.Tensor | None = None  # (N,69) per-frame, per-parameter weight of that prior
    prior_scale: torch.Tensor | None = None  # (N,) per-frame factor of the pose prior, or None (all 1)
    landmarks: torch.Tensor | None = None  # (N,33,2) BlazePose landmarks (tracks@2), or None
    landmark_conf: torch.Tensor | None = None  # (N,33) their visibility (0 where a frame has none)
    world_bones: torch.Tensor | None = None  # (N,B,3) unit bone vectors of the world landmarks, or None
    world_bone_conf: torch.Tensor | None = None  # (N,B)



class _Params(NamedTuple):
    """The fit's variables: per frame global orientation (N,3), body pose (N,69), translation (N,3); per person
    shape (P,10)."""

    go: torch.Tensor
    bp: torch.Tensor
    tr: torch.Tensor
    betas: torch.Tensor


@dataclass
class _Scene:
    """What every energy evaluation of one fit shares: the batch, the camera, the residual scale (image
    diagonal / 1000) and the mode's weights (canonical, camera) of the N−1 consecutive frame pairs (0 where a
    pair spans two people; empty when nothing is paired)."""

    b: _Batch
    focal: float
    center: tuple[float, float]
    scale: float
    w_can: torch.Tensor
    w_cam: torch.Tensor

    @property
    def any_can(self) -> bool:
        return bool((self.w_can > 0).any())

    @property
    def any_cam(self) -> bool:
        return bool((self.w_cam > 0).any())

# Which COCO-17 keypoints witness each SMPL body joint (joints 1..23) for the init prior: legs by the
# hip/knee/ankle keypoints, arms by shoulder/elbow/wrist, the trunk and head by all twelve body keypoints.
_LEG_KP, _ARM_KP, _BODY_KP = (11, 12, 13, 14, 15, 16), (5, 6, 7, 8, 9, 10), tuple(range(5, 17))
_JOINT_WITNESS = {
    **{j: _LEG_KP for j in (1, 2, 4, 5, 7, 8, 10, 11)},
    **{j: _ARM_KP for j in (13, 14, 16, 17, 18, 19, 20, 21, 22, 23)},
    **{j: _BODY_KP for j in (3, 6, 9, 12, 15)},
}


LINE_SEARCHES = ("auto", "strong_wolfe", "none")
MULTISTART_CHUNK = 2048  # frames per batch of the orientation multi-start (bounds its memory)
JACOBI_MAX_SCALE = 3.0  # Jacobi scales relative to the median pose scale are capped here (poses reach ~2)

# Bones of the optional 3D term on BlazePose world landmarks (landmark index pairs): upper and lower arms and
# legs, feet, and the torso's four sides.
WORLD_BONES = (
    (11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28),
    (27, 31), (28, 32), (11, 12), (23, 24), (11, 23), (12, 24),
)


def unit_bones(points: torch.Tensor) -> torch.Tensor:
    """(N,33,3) landmarks → (N,B,3) unit vectors of :data:`WORLD_BONES`."""
    i, j = zip(*WORLD_BONES, strict=True)
    d = points[:, list(j)] - points[:, list(i)]
    return d / d.norm(dim=-1, keepdim=True).clamp_min(1e-6)


def init_prior_weights(conf: np.ndarray, from_init: np.ndarray, min_conf: float) -> np.ndarray:
    """(N,69) weights of the init prior: per frame and joint, the fraction of the keypoints that witness
    that joint which are missing (confidence ≤ ``min_conf``); 0 for frames without an init estimate."""
    seen = conf > min_conf
    out = np.zeros((len(conf), 23, 3), dtype=np.float32)
    for j, kps in _JOINT_WITNESS.items():
        out[:, j - 1] = (1.0 - seen[:, list(kps)].mean(1))[:, None]
    out[~from_init] = 0.0
    return out.reshape(len(conf), 69)


def pair_weights(
    same_shot: torch.Tensor, gap_weight: torch.Tensor, mode: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(canonical, camera) weights of each consecutive pair for a mode — the only difference between modes."""
    if mode not in MODES:
        raise InputError(f"unknown fit mode {mode!r} (expected one of {', '.join(MODES)})")
    same = same_shot.to(gap_weight.dtype)
    if mode == "frame":
        zero = torch.zeros_like(gap_weight)
        return zero, zero
    if mode == "shot":
        return gap_weight * same, gap_weight * same
    return gap_weight, gap_weight * same


def typical_step(tracks: Tracks) -> int:
    """The usual frame step between consecutive fitted frames (median over all people; ≥ 1)."""
    diffs = np.concatenate([np.diff(p.frames) for p in tracks.people if len(p) > 1] or [np.array([1])])
    return max(1, int(np.median(diffs)))


def validate_tracks(tracks: Tracks, min_conf: float) -> None:
    """Fitting-specific checks: finite keypoints/boxes, matching lengths, someone visible per person."""
    if tracks.keypoint_format != "coco17":
        raise InputError(f"the fitter needs COCO-17 keypoints, got {tracks.keypoint_format!r}")
    for p in tracks.people:
        kp = np.asarray(p.keypoints)
        if (
            kp.ndim != 3
            or kp.shape[1:] != (17, 3)
            or len(kp) != len(p.frames)
            or len(p.shot) != len(p.frames)
        ):
            raise InputError(
                f"person {p.id}: keypoints must be (T,17,3) with T = {len(p.frames)} frames, got {kp.shape}"
            )
        bad = ~np.isfinite(kp)
        if bad.any():
            t, k, _ = np.argwhere(bad)[0]
            raise InputError(
                f"person {p.id}, frame {int(p.frames[t])}: keypoint {int(k)} is not a finite number"
            )
        for name, cols in (("landmarks", 3), ("world_landmarks", 4)):
            arr = getattr(p, name, None)
            if arr is None:
                continue
            arr = np.asarray(arr)
            if arr.shape != (len(p.frames), 33, cols):
                raise InputError(
                    f"person {p.id}: {name} must be (T,33,{cols}) with T = {len(p.frames)} frames, got {arr.shape}"
                )
            if not np.isfinite(arr).all():
                t, k, _ = np.argwhere(~np.isfinite(arr))[0]
                raise InputError(
                    f"person {p.id}, frame {int(p.frames[t])}: {name} {int(k)} is not a finite number"
                )
        if len(p.frames) > 1 and np.any(np.diff(p.frames) <= 0):
            raise InputError(f"person {p.id}: frames must be strictly increasing")
        if len(p.frames) and not (kp[..., 2] > min_conf).any():
            raise InputError(
                f"person {p.id}: no keypoint has confidence > {min_conf} in any frame; nothing to fit"
            )


class MultiShotFitter:
    """Fits SMPL to every person of a :class:`Tracks` in one batched, staged optimisation."""

    def __init__(
        self,
        body_model: BodyModel,
        mode: str = "multishot",
        device: str | torch.device = "cpu",
        options: FitOptions | None = None,
        **overrides: Any,
    ) -> None:
        """``options`` (default: :class:`FitOptions`'s defaults), with any of its fields replaced by
        ``overrides`` (``MultiShotFitter(bm, stage2_iters=50)``)."""
        if mode not in MODES:
            raise InputError(f"unknown fit mode {mode!r} (expected one of {', '.join(MODES)})")
        self.mode = mode
        self.device = torch.device(device)
        self.bm = body_model.to(self.device)
        self.opt = (options or FitOptions()).updated(**overrides)
        if self.opt.line_search not in LINE_SEARCHES:
            raise InputError(
                f"unknown line search {self.opt.line_search!r} (expected one of {', '.join(LINE_SEARCHES)})"
            )
        self.prior = build_pose_prior(self.opt.pose_prior, self.opt.pose_prior_path).to(self.device)
        self.mean_pose = mean_pose()
        self.stats = FitStats()

    # ------------------------------------------------------------------ setup
    def _batch(self, tracks: Tracks) -> _Batch:
        step = typical_step(tracks)
        pidx, kps, firsts, seconds, same, gap, slices = [], [], [], [], [], [], []
        n = 0
        for i, p in enumerate(tracks.people):
            t = len(p)
            pidx.append(np.full(t, i))
            kps.append(np.asarray(p.keypoints, dtype=np.float32))
            if t > 1:
                firsts.append(np.arange(n, n + t - 1))
                seconds.append(np.arange(n + 1, n + t))
                same.append(p.shot[:-1] == p.shot[1:])
                gap.append(np.minimum(1.0, step / np.diff(p.frames)))
            slices.append((n, n + t))
            n += t

        def cat(xs: list[np.ndarray], dt: torch.dtype) -> torch.Tensor:
            return torch.tensor(np.concatenate(xs) if xs else np.zeros(0), dtype=dt, device=self.device)

        kp = torch.tensor(np.concatenate(kps), device=self.device)
        conf = kp[..., 2].clone()
        conf[conf <= self.opt.min_conf] = 0.0
        extra: dict[str, torch.Tensor] = {}
        if any(p.landmarks is not None for p in tracks.people):
            lm_np = np.concatenate(
                [p.landmarks if p.landmarks is not None else np.zeros((len(p), 33, 3)) for p in tracks.people]
            )
            lm = torch.tensor(lm_np, dtype=torch.float32, device=self.device)
            lconf = lm[..., 2].clone()
            lconf[lconf <= self.opt.min_conf] = 0.0
            extra.update(landmarks=lm[..., :2].contiguous(), landmark_conf=lconf)
        if self.opt.w_world_bones > 0 and any(p.world_landmarks is not None for p in tracks.people):
            wl_np = np.concatenate(
                [
                    p.world_landmarks if p.world_landmarks is not None else np.zeros((len(p), 33, 4))
                    for p in tracks.people
                ]
            )
            wl = torch.tensor(wl_np, dtype=torch.float32, device=self.device)
            bi, bj = zip(*WORLD_BONES, strict=True)
            bconf = torch.minimum(wl[:, list(bi), 3], wl[:, list(bj), 3])
            extra.update(world_bones=unit_bones(wl[..., :3]), world_bone_conf=bconf)
        return _Batch(
            person_index=cat(pidx, torch.long),
            keypoints=kp[..., :2].contiguous(),
            conf=conf,
            first=cat(firsts, torch.long),
            second=cat(seconds, torch.long),
            same_shot=cat(same, torch.bool),
            gap_weight=cat(gap, torch.float32),
            slices=slices,
            **extra,
        )

    def _init(
        self, tracks: Tracks, focal: float, center: tuple[float, float], init: FitResult | None
    ) -> dict[str, np.ndarray]:
        """Starting parameters: the init's where it has the frame, the heuristic (fit/init.py) elsewhere (it
        is computed only for people the init does not fully cover)."""
        go, bp, tr, betas, from_init = [], [], [], [], []
        for p in tracks.people:
            seq = None
            if init is not None:
                try:
                    seq = init.person(p.id)
                except KeyError:
                    seq = None
            where = {int(f): k for k, f in enumerate(seq.frames)} if seq is not None else {}
            rows = [where.get(int(f), -1) for f in p.frames]
            have = np.array([k >= 0 for k in rows], dtype=bool)
            if seq is not None and have.all():
                h = {"global_orient": np.asarray(seq.global_orient, dtype=np.float32)[rows],
                     "body_pose": np.asarray(seq.body_pose, dtype=np.float32)[rows],
                     "transl": np.asarray(seq.transl, dtype=np.float32)[rows]}
            else:
                h = initial_parameters(
                    np.asarray(p.keypoints, dtype=np.float64),
                    np.asarray(p.shot),
                    focal,
                    center,
                    self.bm,
                    self.mean_pose,
                    self.opt.min_conf,
                )
                if seq is not None:
                    for t in np.flatnonzero(have).tolist():
                        for name in ("global_orient", "body_pose", "transl"):
                            h[name][t] = getattr(seq, name)[rows[t]]
            go.append(h["global_orient"])
            bp.append(h["body_pose"])
            tr.append(h["transl"])
            betas.append(np.asarray(seq.betas, dtype=np.float32) if seq is not None else np.zeros(10, np.float32))
            from_init.append(have)
        return {
            "from_init": np.concatenate(from_init),
            "global_orient": np.concatenate(go),
            "body_pose": np.concatenate(bp),
            "transl": np.concatenate(tr),
            "betas": np.stack(betas),
        }

    # ------------------------------------------------------------------ energy
    def _body(self, b: _Batch, go: torch.Tensor, bp: torch.Tensor, betas: torch.Tensor, tr: torch.Tensor,
              landmarks: bool = False) -> tuple[torch.Tensor, ...]:
        """The body model's fast path on the batch's frames, the per-person betas contracted per person when
        the batch's frames are its people's (not the multi-start's repeated batch)."""
        counts = [e - s for s, e in b.slices]
        if counts and sum(counts) == len(go):
            return self.bm.joints_only(go, bp, betas, tr, landmarks=landmarks, person_frames=counts)
        return self.bm.joints_only(go, bp, betas[b.person_index], tr, landmarks=landmarks)

    def _energy(self, x: _Params, sc: _Scene, kp_mask: torch.Tensor | None, stage: int) -> torch.Tensor:
        """The energy of ``x`` (module docstring); stage 1 without the priors, shape and canonical terms."""
        o = self.opt
        go, bp, tr, betas = x
        b, focal, center, scale, w_can, w_cam = sc.b, sc.focal, sc.center, sc.scale, sc.w_can, sc.w_cam
        if stage == 2 and (b.landmarks is not None or b.world_bones is not None):
            joints, coco, lms = self._body(b, go, bp, betas, tr, landmarks=True)
        else:
            joints, coco = self._body(b, go, bp, betas, tr)
        proj = project(coco, focal, center)
        conf = b.conf if kp_mask is None else b.conf * kp_mask
        e = o.w_rep * losses.reprojection(proj, b.keypoints, conf, o.sigma, scale).sum()
        if stage == 2 and b.landmarks is not None:
            assert b.landmark_conf is not None  # _batch sets both
            lproj = project(lms, focal, center)
            e = e + o.w_landmarks * losses.reprojection(lproj, b.landmarks, b.landmark_conf, o.sigma, scale).sum()
        if stage == 2 and b.world_bones is not None:
            assert b.world_bone_conf is not None  # _batch sets both
            e = e + o.w_world_bones * losses.bone_directions(
                unit_bones(lms), b.world_bones, b.world_bone_conf, align=o.world_bones_align
            ).sum()
        if stage == 2:
            prior = self.prior(bp)
            if b.prior_scale is not None:
                prior = prior * b.prior_scale
            e = e + o.w_pose * prior.sum() + o.w_bend * losses.bending(bp).sum()
            e = e + o.w_shape * losses.shape_prior(betas).sum()
            if b.prior_target is not None:
                assert b.prior_weight is not None  # fit sets both
                e = e + o.init_prior_weight * (b.prior_weight * (bp - b.prior_target).pow(2)).sum()
        if len(w_can):  # consecutive frames (t, t+1); pair weights 0 between people. Batch-last (…, N) tensors
            rot = rodrigues_t(go.T)  # (3,3,N)
            points = joints.permute(2, 1, 0)  # (3,24,N): the fast path's own layout, so no copy
            if stage == 2 and sc.any_can:
                e = e + losses.canonical_smoothness_t(points, rot, w_can, o.w_sm_joint, o.w_sm_accel)
                e = e + o.w_sm_pose * (w_can * losses.consecutive_sq_diff(bp)).sum()
            if sc.any_cam:
                smooth = o.w_sm_orient * losses.consecutive_sq_diff_t(rot)
                e = e + (w_cam * (smooth + o.w_sm_transl * losses.consecutive_sq_diff_t(points[:, 0]))).sum()
        return e / max(1, len(go))

    def _run_stage(
        self,
        params: list[torch.Tensor],
        closure_energy: Callable[[], torch.Tensor],
        iters: int,
        progress: ProgressCallback | None,
        done: int,
        total: int,
        on_eval: Callable[[int, float], None] | None = None,
        unit_steps: bool = False,
    ) -> None:
        """Minimise one stage's energy over ``params`` with Adam or L-BFGS (``optimizer``); its iterations and
        energy evaluations go into ``stats``."""
        o = self.opt
        evals = 0
        last = first = math.inf

        def energy_and_grad() -> torch.Tensor:
            nonlocal evals, last, first
            for p in params:
                p.grad = None
            e = closure_energy()
            e.backward()
            evals += 1
            last = float(e.detach())
            if evals == 1:
                first = last
            if on_eval:
                on_eval(evals, last)
            return e

        n_iter = iters
        if o.optimizer == "adam":
            adam = torch.optim.Adam(params, lr=o.adam_lr)
            prev = math.inf
            for it in range(iters):
                energy_and_grad()
                adam.step()
                if progress and it % 10 == 0:
                    progress(done + it, total)
                if abs(prev - last) < o.tol_change * max(1.0, abs(last)):
                    n_iter = it + 1
                    break
                prev = last
        else:
            start = [p.detach().clone() for p in params] if unit_steps else []
            n_iter = self._lbfgs(params, energy_and_grad, lambda: last, iters, unit_steps, progress, done, total)
            # L-BFGS takes its last unit step without evaluating it: the guard evaluates where the stage ended
            if unit_steps and not self._converged_safely(params, first, closure_energy):
                # unit steps diverged (never seen on the benchmarks; a guard for odd real data): start the
                # stage again from where it began, with the line search
                self.stats.fallbacks += 1
                with torch.no_grad():
                    for p, p0 in zip(params, start, strict=True):
                        p.copy_(p0)
                n_iter = self._lbfgs(params, energy_and_grad, lambda: last, iters, False, progress, done, total)
        if progress:
            progress(done + iters, total)
        self.stats.iterations.append(n_iter)
        self.stats.evaluations.append(evals)

    def _lbfgs(
        self,
        params: list[torch.Tensor],
        energy_and_grad: Callable[[], torch.Tensor],
        last_energy: Callable[[], float],
        iters: int,
        unit_steps: bool,
        progress: ProgressCallback | None,
        done: int,
        total: int,
    ) -> int:
        """L-BFGS on ``params`` for at most ``iters`` iterations (unit steps or strong-Wolfe line search), with
        the optional energy-window stopping rule on the latest evaluated energy (``last_energy``); returns the
        iterations it ran."""
        o = self.opt
        opt = torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=iters,
            max_eval=int(iters * 1.5),
            history_size=o.history,
            tolerance_grad=1e-9,
            tolerance_change=o.tol_change,
            line_search_fn=None if unit_steps else "strong_wolfe",
        )
        if o.stop_rel_decrease <= 0:
            opt.step(energy_and_grad)
            return int(opt.state[opt._params[0]].get("n_iter", 0))
        # the stopping rule: windows of stop_window iterations (L-BFGS keeps its history across them)
        n_iter, before = 0, math.inf
        while n_iter < iters:
            m = min(o.stop_window, iters - n_iter)
            opt.param_groups[0].update(max_iter=m, max_eval=int(m * 1.5))
            opt.step(energy_and_grad)
            last = last_energy()
            done_now = int(opt.state[opt._params[0]].get("n_iter", 0))
            stalled = done_now - n_iter < m  # L-BFGS's own tolerances ended the window early
            n_iter = done_now
            if progress:
                progress(done + n_iter, total)
            if stalled or before - last < o.stop_rel_decrease * abs(last):
                break
            before = last
        return n_iter

    @staticmethod
    def _converged_safely(params: list[torch.Tensor], first: float, energy: Callable[[], torch.Tensor]) -> bool:
        """True unless unit steps ended with non-finite variables, or with a non-finite or higher energy (one
        forward evaluation of ``energy``, no gradient) than they started from (``first``)."""
        if not all(bool(torch.isfinite(p).all()) for p in params):
            return False
        with torch.no_grad():
            end = float(energy())
        return math.isfinite(end) and end <= first

    def _jacobi_scales(self, x: _Params, sc: _Scene) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-variable scales s = 1/√h of orientation, pose and translation (Jacobi preconditioning), h the
        diagonal of the Gauss–Newton Hessian of the reprojection and smoothness residuals (estimated as
        E[(Jᵀz)²] over ``init_jacobi_probes`` random ±1 vectors z, one backward pass each) plus the pose prior's
        mean curvature; normalised so the median pose scale is 1, capped at :data:`JACOBI_MAX_SCALE`."""
        o, b = self.opt, sc.b
        go, bp, tr, betas = x
        g_, p_, t_ = (v.detach().clone().requires_grad_(True) for v in (go, bp, tr))
        with torch.enable_grad():
            joints, coco = self._body(b, g_, p_, betas.detach(), t_)
            res = [(project(coco, sc.focal, sc.center) - b.keypoints) / sc.scale * b.conf.sqrt()[..., None]]
            if len(sc.w_can):
                points = joints.permute(2, 1, 0)
                can = losses.canonical_joints_t(points, rodrigues_t(g_.T))
                res.append((can[..., 1:] - can[..., :-1]) * (o.w_sm_joint * sc.w_can).sqrt())
                res.append((points[:, 0, 1:] - points[:, 0, :-1]) * (o.w_sm_transl * sc.w_cam).sqrt())
            h = [torch.zeros_like(v) for v in (go, bp, tr)]
            gen = torch.Generator(device=self.device).manual_seed(0)
            for _ in range(o.init_jacobi_probes):
                signs = [torch.randint(0, 2, r.shape, generator=gen, device=self.device) * 2 - 1 for r in res]
                probe = torch.stack([(z * r).sum() for z, r in zip(signs, res, strict=True)]).sum()
                for hx, gx in zip(h, torch.autograd.grad(probe, [g_, p_, t_], retain_graph=True), strict=True):
                    hx += gx * gx
        h[1] += o.w_pose * self._prior_curvature() * o.init_jacobi_probes
        s_go, s_bp, s_tr = ((hx / o.init_jacobi_probes + 1.0).rsqrt() for hx in h)
        ref = s_bp.median()
        # capped: a variable no residual reaches (a frame without keypoints) has h ≈ 0, and an unbounded
        # scale there let L-BFGS's first steps throw it far (NaN with 2 probes on bench/fit_speed.py's set)
        return tuple((v / ref).clamp(max=JACOBI_MAX_SCALE) for v in (s_go, s_bp, s_tr))  # type: ignore[return-value]

    def _prior_curvature(self) -> torch.Tensor:
        """(69,) the pose prior's diagonal curvature averaged over the mixture's components (0 without one)."""
        for m in self.prior.modules():
            if isinstance(m, GMMPrior):
                return (m.chol_t**2).sum(1).mean(0)  # diag(L Lᵀ)_i = Σ_j L_ij²; chol_t holds Lᵀ
        return torch.zeros(69, device=self.device)

    def _best_yaw(
        self, x: _Params, sc: _Scene, frames: slice, torso: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Multi-start of stage 1: every frame's initial orientation turned about the body's vertical axis by
        ``yaw_starts`` evenly spaced angles, each fitted (orientation + translation, torso keypoints, frame
        mode), and per frame the start whose fit reprojects best is kept. ``frames``: which frames of the scene's
        batch ``x``'s orientation, pose and translation are (its shape is every person's)."""
        o, b = self.opt, sc.b
        go, bp, tr, betas = x
        k, n = o.yaw_starts, len(go)
        yaw = torch.arange(k, dtype=go.dtype, device=go.device) * (2 * math.pi / k)
        turn = torch.zeros(k, 3, dtype=go.dtype, device=go.device)
        turn[:, 1] = yaw
        rot = (axis_angle_to_rotmat(go)[None] @ axis_angle_to_rotmat(turn)[:, None]).reshape(k * n, 3, 3)
        g = rotmat_to_axis_angle(rot).detach().requires_grad_(True)
        t = tr.detach().repeat(k, 1).requires_grad_(True)
        empty = torch.zeros(0, dtype=torch.long, device=go.device)
        rep = _Batch(
            person_index=b.person_index[frames].repeat(k),
            keypoints=b.keypoints[frames].repeat(k, 1, 1),
            conf=b.conf[frames].repeat(k, 1),
            first=empty,
            second=empty,
            same_shot=empty.bool(),
            gap_weight=empty.float(),
            slices=[],
        )
        none = torch.zeros(0, dtype=go.dtype, device=go.device)
        rep_scene = _Scene(rep, sc.focal, sc.center, sc.scale, none, none)
        bp_k = bp.detach().repeat(k, 1)
        with torch.enable_grad():
            self._run_stage(
                [g, t],
                lambda: self._energy(_Params(g, bp_k, t, betas.detach()), rep_scene, torso, 1),
                o.stage1_iters,
                None,
                0,
                0,
            )
        with torch.no_grad():
            _, coco = self.bm.joints_only(g, bp_k, betas[rep.person_index], t)
            err = losses.reprojection(
                project(coco, sc.focal, sc.center), rep.keypoints, rep.conf * torso, o.sigma, sc.scale
            )
            best = err.view(k, n).argmin(0)
            pick = best * n + torch.arange(n, device=go.device)
        return g.detach()[pick], t.detach()[pick]

    # ------------------------------------------------------------------ main entry
    def fit(
        self, tracks: Tracks, init: FitResult | None = None, progress: ProgressCallback | None = None
    ) -> FitResult:
        """Fit every person of ``tracks``; returns parameters and SMPL-24 joints per fitted frame."""
        o = self.opt
        t_start = time.perf_counter()
        validate_tracks(tracks, o.min_conf)
        w, h = tracks.video.width, tracks.video.height
        focal = float(tracks.camera.focal) if tracks.camera else default_focal(w, h)
        center: tuple[float, float] = (
            (float(tracks.camera.center[0]), float(tracks.camera.center[1]))
            if tracks.camera
            else default_center(w, h)
        )
        people = [p for p in tracks.people if len(p)]
        sub = Tracks(video=tracks.video, shots=tracks.shots, people=people, camera=tracks.camera)
        self.stats = FitStats()
        if not people:
            return FitResult(people=[], focal=focal, center=center, body_model=self.bm.name)
        b = self._batch(sub)
        x0 = self._init(sub, focal, center, init)

        def tensor(x: np.ndarray) -> torch.Tensor:  # a copy: the optimiser changes these in place
            return torch.tensor(x, dtype=torch.float32, device=self.device)

        if o.prior_unseen_scale != 1.0 and self.mode != "frame":
            unseen = 1.0 - (b.conf[:, 5:17] > 0).float().mean(1)
            b.prior_scale = 1.0 - (1.0 - o.prior_unseen_scale) * unseen
        if init is not None and o.init_prior_weight > 0 and x0["from_init"].any():
            conf = np.concatenate([np.asarray(p.keypoints)[..., 2] for p in people])
            b.prior_target = tensor(x0["body_pose"])
            b.prior_weight = tensor(init_prior_weights(conf, x0["from_init"], o.min_conf))
        go = tensor(x0["global_orient"]).requires_grad_(True)
        bp = tensor(x0["body_pose"]).requires_grad_(True)
        tr = tensor(x0["transl"]).requires_grad_(True)
        betas = tensor(x0["betas"]).requires_grad_(True)
        scale = math.hypot(w, h) / 1000.0
        w_can, w_cam = pair_weights(b.same_shot, b.gap_weight, self.mode)
        scene = _Scene(b, focal, center, scale, _spread(w_can, b), _spread(w_cam, b))
        torso = torch.zeros(17, dtype=torch.float32, device=self.device)
        torso[list(TORSO_KEYPOINTS)] = 1.0
        total = o.stage1_iters + o.stage2_iters
        done = 0
        if init is None and o.yaw_starts > 1 and o.stage1_iters > 0:
            with torch.no_grad():  # in chunks of frames: memory stays that of ~MULTISTART_CHUNK × starts frames
                for s0 in range(0, len(go), MULTISTART_CHUNK):
                    sl = slice(s0, s0 + MULTISTART_CHUNK)
                    g, t = self._best_yaw(_Params(go[sl], bp[sl], tr[sl], betas), scene, sl, torso)
                    go[sl] = g
                    tr[sl] = t
        if init is not None and o.init_solve_transl:
            with torch.no_grad():
                zero = torch.zeros_like(tr)
                j0, c0 = self._body(b, go, bp, betas, zero)
                new_t = solve_translations(
                    c0.cpu().numpy(), j0[:, 0].cpu().numpy(), b.keypoints.cpu().numpy(), b.conf.cpu().numpy(),
                    (_spread(w_cam, b) * o.w_sm_transl).cpu().numpy(), tr.detach().cpu().numpy(), focal, center,
                    scale, o.sigma,
                )
                tr.copy_(torch.from_numpy(new_t))
        if init is None and o.stage1_iters > 0:
            self._run_stage(
                [go, tr],
                lambda: self._energy(_Params(go, bp.detach(), tr, betas.detach()), scene, torso, 1),
                o.stage1_iters,
                progress,
                done,
                total,
            )
        done = o.stage1_iters
        if o.sm_warmup_iters > 0 and self.mode != "frame":  # continuation: stiff smoothness first
            stiff = replace(scene, w_can=scene.w_can * o.sm_warmup_factor)
            self._run_stage(
                [go, bp, tr, betas],
                lambda: self._energy(_Params(go, bp, tr, betas), stiff, None, 2),
                o.sm_warmup_iters,
                None,
                done,
                total,
            )
        # L-BFGS on scaled variables u = x / s (Jacobi preconditioning from an init; else s = 1)
        s_go: torch.Tensor | float = 1.0
        s_bp: torch.Tensor | float = 1.0
        s_tr: torch.Tensor | float = 1.0
        scaled = init is not None and o.init_jacobi_probes > 0 and self.mode != "frame"
        if scaled:
            s_go, s_bp, s_tr = self._jacobi_scales(_Params(go, bp, tr, betas), scene)
        u_go, u_bp, u_tr = ((x.detach() / sx).requires_grad_(True) for x, sx in ((go, s_go), (bp, s_bp), (tr, s_tr)))
        on_eval = None
        if o.trace_every > 0:
            clock = {"start": t_start, "paused": 0.0}

            def on_eval(evals: int, energy: float) -> None:
                if evals % o.trace_every:
                    return
                t0 = time.perf_counter()
                with torch.no_grad():
                    j, _ = self._body(b, u_go * s_go, u_bp * s_bp, betas, u_tr * s_tr)
                at = t0 - clock["start"] - clock["paused"]
                self.stats.trace.append((at, evals, energy, j.cpu().numpy()))
                clock["paused"] += time.perf_counter() - t0

        self._run_stage(
            [u_go, u_bp, u_tr, betas],
            lambda: self._energy(_Params(u_go * s_go, u_bp * s_bp, u_tr * s_tr, betas), scene, None, 2),
            o.stage2_iters,
            progress,
            done,
            total,
            on_eval,
            unit_steps=o.line_search == "none" or (o.line_search == "auto" and scaled),
        )
        with torch.no_grad():
            go.copy_(u_go * s_go)
            bp.copy_(u_bp * s_bp)
            tr.copy_(u_tr * s_tr)
        with torch.no_grad():
            self.stats.final_energy = float(
                self._energy(_Params(go, bp, tr, betas), scene, None, 2)
            )
            joints, _ = self._body(b, go, bp, betas, tr)
        out = []
        arr = {
            k: v.detach().cpu().numpy()
            for k, v in {"go": go, "bp": bp, "tr": tr, "j": joints, "be": betas}.items()
        }
        for i, (p, (s, e)) in enumerate(zip(people, b.slices, strict=True)):
            out.append(
                SmplSequence(
                    id=p.id,
                    frames=np.asarray(p.frames, dtype=np.int64),
                    shot=np.asarray(p.shot, dtype=np.int64),
                    global_orient=arr["go"][s:e],
                    body_pose=arr["bp"][s:e],
                    betas=arr["be"][i],
                    transl=arr["tr"][s:e],
                    joints=arr["j"][s:e],
                )
            )
        return FitResult(
            people=out, focal=focal, center=(float(center[0]), float(center[1])), body_model=self.bm.name
        )


def _spread(w: torch.Tensor, b: _Batch) -> torch.Tensor:
    """Pair weights (M,) as weights of the N−1 consecutive frame pairs (0 where a pair spans two people)."""
    out = w.new_zeros(max(0, len(b.person_index) - 1))
    out[b.first] = w
    return out


def fit_tracks(
    tracks: Tracks,
    body_model: BodyModel,
    mode: str = "multishot",
    init: FitResult | None = None,
    device: str | torch.device = "cpu",
    progress: ProgressCallback | None = None,
    options: FitOptions | None = None,
    **overrides: Any,
) -> FitResult:
    """Library entry point: fit SMPL to ``tracks`` in ``mode`` (frame | shot | multishot).

    ``options`` (default: :class:`FitOptions`'s defaults) with any of its fields replaced by ``overrides``
    (weights, iterations, ``pose_prior_path``...)."""
    return MultiShotFitter(body_model, mode=mode, device=device, options=options, **overrides).fit(
        tracks, init=init, progress=progress
    )
