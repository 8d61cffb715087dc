"""The fast engine against the reference round loop: identical results on random and real-trace instances,
the same NonTermination, and the automatic fallback for policies that are not the built-in ones."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amin import Instance, NonTermination, Request, Result, check_result, simulate
from amin.engine import ENGINES, Simulation
from amin.fast import simulate_fast, supports
from amin.schedulers import SCHEDULERS, Amin, make_scheduler
from amin.traces import load_trace
from tests.strategies import SCHEDULER_OPTIONS, instances


def assert_identical(fast: Result, ref: Result) -> None:
    """Field by field first, so that a failure names what differs; then the whole Result."""
    assert fast.records == ref.records
    assert fast.eviction_log == ref.eviction_log
    assert fast.total_latency == ref.total_latency
    assert fast.makespan == ref.makespan
    assert fast.peak_memory == ref.peak_memory
    assert fast.evictions == ref.evictions
    assert fast.wasted_tokens == ref.wasted_tokens
    assert len(fast.memory) == len(ref.memory)
    assert tuple(fast.memory) == tuple(ref.memory)
    assert fast.rounds == ref.rounds
    assert fast.to_dict(detail=True) == ref.to_dict(detail=True)
    assert fast == ref


def both(instance: Instance, scheduler: str, **options: object) -> tuple[Result, Result]:
    ref = simulate(instance, scheduler, engine="reference", **options)
    fast = simulate(instance, scheduler, engine="fast", **options)
    return fast, ref


# --- differential: random instances ---------------------------------------------------------------------
@settings(max_examples=300)  # the main differential test: cheap (a few ms per example), so more than the default
@given(
    instances(max_requests=10, max_capacity=40, max_arrival=15),
    st.sampled_from(sorted(SCHEDULERS)),
    SCHEDULER_OPTIONS,
)
def test_identical_on_random_instances(instance: Instance, scheduler: str, options: dict) -> None:
    fast, ref = both(instance, scheduler, **options)
    assert_identical(fast, ref)
    check_result(instance, fast)


@given(
    instances(max_requests=8, max_capacity=12, max_arrival=4, common_prompt=True),
    st.sampled_from(sorted(SCHEDULERS)),
    SCHEDULER_OPTIONS,
)
def test_identical_on_crowded_instances(instance: Instance, scheduler: str, options: dict) -> None:
    """Small capacity, many requests at once: overflows, evictions and re-admissions every few rounds."""
    fast, ref = both(instance, scheduler, **options)
    assert_identical(fast, ref)


@given(
    instances(max_requests=6, min_capacity=20, max_capacity=200, max_arrival=300, correct=False),
    st.sampled_from(sorted(SCHEDULERS)),
    SCHEDULER_OPTIONS,
)
def test_identical_with_long_gaps(instance: Instance, scheduler: str, options: dict) -> None:
    """Sparse arrivals and long outputs: idle stretches and long skips between events."""
    fast, ref = both(instance, scheduler, **options)
    assert_identical(fast, ref)


@given(
    instances(max_requests=6, max_capacity=20, max_arrival=8), st.sampled_from(sorted(SCHEDULERS)), st.integers(0, 40)
)
def test_same_nontermination_under_a_round_budget(instance: Instance, scheduler: str, budget: int) -> None:
    """A budget counts the reference loop's steps (an idle jump is one step): both engines stop at the same one."""
    outcomes = []
    for engine in ENGINES:
        try:
            outcomes.append(simulate(instance, scheduler, engine=engine, max_rounds=budget, tie_break="index"))
        except NonTermination as e:
            outcomes.append(str(e))
    assert outcomes[0] == outcomes[1]


def test_the_budget_can_bite() -> None:
    """The budget test above is not vacuous: a tight budget does stop both engines."""
    inst = Instance(10, (Request(1, 5, 1, 5), Request(1, 5, 1, 5, arrival=20)))
    for engine in ENGINES:
        with pytest.raises(NonTermination, match="2 requests unfinished at t=3"):
            simulate(inst, "amin", engine=engine, max_rounds=3)
        # Rounds 0..5, then one step jumps the idle rounds to 20, then rounds 20..25: 12 steps.
        with pytest.raises(NonTermination, match="1 requests unfinished at t=25"):
            simulate(inst, "amin", engine=engine, max_rounds=11)
        assert simulate(inst, "amin", engine=engine, max_rounds=12).makespan == 25


# --- differential: real trace ---------------------------------------------------------------------------
def azure_conv_instance(n: int, capacity: int, seed: int, mean_gap: float, spread: float) -> Instance:
    """n requests drawn with replacement from the bundled Azure 2023 conversation trace, scaled to `capacity`.

    Prompt and output are scaled by capacity / 16492 (the paper's capacity), so that
    a few hundred requests crowd a small worker as 2,000 crowd the paper's; arrivals
    are seeded Poisson with `mean_gap` rounds; intervals are relative(spread) around
    a seeded multiplicative error (lognormal, sigma 0.3), so that some miss the truth.
    """
    trace = load_trace("azure-conv")
    rng = np.random.default_rng(seed)
    scale = capacity / 16492
    picks = rng.integers(0, len(trace), size=n)
    arrivals = np.cumsum(rng.exponential(mean_gap, size=n)).astype(int) if mean_gap > 0 else np.zeros(n, int)
    noise = rng.lognormal(0.0, 0.3, size=n)
    reqs = []
    for k, i in enumerate(picks):
        o = max(1, round(int(trace.output[i]) * scale))
        s = min(round(int(trace.prompt[i]) * scale), capacity - o)
        guess = max(1, round(o * noise[k]))
        lower = max(1, math.ceil((1 - spread) * guess))
        upper = max(lower, math.floor((1 + spread) * guess))
        reqs.append(Request(prompt=s, output=o, lower=lower, upper=upper, arrival=int(arrivals[k]), predicted=guess))
    return Instance(capacity, tuple(reqs))


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
@pytest.mark.parametrize(
    "seed, capacity, n, mean_gap, spread, options",
    [
        (1, 1024, 300, 0.0, 0.5, {"tie_break": "index"}),
        (2, 2048, 400, 1.5, 0.5, {"tie_break": "random", "seed": 7}),
        (3, 1536, 300, 0.7, 0.9, {"tie_break": "random", "seed": 3, "eviction_key": "progress"}),
    ],
)
def test_identical_on_the_azure_trace(
    scheduler: str, seed: int, capacity: int, n: int, mean_gap: float, spread: float, options: dict
) -> None:
    inst = azure_conv_instance(n, capacity, seed, mean_gap, spread)
    fast, ref = both(inst, scheduler, **options)
    assert_identical(fast, ref)
    check_result(inst, fast)


@pytest.mark.deep
@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
@pytest.mark.parametrize("seed", range(10, 20))
def test_identical_on_the_azure_trace_deep(scheduler: str, seed: int) -> None:
    inst = azure_conv_instance(1000, 4096, seed, mean_gap=0.3 * (seed % 4), spread=0.2 * (seed % 5))
    options = {
        "tie_break": ("index", "random")[seed % 2],
        "seed": seed,
        "eviction_key": ("bound", "progress")[seed % 3 == 0],
    }
    fast, ref = both(inst, scheduler, **options)
    assert_identical(fast, ref)


@pytest.mark.deep
@settings(max_examples=3000)
@given(
    instances(max_requests=14, max_capacity=60, max_arrival=30),
    st.sampled_from(sorted(SCHEDULERS)),
    SCHEDULER_OPTIONS,
)
def test_identical_on_random_instances_deep(instance: Instance, scheduler: str, options: dict) -> None:
    fast, ref = both(instance, scheduler, **options)
    assert_identical(fast, ref)


# --- dispatch and fallback ---------------------------------------------------------------------------
class NoRefineAmin(Amin):
    """A mutant that never raises its planned length: not the built-in semantics."""

    def refine(self, planned_length: int, produced: int) -> int:
        return planned_length

    def refine_at_eviction(self, planned_length: int, produced: int) -> int:
        return planned_length


def test_subclasses_and_mutant_rules_fall_back_to_the_reference() -> None:
    from dataclasses import replace

    from amin.rules import AMIN
    from amin.schedulers import RuleScheduler

    inst = Instance(10, tuple(Request(1, 4, 1, 4) for _ in range(5)))
    subclass = NoRefineAmin(tie_break="index")
    record = RuleScheduler(replace(AMIN, refinement="none"), tie_break="index")  # the same mutant, as a record
    assert not supports(subclass) and not supports(record)
    assert all(supports(make_scheduler(name)) for name in SCHEDULERS)
    assert supports(RuleScheduler(AMIN, tie_ranks=(4, 3, 2, 1, 0)))  # pinned ties are an option, not a patch
    for sched in (subclass, record):
        expected = Simulation(inst, sched).run()
        assert simulate(inst, sched, engine="fast") == expected
    a, b = simulate(inst, subclass), simulate(inst, record)
    assert (a.records, a.eviction_log, a.memory) == (b.records, b.eviction_log, b.memory)
    with pytest.raises(ValueError, match="does not support NoRefineAmin"):
        simulate_fast(inst, subclass)


def test_the_fallback_matters() -> None:
    """The mutant really behaves differently, so running it on the fast engine would be wrong."""
    inst = Instance(10, tuple(Request(1, 4, 1, 4) for _ in range(5)))
    assert simulate(inst, NoRefineAmin(tie_break="index")) != simulate(inst, "amin", tie_break="index")


def test_an_observer_runs_on_the_reference_loop() -> None:
    inst = Instance(10, tuple(Request(1, 3, 1, 3) for _ in range(4)))
    seen: list[int] = []
    result = simulate(inst, "amin", engine="fast", observer=lambda sim, event: seen.append(event.t))
    assert seen == list(range(result.makespan + 1))


def test_engine_names_and_default() -> None:
    assert ENGINES == ("reference", "fast")
    assert inspect.signature(simulate).parameters["engine"].default == "fast"
    inst = Instance(10, (Request(1, 3, 1, 3),))
    with pytest.raises(ValueError, match="unknown engine 'turbo'"):
        simulate(inst, "amin", engine="turbo")


def test_fast_engine_hands_online_schedulers_no_output_length(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both engines must show a non-clairvoyant scheduler the same PublicRequest view (no true output).
    from amin import PublicRequest, Request, make_instance
    from amin import rules as rules_module

    seen: list[type] = []
    original = rules_module.initial_planned_length

    def spy(rules, request):  # the one function both engines call for the first planned length
        seen.append(type(request))
        return original(rules, request)

    monkeypatch.setattr(rules_module, "initial_planned_length", spy)
    inst = make_instance(9, [{"prompt": 1, "output": 3, "lower": 1, "upper": 5}] * 3)
    for name, view in (("amin", PublicRequest), ("hsf", Request)):
        for engine in ("fast", "reference"):
            seen.clear()
            simulate(inst, name, engine=engine)
            assert len(seen) >= 3 and set(seen) == {view}, (name, engine)  # the budget also reads the plans
