"""Evidence files: one record type, one reader and one writer for every source that backs the claims ledger.

An evidence file (`reports/evidence/*.json`, schema in amin.harness.formats) lists the claims one source
backs. The writer never silently replaces stronger evidence with a weaker run: a run that covers less (a lower
verdict, fewer examples, or a smaller box in any `strength` measure) leaves the stored file alone unless the
caller asks for `update=True`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from amin.harness.formats import validate
from amin.model import read_json

# How strong a verdict is, for the writer's "never weaken" rule (the ledger merges with its own order).
_STRENGTH = {"open": 0, "tested": 1, "exhaustive": 2, "proved": 3, "refuted": 3}


@dataclass(frozen=True)
class ClaimEvidence:
    """What one source says about one claim, with the support the ledger requires for its verdict."""

    id: str
    verdict: str
    summary: str
    conditions: str | None = None  # the reading and regime the verdict holds in
    box: str | None = None
    examples: int | None = None
    worst_ratio: float | None = None
    evidence: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    seconds: float | None = None
    strength: Mapping[str, float] = field(default_factory=dict)  # box measures: larger covers more
    details: Mapping[str, Any] = field(default_factory=dict)  # measurements behind the verdict

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence"], d["seeds"], d["strength"] = list(self.evidence), list(self.seeds), dict(self.strength)
        d["details"] = dict(self.details)
        if d["seconds"] is not None:
            d["seconds"] = round(float(d["seconds"]), 3)
        return d


def versions(*packages: str) -> dict[str, str]:
    """Python and the installed version of each package (absent ones left out)."""
    out = {"python": platform.python_version()}
    for name in packages:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    return out


def evidence_document(
    source: str, claims: Iterable[ClaimEvidence], command: str, packages: Iterable[str] = ()
) -> dict[str, Any]:
    """The JSON document of one evidence file."""
    return {
        "source": source,
        "generated": _dt.date.today().isoformat(),
        "versions": versions("amin", *packages),
        "command": command,
        "claims": [c.to_dict() for c in claims],
    }


def read_evidence(path: str | Path) -> dict[str, Any]:
    """One evidence file, validated against its schema; ValueError names the file and the field."""
    data = read_json(path, what="an evidence file")
    validate("evidence", data, path)
    return data  # type: ignore[no-any-return]


def weaker(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """Why `new` covers less than `old` (one line), or None when it covers at least as much."""
    fresh = {c["id"]: c for c in new["claims"]}
    for c in old["claims"]:
        n = fresh.get(c["id"])
        if n is None:
            return f"claim {c['id']} is missing from this run"
        if _STRENGTH[n["verdict"]] < _STRENGTH[c["verdict"]]:
            return f"claim {c['id']}: {n['verdict']} in this run, {c['verdict']} stored"
        if n["verdict"] != c["verdict"]:
            continue  # a different finding at least as strong: not a weakening
        if (c.get("examples") or 0) > (n.get("examples") or 0):
            return f"claim {c['id']}: {n.get('examples') or 0} examples in this run, {c['examples']} stored"
        for measure, value in (c.get("strength") or {}).items():
            mine = (n.get("strength") or {}).get(measure)
            if mine is None or mine < value:
                return f"claim {c['id']}: {measure} {mine} in this run, {value:g} stored"
    return None


@dataclass(frozen=True)
class Written:
    """What `write_evidence` did: `written` False when the stored file was kept, with the reason."""

    path: Path
    written: bool
    reason: str = ""


def write_evidence(path: str | Path, document: Mapping[str, Any], *, update: bool = False) -> Written:
    """Write an evidence file atomically, unless a stored one covers more and `update` is False."""
    path = Path(path)
    validate("evidence", document, f"{path} (to be written)")
    if path.exists() and not update:
        try:
            old = read_evidence(path)
        except ValueError:
            old = None  # a broken stored file protects nothing
        why = None if old is None else weaker(old, document)
        if why is not None:
            return Written(path, False, why)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(document, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return Written(path, True)


def evidence_root(evidence_dir: str | Path) -> Path:
    """Where evidence paths are read from: the repository (the parent of reports/), else the evidence
    directory's parent."""
    d = Path(evidence_dir).resolve()
    return d.parent.parent if d.parent.name == "reports" else d.parent


def evidence_path(file: str | Path, evidence_dir: str | Path) -> str:
    """`file` as an evidence file names it: relative to `evidence_root(evidence_dir)`."""
    return Path(file).resolve().relative_to(evidence_root(evidence_dir)).as_posix()


def repository_root(start: str | Path | None = None) -> Path | None:
    """The nearest directory at or above `start` (default: the working directory) holding reports/evidence."""
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "reports" / "evidence").is_dir():
            return d
    return None
