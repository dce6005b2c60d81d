"""In a notebook: short reprs, an HTML table, and a data frame of column results."""

from __future__ import annotations

import html.parser
import sys
from typing import Any

import numpy as np
import pytest

from modelship.checks import CheckResult, ColumnResult, DataDrift, SuiteResult, run_suite
from modelship.errors import MissingDependency


def drifted_suite() -> SuiteResult:
    rng = np.random.default_rng(3)
    reference = {f"c{i}": rng.normal(0, 1, 1000) for i in range(30)}
    current = {f"c{i}": rng.normal(1.0 if i < 25 else 0.0, 1, 1000) for i in range(30)}
    return run_suite([DataDrift(reference=reference, current=current)])


class _Collect(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Collect:
    parser = _Collect()
    parser.feed(markup)
    return parser


def test_a_suite_repr_is_one_short_line() -> None:
    text = repr(drifted_suite())
    assert text == "<SuiteResult failed: 1 check (1 fail)>"


def test_a_check_repr_is_one_short_line_whatever_its_columns() -> None:
    text = repr(drifted_suite().results[0])
    assert text.startswith("<CheckResult 'data_drift' fail: data set drifted: 25 of 30")
    assert text.endswith("(30 columns)>")
    assert len(text) < 140
    assert "\n" not in text


def test_the_html_display_is_a_table_of_status_failing_columns_and_reasons() -> None:
    markup = drifted_suite()._repr_html_()
    parsed = parse(markup)
    assert "table" in parsed.tags
    text = "".join(parsed.text)
    assert "data_drift" in text
    assert "c0, c1, c2, c3, c4 and 20 more" in text
    assert "25 of 30 columns not passing" in text
    assert "and 5 more" in text  # 20 rows shown, the rest counted


def test_the_html_display_escapes_names_and_reasons() -> None:
    column = ColumnResult(name="<script>alert(1)</script>", status="fail", reason="a & b")
    check = CheckResult(name="x<y", status="fail", reason="<b>bold</b>", columns=[column])
    for markup in (check._repr_html_(), SuiteResult([check])._repr_html_()):
        assert "<script>" not in markup
        assert "<b>bold" not in markup
        assert "&lt;script&gt;" in markup
        assert "x&lt;y" in markup


def test_to_pandas_has_one_row_per_column_result() -> None:
    pytest.importorskip("pandas")
    suite = drifted_suite()
    frame = suite.to_pandas()
    assert len(frame) == 30
    assert list(frame.columns[:4]) == ["check", "check_status", "column", "status"]
    row = frame.set_index("column").loc["c0"]
    column = suite.results[0].columns["c0"]
    assert (row["status"], row["p_value"], row["drifted"]) == ("fail", column.p_value, True)


def test_to_pandas_without_pandas_names_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an absent package looks like
    with pytest.raises(MissingDependency, match="needs pandas"):
        SuiteResult([]).to_pandas()
