"""Table-3-style comparison on generated sequences with gaps and cuts: HMR vs conv vs GRU vs t-HMMR.

Prints JSON (msmesh.regress.table3.run_table3). Usage: .venv/bin/python bench/temporal_table3.py [--quick]
"""

from __future__ import annotations

import argparse
import json

from msmesh.regress.table3 import Table3Config, run_table3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (a minute)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = Table3Config(seed=args.seed)
    if args.quick:
        cfg = Table3Config(train_sequences=40, test_sequences=20, stage1_steps=200, stage2_steps=200, seed=args.seed)
    print(json.dumps(run_table3(cfg), indent=1))


if __name__ == "__main__":
    main()
