"""The import graph of ``src/modelship``, read from the code: no circles, no back doors.

Every import counts: at module level, inside functions, under ``TYPE_CHECKING``, relative
ones resolved, and ``importlib.import_module("...")`` with a literal name, and
``"package.module:function"`` strings (hooks named in tables, such as the CLI's).

Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, so it counts as an
import of those packages too, except of the packages the importing module itself lives
in: they are already being imported when it runs (a package's ``__init__`` importing its
own modules is how packages are built, not a circle). A package's lazy ``__getattr__``
imports count where they are written, as imports inside a function.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "modelship"
_HOOK = re.compile(r"^(modelship(?:\.\w+)+):\w+$")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted((SRC / PACKAGE).rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _known(name: str) -> str | None:
    """The module of ours that importing ``name`` runs last (``a.b.c`` or its longest
    prefix that is a module), or None outside modelship."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imported(module: str, source: str | None = None) -> Iterator[str]:
    text = MODULES[module].read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            names = [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and _calls_import_module(node):
            names = [node.args[0].value]  # type: ignore[attr-defined]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            hook = _HOOK.match(node.value)
            names = [hook.group(1)] if hook else []
        for name in names:
            found = _known(name)
            if found is not None and found != module:
                yield found
                yield from _packages_run(found, module)


def _packages_run(target: str, importer: str) -> Iterator[str]:
    """The package ``__init__``s that importing ``target`` runs, apart from those that
    ``importer`` lives in (already running when it is imported)."""
    inside = {".".join(importer.split(".")[:depth]) for depth in range(1, importer.count(".") + 1)}
    parts = target.split(".")
    for depth in range(1, len(parts)):
        package = ".".join(parts[:depth])
        if package in MODULES and package not in inside and package != importer:
            yield package


def _calls_import_module(node: ast.Call) -> bool:
    func = node.func
    named = (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id == "import_module"
    )
    return (
        named
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


GRAPH = {module: sorted(set(_imported(module))) for module in MODULES}


def _cycles(graph: dict[str, list[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:  # bounded: each module is visited once
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(GRAPH[module])
    return seen


def test_the_graph_is_read_from_the_code() -> None:
    assert "modelship.checks.stats._columns" in GRAPH["modelship.checks.stats._ks"]
    assert "modelship.registry._cli" in GRAPH["modelship.cli"]
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [("a", "b", "c")]


def test_imports_inside_functions_relative_and_dynamic_ones_all_count() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from modelship.checks import _result\n"
        "def late():\n"
        "    from . import _ks\n"
        "    from .. import _schema\n"
        "    importlib.import_module('modelship.report')\n"
        "HOOK = 'modelship.registry._cli:add_commands'\n"
    )
    found = set(_imported("modelship.checks.stats._numeric", source))
    assert found == {
        "modelship.checks._result",
        "modelship.checks.stats._ks",
        "modelship.checks._schema",
        "modelship.report",
        "modelship.registry._cli",
        "modelship.registry",  # importing registry._cli runs registry/__init__ first
    }


def test_importing_a_module_runs_the_packages_above_it_except_the_importers_own() -> None:
    source = "from modelship.checks.stats import _ks\nfrom modelship.parity import _json\n"
    found = set(_imported("modelship.checks._drift", source))
    assert found == {
        "modelship.checks.stats._ks",
        "modelship.checks.stats",
        "modelship.parity._json",
        "modelship.parity",
    }


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _cycles(GRAPH) == []


LEAVES = {
    "modelship._shown": set(),
    "modelship.errors": {"modelship._shown"},
    "modelship._hashing": set(),
    "modelship._plugins": {"modelship.errors"},
    "modelship._json": {"modelship.errors"},
    "modelship._params": {"modelship.errors"},
    "modelship._columns": {"modelship.errors"},
    "modelship.checks.stats._columns": {
        "modelship.errors",
        "modelship._columns",
        "modelship._shown",
    },
}


@pytest.mark.parametrize("module", sorted(LEAVES))
def test_a_leaf_module_imports_nothing_else_from_modelship(module: str) -> None:
    assert set(GRAPH[module]) <= LEAVES[module]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("modelship.report")))
def test_reports_do_not_know_any_capability(module: str) -> None:
    capabilities = (
        "modelship.checks",
        "modelship.registry",
        "modelship._model_version",
    )
    assert not any(target.startswith(capabilities) for target in _reachable(module))


REGISTRY_SIDE = sorted(
    m
    for m in MODULES
    if m.startswith("modelship.registry")
    or m
    in (
        "modelship._model_version",
        "modelship._fingerprint",
        "modelship._documents",
    )
)


@pytest.mark.parametrize("module", REGISTRY_SIDE)
def test_the_registry_does_not_import_the_checks(module: str) -> None:
    imported = GRAPH[module]
    assert [target for target in imported if target.startswith("modelship.checks")] == []


ROLLBACK_CORE = sorted(m for m in MODULES if m.startswith("modelship._rollback"))


@pytest.mark.parametrize("module", ROLLBACK_CORE)
def test_the_rollback_core_sits_below_the_deployers_and_the_monitor(module: str) -> None:
    # The deployment spec reads a monitoring section with RollbackPolicy.from_dict, and the
    # monitor drives deployments: the policy's core can import neither.
    above = ("modelship.deploy", "modelship.monitor")
    assert not any(target.startswith(above) for target in _reachable(module))
