"""The report's figures (matplotlib, Agg backend): ratio against x, ratios per predictor, latency distributions,
the capacity and load sweeps, H-SF against the exact optimum, and one condition map per claim.

Every figure's title states its setting (regime, load, arrivals, reading, seeds averaged); axes are ticked at the
values run, and ratio axes start near the data, not at 0.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers or CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator  # noqa: E402

from amin.harness.report.analysis import JUDGED_STATES, Condition, format_load  # noqa: E402
from amin.harness.report.cells import QUANTILES  # noqa: E402
from amin.harness.report.grid import GridSpec, Regime  # noqa: E402

COLORS = {"hsf": "black", "amin": "tab:blue", "amax": "tab:red", "mcsf": "tab:green", "fcfs": "tab:gray"}
STATE_COLORS = {
    "holds": "#9ad89a",
    "fails": "#f2a0a0",
    "open": "#d0d0d0",
    "invalid": "#f6c77a",
    "not computed": "white",
    "not run": "white",
}


def _x(predictor: str) -> float | None:
    m = re.fullmatch(r"relative\(([0-9.]+)\)", predictor)
    return float(m.group(1)) if m else None


def _grid(n: int) -> tuple[Any, list[Any]]:
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 3.5 * rows + 1.1), squeeze=False, layout="constrained")
    flat = [a for row in axes for a in row]
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat[:n]


def _save(fig: Any, path: Path, title: str, handles: Sequence[Any] = ()) -> Path:
    """A title that states the setting on top, one shared legend at the bottom (never over the data)."""
    width = int(fig.get_figwidth() * 12)  # characters of a 10-point title per inch, with a margin
    title = "\n".join(textwrap.fill(line, width) for line in title.split("\n"))
    fig.suptitle(title, fontsize=10)
    if handles:
        fig.legend(
            handles=list(handles), loc="outside lower center", ncol=min(len(handles), 6), fontsize=8, frameon=False
        )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _ratio_limits(ax: Any, values: Sequence[float]) -> tuple[float, float]:
    """Y limits around the data and 1.0, so ratios near 1 stay readable: never from 0. When the ratios span more
    than a factor 4, a log axis ticked at round ratios, so that one far value does not flatten the rest."""
    vals = [v for v in values if v == v and v > 0] + [1.0]
    lo, hi = min(vals), max(vals)
    if hi / lo > 4:
        ax.set_yscale("log")
        ax.set_ylim(lo / 1.08, hi * 1.08)
        ticks = [t for t in (0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100) if lo / 1.08 <= t <= hi * 1.08]
        ax.set_yticks(ticks)
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_yticklabels([f"{t:g}" for t in ticks])
        return lo / 1.08, hi * 1.08
    pad = max(0.02, 0.08 * (hi - lo))
    ax.set_ylim(lo - pad, hi + pad)
    return lo - pad, hi + pad


def _spaced(ticks: Sequence[float], keep: Sequence[float], factor: float = 1.45) -> list[float]:
    """The ticks of a log axis without two labels closer than `factor`: the ones in `keep` first (the values a
    regime asked for), then the others where they have room."""
    out = sorted(set(keep))
    for t in sorted(set(ticks) - set(keep)):
        if all(max(t, u) / min(t, u) >= factor for u in out):
            out.append(t)
    return sorted(out)


def _thousands(ax: Any) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if abs(v) >= 1000 else f"{v:g}"))


def _stated_rows(rows: Sequence[dict[str, Any]], spec: GridSpec) -> list[dict[str, Any]]:
    stated = spec.stated
    return [r for r in rows if r["_regime"] == stated and r["reading"] == "spec" and r["status"] == "ok"]


def _setting_text(rows: Sequence[dict[str, Any]], regime: Regime, reading: str = "spec") -> str:
    """The setting of a figure: regime, the loads of its samples, reading, seeds averaged."""
    loads = [r["load"] for r in rows if r.get("load") is not None]
    seeds = max((r.get("seeds") or 1 for r in rows), default=0)
    load = f" (load {min(loads):.0f}-{max(loads):.0f})" if loads else ""
    prompts = "real prompts" if regime.prompts == "real" else f"prompts {regime.prompts}"
    size = f"M = {regime.capacity:,} tokens{load}" if regime.load is None else f"load {regime.load:g}"
    return (
        f"{prompts}, {size}, {regime.arrivals} arrivals, reading {reading}, "
        f"mean of {seeds} seed{'s' if seeds != 1 else ''}"
    )


def _interval_free(ax: Any, data: Sequence[dict[str, Any]], trace: str, lo: float, hi: float) -> list[str]:
    """Draw fcfs and mcsf (which read no interval) as lines when they fall inside the axis; otherwise say so in
    the panel, so that one far value does not flatten the interval schedulers' ratios near 1."""
    notes = []
    for s in ("fcfs", "mcsf"):
        v = [r["ratio_hsf"] for r in data if r["trace"] == trace and r["scheduler"] == s]
        if not v:
            continue
        if lo <= v[0] <= hi:
            ax.axhline(v[0], color=COLORS[s], ls="--", lw=1)
        else:
            notes.append(f"{s} {v[0]:.2f} (off scale)")
    if notes:
        ax.text(0.02, 0.97, "\n".join(notes), transform=ax.transAxes, va="top", fontsize=7, color="dimgray")
    return notes


def _legend(*schedulers: str, lines: Sequence[tuple[str, str, str]] = ()) -> list[Any]:
    out: list[Any] = [Line2D([], [], color=COLORS[s], marker="o", label=s) for s in schedulers]
    out += [Line2D([], [], color=color, ls=ls, label=label) for label, color, ls in lines]
    return out


def plot_relative(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path) -> Path | None:
    data = [r for r in _stated_rows(rows, spec) if r["ratio_hsf"] is not None]
    xs = sorted({_x(r["predictor"]) for r in data if _x(r["predictor"]) is not None})
    if not xs:
        return None
    fig, axes = _grid(len(spec.traces))
    for ax, trace in zip(axes, spec.traces, strict=False):
        values = []
        for s in ("amin", "amax"):
            pts = sorted(
                (_x(r["predictor"]), r["ratio_hsf"])
                for r in data
                if r["trace"] == trace and r["scheduler"] == s and _x(r["predictor"]) is not None
            )
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=COLORS[s])
                values += [p[1] for p in pts]
        lo, hi = _ratio_limits(ax, values)
        _interval_free(ax, data, trace, lo, hi)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(xs)
        ax.set_title(trace, fontsize=9)
        ax.set_xlabel("x in [(1-x)o, (1+x)o]")
        ax.set_ylabel("TEL / TEL(H-SF)")
    return _save(
        fig,
        path,
        "TEL / TEL(H-SF) against x for relative(x) intervals\n" + _setting_text(data, spec.stated),
        _legend(
            "amin",
            "amax",
            lines=[
                ("fcfs (no interval)", COLORS["fcfs"], "--"),
                ("mcsf (point predictions)", COLORS["mcsf"], "--"),
                ("H-SF", "black", "-"),
            ],
        ),
    )


def plot_predictors(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path) -> Path | None:
    data = [r for r in _stated_rows(rows, spec) if r["ratio_hsf"] is not None]
    if not data:
        return None
    fig, axes = _grid(len(spec.traces))
    for ax, trace in zip(axes, spec.traces, strict=False):
        # Only the predictors run on this trace get a slot ("predictor" needs the trace's point predictions).
        preds = [
            p
            for p in spec.predictors
            if any(r["trace"] == trace and r["predictor"] == p and r["scheduler"] in ("amin", "amax") for r in data)
        ]
        values = []
        for k, s in enumerate(("amin", "amax")):
            pts = []
            for i, p in enumerate(preds):
                v = [
                    r["ratio_hsf"] for r in data if r["trace"] == trace and r["scheduler"] == s and r["predictor"] == p
                ]
                if v:
                    pts.append((i + (k - 0.5) * 0.25, v[0]))
            ax.plot([q[0] for q in pts], [q[1] for q in pts], "o", color=COLORS[s])
            values += [q[1] for q in pts]
        lo, hi = _ratio_limits(ax, values)
        _interval_free(ax, data, trace, lo, hi)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(range(len(preds)))
        ax.set_xticklabels([p.replace("relative", "rel") for p in preds], rotation=40, ha="right", fontsize=7)
        ax.set_title(trace, fontsize=9)
        ax.set_ylabel("TEL / TEL(H-SF)")
    return _save(
        fig,
        path,
        "TEL / TEL(H-SF) per interval predictor\n" + _setting_text(data, spec.stated),
        _legend(
            "amin",
            "amax",
            lines=[
                ("fcfs (no interval)", COLORS["fcfs"], "--"),
                ("mcsf (point predictions)", COLORS["mcsf"], "--"),
                ("H-SF", "black", "-"),
            ],
        ),
    )


def plot_latency(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path, predictor: str = "binned") -> Path | None:
    data = _stated_rows(rows, spec)
    if predictor not in spec.predictors:
        predictor = spec.predictors[0]
    if not data:
        return None
    fig, axes = _grid(len(spec.traces))
    shown = []
    for ax, trace in zip(axes, spec.traces, strict=False):
        for s in ("hsf", "amin", "amax", "mcsf", "fcfs"):
            v = [
                r
                for r in data
                if r["trace"] == trace
                and r["scheduler"] == s
                and (s in ("hsf", "fcfs", "mcsf") or r["predictor"] == predictor)
            ]
            if v and v[0].get("_quantiles"):
                ax.plot(v[0]["_quantiles"], QUANTILES, color=COLORS[s])
                shown.append(s)
        _thousands(ax)
        ax.set_title(trace, fontsize=9)
        ax.set_xlabel("latency (rounds)")
        ax.set_ylabel("fraction of requests")
    names = [s for s in COLORS if s in shown]
    handles = [
        Line2D([], [], color=COLORS[s], label=s if s in ("hsf", "fcfs", "mcsf") else f"{s} ({predictor})")
        for s in names
    ]
    return _save(
        fig,
        path,
        f"Per-request latency distribution ({predictor} intervals for amin and amax)\n"
        + _setting_text(data, spec.stated),
        handles,
    )


def plot_capacity(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path) -> Path | None:
    data = [
        r
        for r in rows
        if r["_regime"].prompts == "real"
        and r["_regime"].load is None
        and r["_regime"].arrivals == "zero"
        and r["reading"] == "spec"
        and r["ratio_hsf"] is not None
    ]
    caps = sorted({r["_regime"].capacity for r in data})
    if len(caps) < 2:
        return None
    fig, axes = _grid(len(spec.traces))
    styles = (
        ("amin", "crude", "o-"),
        ("amax", "crude", "o-"),
        ("amin", "binned", "s--"),
        ("amax", "binned", "s--"),
        ("fcfs", "crude", "x:"),
    )
    for ax, trace in zip(axes, spec.traces, strict=False):
        values = []
        for s, p, style in styles:
            pts = sorted(
                (r["_regime"].capacity, r["ratio_hsf"])
                for r in data
                if r["trace"] == trace and r["scheduler"] == s and r["predictor"] == p
            )
            if pts:
                ax.plot([q[0] for q in pts], [q[1] for q in pts], style, color=COLORS[s])
                values += [q[1] for q in pts]
        ax.set_xscale("log")
        ax.set_xticks(caps)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{c:,}" for c in caps], fontsize=8)
        _ratio_limits(ax, values)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_title(trace, fontsize=9)
        ax.set_xlabel("capacity M (tokens)")
        ax.set_ylabel("TEL / TEL(H-SF)")
    seeds = max((r.get("seeds") or 1 for r in data), default=1)
    handles = [
        Line2D([], [], color=COLORS[s], ls=style[1:], marker=style[0], label=s if s == "fcfs" else f"{s} {p}")
        for s, p, style in styles
    ]
    return _save(
        fig,
        path,
        f"TEL / TEL(H-SF) against capacity\nreal prompts, zero arrivals, reading spec, mean of {seeds} seeds",
        handles,
    )


def plot_load(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path) -> Path | None:
    """Ratios against the samples' load n(s+o)/M, one line per prompt regime (SPEC's reading, zero arrivals):
    the regimes by load and the paper's capacity, each point at its measured load."""
    data = [
        r
        for r in rows
        if r["reading"] == "spec"
        and r["_regime"].arrivals == "zero"
        and r["ratio_hsf"] is not None
        and (r["_regime"].load is not None or r["_regime"].capacity == spec.stated.capacity)
    ]
    prompts = list(dict.fromkeys(r["_regime"].prompts for r in data if r["_regime"].load is not None))
    data = [r for r in data if r["_regime"].prompts in prompts]
    if not prompts:
        return None
    fig, axes = _grid(len(spec.traces))
    marks = {p: m for p, m in zip(prompts, ("o", "s", "^", "D"), strict=False)}
    asked = sorted({r["_regime"].load for r in data if r["_regime"].load is not None})
    for ax, trace in zip(axes, spec.traces, strict=False):
        values, ticks = [], set()
        for prompt in prompts:
            for s, p, ls in (
                ("amin", "crude", "-"),
                ("amax", "crude", "-"),
                ("amin", "binned", "--"),
                ("amax", "binned", "--"),
            ):
                pts = sorted(
                    (r["load"], r["ratio_hsf"])
                    for r in data
                    if r["trace"] == trace
                    and r["scheduler"] == s
                    and r["predictor"] == p
                    and r["_regime"].prompts == prompt
                )
                if pts:
                    ax.plot([q[0] for q in pts], [q[1] for q in pts], ls, marker=marks[prompt], color=COLORS[s], ms=4)
                    values += [q[1] for q in pts]
                    ticks |= {q[0] for q in pts}
        ax.set_xscale("log")
        shown = _spaced(ticks, [t for t in asked if any(abs(t - u) < 1e-6 * t for u in ticks)])
        ax.set_xticks(shown)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([format_load(t) for t in shown], fontsize=7)
        _ratio_limits(ax, values)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_title(trace, fontsize=9)
        ax.set_xlabel("load n(s+o)/M (measured)")
        ax.set_ylabel("TEL / TEL(H-SF)")
    by_load = max((r.get("seeds") or 1 for r in data if r["_regime"].load is not None), default=1)
    at_cap = max((r.get("seeds") or 1 for r in data if r["_regime"].load is None), default=0)
    seeds = f"mean of {by_load} seed{'s' if by_load != 1 else ''} at each load" + (
        f", of {at_cap} at M = {spec.stated.capacity:,}" if at_cap else ""
    )
    handles = [
        Line2D([], [], color=COLORS[s], ls=ls, label=f"{s} {p}")
        for s, p, ls in (
            ("amin", "crude", "-"),
            ("amax", "crude", "-"),
            ("amin", "binned", "--"),
            ("amax", "binned", "--"),
        )
    ]
    handles += [Line2D([], [], color="black", ls="", marker=m, label=f"prompts {p}") for p, m in marks.items()]
    return _save(
        fig,
        path,
        "TEL / TEL(H-SF) against load: light (left) to heavy (right)\ncapacities by load "
        f"{', '.join(format_load(x) for x in asked)} and M = {spec.stated.capacity:,} (the rightmost point "
        f"of each line), zero arrivals, reading spec, {seeds}",
        handles,
    )


def plot_exact(exact: Sequence[dict[str, Any]], spec: GridSpec, path: Path) -> Path | None:
    data = [r for r in exact if r["status"] == "ok" and r["opt_status"] == "optimal"]
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    labels = [f"{r['trace']} s{r['seed']}" for r in data]
    values = []
    for k, (s, key) in enumerate((("hsf", "hsf_over_opt"), ("amin", "amin_over_opt"), ("amax", "amax_over_opt"))):
        vals = [r[key] for r in data]
        ax.plot([i + (k - 1) * 0.25 for i in range(len(data))], vals, "o", color=COLORS[s], label=s)
        values += vals
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(range(len(data)))
    ax.set_xticklabels(labels, rotation=55, ha="right", fontsize=7)
    ax.set_ylabel("TEL / OPT (proved)")
    _ratio_limits(ax, values)
    return _save(
        fig,
        path,
        f"TEL / OPT on exact sub-samples: {spec.exact_n} requests, tokens scaled down, "
        f"M = {spec.exact_concurrency:g} x mean(s + o),\nzero arrivals, {spec.exact_predictor}, reading spec, "
        "one point per sample seed (s0, s1, ...)",
        _legend("hsf", "amin", "amax"),
    )


def _draw_states(
    ax: Any, cells: list[list[Condition | None]], cols: list[str], rows: list[str], with_load: bool = False
) -> None:
    for i, line in enumerate(cells):
        for j, c in enumerate(line):
            state = c.state if c is not None else "not run"
            ax.add_patch(
                Rectangle(
                    (j, i),
                    1,
                    1,
                    facecolor=STATE_COLORS[state],
                    lw=1.5,
                    edgecolor="#e4e4e4" if state in ("not run", "not computed") else "white",
                    hatch="//" if state == "not computed" else None,
                )
            )
            if c is not None and c.state in JUDGED_STATES:
                nums = " | ".join(_short(v) for v in c.numbers.values() if v is not None)
                load = f"\nload {c.load_text()}" if with_load and c.regime.load is None else ""
                notes = "".join(f", {k} {v}" for k, v in (("n.i.", c.uninformative), ("over M", c.overflows)) if v)
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"{c.state} {c.agree}/{c.judged}{notes}\n{nums}{load}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                )
            elif state == "not computed":
                ax.text(j + 0.5, i + 0.5, "n/c", ha="center", va="center", fontsize=6.5)
    ax.set_xlim(0, len(cols))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([j + 0.5 for j in range(len(cols))])
    ax.set_xticklabels(cols, fontsize=7)
    ax.set_yticks([i + 0.5 for i in range(len(rows))])
    ax.set_yticklabels(rows, fontsize=7.5)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)


def _short(v: Any) -> str:
    if isinstance(v, tuple):
        return f"{v[0]:.2f}-{v[1]:.2f}"
    return f"{v:.2f}"


NUMBER_KEYS = {
    "C13": "max amin/hsf | amax/hsf range",
    "C14": "max gap share (amin-hsf)/(amax-hsf)",
    "C15": "max amin/hsf | max amax/amin",
}


def plot_conditions(
    cid: str,
    table: dict[tuple[str, Regime], Condition],
    loads: dict[tuple[str, str], Condition],
    spec: GridSpec,
    path: Path,
) -> Path | None:
    """The condition map of one claim: readings by regimes (top) and, under SPEC's reading, prompt regimes by
    capacity or load, heavy to light (bottom)."""
    if not table:
        return None
    regimes = list(dict.fromkeys(g for (_, g) in table))
    readings = list(spec.readings)
    sizes = list(dict.fromkeys(z for (_, z) in loads))
    prompts = list(dict.fromkeys(p for (p, _) in loads))
    width = max(len(regimes), len(sizes), 4)
    fig, axes = plt.subplots(
        2,
        1,
        figsize=(1.55 * width + 2.2, 0.42 * (len(readings) + len(prompts)) + 3.6),
        gridspec_kw={"height_ratios": [len(readings) + 1.5, max(len(prompts), 1) + 1.5]},
        layout="constrained",
    )
    top, bottom = axes
    _draw_states(
        top,
        [[table.get((r, g)) for g in regimes] for r in readings],
        [g.label().replace(", ", "\n") for g in regimes],
        readings,
    )
    top.set_title("every reading (rows) in each regime (columns)", fontsize=8.5)
    if loads:
        _draw_states(
            bottom,
            [[loads.get((p, z)) for z in sizes] for p in prompts],
            sizes,
            [f"prompts {p}" for p in prompts],
            with_load=True,
        )
        bottom.set_title(
            "reading spec, zero arrivals: prompt regime by capacity in tokens (cells give the samples' "
            "loads), then by load, heavy to light",
            fontsize=8.5,
        )
    else:
        bottom.set_visible(False)
    seeds = sorted({c.seeds for c in table.values() if c.seeds})
    handles = [
        Patch(facecolor=STATE_COLORS[s], edgecolor="gray", label=s, hatch="//" if s == "not computed" else None)
        for s in ("holds", "fails", "open", "invalid", "not computed")
    ]
    handles.append(Patch(facecolor="white", edgecolor="gray", label="not run (blank)"))
    return _save(
        fig,
        path,
        f"{cid} condition map: the replication rule in every reading and regime; cells: state, "
        f"traces agreeing / judged (n.i.: not informative), {NUMBER_KEYS[cid]}\n{len(spec.traces)} traces x "
        f"{spec.n} requests, seeds averaged per cell: {', '.join(map(str, seeds)) or 'none'} (see the regimes "
        "table)",
        handles,
    )


def captions(spec: GridSpec) -> dict[str, str]:
    """Captions for ratios.md: what each figure shows, and why a slot may be empty."""
    stated = spec.stated.describe()
    return {
        "relative": f"TEL / TEL(H-SF) against x for relative(x) intervals ({stated}, SPEC reading, mean over "
        "seeds). FCFS and MC-SF read no interval: a dashed line, or their value in the corner when it "
        "lies off the scale.",
        "predictors": f"TEL / TEL(H-SF) per predictor ({stated}, SPEC reading, mean over seeds). The `predictor` "
        "slot exists only for sharegpt-predicted, the one trace with point predictions.",
        "latency": f"Per-request latency distribution, binned intervals for amin and amax ({stated}, SPEC reading, "
        "quantiles averaged over seeds). MC-SF appears only where the trace has point predictions.",
        "capacity": "TEL / TEL(H-SF) against the capacities run in tokens (real prompts, zero arrivals, SPEC "
        "reading, mean over seeds).",
        "load": "TEL / TEL(H-SF) against the samples' load n(s+o)/M (SPEC reading, zero arrivals), for each prompt "
        f"regime: the capacities chosen by load and M = {spec.stated.capacity:,}, each at its measured load. "
        "A trace's line for a regime is missing where that regime did not run on it.",
        "exact": "TEL / OPT on the exact sub-samples, only where the optimum is proved (a sample without a proved "
        "optimum has no points).",
    }


def make_figures(
    rows: Sequence[dict[str, Any]],
    exact: Sequence[dict[str, Any]],
    spec: GridSpec,
    directory: Path,
    conditions: dict[str, tuple[dict[tuple[str, Regime], Condition], dict[tuple[str, str], Condition]]] | None = None,
) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, make in (
        ("relative", lambda p: plot_relative(rows, spec, p)),
        ("predictors", lambda p: plot_predictors(rows, spec, p)),
        ("latency", lambda p: plot_latency(rows, spec, p)),
        ("capacity", lambda p: plot_capacity(rows, spec, p)),
        ("load", lambda p: plot_load(rows, spec, p)),
        ("exact", lambda p: plot_exact(exact, spec, p)),
    ):
        path = make(directory / f"{name}.png")
        if path is not None:
            out[name] = path
    for cid, (table, loads) in (conditions or {}).items():
        path = plot_conditions(cid, table, loads, spec, directory / f"conditions_{cid}.png")
        if path is not None:
            out[f"conditions_{cid}"] = path
    return out
