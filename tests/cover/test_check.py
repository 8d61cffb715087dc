"""The independent checker must reject broken schedules (it is the oracle for the engine and the MILP)."""

from __future__ import annotations

import pytest

from amin import Eviction, ScheduleError, check_schedule, make_instance, memory_profile
from tests.fixtures import SIX


def test_optimal_six_request_schedule_is_valid():
    # OPT of SPEC section 4: starts 0..5; peak is 2 + 3 + 4 = 9 = capacity.
    mem = check_schedule(SIX, [0, 1, 2, 3, 4, 5])
    assert max(mem) == 9
    assert mem[:4] == [0, 2, 5, 9]


def test_overflow_is_caught_with_its_time():
    with pytest.raises(ScheduleError, match="memory 12 exceeds capacity 9 at time 3"):
        check_schedule(SIX, [0, 0, 0, 3, 3, 6])


def test_start_before_arrival_is_caught():
    inst = make_instance(9, [{"prompt": 1, "output": 3, "lower": 1, "upper": 3, "arrival": 2}])
    with pytest.raises(ScheduleError, match="before its arrival"):
        check_schedule(inst, [1])


def test_evicted_runs_hold_memory_until_the_eviction_round():
    inst = make_instance(5, [{"prompt": 1, "output": 3, "lower": 1, "upper": 3}] * 2)
    # request 0 ran 0..1 (held 2 at time 1), was evicted, restarted at 3
    assert memory_profile(inst, [3, 0], [Eviction(0, 0, 1)]) == [0, 4, 3, 4, 2, 3, 4]
    check_schedule(inst, [3, 0], [Eviction(0, 0, 1)])


@pytest.mark.parametrize(
    ("starts", "evictions", "message"),
    [
        ([3, 0], [Eviction(0, 0, 3)], "would have finished"),
        ([1, 0], [Eviction(0, 0, 1)], "before the previous run ended"),
        ([3, 0], [Eviction(0, 0, 0)], "is empty"),
        ([0, 3], [Eviction(1, 0, 2)], "exceeds capacity"),
    ],
)
def test_bad_eviction_histories_are_caught(starts, evictions, message):
    inst = make_instance(5, [{"prompt": 1, "output": 3, "lower": 1, "upper": 3}] * 2)
    with pytest.raises(ScheduleError, match=message):
        check_schedule(inst, starts, evictions)
