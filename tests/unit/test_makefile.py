"""The Makefile as a user meets it: every target documented, and our variables kept from tflocal."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from embedded_aws.local_client import DEFAULT_PORT, client_environment, endpoint_url

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


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_local_environment_is_the_emulators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # make's recipes export their own defaults (overridable on the command line); they are the ones
    # embedded_aws.local_client gives every Python client.
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "EMULATOR_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    probe = tmp_path / "probe.mk"
    names = list(client_environment(endpoint_url()))
    probe.write_text("probe:\n" + "".join(f'\t@echo "{name}=$${name}"\n' for name in names))
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", str(MAKEFILE), "-f", str(probe), "probe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    exported = dict(line.split("=", 1) for line in result.stdout.split())
    assert exported == client_environment(endpoint_url(DEFAULT_PORT))
