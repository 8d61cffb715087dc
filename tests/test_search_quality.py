"""Quality tier (in the spirit of Hypothesis's tests/quality/): the targeted search finds the known bad instances.

A search that finds nothing proves nothing. Each test gives the search a small
fixed budget and seed and checks, by an independent recomputation, that the
instance it returns has the property. If a budget turns out too small, raise it
or improve the strategy; never drop the test.
"""

from __future__ import annotations

import pytest

from amin import check_result, simulate
from amin.search.ratio import exhaustive_opt
from amin.search.targeted import search


@pytest.mark.parametrize("seed", [0, 1])
def test_finds_hsf_worse_than_opt(seed: int) -> None:
    """Claim C12 is false: the search finds an instance where H-SF's latency exceeds the optimum's."""
    out = search("hsf", "opt", family="common", examples=100, seed=seed)
    assert out.instance is not None
    hsf = simulate(out.instance, "hsf", tie_break="index").total_latency
    opt, _ = exhaustive_opt(out.instance)
    assert hsf > opt, f"seed {seed}: best ratio {out.value} after {out.examples} examples"
    assert out.value == pytest.approx(hsf / opt)


@pytest.mark.parametrize("seed", [0, 1])
def test_finds_amax_above_3_at_alpha_tenth(seed: int) -> None:
    out = search("amax", "hsf", alpha=0.1, examples=100, seed=seed)
    assert out.instance is not None
    r0 = out.instance.requests[0]
    assert r0.lower / r0.upper >= 0.1 - 1e-12 and r0.lower == -(-r0.upper // 10)
    amax = simulate(out.instance, "amax", tie_break="index").total_latency
    hsf = simulate(out.instance, "hsf", tie_break="index").total_latency
    assert amax / hsf > 3, f"seed {seed}: best ratio {out.value}"


@pytest.mark.parametrize("seed", [0, 1])
def test_finds_amin_evicting_one_request_twice(seed: int) -> None:
    out = search("amin", "hsf", family="heterogeneous", objective="evictions", examples=150, seed=seed)
    assert out.instance is not None
    result = simulate(out.instance, "amin", tie_break="index")
    check_result(out.instance, result)
    assert max(r.evictions for r in result.records) >= 2, f"seed {seed}: best {out.value}"
