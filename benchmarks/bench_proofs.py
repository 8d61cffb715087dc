"""Proof time of C1 and C2 against the number of requests and the capacity (BMC over the box, and the induction).

    python benchmarks/bench_proofs.py [--requests 2 3 4] [--capacity 8 12 24] [--depth 2] [--timeout 600]

Prints one table (markdown) with the machine and versions. Each Z3 check runs in
its own process, killed at --timeout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import z3  # noqa: E402

from proofs.bmc import check, run_isolated, standard_specs  # noqa: E402
from proofs.lemma import check_base, check_lemma  # noqa: E402

LEMMAS = {"C1": ("invariant", "memory", "correct_no_eviction"), "C2": ("invariant", "memory")}
SCHED = {"C1": "amax", "C2": "amin"}


def timed(fn, *args, timeout: float):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    status, value = run_isolated(fn, *args, timeout=timeout)
    secs = time.perf_counter() - t0
    verdict = value.get("verdict") if status == "ok" else status
    return verdict, secs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--capacity", type=int, nargs="+", default=[8, 12, 24])
    ap.add_argument("--output", type=int, default=8)
    ap.add_argument("--arrival", type=int, default=2)
    ap.add_argument("--depth", type=int, nargs="+", default=[2])
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--claims", nargs="+", default=["C1", "C2"])
    args = ap.parse_args()

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (shared with other jobs)"
    )
    print(
        f"python {platform.python_version()}, z3-solver {z3.get_version_string()}, timeout {args.timeout:g} s per check"
    )
    print()
    print(
        "| claim | requests | capacity | output | arrival | BMC depth | BMC | BMC s | induction | induction s "
        "| total s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    induction: dict[tuple[str, int], tuple[str, float]] = {}
    for claim in args.claims:
        for n in args.requests:
            if (claim, n) not in induction:  # the induction is free of capacity: one run per (claim, n)
                verdicts, secs = [], 0.0
                v, s = timed(check_base, SCHED[claim], n, claim, claim == "C1", None, 0, timeout=args.timeout)
                verdicts.append(v)
                secs += s
                for name in LEMMAS[claim]:
                    v, s = timed(check_lemma, name, n, None, 0, timeout=args.timeout)
                    verdicts.append(v)
                    secs += s
                ok = "proved" if all(v == "proved" for v in verdicts) else ",".join(sorted(set(verdicts)))
                induction[(claim, n)] = (ok, secs)
            for cap in args.capacity:
                for depth in args.depth:
                    spec = next(
                        s
                        for s in standard_specs(n, cap, min(args.output, cap), args.arrival, depth=depth)
                        if s.claim == claim
                    )
                    v, s = timed(check, spec, None, 0, timeout=args.timeout)
                    iv, isecs = induction[(claim, n)]
                    print(
                        f"| {claim} | {n} | {cap} | {min(args.output, cap)} | {args.arrival} | {depth} | {v} | {s:.1f} "
                        f"| {iv} | {isecs:.1f} | {s + isecs:.1f} |",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
