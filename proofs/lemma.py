"""The inductive step: a one-round lemma, free of any horizon and of any bound on capacity or lengths.

From any state satisfying the invariant (at most K requests, each running, waiting
or done, with symbolic progress and planned lengths, at a symbolic round t), one
round of the encoding keeps the invariant and keeps memory within capacity.
Since the initial state satisfies the invariant, this proves the property for
every round of every instance with at most K requests (modulo the encoding's
fidelity to the engine, which `proofs.differential` tests).
"""

from __future__ import annotations

import time
from typing import Any

import z3

from .encoding import (
    Semantics,
    State,
    SymInstance,
    fresh_state,
    initial_state,
    make_solver,
    round_step,
    symbolic_instance,
)
from .mutants import MUTANTS


def plan_feasible(inst: SymInstance, st: State) -> Any:
    """The MC-SF plan of the running requests fits at every planned end point from now on (relative end e = L - g)."""
    n, checks = inst.n, []
    for k in range(n):
        e_k = st.L[k] - st.g[k]
        load = z3.Sum(
            [z3.If(z3.And(st.run[j], st.L[j] - st.g[j] >= e_k), inst.s[j] + st.g[j] + e_k, 0) for j in range(n)]
        )
        checks.append(z3.Implies(st.run[k], load <= inst.M))
    return z3.And(*checks)


def invariant(inst: SymInstance, st: State, t: Any) -> Any:
    """Well-formedness of a reachable state plus plan feasibility (the invariant the one-round lemma carries)."""
    parts = []
    for i in range(inst.n):
        parts += [
            z3.Implies(z3.Not(inst.present[i]), z3.And(st.done[i], z3.Not(st.run[i]))),
            z3.Implies(st.done[i], z3.Not(st.run[i])),
            z3.Implies(
                st.run[i], z3.And(st.g[i] >= 1, st.g[i] <= inst.o[i], st.g[i] <= st.L[i], inst.a[i] + st.g[i] <= t)
            ),
            z3.Implies(z3.Not(st.run[i]), st.g[i] == 0),
            st.L[i] >= 1,
            st.L[i] <= inst.M - inst.s[i],
        ]
    parts.append(plan_feasible(inst, st))
    return z3.And(*parts)


# Each lemma: (name, statement, extra hypothesis on the state, conclusion about the round).
def _lemmas(sem: Semantics) -> list[tuple[str, str]]:
    return [
        ("invariant", "one round keeps the invariant (plan feasible at every future planned end)"),
        ("memory", "one round keeps memory at t+1 within capacity"),
        ("eviction_needs_raise", "a round that evicts raised some planned length in step 2"),
        ("evictions_leave_one", "eviction never empties the running set, and loses at most M - 1 tokens"),
        ("no_idle", "if an arrived request is still waiting and was not evicted this round, something runs at t+1"),
        ("monotone", "planned lengths never decrease, and stay <= o once <= o (C3)"),
        (
            "correct_no_eviction",
            "if every planned length is >= the output (amax with l<=o<=u, hsf), no eviction and that stays true (C1)",
        ),
    ]


LEMMAS = dict(_lemmas(Semantics.of("amin")))


def check_lemma(
    name: str, requests: int, mutant: str | None = None, seed: int = 0, reading: str = "spec"
) -> dict[str, Any]:
    """Prove one lemma for every state with `requests` slots (any capacity, any lengths); sat: a counterexample."""
    t0 = time.perf_counter()
    # Initial planned lengths play no role: L is symbolic in the state.
    sem = Semantics.of("amin", tie_break="any", reading=reading)
    if mutant is not None:
        sem = MUTANTS[mutant].semantics(sem)
    inst = symbolic_instance(requests, sem, None, prefix="k_")
    t = z3.Int("k_t")
    st = fresh_state(inst, "pre")
    terms, nxt = round_step(sem, inst, st, t)
    hyp = [*inst.constraints, t >= 0, invariant(inst, st, t)]
    n = requests
    if name == "invariant":
        goal = invariant(inst, nxt, t + 1)
    elif name == "memory":
        goal = terms.memory_next <= inst.M
    elif name == "eviction_needs_raise":
        goal = z3.Implies(terms.any_evicted, z3.Or(*terms.raised))
    elif name == "evictions_leave_one":
        lost = z3.Sum([z3.If(terms.evicted[i], st.g[i], 0) for i in range(n)])
        still = [z3.And(st.run[i], z3.Not(terms.completes[i]), z3.Not(terms.evicted[i])) for i in range(n)]
        goal = z3.Implies(terms.any_evicted, z3.And(z3.Or(*still), lost <= inst.M - 1))
    elif name == "no_idle":
        waiting = [
            z3.And(inst.present[i], z3.Not(nxt.done[i]), z3.Not(nxt.run[i]), inst.a[i] <= t, z3.Not(terms.evicted[i]))
            for i in range(n)
        ]
        goal = z3.Implies(z3.Or(*waiting), z3.Or(*nxt.run))
    elif name == "monotone":
        goal = z3.And(
            *[z3.And(nxt.L[i] >= st.L[i], z3.Implies(st.L[i] <= inst.o[i], nxt.L[i] <= inst.o[i])) for i in range(n)]
        )
    elif name == "correct_no_eviction":
        hyp += [st.L[i] >= inst.o[i] for i in range(n)]
        goal = z3.And(z3.Not(terms.any_evicted), *[nxt.L[i] >= inst.o[i] for i in range(n)])
    else:
        raise ValueError(f"unknown lemma {name!r} (choose from {', '.join(LEMMAS)})")
    solver = make_solver(seed)
    solver.add(*hyp)
    solver.add(z3.Not(goal))
    answer = solver.check()
    out: dict[str, Any] = {
        "lemma": name,
        "statement": LEMMAS[name],
        "requests": requests,
        "mutant": mutant,
        "seed": seed,
    }
    if answer == z3.unsat:
        out["verdict"] = "proved"
    elif answer == z3.sat:
        m = solver.model()
        ev = lambda x: m.eval(x, model_completion=True)  # noqa: E731
        out["verdict"] = "counterexample"
        out["state"] = {
            "t": str(ev(t)),
            "capacity": str(ev(inst.M)),
            "requests": [
                {
                    "present": str(ev(inst.present[i])),
                    "prompt": str(ev(inst.s[i])),
                    "output": str(ev(inst.o[i])),
                    "arrival": str(ev(inst.a[i])),
                    "running": str(ev(st.run[i])),
                    "done": str(ev(st.done[i])),
                    "progress": str(ev(st.g[i])),
                    "planned_length": str(ev(st.L[i])),
                    "evicted": str(ev(terms.evicted[i])),
                    "admitted": str(ev(terms.admitted[i])),
                }
                for i in range(n)
            ],
            "memory_next": str(ev(terms.memory_next)),
        }
    else:
        out["verdict"] = "unknown"
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def check_base(
    scheduler: str,
    requests: int,
    claim: str = "",
    correct: bool = False,
    mutant: str | None = None,
    seed: int = 0,
    reading: str = "spec",
) -> dict[str, Any]:
    """The base case: the initial state of `scheduler` satisfies the invariant (and, for C1/hsf, L >= o; for C3,
    L <= o when l <= o), for every instance with `requests` slots."""
    t0 = time.perf_counter()
    sem = Semantics.of(scheduler, tie_break="any", reading=reading)
    if mutant is not None:
        sem = MUTANTS[mutant].semantics(sem)
    inst = symbolic_instance(requests, sem, None, prefix="b_")
    st = initial_state(sem, inst)
    hyp = list(inst.constraints)
    goal = [invariant(inst, st, z3.IntVal(0))]
    if correct:
        hyp += [z3.And(inst.lo[i] <= inst.o[i], inst.o[i] <= inst.up[i]) for i in range(requests)]
        goal += [st.L[i] >= inst.o[i] for i in range(requests)]
    if claim == "C3":
        goal += [z3.Implies(inst.lo[i] <= inst.o[i], st.L[i] <= inst.o[i]) for i in range(requests)]
    solver = make_solver(seed)
    solver.add(*hyp)
    solver.add(z3.Not(z3.And(*goal)))
    answer = solver.check()
    verdict = "proved" if answer == z3.unsat else "counterexample" if answer == z3.sat else "unknown"
    return {
        "lemma": "base",
        "statement": f"the initial state of {scheduler} satisfies the invariant",
        "requests": requests,
        "mutant": mutant,
        "seed": seed,
        "verdict": verdict,
        "seconds": round(time.perf_counter() - t0, 3),
    }
