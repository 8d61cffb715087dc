"""Tests for the claims ledger on small synthetic evidence: merge rule, `open` rows, outputs, bad files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from amin.harness.cli import main
from amin.harness.ledger import CLAIMS, VERDICTS, build, load_evidence, merge


def _write(d: Path, source: str, claims: list[dict[str, Any]], **top: Any) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    data = {
        "source": source,
        "generated": "2026-01-02",
        "versions": {"amin": "0.1.0"},
        "command": f"make {source}",
        "claims": claims,
        **top,
    }
    path = d / f"{source}.json"
    # Synthetic verdicts get the support the ledger requires unless a test gives its own.
    cx = d.parent / f"{d.name}-counterexample.txt"  # beside, not inside: every *.json in d is evidence
    cx.write_text("instance")
    for c in claims:
        if c["verdict"] == "refuted" and not c["evidence"]:
            c["evidence"] = [str(cx)]
    path.write_text(json.dumps(data))
    return path


def _claim(cid: str, verdict: str, **kw: Any) -> dict[str, Any]:
    base = {
        "id": cid,
        "verdict": verdict,
        "summary": f"{cid} {verdict}",
        "box": "synthetic box",
        "examples": 1,
        "worst_ratio": None,
        "evidence": [],
        "seeds": [],
        "seconds": 0.1,
    }
    return {**base, **kw}


def test_every_claim_of_the_spec_has_a_row_and_missing_ones_are_open(tmp_path: Path) -> None:
    _write(tmp_path / "ev", "a", [_claim("C1", "tested", examples=10)])
    rows = build(tmp_path / "ev", tmp_path / "out")
    assert [r.id for r in rows] == [f"C{k}" for k in range(1, 18)] == list(CLAIMS)
    by = {r.id: r for r in rows}
    assert by["C1"].verdict == "tested" and by["C1"].examples == 10
    for cid in CLAIMS:
        if cid != "C1":
            assert by[cid].verdict == "open" and "no evidence" in by[cid].summary


@pytest.mark.parametrize("weak,strong", [(w, s) for s, w in itertools.combinations(VERDICTS, 2)])
def test_merge_rule_strongest_verdict_wins(tmp_path: Path, weak: str, strong: str) -> None:
    # Order of the files must not matter: write the strong one first and last.
    for first, second in ((strong, weak), (weak, strong)):
        d = tmp_path / f"{first}-{second}"
        _write(d, "x1", [_claim("C7", first, worst_ratio=1.0)])
        _write(d, "x2", [_claim("C7", second, worst_ratio=2.0)])
        row = next(r for r in merge(load_evidence(d)) if r.id == "C7")
        assert row.verdict == strong
        assert any(o.endswith(f": {weak}") for o in row.others)


def _counterexample(tmp_path: Path, rel: str = "reports/corpus/c12.json") -> str:
    # Evidence paths resolve against the evidence directory's parent (the project root in real use).
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text("{}")
    return rel


def test_refuted_beats_proved_and_pools_evidence(tmp_path: Path) -> None:
    d = tmp_path / "ev"
    _counterexample(tmp_path)
    _counterexample(tmp_path, "reports/results/c12.csv")
    _write(d, "proofs", [_claim("C12", "proved", box="n <= 4")])
    _write(
        d,
        "search",
        [
            _claim("C12", "refuted", worst_ratio=1.09, evidence=["reports/corpus/c12.json"], seeds=[3]),
            _claim("C9", "tested", examples=100, worst_ratio=1.2),
        ],
    )
    _write(
        d,
        "report",
        [
            _claim("C12", "refuted", worst_ratio=1.5, evidence=["reports/results/c12.csv", "cmd two"], seeds=[1]),
            _claim("C9", "tested", examples=50, worst_ratio=1.3),
        ],
    )
    by = {r.id: r for r in merge(load_evidence(d))}
    c12 = by["C12"]
    assert c12.verdict == "refuted" and c12.worst_ratio == 1.5
    assert set(c12.evidence) == {"reports/corpus/c12.json", "reports/results/c12.csv", "cmd two"}
    assert c12.seeds == (1, 3)
    assert set(c12.sources) == {"search", "report"} and c12.others == ("proofs: proved",)
    assert by["C9"].examples == 150 and by["C9"].worst_ratio == 1.3


def test_outputs_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "ev"
    _counterexample(tmp_path)
    _write(d, "search", [_claim("C12", "refuted", worst_ratio=36 / 33, evidence=["reports/corpus/c12.json"])])
    out = tmp_path / "out"
    assert main(["claims", "--evidence", str(d), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed) == 17 and printed[11]["id"] == "C12" and printed[11]["verdict"] == "refuted"
    stored = json.loads((out / "claims.json").read_text())
    assert [c["verdict"] for c in stored["claims"]].count("open") == 16
    md = (out / "claims.md").read_text()
    assert "| C12 |" in md and "**refuted**" in md and "reports/corpus/c12.json" in md
    assert md.count("\n| C") == 17


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "invalid JSON at line 1"),
        (json.dumps({"source": "x"}), "missing field 'claims'"),
        (json.dumps({"claims": [{"id": "C99", "verdict": "tested", "summary": ""}]}), "field 'claims[0].id': must be"),
        (
            json.dumps({"claims": [{"id": "C1", "verdict": "maybe", "summary": ""}]}),
            "field 'claims[0].verdict': must be one of",
        ),
        (json.dumps({"claims": [{"id": "C1"}]}), "field 'claims[0]': missing field 'verdict'"),
        (json.dumps({"claims": [_claim("C1", "tested", worst_ratio=float("inf"))]}), "Infinity is not a number"),
        (json.dumps({"claims": [_claim("C1", "tested", examples=-1)]}), "field 'claims[0].examples'"),
        (
            json.dumps({"claims": [_claim("C2", "refuted", evidence=["../../../../etc/passwd"])]}),
            "lies outside the repository",
        ),
        (json.dumps({"claims": [_claim("C2", "refuted", evidence=["/etc/passwd"])]}), "lies outside the repository"),
        (json.dumps({"claims": [_claim("C2", "refuted", evidence=[])]}), "needs a counterexample or result file"),
        (json.dumps({"claims": [_claim("C2", "refuted", evidence=["reports/nowhere/cx.json"])]}), "does not exist"),
        (json.dumps({"claims": [_claim("C7", "proved", box=None)]}), "needs the box"),
        (json.dumps({"claims": [_claim("C7", "tested", box=None, examples=None)]}), "needs the number of examples"),
    ],
)
def test_bad_evidence_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    (tmp_path / "bad.json").write_text(content)
    assert main(["claims", "--evidence", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.json" in err and len(err.strip().splitlines()) == 1


def test_claims_works_from_any_directory_of_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    _write(repo / "reports" / "evidence", "a", [_claim("C1", "tested", examples=3)])
    deep = repo / "docs" / "sub"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert main(["claims"]) == 0
    assert (repo / "reports" / "claims.md").exists()
    monkeypatch.chdir(tmp_path)  # outside any repository: one line, exit 2
    assert main(["claims"]) == 2
    assert "no reports/evidence" in capsys.readouterr().err


def test_missing_evidence_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claims", "--evidence", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
