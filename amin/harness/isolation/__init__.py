"""Run a policy under test in a process of its own that never sees a true output length (docs/verify.md).

`PolicyProcess(target)` imports the policy in a separate interpreter; its `run(instance)` drives the reference
round loop here, asking the policy's process for each decision. `amin.harness.verify` judges every run here.
"""

from amin.harness.isolation.process import (
    IsolatedPolicy,
    Limits,
    PolicyFailure,
    PolicyLoadError,
    PolicyProcess,
    PolicyTarget,
    PolicyTripped,
    policy_target,
)

__all__ = [
    "IsolatedPolicy",
    "Limits",
    "PolicyFailure",
    "PolicyLoadError",
    "PolicyProcess",
    "PolicyTarget",
    "PolicyTripped",
    "policy_target",
]
