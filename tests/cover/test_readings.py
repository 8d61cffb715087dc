"""Each reading of the paper (amin.rules.READINGS) changes the schedule where it must, hand-computed, and leaves
it alone where it must; both engines agree under every reading, and the independent checker accepts the result
(or, for the readings under which amin can overflow, names the overflow)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amin import Instance, Request, ScheduleError, check_result, load_instance, make_instance, simulate
from amin.rules import READINGS
from tests.fixtures import ROOT, SIX
from tests.strategies import instances

# The readings under which amin plans nothing for a request that outlived its planned end, so an admission can
# overflow the next round (found by the checker; see test_three_readings_let_amin_exceed_the_capacity).
UNSAFE_FOR_AMIN = {"refine-g", "refine-at-eviction", "plan-initial"}


def run(instance: Instance, reading: str, scheduler: str = "amin", engine: str = "fast"):
    return simulate(instance, scheduler, tie_break="index", engine=engine, **READINGS[reading].fields)


# --- hand-computed: where a reading must change the schedule -------------------------------------------------
def test_three_readings_let_amin_exceed_the_capacity() -> None:
    # M = 3; r0: s=1, o=2, l=1; r1: s=2, o=1, l=1. Round 0 admits r0 (planned end 1), refuses r1. Round 1: r0
    # produced 1 token and runs on. SPEC refines L0 to 2 (end 2), so r1 (end 2) would need 3 + 3 > 3 at x = 2:
    # refused until r0 completes at 2; starts (0, 2), memory 0, 2, 3, 3. Refining to g keeps L0 = 1 (end 1 <
    # t + 1 = 2), as do refining only at eviction and planning by the starting bound: r0 is planned to hold
    # nothing at 2, r1 alone fits (3 <= 3), and memory at 2 is 3 + 3 = 6 > M.
    inst = make_instance(
        3, [{"prompt": 1, "output": 2, "lower": 1, "upper": 2}, {"prompt": 2, "output": 1, "lower": 1, "upper": 1}]
    )
    spec = run(inst, "spec")
    assert spec.starts == (0, 2) and spec.memory == (0, 2, 3, 3)
    check_result(inst, spec)
    for reading in sorted(UNSAFE_FOR_AMIN):
        for engine in ("fast", "reference"):
            r = run(inst, reading, engine=engine)
            assert r.starts == (0, 1) and r.memory == (0, 2, 6), reading
            with pytest.raises(ScheduleError, match="memory 6 exceeds capacity 3 at time 2"):
                check_result(inst, r)


def test_doubling_raises_the_bound_past_g_plus_1_and_changes_the_evictee() -> None:
    # M = 4; r0: s=0, o=3, l=2; r1: s=1, o=3, l=3. r0 starts at 0 (end 2), r1 at 1 (end 4). Round 2: r0 has
    # produced 2 = L0 tokens. SPEC raises L0 to 3, doubling to 4; next memory 3 + 3 = 6 > 4. Ties on
    # (L, index): SPEC evicts r0 (3 = 3, lower index), doubling evicts r1 (3 < 4).
    inst = make_instance(
        4, [{"prompt": 0, "output": 3, "lower": 2, "upper": 3}, {"prompt": 1, "output": 3, "lower": 3, "upper": 3}]
    )
    spec, doubled = run(inst, "spec"), run(inst, "refine-doubling")
    assert [(e.index, e.round) for e in spec.eviction_log] == [(0, 2)] and spec.starts == (4, 1)
    assert [(e.index, e.round) for e in doubled.eviction_log] == [(1, 2)] and doubled.starts == (0, 3)


def test_doubling_plans_a_running_request_to_its_doubled_end() -> None:
    # M = 5; r0: s=0, o=5, l=1 runs from 0; r1: s=0, o=1, l=3 arrives at 2. At round 2 r0 has produced 2 tokens:
    # SPEC plans it to end at t + 1 = 3, where r1 (end 5) adds 1: 3 + 1 <= 5, admitted. Doubling has raised
    # L 1 -> 2 -> 4 (end 4), where r1 adds 2: 4 + 2 > 5, refused; at round 3 (4 + 1 <= 5 at x = 4) it fits.
    inst = make_instance(
        5,
        [
            {"prompt": 0, "output": 5, "lower": 1, "upper": 5},
            {"prompt": 0, "output": 1, "lower": 3, "upper": 3, "arrival": 2},
        ],
    )
    for engine in ("fast", "reference"):
        assert run(inst, "spec", engine=engine).starts == (0, 2)
        assert run(inst, "refine-doubling", engine=engine).starts == (0, 3)


def test_skipping_a_misfit_admits_a_later_request() -> None:
    # M = 7; r0: s=2, o=3, l=3; r1: s=0, o=7, l=5; r2: s=2, o=2, l=2, arrives at 1. Round 1 offers r2 (L 2, end
    # 3: 5 + 4 > 7 at x = 3) then r1 (L 5, end 6: 5 + 2 <= 7 at x = 3, 5 at x = 6). SPEC stops at r2's misfit,
    # so r1 and r2 both wait for r0 (starts 0, 3, 3); skipping admits r1 at 1, and r2 then waits for r1 (8).
    inst = make_instance(
        7,
        [
            {"prompt": 2, "output": 3, "lower": 3, "upper": 4},
            {"prompt": 0, "output": 7, "lower": 5, "upper": 9},
            {"prompt": 2, "output": 2, "lower": 2, "upper": 4, "arrival": 1},
        ],
    )
    assert run(inst, "spec").starts == (0, 3, 3)
    assert run(inst, "skip-misfit").starts == (0, 1, 8)


def test_prefill_as_a_round_of_its_own_delays_every_token_by_one_round() -> None:
    # s = 0, o = 3, arriving at 1: SPEC holds 1, 2, 3 at times 2..4 and completes at 4; with a prefill round
    # the request holds 0 (an empty prompt's cache), 1, 2, 3 at times 2..5 and completes at 5.
    inst = make_instance(7, [{"prompt": 0, "output": 3, "lower": 1, "upper": 6, "arrival": 1}])
    spec, prefill = run(inst, "spec"), run(inst, "prefill-round")
    assert (spec.records[0].completion, spec.memory) == (4, (0, 0, 1, 2, 3))
    assert (prefill.records[0].completion, prefill.memory) == (5, (0, 0, 0, 1, 2, 3))
    check_result(inst, prefill)


def test_kv_blocks_round_memory_up_to_whole_blocks() -> None:
    # Three requests of 10 tokens, M = 32: in tokens all three fit at once (30); in 16-token blocks each holds a
    # whole block, so only two fit (32) and hsf starts the third when they finish.
    inst = make_instance(32, [{"prompt": 0, "output": 10, "lower": 10, "upper": 10}] * 3)
    assert run(inst, "spec", "hsf").starts == (0, 0, 0)
    blocks = run(inst, "kv-blocks-16", "hsf")
    assert blocks.starts == (0, 0, 10) and blocks.peak_memory == 32
    check_result(inst, blocks)
    with pytest.raises(ValueError, match="request 0: cannot fit alone in KV blocks of 16 tokens"):
        run(make_instance(12, [{"prompt": 0, "output": 10, "lower": 10, "upper": 10}]), "kv-blocks-16")


def test_evicting_by_progress_keeps_the_more_progressed_request() -> None:
    # The C5 counterexample: three identical requests (o = 4, [1, 4], M = 6); under the bound key a re-admitted
    # request keeps its raised bound and a tie evicts the more-progressed one; by progress, never.
    inst = load_instance(ROOT / "reports" / "counterexamples" / "c5_bound_evicts_more_progressed.json")
    assert run(inst, "spec").eviction_log != run(inst, "evict-by-progress").eviction_log


# --- hand-computed: where a reading must not change the schedule -------------------------------------------
@pytest.mark.parametrize(
    "reading", ["refine-g", "refine-at-eviction", "refine-doubling", "plan-initial", "evict-by-progress"]
)
def test_readings_of_the_bound_are_no_ops_when_the_lower_bound_is_exact(reading: str) -> None:
    # With l = o amin plans the truth: it never outlives a bound and never evicts (it is hsf), so no reading of
    # refinement, planning basis or eviction order has anything to act on.
    inst = make_instance(9, [{"prompt": 1, "output": o, "lower": o, "upper": o + 2} for o in (3, 1, 4, 1, 5, 2)])
    mine, spec = run(inst, reading), run(inst, "spec")
    assert (mine.records, mine.eviction_log, mine.memory) == (spec.records, spec.eviction_log, spec.memory)
    assert spec.evictions == 0


def test_skipping_changes_nothing_when_every_waiting_request_is_alike() -> None:
    # SPEC section 4's six identical requests: after a misfit every later request is the same, so it misfits too.
    for scheduler in ("amin", "amax", "hsf", "fcfs"):
        assert run(SIX, "skip-misfit", scheduler).records == run(SIX, "spec", scheduler).records


def test_blocks_change_nothing_when_everything_fits() -> None:
    inst = make_instance(160, [{"prompt": 0, "output": 10, "lower": 10, "upper": 10}] * 3)
    assert run(inst, "kv-blocks-16", "hsf").starts == run(inst, "spec", "hsf").starts == (0, 0, 0)


# --- both engines, every reading ---------------------------------------------------------------------------
@settings(max_examples=400)  # cheap examples; crowded ones, where misfits, evictions and re-admissions happen
@given(
    st.one_of(
        instances(max_requests=10, min_capacity=6, max_capacity=16, max_arrival=3),
        instances(max_requests=6, max_capacity=40, max_arrival=6),
    ),
    st.sampled_from(sorted(READINGS)),
    st.sampled_from(["hsf", "amax", "amin", "mcsf", "fcfs"]),
    st.sampled_from(["index", "random"]),
)
def test_both_engines_agree_under_every_reading(
    instance: Instance, reading: str, scheduler: str, tie_break: str
) -> None:
    fields = READINGS[reading].fields
    try:
        ref = simulate(instance, scheduler, engine="reference", tie_break=tie_break, **fields)
    except ValueError as e:
        assert "cannot fit alone in KV blocks" in str(e)
        return
    fast = simulate(instance, scheduler, engine="fast", tie_break=tie_break, **fields)
    assert fast == ref
    try:
        check_result(instance, fast)
    except ScheduleError as e:  # only an overflow, and only where a reading allows one
        assert "exceeds capacity" in str(e) and reading in UNSAFE_FOR_AMIN, (reading, scheduler, str(e))


def test_a_reading_is_recorded_in_the_result_options() -> None:
    r = run(SIX, "refine-doubling")
    assert r.options["refinement"] == "doubling"
    assert "refinement" not in run(SIX, "spec").options
    with pytest.raises(ValueError, match=r"unknown refinement 'g\+2'"):
        simulate(SIX, "amin", refinement="g+2")
    with pytest.raises(ValueError, match="unknown option 'refinment'"):
        simulate(SIX, "amin", refinment="g")


def test_requests_of_empty_prompt_under_a_prefill_round() -> None:
    inst = Instance(5, (Request(0, 2, 1, 2), Request(0, 2, 1, 2)))
    for scheduler in ("amin", "hsf", "fcfs"):
        fast, ref = (simulate(inst, scheduler, engine=e, prefill="extra_round") for e in ("fast", "reference"))
        assert fast == ref and fast.total_latency == 6  # both start at 0 and finish at 3
        check_result(inst, fast)


def test_admit_by_area_offers_the_smaller_planned_memory_rounds_first() -> None:
    # M = 12; r0: s=10, o=l=2 (planned memory-rounds 10*2 + 3 = 23); r1: s=0, o=l=5 (0 + 15 = 15). Together they
    # need 12 + 2 = 14 > 12 at x = 2, so one waits. SPEC's order (L: 2 < 5) runs r0 first: starts (0, 2). By area
    # r1 goes first; r0 fits beside it nowhere before r1 completes at 5: starts (5, 0).
    inst = make_instance(
        12, [{"prompt": 10, "output": 2, "lower": 2, "upper": 2}, {"prompt": 0, "output": 5, "lower": 5, "upper": 5}]
    )
    for engine in ("fast", "reference"):
        assert run(inst, "spec", engine=engine).starts == (0, 2)
        by_area = run(inst, "admit-by-area", engine=engine)
        assert by_area.starts == (5, 0) and by_area.options["admission_order"] == "area"
        check_result(inst, by_area)
    assert READINGS["admit-by-area"].ours and not READINGS["spec"].ours


def test_simulate_command_takes_a_reading(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from amin.harness.cli import main

    path = str(ROOT / "amin" / "examples" / "six_identical.json")
    for reading in ("refine-doubling", "admit-by-area", "prefill-round"):
        capsys.readouterr()
        assert main(["simulate", path, "--scheduler", "amin", "--reading", reading, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)["total_latency"]
        assert shown == run(SIX, reading, engine="fast").total_latency
