"""The exact hindsight optimum: the SPEC section 4 integer program through cvxpy, solved by HiGHS (or SCIP).

Status discipline: "optimal" only when a certified lower bound (the solver's
proved dual bound rounded up, or a combinatorial or Lagrangian bound) equals the
total latency of a checked schedule; otherwise "feasible" (a checked schedule
and a proved lower bound) or "unknown". Every returned schedule passes the
independent checker (`optimal.schedules.check`).
"""

from __future__ import annotations

import importlib.metadata
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from amin import Instance, load_instance

from .bounds import LinearProgram, certified_lp_bound
from .bracket import ONLINE_MAX_REQUESTS, bracket, online_schedules
from .colgen import column_generation
from .combinatorial import combinatorial_bound
from .model import (
    KnownSchedule,
    RequestClass,
    TimeIndexedModel,
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
from .schedules import best_schedule, check

SOLVERS = ("highs", "scip")
FORMULATIONS = ("auto", "naive", "aggregated")
IF_TOO_LARGE = ("bounds", "refuse")
MAX_ENTRIES = 10_000_000  # memory-matrix nonzeros above which the integer program is never built (memory)
BUILD_RATE = 300_000  # entries per second that exact_model + cvxpy turn into solver data (measured: 360k-450k)
BUILD_SHARE = 0.5  # at most this share of the remaining time may go to building the model
AREA_WINDOW_CLASSES = 3_000  # above this, the size estimate uses the plain windows (area ones cost n^2 log n)
DEFAULT_SEARCH = 5.0  # seconds of schedule search without a time limit
SEARCH_SHARE, DEFAULT_SEARCH_MAX = 0.15, 30.0  # with a time limit: this share of it, at most this many seconds
LAGRANGIAN_SHARE = 0.15  # of the remaining time, for column generation before the integer program


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
    """The solver and its package's version; ValueError (one line) when the package is not installed."""
    package = {"highs": "highspy", "scip": "pyscipopt"}[solver]
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        extra = " (pip install 'amin[scip]')" if solver == "scip" else ""
        raise ValueError(f"solver {solver} needs the {package} package, which is not installed{extra}") from None
    return f"{solver} ({package} {version}, cvxpy {importlib.metadata.version('cvxpy')})"


class ModelTooLarge(ValueError):
    """The time-indexed model would not fit the time or memory at hand (raised when if_too_large="refuse")."""


def too_large_message(entries: int, limit: int, time_limit: float | None) -> str:
    why = f"{limit:,} fit in memory" if time_limit is None else f"{limit:,} can be built in {time_limit:g} s"
    return (
        f"the time-indexed model would have {entries:,} matrix entries and at most {why}: not built; "
        "`amin solve --bound-only` gives the best checked schedule and a certified lower bound"
    )


def model_entries(instance: Instance, classes: tuple[RequestClass, ...], slack: int, area_windows: bool) -> int:
    """Nonzeros of the exact model's memory matrix, sum over classes of (window width) x (output), without building
    it. The area windows cost O(classes x n log n), so beyond AREA_WINDOW_CLASSES the plain windows are used."""
    area = area_windows and len(classes) <= AREA_WINDOW_CLASSES
    width = latest_starts(instance, classes, slack, area) - np.array([c.arrival for c in classes]) + 1
    return int(sum(int(w) * c.output for w, c in zip(width, classes, strict=True)))


def solve(
    instance: Instance | Any,
    time_limit: float | None = None,
    *,
    solver: str = "highs",
    formulation: str = "auto",
    warm_start: bool = True,
    guided_warm_start: bool = True,
    area_windows: bool = True,
    lagrangian: bool = True,
    search_seconds: float | None = None,
    if_too_large: str = "bounds",
    highs_options: Mapping[str, Any] | None = None,
) -> Solution:
    """Minimise total latency exactly (SPEC section 4); see the module docstring for the status rules.

    `time_limit` bounds the whole call (model building included). The warm start is the best schedule of
    `optimal.schedules.best_schedule` within `search_seconds` (default: 15% of the time limit, at most
    30 s; 5 s without a limit), the online schedulers' final runs competing. lagrangian: before the integer
    program, column generation on the LP relaxation with concurrency cuts (`optimal.colgen`, at most 15%
    of the time); its bound alone may prove the schedule optimal. A model too large for the time or memory
    at hand is never built: if_too_large="bounds" returns the bracket (`optimal.bracket`, solver_status
    "skipped: ..."), "refuse" raises ModelTooLarge.
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
    if if_too_large not in IF_TOO_LARGE:
        raise ValueError(f"unknown if_too_large {if_too_large!r} (choose from {', '.join(IF_TOO_LARGE)})")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time limit must be positive, got {time_limit}")
    import cvxpy  # noqa: F401  (imported before the clock starts: its import is not solving time)

    clock = time.perf_counter()

    def remaining() -> float | None:
        return None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - clock))

    inst = load_instance(instance)
    reqs = inst.requests
    trivial = sum(r.output for r in reqs)
    constant = sum(r.output - r.arrival for r in reqs)
    if search_seconds is None:
        search_seconds = DEFAULT_SEARCH if time_limit is None else min(SEARCH_SHARE * time_limit, DEFAULT_SEARCH_MAX)
    combinatorial = combinatorial_bound(inst)
    candidates = online_schedules(inst) if len(reqs) <= ONLINE_MAX_REQUESTS else []
    left = remaining()
    found = best_schedule(
        inst,
        search_seconds if left is None else min(search_seconds, left),
        candidates=candidates,
        lower=combinatorial.value,
    )
    known = KnownSchedule(found.total_latency, found.starts, found.method)
    aggregate = formulation == "aggregated" or (
        formulation == "auto" and len({(r.arrival, r.prompt, r.output) for r in reqs}) < len(reqs)
    )
    name = "aggregated" if aggregate else "naive"
    classes = request_classes(inst, aggregate)
    slack = start_slack(inst, known.total_latency)
    version = solver_version(solver)
    common = dict(solver=version, formulation=name, slack=slack, warm_start=known.source if warm_start else None)
    bound, method = max((trivial, "trivial"), (combinatorial.value, combinatorial.method), key=lambda bm: bm[0])
    if warm_start and known.total_latency <= bound:  # the schedule meets a combinatorial bound: nothing can beat it
        return Solution(
            "optimal",
            known.total_latency,
            bound,
            canonical_starts(inst, known.starts),
            gap=0.0,
            seconds=time.perf_counter() - clock,
            solver_status="trivial" if bound == trivial else "bound",
            lower_bound_method=method,
            **common,
        )  # type: ignore[arg-type]
    entries = model_entries(inst, classes, slack, area_windows)
    left = remaining()
    limit = MAX_ENTRIES if left is None else min(MAX_ENTRIES, int(BUILD_RATE * BUILD_SHARE * left))
    if entries > limit:  # never build it: the bracket instead, or a refusal
        message = too_large_message(entries, limit, time_limit)
        if if_too_large == "refuse":
            raise ModelTooLarge(message)
        return _bracket_solution(inst, known, remaining(), lagrangian, warm_start, clock, f"skipped: {message}", common)
    model = exact_model(inst, classes, slack, area_windows)
    left = remaining()
    guide_seconds = search_seconds if left is None else min(search_seconds, 0.1 * left)
    guided = lp_guided_schedule(inst, model, guide_seconds) if guided_warm_start and guide_seconds > 0 else None
    if guided is not None and guided.total_latency < known.total_latency:  # a better schedule narrows the windows
        known = guided
        slack = start_slack(inst, known.total_latency)
        common.update(slack=slack, warm_start=known.source if warm_start else None)
        model = exact_model(inst, classes, slack, area_windows)
    best_latency, best_starts = (known.total_latency, known.starts) if warm_start else (None, None)
    best_starts = canonical_starts(inst, best_starts) if best_starts is not None else None
    colgen = None
    if lagrangian and warm_start:
        left = remaining()
        colgen = column_generation(inst, known.starts, None if left is None else LAGRANGIAN_SHARE * left)
        if colgen is not None and colgen.value > bound:
            bound, method = colgen.value, colgen.method
        if best_latency is not None and bound >= best_latency:
            if bound > best_latency:
                raise RuntimeError(f"bound {bound} exceeds a checked schedule's total latency {best_latency}")
            return Solution(
                "optimal",
                best_latency,
                bound,
                best_starts,
                gap=0.0,
                seconds=time.perf_counter() - clock,
                columns=model.columns,
                solver_status="bound",
                lower_bound_method=method,
                **common,
            )  # type: ignore[arg-type]
    x0 = counts_from_starts(model, known.starts) if warm_start else None
    # Keep some time back for an LP bound in case the MIP stops without a proof (not needed after column
    # generation converged: its bound is at least the LP's).
    keep = 0.0 if colgen is not None and colgen.converged else 0.15
    left = remaining()
    mip_time = None if left is None else max(0.01, (1 - keep) * left - 0.05)
    run = _run_highs(model, mip_time, x0, highs_options) if solver == "highs" else _run_scip(model, mip_time)
    if run.raw_status in ("kInfeasible", "infeasible"):  # the known schedule lies in the model: a bug, not a result
        raise RuntimeError(f"{solver} reports the model infeasible, but a checked schedule lies inside it")

    if run.x is not None:
        starts = starts_from_counts(model, run.x, len(reqs))
        check(inst, starts)
        latency = total_latency(inst, starts)
        if best_latency is None or latency < best_latency:
            best_latency, best_starts = latency, canonical_starts(inst, starts)
    if math.isfinite(run.dual_bound):
        # The objective is an integer, so a dual bound rounds up (less a tolerance for floating point).
        mip = math.ceil(run.dual_bound + constant - 1e-6 * max(1.0, abs(run.dual_bound)))
        bound, method = max((bound, method), (mip, solver), key=lambda bm: bm[0])
    if not run.proved and keep > 0:  # the MIP stopped early: its dual bound may be weaker than the LP's
        left = remaining()
        lp = certified_lp_bound(LinearProgram.of(model), None if left is None else max(0.05, left))
        if lp is not None:
            lp_value = math.ceil(lp + constant - 1e-6 * max(1.0, abs(lp)))
            bound, method = max((bound, method), (lp_value, "lp"), key=lambda bm: bm[0])
    if best_latency is not None and bound > best_latency:
        raise RuntimeError(f"solver bound {bound} exceeds a checked schedule's total latency {best_latency}")
    if best_latency is None:
        status = "unknown"
    elif bound == best_latency:
        status = "optimal"
    else:
        status = "feasible"
    gap = None if best_latency is None else (best_latency - bound) / best_latency
    return Solution(
        status,
        best_latency,
        bound,
        best_starts,
        gap=gap,
        seconds=time.perf_counter() - clock,
        columns=model.columns,
        solver_status=run.raw_status,
        lower_bound_method=method,
        **common,  # type: ignore[arg-type]
    )


def _bracket_solution(
    inst: Instance,
    known: KnownSchedule,
    left: float | None,
    lagrangian: bool,
    warm_start: bool,
    clock: float,
    solver_status: str,
    common: dict[str, Any],
) -> Solution:
    """The answer when the integer program is not built: `optimal.bracket` with the time left (30 s without a
    limit), continuing from the known schedule."""
    from .schedules import Schedule

    seed = Schedule(known.total_latency, tuple(known.starts), known.source, 0.0)
    found = bracket(inst, max(0.05, 30.0 if left is None else left), lagrangian=lagrangian, candidates=[seed])
    if not warm_start:  # the caller asked for no heuristic schedule: report the bound only
        return Solution(
            "unknown",
            None,
            found.lower.value,
            None,
            gap=None,
            seconds=time.perf_counter() - clock,
            solver_status=solver_status,
            lower_bound_method=found.lower.method,
            **common,
        )  # type: ignore[arg-type]
    common = dict(common, warm_start=found.upper.method)
    return Solution(
        found.status,
        found.upper.total_latency,
        found.lower.value,
        canonical_starts(inst, found.upper.starts),
        gap=found.gap,
        seconds=time.perf_counter() - clock,
        solver_status=solver_status,
        lower_bound_method=found.lower.method,
        **common,  # type: ignore[arg-type]
    )


def _cvxpy_problem(model: TimeIndexedModel, integer: bool) -> tuple[Any, Any]:
    import cvxpy as cp

    x = cp.Variable(model.columns, integer=integer, bounds=[np.zeros(model.columns), model.upper])
    constraints = [model.equality @ x == model.counts]
    if model.memory.shape[0]:
        constraints.append(model.memory @ x <= model.capacity)
    return cp.Problem(cp.Minimize(model.cost @ x), constraints), x


def _run_highs(
    model: TimeIndexedModel, time_limit: float | None, x0: np.ndarray | None, extra: Mapping[str, Any] | None = None
) -> _Run:
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
