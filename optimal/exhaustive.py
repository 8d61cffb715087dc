"""Exhaustive branch and bound over start times: the ground truth the integer program is tested against.

It shares nothing with the integer program (no horizon argument, no solver):
requests are placed one at a time at every start from their arrival upwards,
a memory array is updated in place, and a branch is cut only when its latency
already reaches the best complete schedule found. Meant for about five requests.
"""

from __future__ import annotations

from typing import Any

from amin import Instance, check_schedule, load_instance


def exhaustive(instance: Instance | Any) -> tuple[int, tuple[int, ...]]:
    """The minimum total latency over all non-preemptive schedules, and one schedule that attains it."""
    inst = load_instance(instance)
    reqs = inst.requests
    n = len(reqs)
    capacity = inst.capacity
    # Search order: by arrival, then shorter first, so that good schedules are found early.
    order = sorted(range(n), key=lambda i: (reqs[i].arrival, reqs[i].output, reqs[i].prompt, i))
    # Identical requests are interchangeable: force their starts to be non-decreasing in search order.
    previous_twin = [-1] * n
    for pos, i in enumerate(order):
        for q in range(pos - 1, -1, -1):
            j = order[q]
            if (reqs[j].arrival, reqs[j].prompt, reqs[j].output) == (reqs[i].arrival, reqs[i].prompt, reqs[i].output):
                previous_twin[pos] = q
                break
    # The incumbent: one request at a time in arrival order (each fits alone, so this is feasible).
    best_starts = [0] * n
    clock = 0
    for i in sorted(range(n), key=lambda i: (reqs[i].arrival, i)):
        best_starts[i] = max(reqs[i].arrival, clock)
        clock = best_starts[i] + reqs[i].output
    best = sum(best_starts[i] + reqs[i].output - reqs[i].arrival for i in range(n))
    # Any start that passes the latency cut has p - a < best, so this array is long enough.
    horizon = max(r.arrival for r in reqs) + best + max(r.output for r in reqs) + 2
    memory = [0] * (horizon + 1)
    starts = [0] * n
    remaining_min = [0] * (n + 1)  # sum of outputs of requests not yet placed: the least they can add
    for pos in range(n - 1, -1, -1):
        remaining_min[pos] = remaining_min[pos + 1] + reqs[order[pos]].output

    def place(pos: int, partial: int) -> None:
        nonlocal best, best_starts
        if pos == n:
            if partial < best:
                best, best_starts = partial, list(starts)
            return
        i = order[pos]
        s, o, a = reqs[i].prompt, reqs[i].output, reqs[i].arrival
        p = a if previous_twin[pos] < 0 else max(a, starts[order[previous_twin[pos]]])
        while partial + (p + o - a) + remaining_min[pos + 1] < best:
            if all(memory[p + d] + s + d <= capacity for d in range(1, o + 1)):
                for d in range(1, o + 1):
                    memory[p + d] += s + d
                starts[i] = p
                place(pos + 1, partial + p + o - a)
                for d in range(1, o + 1):
                    memory[p + d] -= s + d
            p += 1

    place(0, 0)
    found = tuple(best_starts)
    check_schedule(inst, found)
    return best, found
