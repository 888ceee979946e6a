"""tools/chromium.py: when `make browser` installs Chromium, how, and what it says otherwise.

Every fact about the machine is injected (which commands exist, files, uid, sudo, network): nothing is
installed, and a fact the decision should not need raises if it is asked.
"""

from __future__ import annotations

import pytest

from lake_tools.chromium import APT_INSTALL, Machine, ensure, find_chromium, install_command, plan

PYTHON = "/repo/.venv/bin/python"


def never() -> bool:
    raise AssertionError("the decision asked a fact it should not need")


def machine(
    *,
    env: dict[str, str] | None = None,
    commands: dict[str, str] | None = None,
    files: set[str] = frozenset(),
    uid: int = 1000,
    os_name: str = "debian",
    sudo=never,
    network=never,
    bundled=lambda: None,
) -> Machine:
    return Machine(
        env=env or {},
        which=(commands or {}).get,
        is_file=files.__contains__,
        uid=uid,
        os_id=os_name,
        passwordless_sudo=sudo,
        online=network,
        playwright_chromium=bundled,
        python=PYTHON,
    )


APT = {"apt-get": "/usr/bin/apt-get"}


def test_skip_flag_installs_nothing() -> None:
    decided = plan(machine(env={"E2E_SKIP_BROWSER": "1"}, commands=APT, uid=0))
    assert (decided.found, decided.commands) == (None, [])


@pytest.mark.parametrize(
    ("env", "commands", "files", "expected"),
    [
        (
            {"CHROMIUM_PATH": "/opt/chrome/chrome"},
            {},
            {"/opt/chrome/chrome", "/usr/bin/chromium"},
            "/opt/chrome/chrome",
        ),
        ({"CHROMIUM_PATH": "chrome"}, {"chrome": "/usr/local/bin/chrome"}, set(), "/usr/local/bin/chrome"),
        ({}, {"chromium": "/snap/bin/chromium"}, {"/usr/bin/chromium"}, "/usr/bin/chromium"),
        ({}, {"chromium-browser": "/usr/bin/chromium-browser"}, set(), "/usr/bin/chromium-browser"),
        ({}, {"google-chrome": "/usr/bin/google-chrome"}, set(), "/usr/bin/google-chrome"),
    ],
    ids=["CHROMIUM_PATH file", "CHROMIUM_PATH command", "Debian's path first", "chromium-browser", "google-chrome"],
)
def test_a_chromium_that_is_there_is_used(env, commands, files, expected) -> None:
    assert find_chromium(env, commands.get, files.__contains__) == expected
    decided = plan(machine(env=env, commands={**APT, **commands}, files=files, uid=0))
    assert (decided.found, decided.commands) == (expected, [])


def test_a_wrong_chromium_path_is_not_overridden_by_an_install() -> None:
    decided = plan(machine(env={"CHROMIUM_PATH": "/nowhere/chrome"}, commands=APT, uid=0))
    assert decided.commands == [] and "CHROMIUM_PATH=/nowhere/chrome" in decided.reason


def test_playwrights_own_build_is_used() -> None:
    bundled = "/root/.cache/ms-playwright/chromium-1/chrome-linux/chrome"
    decided = plan(machine(commands=APT, uid=0, bundled=lambda: bundled))
    assert (decided.found, decided.commands) == (bundled, [])


def test_debian_as_root_installs_with_apt_get() -> None:
    assert plan(machine(commands=APT, uid=0)).commands == [
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "chromium"],
    ]


def test_debian_with_passwordless_sudo_installs_through_sudo() -> None:
    decided = plan(machine(commands=APT, sudo=lambda: True))
    assert decided.commands == [["sudo", "-n", *command] for command in APT_INSTALL]


def test_debian_without_root_or_sudo_downloads_playwrights_build_when_online() -> None:
    decided = plan(machine(commands=APT, sudo=lambda: False, network=lambda: True))
    assert decided.commands == [[PYTHON, "-m", "playwright", "install", "chromium"]]


@pytest.mark.parametrize("os_name", ["ubuntu", "darwin", "fedora"])
def test_apt_get_is_for_debian_only(os_name: str) -> None:
    decided = plan(machine(commands=APT, uid=0, os_name=os_name, network=lambda: True))
    assert decided.commands == [[PYTHON, "-m", "playwright", "install", "chromium"]]


@pytest.mark.parametrize(
    ("os_name", "commands", "command"),
    [
        ("debian", APT, "sudo apt-get install -y chromium"),
        ("debian", {}, "sudo apt-get install -y chromium"),
        ("ubuntu", APT, "sudo snap install chromium"),
        ("fedora", {}, ".venv/bin/python -m playwright install chromium"),
    ],
)
def test_offline_without_rights_installs_nothing_and_names_the_command(os_name, commands, command) -> None:
    decided = plan(machine(commands=commands, os_name=os_name, sudo=lambda: False, network=lambda: False))
    assert (decided.found, decided.commands) == (None, [])
    assert decided.reason.endswith(f"Run: {command}") and install_command(os_name) == command


def test_ensure_runs_the_commands_and_stops_at_the_first_failure(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[list[str]] = []
    ensure(machine(commands=APT, uid=0), lambda command: ran.append(command) or 100)
    assert ran == [APT_INSTALL[0]]
    assert "Run: sudo apt-get install -y chromium" in capsys.readouterr().out


def test_ensure_runs_nothing_when_chromium_is_there() -> None:
    ran: list[list[str]] = []
    ensure(machine(files={"/usr/bin/chromium"}), ran.append)
    assert ran == []
