"""`amin verify`: run the battery that checks the built-in schedulers on any user policy.

A policy is a subclass of `amin.Scheduler` (docs/verify.md describes the
protocol). It runs in a process of its own (`amin.harness.isolation`) that never sees a
true output length; the round loop, the checker and every verdict run here. The
battery checks, on random instances drawn by Hypothesis, each property that the
built-in schedulers satisfy, shrinks every violation to a minimal instance,
saves it as instance JSON, and measures the policy's latency ratios. Safety,
progress and information failures, including a policy that crashes, exits,
hangs or answers nonsense, make the verdict fail.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from amin.check import ScheduleError, check_result
from amin.engine import NonTermination, RoundEvent, Simulation
from amin.harness.isolation import Limits, PolicyFailure, PolicyLoadError, PolicyProcess, PolicyTarget, policy_target
from amin.harness.options import positive_int, seconds, seed
from amin.model import Instance, load_instance, save_instance
from amin.results import Result
from amin.schedulers import Scheduler

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
        from amin.harness.console import format_table

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


# --- one run, judged here -----------------------------------------------------------------
SAFETY, PROGRESS, INFORMATION = "memory-safety", "termination", "no-hidden-information"

Policy = str | type[Scheduler] | PolicyTarget
"""A policy to verify: `MODULE:CLASS`, `path/to/file.py:CLASS`, a built-in scheduler name, or the class itself."""


@dataclass(frozen=True)
class RunOutcome:
    """One run of the policy, judged in the verifier's process; `owner` is the property a failure belongs to."""

    result: Result | None
    violation: str | None = None
    owner: str | None = None  # SAFETY (unsafe schedule, or the policy raised, exited, answered nonsense) | PROGRESS
    tripped: bool = False  # not run: the policy already hung too often


def _owner(failure: PolicyFailure) -> str:
    return PROGRESS if failure.kind == "hung" else SAFETY


def judge_run(proc: PolicyProcess, instance: Instance, observer: Callable[..., None] | None = None) -> RunOutcome:
    """Run the policy once on the reference loop and check the schedule with the independent checker, here."""
    try:
        result = proc.run(instance, observer)
    except PolicyFailure as e:
        tripped = e.kind == "tripped"
        return RunOutcome(None, str(e), None if tripped else _owner(e), tripped=tripped)
    except NonTermination as e:
        return RunOutcome(None, str(e), PROGRESS)
    except Exception as e:  # noqa: BLE001 - whatever the decisions did to the loop is a verdict, not a traceback
        first = str(e).splitlines()[0] if str(e) else ""
        return RunOutcome(None, f"the round loop failed on the policy's decisions: {type(e).__name__}: {first}", SAFETY)
    try:
        check_result(instance, result)
    except ScheduleError as e:
        return RunOutcome(result, str(e), SAFETY)
    return RunOutcome(result)


def safety_violation(proc: PolicyProcess, instance: Instance) -> str | None:
    """Memory within capacity at every time, every request served exactly once (checked independently), and the
    policy answered every call without raising, exiting or returning an invalid decision."""
    outcome = judge_run(proc, instance)
    return outcome.violation if outcome.owner == SAFETY else None


def progress_violation(proc: PolicyProcess, instance: Instance) -> str | None:
    """Every request completes within round_budget(instance) rounds, and the policy answers within its time limits."""
    outcome = judge_run(proc, instance)
    return outcome.violation if outcome.owner == PROGRESS else None


class _Trace:
    """Records every round's event and per-request planned lengths, for the information check."""

    def __init__(self) -> None:
        self.rounds: list[tuple[RoundEvent, tuple[int, ...]]] = []

    def __call__(self, sim: Simulation, event: RoundEvent) -> None:
        self.rounds.append((event, tuple(j.planned_length for j in sim.jobs)))


def _lengthened(instance: Instance, index: int, extra: int) -> Instance:
    return instance.replace_requests(
        replace(r, output=r.output + extra) if k == index else r for k, r in enumerate(instance.requests)
    )


def _anticipation(
    instance: Instance, index: int, extra: int, runs: tuple[tuple[RunOutcome, _Trace], tuple[RunOutcome, _Trace]]
) -> str | None:
    (a, ta), (b, tb) = runs
    if a.result is None or a.violation or b.violation:
        return None  # crashes, unsafe runs and livelocks are reported by the other properties
    horizon = a.result.records[index].completion
    for (ea, la), (eb, lb) in zip(ta.rounds, tb.rounds, strict=False):  # the runs part after `horizon`
        if ea.t >= horizon:
            break
        if ea != eb or la != lb:
            return (
                f"decisions at round {ea.t} depend on request {index}'s true output "
                f"({instance.requests[index].output} vs {instance.requests[index].output + extra}), "
                f"which no online scheduler can know before round {horizon}"
            )
    return None


def _traced(proc: PolicyProcess, instance: Instance) -> tuple[RunOutcome, _Trace]:
    trace = _Trace()
    return judge_run(proc, instance, trace), trace


def information_violation(proc: PolicyProcess, instance: Instance, index: int, extra: int) -> str | None:
    """Non-anticipation: lengthening request `index`'s true output by `extra` tokens must not change any
    decision before the round in which the original run completes it (until then both runs observe the same)."""
    runs = (_traced(proc, instance), _traced(proc, _lengthened(instance, index, extra)))
    return _anticipation(instance, index, extra, runs)


# --- Hypothesis-driven search for minimal violations -----------------------------------
def _instances(max_requests: int = 6, max_capacity: int = 16) -> Any:
    from hypothesis import strategies as st

    from amin.harness.search.strategies import heterogeneous_instances

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


class _Tripped(Exception):
    """The policy hung too often: stop running it (each hang costs a whole time limit)."""


@dataclass(frozen=True)
class _Incident:
    """A failed run met anywhere in the battery, kept until the property that owns it reports it."""

    instance: Instance
    message: str
    step: str


def _size(instance: Instance) -> tuple[int, int, int]:
    return len(instance.requests), instance.capacity, sum(r.output for r in instance.requests)


class _LastDrawn:
    """Passes instances through from a strategy, remembering the last one (the one under evaluation)."""

    def __init__(self) -> None:
        self.last: Instance | None = None
        self.count = 0

    def __call__(self, instance: Instance) -> Instance:
        self.last, self.count = instance, self.count + 1
        return instance


class _Battery:
    """The battery for one policy process: every run is judged here, and every failure met, in any step, is kept
    so that the property it belongs to fails with a replayable counterexample."""

    def __init__(
        self, proc: PolicyProcess, name: str, out: Path | None, examples: int, seed: int, say: Callable[[str], None]
    ) -> None:
        self.proc, self.name, self.out, self.examples, self.seed, self.say = proc, name, out, examples, seed, say
        self.cache: dict[Instance, RunOutcome] = {}  # Hypothesis re-evaluates examples while it shrinks
        self.incidents: dict[str, _Incident] = {}

    def note(self, owner: str, instance: Instance, message: str, step: str) -> None:
        known = self.incidents.get(owner)
        if known is None or _size(instance) < _size(known.instance):
            self.incidents[owner] = _Incident(instance, message, step)

    def judge(self, instance: Instance, step: str) -> RunOutcome:
        outcome = self.cache.get(instance)
        if outcome is None:
            outcome = judge_run(self.proc, instance)
            if outcome.tripped:
                raise _Tripped(outcome.violation)
            if len(self.cache) < 50_000:
                self.cache[instance] = outcome
        if outcome.owner is not None and outcome.violation is not None:
            self.note(outcome.owner, instance, outcome.violation, step)
        return outcome

    def traced(self, instance: Instance, step: str) -> tuple[RunOutcome, _Trace] | None:
        """A run with its round-by-round trace; None when the instance is already known to fail (no trace needed)."""
        known = self.cache.get(instance)
        if known is not None and known.violation is not None:
            return None
        outcome, trace = _traced(self.proc, instance)
        if outcome.tripped:
            raise _Tripped(outcome.violation)
        if len(self.cache) < 50_000:
            self.cache[instance] = outcome
        if outcome.owner is not None and outcome.violation is not None:
            self.note(outcome.owner, instance, outcome.violation, step)
            return None
        return outcome, trace

    def from_incident(self, prop: str, kind: str, examples: int) -> PropertyVerdict | None:
        """A failing verdict for `prop` from a failure met elsewhere in the battery, if any."""
        inc = self.incidents.get(prop)
        if inc is None:
            return None
        detail = inc.message if inc.step == prop else f"{inc.message} (found by {inc.step})"
        path = _save(self.out, self.name, prop, inc.instance, inc.message, found_by=inc.step)
        return PropertyVerdict(prop, kind, False, examples, detail, path)

    def checked(
        self,
        prop: str,
        kind: str,
        strategy: Any,
        violation: Callable[[Any], str | None],
        offset: int,
        ok: str,
        saved: Callable[[Any], tuple[Instance, dict[str, Any]]] = lambda x: (x, {}),
    ) -> PropertyVerdict:
        """One pass/fail property: search for a minimal violation, and save it as instance JSON if found."""
        self.say(prop)
        try:
            hit = find_minimal(strategy, violation, self.examples, self.seed + offset)
        except _Tripped as e:
            return self.from_incident(prop, kind, self.examples) or PropertyVerdict(
                prop, kind, None, self.examples, f"not checked: {e}"
            )
        if hit is None:
            return PropertyVerdict(prop, kind, True, self.examples, ok)
        inst, extra = saved(hit[0])
        path = _save(self.out, self.name, prop, inst, hit[1], **extra)
        return PropertyVerdict(prop, kind, False, self.examples, hit[1], path)

    def owned(self, prop: str) -> Callable[[Instance], str | None]:
        def violation(instance: Instance) -> str | None:
            outcome = self.judge(instance, prop)
            return outcome.violation if outcome.owner == prop else None

        return violation

    def information(self, pair: tuple[Instance, int, int]) -> str | None:
        inst, index, extra = pair
        # A run that fails is reported by the property that owns the failure; it says nothing about anticipation.
        original = self.traced(inst, INFORMATION)
        longer = original and self.traced(_lengthened(inst, index, extra), INFORMATION)
        return _anticipation(inst, index, extra, (original, longer)) if original and longer else None

    def run(self, *, ratios: bool, search: bool) -> tuple[PropertyVerdict, ...]:
        from hypothesis import strategies as st

        verdicts = [
            self.checked(
                SAFETY,
                "safety",
                _instances(),
                self.owned(SAFETY),
                0,
                "memory <= capacity at all times; each request served once",
            ),
            # The instances of memory-safety (same seed): every run is judged for both, so these come from the cache.
            self.checked(
                PROGRESS,
                "progress",
                _instances(),
                self.owned(PROGRESS),
                0,
                "all complete within round_budget(instance)",
            ),
        ]
        if self.proc.info.get("clairvoyant"):
            verdicts.append(
                PropertyVerdict(INFORMATION, "information", None, 0, "declared clairvoyant: may read true outputs")
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
                self.checked(
                    INFORMATION,
                    "information",
                    pairs(),
                    self.information,
                    2,
                    "no decision depends on an unrevealed output",
                    saved=lambda p: (p[0], {"request": p[1], "extra_tokens": p[2]}),
                )
            )
        if ratios:
            self.say("ratio to OPT on small instances")
            verdicts.append(self.ratio_to_opt(min(self.examples, 40)))
            self.say("ratio to H-SF on a real-trace sample")
            verdicts.append(self.ratio_to_hsf_real())
        if search:
            self.say("adversarial search for the worst ratio")
            verdicts.append(self.worst_ratio())
        # A failure met in another step (a crash in the ratio runs, a hang in the search, ...) fails its owner.
        for k, v in enumerate(verdicts):
            if v.name in (SAFETY, PROGRESS) and v.passed is not False:
                verdicts[k] = self.from_incident(v.name, v.kind, v.examples) or v
        return tuple(verdicts)

    @staticmethod
    def _failures(owners: list[str]) -> str:
        if not owners:
            return ""
        return f"; skipped {len(owners)} on which the policy failed (see {', '.join(sorted(set(owners)))})"

    def ratio_to_opt(self, examples: int) -> PropertyVerdict:
        from amin.harness.search.ratio import optimum

        rng = random.Random(self.seed)
        worst, total, n = 1.0, 0.0, 0
        failed: list[str] = []
        stopped = ""
        for _ in range(examples):
            cap = rng.randint(4, 12)
            reqs = []
            for _ in range(rng.randint(2, 5)):
                s = rng.randint(0, cap // 3)
                o = rng.randint(1, min(6, cap - s))
                lo = max(1, o - rng.randint(0, o))
                reqs.append(
                    {
                        "prompt": s,
                        "output": o,
                        "lower": lo,
                        "upper": o + rng.randint(0, 4),
                        "arrival": rng.randint(0, 3),
                    }
                )
            inst = load_instance({"capacity": cap, "requests": reqs})
            try:
                outcome = self.judge(inst, "ratio-to-opt")
            except _Tripped as e:
                stopped = f"; stopped: {e}"
                break
            if outcome.result is None or outcome.violation:
                failed.append(outcome.owner or SAFETY)
                continue
            ratio = outcome.result.total_latency / optimum(inst, exact_only=True).total_latency
            worst, total, n = max(worst, ratio), total + ratio, n + 1
        if n == 0:
            return PropertyVerdict(
                "ratio-to-opt",
                "performance",
                None,
                0,
                "no instance could be evaluated" + self._failures(failed) + stopped,
            )
        return PropertyVerdict(
            "ratio-to-opt",
            "performance",
            None,
            n,
            f"mean {total / n:.3f}, worst {worst:.3f} over {n} tiny instances (exact OPT)"
            + self._failures(failed)
            + stopped,
            value=worst,
        )

    def ratio_to_hsf_real(self, n: int = 300, capacity: int = 16492) -> PropertyVerdict:
        from amin.engine import simulate
        from amin.predictors import relative
        from amin.traces import load_trace

        inst, _ = load_trace("azure-conv").sample(n, self.seed).to_instance(capacity, relative(0.5))
        step = "ratio-to-hsf-real"
        try:
            outcome = self.judge(inst, step)
        except _Tripped as e:
            return PropertyVerdict(step, "performance", None, 0, f"not measured: {e}")
        if outcome.result is None or outcome.violation:
            return PropertyVerdict(
                step,
                "performance",
                None,
                1,
                f"not measured: the policy failed on the trace sample (see {outcome.owner}): {outcome.violation}",
            )
        hsf = simulate(inst, "hsf").total_latency
        # The paper's schedulers, and with our admission by planned memory-rounds (admit-by-area, issue 15).
        beside = {
            f"{s}{suffix}": simulate(inst, s, **opts).total_latency / hsf
            for s in ("amin", "amax")
            for suffix, opts in (("", {}), (" by area", {"admission_order": "area"}))
        }
        r = outcome.result.total_latency / hsf
        return PropertyVerdict(
            step,
            "performance",
            None,
            1,
            f"{r:.3f} on {len(inst.requests)} Azure conversation requests, capacity {capacity}, relative(0.5) "
            f"({', '.join(f'{k}: {v:.3f}' for k, v in beside.items())})",
            value=r,
        )

    def worst_ratio(self) -> PropertyVerdict:
        from amin.harness.search.strategies import family_strategy
        from amin.harness.search.targeted import search

        step = "worst-ratio-search"
        drawn = _LastDrawn()

        def failed(failure: PolicyFailure) -> None:
            # The search drives the policy through amin.harness.search; keep what it meets, with the instance it was on.
            if drawn.last is not None:
                outcome = RunOutcome(None, str(failure), _owner(failure))
                self.cache.setdefault(drawn.last, outcome)
                self.note(_owner(failure), drawn.last, str(failure), step)

        self.proc.on_failure = failed
        try:
            outcome = search(
                self.proc.scheduler_class(),  # type: ignore[arg-type]
                "hsf",
                family="common",
                examples=self.examples,
                seed=self.seed,
                strategy=family_strategy("common").map(drawn),
            )
        except Exception:  # noqa: BLE001 - a failing policy stops the search; it is judged below, not re-raised
            return self._search_stopped(step, drawn)
        finally:
            self.proc.on_failure = None
        if outcome.best is None or outcome.instance is None:
            return PropertyVerdict(step, "performance", None, outcome.examples, "no instance evaluated")
        path = _save(
            self.out,
            self.name,
            "worst-ratio",
            outcome.instance,
            f"ratio {outcome.value:.4f} to H-SF",
            ratio=outcome.value,
        )
        return PropertyVerdict(
            step,
            "performance",
            None,
            outcome.examples,
            f"worst ratio to H-SF found: {outcome.value:.3f} "
            f"({len(outcome.instance.requests)} requests, family common)",
            path,
            outcome.value,
        )

    def _search_stopped(self, step: str, drawn: _LastDrawn) -> PropertyVerdict:
        if drawn.last is None:
            return PropertyVerdict(step, "performance", None, 0, "stopped before any instance was evaluated")
        try:
            judged = self.judge(drawn.last, step)
        except _Tripped as e:
            return PropertyVerdict(step, "performance", None, drawn.count, f"stopped: {e}")
        if judged.owner is None:  # the last instance passes on its own: say so rather than guess
            return PropertyVerdict(step, "performance", None, drawn.count, "stopped: the search itself failed")
        return PropertyVerdict(
            step,
            "performance",
            None,
            drawn.count,
            f"stopped: the policy failed on a {len(drawn.last.requests)}-request instance (see {judged.owner})",
        )


def verify(
    policy: Policy,
    *,
    examples: int = 200,
    seed: int = 0,
    out: str | Path | None = None,
    ratios: bool = True,
    search: bool = True,
    progress: Callable[[str], None] | None = None,
    limits: Limits | None = None,
) -> VerifyReport:
    """Run the whole battery on `policy`, in a process of its own. Deterministic for a given seed and policy.

    Raises PolicyLoadError (a ValueError, one line) when the policy's module or class cannot be loaded.
    """
    target = policy_target(policy)
    with PolicyProcess(target, limits) as proc:
        battery = _Battery(
            proc, target.name, Path(out) if out is not None else None, examples, seed, progress or (lambda _msg: None)
        )
        verdicts = battery.run(ratios=ratios, search=search)
    return VerifyReport(target.name, examples, seed, verdicts)


# --- replay and policy loading ------------------------------------------------------
def replay(policy: Policy | PolicyProcess, path: str | Path, limits: Limits | None = None) -> str | None:
    """Re-run a saved counterexample: the violation message it still produces, or None if it no longer fails."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a counterexample file (instance JSON): {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a counterexample file (instance JSON)")
    inst = load_instance(data)
    prop = data.get("property", SAFETY)
    if prop not in (SAFETY, PROGRESS, INFORMATION):
        raise ValueError(f"{path}: property {prop!r} cannot be replayed (it is a measurement, not a violation)")
    index: Any = data.get("request")
    extra: Any = data.get("extra_tokens")
    if prop == INFORMATION and not (
        type(index) is int and type(extra) is int and 0 <= index < len(inst.requests) and extra >= 1
    ):
        raise ValueError(f"{path}: a {INFORMATION} counterexample needs a request index and extra_tokens >= 1")
    if not isinstance(policy, PolicyProcess):
        with PolicyProcess(policy_target(policy), limits) as proc:
            return replay(proc, path)
    if prop == INFORMATION:
        return information_violation(policy, inst, index, extra)
    outcome = judge_run(policy, inst)
    return outcome.violation if outcome.owner == prop else None


def load_policy(target: Policy, limits: Limits | None = None) -> PolicyTarget:
    """Check that a policy loads in a process of its own (`MODULE:CLASS`, `path/to/file.py:CLASS`, a built-in
    name, or a class) and return where it lives; raise PolicyLoadError with one line if it does not."""
    resolved = policy_target(target)
    with PolicyProcess(resolved, limits):
        pass
    return resolved


# --- command line ------------------------------------------------------------------
def add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="run the verification battery on your own scheduler",
        description="Run the battery (memory safety, termination, no hidden information, ratios, adversarial search) "
        "on a user policy given as MODULE:CLASS or path/to/file.py:CLASS (a subclass of amin.Scheduler). The policy "
        "runs in a separate process that never sees a true output length.",
    )
    p.add_argument("policy", help="MODULE:CLASS, path/to/file.py:CLASS, or a built-in scheduler name")
    p.add_argument("--examples", type=positive_int, default=200, help="examples per property (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=0, help="seed (default: %(default)s)")
    p.add_argument("--out", default="amin-verify", help="where counterexamples are saved (default: %(default)s)")
    p.add_argument("--no-ratios", action="store_true", help="skip the ratio measurements (OPT and real trace)")
    p.add_argument("--no-search", action="store_true", help="skip the adversarial search")
    p.add_argument("--replay", metavar="FILE", help="re-run one saved counterexample instead of the battery")
    defaults = Limits()
    p.add_argument(
        "--call-timeout",
        type=seconds,
        default=defaults.call_seconds,
        metavar="S",
        help=f"seconds the policy may take to answer one call (default: {defaults.call_seconds:g})",
    )
    p.add_argument(
        "--run-timeout",
        type=seconds,
        default=defaults.run_seconds,
        metavar="S",
        help=f"seconds one run may take, and importing the policy (default: {defaults.run_seconds:g})",
    )
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    p.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from amin.harness.console import print_json

    limits = Limits(call_seconds=args.call_timeout, run_seconds=args.run_timeout, import_seconds=args.run_timeout)
    target = policy_target(args.policy)
    if args.replay:
        message = replay(target, args.replay, limits)
        if args.json:
            print_json({"file": args.replay, "reproduces": message is not None, "violation": message})
        else:
            print(f"{args.replay}: " + (f"reproduces: {message}" if message else "no longer fails"))
        return 1 if message else 0
    report = verify(
        target,
        examples=args.examples,
        seed=args.seed,
        out=args.out,
        ratios=not args.no_ratios,
        search=not args.no_search,
        progress=None if args.json else lambda m: print(f"... {m}", file=sys.stderr, flush=True),
        limits=limits,
    )
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"amin verify {report.policy}: {report.examples} examples per property, seed {report.seed}")
        print(report.table())
        print("verdict: " + ("FAIL (a safety, progress or information property failed)" if report.failed else "pass"))
    return 1 if report.failed else 0


def check_scheduler(
    policy: Policy,
    *,
    examples: int = 100,
    seed: int = 0,
    out: str | Path | None = None,
    ratios: bool = False,
    search: bool = False,
    limits: Limits | None = None,
) -> VerifyReport:
    """Run the battery and raise AssertionError (with the verdict table) if a safety, progress or
    information property fails. For a user's own test suite; `amin.harness.testing` exposes it as a pytest fixture."""
    report = verify(policy, examples=examples, seed=seed, out=out, ratios=ratios, search=search, limits=limits)
    if report.failed:
        raise AssertionError(f"amin verify {report.policy} failed:\n{report.table()}")
    return report


__all__ = [
    "Limits",
    "PolicyLoadError",
    "PropertyVerdict",
    "RunOutcome",
    "VerifyReport",
    "check_scheduler",
    "information_violation",
    "judge_run",
    "load_policy",
    "progress_violation",
    "replay",
    "safety_violation",
    "verify",
]
