"""The report's figures (matplotlib, Agg backend): ratio against x, bars per predictor, latency
distributions, the capacity sweep, and H-SF against the exact optimum."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers or CI
import matplotlib.pyplot as plt  # noqa: E402

from .cells import QUANTILES  # noqa: E402
from .grid import PAPER_CAPACITY, GridSpec  # noqa: E402

COLORS = {"hsf": "black", "amin": "tab:blue", "amax": "tab:red", "mcsf": "tab:green", "fcfs": "tab:gray"}


def _x(predictor: str) -> float | None:
    m = re.fullmatch(r"relative\(([0-9.]+)\)", predictor)
    return float(m.group(1)) if m else None


def _grid(n: int) -> tuple[Any, list[Any]]:
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    flat = [a for row in axes for a in row]
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat[:n]


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _setting(rows: Sequence[dict[str, Any]], spec: GridSpec) -> list[dict[str, Any]]:
    cap = PAPER_CAPACITY if PAPER_CAPACITY in spec.capacities else spec.capacities[0]
    return [r for r in rows if r["capacity"] == cap and r["arrivals"] == "zero" and r["status"] == "ok"]


def plot_relative(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path) -> Path | None:
    data = [r for r in _setting(rows, spec) if r["ratio_hsf"] is not None]
    if not any(_x(r["predictor"]) is not None for r in data):
        return None
    fig, axes = _grid(len(spec.traces))
    for ax, trace in zip(axes, spec.traces, strict=False):
        for s in ("amin", "amax"):
            pts = sorted((_x(r["predictor"]), r["ratio_hsf"]) for r in data
                         if r["trace"] == trace and r["scheduler"] == s and _x(r["predictor"]) is not None)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=COLORS[s], label=s)
        for s in ("fcfs", "mcsf"):
            v = [r["ratio_hsf"] for r in data if r["trace"] == trace and r["scheduler"] == s]
            if v:
                ax.axhline(v[0], color=COLORS[s], ls="--", lw=1, label=f"{s} (no interval)")
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_title(trace)
        ax.set_xlabel("x in [(1-x)o, (1+x)o]")
        ax.set_ylabel("TEL / TEL(H-SF)")
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_predictors(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path) -> Path | None:
    data = [r for r in _setting(rows, spec) if r["ratio_hsf"] is not None]
    if not data:
        return None
    fig, axes = _grid(len(spec.traces))
    preds = list(spec.predictors)
    for ax, trace in zip(axes, spec.traces, strict=False):
        width = 0.4
        for k, s in enumerate(("amin", "amax")):
            vals = []
            for p in preds:
                v = [r["ratio_hsf"] for r in data
                     if r["trace"] == trace and r["scheduler"] == s and r["predictor"] == p]
                vals.append(v[0] if v else float("nan"))
            ax.bar([i + (k - 0.5) * width for i in range(len(preds))], vals, width, color=COLORS[s], label=s)
        for s in ("fcfs", "mcsf"):
            v = [r["ratio_hsf"] for r in data if r["trace"] == trace and r["scheduler"] == s]
            if v:
                ax.axhline(v[0], color=COLORS[s], ls="--", lw=1, label=s)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(range(len(preds)))
        ax.set_xticklabels([p.replace("relative", "rel") for p in preds], rotation=45, ha="right", fontsize=7)
        ax.set_title(trace)
        ax.set_ylabel("TEL / TEL(H-SF)")
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_latency(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path, predictor: str = "binned") -> Path | None:
    data = _setting(rows, spec)
    if predictor not in spec.predictors:
        predictor = spec.predictors[0]
    if not data:
        return None
    fig, axes = _grid(len(spec.traces))
    for ax, trace in zip(axes, spec.traces, strict=False):
        for s in ("hsf", "amin", "amax", "mcsf", "fcfs"):
            v = [r for r in data if r["trace"] == trace and r["scheduler"] == s
                 and (s in ("hsf", "fcfs", "mcsf") or r["predictor"] == predictor)]
            if v and v[0].get("_quantiles"):
                ax.plot(v[0]["_quantiles"], QUANTILES, color=COLORS[s], label=s)
        ax.set_title(f"{trace} ({predictor})")
        ax.set_xlabel("latency (rounds)")
        ax.set_ylabel("fraction of requests")
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_capacity(rows: Sequence[dict[str, Any]], spec: GridSpec, path: Path) -> Path | None:
    data = [r for r in rows if r["arrivals"] == "zero" and r["ratio_hsf"] is not None]
    if len(spec.capacities) < 2 or not data:
        return None
    fig, axes = _grid(len(spec.traces))
    for ax, trace in zip(axes, spec.traces, strict=False):
        for s, p, style in (("amin", "crude", "o-"), ("amax", "crude", "o-"), ("amin", "binned", "s--"),
                            ("amax", "binned", "s--"), ("fcfs", "crude", "x:")):
            pts = sorted((r["capacity"], r["ratio_hsf"]) for r in data
                         if r["trace"] == trace and r["scheduler"] == s and r["predictor"] == p)
            if pts:
                label = s if s == "fcfs" else f"{s} {p}"
                ax.plot([q[0] for q in pts], [q[1] for q in pts], style, color=COLORS[s], label=label)
        ax.set_xscale("log")
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_title(trace)
        ax.set_xlabel("capacity M (tokens)")
        ax.set_ylabel("TEL / TEL(H-SF)")
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_exact(exact: Sequence[dict[str, Any]], path: Path) -> Path | None:
    data = [r for r in exact if r["status"] == "ok" and r["opt_status"] == "optimal"]
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.4))
    labels = [f"{r['trace']}\nseed {r['seed']}" for r in data]
    for k, (s, key) in enumerate((("hsf", "hsf_over_opt"), ("amin", "amin_over_opt"), ("amax", "amax_over_opt"))):
        ax.bar([i + (k - 1) * 0.27 for i in range(len(data))], [r[key] for r in data], 0.27, color=COLORS[s], label=s)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(range(len(data)))
    ax.set_xticklabels(labels, rotation=90, fontsize=6)
    ax.set_ylabel("TEL / OPT (proved)")
    ax.set_ylim(bottom=0.9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def make_figures(rows: Sequence[dict[str, Any]], exact: Sequence[dict[str, Any]], spec: GridSpec,
                 directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, make in (
        ("relative", lambda p: plot_relative(rows, spec, p)),
        ("predictors", lambda p: plot_predictors(rows, spec, p)),
        ("latency", lambda p: plot_latency(rows, spec, p)),
        ("capacity", lambda p: plot_capacity(rows, spec, p)),
        ("exact", lambda p: plot_exact(exact, p)),
    ):
        path = make(directory / f"{name}.png")
        if path is not None:
            out[name] = path
    return out
