"""`lake`, the operator CLI (lake_cli/cli.py): every command runs its module, with the module's own help."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from stack_outputs import LOCAL_OUTPUTS, terraform_output_json

from lake_cli import cli, terraform_outputs
from lake_cli.terraform_outputs import StackLocation

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
    seen: list[tuple[list[str], StackLocation | None]] = []
    module = importlib.import_module(cli.COMMANDS["aggregate"][0])
    monkeypatch.setattr(module, "main", lambda argv, stack: seen.append((argv, stack)) or 7)
    assert cli.main(["aggregate", "--full-refresh", "--sql", "x", "--stack", "y"]) == 7
    assert seen == [(["--full-refresh", "--sql", "x", "--stack", "y"], None)]


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_takes_the_stack_from_the_one_global_option(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], StackLocation | None]] = []
    module = importlib.import_module(cli.COMMANDS[command][0])
    monkeypatch.setattr(module, "main", lambda argv, stack: seen.append((argv, stack)) or 0)
    assert cli.main(["--stack", "build/outputs.json", command, "--x"]) == 0
    assert cli.main(["--stack", ".", "--terraform", "tflocal", command]) == 0
    assert seen == [
        (["--x"], StackLocation("build/outputs.json", "terraform")),
        ([], StackLocation(".", "tflocal")),
    ]


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_without_a_stack_says_so_the_same_way(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # redrive builds its clients first
    assert cli.main([command]) != 0
    assert terraform_outputs.NO_STACK_HINT in capsys.readouterr().err


def test_lake_api_calls_the_stacks_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # make exports it: a URL would go through the endpoint
    outputs = tmp_path / "outputs.json"
    outputs.write_text(terraform_output_json())
    assert cli.main(["--stack", str(outputs), "api", "--curl", "indicadores/ARG/PIB"]) == 0
    assert capsys.readouterr().out.split()[-1] == LOCAL_OUTPUTS["api_url"] + "indicadores/ARG/PIB"
    assert cli.main(["api", "--curl", "--api-url", "http://x/", "health"]) == 0
    assert capsys.readouterr().out.split()[-1] == "http://x/health"


def test_the_dashboard_page_is_package_data() -> None:
    from lake_cli import dashboard

    assert b"<html" in dashboard.PAGE.read_bytes().lower()
    assert 'lake_cli = ["dashboard.html"]' in (ROOT / "pyproject.toml").read_text()


def test_lake_help_does_not_load_the_heavy_libraries() -> None:
    heavy = "{'duckdb', 'pandas', 'matplotlib'}"
    code = f"import sys; from lake_cli import cli; cli.build_parser(); print(sorted({heavy} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
