"""Notebook reprs of schemas, reports and environment snapshots: one bounded line each."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

from modelship.checks import DataDrift, Schema, run_suite
from modelship.parity import EnvironmentSnapshot
from modelship.report import Entry, Report, Section


@pytest.fixture(scope="module")
def wide() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    data: dict[str, np.ndarray] = {f"c{i}": rng.normal(size=50) for i in range(480)}
    data.update({f"k{i}": np.array(["a", "b"] * 25) for i in range(20)})
    return data


def test_schema_repr_counts_columns_by_kind_in_one_short_line(wide):
    schema = Schema.infer(wide)
    assert repr(schema) == "<Schema 500 columns (480 numeric, 20 categorical)>"
    assert schema == Schema.infer(wide)  # the repr only: equality and hash as attrs made them
    assert hash(schema) == hash(Schema.infer(wide))


def test_schema_repr_counts_left_out_columns(wide):
    text = repr(Schema.infer(wide, exclude=["c0", "c1"]))
    assert text == "<Schema 498 columns (478 numeric, 20 categorical), 2 left out>"


def test_report_repr_of_a_500_column_suite_is_one_short_line(wide):
    current = {
        name: (values + 1 if name.startswith("c") else values) for name, values in wide.items()
    }
    report = run_suite([DataDrift(reference=wide, current=current)]).to_report()
    text = repr(report)
    assert text == "<Report 'modelship checks' failed: 1 check (1 fail)>"
    assert report == attrs.evolve(report, document={})  # the document is still not compared


def test_report_repr_escapes_and_bounds_the_title_and_item():
    head = Entry(name="x", status="warn")
    title = "<script>\n\x1b[2K" + "t" * 10**6
    report = Report(title=title, passed=True, item="i" * 10**6, sections=[Section(head=head)])
    text = repr(report)
    assert len(text) < 250
    assert "\n" not in text
    assert "\x1b" not in text
    assert text.startswith("<Report '<script>\\n\\x1b[2K")
    assert text.endswith("… (1 warn)>")


def _snapshot(**fields: object) -> EnvironmentSnapshot:
    base: dict[str, object] = {
        "python_version": "3.11.7",
        "python_implementation": "CPython",
        "os": "Linux",
        "machine": "x86_64",
    }
    return EnvironmentSnapshot(**{**base, **fields})  # type: ignore[arg-type]


def test_snapshot_repr_counts_packages_instead_of_listing_them():
    packages = {f"package-{i}": "1.0" for i in range(500)}
    snap = _snapshot(packages=packages, captured_at="2026-12-07T19:37:27+00:00")
    assert repr(snap) == (
        "<EnvironmentSnapshot CPython 3.11.7, Linux x86_64, 500 packages, "
        "captured 2026-12-07T19:37:27+00:00>"
    )
    assert snap == _snapshot(packages=dict(packages), captured_at="2026-12-07T19:37:27+00:00")


def test_snapshot_repr_escapes_and_bounds_text_fields():
    snap = _snapshot(os="Linux\n\x1b[2K" + "x" * 150, machine="m" * 150)
    text = repr(snap)
    assert "\n" not in text
    assert "\x1b" not in text
    assert "Linux\\n\\x1b[2K" in text
    assert len(text) < 200


def test_passing_schema_check_repr_says_its_column_count_once(wide):
    result = Schema.infer(wide).check(wide).run()
    assert result.reason == "current data matches the schema (500 columns)"
    assert repr(result) == (
        "<CheckResult 'schema' pass: current data matches the schema (500 columns)>"
    )
