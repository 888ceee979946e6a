"""Only hooks.py touches moto's internals. The other rules of embedded_aws's imports (the facade
creates the parts, which import neither it nor each other; model imports nothing of the project)
are import contracts in pyproject.toml, checked by `make lint`. This one stays a test: import-linter
sees an outside package as one node (`moto`), not the modules inside it."""

from __future__ import annotations

import ast
from pathlib import Path

import embedded_aws

PACKAGE = Path(embedded_aws.__file__).parent
MOTO_MODULE = "embedded_aws.hooks"
# The only moto names any module may use without going through hooks.py: the public server API.
PUBLIC_MOTO = ("moto.server", "moto.moto_server.threaded_moto_server", "moto.mock_aws")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement is (TYPE_CHECKING, functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {f"embedded_aws.{p.stem}": p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {name: imports_of(path) for name, path in modules.items()}


def test_only_hooks_touches_moto_internals():
    reaching_in = {
        name: sorted(m for m in imported if m.split(".")[0] == "moto" and not m.startswith(PUBLIC_MOTO))
        for name, imported in import_graph().items()
        if name != MOTO_MODULE
    }
    assert {name: modules for name, modules in reaching_in.items() if modules} == {}
