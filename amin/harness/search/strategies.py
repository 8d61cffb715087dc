"""Hypothesis strategies for the adversarial search: each draws only valid instances, by construction (no filtering).

Families (the `FAMILIES` registry; `family_strategy(name, ...)` builds one):

- `common` (the theory's setting): all arrivals 0, one common prompt `s`, one
  common interval `[l, u]` with `l = max(1, ceil(alpha u))` when alpha is given
  (else `l` drawn in `[1, u]`), outputs in `[l, u]` drawn as `l + k` so that
  shrinking moves them to `l`, capacity in `[s + u, s + u + extra]` so every
  request fits alone.
- `heterogeneous` (the real setting): per-request prompts, outputs and arrivals;
  intervals contain the output (`correct=True`) or are drawn around it and may
  miss it on either side (`correct=False`).
- `two_point_all`, `two_point`, `geometric`, `linear_geometric`: the common setting with outputs
  sampled from a parametric distribution on `[l, u]` (see `sample_outputs`);
  Hypothesis draws the parameters and a sampling seed, so a search moves over
  the family's parameters and shrinks them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from amin import Instance, Request

DISTRIBUTIONS = ("two_point_all", "two_point", "geometric", "linear_geometric")
FAMILIES = ("common", "heterogeneous", *DISTRIBUTIONS)


def lower_for(alpha: float, upper: int) -> int:
    """The common lower bound of the theory's setting: `l = max(1, ceil(alpha u))` (so `l / u >= alpha`)."""
    return max(1, min(upper, math.ceil(alpha * upper - 1e-12)))


# --- output distributions on [l, u] ----------------------------------------------------
def sample_outputs(family: str, n: int, lower: int, upper: int, param: float, rng: random.Random) -> list[int]:
    """`n` outputs on `[lower, upper]` from one of the distribution families.

    - `two_point_all`: all outputs `upper` with probability `param`, else all `lower`
      (SPEC C9's "all short or all long": one coin per instance).
    - `two_point`: each output independently `lower` or `upper`; `param` = P(upper).
    - `geometric`: `lower - 1 + G`, `G ~ Geometric(param)` on {1, 2, ...}, truncated at `upper`
      (the leftover mass sits on `upper`).
    - `linear_geometric`: P(o = k) proportional to `(k - lower + 1) * param ** (k - lower)`
      for k in [lower, upper] (a geometric tail weighted by a linear ramp; param in (0, 1)).
    """
    if family == "two_point_all":
        return [upper if rng.random() < param else lower] * n
    if family == "two_point":
        return [upper if rng.random() < param else lower for _ in range(n)]
    if family == "geometric":
        out = []
        for _ in range(n):
            k = lower
            while k < upper and rng.random() >= param:
                k += 1
            out.append(k)
        return out
    if family == "linear_geometric":
        support = list(range(lower, upper + 1))
        weights = [(k - lower + 1) * param ** (k - lower) for k in support]
        return rng.choices(support, weights=weights, k=n)
    raise ValueError(f"unknown distribution {family!r} (choose from {', '.join(DISTRIBUTIONS)})")


def distribution_params() -> dict[str, st.SearchStrategy[float]]:
    """The parameter range searched for each distribution family."""
    return {
        "two_point_all": st.integers(1, 99).map(lambda k: k / 100),
        "two_point": st.integers(1, 99).map(lambda k: k / 100),
        "geometric": st.integers(1, 99).map(lambda k: k / 100),
        "linear_geometric": st.integers(1, 99).map(lambda k: k / 100),
    }


# --- the families -----------------------------------------------------------------------
@st.composite
def common_instances(
    draw: st.DrawFn,
    *,
    alpha: float | None = None,
    max_requests: int = 8,
    max_upper: int = 8,
    max_prompt: int = 3,
    max_extra_capacity: int = 12,
    outputs: str = "uniform",
) -> Instance:
    """The theory's setting: arrivals 0, common prompt and interval; see the module docstring.

    With `alpha` given, `u` is at least `ceil(1 / alpha)` so that `l / u` can be close to alpha.
    `outputs` is "uniform" (each `l + k`, k drawn in [0, u - l]) or a distribution family.
    """
    low_u = 1 if alpha is None else max(1, math.ceil(1 / alpha))
    upper = draw(st.integers(low_u, max(low_u, max_upper)))
    lower = lower_for(alpha, upper) if alpha is not None else draw(st.integers(1, upper))
    prompt = draw(st.integers(0, max_prompt))
    capacity = prompt + upper + draw(st.integers(0, max_extra_capacity))
    n = draw(st.integers(1, max_requests))
    if outputs == "uniform":
        outs = [lower + draw(st.integers(0, upper - lower)) for _ in range(n)]
    else:
        param = draw(distribution_params()[outputs])
        rng = random.Random(draw(st.integers(0, 2**16)))
        outs = sample_outputs(outputs, n, lower, upper, param, rng)
    return Instance(capacity, tuple(Request(prompt, o, lower, upper) for o in outs))


@st.composite
def heterogeneous_instances(
    draw: st.DrawFn,
    *,
    max_requests: int = 6,
    max_capacity: int = 16,
    max_arrival: int = 6,
    correct: bool = True,
) -> Instance:
    """The real setting: per-request prompts, outputs, arrivals and intervals.

    The capacity is drawn first; each prompt leaves room for at least one token,
    each output fits alone. With `correct=False` the interval is drawn around the
    output with independent slack on each side, so it may miss the truth.
    """
    capacity = draw(st.integers(2, max_capacity))
    n = draw(st.integers(1, max_requests))
    reqs = []
    for _ in range(n):
        s = draw(st.integers(0, capacity - 1))
        o = draw(st.integers(1, capacity - s))
        a = draw(st.integers(0, max_arrival))
        if correct:
            lo = o - draw(st.integers(0, o - 1))
            up = o + draw(st.integers(0, capacity))
        else:
            lo = max(1, o + draw(st.integers(-o, capacity)))
            up = lo + draw(st.integers(0, capacity))
        reqs.append(Request(s, o, lo, up, a))
    return Instance(capacity, tuple(reqs))


@st.composite
def requests_for(
    draw: st.DrawFn,
    capacity: int,
    *,
    max_arrival: int = 6,
    correct: bool | None = None,
    prompt: int | None = None,
    max_output: int | None = None,
) -> Request:
    """One request that fits alone in `capacity`. `correct`: True forces lower <= output <= upper,
    False draws the interval anywhere (it may or may not contain the output), None lets Hypothesis choose."""
    s = draw(st.integers(0, capacity - 1)) if prompt is None else prompt
    top = capacity - s if max_output is None else min(capacity - s, max_output)
    o = draw(st.integers(1, top))
    a = draw(st.integers(0, max_arrival))
    if correct is None:
        correct = draw(st.booleans())
    if correct:
        lo = draw(st.integers(1, o))
        up = draw(st.integers(o, max(o, capacity)))
    else:
        lo = draw(st.integers(1, capacity))
        up = draw(st.integers(lo, max(lo, capacity)))
    predicted = draw(st.none() | st.integers(1, capacity))
    return Request(prompt=s, output=o, lower=lo, upper=up, arrival=a, predicted=predicted)


@st.composite
def instances(
    draw: st.DrawFn,
    *,
    max_requests: int = 6,
    min_capacity: int = 1,
    max_capacity: int = 30,
    max_arrival: int = 6,
    correct: bool | None = None,
    common_prompt: bool | None = None,
    max_output: int | None = None,
) -> Instance:
    """A valid instance; see the module docstring for the shapes drawn."""
    capacity = draw(st.integers(min_capacity, max_capacity))
    n = draw(st.integers(1, max_requests))
    if common_prompt is None:
        common_prompt = draw(st.booleans())
    prompt = draw(st.integers(0, capacity - 1)) if common_prompt else None
    reqs = [
        draw(requests_for(capacity, max_arrival=max_arrival, correct=correct, prompt=prompt, max_output=max_output))
        for _ in range(n)
    ]
    return Instance(capacity, tuple(reqs))


SCHEDULER_OPTIONS = st.fixed_dictionaries(
    {
        "tie_break": st.sampled_from(["index", "random"]),
        "seed": st.integers(0, 2**16),
        "eviction_key": st.sampled_from(["bound", "progress"]),
    }
)
"""Every option combination of SPEC section 3."""


def family_strategy(family: str, *, alpha: float | None = None, size: str = "small") -> st.SearchStrategy[Instance]:
    """The strategy for one family. `size`: "small" (tiny, OPT solvable exactly) or "large"."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r} (choose from {', '.join(FAMILIES)})")
    small = size == "small"
    if family == "heterogeneous":
        return heterogeneous_instances(max_requests=6 if small else 20, max_capacity=14 if small else 60)
    kw: dict[str, Any] = dict(
        alpha=alpha,
        max_requests=6 if small else 40,
        max_upper=(8 if small else 64) if alpha is None else max(8 if small else 64, math.ceil(2 / alpha)),
        max_prompt=2 if small else 8,
        max_extra_capacity=10 if small else 200,
    )
    if family != "common":
        kw["outputs"] = family
    return common_instances(**kw)


STRATEGIES: dict[str, Callable[..., st.SearchStrategy[Instance]]] = {
    "common": common_instances,
    "heterogeneous": heterogeneous_instances,
}
