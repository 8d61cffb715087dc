"""Quality tier (in the spirit of Hypothesis's tests/quality/): the targeted search finds the known bad instances.

A search that finds nothing proves nothing. Each test gives the search a small
fixed budget and seed and checks, by an independent recomputation, that the
instance it returns has the property. If a budget turns out too small, raise it
or improve the strategy; never drop the test.
"""

from __future__ import annotations

import pytest

from amin import check_result, simulate
from amin.harness.search.ratio import fast_exhaustive_opt
from amin.harness.search.targeted import search


@pytest.mark.parametrize("seed", [0, 1])
def test_finds_hsf_worse_than_opt(seed: int) -> None:
    """Claim C12 is false: the search finds an instance where H-SF's latency exceeds the optimum's."""
    out = search("hsf", "opt", family="common", examples=100, seed=seed)
    assert out.instance is not None
    hsf = simulate(out.instance, "hsf", tie_break="index").total_latency
    opt, _ = fast_exhaustive_opt(out.instance)
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


# --- the scale-aware adversary (issue 12) -------------------------------------------------------------------
# The family seeds are switched off: the closed forms must not hand the search its answer. Each instance found is
# rebuilt from its record and re-simulated with the independent schedule checker.
def _unseeded(examples: int, cost: int) -> object:
    from dataclasses import replace

    from amin.harness.search.adversary import PROFILES

    return replace(
        PROFILES["quick"],
        name="quality",
        family_seeds=False,
        explore_examples=examples,
        local_cost=cost,
        scale_rounds=2,
    )


def _recheck(record: dict, scheduler: str, alpha_inverse: int) -> float:
    from amin.harness.search.adversary import shape_from_record

    shape = shape_from_record(record)
    inst = shape.instance()
    r0 = inst.requests[0]
    assert r0.upper == alpha_inverse * r0.lower  # alpha exactly
    assert all(
        r.arrival == 0
        and r.prompt == r0.prompt
        and (r.lower, r.upper) == (r0.lower, r0.upper)
        and r.lower <= r.output <= r.upper
        for r in inst.requests
    )
    run = simulate(inst, scheduler, tie_break="index")
    check_result(inst, run)
    return run.total_latency / simulate(inst, "hsf", tie_break="index").total_latency


@pytest.mark.parametrize("seed", [0, 1])
def test_adversary_finds_amin_above_3_at_alpha_sixteenth(seed: int) -> None:
    from amin.harness.search.adversary import search_alpha

    out = search_alpha("amin", 16, _unseeded(40, 100_000), seed)
    assert _recheck(out["worst"], "amin", 16) >= 3, f"seed {seed}: best {out['worst_value']}"


@pytest.mark.parametrize("seed", [0, 1])
def test_adversary_finds_amax_above_6_5_at_alpha_quarter(seed: int) -> None:
    from amin.harness.search.adversary import search_alpha

    out = search_alpha("amax", 4, _unseeded(40, 100_000), seed)
    assert _recheck(out["worst"], "amax", 4) >= 6.5, f"seed {seed}: best {out['worst_value']}"


@pytest.mark.deep
def test_adversary_deep_amin_at_alpha_64th() -> None:
    """Unseeded, a larger budget: amin/H-SF above the flat curve's whole range and above F1's n <= 300 best."""
    from amin.harness.search.adversary import search_alpha

    out = search_alpha("amin", 64, _unseeded(300, 3_000_000), 0)
    assert _recheck(out["worst"], "amin", 64) >= 8, f"best {out['worst_value']}"


@pytest.mark.deep
def test_adversary_deep_amax_at_alpha_64th() -> None:
    """Unseeded: amax/H-SF about twice the old adversary grid's 78.4 at alpha = 1/64."""
    from amin.harness.search.adversary import search_alpha

    out = search_alpha("amax", 64, _unseeded(300, 3_000_000), 0)
    assert _recheck(out["worst"], "amax", 64) >= 150, f"best {out['worst_value']}"
