"""`amin verify`: run the battery that checks the built-in schedulers on any user policy.

A policy is a subclass of `amin.Scheduler` (docs/verify.md describes the
protocol). The battery checks, on random instances drawn by Hypothesis, each
property that the built-in schedulers satisfy, shrinks every violation to a
minimal instance, saves it as instance JSON, and measures the policy's latency
ratios. Safety, progress and information failures make the verdict fail.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .check import ScheduleError, check_result
from .engine import NonTermination, RoundEvent, Simulation, round_budget
from .model import Instance, load_instance, save_instance
from .schedulers import SCHEDULERS, Scheduler, make_scheduler

# kind -> does a failure fail the verdict?
KINDS = {"safety": True, "progress": True, "information": True, "performance": False}


@dataclass(frozen=True)
class PropertyVerdict:
    """The outcome of one property of the battery."""

    name: str
    kind: str  # safety | progress | information | performance
    passed: bool | None  # None: not applicable or not measured
    examples: int
    detail: str
    counterexample: str | None = None  # path of the saved instance JSON
    value: float | None = None

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "n/a" if self.kind != "performance" else "measured"
        return "pass" if self.passed else "FAIL"


@dataclass(frozen=True)
class VerifyReport:
    """Every verdict for one policy; `failed` when a safety, progress or information property failed."""

    policy: str
    examples: int
    seed: int
    properties: tuple[PropertyVerdict, ...]
    bound: str = field(default="round_budget(instance)")

    @property
    def failed(self) -> bool:
        return any(p.passed is False and KINDS[p.kind] for p in self.properties)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "examples": self.examples,
            "seed": self.seed,
            "failed": self.failed,
            "termination_bound": self.bound,
            "properties": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "verdict": p.verdict,
                    "examples": p.examples,
                    "detail": p.detail,
                    "counterexample": p.counterexample,
                    "value": p.value,
                }
                for p in self.properties
            ],
        }

    def table(self) -> str:
        from .cli import format_table

        rows = [[p.name, p.kind, p.verdict, p.examples, p.detail] for p in self.properties]
        text = format_table(["property", "kind", "verdict", "examples", "detail"], rows)
        failed = [f"  {p.name}: {p.counterexample}" for p in self.properties if p.counterexample and p.passed is False]
        worst = [
            f"  {p.name}: {p.counterexample}" for p in self.properties if p.counterexample and p.passed is not False
        ]
        if failed:
            text += "\ncounterexamples (instance JSON, replay with --replay FILE):\n" + "\n".join(failed)
        if worst:
            text += "\nworst instances found (instance JSON):\n" + "\n".join(worst)
        return text


# --- the checks, one instance at a time ------------------------------------------------
class _Trace:
    """Records every round's event and per-request planned lengths, for the information check."""

    def __init__(self) -> None:
        self.rounds: list[tuple[RoundEvent, tuple[int, ...]]] = []

    def __call__(self, sim: Simulation, event: RoundEvent) -> None:
        self.rounds.append((event, tuple(j.planned_length for j in sim.jobs)))


def run_policy(policy: type[Scheduler], instance: Instance, observer: Callable[..., None] | None = None):
    """Simulate one fresh policy object on the reference engine, with the stated termination bound."""
    sched = make_scheduler(policy, tie_break="index")
    return Simulation(instance, sched, max_rounds=round_budget(instance)).run(observer)


def safety_violation(policy: type[Scheduler], instance: Instance) -> str | None:
    """Memory within capacity at every time, every request served exactly once (checked independently)."""
    try:
        result = run_policy(policy, instance)
    except NonTermination:
        return None  # reported by the progress property
    except Exception as e:  # a crashing policy is unsafe to deploy: report it, do not hide it
        return f"the policy raised {type(e).__name__}: {e}"
    try:
        check_result(instance, result)
    except ScheduleError as e:
        return str(e)
    return None


def progress_violation(policy: type[Scheduler], instance: Instance) -> str | None:
    """Every request completes within round_budget(instance) rounds (no livelock, no starvation)."""
    try:
        run_policy(policy, instance)
    except NonTermination as e:
        return str(e)
    except Exception:
        return None  # reported by the safety property
    return None


def information_violation(policy: type[Scheduler], instance: Instance, index: int, extra: int) -> str | None:
    """Non-anticipation: lengthening request `index`'s true output by `extra` tokens must not change any
    decision before the round in which the original run completes it (until then both runs observe the same)."""
    a, b = _Trace(), _Trace()
    try:
        ra = run_policy(policy, instance, a)
        longer = instance.replace_requests(
            replace(r, output=r.output + extra) if k == index else r for k, r in enumerate(instance.requests)
        )
        run_policy(policy, longer, b)
    except Exception:
        return None  # crashes and livelocks are reported by the other properties
    horizon = ra.records[index].completion
    for (ea, la), (eb, lb) in zip(a.rounds, b.rounds, strict=False):  # the runs part after `horizon`
        if ea.t >= horizon:
            break
        if ea != eb or la != lb:
            return (
                f"decisions at round {ea.t} depend on request {index}'s true output "
                f"({instance.requests[index].output} vs {instance.requests[index].output + extra}), "
                f"which no online scheduler can know before round {horizon}"
            )
    return None


# --- Hypothesis-driven search for minimal violations -----------------------------------
def _instances(max_requests: int = 6, max_capacity: int = 16) -> Any:
    from hypothesis import strategies as st

    from .search.strategies import heterogeneous_instances

    return st.one_of(
        heterogeneous_instances(max_requests=max_requests, max_capacity=max_capacity, correct=True),
        heterogeneous_instances(max_requests=max_requests, max_capacity=max_capacity, correct=False),
    )


def _settings(examples: int) -> Any:
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck), print_blob=False
    )


def find_minimal(
    strategy: Any, violation: Callable[[Any], str | None], examples: int, seed: int
) -> tuple[Any, str] | None:
    """The smallest example (by Hypothesis's shrinker) whose `violation` is not None, or None if none was found."""
    from hypothesis import find
    from hypothesis.errors import NoSuchExample

    try:
        found = find(
            strategy, lambda x: violation(x) is not None, settings=_settings(examples), random=random.Random(seed)
        )
    except NoSuchExample:
        return None
    return found, violation(found) or "violation"


def _save(out: Path | None, policy_name: str, prop: str, instance: Instance, message: str, **extra: Any) -> str | None:
    if out is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{policy_name}-{prop}.json"
    save_instance(instance, path, property=prop, policy=policy_name, violation=message, **extra)
    return str(path)


def _policy_name(policy: type[Scheduler]) -> str:
    return getattr(policy, "name", None) if policy in SCHEDULERS.values() else policy.__name__  # type: ignore[return-value]


def verify(
    policy: type[Scheduler],
    *,
    examples: int = 200,
    seed: int = 0,
    out: str | Path | None = None,
    ratios: bool = True,
    search: bool = True,
    progress: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Run the whole battery on `policy` (a Scheduler subclass). Deterministic for a given seed."""
    check_policy_class(policy)
    from hypothesis import strategies as st

    name = _policy_name(policy)
    out_dir = Path(out) if out is not None else None
    say = progress or (lambda _msg: None)
    verdicts: list[PropertyVerdict] = []

    def checked(
        prop: str,
        kind: str,
        strategy: Any,
        violation: Callable[[Any], str | None],
        offset: int,
        ok: str,
        saved: Callable[[Any], tuple[Instance, dict[str, Any]]] = lambda x: (x, {}),
    ) -> PropertyVerdict:
        """One pass/fail property: search for a minimal violation, and save it as instance JSON if found."""
        say(prop)
        hit = find_minimal(strategy, violation, examples, seed + offset)
        if hit is None:
            return PropertyVerdict(prop, kind, True, examples, ok)
        inst, extra = saved(hit[0])
        return PropertyVerdict(prop, kind, False, examples, hit[1], _save(out_dir, name, prop, inst, hit[1], **extra))

    verdicts.append(
        checked(
            "memory-safety",
            "safety",
            _instances(),
            lambda i: safety_violation(policy, i),
            0,
            "memory <= capacity at all times; each request served once",
        )
    )
    verdicts.append(
        checked(
            "termination",
            "progress",
            _instances(),
            lambda i: progress_violation(policy, i),
            1,
            "all complete within round_budget(instance)",
        )
    )
    if getattr(policy, "clairvoyant", False):
        verdicts.append(
            PropertyVerdict(
                "no-hidden-information", "information", None, 0, "declared clairvoyant: may read true outputs"
            )
        )
    else:

        @st.composite
        def pairs(draw: Any) -> tuple[Instance, int, int]:
            inst = draw(_instances())
            room = [k for k, r in enumerate(inst.requests) if r.prompt + r.output < inst.capacity]
            if not room:  # nothing can be lengthened: widen the capacity by one token
                inst = Instance(inst.capacity + 1, inst.requests)
                room = list(range(len(inst.requests)))
            k = draw(st.sampled_from(room))
            r = inst.requests[k]
            return inst, k, draw(st.integers(1, inst.capacity - r.prompt - r.output))

        verdicts.append(
            checked(
                "no-hidden-information",
                "information",
                pairs(),
                lambda p: information_violation(policy, *p),
                2,
                "no decision depends on an unrevealed output",
                saved=lambda p: (p[0], {"request": p[1], "extra_tokens": p[2]}),
            )
        )

    if ratios:
        say("ratio to OPT on small instances")
        verdicts.append(_ratio_to_opt(policy, examples=min(examples, 40), seed=seed))
        say("ratio to H-SF on a real-trace sample")
        verdicts.append(_ratio_to_hsf_real(policy, seed=seed))
    if search:
        say("adversarial search for the worst ratio")
        verdicts.append(_worst_ratio(policy, examples=examples, seed=seed, out=out_dir, name=name))
    return VerifyReport(name, examples, seed, tuple(verdicts))


def _ratio_to_opt(policy: type[Scheduler], *, examples: int, seed: int) -> PropertyVerdict:
    from .search.ratio import optimum

    rng = random.Random(seed)
    worst, total, n = 1.0, 0.0, 0
    for _ in range(examples):
        cap = rng.randint(4, 12)
        reqs = []
        for _ in range(rng.randint(2, 5)):
            s = rng.randint(0, cap // 3)
            o = rng.randint(1, min(6, cap - s))
            lo = max(1, o - rng.randint(0, o))
            reqs.append(
                {"prompt": s, "output": o, "lower": lo, "upper": o + rng.randint(0, 4), "arrival": rng.randint(0, 3)}
            )
        inst = load_instance({"capacity": cap, "requests": reqs})
        try:
            result = run_policy(policy, inst)
        except Exception:
            continue
        ref = optimum(inst, exact_only=True)
        ratio = result.total_latency / ref.total_latency
        worst, total, n = max(worst, ratio), total + ratio, n + 1
    if n == 0:
        return PropertyVerdict("ratio-to-opt", "performance", None, 0, "no instance could be evaluated")
    return PropertyVerdict(
        "ratio-to-opt",
        "performance",
        None,
        n,
        f"mean {total / n:.3f}, worst {worst:.3f} over {n} tiny instances (exact OPT)",
        value=worst,
    )


def _ratio_to_hsf_real(policy: type[Scheduler], *, seed: int, n: int = 300, capacity: int = 16492) -> PropertyVerdict:
    from .engine import simulate
    from .predictors import relative
    from .traces import load_trace

    inst, _ = load_trace("azure-conv").sample(n, seed).to_instance(capacity, relative(0.5))
    try:
        result = run_policy(policy, inst)
    except Exception as e:
        return PropertyVerdict(
            "ratio-to-hsf-real", "performance", None, 1, f"the policy failed on the trace sample: {type(e).__name__}"
        )
    hsf = simulate(inst, "hsf")
    amin_ = simulate(inst, "amin")
    r = result.total_latency / hsf.total_latency
    return PropertyVerdict(
        "ratio-to-hsf-real",
        "performance",
        None,
        1,
        f"{r:.3f} on {len(inst.requests)} Azure conversation requests, capacity {capacity}, relative(0.5) "
        f"(amin: {amin_.total_latency / hsf.total_latency:.3f})",
        value=r,
    )


def _worst_ratio(policy: type[Scheduler], *, examples: int, seed: int, out: Path | None, name: str) -> PropertyVerdict:
    from .search.targeted import search

    outcome = search(policy, "hsf", family="common", examples=examples, seed=seed)  # type: ignore[arg-type]
    if outcome.best is None or outcome.instance is None:
        return PropertyVerdict("worst-ratio-search", "performance", None, outcome.examples, "no instance evaluated")
    path = _save(out, name, "worst-ratio", outcome.instance, f"ratio {outcome.value:.4f} to H-SF", ratio=outcome.value)
    return PropertyVerdict(
        "worst-ratio-search",
        "performance",
        None,
        outcome.examples,
        f"worst ratio to H-SF found: {outcome.value:.3f} ({len(outcome.instance.requests)} requests, family common)",
        path,
        outcome.value,
    )


# --- replay and policy loading ------------------------------------------------------
def replay(policy: type[Scheduler], path: str | Path) -> str | None:
    """Re-run a saved counterexample: the violation message it still produces, or None if it no longer fails."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    inst = load_instance(data)
    prop = data.get("property", "memory-safety")
    if prop == "memory-safety":
        return safety_violation(policy, inst)
    if prop == "termination":
        return progress_violation(policy, inst)
    if prop == "no-hidden-information":
        return information_violation(policy, inst, int(data["request"]), int(data["extra_tokens"]))
    raise ValueError(f"{path}: property {prop!r} cannot be replayed (it is a measurement, not a violation)")


def check_policy_class(policy: Any) -> None:
    if not (isinstance(policy, type) and issubclass(policy, Scheduler)):
        raise ValueError(f"{policy!r} is not a subclass of amin.Scheduler")
    try:
        make_scheduler(policy, tie_break="index", seed=0, eviction_key="bound")
    except TypeError as e:
        raise ValueError(
            f"{policy.__name__} cannot be built with the standard options (tie_break=, seed=, eviction_key=): {e}"
        ) from None


def load_policy(target: str) -> type[Scheduler]:
    """`MODULE:CLASS` or `path/to/file.py:CLASS`; a built-in scheduler name is accepted too."""
    if target in SCHEDULERS:
        return SCHEDULERS[target]
    if ":" not in target:
        raise ValueError(f"expected MODULE:CLASS (or a built-in scheduler name), got {target!r}")
    module_name, _, cls_name = target.rpartition(":")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise ValueError(f"cannot read {path}: no such file")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"cannot import {module_name}: {e}") from None
    policy = getattr(module, cls_name, None)
    if policy is None:
        raise ValueError(f"{module_name} has no attribute {cls_name!r}")
    check_policy_class(policy)
    return policy


# --- command line ------------------------------------------------------------------
def add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="run the verification battery on your own scheduler",
        description="Run the battery (memory safety, termination, no hidden information, ratios, adversarial search) "
        "on a user policy given as MODULE:CLASS or path/to/file.py:CLASS (a subclass of amin.Scheduler).",
    )
    p.add_argument("policy", help="MODULE:CLASS, path/to/file.py:CLASS, or a built-in scheduler name")
    p.add_argument("--examples", type=int, default=200, help="examples per property (default: 200)")
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    p.add_argument("--out", default="amin-verify", help="where counterexamples are saved (default: ./amin-verify)")
    p.add_argument("--no-ratios", action="store_true", help="skip the ratio measurements (OPT and real trace)")
    p.add_argument("--no-search", action="store_true", help="skip the adversarial search")
    p.add_argument("--replay", metavar="FILE", help="re-run one saved counterexample instead of the battery")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    p.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from .cli import print_json

    if args.examples < 1:
        raise ValueError(f"--examples must be >= 1, got {args.examples}")
    policy = load_policy(args.policy)
    if args.replay:
        message = replay(policy, args.replay)
        if args.json:
            print_json({"file": args.replay, "reproduces": message is not None, "violation": message})
        else:
            print(f"{args.replay}: " + (f"reproduces: {message}" if message else "no longer fails"))
        return 1 if message else 0
    report = verify(
        policy,
        examples=args.examples,
        seed=args.seed,
        out=args.out,
        ratios=not args.no_ratios,
        search=not args.no_search,
        progress=None if args.json else lambda m: print(f"... {m}", file=sys.stderr, flush=True),
    )
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"amin verify {report.policy}: {report.examples} examples per property, seed {report.seed}")
        print(report.table())
        print("verdict: " + ("FAIL (a safety, progress or information property failed)" if report.failed else "pass"))
    return 1 if report.failed else 0


def check_scheduler(
    policy: type[Scheduler],
    *,
    examples: int = 100,
    seed: int = 0,
    out: str | Path | None = None,
    ratios: bool = False,
    search: bool = False,
) -> VerifyReport:
    """Run the battery and raise AssertionError (with the verdict table) if a safety, progress or
    information property fails. For a user's own test suite; `amin.testing` exposes it as a pytest fixture."""
    report = verify(policy, examples=examples, seed=seed, out=out, ratios=ratios, search=search)
    if report.failed:
        raise AssertionError(f"amin verify {report.policy} failed:\n{report.table()}")
    return report


__all__ = ["PropertyVerdict", "VerifyReport", "check_scheduler", "load_policy", "replay", "verify"]
