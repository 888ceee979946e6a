"""`lake`, the operator CLI (lake_cli/cli.py): every command runs its module, with the module's own help."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lake_cli import cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_console_script_is_the_cli() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"lake": "lake_cli.cli:main"}


def test_the_commands_are_the_operators() -> None:
    assert list(cli.COMMANDS) == ["query", "report", "dashboard", "redrive", "aggregate", "api"]


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_each_command_has_its_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main([command, "--help"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: lake {command} ")


def test_the_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert stopped.value.code == 0 and all(f"    {command}" in out for command in cli.COMMANDS)


def test_an_unknown_command_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["bogus"])
    assert stopped.value.code == 2 and "invalid choice: 'bogus'" in capsys.readouterr().err


def test_the_arguments_after_the_command_go_to_its_module(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    module = importlib.import_module(cli.COMMANDS["aggregate"][0])
    monkeypatch.setattr(module, "main", lambda argv: seen.append(argv) or 7)
    assert cli.main(["aggregate", "--terraform-outputs", "-", "--sql", "x"]) == 7
    assert seen == [["--terraform-outputs", "-", "--sql", "x"]]


def test_the_dashboard_page_is_package_data() -> None:
    from lake_cli import dashboard

    assert b"<html" in dashboard.PAGE.read_bytes().lower()
    assert 'lake_cli = ["dashboard.html"]' in (ROOT / "pyproject.toml").read_text()


def test_lake_help_does_not_load_the_heavy_libraries() -> None:
    heavy = "{'duckdb', 'pandas', 'matplotlib'}"
    code = f"import sys; from lake_cli import cli; cli.build_parser(); print(sorted({heavy} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
