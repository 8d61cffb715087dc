"""Immutable results of a simulation: one record per request, the eviction history, and the totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one simulation. `memory[tau]` is the memory held at time tau, for tau = 0 .. makespan."""

    scheduler: str
    options: dict[str, Any]
    capacity: int
    records: tuple[Record, ...]
    eviction_log: tuple[Eviction, ...]
    memory: tuple[int, ...] = field(repr=False)

    @property
    def rounds(self) -> int:
        """Busy rounds: rounds t after which some request holds memory (memory[t + 1] > 0)."""
        return sum(1 for m in self.memory[1:] if m > 0)

    @property
    def total_latency(self) -> int:
        return sum(r.latency for r in self.records)

    @property
    def makespan(self) -> int:
        return max(r.completion for r in self.records)

    @property
    def peak_memory(self) -> int:
        return max(self.memory)

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
            d["memory"] = list(self.memory)
        return d
