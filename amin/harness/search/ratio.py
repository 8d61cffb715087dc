"""Latency ratios of an online scheduler against a reference: H-SF, the exact optimum (OPT), or a lower bound on OPT.

The exact optimum comes from the `optimal` package when it is importable; until
then (or when it refuses) a small private exhaustive search over start times
serves tiny instances. Every ratio says which reference it used, so a ratio
against a lower bound (an upper bound on the true ratio) is never mistaken for
a ratio against OPT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from amin import Instance, check_result, check_schedule, simulate

VERSUS = ("hsf", "opt")
OBJECTIVES = ("ratio", "evictions")

# Beyond these sizes the private exhaustive search is too slow for a search loop.
EXHAUSTIVE_MAX_REQUESTS = 7
EXHAUSTIVE_MAX_WORK = 60  # sum of outputs


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference total latency. `kind` is "hsf", "opt" (proved optimal) or "opt_lower_bound"."""

    kind: str
    total_latency: int
    source: str
    starts: tuple[int, ...] | None = None

    @property
    def exact(self) -> bool:
        return self.kind != "opt_lower_bound"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One scheduler on one instance, measured against a reference.

    `value` is what a search maximises: the latency ratio (objective "ratio") or
    the largest number of evictions of any one request (objective "evictions").
    """

    scheduler: str
    options: dict[str, Any] = field(hash=False)
    objective: str
    total_latency: int
    reference: Reference
    max_evictions_per_request: int
    evictions: int
    peak_memory: int

    @property
    def ratio(self) -> float:
        return self.total_latency / self.reference.total_latency

    @property
    def value(self) -> float:
        return self.ratio if self.objective == "ratio" else float(self.max_evictions_per_request)


# --- the exact optimum --------------------------------------------------------------
def fast_exhaustive_opt(
    instance: Instance, incumbent: tuple[int, tuple[int, ...]] | None = None
) -> tuple[int, tuple[int, ...]]:
    """The hindsight optimum by depth-first search over rounds: at each round, which waiting requests start.

    Non-preemptive (restarts never help offline, SPEC section 4). Requests that are
    identical (prompt, output, arrival) are interchangeable, so only how many of
    each kind start is branched on. A branch is cut when its latency so far plus
    the least possible latency of the unstarted requests cannot beat the incumbent
    (H-SF's schedule by default). Meant for tiny instances only.

    The one exhaustive optimum is `optimal.exhaustive` (one request at a time, every start). This second one is
    private to the search, and named for why it exists: branching on counts of identical requests makes it about
    ten times faster on the search's instances, which evaluate thousands of them in a loop. Every record a search
    keeps is re-certified by the judge, and tests/cover/test_search.py checks the two agree on random instances.
    """
    reqs = instance.requests
    cap = instance.capacity
    if incumbent is None:
        h = simulate(instance, "hsf", tie_break="index")
        incumbent = (h.total_latency, h.starts)
    best_cost, best_starts = incumbent
    kinds: dict[tuple[int, int, int], list[int]] = {}
    for i, r in enumerate(reqs):
        kinds.setdefault((r.prompt, r.output, r.arrival), []).append(i)
    groups = sorted(kinds.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0]))
    horizon = best_cost + max(r.arrival for r in reqs) + max(r.output for r in reqs) + 2
    memory = [0] * (horizon + 2)
    starts = [0] * len(reqs)
    best: list[Any] = [best_cost, tuple(best_starts)]

    def fits(s: int, o: int, t: int, k: int) -> bool:
        return all(memory[tau] + k * (s + tau - t) <= cap for tau in range(t + 1, t + o + 1))

    def put(s: int, o: int, t: int, k: int) -> None:
        for tau in range(t + 1, t + o + 1):
            memory[tau] += k * (s + tau - t)

    def dfs(t: int, left: list[int], cost: int) -> None:
        remaining = sum(left)
        if remaining == 0:
            if cost < best[0]:
                best[0], best[1] = cost, tuple(starts)
            return
        bound = cost + sum(n * (max(t, k[2]) + k[1] - k[2]) for (k, _), n in zip(groups, left, strict=True) if n)
        if bound >= best[0]:
            return
        avail = [g for g, ((_, _, a), _) in enumerate(groups) if left[g] and a <= t]
        if not avail:
            nxt = min(key[2] for (key, _), n in zip(groups, left, strict=True) if n)
            dfs(nxt, left, cost)
            return
        # Branch on a count per available kind, largest counts first (good incumbents early).
        choice = [0] * len(groups)

        def branch(pos: int, started: int) -> None:
            if pos == len(avail):
                dfs(t + 1, [n - c for n, c in zip(left, choice, strict=True)], cost + added[0])
                return
            g = avail[pos]
            (s, o, a), idx = groups[g]
            done_before = len(idx) - left[g]
            top = left[g]
            while top > 0 and not fits(s, o, t, top):
                top -= 1
            for k in range(top, -1, -1):
                if k:
                    put(s, o, t, k)
                    for j in range(k):
                        starts[idx[done_before + j]] = t
                choice[g] = k
                added[0] += k * (t + o - a)
                branch(pos + 1, started + k)
                added[0] -= k * (t + o - a)
                choice[g] = 0
                if k:
                    put(s, o, t, -k)

        added = [0]
        branch(0, 0)

    dfs(0, [len(idx) for _, idx in groups], 0)
    return best[0], best[1]


def _small(instance: Instance) -> bool:
    return len(instance) <= EXHAUSTIVE_MAX_REQUESTS and sum(r.output for r in instance.requests) <= EXHAUSTIVE_MAX_WORK


AREA_SOURCE = "optimal.combinatorial.area_bound"
# Names the same bound had in corpus records written before it had one home.
AREA_SOURCES = (AREA_SOURCE, "amin.search.ratio.area_lower_bound", "amin.harness.search.ratio.area_lower_bound")


def area_lower_bound(instance: Instance) -> int:
    """The order-statistics area bound on OPT (one home: `optimal.combinatorial.area_bound`, docs/optimal.md)."""
    from optimal.combinatorial import area_bound

    return int(area_bound(instance))


def optimum(
    instance: Instance, *, method: str = "judge", time_limit: float | None = 20.0, exact_only: bool = False
) -> Reference:
    """The best available reference for OPT: a proved optimum if possible, else a lower bound.

    `method="judge"` asks the `optimal` package first (`optimal.exhaustive` on tiny
    instances, then `optimal.solve`, accepted only with status "optimal"); it is
    what saved counterexamples and replays use. `method="fast"` uses the private
    `fast_exhaustive_opt` on tiny instances (about ten times faster, which a search
    loop needs); every record a search keeps is then re-certified by the judge.
    Larger instances: "judge" runs `optimal.solve` (its bound if unproved); "fast"
    and the no-solver case use the closed-form `area_lower_bound`.
    """
    if method not in ("judge", "fast"):
        raise ValueError(f"unknown method {method!r} (choose judge or fast)")
    small = _small(instance)
    if method == "fast" and not small:
        return Reference("opt_lower_bound", area_lower_bound(instance), AREA_SOURCE)
    if small and method == "fast":
        total, starts = fast_exhaustive_opt(instance)
        check_schedule(instance, starts)
        return Reference("opt", total, "amin.harness.search.ratio.fast_exhaustive_opt", starts)
    import optimal  # the judges (imported here: a search versus H-SF never loads a solver)

    if small:
        total, starts = optimal.exhaustive(instance)
        return Reference("opt", int(total), "optimal.exhaustive", tuple(starts))
    sol = optimal.solve(instance, time_limit=time_limit)
    if sol.status == "optimal":
        assert sol.total_latency is not None and sol.starts is not None
        return Reference("opt", int(sol.total_latency), "optimal.solve", tuple(sol.starts))
    if exact_only:
        raise ValueError(f"no proved optimum within {time_limit}s (status {sol.status})")
    bound = sol.lower_bound if sol.lower_bound is not None else optimal.lower_bound(instance).value
    return Reference(
        "opt_lower_bound", max(math.ceil(bound - 1e-9), area_lower_bound(instance)), "optimal.solve(bound)"
    )


def reference(instance: Instance, versus: str, **kw: Any) -> Reference:
    """H-SF's total latency, or an OPT reference (`kw` goes to `optimum`: method, time_limit, exact_only)."""
    if versus == "hsf":
        h = simulate(instance, "hsf", tie_break="index")
        return Reference("hsf", h.total_latency, "amin.simulate(hsf)", h.starts)
    if versus == "opt":
        return optimum(instance, **kw)
    raise ValueError(f"unknown reference {versus!r} (choose from {', '.join(VERSUS)})")


def certify(instance: Instance, ref: Reference, *, time_limit: float = 30.0) -> Reference:
    """Re-derive a fast OPT reference with the judge (the `optimal` package): never trust one oracle.

    An exact reference must agree exactly (else RuntimeError: one of the oracles
    has a bug). A lower-bound reference is upgraded to the optimum when
    `optimal.solve` proves it within `time_limit`, else kept.
    """
    if ref.kind == "hsf":
        return ref
    if ref.kind == "opt":
        judged = optimum(instance, method="judge", time_limit=time_limit)
        if judged.kind != "opt" or judged.total_latency != ref.total_latency:
            raise RuntimeError(
                f"OPT oracles disagree: {ref.source} gives {ref.total_latency}, "
                f"{judged.source} gives {judged.total_latency}"
            )
        return judged
    try:
        return optimum(instance, method="judge", time_limit=time_limit, exact_only=True)
    except (ValueError, ImportError):
        return ref


def replay_reference(instance: Instance, versus: str, kind: str | None, source: str | None) -> Reference:
    """Recompute a stored reference the same way it was obtained (deterministically)."""
    if versus == "hsf" or kind is None:
        return reference(instance, versus)
    if kind == "opt_lower_bound":
        if source not in AREA_SOURCES:
            raise ValueError(f"cannot replay a lower bound from {source!r}")
        return Reference("opt_lower_bound", area_lower_bound(instance), AREA_SOURCE)
    return optimum(instance, method="judge", time_limit=120.0, exact_only=True)


def evaluate(
    instance: Instance,
    scheduler: str,
    versus: str = "hsf",
    *,
    options: dict[str, Any] | None = None,
    objective: str = "ratio",
    ref: Reference | None = None,
) -> Evaluation:
    """Simulate `scheduler` (every schedule is re-checked by the independent checker) and compare it to `versus`."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)})")
    opts = dict(options or {})
    result = simulate(instance, scheduler, **opts)
    check_result(instance, result)
    if ref is None:
        ref = reference(instance, versus)
    per_request = max(r.evictions for r in result.records)
    return Evaluation(
        scheduler, opts, objective, result.total_latency, ref, per_request, result.evictions, result.peak_memory
    )
