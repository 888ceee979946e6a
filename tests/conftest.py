"""Settings every test folder shares: the Hypothesis profiles (tests/support/hypothesis_profiles.py),
loaded before any test module is imported."""

from __future__ import annotations

import hypothesis_profiles

PROFILE = hypothesis_profiles.load()


def pytest_report_header(config):
    return f"hypothesis profile: {PROFILE} (HYPOTHESIS_PROFILE=ci|dev)"
