"""The counterexample corpus: one JSON file per record-breaking instance, and its replay.

A corpus file is an instance in SPEC section 7 format (top level, so
`amin.load_instance` reads it) plus a "search" object: the scheduler, options,
reference, objective, the value found (ratio or evictions), latencies, family,
alpha and seed. Replaying re-simulates and recomputes the reference and fails
if the stored value does not reproduce.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amin import Instance, InstanceError, load_instance
from amin.harness.formats import validate
from amin.harness.search.ratio import Evaluation, evaluate, replay_reference
from amin.model import read_json

# The packages a search evidence file records the versions of.
EVIDENCE_PACKAGES = ("amin", "hypothesis", "numpy", "scipy", "matplotlib", "cvxpy", "highspy")

TOLERANCE = 1e-9


def record_key(meta: dict[str, Any]) -> tuple[Any, ...]:
    """Which records compete: same scheduler, reference, objective, family and alpha."""
    return (meta["scheduler"], meta["versus"], meta.get("objective", "ratio"), meta.get("family"), meta.get("alpha"))


def corpus_files(directory: str | Path) -> list[Path]:
    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"corpus directory {d} does not exist")
    return sorted([*d.glob("*.json"), *d.glob("*.json.gz")])


def read_entry(path: Path) -> tuple[Instance, dict[str, Any]]:
    """One corpus record, validated against its schema (docs/formats.md); ValueError names file and field."""
    data = read_json(path, what="a corpus record")
    validate("corpus", data, path)
    try:
        instance = load_instance(data)
    except InstanceError as e:
        raise ValueError(f"{path}: {e}") from None
    return instance, data["search"]


def record(directory: str | Path, key: tuple[Any, ...]) -> float | None:
    """The best stored value for `key`, or None when the corpus has none."""
    d = Path(directory)
    if not d.is_dir():
        return None
    values = [meta["value"] for _, meta in (read_entry(p) for p in corpus_files(d)) if record_key(meta) == key]
    return max(values) if values else None


def entry_meta(
    ev: Evaluation, versus: str, *, family: str | None, alpha: float | None, seed: int | None, **extra: Any
) -> dict[str, Any]:
    return {
        "scheduler": ev.scheduler,
        "options": dict(ev.options),
        "versus": versus,
        "objective": ev.objective,
        "value": ev.value,
        "ratio": ev.ratio,
        "total_latency": ev.total_latency,
        "reference_latency": ev.reference.total_latency,
        "reference_kind": ev.reference.kind,
        "reference_source": ev.reference.source,
        "max_evictions_per_request": ev.max_evictions_per_request,
        "family": family,
        "alpha": alpha,
        "seed": seed,
        **extra,
    }


def save_entry(
    directory: str | Path, instance: Instance, meta: dict[str, Any], name: str | None = None, compress: bool = False
) -> Path:
    """Write one corpus file; the default name is derived from its key and a hash of the instance.

    `compress=True` writes gzip (`.json.gz`), for instances of thousands of requests."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if name is None:
        digest = hashlib.sha1(json.dumps(instance.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
        alpha = "" if meta.get("alpha") is None else f"-alpha{meta['alpha']:.4g}"
        obj = "" if meta.get("objective", "ratio") == "ratio" else f"-{meta['objective']}"
        name = f"{meta['scheduler']}-vs-{meta['versus']}{obj}-{meta.get('family')}{alpha}-{digest}.json"
        name += ".gz" if compress else ""
    path = d / name
    data = instance.to_dict()
    data["search"] = meta
    if path.name.endswith(".gz"):
        # mtime=0: the same record always gives the same bytes, so an unchanged corpus stays unchanged in git.
        path.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":")).encode(), mtime=0))
    else:
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True, slots=True)
class Replayed:
    path: Path
    stored: float
    value: float

    @property
    def ok(self) -> bool:
        return abs(self.stored - self.value) <= TOLERANCE * max(1.0, abs(self.stored))


def replay_file(path: Path) -> Replayed:
    """Re-evaluate one corpus file (the reference is recomputed from scratch)."""
    instance, meta = read_entry(path)
    objective = meta.get("objective", "ratio")
    versus = meta["versus"] if objective == "ratio" else "hsf"
    ref = replay_reference(instance, versus, meta.get("reference_kind"), meta.get("reference_source"))
    ev = evaluate(
        instance, meta["scheduler"], meta["versus"], options=meta.get("options"), objective=objective, ref=ref
    )
    return Replayed(path, float(meta["value"]), ev.value)


def replay(directory: str | Path) -> list[Replayed]:
    return [replay_file(p) for p in corpus_files(directory)]
