"""Chromium for the dashboard's browser test (tests/e2e/test_dashboard.py): find one, or install one.

`make browser`, a prerequisite of `make test-e2e` and so of `make test`, runs `python -m lake_tools.chromium`:

1. E2E_SKIP_BROWSER=1: nothing (the browser test is skipped).
2. A Chromium is there: CHROMIUM_PATH, /usr/bin/chromium, chromium, chromium-browser or google-chrome on
   PATH, or Playwright's own build in its cache. Nothing to do.
3. Debian with apt-get, as root or with passwordless sudo: `apt-get install -y chromium`. Only on Debian:
   Ubuntu's `chromium` package installs a snap, which containers and CI images cannot run.
4. Playwright's download host answers: `python -m playwright install chromium`.
5. Otherwise nothing is installed. It prints the one command to run, and the browser test fails with it.

Installing is best effort: when it fails, `make test` goes on and the browser test fails with the command.
The decision (`plan`) reads the machine only through `Machine`, so tests inject every fact.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_CHROMIUM = "/usr/bin/chromium"  # Debian's package
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PLAYWRIGHT_HOST = ("playwright.download.prss.microsoft.com", 443)  # where `playwright install` downloads from
APT_INSTALL = [["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]]


def truthy(value: str | None) -> bool:
    """An environment flag: 1, true, yes or on (any case) is set; anything else, or nothing, is not."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def find_chromium(
    env: Mapping[str, str] = os.environ,
    which: Callable[[str], str | None] = shutil.which,
    is_file: Callable[[str], bool] = os.path.isfile,
) -> str | None:
    """CHROMIUM_PATH (a path or a command), then /usr/bin/chromium, then chromium (or Chrome) on PATH."""
    configured = env.get("CHROMIUM_PATH", "").strip()
    if configured:
        return configured if is_file(configured) else which(configured)
    if is_file(SYSTEM_CHROMIUM):
        return SYSTEM_CHROMIUM
    for name in CHROMIUM_NAMES:
        if found := which(name):
            return found
    return None


def playwright_chromium() -> str | None:
    """Playwright's own Chromium, when `playwright install chromium` put one in its cache."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as playwright:
            bundled = playwright.chromium.executable_path
    except (OSError, PlaywrightError):  # its driver cannot start: no Playwright build to use either
        return None
    return bundled if Path(bundled).is_file() else None


def os_id() -> str:
    """`debian`, `ubuntu`, … from /etc/os-release; `darwin` on macOS; '' when unknown."""
    if platform.system() == "Darwin":
        return "darwin"
    try:
        lines = Path("/etc/os-release").read_text().splitlines()
    except OSError:
        return ""
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return values.get("ID", "").strip().strip('"')


def passwordless_sudo() -> bool:
    if shutil.which("sudo") is None:
        return False
    return subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


def online(host: tuple[str, int] = PLAYWRIGHT_HOST, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Machine:
    """The facts the decision needs. The callables are asked only when the decision gets to them."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    which: Callable[[str], str | None] = shutil.which
    is_file: Callable[[str], bool] = os.path.isfile
    uid: int = field(default_factory=lambda: os.getuid() if hasattr(os, "getuid") else -1)
    os_id: str = field(default_factory=os_id)
    passwordless_sudo: Callable[[], bool] = passwordless_sudo
    online: Callable[[], bool] = online
    playwright_chromium: Callable[[], str | None] = playwright_chromium
    python: str = sys.executable


@dataclass(frozen=True)
class Plan:
    found: str | None  # the Chromium the test will use, when there is one
    commands: list[list[str]]  # what to run to install one (empty: nothing to run)
    reason: str


def install_command(os_name: str) -> str:
    """The one command a person runs on this system to give the browser test its Chromium."""
    if os_name == "debian":
        return "sudo apt-get install -y chromium"
    if os_name == "ubuntu":
        return "sudo snap install chromium"
    if os_name == "darwin":
        return "brew install --cask chromium && export CHROMIUM_PATH=/Applications/Chromium.app/Contents/MacOS/Chromium"
    return ".venv/bin/python -m playwright install chromium"


def plan(machine: Machine) -> Plan:
    if truthy(machine.env.get("E2E_SKIP_BROWSER")):
        return Plan(None, [], "E2E_SKIP_BROWSER is set: the browser test is skipped")
    if found := find_chromium(machine.env, machine.which, machine.is_file):
        return Plan(found, [], f"Chromium found: {found}")
    if machine.env.get("CHROMIUM_PATH", "").strip():
        # An explicit choice that is wrong is not overridden by an install: the test says so.
        return Plan(None, [], f"CHROMIUM_PATH={machine.env['CHROMIUM_PATH']} is neither a file nor a command")
    if bundled := machine.playwright_chromium():
        return Plan(bundled, [], f"Playwright's Chromium found: {bundled}")
    if machine.os_id == "debian" and machine.which("apt-get"):
        if machine.uid == 0:
            return Plan(None, [list(c) for c in APT_INSTALL], "no Chromium: installing Debian's package (root)")
        if machine.passwordless_sudo():
            commands = [["sudo", "-n", *c] for c in APT_INSTALL]
            return Plan(None, commands, "no Chromium: installing Debian's package (passwordless sudo)")
    if machine.online():
        command = [machine.python, "-m", "playwright", "install", "chromium"]
        return Plan(None, [command], "no Chromium: downloading Playwright's build")
    return Plan(None, [], f"no Chromium, and none can be installed here. Run: {install_command(machine.os_id)}")


def ensure(machine: Machine, run: Callable[[list[str]], int]) -> Plan:
    """Carry out the plan; a failed install is reported, not fatal (the browser test then fails)."""
    decided = plan(machine)
    print(f"==> browser: {decided.reason}", flush=True)
    for command in decided.commands:
        print(f"    $ {' '.join(command)}", flush=True)
        if run(command) != 0:
            print(f"    failed; the browser test will fail. Run: {install_command(machine.os_id)}", flush=True)
            break
    return decided


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.parse_args(argv)
    ensure(Machine(), lambda command: subprocess.run(command).returncode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
