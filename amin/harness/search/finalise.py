"""Measuring what the adversary found (issue 12): each worst shape's ratio to H-SF, checked by the independent
schedule checker, its random-tie seed statistics, and its OPT bracket. Runs inside the search workers, so that
the OPT bounds run in parallel."""

from __future__ import annotations

import math
from typing import Any

from amin import check_result, simulate
from amin.harness.search.adversary import PROFILES, search_alpha, seed_statistics, shape_from_record
from amin.harness.search.families import Shape

SCHEDULER = {"amin": ("amin", "index"), "amin-random": ("amin", "random"), "amax": ("amax", "index")}


# --- OPT -------------------------------------------------------------------------------------------------
def list_scheduling_regime(shape: Shape) -> bool:
    """True when any p = floor(M / (s + u)) requests fit at any size and no p + 1 fit even at one token each:
    then every schedule is list scheduling on p machines, and OPT = H-SF (SPT is optimal for P||sum C_j)."""
    p = shape.capacity // (shape.prompt + shape.upper)
    return p >= 1 and (p + 1) * (shape.prompt + 1) > shape.capacity


def opt_reference(shape: Shape, hsf: int, *, time_limit: float) -> dict[str, Any]:
    """The best available knowledge of OPT for a shape: exact (the list-scheduling theorem, or `optimal.solve`
    proved optimal on small instances), else a certified lower bound (`optimal.lower_bound` up to 3,000
    requests, the area bound beyond) and the best schedule known (H-SF or the solver's)."""
    if list_scheduling_regime(shape):
        return {
            "kind": "opt",
            "lower": hsf,
            "upper": hsf,
            "source": "theorem: list-scheduling regime, OPT = H-SF (docs/search.md)",
        }
    import optimal

    inst = shape.instance()
    if len(inst) <= 12:
        sol = optimal.solve(inst, time_limit=time_limit)
        if sol.status == "optimal" and sol.total_latency is not None:
            return {
                "kind": "opt",
                "lower": int(sol.total_latency),
                "upper": int(sol.total_latency),
                "source": "optimal.solve (proved optimal)",
            }
        lower = math.ceil(sol.lower_bound - 1e-9) if sol.lower_bound is not None else None
        upper = min(hsf, int(sol.total_latency)) if sol.total_latency is not None else hsf
        if lower is not None:
            return {"kind": "opt_lower_bound", "lower": lower, "upper": upper, "source": "optimal.solve (bounds)"}
    if len(inst) <= 3_000:
        b = optimal.lower_bound(inst, time_limit=time_limit)
        return {
            "kind": "opt_lower_bound",
            "lower": int(b.value),
            "upper": hsf,
            "source": f"optimal.lower_bound ({b.method})",
        }
    from optimal.combinatorial import area_bound

    return {"kind": "opt_lower_bound", "lower": int(area_bound(inst)), "upper": hsf, "source": "area bound"}


def measure(shape: Shape, target: str, final_seeds: int, opt_time_limit: float) -> dict[str, Any]:
    """The reported numbers for one shape: the target's ratio to H-SF (checked by the independent schedule
    checker), the seed statistics for random ties, and the OPT bracket."""
    inst = shape.instance()
    scheduler, ties = SCHEDULER[target]
    hsf = simulate(inst, "hsf", tie_break="index")
    run = simulate(inst, scheduler, tie_break=ties, seed=0)
    check_result(inst, run)
    check_result(inst, hsf)
    out: dict[str, Any] = {
        "total_latency": run.total_latency,
        "hsf": hsf.total_latency,
        "ratio": run.total_latency / hsf.total_latency,
        "evictions": run.evictions,
    }
    if ties == "random":
        out["seed_statistics"] = seed_statistics(shape, range(final_seeds))
    opt = opt_reference(shape, hsf.total_latency, time_limit=opt_time_limit)
    value = out["seed_statistics"]["mean"] if ties == "random" else out["ratio"]
    latency = value * hsf.total_latency
    out["opt"] = opt
    out["ratio_to_opt"] = [latency / opt["upper"], latency / opt["lower"]]  # [lower, upper] on target/OPT
    return out


def finalise_alpha(params: dict[str, Any]) -> dict[str, Any]:
    """Search, then measure the worst shape and the witness (in the worker, so OPT bounds run in parallel)."""
    profile = PROFILES[params["profile"]]
    res = search_alpha(params["target"], params["alpha_inverse"], profile, params["seed"])
    for which in ("worst", "witness"):
        if res[which] is not None:
            res[f"{which}_measure"] = measure(
                shape_from_record(res[which]), res["target"], profile.final_seeds, profile.opt_time_limit
            )
    return res
