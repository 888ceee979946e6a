"""The import contracts (pyproject.toml, checked by `make lint`) cover every package the project installs."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_contracts_cover_every_installed_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = {name.split(".")[0] for name in config["tool"]["setuptools"]["packages"]}
    assert set(config["tool"]["importlinter"]["root_packages"]) == installed


def test_make_lint_checks_the_contracts() -> None:
    lint_recipe = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "lint-imports" in lint_recipe
