"""Moved to lake_cli/function_url.py (lake api). This name stays because tools/bench*.py import it."""

import sys

from lake_cli import function_url

sys.modules[__name__] = function_url  # the same module object under both names: one state, one place to patch
