"""Certified O(n log n) lower bounds on the optimal total latency: sums of outputs, order statistics of areas, and
mean busy times on a single resource of rate M. Each is derived in docs/optimal.md, "Combinatorial bounds"."""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from amin import Instance

from .model import area_bound_arrays


@dataclass(frozen=True)
class Bound:
    """A certified lower bound on the optimal total latency and how it was obtained."""

    value: int
    method: str  # which bound is largest: "trivial" | "area" | "lp" | "relaxed-lp"
    seconds: float
    classes: int = 0
    stride: int = 1
    columns: int = 0
    lp_bound: int | None = None  # the LP relaxation's certified bound alone (None if the LP gave no duals)
    area_bound: int | None = None  # the order-statistics bound alone (see `area_bound`)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "classes": self.classes,
            "stride": self.stride,
            "columns": self.columns,
            "lp_bound": self.lp_bound,
            "area_bound": self.area_bound,
        }


def area_bound(instance: Instance) -> int:
    """Order statistics: the k-th completion is >= the k-th smallest a_i + o_i and >= S_k / M (`area_bound_arrays`)."""
    reqs = instance.requests
    s = np.array([r.prompt for r in reqs], dtype=np.int64)
    o = np.array([r.output for r in reqs], dtype=np.int64)
    a = np.array([r.arrival for r in reqs], dtype=np.int64)
    return area_bound_arrays(s, o, a, instance.capacity)


def trivial_bound(instance: Instance) -> int:
    """Every request takes at least its output length: TEL >= sum_i o_i."""
    return sum(r.output for r in instance.requests)


def _busy_integral(x: int, capacity: int) -> int:
    """F(x) = integral_0^x (floor(u / M) + 1) du: unit u of a fluid that fills rounds 1, 2, ... at rate M lands in
    round floor(u / M) + 1, so work [x0, x1) contributes F(x1) - F(x0) to sum_tau tau * work(tau)."""
    q, r = divmod(x, capacity)
    return capacity * q * (q + 1) // 2 + (q + 1) * r


def mean_busy_time_bound(instance: Instance) -> int:
    """Mean busy times on one resource of rate M (docs/optimal.md): TEL >= sum_j (E_j + delta_j) - sum_j a_j.

    A request started at p holds s + d at p + d (d = 1..o): memory work A = s o + o(o+1)/2 whose
    memory-weighted mean time E = sum_tau tau m(tau) / A is exactly c - delta, delta = sum_d (o-d)(s+d) / A,
    whatever p is. Any schedule spreads each request's work over rounds after its arrival, at most M per
    round; over all such spreadings sum_j E_j is smallest when every round is filled with the available
    request of least area (an exchange argument), which this computes event by event in exact integers.
    """
    reqs = instance.requests
    capacity = instance.capacity
    n = len(reqs)
    area = [r.prompt * r.output + r.output * (r.output + 1) // 2 for r in reqs]
    # sum_{d=1}^{o} (o - d)(s + d) = s o (o - 1) / 2 + (o - 1) o (o + 1) / 6
    delta_num = [
        r.prompt * r.output * (r.output - 1) // 2 + (r.output - 1) * r.output * (r.output + 1) // 6 for r in reqs
    ]
    by_arrival = sorted(range(n), key=lambda i: reqs[i].arrival)
    moment = [0] * n  # sum_tau tau * work of request j at tau, in the fluid
    remaining = area[:]
    available: list[tuple[int, int]] = []
    released = 0
    u = 0  # work coordinate: units before u fill rounds 1 .. floor(u / M) (+ part of the next)
    done = 0
    while done < n:
        if not available:  # idle: jump to the next release (request j may use round a_j + 1 on, u >= a_j M)
            u = max(u, reqs[by_arrival[released]].arrival * capacity)
        while released < n and reqs[by_arrival[released]].arrival * capacity <= u:
            j = by_arrival[released]
            heapq.heappush(available, (area[j], j))
            released += 1
        _, j = available[0]
        limit = reqs[by_arrival[released]].arrival * capacity if released < n else None
        amount = remaining[j] if limit is None else min(remaining[j], limit - u)
        moment[j] += _busy_integral(u + amount, capacity) - _busy_integral(u, capacity)
        u += amount
        remaining[j] -= amount
        if remaining[j] == 0:
            heapq.heappop(available)
            done += 1
    # sum_j (moment_j + delta_num_j) / area_j, exactly: integer parts, then the fractions (< 1 each) in floats.
    whole = 0
    fractions = []
    for j in range(n):
        q, rem = divmod(moment[j] + delta_num[j], area[j])
        whole += q
        fractions.append(rem / area[j])
    total = whole + math.fsum(fractions) - sum(r.arrival for r in reqs)
    return math.ceil(total - 1e-9 * max(1.0, len(fractions)))  # TEL is an integer; the fsum is off by << 1e-9


BOUNDS = {"trivial": trivial_bound, "area": area_bound, "mean-busy-time": mean_busy_time_bound}


def combinatorial_bound(instance: Instance) -> Bound:
    """The largest of the O(n log n) bounds (`BOUNDS`), naming the one that gave it; ties go to the simpler one."""
    clock = time.perf_counter()
    value, method = max(((f(instance), name) for name, f in BOUNDS.items()), key=lambda vm: vm[0])
    return Bound(value, method, time.perf_counter() - clock)
