"""Column results: generic for every check, with drift's own fields on DriftColumnResult."""

from __future__ import annotations

import json

import attrs

from modelship.checks import (
    CheckResult,
    ColumnResult,
    DataDrift,
    DriftColumnResult,
    Schema,
    SuiteResult,
)

DRIFT_ONLY = {"kind", "effect_method", "effect_size", "effect_threshold", "drifted"}


def test_a_column_result_has_no_drift_fields() -> None:
    assert DRIFT_ONLY.isdisjoint(field.name for field in attrs.fields(ColumnResult))


def test_a_drift_column_result_is_a_column_result_with_the_drift_fields() -> None:
    names = {field.name for field in attrs.fields(DriftColumnResult)}
    assert issubclass(DriftColumnResult, ColumnResult)
    assert names >= DRIFT_ONLY


def test_drift_checks_give_drift_column_results() -> None:
    data = {"x": [1.0, 2.0, 3.0, 4.0]}
    result = DataDrift(reference=data, current=data).run()
    assert isinstance(result.columns["x"], DriftColumnResult)


def test_schema_checks_give_plain_column_results() -> None:
    data = {"x": [1.0, 2.0]}
    result = Schema.infer(data).check(data).run()
    assert type(result.columns["x"]) is ColumnResult


def test_a_column_result_given_drift_fields_builds_a_drift_column_result() -> None:
    column = ColumnResult(name="x", status="pass", drifted=False)
    assert type(column) is DriftColumnResult
    assert column.drifted is False


def test_plain_column_results_write_no_drift_keys() -> None:
    assert DRIFT_ONLY.isdisjoint(ColumnResult(name="x", status="pass").to_dict())


def test_a_drift_result_written_with_every_key_reads_back_as_a_drift_result() -> None:
    written = DriftColumnResult(name="x", status="warn").to_dict()
    assert set(written) >= DRIFT_ONLY
    assert type(ColumnResult.from_dict(written)) is DriftColumnResult


def test_a_suite_mixing_both_round_trips_with_the_classes_kept() -> None:
    suite = SuiteResult(
        [
            CheckResult(
                name="c",
                status="pass",
                columns=[
                    ColumnResult(name="a", status="pass"),
                    DriftColumnResult(name="b", status="pass", drifted=False),
                ],
            )
        ]
    )
    again = SuiteResult.from_json(suite.to_json())
    assert again == suite
    assert [type(c) for c in again.results[0].columns.values()] == [
        ColumnResult,
        DriftColumnResult,
    ]
    assert json.loads(suite.to_json())["schema_version"] == 1


def test_the_effect_size_column_appears_only_for_checks_with_drift_columns() -> None:
    plain = CheckResult(name="c", status="pass", columns=[ColumnResult(name="a", status="pass")])
    drift = CheckResult(
        name="d", status="pass", columns=[DriftColumnResult(name="a", status="pass")]
    )
    assert "effect size" not in plain.to_section().headings
    assert "effect size" in drift.to_section().headings
