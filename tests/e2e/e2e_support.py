"""Shared helpers of the end-to-end tests."""

from __future__ import annotations

import json
import sys

from tools.local_stack import BUILD, ROOT, run  # noqa: F401  (re-exported for the tests)

TIMINGS = BUILD / "e2e-timings.json"


def record_timing(name: str, seconds: float) -> None:
    BUILD.mkdir(exist_ok=True)
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    timings[name] = round(seconds, 1)
    TIMINGS.write_text(json.dumps(timings, indent=2))
    print(f"[e2e] {name}: {seconds:.1f}s", file=sys.stderr)
