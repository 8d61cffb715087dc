"""Benchmark of optimal/: exact solve time and status against size, naive vs aggregated, LP bound vs OPT, a real trace.

Run: python benchmarks/bench_optimal.py [--time-limit S] [--trace-requests N] [--skip-trace]
Prints markdown tables headed by the machine and package versions. Seeds are fixed.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import os
import platform
import random
import sys
import time
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optimal  # noqa: E402
from amin import Instance, Request, simulate  # noqa: E402

TRACE = Path("/work/shared/data/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv")


def header() -> str:
    versions = ", ".join(
        f"{p} {importlib.metadata.version(p)}" for p in ("cvxpy", "highspy", "numpy", "scipy", "pyscipopt")
    )
    cpu = platform.processor() or platform.machine()
    return (
        f"machine: {platform.node()} ({cpu}, {os.cpu_count()} cores), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}\nversions: {versions}"
    )


def table(headers: list[str], rows: list[list[object]]) -> str:
    fmt = [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in fmt])


def heterogeneous(
    rng: random.Random, n: int, capacity: int = 60, max_output: int = 20, max_prompt: int = 10, max_arrival: int = 10
) -> Instance:
    reqs = []
    for _ in range(n):
        s = rng.randint(0, max_prompt)
        o = rng.randint(1, min(capacity - s, max_output))
        reqs.append(Request(s, o, 1, o, rng.randint(0, max_arrival)))
    return Instance(capacity, tuple(reqs))


def few_kinds(rng: random.Random, n: int, kinds: int = 4, capacity: int = 60) -> Instance:
    pool = []
    for _ in range(kinds):
        s = rng.randint(0, 10)
        o = rng.randint(1, 20)
        pool.append(Request(s, o, 1, o, rng.randint(0, 5)))
    return Instance(capacity, tuple(rng.choice(pool) for _ in range(n)))


def scaling(time_limit: float) -> str:
    rows = []
    cases = [(4, 1), (4, 2), (8, 1), (8, 2)] + [(12, seed) for seed in range(1, 7)]
    cases += [(n, seed) for n in (16, 20, 30, 40) for seed in (1, 2)]
    for n, seed in tqdm(cases, desc="scaling", file=sys.stderr):
        inst = heterogeneous(random.Random(seed), n)
        hsf = simulate(inst, "hsf").total_latency
        sol = optimal.solve(inst, time_limit)
        lb = optimal.lower_bound(inst)
        rows.append(
            [
                n,
                seed,
                sol.slack,
                sol.columns,
                sol.status,
                sol.total_latency,
                sol.lower_bound,
                sol.lower_bound_method,
                hsf,
                lb.lp_bound,
                lb.area_bound,
                round(sol.seconds, 2),
                round(lb.seconds, 2),
            ]
        )
    return (
        "### Exact solve against size (capacity 60, prompts 0-10, outputs 1-20, arrivals 0-10; "
        f"HiGHS, time limit {time_limit:g} s)\n\n"
        + table(
            [
                "n",
                "seed",
                "slack D",
                "columns",
                "status",
                "TEL",
                "lower bound",
                "bound from",
                "H-SF TEL",
                "LP bound",
                "area bound",
                "solve s",
                "bounds s",
            ],
            rows,
        )
    )


def formulations(time_limit: float) -> str:
    rows = []
    cases = [(n, 1) for n in (10, 20, 40)]
    for n, seed in tqdm(cases, desc="formulations", file=sys.stderr):
        inst = few_kinds(random.Random(seed), n)
        for form in ("naive", "aggregated"):
            sol = optimal.solve(inst, time_limit, formulation=form)
            rows.append(
                [n, seed, form, sol.columns, sol.status, sol.total_latency, sol.lower_bound, round(sol.seconds, 2)]
            )
    return f"### Naive vs aggregated (at most 4 distinct kinds of request; time limit {time_limit:g} s)\n\n" + table(
        ["n", "seed", "formulation", "columns", "status", "TEL", "lower bound", "seconds"], rows
    )


def paper_setting(time_limit: float) -> str:
    """The theory's setting: all arrivals 0, one common prompt, outputs from 4 kinds."""
    rows = []
    for n in tqdm((10, 20, 40), desc="paper setting", file=sys.stderr):
        rng = random.Random(1)
        inst = Instance(100, tuple(Request(5, o, 1, o, 0) for o in (rng.choice((3, 8, 15, 20)) for _ in range(n))))
        for form in ("aggregated", "naive") if n <= 20 else ("aggregated",):
            sol = optimal.solve(inst, time_limit, formulation=form)
            rows.append(
                [
                    n,
                    sol.formulation,
                    sol.columns,
                    sol.status,
                    sol.total_latency,
                    sol.lower_bound,
                    sol.lower_bound_method,
                    simulate(inst, "hsf").total_latency,
                    round(sol.seconds, 2),
                ]
            )
    return (
        f"### Theory setting: arrivals 0, prompt 5, outputs in {{3, 8, 15, 20}}, capacity 100 "
        f"(time limit {time_limit:g} s)\n\n"
        + table(
            ["n", "formulation", "columns", "status", "TEL", "lower bound", "bound from", "H-SF TEL", "seconds"], rows
        )
    )


def theory(n: int) -> Instance:
    rng = random.Random(1)
    return Instance(100, tuple(Request(5, o, 1, o, 0) for o in (rng.choice((3, 8, 15, 20)) for _ in range(n))))


def compare(time_limit: float, long_limit: float) -> str:
    """Before/after in one run: the LP-guided warm start and the area windows off (before) and on (after)."""
    cases = [
        (f"heterogeneous n=12 seed {seed}", heterogeneous(random.Random(seed), 12), time_limit) for seed in range(1, 7)
    ]
    cases += [(f"theory n={n}", theory(n), long_limit) for n in (20, 40)]
    cases += [(f"4 kinds n={n} seed 1", few_kinds(random.Random(1), n), long_limit) for n in (20, 40)]
    rows = []
    for label, inst, limit in tqdm(cases, desc="before/after", file=sys.stderr):
        for variant, on in (("before", False), ("after", True)):
            sol = optimal.solve(inst, limit, guided_warm_start=on, area_windows=on)
            rows.append(
                [
                    label,
                    variant,
                    limit,
                    sol.warm_start,
                    sol.slack,
                    sol.columns,
                    sol.status,
                    sol.total_latency,
                    sol.lower_bound,
                    None if sol.gap is None else round(100 * sol.gap, 1),
                    round(sol.seconds, 2),
                ]
            )
    return "### Before/after: LP-guided warm start and area windows (HiGHS; before = both switched off)\n\n" + table(
        [
            "instance",
            "variant",
            "limit s",
            "warm start",
            "slack D",
            "columns",
            "status",
            "TEL",
            "lower bound",
            "gap %",
            "seconds",
        ],
        rows,
    )


def load_trace(n: int, capacity: int, arrivals: str, round_seconds: float) -> Instance:
    reqs = []
    t0 = None
    with TRACE.open() as f:
        for row in csv.DictReader(f):
            s, o = int(row["ContextTokens"]), int(row["GeneratedTokens"])
            if o < 1 or s + o > capacity:
                continue
            ts = time.mktime(time.strptime(row["TIMESTAMP"][:19], "%Y-%m-%d %H:%M:%S")) + float(
                "0." + row["TIMESTAMP"][20:] if len(row["TIMESTAMP"]) > 20 else 0
            )
            t0 = ts if t0 is None else t0
            a = 0 if arrivals == "zero" else int((ts - t0) / round_seconds)
            reqs.append(Request(s, o, 1, o, a))
            if len(reqs) == n:
                break
    return Instance(capacity, tuple(reqs))


def trace(n: int, time_limit: float) -> str:
    rows = []
    for arrivals in ("zero", "trace"):
        inst = load_trace(n, 16492, arrivals, round_seconds=0.05)
        clock = time.perf_counter()
        hsf = simulate(inst, "hsf").total_latency
        hsf_seconds = time.perf_counter() - clock
        for max_classes in (50,):
            b = optimal.lower_bound(inst, time_limit, max_classes=max_classes)
            rows.append(
                [
                    n,
                    arrivals,
                    max_classes,
                    b.method,
                    b.classes,
                    b.stride,
                    b.columns,
                    b.lp_bound,
                    b.area_bound,
                    b.value,
                    sum(r.output for r in inst.requests),
                    hsf,
                    round(b.value / hsf, 3),
                    round(b.seconds, 1),
                    round(hsf_seconds, 1),
                ]
            )
    return (
        f"### Lower bound on the Azure conversation trace (first {n} requests that fit, capacity 16492; "
        "arrivals all 0, or trace timestamps at 50 ms per round)\n\n"
        + table(
            [
                "n",
                "arrivals",
                "max_classes",
                "best method",
                "classes",
                "stride",
                "columns",
                "LP bound",
                "area bound",
                "lower bound",
                "sum of outputs",
                "H-SF TEL",
                "bound / H-SF",
                "bound s",
                "H-SF s",
            ],
            rows,
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=10.0, help="per solve in the size sweep (default 10)")
    ap.add_argument("--formulation-time-limit", type=float, default=60.0, help="per solve, naive vs aggregated")
    ap.add_argument("--trace-requests", type=int, default=2000)
    ap.add_argument("--skip-trace", action="store_true")
    ap.add_argument("--only", choices=("scaling", "formulations", "paper", "trace", "compare"), default=None)
    args = ap.parse_args()
    print(header() + "\n")
    if args.only in (None, "scaling"):
        print(scaling(args.time_limit) + "\n", flush=True)
    if args.only in (None, "formulations"):
        print(formulations(args.formulation_time_limit) + "\n", flush=True)
    if args.only in (None, "paper"):
        print(paper_setting(args.formulation_time_limit) + "\n", flush=True)
    if args.only in (None, "compare"):
        print(compare(args.time_limit, args.formulation_time_limit) + "\n", flush=True)
    if args.only in (None, "trace") and not args.skip_trace:
        print(trace(args.trace_requests, 300.0) + "\n", flush=True)


if __name__ == "__main__":
    main()
