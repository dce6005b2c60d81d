"""The fast path of parameter checks that drift results take: values of the types a
constraint accepts whole skip its test; every other value is still tested, and refused
values still raise, as before."""

from __future__ import annotations

import enum
import importlib
import math
import sys
from typing import Any

import numpy as np
import pytest

from modelship import _params
from modelship._params import Constraint, Options
from modelship.checks import CheckResult, ColumnResult, DataDrift, DriftColumnResult, _result
from modelship.checks._result import Severity, Status
from modelship.errors import InvalidParameter


def _tested(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Record each value a result's constraints are asked about (by constraint class)."""
    calls: list[tuple[str, Any]] = []
    for cls in (_result._Real, _result._Pairs, _result._Parts, Options):
        original = cls.is_satisfied_by

        def spy(self: Constraint, value: object, _original: Any = original) -> bool:
            calls.append((type(self).__name__, value))
            return bool(_original(self, value))

        monkeypatch.setattr(cls, "is_satisfied_by", spy)
    return calls


def test_plain_values_skip_the_constraint_tests_others_are_still_tested(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _tested(monkeypatch)
    column = DriftColumnResult(
        name="x",
        status=Status.FAIL,
        reason="drifted",
        method="ks",
        statistic=0.25,
        p_value=1,
        threshold=0.05,
        effect_method="wasserstein",
        effect_size=0.5,
        drifted=True,
        details={"n_reference": 10},
    )
    CheckResult(name="drift", status=Status.FAIL, statistic=True, columns=[column])
    assert calls == []
    # NumPy numbers, texts for enums, pairs and subclasses of accepted types are tested.
    weird = type("Weird", (float,), {})
    ColumnResult(
        name="x", status="pass", statistic=np.float64(0.5), p_value=weird(0.1), details=[("a", 1)]
    )
    assert [name for name, _ in calls] == ["Options", "_Real", "_Real", "_Pairs"]
    # ... and refused as before.
    for refused in (
        {"statistic": "0.3"},
        {"p_value": 1j},
        {"threshold": np.array([1.0, 2.0])},
        {"details": "ab"},
        {"status": "passed"},
        {"name": 1},
        {"name": None},
        {"method": 3},
    ):
        fields = {"name": "x", "status": "pass", **refused}
        with pytest.raises(InvalidParameter, match=next(iter(refused))):
            DriftColumnResult(**fields)
    with pytest.raises(InvalidParameter, match="alpha"):
        DataDrift(reference={"x": [1.0]}, current={"x": [1.0]}, alpha=1.5)


# Values of each type a constraint may accept whole, its edge cases first.
_SAMPLES: dict[type, tuple[object, ...]] = {
    type(None): (None,),
    float: (0.0, -0.0, -1.5, math.inf, -math.inf, math.nan, 1e308, 5e-324),
    int: (0, -3, 10**400, -(10**400)),
    bool: (True, False),
    str: ("", " ", "x", "é\n"),
    dict: ({}, {"a": 1}),
    list: ([],),
    tuple: ((),),
    Status: tuple(Status),
    Severity: tuple(Severity),
}


def _declared_classes() -> list[type]:
    """Every class with declared parameters in the modules the public packages import."""
    for package in ("checks", "deploy", "monitor", "parity", "report"):
        importlib.import_module(f"modelship.{package}")
    found: dict[str, type] = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("modelship"):
            continue
        for value in vars(module).values():
            if isinstance(value, type) and isinstance(
                getattr(value, "_parameter_constraints", None), dict
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def _samples(kind: type, allowed: tuple[Constraint, ...]) -> tuple[object, ...]:
    if kind in _SAMPLES:
        return _SAMPLES[kind]
    if isinstance(kind, enum.EnumMeta):
        return tuple(kind)
    # A declared class (isinstance): nothing to sample, and sound as it stands.
    assert any(isinstance(c, _params._InstanceOf) and c.kind is kind for c in allowed), kind
    return ()


def test_every_type_accepted_whole_is_accepted_by_its_constraint() -> None:
    classes = _declared_classes()
    assert DriftColumnResult in classes
    assert DataDrift in classes
    seen = 0
    for cls in classes:
        for name, allowed, accepted in _params._class_checks(cls):
            for kind in accepted:
                for value in _samples(kind, allowed):
                    assert type(value) is kind
                    assert any(c.is_satisfied_by(value) for c in allowed), (cls, name, value)
                    seen += 1
    assert seen > 100


def test_an_options_subclass_with_its_own_test_is_not_skipped() -> None:
    class OnlyPass(Options):
        def is_satisfied_by(self, value: object) -> bool:
            return value is Status.PASS

    assert Options(Status).accepted_types() == {Status}
    assert OnlyPass(Status).accepted_types() == frozenset()
    assert Options(("a", "b")).accepted_types() == frozenset()
