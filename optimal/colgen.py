"""The time-indexed LP relaxation of SPEC section 4 by column generation, priced at full time resolution; every
iteration yields a Lagrangian bound, computed exactly in integers (docs/optimal.md, "Column generation")."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from amin import Instance

from .model import latest_starts, request_classes, start_slack

MAX_ROUNDS = 2_000_000  # rows of the master (one per time): above this, no column generation
MAX_PRICING = 400_000_000  # (request, start) pairs priced per iteration: above this, no column generation
AREA_WINDOW_REQUESTS = 3_000  # the area windows cost O(n^2 log n): above this many requests, the plain ones


@dataclass(frozen=True)
class LagrangianBound:
    """A certified lower bound from column generation: the best Lagrangian bound over its iterations."""

    value: int
    method: str  # "colgen" or "colgen+cliques" (with concurrency cuts)
    seconds: float
    iterations: int = 0
    columns: int = 0
    rows: int = 0
    lp_value: float | None = None  # the last restricted master's optimum: an upper bound on the LP, never reported
    converged: bool = False  # no column prices out: the bound is the LP optimum (up to the multipliers' rounding)


def concurrency_families(instance: Instance, max_k: int = 4) -> list[tuple[int, tuple[int, ...]]]:
    """(k, members): never more than k members run at once, because any k + 1 of them hold more than M.

    Every running request holds at least s + 1; members are the requests with s + 1 >= theta_k, for the
    smallest theta_k whose k + 1 smallest such values sum past M. Redundant families are left out.
    """
    prompts = sorted({r.prompt + 1 for r in instance.requests})
    sizes = sorted(r.prompt + 1 for r in instance.requests)
    out: list[tuple[int, tuple[int, ...]]] = []
    seen: set[tuple[int, ...]] = set()
    for k in range(1, max_k + 1):
        for theta in prompts:
            first = next(q for q, v in enumerate(sizes) if v >= theta)
            if len(sizes) - first <= k:
                break
            if sum(sizes[first : first + k + 1]) > instance.capacity:
                members = tuple(i for i, r in enumerate(instance.requests) if r.prompt + 1 >= theta)
                if members not in seen:
                    seen.add(members)
                    out.append((k, members))
                break
    return out


@dataclass(frozen=True)
class _Windows:
    lo: np.ndarray  # earliest start of each request (its arrival)
    hi: np.ndarray  # latest start priced: min(latest start of an optimal schedule, rounds)
    rounds: int  # R: multipliers live on tau = 1..R (zero after), memory sums are cut at R


def _windows(instance: Instance, upper_starts: Sequence[int]) -> _Windows:
    """Start windows for pricing. Multipliers are zero after R = the known schedule's last completion, so a start
    t >= R costs t + o - a and the cheapest of those is t = R: cutting every window at R loses nothing."""
    reqs = instance.requests
    upper = sum(p + r.output - r.arrival for r, p in zip(reqs, upper_starts, strict=True))
    classes = request_classes(instance, aggregate=False)
    area = len(classes) <= AREA_WINDOW_REQUESTS
    latest = latest_starts(instance, classes, start_slack(instance, upper), area)
    rounds = max(p + r.output for r, p in zip(reqs, upper_starts, strict=True))
    lo = np.array([r.arrival for r in reqs], dtype=np.int64)
    hi = np.empty(len(lo), dtype=np.int64)
    for c, last in zip(classes, latest, strict=True):
        hi[c.members[0]] = min(int(last), rounds)
    return _Windows(lo, np.maximum(hi, lo), rounds)


def pricing_pairs(instance: Instance, upper_starts: Sequence[int]) -> int:
    """An upper bound on the (request, start) pairs priced per iteration, without computing the windows."""
    reqs = instance.requests
    rounds = max(p + r.output for r, p in zip(reqs, upper_starts, strict=True))
    return sum(max(1, rounds - r.arrival + 1) for r in reqs)


def _scale_for(instance: Instance, lam: np.ndarray, gam: Sequence[np.ndarray], rounds: int) -> int:
    """The largest power of two (<= 2^30) at which every integer of the exact pricing stays below 2^62.

    With T = max prompt + R + max output, every term is at most scale x T x (sum lam + sum gam + 1): the
    prefix sums of lam and tau lam, (s - t) times a window sum of lam, and (t + o - a) scale. A coarse scale
    costs bound: each multiplier loses up to 1/scale, over R rounds and every request's area.
    """
    reqs = instance.requests
    top = max(r.prompt for r in reqs) + rounds + max(r.output for r in reqs) + 1
    mass = top * (float(np.maximum(lam, 0).sum()) + sum(float(np.maximum(g, 0).sum()) for g in gam) + 1.0)
    scale = 1 << 30
    while scale > 1 and mass * scale * 16 >= 2.0**62:
        scale >>= 1
    return scale


def lagrangian(
    instance: Instance,
    windows: _Windows,
    lam: np.ndarray,
    families: Sequence[tuple[int, tuple[int, ...]]],
    gam: Sequence[np.ndarray],
) -> tuple[int, np.ndarray, np.ndarray, int]:
    """Exact Lagrangian bound for multipliers lam[tau] >= 0 on memory and gam[k][tau] >= 0 on the families.

    L = sum_j min_{t in window j} [t + o_j - a_j + sum_d lam[t+d](s_j + d) + sum_{k: j in B_k} sum_d gam_k[t+d]]
        - M sum lam - sum_k k sum gam_k  <=  OPT,
    because OPT's schedule is one of the choices and its penalty terms are <= 0. The multipliers are rounded
    down to multiples of 1/scale and everything is summed in int64, so the bound is exact, not a float.
    Returns (ceil(L), the minimising start of each request, its scaled minimum, scale).
    """
    rounds = windows.rounds
    scale = _scale_for(instance, lam, gam, rounds)
    lam_i = np.floor(np.maximum(lam[: rounds + 1], 0) * scale).astype(np.int64)
    lam_i[0] = 0
    tau = np.arange(rounds + 1, dtype=np.int64)
    l1 = np.cumsum(lam_i)
    l2 = np.cumsum(lam_i * tau)
    # A run past R is priced up to R only (the multipliers are zero after R): pad the prefix sums with their last value.
    pad = max(r.output for r in instance.requests)
    l1 = np.concatenate([l1, np.full(pad, l1[-1])])
    l2 = np.concatenate([l2, np.full(pad, l2[-1])])
    g_sums = []
    penalty = instance.capacity * int(lam_i.sum())
    member_of: list[list[int]] = [[] for _ in instance.requests]
    for f, ((k, members), g) in enumerate(zip(families, gam, strict=True)):
        g_i = np.floor(np.maximum(g[: rounds + 1], 0) * scale).astype(np.int64)
        g_i[0] = 0
        g_sum = np.cumsum(g_i)
        g_sums.append(np.concatenate([g_sum, np.full(pad, g_sum[-1])]))
        penalty += k * int(g_i.sum())
        for j in members:
            member_of[j].append(f)
    n = len(instance.requests)
    best_start = np.empty(n, dtype=np.int64)
    best_value = np.empty(n, dtype=np.int64)
    total = 0
    for j, r in enumerate(instance.requests):
        t = np.arange(windows.lo[j], windows.hi[j] + 1, dtype=np.int64)
        end = t + r.output
        w1 = l1[end] - l1[t]
        cost = (t + (r.output - r.arrival)) * scale + (r.prompt - t) * w1 + (l2[end] - l2[t])
        for f in member_of[j]:
            cost += g_sums[f][end] - g_sums[f][t]
        k = int(np.argmin(cost))
        best_start[j] = t[k]
        best_value[j] = cost[k]
        total += int(cost[k])
    lagr = total - penalty
    return -(-lagr // scale), best_start, best_value, scale


def _reduced_cost(
    j: int,
    t: int,
    prompt: np.ndarray,
    output: np.ndarray,
    arrival: np.ndarray,
    lam: np.ndarray,
    gam: Sequence[np.ndarray],
    member_of: list[list[int]],
) -> float:
    """Cost of column (j, t) plus its memory and family prices (the request row's price is subtracted by the caller)."""
    d = np.arange(1, min(int(output[j]), len(lam) - 1 - t) + 1)
    value = float(t + output[j] - arrival[j]) + float(lam[t + d] @ (prompt[j] + d))
    for f in member_of[j]:
        value += float(gam[f][t + d].sum())
    return value


def fluid_prices(instance: Instance, rounds: int) -> np.ndarray:
    """Memory prices pi[tau] (tau = 0..rounds) of the fluid relaxation behind `mean_busy_time_bound`.

    With all arrivals at 0 the fluid fills rounds with work in order of area, and the prices that make its
    solution optimal fall by 1/A_k from round tau to tau + 1, k the request whose work spans the two, down
    to 0 after the last round; so the Lagrangian bound at pi is >= the mean-busy-time bound (docs/optimal.md).
    With arrivals the same recipe is only a starting point (every multiplier gives a valid bound).
    """
    capacity = instance.capacity
    area = np.sort(
        np.array([r.prompt * r.output + r.output * (r.output + 1) // 2 for r in instance.requests], dtype=np.float64)
    )
    done = np.cumsum(area)
    last = int(np.ceil(done[-1] / capacity))
    boundaries = np.arange(1, last)  # boundary u lies between rounds u and u + 1
    k = np.minimum(np.searchsorted(done, boundaries * float(capacity), side="right"), len(area) - 1)
    pi = np.zeros(max(rounds, last) + 1)
    pi[1:last] = np.cumsum((1.0 / area[k])[::-1])[::-1]
    return pi[: rounds + 1]


def column_generation(
    instance: Instance,
    upper_starts: Sequence[int],
    time_limit: float | None = 60.0,
    *,
    cliques: bool = True,
    max_k: int = 4,
    smoothing: float = 0.5,
    tolerance: float = 1e-6,
) -> LagrangianBound | None:
    """The time-indexed LP bound (plus concurrency cuts if `cliques`) by column generation; None if too large.

    The master starts from the columns of a checked schedule (`upper_starts`, so it is feasible) and gets, in
    every iteration, the cheapest start of every request whose reduced cost is negative. Pricing covers every
    start in the request's window [a_j, latest start of an optimal schedule], one round at a time. Each
    iteration's duals give a Lagrangian bound (`lagrangian`); the best is returned. It equals the LP optimum
    when no column prices out (`converged`).
    """
    import highspy

    clock = time.perf_counter()
    reqs = instance.requests
    n = len(reqs)
    if max(p + r.output for r, p in zip(reqs, upper_starts, strict=True)) > MAX_ROUNDS or (
        pricing_pairs(instance, upper_starts) > MAX_PRICING
    ):
        return None
    win = _windows(instance, upper_starts)
    rounds = win.rounds
    families = concurrency_families(instance, max_k) if cliques else []
    prompt = np.array([r.prompt for r in reqs], dtype=np.int64)
    output = np.array([r.output for r in reqs], dtype=np.int64)
    arrival = np.array([r.arrival for r in reqs], dtype=np.int64)
    member_of: list[list[int]] = [[] for _ in reqs]
    for f, (_, members) in enumerate(families):
        for j in members:
            member_of[j].append(f)
    n_rows = n + rounds * (1 + len(families))  # request rows, memory rows tau = 1..R, then each family's rows

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # Columns are only ever added, so the last basis stays primal feasible: primal simplex from it, no presolve.
    h.setOptionValue("presolve", "off")
    h.setOptionValue("simplex_strategy", 4)
    inf = highspy.kHighsInf
    lower = np.concatenate([np.ones(n), np.full(rounds * (1 + len(families)), -inf)])
    upper_rhs = np.concatenate(
        [np.ones(n), np.full(rounds, float(instance.capacity))] + [np.full(rounds, float(k)) for k, _ in families]
    )
    h.addRows(n_rows, lower, upper_rhs, 0, np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))

    columns: set[tuple[int, int]] = set()

    def add_columns(pairs: list[tuple[int, int]]) -> None:
        costs, starts_ptr, index, value = [], [0], [], []
        for j, t in pairs:
            if (j, t) in columns:
                continue
            columns.add((j, t))
            d = np.arange(1, min(int(output[j]), rounds - t) + 1)  # memory rows stop at R: a relaxation
            rows = [np.array([j]), n + t + d - 1]
            vals = [np.array([1.0]), (prompt[j] + d).astype(float)]
            for f in member_of[j]:
                rows.append(n + rounds * (1 + f) + t + d - 1)
                vals.append(np.ones(len(d)))
            index.append(np.concatenate(rows))
            value.append(np.concatenate(vals))
            costs.append(float(t + output[j] - arrival[j]))
            starts_ptr.append(starts_ptr[-1] + len(index[-1]))
        if not costs:
            return
        m = len(costs)
        h.addCols(
            m,
            np.array(costs),
            np.zeros(m),
            np.ones(m),
            int(starts_ptr[-1]),
            np.array(starts_ptr[:-1], dtype=np.int32),
            np.concatenate(index).astype(np.int32),
            np.concatenate(value),
        )

    add_columns([(j, int(p)) for j, p in enumerate(upper_starts)])
    # Wentges smoothing: price at a mix of the best multipliers so far (at first the fluid relaxation's memory
    # prices, whose bound is already >= the mean-busy-time bound) and the master's duals; fall back to the
    # master's own duals when the mix finds no column that improves the master ("mispricing").
    stab_lam = fluid_prices(instance, rounds)
    stab_gam = [np.zeros(rounds + 1) for _ in families]
    best = lagrangian(instance, win, stab_lam, families, stab_gam)[0]
    iterations = 0
    lp_value = None
    converged = False
    while True:
        left = None if time_limit is None else time_limit - (time.perf_counter() - clock)
        if left is not None and left <= 0:
            break
        if left is not None:  # HiGHS counts its time limit over every run of one object
            h.setOptionValue("time_limit", float(h.getRunTime() + left))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        iterations += 1
        lp_value = h.getInfo().objective_function_value
        dual = np.asarray(h.getSolution().row_dual, dtype=float)
        mu = dual[:n]
        # HiGHS: reduced cost = c - A^T y, so a binding <= row has y <= 0 and its price is lambda = -y.
        lam = np.concatenate([[0.0], np.maximum(-dual[n : n + rounds], 0.0)])
        gam = [
            np.concatenate([[0.0], np.maximum(-dual[n + rounds * (1 + f) : n + rounds * (2 + f)], 0.0)])
            for f in range(len(families))
        ]
        fresh: list[tuple[int, int]] = []
        for alpha in (smoothing, 0.0) if smoothing > 0 else (0.0,):
            mix_lam = alpha * stab_lam + (1 - alpha) * lam
            mix_gam = [alpha * a + (1 - alpha) * b for a, b in zip(stab_gam, gam, strict=True)]
            value, start, _, _ = lagrangian(instance, win, mix_lam, families, mix_gam)
            if value > best:
                best, stab_lam, stab_gam = value, mix_lam, mix_gam
            fresh = [
                (j, int(start[j]))
                for j in range(n)
                if (j, int(start[j])) not in columns
                and _reduced_cost(j, int(start[j]), prompt, output, arrival, lam, gam, member_of) - mu[j] < -tolerance
            ]
            if fresh:
                break
        if not fresh:
            converged = True
            break
        add_columns(fresh)
        if lp_value is not None and best >= lp_value - tolerance:  # the bound met the master: LP solved
            converged = True
            break
    method = "colgen+cliques" if families else "colgen"
    return LagrangianBound(
        int(best), method, time.perf_counter() - clock, iterations, len(columns), n_rows, lp_value, converged
    )
