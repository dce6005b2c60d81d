"""A Report shows as HTML in a notebook, as a SuiteResult does (it had only a repr)."""

from __future__ import annotations

import numpy as np

from modelship.checks import DataDrift, run_suite
from modelship.report import Entry, Report, Section, render_html


def test_a_suites_report_displays_as_the_suite_does() -> None:
    rng = np.random.default_rng(0)
    reference = {"age": rng.normal(size=500), "income": rng.normal(size=500)}
    current = {"age": reference["age"] + 2, "income": reference["income"]}
    suite = run_suite([DataDrift(reference=reference, current=current)])
    report = suite.to_report()
    shown = report._repr_html_()
    assert shown == render_html(report)
    assert shown == suite._repr_html_()
    assert "age" in shown
    assert "fail" in shown


def test_the_html_escapes_and_bounds_a_hostile_title() -> None:
    head = Entry(name="<b>x</b>", status="warn")
    title = "<script>alert(1)</script>" + "t" * 10**6
    shown = Report(title=title, passed=True, sections=[Section(head=head)])._repr_html_()
    assert "<script>" not in shown
    assert "&lt;b&gt;x&lt;/b&gt;" in shown
    assert len(shown) < 5_000
