"""Tests of optimal/: the integer program against exhaustive search, bounds against the optimum, status rules, CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

import optimal
from amin import SCHEDULERS, Instance, Request, ScheduleError, check_schedule, load_instance, simulate
from amin.harness.cli import main
from optimal.bracket import best_known_schedule
from optimal.combinatorial import mean_busy_time_bound
from optimal.model import (
    compact,
    exact_model,
    latest_starts,
    list_schedule,
    lp_guided_schedule,
    request_classes,
    start_slack,
    total_latency,
)
from tests.fixtures import tiny_instance as random_instance
from tests.strategies import instances

SIX = Path(__file__).resolve().parents[2] / "amin" / "examples" / "six_identical.json"


def test_six_identical_requests() -> None:
    inst = load_instance(SIX)
    assert simulate(inst, "hsf").total_latency == 36
    assert optimal.exhaustive(inst) == (33, (0, 1, 2, 3, 4, 5))
    for formulation in ("naive", "aggregated", "auto"):
        sol = optimal.solve(inst, formulation=formulation)
        assert (sol.status, sol.total_latency, sol.lower_bound, sol.starts) == ("optimal", 33, 33, (0, 1, 2, 3, 4, 5))
    assert optimal.solve(inst, formulation="aggregated").columns < optimal.solve(inst, formulation="naive").columns


def test_to_dict_has_spec_keys_first() -> None:
    d = optimal.solve(load_instance(SIX)).to_dict()
    assert list(d)[:6] == ["status", "total_latency", "lower_bound", "starts", "solver", "seconds"]
    assert "highs" in d["solver"] and json.loads(json.dumps(d)) == d


def check_against_exhaustive(inst: Instance) -> None:
    opt, opt_starts = optimal.exhaustive(inst)
    check_schedule(inst, opt_starts)
    assert total_latency(inst, opt_starts) == opt
    sol = optimal.solve(inst)
    assert sol.status == "optimal" and sol.total_latency == opt == sol.lower_bound, (inst, sol, opt)
    assert sol.starts is not None and total_latency(inst, sol.starts) == opt
    check_schedule(inst, sol.starts)
    # The horizon arguments: an optimal schedule starts every request within [a_i, latest start of its class].
    slack = start_slack(inst, best_known_schedule(inst).total_latency)
    classes = request_classes(inst, aggregate=False)
    latest = latest_starts(inst, classes, slack)
    assert all(c.arrival <= opt_starts[c.members[0]] <= last for c, last in zip(classes, latest, strict=True))
    for name in SCHEDULERS:
        for options in ({"tie_break": "index"}, {"tie_break": "random", "seed": 7}):
            assert simulate(inst, name, **options).total_latency >= opt, (name, inst)
    assert optimal.lower_bound(inst).value <= opt


def test_milp_equals_exhaustive_on_200_seeded_tiny_instances() -> None:
    rng = random.Random(20260101)
    for _ in range(200):
        check_against_exhaustive(random_instance(rng))


@settings(max_examples=40)
@given(instances(max_requests=5, max_capacity=12, max_arrival=4, max_output=5))
def test_milp_equals_exhaustive_hypothesis(inst: Instance) -> None:
    check_against_exhaustive(inst)


def test_aggregated_equals_naive_with_repeated_requests() -> None:
    rng = random.Random(3)
    for _ in range(30):
        inst = random_instance(rng, n_max=7, duplicates=True)
        naive = optimal.solve(inst, formulation="naive")
        aggregated = optimal.solve(inst, formulation="aggregated")
        assert naive.status == aggregated.status == "optimal"
        assert naive.total_latency == aggregated.total_latency
        assert aggregated.columns <= naive.columns
        assert len(request_classes(inst)) <= len(inst.requests)


def test_relaxed_bounds_never_exceed_the_optimum() -> None:
    """Rounding into few classes and bucketing starts (stride > 1) must stay below OPT."""
    rng = random.Random(11)
    for _ in range(60):
        inst = random_instance(rng, n_max=6, capacity_max=20, output_max=8, arrival_max=6)
        opt, _ = optimal.exhaustive(inst)
        for max_classes, max_entries in ((1, 3_000_000), (2, 40), (3, 10)):
            bound = optimal.lower_bound(inst, max_classes=max_classes, max_entries=max_entries)
            assert sum(r.output for r in inst.requests) <= bound.value <= opt, (inst, bound, opt)


def test_relaxed_bound_uses_strides_and_classes() -> None:
    rng = random.Random(5)
    reqs = []
    for _ in range(300):
        s = rng.randint(0, 40)
        o = rng.randint(1, 30)
        reqs.append(Request(s, o, 1, o, rng.randint(0, 200)))
    inst = Instance(120, tuple(reqs))
    bound = optimal.lower_bound(inst, max_classes=20, max_entries=20_000)
    assert bound.method in ("relaxed-lp", "area", "mean-busy-time") and bound.classes <= 20 and bound.stride > 1
    upper = total_latency(inst, list_schedule(inst, range(len(reqs))))
    assert bound.lp_bound is not None and bound.area_bound is not None
    busy = mean_busy_time_bound(inst)
    assert sum(r.output for r in reqs) < max(bound.lp_bound, bound.area_bound, busy) == bound.value <= upper


def hard_instance() -> Instance:
    # 40 heterogeneous requests with arrivals: the benchmark leaves 16 of this shape unproved after 10 s,
    # so a 1 s limit cannot be reached by a proof even on a much faster machine.
    rng = random.Random(5)
    reqs = []
    for _ in range(40):
        s = rng.randint(0, 10)
        o = rng.randint(1, 20)
        reqs.append(Request(s, o, 1, o, rng.randint(0, 10)))
    return Instance(60, tuple(reqs))


def test_time_limit_reports_bounds_never_optimal() -> None:
    inst = hard_instance()
    sol = optimal.solve(inst, time_limit=3.0)
    assert sol.status == "feasible" and sol.solver_status == "kTimeLimit"
    assert sol.starts is not None and sol.total_latency is not None
    assert sum(r.output for r in inst.requests) <= sol.lower_bound < sol.total_latency
    assert sol.gap is not None and sol.gap > 0
    check_schedule(inst, sol.starts)
    assert total_latency(inst, sol.starts) == sol.total_latency
    cold = optimal.solve(inst, time_limit=0.05, warm_start=False)
    assert cold.status in ("feasible", "unknown")
    if cold.status == "unknown":
        assert cold.total_latency is None and cold.starts is None
    else:
        assert cold.total_latency is not None and cold.lower_bound <= cold.total_latency


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="solver"):
        optimal.solve(load_instance(SIX), solver="gurobi")
    with pytest.raises(ValueError, match="formulation"):
        optimal.solve(load_instance(SIX), formulation="fancy")


def _instance_text(**override: object) -> str:
    req = {"prompt": 1, "output": 3, "lower": 1, "upper": 5, "arrival": 0}
    req.update(override)
    return json.dumps({"format": "amin-instance/1", "capacity": 9, "requests": [req]})


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "cannot read"),
        ("{not json", "invalid JSON"),
        (_instance_text(lower=6), "exceeds field 'upper'"),
        (_instance_text(output=0), "'output' must be >= 1"),
        (_instance_text(prompt=8, output=3), "cannot fit alone"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, fragment: str
) -> None:
    path = tmp_path / "instance.json"
    if content is not None:
        path.write_text(content)
    assert main(["solve", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_cli_json_and_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(SIX), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["total_latency"], out["starts"]) == ("optimal", 33, [0, 1, 2, 3, 4, 5])
    assert main(["solve", str(SIX), "--formulation", "naive"]) == 0
    assert "optimal" in capsys.readouterr().out
    assert main(["solve", str(SIX), "--time-limit", "0"]) == 2


@pytest.mark.deep
def test_scip_agrees_with_highs() -> None:
    pytest.importorskip("pyscipopt")
    rng = random.Random(99)
    for _ in range(25):
        inst = random_instance(rng, n_max=8, capacity_max=20, output_max=8, arrival_max=6)
        highs = optimal.solve(inst, solver="highs")
        scip = optimal.solve(inst, solver="scip")
        assert highs.status == scip.status == "optimal"
        assert highs.total_latency == scip.total_latency


@pytest.mark.deep
def test_milp_equals_exhaustive_deep() -> None:
    rng = random.Random(424242)
    for _ in range(2000):
        check_against_exhaustive(random_instance(rng, n_max=6, capacity_max=16, output_max=6, arrival_max=5))


def test_compact_closes_gaps_and_never_hurts() -> None:
    inst = Instance(10, (Request(2, 3, 1, 3, 0), Request(2, 3, 1, 3, 1), Request(1, 2, 1, 2, 0)))
    starts = (0, 9, 20)  # empty memory at 4..9 and 13..20 after the last arrival
    out = compact(inst, starts)
    check_schedule(inst, out)
    assert out == (0, 3, 6) and total_latency(inst, out) < total_latency(inst, starts)
    rng = random.Random(8)
    for _ in range(50):
        inst = random_instance(rng, n_max=6)
        order = list(range(len(inst.requests)))
        rng.shuffle(order)
        starts = list_schedule(inst, order)
        spread = tuple(p + 3 * k for k, p in enumerate(starts))  # push later requests out: creates gaps
        try:
            check_schedule(inst, spread)
        except ScheduleError:
            continue
        out = compact(inst, spread)
        check_schedule(inst, out)
        assert total_latency(inst, out) <= total_latency(inst, spread)


def test_too_large_model_is_skipped_with_a_certified_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import optimal.milp

    monkeypatch.setattr(optimal.milp, "MAX_ENTRIES", 10)
    inst = hard_instance()
    sol = optimal.solve(inst, time_limit=5.0)
    assert sol.status == "feasible" and sol.solver_status.startswith("skipped")
    assert sol.starts is not None and sol.total_latency == total_latency(inst, sol.starts)
    check_schedule(inst, sol.starts)
    assert sum(r.output for r in inst.requests) <= sol.lower_bound <= sol.total_latency


def theory_instance(n: int) -> Instance:
    """The benchmark's theory setting: arrivals 0, prompt 5, outputs from {3, 8, 15, 20}, capacity 100."""
    rng = random.Random(1)
    return Instance(100, tuple(Request(5, o, 1, o, 0) for o in (rng.choice((3, 8, 15, 20)) for _ in range(n))))


def test_lp_guided_schedule_is_checked_and_beats_shortest_first() -> None:
    inst = theory_instance(20)
    known = best_known_schedule(inst)
    classes = request_classes(inst)
    model = exact_model(inst, classes, start_slack(inst, known.total_latency))
    guided = lp_guided_schedule(inst, model, search_seconds=1.0)
    assert guided is not None and guided.source == "lp-list"
    check_schedule(inst, guided.starts)
    assert guided.total_latency == total_latency(inst, guided.starts)
    # Measured: shortest-first list scheduling and the online schedulers reach 380, the alpha-point order 363 (= OPT).
    assert (known.total_latency, guided.total_latency) == (380, 363)


def test_area_windows_are_never_wider() -> None:
    rng = random.Random(17)
    for _ in range(100):
        inst = random_instance(rng, n_max=7, duplicates=True)
        slack = start_slack(inst, best_known_schedule(inst).total_latency)
        for aggregate in (True, False):
            classes = request_classes(inst, aggregate)
            narrow = latest_starts(inst, classes, slack)
            wide = latest_starts(inst, classes, slack, area=False)
            assert all(c.arrival <= n <= w for c, n, w in zip(classes, narrow, wide, strict=True))


def test_speedups_off_gives_the_same_optimum() -> None:
    """Switching the guided warm start and the area windows off changes speed only."""
    rng = random.Random(23)
    for _ in range(40):
        inst = random_instance(rng, n_max=6, capacity_max=16, output_max=6, arrival_max=5, duplicates=True)
        on = optimal.solve(inst)
        off = optimal.solve(inst, guided_warm_start=False, area_windows=False)
        assert on.status == off.status == "optimal" and on.total_latency == off.total_latency
        assert on.columns <= off.columns or off.solver_status == "trivial"


def test_cli_json_is_one_document_whatever_the_solver_prints() -> None:
    # A real process, so that file descriptor 1 is real: HiGHS prints its banner there from C.
    done = subprocess.run(
        [sys.executable, "-m", "amin", "solve", str(SIX), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # the whole of stdout is one JSON document
    assert (out["status"], out["total_latency"]) == ("optimal", 33)


def test_json_channel_guards_file_descriptor_1() -> None:
    code = (
        "import os, sys\n"
        "from amin.harness.cli import json_channel, print_json\n"
        "with json_channel():\n"
        "    os.write(1, b'C-level noise\\n')\n"
        "    print('Python noise')\n"
        "    print_json({'ok': True})\n"
        "print('after')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{\n "ok": true\n}\nafter\n'
    assert "C-level noise" in done.stderr and "Python noise" in done.stderr


def test_solve_reads_a_request_trace_like_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("prompt,output\n10,5\n20,3\n5,7\n")
    capsys.readouterr()
    assert main(["solve", str(trace), "--capacity", "40", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    inst = Instance(40, (Request(10, 5, 1, 1000), Request(20, 3, 1, 1000), Request(5, 7, 1, 1000)))
    assert answer["status"] == "optimal" and answer["total_latency"] == optimal.exhaustive(inst)[0]
    assert main(["solve", str(trace), "--json"]) == 2  # a trace needs a capacity: one line, exit 2
    assert "needs --capacity" in capsys.readouterr().err
