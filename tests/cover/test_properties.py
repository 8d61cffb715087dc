"""Property tests over random instances for every scheduler and option (SPEC section 3 "Properties that must hold").

Instances mix heterogeneous prompts, arrivals over time and intervals that
sometimes miss the truth (tests/strategies.py). Every run is also checked by the
independent memory checker (amin.check), which shares no code with the loop.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from amin import SCHEDULERS, check_result, simulate
from tests.strategies import SCHEDULER_OPTIONS, instances

NAMES = st.sampled_from(sorted(SCHEDULERS))


@given(instances(), NAMES, SCHEDULER_OPTIONS)
def test_every_run_is_safe_terminates_and_serves_each_request_once(inst, name, options):
    result = simulate(inst, name, **options)  # termination: NonTermination would raise
    check_result(inst, result)  # memory <= capacity at every time, completion - start = output, ...
    assert len(result.records) == len(inst.requests)
    assert all(rec.start >= req.arrival for rec, req in zip(result.records, inst.requests, strict=True))
    assert result.peak_memory <= inst.capacity


@given(instances(correct=True), st.sampled_from(["hsf", "amax"]), SCHEDULER_OPTIONS)
def test_with_correct_intervals_hsf_and_amax_never_evict(inst, name, options):
    assert simulate(inst, name, **options).evictions == 0


@given(instances(), SCHEDULER_OPTIONS)
def test_hsf_never_evicts_even_with_wrong_intervals(inst, options):
    assert simulate(inst, "hsf", **options).evictions == 0


@given(instances(), SCHEDULER_OPTIONS)
def test_amin_pseudo_lower_bound_never_decreases_and_stays_valid(inst, options):
    last = {}

    def observe(sim, event):
        for job in sim.jobs:
            prev = last.get(job.index, job.planned_length)
            assert job.planned_length >= prev, (
                f"request {job.index}: planned length fell {prev} -> {job.planned_length}"
            )
            req = inst.requests[job.index]
            if req.lower <= req.output:
                assert job.planned_length <= req.output
            last[job.index] = job.planned_length

    simulate(inst, "amin", observer=observe, **options)


@given(instances(), SCHEDULER_OPTIONS, st.data())
def test_amin_never_reads_the_upper_bound(inst, options, data):
    uppers = [data.draw(st.integers(r.lower, r.lower + 50)) for r in inst.requests]
    changed = inst.replace_requests(replace(r, upper=u) for r, u in zip(inst.requests, uppers, strict=True))
    assert simulate(inst, "amin", **options) == simulate(changed, "amin", **options)


@given(instances(), SCHEDULER_OPTIONS)
def test_amin_with_exact_lower_bounds_equals_hsf(inst, options):
    exact = inst.replace_requests(replace(r, lower=r.output, upper=max(r.upper, r.output)) for r in inst.requests)
    a, h = simulate(exact, "amin", **options), simulate(exact, "hsf", **options)
    assert a.records == h.records and a.memory == h.memory and a.evictions == 0


@given(instances(), SCHEDULER_OPTIONS)
def test_amax_with_exact_intervals_equals_hsf(inst, options):
    exact = inst.replace_requests(replace(r, lower=r.output, upper=r.output) for r in inst.requests)
    a, h = simulate(exact, "amax", **options), simulate(exact, "hsf", **options)
    assert a.records == h.records and a.memory == h.memory


@given(instances(), NAMES, st.sampled_from(["bound", "progress"]), st.integers(0, 1000), st.integers(0, 1000))
def test_index_tie_break_is_deterministic_across_calls_and_seeds(inst, name, key, seed1, seed2):
    a = simulate(inst, name, tie_break="index", eviction_key=key, seed=seed1)
    b = simulate(inst, name, tie_break="index", eviction_key=key, seed=seed2)
    assert a.records == b.records and a.eviction_log == b.eviction_log and a.memory == b.memory


@given(instances(), NAMES, SCHEDULER_OPTIONS)
def test_memory_series_matches_running_requests_at_every_round(inst, name, options):
    # The loop's own bookkeeping, checked round by round: memory at t+1 is the sum over
    # running requests of prompt + tokens produced by then, and never exceeds capacity.
    def observe(sim, event):
        running = [j for j in sim.jobs if j.status == "running"]
        assert event.memory_next == sum(j.request.prompt + (sim.t - j.start) for j in running)
        assert event.memory_next <= inst.capacity

    simulate(inst, name, observer=observe, **options)
