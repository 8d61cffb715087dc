"""Every file in examples/ runs, and the literal integer program of SPEC section 4 (examples/hindsight_ip.py)
agrees with the `optimal` package's fast builder: two statements of one program."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest

from amin import Instance, Request
from tests.fixtures import EXAMPLES


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_every_example_runs(path: Path) -> None:
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def _hindsight_ip():  # the example as a module
    spec = importlib.util.spec_from_file_location("hindsight_ip", EXAMPLES / "hindsight_ip.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.hindsight_ip


def test_the_literal_program_and_the_fast_builder_agree() -> None:
    optimal = pytest.importorskip("optimal")
    literal = _hindsight_ip()
    rng = random.Random(7)
    for _ in range(12):
        n = rng.randint(2, 5)
        capacity = rng.randint(6, 14)
        reqs = []
        for _ in range(n):
            prompt = rng.randint(0, 3)
            output = rng.randint(1, min(5, capacity - prompt))
            reqs.append(Request(prompt, output, 1, output, arrival=rng.randint(0, 3)))
        inst = Instance(capacity, tuple(reqs))
        status, total_latency, _ = literal(inst)
        fast = optimal.solve(inst, time_limit=60)
        assert status == "optimal" and fast.status == "optimal"
        assert total_latency == fast.total_latency, inst
