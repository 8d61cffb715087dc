"""Real request traces (bundled in amin/data/) and a loader for the user's own CSV or JSONL, turned into instances.

Rows that cannot form a valid request are skipped and counted by reason, never passed on
silently and never fatal; see docs/data.md for each trace and the arrival-time convention.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .model import Instance, Request

if TYPE_CHECKING:
    from .predictors import IntervalPredictor

DATA_DIR = Path(__file__).resolve().parent / "data"

# One decode round of a 7B-13B model on one GPU takes tens of milliseconds; 20 ms is the
# middle of that range (docs/data.md). It only matters for traces with arrival times.
ROUND_SECONDS = 0.02

ARRIVAL_UNITS = ("seconds", "milliseconds", "rounds", "timestamp")
ArrivalUnit = Literal["seconds", "milliseconds", "rounds", "timestamp"]

# Skip reasons, in the order a row is tested: the first that applies names the row's reason.
SKIP_REASONS = (
    "bad-json",
    "missing",
    "non-numeric",
    "non-integer",
    "bad-timestamp",
    "prompt<0",
    "output<1",
    "predicted<1",
)


@dataclass(frozen=True)
class TraceInfo:
    """A bundled trace: where its file is, what its columns mean, what it offers."""

    name: str
    directory: str
    file: str
    prompt_column: str
    output_column: str
    arrival_column: str | None
    arrival_unit: ArrivalUnit
    predicted_column: str | None
    license: str
    source: str
    columns: Mapping[str, str]

    @property
    def path(self) -> Path:
        return DATA_DIR / self.directory / self.file

    @property
    def has_arrivals(self) -> bool:
        return self.arrival_column is not None

    @property
    def has_predicted(self) -> bool:
        return self.predicted_column is not None


_AZURE_CONV = TraceInfo(
    name="azure-conv",
    directory="azure_llm_inference_2023",
    file="AzureLLMInferenceTrace_conv.csv",
    prompt_column="ContextTokens",
    output_column="GeneratedTokens",
    arrival_column="TIMESTAMP",
    arrival_unit="timestamp",
    predicted_column=None,
    license="CC-BY-4.0",
    source="Azure/AzurePublicDataset, Azure LLM inference trace 2023 (Splitwise, ISCA 2024)",
    columns={
        "TIMESTAMP": "invocation time, 2023-11-16 hh:mm:ss.fffffff",
        "ContextTokens": "prompt tokens",
        "GeneratedTokens": "output tokens",
    },
)


TRACES: dict[str, TraceInfo] = {
    t.name: t
    for t in (
        _AZURE_CONV,
        replace(_AZURE_CONV, name="azure-code", file="AzureLLMInferenceTrace_code.csv"),
        TraceInfo(
            name="sharegpt-predicted",
            directory="sharegpt_predicted_lengths",
            file="sharegpt_val_10k_predicted_len.csv",
            prompt_column="num_prefill_tokens",
            output_column="num_decode_tokens",
            arrival_column=None,
            arrival_unit="seconds",
            predicted_column="num_predicted_decode_tokens",
            license="MIT",
            source="AKafakA/vidur_opt_scheduler @ 845f97c, sharegpt-val-10k-predicted-len.csv",
            columns={
                "num_prefill_tokens": "prompt tokens",
                "num_decode_tokens": "true output tokens",
                "num_total_tokens": "prompt + output (unused)",
                "pd_ratio": "decode / prefill (unused)",
                "num_predicted_decode_tokens": "a learned predictor's output-length estimate",
            },
        ),
        TraceInfo(
            name="mooncake-conv",
            directory="mooncake_conversation_2025",
            file="conversation_trace.jsonl",
            prompt_column="input_length",
            output_column="output_length",
            arrival_column="timestamp",
            arrival_unit="milliseconds",
            predicted_column=None,
            license="Apache-2.0",
            source="kvcache-ai/Mooncake, FAST25-release/traces/conversation_trace.jsonl",
            columns={
                "timestamp": "arrival, milliseconds from the trace start",
                "input_length": "prompt tokens",
                "output_length": "output tokens",
                "hash_ids": "prefix-cache block hashes, 512 tokens per block (unused)",
            },
        ),
        TraceInfo(
            name="sharegpt-llama2",
            directory="sharegpt_llama2_lengths",
            file="sharegpt_8k_filtered_stats_llama2_tokenizer.csv",
            prompt_column="num_prefill_tokens",
            output_column="num_decode_tokens",
            arrival_column=None,
            arrival_unit="seconds",
            predicted_column=None,
            license="Apache-2.0",
            source="project-etalon/etalon (also Sarathi-Serve, Vidur), sharegpt_8k_filtered_stats_llama2_tokenizer.csv",
            columns={
                "num_prefill_tokens": "prompt tokens (Llama-2 tokenizer)",
                "num_decode_tokens": "output tokens (Llama-2 tokenizer)",
                "num_total_tokens": "prompt + output (unused)",
                "pd_ratio": "prefill / decode (unused)",
            },
        ),
    )
}


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.int64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Trace:
    """Requests read from a trace: integer token counts and arrival rounds, one entry per kept row.

    `rows[k]` is the position of request k among the kept rows of the source file, so that
    samples and calibration splits of one file can be checked for overlap.
    """

    name: str
    prompt: np.ndarray
    output: np.ndarray
    arrival: np.ndarray
    predicted: np.ndarray | None
    skipped: Mapping[str, int]
    source: str
    sha256: str
    rows: np.ndarray = None  # type: ignore[assignment]  # None means 0..n-1, filled in __post_init__

    def __post_init__(self) -> None:
        n = len(self.prompt)
        object.__setattr__(self, "prompt", _frozen(self.prompt))
        object.__setattr__(self, "output", _frozen(self.output))
        object.__setattr__(self, "arrival", _frozen(self.arrival))
        if self.predicted is not None:
            object.__setattr__(self, "predicted", _frozen(self.predicted))
        object.__setattr__(self, "rows", _frozen(np.arange(n) if self.rows is None else self.rows))
        object.__setattr__(self, "skipped", dict(self.skipped))
        for f in ("output", "arrival", "rows") + (("predicted",) if self.predicted is not None else ()):
            if len(getattr(self, f)) != n:
                raise ValueError(f"trace {self.name}: column '{f}' has {len(getattr(self, f))} entries, prompt has {n}")

    def __len__(self) -> int:
        return len(self.prompt)

    def _take(self, idx: np.ndarray, name: str | None = None) -> Trace:
        arrival = self.arrival[idx]
        if len(arrival):
            arrival = arrival - arrival.min()
        return Trace(
            name=self.name if name is None else name,
            prompt=self.prompt[idx],
            output=self.output[idx],
            arrival=arrival,
            predicted=None if self.predicted is None else self.predicted[idx],
            skipped=self.skipped,
            source=self.source,
            sha256=self.sha256,
            rows=self.rows[idx],
        )

    def sample(self, n: int, seed: int) -> Trace:
        """`n` requests drawn without replacement with `numpy.random.default_rng(seed)`.

        The drawn requests keep their order in the trace (stably sorted by arrival) and
        their arrivals are re-based so the first is at round 0.
        """
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"sample size must be an integer >= 1, got {n!r}")
        if n > len(self):
            raise ValueError(f"cannot sample {n} requests from trace {self.name}: it has {len(self)}")
        pick = np.sort(np.random.default_rng(seed).choice(len(self), size=int(n), replace=False))
        pick = pick[np.argsort(self.arrival[pick], kind="stable")]
        return self._take(pick)

    def split(self, seed: int, fraction: float = 0.5) -> tuple[Trace, Trace]:
        """A seeded partition into two disjoint traces of about `fraction` and `1 - fraction` of the rows."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"split fraction must be in (0, 1), got {fraction!r}")
        perm = np.random.default_rng(seed).permutation(len(self))
        k = int(round(fraction * len(self)))
        first, second = np.sort(perm[:k]), np.sort(perm[k:])
        return self._take(first), self._take(second)

    def to_instance(
        self,
        capacity: int,
        predictor: IntervalPredictor | str,
        *,
        arrivals: Literal["zero", "trace"] = "zero",
        seed: int = 0,
    ) -> tuple[Instance, dict[str, int]]:
        """An instance of this trace's requests with the predictor's intervals, and the counts of skipped requests.

        A request that cannot fit alone (`prompt + output > capacity`) is skipped and counted
        under "prompt+output>capacity"; the instance keeps the rest in trace order. `arrivals`
        is "zero" (the offline setting of the Amin paper) or "trace" (the trace's arrival rounds).
        `seed` seeds the generator handed to randomised predictors. Each request's `predicted`
        is the trace's point prediction when it has one, and its `id` is "<trace>#<row>".
        """
        from .predictors import IntervalPredictor, parse_predictor

        if isinstance(predictor, str):
            predictor = parse_predictor(predictor)
        if not isinstance(predictor, IntervalPredictor):
            raise ValueError(f"predictor must be an IntervalPredictor or its name, got {predictor!r}")
        if not isinstance(capacity, (int, np.integer)) or isinstance(capacity, bool) or capacity < 1:
            raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}")
        if arrivals not in ("zero", "trace"):
            raise ValueError(f"arrivals must be 'zero' or 'trace', got {arrivals!r}")
        predictor.check_disjoint(self)
        lower, upper = predictor.intervals(self.output, self.predicted, rng=np.random.default_rng(seed))
        fits = self.prompt + self.output <= capacity
        skipped = {"prompt+output>capacity": int((~fits).sum())}
        if not fits.any():
            largest = int((self.prompt + self.output).max()) if len(self) else 0
            raise ValueError(
                f"no request of trace {self.name} fits capacity {capacity} alone (largest prompt+output is {largest})"
            )
        arrival = self.arrival if arrivals == "trace" else np.zeros(len(self), dtype=np.int64)
        requests = []
        for k in np.flatnonzero(fits):
            requests.append(
                Request(
                    prompt=int(self.prompt[k]),
                    output=int(self.output[k]),
                    lower=int(lower[k]),
                    upper=int(upper[k]),
                    arrival=int(arrival[k]),
                    id=f"{self.name}#{int(self.rows[k])}",
                    predicted=None if self.predicted is None else int(self.predicted[k]),
                )
            )
        if arrivals == "trace":
            # Re-base so the first kept request arrives at round 0 even when an earlier one was skipped.
            first = min(r.arrival for r in requests)
            if first:
                requests = [_shift(r, -first) for r in requests]
        return Instance(int(capacity), tuple(requests)), skipped


def _shift(r: Request, by: int) -> Request:
    return Request(r.prompt, r.output, r.lower, r.upper, r.arrival + by, r.id, r.predicted)


# --- reading files -----------------------------------------------------------------
MAX_TRACE_BYTES = 2 << 30  # a trace is read row by row, but its columns are kept: bound what one file can cost

_TS = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?\s*$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _integer(v: Any) -> int:
    """A token count or round number: an int, or a float / numeric string with an integral value."""
    if isinstance(v, bool) or v is None:
        raise _Skip("missing" if v is None else "non-numeric")
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, str):
        s = v.strip()
        if not s:
            raise _Skip("missing")
        try:
            return int(s)
        except ValueError:
            pass
        try:
            v = float(s)
        except ValueError:
            raise _Skip("non-numeric") from None
    if isinstance(v, float):
        if not math.isfinite(v):
            raise _Skip("non-numeric")
        if not v.is_integer():
            raise _Skip("non-integer")
        return int(v)
    raise _Skip("non-numeric")


def _number(v: Any) -> Fraction:
    """An exact number (decimal strings and floats read by their shortest decimal form)."""
    if isinstance(v, bool) or v is None:
        raise _Skip("missing" if v is None else "non-numeric")
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    if isinstance(v, float):
        if not math.isfinite(v):
            raise _Skip("non-numeric")
        return Fraction(repr(v))
    if isinstance(v, str):
        s = v.strip()
        if not s:
            raise _Skip("missing")
        try:
            f = float(s)
        except ValueError:
            raise _Skip("non-numeric") from None
        if not math.isfinite(f):
            raise _Skip("non-numeric")
        try:
            return Fraction(s)
        except ValueError:
            return Fraction(repr(f))
    raise _Skip("non-numeric")


def _timestamp(v: Any) -> Fraction:
    """Seconds since the epoch, exactly: an ISO date-time (any number of fractional digits;
    naive times are read as UTC) or a number of seconds."""
    if isinstance(v, str):
        m = _TS.match(v)
        if m is None:
            try:
                return _number(v)
            except _Skip as e:
                raise _Skip("missing" if e.reason == "missing" else "bad-timestamp") from None
        whole, digits, tz = m.groups()
        try:
            dt = datetime.fromisoformat(whole + (tz or ""))
        except ValueError:
            raise _Skip("bad-timestamp") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        seconds = (dt - _EPOCH) // timedelta(seconds=1)
        return Fraction(seconds) + (Fraction(int(digits), 10 ** len(digits)) if digits else 0)
    return _number(v)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_jsonl(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return True
    if suffix in (".csv", ".tsv"):
        return False
    with path.open("r", encoding="utf-8-sig") as f:
        for line in f:
            if line.strip():
                return line.lstrip().startswith("{")
    return False


def _rows(path: Path, needed: list[str]) -> Iterator[Mapping[str, Any] | None]:
    """Each data row as a mapping (None for a JSONL line that is not a JSON object)."""
    if _is_jsonl(path):
        with path.open("r", encoding="utf-8-sig") as f:
            for line in f:
                if not line.strip():
                    continue  # blank lines are not rows
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    yield None
                    continue
                yield obj if isinstance(obj, dict) else None
        return
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        header = reader.fieldnames or []
        absent = [c for c in needed if c not in header]
        if absent:
            raise ValueError(f"{path}: no column '{absent[0]}' (columns: {', '.join(header) or 'none'})")
        last: int = reader.line_num
        for row in reader:
            first, last = last + 1, reader.line_num
            if last > first and any("\n" in v or "\r" in v for v in row.values() if isinstance(v, str)):
                # A field opened by a quote ran across line ends: a stray quote would silently swallow every
                # later row into this one, so refuse the file rather than lose them.
                raise ValueError(
                    f"{path}: line {first}: a quoted field runs on to line {last} (a stray quote?); "
                    "a request trace needs one row per line"
                )
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # blank lines are not rows
            yield row


def load_table(
    path: str | Path,
    *,
    prompt_column: str,
    output_column: str,
    arrival_column: str | None = None,
    predicted_column: str | None = None,
    arrival_unit: ArrivalUnit = "seconds",
    round_seconds: float = ROUND_SECONDS,
    name: str | None = None,
) -> Trace:
    """Read a CSV (header row) or JSONL (one object per line) file of requests into a Trace.

    Token counts must be integers (prompt >= 0, output >= 1, predicted >= 1). Arrivals:
    "seconds", "milliseconds" or "timestamp" (ISO date-time or epoch seconds) become
    `floor((t - t0) / round_seconds)` rounds, with t0 the earliest kept arrival; "rounds" are
    integers re-based to the earliest. Without `arrival_column` every arrival is 0. A row that
    cannot form a valid request is skipped and counted in `Trace.skipped` under its reason.
    """
    path = Path(path)
    if arrival_unit not in ARRIVAL_UNITS:
        raise ValueError(f"arrival_unit must be one of {', '.join(ARRIVAL_UNITS)}, got {arrival_unit!r}")
    if (
        not isinstance(round_seconds, (int, float))
        or isinstance(round_seconds, bool)
        or not (math.isfinite(round_seconds) and round_seconds > 0)
    ):
        raise ValueError(f"round_seconds must be a positive number, got {round_seconds!r}")
    if not path.is_file():
        raise ValueError(f"cannot read {path}: no such file" if not path.exists() else f"{path}: not a regular file")
    if path.stat().st_size > MAX_TRACE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_TRACE_BYTES:,} bytes, the limit for a trace file")
    columns = [prompt_column, output_column] + [c for c in (predicted_column, arrival_column) if c is not None]
    prompts: list[int] = []
    outputs: list[int] = []
    predicted: list[int] = []
    times: list[Fraction] = []
    skipped: dict[str, int] = {}
    try:
        for row in _rows(path, columns):
            try:
                if row is None:
                    raise _Skip("bad-json")
                values = [row.get(c) for c in columns]
                if any(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    raise _Skip("missing")
                s, o = _integer(row[prompt_column]), _integer(row[output_column])
                p = _integer(row[predicted_column]) if predicted_column is not None else None
                t: Fraction | None = None
                if arrival_column is not None:
                    v = row[arrival_column]
                    if arrival_unit == "timestamp":
                        t = _timestamp(v)
                    elif arrival_unit == "rounds":
                        t = Fraction(_integer(v))
                    else:
                        t = _number(v)
                if s < 0:
                    raise _Skip("prompt<0")
                if o < 1:
                    raise _Skip("output<1")
                if p is not None and p < 1:
                    raise _Skip("predicted<1")
            except _Skip as e:
                skipped[e.reason] = skipped.get(e.reason, 0) + 1
                continue
            prompts.append(s)
            outputs.append(o)
            if p is not None:
                predicted.append(p)
            if t is not None:
                times.append(t)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as e:
        raise ValueError(f"{path}: malformed CSV: {e}") from None
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    if not prompts:
        raise ValueError(f"{path}: no valid request rows (skipped: {_describe(skipped) or 'none'})")
    if arrival_column is None:
        arrival = np.zeros(len(prompts), dtype=np.int64)
    else:
        t0 = min(times)
        if arrival_unit == "rounds":
            arrival = np.array([int(t - t0) for t in times], dtype=np.int64)
        else:
            per_round = Fraction(repr(float(round_seconds)))
            if arrival_unit == "milliseconds":
                per_round *= 1000
            arrival = np.array([math.floor((t - t0) / per_round) for t in times], dtype=np.int64)
    return Trace(
        name=name if name is not None else path.stem,
        prompt=np.array(prompts, dtype=np.int64),
        output=np.array(outputs, dtype=np.int64),
        arrival=arrival,
        predicted=np.array(predicted, dtype=np.int64) if predicted_column is not None else None,
        skipped=skipped,
        source=str(path),
        sha256=_sha256(path),
    )


def _describe(skipped: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items()))


def load_trace(name: str, *, round_seconds: float = ROUND_SECONDS) -> Trace:
    """Load a bundled trace by name (see `TRACES`); results are cached, traces are immutable."""
    if name not in TRACES:
        raise ValueError(f"unknown trace {name!r} (known: {', '.join(TRACES)})")
    if not isinstance(round_seconds, (int, float)) or isinstance(round_seconds, bool):
        raise ValueError(f"round_seconds must be a positive number, got {round_seconds!r}")
    return _load_cached(name, float(round_seconds))


@lru_cache(maxsize=16)
def _load_cached(name: str, round_seconds: float) -> Trace:
    info = TRACES[name]
    return load_table(
        info.path,
        prompt_column=info.prompt_column,
        output_column=info.output_column,
        arrival_column=info.arrival_column,
        predicted_column=info.predicted_column,
        arrival_unit=info.arrival_unit,
        round_seconds=round_seconds,
        name=info.name,
    )
