"""`amin report` end to end: run the grid (resuming), then write the CSVs, manifest, figures, ratios.md and
the claims evidence from the stored cells."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amin.harness.evidence import versions
from amin.harness.report.analysis import (
    CLAIMS,
    EXACT_COLUMNS,
    SIM_COLUMNS,
    ClaimResult,
    Condition,
    against_opt,
    claim_c12,
    claim_c17,
    condition_table,
    conditions_text,
    exact_rows,
    load_map,
    over_seeds,
    sim_rows,
)
from amin.harness.report.backends import RunStats, run_cells
from amin.harness.report.cells import DONE_STATUSES, _sampled_trace, _to_instance, default_engine
from amin.harness.report.grid import PAPER_SAMPLE, Cell, GridSpec, Regime, build_grid
from amin.harness.report.store import ResultStore, locked

VERSIONED = ("amin", "numpy", "scipy", "cvxpy", "highspy", "matplotlib", "tqdm", "dask", "distributed")
STAGES = (("sim", "simulations"), ("bound", "OPT lower bounds"), ("exact", "exact sub-samples"))


@dataclass(frozen=True)
class ReportOutcome:
    """Where the outputs went and what the run did."""

    out: Path
    stats: dict[str, RunStats]
    claims: tuple[ClaimResult, ...]
    wall_seconds: float
    missing: tuple[dict[str, str], ...] = ()  # cells of the grid with no result: {cell, status, reason}
    rejected: int = 0  # stored lines ignored (checksum or schema) and recomputed
    evidence_kept: str = ""  # why the stored evidence file was kept (it covers more than this run), or ""

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.stats.values())


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def generate(
    spec: GridSpec,
    out: str | Path = "reports",
    *,
    workers: int = 1,
    dask: Any = None,
    progress: bool = True,
    command: str | None = None,
    update_evidence: bool = False,
) -> ReportOutcome:
    """Run every cell of `spec` not yet stored under `out/results/`, then write every output from the store."""
    clock = time.perf_counter()
    out = Path(out)
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    command = command or "amin report"
    with locked(results):
        return _generate(
            spec, out, ResultStore(results / "cells.jsonl"), workers, dask, progress, command, clock, update_evidence
        )


def _generate(
    spec: GridSpec,
    out: Path,
    store: ResultStore,
    workers: int,
    dask: Any,
    progress: bool,
    command: str,
    clock: float,
    update_evidence: bool,
) -> ReportOutcome:
    results = out / "results"
    cells = build_grid(spec)
    stats: dict[str, RunStats] = {}
    for kind, desc in STAGES:
        stats[kind] = run_cells(
            [c for c in cells if c.kind == kind], store, workers=workers, dask=dask, desc=desc, progress=progress
        )
    records = store.select(dict.fromkeys(c.key for c in cells))
    missing = _missing(cells, store)
    rows = sim_rows(records)
    exact = exact_rows(records)
    _write_csv(results / "cells.csv", SIM_COLUMNS, rows)
    _write_csv(results / "exact.csv", EXACT_COLUMNS, exact)

    claims = [claim(rows, spec) for claim in CLAIMS.values()]
    conditions = study_conditions(rows, spec)
    for c in claims:
        table, loads = conditions[c.id]
        # The conditions are stated only where the samples have the paper's size; a smaller grid shows its tables.
        c.conditions = conditions_text(table, loads, spec) if spec.n >= PAPER_SAMPLE else None
    _write_csv(results / "conditions.csv", CONDITION_COLUMNS, condition_csv_rows(conditions))
    for c in claims:
        opt = against_opt(rows, c.id, spec.stated)
        if opt is not None:
            c.summary += f"; {opt}"
    for extra in (claim_c12(exact), claim_c17(rows)):
        if extra is not None:
            claims.append(extra)
    instances = _save_counterexamples(claims, records, spec, results / "instances")

    from amin.harness.report.plots import make_figures

    figures = make_figures(over_seeds(rows), exact, spec, out / "figures", conditions)
    wall = time.perf_counter() - clock
    manifest = _manifest(spec, cells, records, stats, command, wall, out)
    manifest["cells"]["missing"] = list(missing)
    manifest["cells"]["rejected_lines"] = dict(store.rejected)
    (results / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    from amin.harness.evidence import write_evidence

    written = write_evidence(
        out / "evidence" / "report.json",
        _evidence(claims, spec, command, instances, out, conditions),
        update=update_evidence,
    )

    from amin.harness.report.markdown import write_markdown

    write_markdown(out / "ratios.md", spec, rows, exact, claims, figures, manifest, conditions)
    _regenerate_ledger(out)
    return ReportOutcome(
        out,
        stats,
        tuple(claims),
        wall,
        missing,
        sum(store.rejected.values()),
        "" if written.written else written.reason,
    )


Conditions = dict[str, tuple[dict[tuple[str, Regime], Condition], dict[tuple[str, str], Condition]]]
CONDITION_COLUMNS = (
    "claim",
    "table",
    "reading",
    "regime",
    "prompts",
    "capacity",
    "load",
    "arrivals",
    "state",
    "agree",
    "judged",
    "seeds",
    "numbers",
    "load_min",
    "load_max",
    "reason",
)


def study_conditions(rows: Sequence[dict[str, Any]], spec: GridSpec) -> Conditions:
    """Per claim: its condition table (readings by regimes) and its load map (SPEC's reading), from the rows."""
    return {cid: (condition_table(rows, spec, cid), load_map(rows, spec, cid)) for cid in CLAIMS}


def condition_csv_rows(conditions: Conditions) -> list[dict[str, Any]]:
    out = []
    for cid, (table, loads) in conditions.items():
        for kind, cells in (("readings", table.values()), ("loads", loads.values())):
            for c in cells:
                out.append(
                    {
                        "claim": cid,
                        "table": kind,
                        "reading": c.reading,
                        "regime": c.regime.label(),
                        "prompts": c.regime.prompts,
                        "capacity": c.regime.capacity or None,
                        "load": c.regime.load,
                        "arrivals": c.regime.arrivals,
                        "state": c.state,
                        "agree": c.agree,
                        "judged": c.judged,
                        "seeds": c.seeds,
                        "numbers": json.dumps({k: v for k, v in c.numbers.items() if v is not None}),
                        "load_min": None if c.load is None else round(c.load[0], 4),
                        "load_max": None if c.load is None else round(c.load[1], 4),
                        "reason": c.reason,
                    }
                )
    return out


def _missing(cells: Sequence[Cell], store: ResultStore) -> tuple[dict[str, str], ...]:
    """Every cell of the grid without a result (a failure, a missing dependency, or never stored), with why."""
    out = []
    for c in dict.fromkeys(cells):
        rec = store.get(c.key)
        if rec is not None and rec.get("status") in DONE_STATUSES:
            continue
        reason = "not stored" if rec is None else str((rec.get("metrics") or {}).get("reason", "no reason given"))
        out.append(
            {"cell": c.label(), "status": "missing" if rec is None else str(rec.get("status")), "reason": reason}
        )
    return tuple(out)


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r[k]) for k in columns})


def _save_counterexamples(
    claims: Sequence[ClaimResult], records: Sequence[dict[str, Any]], spec: GridSpec, directory: Path
) -> dict[str, list[str]]:
    """The instances behind each disagreement, as instance files replayable with `amin simulate`."""
    from amin.model import load_instance, save_instance

    saved: dict[str, list[str]] = {}
    for claim in claims:
        for ce in claim.counterexamples:
            directory.mkdir(parents=True, exist_ok=True)
            if claim.id == "C12":
                rec = next(r for r in records if r["key"] == ce["key"])
                path = directory / f"C12-{ce['trace']}-seed{ce['seed']}.json"
                save_instance(load_instance(rec["metrics"]["instance"]), path, source=rec["params"])
                saved.setdefault(claim.id, []).append(str(path))
                continue
            # One instance per failing trace (the first seed, at the predictor that decided it): a 2,000-request
            # file is ~100 kB, and every other one is rebuilt from its cell parameters by `amin report`.
            seed = spec.seeds[0]
            predictor = ce["predictor"]
            cell = Cell(
                "sim", ce["trace"], spec.n, seed, ce["capacity"], "zero", predictor, round_seconds=spec.round_seconds
            )
            instance, _ = _to_instance(_sampled_trace(cell), cell.capacity, predictor, "zero", seed)
            safe = predictor.replace("(", "").replace(")", "").replace(",", "-")
            path = directory / f"{claim.id}-{ce['trace']}-{safe}-seed{seed}.json"
            save_instance(instance, path, source=cell.params())
            saved.setdefault(claim.id, []).append(str(path))
    return saved


def _dataset_hashes(spec: GridSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        from amin.traces import load_trace
    except ImportError:  # pragma: no cover
        return out
    for name in spec.traces:
        try:
            t = load_trace(name, round_seconds=spec.round_seconds)
        except ValueError as e:
            out[name] = {"error": str(e)}
            continue
        out[name] = {"sha256": t.sha256, "rows": len(t), "skipped_rows": dict(t.skipped)}
    return out


def _manifest(
    spec: GridSpec,
    cells: Sequence[Cell],
    records: Sequence[dict[str, Any]],
    stats: dict[str, RunStats],
    command: str,
    wall: float,
    out: Path,
) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    for r in records:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    return {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "argv": sys.argv,
        "wall_seconds": round(wall, 2),
        "cell_seconds": round(sum(r.get("seconds") or 0 for r in records), 2),
        "versions": versions(*VERSIONED),
        "machine": machine(),
        "engine": default_engine(),
        "seeds": {"samples": list(spec.seeds), "exact": list(spec.exact_seeds)},
        "capacities": list(spec.capacities),
        "datasets": _dataset_hashes(spec),
        "grid": spec.to_dict(),
        "cells": {
            "total": len(cells),
            "computed": sum(s.computed for s in stats.values()),
            "reused": sum(s.reused for s in stats.values()),
            "errors": sum(s.errors for s in stats.values()),
            "by_status": by_status,
        },
        "files": {
            "cells": "results/cells.csv",
            "exact": "results/exact.csv",
            "raw": "results/cells.jsonl",
            "conditions": "results/conditions.csv",
            "markdown": "ratios.md",
            "evidence": "evidence/report.json",
        },
    }


def _evidence(
    claims: Sequence[ClaimResult],
    spec: GridSpec,
    command: str,
    instances: dict[str, list[str]],
    out: Path,
    conditions: Conditions | None = None,
) -> dict[str, Any]:
    from amin.harness.evidence import ClaimEvidence, evidence_document, evidence_path

    where = out / "evidence"
    box = f"{len(spec.traces)} real traces ({', '.join(spec.traces)}) x {spec.n} requests, {spec.stated.describe()}"
    strength = {"traces": len(spec.traces), "requests": spec.n, "seeds": len(spec.seeds)}
    items = []
    for c in claims:
        table = "exact.csv" if c.id == "C12" else "cells.csv"
        if c.id == "C17":
            items.append(
                ClaimEvidence(
                    id=c.id,
                    verdict=c.verdict,
                    summary=c.summary,
                    box=f"{len(c.traces)} real traces x {spec.n} requests, one seed, {spec.stated.describe()}",
                    examples=c.examples,
                    worst_ratio=None if c.worst_ratio is None else round(float(c.worst_ratio), 6),
                    evidence=(evidence_path(out / "ratios.md", where), evidence_path(out / "results" / table, where)),
                    seeds=tuple(spec.bound_seeds),
                    strength={"requests": spec.n, "traces": len(c.traces)},
                    details={"brackets": c.traces},
                )
            )
            continue
        saved = [evidence_path(p, where) for p in instances.get(c.id, [])]
        files = [evidence_path(out / "ratios.md", where), evidence_path(out / "results" / table, where), *saved]
        if c.id != "C12":
            # Replay: the claim compares these two schedulers on each saved instance.
            files += [
                f"amin simulate {p} --scheduler {s} --seed {spec.seeds[0]} --json"
                for p in saved[:1]
                for s in ("amin", "amax")
            ]
        if c.conditions:
            files.append(evidence_path(out / "results" / "conditions.csv", where))
        items.append(
            ClaimEvidence(
                id=c.id,
                verdict=c.verdict,
                summary=c.summary,
                conditions=c.conditions,
                box=box if c.id != "C12" else f"{spec.exact_n}-request scaled sub-samples of real traces",
                examples=c.examples,
                worst_ratio=None if c.worst_ratio is None else round(float(c.worst_ratio), 6),
                evidence=tuple(files),
                seeds=tuple(spec.seeds if c.id != "C12" else spec.exact_seeds),
                seconds=float(c.seconds),
                strength=strength if c.id != "C12" else {"requests": spec.exact_n, "seeds": len(spec.exact_seeds)},
                details=_condition_details(conditions[c.id]) if conditions and c.id in conditions else {},
            )
        )
    return evidence_document("report", items, command, packages=VERSIONED[1:])


def _condition_details(
    pair: tuple[dict[tuple[str, Regime], Condition], dict[tuple[str, str], Condition]],
) -> dict[str, Any]:
    """The condition table and load map in the evidence file: {reading: {regime: "holds 3/5"}}."""
    table, loads = pair
    readings: dict[str, dict[str, str]] = {}
    for (reading, regime), c in table.items():
        readings.setdefault(reading, {})[regime.label()] = c.text()
    by_load: dict[str, dict[str, str]] = {}
    for (prompts, size), c in loads.items():
        by_load.setdefault(prompts, {})[size] = c.text()
    return {"readings_by_regime": readings, "spec_reading_by_load": by_load}


def _regenerate_ledger(out: Path) -> None:
    """OUT/claims.md (and claims.json) from every evidence file in OUT/evidence, when the ledger module exists."""
    try:
        from amin.harness.ledger import build
    except ImportError:
        return
    build(out / "evidence", out)
