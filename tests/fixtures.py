"""Instances and paths that many test modules share, defined once: SPEC section 4's six identical requests and
where the repository's files are."""

from __future__ import annotations

from pathlib import Path

from amin import Instance, load_instance

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SIX_PATH = ROOT / "amin" / "examples" / "six_identical.json"
SIX: Instance = load_instance(SIX_PATH)
"""Six identical requests, prompt 1, output 3, interval [1, 5], capacity 9, all at time 0: H-SF 36, OPT 33."""
