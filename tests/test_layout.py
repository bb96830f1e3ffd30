"""The house rules of ``okta_magic/`` (docs/architecture.md): small modules, short functions, no import
cycles, each heavy or front-end library in one layer, and no notebook syntax below the magics."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "okta_magic"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80  # docstrings not counted
EXEMPT_MODULES = {"okta_magic.sandbox.data"}  # the seed data: long tables of names, cities and apps
# which of our modules may import a library (top level or inside functions)
ONLY_IN = {
    "IPython": {"okta_magic.notebook.magics"},
    "traitlets": {"okta_magic.notebook.magics"},
    "ipywidgets": {"okta_magic.notebook.widgets"},
    "anywidget": {"okta_magic.notebook.widgets"},
    "pandas": {"okta_magic.frames"},
    "pyarrow": {"okta_magic.frames"},
    "duckdb": {"okta_magic.snapshot"},  # the snapshot's engine: snapshot.sql.connect is the way in
}
# the front ends and the advice layer, where notebook syntax (%okta ...) belongs
MAY_SPEAK_NOTEBOOK = {"okta_magic.notebook.magics", "okta_magic.notebook.widgets", "okta_magic.advice", "okta_magic.advice.coach",
                      "okta_magic.notebook.demo", "okta_magic.notebook.audit", "okta_magic.notebook.snapshot"}


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}

# The layer map (docs/architecture.md), lowest first: a module imports only from its own layer or one below it
# (imports inside functions count). An entry is a module, or a package ending in "." for all of its modules.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundations", ("okta_magic.errors", "okta_magic.held", "okta_magic.version", "okta_magic.config",
                     "okta_magic.scopes", "okta_magic.pkce", "okta_magic.dpop", "okta_magic.www_authenticate",
                     "okta_magic.tokens")),
    ("sandbox org", ("okta_magic.sandbox", "okta_magic.sandbox.")),
    ("http", ("okta_magic.http", "okta_magic.http.")),
    ("frames", ("okta_magic.frames", "okta_magic.frames.")),
    ("oauth", ("okta_magic.oauth", "okta_magic.oauth.")),
    ("flows", ("okta_magic.flows", "okta_magic.flows.")),
    ("sessions", ("okta_magic.sessions", "okta_magic.sessions.")),
    ("advice", ("okta_magic.advice", "okta_magic.advice.")),
    ("pulls", ("okta_magic.pulls", "okta_magic.pulls.")),
    ("snapshot", ("okta_magic.snapshot", "okta_magic.snapshot.")),
    ("audits", ("okta_magic.audits", "okta_magic.audits.")),
    ("notebook", ("okta_magic.notebook", "okta_magic.notebook.")),
    ("script", ("okta_magic.api",)),
    ("package", ("okta_magic",)),
]


def layer_of(name: str) -> int:
    """The index in LAYERS of the layer ``name`` is on (KeyError when it is on none)."""
    for index, (_layer, members) in enumerate(LAYERS):
        if name in members or any(m.endswith(".") and name.startswith(m) for m in members):
            return index
    raise KeyError(name)


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's length in lines, less its docstring."""
    assert node.end_lineno is not None
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        assert first.end_lineno is not None
        lines -= first.end_lineno - first.lineno + 1
    return lines


def _absolute(name: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved against ``name``)."""
    if not node.level:
        return node.module or ""
    package = name.split(".") if MODULES[name].name == "__init__.py" else name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name: str) -> set[str]:
    """Every module (ours or a library's) that ``name`` imports, at the top or inside functions."""
    out: set[str] = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.ImportFrom):
            module = _absolute(name, node)
            for alias in node.names:
                full = f"{module}.{alias.name}"
                out.add(full if full in MODULES else module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out - {name}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small_documented_and_has_short_functions(name: str) -> None:
    tree = TREES[name]
    assert ast.get_docstring(tree), f"{name} says what it is for in a module docstring"
    if name not in EXEMPT_MODULES:
        assert len(MODULES[name].read_text().splitlines()) <= MAX_MODULE_LINES, name
    long = [(node.name, _function_lines(node)) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _function_lines(node) > MAX_FUNCTION_LINES]
    assert not long, f"{name}: functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_is_on_the_layer_map(name: str) -> None:
    hits = [layer for layer, members in LAYERS
            if name in members or any(m.endswith(".") and name.startswith(m) for m in members)]
    assert len(hits) == 1, f"{name} is on {len(hits)} layers of LAYERS (tests/test_layout.py): {hits}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_later_layer(name: str) -> None:
    own = layer_of(name)
    later = sorted(m for m in _imports(name) if m in MODULES and layer_of(m) > own)
    assert not later, (f"{name} ({LAYERS[own][0]}) imports a later layer: "
                       + ", ".join(f"{m} ({LAYERS[layer_of(m)][0]})" for m in later))


def test_each_layer_is_its_own_package() -> None:
    """The tree shows the map: a layer's modules (but the foundations and the front modules) share a package."""
    for layer, members in LAYERS:
        packages = {m.rstrip(".") for m in members if m.endswith(".")}
        if layer in ("foundations", "script", "package"):
            assert all(m.count(".") == 1 for m in members if not m.endswith(".")) or layer == "package", layer
            continue
        assert len(packages) == 1, f"the {layer} layer is one package, not {sorted(packages)}"


def test_no_import_cycles() -> None:
    graph = {name: {m for m in _imports(name) if m in MODULES} for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


@pytest.mark.parametrize("library", sorted(ONLY_IN))
def test_each_library_lives_in_its_layer(library: str) -> None:
    users = {name for name in MODULES
             if any(m == library or m.startswith(library + ".") for m in _imports(name))}
    outside = {u for u in users if not any(u == home or u.startswith(home + ".") for home in ONLY_IN[library])}
    assert not outside, f"{library} imported outside {sorted(ONLY_IN[library])}: {sorted(outside)}"


def _strings_outside_docstrings(tree: ast.Module) -> list[str]:
    """Every string constant that is not a docstring."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("name", sorted(set(MODULES) - MAY_SPEAK_NOTEBOOK))
def test_no_notebook_syntax_below_the_magics_and_the_advice_layer(name: str) -> None:
    spoken = [s for s in _strings_outside_docstrings(TREES[name]) if "%okta" in s or "%%okta" in s]
    assert not spoken, f"{name} tells a person to run a magic; word it in advice.py: {spoken[:3]}"


def _magic_options() -> set[str]:
    """The long options of every magic, read from where each magic declares them (the one source): the magics'
    own argument parsers, %okta_sync's parser and %okta_sql's list (notebook/snapshot.py), %okta_audit's options
    and its audits' parameters (notebook/audit.py)."""
    from okta_magic.notebook import audit, magics, snapshot

    parsers = [getattr(member, "parser", None) for member in vars(magics.OktaMagics).values()]
    declared = {option for parser in parsers if parser is not None for action in parser._actions
                for option in action.option_strings}
    return {option for option in declared | snapshot.option_strings() | audit.option_strings()
            if option.startswith("--")}


# the words for a person (advice/), and the sandbox's own command line (its options are its own)
MAY_NAME_OPTIONS = {"okta_magic.advice", "okta_magic.advice.coach", "okta_magic.sandbox.__main__"}
BELOW_THE_NOTEBOOK = sorted(name for name in MODULES if name not in MAY_NAME_OPTIONS  # (one on no layer fails above)
                            and any(name in members or any(m.endswith(".") and name.startswith(m) for m in members)
                                    for _layer, members in LAYERS[:layer_of("okta_magic.notebook")]))


def test_the_magics_have_options_to_look_for() -> None:
    assert {"--to", "--parallel", "--append", "--raw", "--each", "--max-pages", "--redirect-uri"} <= _magic_options()
    # %okta_sync and %okta_sql (notebook/snapshot.py), %okta_audit and an audit's parameters (notebook/audit.py)
    assert {"--plan", "--full", "--since", "--format", "--snapshot", "--explain", "--days", "--by"} <= _magic_options()


@pytest.mark.parametrize("name", BELOW_THE_NOTEBOOK)
def test_no_option_syntax_below_the_notebook_but_in_the_advice_layer(name: str) -> None:
    """A script user reads these messages too: ``--to`` is said by an ``advice`` fix key, worded for each reader."""
    options = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(_magic_options()))) + r")(?![\w-])")
    spoken = [s for s in _strings_outside_docstrings(TREES[name]) if options.search(s)]
    assert not spoken, f"{name} names a magic's option; word it as a fix key in advice.FIXES: {spoken[:3]}"


def test_a_session_fits_its_room() -> None:
    """One screen of public surface (docs/architecture.md): pasted tokens (sessions/pasted), the org a credential
    goes to (sessions/orgbound), revocation (oauth/revocation) and the flow for the kernel (flows/where) live beside it."""
    lines = len(MODULES["okta_magic.sessions.session"].read_text().splitlines())
    assert lines < 450, f"okta_magic/sessions/session.py has {lines} lines; move a cohesive piece out"


def test_the_sandbox_api_and_authorization_server_do_not_import_each_other() -> None:
    api = {n for n in MODULES if n.startswith("okta_magic.sandbox.api.")}
    oauth = {n for n in MODULES if n.startswith("okta_magic.sandbox.oauth.")}
    assert not any(_imports(n) & oauth for n in api)
    assert not any(_imports(n) & api for n in oauth)
