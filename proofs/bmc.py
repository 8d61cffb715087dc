"""Bounded proofs of the claims (C1, C2, C3, C16, hsf safety) and their mutants, each in an abandonable subprocess.

A proof asserts Not(property) over an unrolled run of a whole box of symbolic
instances: unsat proves the property for every instance in the box over the
horizon; sat yields a counterexample, replayed in the simulator.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import z3

from amin.horizon import horizon

from .encoding import Box, Semantics, format_trace, make_solver, model_instance, model_trace, symbolic_instance, unroll
from .mutants import MUTANTS, engine_scheduler
from .replay import engine_trace, first_violation


def complete_horizon(box: Box) -> int:
    """Rounds after which every instance of the box has finished when nothing is ever evicted: the C16 formula
    with R = 0, plus one round for the last completion to register (completion at c is seen in round c)."""
    return horizon(box.arrival, box.requests * box.output, 0, 0) + 1


def termination_horizon(box: Box) -> int:
    """The C16 bound over a box (docs/proofs.md): the formula of `amin.horizon` at the box's worst case, with
    R <= n (O - 1) raises and W <= min(M - 1, (n - 1)(O - 1)) tokens lost per eviction round, plus one."""
    n, out, cap = box.requests, box.output, box.capacity
    return horizon(box.arrival, n * out, min(cap - 1, (n - 1) * (out - 1)), n * (out - 1)) + 1


@dataclass(frozen=True)
class ProofSpec:
    """One bounded proof: a claim about one scheduler over a box, the violations it rules out, and its mutants."""

    claim: str
    scheduler: str
    box: Box
    horizon: int
    kinds: tuple[str, ...]
    mutants: tuple[str, ...]
    tie_break: str = "index"
    statement: str = ""
    lemmas: tuple[str, ...] = ()
    lemma_requests: int | None = None  # slots for the induction (default: the box's requests)
    reading: str = "spec"  # amin.rules.READINGS: the reading of the paper the proof is about

    @property
    def induction_requests(self) -> int:
        return self.box.requests if self.lemma_requests is None else self.lemma_requests

    def rounds(self) -> str:
        return f"all (<= {self.horizon}, finishing is proved)" if self.complete else f"0..{self.horizon - 1}"

    @property
    def complete(self) -> bool:
        """True when the horizon covers every round of every instance in the box (termination is asserted too)."""
        return "nontermination" in self.kinds

    def covered(self) -> str:
        rounds = (
            "all rounds (termination within the horizon is part of the proof)"
            if self.complete
            else f"rounds 0..{self.horizon - 1}"
        )
        ties = "every tie-break permutation" if self.tie_break == "any" else "index tie-break"
        return f"{self.box.describe()}; {rounds}; {ties}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "scheduler": self.scheduler,
            "box": self.box.to_dict(),
            "horizon": self.horizon,
            "kinds": list(self.kinds),
            "mutants": list(self.mutants),
            "tie_break": self.tie_break,
            "statement": self.statement,
            "reading": self.reading,
            "covered": self.covered(),
            "lemmas": list(self.lemmas),
            "induction_covers": self.induction_covers(),
        }

    def induction_covers(self) -> str:
        return (
            f"every instance with <= {self.induction_requests} requests, any capacity, lengths, arrivals and intervals"
            f"{' with l<=o<=u' if self.box.correct else ''}; all rounds; every tie-break permutation"
        )


def standard_specs(
    requests: int = 3,
    capacity: int = 12,
    output: int = 8,
    arrival: int = 2,
    tie_break: str = "any",
    depth: int = 6,
    reading: str = "spec",
) -> list[ProofSpec]:
    """The proofs `amin prove` runs. Safety claims: a `depth`-round BMC over the box plus the induction (base case and
    one-round lemmas, `proofs.lemma`) for the same number of requests. C16: a complete BMC over a small box (its
    horizon grows like n^2 O^2) plus the lemmas its horizon bound rests on."""
    correct = Box(requests, capacity, output, arrival, correct=True)
    anyiv = Box(requests, capacity, output, arrival, correct=False)
    small = Box(min(requests, 2), min(capacity, 8), min(output, 3), min(arrival, 1), correct=False)
    Hs = termination_horizon(small)
    safety = ("invariant", "memory")
    specs = [
        ProofSpec(
            "C1",
            "amax",
            correct,
            depth,
            ("overflow", "eviction"),
            ("greedy_admission",),
            tie_break,
            "amax with l <= o <= u never exceeds M and never evicts",
            (*safety, "correct_no_eviction"),
        ),
        ProofSpec(
            "HSF",
            "hsf",
            correct,
            depth,
            ("overflow", "eviction"),
            ("greedy_admission",),
            tie_break,
            "hsf never exceeds M and never evicts",
            (*safety, "correct_no_eviction"),
        ),
        ProofSpec(
            "C2",
            "amin",
            anyiv,
            depth,
            ("overflow",),
            ("no_refine", "evict_one_short"),
            tie_break,
            "amin never exceeds M (any intervals)",
            safety,
        ),
        ProofSpec(
            "C3",
            "amin",
            anyiv,
            depth,
            ("decrease", "exceeds_output"),
            ("forget", "overshoot"),
            tie_break,
            "amin's planned length never decreases and, when l <= o, never exceeds o",
            ("invariant", "monotone"),
        ),
        ProofSpec(
            "C16",
            "amin",
            small,
            Hs,
            ("nontermination",),
            ("uncapped",),
            tie_break,
            "amin finishes every instance within the derived horizon",
            ("invariant", "eviction_needs_raise", "evictions_leave_one", "no_idle", "monotone"),
            requests,
        ),
        ProofSpec(
            "C16",
            "amax",
            small,
            Hs,
            ("nontermination",),
            ("uncapped",),
            tie_break,
            "amax finishes every instance within the derived horizon (any intervals)",
            ("invariant", "eviction_needs_raise", "evictions_leave_one", "no_idle", "monotone"),
            requests,
        ),
    ]
    return [replace(spec, reading=reading) for spec in specs]


def violation_terms(un: Any, kinds: Sequence[str]) -> Any:
    """Not(property): some round breaks one of the listed properties."""
    inst, bad = un.inst, []
    present = inst.present
    for t, r in enumerate(un.rounds):
        if "overflow" in kinds:
            bad.append(r.memory_next > inst.M)
        if "eviction" in kinds:
            bad.append(r.any_evicted)
        for i in range(inst.n):
            before, after = un.states[t].L[i], un.states[t + 1].L[i]
            if "decrease" in kinds:
                bad.append(z3.And(present[i], after < before))
            if "exceeds_output" in kinds:
                bad.append(z3.And(present[i], inst.lo[i] <= inst.o[i], after > inst.o[i]))
    if "nontermination" in kinds:
        bad.append(z3.Not(z3.And(*un.states[-1].done)))
    return z3.Or(*bad)


def check(spec: ProofSpec, mutant: str | None = None, seed: int = 0) -> dict[str, Any]:
    """Run one proof (or one mutant of it) in this process; returns a JSON-ready result."""
    t0 = time.perf_counter()
    sem = Semantics.of(spec.scheduler, tie_break=spec.tie_break, reading=spec.reading)
    if mutant is not None:
        sem = MUTANTS[mutant].semantics(sem)
    inst = symbolic_instance(spec.box.requests, sem, spec.box)
    un = unroll(sem, inst, spec.horizon)
    solver = make_solver(seed)
    solver.add(un.constraints)
    solver.add(violation_terms(un, spec.kinds))
    answer = solver.check()
    out: dict[str, Any] = {
        "claim": spec.claim,
        "scheduler": spec.scheduler,
        "mutant": mutant,
        "seed": seed,
        "covered": spec.covered(),
        "horizon": spec.horizon,
    }
    if answer == z3.unsat:
        out["verdict"] = "proved"
    elif answer == z3.sat:
        model = solver.model()
        instance, ranks = model_instance(model, inst)
        trace = model_trace(model, un)
        lowers = [r.lower for r in instance.requests]
        outputs = [r.output for r in instance.requests]
        init = [model.eval(un.states[0].L[i], model_completion=True).as_long() for i in range(len(instance.requests))]
        v = first_violation(trace, instance.capacity, spec.kinds, initial=init, outputs=outputs, lowers=lowers)
        out["verdict"] = "counterexample"
        out["instance"] = instance.to_dict()
        out["ranks"] = ranks
        out["violation"] = v.to_dict() if v else None
        out["trace"] = format_trace(trace, instance.capacity)
        out["replay"] = replay(
            instance, spec.scheduler, mutant, ranks, spec.horizon, spec.kinds, out["violation"], spec.reading
        )
    else:
        out["verdict"] = "unknown"
        out["reason"] = solver.reason_unknown()
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def replay(
    instance: Any,
    scheduler: str,
    mutant: str | None,
    ranks: Sequence[int] | None,
    horizon: int,
    kinds: Sequence[str],
    expected: dict[str, Any] | None,
    reading: str = "spec",
) -> dict[str, Any]:
    """Run the simulator (the real scheduler or the mutant subclass) round by round; the same violation must appear
    at the same round."""
    from amin.model import load_instance

    inst = load_instance(instance)
    sched = engine_scheduler(scheduler, mutant, ranks, reading)
    trace, initial = engine_trace(inst, sched, horizon)
    v = first_violation(
        trace,
        inst.capacity,
        kinds,
        initial=initial,
        outputs=[r.output for r in inst.requests],
        lowers=[r.lower for r in inst.requests],
    )
    got = v.to_dict() if v else None
    same = (
        got is not None
        and expected is not None
        and (got["kind"], got["round"]) == (expected["kind"], expected["round"])
    )
    return {"violation": got, "matches": same}


# --- isolation: every check runs in a child process that can be abandoned -------------------
def _child(conn: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        conn.send(("ok", fn(*args, **kwargs)))
    except BaseException as e:  # report, never hang the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def run_isolated(fn: Callable[..., Any], *args: Any, timeout: float, **kwargs: Any) -> tuple[str, Any]:
    """Run fn in a forked child; ("ok", value), ("error", message) or ("timeout", None). Z3's own timeout is not
    always honoured, so the parent kills the child at the deadline."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout):
            try:
                return parent.recv()
            except EOFError:
                return ("error", f"the proof process died (exit code {proc.exitcode})")
        return ("timeout", None)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()


@dataclass
class Row:
    """A claim's proof: the BMC over the box, the induction (base case + lemmas), and the mutants.

    Trusted only if everything is proved and every mutant is refuted by a counterexample that replays."""

    spec: ProofSpec
    proof: dict[str, Any]
    induction: list[dict[str, Any]] = field(default_factory=list)
    mutants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refuted(self) -> int:
        return sum(1 for m in self.mutants if m.get("verdict") == "counterexample" and m["replay"]["matches"])

    @property
    def verdict(self) -> str:
        v = self.proof.get("verdict")
        if v == "counterexample":
            return "refuted" if self.proof["replay"]["matches"] else "encoding-mismatch"
        if v != "proved":
            return v or "error"
        if any(x.get("verdict") != "proved" for x in self.induction):
            bad = [x for x in self.induction if x.get("verdict") != "proved"]
            return "timeout" if all(x.get("verdict") == "timeout" for x in bad) else "unproved"
        return "proved" if self.refuted == len(self.spec.mutants) else "untrustworthy"

    @property
    def seconds(self) -> float:
        return round(
            float(self.proof.get("seconds", 0.0)) + sum(float(x.get("seconds", 0.0)) for x in self.induction), 3
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.spec.to_dict(),
            "verdict": self.verdict,
            "seconds": self.seconds,
            "mutants_refuted": f"{self.refuted}/{len(self.spec.mutants)}",
            "proof": self.proof,
            "induction": self.induction,
            "mutant_results": self.mutants,
        }


def _isolated(fn: Callable[..., Any], timeout: float, label: dict[str, Any], *args: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    status, value = run_isolated(fn, *args, timeout=timeout)
    if status == "ok":
        return value
    return {**label, "verdict": status, "reason": value, "seconds": round(time.perf_counter() - t0, 3)}


def run_spec(
    spec: ProofSpec, timeout: float = 600.0, seed: int = 0, with_mutants: bool = True, with_induction: bool = True
) -> Row:
    """The BMC, the induction and the mutants, each in its own abandonable process."""
    from .lemma import check_base, check_lemma

    label = {"claim": spec.claim, "scheduler": spec.scheduler, "seed": seed, "covered": spec.covered()}
    row = Row(spec, _isolated(check, timeout, {**label, "mutant": None}, spec, None, seed))
    if with_induction:
        n = spec.induction_requests
        row.induction.append(
            _isolated(
                check_base,
                timeout,
                {"lemma": "base"},
                spec.scheduler,
                n,
                spec.claim,
                spec.box.correct,
                None,
                seed,
                spec.reading,
            )
        )
        for name in spec.lemmas:
            row.induction.append(_isolated(check_lemma, timeout, {"lemma": name}, name, n, None, seed, spec.reading))
    if with_mutants:
        row.mutants = [_isolated(check, timeout, {**label, "mutant": m}, spec, m, seed) for m in spec.mutants]
    return row
