"""The rules of the built-in schedulers, written once: one frozen record per scheduler and one function per rule.

The reference loop (`amin.engine`), the fast engine (`amin.fast`) and the Z3 encoding (`proofs.encoding`) all
read the same `Rules` record and call the functions below; none keeps its own copy of a rule. A new reading of
the paper is one field here and one branch in the function that reads it (docs/architecture.md).

Some field values are deliberately wrong: they are the mutants of `proofs/mutants.py`, which show that the
proofs and the tests can fail. They are marked `MUTANT` and the fast engine refuses them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from typing import Any

from .model import PublicRequest, Request

TIE_BREAKS = ("random", "index")
EVICTION_KEYS = ("bound", "progress")

# Field values. Each tuple lists the SPEC value first, then the other readings, then the mutants.
PLANNED_FROM = ("output", "upper", "lower", "predicted", "none")  # where a request's first planned length comes from
REFINEMENTS = ("g+1",)
EVICTION_ORDERS = ("key", "latest_admitted")  # "key": planned length or progress, by the eviction_key option
ADMISSIONS = ("planning", "memory")  # MC-SF planning check, or vLLM-like "next round fits"
ADMISSION_ORDERS = ("planned", "arrival")  # (planned length, arrival, index), or (arrival, index)
EVICTION_STOPS = ("fits",)
MUTANT = {
    "refinement": ("none", "overshoot", "forget"),
    "eviction_stop": ("one_short",),
    "cap": (False,),
}


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the round of SPEC section 2 asks of one scheduler, and its options.

    planned_from: the first planned length L: the true output (hsf, a clairvoyant benchmark), the upper bound
    (amax), the lower bound (amin), the point prediction else the upper bound (mcsf), or none (fcfs plans
    nothing; L = 1, the trivially valid lower bound). refinement: how a running request's L is raised after it
    produced g tokens without finishing ("g+1": L = max(L, g + 1)). cap: L <= capacity - prompt.
    eviction_order / eviction_key / tie_break: who is evicted first on overflow. eviction_stop: evict until
    next round fits. admission / admission_order / admits_after_eviction: who is admitted.
    tie_ranks: an explicit tie-break permutation (the proofs pin the one a model chose).
    """

    name: str
    planned_from: str
    eviction_order: str = "key"
    admission: str = "planning"
    admission_order: str = "planned"
    admits_after_eviction: bool = True
    refinement: str = "g+1"
    cap: bool = True
    eviction_stop: str = "fits"
    # options
    tie_break: str = "random"
    seed: int = 0
    eviction_key: str = "bound"
    tie_ranks: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        allowed = {"planned_from": PLANNED_FROM, "refinement": REFINEMENTS, "eviction_order": EVICTION_ORDERS,
                   "admission": ADMISSIONS, "admission_order": ADMISSION_ORDERS, "eviction_stop": EVICTION_STOPS,
                   "tie_break": TIE_BREAKS, "eviction_key": EVICTION_KEYS}
        for name, values in allowed.items():
            value = getattr(self, name)
            if value not in values and value not in MUTANT.get(name, ()):
                raise ValueError(f"unknown {name} {value!r} (choose from {', '.join(values)})")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    @property
    def clairvoyant(self) -> bool:
        """Reads the true output length (only hsf, a benchmark)."""
        return self.planned_from == "output"

    @property
    def mutant(self) -> bool:
        """A deliberately broken rule (proofs/mutants.py)."""
        return any(getattr(self, name) in values for name, values in MUTANT.items())

    def options(self) -> dict[str, Any]:
        """The options as a result reports them."""
        return {"tie_break": self.tie_break, "seed": self.seed, "eviction_key": self.eviction_key}

    def with_options(self, **options: Any) -> Rules:
        """These rules with options (or any other field) replaced; unknown names are one-line errors."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown option {unknown[0]!r} (options: tie_break, seed, eviction_key)")
        return replace(self, **options)


# --- the built-in schedulers (SPEC section 3) ----------------------------------------------------------
HSF = Rules("hsf", planned_from="output")
AMAX = Rules("amax", planned_from="upper")
AMIN = Rules("amin", planned_from="lower")
MCSF = Rules("mcsf", planned_from="predicted")
FCFS = Rules("fcfs", planned_from="none", eviction_order="latest_admitted", admission="memory",
             admission_order="arrival", admits_after_eviction=False)
BUILT_IN: dict[str, Rules] = {r.name: r for r in (HSF, AMAX, AMIN, MCSF, FCFS)}


# --- one function per rule ------------------------------------------------------------------------------
def initial_planned_length(rules: Rules, request: Request | PublicRequest) -> int:
    """The first planned length, before the cap."""
    source = rules.planned_from
    if source == "output":
        assert isinstance(request, Request), "only a clairvoyant scheduler is handed the true output"
        return request.output
    if source == "upper":
        return request.upper
    if source == "lower":
        return request.lower
    if source == "predicted":
        return request.predicted if request.predicted is not None else request.upper
    return 1  # "none": plans nothing; 1 is the trivially valid lower bound, refined like any other


def cap(rules: Rules, planned_length: int, prompt: int, capacity: int) -> int:
    """No request can ever hold more than the capacity: L <= M - s."""
    return min(planned_length, capacity - prompt) if rules.cap else planned_length


def refine(rules: Rules, planned_length: int, produced: int) -> int:
    """The planned length of a request that produced `produced` tokens without finishing (it needs one more)."""
    kind = rules.refinement
    if kind == "g+1":
        return max(planned_length, produced + 1)
    if kind == "none":  # MUTANT: the plan forgets that the request outlived it
        return planned_length
    if kind == "overshoot":  # MUTANT: no longer a lower bound
        return max(planned_length, produced + 2)
    return produced + 1  # "forget", MUTANT: can decrease


def planned_end_floor(rules: Rules) -> int:
    """The closed form of `refine` that the fast engine uses between events: a request running since p with
    planned length L plans at round t to end at max(p + L, t + floor) (tests/test_rules.py checks it)."""
    if rules.refinement == "g+1":
        return 1
    raise ValueError(f"refinement {rules.refinement!r} has no planned-end floor")


def refined_after_eviction(rules: Rules, planned_length: int, produced: int, prompt: int, capacity: int) -> int:
    """An evicted request ran `produced` tokens without finishing: it keeps that knowledge (capped)."""
    return cap(rules, refine(rules, planned_length, produced), prompt, capacity)


def tie_ranks(rules: Rules, n: int) -> list[int]:
    """One tie-break rank per request: explicit, its index, or a permutation drawn from the seed."""
    if rules.tie_ranks is not None:
        if sorted(rules.tie_ranks) != list(range(n)):
            raise ValueError(f"tie_ranks must be a permutation of 0..{n - 1}")
        return list(rules.tie_ranks)
    ranks = list(range(n))
    if rules.tie_break == "random":
        random.Random(rules.seed).shuffle(ranks)
    return ranks


def eviction_key(rules: Rules, planned_length: int, progress: int, start: int, arrival: int, index: int,
                 rank: int) -> tuple[int, ...]:
    """Running requests are evicted in ascending order of this key (SPEC section 3)."""
    if rules.eviction_order == "latest_admitted":
        # Most recently admitted first; within one round, the last one admitted (largest (arrival, index)).
        return (-start, -arrival, -index)
    return (planned_length if rules.eviction_key == "bound" else progress, rank)


def admission_key(rules: Rules, planned_length: int, arrival: int, index: int) -> tuple[int, ...]:
    """Waiting requests are offered for admission in ascending order of this key."""
    if rules.admission_order == "arrival":
        return (arrival, index)
    return (planned_length, arrival, index)


def evictions_needed(rules: Rules, sizes: list[int], need: int, capacity: int) -> int:
    """How many of the running requests, in eviction order (`sizes`: what each holds at t + 1), to evict so that
    next round's memory `need` fits."""
    k = 0
    while need > capacity and k < len(sizes):
        need -= sizes[k]
        k += 1
    if rules.eviction_stop == "one_short":  # MUTANT: stops one eviction too early
        k = max(0, k - 1)
    return k


def memory_admits(need: int, prompt: int, capacity: int) -> bool:
    """The vLLM-like admission test: the request fits next round (it holds prompt + 1 at t + 1)."""
    return need + prompt + 1 <= capacity
