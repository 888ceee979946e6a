"""The Makefile as a user meets it: every target documented, and our variables kept from tflocal."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "Makefile"


def test_every_target_has_a_help_line() -> None:
    targets = re.findall(r"^([a-zA-Z0-9_-]+):(?!=)(.*)$", MAKEFILE.read_text(), re.MULTILINE)
    # `target: export NAME = value` sets a variable for that target; it is not a rule.
    rules = [(name, rest) for name, rest in targets if not re.match(r"\s*(export\s+)?\w+\s*[:+?]?=", rest)]
    undocumented = [name for name, rest in rules if "## " not in rest]
    assert len(rules) > 20 and not undocumented


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_dry_run_does_not_reach_tflocal(tmp_path: Path) -> None:
    # tflocal reads DRY_RUN from its environment and then only writes its override file: `make
    # redrive DRY_RUN=1` once left that file behind and read no outputs.
    probe = tmp_path / "probe.mk"
    probe.write_text('probe:\n\t@echo "DRY_RUN=[$$DRY_RUN]"\n')
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", str(MAKEFILE), "-f", str(probe), "probe", "DRY_RUN=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "DRY_RUN=[]"
