"""The C16 horizon: a concrete bound on the last completion of any MC-SF scheduler (hsf, amax, amin, mcsf).

Derivation (docs/proofs.md; each step is a Z3 lemma in `proofs.lemma`): a round evicts
only if it raised some planned length (eviction_needs_raise); a planned length is
raised only to g + 1 <= o, never decreases (monotone), so request i is raised at most
o_i - L0_i times; an eviction round loses at most min(M - 1, sum of the n - 1 largest
o_j - 1) tokens (evictions_leave_one); a round with nothing running has every
arrived request finished (no_idle). Hence last completion <= A + sum o + W * R.
"""

from __future__ import annotations

from amin.model import Instance
from amin.schedulers import Scheduler, make_scheduler


def raise_budget(instance: Instance, scheduler: str | Scheduler = "amin") -> int:
    """R: the most planned-length raises a run can make (each eviction round needs one)."""
    sched = make_scheduler(scheduler, tie_break="index") if isinstance(scheduler, str) else scheduler
    total = 0
    for r in instance.requests:
        view = r if sched.clairvoyant else r.public()
        start = min(sched.initial_planned_length(view), instance.capacity - r.prompt)
        total += max(0, r.output - start)
    return total


def loss_per_eviction_round(instance: Instance) -> int:
    """W: tokens one eviction round can lose (one request always survives; the evicted held <= M - 1 tokens)."""
    losses = sorted((r.output - 1 for r in instance.requests), reverse=True)
    return min(instance.capacity - 1, sum(losses[:-1]))


def horizon_bound(instance: Instance, scheduler: str | Scheduler = "amin") -> int:
    """An upper bound on the round of the last completion: A + sum o + W * R."""
    last = max(r.arrival for r in instance.requests)
    total = sum(r.output for r in instance.requests)
    return last + total + loss_per_eviction_round(instance) * raise_budget(instance, scheduler)
