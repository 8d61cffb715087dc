"""OPT bracketed at any scale, without the integer program: the best checked schedule found within a time limit
above, the best certified lower bound below (docs/optimal.md, "The bracket")."""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from amin import Instance, load_instance, simulate
from amin.schedulers import SCHEDULERS

from .combinatorial import Bound, combinatorial_bound
from .model import KnownSchedule
from .schedules import (
    PROFILE_MAX_ROUNDS,
    Schedule,
    best_schedule,
    check,
    event_check,
    horizon,
    list_schedules,
    total_latency,
)

ONLINE_MAX_REQUESTS = 20_000  # the online schedulers' final runs compete as schedules up to this many requests
LAGRANGIAN_SHARE = 0.3  # of the time limit, for column generation when it applies (`column_generation` sizes)
LAGRANGIAN_MAX_PAIRS = 20_000_000  # (request, start) pairs: above this the pricing is too slow to pay (measured)


@dataclass(frozen=True)
class Bracket:
    """lower <= OPT <= upper.total_latency: a checked schedule and a certified bound, each with its method."""

    upper: Schedule
    lower: Bound
    seconds: float
    bounds: tuple[Bound, ...] = field(default=())  # every certified bound computed, best or not

    @property
    def status(self) -> str:
        return "optimal" if self.lower.value == self.upper.total_latency else "feasible"

    @property
    def gap(self) -> float:
        return (self.upper.total_latency - self.lower.value) / self.upper.total_latency

    def to_dict(self) -> dict[str, Any]:
        """The SPEC section 7 keys of `amin solve` first, then where each side came from."""
        return {
            "status": self.status,
            "total_latency": self.upper.total_latency,
            "lower_bound": self.lower.value,
            "starts": list(self.upper.starts),
            "solver": f"bound-only (amin {importlib.metadata.version('amin')}, no integer program)",
            "seconds": round(self.seconds, 4),
            "gap": self.gap,
            "upper_method": self.upper.method,
            "upper_seconds": round(self.upper.seconds, 4),
            "lower_bound_method": self.lower.method,
            "lower_bounds": {b.method: b.value for b in self.bounds},
            "lower_bound_seconds": {b.method: round(b.seconds, 4) for b in self.bounds},
        }


def online_schedules(instance: Instance) -> list[Schedule]:
    """The final runs of the online schedulers (deleting evicted runs leaves a feasible schedule), each checked by
    `event_check` (the schedule finally reported also passes amin's checker)."""
    out = []
    for name in SCHEDULERS:
        clock = time.perf_counter()
        starts = tuple(simulate(instance, name, tie_break="index").starts)
        event_check(instance, starts)
        out.append(Schedule(total_latency(instance, starts), starts, f"online:{name}", time.perf_counter() - clock))
    return out


def bracket(
    instance: Instance | Any,
    time_limit: float = 60.0,
    *,
    seed: int = 0,
    lagrangian: bool = True,
    candidates: Sequence[Schedule] = (),
) -> Bracket:
    """Bracket OPT within about `time_limit` seconds (model loading excluded, everything else included).

    Lower side: the O(n log n) bounds (`combinatorial_bound`), then, when the instance is small enough for
    its pricing to pay, column generation on the time-indexed LP with concurrency cuts for up to
    LAGRANGIAN_SHARE of the time. Upper side: `best_schedule` (list scheduling, backfilling, local search)
    with the rest, the online schedulers' final runs and `candidates` (checked schedules) competing. Stops
    early once the two sides meet.
    """
    from .colgen import MAX_ROUNDS, column_generation, pricing_pairs

    clock = time.perf_counter()
    inst = load_instance(instance)
    if not time_limit > 0:
        raise ValueError(f"time limit must be positive, got {time_limit}")
    bounds = [combinatorial_bound(inst)]
    pool = list(candidates)
    pool += online_schedules(inst) if len(inst.requests) <= ONLINE_MAX_REQUESTS else []
    pool += list_schedules(inst, ["area"])
    quick = min(pool, key=lambda s: s.total_latency)  # a horizon for sizing column generation
    rounds = horizon(inst, quick.starts)
    colgen_fits = (
        lagrangian
        and rounds <= min(MAX_ROUNDS, PROFILE_MAX_ROUNDS)
        and (pricing_pairs(inst, quick.starts) <= LAGRANGIAN_MAX_PAIRS)
    )
    best_lower = max(bounds, key=lambda b: b.value)
    if best_lower.value >= quick.total_latency:  # already optimal: only amin's checker is left to pass
        check(inst, quick.starts)
        return Bracket(quick, best_lower, time.perf_counter() - clock, tuple(bounds))
    share = LAGRANGIAN_SHARE if colgen_fits else 0.0
    left = time_limit - (time.perf_counter() - clock)
    upper = best_schedule(inst, max(0.0, (1 - share) * left), seed=seed, candidates=pool, lower=best_lower.value)
    if colgen_fits and upper.total_latency > best_lower.value:
        left = time_limit - (time.perf_counter() - clock)
        if left > 0:
            cg = column_generation(inst, upper.starts, left)
            if cg is not None:
                bounds.append(Bound(cg.value, cg.method, cg.seconds, columns=cg.columns))
    best_lower = max(bounds, key=lambda b: b.value)
    if best_lower.value > upper.total_latency:
        raise RuntimeError(f"bound {best_lower} exceeds a checked schedule's total latency {upper.total_latency}")
    return Bracket(upper, best_lower, time.perf_counter() - clock, tuple(bounds))


def best_known_schedule(instance: Instance, search_seconds: float = 1.0) -> KnownSchedule:
    """The best feasible schedule found within `search_seconds` (H-SF first on ties); checked.

    Candidates: the final runs of the five online schedulers (deleting evicted runs only lowers memory and
    leaves every completion as it was), then `optimal.schedules.best_schedule` (list scheduling under every
    priority rule, backfilling, local search), gaps closed (`compact`).
    """
    candidates = online_schedules(instance) if len(instance.requests) <= ONLINE_MAX_REQUESTS else []
    best = best_schedule(instance, search_seconds, candidates=candidates)
    return KnownSchedule(best.total_latency, best.starts, best.method)
