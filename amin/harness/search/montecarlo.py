"""Distribution claims C9-C11 by Monte Carlo: amin's expected latency ratio to H-SF (and OPT) under random outputs.

Each cell of the grid (family, parameter, number of requests, capacity) draws
`trials` instances from explicit seeds: all arrivals 0, one common prompt and
interval [l, u], outputs from `strategies.sample_outputs`. Two estimates with
95% confidence intervals: the mean of per-instance ratios (normal interval) and
the ratio of mean latencies E[amin] / E[H-SF] (seeded bootstrap interval).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from amin import Instance, Request, simulate
from amin.harness.search.ratio import optimum
from amin.harness.search.strategies import sample_outputs

# Family -> (claim, bound). C9 is judged under SPEC's reading "all short or all long" (two_point_all);
# independent two-point outputs (two_point) are reported beside it.
CLAIM_BOUNDS = {
    "two_point_all": ("C9", 1.5),
    "two_point": ("C9", 1.5),
    "geometric": ("C10", 1.7),
    "linear_geometric": ("C11", 1.56),
}
PRIMARY = {"C9": "two_point_all", "C10": "geometric", "C11": "linear_geometric"}


@dataclass(frozen=True)
class Cell:
    family: str
    param: float
    requests: int
    capacity: int
    lower: int
    upper: int
    versus: str
    trials: int
    mean_ratio: float
    mean_ratio_ci: tuple[float, float]
    ratio_of_means: float
    ratio_of_means_ci: tuple[float, float]
    max_ratio: float
    seeds: tuple[int, int]  # first and last seed used


def draw_instance(
    family: str, param: float, n: int, capacity: int, lower: int, upper: int, prompt: int, seed: int
) -> Instance:
    outs = sample_outputs(family, n, lower, upper, param, random.Random(seed))
    return Instance(capacity, tuple(Request(prompt, o, lower, upper) for o in outs))


def cell(
    family: str,
    param: float,
    n: int,
    capacity: int,
    *,
    lower: int,
    upper: int,
    prompt: int = 0,
    trials: int = 100,
    versus: str = "hsf",
    seed: int = 0,
) -> Cell:
    alg, ref = [], []
    seeds = range(seed, seed + trials)
    for s in seeds:
        inst = draw_instance(family, param, n, capacity, lower, upper, prompt, s)
        alg.append(simulate(inst, "amin", tie_break="random", seed=s).total_latency)
        if versus == "hsf":
            ref.append(simulate(inst, "hsf", tie_break="index").total_latency)
        else:
            r = optimum(
                inst, method="fast", exact_only=True
            )  # tiny instances; cross-checked against the judge in tests
            ref.append(r.total_latency)
    a, h = np.asarray(alg, float), np.asarray(ref, float)
    ratios = a / h
    half = 1.96 * ratios.std(ddof=1) / np.sqrt(trials) if trials > 1 else float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, trials, size=(1000, trials))
    boot = a[idx].mean(axis=1) / h[idx].mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return Cell(
        family,
        param,
        n,
        capacity,
        lower,
        upper,
        versus,
        trials,
        float(ratios.mean()),
        (float(ratios.mean() - half), float(ratios.mean() + half)),
        float(a.mean() / h.mean()),
        (float(lo), float(hi)),
        float(ratios.max()),
        (seeds[0], seeds[-1]),
    )


def grid(
    *,
    families: tuple[str, ...] = tuple(CLAIM_BOUNDS),
    params: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9),
    sizes: tuple[int, ...] = (5, 20, 60, 200),
    capacities: tuple[int, ...] = (1, 2, 4),
    lower: int = 2,
    upper: int = 16,
    trials: int = 60,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[Cell]:
    """The Monte Carlo grid against H-SF; `capacities` are multiples of the upper bound u (prompt 0)."""
    out = []
    for family in families:
        for param in params:
            for n in sizes:
                for mult in capacities:
                    c = cell(family, param, n, upper * mult, lower=lower, upper=upper, trials=trials, seed=seed)
                    out.append(c)
            if progress is not None:
                progress(f"{family} p={param}")
    return out


def opt_grid(
    *,
    families: tuple[str, ...] = tuple(CLAIM_BOUNDS),
    params: tuple[float, ...] = (0.3, 0.7),
    n: int = 5,
    lower: int = 1,
    upper: int = 6,
    capacities: tuple[int, ...] = (6, 12),
    trials: int = 30,
    seed: int = 0,
) -> list[Cell]:
    """Small instances against the exact optimum."""
    return [
        cell(f, p, n, m, lower=lower, upper=upper, trials=trials, versus="opt", seed=seed)
        for f in families
        for p in params
        for m in capacities
    ]
