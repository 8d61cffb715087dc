"""The experiment grid of `amin report`: which cells to run, each a frozen set of parameters with a stable hash.

A cell is a pure function of its parameters (seed included), so its hash keys the
results file: an interrupted run resumes by skipping every cell whose hash is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Bump when the meaning of a stored metric changes: old lines are then recomputed, never reused.
CELL_VERSION = 2

TRACE_NAMES = ("azure-conv", "azure-code", "sharegpt-predicted", "mooncake-conv", "sharegpt-llama2")
PAPER_CAPACITY = 16492  # the KV budget of the predecessor paper (arXiv 2502.07115)
PAPER_SAMPLE = 2000  # requests per instance in the Amin paper's numerical study
RELATIVE_XS = (0.1, 0.3, 0.5, 0.7, 0.9)
SCHEDULER_NAMES = ("hsf", "amax", "amin", "mcsf", "fcfs")
# Schedulers whose schedule never reads the interval: run once per instance, not once per predictor.
INTERVAL_FREE = ("hsf", "fcfs")
ARRIVALS = ("zero", "trace")


@dataclass(frozen=True)
class Cell:
    """One unit of work. kind "sim": one scheduler on one instance; "bound": the OPT lower bound of an
    instance; "exact": a small scaled-down sub-sample solved exactly, with the schedulers beside OPT."""

    kind: str
    trace: str
    n: int
    seed: int
    capacity: int
    arrivals: str = "zero"
    predictor: str = "crude"
    scheduler: str = ""
    round_seconds: float = 0.02
    time_limit: float | None = None
    scale: int = 1  # exact cells: token counts divided by this (rounded up)
    concurrency: float = 0.0  # exact cells: capacity = concurrency x mean(prompt + output), at least the largest

    def params(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def key(self) -> str:
        blob = json.dumps({"v": CELL_VERSION, **self.params()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def instance_key(self) -> tuple[Any, ...]:
        """Cells with equal instance keys run on the same requests (the interval may differ)."""
        return (self.trace, self.n, self.seed, self.capacity, self.arrivals, self.round_seconds)

    def label(self) -> str:
        """A short human name for messages: kind, trace, size, seed and what distinguishes the cell."""
        what = {"sim": f"{self.scheduler} {self.predictor} capacity {self.capacity} arrivals {self.arrivals}",
                "bound": f"capacity {self.capacity} arrivals {self.arrivals}",
                "exact": f"scale {self.scale}"}.get(self.kind, "")
        return f"{self.kind} {self.trace} n={self.n} seed {self.seed} {what}".rstrip()

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Cell:
        return cls(**params)


@dataclass(frozen=True)
class GridSpec:
    """What `amin report` sweeps. Every tuple is a sweep; `build_grid` expands it into cells."""

    traces: tuple[str, ...] = TRACE_NAMES
    n: int = PAPER_SAMPLE
    seeds: tuple[int, ...] = (0, 1, 2)
    capacities: tuple[int, ...] = (8246, PAPER_CAPACITY, 32984)
    arrivals: tuple[str, ...] = ARRIVALS
    predictors: tuple[str, ...] = ("crude", "binned", *(f"relative({x})" for x in RELATIVE_XS), "predictor")
    schedulers: tuple[str, ...] = SCHEDULER_NAMES
    # Away from the paper's capacity only these predictors run (None: all of them), to keep the default run short.
    sweep_predictors: tuple[str, ...] | None = None
    round_seconds: float = 0.02
    # OPT lower bounds of the big instances (zero arrivals only: where the bound is meant to be tight).
    bound_time_limit: float | None = 20.0
    bound_capacities: tuple[int, ...] = (PAPER_CAPACITY,)
    bound_seeds: tuple[int, ...] = (0,)  # a bound of a 2,000-request instance takes about 30 s
    # Exact sub-samples: tens of requests, token counts scaled down so the integer program is small.
    exact_n: int = 10
    exact_seeds: tuple[int, ...] = tuple(range(3))
    exact_time_limit: float = 20.0
    exact_concurrency: float = 3.0
    exact_predictor: str = "relative(0.5)"
    exact_scales: dict[str, int] = field(
        default_factory=lambda: {
            "azure-conv": 25,
            "azure-code": 4,
            "sharegpt-predicted": 60,
            "mooncake-conv": 60,
            "sharegpt-llama2": 70,
        }
    )

    def narrowed(self, traces: Sequence[str] | None = None, capacities: Sequence[int] | None = None,
                 predictors: Sequence[str] | None = None) -> GridSpec:
        spec = self
        if traces:
            spec = replace(spec, traces=tuple(traces))
        if capacities:
            caps = tuple(capacities)
            spec = replace(spec, capacities=caps, bound_capacities=tuple(c for c in spec.bound_capacities if c in caps))
        if predictors:
            spec = replace(spec, predictors=tuple(predictors), sweep_predictors=None)
        return spec

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = GridSpec()
# A few seconds of work: for smoke tests and for trying the pipeline.
QUICK = GridSpec(
    traces=("azure-conv", "sharegpt-predicted"),
    seeds=(0,),
    n=40,
    capacities=(4123, PAPER_CAPACITY),
    predictors=("crude", "binned", "relative(0.5)", "predictor"),
    bound_time_limit=1.0,
    bound_capacities=(4123,),
    exact_n=6,
    exact_seeds=(0,),
    exact_time_limit=10.0,
)


def trace_has_arrivals(name: str) -> bool:
    """Only traces with their own arrival times get the 'trace' arrivals setting."""
    try:
        from ..traces import TRACES
    except ImportError:  # pragma: no cover - the traces module is part of the package
        return False
    info = TRACES.get(name)
    return bool(info and info.has_arrivals)


def trace_has_predicted(name: str) -> bool:
    try:
        from ..traces import TRACES
    except ImportError:  # pragma: no cover
        return False
    info = TRACES.get(name)
    return bool(info and info.has_predicted)


def build_grid(spec: GridSpec) -> list[Cell]:
    """All cells of the spec, in a stable order: simulations, then OPT bounds, then exact sub-samples."""
    cells: list[Cell] = []
    for trace in spec.traces:
        arrivals = [a for a in spec.arrivals if a == "zero" or trace_has_arrivals(trace)]
        for seed in spec.seeds:
            for capacity in spec.capacities:
                for arr in arrivals:
                    base = Cell("sim", trace, spec.n, seed, capacity, arr, round_seconds=spec.round_seconds)
                    cells.extend(_sim_cells(base, spec, trace))
    for trace in spec.traces:
        for seed in (s for s in spec.bound_seeds if s in spec.seeds):
            for capacity in spec.bound_capacities:
                cells.append(Cell("bound", trace, spec.n, seed, capacity, "zero", round_seconds=spec.round_seconds,
                                  time_limit=spec.bound_time_limit))
    for trace in spec.traces:
        for seed in spec.exact_seeds:
            cells.append(Cell("exact", trace, spec.exact_n, seed, 0, "zero", spec.exact_predictor,
                              round_seconds=spec.round_seconds, time_limit=spec.exact_time_limit,
                              scale=spec.exact_scales.get(trace, 1), concurrency=spec.exact_concurrency))
    return cells


def predictors_at(spec: GridSpec, capacity: int) -> tuple[str, ...]:
    """The predictors swept at this capacity: all at the paper's capacity, `sweep_predictors` elsewhere."""
    if spec.sweep_predictors is None or capacity == PAPER_CAPACITY:
        return spec.predictors
    return tuple(p for p in spec.predictors if p in spec.sweep_predictors)


def _sim_cells(base: Cell, spec: GridSpec, trace: str) -> Iterable[Cell]:
    for scheduler in spec.schedulers:
        if scheduler in INTERVAL_FREE:
            # The interval is never read: one run per instance (crude only builds the instance).
            yield replace(base, scheduler=scheduler, predictor="crude")
        elif scheduler == "mcsf":
            # mcsf plans with the trace's point prediction; without one it plans with the upper bound and
            # is then identical to amax, so it runs only on traces that carry predictions.
            if trace_has_predicted(trace):
                yield replace(base, scheduler=scheduler, predictor="predictor" if "predictor" in spec.predictors
                              else spec.predictors[0])
        else:
            for predictor in predictors_at(spec, base.capacity):
                if predictor.startswith("predictor") and not trace_has_predicted(trace):
                    continue  # the learned predictor needs the trace's point predictions
                yield replace(base, scheduler=scheduler, predictor=predictor)
