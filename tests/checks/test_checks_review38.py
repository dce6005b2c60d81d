"""Review 38 fixes (checks): float32/float16 profiles written before the decimal bounds
read back; a check result refuses column results keyed by another name than their own."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelship.checks import (
    CheckResult,
    ColumnResult,
    DriftProfile,
    SuiteResult,
)
from modelship.errors import ConfigError

# Written by DriftProfile.from_data at commit 481a751 (schema_version 1, as now) for a
# float32 column "a" and a float16 column "h" of three rows: the schema's bounds are the
# exact doubles of the narrow values (-0.3899421691894531, -2.927734375), not the shortest
# decimals the library writes now (-0.38994217, -2.928).
OLD_NARROW_PROFILE = """
{"schema_version": 1, "summary_size": 1001, "schema": {"schema_version": 1, "columns": [
 {"name": "a", "kind": "numeric", "dtype": "float32", "nullable": false, "null_rate": 0.0,
  "minimum": -0.3899421691894531, "maximum": 0.30660367012023926, "categories": null,
  "inf_rate": 0.0},
 {"name": "h", "kind": "numeric", "dtype": "float16", "nullable": false, "null_rate": 0.0,
  "minimum": -2.927734375, "maximum": 1.099609375, "categories": null, "inf_rate": 0.0}]},
 "numeric": {
  "a": {"n_rows": 3, "n_missing": 0, "n_inf": 0, "std": 0.29210053687068427,
        "summary": {"n": 3, "quantiles": [-0.3899421691894531, 0.10000000149011612,
                                          0.30660367012023926], "ranks": [1, 2, 3]}},
  "h": {"n_rows": 3, "n_missing": 0, "n_inf": 0, "std": 1.7741474330821736,
        "summary": {"n": 3, "quantiles": [-2.927734375, 0.5, 1.099609375],
                    "ranks": [1, 2, 3]}}},
 "categorical": {}}
"""


def _old_profile() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OLD_NARROW_PROFILE)
    return loaded


def test_a_narrow_float_profile_written_before_decimal_bounds_reads_back() -> None:
    profile = DriftProfile.from_json(OLD_NARROW_PROFILE)  # before: ConfigError

    assert profile.schema["a"].minimum == -0.3899421691894531
    assert profile.schema["h"].maximum == 1.099609375
    data = pd.DataFrame(
        {
            "a": np.array([-0.38994217, 0.1, 0.30660367], dtype=np.float32),
            "h": np.array([-2.928, 0.5, 1.1], dtype=np.float16),
        }
    )
    # Its own values judged against its schema: inside the bounds the old version wrote.
    assert profile.schema.check(data).run().status.value == "pass"


@pytest.mark.parametrize(
    ("column", "field", "edited"),
    [
        # the next float32 value up from the profiled minimum
        ("a", "minimum", float(np.nextafter(np.float32(-0.38994217), np.float32(0)))),
        ("a", "maximum", 0.31),
        # the next float16 value down from the profiled minimum
        ("h", "minimum", float(np.nextafter(np.float16(-2.928), np.float16(-3)))),
    ],
)
def test_a_bound_edited_to_another_value_at_the_column_precision_is_refused(
    column: str, field: str, edited: float
) -> None:
    data = _old_profile()
    index = 0 if column == "a" else 1
    data["schema"]["columns"][index][field] = edited

    with pytest.raises(ConfigError, match=f"column '{column}': the schema's '{field}'"):
        DriftProfile.from_json(json.dumps(data))


# --- a check result keys each column result by its own name --------------------------------


def test_column_results_keyed_by_another_name_are_refused_at_construction() -> None:
    age = ColumnResult(name="age", status="pass", reason="ok")

    with pytest.raises(ConfigError, match=r"under 'Age \(years\)' the result of 'age'"):
        CheckResult(name="drift", status="pass", columns={"Age (years)": age})


def test_column_results_keyed_by_their_names_round_trip_through_json() -> None:
    age = ColumnResult(name="age", status="pass", reason="ok")
    suite = SuiteResult([CheckResult(name="drift", status="pass", columns={"age": age})])

    assert SuiteResult.from_json(suite.to_json()) == suite


@pytest.mark.parametrize("columns", [{"age": {"name": "age"}}, [{"name": "age"}], ["age"]])
def test_a_column_result_that_is_not_a_column_result_is_a_config_error(columns: Any) -> None:
    with pytest.raises(ConfigError, match="not a ColumnResult"):
        CheckResult(name="drift", status="pass", columns=columns)
