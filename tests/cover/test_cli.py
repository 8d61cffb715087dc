"""The command line: the JSON contract of SPEC section 7, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from amin.harness.cli import main
from tests.fixtures import SIX_PATH as EXAMPLE


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_json_contract(capsys):
    code, out, err = run_cli(capsys, "simulate", str(EXAMPLE), "--scheduler", "hsf", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert list(data) == ["total_latency", "peak_memory", "evictions", "makespan", "records"]
    assert data["total_latency"] == 36 and data["makespan"] == 9 and data["evictions"] == 0
    assert data["records"][2] == {"index": 2, "start": 3, "completion": 6, "latency": 6, "evictions": 0}


def test_simulate_options_reach_the_scheduler(capsys):
    _, out, _ = run_cli(capsys, "simulate", str(EXAMPLE), "-s", "amin", "--tie-break", "index", "--json", "--detail")
    data = json.loads(out)
    assert data["evictions"] == 4
    assert data["options"] == {"tie_break": "index", "seed": 0, "eviction_key": "bound"}
    assert data["eviction_log"][0] == {"index": 0, "start": 0, "round": 1}


def test_simulate_human_table(capsys):
    code, out, _ = run_cli(capsys, "simulate", str(EXAMPLE), "-s", "amax")
    assert code == 0
    assert "total_latency" in out and "63" in out


def write(tmp_path, text):
    p = tmp_path / "inst.json"
    p.write_text(text)
    return str(p)


def inst_json(**fields):
    r = {"prompt": 1, "output": 3, "lower": 1, "upper": 5}
    r.update(fields)
    return json.dumps({"format": "amin-instance/1", "capacity": 9, "requests": [r]})


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read"),
        ("{oops", "invalid JSON"),
        (inst_json(output="3"), "field 'output' must be an integer"),
        (inst_json(lower=6), "exceeds field 'upper'"),
        (inst_json(output=0), "field 'output' must be >= 1"),
        (inst_json(prompt=8), "cannot fit alone"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, content, fragment):
    path = str(tmp_path / "missing.json") if content is None else write(tmp_path, content)
    code, out, err = run_cli(capsys, "simulate", path, "-s", "amin", "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and err.startswith("amin simulate: error:")


def test_unknown_scheduler_exits_2_with_one_line(capsys):
    assert main(["simulate", str(EXAMPLE), "--scheduler", "sjf"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'sjf'" in err


def test_console_entry_point_runs_without_traceback(tmp_path):
    bad = write(tmp_path, inst_json(lower=0))
    proc = subprocess.run([sys.executable, "-m", "amin", "simulate", bad, "-s", "amin"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_deeply_nested_json_is_one_line(tmp_path, capsys):
    path = write(tmp_path, "[" * 100000)
    code, out, err = run_cli(capsys, "simulate", path, "-s", "amin")
    assert code == 2 and err.count("\n") == 1 and "nested too deeply" in err


def test_an_instance_spanning_10_to_the_13_rounds_simulates_in_bounded_memory(tmp_path, capsys):
    # The memory series is kept as linear runs, so a late arrival costs nothing (it used to need one entry per round).
    path = write(
        tmp_path,
        json.dumps(
            {"capacity": 9, "requests": [{"prompt": 1, "output": 3, "lower": 1, "upper": 5, "arrival": 10**13}]}
        ),
    )
    for engine in ("fast", "reference"):
        code, out, err = run_cli(capsys, "simulate", path, "-s", "amin", "--engine", engine, "--json")
        assert code == 0 and err == ""
        assert json.loads(out)["records"][0]["completion"] == 10**13 + 3


def test_simulate_reads_a_csv_or_jsonl_trace_and_reports_skipped_rows(tmp_path, capsys):
    csv_path = tmp_path / "trace.csv"
    csv_path.write_text("t,in,out\n0.0,10,5\n0.1,,6\n0.2,30,0\n0.5,40,8\n0.6,500,8\n")
    argv = [
        "simulate",
        str(csv_path),
        "-s",
        "amin",
        "--capacity",
        "100",
        "--prompt-column",
        "in",
        "--output-column",
        "out",
        "--arrival-column",
        "t",
        "--round-seconds",
        "0.1",
        "--json",
    ]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0
    data = json.loads(out)  # stdout stays one JSON document; the notes go to stderr
    assert [r["start"] for r in data["records"]] == [0, 5]  # 0.5 s at 0.1 s per round
    assert "2 requests; skipped 3 rows" in err
    assert "missing: 1" in err and "output<1: 1" in err and "prompt+output>capacity: 1" in err
    jsonl = tmp_path / "trace.jsonl"
    jsonl.write_text('{"prompt": 1, "output": 3}\n{"prompt": 1, "output": 3}\n')
    code, out, err = run_cli(capsys, "simulate", str(jsonl), "-s", "hsf", "--capacity", "9", "--json")
    assert code == 0 and json.loads(out)["total_latency"] == 6 and err == ""


def test_a_command_imports_only_what_it_needs():
    # `amin simulate` must not pay for solvers, Z3, Hypothesis, plotting or the harness's schema library.
    code = (
        "import sys\n"
        "from amin.harness.cli import main\n"
        f"main(['simulate', {str(EXAMPLE)!r}, '-s', 'amin', '--json'])\n"
        "heavy = ('z3', 'hypothesis', 'cvxpy', 'scipy', 'matplotlib', 'jsonschema', 'tqdm', 'dask', 'highspy',\n"
        "         'optimal', 'proofs', 'amin.harness.search', 'amin.harness.report')\n"
        "print('HEAVY:' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY:"


def _subparsers(parser):
    import argparse

    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action


def test_every_command_is_listed_with_its_own_help_and_every_default_is_the_real_one():
    import argparse
    import re

    from amin.harness.cli import COMMANDS, build_parser

    full = _subparsers(build_parser())
    listed = {a.dest: a.help for a in full._choices_actions}
    assert listed == {name: text for name, (text, _) in COMMANDS.items()}
    for name, sub in full.choices.items():
        for action in sub._actions:
            text = action.help or ""
            m = re.search(r"default: ([^;)]+)", text % {"default": action.default} if "%(default)" in text else text)
            if m is None or action.default in (None, argparse.SUPPRESS) or isinstance(action.default, bool):
                continue
            shown, real = m.group(1).strip(), action.default
            if shown == "none":  # how the help says "nothing": an empty default
                assert not real, (name, action.dest, real)
            elif isinstance(real, (int, float)):
                assert float(shown) == float(real), (name, action.dest, shown, real)
            else:
                assert shown == str(real), (name, action.dest, shown, real)


def test_report_help_names_the_grid_defaults():
    from amin.harness.cli import build_parser
    from amin.harness.report.grid import DEFAULT, QUICK

    report = _subparsers(build_parser("report")).choices["report"]
    helps = {a.dest: a.help for a in report._actions}
    assert f"default: {','.join(map(str, DEFAULT.seeds))}; --quick: {','.join(map(str, QUICK.seeds))}" in helps["seeds"]
    assert f"default: {DEFAULT.n}; --quick: {QUICK.n}" in helps["requests"]
