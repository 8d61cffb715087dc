"""reports/ratios.md: the replication's tables, claim sections with the paper's numbers beside ours, the condition
tables (each claim in every reading and workload regime), wasted work, and figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from amin.harness.report.analysis import ClaimResult, Condition, format_load, is_main, waste_rows
from amin.harness.report.grid import PAPER_CAPACITY, GridSpec, Regime
from amin.rules import READINGS


def _f(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/c"  # not computed
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_f(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _lookup(rows: Sequence[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    for r in rows:
        if all(r[k] == v for k, v in match.items()):
            return r
    return None


def _claim_section(c: ClaimResult, title: str) -> str:
    out = [
        f"### {c.id}: {title}",
        "",
        f"**Verdict: {c.verdict}.** {c.summary}.",
        "",
        f"- Paper (as summarised in the project SPEC; the paper's text is not available to us): {c.paper}.",
        f"- Replication rule, fixed before running: {c.rule}.",
        "",
    ]
    if c.conditions:
        out += [f"**Conditions** (the same rule in every reading and regime, tables below): {c.conditions}.", ""]
    if c.traces:
        keys = [k for k in c.traces[0] if k != "trace"]
        out.append(_table(["trace", *keys], [[t["trace"], *[t[k] for k in keys]] for t in c.traces]))
        out.append("")
    return "\n".join(out)


def _condition_section(
    cid: str,
    table: dict[tuple[str, Regime], Condition],
    loads: dict[tuple[str, str], Condition],
    spec: GridSpec,
    figure: Path | None,
    out_dir: Path,
) -> str:
    regimes = list(dict.fromkeys(regime for (_, regime) in table))
    parts = [
        f"#### {cid} in every reading and regime",
        "",
        "Each cell: the claim's rule on that reading and regime, `holds`/`fails` with the traces that agree "
        "out of those judged, and the deciding ratios (worst over the traces, each a mean over the regime's "
        "seeds). `open`: nothing could be judged; `invalid`: under that reading a schedule the claim compares "
        "exceeds the capacity (docs/semantics.md, Finding), so its latency is not a feasible schedule's (the "
        "rule's numbers are shown all the same); `not run`: this grid has no cell there; `not computed`: the "
        "cells exist but have no result (the reason is listed below the table).",
        "",
    ]
    rows = [
        [
            reading + (" (ours, not the paper's)" if READINGS[reading].ours else ""),
            *[table[(reading, g)].text() for g in regimes],
        ]
        for reading in spec.readings
    ]
    parts += [_table(["reading", *[g.label() for g in regimes]], rows), ""]
    if any(READINGS[r].ours for r in spec.readings):
        parts += [
            "`admit-by-area` is not a reading of the paper but our online variant (issue 15): amin and amax offer "
            "waiting requests smallest planned memory-rounds s L + L(L+1)/2 first, the order that wins offline "
            "when prompts differ (docs/optimal.md). The claim's verdict and conditions ignore it; its row shows "
            "how the paper's schedulers fare with it, H-SF unchanged as the benchmark.",
            "",
        ]
    reasons = sorted({f"{c.reading}: {c.reason}" for c in table.values() if c.state == "not computed" and c.reason})
    if reasons:
        parts += ["Not computed: " + "; ".join(reasons) + ".", ""]
    if loads:
        sizes = list(dict.fromkeys(size for (_, size) in loads))
        prompts = list(dict.fromkeys(p for (p, _) in loads))
        parts += [
            f"{cid} under SPEC's reading with zero arrivals, by prompt regime and capacity (in tokens, with "
            "the samples' measured loads) or load, heavy to light:",
            "",
        ]
        parts += [
            _table(
                ["prompts", *sizes],
                [[p, *[(loads[(p, z)].text(True) if (p, z) in loads else "not run") for z in sizes]] for p in prompts],
            ),
            "",
        ]
    if figure is not None:
        parts += [
            f"![{cid} condition map]({_rel(figure, out_dir)})",
            "",
            f"*{cid} condition map: readings by regimes, and the load map under SPEC's reading; green holds, "
            "red fails, grey open (nothing judged), orange invalid (exceeds the capacity), hatched not "
            "computed, blank not run.*",
            "",
        ]
    return "\n".join(parts)


def _rel(p: Path, base: Path) -> Path:
    return Path(p).relative_to(base) if Path(p).is_relative_to(base) else Path(p)


def _regimes_table(rows: Sequence[dict[str, Any]], spec: GridSpec) -> str:
    """Each regime of the condition study: its loads as run, its seeds and readings."""
    out = []
    for g in dict.fromkeys((*spec.reading_regimes, *spec.regimes)):
        mine = [r for r in rows if r["_regime"] == g and r["status"] == "ok"]
        loads = [r["load"] for r in mine if r["load"] is not None]
        caps = [r["capacity"] for r in mine if r["capacity"] is not None]
        seeds = sorted({r["seed"] for r in mine if r["seed"] in spec.seeds_of(g)})
        readings = [x for x in spec.readings if any(r["reading"] == x for r in mine)]
        out.append(
            [
                g.label(),
                g.prompts,
                _span(caps, lambda c: f"{c:,}"),
                _span(loads, format_load),
                g.arrivals,
                ", ".join(map(str, seeds)) or "n/c",
                len(readings),
            ]
        )
    return _table(
        ["regime", "prompts", "capacity M (tokens)", "load n(s+o)/M", "arrivals", "seeds", "readings run"], out
    )


def _span(values: Sequence[float], fmt: Any) -> str:
    if not values:
        return "n/c"
    lo, hi = fmt(min(values)), fmt(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def _waste_section(rows: Sequence[dict[str, Any]], spec: GridSpec) -> str:
    lines = waste_rows(rows, spec)
    if not lines:
        return ""
    parts = [
        "## Wasted work by reading and regime (Amin)",
        "",
        "What Amin throws away, beside its latency ratio, for the crude and binned intervals: means over the "
        "traces of each trace's mean over seeds. `wasted %` is the share of busy rounds spent on tokens that "
        "were later thrown away (each round's work shared equally by its batch; docs/report.md defines it). "
        "H-SF never evicts; Amax evicts only when an output exceeds its upper bound.",
        "",
    ]
    table = []
    for ln in lines:
        line: list[Any] = [ln["regime"].label(), ln["reading"]]
        for p in ("crude", "binned"):
            share, ev, tok = (ln[f"{p} {k}"] for k in ("wasted_round_share", "evictions", "wasted_tokens"))
            line += [
                ln[f"{p} ratio_hsf"],
                None if ev is None else f"{ev:,.0f}",
                None if tok is None else f"{tok:,.0f}",
                None if share is None else f"{100 * share:.1f}%",
            ]
        table.append(line)
    parts += [
        _table(
            [
                "regime",
                "reading",
                "crude amin/hsf",
                "evictions",
                "wasted tokens",
                "wasted %",
                "binned amin/hsf",
                "evictions",
                "wasted tokens",
                "wasted %",
            ],
            table,
        ),
        "",
    ]
    return "\n".join(parts)


def write_markdown(
    path: Path,
    spec: GridSpec,
    rows: Sequence[dict[str, Any]],
    exact: Sequence[dict[str, Any]],
    claims: Sequence[ClaimResult],
    figures: dict[str, Path],
    manifest: dict[str, Any],
    conditions: dict[str, tuple[dict[tuple[str, Regime], Condition], dict[tuple[str, str], Condition]]] | None = None,
) -> Path:
    from amin.harness.report.analysis import over_seeds

    conditions = conditions or {}
    cap = PAPER_CAPACITY if PAPER_CAPACITY in spec.capacities else spec.capacities[0]
    per_seed = [r for r in rows if r["status"] == "ok" and is_main(r)]
    ok = over_seeds(per_seed)  # every table below shows means over the sample seeds, except the bound table
    parts = [
        "# Amin and Amax on real traces: the paper's numerical study, replicated",
        "",
        "Generated by `" + manifest["command"] + "`; do not edit by hand. The Amin paper (arXiv 2508.14544) used "
        f"2,000 LMSYS-Chat-1M requests, which we cannot ship; this report runs its study on {len(spec.traces)} "
        f"public real traces instead ({', '.join(spec.traces)}), {spec.n} requests per sample, seeds "
        f"{list(spec.seeds)} (tables and figures show the mean over seeds). TEL = total end-to-end latency in "
        "rounds; every ratio is labelled with its "
        "denominator: H-SF (the paper's benchmark, which is not optimal) or the certified OPT lower bound LB "
        "(so TEL/LB is an upper bound on TEL/OPT). `n/c` = not computed. Deviations from the paper's setup are "
        "listed in docs/report.md.",
        "",
        f"{manifest['cells']['total']} cells; this run took {manifest['wall_seconds']:.0f} s of wall time "
        f"({manifest['cells']['computed']} cells computed, {manifest['cells']['reused']} reused from earlier runs); "
        f"the cells' own run times sum to {manifest['cell_seconds']:.0f} s. Engine `{manifest['engine']}`, "
        f"{manifest['machine']['cpus']} CPUs.",
        "",
    ]
    rejected = manifest["cells"].get("rejected_lines") or {}
    if rejected:
        parts += [
            f"{sum(rejected.values())} stored result lines were ignored and their cells recomputed ("
            + ", ".join(f"{v} {k}" for k, v in sorted(rejected.items()))
            + ").",
            "",
        ]
    missing = manifest["cells"].get("missing") or []
    if missing:
        parts += [
            f"**{len(missing)} cells have no result**, so the tables and claims below rest on fewer cells "
            "than the grid asks for. `amin report` exited non-zero and retries them on its next run:",
            "",
        ]
        parts.append(_table(["cell", "status", "reason"], [[m["cell"], m["status"], m["reason"]] for m in missing]))
        parts.append("")
    if conditions:
        parts += [
            "## The condition study",
            "",
            "The claims' verdicts are given in one setting: SPEC's reading, real prompts, M = 16,492, zero "
            "arrivals (the setting the rules were fixed for). The paper's text is not available, so SPEC is "
            "a reconstruction and its open choices are readings (`amin.rules.READINGS`, docs/semantics.md); "
            "the workload is a choice too. Each claim is therefore also judged, by exactly the same rule, "
            "under every reading and in each regime below: prompts `real`, or `fixed:70` (the paper's "
            "LMSYS-Chat-1M averages 69.5 prompt tokens; real outputs kept); capacity in tokens or chosen by "
            "load n(s+o)/M (M = ceil(sum of s + o over the sample / load)); zero or the trace's arrivals. "
            "H-SF runs under the same reading as the schedulers it is compared with.",
            "",
            _regimes_table(rows, spec),
            "",
        ]
    parts += ["## Claims", ""]
    titles = {
        "C13": "crude intervals [1, 1000]: Amin matches H-SF, Amax about 2x behind",
        "C14": "binned intervals: Amin halves Amax's gap to H-SF",
        "C15": "relative intervals: Amin robust, up to 5x better than Amax when noisy",
        "C12": "H-SF is the hindsight optimum",
        "C17": "(ours) H-SF is near the optimum at real scale",
    }
    for c in claims:
        parts.append(_claim_section(c, titles.get(c.id, c.id)))
        if c.id in conditions:
            table, loads = conditions[c.id]
            parts.append(_condition_section(c.id, table, loads, spec, figures.get(f"conditions_{c.id}"), path.parent))
    waste = _waste_section(rows, spec)
    if waste:
        parts.append(waste)

    # Main table: capacity = paper's, zero arrivals.
    for arrivals in spec.arrivals:
        block = [r for r in ok if r["capacity"] == cap and r["arrivals"] == arrivals]
        if not block:
            continue
        parts += [f"## TEL / TEL(H-SF), capacity {cap}, {arrivals} arrivals", ""]
        table, others = [], []
        for trace in spec.traces:
            base = _lookup(block, trace=trace, scheduler="hsf")
            if base is None:
                continue
            for s in ("amin", "amax"):
                table.append(
                    [
                        trace,
                        s,
                        *[
                            (_lookup(block, trace=trace, scheduler=s, predictor=p) or {}).get("ratio_hsf")
                            for p in spec.predictors
                        ],
                    ]
                )
            fcfs = _lookup(block, trace=trace, scheduler="fcfs")
            mcsf = _lookup(block, trace=trace, scheduler="mcsf")
            others.append(
                [
                    trace,
                    base["requests"],
                    base["skipped"],
                    base["mean_latency"],
                    fcfs["ratio_hsf"] if fcfs else None,
                    mcsf["ratio_hsf"] if mcsf else None,
                ]
            )
        parts += [
            _table(["trace", "scheduler", *spec.predictors], table),
            "",
            "Schedulers that read no interval: H-SF's mean latency (rounds), FCFS and MC-SF (with the "
            "trace's own point predictions, where it has them) against H-SF.",
            "",
            _table(["trace", "requests", "skipped (too big)", "hsf mean latency", "fcfs/hsf", "mcsf/hsf"], others),
            "",
        ]

    # SPEC's reading and our variants (the other readings' brackets are in results/cells.csv).
    bounded = [
        r for r in per_seed if r["ratio_lb"] is not None and (r["reading"] == "spec" or READINGS[r["reading"]].ours)
    ]
    if bounded:
        parts += [
            "## Against OPT: every ratio with its bracket",
            "",
            "OPT is bracketed on each bounded sample: above by the best schedule found within the time limit "
            "(`optimal.bracket`: list scheduling in several orders, backfilling, local search, the online "
            "schedulers' runs; checked by amin's checker before it is stored), below by the largest certified "
            "bound (combinatorial, Lagrangian column generation, the LP relaxation; docs/optimal.md). So "
            "TEL/UB <= TEL/OPT <= TEL/LB, and TEL/H-SF (H-SF >= OPT) is itself a lower bound on TEL/OPT.",
            "",
        ]
        inst_rows = []
        for trace in spec.traces:
            for r in bounded:
                if r["trace"] == trace and r["scheduler"] == "hsf" and r.get("upper_bound") is not None:
                    ub, lb = r["upper_bound"], r["lower_bound"]
                    inst_rows.append(
                        [
                            trace,
                            r["seed"],
                            r["capacity"],
                            r["total_latency"],
                            f"{ub} ({r.get('_ub_method')})",
                            f"{lb:.0f} ({r.get('_lb_method')})",
                            f"{(ub - lb) / ub:.1%}",
                            f"[{r['ratio_ub']:.3f}, {r['ratio_lb']:.3f}]",
                        ]
                    )
        if inst_rows:
            parts += [
                _table(
                    [
                        "trace",
                        "seed",
                        "capacity",
                        "H-SF TEL",
                        "best known UB (method)",
                        "best bound LB (method)",
                        "gap (UB-LB)/UB",
                        "H-SF/OPT in",
                    ],
                    inst_rows,
                ),
                "",
            ]
        table = []
        for trace in spec.traces:
            for r in bounded:
                if r["trace"] == trace and (
                    r["scheduler"] in ("hsf", "fcfs", "mcsf") or r["predictor"] in ("crude", "binned", "relative(0.5)")
                ):
                    interval = (
                        f"[{r['ratio_ub']:.3f}, {r['ratio_lb']:.3f}]"
                        if r.get("ratio_ub") is not None
                        else f"<= {r['ratio_lb']:.3f}"
                    )
                    table.append(
                        [
                            trace,
                            r["seed"],
                            r["reading"],
                            r["scheduler"],
                            r["predictor"] if r["scheduler"] in ("amin", "amax") else "-",
                            r["ratio_hsf"],
                            interval,
                        ]
                    )
        parts += [
            "Per scheduler (bounds are computed for the seeds listed in the manifest's grid, `bound_seeds`):",
            "",
            _table(
                ["trace", "seed", "reading", "scheduler", "predictor", "TEL/H-SF", "TEL/OPT in [TEL/UB, TEL/LB]"], table
            ),
            "",
        ]

    if len(spec.capacities) > 1:
        parts += ["## Capacity sweep (zero arrivals): TEL / TEL(H-SF)", ""]
        table = []
        for trace in spec.traces:
            for c in spec.capacities:
                line: list[Any] = [trace, c]
                for s, p in (
                    ("amin", "crude"),
                    ("amax", "crude"),
                    ("amin", "binned"),
                    ("amax", "binned"),
                    ("fcfs", "crude"),
                ):
                    r = _lookup(ok, trace=trace, capacity=c, arrivals="zero", scheduler=s, predictor=p)
                    line.append(r["ratio_hsf"] if r else None)
                hs = _lookup(ok, trace=trace, capacity=c, arrivals="zero", scheduler="hsf")
                line += [hs["requests"] if hs else None, hs["skipped"] if hs else None]
                table.append(line)
        parts += [
            _table(
                [
                    "trace",
                    "capacity",
                    "amin crude",
                    "amax crude",
                    "amin binned",
                    "amax binned",
                    "fcfs",
                    "requests",
                    "skipped (too big)",
                ],
                table,
            ),
            "",
        ]

    parts += [f"## Evictions and wasted tokens (capacity {cap}, zero arrivals)", ""]
    table = []
    for r in ok:
        if (
            r["capacity"] == cap
            and r["arrivals"] == "zero"
            and r["scheduler"] in ("amin", "fcfs", "mcsf")
            and (r["scheduler"] != "amin" or r["predictor"] in ("crude", "binned", "relative(0.5)"))
        ):
            share = r["wasted_round_share"]
            table.append(
                [
                    r["trace"],
                    r["scheduler"],
                    r["predictor"] if r["scheduler"] == "amin" else "-",
                    r["evictions"],
                    r["wasted_tokens"],
                    None if share is None else f"{100 * share:.1f}%",
                    r["peak_memory"],
                    r["makespan"],
                ]
            )
    parts += [
        _table(
            ["trace", "scheduler", "predictor", "evictions", "wasted tokens", "wasted %", "peak memory", "makespan"],
            table,
        ),
        "",
    ]

    parts += [f"## Predictor quality (capacity {cap}, zero arrivals, requests that fit)", ""]
    table = []
    for trace in spec.traces:
        for p in spec.predictors:
            r = _lookup(ok, trace=trace, capacity=cap, arrivals="zero", scheduler="amin", predictor=p)
            if r:
                table.append([trace, p, r["coverage"], r["mean_width"], r["mean_alpha"]])
    parts += [_table(["trace", "predictor", "coverage", "mean width", "mean alpha"], table), ""]

    if exact:
        parts += [
            "## Exact optimum on small real sub-samples",
            "",
            f"{spec.exact_n} requests per sample, token counts divided by the trace's scale (rounded up), "
            f"capacity = {spec.exact_concurrency:g} x mean(prompt + output) (at least the largest request), zero "
            f"arrivals, intervals {spec.exact_predictor}, OPT by `optimal.solve` with a "
            f"{spec.exact_time_limit:g} s limit. Ratios to OPT only where the optimum is proved.",
            "",
        ]
        table = [
            [
                r["trace"],
                r["seed"],
                r["scale"],
                r["capacity"],
                r["opt_status"],
                r["opt_total_latency"],
                r["hsf"],
                r["amin"],
                r["amax"],
                r["fcfs"],
                r["hsf_over_opt"],
                r["amin_over_opt"],
                r["amax_over_opt"],
            ]
            for r in exact
        ]
        parts += [
            _table(
                [
                    "trace",
                    "seed",
                    "scale",
                    "capacity",
                    "OPT status",
                    "OPT",
                    "hsf",
                    "amin",
                    "amax",
                    "fcfs",
                    "hsf/OPT",
                    "amin/OPT",
                    "amax/OPT",
                ],
                table,
            ),
            "",
        ]

    shown = {k: p for k, p in figures.items() if not k.startswith("conditions_")}
    if shown:
        from amin.harness.report.plots import captions

        parts += ["## Figures", ""]
        text = captions(spec)
        for name, p in shown.items():
            parts += [f"![{name}]({_rel(p, path.parent)})", "", f"*{text.get(name, name)}*", ""]

    missing = [r for r in rows if r["status"] != "ok"] + [r for r in exact if r["status"] != "ok"]
    if missing:
        # Grouped: a reading the engines do not implement yet leaves hundreds of cells without a result.
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for r in missing:
            kind = "exact" if "scale" in r else "sim"
            groups.setdefault((kind, r["status"], str(r.get("reason") or "")), []).append(r)
        parts += ["## Cells without results", ""]
        parts += [
            _table(
                ["kind", "status", "reason", "cells", "traces", "first key"],
                [
                    [kind, status, reason or "-", len(rs), ", ".join(sorted({r["trace"] for r in rs})), rs[0]["key"]]
                    for (kind, status, reason), rs in groups.items()
                ],
            ),
            "",
        ]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
