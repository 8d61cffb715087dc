"""The `amin search` and `amin replay` subcommands (registered in amin.harness.cli.COMMANDS)."""

from __future__ import annotations

import argparse
from pathlib import Path

from amin.harness.cli import UsageError, format_table, print_json

DEFAULT_CORPUS = "reports/corpus"


def _alpha(text: str) -> float:
    try:
        value = float(text.split("/")[0]) / float(text.split("/")[1]) if "/" in text else float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"alpha must be a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"alpha must be in (0, 1], got {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def add_search(sub: argparse._SubParsersAction) -> None:
    from amin.harness.search.ratio import OBJECTIVES, VERSUS
    from amin.harness.search.strategies import FAMILIES
    from amin.schedulers import EVICTION_KEYS, SCHEDULERS

    p = sub.add_parser(
        "search",
        help="targeted adversarial search for a bad instance",
        description="Hypothesis-targeted search for an instance where SCHEDULER's latency ratio to H-SF or OPT is "
        "worst; the record is shrunk and saved to the corpus when it beats the stored record.",
    )
    p.add_argument("--scheduler", "-s", choices=sorted(SCHEDULERS), help="required unless --scale")
    p.add_argument("--versus", choices=VERSUS, default="hsf", help="reference: hsf or opt (default: hsf)")
    p.add_argument("--alpha", type=_alpha, default=None, help="common l/u (e.g. 0.25 or 1/4); default: drawn")
    p.add_argument("--family", choices=FAMILIES, default="common", help="instance family (default: common)")
    p.add_argument("--size", choices=("small", "large"), default="small", help="small: OPT solvable exactly (default)")
    p.add_argument(
        "--objective", choices=OBJECTIVES, default="ratio", help="maximise the ratio or one request's evictions"
    )
    p.add_argument("--examples", type=_positive, default=200, help="test cases to try (default: 200)")
    p.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default: 0)")
    p.add_argument(
        "--tie-break", choices=("index", "random"), default="index", help="scheduler tie-break (default: index)"
    )
    p.add_argument("--eviction-key", choices=EVICTION_KEYS, default="bound")
    p.add_argument("--corpus", default=DEFAULT_CORPUS, help=f"corpus directory (default: {DEFAULT_CORPUS})")
    p.add_argument("--no-save", action="store_true", help="do not write to the corpus")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    scale = p.add_argument_group(
        "at scale (issue 12)",
        "--scale runs the scale-aware adversary of C7/C8 instead (docs/search.md): "
        "amin and amax at alpha = 1/2 .. 1/256 (up to 30,000 requests with the standard profile, 100,000 with "
        "full), and the regime map.",
    )
    scale.add_argument("--scale", action="store_true", help="run the adversary at scale")
    scale.add_argument(
        "--profile",
        choices=("quick", "standard", "full"),
        default="standard",
        help="search budget; standard is the committed run (default: %(default)s)",
    )
    scale.add_argument("--scale-alphas", default="2,4,8,16,32,64,128,256", help="values of 1/alpha")
    scale.add_argument("--targets", default="amin,amin-random,amax")
    scale.add_argument("--no-regime", action="store_true", help="skip the regime map")
    scale.add_argument("--workers", type=_positive, default=2, help="local worker processes (default: 2)")
    scale.add_argument("--dask", default=None, help="'local' or a Dask scheduler address")
    scale.add_argument("--out", default=None, help="reports directory (default: reports; quick: nothing)")
    scale.add_argument("--force", action="store_true", help="replace a stored run of a larger profile")
    scale.add_argument("--render", action="store_true", help="rewrite the reports from the stored summary")
    scale.add_argument("--resume", default=None, metavar="DIR", help="keep and reuse finished tasks in DIR")
    p.set_defaults(func=run_search)


def run_search(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from amin.harness.search import corpus
    from amin.harness.search.targeted import search

    if args.scale:
        from amin.harness.search.scale import run_command

        args.alphas = args.scale_alphas
        return run_command(args)
    if args.scheduler is None:
        raise UsageError("--scheduler is required (or --scale)")
    if args.scheduler == "hsf" and args.versus == "hsf":
        raise UsageError("hsf against itself is always 1: use --versus opt")
    options = {"tie_break": args.tie_break, "seed": args.seed, "eviction_key": args.eviction_key}
    bar = tqdm(total=args.examples, desc=f"search {args.scheduler}/{args.versus}", unit="ex", disable=None, leave=False)

    def progress(n: int, best: float) -> None:
        bar.update(n - bar.n)
        bar.set_postfix(best=f"{best:.4g}", refresh=False)

    try:
        out = search(
            args.scheduler,
            args.versus,
            family=args.family,
            alpha=args.alpha,
            examples=args.examples,
            seed=args.seed,
            options=options,
            objective=args.objective,
            size=args.size,
            progress=progress,
        )
    finally:
        bar.close()
    if out.best is None or out.instance is None:
        raise UsageError("the search evaluated no instance")
    meta = corpus.entry_meta(
        out.best,
        args.versus,
        family=args.family,
        alpha=args.alpha,
        seed=args.seed,
        examples=out.examples,
        size=args.size,
        shrunk=out.shrunk,
        command=_command(args),
    )
    key = corpus.record_key(meta)
    previous = corpus.record(args.corpus, key)
    floor = 1.0 if args.objective == "ratio" else 0.0  # nothing at or below equality is a counterexample
    beats = out.value > (previous if previous is not None else floor)
    saved: Path | None = None
    if beats and not args.no_save:
        saved = corpus.save_entry(args.corpus, out.instance, meta)
    if args.json:
        print_json(
            {
                **meta,
                "instance": out.instance.to_dict(),
                "previous_record": previous,
                "saved": str(saved) if saved else None,
            }
        )
        return 0
    ref = out.best.reference
    print(
        format_table(
            [
                "scheduler",
                "versus",
                "objective",
                "examples",
                "value",
                "latency",
                "reference",
                "ref_kind",
                "requests",
                "shrunk",
            ],
            [
                [
                    args.scheduler,
                    args.versus,
                    args.objective,
                    out.examples,
                    out.value,
                    out.best.total_latency,
                    ref.total_latency,
                    ref.kind,
                    len(out.instance),
                    out.shrunk,
                ]
            ],
        )
    )
    if saved:
        print(f"new record (previous: {previous}); saved {saved}")
    else:
        print(f"corpus record {previous} not beaten; nothing saved" if not args.no_save else "not saved (--no-save)")
    return 0


def _command(args: argparse.Namespace) -> str:
    parts = [
        "amin search",
        f"--scheduler {args.scheduler}",
        f"--versus {args.versus}",
        f"--family {args.family}",
        f"--size {args.size}",
        f"--objective {args.objective}",
        f"--examples {args.examples}",
        f"--seed {args.seed}",
        f"--tie-break {args.tie_break}",
        f"--eviction-key {args.eviction_key}",
    ]
    if args.alpha is not None:
        parts.append(f"--alpha {args.alpha!r}")
    return " ".join(parts)


def add_replay(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="re-evaluate a counterexample corpus",
        description="Re-simulate every corpus file and recompute its reference; exit 1 naming the file if a stored "
        "value no longer reproduces.",
    )
    p.add_argument("directory", nargs="?", default=DEFAULT_CORPUS, help=f"corpus directory (default: {DEFAULT_CORPUS})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from amin.harness.search import corpus

    files = corpus.corpus_files(args.directory)
    results = [corpus.replay_file(p) for p in tqdm(files, desc="replay", unit="file", disable=None, leave=False)]
    bad = [r for r in results if not r.ok]
    if args.json:
        print_json([{"file": str(r.path), "stored": r.stored, "value": r.value, "ok": r.ok} for r in results])
    else:
        print(
            format_table(
                ["file", "stored", "replayed", "ok"], [[r.path.name, r.stored, r.value, r.ok] for r in results]
            )
        )
    for r in bad:
        print(f"amin replay: {r.path}: stored value {r.stored} does not reproduce (got {r.value})", file=sys.stderr)
    return 1 if bad else 0
