"""An event-driven engine that gives exactly the reference round loop's result, but visits only the rounds in
which something can change (a completion, an arrival, an overflow, or an admission that may now fit).

It keeps its own data structures and no copy of a rule: every decision comes from the scheduler's `Rules`
record through the functions of `amin.rules`. Between two visited rounds the state evolves in closed form:
memory grows by one token per running request per round, and a running request's planned end is
max(start + L, t + floor) (`rules.planned_end_floor`). So the memory series is a chain of linear pieces, the
next overflow round is one division, and after a failed admission test the engine knows how long the first
waiting candidate must keep failing (`_plan_check`).

The MC-SF admission of one round finds the longest admissible prefix of the waiting queue by galloping and
binary search, each probe one sweep over the planned end points: a round costs O((R + K) log K) for R running
and K admitted requests, so O(M log M) with bursts included (claim C6; benchmarks/bench_c6.py).
"""

from __future__ import annotations

import heapq
import time
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence

from . import rules as R
from .horizon import NonTermination, run_budget
from .model import Instance, PublicRequest, Request
from .results import Eviction, MemorySeries, Record, Result
from .rules import Rules
from .schedulers import SCHEDULERS, RuleScheduler, Scheduler

_NEVER = 1 << 62  # "no such event before the end of time"


def supports(scheduler: Scheduler) -> bool:
    """True when the fast engine reproduces this scheduler: exactly a built-in class (a subclass may override any
    hook) whose rules have the closed forms the engine needs; mutants and user policies run on the reference."""
    if type(scheduler) not in (RuleScheduler, *SCHEDULERS.values()):
        return False
    rules: Rules = scheduler.rules
    # KV blocks make memory a staircase, not a line between events: that reading runs on the reference loop.
    return not rules.mutant and rules.cap and rules.block_size == 1


def _plan_check(
    plan: list[tuple[int, int, int]],
    t: int,
    planned_length: int,
    prompt: int,
    capacity: int,
    total_c: int,
    running: int,
) -> int:
    """The MC-SF test for one candidate starting at t: 0 if it fits, else the first round worth testing again.

    `plan` holds (planned end E, prompt - start, index) of every running job,
    sorted; a job whose planned end has passed plans to end at t + 1 (the
    refinement's floor). The candidate fits when planned memory at every integer x in [t+1, t+L] stays
    within capacity; memory is linear between planned ends, so only ends and
    t + L are evaluated, which is exactly the reference's set of points.

    Why a failure lasts: with no completion, arrival or eviction, a point x >= t+2
    keeps its running-job term G(x) while the candidate's term s + x - t' shrinks
    by one per round, so a violation of v at x persists through round t + v - 1.
    Once x becomes t' + 1 it is next round's memory, which holds at least G(x)
    and only grows until a job leaves: so if the violation outlives the rounds
    before x - 1 (v >= x - t), the candidate waits for an event.
    """
    # x = t + 1: every running job counts there.
    if total_c + running * (t + 1) + prompt + 1 > capacity:
        return _NEVER
    if planned_length == 1:
        return 0
    end = t + planned_length
    threshold = capacity - prompt + t  # G(x) + x <= threshold at every checked x >= t + 2
    low = t + 2
    retry = sc = 0
    point = end  # the next point to evaluate, once every job ending at or after it is summed
    for n, (e, c, _) in enumerate(reversed(plan)):  # n: jobs summed so far
        if e < point:
            v = sc + (n + 1) * point - threshold
            if v > 0:
                r = t + v if v < point - t else _NEVER
                if r > retry:
                    retry = r
            if e < low:
                break
            point = e
        sc += c
    else:
        v = sc + (len(plan) + 1) * point - threshold
        if v > 0:
            r = t + v if v < point - t else _NEVER
            if r > retry:
                retry = r
    return retry


def _prefix_fits(
    plan: list[tuple[int, int, int]], suffix_c: list[int], floor_point: int, cands: list[tuple[int, int]], capacity: int
) -> bool:  # floor_point: t + 1
    """Do these candidates (end e, prompt - t), in admission order with non-decreasing ends, fit together?

    For such candidates, admitting them one by one succeeds exactly when the planned memory with all of them
    stays within capacity at every planned end point up to the last candidate's end: an earlier candidate's
    test covers fewer points with fewer members. One sweep, descending, over those points.
    """
    top = cands[-1][0]
    k = bisect_right(plan, (top, 1 << 62, 0))  # running jobs ending after `top` count at every point
    acc_c, acc_n = suffix_c[k], len(plan) - k
    i, m = k - 1, len(cands) - 1
    while i >= 0 or m >= 0:
        # The next point, descending: a running job's end (at least the floor point) or a candidate's end.
        x = max(max(plan[i][0], floor_point) if i >= 0 else -1, cands[m][0] if m >= 0 else -1)
        while i >= 0 and max(plan[i][0], floor_point) == x:
            acc_c += plan[i][1]
            acc_n += 1
            i -= 1
        while m >= 0 and cands[m][0] == x:
            acc_c += cands[m][1]
            acc_n += 1
            m -= 1
        if acc_c + acc_n * x > capacity:
            return False
    return True


def simulate_fast(
    instance: Instance,
    scheduler: Scheduler,
    max_rounds: int | None = None,
    round_times: list[tuple[int, int, int, float]] | None = None,
) -> Result:
    """Run a built-in scheduler on an instance; the Result equals `Simulation(instance, scheduler).run()`.

    `round_times`, when given, receives (round, running, admitted, seconds) for every visited round: the
    per-step cost that claim C6 is about (benchmarks/bench_c6.py)."""
    if not supports(scheduler):
        raise ValueError(f"the fast engine does not support {type(scheduler).__name__}: use engine='reference'")
    rules: Rules = scheduler.rules
    instance = R.model_instance(rules, instance)  # prefill as a round of its own, if read so
    reqs = instance.requests
    n = len(reqs)
    cap = instance.capacity
    budget = run_budget(instance, rules) if max_rounds is None else max_rounds
    prompt = [r.prompt for r in reqs]
    output = [r.output for r in reqs]
    arrival = [r.arrival for r in reqs]
    # Same views as the reference loop: only a clairvoyant scheduler (hsf) is handed the true output.
    views: Sequence[Request | PublicRequest] = reqs if rules.clairvoyant else [r.public() for r in reqs]
    planned = [
        R.cap(rules, R.initial_planned_length(rules, v), r.prompt, cap) for v, r in zip(views, reqs, strict=True)
    ]
    rank: list[int] = []  # tie-break ranks, drawn at the first eviction that needs them (same seeded draw)
    planning = rules.admission == "planning"
    floor = R.planned_end_floor(rules)
    admission_key = R.admission_key
    # SPEC's readings give the closed forms behind `_plan_check`'s retry rounds; under any other reading a
    # waiting request is simply tested again every round (planned ends pass, or double, without an event).
    exact_retry = rules.refinement == "g+1" and rules.planning_basis == "refined"
    skip = rules.admission_stop == "skip"
    doubling = floor == 1 and rules.refinement == "doubling"  # the plan follows each doubling as it happens
    by_length = rules.admission_order == "planned"  # candidates' planned ends then never decrease (galloping)

    def current_planned(j: int, t: int) -> int:
        return R.cap(rules, R.refine(rules, planned[j], t - start[j]), prompt[j], cap)

    start = [-1] * n  # start of the current run, -1 while waiting or done
    completion = [0] * n
    evictions = [0] * n
    wasted = [0] * n
    log: list[Eviction] = []
    future = sorted(range(n), key=arrival.__getitem__)  # stable: ties stay in index order
    nxt = 0  # future[nxt] is the next request to arrive
    # Admission keys (each ends with the request's index): a heap, or a sorted list when admission skips misfits
    # (it then walks the whole queue in order).
    waiting: list[tuple[int, ...]] = []
    ends: list[int] = []  # completion round * n + index; stale once that run is evicted
    running: set[int] = set()
    plan: list[tuple[int, int, int]] = []  # sorted (start + planned length, prompt - start, index) of running jobs
    total_c = 0  # sum over running jobs of prompt - start: memory at tau is total_c + len(running) * tau
    done = 0
    # Memory pieces: from round seg_start on, memory[tau] = seg_c + seg_n * tau (until the next piece).
    seg_start = array("q", [0])
    seg_c = array("q", [0])
    seg_n = array("q", [0])
    steps = 0
    t = -1  # the round just processed; -1: before round 0, idle
    idle = True
    next_try = _NEVER  # first round at which the first waiting candidate may fit
    heappush, heappop = heapq.heappush, heapq.heappop
    wait = insort if skip else heappush

    def head_retry(at: int) -> int:
        """The first round >= `at` worth testing the first waiting candidate again (0: it fits at `at`)."""
        if not exact_retry or skip:
            return at
        j = waiting[0][-1]
        if planning:
            return _plan_check(plan, at, planned[j], prompt[j], cap, total_c, len(running))
        return 0 if R.memory_admits(rules, total_c + len(running) * (at + 1), prompt[j], cap) else _NEVER

    def drop_from_plan(gone: list[int]) -> None:
        nonlocal plan
        if len(gone) > 8:  # many leave at once: one filtering pass instead of many deletions
            leaving = set(gone)
            plan = [p for p in plan if p[2] not in leaving]
        else:
            for j in gone:
                del plan[bisect_left(plan, (start[j] + planned[j], prompt[j] - start[j], j))]

    clock = time.perf_counter
    while True:
        tick = clock() if round_times is not None else 0.0
        # --- choose the next round that can change anything --------------------------------------
        while ends:
            e = ends[0]
            j = e % n
            if start[j] >= 0 and start[j] + output[j] == e // n:
                break
            heappop(ends)  # a run that was evicted
        t_next = arrival[future[nxt]] if nxt < n else _NEVER
        if idle:
            if t_next <= t:
                t_next = t + 1
            k = 1  # the reference jumps over idle rounds in one step
        else:
            if ends and ends[0] // n < t_next:
                t_next = ends[0] // n
            if running:
                # The first round whose next memory would not fit (a reading whose admission can overflow the
                # very next round leaves that overflow to round t + 1, as the reference does).
                over = max((cap - total_c) // len(running), t + 1)
                if over < t_next:
                    t_next = over
            if waiting and next_try < t_next:
                t_next = next_try
            k = t_next - t
        if steps + k > budget:
            at = t + 1 if idle else t + budget - steps + 1
            raise NonTermination(
                f"{scheduler.name}: no termination within {budget} rounds ({n - done} requests unfinished at t={at})"
            )
        steps += k
        t = t_next

        # --- 1. complete -------------------------------------------------------------------------------
        stop = (t + 1) * n
        finished: list[int] = []
        while ends and ends[0] < stop:
            j = heappop(ends) % n
            p = start[j]
            if p < 0 or p + output[j] != t:
                continue  # a run that was evicted
            finished.append(j)
        if planning and finished:
            drop_from_plan(finished)
        for j in finished:
            completion[j] = t
            total_c -= prompt[j] - start[j]
            start[j] = -1
            running.discard(j)
        done += len(finished)
        if done == n:
            break

        # --- 2-3. refine (lazily: `current_planned`) and overflow ----------------------------------------
        need = total_c + len(running) * (t + 1)
        evicted: list[int] = []
        if need > cap:
            if not rank:
                rank = R.tie_ranks(rules, n)
            order = sorted(
                running,
                key=lambda j: R.eviction_key(
                    rules, current_planned(j, t), t - start[j], start[j], arrival[j], j, rank[j]
                ),
            )
            sizes = [prompt[j] + t - start[j] + 1 for j in order]
            evicted = order[: R.evictions_needed(rules, sizes, need, cap)]
            if planning:
                drop_from_plan(evicted)
            for j in evicted:
                p = start[j]
                g = t - p
                need -= prompt[j] + g + 1
                log.append(Eviction(j, p, t))
                planned[j] = R.refined_after_eviction(rules, planned[j], g, prompt[j], cap)
                wasted[j] += g
                evictions[j] += 1
                start[j] = -1
                running.discard(j)
                total_c -= prompt[j] - p

        # --- 4. admit -------------------------------------------------------------------------------
        while nxt < n and arrival[future[nxt]] <= t:
            j = future[nxt]
            nxt += 1
            wait(waiting, admission_key(rules, planned[j], prompt[j], arrival[j], j))
        if doubling and plan and plan[0][0] <= t:
            # Running requests that produced their whole planned length double it now (the reference refines
            # every round; between visits nothing reads the plan).
            due = plan[: bisect_right(plan, (t, 1 << 62, 0))]
            del plan[: len(due)]
            for _, _, j in due:
                planned[j] = current_planned(j, t)
                insort(plan, (start[j] + planned[j], prompt[j] - start[j], j))
        next_try = _NEVER
        admitted: list[int] = []
        if waiting and not (evicted and not rules.admits_after_eviction):
            if skip:
                admitted = _admit_skipping(
                    waiting, plan, planned, prompt, t, floor, cap, total_c, len(running), need, rules
                )
            elif planning:
                admitted, next_try = _admit_mcsf(
                    waiting, plan, planned, prompt, t, floor, cap, total_c, len(running), by_length
                )
            else:
                while waiting and R.memory_admits(rules, need, prompt[waiting[0][-1]], cap):
                    j = heappop(waiting)[-1]
                    admitted.append(j)
                    need += prompt[j] + 1
                # Next round's memory only grows until a job leaves: no retry before an event.
            if waiting and (skip or not exact_retry):
                next_try = t + 1
            for j in admitted:
                start[j] = t
                running.add(j)
                total_c += prompt[j] - t
                heappush(ends, (t + output[j]) * n + j)
        if evicted:
            for j in evicted:
                wait(waiting, admission_key(rules, planned[j], prompt[j], arrival[j], j))
            # The queue's head may have changed: test it as round t + 1 would (if a job leaves or arrives
            # at t + 1, that round is visited anyway).
            next_try = head_retry(t + 1) or t + 1

        # --- 5. execute: memory from t + 1 on follows total_c + len(running) * tau ----------------------
        idle = not running and not waiting
        seg_start.append(t + 1)
        seg_c.append(total_c)
        seg_n.append(len(running))
        if round_times is not None:
            round_times.append((t, len(running), len(admitted), clock() - tick))

    records = tuple(
        Record(i, arrival[i], completion[i] - output[i], completion[i], evictions[i], wasted[i]) for i in range(n)
    )
    return Result(
        scheduler=scheduler.name,
        options=scheduler.options(),
        capacity=cap,
        records=records,
        eviction_log=tuple(log),
        memory=MemorySeries(((a, c + k * a, k) for a, c, k in zip(seg_start, seg_c, seg_n, strict=True)), t + 1),
    )


SEQUENTIAL = 8
"""Candidates tested one by one (`_plan_check`, cheap when few are admitted) before galloping takes over."""


def _active(plan: list[tuple[int, int, int]], t: int, floor: int | None) -> int:
    """Where the plan's entries that still plan memory at t + 1 start: all of them under a floor, else those
    whose planned end has not passed."""
    return 0 if floor is not None else bisect_left(plan, (t + 1, -(1 << 62), -1))


def _admit_skipping(
    waiting: list[tuple[int, ...]],
    plan: list[tuple[int, int, int]],
    planned: list[int],
    prompt: list[int],
    t: int,
    floor: int | None,
    capacity: int,
    total_c: int,
    running: int,
    need: int,
    rules: Rules,
) -> list[int]:
    """Admission that skips a misfit and goes on (the skip-misfit reading): every waiting request is tested in
    order against the plan with the ones admitted before it. A request of planned length L and prompt s that
    does not fit rules out every later one with L' >= L (the admission order) and s' >= s, so those are not
    tested. Removes the admitted from `waiting` (a sorted list) and adds them to `plan`."""
    lo = _active(plan, t, floor)
    active = plan[lo:]
    if floor is None:
        total_c, running = sum(c for _, c, _ in active), len(active)
    admitted: list[int] = []
    keep: list[tuple[int, ...]] = []
    smallest_misfit = 1 << 62
    for entry in waiting:
        j = entry[-1]
        s = prompt[j]
        if s >= smallest_misfit:
            keep.append(entry)
            continue
        if rules.admission == "planning":
            fits = _plan_check(active, t, planned[j], s, capacity, total_c, running) == 0
        else:
            fits = R.memory_admits(rules, need, s, capacity)
        if not fits:
            smallest_misfit = s
            keep.append(entry)
            continue
        admitted.append(j)
        need += s + 1
        if rules.admission == "planning":
            insort(active, (t + planned[j], s - t, j))
            total_c += s - t
            running += 1
    waiting[:] = keep
    if rules.admission == "planning":
        plan[lo:] = active
    return admitted


def _admit_mcsf(
    waiting: list[tuple[int, ...]],
    plan: list[tuple[int, int, int]],
    planned: list[int],
    prompt: list[int],
    t: int,
    floor: int | None,
    capacity: int,
    total_c: int,
    running: int,
    by_length: bool = True,
) -> tuple[list[int], int]:
    """Pop the longest prefix of the waiting queue that the MC-SF test admits at round t, add it to `plan`, and
    return it with the first round worth testing the refused head again (_NEVER if the queue is empty). Without
    a planned-end floor, running requests whose planned end has passed plan nothing (`_active`).

    The first SEQUENTIAL candidates are tested one by one; a burst beyond them is admitted by galloping
    (1, 2, 4, ... more candidates) and binary search, each probe one `_prefix_fits` sweep over the plan, so a
    round costs O((R + K) log K) for R running and K admitted requests. Galloping needs candidates whose planned
    ends never decrease (the MC-SF order by planned length); under another admission order (`by_length` False)
    every candidate is tested on its own."""
    heappop, heappush = heapq.heappop, heapq.heappush
    lo = _active(plan, t, floor)
    active = plan[lo:] if lo else plan
    if floor is None:
        total_c, running = sum(c for _, c, _ in active), len(active)
    admitted: list[int] = []
    retry = _NEVER
    while waiting and (len(admitted) < SEQUENTIAL or not by_length):
        j = waiting[0][-1]
        retry = _plan_check(active, t, planned[j], prompt[j], capacity, total_c, running)
        if retry:
            break
        heappop(waiting)
        insort(active, (t + planned[j], prompt[j] - t, j))
        total_c += prompt[j] - t
        running += 1
        admitted.append(j)
    if waiting and not retry:  # a burst: gallop
        suffix_c = [0] * (len(active) + 1)
        for k in range(len(active) - 1, -1, -1):
            suffix_c[k] = suffix_c[k + 1] + active[k][1]
        popped: list[tuple[int, ...]] = []  # heap entries taken so far, in admission order
        cands: list[tuple[int, int]] = []  # their (planned end, prompt - t)

        def take(upto: int) -> bool:
            while len(popped) < upto and waiting:
                entry = heappop(waiting)
                j = entry[-1]
                popped.append(entry)
                cands.append((t + planned[j], prompt[j] - t))
            return len(popped) >= upto

        # The MC-SF order sorts by planned length, so the candidates' planned ends do not decrease, which
        # `_prefix_fits` needs (the loop above tests every candidate under any other order).
        good, probe = 0, 1  # the first `good` candidates fit together
        while take(probe) and _prefix_fits(active, suffix_c, t + 1, cands[:probe], capacity):
            good, probe = probe, 2 * probe
        bad = min(probe, len(popped) + 1)  # the first `bad` do not fit (or there are not that many)
        while bad - good > 1:
            mid = (good + bad) // 2
            if _prefix_fits(active, suffix_c, t + 1, cands[:mid], capacity):
                good = mid
            else:
                bad = mid
        for entry in popped[good:]:
            heappush(waiting, entry)
        burst = [entry[-1] for entry in popped[:good]]
        if burst:
            active.extend((t + planned[j], prompt[j] - t, j) for j in burst)
            active.sort()  # two sorted runs: linear
            total_c += sum(prompt[j] - t for j in burst)
            running += len(burst)
        admitted += burst
        if waiting:
            j = waiting[0][-1]
            retry = _plan_check(active, t, planned[j], prompt[j], capacity, total_c, running) or t + 1
    if lo:
        plan[lo:] = active
    return admitted, retry if waiting else _NEVER
