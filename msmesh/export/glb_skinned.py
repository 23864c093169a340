"""Stage "export", animation part: one animated, skinned glTF 2.0 binary (``p{id}.glb``) per person.

Written with numpy + struct + json only (trimesh cannot write skins). Layout of the file:

- node 0 ``camera_to_gltf``: a fixed rotation of π about x. The fitted parameters live in camera
  coordinates (x right, y down, z forward); glTF is y-up with the viewer looking down -z, and this root
  turns the first into the second: (x, y, z) ↦ (x, -y, -z). Everything below it is in camera coordinates.
- node 1 ``shot_camera``: where the current shot's camera is, in the first shot's camera coordinates
  (export/camera_motion.py chains the relative cameras estimated at the cuts; after a cut nobody is seen
  across, the chain restarts and its first shot's camera is placed where the first shot's is). Animated
  with STEP keys at each shot's first frame; identity when no shot cameras are given. The skeleton and the
  video camera hang below it, so a body's pose relative to the video camera is exactly the frame's fit,
  while in the scene the bodies stay (about) in place across a cut and the camera jumps instead.
- nodes 2..25: the SMPL-24 skeleton (names from ``SMPL24_NAMES``). The pelvis node's translation is the
  rest pelvis + ``transl`` (animated), every other joint's translation the fixed rest offset from its parent
  for the person's betas; every joint's rotation is animated (SMPL's local joint rotations).
- node 26 ``body``: one skinned mesh, the bind-pose mesh ``v_template + shapedirs·β`` (SMPL's canonical,
  y-up frame), JOINTS_0/WEIGHTS_0 = the 4 largest LBS weights per vertex renormalised, inverse bind
  matrices = translation by −(rest joint) for the person's betas.
- node 27 ``video_camera`` (optional): the video's pinhole camera as a glTF perspective camera, a child of
  ``shot_camera`` turned by π about x (glTF cameras look down their −z with y up).
- one animation: keys at the fitted frames, time = the frame's presentation time (frame / fps, or the
  video's own timestamps when its frame rate varies); rotations are slerped (LINEAR) and the
  translation interpolated linearly between fitted frames of one shot, and shot cuts are steps (the values
  before the cut are held until a quarter frame before it, those after it start at the cut frame). The
  pelvis scale (STEP) is 0 wherever the person is not drawn in the overlay (before the first, after the last
  fitted frame and inside long gaps), so viewers hide the body there.

Pose-corrective blend shapes (real SMPL's posedirs) are not representable in glTF skinning and are left out;
the open body model has none.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from msmesh.atomic import atomic_write_bytes
from msmesh.body.joints import SMPL24_NAMES
from msmesh.body.model import BodyModel
from msmesh.data import Shot, SmplSequence, frame_seconds
from msmesh.export.objfile import vertex_normals
from msmesh.render.interp import axis_angle_to_quat, frame_clock, interpolate_person, person_shots, shot_ids
from msmesh.render.painter import person_colour

ROOT_ROTATION = [1.0, 0.0, 0.0, 0.0]  # quaternion (x, y, z, w) of a rotation by π about x
FLOAT, UINT8, UINT32 = 5126, 5121, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
SHOT_NODE = 1  # the current shot's camera pose
JOINT_NODE0 = 2  # node index of the pelvis
MESH_NODE = 26
ShotCameras = dict[int, tuple[int, np.ndarray, np.ndarray]]  # shot id → (reference shot, R, t): X_shot = R X_ref + t


class GlbBuilder:
    """Accumulates glTF JSON and one binary buffer; ``to_bytes`` packs them as a GLB."""

    def __init__(self) -> None:
        self.gltf: dict[str, Any] = {"asset": {"version": "2.0", "generator": "msmesh"}, "bufferViews": [],
                                     "accessors": []}
        self.chunks: list[bytes] = []
        self.offset = 0

    def view(self, data: bytes, target: int | None = None) -> int:
        """Add a 4-byte aligned buffer view holding ``data``; returns its index."""
        entry: dict[str, Any] = {"buffer": 0, "byteOffset": self.offset, "byteLength": len(data)}
        if target is not None:
            entry["target"] = target
        pad = (-len(data)) % 4
        self.chunks.append(data + b"\x00" * pad)
        self.offset += len(data) + pad
        self.gltf["bufferViews"].append(entry)
        return len(self.gltf["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, kind: str, component: int, target: int | None = None,
                 minmax: bool = False) -> int:
        """Add an accessor (and its view) for ``array`` of glTF type ``kind`` (SCALAR, VEC3, MAT4...)."""
        dtype = {FLOAT: np.float32, UINT8: np.uint8, UINT32: np.uint32}[component]
        arr = np.ascontiguousarray(array, dtype=dtype)
        count = arr.shape[0]
        entry: dict[str, Any] = {"bufferView": self.view(arr.tobytes(), target), "componentType": component,
                                 "count": int(count), "type": kind}
        if minmax:
            flat = arr.reshape(count, -1)
            entry["min"] = [float(x) for x in flat.min(axis=0)]
            entry["max"] = [float(x) for x in flat.max(axis=0)]
        self.gltf["accessors"].append(entry)
        return len(self.gltf["accessors"]) - 1

    def to_bytes(self) -> bytes:
        binary = b"".join(self.chunks)
        self.gltf["buffers"] = [{"byteLength": len(binary)}]
        text = json.dumps(self.gltf, separators=(",", ":")).encode("utf-8")
        text += b" " * ((-len(text)) % 4)
        total = 12 + 8 + len(text) + 8 + len(binary)
        return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(text), b"JSON") + text
                + struct.pack("<I4s", len(binary), b"BIN\x00") + binary)


def top4_weights(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 4 largest skinning weights per vertex (renormalised to sum 1) and their joint indices."""
    w = np.asarray(weights, dtype=np.float64)
    idx = np.argsort(-w, axis=1, kind="stable")[:, :4]
    top = np.take_along_axis(w, idx, axis=1)
    top = top / np.maximum(top.sum(axis=1, keepdims=True), 1e-12)
    idx = np.where(top > 0, idx, 0)
    return idx.astype(np.uint8), top.astype(np.float32)


def _visible_runs(visible: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, end) index runs where ``visible`` is True."""
    v = np.concatenate([[False], visible.astype(bool), [False]])
    d = np.diff(v.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def animation_keys(seq: SmplSequence, fps: float, shots: Sequence[Shot] | None, step: int,
                   max_gap: int | None = None, timestamps: np.ndarray | list[float] | None = None
                   ) -> dict[str, np.ndarray]:
    """Key times and values for the person's animation (see the module docstring for the rules).

    ``timestamps`` (seconds per original frame, for variable-frame-rate video) replaces ``frame / fps``;
    then ``step`` and ``max_gap`` are on the time clock of ``frame_clock`` (microseconds), as in the overlay.

    Returns ``times`` (K,), ``rotations`` (K,24,4) (x,y,z,w), ``translations`` (K,3) (the ``transl``
    parameter), ``scale_times`` (S,) and ``scale`` (S,) 0/1 visibility.
    """
    frames = np.asarray(seq.frames, dtype=np.int64)
    shot = np.asarray(seq.shot, dtype=np.int64)
    T = len(frames)
    max_gap = 2 * step if max_gap is None else max_gap
    clock = frame_clock(fps, timestamps)
    ticks = clock(frames)
    rot = axis_angle_to_quat(np.concatenate([np.asarray(seq.global_orient, np.float64)[:, None],
                                             np.asarray(seq.body_pose, np.float64).reshape(T, 23, 3)], 1))
    transl = np.asarray(seq.transl, np.float64)
    delta = 0.25
    key_frames: list[float] = []
    key_src: list[int] = []
    for k in range(T):
        if k > 0:
            a, b = int(frames[k - 1]), int(frames[k])
            if shot[k - 1] != shot[k] or ticks[k] - ticks[k - 1] > max_gap:  # a step: hold, jump at the boundary
                boundary: float = (a + b) / 2.0
                if shot[k - 1] != shot[k] and shots:
                    starts = [s.start for s in shots if s.id == shot[k]]
                    if starts and a < starts[0] <= b:
                        boundary = float(starts[0])
                boundary = max(boundary, a + 2 * delta)
                key_frames.append(boundary - delta)
                key_src.append(k - 1)
                if boundary < b:
                    key_frames.append(boundary)
                    key_src.append(k)
        key_frames.append(float(frames[k]))
        key_src.append(k)
    src = np.asarray(key_src)
    q = rot[src]
    for i in range(1, len(q)):  # keep consecutive quaternions in the same hemisphere
        flip = np.sum(q[i] * q[i - 1], axis=-1) < 0
        q[i, flip] *= -1
    # visibility, the same rule as the overlay (render/interp.py)
    if T:
        if timestamps is None:
            end = int(frames[-1]) + step + 1
        else:  # every frame up to one step (in time) past the last fitted frame
            end = max(int(frames[-1]) + 1, int(np.searchsorted(clock(np.arange(len(timestamps))), ticks[-1] + step,
                                                               side="right")))
        span = np.arange(int(frames[0]), end)
        timed = replace(seq, frames=ticks)
        span_shots = shot_ids(span, shots) if shots else person_shots(timed, clock(span))
        vis = interpolate_person(timed, clock(span), span_shots, step, max_gap).visible
        scale_t: list[float] = [] if frames[0] == 0 else [0.0]
        scale_v: list[float] = [] if frames[0] == 0 else [0.0]
        for s, e in _visible_runs(vis):
            scale_t += [float(span[s]), float(span[s] + (e - s))]
            scale_v += [1.0, 0.0]
    else:
        scale_t, scale_v = [0.0], [0.0]
    return {"times": frame_seconds(key_frames, fps, timestamps), "rotations": q, "translations": transl[src],
            "scale_times": frame_seconds(scale_t, fps, timestamps), "scale": np.asarray(scale_v)}


def shot_camera_keys(shots: Sequence[Shot], shot_cameras: ShotCameras, fps: float,
                     timestamps: np.ndarray | list[float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """STEP keys of node ``shot_camera``: times (S,) at each shot's first frame, rotations (S,4) (x,y,z,w) and
    translations (S,3) of that shot's camera pose in the reference camera's coordinates, i.e. the inverse
    of X_shot = R·X_ref + t: rotation Rᵀ, translation −Rᵀt."""
    ordered = sorted((s for s in shots if s.id in shot_cameras), key=lambda s: s.start)
    times, rots, trans = [], [], []
    for k, s in enumerate(ordered):
        _, R, t = shot_cameras[s.id]
        R = np.asarray(R, np.float64)
        times.append(0.0 if k == 0 else float(frame_seconds([s.start], fps, timestamps)[0]))
        rots.append(Rotation.from_matrix(R.T).as_quat())
        trans.append(-R.T @ np.asarray(t, np.float64))
    return np.asarray(times), np.asarray(rots).reshape(-1, 4), np.asarray(trans).reshape(-1, 3)


def person_glb(body: BodyModel, seq: SmplSequence, fps: float, shots: Sequence[Shot] | None = None,
               step: int = 1, max_gap: int | None = None, camera: tuple[float, int, int] | None = None,
               shot_cameras: ShotCameras | None = None, timestamps: np.ndarray | list[float] | None = None) -> bytes:
    """The animated skinned GLB of one person, as bytes.

    ``camera`` = (focal px, width, height) adds the video's camera as a glTF perspective camera (node
    ``video_camera``), so a viewer can look at the body through the original shot. ``shot_cameras``
    (``camera_motion.chain_shots``; each chain's reference shot is placed at the first shot's camera)
    animates node ``shot_camera`` with each shot's camera pose (see the module docstring). ``timestamps``
    (seconds per original frame) times the keys of a variable-frame-rate video.
    """
    betas = torch.as_tensor(np.asarray(seq.betas), dtype=torch.float32)
    with torch.no_grad():
        v_bind = (body.v_template + torch.einsum("vck,k->vc", body.shapedirs, betas)).cpu().numpy()
        rest = body.rest_joints(betas).cpu().numpy().astype(np.float64)
    faces = np.asarray(body.faces, dtype=np.int64)
    parents = list(body.parents)
    joints_idx, weights = top4_weights(body.lbs_weights.detach().cpu().numpy())
    keys = animation_keys(seq, fps, shots, step, max_gap, timestamps)

    g = GlbBuilder()
    pos = g.accessor(v_bind, "VEC3", FLOAT, ARRAY_BUFFER, minmax=True)
    nrm = g.accessor(vertex_normals(v_bind, faces), "VEC3", FLOAT, ARRAY_BUFFER)
    jnt = g.accessor(joints_idx, "VEC4", UINT8, ARRAY_BUFFER)
    wts = g.accessor(weights, "VEC4", FLOAT, ARRAY_BUFFER)
    ind = g.accessor(faces.reshape(-1), "SCALAR", UINT32, ELEMENT_ARRAY_BUFFER)
    ibm = np.tile(np.eye(4), (24, 1, 1))
    ibm[:, :3, 3] = -rest
    ibm_acc = g.accessor(ibm.transpose(0, 2, 1).reshape(24, 16), "MAT4", FLOAT)  # column-major

    colour = [float(c) / 255.0 for c in person_colour(seq.id)] + [1.0]
    g.gltf["materials"] = [{"name": f"person{seq.id}", "pbrMetallicRoughness": {
        "baseColorFactor": colour, "metallicFactor": 0.0, "roughnessFactor": 0.8}}]
    g.gltf["meshes"] = [{"name": f"p{seq.id}", "primitives": [{
        "attributes": {"POSITION": pos, "NORMAL": nrm, "JOINTS_0": jnt, "WEIGHTS_0": wts},
        "indices": ind, "material": 0, "mode": 4}]}]

    rot0 = keys["rotations"][0] if len(keys["times"]) else np.tile([0.0, 0.0, 0.0, 1.0], (24, 1))
    tr0 = keys["translations"][0] if len(keys["times"]) else np.zeros(3)
    cam_t, cam_r, cam_tr = shot_camera_keys(shots or [], shot_cameras or {}, fps, timestamps)
    shot_node: dict[str, Any] = {"name": "shot_camera", "children": [JOINT_NODE0]}
    if len(cam_t):
        shot_node.update(rotation=[float(x) for x in cam_r[0]], translation=[float(x) for x in cam_tr[0]])
    nodes: list[dict[str, Any]] = [{"name": "camera_to_gltf", "rotation": ROOT_ROTATION, "children": [SHOT_NODE]},
                                   shot_node]
    for j in range(24):
        local = rest[j] if parents[j] < 0 else rest[j] - rest[parents[j]]
        if parents[j] < 0:
            local = local + tr0
        node: dict[str, Any] = {"name": SMPL24_NAMES[j], "translation": [float(x) for x in local],
                                "rotation": [float(x) for x in rot0[j]]}
        children = [JOINT_NODE0 + c for c in range(24) if parents[c] == j]
        if children:
            node["children"] = children
        nodes.append(node)
    nodes.append({"name": "body", "mesh": 0, "skin": 0})
    g.gltf["nodes"] = nodes
    g.gltf["skins"] = [{"name": f"p{seq.id}_skeleton", "inverseBindMatrices": ibm_acc, "skeleton": 0,
                        "joints": [JOINT_NODE0 + j for j in range(24)]}]
    if camera is not None:
        focal, width, height = camera
        g.gltf["cameras"] = [{"name": "video", "type": "perspective", "perspective": {
            "yfov": float(2 * np.arctan(height / (2 * focal))), "aspectRatio": float(width / height),
            "znear": 0.01, "zfar": 1000.0}}]
        nodes.append({"name": "video_camera", "camera": 0, "rotation": ROOT_ROTATION})
        shot_node["children"].append(len(nodes) - 1)
    g.gltf["scenes"] = [{"name": f"person {seq.id}", "nodes": [0, MESH_NODE]}]
    g.gltf["scene"] = 0

    samplers: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []

    def animate(node: int, path: str, times: int, values: np.ndarray, kind: str, interpolation: str) -> None:
        channels.append({"sampler": len(samplers), "target": {"node": node, "path": path}})
        samplers.append({"input": times, "output": g.accessor(values, kind, FLOAT), "interpolation": interpolation})

    if len(keys["times"]):
        t_in = g.accessor(keys["times"], "SCALAR", FLOAT, minmax=True)
        for j in range(24):
            animate(JOINT_NODE0 + j, "rotation", t_in, keys["rotations"][:, j], "VEC4", "LINEAR")
        animate(JOINT_NODE0, "translation", t_in, keys["translations"] + rest[0], "VEC3", "LINEAR")
        s_in = g.accessor(keys["scale_times"], "SCALAR", FLOAT, minmax=True)
        animate(JOINT_NODE0, "scale", s_in, np.repeat(keys["scale"][:, None], 3, axis=1), "VEC3", "STEP")
    if len(cam_t) > 1:
        c_in = g.accessor(cam_t, "SCALAR", FLOAT, minmax=True)
        animate(SHOT_NODE, "rotation", c_in, cam_r, "VEC4", "STEP")
        animate(SHOT_NODE, "translation", c_in, cam_tr, "VEC3", "STEP")
    if channels:
        g.gltf["animations"] = [{"name": "fitted", "samplers": samplers, "channels": channels}]
    g.gltf["extras"] = {"msmesh": {
        "person": int(seq.id), "fps": float(fps), "frames": [int(f) for f in seq.frames],
        "coordinates": "skeleton under nodes camera_to_gltf (rotation pi about x) and shot_camera (the current "
                       "shot's camera pose in the first shot's camera coordinates) in the frame's camera "
                       "coordinates: x right, y down, z forward, metres; bind mesh in SMPL's canonical y-up frame",
        "shot_cameras": [{"shot": int(sid), "reference_shot": int(ref), "R": np.round(R, 6).tolist(),
                          "t": np.round(t, 5).tolist()} for sid, (ref, R, t) in (shot_cameras or {}).items()],
    }}
    return g.to_bytes()


def write_person_glb(path: Path, body: BodyModel, seq: SmplSequence, fps: float,
                     shots: Sequence[Shot] | None = None, step: int = 1, max_gap: int | None = None,
                     camera: tuple[float, int, int] | None = None, shot_cameras: ShotCameras | None = None,
                     timestamps: np.ndarray | list[float] | None = None) -> None:
    """Write ``p{id}.glb`` atomically."""
    atomic_write_bytes(path, person_glb(body, seq, fps, shots, step, max_gap, camera, shot_cameras, timestamps))
