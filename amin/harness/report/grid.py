"""The experiment grid of `amin report`: which cells to run, each a frozen set of parameters with a stable hash.

A cell is a pure function of its parameters (seed included), so its hash keys the
results file: an interrupted run resumes by skipping every cell whose hash is stored.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from amin.rules import READINGS

# Bump when the meaning of a stored metric changes: old lines are then recomputed, never reused.
CELL_VERSION = 2

TRACE_NAMES = ("azure-conv", "azure-code", "sharegpt-predicted", "mooncake-conv", "sharegpt-llama2")
PAPER_CAPACITY = 16492  # the KV budget of the predecessor paper (arXiv 2502.07115)
PAPER_SAMPLE = 2000  # requests per instance in the Amin paper's numerical study
PAPER_PROMPTS = "fixed:70"  # LMSYS-Chat-1M, the paper's data, averages 69.5 prompt tokens
LIGHT_LOAD = 2.0  # the paper-like regime's light load: the sample's peak memory is twice the capacity
LOAD_SWEEP = (1.0, 2.0, 4.0, 8.0)  # with short prompts, M = 16,492 is the heavy end (load 12 to 62)
RELATIVE_XS = (0.1, 0.3, 0.5, 0.7, 0.9)
SCHEDULER_NAMES = ("hsf", "amax", "amin", "mcsf", "fcfs")
# Schedulers whose schedule never reads the interval: run once per instance, not once per predictor.
INTERVAL_FREE = ("hsf", "fcfs")
ARRIVALS = ("zero", "trace")
# What the claims C13-C15 read: the condition study runs these schedulers on these predictors only.
CLAIM_SCHEDULERS = ("hsf", "amin", "amax")
READING_NAMES = tuple(READINGS)
# The readings the engines serve too slowly today for the default's 10 minutes (2,000-request cells; docs/report.md
# has the measurements): kv-blocks-16 runs on the reference loop (memory in blocks is a staircase between events,
# which the fast engine does not model); under refine-g, refine-at-eviction, plan-initial and skip-misfit the fast
# engine tests a waiting request every round. The default tables show their rows as "not run";
# `--readings all` runs them on every regime of the study.
SLOW_READINGS = ("refine-g", "refine-at-eviction", "plan-initial", "skip-misfit", "kv-blocks-16")
DEFAULT_READINGS = tuple(r for r in READING_NAMES if r not in SLOW_READINGS)

# Fields added to Cell after CELL_VERSION 2, with the value that means what the cell did before they existed.
# At that value a field is left out of the hash, so every cell of the earlier grid keeps its key.
_LATER_FIELDS = {"prompts": "real", "load": None, "reading": "spec"}


def parse_prompts(text: str) -> str:
    """A prompt regime in its canonical spelling: "real" (the trace's prompts), "fixed:S" (every prompt S
    tokens) or "scaled:K" (every prompt times K, rounded). ValueError (one line) on anything else."""
    text = str(text).strip()
    if text == "real":
        return text
    m = re.fullmatch(r"(fixed|scaled):\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)", text)
    if m is None:
        raise ValueError(f"unknown prompt regime {text!r} (forms: real, fixed:S, scaled:K)")
    kind, value = m.group(1), float(m.group(2))
    if kind == "fixed":
        if value != int(value):
            raise ValueError(f"prompt regime {text!r}: fixed:S needs a whole number of tokens")
        return f"fixed:{int(value)}"
    if not math.isfinite(value):
        raise ValueError(f"prompt regime {text!r}: K must be finite")
    return f"scaled:{value:g}"


def parse_load(text: str | float) -> float:
    """A load n (s + o) / M: a finite number > 0. ValueError (one line) otherwise."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"a load must be a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"a load must be a number > 0, got {text!r}")
    return value


def parse_reading(text: str) -> str:
    if text not in READINGS:
        raise ValueError(f"unknown reading {text!r} (choose from {', '.join(READINGS)})")
    return text


def _load_text(load: float) -> str:
    return f"{load:g}"


@dataclass(frozen=True)
class Regime:
    """A workload regime: how prompts are set (outputs stay real), how the capacity is chosen (in tokens, or by
    load: M = ceil(sum over the sampled requests of (s + o) / load)) and when requests arrive."""

    prompts: str = "real"
    capacity: int = PAPER_CAPACITY  # tokens; 0 when the capacity is chosen by load
    load: float | None = None
    arrivals: str = "zero"

    def __post_init__(self) -> None:
        object.__setattr__(self, "prompts", parse_prompts(self.prompts))
        if self.load is not None:
            object.__setattr__(self, "load", parse_load(self.load))
            object.__setattr__(self, "capacity", 0)
        elif self.capacity < 1:
            raise ValueError(f"a regime needs a capacity >= 1 or a load, got capacity {self.capacity}")
        if self.arrivals not in ARRIVALS:
            raise ValueError(f"arrivals must be one of {', '.join(ARRIVALS)}, got {self.arrivals!r}")

    @property
    def size(self) -> str:
        """How the capacity is chosen, in a few characters: "M 16492" or "load 2"."""
        return f"M {self.capacity}" if self.load is None else f"load {_load_text(self.load)}"

    def label(self) -> str:
        """A short column name: "real, M 16492, zero"."""
        return f"{self.prompts}, {self.size}, {self.arrivals}"

    def describe(self) -> str:
        """A phrase for prose and figure titles."""
        prompts = {"real": "real prompts"}.get(self.prompts, f"prompts {self.prompts}")
        size = f"M = {self.capacity:,}" if self.load is None else f"load {_load_text(self.load)}"
        return f"{prompts}, {size}, {self.arrivals} arrivals"


STATED = Regime()  # the setting in which the verdicts C13-C15 were fixed: real prompts, M = 16,492, zero arrivals


@dataclass(frozen=True)
class Cell:
    """One unit of work. kind "sim": one scheduler on one instance; "bound": the OPT lower bound of an
    instance; "exact": a small scaled-down sub-sample solved exactly, with the schedulers beside OPT.

    A sim cell's workload regime: `prompts` (real, fixed:S or scaled:K, applied to the sample), `capacity` in
    tokens or, when `load` is set, chosen by load (capacity 0), and `arrivals`. `reading` names an entry of
    `amin.rules.READINGS`: the reading of the paper under which every scheduler of the cell runs."""

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
    prompts: str = "real"
    load: float | None = None
    reading: str = "spec"

    def __post_init__(self) -> None:
        # One spelling per value, so equal cells hash equally ("fixed:070" is "fixed:70", load 2 is 2.0).
        object.__setattr__(self, "prompts", parse_prompts(self.prompts))
        if self.load is not None:
            object.__setattr__(self, "load", parse_load(self.load))
        parse_reading(self.reading)

    def params(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def key(self) -> str:
        params = {k: v for k, v in self.params().items() if not (k in _LATER_FIELDS and v == _LATER_FIELDS[k])}
        blob = json.dumps({"v": CELL_VERSION, **params}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def regime(self) -> Regime:
        return Regime(self.prompts, self.capacity, self.load, self.arrivals)

    @property
    def instance_key(self) -> tuple[Any, ...]:
        """Cells with equal instance keys run on the same requests (the interval may differ)."""
        return (
            self.trace,
            self.n,
            self.seed,
            self.prompts,
            self.capacity,
            self.load,
            self.arrivals,
            self.round_seconds,
        )

    def label(self) -> str:
        """A short human name for messages: kind, trace, size, seed and what distinguishes the cell."""
        size = f"capacity {self.capacity}" if self.load is None else f"load {_load_text(self.load)}"
        extra = "".join(
            f" {v}"
            for v in (
                f"prompts {self.prompts}" if self.prompts != "real" else "",
                f"reading {self.reading}" if self.reading != "spec" else "",
            )
            if v
        )
        what = {
            "sim": f"{self.scheduler} {self.predictor} {size} arrivals {self.arrivals}{extra}",
            "bound": f"capacity {self.capacity} arrivals {self.arrivals}",
            "exact": f"scale {self.scale}",
        }.get(self.kind, "")
        return f"{self.kind} {self.trace} n={self.n} seed {self.seed} {what}".rstrip()

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Cell:
        return cls(**params)


@dataclass(frozen=True)
class Study:
    """One block of the condition study: every listed reading on every listed regime, on these sample seeds
    (None: the grid's readings or seeds). Only what claims C13-C15 read runs: H-SF, Amin and Amax with the
    grid's crude, binned and relative(x) predictors."""

    regimes: tuple[Regime, ...]
    readings: tuple[str, ...] | None = None
    seeds: tuple[int, ...] | None = None


DEFAULT_STUDIES = (
    # Where the verdicts are given: every default reading, with every seed, so each cell of that column is a mean
    # of 3 seeds like the verdict itself.
    Study((STATED,), readings=DEFAULT_READINGS),
    # The trace's arrivals, and the paper-like regime (short prompts) at the paper's capacity and at a light load:
    # one seed (short prompts at M = 16,492 make Amin evict thousands of times: 1-2 s a cell).
    Study(
        (Regime(arrivals="trace"), Regime(PAPER_PROMPTS), Regime(PAPER_PROMPTS, load=LIGHT_LOAD)),
        readings=DEFAULT_READINGS,
        seeds=(0,),
    ),
    # The load sweep, light to heavy, for both prompt regimes: SPEC's reading, one seed.
    Study(
        tuple(Regime(p, load=x) for p in ("real", PAPER_PROMPTS) for x in LOAD_SWEEP), readings=("spec",), seeds=(0,)
    ),
)


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
    bound_time_limit: float | None = 30.0  # each of optimal.lower_bound and optimal.bracket
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
    # The condition study (claims C13-C15 under every reading and workload regime): the rows of its tables are
    # `readings`, the columns the regimes of `studies`.
    readings: tuple[str, ...] = READING_NAMES
    studies: tuple[Study, ...] = DEFAULT_STUDIES

    def narrowed(
        self,
        traces: Sequence[str] | None = None,
        capacities: Sequence[int] | None = None,
        predictors: Sequence[str] | None = None,
    ) -> GridSpec:
        spec = self
        if traces:
            spec = replace(spec, traces=tuple(traces))
        if capacities:
            caps = tuple(capacities)
            spec = replace(
                spec,
                capacities=caps,
                bound_capacities=tuple(c for c in spec.bound_capacities if c in caps),
                studies=_keep(spec.studies, lambda r: r.load is not None or r.capacity in caps),
            )
        if predictors:
            spec = replace(spec, predictors=tuple(predictors), sweep_predictors=None)
        return spec

    def with_regimes(
        self,
        prompts: Sequence[str] | None = None,
        loads: Sequence[float] | None = None,
        arrivals: Sequence[str] | None = None,
        readings: Sequence[str] | None = None,
    ) -> GridSpec:
        """The grid with its workload axes set from the command line. `arrivals` narrows the main grid and the
        studies; `prompts` or `loads` replace the studies by one: every reading on every regime of
        prompts x (capacities + loads) x arrivals; `readings` sets the rows."""
        spec = self
        if arrivals:
            arr = tuple(arrivals)
            spec = replace(spec, arrivals=arr, studies=_keep(spec.studies, lambda r: r.arrivals in arr))
        if readings:
            # The rows become these readings, and every block that compares readings runs exactly these.
            rows = tuple(readings)
            spec = replace(
                spec,
                readings=rows,
                studies=tuple(
                    replace(s, readings=None) if s.readings is None or len(s.readings) > 1 else s for s in spec.studies
                ),
            )
        if prompts or loads:
            regimes = [
                Regime(p, capacity=c, arrivals=a)
                for p in prompts or ("real",)
                for c in spec.capacities
                for a in spec.arrivals
            ]
            regimes += [
                Regime(p, load=x, arrivals=a) for p in prompts or ("real",) for x in loads or () for a in spec.arrivals
            ]
            spec = replace(spec, studies=(Study(tuple(dict.fromkeys(regimes))),))
        return spec

    @property
    def regimes(self) -> tuple[Regime, ...]:
        """Every regime of the condition study, in the order of its tables' columns."""
        return tuple(dict.fromkeys(r for s in self.studies for r in s.regimes))

    def seeds_of(self, regime: Regime) -> tuple[int, ...]:
        """The sample seeds the condition study judges a regime on: those of the blocks that run it (the grid's
        seeds for a regime of the main grid only), so that every reading in a column averages the same seeds."""
        seeds = [
            x for s in self.studies if regime in s.regimes for x in (s.seeds if s.seeds is not None else self.seeds)
        ]
        return tuple(sorted(set(seeds))) if seeds else self.seeds

    @property
    def reading_regimes(self) -> tuple[Regime, ...]:
        """The columns of the readings-by-regimes tables: the stated regime and every regime that runs more than
        one reading (regimes run under SPEC's reading only are in the load map)."""
        many = [r for s in self.studies if s.readings is None or len(s.readings) > 1 for r in s.regimes]
        return tuple(dict.fromkeys((self.stated, *many)))

    @property
    def stated(self) -> Regime:
        """The regime where the claims get their verdict word: the paper's capacity (or the grid's first one),
        real prompts, zero arrivals."""
        return Regime(capacity=PAPER_CAPACITY if PAPER_CAPACITY in self.capacities else self.capacities[0])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _keep(studies: tuple[Study, ...], keep: Any) -> tuple[Study, ...]:
    out = []
    for s in studies:
        regimes = tuple(r for r in s.regimes if keep(r))
        if regimes:
            out.append(replace(s, regimes=regimes))
    return tuple(out)


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
    readings=("spec", "evict-by-progress"),
    studies=(
        Study((STATED, Regime(PAPER_PROMPTS), Regime(PAPER_PROMPTS, load=LIGHT_LOAD))),
        Study((Regime(PAPER_PROMPTS, load=8.0),), readings=("spec",)),
    ),
)


def trace_has_arrivals(name: str) -> bool:
    """Only traces with their own arrival times get the 'trace' arrivals setting."""
    try:
        from amin.traces import TRACES
    except ImportError:  # pragma: no cover - the traces module is part of the package
        return False
    info = TRACES.get(name)
    return bool(info and info.has_arrivals)


def trace_has_predicted(name: str) -> bool:
    try:
        from amin.traces import TRACES
    except ImportError:  # pragma: no cover
        return False
    info = TRACES.get(name)
    return bool(info and info.has_predicted)


def build_grid(spec: GridSpec) -> list[Cell]:
    """All cells of the spec, in a stable order without repeats: simulations (the main grid, then the condition
    study), then OPT bounds, then exact sub-samples."""
    cells: list[Cell] = []
    for trace in spec.traces:
        arrivals = [a for a in spec.arrivals if a == "zero" or trace_has_arrivals(trace)]
        for seed in spec.seeds:
            for capacity in spec.capacities:
                for arr in arrivals:
                    base = Cell("sim", trace, spec.n, seed, capacity, arr, round_seconds=spec.round_seconds)
                    cells.extend(_sim_cells(base, spec, trace))
    claim_predictors = tuple(p for p in spec.predictors if p in ("crude", "binned") or p.startswith("relative("))
    for study in spec.studies:
        for trace in spec.traces:
            for seed in study.seeds if study.seeds is not None else spec.seeds:
                for regime in study.regimes:
                    if regime.arrivals == "trace" and not trace_has_arrivals(trace):
                        continue
                    for reading in study.readings if study.readings is not None else spec.readings:
                        if reading not in spec.readings:
                            continue
                        base = Cell(
                            "sim",
                            trace,
                            spec.n,
                            seed,
                            regime.capacity,
                            regime.arrivals,
                            round_seconds=spec.round_seconds,
                            prompts=regime.prompts,
                            load=regime.load,
                            reading=reading,
                        )
                        cells.extend(_claim_cells(base, claim_predictors, spec.schedulers))
    for trace in spec.traces:
        for seed in (s for s in spec.bound_seeds if s in spec.seeds):
            for capacity in spec.bound_capacities:
                cells.append(
                    Cell(
                        "bound",
                        trace,
                        spec.n,
                        seed,
                        capacity,
                        "zero",
                        round_seconds=spec.round_seconds,
                        time_limit=spec.bound_time_limit,
                    )
                )
    for trace in spec.traces:
        for seed in spec.exact_seeds:
            cells.append(
                Cell(
                    "exact",
                    trace,
                    spec.exact_n,
                    seed,
                    0,
                    "zero",
                    spec.exact_predictor,
                    round_seconds=spec.round_seconds,
                    time_limit=spec.exact_time_limit,
                    scale=spec.exact_scales.get(trace, 1),
                    concurrency=spec.exact_concurrency,
                )
            )
    return list(dict.fromkeys(cells))


def predictors_at(spec: GridSpec, capacity: int) -> tuple[str, ...]:
    """The predictors swept at this capacity: all at the paper's capacity, `sweep_predictors` elsewhere."""
    if spec.sweep_predictors is None or capacity == PAPER_CAPACITY:
        return spec.predictors
    return tuple(p for p in spec.predictors if p in spec.sweep_predictors)


def _claim_cells(base: Cell, predictors: tuple[str, ...], schedulers: tuple[str, ...]) -> Iterable[Cell]:
    for scheduler in (s for s in CLAIM_SCHEDULERS if s in schedulers):
        if scheduler in INTERVAL_FREE:
            yield replace(base, scheduler=scheduler, predictor="crude")
        else:
            for predictor in predictors:
                yield replace(base, scheduler=scheduler, predictor=predictor)


def _sim_cells(base: Cell, spec: GridSpec, trace: str) -> Iterable[Cell]:
    for scheduler in spec.schedulers:
        if scheduler in INTERVAL_FREE:
            # The interval is never read: one run per instance (crude only builds the instance).
            yield replace(base, scheduler=scheduler, predictor="crude")
        elif scheduler == "mcsf":
            # mcsf plans with the trace's point prediction; without one it plans with the upper bound and
            # is then identical to amax, so it runs only on traces that carry predictions.
            if trace_has_predicted(trace):
                yield replace(
                    base,
                    scheduler=scheduler,
                    predictor="predictor" if "predictor" in spec.predictors else spec.predictors[0],
                )
        else:
            for predictor in predictors_at(spec, base.capacity):
                if predictor.startswith("predictor") and not trace_has_predicted(trace):
                    continue  # the learned predictor needs the trace's point predictions
                yield replace(base, scheduler=scheduler, predictor=predictor)
