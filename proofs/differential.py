"""Differential check: with every value fixed, the encoding must reproduce the simulator's trajectory round by round.

Never trust one oracle: the proofs are only as good as the encoding's fidelity to
`amin.engine`, and this is where that fidelity is tested.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import z3

from amin.engine import simulate
from amin.model import Instance
from amin.model import random_instance as _random_instance

from .encoding import Semantics, fixed_instance, make_solver, model_trace, unroll
from .mutants import MUTANTS, engine_scheduler
from .replay import engine_trace


@dataclass(frozen=True)
class Mismatch:
    """The first round where the encoding and the engine disagree."""

    instance: Instance
    scheduler: str
    mutant: str | None
    round: int
    encoding: dict[str, Any]
    engine: dict[str, Any]


def random_instance(
    rng: random.Random, max_requests: int = 4, max_capacity: int = 14, max_output: int = 6, max_arrival: int = 4
) -> Instance:
    """A small valid instance; intervals anywhere in [1, capacity + 1] (they may miss the truth)."""
    return _random_instance(
        rng,
        max_requests=max_requests,
        max_capacity=max_capacity,
        max_output=max_output,
        max_arrival=max_arrival,
        intervals="any",
    )


def compare(
    instance: Instance,
    scheduler: str,
    mutant: str | None = None,
    ranks: Sequence[int] | None = None,
    horizon: int | None = None,
    seed: int = 0,
    reading: str = "spec",
) -> Mismatch | None:
    """Run both sides on one instance over `horizon` rounds (default: the engine's makespan + 2)."""
    sched = engine_scheduler(scheduler, mutant, ranks, reading)
    if horizon is None:
        try:
            horizon = simulate(instance, sched).makespan + 2
        except Exception:  # a mutant may not terminate: compare a fixed window instead
            horizon = 3 * sum(r.output for r in instance.requests) + max(r.arrival for r in instance.requests) + 2
        sched = engine_scheduler(scheduler, mutant, ranks, reading)
    sem = Semantics.of(scheduler, reading=reading)
    if mutant is not None:
        sem = MUTANTS[mutant].semantics(sem)
    inst = fixed_instance(instance, sem, ranks)
    un = unroll(sem, inst, horizon, prefix="d_")
    solver = make_solver(seed)
    solver.add(un.constraints)
    if solver.check() != z3.sat:
        raise AssertionError("the encoding has no trajectory for a valid concrete instance")
    enc = model_trace(solver.model(), un)
    eng, _ = engine_trace(instance, sched, horizon)
    for x, y in zip(enc, eng, strict=True):
        if x != y:
            return Mismatch(instance, scheduler, mutant, x.t, x.to_dict(), y.to_dict())
    return None


def differential(
    count: int, seed: int = 0, schedulers: Sequence[str] = ("hsf", "amax", "amin", "fcfs"), mutants: bool = True
) -> list[Mismatch]:
    """`count` random instances per scheduler (and per mutant of the MC-SF schedulers); returns every mismatch."""
    rng = random.Random(seed)
    out = []
    for k in range(count):
        inst = random_instance(rng)
        ranks = list(range(len(inst.requests)))
        rng.shuffle(ranks)
        for name in schedulers:
            r = ranks if name != "fcfs" and k % 2 else None
            m = compare(inst, name, None, r)
            if m is not None:
                out.append(m)
            if mutants and name != "fcfs":
                mut = sorted(MUTANTS)[k % len(MUTANTS)]
                m = compare(inst, name, mut, r)
                if m is not None:
                    out.append(m)
    return out
