"""The time-indexed model of SPEC section 4 as sparse matrices: request classes, start windows, memory rows.

One builder serves both the exact integer program (one column per class and
start time) and the relaxations in `optimal.bounds` (one column per class and
bucket of start times, memory rows sampled every `stride` rounds).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from amin import Instance, check_schedule


@dataclass(frozen=True)
class RequestClass:
    """Interchangeable requests: same arrival, prompt and output; `members` are request indices, ascending."""

    arrival: int
    prompt: int
    output: int
    members: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.members)


def request_classes(instance: Instance, aggregate: bool = True) -> tuple[RequestClass, ...]:
    """Group identical requests (aggregate=True) or give every request its own class."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, r in enumerate(instance.requests):
        key = (r.arrival, r.prompt, r.output) if aggregate else (r.arrival, r.prompt, r.output, i)
        groups.setdefault(key, []).append(i)
    return tuple(RequestClass(k[0], k[1], k[2], tuple(m)) for k, m in sorted(groups.items()))


@dataclass(frozen=True)
class KnownSchedule:
    """A feasible non-preemptive schedule (checked), with where it came from."""

    total_latency: int
    starts: tuple[int, ...]
    source: str


def total_latency(instance: Instance, starts: tuple[int, ...] | list[int]) -> int:
    return sum(p + r.output - r.arrival for r, p in zip(instance.requests, starts, strict=True))


LIST_MAX_REQUESTS = 100


def list_schedule(instance: Instance, order: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """Place requests in `order`, each at its earliest feasible start given those already placed.

    Later requests may start before earlier ones (backfilling); see `optimal.schedules.backfill_schedule`.
    """
    from .schedules import backfill_schedule

    return backfill_schedule(instance, order)


def improve_order(instance: Instance, order: list[int], deadline: float) -> tuple[list[int], int]:
    """Adjacent swaps of a list-scheduling order while they lower the total latency (until `deadline`)."""
    order = list(order)
    current = total_latency(instance, list_schedule(instance, order))
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for k in range(len(order) - 1):
            if time.perf_counter() > deadline:
                break
            order[k], order[k + 1] = order[k + 1], order[k]
            value = total_latency(instance, list_schedule(instance, order))
            if value < current:
                current, improved = value, True
            else:
                order[k], order[k + 1] = order[k + 1], order[k]
    return order, current


ALPHAS = (0.0, 0.25, 0.5, 0.75, 0.99)


def lp_guided_schedule(instance: Instance, model: TimeIndexedModel, search_seconds: float) -> KnownSchedule | None:
    """List scheduling in the order of the LP relaxation's alpha-points, improved by adjacent swaps; checked.

    The alpha-point of a request is the first start time by which an alpha share
    of it has started in the LP solution (member m of a class: the time its class's
    cumulative LP starts reach m + alpha). On instances with many requests this
    order beats shortest-first by far (40 requests of 4 kinds: 1,041 against 1,193),
    and a better schedule both seeds the solver and narrows the start windows.
    Returns None if the LP gives no solution (e.g. `list_schedule` is too slow).
    """
    import cvxpy as cp

    reqs = instance.requests
    if len(reqs) > LIST_MAX_REQUESTS or model.columns == 0:
        return None
    deadline = time.perf_counter() + search_seconds
    x = cp.Variable(model.columns, bounds=[np.zeros(model.columns), model.upper])
    constraints = [model.equality @ x == model.counts]
    if model.memory.shape[0]:
        constraints.append(model.memory @ x <= model.capacity)
    try:
        with warnings.catch_warnings():  # "may be inaccurate" after the time limit: any x gives a valid order
            warnings.simplefilter("ignore", UserWarning)
            problem = cp.Problem(cp.Minimize(model.cost @ x), constraints)
            problem.solve(solver=cp.HIGHS, time_limit=float(search_seconds))
    except cp.error.SolverError:
        return None
    if x.value is None:
        return None
    value = np.maximum(np.asarray(x.value, dtype=float), 0.0)
    candidates = []
    for alpha in ALPHAS:
        point = [0] * len(reqs)
        for k, cls in enumerate(model.classes):
            cols = np.flatnonzero(model.column_class == k)
            cumulative = np.cumsum(value[cols])
            for m, i in enumerate(cls.members):
                j = min(int(np.searchsorted(cumulative, m + alpha - 1e-9)), len(cols) - 1)
                point[i] = int(model.column_lo[cols[j]])
        order = sorted(range(len(reqs)), key=lambda i: (point[i], reqs[i].output, i))
        candidates.append((total_latency(instance, list_schedule(instance, order)), order))
    order, _ = improve_order(instance, min(candidates)[1], deadline)
    starts = compact(instance, list_schedule(instance, order))
    check_schedule(instance, starts)
    return KnownSchedule(total_latency(instance, starts), starts, "lp-list")


def start_slack(instance: Instance, upper: int) -> int:
    """D such that every schedule with total latency <= upper starts request i in [a_i, a_i + D].

    c_i - a_i = TEL - sum_{j != i} (c_j - a_j) <= upper - sum_{j != i} o_j, because
    every c_j - a_j >= o_j; so p_i = c_i - o_i <= a_i + upper - sum_j o_j.
    """
    slack = upper - sum(r.output for r in instance.requests)
    assert slack >= 0, "a feasible schedule cannot beat the sum of outputs"
    return slack


@dataclass(frozen=True)
class TimeIndexedModel:
    """min cost @ x  s.t.  equality @ x == counts,  memory @ x <= capacity,  0 <= x <= counts[column_class].

    Column j starts `counts` requests of class `column_class[j]` somewhere in
    [column_lo[j], column_hi[j]] (lo == hi in the exact model). Row r of `memory`
    is time tau = (r + 1) * stride. A column's coefficient at tau is the memory a
    request of its class holds at tau for the start in its range that holds the
    least (0 outside [hi + 1, lo + output]): exact when lo == hi, a relaxation
    otherwise. Tail columns (column_tail) hold no memory at all.
    """

    classes: tuple[RequestClass, ...]
    column_class: np.ndarray
    column_lo: np.ndarray
    column_hi: np.ndarray
    column_tail: np.ndarray
    cost: np.ndarray
    equality: sp.csr_matrix
    counts: np.ndarray
    memory: sp.csr_matrix
    capacity: int
    stride: int

    @property
    def upper(self) -> np.ndarray:
        return self.counts[self.column_class].astype(float)

    @property
    def columns(self) -> int:
        return len(self.cost)


def build_model(
    classes: tuple[RequestClass, ...],
    capacity: int,
    column_class: np.ndarray,
    column_lo: np.ndarray,
    column_hi: np.ndarray,
    column_tail: np.ndarray | None = None,
    stride: int = 1,
) -> TimeIndexedModel:
    """Assemble the sparse matrices of a time-indexed model, vectorised over all (column, time) entries."""
    column_class = np.asarray(column_class, dtype=np.int64)
    lo = np.asarray(column_lo, dtype=np.int64)
    hi = np.asarray(column_hi, dtype=np.int64)
    tail = np.zeros(len(lo), dtype=bool) if column_tail is None else np.asarray(column_tail, dtype=bool)
    prompt = np.array([c.prompt for c in classes], dtype=np.int64)[column_class]
    output = np.array([c.output for c in classes], dtype=np.int64)[column_class]
    counts = np.array([c.count for c in classes], dtype=np.int64)
    n = len(lo)
    # Times held by every start in [lo, hi]: tau in [hi + 1, lo + output]; keep the multiples of stride.
    first = hi // stride + 1  # first sampled row index (tau = first * stride >= hi + 1)
    last = (lo + output) // stride
    per_column = np.where(tail, 0, np.maximum(0, last - first + 1))
    col = np.repeat(np.arange(n), per_column)
    offset = np.arange(per_column.sum()) - np.repeat(np.cumsum(per_column) - per_column, per_column)
    row = np.repeat(first, per_column) + offset  # row index k means tau = k * stride
    tau = row * stride
    value = prompt[col] + tau - hi[col]
    rows = int(row.max()) if len(row) else 0
    memory = sp.csr_matrix((value.astype(float), (row - 1, col)), shape=(rows, n))
    equality = sp.csr_matrix((np.ones(n), (column_class, np.arange(n))), shape=(len(classes), n))
    return TimeIndexedModel(
        classes, column_class, lo, hi, tail, lo.astype(float), equality, counts, memory, capacity, stride
    )


def area_bound_arrays(prompt: np.ndarray, output: np.ndarray, arrival: np.ndarray, capacity: int) -> int:
    """Order statistics: the k-th completion is >= the k-th smallest a_i + o_i and >= S_k / M.

    S_k is the sum of the k smallest memory areas s_i o_i + o_i (o_i + 1) / 2: the
    first k requests to complete did all their area within rounds 1 .. C_(k), at
    most M per round. Summing over k bounds sum c_i; subtract the arrivals.
    """
    if len(output) == 0:
        return 0
    prefix = np.cumsum(np.sort(prompt * output + output * (output + 1) // 2))
    by_area = -(-prefix // capacity)  # ceil: completions are integers
    return int(np.maximum(by_area, np.sort(arrival + output)).sum() - arrival.sum())


def latest_starts(instance: Instance, classes: tuple[RequestClass, ...], slack: int, area: bool = True) -> np.ndarray:
    """Per class k, the latest start of any schedule with total latency <= U = slack + sum_j o_j
    that has no idle gap after the last arrival (every optimal schedule is one):
    min(a_k + U - o_k - B_k, A + sum_j o_j - o_k).

    First term: removing one member i of class k leaves a feasible schedule of the
    other requests, whose total latency is at least B_k = their order-statistics
    area bound (`area_bound_arrays`, >= their sum of outputs); so
    p_i - a_i = (c_i - a_i) - o_i <= U - B_k - o_i. With B_k = sum_{j != i} o_j
    this is the plain horizon a_k + slack; the area bound only tightens it.
    Second term (A the last arrival): an optimal schedule never leaves memory
    empty at a time t + 1 with t >= A while a request starts after t (shifting
    every later start back into the empty time would lower the total latency;
    see `compact`). So the rounds A + 1 .. p_i are all covered by the runs of
    the other requests, and p_i - A <= sum_{j != i} o_j.
    With area=False, B_k is the plain sum of the other outputs (the bound before the area argument).
    """
    reqs = instance.requests
    prompt = np.array([r.prompt for r in reqs], dtype=np.int64)
    output = np.array([r.output for r in reqs], dtype=np.int64)
    arrival = np.array([r.arrival for r in reqs], dtype=np.int64)
    last_arrival = int(arrival.max())
    total = int(output.sum())
    upper = slack + total
    out = []
    keep = np.ones(len(reqs), dtype=bool)
    for c in classes:
        others = total - c.output
        if area:
            keep[c.members[0]] = False  # every member of a class is interchangeable: drop any one
            others = max(others, area_bound_arrays(prompt[keep], output[keep], arrival[keep], instance.capacity))
            keep[c.members[0]] = True
        out.append(min(c.arrival + upper - c.output - others, last_arrival + total - c.output))
    return np.array(out, dtype=np.int64)


def exact_model(
    instance: Instance, classes: tuple[RequestClass, ...], slack: int, area: bool = True
) -> TimeIndexedModel:
    """The integer program of SPEC section 4: class k may start at t = a_k .. latest_starts()[k]."""
    arrival = np.array([c.arrival for c in classes], dtype=np.int64)
    width = latest_starts(instance, classes, slack, area) - arrival + 1
    k = np.repeat(np.arange(len(classes)), width)
    t = arrival[k] + np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width)
    return build_model(classes, instance.capacity, k, t, t)


def compact(instance: Instance, starts: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Close every empty-memory gap after the last arrival (`optimal.schedules.close_gaps`, event based)."""
    from .schedules import close_gaps

    return close_gaps(instance, starts)


def counts_from_starts(model: TimeIndexedModel, starts: tuple[int, ...] | list[int]) -> np.ndarray:
    """The exact model's column vector of a schedule (every start must be inside its class's window)."""
    pairs = zip(model.column_class, model.column_lo, strict=True)
    where = {(int(k), int(t)): j for j, (k, t) in enumerate(pairs)}
    x = np.zeros(model.columns)
    for k, cls in enumerate(model.classes):
        for i in cls.members:
            x[where[(k, starts[i])]] += 1
    return x


def starts_from_counts(model: TimeIndexedModel, x: np.ndarray, n_requests: int) -> tuple[int, ...]:
    """Turn the exact model's integer counts back into one start per request (class members in index order)."""
    xi = np.rint(x).astype(np.int64)
    if np.max(np.abs(x - xi), initial=0.0) > 1e-6:
        raise ValueError("the solver returned a fractional schedule")
    starts = [-1] * n_requests
    for k, cls in enumerate(model.classes):
        cols = np.flatnonzero((model.column_class == k) & (xi > 0))
        times = np.repeat(model.column_lo[cols], xi[cols])
        if len(times) != cls.count:
            raise ValueError(f"class {k}: {len(times)} starts for {cls.count} requests")
        for i, t in zip(cls.members, sorted(times.tolist()), strict=True):
            starts[i] = int(t)
    return tuple(starts)


def canonical_starts(instance: Instance, starts: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Relabel identical requests so their starts ascend with their index (the schedule is the same)."""
    from .schedules import canonical

    return canonical(instance, starts)
