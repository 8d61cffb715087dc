"""The claims ledger: merge every reports/evidence/*.json into one verdict per claim C1-C17 (SPEC section 6).

Merge rule for one claim: refuted > proved > exhaustive > tested > open; among
entries of the winning verdict, the evidence, seeds and sources are pooled and
the worst ratio is the largest. A claim no file covers is `open`, with the reason.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from amin.harness.claims import CLAIMS, RANK, VERDICTS

__all__ = ["CLAIMS", "RANK", "VERDICTS", "build", "load_evidence", "merge", "render_markdown"]

_CLAIM_KEYS = {"id", "verdict", "summary"}


@dataclass(frozen=True)
class Entry:
    """One claim's evidence from one source file."""

    source: str
    file: str
    generated: str
    versions: dict[str, str] = field(hash=False)
    command: str = ""
    id: str = ""
    verdict: str = "open"
    summary: str = ""
    conditions: str | None = None
    box: str | None = None
    examples: int | None = None
    worst_ratio: float | None = None
    evidence: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    seconds: float | None = None


@dataclass(frozen=True)
class Row:
    """The ledger's verdict on one claim."""

    id: str
    claim: str
    verdict: str
    summary: str
    conditions: str | None  # the readings and workload regimes the verdict holds in
    box: str | None
    examples: int | None
    worst_ratio: float | None
    evidence: tuple[str, ...]
    sources: tuple[str, ...]
    commands: tuple[str, ...]
    generated: str | None
    versions: dict[str, str]
    seeds: tuple[int, ...]
    others: tuple[str, ...]  # weaker verdicts from other sources, "source: verdict"


def _is_path(item: str) -> bool:
    return "/" in item and " " not in item and "::" not in item


def _check_support(path: Path, c: dict[str, Any], root: Path) -> None:
    """A verdict must carry what SPEC says backs it: a box for proved/exhaustive, examples (or a box) for
    tested, an existing counterexample or result file for refuted; every file named must exist inside the
    repository."""
    who = f"{path}: claim {c['id']} ({c['verdict']})"
    items = [str(e) for e in c.get("evidence") or ()]
    for e in items:
        if not _is_path(e):
            continue
        target = (root / e).resolve()
        if not target.is_relative_to(root):
            raise ValueError(f"{who}: evidence path {e} lies outside the repository {root}")
        if not target.exists():
            raise ValueError(f"{who}: evidence file {e} does not exist")
    if c["verdict"] in ("proved", "exhaustive") and not c.get("box"):
        raise ValueError(f"{who}: needs the box of instances it covers")
    if c["verdict"] == "tested" and not (c.get("examples") or c.get("box")):
        raise ValueError(f"{who}: needs the number of examples (or the box) it was tested on")
    if c["verdict"] == "refuted" and not any(_is_path(e) for e in items):
        raise ValueError(f"{who}: needs a counterexample or result file among its evidence")


def load_evidence(directory: str | Path) -> list[Entry]:
    """Read every *.json evidence file against its schema; a malformed file is an error naming the file."""
    from amin.harness.evidence import evidence_root, read_evidence

    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"evidence directory {d} does not exist")
    root = evidence_root(d)
    entries: list[Entry] = []
    for path in sorted(d.glob("*.json")):
        data = read_evidence(path)
        source = str(data.get("source", path.stem))
        for c in data["claims"]:
            _check_support(path, c, root)
            entries.append(
                Entry(
                    source=source,
                    file=str(path),
                    generated=str(data.get("generated", "")),
                    versions=dict(data.get("versions") or {}),
                    command=str(data.get("command", "")),
                    id=c["id"],
                    verdict=c["verdict"],
                    summary=str(c.get("summary", "")),
                    conditions=c.get("conditions"),
                    box=c.get("box"),
                    examples=c.get("examples"),
                    worst_ratio=c.get("worst_ratio"),
                    evidence=tuple(str(e) for e in c.get("evidence") or ()),
                    seeds=tuple(int(s) for s in c.get("seeds") or ()),
                    seconds=c.get("seconds"),
                )
            )
    return entries


def merge(entries: list[Entry]) -> list[Row]:
    """One row per claim C1-C16 by the merge rule (refuted > proved > exhaustive > tested > open)."""
    rows = []
    for cid, text in CLAIMS.items():
        mine = [e for e in entries if e.id == cid]
        if not mine:
            rows.append(
                Row(
                    cid,
                    text,
                    "open",
                    "no evidence file covers this claim",
                    None,
                    None,
                    None,
                    None,
                    (),
                    (),
                    (),
                    None,
                    {},
                    (),
                    (),
                )
            )
            continue
        top = max(RANK[e.verdict] for e in mine)
        win = [e for e in mine if RANK[e.verdict] == top]
        rest = [e for e in mine if RANK[e.verdict] < top]
        ratios = [e.worst_ratio for e in win if e.worst_ratio is not None]
        examples = [e.examples for e in win if e.examples is not None]
        versions: dict[str, str] = {}
        for e in win:
            versions.update(e.versions)
        rows.append(
            Row(
                id=cid,
                claim=text,
                verdict=win[0].verdict,
                summary=" | ".join(f"{e.summary} [{e.source}]" for e in win),
                conditions=" | ".join(e.conditions for e in win if e.conditions) or None,
                box="; ".join(e.box for e in win if e.box) or None,
                examples=sum(examples) if examples else None,
                worst_ratio=max(ratios) if ratios else None,
                evidence=tuple(x for e in win for x in e.evidence),
                sources=tuple(dict.fromkeys(e.source for e in win)),
                commands=tuple(dict.fromkeys(e.command for e in win if e.command)),
                generated=max(e.generated for e in win) or None,
                versions=versions,
                seeds=tuple(sorted({s for e in win for s in e.seeds})),
                others=tuple(f"{e.source}: {e.verdict}" for e in rest),
            )
        )
    return rows


def render_markdown(rows: list[Row], evidence_dir: str) -> str:
    today = _dt.date.today().isoformat()
    lines = [
        "# Claims ledger",
        "",
        f"Generated {today} by `amin claims --evidence {evidence_dir}` from every `{evidence_dir}/*.json`.",
        "Merge rule per claim: refuted > proved > exhaustive > tested > open. Do not edit: regenerate.",
        "",
        "| id | claim | verdict | conditions | box / examples | worst ratio | summary | evidence | date | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        size = r.box or (f"{r.examples} examples" if r.examples is not None else "")
        ratio = "" if r.worst_ratio is None else f"{r.worst_ratio:.4g}"
        ev = "<br>".join(f"`{x}`" for x in (*r.evidence, *r.commands)) or ""
        seeds = ", ".join(map(str, r.seeds[:8])) + (" ..." if len(r.seeds) > 8 else "")
        summary = r.summary.replace("|", "/") + (f" (also: {', '.join(r.others)})" if r.others else "")
        lines.append(
            f"| {r.id} | {r.claim.replace('|', '/')} | **{r.verdict}** | {(r.conditions or '').replace('|', '/')} "
            f"| {size} | {ratio} | {summary} | {ev} "
            f"| {r.generated or ''} | {seeds} |"
        )
    versions: dict[str, str] = {}
    for r in rows:
        versions.update(r.versions)
    if versions:
        lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))]
    return "\n".join(lines) + "\n"


def build(evidence_dir: str | Path = "reports/evidence", out_dir: str | Path | None = "reports") -> list[Row]:
    """Merge the evidence and (unless `out_dir` is None) write claims.md and claims.json there."""
    rows = merge(load_evidence(evidence_dir))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "claims.md").write_text(render_markdown(rows, str(evidence_dir)), encoding="utf-8")
        payload = {
            "generated": _dt.date.today().isoformat(),
            "evidence_dir": str(evidence_dir),
            "claims": [asdict(r) for r in rows],
        }
        (out / "claims.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return rows


def add_claims(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "claims",
        help="merge the evidence files into the claims ledger",
        description="Merge reports/evidence/*.json into one verdict per claim C1-C17; write claims.md and claims.json.",
    )
    p.add_argument(
        "--evidence",
        help="evidence directory (default: reports/evidence of the repository that holds the working directory)",
    )
    p.add_argument("--out", help="where claims.md and claims.json go (default: the evidence directory's parent)")
    p.add_argument("--json", action="store_true", help="print the ledger as JSON")
    p.set_defaults(func=run_claims)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def run_claims(args: argparse.Namespace) -> int:
    from amin.harness.console import format_table, print_json
    from amin.harness.evidence import repository_root

    evidence = args.evidence
    if evidence is None:
        root = repository_root()
        if root is None:
            raise ValueError("no reports/evidence in this directory or any parent; pass --evidence DIR")
        evidence = root / "reports" / "evidence"
    out = Path(args.out) if args.out is not None else Path(evidence).parent
    rows = build(evidence, out)
    if args.json:
        print_json([asdict(r) for r in rows])
        return 0
    print(
        format_table(
            ["id", "verdict", "examples", "worst_ratio", "sources", "summary"],
            [
                [
                    r.id,
                    r.verdict,
                    "" if r.examples is None else r.examples,
                    "" if r.worst_ratio is None else r.worst_ratio,
                    ", ".join(r.sources) or "-",
                    _clip(r.summary, 70),
                ]
                for r in rows
            ],
        )
    )
    print(f"wrote {out / 'claims.md'} and {out / 'claims.json'}")
    return 0
