"""The cell runner: one cell's parameters in, one JSON-ready record of measurements out (a pure function).

Kinds: "sim" (one scheduler on a sampled instance), "bound" (the OPT lower bound of
that instance) and "exact" (a scaled-down sub-sample solved exactly beside the
schedulers). A metric that cannot be computed is recorded as such, never guessed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from amin.check import ScheduleError, check_result, check_schedule
from amin.engine import simulate
from amin.harness.report.grid import Cell
from amin.model import Instance
from amin.results import Result
from amin.rules import READINGS

# Statuses: "ok" (measured), "not-applicable" (the cell's setting does not exist for this trace: stored, never
# retried), "gave-up" (a solver hit the cell's hard time or memory limit: stored; a larger time limit is a new
# cell), "not-computed" (a dependency is missing: not done, so a later run with the dependency computes it).
DONE_STATUSES = ("ok", "not-applicable", "gave-up")
QUANTILES = tuple(k / 20 for k in range(21))


class NotApplicable(Exception):
    """This cell's setting does not exist for its trace."""


class NotComputed(Exception):
    """A dependency of this cell is missing (e.g. the optimal package)."""


class GaveUp(Exception):
    """A solver cell hit its own hard time or memory limit (stored as done: raise the time limit to retry)."""


class CellFailed(RuntimeError):
    """A solver cell failed for another reason (a crash, an exception, no answer): not a result. The cell is
    stored as an error, named in the report, and retried on the next run."""


def default_engine() -> str:
    return str(inspect.signature(simulate).parameters["engine"].default)


@functools.cache
def code_fingerprint() -> str:
    """A hash of the source of the `amin` and `optimal` packages. A stored cell computed by other code is
    recomputed, so a resumed run never mixes results of two versions of the schedulers or the solver."""
    import optimal

    h = hashlib.sha256()
    for root in (Path(__file__).resolve().parents[2], Path(optimal.__file__).resolve().parent):  # amin, optimal
        for path in sorted(root.rglob("*.py")):
            h.update(f"{root.name}/{path.relative_to(root).as_posix()}".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def run_cell(params: dict[str, Any]) -> dict[str, Any]:
    """Run one cell given as `Cell.params()`; returns {key, params, status, metrics, seconds, engine}."""
    cell = Cell.from_params(params)
    start = time.perf_counter()
    try:
        metrics = RUNNERS[cell.kind](cell)
        status = "ok"
    except NotApplicable as e:
        metrics, status = {"reason": str(e).splitlines()[0]}, "not-applicable"
    except NotComputed as e:
        metrics, status = {"reason": str(e).splitlines()[0]}, "not-computed"
    except GaveUp as e:
        metrics, status = {"reason": str(e).splitlines()[0]}, "gave-up"
    return {
        "key": cell.key,
        "params": cell.params(),
        "status": status,
        "metrics": metrics,
        "seconds": round(time.perf_counter() - start, 4),
        "engine": default_engine(),
        "code": code_fingerprint(),
    }


# --- hard limits for the solver cells ------------------------------------------------------------
MEMORY_LIMIT = 3 << 30  # bytes of address space for one solver child: the machine is shared
# What a process that ran out of address space leaves on stderr (Python, C++ and C allocators).
_OUT_OF_MEMORY = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory")


def hard_limit(time_limit: float | None) -> float:
    """Solvers may overrun their own time limit (model building is not timed): the cell gives up at this."""
    return 2 * (time_limit or 60.0) + 5.0


def run_limited(fn: Callable[..., Any], args: tuple[Any, ...], seconds: float, memory: int = MEMORY_LIMIT) -> Any:
    """fn(*args) in a child Python process with a wall-clock and a memory limit.

    GaveUp when either limit is hit; CellFailed for any other failure (an exception in fn, a crash, no
    answer). The answer comes back through a file of its own, never through stdout, so nothing a library
    prints can corrupt it. A subprocess rather than multiprocessing, so that it also works inside daemonic
    workers (Dask's), which may not start multiprocessing children. `fn` must be importable by name."""
    import os
    import pickle
    import subprocess
    import sys
    import tempfile

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))  # resolve imports like us
    with tempfile.TemporaryDirectory(prefix="amin-cell-") as tmp:
        answer = os.path.join(tmp, "answer.pickle")
        payload = pickle.dumps((memory, answer, fn, args))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "amin.harness.report._limited"],
                input=payload,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=seconds,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GaveUp(f"no answer within {seconds:g} s") from None
        try:
            with open(answer, "rb") as f:
                ok, value = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            err = done.stderr.decode(errors="replace").strip()
            if any(sign in err for sign in _OUT_OF_MEMORY):
                raise GaveUp(f"exceeded the memory limit of {memory >> 20} MiB") from None
            last = err.splitlines()[-1] if err else "no message"
            raise CellFailed(f"the solver process left no answer (exit {done.returncode}): {last}") from None
    if not ok:
        if value.startswith("exceeded the memory limit"):
            raise GaveUp(value)
        raise CellFailed(value)
    return value


# --- instances ---------------------------------------------------------------------------
def _predictors() -> Any:
    try:
        from amin import predictors
    except ImportError as e:
        raise NotComputed(f"amin.predictors is not available: {e}") from None
    return predictors


def _sampled_trace(cell: Cell) -> Any:
    """The cell's requests: a seeded sample (or window) of its trace, with the cell's prompt regime applied."""
    try:
        from amin.traces import load_trace
    except ImportError as e:  # pragma: no cover - part of the package
        raise NotComputed(f"amin.traces is not available: {e}") from None
    trace = load_trace(cell.trace, round_seconds=cell.round_seconds)
    if trace.predicted is not None:
        # The learned predictor is calibrated on one half of this trace: every cell of the trace samples the
        # other half, so all predictors (and H-SF) run on the same requests and none on calibration rows.
        trace = _predictors().predictor().holdout
    if cell.arrivals == "trace":
        return with_prompts(trace_window(trace, cell.n, cell.seed), cell.prompts)
    return with_prompts(trace.sample(cell.n, cell.seed), cell.prompts)


def with_prompts(trace: Any, prompts: str) -> Any:
    """The trace with its prompts set by the regime, outputs (and arrivals, predictions) kept: "real" leaves
    them, "fixed:S" sets every prompt to S tokens, "scaled:K" multiplies each by K (rounded half to even, so
    never below 0)."""
    if prompts == "real":
        return trace
    kind, value = prompts.split(":")
    prompt = np.asarray(trace.prompt)
    if kind == "fixed":
        new = np.full(len(prompt), int(value), dtype=np.int64)
    else:
        new = np.maximum(np.rint(prompt * float(value)), 0).astype(np.int64)
    return replace(trace, prompt=new)


def capacity_for_load(trace: Any, load: float) -> int:
    """The capacity at which the sample has this load: load = n (mean s + mean o) / M over the sampled
    requests, so M = ceil(sum of (s + o) / load) (at least 1). A request that then cannot fit alone is skipped
    and counted like any other, and does not change M."""
    total = int((np.asarray(trace.prompt, dtype=np.int64) + np.asarray(trace.output, dtype=np.int64)).sum())
    return max(1, math.ceil(total / load))


def sample_load(trace: Any, capacity: int) -> float:
    """n (mean s + mean o) / M over the sampled requests (skipped ones included): how many times the whole
    sample's peak memory exceeds the capacity."""
    return float((np.asarray(trace.prompt).sum() + np.asarray(trace.output).sum()) / capacity)


def trace_window(trace: Any, n: int, seed: int) -> Any:
    """`n` consecutive requests from a seeded random start, arrivals re-based to 0.

    With the trace's own arrival times a random sample would thin the arrival process (2,000 of 19,366
    requests spread over the same hour is a tenth of the real load); a window keeps the real rate."""
    if not 1 <= n <= len(trace):
        raise NotApplicable(f"cannot take {n} consecutive requests from trace {trace.name} of {len(trace)}")
    start = int(np.random.default_rng(seed).integers(0, len(trace) - n + 1))
    order = np.argsort(trace.arrival, kind="stable")[start : start + n]
    arrival = trace.arrival[order]
    return replace(
        trace,
        prompt=trace.prompt[order],
        output=trace.output[order],
        arrival=arrival - arrival.min(),
        predicted=None if trace.predicted is None else trace.predicted[order],
        rows=trace.rows[order],
    )


def _to_instance(
    trace: Any, capacity: int, predictor: str, arrivals: str, seed: int
) -> tuple[Instance, dict[str, int]]:
    _predictors()
    try:
        return trace.to_instance(capacity, predictor, arrivals=arrivals, seed=seed)
    except ValueError as e:
        # A predictor that needs data the trace lacks, or a capacity that nothing fits: the cell does not exist.
        raise NotApplicable(f"{predictor} on {trace.name} at capacity {capacity}: {e}") from None


def instance_hash(instance: Instance) -> str:
    """Identifies the requests (prompt, output, arrival) and capacity, not the intervals: cells with equal
    hashes are comparable by latency."""
    h = hashlib.sha256(str(instance.capacity).encode())
    h.update(np.array([(r.prompt, r.output, r.arrival) for r in instance.requests], dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


def _interval_stats(instance: Instance) -> dict[str, float | None]:
    lower = np.array([r.lower for r in instance.requests])
    upper = np.array([r.upper for r in instance.requests])
    output = np.array([r.output for r in instance.requests])
    stats = _predictors().interval_stats(lower, upper, output)
    return {k: float(stats[k]) for k in ("coverage", "mean_width", "mean_alpha")}


# --- the three kinds ---------------------------------------------------------------------------
def wasted_work(result: Result) -> tuple[float, int]:
    """(wasted rounds, busy rounds). A run (an evicted one, or the final one) is in the batch of every round from
    its start to the round before it ends; each busy round is one unit of work shared equally by its batch, so a
    round's waste is the share of its batch whose run was later evicted. Wasted rounds sum that share over the
    busy rounds (rounds whose batch is not empty)."""
    runs = [(e.start, e.round, 1) for e in result.eviction_log if e.round > e.start]
    runs += [(r.start, r.completion, 0) for r in result.records if r.completion > r.start]
    if not runs:
        return 0.0, 0
    times, batch, wasted = [], [], []
    for start, end, cut in runs:
        times += [start, end]
        batch += [1, -1]
        wasted += [cut, -cut]
    order = np.argsort(times, kind="stable")
    t = np.asarray(times, dtype=np.int64)[order]
    b = np.cumsum(np.asarray(batch, dtype=np.int64)[order])
    w = np.cumsum(np.asarray(wasted, dtype=np.int64)[order])
    length = np.diff(t)  # the batch after event k holds for length[k] rounds (0 between equal times)
    b, w = b[:-1], w[:-1]
    busy = b > 0
    share = np.zeros(len(length))
    share[busy] = w[busy] / b[busy]
    return float((share * length).sum()), int(length[busy].sum())


def _simulate(instance: Instance, cell: Cell) -> Result:
    """The cell's scheduler under the cell's reading. A reading that the engines do not implement yet makes the
    cell not-computed (retried by a later run), never an error and never a silent run under SPEC's reading."""
    fields = READINGS[cell.reading].fields
    if READINGS[cell.reading].ours and cell.scheduler in OURS_UNCHANGED:
        fields = {}  # our variants change the online schedulers only: H-SF stays the paper's benchmark
    try:
        return simulate(instance, cell.scheduler, tie_break="random", seed=cell.seed, **fields)
    except (ValueError, NotImplementedError) as e:
        if isinstance(e, NotImplementedError) or "not implemented" in str(e).lower():
            raise NotComputed(f"reading {cell.reading}: {e}") from None
        raise


OURS_UNCHANGED = ("hsf", "fcfs")  # schedulers a variant of ours (Reading.ours) leaves as they are
SIM_SECONDS = 180.0  # a simulation cell that runs longer gives up (the slowest default cell takes a few seconds)


class _Alarm(Exception):
    pass


@contextlib.contextmanager
def wall_clock_limit(seconds: float) -> Iterator[None]:
    """GaveUp after `seconds` of wall time, where a timer signal can be used (the main thread of a process on a
    POSIX system: serial runs and process-pool workers); elsewhere (Dask's worker threads) no limit. A reading
    under development that livelocks must not stall the whole grid."""
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum: int, frame: Any) -> None:
        raise _Alarm

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Alarm:
        raise GaveUp(f"no result within {seconds:g} s of wall time") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _checked(instance: Instance, result: Result) -> bool:
    """The independent checker on a simulation (a report never rests on the engine alone); True when the
    schedule exceeds the capacity. Some readings let Amin do so (docs/semantics.md, "Finding": a request that
    outlived its plan is planned to hold nothing): then the engine's own peak says so, everything else is
    checked at the memory the run used, and the cell is kept and marked, never passed off as feasible."""
    try:
        check_result(instance, result)
        return False
    except ScheduleError:
        if result.peak_memory <= instance.capacity:
            raise  # the engine and the checker disagree: a bug, not a reading
    check_result(replace(instance, capacity=int(result.peak_memory)), result)
    return True


def _fitting_blocks(instance: Instance, skipped: dict[str, int], block: int) -> tuple[Instance, dict[str, int]]:
    """Under a KV-block reading a request fits alone only if its whole blocks do: ceil((s + o) / b) b <= M. The
    others are skipped and counted, as the trace conversion skips a request with s + o > M, so that every
    scheduler of the reading (H-SF included) runs the same requests."""
    if block <= 1:
        return instance, skipped
    keep = tuple(r for r in instance.requests if -(-(r.prompt + r.output) // block) * block <= instance.capacity)
    dropped = len(instance.requests) - len(keep)
    if not dropped:
        return instance, skipped
    if not keep:
        raise NotComputed(f"no request fits alone in KV blocks of {block} tokens at capacity {instance.capacity}")
    return replace(instance, requests=keep), {**skipped, "blocks>capacity": dropped}


def run_sim(cell: Cell) -> dict[str, Any]:
    trace = _sampled_trace(cell)
    capacity = cell.capacity if cell.load is None else capacity_for_load(trace, cell.load)
    instance, skipped = _to_instance(trace, capacity, cell.predictor, cell.arrivals, cell.seed)
    instance, skipped = _fitting_blocks(instance, skipped, READINGS[cell.reading].fields.get("block_size", 1))
    with wall_clock_limit(cell.time_limit or SIM_SECONDS):
        result = _simulate(instance, cell)
    exceeds = _checked(instance, result)
    latency = np.array([r.latency for r in result.records], dtype=np.float64)
    n = len(instance.requests)
    wasted_rounds, busy = wasted_work(result)
    metrics: dict[str, Any] = {
        "requests": n,
        "skipped": int(sum(skipped.values())),
        "instance_hash": instance_hash(instance),
        "capacity": int(capacity),
        "load": sample_load(trace, capacity),
        "total_latency": int(result.total_latency),
        "mean_latency": float(result.total_latency / n),
        "makespan": int(result.makespan),
        "evictions": int(result.evictions),
        "wasted_tokens": int(result.wasted_tokens),
        "wasted_rounds": wasted_rounds,
        "wasted_round_share": wasted_rounds / busy if busy else 0.0,
        "peak_memory": int(result.peak_memory),
        "exceeds_capacity": exceeds,
        "rounds": int(result.rounds),
        "latency_quantiles": [float(q) for q in np.quantile(latency, QUANTILES)],
    }
    if cell.scheduler not in ("hsf", "fcfs"):
        metrics.update(_interval_stats(instance))
    return metrics


def _solver(module: str, name: str) -> Callable[..., Any]:
    """optimal.<name>, imported from its submodule (which also works when an editable install that predates
    optimal/__init__.py maps `optimal` to a namespace package)."""
    import importlib

    try:
        return getattr(importlib.import_module(f"optimal.{module}"), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as e:
        raise NotComputed(f"optimal.{name} is not available: {e}") from None


def run_bound(cell: Cell) -> dict[str, Any]:
    """OPT bracketed on a big instance: the LP-based certified bound (`optimal.lower_bound`) and the bracket
    (`optimal.bracket`: the best checked schedule above, combinatorial and Lagrangian bounds below), each within
    the cell's time limit. The lower side is the largest certified bound; the upper side's schedule is checked
    here again by amin's own checker before it is stored (issue 15)."""
    lower_bound = _solver("bounds", "lower_bound")
    bracket = _solver("bracket", "bracket")
    trace = _sampled_trace(cell)
    instance, skipped = _to_instance(trace, cell.capacity, cell.predictor, cell.arrivals, cell.seed)
    bound = run_limited(lower_bound, (instance, cell.time_limit), hard_limit(cell.time_limit))
    br = run_limited(bracket, (instance, cell.time_limit), hard_limit(cell.time_limit))
    check_schedule(instance, br.upper.starts)
    upper = sum(p + r.output - r.arrival for p, r in zip(br.upper.starts, instance.requests, strict=True))
    if upper != br.upper.total_latency:
        raise CellFailed(f"the bracket's schedule has total latency {upper}, not the {br.upper.total_latency} it says")
    bounds = {str(b.method): float(b.value) for b in br.bounds}
    bounds[f"lp:{bound.method}"] = float(bound.value)
    method, value = max(bounds.items(), key=lambda mv: mv[1])
    if value > upper:
        raise CellFailed(f"a certified bound ({method}: {value:g}) exceeds a checked schedule ({upper}): a bug")
    return {
        "requests": len(instance.requests),
        "skipped": int(sum(skipped.values())),
        "instance_hash": instance_hash(instance),
        "lower_bound": value,
        "method": method,
        "lower_bounds": bounds,
        "upper": int(upper),
        "upper_method": str(br.upper.method),
        "solver_seconds": float(bound.seconds) + float(br.seconds),
    }


def scaled_trace(trace: Any, scale: int) -> Any:
    """Token counts divided by `scale`, rounded up (at least 1 output token): the shape of the real
    lengths at a size the integer program can solve."""

    def div(a: np.ndarray) -> np.ndarray:
        return -(-np.asarray(a) // scale)

    return replace(
        trace,
        prompt=div(trace.prompt),
        output=np.maximum(div(trace.output), 1),
        predicted=None if trace.predicted is None else np.maximum(div(trace.predicted), 1),
    )


def exact_capacity(trace: Any, concurrency: float) -> int:
    """About `concurrency` requests fit at once, and every request fits alone."""
    size = np.asarray(trace.prompt) + np.asarray(trace.output)
    return int(max(int(size.max()), math.ceil(concurrency * float(size.mean()))))


def run_exact(cell: Cell) -> dict[str, Any]:
    solve = _solver("milp", "solve")
    trace = scaled_trace(_sampled_trace(cell), cell.scale)
    capacity = exact_capacity(trace, cell.concurrency)
    instance, _ = _to_instance(trace, capacity, cell.predictor, "zero", cell.seed)
    solution = run_limited(solve, (instance, cell.time_limit), hard_limit(cell.time_limit))
    opt: dict[str, Any] = {
        "status": str(solution.status),
        "total_latency": None if solution.total_latency is None else int(round(float(solution.total_latency))),
        "lower_bound": None if solution.lower_bound is None else float(solution.lower_bound),
    }
    starts = getattr(solution, "starts", None)
    if starts is not None and opt["total_latency"] is not None:
        # Never trust one oracle: the solver's schedule must pass the independent checker and give its TEL.
        check_schedule(instance, list(starts))
        tel = sum(int(s) + r.output - r.arrival for s, r in zip(starts, instance.requests, strict=False))
        if tel != opt["total_latency"]:
            raise AssertionError(f"solver reports TEL {opt['total_latency']} but its schedule has TEL {tel}")
    schedulers = ["hsf", "amin", "amax", "fcfs"] + (["mcsf"] if trace.predicted is not None else [])
    latencies = {s: int(simulate(instance, s, tie_break="random", seed=cell.seed).total_latency) for s in schedulers}
    return {
        "requests": len(instance.requests),
        "capacity": capacity,
        "opt": opt,
        "total_latency": latencies,
        "instance": instance.to_dict(),
    }


RUNNERS: dict[str, Callable[[Cell], dict[str, Any]]] = {"sim": run_sim, "bound": run_bound, "exact": run_exact}
