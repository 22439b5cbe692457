"""Test settings: hypothesis profiles, and the tests folder on the import path (strategies, naive)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

# "ci" is the default: every property runs, sized so the whole suite stays within a few minutes on 2 cores.
# "dev" is quicker for editing; "thorough" is for a manual run before a release (HYPOTHESIS_PROFILE=thorough).
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=100, print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=10, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
