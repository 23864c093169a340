"""Overlay rendering speed: milliseconds per frame of the painter rasteriser at 640×360 and 1920×1080 (JSON).

Two scenes per size: "wide" (two whole people, ~60% of the frame height) and "closeup" (one person whose
upper body fills the frame). Times the rasteriser + alpha blend (render/painter.py) on posed open-model
meshes, and separately posing the meshes with the body model and H.264-encoding the frames, so the three
parts of `overlay.mp4`'s cost per frame can be compared.

    .venv/bin/python bench/render_speed.py [--frames 20]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import time

import av
import numpy as np
import torch

from msmesh.body import load_body_model
from msmesh.render.painter import MeshDraw, draw_meshes, person_colour

SIZES = {"640x360": (640, 360), "1920x1080": (1920, 1080)}


def _pose(body, n: int, transl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    go = np.tile([np.pi, 0.0, 0.0], (n, 1)) + rng.normal(0, 0.1, (n, 3))
    with torch.no_grad():
        out = body(torch.tensor(go, dtype=torch.float32), torch.tensor(rng.normal(0, 0.15, (n, 69)),
                   dtype=torch.float32), torch.zeros(n, 10), torch.tensor(np.tile(transl, (n, 1)), dtype=torch.float32))
    return out.vertices.numpy()


def bench(frames: int) -> dict:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    body = load_body_model("open")
    scenes = {"wide": [np.array([-0.7, 0.1, 4.0]), np.array([0.8, 0.15, 4.5])],
              "closeup": [np.array([0.0, 0.6, 1.3])]}
    t = time.perf_counter()
    posed = {name: [_pose(body, frames, tr, rng) for tr in people] for name, people in scenes.items()}
    pose_ms = (time.perf_counter() - t) * 1000 / (frames * 3)
    results: dict = {}
    for size_name, (w, h) in SIZES.items():
        focal = 1.2 * w / 1.6  # a ~67° horizontal field of view
        background = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        for scene, meshes in posed.items():
            draw_meshes(background, [MeshDraw(m[0], person_colour(k)) for k, m in enumerate(meshes)], body.faces,
                        focal, (w / 2, h / 2))  # warm-up
            t = time.perf_counter()
            for i in range(frames):
                draw_meshes(background, [MeshDraw(m[i], person_colour(k)) for k, m in enumerate(meshes)],
                            body.faces, focal, (w / 2, h / 2))
            results[f"{size_name}_{scene}_ms_per_frame"] = round((time.perf_counter() - t) * 1000 / frames, 2)
        buf = io.BytesIO()
        t = time.perf_counter()
        with av.open(buf, "w", format="mp4") as out:
            stream = out.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.options = {"crf": "20", "preset": "veryfast"}
            for _ in range(frames):
                for packet in stream.encode(av.VideoFrame.from_ndarray(background, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        results[f"{size_name}_encode_ms_per_frame"] = round((time.perf_counter() - t) * 1000 / frames, 2)
    return {"benchmark": "render_speed", "frames": frames, "mesh_faces": int(len(body.faces)),
            "mesh_vertices": int(body.num_vertices), "pose_ms_per_person_frame": round(pose_ms, 2), **results,
            "machine": platform.processor() or platform.machine(), "torch_threads": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    print(json.dumps(bench(parser.parse_args().frames), indent=1))


if __name__ == "__main__":
    main()
