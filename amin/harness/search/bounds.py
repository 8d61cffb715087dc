"""An upper bound on amax's competitive ratio in SPEC's model (claim C8), and the two inequalities it rests on.

docs/search.md ("Amax from above") has the proof; tests/quality/test_families.py checks each step on simulated
instances. In the theorems' setting (arrivals 0, one prompt s, one interval [l, u], outputs in [l, u]):

1. amax (every planned length u, no eviction) admits whenever fewer than k = floor(M / (s + u)) requests run,
   in index order, so it starts each request no later than list scheduling on k machines does:
   TEL(amax) <= sum_i o_i + (1/k) sum_i sum_{j < i} o_j  (`list_bound`).
2. OPT >= sum_i o_i, and OPT >= (1/M) sum_k (sum of the k smallest token areas o(s + (o+1)/2))  (`area_bound`).
3. Writing both sums over output levels x (N(x) = #{o_j > x}) and maximising pointwise gives
   amax / OPT <= 1 + (M/k) rho <= 1 + 2 (s + u) rho <= U(alpha) = 1 + 2 R*(alpha), where R* is the root of
   F(R) = alpha - R alpha^2 / 2 + ln((1 + R) / (1 + R alpha)) / R (units u = 1; s = 0 is the worst prompt).
"""

from __future__ import annotations

import math

from amin import Instance


def published_amax_bound(alpha: float) -> float:
    """C8's published lower bound on amax's ratio: alpha^-1 (1 + alpha^-1/2) / 2."""
    return (1 / alpha) * (1 + alpha**-0.5) / 2


def _f(r: float, alpha: float) -> float:
    return alpha - r * alpha * alpha / 2 + math.log((1 + r) / (1 + r * alpha)) / r


def amax_root(alpha: float) -> float:
    """R*(alpha): the root of F (strictly decreasing in R, F(0+) = 1 > 0, F -> -infinity), by bisection."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    lo, hi = 1e-12, 1.0
    while _f(hi, alpha) > 0:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if _f(mid, alpha) > 0:
            lo = mid
        else:
            hi = mid
    return hi  # F(hi) <= 0: hi >= R*, so the bound stays an upper bound


def amax_upper_bound(alpha: float) -> float:
    """U(alpha) = 1 + 2 R*(alpha) >= amax / OPT >= amax / H-SF on every instance of the theorems' setting."""
    return 1 + 2 * amax_root(alpha)


def bound_crossing(lo: float = 1e-9, hi: float = 1.0) -> float:
    """The largest alpha at which U(alpha) <= the published lower bound (below it the published bound cannot
    hold in SPEC's model), by bisection on log(alpha); U / published falls monotonically as alpha -> 0."""
    if amax_upper_bound(lo) > published_amax_bound(lo):
        raise ValueError("no crossing above the lower end of the range")
    a, b = math.log(lo), math.log(hi)
    for _ in range(200):
        mid = (a + b) / 2
        if amax_upper_bound(math.exp(mid)) <= published_amax_bound(math.exp(mid)):
            a = mid
        else:
            b = mid
    return math.exp(a)


def list_bound(instance: Instance) -> float:
    """Step 1: sum_i o_i + (1/k) sum_i sum_{j<i} o_j, an upper bound on amax's total latency (index order)."""
    r0 = instance.requests[0]
    k = instance.capacity // (r0.prompt + r0.upper)
    before = total = 0
    for r in instance.requests:
        total += r.output + before / k
        before += r.output
    return total


def area_bound(instance: Instance) -> float:
    """Step 2: max(sum of outputs, (1/M) sum_k S_k), S_k the k smallest token areas o s + o (o + 1) / 2."""
    areas = sorted(r.output * r.prompt + r.output * (r.output + 1) / 2 for r in instance.requests)
    acc = total = 0.0
    for a in areas:
        acc += a
        total += acc / instance.capacity
    return max(total, sum(r.output for r in instance.requests))


def level_ratio(outputs: list[int], prompt: int) -> float:
    """Step 3's quantity W_idx / W_spt(A): the strict-prefix sum of the outputs in the given order over the
    inclusive-prefix sum of the token areas in ascending order (what the bound maximises)."""
    before = w_idx = 0
    for o in outputs:
        w_idx += before
        before += o
    acc = w_spt = 0.0
    for a in sorted(o * prompt + o * (o + 1) / 2 for o in outputs):
        acc += a
        w_spt += acc
    return w_idx / w_spt


def level_ratio_bound(alpha: float, prompt_ratio: float = 0.0) -> float:
    """The pointwise supremum rho of `level_ratio` in units u = 1 (so divide by u for integer instances):
    the root R of l - R (s l + l^2 / 2) + ln((1 + R(s + 1)) / (1 + R(s + l))) / R, with l = alpha, s = prompt_ratio."""
    s, low = prompt_ratio, alpha

    def g(r: float) -> float:
        return low - r * (s * low + low * low / 2) + math.log((1 + r * (s + 1)) / (1 + r * (s + low))) / r

    lo, hi = 1e-12, 1.0
    while g(hi) > 0:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if g(mid) > 0:
            lo = mid
        else:
            hi = mid
    return hi
