"""Review 40: a Schema pickled before ``rows_read_whole`` existed reads rows as its own
document does (``Schema.from_dict``), not always whole.

Read whole, a list of rows gave every column one dtype; a pickle whose columns differ in
dtype was not made so, and kept a leniency (booleans passing an integer column) its JSON
document no longer gets. "Pickled before" is imitated by pickling with a ``__getstate__``
that leaves the field out, as attrs did before the field existed.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from modelship.checks import DriftProfile, Schema

# Columns of one dtype, of several, and none.
REFERENCES: dict[str, dict[str, Any]] = {
    "one-dtype": {"x": np.arange(50) % 5, "y": np.arange(100, 150)},
    "several-dtypes": {"x": np.arange(50) % 5, "y": np.arange(100, 150), "z": np.arange(50) + 0.5},
    "no-columns": {},
}


def _pickled_before_the_field(obj: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``obj`` pickled as a modelship without ``rows_read_whole`` did, then unpickled."""
    fields = Schema.__getstate__

    def old_state(self: Schema) -> dict[str, Any]:
        state = fields(self)
        del state["rows_read_whole"]
        return state

    with monkeypatch.context() as patch:
        patch.setattr(Schema, "__getstate__", old_state)
        data = pickle.dumps(obj)
    return pickle.loads(data)


def _document_before_the_field(schema: Schema) -> Schema:
    document = schema.to_dict()
    del document["row_lists"]  # as written before rows were typed column by column
    return Schema.from_dict(document)


@pytest.mark.parametrize("reference", REFERENCES.values(), ids=REFERENCES.keys())
def test_an_old_pickled_schema_reads_rows_as_its_old_document_does(
    reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = Schema.infer(reference) if reference else Schema([])
    unpickled = _pickled_before_the_field(schema, monkeypatch)
    assert unpickled.rows_read_whole is _document_before_the_field(schema).rows_read_whole
    assert unpickled == schema


def test_an_old_pickled_schema_whose_columns_differ_in_dtype_fails_booleans_in_an_int_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = Schema.infer(REFERENCES["several-dtypes"])
    unpickled = _pickled_before_the_field(schema, monkeypatch)
    rows = [(bool(i % 2), 100 + i, i) for i in range(50)]  # z: whole numbers, as a client sends
    result = unpickled.validate(rows, columns=["x", "y", "z"])
    assert result.status.value == "fail", result.reason
    assert "'x': kind changed: numeric -> categorical (booleans)" in result.reason


def test_an_old_pickled_schema_of_one_dtype_still_reads_rows_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unpickled = _pickled_before_the_field(Schema.infer(REFERENCES["one-dtype"]), monkeypatch)
    assert unpickled.rows_read_whole is True


def test_an_old_pickled_drift_profile_reads_rows_as_its_schemas_old_document_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = DriftProfile.from_data(REFERENCES["several-dtypes"])
    unpickled = _pickled_before_the_field(profile, monkeypatch)
    assert unpickled.schema.rows_read_whole is False
    assert unpickled.schema == profile.schema
