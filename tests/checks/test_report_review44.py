"""Reports of a suite: what one odd result, an unwritable report, a close p-value, a bad
argument or a name in the data does to them (review 44)."""

from __future__ import annotations

import copy
import json
import pickle
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modelship as ms
from modelship.checks import CheckResult, ColumnResult, SuiteResult, run_suite
from modelship.cli import main
from modelship.errors import ConfigError, InvalidParameter
from modelship.report import render_json, render_text

# --- one detail JSON cannot hold --------------------------------------------------------


def _odd() -> CheckResult:  # counts of a column holding both 1 and "1"
    return CheckResult(name="labels", status="fail", details={"counts": {1: 10, "1": 3}})


@pytest.mark.parametrize("render", ["summary", "to_markdown", "to_junit", "_repr_html_"])
def test_a_detail_json_cannot_hold_does_not_stop_the_formats_that_do_not_show_details(
    render: str,
) -> None:
    suite = SuiteResult([_odd()])
    assert "labels" in getattr(suite, render)()


def test_a_detail_json_cannot_hold_still_refuses_the_json_report() -> None:
    suite = SuiteResult([_odd()])
    with pytest.raises(ConfigError, match="distinct keys"):
        suite.to_json()
    with pytest.raises(ConfigError, match="distinct keys"):
        render_json(suite.to_report())


def test_run_suite_makes_a_result_json_cannot_hold_an_error_naming_its_check() -> None:
    suite = run_suite([_odd, lambda: CheckResult(name="n", status="pass", details={"n": 10**5000})])
    assert [(r.name, r.status.value) for r in suite.results] == [
        ("_odd", "error"),
        ("<lambda>", "error"),
    ]
    assert "cannot be written as JSON" in suite.results[0].reason
    assert '"status": "error"' in suite.to_json()


# --- a report that cannot be written -----------------------------------------------------


def _csv(path: Path, shift: float, seed: int) -> Path:
    values = np.round(np.random.default_rng(seed).normal(shift, 1, 500), 4)
    path.write_text("a\n" + "".join(f"{v}\n" for v in values))
    return path


def test_an_unwritable_report_leaves_the_others_and_the_summary_and_exits_2(
    tmp_path: Path, capsys: Any
) -> None:
    reference, current = _csv(tmp_path / "r.csv", 0, 0), _csv(tmp_path / "c.csv", 2, 1)
    junit, markdown = tmp_path / "u.xml", tmp_path / "u.md"
    code = main(
        [
            "check", "drift", "--reference", str(reference), "--current", str(current),
            "--json", "/proc/nope/x.json", "--junit", str(junit), "--markdown", str(markdown),
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2
    assert junit.read_text().count("<failure") >= 1
    assert "drift" in markdown.read_text()
    assert out.splitlines()[-1].startswith("FAILED (1 check")
    assert "cannot write /proc/nope/x.json" in err


# --- the digits of a p-value and its threshold -------------------------------------------


@pytest.mark.parametrize(
    ("p_value", "threshold"), [(0.04997, 0.04998), (0.04998, 0.04998), (0.0499951, 0.04998)]
)
def test_a_p_value_and_its_threshold_are_printed_in_their_true_order(
    p_value: float, threshold: float
) -> None:
    column = ColumnResult(name="age", status="fail", p_value=p_value, threshold=threshold)
    cells = column.to_entry().cells
    shown = float(cells["p-value"]), float(cells["threshold"])
    assert (shown[0] > shown[1]) - (shown[0] < shown[1]) == (p_value > threshold) - (
        p_value < threshold
    )


def test_a_distance_and_its_threshold_are_printed_in_their_true_order() -> None:
    cells = (
        ColumnResult(name="age", status="fail", statistic=0.100004, threshold=0.1).to_entry().cells
    )
    assert float(cells["statistic"]) > float(cells["threshold"])


# --- arguments of results ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"status": "passed"}, "status"),
        ({"severity": "high"}, "severity"),
        ({"statistic": "abc"}, "statistic"),
        ({"p_value": [1]}, "p_value"),
        ({"details": [1, 2]}, "details"),
        ({"details": "abc"}, "details"),
        ({"columns": "abc"}, "columns"),
        ({"columns": 5}, "columns"),
        ({"name": None}, "name"),
    ],
)
def test_a_check_result_refuses_a_bad_field_naming_it(
    fields: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{parameter}="):
        CheckResult(**{"name": "x", "status": "pass", **fields})


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [({"status": "nope"}, "status"), ({"statistic": "abc"}, "statistic"), ({"name": 1}, "name")],
)
def test_a_column_result_refuses_a_bad_field_naming_it(
    fields: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{parameter}="):
        ColumnResult(**{"name": "x", "status": "pass", **fields})


def test_results_keep_numpy_numbers_and_generators_of_columns() -> None:
    columns = (ColumnResult(name=n, status="pass") for n in ("a", "b"))
    result = CheckResult(name="x", status="pass", statistic=np.float32(0.5), columns=columns)
    assert result.statistic == 0.5
    assert list(result.columns) == ["a", "b"]


@pytest.mark.parametrize("results", [[1], "abc", None])
def test_a_suite_refuses_what_is_not_a_list_of_check_results(results: Any) -> None:
    with pytest.raises(ConfigError, match=r"^results(\[0\])?="):
        SuiteResult(results)


@pytest.mark.parametrize("read", [SuiteResult.from_dict, SuiteResult.from_json])
def test_reading_a_suite_from_none_is_a_config_error(read: Any) -> None:
    with pytest.raises(ConfigError):
        read(None)


def test_to_json_refuses_an_indent_that_is_no_number_nor_text() -> None:
    with pytest.raises(ConfigError, match=r"^indent="):
        SuiteResult([]).to_json(indent=[1])  # type: ignore[arg-type]


# --- tags of a version ---------------------------------------------------------------------


def test_a_deeply_nested_tag_is_refused_with_a_short_message() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(100_000):
        inner["a"] = {}
        inner = inner["a"]
    registry = ms.open_registry("memory://review44-deep")
    with pytest.raises(ConfigError, match="must map strings to strings") as caught:
        registry.register(model_name="m", model=b"x", serializer="bytes", tags={"p": deep})
    assert len(str(caught.value)) < 300


def test_a_huge_tag_is_refused_with_a_short_message() -> None:
    registry = ms.open_registry("memory://review44-big")
    with pytest.raises(ConfigError, match="must map strings to strings") as caught:
        registry.register(
            model_name="m", model=b"x", serializer="bytes", tags={"p": list(range(10**6))}
        )
    assert len(str(caught.value)) < 300


# --- Markdown ------------------------------------------------------------------------------


def test_a_name_in_the_data_is_no_mention_in_markdown() -> None:
    column = ColumnResult(name="@octocat", status="fail", reason="new value @octocat")
    markdown = SuiteResult(
        [CheckResult(name="drift", status="fail", columns=[column])]
    ).to_markdown()
    assert "@octocat" not in markdown
    assert "@<!-- -->octocat" in markdown


def test_a_check_name_in_the_data_is_no_mention_in_the_markdown_summary_line() -> None:
    column = ColumnResult(name="age", status="fail")
    markdown = SuiteResult(
        [CheckResult(name="@octocat", status="fail", columns=[column])]
    ).to_markdown()
    assert "<summary>@<!-- -->octocat: 1 column</summary>" in markdown
    assert re.findall(r"@(?!<!-- -->)", markdown) == []


# --- what a custom check's result may hold (review 44, second pass) ---------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (np.bool_(True), 1.0),
        (np.int64(3), 3.0),
        (Decimal("0.012"), 0.012),
        (np.array(0.25), 0.25),
        (Fraction(1, 4), 0.25),
        (10**400, float("inf")),
    ],
    ids=["numpy-bool", "numpy-int", "decimal", "0-d-array", "fraction", "huge-int"],
)
def test_a_result_takes_any_number_float_takes(number: Any, expected: float) -> None:
    check = CheckResult(name="x", status="pass", statistic=number, threshold=number)
    column = ColumnResult(name="x", status="pass", p_value=number)
    assert (check.statistic, check.threshold, column.p_value) == (expected,) * 3


@pytest.mark.parametrize("number", ["0.3", b"0.3", 1j, np.array([0.3]), object()])
def test_a_result_refuses_what_is_no_number(number: Any) -> None:
    with pytest.raises(ConfigError, match=r"^statistic="):
        CheckResult(name="x", status="pass", statistic=number)


@pytest.mark.parametrize(
    "details",
    [
        lambda: [("k", 1)],
        lambda: pd.Series({"k": 1}),
        lambda: iter([("k", 1)]),
        {"k": 1}.items,
    ],
    ids=["pairs", "series", "iterator", "items"],
)
def test_a_result_takes_details_dict_takes(details: Any) -> None:
    assert dict(CheckResult(name="x", status="pass", details=details()).details) == {"k": 1}
    assert dict(ColumnResult(name="x", status="pass", details=details()).details) == {"k": 1}


@pytest.mark.parametrize("details", ["abc", 5, [1, 2], iter([1, 2])])
def test_a_result_refuses_details_that_are_no_pairs(details: Any) -> None:
    with pytest.raises(ConfigError, match=r"^details="):
        CheckResult(name="x", status="pass", details=details)


def test_a_custom_check_with_numpy_and_decimal_figures_passes() -> None:
    def no_nulls() -> CheckResult:
        has = pd.Series([1.0, None]).isna().any()  # numpy.bool_
        return CheckResult(name="no_nulls", status="pass", statistic=has, threshold=0)

    def error_rate() -> CheckResult:
        return CheckResult(name="error_rate", status="pass", statistic=Decimal("0.012"))

    suite = run_suite([no_nulls, error_rate])
    assert [r.status.value for r in suite.results] == ["pass", "pass"]
    assert suite.exit_code() == 0


# --- the report's document -----------------------------------------------------------------


def test_a_suite_report_document_is_a_plain_json_document() -> None:
    report = SuiteResult([CheckResult(name="a", status="pass", statistic=0.1)]).to_report()
    assert json.loads(json.dumps(report.document))["results"][0]["name"] == "a"
    copied = pickle.loads(pickle.dumps(report))
    assert copied.document == report.document
    assert copy.deepcopy(report).document == report.document


def test_a_report_of_a_detail_json_cannot_hold_pickles_with_the_json_error() -> None:
    report = SuiteResult([_odd()]).to_report()
    assert "labels" in render_text(report)
    with pytest.raises(ConfigError, match="distinct keys"):
        pickle.dumps(report)


# --- third look ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [np.complex128(1 + 2j), np.array("0.3"), np.timedelta64(5, "s"), np.datetime64("NaT")],
    ids=["complex", "text-array", "timedelta", "nat"],
)
def test_a_result_refuses_what_float_would_read_as_a_figure_by_accident(value: Any) -> None:
    with pytest.raises(InvalidParameter, match="statistic"):
        CheckResult(name="c", status="pass", statistic=value)


@pytest.mark.parametrize("details", [["ab", "cd"], [b"ab"]], ids=["texts", "bytes"])
def test_details_of_two_letter_texts_are_no_pairs(details: Any) -> None:
    with pytest.raises(InvalidParameter, match="details"):
        CheckResult(name="c", status="pass", details=details)


def test_a_masked_detail_is_missing_in_json_and_every_format_renders() -> None:
    masked = np.ma.array([1.0, 2.0], mask=[1, 0])
    result = CheckResult(
        name="c", status="pass", details={"mean": masked.mean(), "all": np.ma.masked, "x": masked}
    )
    suite = SuiteResult([result])
    assert suite.summary()
    assert suite.to_markdown()
    document = json.loads(suite.to_json())
    assert document["results"][0]["details"] == {"mean": 2.0, "all": None, "x": [None, 2.0]}
