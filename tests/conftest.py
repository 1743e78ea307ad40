"""Test-wide settings: property tests are derandomized in CI (same examples every run) and have no deadline,
since the shared 2-core machine makes per-example timing meaningless."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
