"""`amin verify` and the pytest plugin: broken policies are caught and replay, correct ones pass."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from amin import SCHEDULERS, make_instance
from amin.cli import main
from amin.verify import find_minimal, information_violation, load_policy, replay, verify

ROOT = Path(__file__).resolve().parent.parent
CORRECT = f"{ROOT}/examples/reserved_fcfs.py:ReservedFCFS"
EAGER = f"{ROOT}/examples/broken_policy.py:EagerAdmission"
STRICT = f"{ROOT}/examples/broken_policy.py:StrictReserve"


def by_name(report):
    return {p.name: p for p in report.properties}


def test_broken_admission_is_caught_and_its_counterexample_replays(tmp_path):
    policy = load_policy(EAGER)
    report = verify(policy, examples=50, out=tmp_path, ratios=False, search=False)
    safety = by_name(report)["memory-safety"]
    assert report.failed and safety.passed is False
    assert "exceeds capacity" in safety.detail
    data = json.loads(Path(safety.counterexample).read_text())
    assert len(data["requests"]) <= 3  # shrunk to a tiny instance
    assert replay(policy, safety.counterexample) == safety.detail
    assert replay(load_policy(CORRECT), safety.counterexample) is None  # the correct policy is safe on it


def test_livelocking_policy_fails_termination(tmp_path):
    report = verify(load_policy(STRICT), examples=50, out=tmp_path, ratios=False, search=False)
    prog = by_name(report)["termination"]
    assert report.failed and prog.passed is False and "no termination" in prog.detail
    assert replay(load_policy(STRICT), prog.counterexample) is not None


def test_correct_example_passes():
    report = verify(load_policy(CORRECT), examples=50, ratios=False, search=False)
    assert not report.failed
    assert all(p.passed for p in report.properties)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_builtin_schedulers_pass_through_the_same_path(name):
    report = verify(load_policy(name), examples=30, ratios=False, search=False)
    assert not report.failed
    info = by_name(report)["no-hidden-information"]
    assert info.passed is (None if name == "hsf" else True)  # hsf declares itself clairvoyant


def test_information_check_catches_a_policy_that_reads_true_outputs():
    # hsf plans with the true output: lengthening one output changes its decisions early.
    from hypothesis import strategies as st

    inst = make_instance(9, [{"prompt": 1, "output": 3, "lower": 1, "upper": 5}] * 3)
    assert information_violation(SCHEDULERS["hsf"], inst, 2, 4) is not None
    assert information_violation(SCHEDULERS["amin"], inst, 2, 4) is None
    pairs = st.tuples(st.just(inst), st.integers(0, 2), st.integers(1, 5))
    assert find_minimal(pairs, lambda p: information_violation(SCHEDULERS["hsf"], *p), 50, 0) is not None


def test_cli_verdict_exit_codes_and_json(tmp_path, capsys):
    assert (
        main(["verify", EAGER, "--examples", "30", "--no-ratios", "--no-search", "--out", str(tmp_path), "--json"]) == 1
    )
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] and data["properties"][0]["verdict"] == "FAIL"
    assert main(["verify", CORRECT, "--examples", "30", "--no-ratios", "--no-search", "--out", str(tmp_path)]) == 0
    assert "verdict: pass" in capsys.readouterr().out
    saved = data["properties"][0]["counterexample"]
    assert main(["verify", EAGER, "--replay", saved]) == 1
    assert "reproduces" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("nomodule_xyz:Cls", "cannot import"),
        ("amin.engine:Missing", "has no attribute"),
        ("amin.engine:Simulation", "not a subclass"),
        ("justaword", "expected MODULE:CLASS"),
    ],
)
def test_cli_bad_policy_exits_2_with_one_line(capsys, target, fragment):
    assert main(["verify", target]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


def test_pytest_plugin_in_a_fresh_project(tmp_path):
    # A user's project: its own policy module and one test using the fixture the plugin registers.
    (tmp_path / "mypolicy.py").write_text((ROOT / "examples" / "broken_policy.py").read_text())
    (tmp_path / "test_mine.py").write_text(
        textwrap.dedent(
            """
            from mypolicy import EagerAdmission, StrictReserve
            from amin import SCHEDULERS

            def test_amin_passes(amin_check_scheduler):
                amin_check_scheduler(SCHEDULERS["amin"], examples=20)

            def test_eager_fails(amin_check_scheduler):
                amin_check_scheduler(EagerAdmission, examples=20)
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
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "memory-safety" in proc.stdout and "FAIL" in proc.stdout
