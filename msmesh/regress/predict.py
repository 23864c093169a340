"""`regress` stage: tracks (+ frames) → SMPL per person per frame with HMR or t-HMMR.

msmesh's own keypoint-input models (``config.input == "keypoints"``, the shipped defaults) read each
person-frame's keypoint/landmark feature vector (keypoints.py) — no pixels, so no frames are decoded. Image
models: for every person and frame crop the box (square, ×1.2, 224 px, ImageNet-normalised), compute the frozen
backbone feature (streamed over the video in frame order, batched), then
- HMR: the regressor head per frame;
- t-HMMR: windows of 13 timestamps (timestamps = positions on the video's sampled-frame timeline), the
  person's features where present, padded and masked where absent (gaps, B-roll, other shots) → encoder →
  head. For keypoint models the windows' centres are ``TEMPORAL_STRIDE`` = 5 timestamps apart and each frame
  takes its refined feature from the window whose centre is nearest (≤ 2 timestamps off; those models are
  trained on every position of their windows), so the encoder runs ≈ T/5 times instead of T (image models keep
  a window centred on every frame; their backbone dominates anyway) — on ``bench/fit_speed.py``'s 1,000
  frames the regressor took 0.24 → 0.12 s (1 thread, shared machine) at PA-MPJPE 122.5 → 122.7 mm (stride 3:
  122.8, 7: 122.9, 13: 122.8); ``stride=1`` gives the window centred on every frame.
The crop's weak-perspective camera becomes a translation in the full image's perspective camera (the
tracks' focal, or ``default_focal``), 6D rotations become axis-angle, a person's betas are averaged over
their frames, and joints come from the body model (everyone's frames in one call).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING

import numpy as np
import torch

from msmesh.data import FitResult, SmplSequence, Tracks
from msmesh.regress.crop import crop_camera_to_full, crop_image, default_focal, normalise, square_box
from msmesh.regress.hmr import HMR, SmplPrediction
from msmesh.regress.keypoints import track_features
from msmesh.regress.thmmr import THMMR, Regressor
from msmesh.rotations import rotmat_to_axis_angle

if TYPE_CHECKING:
    from msmesh.body.model import BodyModel

TEMPORAL_STRIDE = 5  # t-HMMR: timestamps between the encoder windows' centres (module docstring; 1 = every frame)
FramesProvider = Callable[[int], np.ndarray]
Progress = Callable[[int, int], None]


def _autocast(device: torch.device, fp16: bool):
    if fp16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return nullcontext()


def timeline(tracks: Tracks) -> np.ndarray:
    """The frame indices that count as consecutive timestamps: the sampled frames (else all tracked ones)."""
    if tracks.video.sampled_frames:
        frames = np.asarray(tracks.video.sampled_frames, dtype=np.int64)
    else:
        frames = np.zeros(0, dtype=np.int64)
    tracked = [np.asarray(p.frames, dtype=np.int64) for p in tracks.people]
    every = np.concatenate([frames, *tracked]) if tracked else frames
    return np.unique(every)


@torch.no_grad()
def compute_features(tracks: Tracks, frames_provider: FramesProvider, model: Regressor,
                     device: torch.device, batch_size: int = 32, fp16: bool = True,
                     progress: Progress | None = None) -> dict[int, np.ndarray]:
    """Backbone features (T, D) per person id, streaming frames in increasing order."""
    cfg = model.config
    jobs: dict[int, list[tuple[int, int]]] = {}  # frame → [(person id, row)]
    for p in tracks.people:
        for row, f in enumerate(np.asarray(p.frames).tolist()):
            jobs.setdefault(int(f), []).append((p.id, row))
    feats = {p.id: np.zeros((len(p), cfg.feat_dim), dtype=np.float32) for p in tracks.people}
    boxes = {p.id: square_box(p.bbox) for p in tracks.people}
    pending_x: list[np.ndarray] = []
    pending_at: list[tuple[int, int]] = []
    done, total = 0, sum(len(v) for v in jobs.values())

    def flush() -> None:
        nonlocal done
        if not pending_x:
            return
        x = torch.from_numpy(np.stack(pending_x)).to(device)
        with _autocast(device, fp16):
            phi = model.features(x)
        for (pid, row), v in zip(pending_at, phi.float().cpu().numpy(), strict=True):
            feats[pid][row] = v
        done += len(pending_x)
        pending_x.clear()
        pending_at.clear()
        if progress is not None:
            progress(done, total)

    for frame in sorted(jobs):
        image = frames_provider(frame)
        for pid, row in jobs[frame]:
            centre, side = boxes[pid]
            pending_x.append(normalise(crop_image(image, centre[row], float(side[row]), cfg.image_size)))
            pending_at.append((pid, row))
            if len(pending_x) >= batch_size:
                flush()
    flush()
    return feats


def temporal_windows(times: np.ndarray, window: int = 13) -> tuple[np.ndarray, np.ndarray]:
    """For each of a person's timestamps (T,), the centred window of rows: (T, window) row index into the
    person's frames (-1 where absent) and the matching padding mask (True = absent)."""
    half = window // 2
    pos = {int(t): i for i, t in enumerate(times.tolist())}
    rows = np.full((len(times), window), -1, dtype=np.int64)
    for i, t in enumerate(times.tolist()):
        for k in range(window):
            rows[i, k] = pos.get(int(t) - half + k, -1)
    return rows, rows < 0


def strided_windows(times: np.ndarray, window: int = 13, stride: int = 1
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows of ``window`` consecutive timestamps whose centres are ``stride`` apart, covering a person's
    timestamps (T,) (sorted): (W, window) rows into the person's frames (-1 where absent), the padding mask
    (True = absent), and per timestamp the window (T,) it takes its estimate from — the one whose centre is
    nearest — and its position (T,) in that window (within ``stride // 2`` of the centre). Windows holding
    none of the person's timestamps are left out, so ``stride`` 1 gives :func:`temporal_windows`."""
    half = window // 2
    if stride < 1 or stride > window:
        raise ValueError(f"stride must be 1..{window}, got {stride}")
    times = np.asarray(times, dtype=np.int64)
    if len(times) == 0:
        empty = np.zeros((0, window), dtype=np.int64)
        return empty, empty < 0, np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = (times - times[0]) // stride
    used, which = np.unique(k, return_inverse=True)
    centres = times[0] + used * stride + stride // 2
    pos = times - centres[which] + half
    lookup = np.full(int(times[-1] - times[0]) + window + stride, -1, dtype=np.int64)
    origin = int(times[0]) - half  # lookup[i] = row of timestamp origin + i
    lookup[times - origin] = np.arange(len(times))
    rows = lookup[(centres - half - origin)[:, None] + np.arange(window)[None]]
    return rows, rows < 0, which.astype(np.int64), pos.astype(np.int64)


@torch.no_grad()
def predict_person(model: Regressor, feats: np.ndarray, times: np.ndarray, device: torch.device,
                   batch_size: int = 32, fp16: bool = True, stride: int = 1) -> SmplPrediction:
    """Head (HMR) or encoder+head (t-HMMR) on one person's features (T, D) at timeline positions (T,).

    t-HMMR runs its encoder on windows whose centres are ``stride`` timestamps apart (:func:`strided_windows`;
    1 = one window centred on every frame) and each frame's refined feature is read from the window whose
    centre is nearest, so the encoder runs ≈ T / ``stride`` times; the head then runs once per frame."""
    outs: list[SmplPrediction] = []
    if isinstance(model, THMMR):
        window = model.config.window
        rows, mask, which, pos = strided_windows(times, window, stride)
        padded = np.concatenate([feats, np.zeros((1, feats.shape[1]), np.float32)])  # row -1 → zeros
        refined = []
        per_batch = max(1, batch_size // stride)  # windows per encoder call: ≈ batch_size frames' estimates
        for s in range(0, len(rows), per_batch):
            x = torch.from_numpy(padded[rows[s:s + per_batch]]).to(device)
            m = torch.from_numpy(mask[s:s + per_batch]).to(device)
            with _autocast(device, fp16):
                refined.append(model.encoder(x, m))
        phi = torch.cat(refined)[torch.from_numpy(which).to(device), torch.from_numpy(pos).to(device)]
        for s in range(0, len(times), batch_size):
            with _autocast(device, fp16):  # the head runs on each frame's own estimate only
                pred = model.smpl_head(phi[s:s + batch_size])
            outs.append(SmplPrediction(pred.pose6d.float(), pred.rotmat.float(), pred.betas.float(),
                                       pred.cam.float()))
    else:
        for s in range(0, len(times), batch_size):
            x = torch.from_numpy(feats[s:s + batch_size]).to(device)
            with _autocast(device, fp16):
                pred = model.smpl_head(x)
            outs.append(SmplPrediction(pred.pose6d.float(), pred.rotmat.float(), pred.betas.float(),
                                       pred.cam.float()))
    return SmplPrediction(*(torch.cat([getattr(o, k) for o in outs]) for k in ("pose6d", "rotmat", "betas", "cam")))


@torch.no_grad()
def keypoint_features(tracks: Tracks, model: Regressor, device: torch.device,
                      progress: Progress | None = None) -> dict[int, np.ndarray]:
    """Per-frame features φ (T, D) per person id of a keypoint-input model, from the tracks alone."""
    out = {}
    total = sum(len(p) for p in tracks.people)
    done = 0
    for p in tracks.people:
        x = torch.from_numpy(track_features(p)).to(device)
        out[p.id] = model.features(x).float().cpu().numpy()
        done += len(p)
        if progress is not None:
            progress(done, total)
    return out


def robust_depth(transl: torch.Tensor, shot: np.ndarray, factor: float = 2.5) -> torch.Tensor:
    """Frames whose depth is off by more than ``factor``× from the median of their group (``shot``: (N,)
    labels, e.g. the person's shot) — a near-zero weak-perspective scale on a frame with a few keypoints puts
    the body hundreds of metres away — are moved along their viewing ray to the nearest allowed depth, so they
    still project onto the same point. The median is the lower one of an even count (torch.median's)."""
    labels = np.unique(np.asarray(shot), return_inverse=True)[1].reshape(-1)
    tz = transl[:, 2]
    if len(tz) == 0:
        return transl.clone()
    order = np.lexsort((tz.detach().cpu().numpy(), labels))  # by group, then depth
    counts = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    med = tz[torch.as_tensor(order[starts + (counts - 1) // 2], device=tz.device)][
        torch.as_tensor(labels, device=tz.device)]
    clamped = torch.minimum(torch.maximum(tz, med / factor), med * factor)
    return transl * (clamped / tz.clamp_min(1e-6))[:, None]


def regress_tracks(tracks: Tracks, frames_provider: FramesProvider | None, model: Regressor,
                   device: torch.device | str = "cpu", batch_size: int = 32, fp16: bool = True,
                   body_model: BodyModel | None = None, progress: Progress | None = None,
                   stride: int | None = None) -> FitResult:
    """Run HMR or t-HMMR (``model`` from ``hub.load_regressor``) over every person of ``tracks``.

    ``stride``: t-HMMR's timestamps between window centres (:func:`predict_person`; default
    ``TEMPORAL_STRIDE`` for keypoint models, at most their window, and 1 for image models).

    ``frames_provider(frame_index)`` returns that original frame as an H×W×3 uint8 RGB array (image models
    only; keypoint models read the tracks alone and accept None). Translations
    and joints are in the full image's camera (focal from ``tracks.camera`` or ``default_focal``).
    """
    if not isinstance(model, (HMR, THMMR)):
        raise TypeError(f"expected an HMR or THMMR model, got {type(model).__name__}")
    device = torch.device(device)
    model = model.to(device).eval()
    if body_model is None:
        from msmesh.body import load_body_model

        body_model = load_body_model("open")
    body_model = body_model.to(device)
    w, h = tracks.video.width, tracks.video.height
    if tracks.camera is not None:
        focal, center = float(tracks.camera.focal), (float(tracks.camera.center[0]), float(tracks.camera.center[1]))
    else:
        focal, center = default_focal(w, h), (w / 2.0, h / 2.0)
    if model.config.input == "keypoints":
        feats = keypoint_features(tracks, model, device, progress)
    else:
        if frames_provider is None:
            raise ValueError("an image regressor needs the video frames (frames_provider)")
        feats = compute_features(tracks, frames_provider, model, device, batch_size, fp16, progress)
    line = timeline(tracks)
    live = [p for p in tracks.people if len(p)]
    if not live:
        return FitResult(people=[], focal=focal, center=center, body_model=str(getattr(body_model, "name", "open")))
    keypoint_model = model.config.input == "keypoints"
    if stride is None:  # image models (the authors' checkpoints): a window per frame, as they were evaluated
        stride = min(TEMPORAL_STRIDE, model.config.window) if keypoint_model else 1
    preds = [predict_person(model, feats[p.id], np.searchsorted(line, np.asarray(p.frames, dtype=np.int64)), device,
                            max(batch_size, 1024) if keypoint_model else batch_size, fp16, stride) for p in live]
    # everyone's frames at once from here on: one conversion, one depth check, one body-model call
    lengths = [len(p) for p in live]
    n = sum(lengths)
    aa = rotmat_to_axis_angle(torch.cat([q.rotmat for q in preds]))  # (N,24,3)
    boxes = [square_box(p.bbox) for p in live]
    centre = torch.as_tensor(np.concatenate([c for c, _ in boxes]), dtype=torch.float32, device=device)
    side = torch.as_tensor(np.concatenate([sd for _, sd in boxes]), dtype=torch.float32, device=device)
    transl = crop_camera_to_full(torch.cat([q.cam for q in preds]), centre, side, focal, center)
    group = np.concatenate([np.stack([np.full(len(p), i), np.asarray(p.shot)], 1) for i, p in enumerate(live)])
    transl = robust_depth(transl, np.unique(group, axis=0, return_inverse=True)[1].reshape(-1))  # per person's shot
    betas = torch.stack([q.betas.mean(dim=0) for q in preds])  # (P,10): a person's betas averaged
    person = torch.as_tensor(np.repeat(np.arange(len(live)), lengths), device=device)
    go, bp = aa[:, 0].contiguous(), aa[:, 1:].reshape(n, 69).contiguous()
    joints, _ = body_model.joints_only(go, bp, betas[person], transl)
    arr = {k: v.detach().cpu().numpy().astype(np.float32)
           for k, v in {"go": go, "bp": bp, "tr": transl, "j": joints, "be": betas}.items()}
    people = []
    for i, (p, s, e) in enumerate(zip(live, np.cumsum([0, *lengths[:-1]]), np.cumsum(lengths), strict=True)):
        people.append(SmplSequence(
            id=p.id, frames=np.asarray(p.frames, dtype=np.int64), shot=np.asarray(p.shot, dtype=np.int64),
            global_orient=arr["go"][s:e], body_pose=arr["bp"][s:e], betas=arr["be"][i], transl=arr["tr"][s:e],
            joints=arr["j"][s:e]))
    name = str(getattr(body_model, "name", "open"))
    return FitResult(people=people, focal=focal, center=center, body_model=name)
