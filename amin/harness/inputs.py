"""What `amin simulate` and `amin solve` read: an instance file (JSON, or gzip'd JSON), or a request trace of
your own (CSV, TSV or JSONL) turned into an instance with a capacity and an interval predictor.

Trace rows that cannot form a request are skipped and reported, with their reasons, on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from amin.harness.options import positive_int, seconds, seed
from amin.model import Instance, load_instance

TRACE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
_TRACE_OPTIONS = ("capacity", "prompt_column", "output_column", "arrival_column", "predicted_column")


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """FILE and the options that turn a trace into an instance."""
    from amin.predictors import FORMS
    from amin.traces import ARRIVAL_UNITS, ROUND_SECONDS

    p.add_argument("file", help="instance JSON (.json or .json.gz), or a request trace (.csv, .tsv, .jsonl)")
    g = p.add_argument_group("request traces (FILE ending in .csv, .tsv, .jsonl or .ndjson)")
    g.add_argument("--capacity", type=positive_int, help="KV-cache capacity in tokens (required for a trace)")
    g.add_argument("--predictor", default="crude", help=f"interval predictor (default: %(default)s; forms: {FORMS})")
    g.add_argument(
        "--predictor-seed", type=seed, default=0, help="seed for a randomised predictor (default: %(default)s)"
    )
    g.add_argument("--prompt-column", default="prompt", help="column of prompt tokens (default: %(default)s)")
    g.add_argument("--output-column", default="output", help="column of output tokens (default: %(default)s)")
    g.add_argument("--arrival-column", help="column of arrival times; without it every request arrives at 0")
    g.add_argument(
        "--arrival-unit",
        choices=ARRIVAL_UNITS,
        default="seconds",
        help="unit of the arrival column (default: %(default)s)",
    )
    g.add_argument(
        "--round-seconds",
        type=seconds,
        default=ROUND_SECONDS,
        help="seconds per round, to turn arrival times into rounds (default: %(default)s)",
    )
    g.add_argument(
        "--predicted-column", help="column of point predictions (used by mcsf and the 'predictor' intervals)"
    )


def is_trace(path: str | Path) -> bool:
    return Path(path).suffix.lower() in TRACE_SUFFIXES


def load_input(args: argparse.Namespace, command: str) -> Instance:
    """The instance FILE names; for a trace, the skipped rows are reported on stderr."""
    if not is_trace(args.file):
        given = [
            f"--{o.replace('_', '-')}"
            for o in _TRACE_OPTIONS
            if getattr(args, o, None) not in (None, "prompt", "output")
        ]
        if given:
            raise ValueError(f"{given[0]} applies to trace files (.csv, .tsv, .jsonl), not to {args.file}")
        return load_instance(args.file)
    from amin.traces import load_table

    if args.capacity is None:
        raise ValueError(f"{args.file}: a trace needs --capacity (the KV-cache size in tokens)")
    trace = load_table(
        args.file,
        prompt_column=args.prompt_column,
        output_column=args.output_column,
        arrival_column=args.arrival_column,
        predicted_column=args.predicted_column,
        arrival_unit=args.arrival_unit,
        round_seconds=args.round_seconds,
    )
    instance, dropped = trace.to_instance(
        args.capacity, args.predictor, arrivals="trace" if args.arrival_column else "zero", seed=args.predictor_seed
    )
    skipped = {**trace.skipped, **{k: v for k, v in dropped.items() if v}}
    if skipped:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items()))
        print(
            f"amin {command}: {args.file}: {len(instance)} requests; skipped {sum(skipped.values())} rows ({reasons})",
            file=sys.stderr,
        )
    return instance
