"""Immutable results of a simulation: one record per request, the eviction history, and the totals."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any, overload


@dataclass(frozen=True, slots=True)
class Record:
    """One request's outcome. `start` is the final run's start; `completion - start` is its output length."""

    index: int
    arrival: int
    start: int
    completion: int
    evictions: int
    wasted_tokens: int  # tokens generated in runs that were evicted, all lost

    @property
    def latency(self) -> int:
        return self.completion - self.arrival

    def to_dict(self) -> dict[str, int]:
        return {
            "index": self.index,
            "start": self.start,
            "completion": self.completion,
            "latency": self.latency,
            "evictions": self.evictions,
        }


@dataclass(frozen=True, slots=True)
class Eviction:
    """A run that was cut off: request `index` started at `start`, evicted in round `round` after `tokens` tokens.

    The run held memory at times start+1 .. round; its tokens are lost.
    """

    index: int
    start: int
    round: int

    @property
    def tokens(self) -> int:
        return self.round - self.start


def _push(runs: list[list[int]], a: int, v: int, d: int, n: int) -> None:
    """Append n values v, v + d, ... at tau = a to `runs`, kept as maximal arithmetic runs [first tau, value,
    step, points] (the unique split greedily from the left)."""
    if n <= 0:
        return
    if n == 1:
        d = 0  # one point: a step means nothing; 0 makes the form canonical
    if runs:
        a0, v0, d0, n0 = runs[-1]
        step = v - v0 if n0 == 1 else d0  # a one-point run takes whatever step reaches the next value
        if v == v0 + step * n0:
            if n == 1 or d == step:
                runs[-1] = [a0, v0, step, n0 + n]
                return
            # The run takes the first new point only; the rest starts a new run.
            runs[-1] = [a0, v0, step, n0 + 1]
            a, v, n = a + 1, v + d, n - 1
            d = 0 if n == 1 else d
    runs.append([a, v, d, n])


def _maximal_runs(pieces: Sequence[tuple[int, int, int]], length: int) -> list[list[int]]:
    """The maximal arithmetic runs of a series given as any split into linear pieces, without expanding it."""
    out: list[list[int]] = []
    for k, (a, v, d) in enumerate(pieces):
        _push(out, a, v, d, (pieces[k + 1][0] if k + 1 < len(pieces) else length) - a)
    return out


class MemoryRecorder:
    """Records a memory series round by round in space proportional to its runs (the reference engine's)."""

    __slots__ = ("_runs", "_length")

    def __init__(self) -> None:
        self._runs: list[list[int]] = []
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def append(self, value: int, count: int = 1) -> None:
        """The next `count` rounds hold `value`."""
        _push(self._runs, self._length, value, 0, count)
        self._length += max(0, count)

    def series(self, length: int | None = None) -> MemorySeries:
        """The recorded values, cut to `length` when given."""
        return MemorySeries([(a, v, d) for a, v, d, _ in self._runs], self._length if length is None else length)


class MemorySeries(Sequence[int]):
    """Memory held at tau = 0 .. len - 1, kept as maximal linear runs: memory grows by one token per running
    request per round, so a day-long run of millions of rounds is a few runs per event, not one int per round.

    It behaves as the tuple of its values: indexing, iteration, `len`, slicing (a slice is a MemorySeries too)
    and equality with any sequence of the same values. `peak()` and `count_positive()` work on the runs.
    """

    __slots__ = ("_starts", "_values", "_steps", "_length")

    def __init__(self, pieces: Iterable[tuple[int, int, int]], length: int) -> None:
        """`pieces`: (first tau, value there, step per round) with increasing first taus, the first at 0; each
        runs to the next one's first tau (the last to `length`)."""
        items = [p for p in pieces if p[0] < length]
        if length < 0 or (length > 0 and (not items or items[0][0] != 0)):
            raise ValueError("a memory series has a length >= 0 and starts with a piece at tau = 0")
        runs = _maximal_runs(items, length)
        self._starts = tuple(r[0] for r in runs)
        self._values = tuple(r[1] for r in runs)
        self._steps = tuple(r[2] for r in runs)
        self._length = length

    @classmethod
    def of(cls, values: Iterable[int]) -> MemorySeries:
        """A series from explicit per-round values (for small series and tests)."""
        vals = list(values)
        return cls(((t, v, 0) for t, v in enumerate(vals)), len(vals))

    @property
    def pieces(self) -> tuple[tuple[int, int, int], ...]:
        """The canonical runs as (first tau, value there, step per round)."""
        return tuple(zip(self._starts, self._values, self._steps, strict=True))

    def _spans(self) -> Iterator[tuple[int, int, int, int]]:
        ends = (*self._starts[1:], self._length) if self._starts else ()
        return zip(self._starts, ends, self._values, self._steps, strict=True)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> MemorySeries: ...

    def __getitem__(self, index: int | slice) -> int | MemorySeries:
        if isinstance(index, slice):
            lo, hi, step = index.indices(self._length)
            if step != 1:
                return MemorySeries.of(self[i] for i in range(lo, hi, step))
            if hi <= lo:
                return MemorySeries((), 0)
            k = bisect_right(self._starts, lo) - 1
            inside = [(a - lo, v, d) for a, v, d in self.pieces[k + 1 :] if a < hi]
            return MemorySeries([(0, self[lo], self._steps[k]), *inside], hi - lo)
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("memory series index out of range")
        k = bisect_right(self._starts, index) - 1
        return self._values[k] + self._steps[k] * (index - self._starts[k])

    def __iter__(self) -> Iterator[int]:
        return chain.from_iterable(
            range(v, v + d * (b - a), d) if d else repeat(v, b - a) for a, b, v, d in self._spans()
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MemorySeries):
            return self._length == other._length and self.pieces == other.pieces
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(other) == self._length and all(a == b for a, b in zip(self, other, strict=False))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # equal to the tuple of its values, so hashed like it (computed on demand)

    def __repr__(self) -> str:
        if self._length <= 20:
            return f"MemorySeries({tuple(self)})"
        return f"MemorySeries(<{self._length} rounds in {len(self._starts)} runs>)"

    def peak(self) -> int:
        """The largest value; on a line it lies at one end of the run."""
        if not self._length:
            raise ValueError("peak of an empty memory series")
        return max(max(v, v + d * (b - a - 1)) for a, b, v, d in self._spans())

    def count_positive(self, start: int = 0) -> int:
        """How many entries at tau >= start are > 0 (a line crosses zero at most once)."""
        total = 0
        for a, b, v, d in self._spans():
            if b <= start:
                continue
            if a < start:
                v, a = v + d * (start - a), start
            n = b - a
            if d == 0:
                total += n if v > 0 else 0
            elif d > 0:
                total += n if v > 0 else max(0, n - ((-v) // d + 1))
            else:
                total += 0 if v <= 0 else min(n, (v - 1) // (-d) + 1)
        return total


MEMORY_LIST_LIMIT = 1_000_000
"""`Result.to_dict(detail=True)` lists memory round by round up to this many rounds; the runs always."""


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one simulation. `memory[tau]` is the memory held at time tau, for tau = 0 .. makespan."""

    scheduler: str
    options: dict[str, Any]
    capacity: int
    records: tuple[Record, ...]
    eviction_log: tuple[Eviction, ...]
    memory: MemorySeries = field(repr=False)

    @property
    def rounds(self) -> int:
        """Busy rounds: rounds t after which some request holds memory (memory[t + 1] > 0)."""
        return self.memory.count_positive(1)

    @property
    def total_latency(self) -> int:
        return sum(r.latency for r in self.records)

    @property
    def makespan(self) -> int:
        return max(r.completion for r in self.records)

    @property
    def peak_memory(self) -> int:
        return self.memory.peak()

    @property
    def evictions(self) -> int:
        return len(self.eviction_log)

    @property
    def wasted_tokens(self) -> int:
        return sum(r.wasted_tokens for r in self.records)

    @property
    def starts(self) -> tuple[int, ...]:
        return tuple(r.start for r in self.records)

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        """The JSON of SPEC section 7; `detail=True` adds the eviction history, waste and memory series."""
        d: dict[str, Any] = {
            "total_latency": self.total_latency,
            "peak_memory": self.peak_memory,
            "evictions": self.evictions,
            "makespan": self.makespan,
            "records": [r.to_dict() for r in self.records],
        }
        if detail:
            d["scheduler"] = self.scheduler
            d["options"] = dict(self.options)
            d["capacity"] = self.capacity
            d["wasted_tokens"] = self.wasted_tokens
            d["rounds"] = self.rounds
            d["eviction_log"] = [{"index": e.index, "start": e.start, "round": e.round} for e in self.eviction_log]
            # One value per round while that stays small; always the runs [first tau, value, step per round].
            d["memory"] = list(self.memory) if len(self.memory) <= MEMORY_LIST_LIMIT else None
            d["memory_runs"] = [list(p) for p in self.memory.pieces]
        return d
