"""JSON, JUnit XML and Markdown renderings of a suite."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.checks import CheckResult, ColumnResult, Status, SuiteResult
from modelship.errors import ConfigError


def drift_suite() -> SuiteResult:
    columns = [
        ColumnResult(
            name="age",
            status="fail",
            reason="drifted: KS p=0.001 < 0.05",
            method="ks",
            statistic=0.2,
            p_value=0.001,
            threshold=0.05,
            effect_method="wasserstein",
            effect_size=0.4,
            effect_threshold=0.1,
            drifted=True,
        ),
        ColumnResult(
            name="plan",
            status="pass",
            reason="no drift",
            method="chi2",
            statistic=1.0,
            p_value=0.6,
            threshold=0.05,
            drifted=False,
        ),
    ]
    return SuiteResult(
        [
            CheckResult(
                name="data_drift",
                status="fail",
                reason="data set drifted: 1 of 2",
                statistic=0.5,
                threshold=0.5,
                columns=columns,
            ),
            CheckResult(name="schema", status="warn", reason="new category 'x'"),
            CheckResult(name="bias", status="error", reason="ValueError: no labels"),
        ]
    )


# --- JSON --------------------------------------------------------------------------------


def test_json_carries_a_schema_version() -> None:
    assert json.loads(drift_suite().to_json())["schema_version"] == 1


def test_json_round_trips() -> None:
    suite = drift_suite()
    assert SuiteResult.from_json(suite.to_json()) == suite


def test_json_is_strict_json_with_non_finite_numbers_as_null() -> None:
    suite = SuiteResult(
        [
            CheckResult(
                name="x", status="error", statistic=math.nan, details={"values": [1.0, math.inf]}
            )
        ]
    )
    doc = json.loads(suite.to_json(), parse_constant=lambda c: pytest.fail(f"emitted {c}"))
    assert doc["results"][0]["statistic"] is None
    assert doc["results"][0]["details"]["values"] == [1.0, None]


def test_json_from_a_newer_version_is_refused() -> None:
    doc = drift_suite().to_dict() | {"schema_version": 99}
    with pytest.raises(ConfigError, match="newer"):
        SuiteResult.from_dict(doc)


def test_json_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ConfigError, match="JSON object"):
        SuiteResult.from_json("[1, 2]")


finite = st.floats(allow_nan=False, allow_infinity=False) | st.none()
names = st.text(min_size=1, max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
column_results = st.builds(
    ColumnResult,
    name=names,
    status=st.sampled_from(Status),
    reason=st.text(max_size=30),
    statistic=finite,
    p_value=finite,
    threshold=finite,
    effect_size=finite,
    drifted=st.none() | st.booleans(),
    details=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
)
check_results = st.builds(
    CheckResult,
    name=names,
    status=st.sampled_from(Status),
    reason=st.text(max_size=30),
    statistic=finite,
    threshold=finite,
    p_value=finite,
    columns=st.lists(column_results, max_size=3, unique_by=lambda c: c.name),
)


@given(st.lists(check_results, max_size=4))
def test_any_suite_round_trips_through_json(results: list[CheckResult]) -> None:
    suite = SuiteResult(results)
    assert SuiteResult.from_json(suite.to_json()) == suite


# --- JUnit -------------------------------------------------------------------------------


def junit(suite: SuiteResult, tmp_path: Path) -> ET.Element:
    path = tmp_path / "reports" / "junit.xml"
    text = suite.to_junit(path)
    assert path.read_text(encoding="utf-8") == text
    return ET.parse(path).getroot()


def test_junit_has_one_testsuite_per_check_and_a_testcase_per_check_and_column(
    tmp_path: Path,
) -> None:
    root = junit(drift_suite(), tmp_path)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["data_drift", "schema", "bias"]
    cases = [c.get("name") for c in suites[0].findall("testcase")]
    assert cases == ["data_drift", "data_drift[age]", "data_drift[plan]"]


def test_junit_blocking_failures_carry_the_reason(tmp_path: Path) -> None:
    root = junit(drift_suite(), tmp_path)
    failures = {c.get("name"): c.find("failure") for c in root.iter("testcase")}
    assert failures["data_drift"].get("message") == "data set drifted: 1 of 2"  # type: ignore[union-attr]
    assert failures["data_drift[age]"].get("message") == "drifted: KS p=0.001 < 0.05"  # type: ignore[union-attr]
    assert failures["data_drift[plan]"] is None


def test_junit_errors_are_error_elements(tmp_path: Path) -> None:
    root = junit(drift_suite(), tmp_path)
    case = next(c for c in root.iter("testcase") if c.get("name") == "bias")
    assert case.find("error").get("message") == "ValueError: no labels"  # type: ignore[union-attr]


def test_junit_warnings_pass_with_the_reason_in_system_out(tmp_path: Path) -> None:
    root = junit(drift_suite(), tmp_path)
    case = next(c for c in root.iter("testcase") if c.get("name") == "schema")
    assert case.find("failure") is None
    assert case.findtext("system-out") == "warn: new category 'x'"


def test_junit_counts_add_up(tmp_path: Path) -> None:
    root = junit(drift_suite(), tmp_path)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "1")
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "")) == len(cases)
        assert int(suite.get("failures", "")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors", "")) == sum(c.find("error") is not None for c in cases)


def test_junit_column_failures_of_a_non_blocking_check_do_not_fail(tmp_path: Path) -> None:
    column = ColumnResult(name="age", status="fail", reason="drifted")
    suite = SuiteResult([CheckResult(name="d", status="warn", reason="1 of 10", columns=[column])])
    root = junit(suite, tmp_path)
    assert root.get("failures") == "0"


def test_junit_survives_control_characters_and_markup_in_reasons(tmp_path: Path) -> None:
    reason = 'bad <value> & "quote" \x00\x1b end'
    root = junit(SuiteResult([CheckResult(name="x", status="fail", reason=reason)]), tmp_path)
    message = root.find("testsuite/testcase/failure").get("message")  # type: ignore[union-attr]
    assert message == 'bad <value> & "quote" \ufffd\ufffd end'


# --- Markdown ----------------------------------------------------------------------------


def table_rows(markdown: str, header_start: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        # Cells as they render: Markdown's backslash escapes (data\\_drift) undone.
        rows.append(
            [re.sub(r"\\(.)", r"\1", cell.strip()) for cell in line.strip("|").split(" | ")]
        )
    return rows


def test_markdown_headline_says_failed_when_the_suite_fails() -> None:
    assert drift_suite().to_markdown().startswith("### modelship checks: ❌ failed\n")


def test_markdown_has_a_row_per_check() -> None:
    rows = table_rows(drift_suite().to_markdown(), "|  | check |")
    assert [(r[1], r[2]) for r in rows] == [
        ("data_drift", "fail"),
        ("schema", "warn"),
        ("bias", "error"),
    ]


def test_markdown_lists_columns_in_a_collapsible_table() -> None:
    md = drift_suite().to_markdown()
    assert "<details>\n<summary>data_drift: 2 columns</summary>" in md
    rows = table_rows(md, "|  | column |")
    assert rows[0][1:5] == ["age", "ks", "0.2", "0.001"]
    assert rows[0][6] == "wasserstein 0.4 (threshold 0.1)"


def test_markdown_escapes_pipes_and_html_in_cells() -> None:
    suite = SuiteResult([CheckResult(name="a|b", status="pass", reason="<script> | x\ny")])
    row = suite.to_markdown().splitlines()[4]
    assert "a\\|b" in row
    assert "&lt;script&gt; \\| x y" in row


def test_text_summary_ends_with_the_verdict() -> None:
    assert drift_suite().summary().splitlines()[-1] == "FAILED (3 checks: 1 fail, 1 warn, 1 error)"


def test_a_junit_path_that_cannot_be_written_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    suite = SuiteResult(results=(CheckResult(name="x", status="pass"),))
    with pytest.raises(ConfigError, match=r"cannot write .*out\.xml"):
        suite.to_junit(blocker / "out.xml")
    assert blocker.read_text() == "a file, not a folder"
