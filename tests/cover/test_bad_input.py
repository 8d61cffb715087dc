"""Every command, on every class of bad input, exits 2 with one line naming the file, field and problem.

One table (`CASES`) holds the rows: the files to write, the command line, and a fragment the one line must
contain. Resource cases run in a child process with a hard address-space limit, so a command that would
read or allocate without bound fails the test instead of the machine.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from amin.harness.cli import main
from tests.fixtures import SIX_PATH as SIX


def _request(**kw: Any) -> dict[str, Any]:
    return {"prompt": 1, "output": 3, "lower": 1, "upper": 5, **kw}


def _instance(capacity: Any = 9, requests: Any = None, **top: Any) -> str:
    return json.dumps({"capacity": capacity, "requests": [_request()] if requests is None else requests, **top})


def _corpus(**search: Any) -> str:
    meta = {"scheduler": "amin", "versus": "hsf", "objective": "ratio", "value": 1.0, "options": {}, **search}
    return json.dumps({"capacity": 9, "requests": [_request()] * 3, "search": meta})


def _evidence(**claim: Any) -> str:
    return json.dumps(
        {"source": "x", "claims": [{"id": "C1", "verdict": "tested", "summary": "s", "examples": 1, **claim}]}
    )


# name: (files {relative path: content}, argv with {tmp} for the directory, fragment of the one line)
CASES: dict[str, tuple[dict[str, str], list[str], str]] = {
    # instances
    "missing file": ({}, ["simulate", "{tmp}/none.json", "-s", "amin"], "none.json"),
    "not JSON": ({"i.json": "{"}, ["simulate", "{tmp}/i.json", "-s", "amin"], "invalid JSON at line 1"),
    "NaN field": (
        {"i.json": '{"capacity": NaN, "requests": []}'},
        ["simulate", "{tmp}/i.json", "-s", "hsf"],
        "NaN is not a number JSON allows",
    ),
    "1e999": (
        {"i.json": '{"capacity": 1e999, "requests": []}'},
        ["simulate", "{tmp}/i.json", "-s", "hsf"],
        "1e999 is too large",
    ),
    "prompt 2^63": (
        {"i.json": _instance(10**20, [_request(prompt=2**63)])},
        ["simulate", "{tmp}/i.json", "-s", "amin"],
        "capacity 100000000000000000000 exceeds 2^53 - 1",
    ),
    "output beyond 2^53": (
        {"i.json": _instance(2**53 - 1, [_request(output=2**60)])},
        ["simulate", "{tmp}/i.json", "-s", "amin"],
        "field 'output' is 1152921504606846976",
    ),
    "not gzip": ({"i.json.gz": "plain"}, ["simulate", "{tmp}/i.json.gz", "-s", "amin"], "not a gzip file"),
    "unknown request field": (
        {"i.json": _instance(9, [_request(colour=1)])},
        ["solve", "{tmp}/i.json"],
        "unknown field 'colour'",
    ),
    "solve trace without capacity": (
        {"t.csv": "prompt,output\n1,2\n"},
        ["solve", "{tmp}/t.csv"],
        "needs --capacity",
    ),
    # traces
    "trace without capacity": (
        {"t.csv": "prompt,output\n1,2\n"},
        ["simulate", "{tmp}/t.csv", "-s", "amin"],
        "needs --capacity",
    ),
    "trace missing column": (
        {"t.csv": "p,o\n1,2\n"},
        ["simulate", "{tmp}/t.csv", "-s", "amin", "--capacity", "9"],
        "no column 'prompt'",
    ),
    "stray quote": (
        {"t.csv": 'prompt,output\n1,2\n"3,4\n5,6\n'},
        ["simulate", "{tmp}/t.csv", "-s", "amin", "--capacity", "99"],
        "line 3: a quoted field",
    ),
    "trace options on an instance": (
        {},
        ["simulate", str(SIX), "-s", "amin", "--capacity", "9"],
        "--capacity applies to trace files",
    ),
    # corpus records (amin replay)
    "corpus Infinity": ({"c/r.json": _corpus(value=float("inf"))}, ["replay", "{tmp}/c"], "Infinity"),
    "corpus bogus versus": (
        {"c/r.json": _corpus(versus="bogus")},
        ["replay", "{tmp}/c"],
        "field 'search.versus': must be one of",
    ),
    "corpus option max_rounds": (
        {"c/r.json": _corpus(options={"max_rounds": 1})},
        ["replay", "{tmp}/c"],
        "unknown field 'max_rounds'",
    ),
    "corpus option observer": (
        {"c/r.json": _corpus(options={"observer": "x"})},
        ["replay", "{tmp}/c"],
        "unknown field 'observer'",
    ),
    "corpus option engine": (
        {"c/r.json": _corpus(options={"engine": "reference"})},
        ["replay", "{tmp}/c"],
        "unknown field 'engine'",
    ),
    "corpus without search": ({"c/r.json": _instance()}, ["replay", "{tmp}/c"], "missing field 'search'"),
    "corpus bad instance": (
        {"c/r.json": json.dumps({**json.loads(_corpus()), "capacity": 2})},
        ["replay", "{tmp}/c"],
        "cannot fit alone",
    ),
    # evidence files (amin claims)
    "evidence outside the repository": (
        {"reports/evidence/e.json": _evidence(verdict="refuted", evidence=["../../../../etc/passwd"])},
        ["claims", "--evidence", "{tmp}/reports/evidence"],
        "lies outside the repository",
    ),
    "evidence NaN": (
        {"reports/evidence/e.json": _evidence(worst_ratio=float("nan"))},
        ["claims", "--evidence", "{tmp}/reports/evidence"],
        "NaN",
    ),
    "evidence unknown verdict": (
        {"reports/evidence/e.json": _evidence(verdict="maybe")},
        ["claims", "--evidence", "{tmp}/reports/evidence"],
        "must be one of",
    ),
    # report options and outputs
    "report empty trace list": ({}, ["report", "--quick", "--traces", "", "--out", "{tmp}/r"], "expected a comma"),
    "report out is a file": ({"f": "x"}, ["report", "--quick", "--out", "{tmp}/f", "--no-progress"], "f"),
    "report unreachable dask": (
        {},
        ["report", "--quick", "--dask", "no-port-here", "--out", "{tmp}/r", "--no-progress"],
        "cannot reach the Dask scheduler",
    ),
    # prove options
    "prove timeout inf": ({}, ["prove", "--timeout", "inf"], "finite number of seconds"),
    "prove negative arrival": ({}, ["prove", "--max-arrival", "-1"], "must be >= 0"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_and_exit_2(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files, argv, fragment = CASES[name]
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content)
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert fragment in lines[0], lines[0]


@pytest.mark.skipif(importlib.util.find_spec("pyscipopt") is not None, reason="pyscipopt is installed")
def test_scip_without_pyscipopt_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "i.json").write_text(_instance(9, [_request()]))
    assert main(["solve", str(tmp_path / "i.json"), "--solver", "scip", "--json"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs the pyscipopt package" in lines[0], lines


# --- resources: a hard address-space limit in a child process -----------------------------------------------
LIMIT = 1 << 30


def _limited(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))
        from amin.harness.cli import main
        sys.exit(main({argv!r}))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False)


def test_reading_dev_zero_stops_at_the_size_limit() -> None:
    done = _limited(["simulate", "/dev/zero", "-s", "amin"])
    assert done.returncode == 2 and "larger than" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_a_late_arrival_and_a_long_output_cost_events_not_rounds(engine: str, tmp_path: Path) -> None:
    # 190 million idle rounds, then a request; and one request producing 2 million tokens beside it.
    path = tmp_path / "i.json"
    path.write_text(_instance(10**12, [_request(arrival=190_000_000), _request(output=2_000_000, upper=9)]))
    done = _limited(
        ["simulate", str(path), "-s", "amin", "--engine", engine, "--json", "--detail"]
        if engine == "fast"
        else ["simulate", str(path), "-s", "amin", "--engine", engine, "--json"],
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)["records"]
    assert records[0]["completion"] == 190_000_003 and records[1]["completion"] == 2_000_000


def test_the_fast_engine_keeps_a_long_run_in_a_few_pieces(tmp_path: Path) -> None:
    path = tmp_path / "i.json"
    path.write_text(_instance(10**15, [_request(output=10**9, upper=10**9)]))
    done = _limited(["simulate", str(path), "-s", "amin", "--json"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_latency"] == 10**9
