"""An event-driven engine that gives exactly the reference round loop's result, but visits only the rounds in
which something can change (a completion, an arrival, an overflow, or an admission that may now fit).

Between two such rounds the state evolves in closed form: memory grows by one
token per running request per round, and a request whose planned length has
been reached is refined every round, which only moves its planned end to
t + 1. So the memory series is a chain of linear pieces, the next overflow
round is one division, and after a failed admission test the engine knows how
long the first waiting candidate must keep failing (see `_plan_check`).
Only the five built-in schedulers are supported: a policy that overrides any
decision or loop hook runs on the reference engine (`supports`).
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left, insort

from .engine import NonTermination, round_budget
from .model import Instance
from .results import Eviction, MemorySeries, Record, Result
from .schedulers import FCFS, HSF, MCSF, Amax, Amin, Scheduler

# Exactly these classes: a subclass may change any decision, so it gets the reference loop.
BUILT_IN = (HSF, Amax, Amin, MCSF, FCFS)
_HOOKS = ("initial_planned_length", "eviction_priority", "admission_priority", "admission", "refine", "cap",
          "select_evictions", "choose_evictions", "tie_ranks")
_NEVER = 1 << 62  # "no such event before the end of time"


def supports(scheduler: Scheduler) -> bool:
    """True when the fast engine reproduces this scheduler: a built-in class with no hook patched on the object."""
    if type(scheduler) not in BUILT_IN:
        return False
    own = getattr(scheduler, "__dict__", {})
    return not any(h in own for h in _HOOKS)


def _plan_check(plan: list[tuple[int, int, int]], t: int, planned_length: int, prompt: int, capacity: int,
                total_c: int, running: int) -> int:
    """The MC-SF test for one candidate starting at t: 0 if it fits, else the first round worth testing again.

    `plan` holds (planned end E, prompt - start, index) of every running job,
    sorted; a job whose planned end has passed plans to end at t + 1. The
    candidate fits when planned memory at every integer x in [t+1, t+L] stays
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


def _fcfs_head(waiting: list[int], future: list[int], queued: int, nxt: int, arrival: list[int], n: int) -> int:
    """The first waiting request in (arrival, index) order: an evictee from the heap or the queue's front; -1: none."""
    if queued < nxt:
        j = future[queued]
        if not waiting or arrival[j] * n + j < waiting[0]:
            return j
    return waiting[0] % n if waiting else -1


def simulate_fast(instance: Instance, scheduler: Scheduler, max_rounds: int | None = None) -> Result:
    """Run a built-in scheduler on an instance; the Result equals `Simulation(instance, scheduler).run()`."""
    if not supports(scheduler):
        raise ValueError(f"the fast engine does not support {type(scheduler).__name__}: use engine='reference'")
    reqs = instance.requests
    n = len(reqs)
    cap = instance.capacity
    budget = round_budget(instance) if max_rounds is None else max_rounds
    prompt = [r.prompt for r in reqs]
    output = [r.output for r in reqs]
    arrival = [r.arrival for r in reqs]
    # Same views as the reference loop: only a clairvoyant scheduler (hsf) is handed the true output.
    initial = scheduler.initial_planned_length
    views = reqs if scheduler.clairvoyant else [r.public() for r in reqs]
    planned = [min(initial(v), cap - r.prompt) for v, r in zip(views, reqs, strict=True)]  # the base cap hook
    rank: list[int] = []  # tie-break ranks, drawn at the first eviction that needs them (same seeded draw)
    fcfs = type(scheduler) is FCFS
    by_progress = scheduler.eviction_key == "progress"
    admits_after_eviction = scheduler.admits_after_eviction

    start = [-1] * n  # start of the current run, -1 while waiting or done
    completion = [0] * n
    evictions = [0] * n
    wasted = [0] * n
    log: list[Eviction] = []
    future = sorted(range(n), key=arrival.__getitem__)  # stable: ties stay in index order
    nxt = 0  # future[nxt] is the next request to arrive
    # Heaps hold one int per entry (tuples compare several times slower): waiting is keyed by the
    # admission priority (planned length, arrival, index), fcfs (arrival, index); ends by (round, index).
    span = max(arrival) + 1
    waiting: list[int] = []
    # fcfs admits in arrival order, so its never-started arrivals future[queued:nxt] wait in a plain
    # queue and only evictees go to the heap; the head is the smaller of the two fronts.
    queued = 0
    ends: list[int] = []  # completion round * n + index; stale once that run is evicted
    running: set[int] = set()
    admitted: list[int] = []  # fcfs: running jobs in admission order
    plan: list[tuple[int, int, int]] = []  # sorted (planned end, prompt - start, index) of running jobs
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

    while True:
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
                over = (cap - total_c) // len(running)  # the first round whose next memory would not fit
                if over < t_next:
                    t_next = over
            if (waiting or queued < nxt) and next_try < t_next:
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
        while ends and ends[0] < stop:
            j = heappop(ends) % n
            p = start[j]
            if p < 0 or p + output[j] != t:
                continue  # a run that was evicted
            completion[j] = t
            start[j] = -1
            running.discard(j)
            total_c -= prompt[j] - p
            if fcfs:
                admitted.remove(j)
            else:
                del plan[bisect_left(plan, (p + planned[j], prompt[j] - p, j))]
            done += 1
        if done == n:
            break

        # --- 2-3. refine (lazily: planned length max(L, t - start + 1)) and overflow ---------------------
        need = total_c + len(running) * (t + 1)
        evicted: list[int] = []
        if need > cap:
            if fcfs:
                # Most recently admitted first: within a round fcfs admits in (arrival, index) order, so
                # this is the reverse of the admission order.
                order = admitted[::-1]
            else:
                if not rank:
                    rank = scheduler.tie_ranks(n)
                if by_progress:
                    order = sorted(running, key=lambda j: (t - start[j], rank[j]))
                else:
                    order = sorted(running, key=lambda j: (max(planned[j], t - start[j] + 1), rank[j]))
            for j in order:
                if need <= cap:
                    break
                p = start[j]
                g = t - p
                need -= prompt[j] + g + 1
                log.append(Eviction(j, p, t))
                if fcfs:
                    admitted.pop()
                else:
                    del plan[bisect_left(plan, (p + planned[j], prompt[j] - p, j))]
                planned[j] = min(max(planned[j], g + 1), cap - prompt[j])
                wasted[j] += g
                evictions[j] += 1
                start[j] = -1
                running.discard(j)
                total_c -= prompt[j] - p
                evicted.append(j)

        # --- 4. admit -------------------------------------------------------------------------------
        if fcfs:
            while nxt < n and arrival[future[nxt]] <= t:
                nxt += 1
        else:
            while nxt < n and arrival[future[nxt]] <= t:
                j = future[nxt]
                nxt += 1
                heappush(waiting, (planned[j] * span + arrival[j]) * n + j)
            queued = nxt
        next_try = _NEVER
        if (waiting or queued < nxt) and not (evicted and not admits_after_eviction):
            while True:
                if fcfs:
                    j = _fcfs_head(waiting, future, queued, nxt, arrival, n)
                    if j < 0:
                        break
                    s = prompt[j]
                    if need + s + 1 > cap:
                        break  # next memory only grows until a job leaves: no retry before an event
                    if queued < nxt and future[queued] == j:
                        queued += 1
                    else:
                        heappop(waiting)
                else:
                    if not waiting:
                        break
                    j = waiting[0] % n
                    s = prompt[j]
                    retry = _plan_check(plan, t, planned[j], s, cap, total_c, len(running))
                    if retry:
                        next_try = retry
                        break
                    insort(plan, (t + planned[j], s - t, j))
                    heappop(waiting)
                start[j] = t
                running.add(j)
                total_c += s - t
                need += s + 1
                heappush(ends, (t + output[j]) * n + j)
                if fcfs:
                    admitted.append(j)
        if evicted:
            for j in evicted:
                heappush(waiting, arrival[j] * n + j if fcfs else (planned[j] * span + arrival[j]) * n + j)
            # The queue's head may have changed: test it as round t + 1 would (if a job leaves or arrives
            # at t + 1, that round is visited anyway).
            if fcfs:
                j = _fcfs_head(waiting, future, queued, nxt, arrival, n)
                fits = total_c + len(running) * (t + 2) + prompt[j] + 1 <= cap
                next_try = t + 1 if fits else _NEVER
            else:
                j = waiting[0] % n
                next_try = _plan_check(plan, t + 1, planned[j], prompt[j], cap, total_c, len(running)) or t + 1

        # --- 5. execute: memory from t + 1 on follows total_c + len(running) * tau ----------------------
        idle = not running and not waiting and queued == nxt
        seg_start.append(t + 1)
        seg_c.append(total_c)
        seg_n.append(len(running))

    records = tuple(
        Record(i, arrival[i], completion[i] - output[i], completion[i], evictions[i], wasted[i]) for i in range(n)
    )
    return Result(
        scheduler=scheduler.name,
        options=scheduler.options(),
        capacity=cap,
        records=records,
        eviction_log=tuple(log),
        memory=MemorySeries(
            ((a, c + k * a, k) for a, c, k in zip(seg_start, seg_c, seg_n, strict=True)), t + 1
        ),
    )
