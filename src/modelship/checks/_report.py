"""Rendering suite results: JSON, JUnit XML, Markdown and plain text.

Results are data first; everything here is a pure function of a :class:`SuiteResult`, so
two runs on the same data render the same bytes.
"""

from __future__ import annotations

import enum
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from modelship.errors import ConfigError

if TYPE_CHECKING:
    from modelship.checks._result import CheckResult, ColumnResult, SuiteResult


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types; non-finite floats become ``None``.

    Anything else JSON has no type for (a set, a date) becomes its ``str``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(item) for item in value]
    return str(value)  # a report never fails on a custom check's odd detail


def dumps(document: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """Return ``document`` as JSON text (strict JSON: no NaN)."""
    return json.dumps(jsonable(document), indent=indent, ensure_ascii=False, allow_nan=False)


def loads(text: str | bytes, what: str) -> dict[str, Any]:
    """Parse JSON text holding an object, or raise :class:`ConfigError` naming ``what``."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"the {what} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"the {what} must be a JSON object, got {type(document).__name__}")
    return document


def check_schema_version(document: Mapping[str, Any], supported: int, what: str) -> None:
    """Raise :class:`ConfigError` unless ``document`` has a version this code reads."""
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"the {what} has no integer 'schema_version'")
    if version > supported:
        raise ConfigError(
            f"the {what} has schema_version {version}, newer than the {supported} this "
            "modelship reads; upgrade modelship"
        )


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` as UTF-8 to ``path``, creating missing parent directories."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def format_number(value: float | None, digits: int = 4) -> str:
    """Format a statistic for people: ``4`` significant digits, empty for ``None``."""
    if value is None:
        return ""
    return f"{value:.{digits}g}"


# --- JUnit XML ---------------------------------------------------------------------------

# XML 1.0 forbids most control characters even when escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _describe(item: CheckResult | ColumnResult) -> str:
    """Return the multi-line body of a failure: every number behind the verdict."""
    lines = [item.reason]
    for label in ("method", "statistic", "p_value", "threshold", "effect_method", "effect_size"):
        value = getattr(item, label, None)
        if value is not None:
            lines.append(f"{label}: {value}")
    return _xml_text("\n".join(lines))


def _add_testcase(
    parent: ET.Element,
    classname: str,
    name: str,
    item: CheckResult | ColumnResult,
    blocking_failure: bool,
) -> tuple[int, int]:
    """Append one ``<testcase>``; return how many (failures, errors) it adds."""
    case = ET.SubElement(parent, "testcase", classname=classname, name=_xml_text(name))
    reason = _xml_text(item.reason)
    if item.status.value == "error":
        ET.SubElement(case, "error", message=reason, type="error").text = _describe(item)
        return 0, 1
    if item.status.value == "fail" and blocking_failure:
        ET.SubElement(case, "failure", message=reason, type="fail").text = _describe(item)
        return 1, 0
    if item.status.value != "pass":
        ET.SubElement(case, "system-out").text = _xml_text(f"{item.status.value}: {item.reason}")
    return 0, 0


def render_junit(suite: SuiteResult) -> str:
    """Return JUnit XML: one ``<testsuite>`` per check, one ``<testcase>`` per check and column."""
    root = ET.Element("testsuites", name="modelship")
    totals = [0, 0, 0]
    for result in suite.results:
        testsuite = ET.SubElement(root, "testsuite", name=_xml_text(result.name))
        properties = ET.SubElement(testsuite, "properties")
        for key, value in (
            ("status", result.status.value),
            ("severity", result.severity.value),
            ("statistic", format_number(result.statistic, 17)),
            ("threshold", format_number(result.threshold, 17)),
            ("p_value", format_number(result.p_value, 17)),
        ):
            if value:
                ET.SubElement(properties, "property", name=key, value=value)
        classname = f"modelship.checks.{result.name}"
        blocking = result.blocks() and result.status.value == "fail"
        counts = [1, *_add_testcase(testsuite, classname, result.name, result, blocking)]
        for column in result.columns.values():
            failures, errors = _add_testcase(
                testsuite, classname, f"{result.name}[{column.name}]", column, blocking
            )
            counts = [counts[0] + 1, counts[1] + failures, counts[2] + errors]
        for key, count in zip(("tests", "failures", "errors"), counts, strict=True):
            testsuite.set(key, str(count))
        testsuite.set("skipped", "0")
        totals = [total + count for total, count in zip(totals, counts, strict=True)]
    for key, count in zip(("tests", "failures", "errors"), totals, strict=True):
        root.set(key, str(count))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'


# --- Markdown ----------------------------------------------------------------------------

_ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "💥"}


def _cell(text: str) -> str:
    """Make ``text`` safe inside a GitHub/GitLab Markdown table cell."""
    text = " ".join(text.split())
    for char, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        text = text.replace(char, escaped)
    return text


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(suite: SuiteResult) -> str:
    """Return a Markdown summary: a table of checks, then a collapsible table per check."""
    verdict = "✅ passed" if suite.passed else "❌ failed"
    lines = [f"### modelship checks: {verdict}", ""]
    lines.append(_row(["", "check", "status", "severity", "statistic", "threshold", "reason"]))
    lines.append(_row(["---"] * 7))
    for result in suite.results:
        lines.append(
            _row(
                [
                    _ICONS[result.status.value],
                    _cell(result.name),
                    result.status.value,
                    result.severity.value,
                    format_number(result.statistic),
                    format_number(result.threshold),
                    _cell(result.reason),
                ]
            )
        )
    for result in suite.results:
        if not result.columns:
            continue
        lines += [
            "",
            "<details>",
            f"<summary>{_cell(result.name)}: {len(result.columns)} "
            f"column{'s' if len(result.columns) != 1 else ''}</summary>",
            "",
            _row(
                [
                    "",
                    "column",
                    "method",
                    "statistic",
                    "p-value",
                    "threshold",
                    "effect size",
                    "reason",
                ]
            ),
            _row(["---"] * 8),
        ]
        for column in result.columns.values():
            effect = ""
            if column.effect_size is not None:
                effect = f"{column.effect_method} {format_number(column.effect_size)}"
                if column.effect_threshold is not None:
                    effect += f" (threshold {format_number(column.effect_threshold)})"
            lines.append(
                _row(
                    [
                        _ICONS[column.status.value],
                        _cell(column.name),
                        column.method or "",
                        format_number(column.statistic),
                        format_number(column.p_value, 3),
                        format_number(column.threshold),
                        effect,
                        _cell(column.reason),
                    ]
                )
            )
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


# --- plain text --------------------------------------------------------------------------


def render_text(suite: SuiteResult) -> str:
    """Return one line per check, then the verdict with counts by status."""
    lines = [
        f"{result.status.value.upper():5} {result.name}: {result.reason}"
        for result in suite.results
    ]
    counts: dict[str, int] = {}
    for result in suite.results:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    noun = "check" if len(suite.results) == 1 else "checks"
    tally = ", ".join(f"{count} {status}" for status, count in counts.items())
    verdict = "passed" if suite.passed else "FAILED"
    lines.append(f"{verdict} ({len(suite.results)} {noun}{': ' + tally if tally else ''})")
    return "\n".join(lines)
