"""AVA evaluation: CSV parsing, frame mapping, the cut-pair format, matching, cross-shot scoring, cache, rescore.

The pipeline is replaced by an injected processor returning fits built with the open body model, so the
scoring runs on fixtures without video: ground-truth keypoints are the true body's projections at both sides
of a cut; a fit with the true pose scores PCK 1, a fit with a wrong pose before the cut scores low across it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from msmesh.body import load_body_model
from msmesh.data import FitResult, PersonTrack, Shot, SmplSequence, Tracks, VideoInfo
from msmesh.errors import FormatError, InputError
from msmesh.eval import ava
from msmesh.eval.cutpairs import CutFrame, CutPair, CutPairSet, load_cut_pairs, save_cut_pairs
from msmesh.eval.report import load_predictions, results_table
from msmesh.eval.rescore import rescore_file
from msmesh.fit.camera import project_np

W, H, FPS = 640, 360, 25.0
FOCAL = 700.0
STAMPS = np.arange(998, 1004)  # cut between 1000 and 1001
CUT_AFTER = 1000


@pytest.fixture(scope="module")
def bm():
    return load_body_model("open")


def _pose(kind: str) -> np.ndarray:
    bp = np.zeros(69)
    if kind == "true":  # elbows bent, one knee bent
        bp[(18 - 1) * 3 + 1] = -1.2  # l_elbow about y
        bp[(19 - 1) * 3 + 1] = 1.2
        bp[(5 - 1) * 3] = 0.8  # r_knee
    else:  # bent forward at the waist, arms raised, a leg lifted: a very different pose
        bp[(3 - 1) * 3] = 0.7  # spine1 about x
        bp[(16 - 1) * 3 + 2] = 1.3
        bp[(17 - 1) * 3 + 2] = -1.3
        bp[(1 - 1) * 3] = -1.0  # l_hip flexion
    return bp


def _placement(stamp: int) -> tuple[np.ndarray, np.ndarray]:
    """Shot 0: facing the camera 4 m away; shot 1: turned 50° and closer (a different camera)."""
    if stamp <= CUT_AFTER:
        return np.array([np.pi, 0.0, 0.0]), np.array([-0.3, 0.1, 5.0])
    rot = np.array([np.pi * np.cos(0.45), 0.0, np.pi * np.sin(0.45)])  # a different facing
    return rot, np.array([0.4, 0.0, 3.0])


def _sequence(bm, pid: int, stamps: np.ndarray, pose_before: str = "true") -> tuple[SmplSequence, np.ndarray]:
    go, tr, bp = [], [], []
    for s in stamps:
        g, t = _placement(int(s))
        go.append(g)
        tr.append(t)
        bp.append(_pose(pose_before if s <= CUT_AFTER else "true"))
    f32 = dict(dtype=torch.float32)
    betas = np.zeros(10, dtype=np.float32)
    with torch.no_grad():
        j, c = bm.joints_only(torch.tensor(np.array(go), **f32), torch.tensor(np.array(bp), **f32),
                              torch.zeros(len(stamps), 10), torch.tensor(np.array(tr), **f32))
    frames = (stamps * FPS).astype(np.int64)
    seq = SmplSequence(id=pid, frames=frames, shot=(stamps > CUT_AFTER).astype(np.int64),
                       global_orient=np.array(go, np.float32), body_pose=np.array(bp, np.float32), betas=betas,
                       transl=np.array(tr, np.float32), joints=j.numpy())
    return seq, project_np(c.numpy(), FOCAL, (W / 2, H / 2))


def _boxes(uv: np.ndarray) -> np.ndarray:
    lo, hi = uv.min(1), uv.max(1)
    pad = 0.1 * (hi - lo)
    return np.concatenate([lo - pad, hi + pad], 1)


def _track(pid: int, seq: SmplSequence, uv: np.ndarray) -> PersonTrack:
    kp = np.concatenate([uv, np.ones((*uv.shape[:2], 1))], -1)
    return PersonTrack(id=pid, frames=seq.frames, shot=seq.shot, bbox=_boxes(uv), keypoints=kp)


def _tracks(people: list[PersonTrack]) -> Tracks:
    video = VideoInfo(source="vidA.mkv", fps=FPS, frame_count=int(1100 * FPS), width=W, height=H,
                      sampled_frames=sorted({int(f) for p in people for f in p.frames}))
    shots = [Shot(0, 0, int((CUT_AFTER + 0.5) * FPS)), Shot(1, int((CUT_AFTER + 0.5) * FPS), int(1100 * FPS))]
    return Tracks(video=video, shots=shots, people=people)


def _cut_frame(stamp: int, uv: np.ndarray, box: np.ndarray) -> CutFrame:
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < W) & (uv[:, 1] >= 0) & (uv[:, 1] < H)
    kp = np.concatenate([np.where(inside[:, None], uv / (W, H), 0.0), inside[:, None].astype(float)], 1)
    return CutFrame(timestamp=float(stamp), box=np.clip(box / (W, H, W, H), 0, 1), keypoints=kp, ava_person=1)


@pytest.fixture(scope="module")
def truth(bm):
    seq, uv = _sequence(bm, 7, STAMPS)
    return seq, uv


def _write_root(tmp: Path, truth, extra_pairs: list[CutPair] = ()) -> Path:
    seq, uv = truth
    root = tmp / "ava"
    (root / "annotations").mkdir(parents=True)
    (root / "videos").mkdir()
    (root / "videos" / "vidA.mkv").write_bytes(b"")  # never decoded: the processor is injected
    boxes = _boxes(uv)
    rows = []
    for k, s in enumerate(STAMPS):
        b = np.clip(boxes[k] / (W, H, W, H), 0, 1)
        for action in (12, 80):  # one box, two actions: merged into one AvaBox
            rows.append(f"vidA,{s:04d},{b[0]:.3f},{b[1]:.3f},{b[2]:.3f},{b[3]:.3f},{action},1")
    (root / "annotations" / "ava_val_v2.2.csv").write_text("\n".join(rows) + "\n")
    ia, ib = list(STAMPS).index(CUT_AFTER), list(STAMPS).index(CUT_AFTER + 1)
    pairs = [CutPair(id="vidA_1000_0", video="vidA", a=_cut_frame(CUT_AFTER, uv[ia], boxes[ia]),
                     b=_cut_frame(CUT_AFTER + 1, uv[ib], boxes[ib]), status="accepted"),
             CutPair(id="vidA_rejected", video="vidA", a=_cut_frame(CUT_AFTER, uv[ia], boxes[ia]),
                     b=_cut_frame(CUT_AFTER + 1, uv[ib], boxes[ib]), status="rejected")]
    save_cut_pairs(root / ava.CUTS_FILE, CutPairSet(pairs=pairs + list(extra_pairs), source="test"))
    return root


class FakeProcessor:
    """multishot: the true fit; frame: a wrong pose before the cut. Counts its calls."""

    def __init__(self, bm) -> None:
        self.bm = bm
        self.calls: list[tuple[str, float, float]] = []
        self.cache_key = "fake-v1"

    def __call__(self, video: Path, run_dir: Path, method: str, start: float, end: float):
        self.calls.append((method, start, end))
        seq, uv = _sequence(self.bm, 7, STAMPS, "true")
        fit_seq, _ = _sequence(self.bm, 7, STAMPS, "true" if method == "multishot" else "wrong")
        return _tracks([_track(7, seq, uv)]), FitResult(people=[fit_seq], focal=FOCAL, center=(W / 2, H / 2))


# --------------------------------------------------------------------------- CSVs and layout


def test_read_ava_csv_merges_actions_and_parses_padded_timestamps(tmp_path):
    p = tmp_path / "ava_val_v2.2.csv"
    p.write_text("vid1,0902,0.1,0.2,0.5,0.9,12,3\nvid1,0902,0.1,0.2,0.5,0.9,80,3\nvid1,0903,0.2,0.2,0.6,0.9,12,3\n"
                 "vid2,1798,0.0,0.0,1.0,1.0,5,0\n")
    boxes = ava.read_ava_csv(p)
    assert len(boxes) == 3
    first = next(b for b in boxes if b.timestamp == 902)
    assert first.actions == (12, 80) and first.person == 3
    assert ava.annotated_range(boxes) == {"vid1": (902, 903), "vid2": (1798, 1798)}
    assert len(ava.index_boxes(boxes)[("vid1", 902)]) == 1


@pytest.mark.parametrize("line,problem", [("vid1,0902,0.1,0.2,0.5\n", "8 columns"),
                                          ("vid1,09x2,0.1,0.2,0.5,0.9,12,3\n", "not a number"),
                                          ("vid1,0902,0.6,0.2,0.5,0.9,12,3\n", "normalised")])
def test_read_ava_csv_names_the_bad_line(tmp_path, line, problem):
    p = tmp_path / "ava_val_v2.2.csv"
    p.write_text("vid1,0902,0.1,0.2,0.5,0.9,12,3\n" + line)
    with pytest.raises(FormatError, match=f"line 2.*{problem}"):
        ava.read_ava_csv(p)


def test_missing_root_and_videos_name_the_layout(tmp_path):
    with pytest.raises(InputError, match="annotations/ava_<split>_v2"):
        ava.run_ava(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    with pytest.raises(InputError, match="no videos/"):
        ava.run_ava(tmp_path / "a")
    (tmp_path / "a" / "videos").mkdir()
    with pytest.raises(InputError, match="msmesh_cuts.json"):
        ava.run_ava(tmp_path / "a")


def test_video_lookup_and_frame_mapping(tmp_path):
    (tmp_path / "videos_15min").mkdir()
    (tmp_path / "videos_15min" / "abc.mp4").write_bytes(b"")
    path, offset = ava.find_video(tmp_path, "abc")
    assert path.name == "abc.mp4" and offset == 900
    assert ava.find_video(tmp_path, "zzz") is None
    assert ava.timestamp_to_frame(902, 30.0, offset) == 60
    assert ava.timestamp_to_frame(1000, 29.97) == 29970


# --------------------------------------------------------------------------- cut-pair format


def test_cut_pairs_round_trip_and_validation(tmp_path, truth):
    root = _write_root(tmp_path, truth)
    cuts = load_cut_pairs(root / ava.CUTS_FILE)
    assert cuts.counts() == {"accepted": 1, "rejected": 1, "pending": 0}
    save_cut_pairs(tmp_path / "again.json", cuts)
    again = load_cut_pairs(tmp_path / "again.json")
    np.testing.assert_allclose(again.pairs[0].a.keypoints, cuts.pairs[0].a.keypoints, atol=1e-5)
    obj = json.loads((root / ava.CUTS_FILE).read_text())
    bad = json.loads(json.dumps(obj))
    bad["pairs"][0]["a"]["keypoints"] = bad["pairs"][0]["a"]["keypoints"][:16]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match=r"pairs\[0\]\.a\.keypoints.*17"):
        load_cut_pairs(tmp_path / "bad.json")
    bad = json.loads(json.dumps(obj))
    bad["pairs"][1]["id"] = bad["pairs"][0]["id"]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match="duplicate pair id"):
        load_cut_pairs(tmp_path / "bad.json")
    bad = json.loads(json.dumps(obj))
    bad["pairs"][0]["b"]["timestamp"] = 999
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match="must be after"):
        load_cut_pairs(tmp_path / "bad.json")
    bad = json.loads(json.dumps(obj))
    bad["pairs"][0]["status"] = "maybe"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match="status"):
        load_cut_pairs(tmp_path / "bad.json")


# --------------------------------------------------------------------------- scoring


def test_true_fit_scores_full_pck_and_wrong_pose_fails_across_the_cut(tmp_path, truth, bm):
    root = _write_root(tmp_path, truth)
    proc = FakeProcessor(bm)
    res = ava.run_ava(root, methods=("frame", "multishot"), out_dir=tmp_path / "out", processor=proc, body_model=bm)
    rows = {r["method"]: r for r in res["rows"]}
    assert rows["multishot"]["cross_shot_pck"] == pytest.approx(1.0)
    assert rows["multishot"]["same_frame_pck"] == pytest.approx(1.0)
    assert rows["multishot"]["pairs"] == 1 and rows["multishot"]["matched"] == 1  # the rejected pair is ignored
    # the wrong pose before the cut: its projection into the next shot misses the arms
    assert rows["frame"]["cross_shot_pck"] < 0.75
    assert rows["frame"]["cross_shot_pck"] < rows["multishot"]["cross_shot_pck"]
    # the processor ran over the annotated range at 1 fps, once per method
    assert sorted(c[0] for c in proc.calls) == ["frame", "multishot"]
    assert proc.calls[0][1] == STAMPS[0] and proc.calls[0][2] == STAMPS[-1] + 0.5
    table = results_table(res)
    assert table.row_count == 2


def test_missing_video_is_skipped_and_unmatched_pair_counts_as_miss(tmp_path, truth, bm):
    seq, uv = truth
    ia = list(STAMPS).index(CUT_AFTER)
    far = np.array([0.0, 0.0, 20.0, 20.0])  # nobody there
    extra = [CutPair(id="vidB_1000_0", video="vidB", a=_cut_frame(1000, uv[ia], _boxes(uv)[ia]),
                     b=_cut_frame(1001, uv[ia + 1], _boxes(uv)[ia + 1]), status="accepted"),
             CutPair(id="vidA_nobody", video="vidA", a=_cut_frame(1000, uv[ia], far),
                     b=_cut_frame(1001, uv[ia + 1], far), status="accepted")]
    root = _write_root(tmp_path, truth, extra)
    res = ava.run_ava(root, methods=("multishot",), out_dir=tmp_path / "out", processor=FakeProcessor(bm),
                      body_model=bm)
    row = res["rows"][0]
    assert res["counts"]["skipped"] == 1 and "vidB" in res["skipped"][0]["item"]
    assert row["pairs"] == 2 and row["matched"] == 1
    assert row["cross_shot_pck"] == pytest.approx(0.5)  # same keypoint count in both pairs, one all wrong


def test_reid_miss_is_reported_as_unlinked(truth, bm):
    seq, uv = truth
    before = STAMPS <= CUT_AFTER
    parts = []
    for pid, sel in ((7, before), (8, ~before)):  # the track broke at the cut: two people
        s = SmplSequence(id=pid, frames=seq.frames[sel], shot=seq.shot[sel], global_orient=seq.global_orient[sel],
                         body_pose=seq.body_pose[sel], betas=seq.betas, transl=seq.transl[sel],
                         joints=seq.joints[sel])
        parts.append((s, _track(pid, s, uv[sel])))
    tracks = _tracks([t for _, t in parts])
    result = FitResult(people=[s for s, _ in parts], focal=FOCAL, center=(W / 2, H / 2))
    ia = list(STAMPS).index(CUT_AFTER)
    pair = CutPair(id="p", video="vidA", a=_cut_frame(1000, uv[ia], _boxes(uv)[ia]),
                   b=_cut_frame(1001, uv[ia + 1], _boxes(uv)[ia + 1]), status="accepted")
    m = ava.match_pair(pair, tracks, result)
    assert m.person is None and m.unlinked
    arrays = ava.evaluate_video([pair], tracks, result, bm)
    assert arrays["unlinked"].tolist() == [True] and np.isnan(arrays["pred_cross"]).all()


def test_cache_resumes_and_predictions_rescore(tmp_path, truth, bm):
    root = _write_root(tmp_path, truth)
    proc = FakeProcessor(bm)
    pred_file = tmp_path / "pred.npz"
    first = ava.run_ava(root, methods=("frame", "multishot"), out_dir=tmp_path / "out", processor=proc,
                        body_model=bm, save_predictions_to=pred_file)
    assert len(proc.calls) == 2
    second = ava.run_ava(root, methods=("frame", "multishot"), out_dir=tmp_path / "out", processor=proc,
                         body_model=bm)
    assert len(proc.calls) == 2  # everything came from the cache
    assert second["rows"] == [pytest.approx(r) for r in first["rows"]]
    pred = load_predictions(pred_file)
    assert pred.dataset == "ava" and pred.arrays["multishot__gt"].shape == (1, 2, 17, 3)
    again = rescore_file(pred_file)
    assert again["rows"] == [pytest.approx(r) for r in first["rows"]]
    loose = rescore_file(pred_file, alpha=0.5)
    frame = lambda r: next(x for x in r["rows"] if x["method"] == "frame")  # noqa: E731
    assert frame(loose)["cross_shot_pck"] >= frame(first)["cross_shot_pck"]


# --------------------------------------------------------------------------- the curation tool


def _tool():
    spec = importlib.util.spec_from_file_location("curate_ava_cuts", Path(__file__).parents[1] / "tools" /
                                                  "curate_ava_cuts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_curation_tool_proposes_renders_marks_and_verifies(tmp_path, truth):
    import cv2

    from msmesh.data import save_tracks

    tool = _tool()
    seq, uv = truth
    root = tmp_path / "ava"
    (root / "annotations").mkdir(parents=True)
    (root / "videos_15min").mkdir()
    # a short real clip: AVA timestamps 998..1003 live at 98..103 s of a videos_15min clip; use 2 fps
    fps = 2.0
    writer = cv2.VideoWriter(str(root / "videos_15min" / "vidA.avi"), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    for k in range(int(104 * fps)):
        writer.write(np.full((H, W, 3), 40 if k < int(100.5 * fps) else 160, np.uint8))
    writer.release()
    boxes = _boxes(uv)
    rows = []
    for k, s in enumerate(STAMPS):
        b = np.clip(boxes[k] / (W, H, W, H), 0, 1)
        rows.append(f"vidA,{s:04d},{b[0]:.3f},{b[1]:.3f},{b[2]:.3f},{b[3]:.3f},12,{1 if s <= CUT_AFTER else 2}")
    (root / "annotations" / "ava_val_v2.2.csv").write_text("\n".join(rows) + "\n")
    frames = ((STAMPS - 900) * fps).astype(np.int64)
    kp = np.concatenate([uv, np.full((*uv.shape[:2], 1), 0.9)], -1)
    person = PersonTrack(id=3, frames=frames, shot=seq.shot, bbox=boxes, keypoints=kp)
    cut = int((CUT_AFTER + 0.5 - 900) * fps)
    video = VideoInfo(source="vidA.avi", fps=fps, frame_count=int(104 * fps), width=W, height=H,
                      sampled_frames=[int(f) for f in frames])
    save_tracks(tmp_path / "runs" / "vidA" / "tracks.json",
                Tracks(video=video, shots=[Shot(0, 0, cut), Shot(1, cut, int(104 * fps))], people=[person]))
    cuts_path = tmp_path / "cuts.json"
    assert tool.main(["propose", "--root", str(root), "--runs", str(tmp_path / "runs"), "--out", str(cuts_path)]) == 0
    cuts = load_cut_pairs(cuts_path)
    assert [p.id for p in cuts.pairs] == ["vidA_1000_0"]  # only the keyframe pair across the cut
    pair = cuts.pairs[0]
    assert pair.status == "pending" and pair.a.ava_person == 1 and pair.b.ava_person == 2
    want = uv[list(STAMPS).index(1001)]
    inside = (want[:, 1] >= 0) & (want[:, 1] < H) & (want[:, 0] >= 0) & (want[:, 0] < W)
    assert (pair.b.keypoints[:, 2] > 0).tolist() == inside.tolist()  # off-frame keypoints are not visible
    np.testing.assert_allclose(pair.b.keypoints[inside, :2] * (W, H), want[inside], atol=0.01)
    assert tool.main(["render", "--root", str(root), "--cuts", str(cuts_path), "--png", str(tmp_path / "png")]) == 0
    img = cv2.imread(str(tmp_path / "png" / "vidA_1000_0.png"))
    assert img.shape == (H, 2 * W, 3)
    assert img[5:, :W].mean() < img[5:, W:].mean()  # frame a is from the dark shot, b from the bright one
    assert tool.main(["mark", "--cuts", str(cuts_path), "--accept", "vidA_1000_0"]) == 0
    assert load_cut_pairs(cuts_path).counts()["accepted"] == 1
    assert tool.main(["mark", "--cuts", str(cuts_path), "--accept", "nope"]) == 2
    assert tool.main(["verify", "--cuts", str(cuts_path), "--root", str(root)]) == 0
    # proposing again adds nothing new
    assert tool.main(["propose", "--root", str(root), "--runs", str(tmp_path / "runs"), "--out", str(cuts_path)]) == 0
    assert len(load_cut_pairs(cuts_path).pairs) == 1
