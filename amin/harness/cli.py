"""The `amin` command line (the harness layer: it may import every layer; nothing imports it).

Each subcommand lives in its own module and registers itself through
`COMMANDS`; heavy dependencies (cvxpy, z3, hypothesis) are imported only when
their command runs. Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from amin.harness.console import UsageError, format_table, json_channel, print_json

__all__ = ["COMMANDS", "UsageError", "build_parser", "format_table", "json_channel", "main", "print_json"]

# name -> (one-line help, "module:function"); the function adds the subcommand's arguments and sets `func`.
# Only the command being run is imported, so `amin simulate` never loads a solver, Z3, Hypothesis or plotting.
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("run one scheduler on an instance file or a request trace", "amin.harness.cli:add_simulate"),
    "solve": ("the hindsight optimum (exact integer program), or a bracket around it", "amin.harness.solve:add_solve"),
    "prove": ("prove the schedulers' invariants with Z3 (and refute their mutants)", "amin.harness.prove:add_prove"),
    "search": ("targeted adversarial search for a bad instance", "amin.harness.search.cli:add_search"),
    "replay": ("re-evaluate a counterexample corpus", "amin.harness.search.cli:add_replay"),
    "claims": ("merge the evidence files into the claims ledger", "amin.harness.ledger:add_claims"),
    "report": ("replicate the paper's experiments on the bundled real traces", "amin.harness.report.cli:add_report"),
    "verify": ("run the verification battery on your own scheduler", "amin.harness.verify:add_verify"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message}\n")


# --- simulate ------------------------------------------------------------------
def add_simulate(sub: argparse._SubParsersAction) -> None:
    from amin.harness.inputs import add_input_arguments
    from amin.harness.options import seed
    from amin.schedulers import EVICTION_KEYS, SCHEDULERS, TIE_BREAKS

    p = sub.add_parser(
        "simulate",
        help="run one scheduler on an instance file or a request trace",
        description="Run one scheduler on an instance file (SPEC section 7) or on a CSV/JSONL request trace.",
    )
    p.add_argument(
        "--scheduler", "-s", required=True, choices=sorted(SCHEDULERS), metavar="{" + ",".join(SCHEDULERS) + "}"
    )
    p.add_argument("--tie-break", choices=TIE_BREAKS, default="random", help="eviction ties (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=0, help="seed for random tie-breaks (default: %(default)s)")
    p.add_argument(
        "--eviction-key",
        choices=EVICTION_KEYS,
        default="bound",
        help="evict by planned length or by progress (default: %(default)s)",
    )
    p.add_argument(
        "--engine",
        choices=("fast", "reference"),
        default="fast",
        help="fast (event-driven) or reference (the readable round loop); identical results (default: %(default)s)",
    )
    from amin.rules import READINGS

    p.add_argument(
        "--reading",
        choices=sorted(READINGS),
        default="spec",
        help="a reading of the paper's open choices, or our admit-by-area variant (docs/semantics.md; "
        "default: %(default)s)",
    )
    p.add_argument(
        "--detail", action="store_true", help="with --json: add the eviction log, wasted tokens and memory series"
    )
    p.add_argument("--json", action="store_true", help="print the SPEC section 7 JSON")
    add_input_arguments(p)
    p.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from amin.engine import simulate
    from amin.harness.inputs import load_input
    from amin.rules import READINGS

    inst = load_input(args, "simulate")
    options = {"tie_break": args.tie_break, "seed": args.seed, "eviction_key": args.eviction_key}
    options.update(READINGS[args.reading].fields)  # a reading's eviction key wins over the default one
    result = simulate(inst, args.scheduler, engine=args.engine, **options)
    if args.json:
        print_json(result.to_dict(detail=args.detail))
        return 0
    n = len(inst.requests)
    print(f"{args.scheduler} on {args.file}: {n} requests, capacity {inst.capacity}")
    print(
        format_table(
            ["total_latency", "mean_latency", "makespan", "peak_memory", "evictions", "wasted_tokens"],
            [
                [
                    result.total_latency,
                    result.total_latency / n,
                    result.makespan,
                    result.peak_memory,
                    result.evictions,
                    result.wasted_tokens,
                ]
            ],
        )
    )
    if n <= 30:
        print()
        rows = [[r.index, r.arrival, r.start, r.completion, r.latency, r.evictions] for r in result.records]
        print(format_table(["index", "arrival", "start", "completion", "latency", "evictions"], rows))
    return 0


# --- entry point -----------------------------------------------------------------
def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; every subcommand is listed, but only `command` (all of them if None) is built in full, which
    imports its module."""
    parser = _Parser(
        prog="amin", description="Reference simulator and verification suite for the Amin/Amax LLM schedulers."
    )
    from amin import __version__

    parser.add_argument("--version", action="version", version=f"amin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (text, target) in COMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name, help=text, add_help=False)  # listed in `amin --help`; never parsed
            continue
        module, func = target.split(":")
        # A command module that fails to import is a bug to surface, never a command to hide.
        adder: Callable[[argparse._SubParsersAction], None] = getattr(importlib.import_module(module), func)
        adder(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from amin.model import InstanceError

    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed as one line
        return e.code if isinstance(e.code, int) else 0
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        with json_channel() if getattr(args, "json", False) else contextlib.nullcontext():
            return int(args.func(args) or 0)
    except (InstanceError, UsageError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"amin {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`amin ... | head`): not an error of ours
        return 0
    except OSError as e:  # an unwritable --out, a directory where a file was expected, a full disk ...
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"amin {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except MemoryError:
        # Schedules, memory series and time-indexed models grow with the instance's time span (rounds).
        print(
            f"amin {args.command}: error: out of memory: the instance spans too many rounds "
            "(arrivals or outputs too large for a time-indexed series)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"amin {args.command}: interrupted", file=sys.stderr)
        return 130
