"""Tests of `amin report`: the quick grid end to end, resuming without recomputation, the Dask and process
backends against the serial one, cell determinism, the claim rules, and bad command-line input."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from amin import simulate
from amin.cli import main
from amin.report import cells as cells_module
from amin.report.analysis import EXACT_COLUMNS, SIM_COLUMNS, claim_c13, claim_c14, claim_c15, sim_rows
from amin.report.backends import run_cells
from amin.report.cells import instance_hash, run_cell
from amin.report.grid import PAPER_CAPACITY, PAPER_SAMPLE, Cell, GridSpec, build_grid
from amin.report.pipeline import generate
from amin.report.store import ResultStore
from amin.traces import load_trace

VERDICTS = {"proved", "exhaustive", "tested", "refuted", "open"}

# A grid of a few seconds: one trace, small samples, no bounds or exact cells unless asked.
TINY = GridSpec(
    traces=("azure-conv",),
    n=15,
    capacities=(4123,),
    arrivals=("zero", "trace"),
    predictors=("crude", "relative(0.5)"),
    schedulers=("hsf", "amin", "amax", "fcfs"),
    bound_capacities=(),
    exact_seeds=(),
)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _metrics(store: ResultStore, cells: list[Cell]) -> dict[str, dict]:
    return {c.key: store.get(c.key)["metrics"] for c in cells}


# --- end to end ------------------------------------------------------------------------------------
def test_quick_report_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "C13" in out and "ratios.md" in out
    for f in ("ratios.md", "results/cells.csv", "results/exact.csv", "results/cells.jsonl", "results/manifest.json",
              "evidence/report.json", "figures/relative.png", "figures/predictors.png", "figures/latency.png"):
        assert (tmp_path / f).is_file(), f

    rows = _read_csv(tmp_path / "results/cells.csv")
    assert list(rows[0]) == list(SIM_COLUMNS)
    assert all(r["status"] == "ok" for r in rows)
    assert {r["scheduler"] for r in rows} == {"hsf", "amin", "amax", "mcsf", "fcfs"}
    for r in rows:
        ratio = float(r["ratio_hsf"])
        assert ratio > 0
        if r["scheduler"] == "hsf":
            assert ratio == 1.0
        if r["lower_bound"]:
            # A certified lower bound is below every schedule's TEL, H-SF's included.
            assert float(r["lower_bound"]) <= int(r["total_latency"])
    # The trace's own arrivals exist only for traces that have arrival times.
    assert {r["arrivals"] for r in rows if r["trace"] == "azure-conv"} == {"zero", "trace"}
    assert {r["arrivals"] for r in rows if r["trace"] == "sharegpt-predicted"} == {"zero"}
    assert list(_read_csv(tmp_path / "results/exact.csv")[0]) == list(EXACT_COLUMNS)

    manifest = json.loads((tmp_path / "results/manifest.json").read_text())
    for key in ("generated", "command", "wall_seconds", "versions", "machine", "engine", "seeds", "capacities",
                "datasets", "grid", "cells"):
        assert key in manifest, key
    assert manifest["datasets"]["azure-conv"]["sha256"] == load_trace("azure-conv").sha256
    assert manifest["cells"]["total"] == manifest["cells"]["computed"] + manifest["cells"]["reused"]

    evidence = json.loads((tmp_path / "evidence/report.json").read_text())
    assert evidence["source"] == "report"
    assert {"generated", "versions", "command", "claims"} <= set(evidence)
    ids = [c["id"] for c in evidence["claims"]]
    assert {"C13", "C14", "C15"} <= set(ids)
    for c in evidence["claims"]:
        assert {"id", "verdict", "summary", "box", "examples", "worst_ratio", "evidence", "seeds", "seconds"} <= set(c)
        assert c["verdict"] in VERDICTS
        if c["id"] in ("C13", "C14", "C15"):
            assert c["verdict"] == "open"  # 40-request samples are not the paper's setting: no verdict
    assert "## Claims" in (tmp_path / "ratios.md").read_text()


# --- resume ------------------------------------------------------------------------------------------
class _Interrupt(KeyboardInterrupt):
    pass


def test_resume_recomputes_nothing_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = cells_module.run_cell
    calls: list[str] = []

    def counting(params: dict, stop_after: int | None = None) -> dict:
        if stop_after is not None and len(calls) == stop_after:
            raise _Interrupt
        calls.append(Cell.from_params(params).key)
        return real(params)

    total = len(build_grid(TINY))
    monkeypatch.setattr(cells_module, "run_cell", lambda p: counting(p, stop_after=4))
    with pytest.raises(_Interrupt):
        generate(TINY, tmp_path, progress=False)
    assert len(calls) == 4
    done = set(calls)
    # A torn last line (the write interrupted mid-way) is ignored, and that cell recomputed.
    with (tmp_path / "results/cells.jsonl").open("a") as f:
        f.write('{"key": "torn')

    calls.clear()
    monkeypatch.setattr(cells_module, "run_cell", counting)
    outcome = generate(TINY, tmp_path, progress=False)
    assert len(calls) == total - 4
    assert not done & set(calls)
    assert outcome.stats["sim"].reused == 4

    calls.clear()
    again = generate(TINY, tmp_path, progress=False)
    assert calls == []
    assert again.stats["sim"].computed == 0

    # The resumed results equal those of one uninterrupted run.
    fresh = tmp_path / "fresh"
    generate(TINY, fresh, progress=False)
    drop = ("seconds",)
    a = [{k: v for k, v in r.items() if k not in drop} for r in _read_csv(tmp_path / "results/cells.csv")]
    b = [{k: v for k, v in r.items() if k not in drop} for r in _read_csv(fresh / "results/cells.csv")]
    assert a == b



def test_cells_stored_by_other_code_are_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate(TINY, tmp_path, progress=False)
    total = len(build_grid(TINY))
    calls: list[str] = []
    real = cells_module.run_cell
    monkeypatch.setattr(cells_module, "run_cell", lambda p: (calls.append(Cell.from_params(p).key), real(p))[1])
    generate(TINY, tmp_path, progress=False)
    assert calls == []  # same code: everything reused
    monkeypatch.setattr(cells_module, "code_fingerprint", lambda: "edited-code")
    generate(TINY, tmp_path, progress=False)
    assert len(calls) == total  # the schedulers or the solver changed: nothing stale is reused

# --- backends --------------------------------------------------------------------------------------
def test_dask_backend_matches_serial(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    cells = build_grid(replace(TINY, arrivals=("zero",)))
    serial = ResultStore(tmp_path / "serial.jsonl")
    run_cells(cells, serial, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        viadask = ResultStore(tmp_path / "dask.jsonl")
        stats = run_cells(cells, viadask, dask=client, progress=False)
    assert stats.computed == len(cells) and stats.errors == 0
    assert _metrics(serial, cells) == _metrics(viadask, cells)
    assert ResultStore(tmp_path / "dask.jsonl").records.keys() == {c.key for c in cells}


def test_process_pool_matches_serial(tmp_path: Path) -> None:
    cells = build_grid(replace(TINY, arrivals=("zero",), predictors=("crude",)))
    serial = ResultStore(tmp_path / "serial.jsonl")
    run_cells(cells, serial, progress=False)
    pooled = ResultStore(tmp_path / "pool.jsonl")
    assert run_cells(cells, pooled, workers=2, progress=False).errors == 0
    assert _metrics(serial, cells) == _metrics(pooled, cells)


# --- cells -------------------------------------------------------------------------------------------
def test_cell_is_deterministic_from_its_seed() -> None:
    cell = Cell("sim", "azure-conv", 30, 3, 4123, "trace", "relative(0.5)", "amin")
    first, second = run_cell(cell.params()), run_cell(cell.params())
    assert first["status"] == "ok"
    assert first["metrics"] == second["metrics"] and first["key"] == second["key"]
    other = run_cell(replace(cell, seed=4).params())
    assert other["metrics"]["instance_hash"] != first["metrics"]["instance_hash"]


def test_sim_cell_measures_the_simulation_it_names() -> None:
    cell = Cell("sim", "sharegpt-predicted", 25, 1, 2000, "zero", "binned", "amax")
    rec = run_cell(cell.params())
    from amin.predictors import predictor

    # sharegpt-predicted is sampled from the learned predictor's holdout half, for every predictor.
    instance, skipped = predictor().holdout.sample(25, 1).to_instance(2000, "binned", arrivals="zero", seed=1)
    result = simulate(instance, "amax", tie_break="random", seed=1)
    m = rec["metrics"]
    assert m["instance_hash"] == instance_hash(instance)
    assert (m["total_latency"], m["makespan"], m["evictions"], m["peak_memory"]) == (
        result.total_latency, result.makespan, result.evictions, result.peak_memory)
    assert m["skipped"] == sum(skipped.values()) and m["requests"] == len(instance.requests)
    assert m["peak_memory"] <= 2000


def test_predictor_cells_only_where_the_trace_has_predictions() -> None:
    spec = replace(TINY, traces=("azure-conv", "sharegpt-predicted"), predictors=("crude", "predictor"),
                   schedulers=("amin", "mcsf"))
    cells = build_grid(spec)
    assert not [c for c in cells if c.trace == "azure-conv" and (c.predictor == "predictor" or c.scheduler == "mcsf")]
    assert [c for c in cells if c.trace == "sharegpt-predicted" and c.scheduler == "mcsf"]
    assert not [c for c in cells if c.trace == "sharegpt-predicted" and c.arrivals == "trace"]


def test_exact_cell_never_beats_a_proved_optimum() -> None:
    pytest.importorskip("optimal")
    cell = Cell("exact", "azure-code", 6, 0, 0, "zero", "relative(0.5)", time_limit=20.0, scale=4, concurrency=2.0)
    rec = run_cell(cell.params())
    if rec["status"] == "not-computed":
        pytest.skip(rec["metrics"]["reason"])
    m = rec["metrics"]
    assert m["opt"]["status"] in ("optimal", "feasible", "unknown")
    assert m["opt"]["lower_bound"] <= min(m["total_latency"].values())
    if m["opt"]["status"] == "optimal":
        assert all(v >= m["opt"]["total_latency"] for v in m["total_latency"].values())


# --- claim rules -----------------------------------------------------------------------------------
def _rows(values: dict[tuple[str, str], float]) -> list[dict]:
    out = []
    for (scheduler, predictor), ratio in values.items():
        out.append({"trace": "t", "capacity": PAPER_CAPACITY, "arrivals": "zero", "scheduler": scheduler,
                    "predictor": predictor, "ratio_hsf": ratio, "seconds": 1.0, "status": "ok"})
    return out


PAPER = GridSpec(traces=("t",), n=PAPER_SAMPLE, capacities=(PAPER_CAPACITY,),
                 predictors=("crude", "binned", "relative(0.1)", "relative(0.9)"))


def test_claim_rules() -> None:
    assert claim_c13(_rows({("amin", "crude"): 1.02, ("amax", "crude"): 2.1}), PAPER).verdict == "tested"
    assert claim_c13(_rows({("amin", "crude"): 1.3, ("amax", "crude"): 2.1}), PAPER).verdict == "refuted"
    assert claim_c13(_rows({("amin", "crude"): 1.0, ("amax", "crude"): 1.2}), PAPER).verdict == "refuted"
    assert claim_c13(_rows({("amin", "binned"): 1.0}), PAPER).verdict == "open"
    assert claim_c14(_rows({("amin", "binned"): 1.1, ("amax", "binned"): 1.4}), PAPER).verdict == "tested"
    assert claim_c14(_rows({("amin", "binned"): 1.3, ("amax", "binned"): 1.4}), PAPER).verdict == "refuted"
    assert claim_c14(_rows({("amin", "binned"): 1.0, ("amax", "binned"): 1.01}), PAPER).verdict == "open"
    good = {("amin", "relative(0.1)"): 1.0, ("amax", "relative(0.1)"): 1.1,
            ("amin", "relative(0.9)"): 1.2, ("amax", "relative(0.9)"): 4.0}
    assert claim_c15(_rows(good), PAPER).verdict == "tested"
    assert claim_c15(_rows({**good, ("amax", "relative(0.9)"): 1.5}), PAPER).verdict == "refuted"
    small = replace(PAPER, n=100)
    assert claim_c13(_rows({("amin", "crude"): 1.3, ("amax", "crude"): 2.1}), small).verdict == "open"


def test_ratios_join_only_identical_instances() -> None:
    base = Cell("sim", "t", 10, 0, 100, "zero", "crude", "hsf")
    recs = [
        {"key": "a", "params": base.params(), "status": "ok", "seconds": 0, "engine": "x",
         "metrics": {"instance_hash": "h", "total_latency": 100, "latency_quantiles": [0.0] * 21}},
        {"key": "b", "params": replace(base, scheduler="amin").params(), "status": "ok", "seconds": 0, "engine": "x",
         "metrics": {"instance_hash": "h", "total_latency": 150, "latency_quantiles": [0.0] * 21}},
        {"key": "c", "params": replace(base, scheduler="amax").params(), "status": "ok", "seconds": 0, "engine": "x",
         "metrics": {"instance_hash": "other", "total_latency": 150, "latency_quantiles": [0.0] * 21}},
    ]
    ratios = {r["key"]: r["ratio_hsf"] for r in sim_rows(recs)}
    assert ratios == {"a": 1.0, "b": 1.5, "c": None}


# --- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["--traces", "nope"],
    ["--capacities", "abc"],
    ["--capacities", "0"],
    ["--predictors", "relative(x)"],
    ["--workers", "0"],
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--quick", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


# --- pieces ------------------------------------------------------------------------------------------
def test_solver_cells_have_hard_limits() -> None:
    import time

    from amin.report.cells import CellFailed, GaveUp, run_limited

    assert run_limited(divmod, (17, 5), 60) == (3, 2)
    with pytest.raises(GaveUp, match="within"):
        run_limited(time.sleep, (30,), 1.0)
    with pytest.raises(GaveUp, match="memory"):
        run_limited(bytearray, (1 << 31,), 60, memory=1 << 29)
    # Any other failure is not a result: the cell is retried, never stored as done.
    with pytest.raises(CellFailed, match="ZeroDivisionError"):
        run_limited(divmod, (1, 0), 60)


def _noisy_answer(value: int) -> int:
    """Writes to file descriptor 1 from below Python (as HiGHS's C banner does), then answers."""
    import os

    os.write(1, b"Running a solver that prints a banner on stdout\n")
    print("and a Python print too")
    return value * 2


def test_solver_output_on_stdout_cannot_corrupt_the_answer() -> None:
    from amin.report.cells import run_limited

    assert run_limited(_noisy_answer, (21,), 60) == 42


def test_trace_arrivals_use_a_window_at_the_real_rate() -> None:
    from amin.report.cells import trace_window

    trace = load_trace("azure-conv")
    window = trace_window(trace, 500, 7)
    assert len(window) == 500 and window.arrival[0] == 0
    assert list(window.rows) == list(range(window.rows[0], window.rows[0] + 500))  # consecutive rows
    assert (window.arrival[1:] >= window.arrival[:-1]).all()
    # The window keeps the trace's rate (requests per round), within a factor 2; a random sample would not.
    rate = len(trace) / trace.arrival.max()
    assert rate / 2 < 500 / window.arrival.max() < rate * 2
    assert trace_window(trace, 500, 7).rows.tolist() == window.rows.tolist()


def test_tables_average_over_seeds() -> None:
    from amin.report.analysis import over_seeds

    rows = [{"trace": "t", "n": 5, "capacity": 9, "arrivals": "zero", "predictor": "crude", "scheduler": "amin",
             "status": "ok", "seed": s, "ratio_hsf": v, "total_latency": 10 * v, "lower_bound": 3.0, "ratio_lb": 2.0,
             "_quantiles": [0.0, v]} for s, v in ((0, 1.0), (1, 2.0), (2, 3.0))]
    rows.append(dict(rows[0], status="error", ratio_hsf=100.0))
    (agg,) = over_seeds(rows)
    assert agg["ratio_hsf"] == 2.0 and agg["total_latency"] == 20.0 and agg["seeds"] == 3
    assert agg["_quantiles"] == [0.0, 2.0] and agg["ratio_lb"] is None


# --- results store integrity -------------------------------------------------------------------------------
def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_hand_edited_or_garbage_line_is_ignored_and_recomputed(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    generate(TINY, tmp_path, progress=False)
    path = tmp_path / "results/cells.jsonl"
    lines = _lines(path)
    sims = [k for k, r in enumerate(lines) if r["params"]["kind"] == "sim" and r["status"] == "ok"]
    edited, garbage = lines[sims[0]], lines[sims[1]]
    true_latency = edited["metrics"]["total_latency"]
    edited["metrics"]["total_latency"] = true_latency * 10  # the checksum no longer matches
    garbage["metrics"]["total_latency"] = "garbage"
    from amin.report.store import checksum

    garbage["checksum"] = checksum(garbage)  # a matching checksum: the schema still refuses it
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))

    store = ResultStore(path)
    assert store.rejected == {"checksum mismatch": 1, "fails the results-line schema": 1}
    calls: list[str] = []
    real = cells_module.run_cell
    monkeypatch.setattr(cells_module, "run_cell", lambda p: calls.append(p["scheduler"]) or real(p))
    outcome = generate(TINY, tmp_path, progress=False)
    assert len(calls) == 2 and outcome.rejected == 2
    assert ResultStore(path).get(edited["key"])["metrics"]["total_latency"] == true_latency
    assert "2 stored result lines were ignored" in (tmp_path / "ratios.md").read_text()


def test_a_second_run_into_the_same_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from amin.report.store import StoreBusy, locked

    with locked(tmp_path / "results"):
        with pytest.raises(StoreBusy, match="another amin report is writing"):
            generate(TINY, tmp_path, progress=False)
        assert main(["report", "--quick", "--out", str(tmp_path), "--no-progress"]) == 2
        assert "another amin report is writing" in capsys.readouterr().err
    generate(TINY, tmp_path, progress=False)  # released: the next run goes ahead


def test_a_failed_solver_cell_is_named_retried_and_fails_the_run(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    spec = replace(TINY, arrivals=("zero",), predictors=("crude",), bound_capacities=(4123,), bound_time_limit=5.0)

    def broken(cell: Cell) -> dict:
        raise cells_module.CellFailed("the solver process left no answer (exit 0): no message")

    monkeypatch.setitem(cells_module.RUNNERS, "bound", broken)
    outcome = generate(spec, tmp_path, progress=False)
    assert [m["status"] for m in outcome.missing] == ["error"]
    assert "left no answer" in outcome.missing[0]["reason"]
    assert "1 cells have no result" in (tmp_path / "ratios.md").read_text()
    argv = ["report", "--quick", "--traces", "azure-conv", "--capacities", "4123", "--predictors", "crude",
            "--requests", "15", "--out", str(tmp_path / "cli"), "--no-progress"]
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "cells have no result" in err and "bound azure-conv" in err and "left no answer" in err
    # Not stored as done: the next run retries it (and succeeds with the real runner).
    monkeypatch.undo()
    again = generate(spec, tmp_path, progress=False)
    assert again.stats["bound"].computed == 1 and not again.missing
