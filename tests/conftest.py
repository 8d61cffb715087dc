"""Hypothesis profiles and markers shared by every test tier.

Profiles: under CI=true Hypothesis loads its built-in deterministic `ci` profile
(derandomized, no deadline) by itself; `dev` (the default here) is the same size
but random; `deep` runs many more examples and is meant for `-m deep` runs:
`HYPOTHESIS_PROFILE=deep pytest -m deep`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("deep", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif os.environ.get("CI", "").lower() not in ("true", "1"):
    settings.load_profile("dev")
