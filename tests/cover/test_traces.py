"""Tests of amin.traces: the bundled traces against their PROVENANCE statistics, load_table on hand-made
files with bad rows, seeded sampling, and skip counting in to_instance."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from amin.model import Instance
from amin.predictors import crude, relative
from amin.traces import DATA_DIR, ROUND_SECONDS, TRACES, Trace, load_table, load_trace

SHARED = Path("/work/shared/data")


def provenance(name: str) -> str:
    return (TRACES[name].path.parent / "PROVENANCE.md").read_text(encoding="utf-8")


# Row counts, skipped rows and summary statistics as the PROVENANCE files state them.
EXPECTED = {
    # name: (kept rows, skipped, prompt min, prompt max, output min, output max, prompt mean, output mean)
    "azure-conv": (19366, {}, 2, 14050, 7, 1000, 1154.70, 211.13),
    "azure-code": (8819, {}, 3, 7437, 6, 1899, 2047.85, 27.88),
    "mooncake-conv": (12031, {}, 891, 126195, 1, 2000, 12035.06, 342.62),
    "sharegpt-llama2": (30731, {}, 1, 8141, 2, 1024, 2340.03, 438.71),
    # 40,000 rows; "one row a zero-token output" is skipped; the twelve zero-token prompts are valid (s >= 0).
    "sharegpt-predicted": (39999, {"output<1": 1}, 0, 3972, 1, 2383, 250.7, 323.1),
}


def test_every_bundled_trace_is_described() -> None:
    assert set(TRACES) == {"azure-conv", "azure-code", "sharegpt-predicted", "mooncake-conv", "sharegpt-llama2"}
    assert set(EXPECTED) == set(TRACES)
    assert [n for n, t in TRACES.items() if t.has_predicted] == ["sharegpt-predicted"]
    assert {n for n, t in TRACES.items() if t.has_arrivals} == {"azure-conv", "azure-code", "mooncake-conv"}


@pytest.mark.parametrize("name", sorted(TRACES))
def test_bundled_file_is_the_verbatim_copy_with_license(name: str) -> None:
    info = TRACES[name]
    text = provenance(name)
    digest = hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert digest in text  # the sha256 PROVENANCE.md records for this file
    assert load_trace(name).sha256 == digest
    files = {p.name for p in info.path.parent.iterdir()}
    assert any(f.startswith("LICENSE") for f in files)
    shared = SHARED / info.directory
    if shared.is_dir():  # the bundled directory is an unchanged copy of the shared one
        for f in shared.iterdir():
            assert (info.path.parent / f.name).read_bytes() == f.read_bytes(), f.name


@pytest.mark.parametrize("name", sorted(TRACES))
def test_bundled_trace_matches_provenance(name: str) -> None:
    n, skipped, pmin, pmax, omin, omax, pmean, omean = EXPECTED[name]
    t = load_trace(name)
    text = provenance(name)
    assert len(t) == n
    assert f"{n + sum(skipped.values()):,}" in text  # the row count as PROVENANCE.md writes it
    assert t.skipped == skipped
    assert (int(t.prompt.min()), int(t.prompt.max())) == (pmin, pmax)
    assert (int(t.output.min()), int(t.output.max())) == (omin, omax)
    # PROVENANCE means include skipped rows; one zero-output row moves the mean by < 0.01.
    total = n + sum(skipped.values())
    assert t.prompt.sum() / total == pytest.approx(pmean, abs=0.06)
    assert t.output.sum() / total == pytest.approx(omean, abs=0.06)
    assert t.prompt.dtype == t.output.dtype == t.arrival.dtype == np.int64
    assert (t.predicted is not None) == TRACES[name].has_predicted
    if not TRACES[name].has_arrivals:
        assert not t.arrival.any()
    else:
        assert t.arrival[0] == 0 and (np.diff(t.arrival) >= 0).all()  # rows are sorted by time


def test_sharegpt_predicted_zero_prompts_are_kept_and_predictions_valid() -> None:
    t = load_trace("sharegpt-predicted")
    assert int((t.prompt == 0).sum()) == 12
    assert t.predicted is not None and int(t.predicted.min()) == 1 and int(t.predicted.max()) == 1006
    # PROVENANCE: the prediction is below the true length in 29.8% of rows.
    assert float(np.mean(t.predicted < t.output)) == pytest.approx(0.298, abs=0.001)


@pytest.mark.parametrize("name", ["azure-conv", "azure-code"])
def test_azure_arrivals_against_numpy_datetimes(name: str) -> None:
    # An independent oracle: numpy parses the 7-digit fractions at nanosecond precision.
    lines = TRACES[name].path.read_text(encoding="utf-8").splitlines()[1:]
    ts = np.array([ln.split(",")[0] for ln in lines if ln.strip()], dtype="datetime64[ns]")
    expected = (ts - ts.min()) // np.timedelta64(20, "ms")
    assert np.array_equal(load_trace(name).arrival, expected.astype(np.int64))
    seconds = load_trace(name, round_seconds=1.0).arrival
    assert np.array_equal(seconds, ((ts - ts.min()) // np.timedelta64(1, "s")).astype(np.int64))


def test_azure_span_matches_provenance() -> None:
    # 3,501.7 s and 3,435.9 s at the default 20 ms per round.
    assert ROUND_SECONDS == 0.02
    # PROVENANCE rounds the spans to 0.1 s, so the last round is known to within 0.05 s / 0.02 s.
    assert abs(int(load_trace("azure-conv").arrival[-1]) - 3501.7 / 0.02) <= 0.05 / 0.02 + 1
    assert abs(int(load_trace("azure-code").arrival[-1]) - 3435.9 / 0.02) <= 0.05 / 0.02 + 1


def test_mooncake_arrivals_are_milliseconds() -> None:
    with TRACES["mooncake-conv"].path.open(encoding="utf-8") as f:
        ms = np.array([json.loads(line)["timestamp"] for line in f], dtype=np.int64)
    assert int(ms.max()) == 3_536_999
    assert np.array_equal(load_trace("mooncake-conv").arrival, (ms - ms.min()) // 20)
    assert np.array_equal(load_trace("mooncake-conv", round_seconds=0.5).arrival, (ms - ms.min()) // 500)


def test_load_trace_rejects_unknown_name_and_bad_round() -> None:
    with pytest.raises(ValueError, match="unknown trace 'nope'"):
        load_trace("nope")
    with pytest.raises(ValueError, match="round_seconds"):
        load_trace("azure-code", round_seconds=0)
    with pytest.raises(ValueError, match="round_seconds"):
        load_trace("azure-code", round_seconds="fast")  # type: ignore[arg-type]


def test_trace_arrays_are_read_only() -> None:
    t = load_trace("azure-code")
    with pytest.raises(ValueError):
        t.output[0] = 5
    assert DATA_DIR.is_dir()


# --- load_table on small hand-made files -----------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_load_table_csv_counts_every_bad_row(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "mine.csv",
        "t,prompt,output,pred\n"
        "0.00,10,5,4\n"  # kept
        "0.05,3,0,4\n"  # output<1
        "0.10,-1,5,4\n"  # prompt<0
        "0.15,abc,5,4\n"  # non-numeric
        "0.20,10,2.5,4\n"  # non-integer
        "0.25,,5,4\n"  # missing
        "0.30,7\n"  # missing (short row)
        "\n"  # blank line: not a row
        "0.35,10,5,0\n"  # predicted<1
        "zz,10,5,4\n"  # non-numeric time
        "0.39,0,7.0,3\n"  # kept: zero prompt, integral float output
        "0.41,1,1,1\n",  # kept
    )
    t = load_table(p, prompt_column="prompt", output_column="output", arrival_column="t", predicted_column="pred")
    assert t.name == "mine"
    assert t.source == str(p)
    assert t.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    assert t.prompt.tolist() == [10, 0, 1]
    assert t.output.tolist() == [5, 7, 1]
    assert t.predicted is not None and t.predicted.tolist() == [4, 3, 1]
    assert t.arrival.tolist() == [0, 19, 20]  # floor(0.39 / 0.02), floor(0.41 / 0.02)
    assert t.skipped == {
        "output<1": 1,
        "prompt<0": 1,
        "non-numeric": 2,
        "non-integer": 1,
        "missing": 2,
        "predicted<1": 1,
    }
    assert t.rows.tolist() == [0, 1, 2]


def test_load_table_float_boundaries_are_exact(tmp_path: Path) -> None:
    # 0.06 / 0.02 is 2.9999999999999996 in floats; the exact quotient is 3.
    p = write(tmp_path, "b.csv", "t,s,o\n0,1,1\n0.06,1,1\n0.1,1,1\n0.7,1,1\n")
    t = load_table(p, prompt_column="s", output_column="o", arrival_column="t")
    assert t.arrival.tolist() == [0, 3, 5, 35]


def test_load_table_jsonl_with_bad_lines(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "m.jsonl",
        '{"ts": 1000, "in": 5, "out": 3}\n'
        "not json\n"  # bad-json
        "[1, 2, 3]\n"  # bad-json: not an object
        '{"ts": 1019, "in": 5}\n'  # missing
        '{"ts": 1040, "in": true, "out": 3}\n'  # non-numeric
        '{"ts": 1040, "in": "6", "out": 2.0}\n'  # kept: numeric string and integral float
        "\n"
        '{"ts": 1059.5, "in": 0, "out": 1}\n',  # kept
    )
    t = load_table(p, prompt_column="in", output_column="out", arrival_column="ts", arrival_unit="milliseconds")
    assert t.prompt.tolist() == [5, 6, 0]
    assert t.output.tolist() == [3, 2, 1]
    assert t.arrival.tolist() == [0, 2, 2]  # floor(40 / 20), floor(59.5 / 20)
    assert t.predicted is None
    assert t.skipped == {"bad-json": 2, "missing": 1, "non-numeric": 1}


def test_load_table_timestamps_and_rounds(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "ts.csv",
        "when,s,o\n"
        "2024-01-01 00:00:00.0000001,1,1\n"
        "2024-01-01T00:00:01.0000000,1,1\n"
        "2024-01-01 00:00:00.0500000+00:00,1,1\n"
        "2024-01-01 01:00:00.5+01:00,1,1\n"  # the same instant as 00:00:00.5 UTC
        "2024-13-01 00:00:00,1,1\n"  # bad-timestamp
        "yesterday,1,1\n",  # bad-timestamp
    )
    t = load_table(
        p, prompt_column="s", output_column="o", arrival_column="when", arrival_unit="timestamp", round_seconds=0.05
    )
    assert t.arrival.tolist() == [0, 19, 0, 9]  # t0 is the earliest row, 00:00:00.0000001
    assert t.skipped == {"bad-timestamp": 2}
    r = write(tmp_path, "r.csv", "a,s,o\n7,1,1\n5,1,1\n5.5,1,1\n9,1,1\n")
    t = load_table(r, prompt_column="s", output_column="o", arrival_column="a", arrival_unit="rounds")
    assert t.arrival.tolist() == [2, 0, 4]
    assert t.skipped == {"non-integer": 1}


def test_load_table_user_errors(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "s,o\n1,1\n")
    with pytest.raises(ValueError, match="no column 'out'"):
        load_table(p, prompt_column="s", output_column="out")
    with pytest.raises(ValueError, match="arrival_unit"):
        load_table(p, prompt_column="s", output_column="o", arrival_column="s", arrival_unit="hours")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no such file"):
        load_table(tmp_path / "absent.csv", prompt_column="s", output_column="o")
    bad = write(tmp_path, "bad.csv", "s,o\n1,0\nx,1\n")
    with pytest.raises(ValueError, match="no valid request rows.*non-numeric: 1, output<1: 1"):
        load_table(bad, prompt_column="s", output_column="o")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"s,o\n\xff\xfe\x00\n")
    with pytest.raises(ValueError, match="not a UTF-8"):
        load_table(binary, prompt_column="s", output_column="o")


# --- sampling -------------------------------------------------------------------------


def test_sample_is_seeded_without_replacement_and_rebased() -> None:
    t = load_trace("azure-conv")
    a, b, c = t.sample(500, seed=7), t.sample(500, seed=7), t.sample(500, seed=8)
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.arrival, b.arrival)
    assert not np.array_equal(a.rows, c.rows)
    assert len(a) == 500 and len(np.unique(a.rows)) == 500
    assert a.arrival[0] == 0 and (np.diff(a.arrival) >= 0).all()
    # Each sampled request is the trace's request at that row, arrival shifted by one constant.
    assert np.array_equal(a.prompt, t.prompt[a.rows]) and np.array_equal(a.output, t.output[a.rows])
    assert np.array_equal(a.arrival, t.arrival[a.rows] - t.arrival[a.rows].min())
    assert a.skipped == t.skipped and a.sha256 == t.sha256 and a.name == t.name
    with pytest.raises(ValueError, match="cannot sample"):
        t.sample(len(t) + 1, seed=0)
    with pytest.raises(ValueError, match="sample size"):
        t.sample(0, seed=0)


def test_sample_keeps_arrival_order_when_the_file_is_unsorted(tmp_path: Path) -> None:
    p = write(tmp_path, "u.csv", "a,s,o\n5,1,1\n3,2,1\n9,3,1\n4,4,1\n")
    t = load_table(p, prompt_column="s", output_column="o", arrival_column="a", arrival_unit="rounds")
    s = t.sample(4, seed=0)
    assert s.prompt.tolist() == [2, 4, 1, 3]
    assert s.arrival.tolist() == [0, 1, 2, 6]


def test_split_is_a_seeded_partition() -> None:
    t = load_trace("sharegpt-predicted")
    a, b = t.split(seed=3)
    assert len(a) + len(b) == len(t) and abs(len(a) - len(b)) <= 1
    assert np.intersect1d(a.rows, b.rows).size == 0
    a2, _ = t.split(seed=3)
    assert np.array_equal(a.rows, a2.rows)


# --- to_instance ------------------------------------------------------------------------


def small_trace(**kw: object) -> Trace:
    base = dict(
        name="toy",
        prompt=np.array([2, 8, 1, 0, 5]),
        output=np.array([3, 3, 9, 10, 1]),
        arrival=np.array([4, 0, 6, 9, 12]),
        predicted=None,
        skipped={},
        source="memory",
        sha256="0" * 64,
    )
    base.update(kw)
    return Trace(**base)  # type: ignore[arg-type]


def test_to_instance_skips_and_counts_requests_that_cannot_fit() -> None:
    t = small_trace()
    inst, skipped = t.to_instance(10, relative(0.5))
    assert isinstance(inst, Instance)
    # prompt + output = 5, 11, 10, 10, 6: only row 1 cannot fit 10 (10 itself fits: memory is <= M)
    assert skipped == {"prompt+output>capacity": 1}
    assert [r.id for r in inst.requests] == ["toy#0", "toy#2", "toy#3", "toy#4"]
    assert [(r.lower, r.upper) for r in inst.requests] == [(2, 4), (5, 13), (5, 15), (1, 1)]
    assert all(r.arrival == 0 for r in inst.requests)


def test_to_instance_counts_exactly() -> None:
    t = small_trace()
    for capacity, expected in ((10, 1), (11, 0), (9, 3), (6, 3), (5, 4)):
        inst, skipped = t.to_instance(capacity, crude())
        assert skipped == {"prompt+output>capacity": expected}
        assert len(inst) == len(t) - expected
        assert all(r.prompt + r.output <= capacity for r in inst.requests)


def test_to_instance_trace_arrivals_rebased_after_skips() -> None:
    t = small_trace()
    inst, skipped = t.to_instance(9, "crude", arrivals="trace")
    # capacity 9 keeps rows 0 (arrival 4) and 4 (arrival 12); row 1 at arrival 0 is skipped
    assert skipped == {"prompt+output>capacity": 3}
    assert [(r.id, r.arrival) for r in inst.requests] == [("toy#0", 0), ("toy#4", 8)]


def test_to_instance_passes_point_predictions_and_rejects_bad_input() -> None:
    t = small_trace(predicted=np.array([3, 4, 5, 6, 7]))
    inst, _ = t.to_instance(100, "binned")
    assert [r.predicted for r in inst.requests] == [3, 4, 5, 6, 7]
    assert [(r.lower, r.upper) for r in inst.requests] == [(1, 49)] * 5
    with pytest.raises(ValueError, match="no request of trace toy fits capacity 3 alone"):
        t.to_instance(3, crude())
    with pytest.raises(ValueError, match="capacity"):
        t.to_instance(0, crude())
    with pytest.raises(ValueError, match="arrivals"):
        t.to_instance(10, crude(), arrivals="poisson")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown predictor"):
        t.to_instance(10, "oracle")


def test_to_instance_on_a_real_sample_is_valid() -> None:
    t = load_trace("azure-conv").sample(300, seed=1)
    inst, skipped = t.to_instance(2048, "relative(0.3)", arrivals="trace")
    fit = int(((t.prompt + t.output) <= 2048).sum())
    assert len(inst) == fit and skipped == {"prompt+output>capacity": 300 - fit}
    assert min(r.arrival for r in inst.requests) == 0
    assert re.fullmatch(r"azure-conv#\d+", inst.requests[0].id or "")


@pytest.mark.parametrize(
    ("name", "limit", "count"),
    # PROVENANCE: "1,612 requests have prompt+output > 4,096; 1 has > 8,192", "1,257 ... > 4,096",
    # "7,955 rows have prompt+output > 4,096"
    [("azure-conv", 4096, 1612), ("azure-conv", 8192, 1), ("azure-code", 4096, 1257), ("sharegpt-llama2", 4096, 7955)],
)
def test_to_instance_skips_as_many_as_provenance_says_cannot_fit(name: str, limit: int, count: int) -> None:
    t = load_trace(name)
    assert f"{count:,}" in provenance(name)
    inst, skipped = t.to_instance(limit, "crude")
    assert skipped == {"prompt+output>capacity": count} and len(inst) == len(t) - count
