"""overlay.mp4 end to end on a tiny synthetic run: right frame count and size, pixels change where the body
projects and only in the frames the person is drawn in; the side-by-side view doubles the width."""

from __future__ import annotations

import numpy as np
import torch
from videos import write_video

from msmesh.body import load_body_model
from msmesh.data import FitResult, Shot, SmplSequence, VideoInfo, save_shots_json, save_smpl, save_video_json
from msmesh.export.run import export_run
from msmesh.video.reader import iter_frames, probe

W, H, N, FOCAL = 160, 90, 10, 100.0


def _run_folder(tmp_path):
    video = write_video(tmp_path / "grey.mp4", [np.full((H, W, 3), 120, np.uint8)] * N, fps=25)
    run = tmp_path / "run"
    save_video_json(run / "video.json", VideoInfo(str(video), 25.0, N, W, H, [0, 2, 4, 6, 8]))
    save_shots_json(run / "shots.json", [Shot(0, 0, N)])
    frames = np.array([0, 2, 4, 6])
    T = len(frames)
    go = np.tile([np.pi, 0.0, 0.0], (T, 1)).astype(np.float32)
    transl = np.tile([0.0, 0.3, 3.0], (T, 1)).astype(np.float32)
    transl[:, 0] = np.linspace(-0.3, 0.3, T)
    person = SmplSequence(id=0, frames=frames, shot=np.zeros(T, np.int64), global_orient=go,
                          body_pose=np.zeros((T, 69), np.float32), betas=np.zeros(10, np.float32), transl=transl,
                          joints=np.zeros((T, 24, 3), np.float32))
    save_smpl(run / "smpl.npz", FitResult([person], FOCAL, (W / 2, H / 2), "open"))
    return run, video, person


def _projected(person: SmplSequence, frame: int) -> tuple[np.ndarray, np.ndarray]:
    body = load_body_model("open")
    k = int(np.flatnonzero(person.frames == frame)[0])
    with torch.no_grad():
        v = body(torch.as_tensor(person.global_orient[k:k + 1]), torch.zeros(1, 69), torch.zeros(1, 10),
                 torch.as_tensor(person.transl[k:k + 1])).vertices[0].numpy()
    u = FOCAL * v[:, 0] / v[:, 2] + W / 2
    w = FOCAL * v[:, 1] / v[:, 2] + H / 2
    return u, w


def test_overlay_video(tmp_path) -> None:
    run, video, person = _run_folder(tmp_path)
    counts = export_run(run, video_path=video, video=True, body_model="open")
    assert counts["overlay_frames"] == N
    info = probe(run / "overlay.mp4")
    assert (info.frame_count, info.width, info.height) == (N, W, H) and abs(info.fps - 25) < 1e-6
    frames = dict(iter_frames(run / "overlay.mp4"))
    assert sorted(frames) == list(range(N))
    u, v = _projected(person, 4)
    diff = np.abs(frames[4].astype(int) - 120).sum(axis=2)
    inside = diff[v.astype(int), u.astype(int)]  # the pixels the body's vertices project to
    outside = diff.copy()
    outside[max(0, int(v.min()) - 3):int(v.max()) + 4, max(0, int(u.min()) - 3):int(u.max()) + 4] = 0
    print(f"overlay: {100 * (inside > 30).mean():.1f}% of body pixels changed, max change outside {outside.max()}")
    assert (inside > 30).mean() > 0.9  # drawn where the body projects
    assert outside.max() < 40  # nothing drawn elsewhere (a little H.264 ringing near the edges)
    # frame 5 (interpolated between 4 and 6) drawn; 7-9 (after the last fitted frame, 6) untouched
    assert (np.abs(frames[5].astype(int) - 120).sum(axis=2) > 30).sum() > 300
    for f in (7, 8, 9):
        assert np.abs(frames[f].astype(int) - 120).max() < 12


def test_overlay_side_by_side_and_other_outputs(tmp_path) -> None:
    run, video, _ = _run_folder(tmp_path)
    counts = export_run(run, video_path=video, obj=True, glb=True, video=True, body_model="open",
                        side_by_side=True)
    assert counts == {"camera_cuts": 0, "glb": 1, "obj": 4, "overlay_frames": N}
    info = probe(run / "overlay.mp4")
    assert (info.width, info.height) == (2 * W, H)
    assert (run / "p0.glb").stat().st_size > 100_000 and (run / "meshes" / "p0_f000006.obj").is_file()
    side = dict(iter_frames(run / "overlay.mp4", [4]))[4][:, W:]
    assert (np.abs(side.astype(int) - 50).sum(axis=2) > 60).sum() > 100  # a body on the dark side panel
