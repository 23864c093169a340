"""Benchmark the body model: ms per call of joints_only (forward, forward+backward) and the full mesh forward.

Run: .venv/bin/python bench/body_speed.py [--model open] [--device cpu] ; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from msmesh.body import load_body_model


def _time(fn, reps: int) -> float:
    fn()  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / reps * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="open")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    torch.manual_seed(0)
    bm = load_body_model(args.model, device=args.device)
    res: dict = {"model": bm.name, "device": args.device, "threads": torch.get_num_threads(),
                 "vertices": bm.num_vertices}

    def inputs(B: int, grad: bool) -> list[torch.Tensor]:
        xs = [torch.randn(B, 3) * 0.5, torch.randn(B, 69) * 0.3, torch.randn(B, 10), torch.randn(B, 3)]
        return [x.to(args.device).requires_grad_(grad) for x in xs]

    for B in (1, 1000):
        x = inputs(B, False)
        with torch.no_grad():
            res[f"joints_only_ms_B{B}"] = round(_time(lambda x=x: bm.joints_only(*x), args.reps), 3)
        xg = inputs(B, True)

        def fwd_bwd(xg=xg) -> None:
            j, c = bm.joints_only(*xg)
            (j.square().sum() + c.square().sum()).backward()

        res[f"joints_only_fwd_bwd_ms_B{B}"] = round(_time(fwd_bwd, args.reps), 3)
    for B in (1, 64):
        x = inputs(B, False)
        with torch.no_grad():
            res[f"full_forward_ms_B{B}"] = round(_time(lambda x=x: bm(*x), max(3, args.reps // 4)), 3)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
