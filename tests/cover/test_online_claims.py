"""C4 and C5 evidence (amin.harness.search.online): the saved C5 counterexample replays, and the checks can fail."""

from __future__ import annotations

import json

from hypothesis import given, settings

from amin import load_instance, make_instance
from amin.harness.search.online import progress_order_violation, upper_dependence
from amin.harness.search.strategies import heterogeneous_instances
from tests.fixtures import ROOT

C5_FILE = ROOT / "reports" / "counterexamples" / "c5_bound_evicts_more_progressed.json"


def test_c5_counterexample_replays_under_bound_and_not_under_progress():
    data = json.loads(C5_FILE.read_text())
    inst = load_instance(data)
    assert progress_order_violation(inst, "bound") == data["violation"]
    assert progress_order_violation(inst, "progress") is None


def test_c5_three_identical_requests_by_hand():
    # M=6, o=4, l=1: request 1 is evicted early and re-admitted with planned length 4; later request 0
    # (3 tokens, planned 4) and request 1 (2 tokens, planned 4) tie on planned length, and the index
    # tie-break evicts request 0, the more progressed one.
    inst = make_instance(6, [{"prompt": 0, "output": 4, "lower": 1, "upper": 4}] * 3)
    msg = progress_order_violation(inst, "bound")
    assert msg is not None and "evicted request 0 after 3 tokens while request 1 stays with 2" in msg


@settings(max_examples=40)
@given(heterogeneous_instances(max_requests=6, max_capacity=16, correct=False))
def test_c4_amin_ignores_upper_bounds(inst):
    assert upper_dependence(inst, seed=1) is None


def test_c4_check_can_fail():
    # amax plans with the upper bound: the same check pointed at it must notice.
    inst = make_instance(9, [{"prompt": 1, "output": 3, "lower": 1, "upper": 5}] * 6)
    assert upper_dependence(inst, seed=0, scheduler="amax") is not None
