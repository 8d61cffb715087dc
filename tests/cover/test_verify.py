"""`amin verify` and the pytest plugin: broken policies are caught and replay, correct ones pass, and the policy under
test runs in a process of its own that cannot see the true lengths, patch the verifier, or crash it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import amin.check
import amin.harness.verify
from amin import SCHEDULERS, make_instance, simulate
from amin.harness.cli import main
from amin.harness.isolation import Limits, PolicyProcess
from amin.harness.verify import find_minimal, information_violation, judge_run, load_policy, replay, verify
from tests.fixtures import ROOT

CORRECT = f"{ROOT}/examples/reserved_fcfs.py:ReservedFCFS"
EAGER = f"{ROOT}/examples/broken_policy.py:EagerAdmission"
STRICT = f"{ROOT}/examples/broken_policy.py:StrictReserve"
FAST = ["--no-ratios", "--no-search"]


def by_name(report):
    return {p.name: p for p in report.properties}


def policy_file(tmp_path: Path, source: str, name: str = "policy.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def cli(capfd, *args: str) -> tuple[int, str, str]:
    """Run `amin verify ...` through the real entry point; capfd also catches what the policy's process writes."""
    code = main(["verify", *args])
    out, err = capfd.readouterr()
    return code, out, err


# Policies written only against the public protocol; each breaks it in one way.
HOSTILE = """
    import os, sys, time
    from amin import Scheduler
    from amin.schedulers import MemoryCheck

    class Fine(Scheduler):
        admits_after_eviction = False

        def initial_planned_length(self, request):
            return 1

        def admission(self, running, t, capacity, need):
            return MemoryCheck(need, capacity)

    class Raises(Fine):
        def admission(self, running, t, capacity, need):
            if t >= 1:
                raise ZeroDivisionError("boom")
            return super().admission(running, t, capacity, need)

    class SysExit(Fine):
        def admission(self, running, t, capacity, need):
            sys.exit(0)

    class OsExit(Fine):
        def admission(self, running, t, capacity, need):
            os._exit(0)

    class Hangs(Fine):
        def admission(self, running, t, capacity, need):
            while True:
                time.sleep(0.05)

    class Slow(Fine):
        def admission(self, running, t, capacity, need):
            time.sleep(0.04)
            return super().admission(running, t, capacity, need)

    class EvictsAStranger(Fine):
        def select_evictions(self, running, t, need, capacity):
            return [object()] if running else []

    class EvictsAWaitingJob(Fine):
        seen = []

        def admission_priority(self, job):
            self.seen.append(job)
            return (job.request.arrival, job.index)

        def select_evictions(self, running, t, need, capacity):
            ids = {j.index for j in running}
            return [j for j in self.seen if j.index not in ids][:1] if running else []

    class PlansZero(Fine):
        def initial_planned_length(self, request):
            return 0

    class PlansAString(Fine):
        def initial_planned_length(self, request):
            return "5"

    class AdmitsNonsense(Fine):
        def admission(self, running, t, capacity, need):
            return 42  # no try_add

    class Chatty(Fine):
        def admission(self, running, t, capacity, need):
            print("admitting at", t)  # the policy's prints must not corrupt --json
            return super().admission(running, t, capacity, need)

    class NotAScheduler:
        pass
"""


# --- the examples and the built-ins ----------------------------------------------------
def test_broken_admission_is_caught_and_its_counterexample_replays(tmp_path):
    report = verify(EAGER, examples=50, out=tmp_path, ratios=False, search=False)
    safety = by_name(report)["memory-safety"]
    assert report.failed and safety.passed is False
    assert "exceeds capacity" in safety.detail
    data = json.loads(Path(safety.counterexample).read_text())
    assert len(data["requests"]) <= 3  # shrunk to a tiny instance
    assert replay(EAGER, safety.counterexample) == safety.detail
    assert replay(CORRECT, safety.counterexample) is None  # the correct policy is safe on it


def test_livelocking_policy_fails_termination(tmp_path):
    report = verify(STRICT, examples=20, out=tmp_path, ratios=False, search=False)
    prog = by_name(report)["termination"]
    assert report.failed and prog.passed is False and "no termination" in prog.detail
    assert replay(STRICT, prog.counterexample) is not None


def test_correct_example_passes():
    report = verify(load_policy(CORRECT), examples=50, ratios=False, search=False)
    assert not report.failed
    assert all(p.passed for p in report.properties)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_builtin_schedulers_pass_through_the_same_path(name):
    report = verify(name, examples=30, ratios=False, search=False)
    assert not report.failed
    info = by_name(report)["no-hidden-information"]
    assert info.passed is (None if name == "hsf" else True)  # hsf declares itself clairvoyant


def test_isolated_runs_match_the_in_process_engine():
    # The stand-in changes where the policy runs, not what the round loop does.
    spec = importlib.util.spec_from_file_location("reserved_fcfs_example", ROOT / "examples" / "reserved_fcfs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    inst = make_instance(9, [{"prompt": 1, "output": 3, "lower": 1, "upper": 5, "arrival": k % 2} for k in range(6)])
    for target, policy in [("amin", "amin"), (CORRECT, module.ReservedFCFS), ("fcfs", "fcfs")]:
        with PolicyProcess(target) as proc:
            isolated = judge_run(proc, inst).result
        local = simulate(inst, policy, engine="reference", tie_break="index")
        assert isolated.records == local.records and isolated.eviction_log == local.eviction_log


def test_information_check_catches_a_policy_that_reads_true_outputs():
    # hsf plans with the true output: lengthening one output changes its decisions early.
    from hypothesis import strategies as st

    inst = make_instance(9, [{"prompt": 1, "output": 3, "lower": 1, "upper": 5}] * 3)
    with PolicyProcess("hsf") as hsf, PolicyProcess("amin") as amin_:
        assert information_violation(hsf, inst, 2, 4) is not None
        assert information_violation(amin_, inst, 2, 4) is None
        pairs = st.tuples(st.just(inst), st.integers(0, 2), st.integers(1, 5))
        assert find_minimal(pairs, lambda p: information_violation(hsf, *p), 50, 0) is not None


# --- the command line --------------------------------------------------------------------
def test_cli_verdict_exit_codes_and_json(tmp_path, capfd):
    code, out, _ = cli(capfd, EAGER, "--examples", "30", *FAST, "--out", str(tmp_path), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["failed"] and data["properties"][0]["verdict"] == "FAIL"
    code, out, _ = cli(capfd, CORRECT, "--examples", "30", *FAST, "--out", str(tmp_path))
    assert code == 0 and "verdict: pass" in out
    saved = data["properties"][0]["counterexample"]
    code, out, _ = cli(capfd, EAGER, "--replay", saved)
    assert code == 1 and "reproduces" in out


@pytest.mark.parametrize(("target", "fragment"), [(EAGER, "memory-safety"), (STRICT, "termination")])
def test_broken_examples_fail_the_whole_battery_with_a_replayable_counterexample(tmp_path, capfd, target, fragment):
    # The full battery, ratios and worst-ratio search included: these steps used to end in a traceback.
    code, out, err = cli(capfd, target, "--examples", "30", "--out", str(tmp_path))
    assert code == 1, out + err
    assert "Traceback" not in out + err and "verdict: FAIL" in out
    row = next(line for line in out.splitlines() if line.strip().startswith(fragment))
    assert " FAIL " in row
    saved = tmp_path / f"{target.rsplit(':', 1)[1]}-{fragment}.json"
    assert saved.is_file()
    code, out, err = cli(capfd, target, "--replay", str(saved))
    assert code == 1 and "reproduces" in out, out + err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("nomodule_xyz:Cls", "cannot import"),
        ("amin.engine:Missing", "has no attribute"),
        ("amin.engine:Simulation", "not a subclass"),
        ("justaword", "expected MODULE:CLASS"),
    ],
)
def test_cli_bad_policy_exits_2_with_one_line(capfd, target, fragment):
    code, out, err = cli(capfd, target)
    assert code == 2
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("source", "cls", "fragment"),
    [
        ("from amin import Scheduler\nclass P(Scheduler)\n    pass\n", "P", "syntax error in policy.py line 2"),
        ("import sys\nsys.exit(0)\n", "P", "called sys.exit(0)"),
        ("import os\nos._exit(0)\n", "P", "exited with status 0 while importing"),
        ("raise RuntimeError('no GPU here')\n", "P", "raised RuntimeError: no GPU here"),
        (HOSTILE, "Missing", "has no attribute 'Missing'"),
        (HOSTILE, "NotAScheduler", "not a subclass"),
        ("import time\nwhile True:\n    time.sleep(0.05)\n", "P", "did not finish within 0.5 s"),
    ],
    ids=["syntax-error", "sys-exit", "os-exit", "raises", "missing-class", "not-a-scheduler", "hangs"],
)
def test_unloadable_policy_module_exits_2_with_one_line(tmp_path, capfd, source, cls, fragment):
    path = policy_file(tmp_path, source)
    code, out, err = cli(capfd, f"{path}:{cls}", "--run-timeout", "0.5", "--out", str(tmp_path))
    assert code == 2, out + err
    assert err.count("\n") == 1 and fragment in err, err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("cls", "fragment"),
    [
        ("Raises", "the policy raised ZeroDivisionError in admission: boom (at round 1)"),
        ("SysExit", "the policy called sys.exit(0) in admission"),
        ("OsExit", "the policy's process exited with status 0 during admission"),
        ("EvictsAStranger", "select_evictions returned <object object> (object) among the evictees, not a Job"),
        ("EvictsAWaitingJob", "select_evictions returned job"),
        ("PlansZero", "initial_planned_length returned 0, a planned length below 1"),
        ("PlansAString", "initial_planned_length returned '5' (str), not an integer"),
        ("AdmitsNonsense", "raised AttributeError in try_add"),
    ],
)
def test_a_failing_policy_gets_a_verdict_and_a_replayable_counterexample(tmp_path, capfd, cls, fragment):
    path = policy_file(tmp_path, HOSTILE)
    code, out, err = cli(capfd, f"{path}:{cls}", "--examples", "20", *FAST, "--out", str(tmp_path), "--json")
    assert code == 1, out + err
    assert "Traceback" not in out + err
    safety = json.loads(out)["properties"][0]
    assert safety["name"] == "memory-safety" and safety["verdict"] == "FAIL"
    assert fragment in safety["detail"], safety["detail"]
    if cls == "EvictsAWaitingJob":
        assert "which is not running" in safety["detail"]
    code, out, err = cli(capfd, f"{path}:{cls}", "--replay", safety["counterexample"], "--json")
    assert code == 1 and json.loads(out)["violation"] == safety["detail"]


def test_the_policys_prints_go_to_stderr_and_json_stays_clean(tmp_path, capfd):
    path = policy_file(tmp_path, HOSTILE)
    code, out, err = cli(capfd, f"{path}:Chatty", "--examples", "10", *FAST, "--out", str(tmp_path), "--json")
    assert code == 0 and not json.loads(out)["failed"]
    assert "admitting at" in err and "admitting at" not in out


def test_a_hanging_policy_fails_termination_within_the_time_limits(tmp_path):
    # In a subprocess with a timeout: before isolation this policy hung the verifier itself.
    path = policy_file(tmp_path, HOSTILE)
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from amin.harness.cli import main; raise SystemExit(main(sys.argv[1:]))",
            "verify",
            f"{path}:Hangs",
            "--examples",
            "20",
            "--out",
            str(tmp_path),
            "--call-timeout",
            "0.2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    verdicts = {p["name"]: p for p in json.loads(proc.stdout)["properties"]}
    term = verdicts["termination"]
    assert term["verdict"] == "FAIL" and "within the per-call time limit of 0.2 s" in term["detail"]
    assert json.loads(Path(term["counterexample"]).read_text())["property"] == "termination"
    # Each hang costs a limit; after a few the policy is not run again, so the whole battery stays short.
    assert time.monotonic() - started < 60


def test_a_slow_policy_fails_the_per_run_limit(tmp_path):
    path = policy_file(tmp_path, HOSTILE)
    limits = Limits(call_seconds=2, run_seconds=0.3)
    report = verify(f"{path}:Slow", examples=10, out=tmp_path, ratios=False, search=False, limits=limits)
    term = by_name(report)["termination"]
    assert report.failed and term.passed is False and "per-run time limit of 0.3 s" in term.detail


# --- what the policy's process can and cannot reach ---------------------------------------
SNOOPER = """
    import gc, inspect, json
    from amin import Scheduler
    from amin.schedulers import MemoryCheck

    LOG = {log!r}

    def look(obj, found):
        kind = type(obj).__name__
        fields = getattr(type(obj), "__dataclass_fields__", {{}})  # no hasattr: some objects raise on any lookup
        state = getattr(obj, "__dict__", None)
        if kind == "Request" or ("output" in fields and "prompt" in fields):
            found["requests_with_output"] += 1
        if kind == "PublicRequest":
            found["public_requests"] += 1
        if kind in ("Simulation", "Instance", "Result") or (isinstance(state, dict) and "_outputs" in state):
            found["simulations"] += 1
        if isinstance(obj, (list, tuple)) and 0 < len(obj) <= 64 and all(type(x) is int for x in obj):
            found["int_sequences"].add(tuple(obj))

    def snoop():
        found = dict(requests_with_output=0, public_requests=0, simulations=0, int_sequences=set(), frames=0)
        for obj in gc.get_objects():
            look(obj, found)
        frame = inspect.currentframe()
        while frame is not None:  # every caller, and everything its locals hold
            found["frames"] += 1
            for value in list(frame.f_locals.values()):
                look(value, found)
                for item in (value if isinstance(value, (list, tuple, dict)) else ()):
                    look(item, found)
            frame = frame.f_back
        found["int_sequences"] = sorted(found["int_sequences"])
        with open(LOG, "a") as f:
            f.write(json.dumps(found) + "\\n")

    class Snooper(Scheduler):
        admits_after_eviction = False

        def initial_planned_length(self, request):
            snoop()
            return 1

        def admission(self, running, t, capacity, need):
            snoop()
            return MemoryCheck(need, capacity)
"""


def snooped(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_policy_searching_memory_and_frames_finds_no_true_length(tmp_path, capfd):
    log = tmp_path / "found.jsonl"
    path = policy_file(tmp_path, SNOOPER.format(log=str(log)), name="snooper.py")
    outputs = (17, 23, 29, 31, 37)
    inst = make_instance(64, [{"prompt": 1, "output": o, "lower": 1, "upper": 60} for o in outputs])

    # Control: in the verifier's own process the same search finds everything (so it can fail below).
    sys.path.insert(0, str(tmp_path))
    try:
        from snooper import Snooper
    finally:
        sys.path.remove(str(tmp_path))
    simulate(inst, Snooper, engine="reference")
    found = snooped(log)
    assert sum(r["requests_with_output"] for r in found) > 0 and sum(r["simulations"] for r in found) > 0
    assert any(tuple(s) == outputs for r in found for s in r["int_sequences"])

    log.unlink()
    with PolicyProcess(f"{path}:Snooper") as proc:
        assert judge_run(proc, inst).violation is None
    found = snooped(log)
    assert found and all(r["frames"] > 1 for r in found)
    assert sum(r["public_requests"] for r in found) > 0  # it does see what it may see
    assert sum(r["requests_with_output"] for r in found) == 0
    assert sum(r["simulations"] for r in found) == 0
    assert not any(tuple(s) == outputs for r in found for s in r["int_sequences"])

    # And through the whole command.
    log.unlink()
    code, out, err = cli(capfd, f"{path}:Snooper", "--examples", "10", *FAST, "--out", str(tmp_path))
    assert code == 0, out + err
    found = snooped(log)
    assert len(found) > 10
    assert sum(r["requests_with_output"] for r in found) == 0 and sum(r["simulations"] for r in found) == 0


PATCHER = """
    import amin.check, amin.harness.verify
    from amin import Scheduler

    # Replace every check the verifier could run on this policy.
    amin.harness.verify.safety_violation = lambda *a, **k: None
    amin.harness.verify.progress_violation = lambda *a, **k: None
    amin.harness.verify.judge_run = lambda *a, **k: None
    amin.check.check_result = lambda *a, **k: []

    class Eager:
        def __init__(self, need, capacity):
            self.need, self.capacity = need, capacity

        def try_add(self, job):
            if self.need + job.request.prompt > self.capacity:  # BUG: the first token is not counted
                return False
            self.need += job.request.prompt + 1
            return True

    class Patcher(Scheduler):
        def initial_planned_length(self, request):
            return 1

        def admission(self, running, t, capacity, need):
            return Eager(need, capacity)
"""


def test_a_policy_that_patches_the_verifier_at_import_still_fails(tmp_path, capfd):
    path = policy_file(tmp_path, PATCHER)
    checks = (amin.harness.verify.safety_violation, amin.harness.verify.judge_run, amin.check.check_result)
    code, out, err = cli(capfd, f"{path}:Patcher", "--examples", "30", *FAST, "--out", str(tmp_path), "--json")
    assert code == 1, out + err
    safety = json.loads(out)["properties"][0]
    assert safety["verdict"] == "FAIL" and "exceeds capacity" in safety["detail"]
    assert (amin.harness.verify.safety_violation, amin.harness.verify.judge_run, amin.check.check_result) == checks


# --- the pytest plugin ---------------------------------------------------------------------
def test_pytest_plugin_in_a_fresh_project(tmp_path):
    # A user's project: its own policy module and tests using the fixture the plugin registers.
    (tmp_path / "mypolicy.py").write_text((ROOT / "examples" / "broken_policy.py").read_text())
    (tmp_path / "test_mine.py").write_text(
        textwrap.dedent(
            """
            from mypolicy import EagerAdmission

            def test_amin_passes(amin_check_scheduler):
                amin_check_scheduler("amin", examples=10)

            def test_eager_fails(amin_check_scheduler):
                amin_check_scheduler(EagerAdmission, examples=10)

            def test_strict_fails_by_name(amin_check_scheduler):
                amin_check_scheduler("mypolicy:StrictReserve", examples=10)
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "2 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "memory-safety" in proc.stdout and "termination" in proc.stdout and "FAIL" in proc.stdout
