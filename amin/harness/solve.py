"""The `amin solve` subcommand: the hindsight optimum of an instance file, or a bracket around it (table or JSON)."""

from __future__ import annotations

import argparse
import sys
import time

from optimal.milp import FORMULATIONS, IF_TOO_LARGE, SOLVERS

BOUND_ONLY_DEFAULT_SECONDS = 60.0


def add_solve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve",
        help="the hindsight optimum (exact integer program), or a bracket around it",
        description="Minimise total latency exactly (SPEC section 4). Status 'optimal' only when proved; "
        "after a time limit, the best schedule found and a proved lower bound. --time-limit bounds the whole "
        "command; a time-indexed model too large for the time or memory at hand is never built.",
    )
    from amin.harness.inputs import add_input_arguments

    add_input_arguments(p)  # an instance file, or a request trace with --capacity (the same as `amin simulate`)
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help=f"seconds for the whole command (default: none; with --bound-only: {BOUND_ONLY_DEFAULT_SECONDS:g})",
    )
    p.add_argument(
        "--bound-only",
        action="store_true",
        help="no integer program: the best checked schedule found within the time limit and the best "
        "certified lower bound",
    )
    p.add_argument(
        "--if-too-large",
        choices=IF_TOO_LARGE,
        default="bounds",
        help="when the model would not fit the time or memory: answer as --bound-only does, with a note "
        "on stderr (bounds, default), or refuse with exit status 2 (refuse)",
    )
    p.add_argument("--solver", choices=SOLVERS, default="highs", help="MILP solver (default: highs)")
    p.add_argument(
        "--formulation",
        choices=FORMULATIONS,
        default="auto",
        help="naive: one binary per request and start; aggregated: integer counts per class of "
        "identical requests; auto: aggregated when some requests are identical (default)",
    )
    p.add_argument(
        "--no-warm-start",
        dest="warm_start",
        action="store_false",
        help="do not seed the solver with the best schedule found",
    )
    p.add_argument("--json", action="store_true", help="print the SPEC section 7 JSON")
    p.set_defaults(func=run_solve)


def run_solve(args: argparse.Namespace) -> int:
    clock = time.perf_counter()  # the time limit covers loading the file and importing the solver too
    from amin.harness.console import format_table, print_json
    from amin.harness.inputs import load_input

    if args.time_limit is not None and not args.time_limit > 0:
        raise ValueError(f"--time-limit must be positive, got {args.time_limit}")
    inst = load_input(args, "solve")
    if not args.json:
        print(f"solving {args.file}: {len(inst.requests)} requests, capacity {inst.capacity} ...", file=sys.stderr)

    def left(limit: float | None) -> float | None:  # what remains of the limit, less a margin for the output
        return None if limit is None else max(0.05, limit - (time.perf_counter() - clock) - 0.05)

    if args.bound_only:
        from optimal.bracket import bracket

        result = bracket(inst, left(args.time_limit or BOUND_ONLY_DEFAULT_SECONDS)).to_dict()  # type: ignore[arg-type]
    else:
        import cvxpy  # noqa: F401  (its import counts against the time limit)

        from optimal.milp import solve

        sol = solve(
            inst,
            left(args.time_limit),
            solver=args.solver,
            formulation=args.formulation,
            warm_start=args.warm_start,
            if_too_large=args.if_too_large,
        )
        result = sol.to_dict()
        if sol.solver_status.startswith("skipped: "):
            print(f"amin solve: note: {sol.solver_status.removeprefix('skipped: ')}", file=sys.stderr)
    if args.json:
        print_json(result)
        return 0
    print(
        format_table(
            ["status", "total_latency", "lower_bound", "gap", "bound from", "seconds"],
            [
                [
                    result["status"],
                    result["total_latency"],
                    result["lower_bound"],
                    result["gap"],
                    result["lower_bound_method"],
                    result["seconds"],
                ]
            ],
        )
    )
    source = result.get("upper_method") or result.get("warm_start")
    print(f"solver: {result['solver']}; schedule from: {source}")
    starts = result["starts"]
    if starts is not None and len(starts) <= 30:
        print()
        pairs = enumerate(zip(inst.requests, starts, strict=True))
        rows = [[i, r.arrival, p, p + r.output, p + r.output - r.arrival] for i, (r, p) in pairs]
        print(format_table(["index", "arrival", "start", "completion", "latency"], rows))
    return 0
