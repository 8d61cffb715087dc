"""The policy's process: it imports the policy under test, then forks one fresh worker per run to answer its hooks.

This is the only module that imports the user's policy. It runs in an interpreter of its own, started by
`amin.harness.isolation.process`, and receives only JSON: the public view of each request and the online state of
each job. No instance, no `Request` with its true output (unless the policy declares itself clairvoyant), no
verifier object ever reaches it. Each run gets a worker forked from the freshly imported module, so nothing a
policy learns in one run (completions reveal true lengths) survives into the next.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import importlib.util
import json
import math
import numbers
import operator
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any, cast

from amin.harness.isolation.protocol import JOB_FIELDS, REQUEST_FIELDS, ChannelClosed, ChannelError, encode, recv, send

HOOKS = (
    "initial_planned_length",
    "eviction_priority",
    "admission_priority",
    "admission",
    "refine",
    "cap",
    "select_evictions",
    "choose_evictions",
    "tie_ranks",
    "options",
)
"""The Scheduler methods the verifier's stand-in forwards; a policy overriding any other method is refused."""


class _LoadError(Exception):
    """The policy cannot be loaded: the message is one line for the user."""


class _Invalid(Exception):
    """A hook returned a value that is not a decision of the right type."""


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _line(text: object, limit: int = 200) -> str:
    """The first line of str(text), shortened; never raises, whatever __str__ does."""
    try:
        s = _ADDRESS.sub("", str(text)).strip()
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not break the report
        s = "<unprintable>"
    s = s.splitlines()[0] if s else ""
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _repr(value: Any) -> str:
    try:
        return _line(repr(value), 60)
    except BaseException:  # noqa: BLE001 - a hostile __repr__ must not break the report
        return "<unprintable>"


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - a hostile __repr__ must not break the report
        text = "<unprintable>"
    # Addresses differ from run to run; a verdict must read the same when its counterexample is replayed.
    return f"{_line(text, 60)} ({type(value).__name__})"


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


# --- loading the policy ----------------------------------------------------------------
def _load(target: dict[str, Any], base: type) -> type:
    module_name, path, qualname = target.get("module"), target.get("path"), str(target["qualname"])
    where = module_name or path
    try:
        module = None
        if module_name:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as e:
                # A module the caller loaded from a file (or a test module) may not be importable by name here.
                if not path or e.name is None or not module_name.startswith(e.name):
                    raise _LoadError(f"cannot import {module_name}: {_line(e)}") from None
        if module is None:
            file = Path(str(path))
            name = file.stem if not module_name or module_name == "__main__" else module_name
            spec = importlib.util.spec_from_file_location(name, file)
            if spec is None or spec.loader is None:
                raise _LoadError(f"cannot import {file}: not a Python source file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            sys.path.append(str(file.parent))  # like a script: sibling modules of the policy file import
            spec.loader.exec_module(module)
    except _LoadError:
        raise
    except SyntaxError as e:
        raise _LoadError(
            f"cannot import {where}: syntax error in {Path(e.filename or '?').name} line {e.lineno}: {e.msg}"
        ) from None
    except ImportError as e:
        raise _LoadError(f"cannot import {where}: {_line(e)}") from None
    except SystemExit as e:
        raise _LoadError(f"importing {where} called sys.exit({_repr(e.code)})") from None
    except BaseException as e:  # noqa: BLE001 - whatever the module raises is the user's one-line error
        raise _LoadError(f"importing {where} raised {type(e).__name__}: {_line(e)}") from None
    obj: Any = module
    for part in qualname.split("."):
        if part == "<locals>":
            raise _LoadError(
                f"{qualname} is defined inside a function: amin verify imports the policy in a "
                "separate process by module and name, so define it at module level"
            )
        obj = getattr(obj, part, None)
        if obj is None:
            raise _LoadError(f"{where} has no attribute {qualname!r}")
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise _LoadError(f"{qualname} is not a subclass of amin.Scheduler")
    for name, value in vars(base).items():
        if callable(value) and not name.startswith("_") and name not in HOOKS and getattr(obj, name) is not value:
            raise _LoadError(f"{qualname} overrides Scheduler.{name}, which amin verify cannot forward yet")
    if not isinstance(getattr(obj, "clairvoyant", False), bool):
        raise _LoadError(f"{qualname}.clairvoyant must be a class attribute True or False")
    try:
        cast(Any, obj)(tie_break="index", seed=0, eviction_key="bound")
    except TypeError as e:
        raise _LoadError(
            f"{qualname} cannot be built with the standard options (tie_break=, seed=, eviction_key=): {_line(e)}"
        ) from None
    except SystemExit as e:
        raise _LoadError(f"building {qualname} called sys.exit({_repr(e.code)})") from None
    except BaseException as e:  # noqa: BLE001
        raise _LoadError(f"building {qualname} raised {type(e).__name__}: {_line(e)}") from None
    return obj


# --- one worker: one policy object, one run ---------------------------------------------
class _Worker:
    """Keeps a mirror of each job the verifier has shown it and calls the policy's hooks on them."""

    def __init__(self, cls: type, originals: dict[str, Any]) -> None:
        from amin.model import PublicRequest, Request
        from amin.schedulers import Job

        self.cls, self.originals = cls, originals
        self.Job, self.PublicRequest, self.Request = Job, PublicRequest, Request
        self.policy: Any = None
        self.clairvoyant = False
        self.jobs: dict[int, Any] = {}
        self.views: list[Any] = []  # initial_planned_length's arguments, in index order, reused as job.request
        self.test: Any = None
        self.hook = "?"

    # conversions of the policy's answers into JSON (the verifier validates them again)
    def _int(self, value: Any) -> int:
        try:
            return operator.index(value)
        except TypeError:
            raise _Invalid(f"invalid decision: {self.hook} returned {_show(value)}, not an integer") from None

    def _key(self, value: Any, depth: int = 0) -> Any:
        """A sort key as JSON: numbers, strings, booleans, None, and tuples or lists of them."""
        if value is None or isinstance(value, str | bool):
            return value
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real) and math.isfinite(value):
            return float(value)
        if isinstance(value, tuple | list) and depth < 4:
            return [self._key(v, depth + 1) for v in value]
        raise _Invalid(f"invalid decision: {self.hook} returned {_show(value)} in a sort key, not a number or string")

    def _priority(self, value: Any) -> Any:
        return self._key(value)  # a bare number or string works as a key too, as in the verifier's own loop

    def _view(self, index: int, fields: dict[str, Any]) -> Any:
        if index < len(self.views):
            v = self.views[index]
            if all(getattr(v, f) == fields.get(f) for f in REQUEST_FIELDS):
                return v  # the very object initial_planned_length saw, as in the verifier's own loop
        return self._make_view(fields)

    def _make_view(self, fields: dict[str, Any]) -> Any:
        kw: dict[str, Any] = {f: fields.get(f) for f in REQUEST_FIELDS}
        if kw["arrival"] is None:
            kw["arrival"] = 0
        if "output" in fields and self.clairvoyant:
            return self.Request(output=fields["output"], **kw)
        return self.PublicRequest(**kw)

    def _job(self, wire: list[Any]) -> Any:
        index = wire[0]
        job = self.jobs.get(index)
        if job is None:
            job = self.Job(
                index=index, request=self._view(index, wire[len(JOB_FIELDS)]), planned_length=wire[1], tie_rank=wire[2]
            )
            self.jobs[index] = job
        (
            _,
            job.planned_length,
            job.tie_rank,
            job.start,
            job.progress,
            job.evictions,
            job.wasted_tokens,
            job.completion,
        ) = wire[: len(JOB_FIELDS)]
        return job

    def _indices(self, jobs: Any) -> list[int]:
        out = []
        for j in jobs:
            if not isinstance(j, self.Job):
                raise _Invalid(f"invalid decision: {self.hook} returned {_show(j)} among the evictees, not a Job")
            out.append(self._int(j.index))
        return out

    # the operations: one per hook
    def op_new(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.hook = "__init__"
        p = self.policy = self.cls(**msg["options"])
        own = getattr(p, "__dict__", {})
        overrides = [h for h in HOOKS if getattr(type(p), h, None) is not self.originals[h] or h in own]
        self.hook = "options"
        options = {
            str(k): v if isinstance(v, str | int | float | bool | None) else repr(v) for k, v in p.options().items()
        }
        self.hook = "attributes"
        self.clairvoyant = bool(p.clairvoyant)
        rules = getattr(p, "rules", None)
        if dataclasses.is_dataclass(rules) and not isinstance(rules, type):
            record: dict[str, Any] | None = {
                f.name: list(v) if isinstance(v := getattr(rules, f.name), tuple) else v
                for f in dataclasses.fields(rules)
            }
        else:
            record = None  # no record to copy: the verifier then asks every hook here
        return {
            "rules": record,
            "name": str(p.name),
            "clairvoyant": self.clairvoyant,
            "admits_after_eviction": bool(p.admits_after_eviction),
            "options": options,
            "overrides": overrides,
        }

    def op_tie_ranks(self, msg: dict[str, Any]) -> list[int]:
        self.hook = "tie_ranks"
        return [self._int(r) for r in self.policy.tie_ranks(msg["n"])]

    def op_initial_planned_length(self, msg: dict[str, Any]) -> int:
        self.hook = "initial_planned_length"
        view = self._make_view(msg["request"])
        self.views.append(view)
        return self._int(self.policy.initial_planned_length(view))

    def op_refine(self, msg: dict[str, Any]) -> int:
        self.hook = "refine"
        return self._int(self.policy.refine(*msg["args"]))

    def op_cap(self, msg: dict[str, Any]) -> int:
        self.hook = "cap"
        return self._int(self.policy.cap(*msg["args"]))

    def op_admission_priority(self, msg: dict[str, Any]) -> Any:
        job = self._job(msg["job"])
        self.hook = "admission_priority"
        return self._priority(self.policy.admission_priority(job))

    def op_eviction_priority(self, msg: dict[str, Any]) -> Any:
        job = self._job(msg["job"])
        self.hook = "eviction_priority"
        return self._priority(self.policy.eviction_priority(job))

    def op_select_evictions(self, msg: dict[str, Any]) -> list[int]:
        running = [self._job(w) for w in msg["running"]]
        self.hook = "select_evictions"
        return self._indices(self.policy.select_evictions(running, msg["t"], msg["need"], msg["capacity"]))

    def op_choose_evictions(self, msg: dict[str, Any]) -> list[int]:
        ordered = [self._job(w) for w in msg["ordered"]]
        self.hook = "choose_evictions"
        return self._indices(self.policy.choose_evictions(ordered, msg["need"], msg["capacity"]))

    def op_admission(self, msg: dict[str, Any]) -> bool:
        """Build the round's admission test and offer it the first candidate (one round trip for both)."""
        running = [self._job(w) for w in msg["running"]]
        self.hook = "admission"
        self.test = self.policy.admission(running, msg["t"], msg["capacity"], msg["need"])
        return self.op_try_add(msg)

    def op_try_add(self, msg: dict[str, Any]) -> bool:
        job = self._job(msg["job"])
        self.hook = "try_add"
        return bool(self.test.try_add(job))

    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.hook = str(msg.get("op"))
        try:
            return {"ok": getattr(self, "op_" + self.hook)(msg)}
        except _Invalid as e:
            return {"error": "invalid", "message": str(e)}
        except SystemExit as e:
            return {"error": "exited", "message": f"the policy called sys.exit({_repr(e.code)}) in {self.hook}"}
        except BaseException as e:  # noqa: BLE001 - every failure of the policy is a verdict, never a traceback
            detail = _line(e)
            return {
                "error": "raised",
                "message": f"the policy raised {type(e).__name__} in {self.hook}" + (f": {detail}" if detail else ""),
            }


def _warm_up(worker: _Worker) -> None:
    """Touch the protocol's own code paths once, on dummy data and without the policy's code, while the worker is a
    spare: a fresh fork pays for every page it first writes, and this way not during the verifier's first call."""
    wire = [0, 1, 0, None, 0, 0, 0, None, dict.fromkeys(REQUEST_FIELDS, 1)]
    job = worker._job(json.loads(encode(wire)[4:]))
    worker._priority((job.planned_length, job.index))
    encode({"ok": {"name": "", "options": {}, "overrides": list(HOOKS)}})
    worker.jobs.clear()


def _serve_worker(sock: socket.socket, cls: type, originals: dict[str, Any]) -> None:
    worker = _Worker(cls, originals)
    _warm_up(worker)
    while True:
        try:
            msg = recv(sock)
        except (ChannelClosed, ChannelError):
            return
        reply = worker.handle(msg) if isinstance(msg, dict) else {"error": "invalid", "message": "bad request"}
        try:
            send(sock, reply)
        except (ValueError, TypeError) as e:  # a value our conversions let through but JSON refuses
            send(sock, {"error": "invalid", "message": f"invalid decision: {worker.hook} returned {_line(e, 80)}"})
        except ChannelClosed:
            return


# --- the template: import once, fork a worker per run ------------------------------------
def _exit_code(status: int) -> int:
    return os.waitstatus_to_exitcode(status)


def _stop(pid: int, grace: float, finished: dict[int, int]) -> int | None:
    """Wait up to `grace` seconds for a worker to end, then kill it; its exit code (negative: a signal)."""
    if pid in finished:
        return finished.pop(pid)
    end = time.monotonic() + grace
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return _exit_code(status)
        if time.monotonic() >= end:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            try:
                return _exit_code(os.waitpid(pid, 0)[1])
            except ChildProcessError:
                return None
        time.sleep(0.002)


def _reap(workers: set[int], finished: dict[int, int]) -> None:
    for pid in list(workers):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            workers.discard(pid)
            continue
        if done:
            workers.discard(pid)
            finished[pid] = _exit_code(status)
    while len(finished) > 64:  # statuses nobody asked for
        finished.pop(next(iter(finished)))


def _serve(ctrl: socket.socket) -> None:
    request = recv(ctrl)
    from amin.schedulers import Scheduler

    # Captured before the policy's module runs: a module that patches Scheduler cannot hide an override.
    originals = {h: Scheduler.__dict__[h] for h in HOOKS}
    try:
        cls = _load(request["target"], Scheduler)
    except _LoadError as e:
        send(ctrl, {"error": str(e)})
        return
    _flush()
    send(
        ctrl,
        {
            "ok": {
                "qualname": cls.__qualname__,
                "name": str(getattr(cls, "name", cls.__name__)),
                "clairvoyant": bool(getattr(cls, "clairvoyant", False)),
            }
        },
    )
    # Freeze the module's objects: a forked worker then copies no memory page merely by collecting garbage.
    gc.freeze()
    workers: set[int] = set()
    finished: dict[int, int] = {}
    spare: tuple[int, socket.socket] | None = None
    try:
        while True:
            try:
                msg, fds = recv(ctrl, with_fds=True)
            except (ChannelClosed, ChannelError):
                return
            for f in fds:  # the verifier passes none; a stray descriptor must not stay open here
                os.close(f)
            _reap(workers, finished)
            op = msg.get("op") if isinstance(msg, dict) else None
            if op == "spawn":
                pid, theirs = spare or _fork_worker(ctrl, cls, originals)
                workers.add(pid)
                send(ctrl, {"ok": pid}, fds=[theirs.fileno()])
                theirs.close()
                # The next run's worker is forked now, while the verifier runs this one.
                spare = _fork_worker(ctrl, cls, originals)
            elif op == "stop":
                pid = int(msg["pid"])
                code = _stop(pid, float(msg.get("grace", 0)), finished)
                workers.discard(pid)
                send(ctrl, {"ok": code})
            else:
                return
    finally:
        if spare is not None:
            spare[1].close()
            workers.add(spare[0])
        for pid in workers:
            _stop(pid, 0, finished)


def _fork_worker(ctrl: socket.socket, cls: type, originals: dict[str, Any]) -> tuple[int, socket.socket]:
    """Fork a worker serving one end of a new socket pair; return its pid and the other end (for the verifier)."""
    mine, theirs = socket.socketpair()
    _flush()  # or the fork duplicates unwritten output
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ctrl.close()
            theirs.close()
            _serve_worker(mine, cls, originals)
        except BaseException:  # noqa: BLE001 - the worker ends silently; the verifier sees the exit
            code = 70
        finally:
            _flush()
            os._exit(code)
    mine.close()
    return pid, theirs


def main(fd: int) -> None:
    """Serve the verifier on the control socket `fd` until it closes it; never print a traceback."""
    # Ctrl-C reaches the whole process group: the verifier handles it and ends this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    code = 0
    try:
        _serve(socket.socket(fileno=fd))
    except BaseException:  # noqa: BLE001 - the verifier reports a template that dies; no traceback here
        code = 70
    _flush()
    os._exit(code)
