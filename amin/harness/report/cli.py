"""The `amin report` subcommand: parse the grid options, run (or resume) the grid, print the verdicts."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from dataclasses import replace

from amin.harness.options import positive_int
from amin.harness.report.grid import (
    ARRIVALS,
    DEFAULT,
    QUICK,
    READING_NAMES,
    SLOW_READINGS,
    TRACE_NAMES,
    GridSpec,
    parse_load,
    parse_prompts,
    parse_reading,
)

# Every core by default (the default grid takes about 7 minutes on 2), bounded so memory stays bounded too.
DEFAULT_WORKERS = max(1, min(8, os.cpu_count() or 1))


def _list(text: str) -> list[str]:
    """Comma-separated values; commas inside parentheses (binned(1,50,...)) stay with their predictor."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    values = [v for v in out if v]
    if not values:  # an empty list must not mean "everything"
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return values


def add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="replicate the paper's experiments on the bundled real traces",
        description="Run the experiment grid (resuming from OUT/results/cells.jsonl) and write OUT/ratios.md, "
        "OUT/figures/*.png, OUT/results/ (CSV + manifest) and OUT/evidence/report.json.",
    )
    p.add_argument("--quick", action="store_true", help="a small grid for smoke tests (seconds, not minutes)")
    p.add_argument("--out", default="reports", help="output directory (default: %(default)s)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=DEFAULT_WORKERS,
        help="local worker processes; this machine's CPUs, at most 8 (default: %(default)s)",
    )
    p.add_argument("--dask", metavar="ADDRESS", help="run cells on a Dask cluster at ADDRESS, or 'local' to start one")
    p.add_argument("--traces", type=_list, help=f"comma-separated subset of: {', '.join(TRACE_NAMES)}")
    p.add_argument("--capacities", type=_list, help="comma-separated capacities in tokens")
    p.add_argument("--predictors", type=_list, help="comma-separated predictors, e.g. crude,binned,relative(0.5)")
    p.add_argument(
        "--prompts",
        type=_list,
        help="comma-separated prompt regimes: real, fixed:S (every prompt S "
        "tokens), scaled:K (every prompt times K); outputs stay real. With --prompts or --loads the "
        "condition study runs every reading on prompts x (capacities + loads) x arrivals",
    )
    p.add_argument(
        "--loads",
        type=_list,
        help="comma-separated loads n(s+o)/M > 0: capacities chosen per sample as ceil(sum of s + o / load)",
    )
    p.add_argument("--arrivals", type=_list, help=f"comma-separated subset of: {', '.join(ARRIVALS)}")
    p.add_argument(
        "--readings",
        type=_list,
        help=f"comma-separated readings of the paper (amin.rules.READINGS) "
        f"to compare on every regime of the condition study, or 'all': {', '.join(READING_NAMES)} "
        f"(default: all but {', '.join(SLOW_READINGS)})",
    )
    p.add_argument(
        "--seeds",
        type=_list,
        help="comma-separated sample seeds (default: "
        f"{','.join(map(str, DEFAULT.seeds))}; --quick: {','.join(map(str, QUICK.seeds))})",
    )
    p.add_argument(
        "--requests", type=positive_int, help=f"requests per sample (default: {DEFAULT.n}; --quick: {QUICK.n})"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--update",
        action="store_true",
        help="replace OUT/evidence/report.json even when this run covers less than the stored one",
    )
    p.set_defaults(func=run_report)


def spec_from_args(args: argparse.Namespace) -> GridSpec:
    from amin.harness.console import UsageError
    from amin.predictors import parse_predictor

    spec = QUICK if args.quick else DEFAULT
    traces = args.traces
    if traces:
        unknown = [t for t in traces if t not in TRACE_NAMES]
        if unknown:
            raise UsageError(f"unknown trace {unknown[0]!r} (choose from {', '.join(TRACE_NAMES)})")
    capacities = None
    if args.capacities:
        try:
            capacities = [int(c) for c in args.capacities]
        except ValueError:
            raise UsageError(f"capacities must be integers, got {','.join(args.capacities)!r}") from None
        if any(c < 1 for c in capacities):
            raise UsageError("capacities must be >= 1")
    if args.predictors:
        for name in args.predictors:
            parse_predictor(name)  # ValueError names the bad one
    spec = spec.narrowed(traces, capacities, args.predictors)
    if args.seeds:
        try:
            spec = replace(spec, seeds=tuple(int(s) for s in args.seeds))
        except ValueError:
            raise UsageError(f"seeds must be integers, got {','.join(args.seeds)!r}") from None
    if args.requests is not None:
        spec = replace(spec, n=args.requests)
    try:
        prompts = [parse_prompts(p) for p in args.prompts] if args.prompts else None
        loads = [parse_load(x) for x in args.loads] if args.loads else None
        readings = None
        if args.readings:
            readings = list(READING_NAMES) if args.readings == ["all"] else [parse_reading(r) for r in args.readings]
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.arrivals:
        unknown = [a for a in args.arrivals if a not in ARRIVALS]
        if unknown:
            raise UsageError(f"unknown arrivals {unknown[0]!r} (choose from {', '.join(ARRIVALS)})")
    return spec.with_regimes(prompts, loads, args.arrivals, readings)


def run_report(args: argparse.Namespace) -> int:
    from amin.harness.console import UsageError, format_table
    from amin.harness.report.pipeline import generate

    spec = spec_from_args(args)
    command = "amin " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["report"] else "amin report"
    from amin.harness.report.store import StoreBusy

    try:
        outcome = generate(
            spec,
            args.out,
            workers=args.workers,
            dask=args.dask,
            progress=not args.no_progress,
            command=command,
            update_evidence=args.update,
        )
    except StoreBusy as e:
        raise UsageError(str(e)) from None
    print(format_table(["claim", "verdict", "summary"], [[c.id, c.verdict, c.summary] for c in outcome.claims]))
    done = {
        k: f"{s.computed} computed, {s.reused} reused" + (f", {s.errors} errors" if s.errors else "")
        for k, s in outcome.stats.items()
    }
    print(
        f"\n{outcome.out}/ratios.md written in {outcome.wall_seconds:.0f} s ("
        + "; ".join(f"{k}: {v}" for k, v in done.items())
        + ")"
    )
    if outcome.evidence_kept:
        print(
            f"amin report: {outcome.out}/evidence/report.json kept: it covers more than this run "
            f"({outcome.evidence_kept}); pass --update to replace it",
            file=sys.stderr,
        )
    if outcome.rejected:
        print(
            f"amin report: {outcome.rejected} stored lines failed their checksum or schema and were recomputed",
            file=sys.stderr,
        )
    if outcome.missing:
        print(
            f"amin report: {len(outcome.missing)} cells have no result (named in {outcome.out}/ratios.md; "
            "they are retried on the next run):",
            file=sys.stderr,
        )
        for m in outcome.missing[:20]:
            print(f"  {m['cell']}: {m['status']}: {m['reason']}", file=sys.stderr)
        if len(outcome.missing) > 20:
            print(f"  ... and {len(outcome.missing) - 20} more", file=sys.stderr)
        return 1
    return 0
