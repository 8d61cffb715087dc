"""The round loop of SPEC section 2, written once and shared by every scheduler (the reference engine).

Each call to `Simulation.step()` runs one round t: complete, refine, overflow
check (evict), admit, execute. The per-request online state (`Simulation.jobs`)
can be inspected between rounds; `simulate()` runs to the end and returns an
immutable `Result`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import rules as R
from .fast import simulate_fast, supports
from .horizon import NonTermination, run_budget
from .model import Instance, load_instance
from .results import Eviction, MemoryRecorder, Record, Result
from .schedulers import Job, RuleScheduler, Scheduler, make_scheduler


@dataclass(frozen=True, slots=True)
class RoundEvent:
    """What happened in round t; `memory_next` is the memory held at time t + 1."""

    t: int
    completed: tuple[int, ...]
    evicted: tuple[int, ...]
    admitted: tuple[int, ...]
    memory_next: int


@dataclass(frozen=True, slots=True)
class JobState:
    """A frozen snapshot of one request's online state (for invariant checks between rounds)."""

    index: int
    status: str
    planned_length: int
    start: int | None
    progress: int
    evictions: int
    completion: int | None


MAX_SPAN = 20_000_000
"""The most busy rounds the reference engine accepts: it visits every busy round (docs/semantics.md)."""


def check_span(instance: Instance) -> None:
    """Refuse, with one clear line, an instance the reference engine would need too many rounds for.

    Idle gaps are skipped, so arrivals do not count; the busy rounds are at least the longest output and at
    most the total output plus the tokens evictions waste. The fast engine has no such limit: its time and
    memory grow with the number of events, not of rounds.
    """
    total = sum(r.output for r in instance.requests)
    if total > MAX_SPAN:
        raise ValueError(
            f"the requests' outputs total {total:,} rounds; the reference engine visits every busy round, so at "
            f"most {MAX_SPAN:,} are accepted (use the fast engine)"
        )


class Simulation:
    """One run of the round loop for one instance and one scheduler."""

    def __init__(self, instance: Instance, scheduler: Scheduler, max_rounds: int | None = None) -> None:
        check_span(instance)
        instance = R.model_instance(scheduler.rules, instance)  # prefill as a round of its own, if read so
        self.instance = instance
        self.scheduler = scheduler
        self.capacity = instance.capacity
        rules = scheduler.rules if isinstance(scheduler, RuleScheduler) else None
        self.max_rounds = run_budget(instance, rules) if max_rounds is None else max_rounds
        self._outputs = [r.output for r in instance.requests]  # hidden from non-clairvoyant schedulers
        ranks = scheduler.tie_ranks(len(instance.requests))
        self.jobs: list[Job] = []
        for i, r in enumerate(instance.requests):
            view = r if scheduler.clairvoyant else r.public()
            planned = scheduler.cap(scheduler.initial_planned_length(view), r.prompt, self.capacity)
            self.jobs.append(Job(index=i, request=view, planned_length=planned, tie_rank=ranks[i]))
        self.t = 0
        self.running: list[Job] = []
        self._future = sorted(range(len(self.jobs)), key=lambda i: (instance.requests[i].arrival, i), reverse=True)
        self._waiting: list[tuple[tuple[int, ...], int]] = []  # heap of (admission priority, index), arrived only
        self._done = 0
        self._runs: list[Eviction] = []
        self.memory = MemoryRecorder()
        self.memory.append(0)
        self.rounds = 0

    @property
    def finished(self) -> bool:
        return self._done == len(self.jobs)

    def snapshot(self) -> tuple[JobState, ...]:
        return tuple(
            JobState(j.index, j.status, j.planned_length, j.start, j.progress, j.evictions, j.completion)
            for j in self.jobs
        )

    def _push_waiting(self, job: Job) -> None:
        heapq.heappush(self._waiting, (self.scheduler.admission_priority(job), job.index))

    def step(self) -> RoundEvent:
        """Run round t (SPEC section 2) and advance to t + 1."""
        if self.rounds >= self.max_rounds:
            raise NonTermination(
                f"{self.scheduler.name}: no termination within {self.max_rounds} rounds "
                f"({len(self.jobs) - self._done} requests unfinished at t={self.t})"
            )
        sched, cap, t = self.scheduler, self.capacity, self.t
        # Idle: nothing running and nothing arrived: jump to the next arrival (no semantic change).
        if not self.running and not self._waiting and self._future:
            nxt = self.instance.requests[self._future[-1]].arrival
            if nxt > t:
                self.memory.append(0, nxt - t)
                self.t = t = nxt

        # 1. Complete.
        completed = []
        still = []
        for j in self.running:
            assert j.start is not None
            if t - j.start == self._outputs[j.index]:
                j.completion = t
                j.progress = t - j.start
                completed.append(j.index)
                self._done += 1
            else:
                still.append(j)
        self.running = still

        # 2. Refine.
        for j in self.running:
            assert j.start is not None
            j.progress = t - j.start
            j.planned_length = sched.cap(sched.refine(j.planned_length, j.progress), j.request.prompt, cap)

        # 3. Overflow check: memory at t + 1.
        rules = sched.rules
        need = sum(R.held(rules, j.request.prompt, j.progress + 1) for j in self.running)
        evicted = list(sched.select_evictions(self.running, t, need, cap))
        if evicted:
            gone = {j.index for j in evicted}
            self.running = [j for j in self.running if j.index not in gone]
            for j in evicted:
                assert j.start is not None
                need -= R.held(rules, j.request.prompt, j.progress + 1)
                self._runs.append(Eviction(j.index, j.start, t))
                j.planned_length = sched.cap(
                    sched.refine_at_eviction(j.planned_length, j.progress), j.request.prompt, cap
                )
                j.wasted_tokens += j.progress
                j.evictions += 1
                j.start = None
                j.progress = 0

        # 4. Admit (arrivals first join the waiting set; this round's evictees wait one round).
        while self._future and self.instance.requests[self._future[-1]].arrival <= t:
            self._push_waiting(self.jobs[self._future.pop()])
        admitted: list[int] = []
        if self._waiting and (sched.admits_after_eviction or not evicted):
            test = sched.admission(self.running, t, cap, need)
            skipped = []  # misfits passed over, under the skip-and-go-on reading
            while self._waiting:
                _, i = self._waiting[0]
                job = self.jobs[i]
                if not test.try_add(job):
                    if rules.admission_stop == "first_misfit":
                        break
                    skipped.append(heapq.heappop(self._waiting))
                    continue
                heapq.heappop(self._waiting)
                job.start = t
                job.progress = 0
                job.run_planned_length = job.planned_length
                self.running.append(job)
                admitted.append(i)
                need += R.held(rules, job.request.prompt, 1)
            for entry in skipped:
                heapq.heappush(self._waiting, entry)
        for j in evicted:
            self._push_waiting(j)

        # 5. Execute.
        self.memory.append(need)
        self.t = t + 1
        self.rounds += 1
        return RoundEvent(t, tuple(completed), tuple(j.index for j in evicted), tuple(admitted), need)

    def run(self, observer: Callable[[Simulation, RoundEvent], None] | None = None) -> Result:
        while not self.finished:
            event = self.step()
            if observer is not None:
                observer(self, event)
        return self.result()

    def result(self) -> Result:
        if not self.finished:
            raise RuntimeError("the simulation has not finished")
        records = []
        for j, r in zip(self.jobs, self.instance.requests, strict=True):
            assert j.completion is not None
            records.append(
                Record(j.index, r.arrival, j.completion - r.output, j.completion, j.evictions, j.wasted_tokens)
            )
        makespan = max(rec.completion for rec in records)
        memory = self.memory.series(makespan + 1)
        return Result(
            scheduler=self.scheduler.name,
            options=self.scheduler.options(),
            capacity=self.capacity,
            records=tuple(records),
            eviction_log=tuple(self._runs),
            memory=memory,
        )


def simulate(
    instance: Instance | Any,
    scheduler: str | Scheduler | type[Scheduler] = "amin",
    *,
    max_rounds: int | None = None,
    observer: Callable[[Simulation, RoundEvent], None] | None = None,
    engine: str = "fast",
    **options: Any,
) -> Result:
    """Run one scheduler on one instance.

    Options: tie_break ("random" | "index"), seed, eviction_key ("bound" | "progress").

    `engine="fast"` (amin.fast, the default) gives exactly the reference loop's result for the
    built-in schedulers; other policies and runs with an observer use the reference loop.

    `observer(sim, event)` is called after every round with the live simulation,
    so that invariants can be checked round by round.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    inst = load_instance(instance)
    sched = make_scheduler(scheduler, **options)
    if engine == "fast" and observer is None and supports(sched):
        # Only the built-ins' rules; a user policy or a mutant runs on the reference loop.
        return simulate_fast(inst, sched, max_rounds=max_rounds)
    return Simulation(inst, sched, max_rounds=max_rounds).run(observer)


ENGINES = ("reference", "fast")
