"""Time each scheduler on the reference engine: 2,000 Azure conversation requests, capacity 16492, relative(0.5).

Run: python benchmarks/bench_reference.py [--n 2000] [--seed 0]
Prints one table row per scheduler: rounds simulated (busy rounds), seconds, rounds per second.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import azure_instance, machine_header  # noqa: E402

import amin  # noqa: E402
from amin.harness.cli import format_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--capacity", type=int, default=16492)
    args = ap.parse_args()
    inst = azure_instance(args.n, seed=args.seed, capacity=args.capacity)
    print(machine_header())
    print(
        f"instance: {len(inst.requests)} Azure conversation requests (seed {args.seed}), capacity {inst.capacity}, "
        "all arrivals 0, intervals relative(0.5); engine: reference\n"
    )
    rows = []
    for name in amin.SCHEDULERS:
        t0 = time.perf_counter()
        r = amin.simulate(inst, name, engine="reference")
        dt = time.perf_counter() - t0
        rows.append([name, r.rounds, f"{dt:.2f}", f"{r.rounds / dt:,.0f}", r.total_latency, r.evictions])
    print(format_table(["scheduler", "rounds", "seconds", "rounds/s", "total_latency", "evictions"], rows))


if __name__ == "__main__":
    main()
