"""The verifier's side of the isolation: start the policy's process, and stand in for the policy in the round loop.

`PolicyProcess` starts a separate interpreter that imports the policy (`amin.harness.isolation.child`); each run forks
a fresh worker there. `IsolatedPolicy` is a Scheduler that the round loop of `amin.engine` drives like any
other: each hook the policy overrides is asked of the worker over a socket, as JSON, and every answer is
validated here. The loop, the instance and the checks stay in this process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from amin.engine import Simulation
from amin.harness.isolation.child import HOOKS
from amin.harness.isolation.protocol import (
    JOB_FIELDS,
    REQUEST_FIELDS,
    ChannelClosed,
    ChannelError,
    ChannelTimeout,
    recv,
    send,
)
from amin.horizon import round_budget
from amin.model import Instance, Request
from amin.results import Result
from amin.schedulers import SCHEDULERS, Job, Scheduler, make_scheduler

# Started with `python -c`: the verifier's sys.path first, so that the child imports the same amin and the same
# policy modules; then the child module, which imports the policy.
_BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from amin.harness.isolation.child import main; main(int(sys.argv[2]))"
)


class PolicyLoadError(ValueError):
    """The policy's module or class cannot be loaded; the message is one line (exit status 2 on the command line)."""


class PolicyFailure(Exception):
    """The policy failed during a run: it `raised`, `exited`, `hung` (a time limit) or gave an `invalid` decision."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class PolicyTripped(PolicyFailure):
    """Not run: the policy already hung `max_hangs` times in this process, and each hang costs a time limit."""


@dataclass(frozen=True)
class Limits:
    """Time limits on the policy's process: per hook call, per run, for importing the module; hangs before giving up."""

    call_seconds: float = 5.0
    run_seconds: float = 60.0
    import_seconds: float = 60.0
    max_hangs: int = 3

    def __post_init__(self) -> None:
        for name in ("call_seconds", "run_seconds", "import_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"time limit {name} must be > 0, got {getattr(self, name)!r}")
        if self.max_hangs < 1:
            raise ValueError(f"max_hangs must be >= 1, got {self.max_hangs!r}")


@dataclass(frozen=True)
class PolicyTarget:
    """Where a policy class lives, so that a fresh interpreter can import it: a module name, a file, or both."""

    qualname: str
    module: str | None = None
    path: str | None = None
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.qualname.rsplit(".", 1)[-1]


def policy_target(policy: str | type | PolicyTarget) -> PolicyTarget:
    """A target from `MODULE:CLASS`, `path/to/file.py:CLASS`, a built-in scheduler name, or a class object."""
    if isinstance(policy, PolicyTarget):
        return policy
    if isinstance(policy, str):
        if policy in SCHEDULERS:
            cls = SCHEDULERS[policy]
            return PolicyTarget(cls.__qualname__, module=cls.__module__, label=policy)
        if ":" not in policy:
            raise PolicyLoadError(f"expected MODULE:CLASS (or a built-in scheduler name), got {policy!r}")
        module, _, qualname = policy.rpartition(":")
        if not module or not qualname:
            raise PolicyLoadError(f"expected MODULE:CLASS (or a built-in scheduler name), got {policy!r}")
        if module.endswith(".py") or "/" in module:
            path = Path(module)
            if not path.is_file():
                raise PolicyLoadError(f"cannot read {path}: no such file")
            return PolicyTarget(qualname, path=str(path.resolve()))
        return PolicyTarget(qualname, module=module)
    if not (isinstance(policy, type) and issubclass(policy, Scheduler)):
        raise PolicyLoadError(f"{policy!r} is not a subclass of amin.Scheduler")
    if "<locals>" in policy.__qualname__:
        raise PolicyLoadError(
            f"{policy.__qualname__} is defined inside a function: amin verify imports the policy "
            "in a separate process by module and name, so define it at module level"
        )
    label: str = policy.name if policy in SCHEDULERS.values() else ""
    file = getattr(sys.modules.get(policy.__module__), "__file__", None)
    importable = None if policy.__module__ == "__main__" else policy.__module__
    if importable is None and file is None:
        raise PolicyLoadError(
            f"{policy.__qualname__} lives in a module without a file: it cannot be imported elsewhere"
        )
    return PolicyTarget(policy.__qualname__, module=importable, path=file, label=label)


def _stdout_fd() -> int | None:
    """The policy's prints go to the verifier's stderr: its stdout may be carrying --json."""
    try:
        os.fstat(2)
        return 2
    except OSError:
        return subprocess.DEVNULL


def _at(where: str) -> str:
    return f" ({where})" if where else ""


def _describe_exit(code: int | None) -> str:
    if code is None:
        return ""
    if code < 0:
        try:
            return f" (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f" (killed by signal {-code})"
    return f" with status {code}"


@dataclass
class _Worker:
    """One forked worker: one policy object, one run."""

    sock: socket.socket
    pid: int
    deadline: float  # the per-run limit, time.monotonic()
    closed: bool = False


class PolicyProcess:
    """The policy's process as the verifier sees it: load the policy there, run it on instances from here.

    Use it as a context manager. `run(instance)` simulates one fresh policy object on the reference round loop,
    in this process; the policy only answers hooks. A policy failure raises `PolicyFailure`.
    """

    def __init__(self, target: str | type | PolicyTarget, limits: Limits | None = None) -> None:
        self.target = policy_target(target)
        self.limits = limits or Limits()
        self.hangs = 0
        self.on_failure: Callable[[PolicyFailure], None] | None = None  # told of each failure before it is raised
        self._template: subprocess.Popen[bytes] | None = None
        self._ctrl: socket.socket | None = None
        self._worker: _Worker | None = None
        self._class: type[Scheduler] | None = None
        self.info = self._start()
        self._finalizer = weakref.finalize(self, PolicyProcess._shutdown, self._resources())

    # --- the template process ------------------------------------------------------------
    def _start(self) -> dict[str, Any]:
        if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
            raise PolicyLoadError("amin verify runs the policy in a forked process: it needs a POSIX system")
        mine, theirs = socket.socketpair()
        try:
            self._template = subprocess.Popen(
                [sys.executable, "-c", _BOOT, json.dumps([str(p) for p in sys.path]), str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=_stdout_fd(),
            )
        except OSError as e:
            mine.close()
            raise PolicyLoadError(f"cannot start a process for the policy: {e}") from None
        finally:
            theirs.close()
        self._ctrl = mine
        t = self.target
        where = t.module or t.path
        try:
            send(mine, {"op": "load", "target": {"module": t.module, "path": t.path, "qualname": t.qualname}})
            reply = recv(mine, time.monotonic() + self.limits.import_seconds)
        except ChannelTimeout:
            self._template.kill()  # still importing, so it would not see its control channel close
            self.close()
            raise PolicyLoadError(f"importing {where} did not finish within {self.limits.import_seconds:g} s") from None
        except (ChannelClosed, ChannelError):
            code = None
            if self._template is not None:
                try:
                    code = self._template.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._template.kill()
            self.close()
            raise PolicyLoadError(
                f"the policy's process exited{_describe_exit(code)} while importing {where} (os._exit or a crash)"
            ) from None
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), dict):
            self.close()
            message = reply.get("error") if isinstance(reply, dict) else None
            text = str(message).splitlines()[0][:300] if message else f"no usable answer while importing {where}"
            raise PolicyLoadError(text)
        return reply["ok"]

    def _resources(self) -> list[Any]:
        return [self._template, self._ctrl]

    @staticmethod
    def _shutdown(resources: list[Any]) -> None:
        template, ctrl = resources
        if ctrl is not None:
            ctrl.close()  # the template sees the end of its control stream, kills its workers and exits
        if template is not None and template.poll() is None:
            try:
                template.wait(timeout=5)
            except subprocess.TimeoutExpired:
                template.kill()
                template.wait()

    def close(self) -> None:
        """End the worker and the policy's process."""
        self._retire()
        self._shutdown(self._resources())
        self._ctrl = None
        self._template = None
        if hasattr(self, "_finalizer"):
            self._finalizer.detach()

    def __enter__(self) -> PolicyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _control(self, msg: dict[str, Any], *, with_fds: bool = False) -> Any:
        if self._ctrl is None:
            raise ChannelClosed("the policy's process is closed")
        deadline = time.monotonic() + self.limits.call_seconds
        send(self._ctrl, msg, deadline=deadline)
        reply, fds = recv(self._ctrl, deadline, with_fds=True)
        if not isinstance(reply, dict) or "ok" not in reply:
            for f in fds:
                os.close(f)
            raise ChannelError("bad reply from the policy's process")
        if with_fds:
            return reply["ok"], fds
        for f in fds:
            os.close(f)
        return reply["ok"]

    # --- workers ------------------------------------------------------------------------
    @property
    def tripped(self) -> bool:
        return self.hangs >= self.limits.max_hangs

    def fail(self, kind: str, message: str) -> PolicyFailure:
        """The failure to raise (callers raise it), after telling `on_failure`."""
        failure = PolicyTripped(kind, message) if kind == "tripped" else PolicyFailure(kind, message)
        if self.on_failure is not None and kind != "tripped":
            self.on_failure(failure)
        return failure

    def spawn(self) -> _Worker:
        """A fresh worker for one run (the previous run's worker is ended first)."""
        if self.tripped:
            raise self.fail("tripped", f"the policy hung {self.hangs} times (the limit), so it was not run again")
        self._retire()
        for attempt in range(2):
            try:
                pid, fds = self._control({"op": "spawn"}, with_fds=True)
                break
            except (ChannelClosed, ChannelTimeout, ChannelError):
                # The template died (a thread of the policy's module may have ended it): start it again once.
                self._shutdown(self._resources())
                if attempt:
                    raise self.fail("exited", "the policy's process ended and could not be restarted") from None
                try:
                    self.info = self._start()
                except PolicyLoadError as e:
                    raise self.fail("exited", f"the policy's process ended and could not be restarted: {e}") from None
                self._finalizer.detach()
                self._finalizer = weakref.finalize(self, PolicyProcess._shutdown, self._resources())
        if not isinstance(pid, int) or len(fds) != 1:
            for f in fds:
                os.close(f)
            raise self.fail("invalid", "the policy's process answered a spawn request with nonsense")
        mine = socket.socket(fileno=fds[0])
        self._worker = _Worker(mine, pid, time.monotonic() + self.limits.run_seconds)
        return self._worker

    def _retire(self, worker: _Worker | None = None, grace: float | None = None) -> int | None:
        """Close a worker's channel; with `grace`, wait that long for it to end, kill it, and return its exit code."""
        worker = worker or self._worker
        if worker is None or worker.closed:
            return None
        worker.closed = True
        worker.sock.close()  # a worker between calls ends on its own when its channel closes
        if worker is self._worker:
            self._worker = None
        if grace is None:
            return None
        try:
            code = self._control({"op": "stop", "pid": worker.pid, "grace": grace})
            return code if isinstance(code, int) else None
        except (ChannelClosed, ChannelTimeout, ChannelError):
            with contextlib.suppress(OSError):  # the template is unresponsive: end the worker from here
                os.kill(worker.pid, signal.SIGKILL)
            return None

    def call(self, worker: _Worker, op: str, where: str = "", **fields: Any) -> Any:
        """Ask the worker one question; raise PolicyFailure if it raises, exits, hangs or answers nonsense."""
        if worker.closed:
            raise self.fail("invalid", f"{op}{_at(where)}: this policy object's run is over (its worker has ended)")
        now = time.monotonic()
        deadline = min(now + self.limits.call_seconds, worker.deadline)
        try:
            send(worker.sock, {"op": op, **fields}, deadline=deadline)
            reply = recv(worker.sock, deadline)
        except ChannelTimeout:
            self.hangs += 1
            self._retire(worker, grace=0)
            if deadline >= worker.deadline:
                msg = f"the run exceeded the per-run time limit of {self.limits.run_seconds:g} s (in {op}{_at(where)})"
            else:
                msg = (
                    f"the policy did not answer {op}{_at(where)} within the per-call time limit of "
                    f"{self.limits.call_seconds:g} s"
                )
            raise self.fail("hung", msg) from None
        except ChannelClosed:
            code = self._retire(worker, grace=1.0)
            raise self.fail(
                "exited",
                f"the policy's process exited{_describe_exit(code)} during {op}{_at(where)}: "
                "os._exit, a crash or a signal",
            ) from None
        except ChannelError as e:
            self._retire(worker, grace=0)
            raise self.fail("invalid", f"invalid reply to {op}{_at(where)}: {e}") from None
        if isinstance(reply, dict) and "ok" in reply:
            return reply["ok"]
        error = reply.get("error") if isinstance(reply, dict) else None
        message = reply.get("message") if isinstance(reply, dict) else None
        kind = error if error in ("raised", "exited", "invalid") else "invalid"
        text = str(message).splitlines()[0][:300] if message else f"invalid reply to {op}"
        raise self.fail(kind, text + _at(where))

    # --- runs ---------------------------------------------------------------------------
    def scheduler_class(self) -> type[Scheduler]:
        """A Scheduler class whose objects stand in for the policy: each one is a fresh policy object in a worker."""
        if self._class is None:
            name = str(self.info.get("qualname", "Policy")).rsplit(".", 1)[-1]
            self._class = type(name, (IsolatedPolicy,), {"_process": self, "name": str(self.info.get("name"))})
        return self._class

    def run(self, instance: Instance, observer: Callable[[Simulation, Any], None] | None = None) -> Result:
        """One run on the reference round loop with index tie-breaks and the stated termination bound."""
        sched = make_scheduler(self.scheduler_class(), tie_break="index")
        try:
            return Simulation(instance, sched, max_rounds=round_budget(instance)).run(observer)
        finally:
            self._retire()


def _key(value: Any, depth: int = 0) -> bool:
    """A sort key as JSON brings it: numbers, strings, booleans, null, and lists of them (a few levels deep)."""
    if value is None or type(value) in (int, float, str, bool):
        return True
    return type(value) is list and depth < 4 and all(_key(v, depth + 1) for v in value)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if type(value) is list else value


def _show(value: Any) -> str:
    text = json.dumps(value)
    return (text if len(text) <= 60 else text[:57] + "...") + f" ({type(value).__name__})"


class IsolatedPolicy(Scheduler):
    """A stand-in for the policy under test: the round loop calls its hooks, and it asks the policy's worker.

    Hooks the policy does not override are the SPEC defaults: they run here, without a round trip, reading a copy
    of the policy object's rules record (its options and, for a built-in, its readings of the SPEC).
    """

    _process: ClassVar[PolicyProcess]

    def __init__(self, **options: Any) -> None:
        # No Scheduler.__init__: the policy object lives in the worker, and it validates its options itself.
        self._worker = self._process.spawn()
        self._sent: set[int] = set()
        self._t = 0
        info = self._ask("new", "", options=options)
        if not (
            isinstance(info, dict)
            and isinstance(info.get("name"), str)
            and isinstance(info.get("clairvoyant"), bool)
            and isinstance(info.get("admits_after_eviction"), bool)
            and isinstance(info.get("options"), dict)
            and isinstance(info.get("overrides"), list)
            and all(h in HOOKS for h in info["overrides"] if isinstance(h, str))
            and all(isinstance(h, str) for h in info["overrides"])
        ):
            raise self._process.fail("invalid", "the policy's process described the policy object with nonsense")
        if info["clairvoyant"] != bool(self._process.info.get("clairvoyant")):
            # The battery decides what to check from the class; an object may not grant itself the true outputs.
            raise self._process.fail("invalid", "the policy object declares clairvoyant differently from its class")
        self.name = info["name"][:200]
        self.clairvoyant = info["clairvoyant"]
        self.admits_after_eviction = info["admits_after_eviction"]
        self._options = info["options"]
        self._overrides = frozenset(info["overrides"])
        # The defaults of the hooks it does not override read the policy object's rules record: keep a copy here.
        self._local = info.get("rules") is not None
        if self._local:
            self.rules = self._rules(info["rules"])

    def _rules(self, fields: Any) -> Any:
        from amin.rules import Rules

        try:
            record: dict[str, Any] = {str(k): tuple(v) if type(v) is list else v for k, v in fields.items()}
            return Rules(**record)
        except (AttributeError, TypeError, ValueError) as e:
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise self._process.fail("invalid", f"the policy object's rules record is not valid: {detail}") from None

    def _default(self, hook: str) -> bool:
        """Whether `hook` is the SPEC default, computed here from the policy's rules without a round trip."""
        return self._local and hook not in self._overrides

    # --- the wire ----------------------------------------------------------------------
    def _ask(self, op: str, where: str, **fields: Any) -> Any:
        return self._process.call(self._worker, op, where, **fields)

    def _invalid(self, message: str) -> PolicyFailure:
        return self._process.fail("invalid", "invalid decision: " + message)

    def _request(self, request: Any) -> dict[str, Any]:
        fields = {f: getattr(request, f) for f in REQUEST_FIELDS}
        if isinstance(request, Request):
            # The engine shows the full request only to a policy that declared itself clairvoyant; never leak it.
            if not self.clairvoyant:
                raise RuntimeError("refusing to send a true output length to a non-clairvoyant policy")
            fields["output"] = request.output
        return fields

    def _job(self, job: Job) -> list[Any]:
        wire: list[Any] = [getattr(job, f) for f in JOB_FIELDS]
        if job.index not in self._sent:  # the request's public fields travel once per job
            self._sent.add(job.index)
            wire.append(self._request(job.request))
        return wire

    def _planned(self, value: Any, hook: str, where: str = "") -> int:
        if type(value) is not int:
            raise self._invalid(f"{hook} returned {_show(value)}, not an integer{_at(where)}")
        if value < 1:
            raise self._invalid(f"{hook} returned {value}, a planned length below 1{_at(where)}")
        return value

    def _priority(self, value: Any, hook: str, where: str) -> Any:
        if not _key(value):
            raise self._invalid(f"{hook} returned {_show(value)}, not a tuple of numbers or strings{_at(where)}")
        return _tuples(value)

    def _evictees(self, value: Any, pool: Sequence[Job], hook: str, where: str) -> list[Job]:
        by_index = {j.index: j for j in pool}
        if not (isinstance(value, list) and all(type(i) is int for i in value)):
            raise self._invalid(f"{hook} returned {_show(value)}, not a list of jobs{_at(where)}")
        out: list[Job] = []
        for i in value:
            if i not in by_index:
                raise self._invalid(f"{hook} returned job {i}, which is not running{_at(where)}")
            if by_index[i] in out:
                raise self._invalid(f"{hook} returned job {i} twice{_at(where)}")
            out.append(by_index[i])
        return out

    # --- the hooks ---------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return dict(self._options)

    def tie_ranks(self, n: int) -> list[int]:
        if self._default("tie_ranks"):
            return super().tie_ranks(n)
        ranks = self._ask("tie_ranks", "", n=n)
        if not (isinstance(ranks, list) and len(ranks) == n and all(type(r) is int for r in ranks)):
            raise self._invalid(f"tie_ranks returned {_show(ranks)}, not a list of {n} integers")
        return ranks

    def initial_planned_length(self, request: Any) -> int:
        where = "before round 0"
        value = self._ask("initial_planned_length", where, request=self._request(request))
        return self._planned(value, "initial_planned_length", where)

    def refine(self, planned_length: int, produced: int) -> int:
        if self._default("refine"):
            return super().refine(planned_length, produced)
        return self._planned(self._ask("refine", "", args=[planned_length, produced]), "refine")

    def cap(self, planned_length: int, prompt: int, capacity: int) -> int:
        if self._default("cap"):
            return super().cap(planned_length, prompt, capacity)
        return self._planned(self._ask("cap", "", args=[planned_length, prompt, capacity]), "cap")

    def admission_priority(self, job: Job) -> Any:
        if self._default("admission_priority"):
            return super().admission_priority(job)
        where = f"at round {self._t}"
        return self._priority(self._ask("admission_priority", where, job=self._job(job)), "admission_priority", where)

    def eviction_priority(self, job: Job) -> Any:
        if self._default("eviction_priority"):
            return super().eviction_priority(job)
        where = f"at round {self._t}"
        return self._priority(self._ask("eviction_priority", where, job=self._job(job)), "eviction_priority", where)

    def select_evictions(self, running: Sequence[Job], t: int, need: int, capacity: int) -> list[Job]:
        self._t = t
        if self._default("select_evictions"):
            if need <= capacity:
                return []  # the SPEC default's first step, whatever the eviction order: nothing overflows
            if self._default("eviction_priority") and self._default("choose_evictions"):
                return super().select_evictions(running, t, need, capacity)
        where = f"at round {t}"
        reply = self._ask(
            "select_evictions", where, running=[self._job(j) for j in running], t=t, need=need, capacity=capacity
        )
        return self._evictees(reply, running, "select_evictions", where)

    def choose_evictions(self, ordered: Sequence[Job], need: int, capacity: int) -> list[Job]:
        if self._default("choose_evictions"):
            return super().choose_evictions(ordered, need, capacity)
        where = f"at round {self._t}"
        reply = self._ask(
            "choose_evictions", where, ordered=[self._job(j) for j in ordered], need=need, capacity=capacity
        )
        return self._evictees(reply, ordered, "choose_evictions", where)

    def admission(self, running: Sequence[Job], t: int, capacity: int, need: int) -> Any:
        self._t = t
        if self._default("admission"):
            return super().admission(running, t, capacity, need)
        return _RemoteAdmission(self, list(running), t, capacity, need)


class _RemoteAdmission:
    """The round's admission test, living in the worker; built there together with the first candidate's question."""

    def __init__(self, policy: IsolatedPolicy, running: list[Job], t: int, capacity: int, need: int) -> None:
        self.policy, self.running, self.t, self.capacity, self.need = policy, running, t, capacity, need
        self.built = False

    def try_add(self, job: Job) -> bool:
        p, where = self.policy, f"at round {self.t}"
        if not self.built:
            self.built = True
            reply = p._ask(
                "admission",
                where,
                running=[p._job(j) for j in self.running],
                t=self.t,
                capacity=self.capacity,
                need=self.need,
                job=p._job(job),
            )
        else:
            reply = p._ask("try_add", where, job=p._job(job))
        if type(reply) is not bool:
            raise p._invalid(f"try_add returned {_show(reply)}, not a bool{_at(where)}")
        return reply
