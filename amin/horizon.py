"""One termination horizon: how many rounds a run can take, by one formula with the parameters each setting
allows (claim C16; the derivation and its Z3 lemmas are in docs/proofs.md and `proofs.lemma`).

Last completion <= A + sum(o) + W * R: the last arrival A, every token produced once, plus W tokens lost in
each of at most R eviction rounds. For the MC-SF schedulers a round evicts only if it raised some planned
length, and a planned length is raised only to g + 1 <= o, so R <= sum(max(0, o - L0)) and one eviction round
loses W <= min(M - 1, sum of the n - 1 largest o - 1) tokens (`horizon_bound`, proved). For any other policy
nothing bounds its raises, so the engine's livelock guard allows every request to be evicted once per unit
of capacity (`round_budget`).
"""

from __future__ import annotations

from . import rules as R
from .model import Instance
from .rules import Rules


class NonTermination(RuntimeError):
    """A run exceeded its round budget: a livelock (or a budget set too small)."""


def horizon(last_arrival: int, total_output: int, loss_per_round: int, eviction_rounds: int) -> int:
    """A + sum(o) + W * R."""
    return last_arrival + total_output + loss_per_round * eviction_rounds


def raise_budget(instance: Instance, rules: Rules) -> int:
    """R: the most planned-length raises an MC-SF run can make (each eviction round needs one)."""
    total = 0
    for r in instance.requests:
        view = r if rules.clairvoyant else r.public()
        first = R.cap(rules, R.initial_planned_length(rules, view), r.prompt, instance.capacity)
        total += max(0, r.output - first)
    return total


def loss_per_eviction_round(instance: Instance) -> int:
    """W: tokens one eviction round can lose (one request always survives; the evicted held <= M - 1 tokens)."""
    losses = sorted((r.output - 1 for r in instance.requests), reverse=True)
    return min(instance.capacity - 1, sum(losses[:-1]))


def proved_for(rules: Rules) -> bool:
    """The rules the C16 derivation covers: MC-SF planning admission with the SPEC refinement and cap."""
    return rules.admission == "planning" and not rules.mutant and rules.refinement == "g+1"


def horizon_bound(instance: Instance, rules: Rules) -> int:
    """The C16 bound on the round of the last completion of an MC-SF scheduler (hsf, amax, amin, mcsf)."""
    if not proved_for(rules):
        raise ValueError(f"the C16 horizon is derived for MC-SF schedulers, not for {rules.name}")
    last = max(r.arrival for r in instance.requests)
    total = sum(r.output for r in instance.requests)
    return horizon(last, total, loss_per_eviction_round(instance), raise_budget(instance, rules))


def run_budget(instance: Instance, rules: Rules | None) -> int:
    """Rounds a run may take before the engine calls it non-terminating: the proved C16 horizon (plus the round
    of the last completion) for the rules it covers, so that every such run checks C16; else `round_budget`."""
    if rules is not None and proved_for(rules):
        return horizon_bound(instance, rules) + 1
    return round_budget(instance)


def round_budget(instance: Instance) -> int:
    """The livelock guard for any policy: rounds a run may take before the engine calls it non-terminating."""
    n = len(instance.requests)
    last = max(r.arrival for r in instance.requests)
    total = sum(r.output for r in instance.requests)
    return horizon(last, total, instance.capacity, n * instance.capacity) + 2
