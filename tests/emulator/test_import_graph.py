"""embedded_aws's imports go one way: the facade creates the parts, which never import it, each
other, or moto; only hooks.py touches moto's internals."""

from __future__ import annotations

import ast
from pathlib import Path

import embedded_aws

PACKAGE = Path(embedded_aws.__file__).parent
FACADE = "embedded_aws.emulator"
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


def project_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {name: {m for m in imported if m in graph} for name, imported in graph.items()}


def test_the_import_graph_has_no_cycle():
    edges = project_edges(import_graph())
    visiting, done = [], set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, "import cycle: " + " -> ".join([*visiting[visiting.index(module) :], module])
        visiting.append(module)
        for imported in sorted(edges[module]):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(edges):
        visit(module)


def test_only_the_facade_and_the_command_line_import_the_parts():
    edges = project_edges(import_graph())
    shared = {"embedded_aws.model"}
    allowed = {FACADE: set(edges) - {FACADE}, "embedded_aws.__main__": {FACADE, "embedded_aws.runtime"}}
    wrong = {name: sorted(imported - shared - allowed.get(name, set())) for name, imported in edges.items()}
    assert {name: modules for name, modules in wrong.items() if modules} == {}


def test_only_hooks_touches_moto_internals():
    reaching_in = {
        name: sorted(m for m in imported if m.split(".")[0] == "moto" and not m.startswith(PUBLIC_MOTO))
        for name, imported in import_graph().items()
        if name != MOTO_MODULE
    }
    assert {name: modules for name, modules in reaching_in.items() if modules} == {}


def test_model_imports_nothing_from_the_project_or_moto():
    imported = import_graph()["embedded_aws.model"]
    assert not [m for m in imported if m.split(".")[0] in ("embedded_aws", "moto")]
