"""Cell results on disk: one JSON line per finished cell, keyed by the cell's hash, so a run resumes.

Lines are appended and flushed as cells finish; a torn last line (an interrupted
write) is ignored on reading, and a later line for the same key wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .cells import DONE_STATUSES


class ResultStore:
    """The results file `DIR/results/cells.jsonl`: read once, appended cell by cell."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self._torn = False  # the file ends inside a line: the next record must start on a fresh one
        if self.path.exists():
            text = self.path.read_text(encoding="utf-8")
            self._torn = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by an interrupted write: that cell is simply recomputed
                if isinstance(rec, dict) and "key" in rec:
                    self.records[rec["key"]] = rec

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
        self.records[record["key"]] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(("\n" if self._torn else "") + json.dumps(record, sort_keys=True) + "\n")
            self._torn = False
            f.flush()
            os.fsync(f.fileno())

    def select(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        """The stored records of these cells, in the given order (missing ones left out)."""
        return [self.records[k] for k in keys if k in self.records]
