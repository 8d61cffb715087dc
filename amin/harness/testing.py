"""The pytest plugin (entry point `pytest11: amin`): run amin's verification battery from a user's own tests.

    def test_my_policy(amin_check_scheduler):
        amin_check_scheduler(MyPolicy)          # raises AssertionError with the verdict table on failure
        amin_check_scheduler("mypolicy:MyPolicy")   # the same, without importing the module into this process

The policy runs in a process of its own, exactly as under `amin verify` (docs/verify.md); or, without the fixture,
`from amin.harness.testing import check_scheduler`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from amin.harness.verify import check_scheduler

__all__ = ["amin_check_scheduler", "check_scheduler"]


@pytest.fixture
def amin_check_scheduler(tmp_path: Any) -> Callable[..., Any]:
    """`check_scheduler` with counterexamples saved under the test's tmp_path (shown in the failure message)."""

    def run(policy: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("out", tmp_path / "amin-verify")
        return check_scheduler(policy, **kwargs)

    return run
