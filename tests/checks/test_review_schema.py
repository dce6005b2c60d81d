"""Schema defects found in review: field types of documents, nullable dtypes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from modelship.checks import Schema
from modelship.errors import ConfigError


def schema_doc() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = 200
    schema = Schema.infer({"income": rng.random(n), "plan": rng.choice(["basic", "pro"], n)})
    return json.loads(schema.to_json())


def income(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["columns"][0]  # type: ignore[no-any-return]


def plan(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["columns"][1]  # type: ignore[no-any-return]


EDITS: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    (
        "nullable text",
        lambda d: income(d).__setitem__("nullable", "false"),
        "'nullable' must be bool",
    ),
    (
        "nullable a number",
        lambda d: income(d).__setitem__("nullable", 0),
        "'nullable' must be bool",
    ),
    (
        "categories text",
        lambda d: plan(d).__setitem__("categories", "basic"),
        "'categories' must be",
    ),
    ("a category a number", lambda d: plan(d).__setitem__("categories", [1, 2]), "'categories'"),
    ("null_rate above 1", lambda d: income(d).__setitem__("null_rate", 7.5), "share in \\[0, 1\\]"),
    ("inf_rate below 0", lambda d: income(d).__setitem__("inf_rate", -0.1), "share in \\[0, 1\\]"),
    ("null_rate text", lambda d: income(d).__setitem__("null_rate", "0.1"), "'null_rate' must be"),
    ("null_rate a boolean", lambda d: income(d).__setitem__("null_rate", False), "'null_rate'"),
    ("minimum text", lambda d: income(d).__setitem__("minimum", "0"), "'minimum' must be"),
    ("minimum above maximum", lambda d: income(d).__setitem__("minimum", 5.0), "above 'maximum'"),
    ("dtype a number", lambda d: income(d).__setitem__("dtype", 64), "'dtype' must be str"),
]


@pytest.mark.parametrize(("label", "edit", "said"), EDITS, ids=[e[0] for e in EDITS])
def test_a_schema_document_with_a_field_of_the_wrong_type_or_range_is_refused(
    label: str, edit: Callable[[dict[str, Any]], object], said: str
) -> None:
    doc = schema_doc()
    edit(doc)
    with pytest.raises(ConfigError, match=said):
        Schema.from_json(json.dumps(doc))


def test_a_schema_document_as_written_still_reads() -> None:
    doc = schema_doc()
    assert Schema.from_json(json.dumps(doc)).to_dict() == doc


def nullable_frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": pd.array(rng.integers(18, 90, n), dtype="Int64"),
            "member": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "score": pd.array(rng.random(n), dtype="Float64"),
        }
    )


def with_missing(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.loc[0, list(out.columns)] = pd.NA
    return out


@pytest.mark.parametrize("missing_in", ["reference", "current"])
def test_nullable_pandas_dtypes_are_the_same_dtype_with_or_without_a_missing_value(
    missing_in: str,
) -> None:
    reference, current = nullable_frame(), nullable_frame()
    if missing_in == "reference":
        reference = with_missing(reference)
    else:
        current = with_missing(current)
    result = Schema.infer(reference).validate(current, null_rate_tolerance=1.0)
    dtype_findings = [
        f
        for c in result.columns.values()
        for f in c.details.get("findings", [])
        if f["finding"] == "dtype_changed"
    ]
    assert dtype_findings == []
    assert {c.name: c.dtype for c in Schema.infer(reference).columns} == {
        "age": "int64",
        "member": "bool",
        "score": "float64",
    }


def test_nullable_polars_dtypes_are_the_same_dtype_with_or_without_a_null() -> None:
    reference = pl.from_pandas(with_missing(nullable_frame()))
    current = pl.from_pandas(nullable_frame())
    result = Schema.infer(reference).validate(current)
    assert result.status.value == "pass", result.reason


def test_numpy_integers_that_become_floats_are_still_a_dtype_change() -> None:
    schema = Schema.infer({"age": np.arange(50)})
    result = schema.validate({"age": np.arange(50, dtype=np.float64)})
    assert "dtype changed: int64 -> float64" in result.columns["age"].reason
