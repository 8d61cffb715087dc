"""A linear-integer Z3 encoding of the round of SPEC section 2, unrolled for bounded model checking.

One fresh copy of the state per round, the transition (`round_step`) written once
and shared by the bounded proofs, the one-round lemma and the differential check.
It mirrors `amin.engine.Simulation.step` term by term, including the incremental
MC-SF test, the planned-length cap and "an evictee is not re-admitted this round".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import z3

from amin.model import Instance, Request
from amin.rules import BUILT_IN, MUTANT, READINGS, Rules

SCHEDULERS = ("hsf", "amax", "amin", "fcfs")  # mcsf plans with point predictions, which the encoding does not model


@dataclass(frozen=True)
class Semantics:
    """The rules the encoding follows: a scheduler's `amin.rules.Rules` record (the same record the engines read,
    mutants included), and whether eviction ties take every permutation (`symbolic_ties`) or the record's own."""

    rules: Rules
    symbolic_ties: bool = False

    def __post_init__(self) -> None:
        if self.rules.planned_from == "predicted":
            raise ValueError("the encoding does not model point predictions (mcsf)")
        why = unencoded(self.rules)
        if why is not None:
            raise ValueError(f"the encoding cannot follow these rules: {why}")

    @classmethod
    def of(cls, scheduler: str, tie_break: str = "index", reading: str = "spec") -> Semantics:
        """A built-in scheduler's rules under a reading (`amin.rules.READINGS`); `tie_break` "index" or "any" (a
        symbolic permutation: covers every seed)."""
        if scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {scheduler!r} for the encoding (choose from {', '.join(SCHEDULERS)})")
        if tie_break not in ("index", "any"):
            raise ValueError(f"unknown tie_break {tie_break!r} (index or any)")
        fields = READINGS[reading].fields
        return cls(BUILT_IN[scheduler].with_options(**fields, tie_break="index"), symbolic_ties=tie_break == "any")

    @property
    def scheduler(self) -> str:
        return self.rules.name


@dataclass(frozen=True)
class Box:
    """The set of instances a bounded proof covers: every value is a symbolic integer within these bounds.

    Up to `requests` requests (fewer are allowed), capacity 1..`capacity`, prompts
    0..capacity-1, outputs 1..`output` with prompt + output <= capacity, arrivals
    0..`arrival`, intervals 1 <= lower <= upper <= `upper` (default: capacity + 1, so
    the cap matters); `correct` forces lower <= output <= upper, otherwise intervals
    may miss the truth on either side.
    """

    requests: int = 3
    capacity: int = 12
    output: int = 8
    arrival: int = 2
    correct: bool = False
    upper: int | None = None

    @property
    def max_upper(self) -> int:
        return self.capacity + 1 if self.upper is None else self.upper

    def describe(self) -> str:
        iv = "l<=o<=u" if self.correct else "any interval"
        return (
            f"n<={self.requests}, M<={self.capacity}, o<={self.output}, a<={self.arrival}, "
            f"1<=l<=u<={self.max_upper}, {iv}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "capacity": self.capacity,
            "output": self.output,
            "arrival": self.arrival,
            "upper": self.max_upper,
            "correct": self.correct,
        }


@dataclass
class SymInstance:
    """The instance as Z3 terms: capacity M and per request s, o, l, u, a, present, tie rank."""

    n: int
    M: Any
    s: list[Any]
    o: list[Any]
    lo: list[Any]
    up: list[Any]
    a: list[Any]
    present: list[Any]
    rank: list[Any]
    constraints: list[Any] = field(default_factory=list)
    width: int | None = None  # None: unbounded integers; else signed bit-vectors of this width

    def var(self, name: str) -> Any:
        return z3.Int(name) if self.width is None else z3.BitVec(name, self.width)

    def const(self, value: int) -> Any:
        return z3.IntVal(value) if self.width is None else z3.BitVecVal(value, self.width)


@dataclass
class State:
    """The online state at the start of a round: running?, progress g, planned length L, done?."""

    run: list[Any]
    g: list[Any]
    L: list[Any]
    done: list[Any]


@dataclass
class RoundTerms:
    """What one round does, as terms over the state before it (for properties and traces)."""

    t: Any
    completes: list[Any]
    refined: list[Any]  # L after step 2 (and the eviction refinement)
    evicted: list[Any]
    admitted: list[Any]
    need_before: Any  # step 3's need, before evictions
    memory_next: Any
    any_evicted: Any
    raised: list[Any]  # step 2 raised this request's planned length


def _ite_sum(terms: Sequence[tuple[Any, Any]], zero: Any) -> Any:
    return z3.Sum([z3.If(c, v, zero) for c, v in terms]) if terms else zero


def _max(x: Any, y: Any) -> Any:
    return z3.If(x >= y, x, y)


def _min(x: Any, y: Any) -> Any:
    return z3.If(x <= y, x, y)


def symbolic_instance(
    n: int, sem: Semantics, box: Box | None = None, prefix: str = "", width: int | None = None
) -> SymInstance:
    """Fresh symbolic instance with n request slots; `box` adds its bounds (None: only the model's validity).

    `width` switches from unbounded integers to signed bit-vectors (bit-blasted: much faster on bounded boxes); the
    caller must pick a width that no sum in the box can overflow (see `safe_width`).
    """
    si = SymInstance(n, None, [], [], [], [], [], [], [], width=width)
    M = si.var(f"{prefix}M")
    ints = lambda name: [si.var(f"{prefix}{name}{i}") for i in range(n)]  # noqa: E731
    s, o, lo, up, a = ints("s"), ints("o"), ints("l"), ints("u"), ints("a")
    present = [z3.Bool(f"{prefix}present{i}") for i in range(n)]
    rank = ints("rank") if sem.symbolic_ties else [si.const(i) for i in range(n)]
    c: list[Any] = [M >= 1]
    for i in range(n):
        c += [s[i] >= 0, o[i] >= 1, s[i] + o[i] <= M, lo[i] >= 1, lo[i] <= up[i], a[i] >= 0]
    if sem.symbolic_ties:
        c += [z3.Distinct(*rank)] + [z3.And(r >= 0, r < n) for r in rank]
    if box is not None:
        c += [box.capacity >= M, present[0]]
        for i in range(n):
            # Every value bounded, also the ones implied in integers, so that bit-vectors cannot wrap around.
            c += [o[i] <= box.output, a[i] <= box.arrival, up[i] <= box.max_upper, s[i] <= box.capacity]
            if box.correct:
                c += [lo[i] <= o[i], o[i] <= up[i]]
            if i > 0:  # present requests form a prefix, so "up to n requests" keeps indices
                c.append(z3.Implies(present[i], present[i - 1]))
    return SymInstance(n, M, s, o, lo, up, a, present, rank, c, width)


def safe_width(box: Box, horizon: int) -> int:
    """Bits for signed bit-vectors such that no term of a run over the box can overflow (with a wide margin):
    every sum is at most n terms of prompt + progress + planned length, and time stays below the horizon."""
    bound = 4 * box.requests * (box.capacity + box.max_upper + horizon + 2) + horizon
    return max(8, bound.bit_length() + 2)


def fixed_instance(
    instance: Instance, sem: Semantics, ranks: Sequence[int] | None = None, width: int | None = None
) -> SymInstance:
    """The encoding's instance with every value fixed to a concrete instance (for the differential check)."""
    n = len(instance.requests)
    si = symbolic_instance(n, replace(sem, symbolic_ties=False), None, prefix="fx_", width=width)
    si.constraints += [instance.capacity == si.M]
    for i, r in enumerate(instance.requests):
        si.constraints += [
            si.s[i] == r.prompt,
            si.o[i] == r.output,
            si.lo[i] == r.lower,
            si.up[i] == r.upper,
            si.a[i] == r.arrival,
            si.present[i],
        ]
    if ranks is not None:
        si.rank = [si.const(int(k)) for k in ranks]
    return si


# --- the engine's hooks, one function each ---------------------------------------
def cap(sem: Semantics, inst: SymInstance, i: int, L: Any) -> Any:
    return _min(L, inst.M - inst.s[i]) if sem.rules.cap else L


def refine(sem: Semantics, L: Any, g: Any) -> Any:
    """`amin.rules.refine` as a term, every value of the record's `refinement` (readings and mutants)."""
    kind = sem.rules.refinement
    if kind == "g+1":
        return _max(L, g + 1)
    if kind == "g":
        return _max(L, g)
    if kind == "eviction":
        return L
    if kind == "doubling":  # progress grows by one per round, so one doubling per round reaches g + 1
        return z3.If(g + 1 <= L, L, 2 * L)
    if kind == "none":
        return L
    if kind == "overshoot":
        return _max(L, g + 2)
    if kind == "forget":
        return g + 1
    raise ValueError(f"the encoding has no term for refinement {kind!r}")


def refine_at_eviction(sem: Semantics, L: Any, g: Any) -> Any:
    """`amin.rules.refine_at_eviction` as a term."""
    kind = sem.rules.refinement
    if kind in ("g+1", "eviction"):
        return _max(L, g + 1)
    return refine(sem, L, g)


ENCODED_READINGS = {
    "refinement": ("g+1", "g", "eviction", "doubling", *MUTANT["refinement"]),
    "planning_basis": ("refined",),
    "admission_stop": ("first_misfit",),
    "prefill": ("first_output",),
    "block_size": (1,),
    "admission_order": ("planned", "arrival"),  # "area" multiplies terms (s L + L^2): non-linear, not encoded
}
"""The values of each reading the encoding has terms for; `unencoded` names the first other one."""


def unencoded(rules: Rules) -> str | None:
    """Why the encoding cannot follow these rules (one reading it has no terms for), or None."""
    for name, values in ENCODED_READINGS.items():
        if getattr(rules, name) not in values:
            return f"{name} = {getattr(rules, name)!r} is not encoded (encoded: {', '.join(map(str, values))})"
    return None


def initial_planned_length(sem: Semantics, inst: SymInstance, i: int) -> Any:
    """`amin.rules.initial_planned_length` as a term."""
    source = {"output": inst.o[i], "upper": inst.up[i], "lower": inst.lo[i], "none": inst.const(1)}
    return cap(sem, inst, i, source[sem.rules.planned_from])


def initial_state(sem: Semantics, inst: SymInstance) -> State:
    n = inst.n
    return State(
        run=[z3.BoolVal(False)] * n,
        g=[inst.const(0)] * n,
        L=[initial_planned_length(sem, inst, i) for i in range(n)],
        done=[z3.Not(p) for p in inst.present],  # an absent slot is done from the start
    )


def fresh_state(inst: SymInstance, name: str) -> State:
    n = inst.n
    return State(
        run=[z3.Bool(f"{name}_run{i}") for i in range(n)],
        g=[inst.var(f"{name}_g{i}") for i in range(n)],
        L=[inst.var(f"{name}_L{i}") for i in range(n)],
        done=[z3.Bool(f"{name}_done{i}") for i in range(n)],
    )


def state_equal(x: State, y: State) -> list[Any]:
    return (
        [a == b for a, b in zip(x.run, y.run, strict=True)]
        + [a == b for a, b in zip(x.g, y.g, strict=True)]
        + [a == b for a, b in zip(x.L, y.L, strict=True)]
        + [a == b for a, b in zip(x.done, y.done, strict=True)]
    )


def round_step(sem: Semantics, inst: SymInstance, st: State, t: Any) -> tuple[RoundTerms, State]:
    """Round t of SPEC section 2 (engine.Simulation.step), as terms; returns what happened and the next state."""
    n, M, s, a = inst.n, inst.M, inst.s, inst.a
    idx = range(n)
    zero = inst.const(0)
    # 1. Complete.
    completes = [z3.And(st.run[i], st.g[i] == inst.o[i]) for i in idx]
    run1 = [z3.And(st.run[i], z3.Not(completes[i])) for i in idx]
    # 2. Refine (running requests only).
    L1 = [z3.If(run1[i], cap(sem, inst, i, refine(sem, st.L[i], st.g[i])), st.L[i]) for i in idx]
    raised = [z3.And(run1[i], L1[i] > st.L[i]) for i in idx]
    # 3. Overflow check: evict in eviction order while next round's memory exceeds M.
    w = [s[i] + st.g[i] + 1 for i in idx]
    need = _ite_sum([(run1[i], w[i]) for i in idx], zero)

    rules = sem.rules

    def evicted_before(j: int, i: int) -> Any:
        """`amin.rules.eviction_key` as an order."""
        if rules.eviction_order == "latest_admitted":  # smallest progress (latest start), then larger (a, index)
            later = z3.Or(a[j] > a[i], z3.And(a[j] == a[i], z3.BoolVal(j > i)))
            return z3.Or(st.g[j] < st.g[i], z3.And(st.g[j] == st.g[i], later))
        key = L1 if rules.eviction_key == "bound" else st.g
        return z3.Or(key[j] < key[i], z3.And(key[j] == key[i], inst.rank[j] < inst.rank[i]))

    evicted = []
    for i in idx:
        remaining = need - _ite_sum([(z3.And(run1[j], evicted_before(j, i)), w[j]) for j in idx if j != i], zero)
        # The engine's loop evicts i iff the memory left when i's turn comes still overflows.
        over = remaining > M if rules.eviction_stop == "fits" else remaining - w[i] > M  # "one_short": a mutant
        evicted.append(z3.And(run1[i], over))
    any_evicted = z3.Or(*evicted)
    run2 = [z3.And(run1[i], z3.Not(evicted[i])) for i in idx]
    need2 = need - _ite_sum([(evicted[i], w[i]) for i in idx], zero)
    L2 = [z3.If(evicted[i], cap(sem, inst, i, refine_at_eviction(sem, L1[i], st.g[i])), L1[i]) for i in idx]
    # 4. Admit: waiting at the start of the round (so never this round's evictees) and arrived.
    cand = [z3.And(inst.present[i], z3.Not(st.done[i]), z3.Not(st.run[i]), a[i] <= t) for i in idx]

    def admitted_before(j: int, i: int) -> Any:
        """`amin.rules.admission_key` as an order."""
        by_index = z3.Or(a[j] < a[i], z3.And(a[j] == a[i], z3.BoolVal(j < i)))
        if rules.admission_order == "arrival":
            return by_index
        return z3.Or(L2[j] < L2[i], z3.And(L2[j] == L2[i], by_index))

    before = [[admitted_before(j, i) if j != i else z3.BoolVal(False) for j in idx] for i in idx]
    fits: list[Any] = []
    if rules.admission == "memory":
        for i in idx:
            ahead = _ite_sum([(z3.And(cand[j], before[i][j]), s[j] + 1) for j in idx], zero)
            fits.append(need2 + ahead + s[i] + 1 <= M)
    else:
        # MC-SF: relative planned end e (planned end - t) and base (memory at t, excluding the +e growth).
        e = [z3.If(run2[k], L2[k] - st.g[k], L2[k]) for k in idx]
        base = [z3.If(run2[k], s[k] + st.g[k], s[k]) for k in idx]
        for i in idx:
            # A running request whose planned end has passed (refined to g, or only at eviction) plans nothing.
            member = [
                z3.Or(z3.And(run2[k], e[k] >= 1), z3.And(cand[k], z3.Or(before[i][k], z3.BoolVal(k == i)))) for k in idx
            ]
            # PlanningCheck.fits: every planned end point up to i's own end, with i and the earlier candidates added.
            checks = []
            for j in idx:
                load = _ite_sum([(z3.And(member[k], e[k] >= e[j]), base[k] + e[j]) for k in idx], zero)
                checks.append(z3.Implies(z3.And(member[j], e[j] <= e[i]), load <= M))
            fits.append(z3.And(*checks))
    admitted = []
    for i in idx:
        # Prefix admission: i is admitted iff it fits and no earlier candidate was refused.
        earlier_ok = [z3.Implies(z3.And(cand[j], before[i][j]), fits[j]) for j in idx if j != i]
        ok = z3.And(cand[i], fits[i], *earlier_ok)
        if not rules.admits_after_eviction:  # fcfs does not admit in a round that evicted
            ok = z3.And(ok, z3.Not(any_evicted))
        admitted.append(ok)
    # 5. Execute.
    memory_next = need2 + _ite_sum([(admitted[i], s[i] + 1) for i in idx], zero)
    nxt = State(
        run=[z3.Or(run2[i], admitted[i]) for i in idx],
        g=[z3.If(run2[i], st.g[i] + 1, z3.If(admitted[i], inst.const(1), zero)) for i in idx],
        L=L2,
        done=[z3.Or(st.done[i], completes[i]) for i in idx],
    )
    terms = RoundTerms(t, completes, L2, evicted, admitted, need, memory_next, any_evicted, raised)
    return terms, nxt


@dataclass
class Unrolled:
    """An unrolled run: states[0..H] (states[t] = start of round t) and rounds[0..H-1]."""

    sem: Semantics
    inst: SymInstance
    states: list[State]
    rounds: list[RoundTerms]
    constraints: list[Any]


def unroll(sem: Semantics, inst: SymInstance, horizon: int, prefix: str = "") -> Unrolled:
    """Unroll `horizon` rounds from the initial state: one fresh state per round, the transition written once."""
    constraints = list(inst.constraints)
    states = [fresh_state(inst, f"{prefix}st0")]
    constraints += state_equal(states[0], initial_state(sem, inst))
    rounds = []
    for t in range(horizon):
        terms, nxt = round_step(sem, inst, states[t], inst.const(t))
        fresh = fresh_state(inst, f"{prefix}st{t + 1}")
        constraints += state_equal(fresh, nxt)
        states.append(fresh)
        rounds.append(terms)
    return Unrolled(sem, inst, states, rounds, constraints)


def make_solver(seed: int = 0, timeout_ms: int | None = None) -> z3.Solver:
    """A plain Solver (never Optimize) with fixed seeds; Z3's own timeout is a soft backstop only."""
    solver = z3.Solver()
    solver.set("random_seed", seed)
    z3.set_param("smt.random_seed", seed)
    z3.set_param("sat.random_seed", seed)
    if timeout_ms is not None:
        solver.set("timeout", int(timeout_ms))
    return solver


# --- reading a model back ---------------------------------------------------------
def _val(model: z3.ModelRef, term: Any) -> Any:
    v = model.eval(term, model_completion=True)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    return v.as_signed_long() if z3.is_bv_value(v) else v.as_long()


def model_instance(model: z3.ModelRef, inst: SymInstance) -> tuple[Instance, list[int]]:
    """The concrete instance (present requests only) and tie ranks that a model chose."""
    reqs = []
    ranks = []
    for i in range(inst.n):
        if not _val(model, inst.present[i]):
            break
        reqs.append(
            Request(
                prompt=_val(model, inst.s[i]),
                output=_val(model, inst.o[i]),
                lower=_val(model, inst.lo[i]),
                upper=_val(model, inst.up[i]),
                arrival=_val(model, inst.a[i]),
            )
        )
        ranks.append(_val(model, inst.rank[i]))
    # Ranks of present requests, renumbered 0..k-1 in the same relative order.
    order = sorted(range(len(ranks)), key=lambda k: ranks[k])
    dense = [0] * len(ranks)
    for pos, k in enumerate(order):
        dense[k] = pos
    return Instance(_val(model, inst.M), tuple(reqs)), dense


@dataclass(frozen=True)
class TraceRound:
    """One round of a model's trajectory (present requests only)."""

    t: int
    completed: tuple[int, ...]
    evicted: tuple[int, ...]
    admitted: tuple[int, ...]
    memory_next: int
    planned_lengths: tuple[int, ...]  # after the round

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "completed": list(self.completed),
            "evicted": list(self.evicted),
            "admitted": list(self.admitted),
            "memory_next": self.memory_next,
            "planned_lengths": list(self.planned_lengths),
        }


def model_trace(model: z3.ModelRef, un: Unrolled) -> list[TraceRound]:
    k = sum(1 for p in un.inst.present if _val(model, p))
    out = []
    for t, r in enumerate(un.rounds):
        pick = lambda xs: tuple(i for i in range(k) if _val(model, xs[i]))  # noqa: E731
        out.append(
            TraceRound(
                t,
                pick(r.completes),
                pick(r.evicted),
                pick(r.admitted),
                _val(model, r.memory_next),
                tuple(_val(model, un.states[t + 1].L[i]) for i in range(k)),
            )
        )
    return out


def format_trace(trace: Sequence[TraceRound], capacity: int) -> str:
    """A readable trajectory: one line per round that did something."""
    lines = []
    for r in trace:
        if not (r.completed or r.evicted or r.admitted or r.memory_next):
            continue
        parts = [f"t={r.t:3d}"]
        if r.completed:
            parts.append(f"complete {list(r.completed)}")
        if r.evicted:
            parts.append(f"evict {list(r.evicted)}")
        if r.admitted:
            parts.append(f"admit {list(r.admitted)}")
        flag = "  <-- exceeds capacity" if r.memory_next > capacity else ""
        parts.append(f"memory(t+1)={r.memory_next}/{capacity}  L={list(r.planned_lengths)}{flag}")
        lines.append("  ".join(parts))
    return "\n".join(lines)
