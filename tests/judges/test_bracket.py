"""Tests of the bracket at scale: list scheduling and local search (optimal.schedules), the combinatorial bounds
(optimal.combinatorial), column generation (optimal.colgen), the bracket (optimal.bracket), and `amin solve`'s
resource bounds. Every bound is checked against proved optima; every schedule against amin's checker."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import optimal
from amin import Instance, Request, ScheduleError, check_schedule, simulate
from amin.harness.cli import main
from optimal.bounds import LinearProgram, certified_lp_bound
from optimal.bracket import bracket
from optimal.colgen import _windows, column_generation, concurrency_families, fluid_prices, lagrangian
from optimal.combinatorial import area_bound, combinatorial_bound, mean_busy_time_bound, trivial_bound
from optimal.model import compact, exact_model, request_classes, start_slack
from optimal.schedules import (
    PRIORITY_RULES,
    backfill_schedule,
    best_schedule,
    close_gaps,
    event_check,
    list_schedules,
    priority_keys,
    priority_schedule,
    ruin_and_recreate,
    total_latency,
)
from tests.fixtures import tiny_instance as tiny

SIX = Path(__file__).resolve().parents[2] / "amin" / "examples" / "six_identical.json"
TRACES = ("azure-conv", "azure-code", "sharegpt-predicted", "mooncake-conv", "sharegpt-llama2")


def every_lower_bound(inst: Instance, upper_starts: tuple[int, ...]) -> dict[str, int]:
    """Every certified lower bound of the suite on one instance (the Lagrangian ones given a checked schedule)."""
    bounds = {"trivial": trivial_bound(inst), "area": area_bound(inst), "mean-busy-time": mean_busy_time_bound(inst)}
    for cliques in (False, True):
        cg = column_generation(inst, upper_starts, 20.0, cliques=cliques)
        assert cg is not None
        bounds[cg.method] = cg.value
    win = _windows(inst, upper_starts)
    bounds["lagrangian at fluid prices"] = lagrangian(inst, win, fluid_prices(inst, win.rounds), [], [])[0]
    return bounds


# --- list scheduling ---------------------------------------------------------------------------------------------
def test_output_rule_is_exactly_hsf_with_arrivals() -> None:
    """The event-driven priority list scheduler under SPEC section 3's key (o, a, i) reproduces H-SF."""
    rng = random.Random(1)
    for k in range(400):
        inst = tiny(rng, n_max=12, capacity_max=60, output_max=15, arrival_max=0 if k % 2 else 20)
        assert priority_schedule(inst, "output") == tuple(simulate(inst, "hsf", tie_break="index").starts), inst


def test_event_check_agrees_with_amin_checker() -> None:
    rng = random.Random(2)
    verdicts = set()
    for _ in range(600):
        inst = tiny(rng, n_max=6, capacity_max=30, output_max=8, arrival_max=3)
        starts = [r.arrival + rng.randint(0, 6) for r in inst.requests]
        try:
            check_schedule(inst, starts)
            ok = True
        except ScheduleError:
            ok = False
        try:
            event_check(inst, starts)
            assert ok, (inst, starts)
        except ScheduleError:
            assert not ok, (inst, starts)
        verdicts.add(ok)
    assert verdicts == {True, False}  # both kinds were drawn: the agreement is not vacuous


def test_every_schedule_is_feasible_and_never_beats_opt() -> None:
    rng = random.Random(3)
    for _ in range(150):
        inst = tiny(rng, duplicates=True)
        opt, _ = optimal.exhaustive(inst)
        made = [s.starts for s in list_schedules(inst)]
        order = list(range(len(inst.requests)))
        rng.shuffle(order)
        made.append(backfill_schedule(inst, order))
        made.append(ruin_and_recreate(inst, made[-1], time.perf_counter() + 0.05, seed=1)[0])
        best = best_schedule(inst, 0.2)
        made.append(best.starts)
        for starts in made:
            check_schedule(inst, starts)
            assert total_latency(inst, starts) >= opt
        listed = min(total_latency(inst, starts) for starts in made[: len(PRIORITY_RULES)])
        assert best.total_latency == total_latency(inst, best.starts) <= listed


def test_local_search_never_worsens_and_keeps_feasibility() -> None:
    rng = random.Random(4)
    for _ in range(60):
        inst = tiny(rng, n_max=12, capacity_max=40, output_max=10, arrival_max=6)
        start = priority_schedule(inst, "output")
        after, stats = ruin_and_recreate(inst, start, time.perf_counter() + 0.05, seed=rng.randint(0, 99))
        check_schedule(inst, after)
        assert stats.after == total_latency(inst, after) <= stats.before == total_latency(inst, start)


def test_close_gaps_matches_compact_and_never_hurts() -> None:
    rng = random.Random(5)
    tried = 0
    for _ in range(600):
        inst = tiny(rng, n_max=6, arrival_max=4)
        starts = [r.arrival + rng.randint(0, 12) for r in inst.requests]
        try:
            check_schedule(inst, starts)
        except ScheduleError:
            continue
        tried += 1
        out = close_gaps(inst, starts)
        check_schedule(inst, out)
        assert out == compact(inst, starts) and total_latency(inst, out) <= total_latency(inst, starts)
    assert tried > 100


def test_area_rule_beats_hsf_when_prompts_differ() -> None:
    """The reason for the area rule: a long-output, tiny-prompt request holds less memory than a short-output,
    huge-prompt one, and shortest-output-first gets the order wrong (docs/optimal.md)."""
    big = [Request(80, 2, 1, 2) for _ in range(4)]  # short outputs, huge prompts: area 80*2 + 3 = 163 each
    small = [Request(0, 6, 1, 6) for _ in range(4)]  # longer outputs, no prompt: area 21 each
    inst = Instance(100, tuple(big + small))
    by_output = total_latency(inst, priority_schedule(inst, "output"))
    by_area = total_latency(inst, priority_schedule(inst, "area"))
    assert by_output == simulate(inst, "hsf").total_latency
    assert by_area < by_output


# --- lower bounds against proved optima --------------------------------------------------------------------------
def check_bounds(inst: Instance, opt: int) -> dict[str, int]:
    upper = best_schedule(inst, 0.05).starts
    bounds = every_lower_bound(inst, upper)
    for name, value in bounds.items():
        assert value <= opt, (name, value, opt, inst)
    assert combinatorial_bound(inst).value == max(bounds[m] for m in ("trivial", "area", "mean-busy-time"))
    return bounds


def test_bounds_never_exceed_exhaustive_optimum() -> None:
    rng = random.Random(6)
    tight = 0
    for k in range(250):
        inst = tiny(rng, duplicates=k % 3 == 0, arrival_max=0 if k % 2 else 4)
        opt, _ = optimal.exhaustive(inst)
        bounds = check_bounds(inst, opt)
        tight += max(bounds.values()) == opt
    assert tight > 50  # the bounds are not vacuous: often they prove the optimum outright


def test_bounds_never_exceed_milp_optimum() -> None:
    rng = random.Random(7)
    proved = 0
    for _ in range(25):
        inst = tiny(rng, n_max=9, capacity_max=30, output_max=8, arrival_max=5)
        sol = optimal.solve(inst, time_limit=20, lagrangian=False)
        if sol.status != "optimal":
            continue
        proved += 1
        assert sol.total_latency is not None
        check_bounds(inst, sol.total_latency)
    assert proved >= 20


def test_column_generation_reaches_the_lp_optimum() -> None:
    """Converged column generation equals the LP relaxation solved directly (certified by its own duals)."""
    rng = random.Random(8)
    for _ in range(12):
        inst = tiny(rng, n_max=8, capacity_max=30, output_max=8, arrival_max=3)
        upper = best_schedule(inst, 0.05)
        if upper.total_latency == trivial_bound(inst):
            continue
        cg = column_generation(inst, upper.starts, 30.0, cliques=False)
        assert cg is not None and cg.converged
        model = exact_model(inst, request_classes(inst, False), start_slack(inst, upper.total_latency))
        lp = certified_lp_bound(LinearProgram.of(model), 30.0)
        constant = sum(r.output - r.arrival for r in inst.requests)
        assert lp is not None
        assert cg.value == math.ceil(lp + constant - 1e-6 * max(1.0, abs(lp))), (inst, cg, lp + constant)


def test_fluid_prices_give_at_least_the_mean_busy_time_bound() -> None:
    """docs/optimal.md: at the fluid relaxation's memory prices the Lagrangian bound is >= the mean-busy-time one
    (all arrivals at 0), so column generation starts from the combinatorial bound."""
    rng = random.Random(9)
    for _ in range(200):
        inst = tiny(rng, n_max=8, capacity_max=40, output_max=8, arrival_max=0)
        win = _windows(inst, best_schedule(inst, 0.0).starts)
        value = lagrangian(inst, win, fluid_prices(inst, win.rounds), [], [])[0]
        assert value >= mean_busy_time_bound(inst) - 1  # -1: the prices are rounded down to multiples of 2^-20


def test_concurrency_families_are_valid() -> None:
    rng = random.Random(10)
    for _ in range(200):
        inst = tiny(rng, n_max=8, capacity_max=40)
        for k, members in concurrency_families(inst):
            sizes = sorted(inst.requests[i].prompt + 1 for i in members)
            assert len(sizes) > k and sum(sizes[: k + 1]) > inst.capacity


# --- the bracket and solve ---------------------------------------------------------------------------------------
def test_bracket_on_six_identical_requests() -> None:
    from amin import load_instance

    inst = load_instance(SIX)
    b = bracket(inst, 5.0)
    assert b.upper.total_latency == 33 and b.lower.value <= 33
    check_schedule(inst, b.upper.starts)
    d = b.to_dict()
    assert list(d)[:6] == ["status", "total_latency", "lower_bound", "starts", "solver", "seconds"]
    assert d["status"] == ("optimal" if b.lower.value == 33 else "feasible")
    assert json.loads(json.dumps(d)) == d


def test_bracket_status_is_optimal_only_when_the_sides_meet() -> None:
    rng = random.Random(11)
    seen = set()
    for _ in range(40):
        inst = tiny(rng, n_max=7, capacity_max=20, output_max=6)
        b = bracket(inst, 1.0)
        opt, _ = optimal.exhaustive(inst)
        check_schedule(inst, b.upper.starts)
        assert b.lower.value <= opt <= b.upper.total_latency
        assert (b.status == "optimal") == (b.lower.value == b.upper.total_latency)
        seen.add(b.status)
    assert seen == {"optimal", "feasible"}


def test_solve_proves_by_bound_without_the_integer_program() -> None:
    """When a certified bound meets the best schedule, solve says optimal without running the integer program."""
    inst = Instance(10, tuple(Request(9, 1, 1, 1) for _ in range(3)))  # one at a time: 1 + 2 + 3
    sol = optimal.solve(inst)
    assert (sol.status, sol.total_latency, sol.lower_bound, sol.solver_status) == ("optimal", 6, 6, "bound")


def report_instance(name: str) -> Instance:
    """The report's seed-0 2,000-request instance of a trace (harness/report/cells.py: zero arrivals, M = 16492)."""
    from amin import predictors
    from amin.traces import load_trace

    trace = load_trace(name)
    if trace.predicted is not None:
        trace = predictors.predictor().holdout
    return trace.sample(2000, 0).to_instance(16492, "relative(0.5)", arrivals="zero", seed=0)[0]


@pytest.mark.parametrize("name", TRACES)
def test_real_instances_every_bound_below_every_schedule(name: str) -> None:
    inst = report_instance(name)
    clock = time.perf_counter()
    lower = combinatorial_bound(inst)
    assert time.perf_counter() - clock < 5.0  # the goal is < 1 s; generous here, the machine is shared
    schedules = list_schedules(inst)
    keys = priority_keys(inst, "area")
    schedules_starts = [s.starts for s in schedules]
    schedules_starts.append(backfill_schedule(inst, sorted(range(len(keys)), key=lambda i: keys[i])))
    for starts in schedules_starts:
        check_schedule(inst, starts)
        assert lower.value <= total_latency(inst, starts)
    for bound in (trivial_bound(inst), area_bound(inst), mean_busy_time_bound(inst)):
        assert bound <= min(map(lambda st: total_latency(inst, st), schedules_starts))
    by_rule = {s.method: s.total_latency for s in schedules}
    assert by_rule["list:area"] < by_rule["list:output"] == simulate(inst, "hsf").total_latency


# --- amin solve: time, memory, refusal ------------------------------------------------------------------------------
def write_instance(path: Path, n: int, output: int, capacity: int) -> Path:
    reqs = [{"prompt": 1, "output": output, "lower": 1, "upper": output} for _ in range(n)]
    path.write_text(json.dumps({"format": "amin-instance/1", "capacity": capacity, "requests": reqs}))
    return path


def run_cli(*args: str) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """`python -m amin` in a child; returns the process, its wall time and the child's own peak resident memory
    in bytes (reported by the child itself: RUSAGE_CHILDREN in this process would be the largest of every child
    the test session ever ran)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        rss = Path(d) / "maxrss"
        code = (
            "import atexit, resource, sys\n"
            "peak = lambda: str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
            f"atexit.register(lambda: open({str(rss)!r}, 'w').write(peak()))\n"
            "from amin.harness.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n"
        )
        clock = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600, check=False
        )
        wall = time.perf_counter() - clock
        peak = int(rss.read_text()) if rss.exists() else 0
    return done, wall, 1024 * peak


@pytest.mark.parametrize("output", [10**7, 10**8])
def test_solve_time_limit_and_memory_on_huge_outputs(tmp_path: Path, output: int) -> None:
    path = write_instance(tmp_path / "huge.json", 3, output, 2 * output)
    done, wall, peak = run_cli("solve", str(path), "--time-limit", "5", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "feasible" and out["lower_bound"] <= out["total_latency"]
    assert out["solver_status"].startswith("skipped: the time-indexed model would have")
    notes = [line for line in done.stderr.splitlines() if line.startswith("amin solve: note:")]
    assert len(notes) == 1 and "--bound-only" in notes[0]
    assert wall < 5 + 10  # the limit plus interpreter start-up and imports on a loaded 2-core machine
    assert peak < 1 << 30  # far below the 4 GB the per-round model used to take


def test_solve_refuses_a_too_large_model_in_one_line(tmp_path: Path) -> None:
    path = write_instance(tmp_path / "huge.json", 3, 10**7, 2 * 10**7)
    done, _, _ = run_cli("solve", str(path), "--time-limit", "5", "--if-too-large", "refuse", "--json")
    assert done.returncode == 2 and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("amin solve:")]
    assert len(lines) == 1 and "matrix entries" in lines[0] and "--bound-only" in lines[0]
    assert "Traceback" not in done.stderr


def test_bound_only_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(SIX), "--bound-only", "--time-limit", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_latency"] == 33 and out["lower_bound"] <= 33 and "bound-only" in out["solver"]
    assert set(out) >= {
        "status",
        "total_latency",
        "lower_bound",
        "starts",
        "solver",
        "seconds",
        "gap",
        "upper_method",
        "lower_bound_method",
        "lower_bounds",
    }
    assert main(["solve", str(SIX), "--bound-only", "--time-limit", "-1"]) == 2


@pytest.mark.deep
def test_bounds_never_exceed_exhaustive_optimum_deep() -> None:
    rng = random.Random(60)
    for k in range(3000):
        inst = tiny(rng, n_max=6, capacity_max=16, output_max=6, arrival_max=0 if k % 2 else 5, duplicates=k % 3 == 0)
        opt, _ = optimal.exhaustive(inst)
        check_bounds(inst, opt)


@pytest.mark.deep
def test_bounds_never_exceed_milp_optimum_deep() -> None:
    rng = random.Random(61)
    for _ in range(300):
        inst = tiny(rng, n_max=12, capacity_max=40, output_max=10, arrival_max=6, duplicates=True)
        sol = optimal.solve(inst, time_limit=30, lagrangian=False)
        if sol.status == "optimal":
            assert sol.total_latency is not None
            check_bounds(inst, sol.total_latency)


@pytest.mark.deep
@pytest.mark.parametrize("name", TRACES)
def test_real_instances_bracket_deep(name: str) -> None:
    inst = report_instance(name)
    b = bracket(inst, 60.0)
    check_schedule(inst, b.upper.starts)
    assert all(x.value <= b.upper.total_latency for x in b.bounds)
    assert b.upper.total_latency < simulate(inst, "hsf").total_latency
    assert np.isfinite(b.gap) and 0 <= b.gap < 0.5
