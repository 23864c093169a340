"""Training samples for `msmesh train`: run folders (multi-shot pseudo-ground truth) → :class:`FrameSample`.

A run folder made by ``msmesh reconstruct`` holds ``video.json`` (the source video), ``tracks.json``
(boxes, detected COCO-17 keypoints) and ``smpl.npz`` (the optimised SMPL per person and frame). Each person
frame becomes a :class:`FrameSample`: the crop (decoded from the source video with
:func:`msmesh.video.reader.iter_frames`), 2D targets in crop units (detected keypoints weighted by
confidence, and the pseudo-GT joints projected with the run's camera), and the pseudo-GT rotations and betas.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from msmesh.errors import InputError
from msmesh.regress.crop import crop_image, image_to_crop_units, square_box
from msmesh.rotations import axis_angle_to_rotmat
from msmesh.video.reader import iter_frames


@dataclass
class FrameSample:
    """One person in one frame: crop, 2D targets in crop units, pseudo-GT SMPL."""

    crop: np.ndarray  # (S,S,3) uint8 RGB, square box ×1.2 around the person
    kp2d: np.ndarray  # (17,3) COCO-17 detections: x, y in crop units [-0.5,0.5], confidence
    j2d: np.ndarray  # (24,3) pseudo-GT SMPL joints projected: x, y crop units, weight
    rotmat: np.ndarray  # (24,3,3) pseudo-GT rotations (joint 0 = global orient)
    betas: np.ndarray  # (10,)
    seq: int = 0  # sequence (run × person) id
    time: int = 0  # timestamp on the video's sampled-frame timeline



def _frames(path: Path, wanted: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """:func:`iter_frames` for the wanted frames, failing if the video ends before one of them."""
    want = sorted(set(int(f) for f in wanted))
    if not want:
        return
    got = 0
    for index, image in iter_frames(path, want):
        got += 1
        yield index, image
    if got < len(want):
        raise InputError(f"{path}: video ended before frame {want[got]}")


def load_run_samples(run_dir: str | os.PathLike[str], body_model: torch.nn.Module, image_size: int = 224,
                     seq_offset: int = 0) -> list[FrameSample]:
    """All person frames of a run folder that have pseudo-GT in ``smpl.npz``, with crops decoded."""
    from msmesh.data import load_smpl, load_tracks, load_video_json

    run = Path(run_dir)
    for name in ("video.json", "tracks.json", "smpl.npz"):
        if not (run / name).exists():
            raise InputError(f"{run}: {name} missing (train on run folders made by `msmesh reconstruct`)")
    video = load_video_json(run / "video.json")
    tracks = load_tracks(run / "tracks.json")
    fit = load_smpl(run / "smpl.npz")
    source = Path(video.source)
    if not source.is_absolute() and not source.exists():
        source = run / source
    if not source.exists():
        raise InputError(f"{run / 'video.json'}: source video {video.source} not found")
    timeline = np.unique(np.concatenate([np.asarray(video.sampled_frames, np.int64)]
                                        + [np.asarray(p.frames, np.int64) for p in fit.people]))
    todo: dict[int, list[tuple[int, int, int]]] = {}  # frame → (person index, row in fit, row in track)
    for pi, person in enumerate(fit.people):
        try:
            track = tracks.person(person.id)
        except KeyError:
            continue
        row_of = {int(f): i for i, f in enumerate(track.frames.tolist())}
        for r, f in enumerate(person.frames.tolist()):
            if int(f) in row_of:
                todo.setdefault(int(f), []).append((pi, r, row_of[int(f)]))
    samples: list[FrameSample] = []
    for frame, image in _frames(source, list(todo)):
        for pi, r, tr in todo[frame]:
            person, track = fit.people[pi], tracks.person(fit.people[pi].id)
            centre, side = square_box(track.bbox[tr])
            crop = crop_image(image, centre[0], float(side[0]), image_size)
            kp = track.keypoints[tr].astype(np.float64)
            kp_units = image_to_crop_units(kp[None, :, :2], centre, side)[0]
            j = person.joints[r].astype(np.float64)
            z = np.maximum(j[:, 2:3], 1e-2)
            j_px = j[:, :2] / z * fit.focal + np.asarray(fit.center)
            j_units = image_to_crop_units(j_px[None], centre, side)[0]
            aa = np.concatenate([person.global_orient[r], person.body_pose[r]]).reshape(24, 3)
            rot = axis_angle_to_rotmat(torch.from_numpy(aa.astype(np.float32))).numpy()
            samples.append(FrameSample(
                crop=crop, kp2d=np.concatenate([kp_units, kp[:, 2:3]], 1).astype(np.float32),
                j2d=np.concatenate([j_units, np.ones((24, 1))], 1).astype(np.float32), rotmat=rot,
                betas=person.betas.astype(np.float32), seq=seq_offset + person.id,
                time=int(np.searchsorted(timeline, frame))))
    return samples


def load_runs(run_dirs: Sequence[str | os.PathLike[str]], body_model: torch.nn.Module,
              image_size: int = 224) -> list[FrameSample]:
    """Samples of several run folders; sequence ids are kept distinct across runs."""
    out: list[FrameSample] = []
    for i, run in enumerate(run_dirs):
        out += load_run_samples(run, body_model, image_size, seq_offset=i * 1_000_000)
    if not out:
        raise InputError("no training samples: the run folders have no person frames with SMPL")
    return out
