"""An independent checker: recompute memory at every time from starts and evictions, and confirm the schedule.

It shares no code with the round loop: it sees only the instance, each request's
final start, and the runs that were evicted. Used by the tests on every
simulation, and by `optimal/` on every schedule a solver returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .model import Instance
from .results import Eviction, Result


class ScheduleError(AssertionError):
    """The schedule breaks the model of SPEC section 1."""


def memory_profile(instance: Instance, starts: Sequence[int], evictions: Iterable[Eviction] = ()) -> list[int]:
    """Memory held at every time tau = 0 .. makespan, by difference arrays over runs.

    A run started at p and ending (completing or evicted) at e holds prompt + (tau - p)
    at tau = p+1 .. e: a constant prompt - p plus tau, over that range.
    """
    runs = [(i, p, p + r.output) for i, (r, p) in enumerate(zip(instance.requests, starts, strict=True))]
    runs += [(e.index, e.start, e.round) for e in evictions]
    horizon = max(end for _, _, end in runs)
    const = [0] * (horizon + 2)
    slope = [0] * (horizon + 2)
    for i, p, end in runs:
        s = instance.requests[i].prompt
        const[p + 1] += s - p
        const[end + 1] -= s - p
        slope[p + 1] += 1
        slope[end + 1] -= 1
    memory = [0] * (horizon + 1)
    c = k = 0
    for tau in range(horizon + 1):
        c += const[tau]
        k += slope[tau]
        memory[tau] = c + k * tau
    return memory


def check_schedule(instance: Instance, starts: Sequence[int], evictions: Iterable[Eviction] = ()) -> list[int]:
    """Raise ScheduleError unless the schedule is valid; return the memory profile.

    Valid: every final run starts no earlier than its arrival; every evicted run
    starts no earlier than the arrival, is cut before it could finish, and ends
    no later than the start of the next run of the same request; memory never
    exceeds capacity.
    """
    evictions = list(evictions)
    if len(starts) != len(instance.requests):
        raise ScheduleError(f"{len(starts)} starts for {len(instance.requests)} requests")
    for i, (r, p) in enumerate(zip(instance.requests, starts, strict=True)):
        if p < r.arrival:
            raise ScheduleError(f"request {i} starts at {p} before its arrival {r.arrival}")
    by_request: dict[int, list[Eviction]] = {}
    for e in evictions:
        r = instance.requests[e.index]
        if e.start < r.arrival:
            raise ScheduleError(f"request {e.index}: evicted run starts at {e.start} before arrival {r.arrival}")
        if not 1 <= e.round - e.start < r.output:
            raise ScheduleError(f"request {e.index}: evicted run {e.start}..{e.round} is empty or would have finished")
        by_request.setdefault(e.index, []).append(e)
    for i, runs in by_request.items():
        runs.sort(key=lambda e: e.start)
        bounds = [(e.start, e.round) for e in runs] + [(starts[i], starts[i] + instance.requests[i].output)]
        for (_, end), (nxt, _) in zip(bounds, bounds[1:], strict=False):
            if nxt <= end:  # an evictee returns to the waiting set and cannot restart in the same round
                raise ScheduleError(f"request {i}: a run starts at {nxt}, before the previous run ended at {end} + 1")
    memory = memory_profile(instance, starts, evictions)
    for tau, m in enumerate(memory):
        if m > instance.capacity:
            raise ScheduleError(f"memory {m} exceeds capacity {instance.capacity} at time {tau}")
    return memory


def check_result(instance: Instance, result: Result) -> list[int]:
    """Check a simulation result: the schedule is valid, and its totals and memory agree with the records."""
    counts = [0] * len(instance.requests)
    lost = [0] * len(instance.requests)
    for e in result.eviction_log:
        counts[e.index] += 1
        lost[e.index] += e.tokens
    for i, (r, rec) in enumerate(zip(instance.requests, result.records, strict=True)):
        if rec.index != i or rec.completion - rec.start != r.output or rec.arrival != r.arrival:
            raise ScheduleError(f"request {i}: record {rec} disagrees with the instance")
        n_ev, wasted = counts[i], lost[i]
        if rec.evictions != n_ev or rec.wasted_tokens != wasted:
            raise ScheduleError(f"request {i}: record counts {rec.evictions} evictions, the log {n_ev}")
    memory = check_schedule(instance, result.starts, result.eviction_log)
    if tuple(memory) != tuple(result.memory):
        diff = (
            next(t for t, (a, b) in enumerate(zip(memory, result.memory, strict=False)) if a != b)
            if len(memory) == len(result.memory)
            else f"length {len(memory)} vs {len(result.memory)}"
        )
        raise ScheduleError(f"the engine's memory series disagrees with the recomputed one (first at {diff})")
    expected = sum(p + r.output - r.arrival for r, p in zip(instance.requests, result.starts, strict=True))
    if result.total_latency != expected:
        raise ScheduleError(
            f"total latency {result.total_latency} disagrees with the starts and the instance ({expected})"
        )
    return memory
