"""How long the scale-aware adversary (issue 12) takes: one profile on local worker processes and on a Dask cluster
of local workers, with the same seed (the results must agree: budgets are in work units, not seconds).

Run: python benchmarks/bench_search.py [--profile standard] [--workers 2] [--skip-dask] [--no-regime]
Writes nothing under reports/; prints one table with wall and CPU seconds (the machine is shared: wall time
includes the neighbours) and the totals of work, so that runs on other machines compare.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_header  # noqa: E402

from amin.harness.cli import format_table  # noqa: E402
from amin.harness.search.scale import run  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process and its finished children (worker processes; Dask workers are children too)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(profile: str, workers: int, dask: str | None, regime: bool) -> dict[str, object]:
    t0, c0 = time.perf_counter(), _cpu()
    summary = run(
        profile,
        0,
        alphas=(2, 4, 8, 16, 32, 64, 128, 256),
        targets=("amin", "amin-random", "amax"),
        regime=regime,
        workers=workers,
        dask=dask,
    )
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    worst = {(r["target"], r["alpha_inverse"]): r["worst_value"] for r in summary["alpha"]}
    return {
        "backend": f"dask local x{workers}" if dask else f"processes x{workers}",
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "tasks": len(summary["alpha"]) + len(summary["regime"]),
        "evaluations": summary["effort"]["evaluations"] + summary["regime_effort"]["evaluations"],
        "work_units": summary["effort"]["work_units"] + summary["regime_effort"]["work_units"],
        "worst": worst,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="standard", choices=("quick", "standard", "full"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--skip-dask", action="store_true")
    p.add_argument("--no-regime", action="store_true")
    args = p.parse_args()
    print(machine_header(("amin", "numpy", "hypothesis", "distributed")))
    print(
        f"profile {args.profile}, seed 0, alpha = 1/2 .. 1/256, targets amin, amin-random, amax"
        + ("" if args.no_regime else ", regime map")
        + f"; {os.cpu_count()} cores"
    )
    rows = [measure(args.profile, args.workers, None, not args.no_regime)]
    if not args.skip_dask:
        rows.append(measure(args.profile, args.workers, "local", not args.no_regime))
        # Same seed, same budgets in work units: the backends must find the same instances.
        if rows[0]["worst"] != rows[1]["worst"]:
            print("WARNING: the two backends found different worst ratios", file=sys.stderr)
            return 1
    print(
        format_table(
            ["backend", "wall_s", "cpu_s", "tasks", "evaluations", "work_units"],
            [[r[k] for k in ("backend", "wall_s", "cpu_s", "tasks", "evaluations", "work_units")] for r in rows],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
