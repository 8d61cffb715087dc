"""Tests for the scale-aware adversary (amin.harness.search: adversary, finalise, tasks, regime, scale): moves stay
in the theorems' setting, searches are deterministic, witnesses are minimal above their bar, and every saved
instance replays."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amin import check_result, simulate
from amin.harness.cli import main
from amin.harness.search import corpus
from amin.harness.search.adversary import (
    PROFILES,
    Evaluator,
    minimise_witness,
    mutate,
    run_length,
    search_alpha,
    seed_statistics,
    shape_from_record,
    shape_record,
)
from amin.harness.search.families import OrderFamily, Shape, StaggerFamily
from amin.harness.search.finalise import list_scheduling_regime
from amin.harness.search.regime import cell_geometry, renormalise, search_cell
from amin.harness.search.scale import splice
from amin.harness.search.tasks import map_tasks

ROOT = Path(__file__).resolve().parents[2]
ADVERSARY = ROOT / "reports" / "adversary"
TINY = replace(
    PROFILES["quick"],
    name="tiny",
    explore_examples=8,
    local_cost=20_000,
    local_restarts=1,
    scale_rounds=1,
    max_requests=600,
    unstructured_examples=5,
    witness_cost=10_000,
    final_seeds=3,
    opt_time_limit=2.0,
)


def _in_setting(shape: Shape) -> bool:
    inst = shape.instance()
    r0 = inst.requests[0]
    return (
        all(
            r.arrival == 0
            and r.prompt == r0.prompt
            and (r.lower, r.upper) == (r0.lower, r0.upper)
            and r.lower <= r.output <= r.upper
            for r in inst.requests
        )
        and inst.capacity >= r0.prompt + r0.upper
    )


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 30))
def test_moves_stay_in_the_setting(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    shape = Shape(1, 16, 5, 40, ((3, 16), (10, 1)))
    for _ in range(steps):
        nxt = mutate(shape, rng, 500, 64)
        if nxt is not None:
            assert nxt.valid() and _in_setting(nxt) and nxt.requests <= 500 and nxt.prompt <= 64
            assert nxt.upper == 16 * nxt.lower  # alpha is kept exactly, whatever the unit of length
            shape = nxt


def test_shape_round_trip_and_run_length() -> None:
    shape = Shape(2, 8, 3, 20, ((2, 8), (1, 2), (3, 5)))
    assert shape_from_record(json.loads(json.dumps(shape_record(shape)))) == shape
    assert run_length(shape.outputs()) == list(shape.blocks)
    assert shape.load == pytest.approx(6 * 11 / 20) and shape.parallelism == pytest.approx(20 / 11)


def test_evaluator_measures_and_caches() -> None:
    shape = StaggerFamily(16, 3, 10).shape()
    ev = Evaluator("amin")
    inst = shape.instance()
    expect = simulate(inst, "amin", tie_break="index").total_latency / simulate(inst, "hsf").total_latency
    assert ev(shape) == expect and ev(shape) == expect and ev.evaluations == 1
    rnd = Evaluator("amin-random", seeds=(0, 1, 2))
    runs = [simulate(inst, "amin", tie_break="random", seed=k).total_latency for k in (0, 1, 2)]
    assert rnd(shape) == pytest.approx(sum(runs) / 3 / simulate(inst, "hsf").total_latency)
    stats = seed_statistics(shape, range(5))
    assert stats["ci95"][0] <= stats["mean"] <= stats["ci95"][1] and stats["worst"] >= stats["mean"]


def test_search_is_deterministic_and_beats_its_bar() -> None:
    a = search_alpha("amin", 16, TINY, seed=3)
    b = search_alpha("amin", 16, TINY, seed=3)
    strip = ("effort",)
    assert {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}
    worst = shape_from_record(a["worst"])
    assert _in_setting(worst) and worst.alpha == 1 / 16
    assert a["witness"] is not None and a["witness_value"] > a["previous_record"]
    assert shape_from_record(a["witness"]).requests <= 300


def test_minimise_witness_keeps_above_the_bar_and_shrinks() -> None:
    shape = OrderFamily.two_point(1, 64, 8, 64).shape()
    ev = Evaluator("amin")
    bar = 2.897
    small = minimise_witness(shape, ev, bar, cost=2_000_000)
    assert ev(small) > bar and small.requests < shape.requests and small.requests <= 5


def test_regime_cells_keep_their_geometry() -> None:
    upper, prompt, capacity, n = cell_geometry(16, 0.5, 2.0, 16.0)
    assert (upper, prompt, capacity, n) == (16, 8, 48, 32)
    s = renormalise(Shape(1, 16, 0, 16, ((5, 16), (7, 1))), n, prompt, capacity)
    assert s is not None and (s.prompt, s.capacity, s.requests) == (prompt, capacity, n)
    cell = search_cell(
        {
            "target": "amax",
            "alpha_inverse": 8,
            "prompt_ratio": 0.0,
            "parallelism": 1.5,
            "load": 16.0,
            "cost": 100,
            "seed": 0,
        }
    )
    got = shape_from_record(cell["shape"])
    assert (got.prompt, got.capacity) == cell_geometry(8, 0.0, 1.5, 16.0)[1:3]
    assert got.requests == cell_geometry(8, 0.0, 1.5, 16.0)[3] and cell["value"] > 1


def test_map_tasks_in_process() -> None:
    tasks = [
        {
            "kind": "cell",
            "target": "amin",
            "alpha_inverse": 4,
            "prompt_ratio": 1.0,
            "parallelism": 1.0,
            "load": 2.0,
            "cost": 50,
            "seed": 0,
        }
    ]
    (result,) = list(map_tasks(tasks, workers=1))
    assert result["kind"] == "cell" and result["value"] >= 1


@pytest.mark.deep
def test_map_tasks_on_a_local_dask_cluster() -> None:
    tasks = [
        {
            "kind": "cell",
            "target": t,
            "alpha_inverse": 4,
            "prompt_ratio": 1.0,
            "parallelism": 1.0,
            "load": 2.0,
            "cost": 50,
            "seed": 0,
        }
        for t in ("amin", "amax")
    ]
    local = sorted(r["value"] for r in map_tasks(tasks, workers=1))
    dask = sorted(r["value"] for r in map_tasks(tasks, workers=2, dask="local"))
    assert local == dask


def test_list_scheduling_regime() -> None:
    assert list_scheduling_regime(OrderFamily.two_point(1, 8, 2, 3, machines=2).shape())
    assert not list_scheduling_regime(StaggerFamily(16, 2, 3).shape())


def test_splice_is_idempotent() -> None:
    text = "# Title\n\nintro\n\n## Old section\nbody\n"
    once = splice(text, "## New\nx")
    assert once.count("<!-- adversary:begin -->") == 1 and "## Old section" in once and "## New" in once
    assert splice(once, "## New\nx") == once
    assert "## Newer" in splice(once, "## Newer\ny") and "## New\nx" not in splice(once, "## Newer\ny")


def test_scale_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny run writes instances that `amin replay` reproduces, a summary, the curves section and evidence."""
    from amin.harness.search import adversary, scale

    monkeypatch.setitem(adversary.PROFILES, "quick", replace(TINY, name="quick"))
    summary = scale.run("quick", 0, alphas=(4,), targets=("amin", "amax"), regime=False, workers=1, dask=None)
    summary["command"] = "test"
    (tmp_path / "evidence").mkdir()
    shutil.copy(ROOT / "reports" / "evidence" / "search.json", tmp_path / "evidence" / "search.json")
    saved = scale.write_reports(summary, tmp_path)
    assert saved and main(["replay", str(tmp_path / "adversary")]) == 0
    text = (tmp_path / "curves.md").read_text()
    assert "## The adversary at scale" in text and "| 1/4 | amax |" in text
    evidence = json.loads((tmp_path / "evidence" / "search.json").read_text())
    items = {c["id"]: c for c in evidence["claims"]}
    assert items["C7"]["conditions"] and items["C8"]["conditions"]
    assert any(c["id"] == "C12" for c in evidence["claims"])  # the other claims are kept


# --- the committed instances replay ------------------------------------------------------------------------
WITNESSES = sorted(ADVERSARY.glob("*.json")) if ADVERSARY.is_dir() else []
LARGE = sorted(ADVERSARY.glob("*.json.gz")) if ADVERSARY.is_dir() else []


@pytest.mark.parametrize("path", WITNESSES, ids=[p.name for p in WITNESSES])
def test_witnesses_replay(path: Path) -> None:
    r = corpus.replay_file(path)
    assert r.ok, f"{path.name}: stored {r.stored}, replayed {r.value}"
    inst, meta = corpus.read_entry(path)
    # A witness beats the previous record: its ratio, or for random ties its mean over the reported seeds.
    value = meta["seed_statistics"]["mean"] if "seed_statistics" in meta else r.value
    assert len(inst) <= 300 and value > meta["previous_record"]
    shape = Shape(
        inst.requests[0].lower,
        inst.requests[0].upper,
        inst.requests[0].prompt,
        inst.capacity,
        tuple(run_length(x.output for x in inst.requests)),
    )
    assert _in_setting(shape) and shape.alpha == pytest.approx(meta["alpha"])


@pytest.mark.deep
@pytest.mark.parametrize("path", LARGE, ids=[p.name for p in LARGE])
def test_large_instances_replay(path: Path) -> None:
    r = corpus.replay_file(path)
    assert r.ok, f"{path.name}: stored {r.stored}, replayed {r.value}"
    inst, meta = corpus.read_entry(path)
    result = simulate(inst, meta["scheduler"], **meta["options"])
    check_result(inst, result)
    if "seed_statistics" in meta:
        hsf = simulate(inst, "hsf").total_latency
        k = meta["seed_statistics"]["seeds"]
        mean = sum(simulate(inst, "amin", tie_break="random", seed=s).total_latency for s in range(k)) / k / hsf
        assert mean == pytest.approx(meta["seed_statistics"]["mean"])


def test_resume_reuses_finished_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from amin.harness.search import adversary, scale, tasks

    monkeypatch.setitem(adversary.PROFILES, "quick", replace(TINY, name="quick"))
    first = scale.run("quick", 0, alphas=(2,), targets=("amax",), regime=False, workers=1, dask=None, cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1

    def boom(params: dict) -> dict:
        raise AssertionError("a finished task ran again")

    monkeypatch.setattr(tasks, "run_task", boom)
    again = scale.run("quick", 0, alphas=(2,), targets=("amax",), regime=False, workers=1, dask=None, cache=tmp_path)
    assert again["alpha"][0]["worst"] == first["alpha"][0]["worst"]
