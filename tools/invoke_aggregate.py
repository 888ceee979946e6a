"""Moved to lake_cli/invoke_aggregate.py (lake aggregate). This name stays because tools/bench*.py import it."""

import sys

from lake_cli import invoke_aggregate

sys.modules[__name__] = invoke_aggregate  # the same module object under both names: one state, one place to patch
