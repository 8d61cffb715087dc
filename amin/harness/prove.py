"""`amin prove`: run the Z3 proofs and their mutants (the `proofs` judge), print a table, save counterexamples and
the evidence file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from amin.harness.evidence import ClaimEvidence, evidence_document, write_evidence
from amin.harness.options import nonnegative_int, positive_int, seconds, seed

CLAIMS = ("C1", "C2", "C3", "C16", "HSF")
EVIDENCE = Path("reports/evidence/proofs.json")
COUNTEREXAMPLES = Path("reports/counterexamples/proofs")


def add_prove(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prove",
        help="prove the schedulers' invariants with Z3 (and refute their mutants)",
        description="Bounded model checking and induction with Z3 (docs/proofs.md).",
    )
    p.add_argument(
        "--claim",
        action="append",
        choices=CLAIMS,
        metavar="ID",
        help=f"claim to prove ({', '.join(CLAIMS)}); may repeat; default: all",
    )
    p.add_argument("--max-requests", type=positive_int, default=4, help="requests in the box (default: %(default)s)")
    p.add_argument(
        "--max-capacity", type=positive_int, default=24, help="largest capacity in the box (default: %(default)s)"
    )
    p.add_argument(
        "--max-output", type=positive_int, default=8, help="largest output length in the box (default: %(default)s)"
    )
    p.add_argument(
        "--max-arrival", type=nonnegative_int, default=2, help="latest arrival in the box (default: %(default)s)"
    )
    p.add_argument(
        "--depth",
        type=positive_int,
        default=3,
        help="BMC rounds for the safety claims (default: %(default)s; the induction covers all rounds)",
    )
    p.add_argument(
        "--timeout",
        type=seconds,
        default=600.0,
        help="seconds per Z3 check, enforced from outside (default: %(default)s)",
    )
    p.add_argument("--seed", type=seed, default=0, help="Z3 random seed (default: %(default)s)")
    p.add_argument("--no-mutants", action="store_true", help="skip the mutation checks")
    p.add_argument(
        "--out", default=str(COUNTEREXAMPLES), help="directory for counterexample files (default: %(default)s)"
    )
    p.add_argument(
        "--evidence",
        default=str(EVIDENCE),
        help="evidence file to write (default: %(default)s; '-' for none); a stored file that covers more is kept "
        "unless --update",
    )
    p.add_argument(
        "--update",
        action="store_true",
        help="replace the evidence file even when this run covers less than the stored one",
    )
    p.add_argument(
        "--readings",
        type=_readings,
        default=(),
        help="other readings of the paper (comma-separated names from amin.rules.READINGS, or 'all') "
        "under which to re-run each claim's bounded proof; their outcomes become the claims' conditions "
        "(default: none)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run_prove)


def _readings(text: str) -> tuple[str, ...]:
    from amin.rules import READINGS

    names = [n for n in READINGS if n != "spec"] if text.strip() == "all" else [n.strip() for n in text.split(",")]
    unknown = [n for n in names if n not in READINGS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown reading {(unknown or [text])[0]!r} (choose from {', '.join(READINGS)}, or all)"
        )
    return tuple(n for n in names if n != "spec")


def run_prove(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from proofs.bmc import standard_specs

    if args.max_output > args.max_capacity:
        raise ValueError(f"--max-output ({args.max_output}) exceeds --max-capacity ({args.max_capacity})")
    wanted = set(args.claim or CLAIMS)
    specs = [
        s
        for s in standard_specs(
            args.max_requests, args.max_capacity, args.max_output, args.max_arrival, depth=args.depth
        )
        if s.claim in wanted
    ]
    t0 = time.perf_counter()
    rows = []
    bar = tqdm(specs, desc="amin prove", unit="proof", file=sys.stderr)
    for spec in bar:
        bar.set_postfix_str(f"{spec.claim} {spec.scheduler}")
        rows.append(prove_row(spec, args))
    bar.close()
    readings = reading_outcomes(specs, args)
    out_dir = Path(args.out)
    files = save_counterexamples(rows, out_dir)
    result = {
        "rows": [r.to_dict() for r in rows],
        "counterexample_files": [str(f) for f in files],
        "seconds": round(time.perf_counter() - t0, 3),
    }
    result["readings"] = readings
    if args.evidence != "-":
        written = write_evidence(args.evidence, evidence(rows, _command(args), args, readings), update=args.update)
        result["evidence"] = args.evidence if written.written else None
        if not written.written:
            print(
                f"amin prove: {args.evidence} kept: it covers more than this run ({written.reason}); pass "
                "--update to replace it or --evidence PATH to write elsewhere",
                file=sys.stderr,
            )
    if args.json:
        from amin.harness.console import print_json

        print_json(result)
    else:
        print(table(rows))
        for claim, outcomes in readings.items():
            print(f"{claim} under other readings: " + "; ".join(f"{k}: {v}" for k, v in outcomes.items()))
        if files:
            print(f"\n{len(files)} counterexample file(s) in {out_dir}")
    return 0


def reading_outcomes(specs: list[Any], args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """Each claim's bounded proof (no induction, no mutants) re-run under every reading asked for: claim ->
    reading -> "holds in the box" / "refuted: ..." (a Z3 counterexample replayed in the engine) / "not encoded"."""
    from dataclasses import replace

    from amin.rules import READINGS, SPEC_READING
    from proofs.bmc import check
    from proofs.encoding import unencoded

    out: dict[str, dict[str, str]] = {}
    for reading in args.readings:
        why = unencoded(SPEC_READING.with_options(**READINGS[reading].fields))
        for spec in specs:
            if spec.claim == "HSF":
                continue
            mine = out.setdefault(spec.claim, {})
            if why is not None:
                mine[reading] = "not encoded"
                continue
            res = check(replace(spec, reading=reading), None, args.seed)
            verdict = res["verdict"]
            if verdict == "counterexample":
                replayed = "replayed in the engine" if res.get("replay", {}).get("matches") else "NOT replayed"
                kind = (res.get("violation") or {}).get("kind", "violation")
                verdict = f"refuted ({spec.scheduler}: {kind}, {replayed})"
            elif verdict == "proved":
                verdict = f"holds ({spec.scheduler}, BMC box)"
            prior = mine.get(reading)
            mine[reading] = verdict if prior is None else f"{prior}; {verdict}"
    return out


def prove_row(spec: Any, args: argparse.Namespace) -> Any:
    from proofs.bmc import run_spec

    return run_spec(spec, timeout=args.timeout, seed=args.seed, with_mutants=not args.no_mutants)


def table(rows: list[Any]) -> str:
    from amin.harness.console import format_table

    body = [
        [
            r.spec.claim,
            r.spec.scheduler,
            r.spec.box.describe(),
            r.spec.rounds(),
            f"<= {r.spec.induction_requests} requests, all rounds" if r.induction else "not run",
            r.verdict,
            r.seconds,
            f"{r.refuted}/{len(r.spec.mutants)}" if r.mutants else "skipped",
        ]
        for r in rows
    ]
    return format_table(
        ["claim", "scheduler", "BMC box", "BMC rounds", "induction", "verdict", "seconds", "mutants refuted"], body
    )


def save_counterexamples(rows: list[Any], out_dir: Path) -> list[Path]:
    """Every counterexample (real or mutant) as an instance file with its metadata beside it (SPEC section 7)."""
    from amin.model import load_instance, save_instance

    files = []
    for r in rows:
        for res in [r.proof, *r.mutants]:
            if res.get("verdict") != "counterexample":
                continue
            out_dir.mkdir(parents=True, exist_ok=True)
            name = f"{r.spec.claim}-{r.spec.scheduler}-{res.get('mutant') or 'real'}.json"
            meta = {
                "claim": r.spec.claim,
                "scheduler": r.spec.scheduler,
                "mutant": res.get("mutant"),
                "tie_ranks": res["ranks"],
                "violation": res["violation"],
                "kinds": list(r.spec.kinds),
                "horizon": r.spec.horizon,
                "replay": res["replay"],
                "trace": res["trace"].splitlines(),
                "source": "amin prove",
            }
            files.append(save_instance(load_instance(res["instance"]), out_dir / name, **meta))
    return files


def _command(args: argparse.Namespace) -> str:
    parts = ["amin prove"] + [f"--claim {c}" for c in (args.claim or [])]
    if args.readings:
        parts.append(f"--readings {','.join(args.readings)}")
    parts += [
        f"--max-requests {args.max_requests}",
        f"--max-capacity {args.max_capacity}",
        f"--max-output {args.max_output}",
        f"--max-arrival {args.max_arrival}",
        f"--depth {args.depth}",
        f"--seed {args.seed}",
    ]
    return " ".join(parts)


def evidence(
    rows: list[Any], command: str, args: argparse.Namespace, readings: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """The proofs' evidence document: one entry per ledger claim (HSF safety is not a ledger claim; it is
    reported in the table and docs/proofs.md). A claim is proved when every scheduler's proof of it is."""
    by_claim: dict[str, list[Any]] = {}
    for r in rows:
        by_claim.setdefault(r.spec.claim, []).append(r)
    strength = {
        "max_requests": args.max_requests,
        "max_capacity": args.max_capacity,
        "max_output": args.max_output,
        "max_arrival": args.max_arrival,
        "bmc_rounds": args.depth,
    }
    claims = []
    for cid, rs in by_claim.items():
        if cid == "HSF":
            continue
        verdicts = [r.verdict for r in rs]
        if "refuted" in verdicts:
            verdict = "refuted"
        elif all(v == "proved" for v in verdicts):
            verdict = "proved"
        else:
            verdict = "open"
        summary = "; ".join(
            f"{r.spec.scheduler}: {r.verdict} ({r.spec.statement}); BMC {r.spec.covered()}; induction: "
            f"{r.spec.induction_covers() if r.induction else 'not run'}; "
            f"mutants refuted {r.refuted}/{len(r.spec.mutants)}"
            for r in rs
        ) + (
            "; Z3 proves these of the encoding, which differential tests tie to the engine"
            + ("; the horizon is composed from the one-round lemmas by hand (docs/proofs.md)" if cid == "C16" else "")
        )
        outcomes = (readings or {}).get(cid, {})
        conditions = "SPEC's reading" + (
            "; other readings: " + "; ".join(f"{k}: {v}" for k, v in outcomes.items()) if outcomes else ""
        )
        claims.append(
            ClaimEvidence(
                id=cid,
                verdict=verdict,
                summary=summary,
                conditions=conditions,
                box="; ".join(f"BMC {r.spec.covered()}; induction {r.spec.induction_covers()}" for r in rs),
                evidence=("proofs/bmc.py", "proofs/lemma.py", "docs/proofs.md", command),
                seeds=tuple(sorted({int(r.proof.get("seed", 0)) for r in rs})),
                seconds=sum(r.seconds for r in rs),
                strength=strength,
            )
        )
    return evidence_document("proofs", claims, command, packages=("z3-solver",))
