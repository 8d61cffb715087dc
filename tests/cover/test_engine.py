"""Hand-computed schedules for the round loop (SPEC section 2), one scenario per test.

Each expected schedule below was worked out by hand round by round from SPEC;
the derivation is written next to it so that a reader can check it.
"""

from __future__ import annotations

import pytest

from amin import NonTermination, Simulation, check_result, make_instance, make_scheduler, simulate


def req(prompt: int, output: int, lower: int = 1, upper: int | None = None, arrival: int = 0) -> dict[str, int]:
    return {"prompt": prompt, "output": output, "lower": lower, "upper": upper or output, "arrival": arrival}


def run(capacity, requests, scheduler, **options):
    inst = make_instance(capacity, requests)
    result = simulate(inst, scheduler, tie_break="index", **options)
    check_result(inst, result)
    return result


SIX = [req(1, 3, 1, 5)] * 6  # SPEC section 4: s = 1, o = 3, M = 9, [l, u] = [1, 5]


def test_six_identical_hsf():
    # Each request plans 1 + 3 = 4 at its end; two fit (8 <= 9), a third would need 12.
    r = run(9, SIX, "hsf")
    assert r.starts == (0, 0, 3, 3, 6, 6)
    assert r.total_latency == 36
    assert r.evictions == 0
    assert r.memory == (0, 4, 6, 8, 4, 6, 8, 4, 6, 8)
    assert r.peak_memory == 8 and r.makespan == 9


def test_six_identical_amax_runs_one_at_a_time():
    # Planned length u = 5: one request plans 1 + 5 = 6 at its end; two would plan 12 > 9.
    r = run(9, SIX, "amax")
    assert r.starts == (0, 3, 6, 9, 12, 15)
    assert r.total_latency == 63
    assert r.evictions == 0


def test_six_identical_amin_evicts_and_readmits_twice():
    # t=0: L=1, each plans 2 at t=1: four fit (8), a fifth would be 10.
    # t=1: L->2, next round needs 4*3=12 > 9: evict 0 (ties by index) -> 9.
    # t=2: L->3, needs 3*4=12: evict 1 -> 8. t=3: 2,3 complete; admit 4,5 (L=1), 0 (L=2), 1 (L=3).
    # t=4: needs 12: evict 0 again (L=2 ties 4,5; lowest index). t=5: all L=3, evict 1 again.
    # t=6: 4,5 complete; 0 and 1 restart and complete at 9.
    r = run(9, SIX, "amin")
    assert r.starts == (6, 6, 0, 0, 3, 3)
    assert r.total_latency == 36
    assert [(e.index, e.start, e.round) for e in r.eviction_log] == [(0, 0, 1), (1, 0, 2), (0, 3, 4), (1, 3, 5)]
    assert [rec.evictions for rec in r.records] == [2, 2, 0, 0, 0, 0]
    assert [rec.wasted_tokens for rec in r.records] == [2, 4, 0, 0, 0, 0]
    assert r.memory == (0, 8, 9, 8, 8, 9, 8, 4, 6, 8)
    assert r.peak_memory == 9


def test_arrivals_over_time_hsf():
    # t=0: only r0 has arrived: starts (plans 5 at t=3). t=1: r1 (L=2) and r2 (L=4) arrive;
    # r1 fits (planned 9 at t=3); r2 would put 12 at t=3. t=2: r2 would put 11 at t=3.
    # t=3: r0 and r1 complete; r2 starts and completes at 7.
    r = run(10, [req(2, 3), req(2, 2, arrival=1), req(1, 4, arrival=1)], "hsf")
    assert r.starts == (0, 1, 3)
    assert [rec.completion for rec in r.records] == [3, 3, 7]
    assert [rec.latency for rec in r.records] == [3, 2, 6]
    assert r.total_latency == 11
    assert r.memory == (0, 3, 7, 9, 2, 3, 4, 5)


def test_amin_eviction_then_readmission():
    # t=0: L=1 each plans 2 at t=1: both fit (4 <= 5). t=1: L->2, next round needs 6 > 5: evict r0
    # (tie on L=2, lower index); r0 may not restart this round. t=2: r0 (L=2, end 4) would put
    # 4 + 2 = 6 at r1's planned end 3. t=3: r1 completes; r0 restarts and completes at 6.
    r = run(5, [req(1, 3), req(1, 3)], "amin")
    assert r.starts == (3, 0)
    assert [(e.index, e.start, e.round) for e in r.eviction_log] == [(0, 0, 1)]
    assert r.records[0].wasted_tokens == 1
    assert r.total_latency == 9
    assert r.memory == (0, 4, 3, 4, 2, 3, 4)


def test_amax_misprediction_output_above_upper():
    # amax plans u: r0 L=2 (true 4), r1 L=3. Both fit at t=0 (6 at t=2, 4 at t=3).
    # t=2: r0 has not finished: L->3; next round needs 4 + 4 = 8 > 7: evict r0 (tie on L=3, index).
    # t=3: r1 completes; r0 restarts (plans 4 at t=6); at t=6 it refines to 4 and completes at 7.
    r = run(7, [req(1, 4, 1, 2), req(1, 3, 1, 3)], "amax")
    assert r.starts == (3, 0)
    assert [(e.index, e.start, e.round) for e in r.eviction_log] == [(0, 0, 2)]
    assert r.records[0].wasted_tokens == 2
    assert r.total_latency == 10
    assert r.memory == (0, 4, 6, 4, 2, 3, 4, 5)


def test_fcfs_preemption_and_no_admission_after_eviction():
    # t=0: admit r0, r1 (need 4 <= 7). t=2: need 8 > 7: evict the most recently admitted, r1
    # (same round: the last admitted). r2 arrived at 2 and would fit, but fcfs admits nothing in a
    # round that evicted. t=3: r1 (earlier arrival) readmitted: 5 + 2 = 7; r2 would make 8.
    # t=4: r0 completes; r2 admitted, completes at 5. r1 completes at 7.
    r = run(7, [req(1, 4), req(1, 4), req(0, 1, arrival=2)], "fcfs")
    assert r.starts == (0, 3, 4)
    assert [(e.index, e.start, e.round) for e in r.eviction_log] == [(1, 0, 2)]
    assert r.total_latency == 4 + 7 + 3
    assert r.memory == (0, 4, 6, 4, 7, 4, 4, 5)


def test_eviction_key_progress_differs_from_bound_with_per_request_lower():
    # r0 has a high lower bound (L=4, true 4) and r1 a low one (L=1, true 4); both progress equally.
    # At t=2 the next round needs (1+2+1)*2 = 8 > 7. "bound" evicts r1 (L=3 < 4);
    # "progress" ties (both produced 2) and breaks it by index: r0.
    reqs = [req(1, 4, 4, 4), req(1, 4, 1, 4)]
    by_bound = run(7, reqs, "amin", eviction_key="bound")
    by_progress = run(7, reqs, "amin", eviction_key="progress")
    assert [e.index for e in by_bound.eviction_log] == [1]
    assert [e.index for e in by_progress.eviction_log] == [0]


def test_planned_length_cap_lets_amax_admit_an_oversized_upper_bound():
    # u = 50 > M - s = 9: without the cap amax could never plan to admit it (SPEC section 2).
    r = run(10, [req(1, 3, 1, 50)], "amax")
    assert r.starts == (0,)
    sim = Simulation(make_instance(10, [req(1, 3, 1, 50)]), make_scheduler("amax"))
    assert sim.jobs[0].planned_length == 9


def test_idle_gap_is_skipped_without_changing_the_schedule():
    r = run(10, [req(1, 2), req(1, 2, arrival=100)], "amin")
    assert r.starts == (0, 100)
    assert r.memory[:4] == (0, 2, 3, 0) and r.memory[100:] == (0, 2, 3)
    assert r.rounds == 4


def test_round_budget_raises_on_livelock():
    # A budget too small to finish must raise, not loop or return a partial result.
    with pytest.raises(NonTermination):
        simulate(make_instance(9, SIX), "amin", max_rounds=3)


def test_snapshots_expose_online_state_each_round():
    inst = make_instance(9, SIX)
    seen = []
    simulate(inst, "amin", tie_break="index", observer=lambda sim, ev: seen.append((ev, sim.snapshot())))
    ev1, snap1 = seen[1]
    assert ev1.t == 1 and ev1.evicted == (0,)
    assert snap1[0].status == "waiting" and snap1[0].planned_length == 2 and snap1[0].evictions == 1
    assert snap1[1].status == "running" and snap1[1].progress == 1


def test_random_tie_break_is_seeded():
    inst = make_instance(9, SIX)
    a = simulate(inst, "amin", tie_break="random", seed=3)
    b = simulate(inst, "amin", tie_break="random", seed=3)
    assert a == b
    logs = {tuple(e.index for e in simulate(inst, "amin", tie_break="random", seed=s).eviction_log) for s in range(8)}
    assert len(logs) > 1  # different seeds do break ties differently


def test_bad_options_are_rejected():
    inst = make_instance(9, SIX)
    with pytest.raises(ValueError, match="tie_break"):
        simulate(inst, "amin", tie_break="coin")
    with pytest.raises(ValueError, match="eviction_key"):
        simulate(inst, "amin", eviction_key="age")
    with pytest.raises(ValueError, match="unknown scheduler"):
        simulate(inst, "sjf")
