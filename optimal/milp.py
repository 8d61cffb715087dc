"""The exact hindsight optimum: the SPEC section 4 integer program through cvxpy, solved by HiGHS (or SCIP).

Status discipline: "optimal" only when the solver proved it and its dual bound
rounds up to the schedule's total latency; otherwise "feasible" (a checked
schedule and a proved lower bound) or "unknown". Every returned schedule passes
`amin.check.check_schedule`.
"""

from __future__ import annotations

import importlib.metadata
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from amin import Instance, check_schedule, load_instance

from .bounds import LinearProgram, area_bound, certified_lp_bound, lower_bound
from .model import (
    TimeIndexedModel,
    best_known_schedule,
    canonical_starts,
    counts_from_starts,
    exact_model,
    latest_starts,
    lp_guided_schedule,
    request_classes,
    start_slack,
    starts_from_counts,
    total_latency,
)

SOLVERS = ("highs", "scip")
MAX_ENTRIES = 20_000_000  # memory-matrix nonzeros above which the integer program is not even built
FORMULATIONS = ("auto", "naive", "aggregated")


@dataclass(frozen=True)
class Solution:
    """The outcome of `solve`; `to_dict()` gives the SPEC section 7 keys first, then extras."""

    status: str  # "optimal" | "feasible" | "unknown"
    total_latency: int | None
    lower_bound: int
    starts: tuple[int, ...] | None
    solver: str
    formulation: str
    gap: float | None  # (total_latency - lower_bound) / total_latency
    seconds: float
    columns: int = 0
    slack: int | None = None  # every start lies in [a_i, a_i + slack]
    warm_start: str | None = None  # where the warm-start schedule came from
    solver_status: str = ""
    lower_bound_method: str = ""  # which certified bound gave lower_bound: highs | scip | lp | area | trivial

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "total_latency": self.total_latency,
            "lower_bound": self.lower_bound,
            "starts": list(self.starts) if self.starts is not None else None,
            "solver": self.solver,
            "seconds": round(self.seconds, 4),
            "formulation": self.formulation,
            "gap": self.gap,
            "columns": self.columns,
            "slack": self.slack,
            "warm_start": self.warm_start,
            "solver_status": self.solver_status,
            "lower_bound_method": self.lower_bound_method,
        }


@dataclass(frozen=True)
class _Run:
    """What a solver call gave back: a column vector or None, its proved dual bound on cost @ x, raw status."""

    x: np.ndarray | None
    dual_bound: float
    proved: bool
    raw_status: str


def solver_version(solver: str) -> str:
    package = {"highs": "highspy", "scip": "pyscipopt"}[solver]
    return f"{solver} ({package} {importlib.metadata.version(package)}, cvxpy {importlib.metadata.version('cvxpy')})"


def solve(
    instance: Instance | Any,
    time_limit: float | None = None,
    *,
    solver: str = "highs",
    formulation: str = "auto",
    warm_start: bool = True,
    guided_warm_start: bool = True,
    area_windows: bool = True,
    highs_options: Mapping[str, Any] | None = None,
) -> Solution:
    """Minimise total latency exactly (SPEC section 4); see the module docstring for the status rules.

    guided_warm_start: also try list scheduling in the LP relaxation's alpha-point
    order (`lp_guided_schedule`) for the warm start and the horizon. area_windows:
    narrow each class's latest start by the area bound of the other requests
    (`latest_starts`). Both are on by default and only change speed, never the
    optimum (docs/optimal.md); they can be switched off to measure what they buy.
    highs_options: extra HiGHS options (e.g. {"mip_heuristic_effort": 0.3}); the
    zero-gap settings and the time limit always win.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r} (choose from {', '.join(SOLVERS)})")
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown formulation {formulation!r} (choose from {', '.join(FORMULATIONS)})")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time limit must be positive, got {time_limit}")
    import cvxpy  # noqa: F401  (imported before the clock starts: its import is not solving time)

    clock = time.perf_counter()
    inst = load_instance(instance)
    search_seconds = 1.0 if time_limit is None else min(1.0, 0.1 * time_limit)
    known = best_known_schedule(inst, search_seconds=search_seconds)
    trivial = sum(r.output for r in inst.requests)
    aggregate = formulation == "aggregated" or (
        formulation == "auto" and len(request_classes(inst, True)) < len(inst.requests)
    )
    name = "aggregated" if aggregate else "naive"
    classes = request_classes(inst, aggregate)
    slack = start_slack(inst, known.total_latency)
    constant = sum(r.output - r.arrival for r in inst.requests)
    version = solver_version(solver)
    common = dict(solver=version, formulation=name, slack=slack, warm_start=known.source if warm_start else None)
    if known.total_latency == trivial:  # every request starts on arrival: nothing can beat it
        return Solution("optimal", known.total_latency, trivial, canonical_starts(inst, known.starts), gap=0.0,
                        seconds=time.perf_counter() - clock, solver_status="trivial",
                        lower_bound_method="trivial", **common)  # type: ignore[arg-type]
    width = latest_starts(inst, classes, slack, area_windows) - np.array([c.arrival for c in classes]) + 1
    entries = int(sum(int(w) * c.output for w, c in zip(width, classes, strict=True)))
    if entries > MAX_ENTRIES:  # the matrix alone would not fit: report the known schedule and a certified bound
        left = None if time_limit is None else max(0.05, time_limit - (time.perf_counter() - clock))
        lb = lower_bound(inst, left)
        latency = known.total_latency if warm_start else None
        return Solution(
            "feasible" if warm_start else "unknown", latency, lb.value,
            canonical_starts(inst, known.starts) if warm_start else None,
            gap=None if latency is None else (latency - lb.value) / latency, seconds=time.perf_counter() - clock,
            solver_status=f"skipped: {entries} matrix entries > {MAX_ENTRIES}", lower_bound_method=lb.method,
            **common,  # type: ignore[arg-type]
        )
    model = exact_model(inst, classes, slack, area_windows)
    guided = lp_guided_schedule(inst, model, search_seconds) if guided_warm_start else None
    if guided is not None and guided.total_latency < known.total_latency:  # a better schedule narrows the windows
        known = guided
        slack = start_slack(inst, known.total_latency)
        common.update(slack=slack, warm_start=known.source if warm_start else None)
        model = exact_model(inst, classes, slack, area_windows)
    x0 = counts_from_starts(model, known.starts) if warm_start else None
    # With a time limit, keep 15% back for an LP bound in case the MIP stops without a proof.
    remaining = None if time_limit is None else max(0.01, 0.85 * (time_limit - (time.perf_counter() - clock)))
    run = _run_highs(model, remaining, x0, highs_options) if solver == "highs" else _run_scip(model, remaining)
    if run.raw_status in ("kInfeasible", "infeasible"):  # the known schedule lies in the model: a bug, not a result
        raise RuntimeError(f"{solver} reports the model infeasible, but a checked schedule lies inside it")

    best_latency, best_starts = (known.total_latency, known.starts) if warm_start else (None, None)
    best_starts = canonical_starts(inst, best_starts) if best_starts is not None else None
    if run.x is not None:
        starts = starts_from_counts(model, run.x, len(inst.requests))
        check_schedule(inst, starts)
        latency = total_latency(inst, starts)
        if best_latency is None or latency < best_latency:
            best_latency, best_starts = latency, canonical_starts(inst, starts)
    bound, method = trivial, "trivial"
    if math.isfinite(run.dual_bound):
        # The objective is an integer, so a dual bound rounds up (less a tolerance for floating point).
        mip = math.ceil(run.dual_bound + constant - 1e-6 * max(1.0, abs(run.dual_bound)))
        bound, method = max((bound, method), (mip, solver), key=lambda bm: bm[0])
    if not run.proved:  # the MIP stopped early: its dual bound may be weaker than cheap certified bounds
        bound, method = max((bound, method), (area_bound(inst), "area"), key=lambda bm: bm[0])
        left = None if time_limit is None else max(0.05, time_limit - (time.perf_counter() - clock))
        lp = certified_lp_bound(LinearProgram.of(model), left)
        if lp is not None:
            lp_value = math.ceil(lp + constant - 1e-6 * max(1.0, abs(lp)))
            bound, method = max((bound, method), (lp_value, "lp"), key=lambda bm: bm[0])
    if best_latency is not None and bound > best_latency:
        raise RuntimeError(f"solver bound {bound} exceeds a checked schedule's total latency {best_latency}")
    if best_latency is None:
        status = "unknown"
    elif run.proved and bound == best_latency:
        status = "optimal"
    else:
        status = "feasible"
    gap = None if best_latency is None else (best_latency - bound) / best_latency
    return Solution(
        status, best_latency, bound, best_starts, gap=gap, seconds=time.perf_counter() - clock,
        columns=model.columns, solver_status=run.raw_status, lower_bound_method=method, **common,  # type: ignore[arg-type]
    )


def _cvxpy_problem(model: TimeIndexedModel, integer: bool) -> tuple[Any, Any]:
    import cvxpy as cp

    x = cp.Variable(model.columns, integer=integer, bounds=[np.zeros(model.columns), model.upper])
    constraints = [model.equality @ x == model.counts]
    if model.memory.shape[0]:
        constraints.append(model.memory @ x <= model.capacity)
    return cp.Problem(cp.Minimize(model.cost @ x), constraints), x


def _run_highs(model: TimeIndexedModel, time_limit: float | None, x0: np.ndarray | None,
               extra: Mapping[str, Any] | None = None) -> _Run:
    """Solve through cvxpy's HiGHS interface, seeding the MIP with x0.

    cvxpy warm-starts HiGHS only from its own previous solve, so we go through the
    documented get_problem_data / solve_via_data route and hand the solver a cache
    that holds x0 as that "previous" solution. The HiGHS info object (cvxpy's
    solver_stats.extra_stats) carries the proved MIP dual bound after a time limit.
    """
    import cvxpy as cp
    import highspy

    problem, _ = _cvxpy_problem(model, integer=True)
    data, chain, _ = problem.get_problem_data(cp.HIGHS)
    # One variable, so the solver's columns are ours in order; check that the objective came through unchanged.
    if data["c"].shape[0] != model.columns or not np.allclose(data["c"], model.cost):
        raise RuntimeError("cvxpy reordered the columns: cannot map the warm start")
    options: dict[str, Any] = {"mip_rel_gap": 0.0, "mip_abs_gap": 0.0}
    options.update(extra or {})
    options.update(mip_rel_gap=0.0, mip_abs_gap=0.0)  # never let an extra option loosen the proof
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    cache: dict[str, Any] = {}
    if x0 is not None:
        seed = highspy.HighsSolution()
        seed.col_value = list(map(float, x0))
        seed.value_valid = True
        cache[cp.HIGHS] = (None, None, {"model_status": "kOptimal", "solution": seed})
    raw = chain.solver.solve_via_data(data, x0 is not None, False, options, solver_cache=cache)
    info = raw["info"]
    status = raw["model_status"]
    x = None
    if info.primal_solution_status == 2:  # kSolutionStatusFeasible
        x = np.array(raw["solution"].col_value, dtype=float)
    return _Run(x, float(info.mip_dual_bound), status == "kOptimal", status)


def _run_scip(model: TimeIndexedModel, time_limit: float | None) -> _Run:
    """Solve through cvxpy's SCIP interface (no warm start: cvxpy cannot pass one to SCIP).

    cvxpy maps SCIP's "timelimit" to OPTIMAL_INACCURATE, so we read SCIP's own
    status and dual bound from the model object it leaves in extra_stats.
    """
    import cvxpy as cp

    problem, _ = _cvxpy_problem(model, integer=True)
    data, chain, _ = problem.get_problem_data(cp.SCIP)
    if data["c"].shape[0] != model.columns or not np.allclose(data["c"], model.cost):
        raise RuntimeError("cvxpy reordered the columns: cannot map the solution")
    params: dict[str, Any] = {"limits/gap": 0.0, "limits/absgap": 0.0}
    if time_limit is not None:
        params["limits/time"] = float(time_limit)
    raw = chain.solver.solve_via_data(data, False, False, {"scip_params": params})
    scip = raw["model"]
    status = str(raw["scip_status"])
    x = raw.get("primal")
    x = None if x is None else np.asarray(x, dtype=float)
    return _Run(x, float(scip.getDualbound()), status == "optimal", status)
