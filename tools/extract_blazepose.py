"""Extract BlazePose GHUM (MediaPipe Pose, Apache-2.0) into `assets/models/blazepose/` and check its sha256.

The person detector and the "full" landmark model ship unchanged inside the mediapipe 0.10.14 wheels on PyPI
(any platform's wheel: the tflite files are identical) under `mediapipe/modules/`. msmesh does not depend on
mediapipe; the wheel is only a carrier. The Apache-2.0 text is the wheel's own `LICENSE` (its first part).

    pip download --no-deps --only-binary=:all: mediapipe==0.10.14 -d /tmp/mp
    python tools/extract_blazepose.py --wheel /tmp/mp/mediapipe-0.10.14-*.whl

The npm package `@mediapipe/pose` (0.5.1675469404) holds the same `pose_landmark_full.tflite` (same sha256)
plus lite and heavy variants; `--npm PACKAGE.tgz --variant heavy` extracts one of those next to the others
(not shipped: heavy is ~3x slower than full with no measured 3D gain).
"""

from __future__ import annotations

import argparse
import hashlib
import tarfile
import zipfile
from pathlib import Path

WHEEL_VERSION = "0.10.14"
NPM_VERSION = "0.5.1675469404"
WHEEL_FILES = {
    "pose_detection.tflite": ("mediapipe/modules/pose_detection/pose_detection.tflite",
                              "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),
    "pose_landmark_full.tflite": ("mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                                  "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
}
NPM_FILES = {
    "lite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "full": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "heavy": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}


def _checked(name: str, data: bytes, expected: str) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise SystemExit(f"{name}: sha256 {digest} differs from the pinned {expected}")
    return data


def _write_sums(out_dir: Path) -> None:
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(out_dir.glob("*.tflite"))]
    (out_dir / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def extract_wheel(wheel: Path, out_dir: Path) -> list[Path]:
    """Write the detector, the full landmark model and LICENSE from a mediapipe wheel; return the model paths."""
    if f"mediapipe-{WHEEL_VERSION}-" not in wheel.name:
        raise SystemExit(f"{wheel.name}: expected a mediapipe {WHEEL_VERSION} wheel")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as whl:
        for name, (member, digest) in WHEEL_FILES.items():
            target = out_dir / name
            target.write_bytes(_checked(name, whl.read(member), digest))
            written.append(target)
        license_text = whl.read(f"mediapipe-{WHEEL_VERSION}.dist-info/LICENSE").decode()
    apache = license_text.split("=" * 20)[0].rstrip() + "\n"  # the rest are notices for unrelated components
    (out_dir / "LICENSE").write_text(apache)
    _write_sums(out_dir)
    return written


def extract_npm(tgz: Path, variant: str, out_dir: Path) -> Path:
    """Write ``pose_landmark_<variant>.tflite`` from the @mediapipe/pose npm tarball; return its path."""
    name = f"pose_landmark_{variant}.tflite"
    with tarfile.open(tgz) as tar:
        member = tar.extractfile(f"package/{name}")
        if member is None:
            raise SystemExit(f"{tgz}: no package/{name}")
        data = _checked(name, member.read(), NPM_FILES[variant])
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    target.write_bytes(data)
    _write_sums(out_dir)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a mediapipe {WHEEL_VERSION} wheel")
    parser.add_argument("--npm", type=Path, help=f"@mediapipe/pose {NPM_VERSION} tarball (npm pack)")
    parser.add_argument("--variant", choices=sorted(NPM_FILES), default="heavy")
    parser.add_argument("--out", type=Path, default=Path("assets/models/blazepose"))
    args = parser.parse_args()
    if not args.wheel and not args.npm:
        parser.error("give --wheel and/or --npm")
    paths = extract_wheel(args.wheel, args.out) if args.wheel else []
    if args.npm:
        paths.append(extract_npm(args.npm, args.variant, args.out))
    for path in paths:
        print(f"{path} {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
