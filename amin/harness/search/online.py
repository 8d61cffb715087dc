"""Evidence for the claims about what Amin reads and whom it evicts: C4 (never needs the upper bound) and C5
(evicts the least-progressed jobs first), checked on Hypothesis instances; writes reports/evidence/online.json.

    python -m amin.harness.search.online [--examples N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from amin import Instance, Simulation, make_scheduler, save_instance
from amin.harness.evidence import write_evidence
from amin.harness.search.evidence import versions
from amin.harness.search.strategies import heterogeneous_instances

C5_COUNTEREXAMPLE = Path("reports/counterexamples/c5_bound_evicts_more_progressed.json")


def upper_dependence(instance: Instance, seed: int, scheduler: str = "amin") -> str | None:
    """C4: the schedule with every upper bound redrawn must equal the original, for every option."""
    rng = random.Random(seed)
    changed = instance.replace_requests(
        replace(r, upper=r.lower + rng.randint(0, 3 * instance.capacity)) for r in instance.requests
    )
    for key in ("bound", "progress"):
        for tie in ("index", "random"):
            a = _run(instance, tie, key, seed, scheduler=scheduler)
            b = _run(changed, tie, key, seed, scheduler=scheduler)
            if (a.records, a.eviction_log) != (b.records, b.eviction_log):
                return f"{scheduler}'s schedule changed with the upper bounds (tie_break={tie}, eviction_key={key})"
    return None


def _run(instance: Instance, tie: str, key: str, seed: int, observer: Any = None, scheduler: str = "amin") -> Any:
    return Simulation(instance, make_scheduler(scheduler, tie_break=tie, seed=seed, eviction_key=key)).run(observer)


def progress_order_violation(instance: Instance, key: str) -> str | None:
    """C5: in every round that evicts, no evicted job has produced more tokens than a job that stays running."""
    found: list[str] = []

    def observe(sim: Simulation, event: Any) -> None:
        if not event.evicted or found:
            return
        lost = {e.index: e.tokens for e in sim._runs if e.round == event.t}  # the runs cut this round
        survivors = [j for j in sim.jobs if j.status == "running" and j.start is not None and j.start < event.t]
        for i, tokens in lost.items():
            for s in survivors:
                if tokens > s.progress:
                    found.append(
                        f"round {event.t}: evicted request {i} after {tokens} tokens while request {s.index} "
                        f"stays with {s.progress} (planned lengths: evicted {sim.jobs[i].planned_length}, "
                        f"kept {s.planned_length})"
                    )
                    return

    _run(instance, "index", key, 0, observe)
    return found[0] if found else None


def _search(
    violation: Any, examples: int, seed: int, family: str = "heterogeneous"
) -> tuple[int, Instance | None, str | None]:
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import NoSuchExample

    from amin.harness.search.strategies import family_strategy

    counted = {"n": 0}

    def cond(inst: Instance) -> bool:
        counted["n"] += 1
        return violation(inst) is not None

    strategy = (
        heterogeneous_instances(max_requests=8, max_capacity=24, correct=False)
        if family == "heterogeneous"
        else family_strategy(family, size="small")
    )
    try:
        inst = find(
            strategy,
            cond,
            settings=settings(
                max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck)
            ),
            random=random.Random(seed),
        )
    except NoSuchExample:
        return counted["n"], None, None
    return counted["n"], inst, violation(inst)


def claims(examples: int, seed: int, out: Path = C5_COUNTEREXAMPLE) -> list[dict[str, Any]]:
    t0 = time.perf_counter()
    n4, bad4, msg4 = _search(lambda i: upper_dependence(i, seed), examples, seed)
    c4 = {
        "id": "C4",
        "verdict": "refuted" if bad4 else "tested",
        "summary": msg4
        or "amin's schedule (records and evictions) is unchanged when every upper bound is redrawn, "
        "for both eviction keys and both tie-breaks; amin also receives no output length (PublicRequest)",
        "box": "heterogeneous instances, up to 8 requests, M <= 24, arrivals, intervals that may miss",
        "examples": n4,
        "worst_ratio": None,
        "evidence": [
            "python -m amin.harness.search.online",
            "tests/cover/test_properties.py::test_amin_never_reads_the_upper_bound",
        ],
        "seeds": [seed],
        "seconds": time.perf_counter() - t0,
    }
    t1 = time.perf_counter()
    # The theory's setting first (common interval, arrivals 0), then the real one (per-request intervals, arrivals).
    n_prog, bad_prog, _ = _search(lambda i: progress_order_violation(i, "progress"), examples, seed)
    n_common, bad_bound, msg_bound = _search(lambda i: progress_order_violation(i, "bound"), examples, seed, "common")
    setting = "the theory's setting (one common interval, all arrivals 0)"
    n_het = 0
    if bad_bound is None:
        n_het, bad_bound, msg_bound = _search(lambda i: progress_order_violation(i, "bound"), examples, seed)
        setting = "per-request intervals and arrivals"
    n_bound = n_common + n_het
    evidence = ["python -m amin.harness.search.online"]
    if bad_bound is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_instance(
            bad_bound,
            out,
            claim="C5",
            scheduler="amin",
            options={"tie_break": "index", "eviction_key": "bound"},
            violation=msg_bound,
        )
        evidence.insert(0, str(out))
    if bad_prog is not None:
        verdict, summary = (
            "refuted",
            "even eviction_key=progress evicted a more-progressed job: "
            + str(progress_order_violation(bad_prog, "progress")),
        )
    elif bad_bound is not None:
        verdict = "refuted"
        summary = (
            f"with SPEC's default eviction_key=bound amin evicts by planned length, not by progress; in {setting}, "
            f"{len(bad_bound.requests)} requests, capacity {bad_bound.capacity}: {msg_bound} "
            f"(a re-admitted request keeps its raised planned length, so equal planned lengths can hide unequal "
            f"progress); with eviction_key=progress no violation in {n_prog} examples"
        )
    else:
        verdict, summary = (
            "tested",
            f"no job evicted before a less-progressed one, both eviction keys ({n_prog} + {n_bound} examples)",
        )
    c5 = {
        "id": "C5",
        "verdict": verdict,
        "summary": summary,
        "box": "heterogeneous instances, up to 8 requests, M <= 24, arrivals, intervals that may miss; tie_break index",
        "examples": n_prog + n_bound,
        "worst_ratio": None,
        "evidence": evidence,
        "seeds": [seed],
        "seconds": time.perf_counter() - t1,
    }
    return [c4, c5]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m amin.harness.search.online", description=__doc__)
    p.add_argument("--examples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reports", default="reports")
    p.add_argument("--update", action="store_true", help="replace stored evidence even where this run covers less")
    args = p.parse_args(argv)
    reports = Path(args.reports)
    result = claims(args.examples, args.seed, reports / "counterexamples" / C5_COUNTEREXAMPLE.name)
    doc = {
        "source": "online",
        "generated": date.today().isoformat(),
        "versions": versions(),
        "command": f"python -m amin.harness.search.online --examples {args.examples} --seed {args.seed}",
        "claims": result,
    }
    written = write_evidence(reports / "evidence" / "online.json", doc, update=args.update)
    if not written.written:
        print(f"kept the stored {written.path}: {written.reason} (pass --update to replace it)", file=sys.stderr)
        return 1
    for c in result:
        print(f"{c['id']}: {c['verdict']}: {c['summary']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
