"""Shot-detector accuracy and speed on real footage with known cuts (how the default was chosen).

Cases: the shipped example (4 hard cuts), Sports2D's uncut source (fast motion, sun flare: any cut is a false
positive) and a dissolve made from it. Needs the Sports2D wheel's demo.mp4:
    pip download --no-deps sports2d -d /tmp/s2d && unzip -o /tmp/s2d/sports2d-*.whl 'Sports2D/Demo/*' -d /tmp/s2d
    .venv/bin/python bench/shots_accuracy.py --source /tmp/s2d/Sports2D/Demo/demo.mp4
Prints one JSON line per case and detector.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from videos import write_video  # noqa: E402

from msmesh.video.reader import iter_frames, probe  # noqa: E402
from msmesh.video.shots import detect_shots  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--source", type=Path, required=True)
args = ap.parse_args()
tmp = Path(tempfile.mkdtemp())
src = args.source
# 1) the source: no cuts, fast motion (a flip), sun flare
frames = [cv2.resize(f, (640, 360)) for _, f in iter_frames(src)]
nocut = write_video(tmp / "nocut.mp4", frames, fps=30)
# 2) example + dissolve: wide (0..99) dissolving over 15 frames into a close-up (crop) (115..)
ex = [f for _, f in iter_frames("examples/cuts_demo.mp4")]
close = [cv2.resize(f[40:220, 100:420], (640, 360)) for f in frames]
diss = (
    frames[:100]
    + [((1 - a) * frames[100 + k] + a * close[100 + k]).astype(np.uint8) for k, a in enumerate(np.linspace(0, 1, 15))]
    + close[115:200]
)
dissolve = write_video(tmp / "dissolve.mp4", diss, fps=30)
cases = {
    "example (4 hard cuts)": ("examples/cuts_demo.mp4", [60, 100, 140, 180]),
    "source, no cuts": (str(nocut), []),
    "dissolve 100-115": (str(dissolve), [107]),
}
for name, (path, truth) in cases.items():
    info = probe(path)
    for d in ["content", "adaptive", "transnet"]:
        t = time.time()
        cuts = [s.start for s in detect_shots(path, info, d)[1:]]
        dt = time.time() - t
        tp = sum(any(abs(c - g) <= (8 if "dissolve" in name else 1) for c in cuts) for g in truth)
        print(
            json.dumps(
                {
                    "case": name,
                    "detector": d,
                    "cuts": cuts,
                    "truth": truth,
                    "true_positives": tp,
                    "false_positives": len(cuts) - tp,
                    "frames_per_s": round(info.frame_count / dt),
                }
            )
        )
