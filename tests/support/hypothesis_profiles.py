"""The Hypothesis profiles of every test folder, registered and loaded once (tests/conftest.py), and
the per-test example budgets expressed against them.

- `ci`, the default (what `make test` and CI run): 100 examples a property unless the test asks for
  more or fewer with `examples(n)`; no deadline and no too_slow health check, so a loaded 2-core
  machine cannot fail a property on time; a failure prints the blob that replays it
  (`@reproduce_failure`).
- `dev` (`HYPOTHESIS_PROFILE=dev make test-unit`): a tenth of every budget, for a quick loop while
  editing. Not a substitute for `ci`.

tests/support is on the tests' import path (pyproject.toml, pythonpath).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 100  # the ci profile's default; examples(n) is n under it
PROFILES = {
    "ci": {"max_examples": CI_EXAMPLES},
    "dev": {"max_examples": CI_EXAMPLES // 10},
}


def load() -> str:
    """Registers the profiles and loads HYPOTHESIS_PROFILE's (default ci); returns its name."""
    for name, options in PROFILES.items():
        settings.register_profile(
            name, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True, **options
        )
    name = os.environ.get("HYPOTHESIS_PROFILE") or "ci"
    if name not in PROFILES:
        raise ValueError(f"HYPOTHESIS_PROFILE={name}: expected one of {', '.join(PROFILES)}")
    settings.load_profile(name)
    return name


def examples(ci_count: int) -> int:
    """A property's max_examples: `ci_count` under ci, scaled like the loaded profile's default."""
    return max(1, ci_count * settings.default.max_examples // CI_EXAMPLES)
