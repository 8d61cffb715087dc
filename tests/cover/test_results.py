"""The memory series kept as linear runs behaves exactly as the tuple of its values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from amin.results import MemoryRecorder, MemorySeries


@st.composite
def pieces(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], int, list[int]]:
    """A series as random linear pieces (any values, any steps) and its values spelled out."""
    length = draw(st.integers(0, 40))
    out, values, tau = [], [], 0
    while tau < length:
        n = draw(st.integers(1, 8))
        v, d = draw(st.integers(-5, 20)), draw(st.integers(-3, 3))
        out.append((tau, v, d))
        values += [v + d * k for k in range(min(n, length - tau))]
        tau += n
    return out, length, values


@given(pieces(), st.integers(0, 45), st.integers(0, 45), st.integers(-45, 45))
def test_a_series_is_the_tuple_of_its_values(drawn: tuple, lo: int, hi: int, index: int) -> None:
    parts, length, values = drawn
    series = MemorySeries(parts, length)
    assert list(series) == values and len(series) == length
    assert series == tuple(values) and series == values and series == MemorySeries.of(values)
    assert hash(series) == hash(tuple(values))
    assert series[lo:hi] == values[lo:hi] and series[lo:hi] == MemorySeries.of(values[lo:hi])
    if -length <= index < length:
        assert series[index] == values[index]
    if values:
        assert series.peak() == max(values)
        assert series.count_positive(lo) == sum(1 for v in values[lo:] if v > 0)


@given(pieces())
def test_the_runs_are_canonical_and_maximal(drawn: tuple) -> None:
    parts, length, values = drawn
    runs = MemorySeries(parts, length).pieces
    assert runs == MemorySeries.of(values).pieces  # the same values give the same runs, however split
    ends = [a for a, _, _ in runs[1:]] + ([length] if runs else [])
    for (a, v, d), b, nxt in zip(runs, ends, [*runs[1:], None][: len(runs)], strict=True):
        assert b - a >= 1
        if nxt is not None:
            assert b - a >= 2  # a lone point would have joined the next run
            assert nxt[1] != v + d * (b - a)  # a run stops only where its line stops


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(1, 4)), max_size=20))
def test_the_recorder_gives_the_series_of_what_it_recorded(appended: list[tuple[int, int]]) -> None:
    recorder = MemoryRecorder()
    values: list[int] = []
    for value, count in appended:
        recorder.append(value, count)
        values += [value] * count
    assert recorder.series() == values and len(recorder) == len(values)
    assert recorder.series(len(values) // 2) == values[: len(values) // 2]
