"""Tests of amin.predictors: hand-computed intervals and statistics for each predictor, the binned edges,
relative(x) at small outputs, and the learned predictor's miss fraction on the real sharegpt-predicted data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amin.predictors import (
    DEFAULT_EDGES,
    binned,
    crude,
    interval_stats,
    parse_predictor,
    predictor,
    relative,
)
from amin.traces import Trace, load_trace


def pairs(lower: np.ndarray, upper: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(lower.tolist(), upper.tolist(), strict=True))


def test_interval_stats_hand_computed() -> None:
    s = interval_stats(np.array([1, 5, 10]), np.array([10, 5, 20]), np.array([3, 6, 10]))
    assert s["coverage"] == pytest.approx(2 / 3)
    assert s["mean_width"] == pytest.approx((10 + 1 + 11) / 3)
    assert s["mean_alpha"] == pytest.approx((0.1 + 1.0 + 0.5) / 3)
    with pytest.raises(ValueError, match="differ in length"):
        interval_stats(np.array([1]), np.array([1, 2]), np.array([1]))
    with pytest.raises(ValueError, match="at least one"):
        interval_stats(np.array([], dtype=int), np.array([], dtype=int), np.array([], dtype=int))


def test_crude_misses_outputs_above_1000() -> None:
    o = np.array([1, 500, 1000, 1001, 5000])
    p = crude()
    assert p.name == "crude"
    lo, up = p.intervals(o)
    assert pairs(lo, up) == [(1, 1000)] * 5
    s = interval_stats(lo, up, o)
    assert s == {"coverage": 0.6, "mean_width": 1000.0, "mean_alpha": 0.001}
    assert crude(10, 20).name == "crude(10,20)"
    with pytest.raises(ValueError):
        crude(0, 5)
    with pytest.raises(ValueError):
        crude(6, 5)


def test_binned_default_edges_and_bins() -> None:
    assert DEFAULT_EDGES == (1, 50, 100, 200, 500, 1000, 2000, 4000, 8000)
    o = np.array([1, 49, 50, 99, 100, 199, 200, 499, 500, 999, 1000, 1999, 2000, 3999, 4000, 7999])
    lo, up = binned().intervals(o)
    assert pairs(lo, up) == [
        (1, 49),
        (1, 49),
        (50, 99),
        (50, 99),
        (100, 199),
        (100, 199),
        (200, 499),
        (200, 499),
        (500, 999),
        (500, 999),
        (1000, 1999),
        (1000, 1999),
        (2000, 3999),
        (2000, 3999),
        (4000, 7999),
        (4000, 7999),
    ]
    assert interval_stats(lo, up, o)["coverage"] == 1.0


def test_binned_past_the_last_edge_keeps_doubling() -> None:
    o = np.array([8000, 15999, 16000, 31999, 32000, 8000 * 2**20 - 1, 8000 * 2**20])
    lo, up = binned().intervals(o)
    assert pairs(lo, up) == [
        (8000, 15999),
        (8000, 15999),
        (16000, 31999),
        (16000, 31999),
        (32000, 63999),
        (8000 * 2**19, 8000 * 2**20 - 1),
        (8000 * 2**20, 8000 * 2**21 - 1),
    ]
    p = binned((1, 10, 100))
    assert p.name == "binned(1,10,100)"
    assert pairs(*p.intervals(np.array([9, 10, 99, 100, 199, 200, 450]))) == [
        (1, 9),
        (10, 99),
        (10, 99),
        (100, 199),
        (100, 199),
        (200, 399),
        (400, 799),
    ]
    doubling = binned((1,)).intervals(np.array([1, 2, 3, 4, 7, 8]))
    assert pairs(*doubling) == [(1, 1), (2, 3), (2, 3), (4, 7), (4, 7), (8, 15)]


@pytest.mark.parametrize("edges", [(), (0, 10), (2, 10), (1, 10, 10), (1, 20, 10), (1, 2.5)])
def test_binned_rejects_bad_edges(edges: tuple) -> None:
    with pytest.raises(ValueError, match="edges"):
        binned(edges)


def test_relative_small_outputs_hand_computed() -> None:
    o = np.array([1, 2, 3, 4, 10, 100])
    # x = 0.3: [ceil(0.7 o), floor(1.3 o)]
    assert pairs(*relative(0.3).intervals(o)) == [(1, 1), (2, 2), (3, 3), (3, 5), (7, 13), (70, 130)]
    # x = 0.5: o = 1 gives ceil(0.5) = 1, floor(1.5) = 1
    assert pairs(*relative(0.5).intervals(o)) == [(1, 1), (1, 3), (2, 4), (2, 6), (5, 15), (50, 150)]
    assert pairs(*relative(0).intervals(o)) == [(v, v) for v in o.tolist()]
    # Exact arithmetic where floats fail: (1 - 0.7) * 10 = 3.0000000000000004, (1 + 0.4) * 45 = 62.99999999999999.
    assert pairs(*relative(0.7).intervals(np.array([10]))) == [(3, 17)]
    assert pairs(*relative(0.4).intervals(np.array([45]))) == [(27, 63)]
    # x >= 1: the lower end is clamped to 1
    assert pairs(*relative(1).intervals(o)) == [(1, 2), (1, 4), (1, 6), (1, 8), (1, 20), (1, 200)]
    assert pairs(*relative(2.5).intervals(o)) == [(1, 3), (1, 7), (1, 10), (1, 14), (1, 35), (1, 350)]
    s = interval_stats(*relative(0.5).intervals(o), o)
    assert s["coverage"] == 1.0
    assert s["mean_width"] == pytest.approx((1 + 3 + 3 + 5 + 11 + 101) / 6)
    assert s["mean_alpha"] == pytest.approx((1 + 1 / 3 + 2 / 4 + 2 / 6 + 5 / 15 + 50 / 150) / 6)
    assert relative(0.3).name == "relative(0.3)"
    with pytest.raises(ValueError):
        relative(-0.1)
    with pytest.raises(ValueError):
        relative(float("nan"))


@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=30), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0, 3.0]))
def test_relative_and_binned_always_cover(outputs: list[int], x: float) -> None:
    o = np.array(outputs)
    for p in (relative(x), binned()):
        lo, up = p.intervals(o)
        assert (lo >= 1).all() and (lo <= o).all() and (o <= up).all()
        if x <= 1 and p.name.startswith("relative"):
            assert (up - o <= x * o + 1e-9).all() and (o - lo <= x * o + 1e-9).all()


def test_predictors_reject_bad_outputs() -> None:
    for p in (crude(), binned(), relative(0.5)):
        with pytest.raises(ValueError, match=">= 1"):
            p.intervals(np.array([3, 0]))
        with pytest.raises(ValueError, match="integers"):
            p.intervals(np.array([1.5]))


# --- the learned predictor ---------------------------------------------------------------


def toy_calibration() -> Trace:
    out = np.arange(1, 11) * 10  # ratios o / p = 1, 2, ..., 10 with p = 10
    return Trace("toy", np.zeros(10, dtype=int), out, np.zeros(10, dtype=int), np.full(10, 10), {}, "toy", "f" * 64)


def test_learned_predictor_hand_computed_quantiles() -> None:
    p = predictor(0.4, seed=0, calibration=toy_calibration())
    # The calibration half is 5 of the ratios 1..10; numpy's linear quantiles at 0.2 and 0.8.
    half = np.sort(p.holdout.rows)
    cal = np.setdiff1d(np.arange(10), half)
    ratios = (cal + 1).astype(float)
    assert p.calibration_size == 5 and len(p.holdout) == 5
    assert p.ratio_low == pytest.approx(np.quantile(ratios, 0.2))
    assert p.ratio_high == pytest.approx(np.quantile(ratios, 0.8))
    # A hand check of the interval formula with ratio quantiles of our choosing.
    q = type(p)(0.4, 0, 0.5, 2.0, 5, "0" * 64, np.array([], dtype=np.int64), p.holdout)
    lo, up = q.intervals(np.array([1, 5, 10, 30]), np.array([1, 3, 10, 12]))
    assert pairs(lo, up) == [(1, 2), (2, 6), (5, 20), (6, 24)]
    assert interval_stats(lo, up, np.array([1, 5, 10, 30]))["coverage"] == 0.75


def test_learned_predictor_keeps_a_ratio_on_the_quantile_inside() -> None:
    # 1.1 * 50 = 55.00000000000001 and 0.7 * 90 = 62.99999999999999 in floats; 55 and 63 must be covered.
    q = predictor(0.2, calibration=toy_calibration())
    q = type(q)(0.2, 0, 1.1, 1.15, 5, "0" * 64, np.array([], dtype=np.int64), q.holdout)
    lo, up = q.intervals(np.array([55]), np.array([50]))
    assert (int(lo[0]), int(up[0])) == (55, 57)
    q = type(q)(0.2, 0, 0.5, 0.7, 5, "0" * 64, np.array([], dtype=np.int64), q.holdout)
    lo, up = q.intervals(np.array([63]), np.array([90]))
    assert (int(lo[0]), int(up[0])) == (45, 63)


@pytest.mark.parametrize("miss", [0.1, 0.2, 0.4])
def test_learned_predictor_misses_the_stated_fraction_on_real_data(miss: float) -> None:
    p = predictor(miss, seed=0)
    h = p.holdout
    assert h.name == "sharegpt-predicted" and h.predicted is not None
    lo, up = p.intervals(h.output, h.predicted)
    assert (lo >= 1).all() and (lo <= up).all()
    missed = 1 - interval_stats(lo, up, h.output)["coverage"]
    # ~20,000 held-out requests: the sampling error of the miss fraction is about 0.003.
    assert abs(missed - miss) < 0.015
    # Misses fall on both sides, as the two quantiles intend.
    assert (h.output < lo).mean() > miss / 4 and (h.output > up).mean() > miss / 4


def test_learned_predictor_split_is_disjoint_and_seeded() -> None:
    full = load_trace("sharegpt-predicted")
    # p2 is calibrated afresh (the bundled default is cached): the same seed gives the same split.
    p, p2, p3 = predictor(0.2, seed=0), predictor(0.2, seed=0, calibration=full), predictor(0.2, seed=1)
    assert p2 is not p
    assert p.calibration_size + len(p.holdout) == len(full)
    assert np.intersect1d(p.calibration_rows, p.holdout.rows).size == 0
    assert np.array_equal(p.holdout.rows, p2.holdout.rows) and p.ratio_low == p2.ratio_low
    assert not np.array_equal(p.holdout.rows, p3.holdout.rows)
    assert p3.name == "predictor(0.2,seed=1)" and p.name == "predictor(0.2)"
    # Evaluating on calibration rows is refused; the holdout (or a sample of it) is fine.
    with pytest.raises(ValueError, match="were used to calibrate predictor"):
        full.sample(200, seed=4).to_instance(5000, p)
    inst, skipped = p.holdout.sample(200, seed=4).to_instance(5000, p)
    assert len(inst) + skipped["prompt+output>capacity"] == 200
    assert all(r.predicted is not None for r in inst.requests)
    # Other traces have no point predictions.
    with pytest.raises(ValueError, match="needs point predictions"):
        load_trace("azure-conv").sample(10, seed=0).to_instance(20000, p)


def test_learned_predictor_rejects_bad_parameters() -> None:
    for miss in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="miss"):
            predictor(miss)
    with pytest.raises(ValueError, match="no point predictions"):
        predictor(0.2, calibration=load_trace("azure-code"))


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "crude",
        "crude(1,500)",
        "binned",
        "binned(1,10,100)",
        "relative(0.3)",
        "relative(2)",
        "predictor(0.2)",
        "predictor(0.1,seed=3)",
    ],
)
def test_parse_predictor_round_trips_names(spec: str) -> None:
    p = parse_predictor(spec)
    assert p.name == spec
    assert parse_predictor(p.name).name == spec


def test_parse_predictor_defaults_and_spacing() -> None:
    assert parse_predictor("predictor").name == "predictor(0.2)"
    assert parse_predictor(" relative( 0.50 ) ").name == "relative(0.5)"
    assert parse_predictor("binned(1,50,100,200,500,1000,2000,4000,8000)").name == "binned"


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "oracle",
        "relative",
        "relative()",
        "relative(a)",
        "relative(0.1,0.2)",
        "crude(1,2,3)",
        "crude(5,1)",
        "binned(0,5)",
        "predictor(0.2,bins=3)",
        "predictor(seed=1,0.2)",
        "relative(inf)",
        "relative(0.3",
    ],
)
def test_parse_predictor_rejects_bad_names(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_predictor(spec)
