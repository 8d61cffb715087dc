"""Loading, validating and saving instances (SPEC sections 1 and 7)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from amin import InstanceError, Request, load_instance, save_instance
from amin.model import instance_from_dict
from tests.strategies import instances

GOOD = {"format": "amin-instance/1", "capacity": 9, "requests": [{"prompt": 1, "output": 3, "lower": 1, "upper": 5}]}


def with_request(**fields):
    d = json.loads(json.dumps(GOOD))
    d["requests"][0].update(fields)
    return d


def test_arrival_defaults_to_zero_and_optional_fields():
    inst = load_instance(GOOD)
    assert inst.requests[0] == Request(prompt=1, output=3, lower=1, upper=5, arrival=0)
    inst = load_instance(with_request(id="a", predicted=4, arrival=2))
    assert inst.requests[0].id == "a" and inst.requests[0].predicted == 4 and inst.requests[0].arrival == 2


def test_instance_under_an_instance_key_loads():
    assert load_instance({"instance": GOOD, "ratio": 1.5}) == load_instance(GOOD)


@given(instances())
def test_save_and_load_is_lossless(inst):
    assert load_instance(json.loads(json.dumps(inst.to_dict()))) == inst


def test_save_instance_round_trip_with_metadata(tmp_path):
    inst = load_instance(with_request(id="x", predicted=2))
    path = save_instance(inst, tmp_path / "i.json", ratio=1.25)
    assert load_instance(path) == inst
    assert json.loads(path.read_text())["ratio"] == 1.25


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_request(output=0), "request 0: field 'output' must be >= 1, got 0"),
        (with_request(lower=0), "request 0: field 'lower' must be >= 1, got 0"),
        (with_request(lower=6), "request 0: field 'lower' (6) exceeds field 'upper' (5)"),
        (with_request(prompt=-1), "request 0: field 'prompt' must be >= 0, got -1"),
        (with_request(arrival=-2), "request 0: field 'arrival' must be >= 0, got -2"),
        (with_request(prompt=7), "request 0: cannot fit alone: prompt 7 + output 3 > capacity 9"),
        (with_request(prompt="1"), "request 0: field 'prompt' must be an integer, got '1'"),
        (with_request(output=2.5), "request 0: field 'output' must be an integer, got 2.5"),
        (with_request(upper=True), "request 0: field 'upper' must be an integer, got True"),
        (with_request(predicted=0), "request 0: field 'predicted' must be an integer >= 1, got 0"),
        (with_request(id=3), "request 0 (id 3): field 'id' must be a string, got 3"),
        (with_request(outptu=3), "request 0: unknown field 'outptu'"),
        ({**GOOD, "requests": []}, "the instance has no requests"),
        ({**GOOD, "requests": {}}, "field 'requests' must be a list"),
        ({**GOOD, "format": "amin-instance/2"}, "unknown format 'amin-instance/2'"),
        ({**GOOD, "capacity": 0}, "capacity must be an integer >= 1, got 0"),
        ({"requests": GOOD["requests"]}, "missing field 'capacity'"),
        ([1, 2], "an instance must be a JSON object"),
    ],
)
def test_bad_instances_name_the_request_and_field(data, message):
    with pytest.raises(InstanceError) as err:
        instance_from_dict(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_field_names_the_request_by_id():
    d = with_request(id="chat-7")
    del d["requests"][0]["upper"]
    with pytest.raises(InstanceError, match=r"request 0 \(id 'chat-7'\): missing field 'upper'"):
        load_instance(d)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(InstanceError, match="cannot read"):
        load_instance(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InstanceError, match="invalid JSON at line 1"):
        load_instance(bad)


def test_instances_are_immutable():
    inst = load_instance(GOOD)
    with pytest.raises(AttributeError):
        inst.capacity = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        inst.requests[0].output = 3  # type: ignore[misc]
