"""The public surface: what each public package exports, and what the code may import.

Every name in a public package's ``__all__`` resolves, says where it lives (its public
package, never a private module that may move), pickles by that name, and documents itself
with a runnable ``Examples`` section. Every third-party module that ``src/`` imports is a
core dependency, or belongs to an extra and is imported only where an ``ImportError`` is
turned into advice naming what to install.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pickle
import pkgutil
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

try:
    import tomllib
except ImportError:  # Python 3.10: tomli is a core dependency there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

PUBLIC_PACKAGES = [
    "modelship",
    "modelship.checks",
    "modelship.deploy",
    "modelship.monitor",
    "modelship.parity",
    "modelship.registry",
    "modelship.report",
    "modelship.testing",
]

# Public classes and functions whose docstring has no Examples section yet. They are
# expected failures (strict: the test fails once an example is added, so strike the name).
WITHOUT_EXAMPLES: set[tuple[str, str]] = set()


def _public_names() -> Iterator[tuple[str, str]]:
    for package in PUBLIC_PACKAGES:
        for name in importlib.import_module(package).__all__:
            yield package, name


PUBLIC_NAMES = sorted(_public_names())


def _object(item: tuple[str, str]) -> Any:
    return getattr(importlib.import_module(item[0]), item[1])


# Classes and functions (constants have no __module__ or docstring of their own).
DEFINED = [
    item
    for item in PUBLIC_NAMES
    if inspect.isclass(_object(item)) or inspect.isfunction(_object(item))
]


def _id(item: tuple[str, str]) -> str:
    return f"{item[0]}.{item[1]}"


@pytest.mark.parametrize(("package", "name"), PUBLIC_NAMES, ids=_id)
def test_every_exported_name_resolves(package: str, name: str) -> None:
    module = importlib.import_module(package)
    assert getattr(module, name) is not None
    assert name in dir(module)


@pytest.mark.parametrize(("package", "name"), DEFINED, ids=_id)
def test_every_exported_class_and_function_names_a_public_module(package: str, name: str) -> None:
    obj = _object((package, name))
    parts = obj.__module__.split(".")
    assert not any(part.startswith("_") for part in parts), obj.__module__
    # pickle finds a class or function again by __module__ and __qualname__
    assert getattr(importlib.import_module(obj.__module__), obj.__qualname__) is obj


def test_a_lazily_loaded_name_is_published_under_its_package_on_first_use() -> None:
    code = (
        "import sys, modelship.parity as p\n"
        "assert 'modelship.parity._findings' not in sys.modules\n"
        "print(p.ParityReport.__module__, p.ParityReport.from_json.__module__, "
        "'ParityReport' in vars(p), 'Finding' in vars(p))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["modelship.parity", "modelship.parity", "True", "True"]


def test_the_lazy_names_examples_are_collected_under_their_public_module_only() -> None:
    import doctest

    import modelship.parity
    import modelship.parity._findings

    public = {test.name for test in doctest.DocTestFinder().find(modelship.parity)}
    private = {test.name for test in doctest.DocTestFinder().find(modelship.parity._findings)}
    # found through vars() once loaded, through the lazy __test__ before
    assert public & {
        "modelship.parity.ParityReport.from_json",
        "modelship.parity.__test__.ParityReport.from_json",
    }
    assert not any("ParityReport" in name for name in private)


def _needs_examples(package: str, name: str) -> Any:
    marks = []
    if (package, name) in WITHOUT_EXAMPLES:
        marks.append(pytest.mark.xfail(reason="no Examples section yet", strict=True))
    return pytest.param(package, name, marks=marks, id=f"{package}.{name}")


# Public packages whose names keep their private modules' __module__ (the numeric engine,
# the model server, the conformance suites): left out of the checks above, but their
# classes and functions need examples all the same (stop 37's review found three without).
WITH_PRIVATE_MODULES = [
    "modelship.checks.stats",
    "modelship.deploy.serve",
    "modelship.testing.suites",
    # and every public module beside the packages (modelship.cli, modelship.errors)
    *(
        f"modelship.{info.name}"
        for info in pkgutil.iter_modules(importlib.import_module("modelship").__path__)
        if not info.name.startswith("_") and f"modelship.{info.name}" not in PUBLIC_PACKAGES
    ),
]


def _their_names() -> Iterator[tuple[str, str]]:
    for package in WITH_PRIVATE_MODULES:
        for name in getattr(importlib.import_module(package), "__all__", ()):
            if inspect.isclass(_object((package, name))) or inspect.isfunction(
                _object((package, name))
            ):
                yield package, name


# Exceptions too (since stop 54): each shows a call that raises it, or how to catch it.
DOCUMENTED = sorted({*DEFINED, *_their_names()})


@pytest.mark.parametrize(("package", "name"), [_needs_examples(*item) for item in DOCUMENTED])
def test_every_exported_class_and_function_has_examples(package: str, name: str) -> None:
    doc = inspect.getdoc(_object((package, name))) or ""
    assert "Examples" in doc, f"{package}.{name}: no Examples section"
    assert ">>>" in doc.partition("Examples")[2], f"{package}.{name}: no >>> example"


# Type aliases (``Verdict = Literal[...]``) have no docstring at run time: their __doc__ is
# the origin's (Mapping's, UnionType's) or None, and a ``#:`` comment is invisible to
# mkdocstrings (griffe renders a string literal right after the assignment, the attribute
# docstring). So their documentation is read from the source: the assignment that defines
# the name, found by following the package's imports, must be followed by a docstring
# with an Examples section, whose examples run here (doctest does not collect them).
def _is_type_alias(obj: Any) -> bool:
    return not inspect.isclass(obj) and (
        typing.get_origin(obj) is not None or isinstance(obj, types.UnionType)
    )


TYPE_ALIASES = [item for item in PUBLIC_NAMES if _is_type_alias(_object(item))]


def _statements(body: list[ast.stmt]) -> Iterator[list[ast.stmt]]:
    """``body`` and the statement lists of the module-level ``if``/``try`` blocks in it."""
    yield body
    for node in body:
        if isinstance(node, ast.If):
            yield from _statements(node.body)
            yield from _statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _statements(block)
            for handler in node.handlers:
                yield from _statements(handler.body)


def _assigned(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return (
        sys.version_info >= (3, 12) and isinstance(node, ast.TypeAlias) and (node.name.id == name)
    )


def _imported_from(node: ast.stmt, name: str, module: str, path: Path) -> str | None:
    """The module ``node`` imports ``name`` from, if it does."""
    if not isinstance(node, ast.ImportFrom):
        return None
    if not any((alias.asname or alias.name) == name for alias in node.names):
        return None
    if node.level == 0:
        assert node.module is not None
        return node.module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def alias_docstring(source: str, name: str) -> str | None:
    """The attribute docstring of the module-level assignment of ``name`` in ``source``
    (the string literal statement right after it), or None."""
    for body in _statements(ast.parse(source).body):
        for i, node in enumerate(body):
            if _assigned(node, name):
                after = body[i + 1] if i + 1 < len(body) else None
                if (
                    isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)
                ):
                    return inspect.cleandoc(after.value.value)
                return None
    return None


def _definition(package: str, name: str) -> Path:
    """The file of the module whose module-level assignment defines ``name``, found by
    following ``from ... import name`` from ``package``."""
    module = package
    for _ in range(10):
        spec = importlib.util.find_spec(module)
        assert spec is not None, module
        assert spec.origin is not None, module
        path = Path(spec.origin)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = None
        for body in _statements(tree.body):
            for node in body:
                if _assigned(node, name):
                    return path
                found = found or _imported_from(node, name, module, path)
        assert found is not None, f"{module} neither defines nor imports {name}"
        module = found
    raise AssertionError(f"{package}.{name}: import chain too long")


@pytest.mark.parametrize(("package", "name"), TYPE_ALIASES, ids=[_id(a) for a in TYPE_ALIASES])
def test_every_exported_type_alias_documents_itself_with_examples_that_run(
    package: str, name: str
) -> None:
    import doctest

    path = _definition(package, name)
    doc = alias_docstring(path.read_text(encoding="utf-8"), name)
    assert doc, (
        f"{package}.{name}: the assignment in {path.name} has no docstring after it "
        '(write """...""" on the next line: mkdocstrings shows that, not a #: comment)'
    )
    assert "Examples\n--------\n" in doc, f"{package}.{name}: no Examples section"
    test = doctest.DocTestParser().get_doctest(doc, {}, f"{package}.{name}", str(path), 0)
    assert test.examples, f"{package}.{name}: the Examples section has no >>> example"
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    report: list[str] = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_monitor_verdict_says_it_is_the_text_of_deploy_verdict() -> None:
    # A Literal alias named like the enum deploy.Verdict: ms.monitor.Verdict.PASS raises,
    # so its docstring must say which it is.
    monitor, deploy = (
        importlib.import_module("modelship.monitor"),
        importlib.import_module("modelship.deploy"),
    )
    assert typing.get_args(monitor.Verdict) == tuple(v.value for v in deploy.Verdict)
    assert not hasattr(monitor.Verdict, "PASS")
    path = _definition("modelship.monitor", "Verdict")
    doc = alias_docstring(path.read_text(encoding="utf-8"), "Verdict") or ""
    assert "modelship.deploy.Verdict" in doc


def test_the_type_aliases_are_found_and_the_check_catches_a_bare_one() -> None:
    assert {
        ("modelship.deploy", "Gate"),
        ("modelship.monitor", "Outcome"),
        ("modelship.monitor", "Verdict"),
        ("modelship.registry", "Op"),
        ("modelship.registry", "Order"),
        ("modelship.registry", "Where"),
    } <= set(TYPE_ALIASES)
    bare = "Op = Literal['<', '>']\n#: a comment mkdocstrings does not show\nX = 1\n"
    assert alias_docstring(bare, "Op") is None
    assert alias_docstring("#: before\nOp: TypeAlias = int\n", "Op") is None
    assert alias_docstring('Op = int\n"""An int."""\n', "Op") == "An int."


def test_a_check_result_pickles_by_its_public_name() -> None:
    from modelship.checks import CheckResult, Severity, Status

    result = CheckResult(name="drift", status=Status.FAIL, severity=Severity.BLOCKING)
    data = pickle.dumps(result)
    assert b"modelship.checks._" not in data
    assert pickle.loads(data) == result


def test_a_model_version_pickles_by_its_public_name() -> None:
    import modelship as ms

    reg = ms.open_registry("memory://test-public-api-pickle")
    mv = reg.register(model_name="fraud", model={"w": [0.1]}, metrics={"auc": 0.9})
    again = pickle.loads(pickle.dumps(mv))
    assert again == mv


def test_a_deployment_spec_pickles_by_its_public_name() -> None:
    from modelship.deploy import DeploymentSpec

    container = {"name": "model-service", "image": "ai-model:1"}
    spec = DeploymentSpec.from_dict({"deployment": {"containers": [container]}})
    data = pickle.dumps(spec)
    assert b"modelship.deploy._" not in data
    assert pickle.loads(data) == spec


def test_an_error_message_names_the_public_exception() -> None:
    import traceback

    from modelship.parity import EnvironmentSnapshot, SnapshotError

    with pytest.raises(SnapshotError) as caught:
        EnvironmentSnapshot.from_dict({"schema_version": 1})
    line = traceback.format_exception_only(caught.type, caught.value)[-1]
    assert line.startswith("modelship.parity.SnapshotError:")


def test_dir_lists_the_subpackages_that_load_on_first_use() -> None:
    import modelship as ms

    assert {"checks", "deploy", "monitor", "parity", "registry", "testing"} <= set(dir(ms))
    assert {"EnvironmentSnapshot", "__version__"} <= set(dir(ms))


# ---------------------------------------------------------------------------------------
# Dependencies: what src/ imports against what pyproject.toml declares.

# Top-level import name -> distribution on PyPI, for every third-party module src/ imports.
DISTRIBUTION = {
    "attrs": "attrs",
    "cryptography": "cryptography",
    "kubernetes": "kubernetes",
    "pandas": "pandas",
    "urllib3": "urllib3",
    "fsspec": "fsspec",
    "joblib": "joblib",
    "lz4": "lz4",
    "numpy": "numpy",
    "orjson": "orjson",
    "prometheus_client": "prometheus_client",
    "pyarrow": "pyarrow",
    "pytest": "pytest",
    "requests": "requests",
    "scipy": "scipy",
    "starlette": "starlette",
    "threadpoolctl": "threadpoolctl",
    "tomli": "tomli",
    "tqdm": "tqdm",
    "typing_extensions": "typing-extensions",
    "uvicorn": "uvicorn",
    "uvloop": "uvloop",
    "yaml": "PyYAML",
}

# Modules that only load on demand and may import their extra at module level; a test
# below proves that importing their package does not import them.
ON_DEMAND = {
    "modelship.testing.suites": "test",
    "modelship.testing._deployer_suite": "test",
    "modelship.testing._registry_suite": "test",
    "modelship.testing._source_suite": "test",
    "modelship.testing._store_suite": "test",
}

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-")


CORE = {_canonical(Requirement(text).name) for text in PYPROJECT["dependencies"]}
EXTRAS = {
    extra: {_canonical(Requirement(text).name) for text in requirements}
    for extra, requirements in PYPROJECT["optional-dependencies"].items()
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class _Import:
    def __init__(self, module: str, top: str, guard: ast.Try | None, lineno: int) -> None:
        self.module, self.top, self.guard, self.lineno = module, top, guard, lineno

    def __repr__(self) -> str:
        return f"{self.module}:{self.lineno} imports {self.top}"


def _catches_import_error(node: ast.Try) -> bool:
    names = {"ImportError", "ModuleNotFoundError", "Exception"}
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(kind, ast.Name) and kind.id in names for kind in kinds):
            return True
    return False


def _third_party_imports(module: str, source: str) -> Iterator[_Import]:
    """Every import of a module outside the standard library and modelship, with the
    innermost ``try`` that catches ImportError around it (None if unguarded)."""

    def visit(node: ast.AST, guard: ast.Try | None) -> Iterator[_Import]:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ("modelship", "__future__"):
                yield _Import(module, top, guard, node.lineno)  # type: ignore[attr-defined]
        if isinstance(node, ast.Try) and _catches_import_error(node):
            for child in node.body:
                yield from visit(child, node)
            for part in (*node.handlers, *node.orelse, *node.finalbody):
                yield from visit(part, guard)
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, guard)

    yield from visit(ast.parse(source), None)


IMPORTS = [
    found
    for path in sorted((SRC / "modelship").rglob("*.py"))
    for found in _third_party_imports(_module_name(path), path.read_text(encoding="utf-8"))
]


def _advice(guard: ast.Try) -> str:
    """The text of the string constants in the handlers of ``guard``."""
    return " ".join(
        node.value
        for handler in guard.handlers
        for node in ast.walk(handler)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _falls_back(guard: ast.Try) -> bool:
    """Whether some handler of ``guard`` goes on without raising (a slower fallback)."""
    return any(
        not any(isinstance(node, ast.Raise) for node in ast.walk(handler))
        for handler in guard.handlers
    )


def test_the_import_scan_sees_guards_and_dynamic_imports() -> None:
    source = (
        "import numpy\n"
        "def f():\n"
        "    try:\n"
        "        import yaml\n"
        "    except ImportError:\n"
        "        raise MissingDependency(\"pip install 'modelship[yaml]'\")\n"
        "    importlib.import_module('pyarrow.parquet')\n"
    )
    found = list(_third_party_imports("modelship.x", source))
    assert [(item.top, item.guard is None) for item in found] == [
        ("numpy", True),
        ("yaml", False),
        ("pyarrow", True),
    ]
    assert found[1].guard is not None
    assert "modelship[yaml]" in _advice(found[1].guard)


@pytest.mark.parametrize("found", IMPORTS, ids=repr)
def test_every_third_party_import_is_a_declared_dependency(found: _Import) -> None:
    assert found.top in DISTRIBUTION, f"{found}: add it to DISTRIBUTION and pyproject.toml"
    dist = _canonical(DISTRIBUTION[found.top])
    if dist in CORE:
        return
    extras = sorted(extra for extra, dists in EXTRAS.items() if dist in dists)
    assert extras, f"{found}: {dist} is in no extra of pyproject.toml"
    if found.module in ON_DEMAND:
        assert ON_DEMAND[found.module] in extras
        return
    if found.guard is None:
        # Checked once where the package first needs it (the model server's metrics are
        # built, with the guard, before any endpoint can import prometheus_client again).
        package = found.module.rpartition(".")[0]
        checked = [
            other
            for other in IMPORTS
            if other.top == found.top
            and other.guard is not None
            and other.module.rpartition(".")[0] == package
        ]
        assert checked, f"{found}: import {dist} only inside try/except ImportError"
        return
    if _falls_back(found.guard):
        return
    advice = _advice(found.guard)
    named = [f"modelship[{extra}]" for extra in extras] + [f"pip install {dist}"]
    assert any(text.lower() in advice.lower() for text in named), (
        f"{found}: the ImportError advice should name {' or '.join(named)}: {advice!r}"
    )


@pytest.mark.parametrize("dist", sorted(CORE))
def test_every_core_dependency_is_imported_by_the_code(dist: str) -> None:
    imported = {_canonical(DISTRIBUTION[found.top]) for found in IMPORTS}
    assert dist in imported


def test_the_modules_that_load_on_demand_are_not_imported_with_their_package() -> None:
    names = ", ".join(repr(name) for name in [*ON_DEMAND, "pytest"])
    code = (
        "import sys, modelship, modelship.testing\n"
        f"loaded = [name for name in ({names}) if name in sys.modules]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("package", [p for p in PUBLIC_PACKAGES if p.count(".") == 1])
def test_every_public_subpackage_is_listed_by_dir_and_loads_as_an_attribute(package: str) -> None:
    import modelship

    name = package.split(".")[1]
    assert name in dir(modelship)
    assert getattr(modelship, name) is importlib.import_module(package)
