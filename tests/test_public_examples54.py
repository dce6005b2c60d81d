"""Every public name has a docstring with an example (``>>>``).

Public names: ``modelship.__all__`` and the ``__all__`` of every public subpackage. A
class or function is checked through its docstring (which ``--doctest-modules`` runs). A
type alias has no docstring of its own (``Where.__doc__`` is ``Mapping``'s): its
attribute docstring, the string literal right after the assignment that mkdocstrings
shows, is read from the defining module's source, checked for an example, and that
example is run here, since no doctest attaches to it.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import modelship

# Public names known to lack an example (none): the test asserts this set is exactly
# what is missing, so a name added here must be removed once its example lands.
PENDING: set[str] = set()

# A type alias named like an enum elsewhere: its docstring must say which it is not.
NAMESAKES = {"modelship.monitor.Verdict": "deploy.Verdict"}


def _public_modules() -> list[ModuleType]:
    names = ["modelship"] + [
        f"modelship.{info.name}"
        for info in pkgutil.iter_modules(modelship.__path__)
        if not info.name.startswith("_")
    ]
    return [importlib.import_module(name) for name in names]


def _public_names() -> Iterator[tuple[str, ModuleType, str, object]]:
    for module in _public_modules():
        for name in getattr(module, "__all__", []):
            yield f"{module.__name__}.{name}", module, name, getattr(module, name)


def _is_alias(obj: object) -> bool:
    return typing.get_origin(obj) is not None


def _source(module_name: str) -> tuple[Path, ast.Module]:
    spec = importlib.util.find_spec(module_name)
    assert spec is not None, module_name
    assert spec.origin is not None, module_name
    path = Path(spec.origin)
    return path, ast.parse(path.read_text(encoding="utf-8"))


def _attribute_docstring(module_name: str, name: str, depth: int = 0) -> str | None:
    """The string literal right after the top-level assignment of ``name``, following
    ``from ... import name`` to the module that assigns it."""
    assert depth < 10, f"import chain of {name} from {module_name} too long"
    _, tree = _source(module_name)
    body = tree.body
    for i, node in enumerate(body):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            after = body[i + 1] if i + 1 < len(body) else None
            if (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                return inspect.cleandoc(after.value.value)
            return None
    package = module_name if _is_package(module_name) else module_name.rpartition(".")[0]
    for found in ast.walk(tree):
        if isinstance(found, ast.ImportFrom):
            for alias in found.names:
                if (alias.asname or alias.name) == name:
                    source = importlib.util.resolve_name(
                        "." * found.level + (found.module or ""), package
                    )
                    return _attribute_docstring(source, alias.name, depth + 1)
    raise AssertionError(f"{name} is neither assigned nor imported in {module_name}")


def _is_package(module_name: str) -> bool:
    spec = importlib.util.find_spec(module_name)
    return spec is not None and spec.submodule_search_locations is not None


def _problem(qualname: str, module: ModuleType, name: str, obj: object) -> str | None:
    """What is wrong with the docs of one public name, or None."""
    if inspect.isclass(obj) or inspect.isfunction(obj):
        doc = inspect.getdoc(obj) or ""
    elif _is_alias(obj):
        doc = _attribute_docstring(module.__name__, name) or ""
    else:
        return None  # a constant: documented by a ``#:`` comment, no example asked for
    if ">>>" not in doc:
        return "no >>> example" if doc else "no docstring"
    if (namesake := NAMESAKES.get(qualname)) and namesake not in doc:
        return f"does not say how it differs from {namesake}"
    return None


def _missing() -> dict[str, str]:
    found = {}
    for qualname, module, name, obj in _public_names():
        if (problem := _problem(qualname, module, name, obj)) is not None:
            found[qualname] = problem
    return found


def test_every_public_class_function_and_alias_has_an_example() -> None:
    missing = _missing()
    unexpected = {name: why for name, why in missing.items() if name not in PENDING}
    assert not unexpected, f"public names without an example: {unexpected}"
    landed = PENDING - set(missing)
    assert not landed, f"these have their example now; remove them from PENDING: {landed}"


def test_the_walk_sees_classes_functions_and_aliases() -> None:
    # A walk that found nothing would pass the test above.
    kinds = {"class": 0, "function": 0, "alias": 0}
    for _, _, _, obj in _public_names():
        if inspect.isclass(obj):
            kinds["class"] += 1
        elif inspect.isfunction(obj):
            kinds["function"] += 1
        elif _is_alias(obj):
            kinds["alias"] += 1
    assert kinds["class"] > 150, kinds
    assert kinds["function"] > 10, kinds
    assert kinds["alias"] >= 6, kinds


def _alias_examples() -> list[tuple[str, str]]:
    out = []
    for qualname, module, name, obj in _public_names():
        if _is_alias(obj) and (doc := _attribute_docstring(module.__name__, name)):
            out.append((qualname, doc))
    return out


def test_alias_examples_run() -> None:
    examples = _alias_examples()
    assert {"modelship.deploy.Gate", "modelship.registry.Where"} <= {q for q, _ in examples}
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=flags)
    for qualname, doc in examples:
        report: list[str] = []
        test = parser.get_doctest(doc, {}, qualname, None, 0)
        result = runner.run(test, out=report.append)
        assert result.attempted > 0, qualname
        assert result.failed == 0, f"the example of {qualname} fails:\n{''.join(report)}"


def test_monitor_verdict_is_a_literal_not_the_deploy_enum() -> None:
    # The reason its docstring must name deploy.Verdict: the two are easy to confuse.
    assert typing.get_args(modelship.monitor.Verdict) == tuple(
        v.value for v in modelship.deploy.Verdict
    )
    assert not hasattr(modelship.monitor.Verdict, "PASS")
