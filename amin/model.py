"""Requests and instances (SPEC section 1): immutable data, JSON loading with validation, lossless saving."""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

FORMAT = "amin-instance/1"

MAX_INT = 2**53 - 1
"""The largest integer any field may hold: every count the engines keep then fits exactly in int64 and float64."""
MAX_INPUT_BYTES = 128 << 20
"""The largest JSON file (after decompression) read by default: about a million requests (docs/formats.md)."""

_REQUIRED = ("prompt", "output", "lower", "upper")
_OPTIONAL_INT = ("arrival", "predicted")
_KNOWN = set(_REQUIRED) | set(_OPTIONAL_INT) | {"id"}


class InstanceError(ValueError):
    """A bad instance: the message is one line naming the request and the field."""


@dataclass(frozen=True, slots=True)
class Request:
    """One request: arrival, prompt size, true output length, predicted interval [lower, upper]."""

    prompt: int
    output: int
    lower: int
    upper: int
    arrival: int = 0
    id: str | None = None
    predicted: int | None = None

    @property
    def alpha(self) -> float:
        return self.lower / self.upper

    @property
    def interval_holds(self) -> bool:
        """True when the predicted interval contains the true output length."""
        return self.lower <= self.output <= self.upper

    def public(self) -> PublicRequest:
        """What an online (non-clairvoyant) scheduler may see: everything but the true output."""
        return PublicRequest(self.prompt, self.lower, self.upper, self.arrival, self.id, self.predicted)


@dataclass(frozen=True, slots=True)
class PublicRequest:
    """A request as an online scheduler sees it: the true output length is absent."""

    prompt: int
    lower: int
    upper: int
    arrival: int = 0
    id: str | None = None
    predicted: int | None = None


@dataclass(frozen=True, slots=True)
class Instance:
    """A worker's KV-cache capacity and the requests it must serve (indexed by list position)."""

    capacity: int
    requests: tuple[Request, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "requests", tuple(self.requests))
        _validate(self)

    def __len__(self) -> int:
        return len(self.requests)

    @classmethod
    def model(cls, capacity: int, requests: Iterable[Request]) -> Instance:
        """An instance of the round loop's internal model, built without the checks for user input: under the
        prefill-as-an-extra-round reading a request of prompt 0 is modelled with prompt -1 (amin.rules)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "capacity", capacity)
        object.__setattr__(obj, "requests", tuple(requests))
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The SPEC section 7 JSON form; `load_instance(i.to_dict()) == i`."""
        return {"format": FORMAT, "capacity": self.capacity, "requests": [_request_dict(r) for r in self.requests]}

    def replace_requests(self, requests: Iterable[Request]) -> Instance:
        return Instance(self.capacity, tuple(requests))

    def with_intervals(self, intervals: Iterable[tuple[int, int]]) -> Instance:
        """The same requests with new predicted intervals, one (lower, upper) per request."""
        return self.replace_requests(
            replace(r, lower=lo, upper=up) for r, (lo, up) in zip(self.requests, intervals, strict=True)
        )


def _request_dict(r: Request) -> dict[str, Any]:
    d: dict[str, Any] = {
        "prompt": r.prompt,
        "output": r.output,
        "lower": r.lower,
        "upper": r.upper,
        "arrival": r.arrival,
    }
    if r.id is not None:
        d["id"] = r.id
    if r.predicted is not None:
        d["predicted"] = r.predicted
    return d


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _name(i: int, r: Request | Mapping[str, Any]) -> str:
    rid = r.id if isinstance(r, Request) else r.get("id")
    return f"request {i}" + (f" (id {rid!r})" if rid is not None else "")


def _validate(inst: Instance) -> None:
    if not _is_int(inst.capacity) or inst.capacity < 1:
        raise InstanceError(f"capacity must be an integer >= 1, got {inst.capacity!r}")
    if inst.capacity > MAX_INT:
        raise InstanceError(
            f"capacity {inst.capacity} exceeds 2^53 - 1, the largest integer the engines handle exactly"
        )
    if not inst.requests:
        raise InstanceError("the instance has no requests")
    for i, r in enumerate(inst.requests):
        if not isinstance(r, Request):
            raise InstanceError(f"request {i}: expected a Request, got {type(r).__name__}")
        who = _name(i, r)
        for f, low in (("prompt", 0), ("output", 1), ("lower", 1), ("upper", 1), ("arrival", 0)):
            v = getattr(r, f)
            if not _is_int(v):
                raise InstanceError(f"{who}: field '{f}' must be an integer, got {v!r}")
            if v < low:
                raise InstanceError(f"{who}: field '{f}' must be >= {low}, got {v}")
            if v > MAX_INT:
                raise InstanceError(
                    f"{who}: field '{f}' is {v}, beyond 2^53 - 1, the largest integer the engines handle exactly"
                )
        if r.predicted is not None and (not _is_int(r.predicted) or r.predicted < 1):
            raise InstanceError(f"{who}: field 'predicted' must be an integer >= 1, got {r.predicted!r}")
        if r.predicted is not None and r.predicted > MAX_INT:
            raise InstanceError(
                f"{who}: field 'predicted' is {r.predicted}, beyond 2^53 - 1, the largest integer "
                "the engines handle exactly"
            )
        if r.id is not None and not isinstance(r.id, str):
            raise InstanceError(f"{who}: field 'id' must be a string, got {r.id!r}")
        if r.lower > r.upper:
            raise InstanceError(f"{who}: field 'lower' ({r.lower}) exceeds field 'upper' ({r.upper})")
        if r.prompt + r.output > inst.capacity:
            raise InstanceError(
                f"{who}: cannot fit alone: prompt {r.prompt} + output {r.output} > capacity {inst.capacity}"
            )


def _request_from_dict(i: int, d: Any) -> Request:
    if not isinstance(d, Mapping):
        raise InstanceError(f"request {i}: expected a JSON object, got {type(d).__name__}")
    who = _name(i, d)
    unknown = sorted(set(d) - _KNOWN)
    if unknown:
        raise InstanceError(f"{who}: unknown field '{unknown[0]}' (known: {', '.join(sorted(_KNOWN))})")
    for f in _REQUIRED:
        if f not in d:
            raise InstanceError(f"{who}: missing field '{f}'")
    for f in (*_REQUIRED, *_OPTIONAL_INT):
        if f in d and d[f] is not None and not _is_int(d[f]):
            raise InstanceError(f"{who}: field '{f}' must be an integer, got {d[f]!r}")
    if "arrival" in d and d["arrival"] is None:
        raise InstanceError(f"{who}: field 'arrival' must be an integer, got None")
    return Request(
        prompt=d["prompt"],
        output=d["output"],
        lower=d["lower"],
        upper=d["upper"],
        arrival=d.get("arrival", 0),
        id=d.get("id"),
        predicted=d.get("predicted"),
    )


def instance_from_dict(data: Any) -> Instance:
    """Build an instance from the SPEC section 7 dict (or a dict holding it under an "instance" key)."""
    if isinstance(data, Mapping) and "requests" not in data and isinstance(data.get("instance"), Mapping):
        data = data["instance"]
    if not isinstance(data, Mapping):
        raise InstanceError(f"an instance must be a JSON object, got {type(data).__name__}")
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise InstanceError(f"unknown format {fmt!r} (expected {FORMAT!r})")
    if "capacity" not in data:
        raise InstanceError("missing field 'capacity'")
    if not _is_int(data["capacity"]):
        raise InstanceError(f"capacity must be an integer >= 1, got {data['capacity']!r}")
    reqs = data.get("requests")
    if not isinstance(reqs, list):
        raise InstanceError("field 'requests' must be a list of request objects")
    return Instance(data["capacity"], tuple(_request_from_dict(i, r) for i, r in enumerate(reqs)))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf
        raise ValueError(f"{text} is too large for a number")
    return value


def read_json(path: str | Path, max_bytes: int = MAX_INPUT_BYTES, what: str = "a JSON file") -> Any:
    """Parse a JSON file (gzip when the name ends in .gz) read with a size limit; NaN and Infinity are refused.

    Every error is a ValueError whose message is one line naming the file."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    if path.name.endswith(".gz"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as g:
                raw = g.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error):
            raise ValueError(f"{path}: not a gzip file") from None
    if len(raw) > max_bytes:
        raise ValueError(f"{path}: larger than {max_bytes:,} bytes, the limit for {what}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to be {what}") from None
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def load_instance(source: str | Path | Mapping[str, Any] | Instance, max_bytes: int = MAX_INPUT_BYTES) -> Instance:
    """Load an instance from a JSON file path (gzip if it ends in .gz), a dict, or pass an Instance through."""
    if isinstance(source, Instance):
        return source
    if isinstance(source, Mapping):
        return instance_from_dict(source)
    try:
        data = read_json(source, max_bytes, "an instance")
    except ValueError as e:
        raise InstanceError(str(e)) from None
    try:
        return instance_from_dict(data)
    except InstanceError as e:
        raise InstanceError(f"{source}: {e}") from None


def save_instance(instance: Instance, path: str | Path, **extra: Any) -> Path:
    """Write an instance as JSON (SPEC section 7); `extra` keys are stored beside it at top level."""
    path = Path(path)
    data = instance.to_dict()
    data.update(extra)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def make_instance(capacity: int, requests: Iterable[Mapping[str, Any] | Request]) -> Instance:
    """Convenience: requests given as dicts (SPEC field names) or Request objects."""
    out = [r if isinstance(r, Request) else _request_from_dict(i, r) for i, r in enumerate(requests)]
    return Instance(capacity, tuple(out))


def random_instance(
    rng: random.Random,
    *,
    max_requests: int = 5,
    min_capacity: int = 1,
    max_capacity: int = 14,
    max_output: int = 5,
    max_arrival: int = 4,
    intervals: str = "loose",
    duplicates: float = 0.0,
) -> Instance:
    """A small random valid instance, drawn from `rng` (the one plain random generator: tests, the proofs'
    differential check and benchmarks use it; Hypothesis strategies live in `amin.harness.search.strategies`).

    Capacity in [min_capacity, max_capacity]; each request a prompt below the capacity, an output that fits
    beside it (at most `max_output`), an arrival in [0, max_arrival]. `intervals`: "loose" gives [1, o] (every
    scheduler's interval is correct); "any" gives, half the time, a correct interval drawn around o and else one
    anywhere in [1, M + 1] (it may miss the truth). With probability `duplicates` a request repeats an earlier one.
    """
    if intervals not in ("loose", "any"):
        raise ValueError(f"intervals must be 'loose' or 'any', got {intervals!r}")
    capacity = rng.randint(min_capacity, max_capacity)
    reqs: list[Request] = []
    for _ in range(rng.randint(1, max_requests)):
        if duplicates and reqs and rng.random() < duplicates:
            reqs.append(rng.choice(reqs))
            continue
        s = rng.randint(0, capacity - 1)
        o = rng.randint(1, min(max_output, capacity - s))
        if intervals == "loose":
            lo, up = 1, o
        else:
            lo = rng.randint(1, capacity + 1)
            up = rng.randint(lo, capacity + 1)
            if rng.random() < 0.5:  # half the time a correct interval
                lo, up = rng.randint(1, o), rng.randint(o, capacity + 1)
        reqs.append(Request(s, o, lo, up, rng.randint(0, max_arrival)))
    return Instance(capacity, tuple(reqs))
