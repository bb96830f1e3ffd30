"""The sandbox's house rules: small modules, short functions, module docstrings, no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "okta_magic" / "sandbox"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80  # docstrings not counted
EXEMPT_MODULES = {"data.py"}  # the seed data: long tables of names, cities and apps


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the sandbox package."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's length in lines, less its docstring."""
    assert node.end_lineno is not None
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        assert first.end_lineno is not None
        lines -= first.end_lineno - first.lineno + 1
    return lines


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small_documented_and_has_short_functions(name: str) -> None:
    path = MODULES[name]
    text = path.read_text()
    tree = ast.parse(text)
    assert ast.get_docstring(tree), f"{name} says what it is for in a module docstring"
    if path.name not in EXEMPT_MODULES:
        assert len(text.splitlines()) <= MAX_MODULE_LINES, name
    long = [
        (node.name, _function_lines(node))
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _function_lines(node) > MAX_FUNCTION_LINES
    ]
    assert not long, f"{name}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def _imports(name: str) -> set[str]:
    """The sandbox modules a module imports, at the top or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in MODULES:
                    out.add(full)
                elif node.module in MODULES:
                    out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in MODULES)
    return out - {name}


def test_no_import_cycles() -> None:
    graph = {name: _imports(name) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = path[path.index(name) :] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_api_and_the_authorization_server_do_not_import_each_other() -> None:
    api = {n for n in MODULES if n.startswith("okta_magic.sandbox.api.")}
    oauth = {n for n in MODULES if n.startswith("okta_magic.sandbox.oauth.")}
    assert not any(_imports(n) & oauth for n in api)
    assert not any(_imports(n) & api for n in oauth)
