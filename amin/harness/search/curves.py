"""Worst-ratio curves over alpha (claims C7 and C8): targeted search per alpha, the Amax adversary family, and fits.

For alpha in 1, 1/2, ..., 1/64 (common interval, all arrivals 0) the worst
ratio found for amin and amax against H-SF (large instances) and against OPT
(small instances; a lower bound on OPT where the exact optimum is out of
reach, labelled as such). Amax is also run on the explicit adversary family of
C8 (all requests predicted [l, u], every true output l), swept over its sizes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from amin import Instance, Request, simulate
from amin.harness.search.targeted import SearchOutcome, search

ALPHAS = tuple(1 / 2**k for k in range(7))


def amax_lower_bound(alpha: float) -> float:
    """The published lower bound of C8: alpha^-1 (1 + alpha^-1/2) / 2."""
    return (1 / alpha) * (1 + alpha**-0.5) / 2


@dataclass(frozen=True)
class CurvePoint:
    alpha: float
    scheduler: str
    versus: str
    ratio: float
    reference_kind: str  # "hsf", "opt" or "opt_lower_bound" (then the ratio is an upper bound on the true one)
    examples: int
    requests: int
    seconds: float
    instance: dict[str, Any] | None = None


def adversary_instance(
    alpha: float, lower: int, n: int, capacity: int, prompt: int = 0, long_first: int = 0
) -> Instance:
    """C8's adversary: n requests all predicted [l, ceil(l / alpha)], every true output l (Amax reserves u each).

    `long_first` extra requests with true output u come first in index order:
    Amax cannot tell them apart (same interval), so its (L, a, i) order runs
    them first and every short request waits behind them; H-SF runs the short ones first.
    """
    upper = max(lower, math.ceil(lower / alpha - 1e-12))
    long = [Request(prompt, upper, lower, upper)] * long_first
    return Instance(capacity, tuple(long + [Request(prompt, lower, lower, upper)] * n))


def amax_family_worst(alpha: float, *, max_requests: int = 256) -> tuple[float, dict[str, int]]:
    """The worst amax/H-SF ratio over a grid of the adversary family's parameters (l, capacity, n, long_first)."""
    best: tuple[float, dict[str, int]] = (0.0, {})
    for lower in (1, 2, 4):
        upper = max(lower, math.ceil(lower / alpha - 1e-12))
        for mult in (1, 2, 4):
            capacity = upper * mult
            for n in sorted({2**k for k in range(int(math.log2(max_requests)) + 1)} | {capacity // lower}):
                if not 1 <= n <= max_requests:
                    continue
                for long_first in (0, 1, 2, 4):
                    inst = adversary_instance(alpha, lower, n, capacity, long_first=long_first)
                    a = simulate(inst, "amax", tie_break="index").total_latency
                    h = simulate(inst, "hsf", tie_break="index").total_latency
                    if a / h > best[0]:
                        params = {"lower": lower, "upper": upper, "capacity": capacity, "requests": n}
                        best = (a / h, {**params, "long_first": long_first})
    return best


def worst_point(
    alpha: float, scheduler: str, versus: str, *, examples: int, seed: int
) -> tuple[CurvePoint, SearchOutcome]:
    """One targeted search: large instances against H-SF, small ones against OPT."""
    t0 = time.perf_counter()
    size = "large" if versus == "hsf" else "small"
    out = search(scheduler, versus, family="common", alpha=alpha, examples=examples, seed=seed, size=size)
    assert out.best is not None and out.instance is not None
    point = CurvePoint(
        alpha,
        scheduler,
        versus,
        out.best.ratio,
        out.best.reference.kind,
        out.examples,
        len(out.instance),
        time.perf_counter() - t0,
        out.instance.to_dict(),
    )
    return point, out


def curves(
    *,
    alphas: tuple[float, ...] = ALPHAS,
    schedulers: tuple[str, ...] = ("amin", "amax"),
    examples: int = 150,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[CurvePoint]:
    points = []
    for alpha in alphas:
        for scheduler in schedulers:
            for versus in ("hsf", "opt"):
                point, _ = worst_point(alpha, scheduler, versus, examples=examples, seed=seed)
                points.append(point)
                if progress is not None:
                    progress(f"alpha={alpha:.4g} {scheduler}/{versus}: {point.ratio:.4g}")
    return points


@dataclass(frozen=True)
class Fit:
    model: str  # "a*log(1/alpha)+b" or "c*(1/alpha)^k"
    params: tuple[float, float]
    rss: float  # residual sum of squares in ratio space

    def predict(self, alpha: np.ndarray) -> np.ndarray:
        x = np.log(1 / alpha)
        if self.model.startswith("a*log"):
            return self.params[0] * x + self.params[1]
        return self.params[0] * np.exp(self.params[1] * x)


def fit_growth(alphas: list[float], ratios: list[float]) -> tuple[Fit, Fit]:
    """Least-squares fits of the worst ratios: logarithmic a*log(1/alpha)+b, and a power law c*(1/alpha)^k.

    The power law is fitted in log space (log r = log c + k log(1/alpha)); both
    residuals are reported in ratio space so that they compare.
    """
    x = np.log(1 / np.asarray(alphas, dtype=float))
    r = np.asarray(ratios, dtype=float)
    a, b = np.polyfit(x, r, 1)
    log_fit = Fit("a*log(1/alpha)+b", (float(a), float(b)), 0.0)
    k, logc = np.polyfit(x, np.log(r), 1)
    pow_fit = Fit("c*(1/alpha)^k", (float(np.exp(logc)), float(k)), 0.0)
    al = np.asarray(alphas, dtype=float)
    return (
        Fit(log_fit.model, log_fit.params, float(np.sum((log_fit.predict(al) - r) ** 2))),
        Fit(pow_fit.model, pow_fit.params, float(np.sum((pow_fit.predict(al) - r) ** 2))),
    )


def point_dict(p: CurvePoint) -> dict[str, Any]:
    d = asdict(p)
    d.pop("instance")
    return d
