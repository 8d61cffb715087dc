"""Deliberately broken schedulers: each is a `Rules` record with one field set to a wrong value.

A proof is trusted only if Z3 refutes every mutant aimed at it with a concrete counterexample that the
simulator, running the same record round by round (`RuleScheduler`, on the reference loop), reproduces (same
violation, same round). The wrong values live in `amin.rules` beside the right ones, so the engines and the
encoding read one statement of each mutant too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from amin.rules import BUILT_IN, READINGS, Rules
from amin.schedulers import RuleScheduler, Scheduler

from .encoding import Semantics


@dataclass(frozen=True)
class Mutant:
    """One broken rule: its name, what it breaks, and the `Rules` fields it sets."""

    name: str
    description: str
    rules: dict[str, Any]  # Rules fields to override

    def apply(self, base: Rules) -> Rules:
        return replace(base, name=f"{base.name}-{self.name}", **self.rules)

    def semantics(self, base: Semantics) -> Semantics:
        return replace(base, rules=self.apply(base.rules))

    def scheduler(self, base: str, **options: Any) -> Scheduler:
        """The engine's scheduler: the base scheduler's record with this mutant's fields."""
        return RuleScheduler(self.apply(BUILT_IN[base]), **options)


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant("no_refine", "no refinement: planned lengths never rise", {"refinement": "none"}),
        Mutant("overshoot", "refinement raises to g + 2 instead of g + 1", {"refinement": "overshoot"}),
        Mutant("forget", "refinement sets L = g + 1 without the max", {"refinement": "forget"}),
        Mutant("uncapped", "no planned-length cap L <= M - s", {"cap": False}),
        Mutant("evict_one_short", "eviction stops one request too early", {"eviction_stop": "one_short"}),
        Mutant("greedy_admission", "admission ignores the growth of running requests", {"admission": "memory"}),
    )
}


def engine_scheduler(
    base: str, mutant: str | None, ranks: Sequence[int] | None = None, reading: str = "spec"
) -> Scheduler:
    """The simulator's scheduler for a proof row: the real one or a mutant, under a reading, index tie-break or
    the tie ranks a model chose (an option of the record, not a patch)."""
    rules = BUILT_IN[base].with_options(**READINGS[reading].fields)
    if mutant is not None:
        rules = MUTANTS[mutant].apply(rules)
    return RuleScheduler(rules, tie_break="index", tie_ranks=None if ranks is None else tuple(int(r) for r in ranks))
