"""The animated skinned GLB: read back with a minimal glTF reader, skin the bind mesh with the file's own
data (node TRS at keyframes, inverse bind matrices, JOINTS_0/WEIGHTS_0) and compare with the body model."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from msmesh.body import load_body_model
from msmesh.data import Shot, SmplSequence
from msmesh.export.glb_skinned import person_glb, top4_weights

FPS = 30.0
SHOTS = [Shot(0, 0, 20), Shot(1, 20, 60)]
FRAMES = np.array([0, 6, 12, 18, 24, 30, 48])
TYPES = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}
DTYPES = {5126: np.float32, 5121: np.uint8, 5125: np.uint32, 5123: np.uint16}
ROOT = np.diag([1.0, -1.0, -1.0])  # π about x: camera coordinates → glTF


def read_glb(data: bytes) -> tuple[dict, bytes]:
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and total == len(data)
    n_json, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON" and n_json % 4 == 0
    gltf = json.loads(data[20:20 + n_json])
    n_bin, kind = struct.unpack_from("<I4s", data, 20 + n_json)
    assert kind == b"BIN\x00"
    return gltf, data[28 + n_json:28 + n_json + n_bin]


def accessor(gltf: dict, binary: bytes, i: int) -> np.ndarray:
    acc = gltf["accessors"][i]
    view = gltf["bufferViews"][acc["bufferView"]]
    assert view["byteOffset"] % 4 == 0
    n = TYPES[acc["type"]]
    arr = np.frombuffer(binary, DTYPES[acc["componentType"]], acc["count"] * n,
                        view["byteOffset"] + acc.get("byteOffset", 0))
    return arr.reshape(acc["count"], n) if n > 1 else arr


def quat_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def trs(t: list | np.ndarray, r: list | np.ndarray, s: list | np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = quat_matrix(np.asarray(r, float)) * np.asarray(s, float)[None]
    m[:3, 3] = t
    return m


def node_world(gltf: dict, binary: bytes, t: float) -> list[np.ndarray]:
    """Every node's global 4×4 matrix at animation time ``t`` (seconds), sampled from the file's channels
    (exact at key times of LINEAR samplers, last key ≤ t for STEP)."""
    nodes = [dict(n) for n in gltf["nodes"]]
    anim = gltf["animations"][0]
    for ch in anim["channels"]:
        sampler = anim["samplers"][ch["sampler"]]
        times = accessor(gltf, binary, sampler["input"])
        values = accessor(gltf, binary, sampler["output"])
        k = max(0, int(np.searchsorted(times, t + 1e-6, side="right")) - 1)
        if sampler["interpolation"] == "LINEAR":
            assert abs(times[k] - t) < 1e-6, "only sampled at its key times"
        nodes[ch["target"]["node"]][ch["target"]["path"]] = values[k]
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}
    world: dict[int, np.ndarray] = {}

    def global_of(i: int) -> np.ndarray:
        if i not in world:
            n = nodes[i]
            local = trs(n.get("translation", [0, 0, 0]), n.get("rotation", [0, 0, 0, 1]), n.get("scale", [1, 1, 1]))
            world[i] = (global_of(parent[i]) @ local) if i in parent else local
        return world[i]

    return [global_of(i) for i in range(len(nodes))]


def skin_at_key(gltf: dict, binary: bytes, key: int, all_weights: np.ndarray | None = None) -> np.ndarray:
    """Linear-blend skinning from the file's data at the time of joint-animation key ``key``."""
    times = accessor(gltf, binary, gltf["animations"][0]["samplers"][0]["input"])
    world = node_world(gltf, binary, float(times[key]))

    def global_of(i: int) -> np.ndarray:
        return world[i]

    skin = gltf["skins"][0]
    ibm = accessor(gltf, binary, skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    mats = np.stack([global_of(j) @ ibm[k] for k, j in enumerate(skin["joints"])])  # (24,4,4)
    prim = gltf["meshes"][0]["primitives"][0]
    pos = accessor(gltf, binary, prim["attributes"]["POSITION"]).astype(np.float64)
    hom = np.concatenate([pos, np.ones((len(pos), 1))], 1)
    if all_weights is None:
        jnt = accessor(gltf, binary, prim["attributes"]["JOINTS_0"]).astype(np.int64)
        wts = accessor(gltf, binary, prim["attributes"]["WEIGHTS_0"]).astype(np.float64)
        blended = np.einsum("vk,vkab->vab", wts, mats[jnt])
    else:
        blended = np.einsum("vj,jab->vab", all_weights, mats)
    return np.einsum("vab,vb->va", blended, hom)[:, :3]


@pytest.fixture(scope="module")
def body():
    return load_body_model("open")


@pytest.fixture(scope="module")
def seq() -> SmplSequence:
    rng = np.random.default_rng(0)
    T = len(FRAMES)
    go = np.tile([np.pi, 0.0, 0.0], (T, 1)) + rng.normal(0, 0.2, (T, 3))
    transl = np.array([0.3, 0.2, 4.0]) + rng.normal(0, 0.1, (T, 3))
    shot = np.array([0 if f < 20 else 1 for f in FRAMES])
    return SmplSequence(id=1, frames=FRAMES, shot=shot, global_orient=go.astype(np.float32),
                        body_pose=rng.normal(0, 0.25, (T, 69)).astype(np.float32),
                        betas=rng.normal(0, 1, 10).astype(np.float32), transl=transl.astype(np.float32),
                        joints=np.zeros((T, 24, 3), np.float32))


# shot 1's camera relative to shot 0's: X_1 = R01 X_0 + T01
R01 = Rotation.from_rotvec([0.05, -0.5, 0.1]).as_matrix()
T01 = np.array([1.2, -0.1, 0.8])
SHOT_CAMERAS = {0: (0, np.eye(3), np.zeros(3)), 1: (0, R01, T01)}


def _camera_vertices(body, seq: SmplSequence, k: int) -> np.ndarray:
    with torch.no_grad():
        out = body(torch.as_tensor(seq.global_orient[k:k + 1]), torch.as_tensor(seq.body_pose[k:k + 1]),
                   torch.as_tensor(seq.betas[None]), torch.as_tensor(seq.transl[k:k + 1]))
    return out.vertices[0].numpy().astype(np.float64)


def _reference(body, seq: SmplSequence, k: int, shot_cameras: dict | None = None) -> np.ndarray:
    """The body model's vertices at fitted frame k, in the GLB scene's coordinates (glTF, first shot's camera)."""
    v = _camera_vertices(body, seq, k)
    if shot_cameras is not None:
        _, R, t = shot_cameras[int(seq.shot[k])]
        v = (v - t) @ R  # Rᵀ(v − t): the shot's camera coordinates → the first shot's
    return v @ ROOT.T


@pytest.mark.parametrize("shot_cameras", [None, SHOT_CAMERAS], ids=["camera-frame", "shot-cameras"])
def test_glb_skinning_matches_body_model(body, seq: SmplSequence, shot_cameras) -> None:
    gltf, binary = read_glb(person_glb(body, seq, FPS, SHOTS, step=6, shot_cameras=shot_cameras))
    times = accessor(gltf, binary, gltf["animations"][0]["samplers"][0]["input"])
    w_all = body.lbs_weights.numpy().astype(np.float64)
    errs, errs_full = [], []
    for k in (0, 3, 4, 6):  # shot 0 (frames 0, 18) and shot 1 (24, 48)
        key = int(np.argmin(np.abs(times - FRAMES[k] / FPS)))
        assert abs(times[key] - FRAMES[k] / FPS) < 1e-6
        ref = _reference(body, seq, k, shot_cameras)
        errs.append(np.linalg.norm(skin_at_key(gltf, binary, key) - ref, axis=1))
        errs_full.append(np.linalg.norm(skin_at_key(gltf, binary, key, w_all) - ref, axis=1))
    err = np.concatenate(errs) * 1000
    err_full = np.concatenate(errs_full) * 1000
    print(f"GLB skinning error (4 weights): mean {err.mean():.3f} mm, max {err.max():.3f} mm; "
          f"all 24 weights: max {err_full.max():.4f} mm")
    assert err_full.max() < 0.05  # the file's skeleton, bind mesh and IBMs reproduce the body model exactly
    assert err.mean() < 1.0 and err.max() < 15.0  # 4-weight truncation costs a little


def test_top4_weights_renormalised() -> None:
    w = np.array([[0.5, 0.2, 0.1, 0.1, 0.1, 0.0], [1.0, 0, 0, 0, 0, 0]])
    idx, top = top4_weights(w)
    assert np.allclose(top.sum(1), 1) and idx[0, 0] == 0 and idx[1, 0] == 0 and top[1, 0] == 1


def test_glb_timing_cut_steps_and_visibility(body, seq: SmplSequence) -> None:
    gltf, binary = read_glb(person_glb(body, seq, FPS, SHOTS, step=6))
    anim = gltf["animations"][0]
    times = accessor(gltf, binary, anim["samplers"][0]["input"]) * FPS  # in frames
    assert np.all(np.diff(times) > 0)
    # fitted frames are keys; the cut at 20 is a step: hold 18's values until just before 20, 24's from 20
    for f in FRAMES:
        assert np.min(np.abs(times - f)) < 1e-3
    rot = accessor(gltf, binary, anim["samplers"][0]["output"])
    i18, ihold, icut, i24 = (int(np.argmin(np.abs(times - f))) for f in (18, 19.75, 20, 24))
    assert abs(times[ihold] - 19.75) < 1e-3 and abs(times[icut] - 20) < 1e-3
    assert np.allclose(rot[ihold], rot[i18]) and np.allclose(np.abs(rot[icut] @ rot[i24]), 1, atol=1e-6)
    # visibility: pelvis scale (STEP) 1 on [0, 36) (30 held < 6 frames) and [43, 49), 0 in the long gap and after
    scale_sampler = next(anim["samplers"][c["sampler"]] for c in anim["channels"] if c["target"]["path"] == "scale")
    assert scale_sampler["interpolation"] == "STEP"
    st = accessor(gltf, binary, scale_sampler["input"]) * FPS
    sv = accessor(gltf, binary, scale_sampler["output"])[:, 0]
    assert np.allclose(st, [0, 36, 43, 49], atol=1e-3) and sv.tolist() == [1, 0, 1, 0]
    root = gltf["nodes"][0]
    assert root["name"] == "camera_to_gltf" and root["rotation"] == [1.0, 0.0, 0.0, 0.0]


def test_glb_video_camera_sees_the_overlay(body, seq: SmplSequence) -> None:
    """Looking through the GLB's video camera (which moves with the shot cameras) shows every vertex at the
    pixel the fitted pinhole camera puts it at, in both shots."""
    focal, width, height = 500.0, 640, 360
    gltf, binary = read_glb(person_glb(body, seq, FPS, SHOTS, step=6, camera=(focal, width, height),
                                       shot_cameras=SHOT_CAMERAS))
    cam = gltf["cameras"][0]["perspective"]
    assert cam["aspectRatio"] == pytest.approx(width / height)
    assert 2 * np.tan(cam["yfov"] / 2) * focal == pytest.approx(height, rel=1e-5)
    node = next(i for i, n in enumerate(gltf["nodes"]) if n.get("camera") == 0)
    times = accessor(gltf, binary, gltf["animations"][0]["samplers"][0]["input"])
    w_all = body.lbs_weights.numpy().astype(np.float64)
    fy = height / (2 * np.tan(cam["yfov"] / 2))
    worst = 0.0
    for k in (3, 4):  # the last fitted frame before the cut and the first after it
        key = int(np.argmin(np.abs(times - FRAMES[k] / FPS)))
        world = node_world(gltf, binary, float(times[key]))
        verts = skin_at_key(gltf, binary, key, w_all)
        view = np.linalg.inv(world[node])  # glTF camera: looks down its -z, y up
        pc = verts @ view[:3, :3].T + view[:3, 3]
        u = width / 2 + fy * pc[:, 0] / -pc[:, 2]
        v = height / 2 - fy * pc[:, 1] / -pc[:, 2]
        ref = _camera_vertices(body, seq, k)
        u_ref = width / 2 + focal * ref[:, 0] / ref[:, 2]
        v_ref = height / 2 + focal * ref[:, 1] / ref[:, 2]
        worst = max(worst, float(np.abs(u - u_ref).max()), float(np.abs(v - v_ref).max()))
    print(f"video camera vs fitted pinhole: max {worst:.5f} px")
    assert worst < 0.01


def test_shot_camera_steps_at_the_cut(body, seq: SmplSequence) -> None:
    """Node shot_camera: STEP keys at each shot's first frame holding the inverse of that shot's camera motion."""
    gltf, binary = read_glb(person_glb(body, seq, FPS, SHOTS, step=6, shot_cameras=SHOT_CAMERAS))
    anim = gltf["animations"][0]
    shot_node = next(i for i, n in enumerate(gltf["nodes"]) if n["name"] == "shot_camera")
    chans = {c["target"]["path"]: anim["samplers"][c["sampler"]] for c in anim["channels"]
             if c["target"]["node"] == shot_node}
    assert set(chans) == {"rotation", "translation"}
    assert all(c["interpolation"] == "STEP" for c in chans.values())
    assert np.allclose(accessor(gltf, binary, chans["rotation"]["input"]) * FPS, [0, 20], atol=1e-4)
    rot = accessor(gltf, binary, chans["rotation"]["output"])
    tr = accessor(gltf, binary, chans["translation"]["output"])
    assert np.allclose(quat_matrix(rot[0]), np.eye(3), atol=1e-6) and np.allclose(tr[0], 0)
    assert np.allclose(quat_matrix(rot[1]), R01.T, atol=1e-6) and np.allclose(tr[1], -R01.T @ T01, atol=1e-6)
    # without shot cameras the node is a static identity and only the skeleton is animated
    plain, _ = read_glb(person_glb(body, seq, FPS, SHOTS, step=6))
    assert all(c["target"]["node"] != shot_node for c in plain["animations"][0]["channels"])
    assert "rotation" not in plain["nodes"][shot_node]
