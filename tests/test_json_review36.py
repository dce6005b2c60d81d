"""NumPy scalars in a document are written as the values they stand for.

``jsonable`` returned bools, text and None before converting a NumPy scalar, so a
``np.bool_`` (``p < 0.05`` on NumPy values) went past the bool check and was written as
its ``str``: the text ``"False"``, which reads back as true. Likewise a ``NaT`` was
written as the text ``"None"``, a ``np.longdouble`` as text (infinity as ``"inf"``, not
``null``), and a date or duration in nanoseconds as a bare integer. A 0-d array raised.
"""

from __future__ import annotations

import datetime
import enum
import json
from typing import Any

import numpy as np
import pytest

from modelship import _json
from modelship import deploy as md
from modelship.errors import ConfigError
from modelship.testing._deployer_double import InMemoryDeployer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.True_, True),
        (np.False_, False),
        (np.array(True), True),
        (np.array(False), False),
        (np.array(3), 3),
        (np.array(None, dtype=object), None),
        (np.datetime64("NaT"), None),
        (np.datetime64("NaT", "ns"), None),
        (np.timedelta64("NaT"), None),
        (np.longdouble("0.5"), 0.5),
        (np.longdouble("inf"), None),
        (np.longdouble("-inf"), None),
        (np.longdouble("nan"), None),
        (np.datetime64("2020-01-02T03:04:05.123456789", "ns"), "2020-01-02T03:04:05.123456789"),
        (np.timedelta64(5, "ns"), "5 nanoseconds"),
        (np.datetime64("20000-01-01"), "20000-01-01"),  # past Python's dates
    ],
)
def test_a_numpy_scalar_is_written_as_the_value_it_stands_for(value: Any, expected: Any) -> None:
    got = _json.jsonable(value)
    assert got == expected
    assert type(got) is type(expected)
    assert json.loads(_json.dumps({"v": value}))["v"] == expected


def test_numpy_bools_are_json_booleans_everywhere_in_a_document() -> None:
    document = {
        "breached": np.float64(0.3) < 0.05,
        "per_slot": np.array([True, False]),
        "nested": [{"ok": np.True_}, (np.False_,)],
        "set": {np.True_, np.False_},
    }
    expected = {
        "breached": False,
        "per_slot": [True, False],
        "nested": [{"ok": True}, [False]],
        "set": [False, True],
    }
    assert _json.jsonable(document) == expected
    assert json.loads(_json.dumps(document)) == expected
    assert _json.pretty(document) == _json.pretty(expected)
    text = _json.dumps(document, indent=None)
    assert '"breached": false' in text
    assert '"False"' not in text
    assert '"True"' not in text


def test_numpy_bool_keys_are_written_as_bool_keys() -> None:
    assert _json.jsonable({np.True_: 1, np.False_: 2}) == {"true": 1, "false": 2}
    with pytest.raises(ConfigError, match=r"'true' and np.True_, are both written as 'true'"):
        _json.jsonable({"true": 1, np.True_: 2})


def test_a_numpy_bool_gate_input_reads_back_false_from_rollout_history() -> None:
    """The reviewer's repro: the gate said False; the record said the text "False"."""
    p = np.float64(0.3)

    def gate(rollout: md.Rollout) -> md.GateResult:
        return md.GateResult(
            md.Verdict.PASS, "ok", {"breached": p < 0.05, "per_slot": np.array([True, False])}
        )

    dep = InMemoryDeployer()
    history = md.InMemoryHistory()
    md.BlueGreen(dep, gate=gate, clock=dep.clock, history=history).deploy("fraud", "1")
    record = history.records("fraud")[-1]
    gates = [e for e in record.events if e.kind.value == "gate"]
    assert gates
    inputs = gates[0].data["inputs"]
    assert inputs == {"breached": False, "per_slot": [True, False]}
    assert inputs["breached"] is False
    # And through the record's own JSON, as a RegistryHistory stores it.
    again = md.RolloutRecord.from_dict(_json.loads(_json.canonical_json(record.to_dict()), "r"))
    stored = next(e for e in again.events if e.kind.value == "gate").data["inputs"]
    assert stored["breached"] is False


class _Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # What did not change: the JSON each of these was written as before.
        (np.str_("a"), "a"),  # the same JSON text (now a str, not a np.str_)
        (np.bytes_(b"ab"), "b'ab'"),  # as bytes: its str
        (b"ab", "b'ab'"),
        (np.datetime64("2020-01-02"), "2020-01-02"),  # as a date: its str
        (np.datetime64("2020-01-02T03:04:05"), "2020-01-02 03:04:05"),
        (datetime.date(2020, 1, 2), "2020-01-02"),
        (np.timedelta64(5, "s"), "0:00:05"),
        (np.float16(1.5), 1.5),
        (np.float16("inf"), None),
        (np.float32("nan"), None),
        (np.int64(2**62 + 1), 2**62 + 1),  # exact, past a float's 2**53
        (np.uint64(2**64 - 1), 2**64 - 1),
        (np.complex128(1 + 2j), "(1+2j)"),  # as a complex: its str
        (1 + 2j, "(1+2j)"),
        (np.array([1.5, np.inf]), [1.5, None]),
        (True, True),
        (None, None),
        ("text", "text"),
        (3, 3),
        (float("-inf"), None),
        (_Colour.RED, "red"),
        ({1: {"b", "a"}}, {"1": ["a", "b"]}),
    ],
)
def test_the_rest_is_written_as_before(value: Any, expected: Any) -> None:
    got = _json.jsonable(value)
    assert got == expected
    assert type(got) is type(expected)


def test_pandas_missing_values_are_null() -> None:
    pd = pytest.importorskip("pandas")
    from modelship._json import jsonable

    assert jsonable({"t": pd.NaT, "n": pd.NA, "x": [pd.NaT, 1]}) == {
        "t": None,
        "n": None,
        "x": [None, 1],
    }
