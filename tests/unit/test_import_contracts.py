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


def test_pipeline_has_a_layers_contract_that_forbids_any_import_cycle() -> None:
    # Every pipeline module has its place (exhaustive), and a layer's modules are independent (|, never
    # :), so an import between two modules goes down the layers only: no cycle can pass lint-imports.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c.get("containers") == ["pipeline"]]
    assert contract["type"] == "layers" and contract["exhaustive"] is True
    assert not any(":" in layer for layer in contract["layers"])
    listed = {name.strip() for layer in contract["layers"] for name in layer.split("|")}
    modules = {path.stem for path in (ROOT / "lambdas" / "pipeline").glob("*.py")} - {"__init__"}
    assert listed == modules | {"handlers"}
