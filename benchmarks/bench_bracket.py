"""OPT bracketed on the report's 2,000-request instances (issue 15), the order rules of list scheduling, column
generation by size, and how far exact proofs reach on scaled real sub-samples.

Run: python benchmarks/bench_bracket.py [--only bracket|rules|colgen|exact] [--upper-seconds 300]
       [--colgen-seconds 120] [--exact-seconds 60] [--old-optimal DIR]
Prints markdown tables headed by the machine and package versions. Seeds are fixed. `--old-optimal DIR` runs the
exact-reach table a second time with the `optimal` package found in DIR (e.g. `git archive HEAD optimal | tar -x
-C DIR`), in a child process, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import machine_header  # noqa: E402

from amin import Instance, Request, check_schedule, simulate  # noqa: E402
from optimal.colgen import column_generation  # noqa: E402
from optimal.combinatorial import BOUNDS  # noqa: E402
from optimal.schedules import (  # noqa: E402
    PRIORITY_RULES,
    backfill_schedule,
    best_schedule,
    list_schedules,
    memory_area,
    priority_keys,
    priority_schedule,
    total_latency,
)

TRACES = ("azure-conv", "azure-code", "sharegpt-predicted", "mooncake-conv", "sharegpt-llama2")
CAPACITY = 16492
# The report's exact sub-samples (amin/harness/report/grid.py): token counts divided by these, capacity for ~3 at once.
SCALES = {"azure-conv": 25, "azure-code": 4, "sharegpt-predicted": 60, "mooncake-conv": 60, "sharegpt-llama2": 70}


def table(headers: list[str], rows: list[list[object]]) -> str:
    fmt = [
        [f"{c:,.4g}" if isinstance(c, float) else (f"{c:,}" if isinstance(c, int) else str(c)) for c in r] for r in rows
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in fmt])


def trace_sample(name: str, n: int, seed: int):  # noqa: ANN201 - a Trace
    """The report's sample of a trace: the predictor's holdout half where the trace has predictions."""
    from amin import predictors
    from amin.traces import load_trace

    trace = load_trace(name)
    if trace.predicted is not None:
        trace = predictors.predictor().holdout
    return trace.sample(n, seed)


def report_instance(name: str, predictor: str = "relative(0.5)") -> Instance:
    """The report's seed-0 instance: 2,000 requests, M = 16492, all arriving at 0 (report/cells.py)."""
    return trace_sample(name, 2000, 0).to_instance(CAPACITY, predictor, arrivals="zero", seed=0)[0]


def bracket_table(upper_seconds: float, colgen_seconds: float) -> str:
    rows = []
    for name in TRACES:
        inst = report_instance(name)
        hsf = simulate(inst, "hsf").total_latency
        clock = time.perf_counter()
        bounds = {m: f(inst) for m, f in BOUNDS.items()}
        comb_seconds = time.perf_counter() - clock
        comb_method = max(bounds, key=bounds.get)  # type: ignore[arg-type]
        listed = min(list_schedules(inst), key=lambda s: s.total_latency)
        keys = priority_keys(inst, "area")
        clock = time.perf_counter()
        filled = backfill_schedule(inst, sorted(range(len(keys)), key=lambda i: keys[i]))
        backfill_seconds = time.perf_counter() - clock
        best = best_schedule(inst, upper_seconds, lower=bounds[comb_method])
        check_schedule(inst, best.starts)
        cg = column_generation(inst, best.starts, colgen_seconds)
        lower, lower_method = bounds[comb_method], comb_method
        if cg is not None and cg.value > lower:
            lower, lower_method = cg.value, cg.method
        assert lower <= best.total_latency
        gap = (best.total_latency - lower) / best.total_latency
        rows.append(
            [
                name,
                len(inst.requests),
                hsf,
                f"{listed.total_latency:,} ({listed.method}, {1000 * listed.seconds:.0f} ms)",
                f"{total_latency(inst, filled):,} ({backfill_seconds:.1f} s)",
                f"{best.total_latency:,} ({best.method}, {best.seconds:.0f} s)",
                f"{bounds[comb_method]:,} ({comb_method}, {1000 * comb_seconds:.0f} ms)",
                "n/a (too large)"
                if cg is None
                else f"{cg.value:,} ({cg.iterations} it., {'converged' if cg.converged else 'not converged'}, "
                f"{cg.seconds:.0f} s)",
                f"{lower:,} ({lower_method})",
                f"{100 * gap:.2f}%",
                f"[{hsf / best.total_latency:.3f}, {hsf / lower:.3f}]",
            ]
        )
        print(f"  {name} done", file=sys.stderr, flush=True)
    return (
        f"### The bracket on the report's seed-0 instances (2,000 requests, M = {CAPACITY:,}, zero arrivals; "
        f"schedule search {upper_seconds:g} s, column generation {colgen_seconds:g} s)\n\n"
        + table(
            [
                "trace",
                "n",
                "H-SF TEL",
                "best list schedule",
                "backfilling (area)",
                "best known UB (method, time)",
                "combinatorial LB (time)",
                "column generation LB",
                "best LB",
                "gap (UB-LB)/UB",
                "H-SF/OPT in",
            ],
            rows,
        )
    )


def rules_table() -> str:
    """TEL of list scheduling (true lengths for packing) under each order; 'online' keys use only the prompt and a
    predicted bound (Amin's lower bound l, Amax's upper bound u) of the given predictor."""
    rows = []
    for name in TRACES:
        for predictor in ("relative(0.5)", "binned") + (("predictor",) if name == "sharegpt-predicted" else ()):
            inst = report_instance(name, predictor)
            hsf = priority_schedule(inst, "output")
            row: list[object] = [name, predictor]
            for rule in PRIORITY_RULES:
                row.append(round(total_latency(inst, priority_schedule(inst, rule)) / total_latency(inst, hsf), 4))
            for bound in ("lower", "upper"):
                keys = [(memory_area(r.prompt, getattr(r, bound)), r.arrival, i) for i, r in enumerate(inst.requests)]
                keys_out = [(getattr(r, bound), r.arrival, i) for i, r in enumerate(inst.requests)]
                by_area = total_latency(inst, priority_schedule(inst, keys))
                by_output = total_latency(inst, priority_schedule(inst, keys_out))
                row += [round(by_output / total_latency(inst, hsf), 4), round(by_area / total_latency(inst, hsf), 4)]
            rows.append(row)
    headers = ["trace", "intervals"] + [f"{r} (true)" for r in PRIORITY_RULES]
    headers += ["output (l)", "area (s, l)", "output (u)", "area (s, u)"]
    return (
        "### List scheduling by rule: TEL / TEL(H-SF) on the seed-0 instances (packing with true lengths; "
        "(l) / (u): keys from the predicted lower / upper bound)\n\n" + table(headers, rows)
    )


def scaled_instance(name: str, n: int, seed: int, predictor: str = "relative(0.5)") -> Instance:
    """The report's exact cells: a seeded sub-sample, token counts divided by the trace's scale, capacity for ~3."""
    from amin.harness.report.cells import exact_capacity, scaled_trace

    trace = scaled_trace(trace_sample(name, n, seed), SCALES[name])
    return trace.to_instance(exact_capacity(trace, 3.0), predictor, arrivals="zero", seed=seed)[0]


def few_kinds(rng: random.Random, n: int, kinds: int = 4, capacity: int = 60) -> Instance:
    """benchmarks/bench_optimal.py's 'n of 4 kinds': 4 request kinds (prompt 0-10, output 1-20, arrival 0-5)."""
    pool = []
    for _ in range(kinds):
        s = rng.randint(0, 10)
        o = rng.randint(1, 20)
        pool.append(Request(s, o, 1, o, rng.randint(0, 5)))
    return Instance(capacity, tuple(rng.choice(pool) for _ in range(n)))


def theory(n: int) -> Instance:
    rng = random.Random(1)
    return Instance(100, tuple(Request(5, o, 1, o, 0) for o in (rng.choice((3, 8, 15, 20)) for _ in range(n))))


def exact_cases() -> list[tuple[str, Instance]]:
    cases = [
        (f"{name} n={n} seed {seed}", scaled_instance(name, n, seed))
        for n in (20, 40, 60)
        for name in TRACES
        for seed in (0, 1)
    ]
    cases += [("4 kinds n=40 seed 1", few_kinds(random.Random(1), 40)), ("theory n=40", theory(40))]
    return cases


def solve_case(label: str, inst: Instance, seconds: float) -> list[object]:
    import optimal

    sol = optimal.solve(inst, seconds)
    gap = None if sol.gap is None else f"{100 * sol.gap:.1f}%"
    return [
        label,
        len(inst.requests),
        sol.status,
        sol.total_latency,
        sol.lower_bound,
        sol.lower_bound_method,
        gap,
        round(sol.seconds, 1),
    ]


def exact_table(seconds: float, old: str | None) -> str:
    rows = []
    for label, inst in exact_cases():
        rows.append(solve_case(label, inst, seconds))
        if old:
            code = (
                "import json, sys; sys.path.insert(0, sys.argv[1]); import optimal; from amin import load_instance;"
                "s = optimal.solve(load_instance(json.loads(sys.argv[2])), float(sys.argv[3]));"
                "print(json.dumps([s.status, s.total_latency, s.lower_bound, s.seconds]))"
            )
            env = dict(os.environ, PYTHONPATH=old)
            done = subprocess.run(
                [sys.executable, "-c", code, old, json.dumps(inst.to_dict()), str(seconds)],
                capture_output=True,
                text=True,
                env=env,
                timeout=20 * seconds + 120,
                check=False,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
            if lines:
                status, tel, lb, secs = json.loads(lines[-1])
                gap = None if tel is None else f"{100 * (tel - lb) / tel:.1f}%"
                rows.append([label + " (before)", len(inst.requests), status, tel, lb, "", gap, round(secs, 1)])
            else:
                rows.append([label + " (before)", len(inst.requests), "error", None, None, "", None, None])
        print(f"  {label} done", file=sys.stderr, flush=True)
    proved = {}
    for row in rows:
        if "(before)" in str(row[0]):
            continue
        key = row[1]
        done_, total = proved.get(key, (0, 0))
        proved[key] = (done_ + (row[2] == "optimal"), total + 1)
    summary = ", ".join(f"{n} requests: {d}/{t} proved" for n, (d, t) in sorted(proved.items()))
    return (
        f"### Exact solving reach (`optimal.solve`, time limit {seconds:g} s; scaled real sub-samples as in the "
        f"report's exact cells, capacity for about 3 at once)\n\n{summary}\n\n"
        + table(["instance", "n", "status", "TEL", "lower bound", "bound from", "gap", "seconds"], rows)
    )


def colgen_table(seconds: float) -> str:
    """Column generation by size: scaled sub-samples of 100 and 300 requests, then the 2,000-request instances."""
    rows = []
    cases = [(f"{name} n={n} (scaled)", scaled_instance(name, n, 0)) for n in (100, 300) for name in TRACES]
    for label, inst in cases:
        best = best_schedule(inst, 10.0)
        comb = max(f(inst) for f in BOUNDS.values())
        for cliques in (False, True):
            cg = column_generation(inst, best.starts, seconds, cliques=cliques)
            if cg is None:
                rows.append([label, "cuts" if cliques else "plain", "too large", None, None, None, None, None])
                continue
            rows.append(
                [
                    label,
                    cg.method,
                    cg.converged,
                    cg.iterations,
                    cg.columns,
                    comb,
                    cg.value,
                    f"{100 * (cg.value - comb) / comb:+.2f}%",
                    best.total_latency,
                    round(cg.seconds, 1),
                ]
            )
        print(f"  {label} done", file=sys.stderr, flush=True)
    return (
        f"### Column generation by size (time limit {seconds:g} s; LB vs the combinatorial bound, UB = best "
        "schedule in 10 s)\n\n"
        + table(
            [
                "instance",
                "method",
                "converged",
                "iterations",
                "columns",
                "combinatorial LB",
                "Lagrangian LB",
                "vs combinatorial",
                "UB",
                "seconds",
            ],
            rows,
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", choices=("bracket", "rules", "colgen", "exact"), default=None)
    ap.add_argument("--upper-seconds", type=float, default=300.0, help="schedule search per trace (default 300)")
    ap.add_argument("--colgen-seconds", type=float, default=120.0, help="column generation per instance")
    ap.add_argument("--exact-seconds", type=float, default=60.0, help="time limit of each exact solve")
    ap.add_argument("--old-optimal", default=None, help="directory holding an older `optimal` package to compare")
    args = ap.parse_args()
    print(machine_header(("amin", "numpy", "scipy", "highspy", "cvxpy")) + "\n", flush=True)
    if args.only in (None, "rules"):
        print(rules_table() + "\n", flush=True)
    if args.only in (None, "bracket"):
        print(bracket_table(args.upper_seconds, args.colgen_seconds) + "\n", flush=True)
    if args.only in (None, "colgen"):
        print(colgen_table(args.colgen_seconds) + "\n", flush=True)
    if args.only in (None, "exact"):
        print(exact_table(args.exact_seconds, args.old_optimal) + "\n", flush=True)


if __name__ == "__main__":
    main()
