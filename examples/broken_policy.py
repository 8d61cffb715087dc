"""Two subtly broken user policies, for `amin verify` to catch (docs/verify.md shows its output).

- `EagerAdmission` forgets that a request admitted at round t already holds its
  first generated token at t + 1: it admits while need + prompt <= capacity.
  Memory overflows by a token when the worker is nearly full.
- `StrictReserve` keeps a free-token reserve at admission with no exception for
  an empty worker: a request with prompt + 1 + reserve > capacity never starts.

    amin verify examples/broken_policy.py:EagerAdmission
    amin verify examples/broken_policy.py:StrictReserve

Each ends in a FAIL verdict (exit status 1) with a minimal counterexample saved
under ./amin-verify/, which `amin verify ... --replay FILE` reproduces.
"""

from __future__ import annotations

from amin import Job, Scheduler


class _Fcfs(Scheduler):
    admits_after_eviction = False

    def initial_planned_length(self, request) -> int:
        return 1

    def eviction_priority(self, job: Job) -> tuple[int, ...]:
        return (-job.start, -job.request.arrival, -job.index)

    def admission_priority(self, job: Job) -> tuple[int, ...]:
        return (job.request.arrival, job.index)


class _Budget:
    def __init__(self, need: int, limit: int, per_request: int) -> None:
        self.need, self.limit, self.per_request = need, limit, per_request

    def try_add(self, job: Job) -> bool:
        if self.need + job.request.prompt + self.per_request > self.limit:
            return False
        self.need += job.request.prompt + 1
        return True


class EagerAdmission(_Fcfs):
    name = "eager-admission"

    def admission(self, running, t, capacity, need):
        return _Budget(need, capacity, per_request=0)  # BUG: the first token (+1) is not counted


class StrictReserve(_Fcfs):
    name = "strict-reserve"
    reserve = 4

    def admission(self, running, t, capacity, need):
        return _Budget(need, capacity - self.reserve, per_request=1)  # BUG: no fallback for an empty worker
