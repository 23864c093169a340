"""`msmesh convert` (OpenPose / COCO keypoints → tracks.json) feeding `msmesh fit`, as a user with their own
2D keypoints would run it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from videos import EXAMPLE

from msmesh.cli import main
from msmesh.data import load_smpl, load_tracks
from msmesh.people.movenet import MoveNet
from msmesh.video.reader import iter_frames


@pytest.fixture(scope="module")
def openpose_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MoveNet keypoints of 8 example frames (two shots), written as OpenPose BODY_25 files."""
    folder = tmp_path_factory.mktemp("openpose")
    coco_to_body25 = {0: 0, 5: 5, 6: 2, 7: 6, 8: 3, 9: 7, 10: 4, 11: 12, 12: 9, 13: 13, 14: 10, 15: 14, 16: 11,
                      1: 16, 2: 15, 3: 18, 4: 17}
    model = MoveNet()
    for frame, image in iter_frames(EXAMPLE, [30, 36, 42, 48, 54, 60, 66, 72]):
        people = []
        for det in model(image):
            body25 = np.zeros((25, 3))
            for c, b in coco_to_body25.items():
                body25[b] = det.keypoints[c]
            people.append({"pose_keypoints_2d": body25.reshape(-1).tolist()})
        (folder / f"demo_{frame:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    return folder


def test_openpose_to_tracks_to_fit(openpose_folder: Path, tmp_path: Path) -> None:
    tracks_path = tmp_path / "tracks.json"
    assert main(["convert", str(openpose_folder), "--video", str(EXAMPLE), "--out", str(tracks_path)]) == 0
    tracks = load_tracks(tracks_path)
    assert [s.start for s in tracks.shots] == [0, 60, 100, 140, 180]
    man = max(tracks.people, key=len)
    assert {0, 1} <= set(man.shot.tolist())  # linked across the cut at frame 60 into the close-up
    assert main(["fit", str(tracks_path), "--mode", "multishot", "--out", str(tmp_path / "fit")]) == 0
    result = load_smpl(tmp_path / "fit" / "smpl.npz")
    seq = result.person(man.id)
    np.testing.assert_array_equal(seq.frames, man.frames)
    assert np.isfinite(seq.joints).all()


def test_convert_without_video_needs_size(openpose_folder: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(openpose_folder), "--out", str(tmp_path / "t.json")]) == 2
    assert "--width" in capsys.readouterr().err
    assert main(["convert", str(openpose_folder), "--width", "640", "--height", "360",
                 "--out", str(tmp_path / "t.json")]) == 0
    assert len(load_tracks(tmp_path / "t.json").shots) == 1
