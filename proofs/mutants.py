"""Deliberately broken schedulers, each written twice: as encoding rules and as engine hooks.

A proof is trusted only if Z3 refutes every mutant aimed at it with a concrete
counterexample that the simulator, running the Scheduler subclass below round by
round, reproduces (same violation, same round).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from amin.schedulers import SCHEDULERS, Job, MemoryCheck, PlanningCheck, Scheduler

from .encoding import Semantics


# --- engine hooks, one mixin per broken rule ------------------------------------------
class NoRefine:
    """Never raises a planned length: the plan forgets that a running request outlived it."""

    def refine(self, planned_length: int, produced: int) -> int:
        return planned_length


class OvershootRefine:
    """Raises the planned length one token too far (g + 2): no longer a lower bound."""

    def refine(self, planned_length: int, produced: int) -> int:
        return max(planned_length, produced + 2)


class ForgetRefine:
    """Replaces the planned length by g + 1 instead of taking the max: it can decrease."""

    def refine(self, planned_length: int, produced: int) -> int:
        return produced + 1


class Uncapped:
    """Drops the cap L <= M - s."""

    def cap(self, planned_length: int, prompt: int, capacity: int) -> int:
        return planned_length


class EvictOneShort:
    """Stops evicting one request too early (drops the last eviction the SPEC loop would make)."""

    def choose_evictions(self, ordered: Sequence[Job], need: int, capacity: int) -> list[Job]:
        return Scheduler.choose_evictions(self, ordered, need, capacity)[:-1]  # type: ignore[arg-type]


class GreedyAdmission:
    """Admits while next round's memory fits, ignoring that running requests keep growing."""

    def admission(self, running: Sequence[Job], t: int, capacity: int, need: int) -> PlanningCheck | MemoryCheck:
        return MemoryCheck(need, capacity)


@dataclass(frozen=True)
class Mutant:
    """One broken rule: its name, what it breaks, the encoding's rule and the engine mixin."""

    name: str
    description: str
    rules: dict[str, Any]  # Semantics fields to override
    mixin: type

    def semantics(self, base: Semantics) -> Semantics:
        return replace(base, **self.rules)

    def scheduler(self, base: str, **options: Any) -> Scheduler:
        """The engine scheduler: the base class with this mutant's hook overridden."""
        cls = type(
            f"{self.mixin.__name__}{SCHEDULERS[base].__name__}",
            (self.mixin, SCHEDULERS[base]),
            {"name": f"{base}-{self.name}"},
        )
        return cls(**options)


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant("no_refine", "no refinement: planned lengths never rise", {"refine": "none"}, NoRefine),
        Mutant("overshoot", "refinement raises to g + 2 instead of g + 1", {"refine": "overshoot"}, OvershootRefine),
        Mutant("forget", "refinement sets L = g + 1 without the max", {"refine": "forget"}, ForgetRefine),
        Mutant("uncapped", "no planned-length cap L <= M - s", {"cap": False}, Uncapped),
        Mutant("evict_one_short", "eviction stops one request too early", {"eviction": "one_short"}, EvictOneShort),
        Mutant(
            "greedy_admission",
            "admission ignores the growth of running requests",
            {"admission": "memory"},
            GreedyAdmission,
        ),
    )
}


def with_ranks(scheduler: Scheduler, ranks: Sequence[int] | None) -> Scheduler:
    """Pin the scheduler's tie ranks to a permutation a model chose (None: keep the scheduler's own)."""
    if ranks is not None:
        fixed = list(ranks)
        scheduler.tie_ranks = lambda n: list(fixed)  # type: ignore[method-assign]
    return scheduler


def engine_scheduler(base: str, mutant: str | None, ranks: Sequence[int] | None = None) -> Scheduler:
    """The simulator's scheduler for a proof row: the real one or a mutant, index tie-break or given ranks."""
    sched = (
        SCHEDULERS[base](tie_break="index") if mutant is None else MUTANTS[mutant].scheduler(base, tie_break="index")
    )
    return with_ranks(sched, ranks)
