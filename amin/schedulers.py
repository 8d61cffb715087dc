"""The scheduler protocol of SPEC section 3, and the built-in schedulers as instances of it.

A scheduler answers three questions: the initial planned length of a request, the order in which running
requests are evicted on overflow, and which waiting requests to admit. Every hook's default is the SPEC
rule, read from the scheduler's `Rules` record (`amin.rules`, where each rule is written once); a built-in
scheduler is nothing but its record. A user policy subclasses `Scheduler` and overrides hooks
(docs/verify.md); the reference loop runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import rules as R
from .model import PublicRequest, Request
from .rules import EVICTION_KEYS, TIE_BREAKS, Rules

__all__ = [
    "EVICTION_KEYS",
    "SCHEDULERS",
    "TIE_BREAKS",
    "Job",
    "MemoryCheck",
    "PlanningCheck",
    "RuleScheduler",
    "Scheduler",
    "make_scheduler",
]


@dataclass(slots=True)
class Job:
    """The online state of one request, as the round loop keeps it and schedulers read it.

    `request` is the full Request only for clairvoyant schedulers; others get a
    PublicRequest, which has no true output length. `planned_length` is amin's
    pseudo lower bound (amax's upper bound, hsf's true length ...). `progress`
    is the number of tokens produced in the current run (0 while waiting).
    """

    index: int
    request: Request | PublicRequest
    planned_length: int
    tie_rank: int
    start: int | None = None
    progress: int = 0
    evictions: int = 0
    wasted_tokens: int = 0
    completion: int | None = None
    run_planned_length: int = 0  # the planned length this run was admitted with

    @property
    def status(self) -> str:
        if self.completion is not None:
            return "done"
        return "waiting" if self.start is None else "running"

    @property
    def planned_end(self) -> int:
        assert self.start is not None
        return self.start + self.planned_length


class PlanningCheck:
    """The MC-SF admission test: would the running jobs plus the new starts fit at every planned end point?

    Each planned job holds `rules.held(prompt, x - start)` at every point x up to its planned end. That only
    grows between planned end points and drops only after them, so checking those points suffices (SPEC
    section 2). Running jobs are planned by `rules.planning_length` (their refined planned length, or the one
    they were admitted with); a job whose planned end lies before t + 1 plans nothing more. Candidates arrive in
    ascending planned length, so each test is one pass over the points: O(running + admitted) per candidate.
    """

    def __init__(self, running: Sequence[Job], t: int, capacity: int, rules: Rules = R.SPEC_READING) -> None:
        self.t = t
        self.capacity = capacity
        self.rules = rules
        self.items: list[tuple[int, int, int]] = []  # (planned end, prompt, start)
        for j in running:
            assert j.start is not None
            end = j.start + R.planning_length(rules, j.planned_length, j.run_planned_length)
            if end >= t + 1:
                self.items.append((end, j.request.prompt, j.start))
        self.load: dict[int, int] = {}  # planned end point -> planned memory there
        if rules.block_size == 1:  # memory linear in x: suffix sums over the ends, descending, O(R log R)
            items = sorted(self.items, reverse=True)
            acc_c = acc_n = k = 0
            for end in sorted({e for e, _, _ in items}, reverse=True):
                while k < len(items) and items[k][0] >= end:
                    acc_c += items[k][1] - items[k][2]
                    acc_n += 1
                    k += 1
                self.load[end] = acc_c + acc_n * end
        else:
            self.load = {x: self._at(x) for x in {e for e, _, _ in self.items}}

    def _at(self, x: int) -> int:
        return sum(R.held(self.rules, s, x - p) for e, s, p in self.items if e >= x)

    def fits(self, prompt: int, planned_length: int) -> bool:
        end = self.t + planned_length
        own = R.held(self.rules, prompt, end - self.t)
        at_end = self.load[end] if end in self.load else self._at(end)
        if at_end + own > self.capacity:
            return False
        return all(v + R.held(self.rules, prompt, x - self.t) <= self.capacity for x, v in self.load.items() if x < end)

    def add(self, prompt: int, planned_length: int) -> None:
        end = self.t + planned_length
        if end not in self.load:
            self.load[end] = self._at(end)
        for x in self.load:
            if x <= end:
                self.load[x] += R.held(self.rules, prompt, x - self.t)
        self.items.append((end, prompt, self.t))

    def try_add(self, job: Job) -> bool:
        if not self.fits(job.request.prompt, job.planned_length):
            return False
        self.add(job.request.prompt, job.planned_length)
        return True


class MemoryCheck:
    """FCFS admission (vLLM-like): admit while next round's memory stays within capacity (`rules.memory_admits`)."""

    def __init__(self, need: int, capacity: int, rules: Rules = R.SPEC_READING) -> None:
        self.need = need
        self.capacity = capacity
        self.rules = rules

    def try_add(self, job: Job) -> bool:
        if not R.memory_admits(self.rules, self.need, job.request.prompt, self.capacity):
            return False
        self.need += R.held(self.rules, job.request.prompt, 1)
        return True


class Scheduler:
    """The protocol: three decisions and the loop's hooks, each defaulting to the SPEC rule of `RULES`.

    Options (SPEC section 3): `tie_break` ("random" with `seed`, or "index") breaks
    eviction ties; `eviction_key` is "bound" (planned length) or "progress" (tokens
    produced). Under "random" each request gets one random rank from `seed` when
    the run starts (docs/semantics.md says why). A subclass must define
    `initial_planned_length` (docs/verify.md).
    """

    name = "base"
    clairvoyant = False  # may read the true output length
    admits_after_eviction = True
    RULES: ClassVar[Rules] = Rules("base", planned_from="none")  # the SPEC defaults of every hook

    def __init__(self, *, tie_break: str = "random", seed: int = 0, eviction_key: str = "bound") -> None:
        self.rules = self.RULES.with_options(tie_break=tie_break, seed=seed, eviction_key=eviction_key)

    @property
    def tie_break(self) -> str:
        return self.rules.tie_break

    @property
    def seed(self) -> int:
        return self.rules.seed

    @property
    def eviction_key(self) -> str:
        return self.rules.eviction_key

    def options(self) -> dict[str, Any]:
        return self.rules.options()

    def tie_ranks(self, n: int) -> list[int]:
        """One tie-break rank per request: its index, or a seeded random permutation."""
        return R.tie_ranks(self.rules, n)

    # --- the three decisions -------------------------------------------------
    def initial_planned_length(self, request: Request | PublicRequest) -> int:
        raise NotImplementedError

    def eviction_priority(self, job: Job) -> tuple[int, ...]:
        """Running jobs are evicted in ascending order of this key."""
        assert job.start is not None
        return R.eviction_key(
            self.rules, job.planned_length, job.progress, job.start, job.request.arrival, job.index, job.tie_rank
        )

    def admission_priority(self, job: Job) -> tuple[int, ...]:
        """Waiting jobs are offered for admission in ascending order of this key."""
        return R.admission_key(self.rules, job.planned_length, job.request.prompt, job.request.arrival, job.index)

    def admission(self, running: Sequence[Job], t: int, capacity: int, need: int) -> PlanningCheck | MemoryCheck:
        """A fresh admission test for round t; its try_add(job) admits or refuses one candidate."""
        if self.rules.admission == "memory":
            return MemoryCheck(need, capacity, self.rules)
        return PlanningCheck(running, t, capacity, self.rules)

    # --- loop hooks: SPEC behaviour; override only for a different round -------
    def refine(self, planned_length: int, produced: int) -> int:
        """A running job that produced `produced` tokens without finishing has output >= produced + 1."""
        return R.refine(self.rules, planned_length, produced)

    def refine_at_eviction(self, planned_length: int, produced: int) -> int:
        """An evicted job ran `produced` tokens without finishing: the planned length it keeps."""
        return R.refine_at_eviction(self.rules, planned_length, produced)

    def cap(self, planned_length: int, prompt: int, capacity: int) -> int:
        """No request can ever hold more than the capacity."""
        return R.cap(self.rules, planned_length, prompt, capacity)

    def select_evictions(self, running: Sequence[Job], t: int, need: int, capacity: int) -> list[Job]:
        """Step 3 of the round: which running jobs to evict, given next round's memory `need`.

        The SPEC round evicts only on overflow, in `eviction_priority` order, until
        `need` fits. A policy that needs a different round (for example proactive
        preemption) overrides this hook; docs/verify.md says which guarantees then
        still hold. Evictees must be running jobs; each is evicted at most once per round.
        """
        if need <= capacity:
            return []
        return self.choose_evictions(sorted(running, key=self.eviction_priority), need, capacity)

    def choose_evictions(self, ordered: Sequence[Job], need: int, capacity: int) -> list[Job]:
        """Evict in the given order until next round's memory `need` fits the capacity."""
        sizes = [R.held(self.rules, job.request.prompt, job.progress + 1) for job in ordered]
        return list(ordered[: R.evictions_needed(self.rules, sizes, need, capacity)])


class RuleScheduler(Scheduler):
    """A built-in scheduler: every decision comes from its `Rules` record, and nothing else.

    The fast engine runs exactly these (`amin.fast.supports`); `RuleScheduler(rules)` builds one from any
    record, for example a proof's mutant with pinned tie ranks.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name, cls.clairvoyant = cls.RULES.name, cls.RULES.clairvoyant
        cls.admits_after_eviction = cls.RULES.admits_after_eviction

    def __init__(self, rules: Rules | None = None, **options: Any) -> None:
        self.rules = (self.RULES if rules is None else rules).with_options(**options)
        self.name, self.clairvoyant = self.rules.name, self.rules.clairvoyant
        self.admits_after_eviction = self.rules.admits_after_eviction

    def initial_planned_length(self, request: Request | PublicRequest) -> int:
        return R.initial_planned_length(self.rules, request)


class HSF(RuleScheduler):
    """Hindsight shortest-first: MC-SF planning with the true output lengths (a clairvoyant benchmark)."""

    RULES = R.HSF


class Amax(RuleScheduler):
    """Plan with each request's predicted upper bound."""

    RULES = R.AMAX


class Amin(RuleScheduler):
    """Plan with the lower bound, raise it as tokens arrive, evict the least-progressed first."""

    RULES = R.AMIN


class MCSF(RuleScheduler):
    """MC-SF with a point prediction: the request's `predicted` length, else its upper bound."""

    RULES = R.MCSF


class FCFS(RuleScheduler):
    """vLLM-like: arrival order, admit while next round fits, evict the most recently admitted first."""

    RULES = R.FCFS


SCHEDULERS: dict[str, type[RuleScheduler]] = {cls.name: cls for cls in (HSF, Amax, Amin, MCSF, FCFS)}


def make_scheduler(scheduler: str | Scheduler | type[Scheduler], **options: Any) -> Scheduler:
    """A scheduler object from a name (hsf, amax, amin, mcsf, fcfs), a class, or an instance."""
    if isinstance(scheduler, Scheduler):
        if options:
            raise ValueError("options must be given to the scheduler's constructor, not with an instance")
        return scheduler
    if isinstance(scheduler, type) and issubclass(scheduler, Scheduler):
        return scheduler(**options)
    if scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {scheduler!r} (choose from {', '.join(SCHEDULERS)})")
    return SCHEDULERS[scheduler](**options)
