"""Regenerate the search's evidence: reports/evidence/search.json, reports/curves.md, figures and corpus entries.

Run `python -m amin.harness.search.evidence` (about ten minutes on two cores; `--quick`
for a smoke run). Everything is seeded; the command line is stored in the
evidence file so that anyone can regenerate it.
"""

# ruff: noqa: E501  (report lines: one markdown row or sentence per source line reads better than split f-strings)

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from amin import load_instance, simulate
from amin.check import check_result
from amin.harness.evidence import versions as _versions
from amin.harness.evidence import write_evidence
from amin.harness.search import corpus, curves, montecarlo, scale
from amin.harness.search.ratio import evaluate, optimum
from amin.harness.search.targeted import search

SIX_IDENTICAL = Path(__file__).resolve().parents[2] / "examples" / "six_identical.json"


def versions() -> dict[str, str]:
    """The versions this module's evidence records (`amin.harness.evidence.versions`, the one home)."""
    return _versions(*corpus.EVIDENCE_PACKAGES)


def c12(corpus_dir: Path) -> dict[str, Any]:
    """SPEC section 4's six identical requests: H-SF 36 against OPT computed by exhaustive search (not typed in)."""
    t0 = time.perf_counter()
    inst = load_instance(SIX_IDENTICAL)
    ref = optimum(inst, exact_only=True)
    ev = evaluate(inst, "hsf", "opt", options={"tie_break": "index"}, ref=ref)
    meta = corpus.entry_meta(
        ev, "opt", family="six_identical", alpha=None, seed=None, claim="C12", command="amin replay reports/corpus"
    )
    path = corpus.save_entry(corpus_dir, inst, meta, name="c12-hsf-vs-opt-six-identical.json")
    return {
        "id": "C12",
        "verdict": "refuted" if ev.ratio > 1 else "tested",
        "summary": f"six identical requests (s=1, o=3, M=9): H-SF {ev.total_latency} vs OPT {ref.total_latency} "
        f"(OPT starts {list(ref.starts or ())}, from {ref.source})",
        "box": None,
        "examples": 1,
        "worst_ratio": ev.ratio,
        "evidence": [str(path), "amin replay reports/corpus"],
        "seeds": [],
        "seconds": time.perf_counter() - t0,
    }


def targeted_entries(corpus_dir: Path, examples: int, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The quality searches, saved to the corpus when they beat its record: H-SF vs OPT, amin evicting twice."""
    notes, claims = [], []
    t0 = time.perf_counter()
    runs: list[dict[str, Any]] = [
        dict(scheduler="hsf", versus="opt", family="common", objective="ratio"),
        dict(scheduler="hsf", versus="opt", family="heterogeneous", objective="ratio"),
        dict(scheduler="amin", versus="hsf", family="heterogeneous", objective="evictions"),
        dict(scheduler="amin", versus="opt", family="heterogeneous", objective="ratio"),
        dict(scheduler="amax", versus="hsf", family="common", objective="ratio", alpha=0.1),
    ]
    best_by = {"common": 1.0, "other": 1.0}
    for r in runs:
        out = search(
            r["scheduler"],
            r["versus"],
            family=r["family"],
            alpha=r.get("alpha"),
            objective=r["objective"],
            examples=examples,
            seed=seed,
        )
        assert out.best is not None and out.instance is not None
        meta = corpus.entry_meta(
            out.best,
            r["versus"],
            family=r["family"],
            alpha=r.get("alpha"),
            seed=seed,
            examples=out.examples,
            size="small",
            shrunk=out.shrunk,
        )
        prev = corpus.record(corpus_dir, corpus.record_key(meta))
        floor = 1.0 if r["objective"] == "ratio" else 0.0
        saved = (
            corpus.save_entry(corpus_dir, out.instance, meta)
            if out.value > (prev if prev is not None else floor)
            else None
        )
        notes.append(
            f"{r['scheduler']} vs {r['versus']} ({r['family']}, {r['objective']}): {out.value:.4g} "
            f"after {out.examples} examples" + (f", saved {saved.name}" if saved else "")
        )
        if r["scheduler"] == "hsf":
            # The claim's own setting is all arrivals at 0 (family common); arrivals over time are reported apart.
            key = "common" if r["family"] == "common" else "other"
            best_by[key] = max(best_by[key], out.value)
    best_hsf = max(best_by.values())
    claims.append(
        {
            "id": "C12",
            "verdict": "refuted" if best_hsf > 1 else "tested",
            "summary": f"targeted search also finds H-SF above OPT: worst ratio {best_by['common']:.4g} with all "
            f"arrivals at 0 (the claim's setting), {best_by['other']:.4g} with arrivals over time (corpus)",
            "box": "searched small instances: common interval with arrivals 0, and heterogeneous with arrivals",
            "examples": 2 * examples,
            "worst_ratio": best_by["common"],
            "evidence": ["reports/corpus"],
            "seeds": [seed],
            "seconds": time.perf_counter() - t0,
        }
    )
    return claims, notes


def properties(examples: int, seed: int) -> list[dict[str, Any]]:
    """C1, C2, C16 as properties over searched heterogeneous instances (each schedule re-checked independently)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from amin.harness.search.strategies import heterogeneous_instances

    t0 = time.perf_counter()
    counts = {"n": 0}

    def body(inst: Any) -> None:
        counts["n"] += 1
        ax = simulate(inst, "amax", tie_break="index")
        check_result(inst, ax)
        assert ax.evictions == 0 and ax.peak_memory <= inst.capacity  # C1: correct intervals by construction
        for key in ("bound", "progress"):
            am = simulate(inst, "amin", tie_break="random", seed=counts["n"], eviction_key=key)  # C16: it returned
            check_result(inst, am)  # C2: the independent checker recomputes memory at every time

    run = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )(hseed(seed)(given(heterogeneous_instances(max_requests=10, max_capacity=30))(body)))
    run()
    secs = time.perf_counter() - t0
    cmd = "python -m amin.harness.search.evidence"
    common = {
        "box": None,
        "examples": counts["n"],
        "worst_ratio": None,
        "evidence": [cmd],
        "seeds": [seed],
        "seconds": secs,
    }
    return [
        {
            "id": "C1",
            "verdict": "tested",
            "summary": "amax: no eviction, peak memory <= M on random correct-interval instances (up to 10 requests, M <= 30, arrivals)",
            **common,
        },
        {
            "id": "C2",
            "verdict": "tested",
            "summary": "amin: every schedule passes the independent memory checker (both eviction keys, random ties)",
            **common,
        },
        {
            "id": "C16",
            "verdict": "tested",
            "summary": "amin terminated within the round budget on every instance tried",
            **common,
        },
    ]


def _fmt_alpha(a: float) -> str:
    return "1" if a == 1 else f"1/{round(1 / a)}"


def curve_claims(
    points: list[curves.CurvePoint],
    family_rows: list[tuple[float, float, dict[str, int]]],
    fig_dir: Path,
    examples: int,
    seed: int,
    secs: float,
) -> tuple[list[dict[str, Any]], str]:
    alphas = sorted({p.alpha for p in points}, reverse=True)
    get = {(p.alpha, p.scheduler, p.versus): p for p in points}
    lines = [
        "## Small instances: worst ratios found by the first targeted search (common interval, all arrivals 0)",
        "",
        "These small searches are kept for their ratios to the exact OPT; the C7/C8 verdicts rest on the adversary at "
        "scale (section above), which this search, limited to 40 requests and small capacities, could not see.",
        "",
        f"Each cell: the worst ratio after {examples} Hypothesis examples (seed {seed}), then shrunk. "
        "Against H-SF: instances up to 40 requests. Against OPT: up to 6 requests; `lb` marks a ratio "
        "against a lower bound on OPT (an upper bound on the true ratio), where the exact optimum was out of reach.",
        "",
        "| alpha | amin/H-SF | amin/OPT | amax/H-SF | amax/OPT | amax family/H-SF | C8 bound alpha^-1(1+alpha^-1/2)/2 |",
        "|---|---|---|---|---|---|---|",
    ]
    fam = {a: (v, prm) for a, v, prm in family_rows}
    for a in alphas:
        cell = []
        for s in ("amin", "amax"):
            for v in ("hsf", "opt"):
                p = get[(a, s, v)]
                cell.append(
                    f"{p.ratio:.3f}"
                    + (" (lb)" if p.reference_kind == "opt_lower_bound" else "")
                    + f" [{p.requests} req]"
                )
        fv, prm = fam[a]
        lines.append(
            f"| {_fmt_alpha(a)} | {' | '.join(cell)} | {fv:.3f} (l={prm['lower']}, u={prm['upper']}, M={prm['capacity']}, n={prm['requests']}, long first={prm['long_first']}) | {curves.amax_lower_bound(a):.1f} |"
        )
    amin_h = [get[(a, "amin", "hsf")].ratio for a in alphas]
    logf, powf = curves.fit_growth(alphas, amin_h)
    better = logf if logf.rss <= powf.rss else powf
    amax_h = [max(get[(a, "amax", "hsf")].ratio, fam[a][0]) for a in alphas]
    _, amax_pow = curves.fit_growth(alphas, amax_h)
    lines += [
        "",
        "## Growth of amin's worst ratio on small instances (superseded for C7 by the adversary at scale)",
        "",
        f"- logarithmic fit: {logf.params[0]:.3f} * log(1/alpha) + {logf.params[1]:.3f}, residual sum of squares {logf.rss:.4g}",
        f"- power-law fit: {powf.params[0]:.3f} * (1/alpha)^{powf.params[1]:.3f}, residual sum of squares {powf.rss:.4g}",
        f"- better fit: **{better.model}**. Both fit a handful of search maxima, which are lower bounds on the true "
        "worst case; a flat or slowly growing curve is consistent with O(log(1/alpha)), it does not prove it.",
        "",
        "## Amax on small instances and the old adversary grid (superseded for C8 by the adversary at scale)",
        "",
        f"- worst amax/H-SF per alpha (search or adversary family): {', '.join(f'{_fmt_alpha(a)}: {v:.3g}' for a, v in zip(alphas, amax_h, strict=True))}",
        f"- power-law fit of amax's worst ratio: {amax_pow.params[0]:.3f} * (1/alpha)^{amax_pow.params[1]:.3f} "
        "(the published bound grows like (1/alpha)^1.5).",
        "- The adversary family (every request predicted [l, u], true output l, optionally a few requests with true "
        "output u placed first in index order) makes amax plan u per request, so it admits about a factor u/l (up to "
        "2u/l with staggered starts) fewer requests per round than H-SF, and the long requests it cannot tell apart "
        "make every short one wait. In this discrete model its ratio grows like 1/alpha (both effects are bounded by "
        "about u/l per request), unbounded as alpha -> 0, but we did not reach the alpha^-1.5 bound. That is a gap to "
        "report (the paper's model or constants may differ), not a refutation: a lower bound is refuted only by a "
        "proof, not by a search that falls short.",
        "",
        "![worst ratios](figures/search_curves.png)",
    ]
    _plot_curves(alphas, get, fam, logf, powf, fig_dir / "search_curves.png")
    cmd = "python -m amin.harness.search.evidence"
    # A finite search cannot confirm an asymptotic bound (C7) or a lower bound it does not reach (C8): the
    # numbers are the evidence, the verdict stays open.
    c7 = {
        "id": "C7",
        "verdict": "open",
        "summary": "a search cannot confirm an O(log(1/alpha)) bound; "
        + (
            "the worst ratios are not monotone in alpha, so the search is not saturated; "
            if any(b < a - 1e-9 for a, b in zip(amin_h, amin_h[1:], strict=False))
            else ""
        )
        + f"worst amin/H-SF found for alpha={', '.join(_fmt_alpha(a) for a in alphas)}: {', '.join(f'{v:.3g}' for v in amin_h)}; better fit {better.model} "
        f"(log rss {logf.rss:.3g}, power rss {powf.rss:.3g}, exponent {powf.params[1]:.3f})",
        "box": "common interval, arrivals 0, <= 40 requests",
        "examples": examples * len(alphas) * 2,
        "worst_ratio": max(max(amin_h), max(get[(a, "amin", "opt")].ratio for a in alphas)),
        "evidence": ["reports/curves.md", cmd],
        "seeds": [seed],
        "seconds": secs,
    }
    c8 = {
        "id": "C8",
        "verdict": "tested" if amax_h[-1] >= curves.amax_lower_bound(alphas[-1]) else "open",
        "summary": f"amax/H-SF grows as alpha->0 (worst {amax_h[-1]:.3g} at alpha={_fmt_alpha(alphas[-1])}, power-fit exponent "
        f"{amax_pow.params[1]:.2f}); the published alpha^-1(1+alpha^-1/2)/2 ({curves.amax_lower_bound(alphas[-1]):.0f} at "
        f"{_fmt_alpha(alphas[-1])}) was "
        + ("reached" if amax_h[-1] >= curves.amax_lower_bound(alphas[-1]) else "not reached"),
        "box": "common interval, arrivals 0; adversary family grid",
        "examples": examples * len(alphas) * 2,
        "worst_ratio": max(amax_h),
        "evidence": ["reports/curves.md", cmd],
        "seeds": [seed],
        "seconds": secs,
    }
    return [c7, c8], "\n".join(lines)


def _plot_curves(alphas, get, fam, logf, powf, path: Path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    inv = np.array([1 / a for a in alphas])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s, m in (("amin", "o"), ("amax", "s")):
        for v, ls in (("hsf", "-"), ("opt", "--")):
            ax.plot(
                inv,
                [get[(a, s, v)].ratio for a in alphas],
                ls,
                marker=m,
                label=f"{s} / {'H-SF' if v == 'hsf' else 'OPT (or its lower bound)'}",
            )
    ax.plot(inv, [fam[a][0] for a in alphas], ":", marker="^", label="amax on adversary family / H-SF")
    ax.plot(inv, [curves.amax_lower_bound(a) for a in alphas], "k-", lw=0.8, label="C8 bound alpha^-1(1+alpha^-1/2)/2")
    al = np.array(alphas)
    ax.plot(inv, logf.predict(al), color="gray", lw=0.8, ls="-.", label="amin log fit")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("1 / alpha")
    ax.set_ylabel("worst latency ratio found")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def distribution_claims(
    trials: int, examples: int, seed: int, fig_dir: Path, quick: bool
) -> tuple[list[dict[str, Any]], str]:
    t0 = time.perf_counter()
    kw: dict[str, Any] = dict(trials=trials, seed=seed)
    if quick:
        kw.update(params=(0.3, 0.7), sizes=(5, 20), capacities=(1, 2))
    cells = montecarlo.grid(**kw)
    opt_cells = montecarlo.opt_grid(trials=max(10, trials // 2), seed=seed)
    lines = [
        "## Distribution claims C9-C11 (Monte Carlo)",
        "",
        f"Each cell: {trials} instances (seeds {seed}..{seed + trials - 1}), all arrivals 0, prompt 0, common interval "
        "[2, 16], outputs from the family with parameter p; capacity a multiple of u. Mean of per-instance ratios "
        "amin/H-SF with a 95% normal interval, and ratio of mean latencies with a 95% bootstrap interval "
        "(1000 resamples).",
        "",
        "| family | p | n | M | mean ratio [95% CI] | E[amin]/E[H-SF] [95% CI] | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c.family} | {c.param} | {c.requests} | {c.capacity} | {c.mean_ratio:.3f} [{c.mean_ratio_ci[0]:.3f}, {c.mean_ratio_ci[1]:.3f}] "
            f"| {c.ratio_of_means:.3f} [{c.ratio_of_means_ci[0]:.3f}, {c.ratio_of_means_ci[1]:.3f}] | {c.max_ratio:.3f} |"
        )
    lines += [
        "",
        "Against the exact optimum (5 requests, interval [1, 6]):",
        "",
        "| family | p | M | mean ratio amin/OPT [95% CI] | E[amin]/E[OPT] | max |",
        "|---|---|---|---|---|---|",
    ]
    for c in opt_cells:
        lines.append(
            f"| {c.family} | {c.param} | {c.capacity} | {c.mean_ratio:.3f} [{c.mean_ratio_ci[0]:.3f}, {c.mean_ratio_ci[1]:.3f}] | {c.ratio_of_means:.3f} | {c.max_ratio:.3f} |"
        )
    lines += [
        "",
        "Per family: the worst single instance a targeted search finds (against H-SF), the cell with the "
        "largest expected ratio, and a confirmation run of that cell with fresh seeds and 4x the trials "
        "(selecting the largest of many cells inflates it; the confirmation does not).",
        "",
    ]
    per_family: dict[str, dict[str, Any]] = {}
    for family, (cid, bound) in montecarlo.CLAIM_BOUNDS.items():
        out = search(
            "amin",
            "hsf",
            family=family,
            examples=examples,
            seed=seed,
            size="large",
            options={"tie_break": "random", "seed": seed},
        )
        fam_cells = [c for c in cells if c.family == family] + [c for c in opt_cells if c.family == family]
        worst = max(fam_cells, key=lambda c: c.ratio_of_means)
        confirm = montecarlo.cell(
            family,
            worst.param,
            worst.requests,
            worst.capacity,
            lower=worst.lower,
            upper=worst.upper,
            trials=4 * worst.trials,
            versus=worst.versus,
            seed=seed + 10_000,
        )
        per_family[family] = dict(
            cid=cid,
            bound=bound,
            search=out.value,
            search_examples=out.examples,
            worst=worst,
            confirm=confirm,
            instances=sum(c.trials for c in fam_cells) + confirm.trials,
        )
        lines.append(
            f"- {family} ({cid}, bound {bound}): worst single instance {out.value:.3f} ({out.examples} examples); "
            f"largest E[amin]/E[{worst.versus}] {worst.ratio_of_means:.3f} at p={worst.param}, n={worst.requests}, "
            f"M={worst.capacity}; confirmation ({confirm.trials} fresh instances, seeds {confirm.seeds[0]}..{confirm.seeds[1]}): "
            f"{confirm.ratio_of_means:.3f} [{confirm.ratio_of_means_ci[0]:.3f}, {confirm.ratio_of_means_ci[1]:.3f}]"
        )
    claims = []
    for cid, primary in montecarlo.PRIMARY.items():
        f = per_family[primary]
        bound, conf = f["bound"], f["confirm"]
        # Refuted only when the confirmation run's whole 95% interval of the expected ratio lies above the bound.
        refuted = conf.ratio_of_means_ci[0] > bound
        summary = (
            f"{primary}: largest expected ratio E[amin]/E[{conf.versus}] {conf.ratio_of_means:.3f} "
            f"[95% CI {conf.ratio_of_means_ci[0]:.3f}, {conf.ratio_of_means_ci[1]:.3f}] at p={conf.param}, "
            f"n={conf.requests}, M={conf.capacity}, l={conf.lower}, u={conf.upper} vs bound {bound}; "
            f"worst single instance from search {f['search']:.3f} (per instance, not the expectation the claim bounds)"
        )
        others = [k for k, v in per_family.items() if v["cid"] == cid and k != primary]
        for k in others:
            o = per_family[k]["confirm"]
            summary += (
                f"; under the {k} reading: {o.ratio_of_means:.3f} [{o.ratio_of_means_ci[0]:.3f}, "
                f"{o.ratio_of_means_ci[1]:.3f}]"
            )
        if cid == "C11" and not refuted:
            summary += "; tight: " + (
                "a cell reaches the bound within its CI"
                if conf.ratio_of_means_ci[1] >= bound
                else "no cell reached 1.56"
            )
        claims.append(
            {
                "id": cid,
                "verdict": "refuted" if refuted else "tested",
                "summary": summary,
                "box": "arrivals 0, prompt 0, common interval; grid of p, n <= 200, M in {u, 2u, 4u}",
                "examples": sum(
                    per_family[k]["instances"] + per_family[k]["search_examples"] for k in [primary, *others]
                ),
                "worst_ratio": conf.ratio_of_means,
                "evidence": ["reports/curves.md", "python -m amin.harness.search.evidence"],
                "seeds": sorted({seed, conf.seeds[0]}),
                "seconds": time.perf_counter() - t0,
            }
        )
    lines += [
        "",
        "Our reading of the families (the paper's exact definitions are not available): two_point_all is SPEC's "
        '"all short or all long" (one coin per instance: every output u with probability p, else every output l), '
        "two_point draws each output independently; geometric is l - 1 + Geometric(p) truncated at u; linearly "
        "weighted geometric has P(o = k) proportional to (k - l + 1) p^(k - l) on [l, u]. Verdicts use the "
        "expected ratio E[amin] / E[reference] of the confirmation run.",
    ]
    return claims, "\n".join(lines)


def _adversary_summary(reports: Path) -> dict[str, Any] | None:
    path = reports / scale.SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m amin.harness.search.evidence", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a small smoke run (not for the committed evidence)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reports", default="reports")
    p.add_argument(
        "--update", action="store_true", help="replace stored evidence even where this run covers less (a smaller box)"
    )
    args = p.parse_args(argv)
    reports = Path(args.reports)
    corpus_dir, fig_dir = reports / "corpus", reports / "figures"
    examples = 40 if args.quick else 150
    started = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {msg}", file=sys.stderr, flush=True)

    claims = [c12(corpus_dir)]
    say("C12 done")
    more, notes = targeted_entries(corpus_dir, examples, args.seed)
    claims += more
    say("targeted searches done")
    claims += properties(100 if args.quick else 600, args.seed)
    say("properties done")
    t0 = time.perf_counter()
    alphas = curves.ALPHAS[:3] if args.quick else curves.ALPHAS
    curve_examples = examples if args.quick else 200
    points = curves.curves(alphas=alphas, examples=curve_examples, seed=args.seed, progress=say)
    family_rows = [(a, *curves.amax_family_worst(a)) for a in alphas]
    c78, curves_md = curve_claims(points, family_rows, fig_dir, curve_examples, args.seed, time.perf_counter() - t0)
    # C7 and C8 come from the adversary at scale when its run is stored (python -m amin.harness.search.scale).
    adversary = _adversary_summary(reports)
    claims += scale.claim_items(adversary) if adversary is not None else c78
    say("curves done")
    dist, dist_md = distribution_claims(20 if args.quick else 100, examples, args.seed, fig_dir, args.quick)
    claims += dist
    say("distributions done")
    command = "python -m amin.harness.search.evidence" + (" --quick" if args.quick else "") + f" --seed {args.seed}"
    header = [
        "# Ratio curves and distribution claims (generated)",
        "",
        f"Generated {_dt.date.today().isoformat()} by `{command}` on {platform.machine()} / {platform.system()}, "
        f"versions: {', '.join(f'{k} {v}' for k, v in versions().items())}. Do not edit: regenerate.",
        "",
        "Targeted searches behind the corpus:",
        "",
        *[f"- {n}" for n in notes],
        "",
    ]
    text = "\n".join(header) + curves_md + "\n\n" + dist_md + "\n"
    if adversary is not None:
        text = scale.splice(text, scale.render_markdown(adversary))
    (reports / "curves.md").write_text(text, encoding="utf-8")
    evidence = {
        "source": "search",
        "generated": _dt.date.today().isoformat(),
        "versions": versions(),
        "command": command,
        "claims": claims,
    }
    written = write_evidence(reports / "evidence" / "search.json", evidence, update=args.update)
    if not written.written:
        say(f"kept the stored {written.path}: {written.reason} (pass --update to replace it)")
        return 1
    say(f"wrote {reports / 'evidence' / 'search.json'} and {reports / 'curves.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
