"""The fast engine against the reference round loop (issue 7): speed-up on 2,000 Azure requests, and scale runs of
100,000 and 1,000,000 requests with arrival times from the Azure 2023 conversation trace.

Run: python benchmarks/bench_engines.py [--quick] [--skip-million] [--no-profile]
Every table quotes CPU seconds (time.process_time: the machine is shared, so wall time
mostly measures the neighbours) and wall seconds; every fast result is compared with
the reference's (or, at scale, checked by the independent checker) before it is timed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import azure_instance, machine_header  # noqa: E402

import amin  # noqa: E402
from amin.engine import Simulation  # noqa: E402
from amin.fast import simulate_fast  # noqa: E402
from amin.harness.cli import format_table  # noqa: E402
from amin.predictors import relative  # noqa: E402
from amin.schedulers import make_scheduler  # noqa: E402
from amin.traces import ROUND_SECONDS, load_trace  # noqa: E402

SCALE_CAPACITY = 32768  # a busy but stable worker for the conversation trace at 20 ms per round (see engines.md)


def timed(fn, repeats: int):  # type: ignore[no-untyped-def]
    """(result, best CPU seconds, best wall seconds) over `repeats` runs."""
    best_cpu = best_wall = math.inf
    out = None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return out, best_cpu, best_wall


def _instance(prompt: np.ndarray, output: np.ndarray, arrival: np.ndarray, capacity: int, x: float) -> amin.Instance:
    lower, upper = relative(x).intervals(output)
    fits = prompt + output <= capacity
    if not fits.all():
        raise SystemExit(f"{int((~fits).sum())} requests do not fit capacity {capacity}")
    reqs = [
        amin.Request(prompt=p, output=o, lower=lo, upper=up, arrival=a)
        for p, o, lo, up, a in zip(
            prompt.tolist(), output.tolist(), lower.tolist(), upper.tolist(), arrival.tolist(), strict=True
        )
    ]
    return amin.Instance(capacity, tuple(reqs))


def tiled_trace(n: int, capacity: int = SCALE_CAPACITY, x: float = 0.5) -> amin.Instance:
    """n requests with the trace's real arrival times: the 19,366-row trace repeated back to back.

    Copy k is shifted by k times (the trace's span + its mean gap), so every
    inter-arrival gap is one the trace really has; intervals relative(x).
    """
    tr = load_trace("azure-conv")
    reps = -(-n // len(tr))
    period = int(tr.arrival[-1]) + max(1, round(float(np.diff(tr.arrival).mean())))
    arrival = np.concatenate([tr.arrival + k * period for k in range(reps)])[:n]
    return _instance(np.tile(tr.prompt, reps)[:n], np.tile(tr.output, reps)[:n], arrival, capacity, x)


def resampled_trace(n: int, seed: int = 0, capacity: int = SCALE_CAPACITY, x: float = 0.5) -> amin.Instance:
    """n requests resampled with replacement (seeded): each draws a (prompt, output) row and, independently,
    an inter-arrival gap of the trace; arrivals are the running sum of the gaps."""
    tr = load_trace("azure-conv")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(tr), size=n)
    gaps = rng.choice(np.diff(tr.arrival), size=n)
    gaps[0] = 0
    return _instance(tr.prompt[rows], tr.output[rows], np.cumsum(gaps), capacity, x)


def batch_table(n: int, ref_repeats: int, fast_repeats: int) -> str:
    inst = azure_instance(n, seed=0)
    rows = []
    for name in amin.SCHEDULERS:
        sched = make_scheduler(name)
        ref, ref_cpu, ref_wall = timed(lambda sched=sched: Simulation(inst, sched).run(), ref_repeats)
        fast, fast_cpu, fast_wall = timed(lambda sched=sched: simulate_fast(inst, sched), fast_repeats)
        same = fast == ref
        rows.append(
            [
                name,
                ref.makespan,
                ref.evictions,
                f"{ref_cpu:.3f}",
                f"{fast_cpu:.4f}",
                f"{ref_cpu / fast_cpu:.1f}x",
                f"{ref_wall:.3f}",
                f"{fast_wall:.4f}",
                f"{ref_wall / fast_wall:.1f}x",
                "yes" if same else "NO",
            ]
        )
    head = (
        f"{len(inst)} Azure conversation requests (common.azure_instance, seed 0), capacity {inst.capacity}, all "
        f"arrivals 0, intervals relative(0.5), default options (tie_break random, seed 0); best of "
        f"{ref_repeats} reference and {fast_repeats} fast runs\n"
    )
    return head + format_table(
        [
            "scheduler",
            "makespan",
            "evictions",
            "ref cpu s",
            "fast cpu s",
            "cpu ratio",
            "ref wall s",
            "fast wall s",
            "wall ratio",
            "identical",
        ],
        rows,
    )


def scale_row(label: str, inst: amin.Instance, name: str, check: bool) -> list:
    sched = make_scheduler(name)
    res, cpu, wall = timed(lambda: simulate_fast(inst, sched), 1)
    # The independent checker recomputes memory from starts and evicted runs: O(n + evictions + makespan).
    # (check_result would also do it, but its per-request eviction count is O(n * evictions).)
    if check and tuple(amin.check_schedule(inst, res.starts, res.eviction_log)) != tuple(res.memory):
        raise SystemExit(f"{label} {name}: the memory series disagrees with the independent checker")
    return [
        label,
        name,
        len(inst),
        inst.capacity,
        res.makespan,
        res.evictions,
        f"{res.total_latency / len(inst):.0f}",
        f"{cpu:.2f}",
        f"{wall:.2f}",
        "yes" if check else "-",
    ]


SCALE_HEADERS = [
    "workload",
    "scheduler",
    "requests",
    "capacity",
    "makespan",
    "evictions",
    "mean latency",
    "cpu s",
    "wall s",
    "checked",
]


def trace_table(n: int) -> str:
    c0 = time.perf_counter()
    inst = tiled_trace(n)
    built = time.perf_counter() - c0
    rows = [scale_row("tiled", inst, name, check=True) for name in amin.SCHEDULERS]
    over = tiled_trace(n, capacity=16492)
    rows.append(scale_row("tiled", over, "amin", check=True))
    head = (
        f"{n} requests with real arrival times: the Azure conversation trace tiled back to back, one round = "
        f"{ROUND_SECONDS} s, intervals relative(0.5); fast engine, default options; building the instance "
        f"took {built:.1f} s (not counted); every schedule passed amin.check_schedule and its memory series "
        "equals the checker's\n"
    )
    return head + format_table(SCALE_HEADERS, rows)


def million_child(n: int) -> None:
    """Run in a fresh process, so that its peak resident memory is the run's own."""
    c0 = time.perf_counter()
    inst = resampled_trace(n, seed=0)
    built = time.perf_counter() - c0
    row = scale_row("resampled", inst, "amin", check=False)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"row": row, "built": built, "rss_mb": rss_mb}))


def million_table(n: int) -> str:
    out = subprocess.run(
        [sys.executable, __file__, "--child-million", str(n)], capture_output=True, text=True, check=True
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    head = (
        f"{n} requests resampled with replacement from the Azure conversation trace (seed 0: rows and "
        f"inter-arrival gaps drawn independently), one round = {ROUND_SECONDS} s, capacity {SCALE_CAPACITY}, "
        f"relative(0.5); fresh process: building the instance took {data['built']:.1f} s (not counted), "
        f"peak resident memory of the whole process {data['rss_mb']:.0f} MB\n"
    )
    return head + format_table(SCALE_HEADERS, [data["row"]])


def profile_table(n: int) -> str:
    inst = tiled_trace(n)
    sched = make_scheduler("amin")
    prof = cProfile.Profile()
    prof.enable()
    simulate_fast(inst, sched)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(10)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next(k for k, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    head = f"cProfile of amin on the {n}-request tiled trace (top 10 by own time; profiling inflates times)\n"
    return head + "\n".join(lines[start - 1 : start + 11])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (a smoke run)")
    ap.add_argument("--skip-million", action="store_true", help="leave out the 1,000,000-request run")
    ap.add_argument("--no-profile", action="store_true", help="leave out the profile")
    ap.add_argument("--child-million", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_million:
        million_child(args.child_million)
        return
    batch_n, trace_n, million_n = (500, 20_000, 100_000) if args.quick else (2000, 100_000, 1_000_000)
    print(machine_header())
    print(f"load average at start: {' '.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    print(batch_table(batch_n, 1 if args.quick else 2, 2 if args.quick else 5), end="\n\n", flush=True)
    print(trace_table(trace_n), end="\n\n", flush=True)
    if not args.skip_million:
        print(million_table(million_n), end="\n\n", flush=True)
    if not args.no_profile:
        print(profile_table(trace_n), flush=True)
    print(f"\nload average at end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
