"""Review 46: malformed result records, SchemaCheck's schema, a predict_proba of no column.

A result record built by hand with plain dicts in place of records, or a result whose
``to_dict`` raises, is an ``error`` result of its check and the suite's other results are
still reported; records refuse a wrong status or verdict as ``CheckResult`` does;
``SchemaCheck`` refuses what is not a ``Schema`` when built, saying how to get one; a
``predict_proba`` of no column is a ``CheckInputError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from modelship.checks import (
    BiasResult,
    CheckResult,
    Degradation,
    DegradationResult,
    Disparity,
    DriftProfile,
    GroupMetrics,
    MetricComparison,
    PerformanceComparison,
    Schema,
    SchemaCheck,
    run_suite,
)
from modelship.errors import CheckInputError, InvalidParameter

_DISPARITY: dict[str, Any] = {
    "name": "d",
    "metric": "demographic_parity_difference",
    "feature_set": ("sex",),
    "value": 0.03,
    "ci_low": 0.0,
    "ci_high": 0.06,
    "threshold": 0.1,
    "passed": True,
    "status": "pass",
}

_COMPARISON: dict[str, Any] = {
    "name": "roc_auc",
    "candidate": 0.91,
    "baseline": 0.90,
    "difference": 0.01,
    "ci_low": -0.002,
    "ci_high": 0.022,
    "margin": 0.01,
    "method": "delong",
    "verdict": "not worse within tolerance",
    "status": "pass",
}


@attrs.frozen(kw_only=True)
class _UnwritableResult(CheckResult):
    """A user's result type whose to_dict fails with a plain Python error."""

    def to_dict(self) -> dict[str, Any]:
        raise AttributeError("'dict' object has no attribute 'metric'")


def _other_check() -> CheckResult:
    return CheckResult(name="other", status="fail", reason="still reported")


def test_result_whose_to_dict_raises_is_an_error_and_other_checks_still_run() -> None:
    def unwritable() -> CheckResult:
        return _UnwritableResult(name="mine", status="pass")

    suite = run_suite([unwritable, _other_check])

    assert [(r.name, r.status.value) for r in suite.results] == [
        ("unwritable", "error"),
        ("other", "fail"),
    ]
    reason = suite.results[0].reason
    assert "cannot be written as JSON" in reason
    assert "AttributeError" in reason
    suite.to_json()  # the report as a whole is written


def test_result_whose_to_dict_exits_still_ends_the_suite() -> None:
    @attrs.frozen(kw_only=True)
    class Exiting(CheckResult):
        def to_dict(self) -> dict[str, Any]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite([lambda: Exiting(name="x", status="pass")])


def test_bias_result_with_plain_dicts_for_disparities_raises_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"disparities\['dp'\]=.*instance of Disparity"):
        BiasResult(name="bias", status="pass", disparities={"dp": {"value": 0.03}})


def test_bias_result_with_a_list_of_groups_raises_invalid_parameter() -> None:
    group = GroupMetrics(label="F", feature_set=("sex",), count=40)
    with pytest.raises(InvalidParameter, match=r"groups=.*mapping of names to .*GroupMetrics"):
        BiasResult(name="bias", status="pass", groups=[group])


def test_bias_check_returning_plain_dicts_is_an_error_in_the_suite() -> None:
    def custom_bias_check() -> CheckResult:
        return BiasResult(name="bias", status="pass", disparities={"dp": {"value": 0.03}})

    suite = run_suite([custom_bias_check, _other_check])

    assert [(r.name, r.status.value) for r in suite.results] == [
        ("custom_bias_check", "error"),
        ("other", "fail"),
    ]


def test_degradation_result_with_plain_dicts_for_metrics_raises_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"metrics\['auc'\]=.*MetricComparison"):
        DegradationResult(name="d", status="pass", metrics={"auc": {"difference": 0.0}})


def test_degradation_result_with_plain_dicts_for_slices_raises_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"slices\['young'\]\['auc'\]=.*MetricComparison"):
        DegradationResult(name="d", status="pass", slices={"young": {"auc": {}}})


def test_degradation_result_with_a_dict_for_performance_raises_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"performance=.*PerformanceComparison"):
        DegradationResult(name="d", status="pass", performance={"candidate": {}})


def test_result_records_still_round_trip_through_json() -> None:
    bias = BiasResult(
        name="bias",
        status="pass",
        disparities={"dp": Disparity(**_DISPARITY)},
        groups={"F": GroupMetrics(label="F", feature_set=("sex",), count=40)},
    )
    comparison = MetricComparison(**_COMPARISON)
    degradation = DegradationResult(
        name="d",
        status="pass",
        metrics={"roc_auc": comparison},
        slices={"young": {"roc_auc": comparison}},
        performance=PerformanceComparison(candidate={"p95_ms": 2.0}),
    )
    assert BiasResult.from_dict(bias.to_dict()) == bias
    assert DegradationResult.from_dict(degradation.to_dict()) == degradation


def test_disparity_with_unknown_status_raises_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"status='ok' is not allowed; status must be"):
        Disparity(**{**_DISPARITY, "status": "ok"})


def test_metric_comparison_with_unknown_status_raises_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"status='ok' is not allowed; status must be"):
        MetricComparison(**{**_COMPARISON, "status": "ok"})


def test_metric_comparison_with_unknown_verdict_raises_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"verdict='bad' is not allowed; verdict must be"):
        MetricComparison(**{**_COMPARISON, "verdict": "bad"})


def test_metric_comparison_without_verdict_is_accepted() -> None:
    comparison = MetricComparison(**{**_COMPARISON, "verdict": None, "status": "error"})
    assert comparison.verdict is None


_DATA = {"x": np.arange(10.0)}


def test_schema_check_given_a_drift_profile_says_to_pass_its_schema() -> None:
    profile = DriftProfile.from_data(_DATA)
    with pytest.raises(InvalidParameter, match=r"pass profile\.schema"):
        SchemaCheck(schema=profile, current=_DATA)  # type: ignore[arg-type]
    assert SchemaCheck(schema=profile.schema, current=_DATA).run().status.value == "pass"


@pytest.mark.parametrize("path", ["schema.json", Path("schema.json")])
def test_schema_check_given_a_path_says_to_read_it_with_from_json(path: Any) -> None:
    with pytest.raises(InvalidParameter, match=r"Schema\.from_json\(Path\(path\)\.read_text\(\)\)"):
        SchemaCheck(schema=path, current=_DATA)


def test_schema_check_given_none_raises_invalid_parameter() -> None:
    expected = r"schema=None is not allowed; schema must be a Schema"
    with pytest.raises(InvalidParameter, match=expected):
        SchemaCheck(schema=None, current=_DATA)  # type: ignore[arg-type]


def test_schema_check_given_a_schema_read_from_json_runs(tmp_path: Path) -> None:
    saved = tmp_path / "schema.json"
    saved.write_text(Schema.infer(_DATA).to_json())
    check = SchemaCheck(schema=Schema.from_json(saved.read_text()), current=_DATA)
    assert check.run().status.value == "pass"


class _NoColumns:
    classes_ = np.array([0, 1])

    def predict_proba(self, x: Any) -> Any:
        return np.zeros((len(x), 0))


def test_degradation_with_predict_proba_of_no_column_raises_check_input_error() -> None:
    n = 100
    y = np.tile([0, 1], n // 2)
    check = Degradation(
        y=y,
        candidate=_NoColumns(),
        baseline_scores=np.full(n, 0.5),
        X=np.zeros((n, 1)),
        metrics=["roc_auc"],
    )
    with pytest.raises(CheckInputError, match="predict_proba gives 0 columns"):
        check.run()


def test_a_report_over_an_input_named_by_a_file_localhost_url_is_refused(
    tmp_path: Path,
) -> None:
    # file://localhost/abs is read as /abs (stop 46): the same-file guard must see it so,
    # or the report replaced the input it had just read (exit 0).
    from modelship.cli import main

    rows = "x\n" + "".join(f"{i / 7}\n" for i in range(50))
    (tmp_path / "ref.csv").write_text(rows)
    current = tmp_path / "cur.csv"
    current.write_text(rows)
    code = main(
        [
            "check", "drift", "--reference", str(tmp_path / "ref.csv"),
            "--current", f"file://localhost{current}", "--json", str(current),
        ]
    )  # fmt: skip
    assert code == 2
    assert current.read_text() == rows
