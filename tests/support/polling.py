"""The one way the tests wait: poll a condition until it holds or a deadline passes, never a fixed
sleep. The same helper the tools wait with (tools/lake_reader.py: the demo and the bench), so a test
waits exactly as the user's commands do.

    value = wait_until(lambda: read_something() or None, timeout=30, interval=0.2)

`condition` returns something truthy (an empty DataFrame counts as not yet) and wait_until returns
it; past `timeout` seconds it raises TimeoutError with the last value seen. Scale the timeout for
slow targets (the e2e suite's E2E_TIMEOUT_SCALE), not the interval.

tests/support is on the tests' import path (pyproject.toml, pythonpath).
"""

from __future__ import annotations

from lake_tools.lake_reader import wait_until

__all__ = ["wait_until"]
