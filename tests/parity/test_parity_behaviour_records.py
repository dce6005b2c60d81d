"""Behaviour records read back only as they were written, and a replay blames production
only for what production did."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import modelship.parity._behaviour as behaviour_module
from modelship.errors import ConfigError
from modelship.parity import (
    BehaviourRecord,
    EnvironmentSnapshot,
    SnapshotError,
    compare,
    compare_behaviour,
    record_behaviour,
)


def record_document(
    inputs: dict[str, Any], outputs: dict[str, Any] | None = None, **extra: Any
) -> str:
    document = {"schema_version": 1, "kind": "array", "inputs": inputs, "outputs": outputs or {}}
    return json.dumps({**document, **extra})


def column(dtype: Any, values: list[Any]) -> dict[str, Any]:
    return {"dtype": dtype, "values": values}


# --- values must be of their column's type: nothing is coerced or overflows -------------


@pytest.mark.parametrize(
    ("dtype", "values"),
    [
        ("|i1", [1000]),
        ("|u1", [-1]),
        ("<i8", [10**30]),
        ("<i8", [True]),
        ("<i8", [1.5]),
        ("<i8", [[1, 2]]),
        ("<M8[ns]", [10**30]),
        ("<M8[ns]", [1.5]),
        ("<M8", [1]),
        ("|b1", ["x"]),
        ("|b1", [1]),
        ("<f8", ["1.5"]),
        ("<f8", [True]),
        ("<f8", [10**400]),
        ("<f4", [1e300]),
        ("<U1", ["ab"]),
        ("<U3", [5]),
        ("|O", [[1, 2]]),
        ("|O", [{"a": 1}]),
    ],
)
def test_a_stored_value_that_is_not_of_its_columns_type_is_refused(
    dtype: str, values: list[Any]
) -> None:
    with pytest.raises(SnapshotError, match="column '0' has values that are not"):
        BehaviourRecord.from_json(record_document({"0": column(dtype, values)}))


@pytest.mark.parametrize(
    "dtype",
    ["int64", "float", "(2,)<f8", "f8,i4", "[('a', '<f8')]", "<c16", "|S3", "|V8",
     "<U99999999999999999999", None, 123, "garbage"],
)  # fmt: skip
def test_a_stored_dtype_to_json_does_not_write_is_refused(dtype: Any) -> None:
    with pytest.raises(SnapshotError, match="not one a behaviour record stores"):
        BehaviourRecord.from_json(record_document({"0": column(dtype, [1])}))


def test_a_declared_string_width_is_not_allocated_beyond_the_longest_value() -> None:
    text = record_document({"0": column("<U25000000", ["a", "b", "c"])})
    record = BehaviourRecord.from_json(text)
    assert record.inputs["0"].tolist() == ["a", "b", "c"]
    assert record.inputs["0"].nbytes == 12


def test_a_wide_string_column_round_trips() -> None:
    record = record_behaviour(lambda x: x, np.array(["a", "bc"], dtype="<U50"))
    again = BehaviourRecord.from_json(record.to_json())
    assert again == record
    assert again.inputs["0"].tolist() == ["a", "bc"]


def test_a_stored_column_larger_than_the_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(behaviour_module, "MAX_COLUMN_BYTES", 80)
    with pytest.raises(SnapshotError, match="more than a canary column holds"):
        BehaviourRecord.from_json(record_document({"0": column("<f8", [1.0] * 11)}))
    with pytest.raises(ConfigError, match="more than the 80 a canary column may"):
        record_behaviour(lambda x: x, np.zeros(11))


def test_a_stored_record_with_a_field_to_json_does_not_write_is_refused() -> None:
    text = record_document({"0": column("<f8", [1.0])}, bogus=1)
    with pytest.raises(SnapshotError, match=r"unknown field\(s\) \['bogus'\]"):
        BehaviourRecord.from_json(text)


@pytest.mark.parametrize("ndim", [0, 3, -1])
def test_a_stored_record_with_an_input_ndim_other_than_1_or_2_is_refused(ndim: int) -> None:
    text = record_document({"0": column("<f8", [1.0])}, input_ndim=ndim)
    with pytest.raises(SnapshotError, match="'input_ndim' must be 1 or 2"):
        BehaviourRecord.from_json(text)


# --- the layout of an array record: columns "0" to "n-1" ---------------------------------


@pytest.mark.parametrize("names", [["a"], [], ["0", "5"], ["1"]])
def test_a_stored_array_record_whose_inputs_are_not_columns_0_to_n_is_refused(
    names: list[str],
) -> None:
    text = record_document({name: column("<f8", [1.0]) for name in names})
    with pytest.raises(SnapshotError, match="the inputs of an array record are its columns"):
        BehaviourRecord.from_json(text)


def test_the_constructor_refuses_an_array_record_it_could_not_replay() -> None:
    with pytest.raises(ConfigError, match="the inputs of an array record are its columns"):
        BehaviourRecord(kind="array", inputs={"a": np.zeros(2)}, outputs={})


def test_the_constructor_refuses_an_unknown_kind() -> None:
    with pytest.raises(ConfigError, match="'kind' must be one of array"):
        BehaviourRecord(kind="sql", inputs={}, outputs={})


# --- non-finite floats among strings ----------------------------------------------------

MIXED = np.array(["a", float("nan"), "inf", float("-inf"), "nan", None], dtype=object)


def test_strings_that_spell_non_finite_floats_stay_strings_through_json() -> None:
    record = record_behaviour(lambda x: {"c": MIXED}, np.zeros(6))
    values = BehaviourRecord.from_json(record.to_json()).outputs["c"].tolist()
    assert [type(v).__name__ for v in values] == ["str", "float", "str", "float", "str", "NoneType"]
    assert values[2:5] == ["inf", float("-inf"), "nan"]


def test_a_stored_record_compares_equal_to_the_transform_it_recorded() -> None:
    record = BehaviourRecord.from_json(
        record_behaviour(lambda x: {"c": MIXED}, np.zeros(6)).to_json()
    )
    assert compare_behaviour(record, lambda x: {"c": MIXED.copy()}) == ()


def test_a_version_1_record_is_read_as_it_was_written() -> None:
    # Version 1 wrote a NaN among strings as "nan": it is read back as the float it was.
    text = record_document({"0": column("<f8", [1.0, 2.0])}, {"c": column("|O", ["a", "nan"])})
    values = BehaviourRecord.from_json(text).outputs["c"].tolist()
    assert values[0] == "a"
    assert isinstance(values[1], float)
    assert np.isnan(values[1])


# --- what production returns is production's; a bad record is the caller's ----------------


@pytest.mark.parametrize(
    "returned",
    [lambda x: x[None], lambda x: 5.0, lambda x: None, lambda x: {"0": x, "1": x}],
    ids=["3-D", "0-D", "None", "2-D column"],
)
def test_a_production_transform_returning_no_table_is_one_finding(returned: Any) -> None:
    record = record_behaviour(lambda x: x * 2.0, np.array([[1.0, 2.0], [3.0, 4.0]]))
    [finding] = compare_behaviour(record, returned)
    assert finding.check == "preprocessing_behaviour"
    assert "returned what is not a table" in finding.message


@pytest.mark.parametrize("record", ["x", {}, None])
def test_compare_behaviour_refuses_what_is_not_a_behaviour_record(record: Any) -> None:
    with pytest.raises(ConfigError, match="record must be a BehaviourRecord"):
        compare_behaviour(record, lambda x: x)


@pytest.mark.parametrize(
    ("argument", "value"),
    [("fingerprint", "abc"), ("fingerprint", {"a": 1}), ("behaviour", "abc"), ("behaviour", {})],
)
def test_compare_refuses_a_fingerprint_or_record_of_the_wrong_type(
    snapshot: EnvironmentSnapshot, argument: str, value: Any
) -> None:
    with pytest.raises(ConfigError, match=f"{argument} must be a "):
        compare(snapshot, snapshot, preprocessing=lambda x: x, **{argument: value})
