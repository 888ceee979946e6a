"""Moved to lake_cli/terraform_outputs.py (the lake commands' reader of the stack's outputs). This name stays because tools/bench*.py import it."""

import sys

from lake_cli import terraform_outputs

sys.modules[__name__] = terraform_outputs  # the same module object under both names: one state, one place to patch
