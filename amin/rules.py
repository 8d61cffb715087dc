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

from .model import Instance, PublicRequest, Request

TIE_BREAKS = ("random", "index")
EVICTION_KEYS = ("bound", "progress")

# Field values. Each tuple lists the SPEC value first, then the other readings, then the mutants.
PLANNED_FROM = ("output", "upper", "lower", "predicted", "none")  # where a request's first planned length comes from
REFINEMENTS = ("g+1", "g", "eviction", "doubling")  # how a running request's planned length rises
EVICTION_ORDERS = ("key", "latest_admitted")  # "key": planned length or progress, by the eviction_key option
ADMISSIONS = ("planning", "memory")  # MC-SF planning check, or vLLM-like "next round fits"
ADMISSION_ORDERS = ("planned", "arrival", "area")
"""(planned length L, arrival, index); (arrival, index); or (s L + L(L+1)/2, arrival, index): the memory-rounds the
request would hold if it ran for its planned length, the order that wins offline (docs/optimal.md, issue 15)."""
EVICTION_STOPS = ("fits",)
PLANNING_BASES = ("refined", "initial")  # plan running requests by their refined L, or the L they started with
ADMISSION_STOPS = ("first_misfit", "skip")  # stop admitting at the first misfit, or skip it and go on
PREFILLS = ("first_output", "extra_round")  # the prefill round produces the first token, or a round of its own
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
    # readings of the paper that SPEC fixed one way (docs/semantics.md, "Readings")
    planning_basis: str = "refined"
    admission_stop: str = "first_misfit"
    prefill: str = "first_output"
    block_size: int = 1  # memory is counted in KV blocks of this many tokens (vLLM pages hold 16)
    # options
    tie_break: str = "random"
    seed: int = 0
    eviction_key: str = "bound"
    tie_ranks: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        allowed = {
            "planned_from": PLANNED_FROM,
            "refinement": REFINEMENTS,
            "eviction_order": EVICTION_ORDERS,
            "admission": ADMISSIONS,
            "admission_order": ADMISSION_ORDERS,
            "eviction_stop": EVICTION_STOPS,
            "tie_break": TIE_BREAKS,
            "eviction_key": EVICTION_KEYS,
            "planning_basis": PLANNING_BASES,
            "admission_stop": ADMISSION_STOPS,
            "prefill": PREFILLS,
        }
        for name, values in allowed.items():
            value = getattr(self, name)
            if value not in values and value not in MUTANT.get(name, ()):
                raise ValueError(f"unknown {name} {value!r} (choose from {', '.join(values)})")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.block_size, int) or isinstance(self.block_size, bool) or self.block_size < 1:
            raise ValueError(f"block_size must be an integer >= 1, got {self.block_size!r}")

    @property
    def clairvoyant(self) -> bool:
        """Reads the true output length (only hsf, a benchmark)."""
        return self.planned_from == "output"

    @property
    def mutant(self) -> bool:
        """A deliberately broken rule (proofs/mutants.py)."""
        return any(getattr(self, name) in values for name, values in MUTANT.items())

    def options(self) -> dict[str, Any]:
        """The options as a result reports them: the three of SPEC section 3, and every reading that differs
        from SPEC's."""
        out: dict[str, Any] = {"tie_break": self.tie_break, "seed": self.seed, "eviction_key": self.eviction_key}
        base = BUILT_IN.get(self.name, SPEC_READING)  # fcfs's own arrival order is not a reading
        for name in READING_FIELDS:
            if getattr(self, name) != getattr(base, name):
                out[name] = getattr(self, name)
        return out

    def with_options(self, **options: Any) -> Rules:
        """These rules with options (or any other field) replaced; unknown names are one-line errors."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(
                f"unknown option {unknown[0]!r} (options: tie_break, seed, eviction_key, {', '.join(READING_FIELDS)})"
            )
        return replace(self, **options)


# --- readings: the open choices of SPEC section 8's research, each a field with SPEC's value as default ----
READING_FIELDS = ("refinement", "planning_basis", "admission_stop", "prefill", "block_size", "admission_order")
SPEC_READING = Rules("spec", planned_from="none")


@dataclass(frozen=True)
class Reading:
    """A named reading of the paper: the Rules fields it sets, and why it is plausible."""

    name: str
    fields: dict[str, Any]
    why: str
    ours: bool = False  # not a reading of the paper but a variant of our own, shown beside the paper's versions


READINGS: dict[str, Reading] = {
    r.name: r
    for r in (
        Reading(
            "spec",
            {},
            "SPEC's reconstruction: refine to g + 1, plan by the refined bound, stop at the first misfit, "
            "prefill produces the first token, memory in tokens",
        ),
        Reading(
            "refine-g",
            {"refinement": "g"},
            "an off-by-one reading of the update: a request that produced g tokens has output >= g",
        ),
        Reading(
            "refine-at-eviction",
            {"refinement": "eviction"},
            "the pseudo lower bound is raised only when a request "
            "is evicted (the paper's summaries mention the update at eviction)",
        ),
        Reading(
            "refine-doubling",
            {"refinement": "doubling"},
            "the bound doubles when exceeded: a standard road to a log(1/alpha) competitive ratio",
        ),
        Reading(
            "plan-initial",
            {"planning_basis": "initial"},
            "admission plans a running request by the bound it started with, as MC-SF plans with fixed lengths",
        ),
        Reading(
            "skip-misfit",
            {"admission_stop": "skip"},
            "admission skips a request that does not fit and tries the next (greedy packing, as vLLM's scheduler may)",
        ),
        Reading(
            "prefill-round",
            {"prefill": "extra_round"},
            "prefill is a round of its own that produces no token, as in engines that separate prefill from decode",
        ),
        Reading("kv-blocks-16", {"block_size": 16}, "memory is allocated in vLLM's 16-token KV blocks"),
        Reading(
            "evict-by-progress", {"eviction_key": "progress"}, "evict the least-progressed request first, as C5 states"
        ),
        Reading(
            "admit-by-area",
            {"admission_order": "area"},
            "not the paper's: waiting requests offered smallest planned memory-rounds s L + L(L+1)/2 first, the order "
            "that wins offline when prompts differ (docs/optimal.md); computable online from the prompt and the bound",
            ours=True,
        ),
    )
}


# --- the built-in schedulers (SPEC section 3) ----------------------------------------------------------
HSF = Rules("hsf", planned_from="output")
AMAX = Rules("amax", planned_from="upper")
AMIN = Rules("amin", planned_from="lower")
MCSF = Rules("mcsf", planned_from="predicted")
FCFS = Rules(
    "fcfs",
    planned_from="none",
    eviction_order="latest_admitted",
    admission="memory",
    admission_order="arrival",
    admits_after_eviction=False,
)
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
    """No request can ever hold more than the capacity: L <= M - s (in whole KV blocks: the blocks that fit)."""
    if not rules.cap:
        return planned_length
    usable = capacity if rules.block_size == 1 else capacity // rules.block_size * rules.block_size
    return min(planned_length, usable - prompt)


def refine(rules: Rules, planned_length: int, produced: int) -> int:
    """The planned length of a running request that produced `produced` tokens without finishing (so its output
    is at least produced + 1), under the rules' refinement reading."""
    kind = rules.refinement
    if kind == "g+1":  # SPEC
        return max(planned_length, produced + 1)
    if kind == "g":
        return max(planned_length, produced)
    if kind == "eviction":  # raised only when the request is evicted (`refine_at_eviction`)
        return planned_length
    if kind == "doubling":
        return _doubled(planned_length, produced + 1)
    return _mutant_refine(kind, planned_length, produced)


def refine_at_eviction(rules: Rules, planned_length: int, produced: int) -> int:
    """The planned length an evicted request keeps: it ran `produced` tokens without finishing."""
    kind = rules.refinement
    if kind in ("g+1", "eviction"):
        return max(planned_length, produced + 1)
    if kind == "g":
        return max(planned_length, produced)
    if kind == "doubling":
        return _doubled(planned_length, produced + 1)
    return _mutant_refine(kind, planned_length, produced)


def _doubled(planned_length: int, at_least: int) -> int:
    """The planned length doubled as often as needed to reach `at_least`."""
    while planned_length < at_least:
        planned_length *= 2
    return planned_length


def _mutant_refine(kind: str, planned_length: int, produced: int) -> int:
    if kind == "none":  # MUTANT: the plan forgets that the request outlived it
        return planned_length
    if kind == "overshoot":  # MUTANT: no longer a lower bound
        return max(planned_length, produced + 2)
    return produced + 1  # "forget", MUTANT: can decrease


def planned_end_floor(rules: Rules) -> int | None:
    """How the fast engine plans a running request between events. 1: a request running since p with planned
    length L plans to end at max(p + L, t + 1) at round t (SPEC's refinement, planned by the refined bound).
    None: it plans to end at p + L, its end fixed at admission, and holds nothing in the plan once that has
    passed (refinement to g or only at eviction, or planning by the starting bound: at every point x >= t + 1
    these plan exactly so). Doubling moves planned ends at rounds of their own, which the engine visits
    (`next_doubling`). tests/test_rules.py checks each against `refine` step by step."""
    if rules.planning_basis == "refined" and rules.refinement in ("g+1", "doubling"):
        return 1
    return None


def next_doubling(rules: Rules, start: int, planned_length: int) -> int | None:
    """The round at which a request running since `start` with planned length L raises it next: under doubling
    at start + L (it has produced L tokens without finishing); None for the other readings."""
    return start + planned_length if rules.refinement == "doubling" else None


def refined_after_eviction(rules: Rules, planned_length: int, produced: int, prompt: int, capacity: int) -> int:
    """An evicted request ran `produced` tokens without finishing: it keeps that knowledge (capped)."""
    return cap(rules, refine_at_eviction(rules, planned_length, produced), prompt, capacity)


def planning_length(rules: Rules, current: int, at_admission: int) -> int:
    """The planned length that admission plans a running request by: its refined one (SPEC), or the one it
    started this run with."""
    return current if rules.planning_basis == "refined" else at_admission


def model_instance(rules: Rules, instance: Instance) -> Instance:
    """The instance the round loop runs (refused, one line, if a request cannot fit alone in whole KV blocks).
    Under prefill as a round of its own, a request started at p spends round
    p on its prompt and produces its k-th token in round p + k: it holds prompt + (tau - p - 1) at tau = p + 1 ..
    p + output + 1. That is exactly SPEC's model for prompt - 1 and output + 1 (so the prefill round counts in
    the latency), with its bounds and prediction counted in rounds too (+ 1)."""
    if rules.block_size > 1:
        for i, r in enumerate(instance.requests):
            if held(rules, r.prompt, r.output) > instance.capacity:
                raise ValueError(
                    f"request {i}: cannot fit alone in KV blocks of {rules.block_size} tokens: "
                    f"prompt {r.prompt} + output {r.output} rounds up to "
                    f"{held(rules, r.prompt, r.output)} > capacity {instance.capacity}"
                )
    if rules.prefill == "first_output":
        return instance
    return Instance.model(
        instance.capacity,
        (
            replace(
                r,
                prompt=r.prompt - 1,
                output=r.output + 1,
                lower=r.lower + 1,
                upper=r.upper + 1,
                predicted=None if r.predicted is None else r.predicted + 1,
            )
            for r in instance.requests
        ),
    )


def held(rules: Rules, prompt: int, rounds: int) -> int:
    """The memory a request holds after running `rounds` >= 1 rounds: prompt + rounds tokens, counted in whole
    KV blocks when block_size > 1."""
    tokens = prompt + rounds
    b = rules.block_size
    return tokens if b == 1 else -(-tokens // b) * b


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


def eviction_key(
    rules: Rules, planned_length: int, progress: int, start: int, arrival: int, index: int, rank: int
) -> tuple[int, ...]:
    """Running requests are evicted in ascending order of this key (SPEC section 3)."""
    if rules.eviction_order == "latest_admitted":
        # Most recently admitted first; within one round, the last one admitted (largest (arrival, index)).
        return (-start, -arrival, -index)
    return (planned_length if rules.eviction_key == "bound" else progress, rank)


def admission_key(rules: Rules, planned_length: int, prompt: int, arrival: int, index: int) -> tuple[int, ...]:
    """Waiting requests are offered for admission in ascending order of this key."""
    if rules.admission_order == "arrival":
        return (arrival, index)
    if rules.admission_order == "area":
        return (prompt * planned_length + planned_length * (planned_length + 1) // 2, arrival, index)
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


def memory_admits(rules: Rules, need: int, prompt: int, capacity: int) -> bool:
    """The vLLM-like admission test: the request fits next round (it holds `held(prompt, 1)` at t + 1)."""
    return need + held(rules, prompt, 1) <= capacity
