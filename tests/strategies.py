"""Every Hypothesis strategy the tests use, in one place.

`instances()` draws valid instances directly (no filtering): a capacity first,
then per request a prompt that leaves room for at least one token, an output
that fits alone, an arrival, and a predicted interval that either contains the
output (`correct`) or is drawn anywhere in [1, capacity] (so it may miss on
either side). Shapes: 1..max_requests requests, capacity 1..max_capacity,
arrivals 0..max_arrival, prompts 0..capacity-1 (or one common prompt), and
optionally a common interval for all requests (the theory's setting).
"""

from __future__ import annotations

from hypothesis import strategies as st

from amin import Instance, Request


@st.composite
def requests_for(
    draw: st.DrawFn,
    capacity: int,
    *,
    max_arrival: int = 6,
    correct: bool | None = None,
    prompt: int | None = None,
    max_output: int | None = None,
) -> Request:
    """One request that fits alone in `capacity`. `correct`: True forces lower <= output <= upper,
    False draws the interval anywhere (it may or may not contain the output), None lets Hypothesis choose."""
    s = draw(st.integers(0, capacity - 1)) if prompt is None else prompt
    top = capacity - s if max_output is None else min(capacity - s, max_output)
    o = draw(st.integers(1, top))
    a = draw(st.integers(0, max_arrival))
    if correct is None:
        correct = draw(st.booleans())
    if correct:
        lo = draw(st.integers(1, o))
        up = draw(st.integers(o, max(o, capacity)))
    else:
        lo = draw(st.integers(1, capacity))
        up = draw(st.integers(lo, max(lo, capacity)))
    predicted = draw(st.none() | st.integers(1, capacity))
    return Request(prompt=s, output=o, lower=lo, upper=up, arrival=a, predicted=predicted)


@st.composite
def instances(
    draw: st.DrawFn,
    *,
    max_requests: int = 6,
    min_capacity: int = 1,
    max_capacity: int = 30,
    max_arrival: int = 6,
    correct: bool | None = None,
    common_prompt: bool | None = None,
    max_output: int | None = None,
) -> Instance:
    """A valid instance; see the module docstring for the shapes drawn."""
    capacity = draw(st.integers(min_capacity, max_capacity))
    n = draw(st.integers(1, max_requests))
    if common_prompt is None:
        common_prompt = draw(st.booleans())
    prompt = draw(st.integers(0, capacity - 1)) if common_prompt else None
    reqs = [
        draw(requests_for(capacity, max_arrival=max_arrival, correct=correct, prompt=prompt, max_output=max_output))
        for _ in range(n)
    ]
    return Instance(capacity, tuple(reqs))


SCHEDULER_OPTIONS = st.fixed_dictionaries(
    {
        "tie_break": st.sampled_from(["index", "random"]),
        "seed": st.integers(0, 2**16),
        "eviction_key": st.sampled_from(["bound", "progress"]),
    }
)
"""Every option combination of SPEC section 3."""
