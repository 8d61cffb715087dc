"""Cell results on disk: one JSON line per finished cell, keyed by the cell's hash, so a run resumes.

Lines are appended and flushed as cells finish; a later line for the same key wins. Each line carries a
checksum of its own content: a line that is torn (an interrupted write), edited by hand, or fails the
results-line schema (docs/formats.md) is ignored, counted in `rejected`, and its cell recomputed. One run at a
time writes a store: `locked()` refuses a second one.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from amin.harness.formats import INSTANCE, MAX_INT, compile_schema
from amin.harness.report.cells import DONE_STATUSES

_INT = {"type": "integer", "maximum": MAX_INT}
_COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_INT}


def results_line_schema() -> dict[str, Any]:
    """One line of `amin report`'s results store: a cell's parameters, status and measurements (checksummed)."""
    from dataclasses import fields

    from amin.harness.report.cells import QUANTILES
    from amin.harness.report.grid import Cell

    py = {
        "str": {"type": "string"},
        "int": _INT,
        "float": {"type": "number"},
        "float | None": {"type": ["number", "null"]},
    }
    params = {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in fields(Cell)],
        "properties": {f.name: py[str(f.type)] for f in fields(Cell)},
    }
    nonneg = _COUNT
    number = {"type": "number", "minimum": 0}
    sim = {
        "type": "object",
        "required": [
            "requests",
            "instance_hash",
            "total_latency",
            "makespan",
            "evictions",
            "wasted_tokens",
            "peak_memory",
            "rounds",
            "latency_quantiles",
        ],
        "properties": {
            "requests": {**_COUNT, "minimum": 1},
            "skipped": nonneg,
            "instance_hash": {"type": "string"},
            "total_latency": nonneg,
            "mean_latency": number,
            "makespan": nonneg,
            "evictions": nonneg,
            "wasted_tokens": nonneg,
            "peak_memory": nonneg,
            "rounds": nonneg,
            "latency_quantiles": {
                "type": "array",
                "items": number,
                "minItems": len(QUANTILES),
                "maxItems": len(QUANTILES),
            },
            "coverage": {"type": ["number", "null"]},
            "mean_width": {"type": ["number", "null"]},
            "mean_alpha": {"type": ["number", "null"]},
        },
    }
    bound = {
        "type": "object",
        "required": ["requests", "instance_hash", "lower_bound", "method"],
        "properties": {
            "requests": {**_COUNT, "minimum": 1},
            "skipped": nonneg,
            "instance_hash": {"type": "string"},
            "lower_bound": number,
            "method": {"type": "string"},
            "lower_bounds": {"type": "object", "additionalProperties": number},
            "upper": {**_COUNT, "minimum": 1},
            "upper_method": {"type": "string"},
            "solver_seconds": number,
        },
    }
    opt = {
        "type": "object",
        "required": ["status", "total_latency", "lower_bound"],
        "properties": {
            "status": {"enum": ["optimal", "feasible", "unknown"]},
            "total_latency": {"anyOf": [nonneg, {"type": "null"}]},
            "lower_bound": {"type": ["number", "null"], "minimum": 0},
        },
    }
    exact = {
        "type": "object",
        "required": ["requests", "capacity", "opt", "total_latency", "instance"],
        "properties": {
            "requests": {**_COUNT, "minimum": 1},
            "capacity": {**_COUNT, "minimum": 1},
            "opt": opt,
            "total_latency": {"type": "object", "additionalProperties": nonneg},
            "instance": INSTANCE,
        },
    }
    reason = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}

    def when(kind: str, metrics: dict[str, Any]) -> dict[str, Any]:
        return {
            "if": {"properties": {"status": {"const": "ok"}, "params": {"properties": {"kind": {"const": kind}}}}},
            "then": {"properties": {"metrics": metrics}},
        }

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "one cell of amin report's results store (results/cells.jsonl)",
        "type": "object",
        "required": ["key", "params", "status", "metrics", "engine", "code", "checksum"],
        "additionalProperties": False,
        "properties": {
            "key": {"type": "string", "pattern": "^[0-9a-f]{20}$"},
            "params": params,
            "status": {"enum": ["ok", "not-applicable", "gave-up", "not-computed", "error"]},
            "metrics": {"type": "object"},
            "seconds": {"type": ["number", "null"], "minimum": 0},
            "engine": {"type": "string"},
            "code": {"type": "string"},
            "checksum": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
        "allOf": [
            when("sim", sim),
            when("bound", bound),
            when("exact", exact),
            {"if": {"not": {"properties": {"status": {"const": "ok"}}}}, "then": {"properties": {"metrics": reason}}},
        ],
    }


@functools.cache
def _line_validator() -> Any:
    return compile_schema(results_line_schema())


class StoreBusy(Exception):
    """Another process is writing to this results store."""


def checksum(record: dict[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON without its checksum field."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@contextlib.contextmanager
def locked(directory: str | Path) -> Iterator[None]:
    """Hold a results directory for one run; a second run into the same directory is refused (StoreBusy).

    An advisory lock (flock) on DIR/report.lock: the system releases it when the holder exits, however it
    exits, so a crashed run never leaves a stale lock behind."""
    import fcntl

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "report.lock").open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise StoreBusy(
                f"another amin report is writing to {directory} ({holder}); wait for it to finish or use another --out"
            ) from None
        f.truncate(0)
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


class ResultStore:
    """The results file `DIR/results/cells.jsonl`: read once, appended cell by cell."""

    def __init__(self, path: str | Path) -> None:
        from amin.harness.formats import problems

        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.rejected: dict[str, int] = {}  # why lines were ignored -> how many
        self._torn = False  # the file ends inside a line: the next record must start on a fresh one
        if self.path.exists():
            text = self.path.read_text(encoding="utf-8", errors="replace")
            self._torn = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line, parse_constant=_refuse)
                except ValueError:
                    self._reject("not a whole JSON line")
                    continue
                if not isinstance(rec, dict) or rec.get("checksum") != checksum(rec):
                    self._reject("checksum mismatch")
                    continue
                if problems(_line_validator(), rec):
                    self._reject("fails the results-line schema")
                    continue
                self.records[rec["key"]] = rec

    def _reject(self, why: str) -> None:
        self.rejected[why] = self.rejected.get(why, 0) + 1

    def done(self, key: str, engine: str | None = None, code: str | None = None) -> bool:
        """Stored with a final status and, when given, computed by that simulation engine and that code
        (`cells.code_fingerprint`): results of different engines or code versions are never mixed in one report."""
        rec = self.records.get(key)
        if rec is None or rec.get("status") not in DONE_STATUSES:
            return False
        return (engine is None or rec.get("engine") == engine) and (code is None or rec.get("code") == code)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def add(self, record: dict[str, Any]) -> None:
        record = {**record, "checksum": checksum(record)}
        self.records[record["key"]] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(("\n" if self._torn else "") + json.dumps(record, sort_keys=True, allow_nan=False) + "\n")
            self._torn = False
            f.flush()
            os.fsync(f.fileno())

    def select(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        """The stored records of these cells, in the given order (missing ones left out)."""
        return [self.records[k] for k in keys if k in self.records]
