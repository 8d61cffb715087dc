"""Certified lower bounds on the hindsight optimum for instances too large to solve exactly.

The bound is the LP relaxation of a relaxed time-indexed model, certified by
recomputing the Lagrangian bound from the LP's duals in numpy (any dual vector
gives a valid bound, so solver tolerances cannot make it invalid). Small
instances get the plain LP relaxation of the SPEC section 4 program; large ones
are first relaxed (see `lower_bound`), each step justified in docs/optimal.md.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from amin import Instance, load_instance

from .bracket import best_known_schedule
from .combinatorial import Bound, area_bound, mean_busy_time_bound
from .model import (
    RequestClass,
    TimeIndexedModel,
    build_model,
    exact_model,
    request_classes,
    start_slack,
)

EXACT_LP_MAX_REQUESTS = 200  # above this, skip simulating the online schedulers for a horizon


def round_down_classes(instance: Instance, max_classes: int) -> tuple[RequestClass, ...]:
    """At most `max_classes` classes of (prompt, output) rounded DOWN to a grid; a class's arrival is its earliest.

    Each grid holds lower quantiles of the values (its minimum included), and
    every value maps to the largest grid point not above it. The grid is refined
    while the number of occupied classes stays within `max_classes`. Arrivals are
    not rounded: `relaxed_model` keeps each member's own arrival as a release count.
    """
    values = np.array([(r.prompt, r.output) for r in instance.requests], dtype=np.int64)
    arrivals = np.array([r.arrival for r in instance.requests], dtype=np.int64)

    def rounded(g: int) -> np.ndarray:
        out = np.empty_like(values)
        for d in range(2):
            grid = np.unique(np.quantile(values[:, d], np.linspace(0, 1, g + 1)[:-1], method="lower"))
            out[:, d] = grid[np.searchsorted(grid, values[:, d], side="right") - 1]
        return out

    best = rounded(1)
    g = 2
    while g <= len(instance.requests) and len(np.unique(best, axis=0)) < len(np.unique(values, axis=0)):
        cand = rounded(g)
        if len(np.unique(cand, axis=0)) > max_classes:
            break
        best, g = cand, g + 1
    groups: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(map(tuple, best.tolist())):
        groups.setdefault(key, []).append(i)  # type: ignore[arg-type]
    return tuple(RequestClass(int(arrivals[m].min()), k[0], k[1], tuple(m)) for k, m in sorted(groups.items()))


@dataclass(frozen=True)
class LinearProgram:
    """min cost @ x  s.t.  eq @ x == eq_rhs,  ub @ x <= ub_rhs,  0 <= x <= upper (all bounds finite)."""

    cost: np.ndarray
    eq: sp.csr_matrix
    eq_rhs: np.ndarray
    ub: sp.csr_matrix
    ub_rhs: np.ndarray
    upper: np.ndarray

    @classmethod
    def of(cls, model: TimeIndexedModel) -> LinearProgram:
        rows = model.memory.shape[0]
        return cls(
            model.cost,
            model.equality,
            model.counts.astype(float),
            model.memory,
            np.full(rows, float(model.capacity)),
            model.upper,
        )


def relaxed_program(
    classes: tuple[RequestClass, ...], arrivals: np.ndarray, capacity: int, horizon: int, stride: int
) -> tuple[LinearProgram, int]:
    """The relaxed model of `lower_bound` as an LP; returns it and its number of start columns.

    Start columns: class k, bucket b starts requests somewhere in
    [max(b w, a_k), b w + w - 1] (a_k the earliest member arrival), charged its
    earliest start; its memory coefficient at tau is the least any start in the
    bucket holds there, rows kept at multiples of w. The tail column starts
    requests at B w or later (B buckets cover 0 .. horizon), is charged B w and
    holds no memory. Release counts: y[k, b] = starts of class k in buckets <= b
    is at most the number of members that arrived by (b + 1) w - 1. Every real
    schedule maps onto this LP at no more cost.
    """
    w = stride
    buckets = horizon // w + 1
    k_list, lo_list, hi_list = [], [], []
    for k, c in enumerate(classes):
        b = np.arange(c.arrival // w, buckets)
        k_list.append(np.full(len(b), k))
        lo_list.append(np.maximum(b * w, c.arrival))
        hi_list.append(b * w + w - 1)
    n_classes = len(classes)
    k_all = np.concatenate(k_list + [np.arange(n_classes)])
    lo_all = np.concatenate(lo_list + [np.full(n_classes, buckets * w)])
    hi_all = np.concatenate(hi_list + [np.full(n_classes, buckets * w)])
    n_start = len(k_all) - n_classes
    tail = np.concatenate([np.zeros(n_start, dtype=bool), np.ones(n_classes, dtype=bool)])
    model = build_model(classes, capacity, k_all, lo_all, hi_all, tail, stride=w)
    n = model.columns
    # y[j] for every non-tail start column j: y[j] = y[previous column of the class] + x[j].
    first = np.ones(n_start, dtype=bool)
    first[1:] = k_all[1:n_start] != k_all[: n_start - 1]
    rows = np.arange(n_start)
    prev = np.flatnonzero(~first)
    link = sp.csr_matrix(
        (
            np.concatenate([np.ones(n_start), -np.ones(len(prev)), -np.ones(n_start)]),
            (np.concatenate([rows, prev, rows]), np.concatenate([n + rows, n + prev - 1, rows])),
        ),
        shape=(n_start, n + n_start),
    )
    released = np.empty(n_start)
    for k, c in enumerate(classes):
        member_arrivals = np.sort(arrivals[list(c.members)])
        cols = np.flatnonzero(k_all[:n_start] == k)
        released[cols] = np.searchsorted(member_arrivals, hi_all[cols], side="right")
    eq = sp.vstack([sp.hstack([model.equality, sp.csr_matrix((n_classes, n_start))]), link]).tocsr()
    eq_rhs = np.concatenate([model.counts.astype(float), np.zeros(n_start)])
    ub = sp.hstack([model.memory, sp.csr_matrix((model.memory.shape[0], n_start))]).tocsr()
    upper = np.concatenate([model.upper, np.minimum(model.upper[:n_start], released)])
    program = LinearProgram(
        np.concatenate([model.cost, np.zeros(n_start)]), eq, eq_rhs, ub, np.full(ub.shape[0], float(capacity)), upper
    )
    return program, n_start


def certified_lp_bound(lp: LinearProgram, time_limit: float | None) -> float | None:
    """min cost @ x over the LP, as a Lagrangian bound recomputed from the duals (None if no duals).

    For any mu and any lambda >= 0, every feasible x has
    cost @ x >= sum_j min(0, r_j) u_j - lambda @ ub_rhs - mu @ eq_rhs, r = cost + UB^T lambda + EQ^T mu.
    """
    import cvxpy as cp

    x = cp.Variable(len(lp.cost), bounds=[np.zeros(len(lp.cost)), lp.upper])
    eq = lp.eq @ x == lp.eq_rhs
    cons = [eq]
    mem = None
    if lp.ub.shape[0]:
        mem = lp.ub @ x <= lp.ub_rhs
        cons.append(mem)
    problem = cp.Problem(cp.Minimize(lp.cost @ x), cons)
    opts: dict[str, Any] = {} if time_limit is None else {"time_limit": float(time_limit)}
    try:
        with warnings.catch_warnings():  # "may be inaccurate" after a time limit: the bound below is certified anyway
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=cp.HIGHS, **opts)
    except cp.error.SolverError:
        return None
    if eq.dual_value is None:
        return None
    mu0 = np.asarray(eq.dual_value, dtype=float).ravel()
    lam0 = np.zeros(lp.ub.shape[0]) if mem is None else np.asarray(mem.dual_value, dtype=float).ravel()
    best = -math.inf
    for mu in (mu0, -mu0):  # cvxpy's sign convention does not matter: each candidate is a valid bound
        for lam in (np.maximum(lam0, 0), np.maximum(-lam0, 0)):
            r = lp.cost + lp.ub.T @ lam + lp.eq.T @ mu
            value = float(np.minimum(r, 0) @ lp.upper - lam @ lp.ub_rhs - mu @ lp.eq_rhs)
            best = max(best, value)
    return best


def lower_bound(
    instance: Instance | Any, time_limit: float | None = None, max_classes: int = 50, *, max_entries: int = 3_000_000
) -> Bound:
    """A certified lower bound on the optimal total latency.

    Up to EXACT_LP_MAX_REQUESTS requests with at most `max_classes` distinct kinds:
    the LP relaxation of the (aggregated) SPEC section 4 program ("lp"). Otherwise
    ("relaxed-lp"): prompts and outputs rounded down into at most
    `max_classes` classes, starts bucketed, memory rows sampled, arrivals kept as
    release counts, a tail column
    past an estimated horizon, with the stride chosen so the memory matrix has
    about `max_entries` nonzeros. The value is the largest of that LP bound, the
    order-statistics `area_bound`, the mean-busy-time bound (`optimal.combinatorial`)
    and the trivial sum of outputs.
    """
    clock = time.perf_counter()
    inst = load_instance(instance)
    trivial = sum(r.output for r in inst.requests)
    constant = sum(r.output - r.arrival for r in inst.requests)
    exact = request_classes(inst, aggregate=True)
    if len(inst.requests) <= EXACT_LP_MAX_REQUESTS and len(exact) <= max_classes:
        slack = start_slack(inst, best_known_schedule(inst).total_latency)
        model, method, classes, stride = exact_model(inst, exact, slack), "lp", exact, 1
    else:
        classes = round_down_classes(inst, max_classes)
        # Any horizon is valid (the tail column takes the rest); aim past a schedule's likely makespan.
        area = sum(c.count * (c.output * c.prompt + c.output * (c.output + 1) // 2) for c in classes)
        horizon = max(c.arrival for c in classes) + 2 * math.ceil(area / inst.capacity) + max(c.output for c in classes)
        mean_output = sum(c.output for c in classes) / len(classes)
        stride = max(1, math.ceil(math.sqrt(len(classes) * horizon * mean_output / max_entries)))
        arrivals = np.array([r.arrival for r in inst.requests], dtype=np.int64)
        program, columns = relaxed_program(classes, arrivals, inst.capacity, horizon, stride)
        method = "relaxed-lp"
    if method == "lp":
        program, columns = LinearProgram.of(model), model.columns
    remaining = None if time_limit is None else max(0.01, time_limit - (time.perf_counter() - clock))
    lp = certified_lp_bound(program, remaining)
    lp_bound = None if lp is None else math.ceil(lp + constant - 1e-6 * max(1.0, abs(lp)))
    area = area_bound(inst)

    busy = mean_busy_time_bound(inst)
    # Report the method that gave the best bound; the LP's own value stays visible in lp_bound.
    value, method = max(
        (trivial, "trivial"),
        (area, "area"),
        (busy, "mean-busy-time"),
        (lp_bound if lp_bound is not None else trivial, method),
        key=lambda vm: vm[0],
    )
    return Bound(value, method, time.perf_counter() - clock, len(classes), stride, columns, lp_bound, area)
