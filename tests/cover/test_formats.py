"""The documented schemas (amin.harness.formats) and the core's hand-written instance checks agree: two oracles
for one format, so a rule cannot drift in one of them unnoticed."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from amin.harness.formats import problems
from amin.model import MAX_INT, InstanceError, instance_from_dict

FIELDS = ("prompt", "output", "lower", "upper", "arrival", "predicted", "id")
VALUES = st.one_of(
    st.integers(-3, 12),
    st.integers(MAX_INT - 2, MAX_INT + 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, 2.0, 3.0]),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
    st.lists(st.integers(0, 3), max_size=2),
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid instance document with a few random mutations: a field set to any JSON value, removed, or added."""
    n = draw(st.integers(0, 3))
    doc: dict[str, Any] = {
        "capacity": draw(st.integers(1, 40)),
        "requests": [
            {
                "prompt": draw(st.integers(0, 5)),
                "output": draw(st.integers(1, 5)),
                "lower": 1,
                "upper": draw(st.integers(1, 9)),
                "arrival": 0,
            }
            for _ in range(n)
        ],
    }
    for _ in range(draw(st.integers(0, 3))):
        if doc["requests"] and draw(st.booleans()):
            req = draw(st.sampled_from(doc["requests"]))
            key = draw(st.sampled_from((*FIELDS, "colour")))
            if draw(st.booleans()) and key in req:
                del req[key]
            else:
                req[key] = draw(VALUES)
        else:
            key = draw(st.sampled_from(("capacity", "format")))
            doc[key] = draw(st.one_of(VALUES, st.just("amin-instance/1")))
    return doc


def _hand_accepts(doc: dict[str, Any]) -> bool:
    try:
        instance_from_dict(doc)
    except InstanceError:
        return False
    return True


def _cross_field_ok(doc: dict[str, Any]) -> bool:
    """The rules JSON Schema cannot state: lower <= upper and each request fits alone."""
    return all(r["lower"] <= r["upper"] and r["prompt"] + r["output"] <= doc["capacity"] for r in doc["requests"])


@settings(max_examples=1500)  # cheap examples: enough to reach the rare kinds of disagreement
@given(documents())
def test_the_schema_and_the_core_agree_on_every_instance(doc: dict[str, Any]) -> None:
    schema_ok = not problems("instance", doc)
    if schema_ok:
        assert _hand_accepts(doc) == _cross_field_ok(doc), doc
    else:
        assert not _hand_accepts(doc), (problems("instance", doc), doc)


def test_a_problem_names_the_field() -> None:
    doc = {"capacity": 9, "requests": [{"prompt": 1, "output": 0, "lower": 1, "upper": 2}]}
    assert problems("instance", doc) == ["field 'requests[0].output': must be >= 1, got 0"]
