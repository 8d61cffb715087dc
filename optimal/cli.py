"""The `amin solve` subcommand: the hindsight optimum of an instance file, as a table or SPEC section 7 JSON."""

from __future__ import annotations

import argparse
import sys

from .milp import FORMULATIONS, SOLVERS


def add_solve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve",
        help="the hindsight optimum (exact integer program)",
        description="Minimise total latency exactly (SPEC section 4). Status 'optimal' only when proved; "
        "after a time limit, the best schedule found and a proved lower bound.",
    )
    p.add_argument("file", help="instance JSON file")
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="seconds for the solver (default: none)")
    p.add_argument("--solver", choices=SOLVERS, default="highs", help="MILP solver (default: highs)")
    p.add_argument("--formulation", choices=FORMULATIONS, default="auto",
                   help="naive: one binary per request and start; aggregated: integer counts per class of "
                   "identical requests; auto: aggregated when some requests are identical (default)")
    p.add_argument("--no-warm-start", dest="warm_start", action="store_false",
                   help="do not seed the solver with the best online schedule")
    p.add_argument("--json", action="store_true", help="print the SPEC section 7 JSON")
    p.set_defaults(func=run_solve)


def run_solve(args: argparse.Namespace) -> int:
    from amin import load_instance
    from amin.cli import format_table, print_json
    from amin.engine import check_span

    from .milp import solve

    if args.time_limit is not None and not args.time_limit > 0:
        raise ValueError(f"--time-limit must be positive, got {args.time_limit}")
    inst = load_instance(args.file)
    check_span(inst)  # refuse an impossible time span before announcing the solve
    if not args.json:
        print(f"solving {args.file}: {len(inst.requests)} requests, capacity {inst.capacity} ...", file=sys.stderr)
    sol = solve(inst, args.time_limit, solver=args.solver, formulation=args.formulation, warm_start=args.warm_start)
    if args.json:
        print_json(sol.to_dict())
        return 0
    print(format_table(
        ["status", "total_latency", "lower_bound", "gap", "formulation", "columns", "seconds"],
        [[sol.status, sol.total_latency, sol.lower_bound, sol.gap, sol.formulation, sol.columns, sol.seconds]],
    ))
    print(f"solver: {sol.solver}; warm start: {sol.warm_start}")
    if sol.starts is not None and len(sol.starts) <= 30:
        print()
        pairs = enumerate(zip(inst.requests, sol.starts, strict=True))
        rows = [[i, r.arrival, p, p + r.output, p + r.output - r.arrival] for i, (r, p) in pairs]
        print(format_table(["index", "arrival", "start", "completion", "latency"], rows))
    return 0
