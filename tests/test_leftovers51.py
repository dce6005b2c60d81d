"""Leftovers of the CLI, JSON and parameter helpers (fixer C51).

- A document refused for being written by a newer modelship is a ``NewerVersionError``
  (a ``ConfigError``): its type, not a mark in ``__dict__`` that a wrap building a new
  error dropped, tells the advice to upgrade from a malformed document.
- The exit codes have one source, importable without SciPy.
- The drift check's method lists have one copy, in a leaf the parser imports.
- The "stricter subclass" guard of the parameter layer is one helper.
"""

from __future__ import annotations

import ast
import copy
import json
import pickle
from pathlib import Path

import pytest

import modelship
from modelship import _json
from modelship.errors import ConfigError

SRC = Path(modelship.__file__).resolve().parent  # the code under test, wherever it is
FRAME = {"x": [1.0, 2.0, 3.0]}


# --- 1. the newer-version refusal is a type -------------------------------------------


def test_the_refusal_of_a_newer_document_is_a_config_error_of_its_own_type() -> None:
    with pytest.raises(_json.NewerVersionError, match="upgrade modelship") as caught:
        _json.check_schema_version({"schema_version": 3}, supported=2, what="report")
    assert isinstance(caught.value, ConfigError)
    with pytest.raises(ConfigError) as other:
        _json.check_schema_version({"schema_version": "3"}, supported=2, what="report")
    assert not isinstance(other.value, _json.NewerVersionError)


def test_a_copy_of_the_refusal_rebuilt_from_its_type_and_message_is_still_one() -> None:
    # Before, the mark lived in the error's __dict__: an error rebuilt from its type and
    # message (as a wrapper re-raising "the same" error does) was a plain ConfigError.
    try:
        _json.check_schema_version({"schema_version": 9}, supported=1, what="schema")
    except ConfigError as exc:
        rebuilt = type(exc)(*exc.args)
        for again in (rebuilt, copy.copy(exc), pickle.loads(pickle.dumps(exc))):
            assert isinstance(again, _json.NewerVersionError)


def test_a_wrapper_keeps_the_type_only_for_a_newer_document() -> None:
    inner = _json.NewerVersionError("the schema has schema_version 9, ...")
    wrapped = _json.newer_version(ConfigError(f"malformed drift profile: {inner}"), inner)
    assert isinstance(wrapped, _json.NewerVersionError)
    assert str(wrapped) == f"malformed drift profile: {inner}"
    plain = ConfigError("malformed drift profile: x")
    assert _json.newer_version(plain, ConfigError("x")) is plain


@pytest.mark.parametrize("where", ["profile", "embedded schema"])
def test_a_drift_profile_from_a_newer_modelship_raises_the_type(where: str) -> None:
    from modelship.checks import DriftProfile

    document = json.loads(DriftProfile.from_data(FRAME).to_json())
    if where == "profile":
        document["schema_version"] = 99
    else:
        document["schema"]["schema_version"] = 99
    with pytest.raises(_json.NewerVersionError, match="upgrade modelship"):
        DriftProfile.from_json(json.dumps(document))


def test_the_mark_in_the_dict_is_gone() -> None:
    assert not hasattr(_json, "is_newer_version")
    assert "__dict__" not in (SRC / "_json.py").read_text()


# --- 2. one source of the exit codes --------------------------------------------------


def _assigned(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names |= {t.id for t in targets if isinstance(t, ast.Name) and "EXIT_" in t.id}
    return names


@pytest.mark.parametrize(
    "module", ["cli.py", "_cli_monitor.py", "monitor/_cli.py", "checks/_cli_common.py"]
)
def test_the_commands_define_no_exit_code_of_their_own(module: str) -> None:
    assert _assigned(SRC / module) == set()


def test_the_exit_codes_are_those_of_the_light_common_module() -> None:
    from modelship import _cli_common, _cli_monitor, cli

    assert (cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_ERROR) == (0, 1, 2)
    assert (cli.EXIT_INTERRUPTED, cli.EXIT_TERMINATED) == (130, 143)
    assert _cli_monitor.EXIT_ERROR is _cli_common.EXIT_ERROR
    assert _cli_common.EXIT_KEY_REQUIRED == _cli_common.EXIT_ERROR


# --- 3. one copy of the drift choices -------------------------------------------------


def test_the_choices_leaf_imports_nothing_from_modelship() -> None:
    tree = ast.parse((SRC / "_choices.py").read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("modelship") for name in imported)


def test_the_parser_and_the_drift_check_share_one_copy_of_the_lists() -> None:
    from modelship import _choices, _cli_check
    from modelship.checks import _drift

    assert _cli_check.NUMERIC_METHODS is _drift.NUMERIC_METHODS is _choices.NUMERIC_METHODS
    assert _cli_check.CATEGORICAL_METHODS is _drift.CATEGORICAL_METHODS
    assert _cli_check.P_VALUE_METHODS is _choices.P_VALUE_METHODS
    # The Literal types the check's signature declares are the lists' own source.
    assert _drift.NumericMethod is _choices.NumericMethod
    assert _drift.CategoricalMethod is _choices.CategoricalMethod


def test_the_drift_check_allows_what_the_parser_offers() -> None:
    from modelship import _choices
    from modelship._params import Options
    from modelship.checks import DataDrift

    def options(name: str) -> tuple[object, ...]:
        return next(
            part.values
            for part in DataDrift._parameter_constraints[name]
            if isinstance(part, Options)
        )

    assert options("method") == _choices.NUMERIC_METHODS
    assert options("categorical_method") == _choices.CATEGORICAL_METHODS


# --- 4. one "stricter subclass" guard -------------------------------------------------


def test_the_stricter_subclass_guard_is_written_once() -> None:
    text = (SRC / "_params.py").read_text()
    assert text.count(".is_satisfied_by is") == 1


def test_a_stricter_subclass_lets_no_type_through_untested() -> None:
    import enum

    from modelship import _params

    class Tail(enum.Enum):
        ONE = "one"

    class NoneButNever(_params._IsNone):
        def is_satisfied_by(self, value: object) -> bool:
            return False

    class PositiveInt(_params._InstanceOf):
        def is_satisfied_by(self, value: object) -> bool:
            return isinstance(value, int) and value > 0

    class OnlyStrings(_params.Options):
        def is_satisfied_by(self, value: object) -> bool:
            return isinstance(value, str) and super().is_satisfied_by(value)

    assert _params._IsNone().accepted_types() == {type(None)}
    assert _params._InstanceOf(int).accepted_types() == {int}
    assert _params.Options(Tail).accepted_types() == {Tail}
    assert NoneButNever().accepted_types() == frozenset()
    assert PositiveInt(int).accepted_types() == frozenset()
    assert OnlyStrings(Tail).accepted_types() == frozenset()
    with pytest.raises(ConfigError):
        _params.check("n", -1, PositiveInt(int))


# --- 5. the examples run (doctests) ---------------------------------------------------


def test_count_codes_and_epoch_seconds_have_examples() -> None:
    from modelship.checks._tabular import Column, epoch_seconds

    for function in (Column.count_codes, epoch_seconds):
        assert "Examples\n" in (function.__doc__ or "")
