"""A correct user policy, written only against amin's public scheduler protocol.

FCFS that keeps a fixed reserve of free tokens when it admits, so that the
running requests have room to grow before anyone must be preempted. When
nothing is running it admits the first waiting request regardless of the
reserve: without that fallback a request with prompt + 1 + reserve > capacity
would wait forever (see examples/broken_policy.py).

    amin verify examples/reserved_fcfs.py:ReservedFCFS
"""

from __future__ import annotations

from amin import Job, Scheduler


class ReserveTest:
    """Admit while next round's memory plus the reserve fits; always admit into an empty worker."""

    def __init__(self, need: int, capacity: int, reserve: int, empty: bool) -> None:
        self.need, self.capacity, self.reserve, self.empty = need, capacity, reserve, empty

    def try_add(self, job: Job) -> bool:
        grown = self.need + job.request.prompt + 1
        if grown + self.reserve > self.capacity and not (self.empty and grown <= self.capacity):
            return False
        self.need, self.empty = grown, False
        return True


class ReservedFCFS(Scheduler):
    name = "reserved-fcfs"
    reserve = 64  # tokens kept free at admission
    admits_after_eviction = False

    def initial_planned_length(self, request) -> int:
        return 1  # plans nothing; 1 is the trivially valid lower bound

    def eviction_priority(self, job: Job) -> tuple[int, ...]:
        return (-job.start, -job.request.arrival, -job.index)  # most recently admitted first

    def admission_priority(self, job: Job) -> tuple[int, ...]:
        return (job.request.arrival, job.index)  # arrival order

    def admission(self, running, t, capacity, need):
        return ReserveTest(need, capacity, self.reserve, empty=not running)
