"""Interval predictors for experiments (SPEC section 5): crude, binned, relative(x), and `predictor`, built from
a real length predictor's estimates; each turns true output lengths into predicted intervals [lower, upper]."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .traces import Trace

# The Amin paper's bins start 1, 50, 100, 200, 500, 1000; past 1000 we keep doubling, so every
# output length falls in some finite bin (8000 is the last listed edge; 16000, 32000, ... follow).
DEFAULT_EDGES: tuple[int, ...] = (1, 50, 100, 200, 500, 1000, 2000, 4000, 8000)

FORMS = "crude, crude(LO,HI), binned, binned(E1,E2,...), relative(X), predictor, predictor(MISS[,seed=S])"


def _as_int_array(a: Any, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a one-dimensional array, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _outputs(output: Any) -> np.ndarray:
    o = _as_int_array(output, "output")
    if o.size and o.min() < 1:
        raise ValueError(f"every output length must be >= 1, got {int(o.min())}")
    return o


class IntervalPredictor:
    """Base class: `name` (e.g. "relative(0.5)") and `intervals(output, predicted, rng) -> (lower, upper)`.

    Subclasses return int64 arrays with 1 <= lower <= upper. `needs_predicted` says whether the
    predictor reads point predictions; `check_disjoint` lets a calibrated predictor refuse to
    be evaluated on its own calibration rows.
    """

    needs_predicted: bool = False

    @property
    def name(self) -> str:
        raise NotImplementedError

    def intervals(
        self, output: Any, predicted: Any = None, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def check_disjoint(self, trace: Trace) -> None:
        """Raise ValueError when `trace` shares rows with this predictor's calibration data (default: none)."""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Crude(IntervalPredictor):
    """The same interval [lo, hi] for every request; it misses every output above hi (and below lo)."""

    lo: int = 1
    hi: int = 1000

    def __post_init__(self) -> None:
        if not (_is_int(self.lo) and _is_int(self.hi) and 1 <= self.lo <= self.hi):
            raise ValueError(f"crude needs integers 1 <= lo <= hi, got lo={self.lo!r}, hi={self.hi!r}")

    @property
    def name(self) -> str:
        return "crude" if (self.lo, self.hi) == (1, 1000) else f"crude({self.lo},{self.hi})"

    def intervals(self, output, predicted=None, rng=None):  # type: ignore[no-untyped-def]
        o = _outputs(output)
        return np.full(o.shape, self.lo, dtype=np.int64), np.full(o.shape, self.hi, dtype=np.int64)


@dataclass(frozen=True)
class Binned(IntervalPredictor):
    """The bin containing the true output: edges e_k <= o < e_{k+1} give [e_k, e_{k+1} - 1].

    Past the last edge e the bins keep doubling: [e 2^j, e 2^(j+1) - 1] holds o.
    """

    edges: tuple[int, ...] = DEFAULT_EDGES

    def __post_init__(self) -> None:
        e = tuple(self.edges)
        object.__setattr__(self, "edges", e)
        if not e or not all(_is_int(x) for x in e) or e[0] != 1 or any(b <= a for a, b in zip(e, e[1:], strict=False)):
            raise ValueError(f"binned edges must be strictly increasing integers starting at 1, got {e!r}")

    @property
    def name(self) -> str:
        return "binned" if self.edges == DEFAULT_EDGES else "binned(" + ",".join(map(str, self.edges)) + ")"

    def intervals(self, output, predicted=None, rng=None):  # type: ignore[no-untyped-def]
        o = _outputs(output)
        e = np.array(self.edges, dtype=np.int64)
        k = np.searchsorted(e, o, side="right") - 1  # e[k] <= o (e[0] = 1 <= o)
        inside = k < len(e) - 1
        lower = e[k].copy()
        upper = np.where(inside, e[np.minimum(k + 1, len(e) - 1)] - 1, 0)
        last = int(e[-1])
        past = ~inside
        if past.any():
            # Doubling bins past the last edge: the largest j with last * 2^j <= o, in exact integers.
            j = np.floor(np.log2(o[past] / last)).astype(np.int64)
            j = np.where(last << j > o[past], j - 1, j)
            j = np.where(last << (j + 1) <= o[past], j + 1, j)
            lower[past] = last << j
            upper[past] = (last << (j + 1)) - 1
        return lower.astype(np.int64), upper.astype(np.int64)


@dataclass(frozen=True)
class Relative(IntervalPredictor):
    """[max(1, ceil((1-x) o)), max(that, floor((1+x) o))], computed exactly (x read as its decimal form)."""

    x: float

    def __post_init__(self) -> None:
        x = self.x
        if not isinstance(x, (int, float)) or isinstance(x, bool) or not (math.isfinite(x) and x >= 0):
            raise ValueError(f"relative(x) needs a finite x >= 0, got {self.x!r}")

    @property
    def name(self) -> str:
        return f"relative({self.x:g})"

    def intervals(self, output, predicted=None, rng=None):  # type: ignore[no-untyped-def]
        o = _outputs(output)
        # Exact rationals: (1 - 0.3) * 10 is 7.000000000000001 in floats, and its ceiling would be 8.
        x = Fraction(repr(float(self.x)))
        num_lo, num_hi, den = x.denominator - x.numerator, x.denominator + x.numerator, x.denominator
        biggest = int(o.max()) if o.size else 0
        if num_hi * biggest < 2**62:  # integer numpy arithmetic is exact here
            lower = np.maximum(1, -((-num_lo * o) // den))
            upper = (num_hi * o) // den
        else:  # huge denominators or outputs: Python integers
            lower = np.array([max(1, -((-num_lo * int(v)) // den)) for v in o], dtype=np.int64)
            upper = np.array([(num_hi * int(v)) // den for v in o], dtype=np.int64)
        return lower.astype(np.int64), np.maximum(lower, upper).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Learned(IntervalPredictor):
    """A real point prediction p widened by the empirical quantiles of the ratio o / p.

    With the ratio's quantiles r_lo (at miss/2) and r_hi (at 1 - miss/2) on a calibration
    set, the interval is [max(1, ceil(r_lo p)), max(that, floor(r_hi p))]: it misses the truth
    for about a `miss` fraction of requests like those it was calibrated on.
    """

    miss: float
    seed: int
    ratio_low: float
    ratio_high: float
    calibration_size: int
    calibration_sha256: str = field(repr=False)
    calibration_rows: np.ndarray = field(repr=False)
    holdout: Trace = field(repr=False)

    needs_predicted = True

    @property
    def name(self) -> str:
        return f"predictor({self.miss:g})" if not self.seed else f"predictor({self.miss:g},seed={self.seed})"

    def intervals(self, output, predicted=None, rng=None):  # type: ignore[no-untyped-def]
        o = _outputs(output)
        if predicted is None:
            raise ValueError(
                f"{self.name} needs point predictions: use a trace with a predicted column "
                "(e.g. sharegpt-predicted, through the predictor's holdout)"
            )
        p = _as_int_array(predicted, "predicted")
        if p.shape != o.shape:
            raise ValueError(f"predicted has {p.size} entries, output has {o.size}")
        if p.size and p.min() < 1:
            raise ValueError(f"every point prediction must be >= 1, got {int(p.min())}")
        # The tolerance keeps a request whose ratio equals a quantile exactly inside its interval.
        lower = np.maximum(1, np.ceil(self.ratio_low * p - 1e-9)).astype(np.int64)
        upper = np.floor(self.ratio_high * p + 1e-9).astype(np.int64)
        return lower, np.maximum(lower, upper)

    def check_disjoint(self, trace: Trace) -> None:
        if trace.sha256 == self.calibration_sha256 and np.intersect1d(trace.rows, self.calibration_rows).size:
            shared = np.intersect1d(trace.rows, self.calibration_rows).size
            raise ValueError(
                f"{shared} requests of trace {trace.name} were used to calibrate {self.name}: "
                "evaluate it on the predictor's holdout trace (or a sample of it)"
            )


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def crude(lo: int = 1, hi: int = 1000) -> Crude:
    """[lo, hi] for every request (the paper's [1, 1000]); outputs above hi fall outside."""
    return Crude(lo, hi)


def binned(edges: tuple[int, ...] = DEFAULT_EDGES) -> Binned:
    """The bin of `edges` holding the true output (doubling past the last edge)."""
    return Binned(tuple(edges))


def relative(x: float) -> Relative:
    """[ceil((1-x) o), floor((1+x) o)], clamped to 1 <= lower <= upper."""
    return Relative(x)


def predictor(miss: float = 0.2, *, seed: int = 0, calibration: Trace | None = None) -> Learned:
    """The learned predictor of sharegpt-predicted, widened so that about `miss` of its intervals miss.

    `calibration` (default: the bundled sharegpt-predicted trace) is split by `seed` into two
    halves; the ratio quantiles come from the first, and the second is `holdout`, the
    requests to evaluate on. Evaluating on calibration rows raises ValueError.
    """
    if not isinstance(miss, (int, float)) or isinstance(miss, bool) or not 0.0 < miss < 1.0:
        raise ValueError(f"predictor(miss) needs 0 < miss < 1, got {miss!r}")
    if not _is_int(seed):
        raise ValueError(f"predictor seed must be an integer, got {seed!r}")
    if calibration is None:
        return _bundled(float(miss), int(seed))
    return _calibrate(float(miss), int(seed), calibration)


@lru_cache(maxsize=32)
def _bundled(miss: float, seed: int) -> Learned:
    # Cached: the report builds the same predictor for every cell; Learned and its traces are immutable.
    from .traces import load_trace

    return _calibrate(miss, seed, load_trace("sharegpt-predicted"))


def _calibrate(miss: float, seed: int, trace: Trace) -> Learned:
    if trace.predicted is None:
        raise ValueError(f"trace {trace.name} has no point predictions to calibrate on")
    if len(trace) < 2:
        raise ValueError(f"trace {trace.name} is too small to split into calibration and holdout halves")
    cal, hold = trace.split(seed, 0.5)
    ratio = cal.output / cal.predicted
    lo, hi = np.quantile(ratio, [miss / 2, 1 - miss / 2])
    return Learned(
        miss=miss,
        seed=seed,
        ratio_low=float(lo),
        ratio_high=float(hi),
        calibration_size=len(cal),
        calibration_sha256=cal.sha256,
        calibration_rows=cal.rows,
        holdout=hold,
    )


def interval_stats(lower: Any, upper: Any, output: Any) -> dict[str, float]:
    """Coverage (fraction with lower <= o <= upper), mean width (upper - lower + 1) and mean alpha (lower / upper)."""
    lo, up, o = (_as_int_array(a, n) for a, n in ((lower, "lower"), (upper, "upper"), (output, "output")))
    if not (lo.shape == up.shape == o.shape):
        raise ValueError(f"lower, upper and output differ in length: {lo.size}, {up.size}, {o.size}")
    if not lo.size:
        raise ValueError("interval_stats needs at least one request")
    return {
        "coverage": float(np.mean((lo <= o) & (o <= up))),
        "mean_width": float(np.mean(up - lo + 1)),
        "mean_alpha": float(np.mean(lo / up)),
    }


_CALL = re.compile(r"^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$")


def _value(text: str, spec: str) -> int | float:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"predictor {spec!r}: {t!r} is not a number (forms: {FORMS})") from None
    if not math.isfinite(v):
        raise ValueError(f"predictor {spec!r}: {t!r} is not a finite number")
    return v


def parse_predictor(spec: str) -> IntervalPredictor:
    """A predictor from its name: "crude", "crude(1,500)", "binned", "binned(1,10,100)", "relative(0.3)",
    "predictor", "predictor(0.1)", "predictor(0.1,seed=2)". Raises ValueError (one line) on anything else."""
    if not isinstance(spec, str):
        raise ValueError(f"a predictor name must be a string, got {spec!r}")
    m = _CALL.match(spec)
    if m is None:
        raise ValueError(f"cannot read predictor {spec!r} (forms: {FORMS})")
    kind, inner = m.group(1), m.group(2)
    args: list[int | float] = []
    kwargs: dict[str, int | float] = {}
    if inner is not None and inner.strip():
        for part in inner.split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                kwargs[k.strip()] = _value(v, spec)
            elif kwargs:
                raise ValueError(f"predictor {spec!r}: positional value after a keyword")
            else:
                args.append(_value(part, spec))
    if inner is not None and not inner.strip() and kind == "relative":
        raise ValueError("relative needs x, e.g. relative(0.3)")
    try:
        if kind == "crude" and not kwargs:
            return crude(*args)  # type: ignore[arg-type]
        if kind == "binned" and not kwargs:
            return binned(tuple(args) if args else DEFAULT_EDGES)  # type: ignore[arg-type]
        if kind == "relative" and len(args) == 1 and not kwargs:
            return relative(args[0])
        if kind == "predictor" and len(args) <= 1 and set(kwargs) <= {"seed"}:
            return predictor(*args, **kwargs)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"predictor {spec!r}: wrong number of values (forms: {FORMS})") from None
    raise ValueError(f"unknown predictor {spec!r} (forms: {FORMS})")
