"""The engine side of every check: step `amin.engine.Simulation` round by round, read off the encoding's trace shape.

Used to replay Z3's counterexamples (same violation, same round) and for the
differential check (same per-round trajectory on concrete instances).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from amin.engine import NonTermination, Simulation
from amin.model import Instance
from amin.schedulers import Scheduler

from .encoding import TraceRound

VIOLATIONS = ("overflow", "eviction", "nontermination", "decrease", "exceeds_output")


@dataclass(frozen=True)
class Violation:
    """The first broken property of a trajectory: its kind, round, and the requests involved."""

    kind: str
    round: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "round": self.round, "detail": self.detail}


def engine_trace(instance: Instance, scheduler: Scheduler, horizon: int) -> tuple[list[TraceRound], tuple[int, ...]]:
    """Rounds 0..horizon-1 as the simulator runs them (skipped idle rounds are empty), plus initial planned lengths."""
    sim = Simulation(instance, scheduler, max_rounds=horizon + 1)
    initial = tuple(j.planned_length for j in sim.jobs)
    events: dict[int, TraceRound] = {}
    last_L = initial
    while not sim.finished and sim.t < horizon:
        try:
            ev = sim.step()
        except NonTermination:
            break
        last_L = tuple(s.planned_length for s in sim.snapshot())
        events[ev.t] = TraceRound(
            ev.t,
            tuple(sorted(ev.completed)),
            tuple(sorted(ev.evicted)),
            tuple(sorted(ev.admitted)),
            ev.memory_next,
            last_L,
        )
    out = []
    L = initial
    for t in range(horizon):
        if t in events:
            L = events[t].planned_lengths
            out.append(events[t])
        else:
            out.append(TraceRound(t, (), (), (), 0, L))
    return out, initial


def first_violation(
    trace: Sequence[TraceRound],
    capacity: int,
    kinds: Sequence[str],
    *,
    initial: Sequence[int] = (),
    outputs: Sequence[int] = (),
    lowers: Sequence[int] = (),
) -> Violation | None:
    """The earliest violation of the listed kinds; "nontermination" is reported at the horizon."""
    prev = tuple(initial)
    done: set[int] = set()
    for r in trace:
        if "overflow" in kinds and r.memory_next > capacity:
            return Violation("overflow", r.t, f"memory at t+1 is {r.memory_next} > capacity {capacity}")
        if "eviction" in kinds and r.evicted:
            return Violation("eviction", r.t, f"evicts {list(r.evicted)}")
        if "decrease" in kinds:
            for i, (x, y) in enumerate(zip(prev, r.planned_lengths, strict=False)):  # initial may be empty
                if y < x:
                    return Violation("decrease", r.t, f"request {i}: planned length {x} -> {y}")
        if "exceeds_output" in kinds:
            for i, y in enumerate(r.planned_lengths):
                if lowers[i] <= outputs[i] < y:
                    return Violation("exceeds_output", r.t, f"request {i}: planned length {y} > output {outputs[i]}")
        prev = r.planned_lengths
        done.update(r.completed)
    if "nontermination" in kinds and len(done) < len(outputs):
        missing = sorted(set(range(len(outputs))) - done)
        return Violation("nontermination", len(trace), f"requests {missing} unfinished after {len(trace)} rounds")
    return None
