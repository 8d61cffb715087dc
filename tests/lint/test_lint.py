"""The house rules CI enforces: the layers of docs/architecture.md (import-linter contracts in pyproject.toml),
mypy --strict on the core, and ruff's lint and format on every Python file of the project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import ROOT

CORE = [
    "amin/__init__.py",
    "amin/model.py",
    "amin/rules.py",
    "amin/engine.py",
    "amin/fast.py",
    "amin/check.py",
    "amin/results.py",
    "amin/schedulers.py",
    "amin/horizon.py",
    "amin/traces.py",
    "amin/predictors.py",
]
SOURCES = ["amin", "optimal", "proofs", "tests", "examples", "benchmarks"]


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: it is part of the test extras (pip install '.[test]')")
    return path


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_the_layers_hold() -> None:
    done = _run(_tool("lint-imports"))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_core_passes_mypy_strict() -> None:
    done = _run(sys.executable, "-m", "mypy", "--strict", *CORE)
    assert done.returncode == 0, done.stdout[-4000:]


def test_ruff_lint_is_clean() -> None:
    done = _run(_tool("ruff"), "check", *SOURCES)
    assert done.returncode == 0, done.stdout[-4000:]


def test_ruff_format_is_applied() -> None:
    done = _run(_tool("ruff"), "format", "--check", *SOURCES)
    assert done.returncode == 0, done.stdout[-4000:]
