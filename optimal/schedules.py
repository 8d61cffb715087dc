"""Upper bounds at scale: list scheduling in a priority order, backfilling, and ruin-and-recreate local search.

Every schedule returned here has passed the independent checker (`check`); the best one seeds the integer
program and is the upper side of `optimal.bracket`. See docs/optimal.md, "Best known schedules at scale".
"""

from __future__ import annotations

import heapq
import math
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from amin import Instance, check_schedule

# The time-indexed heuristics (backfilling, local search) hold the memory profile as one int64 per round:
# above this many rounds they are skipped, so that memory grows with the requests, not with the rounds.
PROFILE_MAX_ROUNDS = 4_000_000
# amin.check_schedule builds per-round Python lists; above this horizon the event-based `event_check` is used.
CHECK_MAX_ROUNDS = 4_000_000
EXACT_MOVES_MAX_REQUESTS = 200  # exact re-insertion moves in the local search only up to this many requests


@dataclass(frozen=True)
class Schedule:
    """A checked non-preemptive schedule: one start per request, its total latency, how and how fast it was found."""

    total_latency: int
    starts: tuple[int, ...]
    method: str
    seconds: float


def total_latency(instance: Instance, starts: Sequence[int]) -> int:
    return sum(p + r.output - r.arrival for r, p in zip(instance.requests, starts, strict=True))


def horizon(instance: Instance, starts: Sequence[int]) -> int:
    """The last completion of a schedule."""
    return max(p + r.output for r, p in zip(instance.requests, starts, strict=True))


def event_check(instance: Instance, starts: Sequence[int]) -> int:
    """Check a non-preemptive schedule from its events alone (memory is linear between completions); return the peak.

    Memory held at tau is sum over runs with p < tau <= c of (s + tau - p): a constant plus a slope (the
    number of runs) times tau, both changing only at tau = p + 1 and tau = c + 1, and growing in between. So
    on each stretch between two changes it is largest at the stretch's last time: checking there suffices.
    Time and memory O(n log n), whatever the number of rounds. Raises amin.ScheduleError like check_schedule.
    """
    from amin import ScheduleError

    reqs = instance.requests
    if len(starts) != len(reqs):
        raise ScheduleError(f"{len(starts)} starts for {len(reqs)} requests")
    events: list[tuple[int, int, int]] = []  # (time from which the change holds, delta const, delta slope)
    for i, (r, p) in enumerate(zip(reqs, starts, strict=True)):
        if p < r.arrival:
            raise ScheduleError(f"request {i} starts at {p} before its arrival {r.arrival}")
        events.append((p + 1, r.prompt - p, 1))
        events.append((p + r.output + 1, -(r.prompt - p), -1))
    events.sort()
    const = slope = peak = 0
    for k, (tau, dc, ds) in enumerate(events):
        const += dc
        slope += ds
        nxt = events[k + 1][0] if k + 1 < len(events) else tau
        if nxt > tau:  # memory on tau .. nxt - 1 grows with tau: its largest value is at nxt - 1
            held = const + slope * (nxt - 1)
            if held > instance.capacity:
                raise ScheduleError(f"memory {held} exceeds capacity {instance.capacity} at time {nxt - 1}")
            peak = max(peak, held)
    return peak


def check(instance: Instance, starts: Sequence[int]) -> None:
    """The independent checker: amin.check_schedule, or `event_check` when the horizon is too long for it."""
    if horizon(instance, starts) <= CHECK_MAX_ROUNDS:
        check_schedule(instance, starts)
    else:
        event_check(instance, starts)


# --- priority rules ---------------------------------------------------------------------------------------
def memory_area(prompt: int, output: int) -> int:
    """Memory-rounds a request holds over its run: sum_{d=1..o} (s + d)."""
    return prompt * output + output * (output + 1) // 2


PriorityRule = Callable[[int, int], float]
PRIORITY_RULES: dict[str, PriorityRule] = {
    "area": memory_area,  # Smith's rule for the memory resource (docs/optimal.md): the winner on real traces
    "output": lambda s, o: o,  # shortest output first: H-SF's order
    "box": lambda s, o: o * (s + o),  # the run's bounding box: duration x peak memory
    "peak": lambda s, o: s + o,  # peak memory
    "prompt": lambda s, o: s,
}


def priority_keys(instance: Instance, rule: str | PriorityRule) -> list[tuple[float, int, int]]:
    """Sort keys (rule value, arrival, index): the tie-breaks of SPEC section 3's admission order."""
    f = PRIORITY_RULES[rule] if isinstance(rule, str) else rule
    return [(f(r.prompt, r.output), r.arrival, i) for i, r in enumerate(instance.requests)]


# --- list scheduling, event by event ------------------------------------------------------------------------
def _next_fit(
    ends: list[int], offsets: list[int], offset_sum: int, t: int, prompt: int, output: int, capacity: int
) -> int:
    """t if a request (prompt, output) started at t fits beside the running ones; else the next time worth trying.

    `ends` holds the completions (all > t) of the running requests, ascending, and `offsets` their s_j - p_j:
    request j holds s_j - p_j + x at every x <= c_j. Memory of running plus candidate is linear between
    completions, so only x = each completion in (t, t + o) and x = t + o are checked (docs/optimal.md).
    A violation of v at x persists while x stays in the window and the candidate's term s + x - t' is the
    only thing that shrinks: every t' < t + min(v, x - t) fails. If even x = t + 1 fails, memory at the first
    point only grows until a running request completes: wait for the first completion.
    """
    n = len(ends)
    if n == 0:
        return t
    if offset_sum + n * (t + 1) + prompt + 1 > capacity:
        return ends[0]
    threshold = capacity - prompt + t
    retry = t
    summed = count = 0
    j = n - 1
    point = t + output
    while j >= 0 and ends[j] >= point:
        summed += offsets[j]
        count += 1
        j -= 1
    v = summed + (count + 1) * point - threshold
    if v > 0:
        retry = t + min(v, output)
    while j >= 0:
        x = ends[j]
        while j >= 0 and ends[j] == x:
            summed += offsets[j]
            count += 1
            j -= 1
        v = summed + (count + 1) * x - threshold
        if v > 0:
            cand = t + min(v, x - t)
            if cand > retry:
                retry = cand
    return retry


def priority_schedule(instance: Instance, keys: Sequence[tuple[float, int, int]] | str = "area") -> tuple[int, ...]:
    """List scheduling by priority: at each time, admit arrived requests in key order while the next one fits.

    The admission stops at the first request that does not fit (SPEC section 2's prefix rule), so with the
    keys of rule "output" this is exactly H-SF; with all arrivals at 0 it is serial list scheduling (every
    request starts at its earliest feasible time no earlier than the previous one in the order). Event
    driven: time O(n x running) and memory O(n), whatever the number of rounds.
    """
    reqs = instance.requests
    if isinstance(keys, str):
        keys = priority_keys(instance, keys)
    n = len(reqs)
    capacity = instance.capacity
    by_arrival = sorted(range(n), key=lambda i: (reqs[i].arrival, i))
    waiting: list[tuple[float, int, int]] = []
    arrived = 0
    ends: list[int] = []
    offsets: list[int] = []
    offset_sum = 0
    starts = [0] * n
    started = 0
    t = 0
    while started < n:
        while arrived < n and reqs[by_arrival[arrived]].arrival <= t:
            heapq.heappush(waiting, keys[by_arrival[arrived]])
            arrived += 1
        done = bisect_right(ends, t)
        if done:
            offset_sum -= sum(offsets[:done])
            del ends[:done], offsets[:done]
        retry = None
        while waiting:
            i = waiting[0][2]
            r = reqs[i]
            retry = _next_fit(ends, offsets, offset_sum, t, r.prompt, r.output, capacity)
            if retry != t:
                break
            heapq.heappop(waiting)
            starts[i] = t
            started += 1
            end = t + r.output
            k = bisect_right(ends, end)
            ends.insert(k, end)
            offsets.insert(k, r.prompt - t)
            offset_sum += r.prompt - t
            retry = None
        if started == n:
            break
        nxt = reqs[by_arrival[arrived]].arrival if arrived < n else None
        if retry is None:  # nothing waits: jump to the next arrival
            assert nxt is not None
            t = nxt
        else:
            t = retry if nxt is None else min(retry, nxt)
    return tuple(starts)


# --- the memory profile, one int64 per round ------------------------------------------------------------------
class ProfileTooLong(Exception):
    """The schedule would need more than PROFILE_MAX_ROUNDS rounds of profile."""


class OutOfTime(Exception):
    """A construction did not finish before its deadline."""


_BIG = np.iinfo(np.int64).max // 4


class Profile:
    """Memory held at each time tau by a set of placed runs, with `earliest` start search (mutable, internal)."""

    def __init__(self, instance: Instance, rounds: int, max_rounds: int = PROFILE_MAX_ROUNDS) -> None:
        if rounds > max_rounds:
            raise ProfileTooLong(f"{rounds} rounds > {max_rounds}")
        self.capacity = instance.capacity
        self.prompt = [r.prompt for r in instance.requests]
        self.output = [r.output for r in instance.requests]
        self.max_rounds = max_rounds
        self.memory = np.zeros(rounds + 1, dtype=np.int64)
        self.ramp = np.arange(1, max(self.output) + 1, dtype=np.int64)

    def _ensure(self, rounds: int) -> None:
        if rounds < len(self.memory):
            return
        size = max(rounds + 1, 2 * len(self.memory))
        if size > self.max_rounds + 1:
            if rounds > self.max_rounds:
                raise ProfileTooLong(f"{rounds} rounds > {self.max_rounds}")
            size = self.max_rounds + 1
        grown = np.zeros(size, dtype=np.int64)
        grown[: len(self.memory)] = self.memory
        self.memory = grown

    def add(self, i: int, start: int, sign: int = 1) -> None:
        o = self.output[i]
        self._ensure(start + o)
        self.memory[start + 1 : start + o + 1] += sign * (self.prompt[i] + self.ramp[:o])

    def feasible_starts(self, i: int, t0: int, t1: int) -> np.ndarray:
        """Every start t in [t0, t1) at which request i fits: max over x in (t, t+o] of memory[x] + x <= M - s + t."""
        from scipy.ndimage import maximum_filter1d

        s, o = self.prompt[i], self.output[i]
        self._ensure(t1 + o)
        g = self.memory[t0 + 1 : t1 + o] + np.arange(t0 + 1, t1 + o, dtype=np.int64)
        # w[k] = max(g[k .. k + o - 1]) = the largest memory[x] + x over the window of a start at t0 + k
        w = maximum_filter1d(g, size=o, origin=-(o // 2), mode="constant", cval=_BIG)[: t1 - t0]
        return t0 + np.flatnonzero(w - np.arange(t0, t1) <= self.capacity - s)

    def earliest(self, i: int, lo: int) -> int:
        """The earliest start t >= lo at which request i fits (searched in chunks)."""
        chunk = max(4 * self.output[i], 4096)
        t0 = lo
        while True:
            ok = self.feasible_starts(i, t0, t0 + chunk)
            if len(ok):
                return int(ok[0])
            t0 += chunk


def backfill_schedule(
    instance: Instance, order: Sequence[int], rounds: int | None = None, deadline: float | None = None
) -> tuple[int, ...]:
    """Place requests in `order`, each at its earliest feasible start (>= its arrival) beside those placed.

    Later requests may start before earlier ones (backfilling). Always feasible. Time-indexed: raises
    ProfileTooLong past PROFILE_MAX_ROUNDS rounds, and OutOfTime once `deadline` (perf_counter) passes.
    """
    reqs = instance.requests
    guess = rounds if rounds is not None else max(r.arrival for r in reqs) + 2 * max(r.output for r in reqs) + 1024
    profile = Profile(instance, guess)
    starts = [0] * len(reqs)
    for k, i in enumerate(order):
        if deadline is not None and k % 64 == 0 and time.perf_counter() > deadline:
            raise OutOfTime(f"backfilling placed {k} of {len(order)} requests")
        p = profile.earliest(i, reqs[i].arrival)
        profile.add(i, p)
        starts[i] = p
    return tuple(starts)


# --- ruin and recreate -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchStats:
    """What a local search did: moves tried and accepted (strictly better), and the latency before and after."""

    moves: int
    improving: int
    before: int
    after: int
    seconds: float


def ruin_and_recreate(
    instance: Instance,
    starts: Sequence[int],
    deadline: float,
    *,
    seed: int = 0,
    max_removed: int = 6,
    reach: int = 3000,
    patience: int | None = None,
    target: int | None = None,
    exact_share: float | None = None,
    temperature: float = 0.0,
) -> tuple[tuple[int, ...], SearchStats]:
    """Local search over the schedule: remove a few requests, re-insert each at its earliest feasible start.

    A move removes k <= max_removed requests that start close together in time (a random one and its
    neighbours in start order), then re-inserts them one by one in a random choice of order (area, old
    start, random), each at its earliest start no earlier than `reach` rounds before the earliest removed
    start. A share `exact_share` of the moves removes two or three requests and re-inserts them exactly
    (`_best_reinsertion`): greedy earliest insertion alone cannot stagger starts (six identical requests:
    it keeps 0,0,3,3,6,6, where OPT is 0,1,2,3,4,5). Default 0.2 up to EXACT_MOVES_MAX_REQUESTS requests,
    else 0: on the 2,000-request traces they gained nothing and slowed the search up to tenfold (measured).
    The move is kept when the total latency does not grow (sideways moves let the search cross
    plateaus), or with probability exp(-increase / T) while a `temperature` T > 0 cools linearly to 0
    (simulated annealing; off by default: within +-0.5% of plain descent on the real traces, measured);
    the best schedule seen is returned. Only the moved requests change, so a move costs O(k x window),
    not a whole schedule.
    It stops at `deadline`, after `patience` moves in a row without a strict improvement (default
    max(200, 20 n)), or once the total latency reaches `target`.
    """
    clock = time.perf_counter()
    reqs = instance.requests
    n = len(reqs)
    rng = random.Random(seed)
    if exact_share is None:
        exact_share = 0.2 if n <= EXACT_MOVES_MAX_REQUESTS else 0.0
    current = list(starts)
    before = total_latency(instance, current)
    profile = Profile(instance, horizon(instance, current) + 2 * max(r.output for r in reqs) + 1024)
    for i, p in enumerate(current):
        profile.add(i, p)
    area = [memory_area(r.prompt, r.output) for r in reqs]
    moves = improving = 0
    patience = max(200, 20 * n) if patience is None else patience
    last_gain = 0
    by_start: list[int] = []
    position: dict[int, int] = {}
    latency = before
    best_latency, best_starts = before, None  # best_starts: None while `current` is the best schedule
    target = -1 if target is None else target
    while time.perf_counter() < deadline and n > 1 and moves - last_gain < patience and best_latency > target:
        if moves % 64 == 0:  # the start order drifts slowly: refresh it now and then, not every move
            by_start = sorted(range(n), key=lambda j: (current[j], j))
            position = {j: k for k, j in enumerate(by_start)}
        moves += 1
        k = rng.randint(1, min(max_removed, n))
        centre = position[rng.randrange(n)]
        span = rng.randint(k, 4 * k)
        pool = by_start[max(0, centre - span) : centre + span + 1]
        exact = rng.random() < exact_share
        removed = rng.sample(pool, min(rng.randint(2, 3) if exact else k, len(pool)))
        old = {j: current[j] for j in removed}
        for j in removed:
            profile.add(j, old[j], -1)
        lo = min(old.values()) - (0 if exact else rng.randint(0, reach))
        found = None
        if exact and len(removed) > 1:
            rng.shuffle(removed)
            # <= budget: sideways moves count, as for the greedy moves
            found = _best_reinsertion(
                profile, removed, [max(reqs[j].arrival, lo) for j in removed], sum(old.values()) + 1
            )
        if found is not None:
            new = found
            for j, t in new.items():
                profile.add(j, t)
        elif exact and len(removed) > 1:
            new = dict(old)
            for j, t in new.items():
                profile.add(j, t)
        else:
            mode = rng.random()
            if mode < 1 / 3:
                order = sorted(removed, key=lambda j: (area[j], j))
            elif mode < 2 / 3:
                order = sorted(removed, key=lambda j: (old[j], j))
            else:
                order = removed[:]
                rng.shuffle(order)
            new = {}
            for j in order:
                p = profile.earliest(j, max(reqs[j].arrival, lo))
                profile.add(j, p)
                new[j] = p
        delta = sum(new[j] - old[j] for j in removed)
        heat = temperature * max(0.0, (deadline - time.perf_counter()) / max(1e-9, deadline - clock))
        if delta <= 0 or (heat > 0 and rng.random() < math.exp(-delta / heat)):
            for j in removed:
                current[j] = new[j]
            latency += delta
            if latency < best_latency:
                improving += 1
                last_gain = moves
                best_latency, best_starts = latency, None
            elif best_starts is None and delta > 0:  # leaving the best schedule: keep a copy of it
                best_starts = [p - (new[j] - old[j]) if j in new else p for j, p in enumerate(current)]
        else:
            for j in removed:
                profile.add(j, new[j], -1)
                profile.add(j, old[j])
    final = current if best_starts is None else best_starts
    after = total_latency(instance, final)
    return tuple(final), SearchStats(moves, improving, before, after, time.perf_counter() - clock)


def _best_reinsertion(
    profile: Profile, jobs: list[int], lows: list[int], budget: int, max_candidates: int = 24
) -> dict[int, int] | None:
    """Starts for `jobs` (each >= its low) with the least sum below `budget`, given everything else in `profile`.

    Depth-first over the jobs in the given order: each job but the last tries its first `max_candidates`
    feasible starts, the last takes its earliest; a branch is cut once its partial sum plus the lows still to
    place reaches the best sum so far (or the budget). Exact when no job has more candidates than that.
    Returns None if nothing beats the budget; the profile is left as it was.
    """
    best_sum = budget
    best: dict[int, int] | None = None
    chosen: dict[int, int] = {}
    rest = [sum(lows[k + 1 :]) for k in range(len(jobs))]

    def place(k: int, partial: int) -> None:
        nonlocal best_sum, best
        j = jobs[k]
        if k == len(jobs) - 1:
            t = profile.earliest(j, lows[k])
            if partial + t < best_sum:
                best_sum, best = partial + t, {**chosen, j: t}
            return
        stop = best_sum - partial - rest[k]  # a start at or past this cannot beat the best sum
        if stop <= lows[k]:
            return
        for t in profile.feasible_starts(j, lows[k], stop)[:max_candidates]:
            t = int(t)
            if partial + t + rest[k] >= best_sum:
                break
            profile.add(j, t)
            chosen[j] = t
            place(k + 1, partial + t)
            del chosen[j]
            profile.add(j, t, -1)

    place(0, 0)
    return best


# --- the best schedule within a time limit ---------------------------------------------------------------------
def list_schedules(
    instance: Instance,
    rules: Sequence[str] = tuple(PRIORITY_RULES),
    deadline: float | None = None,
    at_least_one: bool = True,
) -> list[Schedule]:
    """Priority list scheduling under each rule (event driven, O(n) memory), each checked by `event_check`;
    rules are skipped once `deadline` (a perf_counter time) has passed, except the first if `at_least_one`."""
    out: list[Schedule] = []
    last = 0.0  # how long the previous rule took: a rule that would overrun the deadline is not started
    for rule in rules:
        if (out or not at_least_one) and deadline is not None and time.perf_counter() + last > deadline:
            break
        clock = time.perf_counter()
        starts = priority_schedule(instance, rule)
        event_check(instance, starts)
        last = time.perf_counter() - clock
        out.append(Schedule(total_latency(instance, starts), starts, f"list:{rule}", last))
    return out


def best_schedule(
    instance: Instance,
    time_limit: float | None = 10.0,
    *,
    seed: int = 0,
    candidates: Sequence[Schedule] = (),
    rules: Sequence[str] = tuple(PRIORITY_RULES),
    lower: int | None = None,
) -> Schedule:
    """The best checked schedule found within `time_limit` seconds (None: 10 s; 0: list scheduling only).

    Steps: priority list scheduling under every rule (event driven); backfilling in the order of the two
    best rules; then ruin-and-recreate local search from the best so far until the time limit, its patience
    runs out, or it reaches `lower` (a known lower bound: nothing can beat it). The time-indexed steps are
    skipped when the horizon exceeds PROFILE_MAX_ROUNDS. `candidates` (e.g. the online schedulers' final
    runs) compete too. The method names the steps that led to the winner; seconds is the total.
    """
    clock = time.perf_counter()
    limit = 10.0 if time_limit is None else time_limit
    deadline = clock + limit
    done = {c.method.removeprefix("list:") for c in candidates if c.method.startswith("list:")}
    listed = [c for c in candidates if c.method.startswith("list:")]
    listed += list_schedules(instance, [r for r in rules if r not in done], deadline, at_least_one=not candidates)
    best = min(list(candidates) + listed, key=lambda s: s.total_latency)
    reqs = instance.requests
    floor = sum(r.output for r in reqs) if lower is None else max(lower, sum(r.output for r in reqs))
    tail = 2 * max(r.output for r in reqs) + 1024
    if limit <= 0 or best.total_latency <= floor or horizon(instance, best.starts) + tail > PROFILE_MAX_ROUNDS:
        starts = canonical(instance, close_gaps(instance, best.starts))
        check(instance, starts)
        return Schedule(total_latency(instance, starts), starts, best.method, time.perf_counter() - clock)
    try:
        for listed_best in sorted(listed, key=lambda s: s.total_latency)[:2]:
            if time.perf_counter() >= deadline:
                break
            rule = listed_best.method.split(":", 1)[1]
            keys = priority_keys(instance, rule)
            order = sorted(range(len(reqs)), key=lambda i: keys[i])
            starts = backfill_schedule(instance, order, horizon(instance, best.starts) + tail, deadline)
            event_check(instance, starts)
            latency = total_latency(instance, starts)
            if latency < best.total_latency:
                best = Schedule(latency, starts, f"backfill:{rule}", 0.0)
        if time.perf_counter() < deadline and best.total_latency > floor:
            starts, stats = ruin_and_recreate(instance, best.starts, deadline, seed=seed, target=floor)
            event_check(instance, starts)
            if stats.after < best.total_latency:
                best = Schedule(stats.after, starts, best.method + "+ruin-recreate", 0.0)
    except (ProfileTooLong, OutOfTime):
        pass
    starts = canonical(instance, close_gaps(instance, best.starts))
    check(instance, starts)  # the reported schedule passes amin's checker (`check`), not only `event_check`
    return Schedule(total_latency(instance, starts), starts, best.method, time.perf_counter() - clock)


def canonical(instance: Instance, starts: Sequence[int]) -> tuple[int, ...]:
    """Relabel identical requests (same arrival, prompt, output) so their starts ascend with their index."""
    out = list(starts)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, r in enumerate(instance.requests):
        groups.setdefault((r.arrival, r.prompt, r.output), []).append(i)
    for members in groups.values():
        if len(members) > 1:
            for i, p in zip(members, sorted(starts[i] for i in members), strict=True):
                out[i] = p
    return tuple(out)


def close_gaps(instance: Instance, starts: Sequence[int]) -> tuple[int, ...]:
    """Close every empty-memory gap after the last arrival by shifting all later starts back into it.

    If nothing holds memory at t + 1 (t >= the last arrival) while some request starts after t, every run
    started at or before t has ended by t, so translating all later starts back to t keeps memory feasible
    and arrivals respected, and lowers the total latency. One sweep over the runs in start order, O(n log n).
    """
    reqs = instance.requests
    last_arrival = max(r.arrival for r in reqs)
    out = list(starts)
    reach = 0  # the latest completion among runs already swept (after shifting)
    shift = 0
    for i in sorted(range(len(out)), key=lambda j: out[j]):
        p = out[i] - shift
        floor = max(reach, last_arrival)
        if p > floor:  # memory is 0 on floor + 1 .. p: pull this run and all later ones back
            shift += p - floor
            p = floor
        out[i] = p
        reach = max(reach, p + reqs[i].output)
    return tuple(out)
