"""Claim C2 ("Amin never exceeds memory M") by bounded model checking with Z3, for two requests: the way into
`proofs/`, written like Z3's bounded-model-checking examples. One fresh copy of the state per round, the round of
SPEC section 2 written once (`step`), `Not(property)` asserted over every round, and a model, if one exists,
printed as a readable trace. `proofs/` does the same for more requests, every scheduler, an induction step
over all rounds, and mutants; this file is small enough to check against SPEC by eye.

Run: python examples/bmc_c2.py   (asserts that no two-request instance with M <= 8, o <= 3 overflows in 8 rounds,
and that amin without its eviction step does overflow: the check can fail)
"""

import z3

N, ROUNDS, MAX_M, MAX_O = 2, 8, 8, 3


def fresh(k: int) -> dict[str, list[z3.ExprRef]]:
    """Round k's state: running?, tokens produced, planned length, done?"""
    return {
        "run": [z3.Bool(f"run{k}_{i}") for i in range(N)],
        "g": [z3.Int(f"g{k}_{i}") for i in range(N)],
        "L": [z3.Int(f"L{k}_{i}") for i in range(N)],
        "done": [z3.Bool(f"done{k}_{i}") for i in range(N)],
    }


def step(st: dict, s: list, o: list, M: z3.ExprRef, evict: bool = True) -> tuple[dict, z3.ExprRef]:
    """One round (SPEC section 2) for amin with index tie-breaks: the next state and next round's memory."""
    idx = range(N)
    completes = [z3.And(st["run"][i], st["g"][i] == o[i]) for i in idx]  # 1. complete
    run1 = [z3.And(st["run"][i], z3.Not(completes[i])) for i in idx]
    L1 = [
        z3.If(run1[i], z3.If(st["L"][i] >= st["g"][i] + 1, st["L"][i], st["g"][i] + 1), st["L"][i]) for i in idx
    ]  # 2. refine
    w = [s[i] + st["g"][i] + 1 for i in idx]  # held at t + 1
    need = z3.Sum([z3.If(run1[i], w[i], 0) for i in idx])

    def first(j: int, i: int) -> z3.BoolRef:  # j is evicted before i: smaller planned length, then index
        return z3.Or(L1[j] < L1[i], z3.And(L1[j] == L1[i], j < i))

    evicted = [
        z3.And(run1[i], evict, need - z3.Sum([z3.If(z3.And(run1[j], first(j, i)), w[j], 0) for j in idx if j != i]) > M)
        for i in idx
    ]  # 3. overflow
    run2 = [z3.And(run1[i], z3.Not(evicted[i])) for i in idx]
    cand = [z3.And(z3.Not(st["done"][i]), z3.Not(st["run"][i])) for i in idx]  # 4. admit (MC-SF)

    def before(j: int, i: int) -> z3.BoolRef:  # j is offered before i: smaller planned length, then index
        return z3.And(cand[j], z3.Or(L1[j] < L1[i], z3.And(L1[j] == L1[i], j < i)))

    end = [z3.If(run2[k], L1[k] - st["g"][k], L1[k]) for k in idx]  # planned end, relative to t
    base = [z3.If(run2[k], s[k] + st["g"][k], s[k]) for k in idx]  # memory at t, without growth
    fits = []
    for i in idx:
        member = [z3.Or(run2[k], k == i, before(k, i)) for k in idx]
        fits.append(
            z3.And(
                [
                    z3.Implies(
                        z3.And(member[j], end[j] <= end[i]),
                        z3.Sum([z3.If(z3.And(member[k], end[k] >= end[j]), base[k] + end[j], 0) for k in idx]) <= M,
                    )
                    for j in idx
                ]
            )
        )
    admitted = [z3.And(cand[i], fits[i], *[z3.Implies(before(j, i), fits[j]) for j in idx if j != i]) for i in idx]
    nxt = {
        "run": [z3.Or(run2[i], admitted[i]) for i in idx],  # 5. execute
        "g": [z3.If(run2[i], st["g"][i] + 1, z3.If(admitted[i], 1, 0)) for i in idx],
        "L": L1,
        "done": [z3.Or(st["done"][i], completes[i]) for i in idx],
    }
    memory = z3.Sum([z3.If(nxt["run"][i], s[i] + nxt["g"][i], 0) for i in idx])
    return nxt, memory


def overflow(evict: bool = True) -> z3.ModelRef | None:
    """A model of an instance and a round at which amin's memory exceeds M, or None if there is none."""
    M, s, o, lo = z3.Int("M"), z3.IntVector("s", N), z3.IntVector("o", N), z3.IntVector("l", N)
    solver = z3.Solver()
    solver.add(M >= 1, M <= MAX_M)
    for i in range(N):  # any valid instance: s + o <= M, any interval (it may miss the truth)
        solver.add(s[i] >= 0, o[i] >= 1, o[i] <= MAX_O, s[i] + o[i] <= M, lo[i] >= 1)
    states = [fresh(0)]
    for i in range(N):  # the initial state: nothing runs, planned length = min(l, M - s)
        solver.add(
            z3.Not(states[0]["run"][i]),
            states[0]["g"][i] == 0,
            z3.Not(states[0]["done"][i]),
            states[0]["L"][i] == z3.If(lo[i] <= M - s[i], lo[i], M - s[i]),
        )
    bad = []
    for k in range(ROUNDS):
        nxt, memory = step(states[k], s, o, M, evict)
        states.append(fresh(k + 1))
        for key in nxt:  # the fresh copy equals the transition's result
            solver.add([a == b for a, b in zip(states[k + 1][key], nxt[key], strict=True)])
        bad.append(memory > M)
    solver.add(z3.Or(bad))  # Not(property): memory exceeds M after some round
    return solver.model() if solver.check() == z3.sat else None


if __name__ == "__main__":
    assert overflow() is None, "amin overflowed"
    print(
        f"C2 holds: no instance of {N} requests (M <= {MAX_M}, o <= {MAX_O}, any interval) overflows in {ROUNDS} rounds"
    )
    model = overflow(evict=False)  # the same round without step 3: the check must find an overflow
    assert model is not None, "the check cannot fail: it proves nothing"
    shown = {str(d): model[d] for d in model.decls() if str(d)[0] in "Msol"}
    print("without eviction, Z3 finds an overflow:", ", ".join(f"{k}={v}" for k, v in sorted(shown.items())))
