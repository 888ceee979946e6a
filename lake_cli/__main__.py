"""`python -m lake_cli ...` is `lake ...` (cli.py), for a venv whose bin/ is not on PATH."""

import sys

from lake_cli.cli import main

sys.exit(main())
