"""Regressor speed: HMR (ResNet-50, 224 px) images/s and t-HMMR window throughput, on CPU or CUDA (fp16).

Prints JSON. Usage: .venv/bin/python bench/regress_speed.py [--device cpu|cuda] [--batch 16] [--iters 3]
Untrained weights (speed does not depend on the values).
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext

import torch

from msmesh.regress.hmr import HMR, RegressorConfig
from msmesh.regress.thmmr import THMMR


def _time(fn, iters: int, device: torch.device) -> float:
    fn()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / iters


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()
    device = torch.device(args.device)
    fp16 = device.type == "cuda"
    ctx = (lambda: torch.autocast("cuda", dtype=torch.float16)) if fp16 else nullcontext
    hmr = HMR(RegressorConfig()).to(device).eval()
    th = THMMR(RegressorConfig(kind="thmmr"), with_backbone=False).to(device).eval()
    x = torch.randn(args.batch, 3, 224, 224, device=device)
    feats = torch.randn(args.batch, 13, 2048, device=device)
    mask = torch.zeros(args.batch, 13, dtype=torch.bool, device=device)
    mask[:, 4:7] = True

    def run_hmr():
        with torch.no_grad(), ctx():
            hmr(x)

    def run_th():
        with torch.no_grad(), ctx():
            th(feats, mask)

    t_hmr = _time(run_hmr, args.iters, device)
    t_th = _time(run_th, args.iters, device)
    print(json.dumps({
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "fp16": fp16, "torch_threads": torch.get_num_threads(), "batch": args.batch,
        "hmr_ms_per_image": round(1000 * t_hmr / args.batch, 2),
        "hmr_images_per_s": round(args.batch / t_hmr, 1),
        "thmmr_head_ms_per_window": round(1000 * t_th / args.batch, 3),
    }, indent=1))


if __name__ == "__main__":
    main()
