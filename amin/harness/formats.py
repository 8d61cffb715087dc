"""One JSON Schema per file format the harness reads (docs/formats.md), and one way to report a violation.

Formats: the instance (`amin-instance/1`, also checked by hand in the core, which needs no third-party
library: a test holds the two to the same rules), the corpus record, the evidence file and the results-store
line of `amin report`. Every violation becomes a ValueError whose message is one line naming the file, the
field and the problem. NaN and Infinity never get this far: `amin.model.read_json` refuses them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from amin.model import FORMAT, MAX_INT

_INT = {"type": "integer", "maximum": MAX_INT}
_COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
_TEXT = {"type": "string", "maxLength": 100_000}

REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["prompt", "output", "lower", "upper"],
    "additionalProperties": False,
    "properties": {
        "prompt": {**_INT, "minimum": 0},
        "output": {**_INT, "minimum": 1},
        "lower": {**_INT, "minimum": 1},
        "upper": {**_INT, "minimum": 1},
        "arrival": {**_INT, "minimum": 0},
        "predicted": {"anyOf": [{**_INT, "minimum": 1}, {"type": "null"}]},
        "id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}

INSTANCE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": f"{FORMAT}: a capacity and the requests (SPEC section 7)",
    "type": "object",
    "required": ["capacity", "requests"],
    "properties": {
        "format": {"const": FORMAT},
        "capacity": {**_INT, "minimum": 1},
        "requests": {"type": "array", "minItems": 1, "items": REQUEST},
    },
    # Instance files may carry more top-level keys (a corpus record's "search", a report's "source").
    # Cross-field rules (lower <= upper, prompt + output <= capacity) are the core's: amin.model.
}


def corpus_schema() -> dict[str, Any]:
    """A corpus record: an instance plus the "search" object that says what was found and how to replay it."""
    from amin.schedulers import EVICTION_KEYS, SCHEDULERS, TIE_BREAKS

    options = {
        "type": "object",
        "additionalProperties": False,  # only documented scheduler options ever reach simulate()
        "properties": {
            "tie_break": {"enum": list(TIE_BREAKS)},
            "seed": _INT,
            "eviction_key": {"enum": list(EVICTION_KEYS)},
        },
    }
    search = {
        "type": "object",
        "required": ["scheduler", "versus", "value"],
        "properties": {
            "scheduler": {"enum": list(SCHEDULERS)},
            "options": options,
            "versus": {"enum": ["hsf", "opt"]},
            "objective": {"enum": ["ratio", "evictions"]},
            "value": {"type": "number"},
            "ratio": {"type": ["number", "null"]},
            "total_latency": {"type": ["integer", "null"]},
            "reference_latency": {"type": ["integer", "null"]},
            "reference_kind": {"enum": ["hsf", "opt", "opt_lower_bound", None]},
            "reference_source": {"type": ["string", "null"]},
            "family": {"type": ["string", "null"]},
            "alpha": {"type": ["number", "null"]},
            "seed": {"type": ["integer", "null"]},
        },
    }
    return {
        **INSTANCE,
        "title": "corpus record: an instance and what the search found on it",
        "required": [*INSTANCE["required"], "search"],
        "properties": {**INSTANCE["properties"], "search": search},
    }


def evidence_schema() -> dict[str, Any]:
    """An evidence file: the claims one source (proofs, search, report ...) backs, each with its support."""
    from amin.harness.claims import CLAIMS, VERDICTS

    claim = {
        "type": "object",
        "required": ["id", "verdict", "summary"],
        "additionalProperties": False,
        "properties": {
            "id": {"enum": list(CLAIMS)},
            "verdict": {"enum": list(VERDICTS)},
            "summary": _TEXT,
            "conditions": {"type": ["string", "null"]},
            "box": {"type": ["string", "null"]},
            "examples": {"anyOf": [_COUNT, {"type": "null"}]},
            "worst_ratio": {"type": ["number", "null"]},
            "evidence": {"type": "array", "items": {"type": "string"}},
            "seeds": {"type": "array", "items": _INT},
            "seconds": {"type": ["number", "null"], "minimum": 0},
            "strength": {"type": "object", "additionalProperties": {"type": "number"}},
            "details": {"type": "object"},  # measurements behind the verdict, free-form
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "evidence file: the claims one source backs",
        "type": "object",
        "required": ["claims"],
        "additionalProperties": False,
        "properties": {
            "source": {"type": "string", "minLength": 1},
            "generated": {"type": "string"},
            "versions": {"type": "object", "additionalProperties": {"type": "string"}},
            "command": {"type": "string"},
            "claims": {"type": "array", "items": claim},
        },
    }


def _describe(error: Any) -> str:
    """One short line for a jsonschema error (its own messages can quote a whole document)."""
    kind, value, expected = error.validator, error.instance, error.validator_value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    if kind == "required":
        missing = [k for k in expected if isinstance(value, Mapping) and k not in value]
        return f"missing field '{missing[0] if missing else expected[0]}'"
    if kind == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {}))) if isinstance(value, Mapping) else []
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown field '{extra[0] if extra else '?'}' (known: {known})"
    if kind == "type":
        want = expected if isinstance(expected, str) else " or ".join(str(t) for t in expected)
        return f"must be {want.replace('null', 'null (absent)')}, got {shown}"
    if kind in ("enum", "const"):
        options = expected if kind == "enum" else [expected]
        return f"must be one of {', '.join(repr(o) for o in options)}, got {shown}"
    if kind == "minimum":
        return f"must be >= {expected}, got {shown}"
    if kind == "maximum":
        return f"must be <= {expected}" + (" (2^53 - 1)" if expected == MAX_INT else "") + f", got {shown}"
    if kind == "minItems":
        return f"needs at least {expected} item(s)"
    if kind == "anyOf":
        return f"has an invalid value {shown}"
    return str(error.message).splitlines()[0][:120]


def _field(path: Sequence[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


@functools.cache
def _validator(name: str) -> Any:
    return compile_schema({"instance": lambda: INSTANCE, "corpus": corpus_schema, "evidence": evidence_schema}[name]())


def compile_schema(schema: dict[str, Any]) -> Any:
    """A validator for a schema; counts are ints (JSON Schema would count 2.0 as an integer; these formats do
    not, and neither does the core)."""
    import jsonschema

    base = jsonschema.validators.validator_for(schema)
    base.check_schema(schema)
    strict = base.TYPE_CHECKER.redefine("integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool))
    return jsonschema.validators.extend(base, type_checker=strict)(schema)


def problems(name: str | Any, data: Any) -> list[str]:
    """Every violation of format `name` ("instance", "corpus", "evidence"), or of a compiled schema, in `data`, as
    'field: problem'."""
    import jsonschema

    validator = _validator(name) if isinstance(name, str) else name
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    out = []
    for e in errors:
        if e.validator == "anyOf" and e.context:  # report the most specific branch
            e = jsonschema.exceptions.best_match(e.context) or e
        where = _field(e.absolute_path)
        out.append(f"field '{where}': {_describe(e)}" if where else _describe(e))
    return out


def validate(name: str, data: Any, source: str | Path) -> None:
    """Raise ValueError, one line naming `source`, the field and the problem, unless `data` is a valid `name`."""
    found = problems(name, data)
    if found:
        raise ValueError(f"{source}: {found[0]}")
