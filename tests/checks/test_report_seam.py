"""modelship.report: any capability's result renders through the same four formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from modelship.errors import ConfigError
from modelship.report import (
    RENDERERS,
    Entry,
    Report,
    Section,
    render_json,
    render_junit,
    render_markdown,
    render_text,
)


def parity_report(*, blocking: bool = True) -> Report:
    """A report that is not about checks: an environment comparison."""
    packages = [
        Entry(name="numpy", status="fail", reason="1.26 != 2.1", cells={"found": "1.26"}),
        Entry(name="scipy", status="pass", reason="same", cells={"found": "1.14"}),
    ]
    head = Entry(name="serving", status="fail", reason="1 of 2 packages differ")
    section = Section(
        head=head,
        entries=packages,
        item="package",
        headings=("found", "reason"),
        blocking=blocking,
        properties={"host": "srv-1", "empty": ""},
    )
    return Report(
        title="environment parity",
        passed=not blocking,
        sections=[section],
        item="environment",
        package="modelship.parity",
        document={"schema_version": 1, "n": 2},
    )


def test_an_entry_refuses_an_unknown_status() -> None:
    with pytest.raises(ConfigError, match=r"^status='ok' is not allowed"):
        Entry(name="x", status="ok")


def test_json_renders_the_document() -> None:
    assert json.loads(render_json(parity_report())) == {"schema_version": 1, "n": 2}


def test_junit_names_cases_after_the_section_and_the_entry() -> None:
    root = ET.fromstring(render_junit(parity_report()).split("\n", 1)[1])
    cases = [case.get("name") for case in root.iter("testcase")]
    assert cases == ["serving", "serving[numpy]", "serving[scipy]"]
    assert {case.get("classname") for case in root.iter("testcase")} == {"modelship.parity.serving"}
    assert [p.get("name") for p in root.iter("property")] == ["host"]


def test_junit_fails_only_a_blocking_section() -> None:
    blocking = ET.fromstring(render_junit(parity_report()).split("\n", 1)[1])
    advisory = ET.fromstring(render_junit(parity_report(blocking=False)).split("\n", 1)[1])
    assert blocking.get("failures") == "2"
    assert advisory.get("failures") == "0"


def test_markdown_uses_the_section_item_and_headings() -> None:
    md = render_markdown(parity_report())
    assert "<summary>serving: 2 packages</summary>" in md
    assert "|  | package | found | reason |" in md
    assert "| ❌ | numpy | 1.26 | 1.26 != 2.1 |" in md


def test_text_counts_sections_with_the_report_item() -> None:
    assert render_text(parity_report()).splitlines()[-1] == "FAILED (1 environment: 1 fail)"


def test_every_renderer_is_named() -> None:
    assert set(RENDERERS) == {"html", "json", "junit", "markdown", "text"}
    for render in RENDERERS.values():
        assert render(parity_report())
