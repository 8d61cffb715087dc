"""SPEC section 4's hindsight integer program stated literally, x[i][t] = 1 when request i starts at t, and solved
with HiGHS through cvxpy at zero gap. Read it against SPEC line by line; `optimal/` builds the same program with
sparse matrices and many refinements, and tests/cover/test_examples.py checks that both find the same optimum.

Run: python examples/hindsight_ip.py   (asserts status optimal and TEL 33 on SPEC's six identical requests)
"""

from pathlib import Path

import cvxpy as cp

import amin


def hindsight_ip(instance: amin.Instance) -> tuple[str, int, list[int]]:
    """(solver status, optimal total latency, starts) of the SPEC section 4 program."""
    reqs, M = instance.requests, instance.capacity
    # Any feasible schedule of total latency U bounds the horizon: c_i <= a_i + U - sum_{j != i} o_j.
    U = amin.simulate(instance, "hsf").total_latency
    latest = [r.arrival + U - sum(q.output for q in reqs) for r in reqs]  # the latest start of request i
    x = [cp.Variable(latest[i] - r.arrival + 1, boolean=True) for i, r in enumerate(reqs)]  # x[i][t - a_i]

    def starts_at(i: int, t: int) -> cp.Expression | int:  # x[i, t], or 0 outside i's start window
        return x[i][t - reqs[i].arrival] if reqs[i].arrival <= t <= latest[i] else 0

    # minimise sum_i ( sum_t t * x[i,t] + o_i - a_i )
    objective = sum(
        sum(t * starts_at(i, t) for t in range(r.arrival, latest[i] + 1)) + r.output - r.arrival
        for i, r in enumerate(reqs)
    )
    # sum_t x[i,t] = 1 for every i
    constraints = [cp.sum(x[i]) == 1 for i in range(len(reqs))]
    # sum_i sum_{t = tau - o_i}^{tau - 1} (s_i + tau - t) * x[i,t] <= M for every tau
    for tau in range(1, max(latest[i] + r.output for i, r in enumerate(reqs)) + 1):
        load = sum(
            (r.prompt + tau - t) * starts_at(i, t) for i, r in enumerate(reqs) for t in range(tau - r.output, tau)
        )
        if isinstance(load, cp.Expression):
            constraints.append(load <= M)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    problem.solve(solver=cp.HIGHS, mip_rel_gap=0.0, mip_abs_gap=0.0)  # zero gap: an optimum, not a good schedule
    starts = [r.arrival + int(round(float(x[i].value.argmax()))) for i, r in enumerate(reqs)]
    return problem.status, int(round(problem.value)), starts


if __name__ == "__main__":
    six = amin.load_instance(Path(__file__).resolve().parent.parent / "amin" / "examples" / "six_identical.json")
    status, total_latency, starts = hindsight_ip(six)
    amin.check_schedule(six, starts)  # never trust one oracle: the independent memory checker
    assert status == cp.OPTIMAL and total_latency == 33, (status, total_latency)
    print(f"six identical requests: status {status}, total latency {total_latency}, starts {starts} (H-SF: 36)")
