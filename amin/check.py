"""An independent checker: recompute memory at every time from starts and evictions, and confirm the schedule.

It shares no code with the round loop: it sees only the instance, each request's
final start, and the runs that were evicted. Used by the tests on every
simulation, and by `optimal/` on every schedule a solver returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from .model import Instance
from .results import Eviction, MemorySeries, Result


class ScheduleError(AssertionError):
    """The schedule breaks the model of SPEC section 1."""


def memory_series(
    instance: Instance, starts: Sequence[int], evictions: Iterable[Eviction] = (), block_size: int = 1
) -> MemorySeries:
    """Memory held at every time tau = 0 .. makespan, swept over the runs' ends (space grows with runs, not rounds).

    A run started at p and ending (completing or evicted) at e holds prompt + (tau - p) tokens at tau = p+1 .. e:
    a constant prompt - p plus tau, over that range. Counted in KV blocks of `block_size` tokens, it holds
    that many tokens rounded up to a whole block: a staircase with a step wherever a new block begins.
    """
    runs = [(i, p, p + r.output) for i, (r, p) in enumerate(zip(instance.requests, starts, strict=True))]
    runs += [(e.index, e.start, e.round) for e in evictions]
    horizon = max(end for _, _, end in runs)
    change: dict[int, list[int]] = {0: [0, 0]}  # tau -> [change of the constant, change of the slope]

    def add(tau: int, constant: int, slope: int) -> None:
        delta = change.setdefault(tau, [0, 0])
        delta[0] += constant
        delta[1] += slope

    for i, p, end in runs:
        s = instance.requests[i].prompt
        if block_size == 1:
            add(p + 1, s - p, 1)
            add(end + 1, -(s - p), -1)
            continue
        # Blocks: tau = p + 1 holds ceil((s + 1) / B) blocks; one more block each time s + tau - p passes a
        # multiple of B; all of it is freed after `end`.
        held = -(-(s + 1) // block_size) * block_size
        add(p + 1, held, 0)
        for tau in range(p + 1 + (held - s), end + 1, block_size):  # where s + tau - p = held + 1, + B, ...
            add(tau, block_size, 0)
            held += block_size
        add(end + 1, -held, 0)
    pieces = []
    c = k = 0
    for tau in sorted(change):
        c += change[tau][0]
        k += change[tau][1]
        pieces.append((tau, c + k * tau, k))
    return MemorySeries(pieces, horizon + 1)


def memory_profile(instance: Instance, starts: Sequence[int], evictions: Iterable[Eviction] = ()) -> list[int]:
    """Memory held at every time tau = 0 .. makespan, one entry per round (for small schedules)."""
    return list(memory_series(instance, starts, evictions))


def _first_over(memory: MemorySeries, capacity: int) -> tuple[int, int] | None:
    """The first (time, memory) at which memory exceeds capacity, or None; each run is linear."""
    ends = [a for a, _, _ in memory.pieces[1:]] + [len(memory)]
    for (a, v, d), b in zip(memory.pieces, ends, strict=True):
        if v > capacity:
            return a, v
        if d > 0 and v + d * (b - a - 1) > capacity:
            tau = a + (capacity - v) // d + 1
            return tau, v + d * (tau - a)
    return None


def check_schedule(
    instance: Instance, starts: Sequence[int], evictions: Iterable[Eviction] = (), block_size: int = 1
) -> MemorySeries:
    """Raise ScheduleError unless the schedule is valid; return the memory series.

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
    memory = memory_series(instance, starts, evictions, block_size)
    over = _first_over(memory, instance.capacity)
    if over is not None:
        raise ScheduleError(f"memory {over[1]} exceeds capacity {instance.capacity} at time {over[0]}")
    return memory


def check_result(instance: Instance, result: Result) -> MemorySeries:
    """Check a simulation result: the schedule is valid, and its totals and memory agree with the records.

    Under the readings that change the model itself (prefill as a round of its own, KV blocks; amin.rules)
    the result's options say so, and the check is made in that model."""
    if result.options.get("prefill") == "extra_round":
        from .rules import SPEC_READING, model_instance

        instance = model_instance(replace(SPEC_READING, prefill="extra_round"), instance)
    block_size = int(result.options.get("block_size", 1))
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
    memory = check_schedule(instance, result.starts, result.eviction_log, block_size)
    if memory != result.memory:
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
