"""Instances and paths that many test modules share, defined once: SPEC section 4's six identical requests and
where the repository's files are."""

from __future__ import annotations

import random
from pathlib import Path

from amin import Instance, load_instance
from amin.model import random_instance

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SIX_PATH = ROOT / "amin" / "examples" / "six_identical.json"
SIX: Instance = load_instance(SIX_PATH)
"""Six identical requests, prompt 1, output 3, interval [1, 5], capacity 9, all at time 0: H-SF 36, OPT 33."""


def tiny_instance(
    rng: random.Random,
    n_max: int = 5,
    capacity_max: int = 14,
    output_max: int = 5,
    arrival_max: int = 4,
    duplicates: bool = False,
) -> Instance:
    """A tiny instance (exhaustive search solves it) with arrivals and heterogeneous prompts, intervals [1, o],
    optionally with repeated requests: `amin.model.random_instance`, the one generator, at the judges' sizes."""
    return random_instance(
        rng,
        max_requests=n_max,
        min_capacity=2,
        max_capacity=capacity_max,
        max_output=output_max,
        max_arrival=arrival_max,
        duplicates=0.5 if duplicates else 0.0,
    )
