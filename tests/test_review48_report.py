"""JUnit text is bounded as Markdown and HTML are: a reason naming huge category labels
made 2 MB of JUnit, written twice, where Markdown made 1 KB (review 48)."""

from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from modelship.checks import DataDrift, SuiteResult
from modelship.report import Entry, Report, Section, render_json, render_junit

LIMIT = 500  # characters of one text, as Markdown and HTML show it
NOTE = "the JSON report holds it whole"


def _texts(xml: str) -> list[str]:
    """Every attribute value and every line of text in ``xml`` (parsed: it must be valid)."""
    root = ET.fromstring(xml.encode("utf-8"))  # strict UTF-8: no lone surrogate
    found: list[str] = []
    for element in root.iter():
        found += element.attrib.values()
        found += (element.text or "").splitlines()
    return found


def _report(text: str) -> Report:
    """A report with ``text`` in every place JUnit carries text."""
    entries = [
        Entry(name=text, status="fail", reason=text, facts={text: text, "method": "ks"}),
        Entry(name=text, status="error", reason=text, facts={"error": text}),
        Entry(name=text, status="skip", reason=text),
        Entry(name=text, status="warn", reason=text),
    ]
    section = Section(
        head=Entry(name=text, status="fail", reason=text, facts={"statistic": text}),
        entries=entries,
        properties={text: text},
    )
    return Report(title=text, passed=False, sections=[section], package=text)


def test_huge_drift_reason_is_cut_in_junit() -> None:
    rng = np.random.default_rng(0)
    labels = [chr(65 + i) * 20_000 for i in range(20)]  # 20 new categories of 20 KB
    current = np.array([*rng.choice(["a", "b"], 300), *labels * 10], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = DataDrift(
            reference={"c": rng.choice(["a", "b"], 500)}, current={"c": current}
        ).run()
    assert len(result.columns["c"].reason) > 80_000  # names 5 labels, counts the rest
    report = SuiteResult([result]).to_report()
    xml = render_junit(report)
    assert len(xml.encode("utf-8")) < 5_000  # was 200,000 bytes and more
    failure = ET.fromstring(xml).find(".//testcase[@name='data_drift[c]']/failure")
    assert failure is not None
    message = failure.get("message", "")
    assert len(message) == LIMIT
    assert message.endswith("…")
    assert failure.text is not None
    assert failure.text.startswith(message)
    assert failure.text.endswith(NOTE + ")")
    # JSON is the full record: it keeps the reason whole.
    document = json.loads(render_json(report))
    assert document["results"][0]["columns"]["c"]["reason"] == result.columns["c"].reason


def test_every_junit_text_is_bounded() -> None:
    xml = render_junit(_report("x" * 100_000))
    texts = _texts(xml)
    # A testcase name is a section's and an entry's name, a fact line a label and a value.
    assert max(map(len, texts)) <= 2 * LIMIT + 2
    assert len(xml) < 20_000
    assert sum(text.endswith(NOTE + ")") for text in texts) == 3  # each failure/error body
    assert "x" * LIMIT not in xml


@pytest.mark.parametrize("length", [LIMIT, LIMIT + 1])
def test_cut_only_past_the_limit(length: int) -> None:
    text = "y" * length
    xml = render_junit(_report(text))
    if length <= LIMIT:
        assert NOTE not in xml
        assert "…" not in xml
        assert f'message="{text}"' in xml
    else:
        assert f'message="{"y" * (LIMIT - 1)}…"' in xml
        assert NOTE in xml


@pytest.mark.parametrize(
    "text",
    [
        "a" * 498 + "😀" * 10,  # a character beyond the BMP at the cut
        "a" * 498 + "\ud83d\ude00" * 10,  # a surrogate pair held as two code points
        "a" * 499 + "\udcff" * 10,  # lone surrogates, as from a file name not UTF-8
        "&" * 600,  # escapes at the cut
        '"<>' * 200,
        "\x00\x1b\n\r\t" * 200,
    ],
)
def test_cut_text_is_valid_xml(text: str) -> None:
    xml = render_junit(_report(text))
    texts = _texts(xml)  # parses, and encodes as strict UTF-8
    assert max(map(len, texts)) <= 2 * LIMIT + 2
    message = ET.fromstring(xml).find(".//failure")
    assert message is not None
    assert len(message.get("message", "")) == LIMIT
    assert message.get("message", "").endswith("…")


# The JUnit of a normal report, as the code before review 48 wrote it (from git archive).
_OLD_JUNIT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites name="modelship" tests="8" failures="3" errors="1" skipped="1">
  <testsuite name="data_drift" tests="6" failures="2" errors="1" skipped="1">
    <properties>
      <property name="reference_rows" value="500" />
      <property name="note" value="a &amp; b" />
    </properties>
    <testcase classname="modelship.checks.data_drift" name="data_drift">
      <failure message="2 of 4 columns drifted (50% &gt;= 50%): 'age', 'city'" type="fail">\
2 of 4 columns drifted (50% &gt;= 50%): 'age', 'city'
statistic: 0.5
threshold: 0.5</failure>
    </testcase>
    <testcase classname="modelship.checks.data_drift" name="data_drift[age]">
      <failure message="drifted: KS 0.31 &gt;= 0.1 &amp; p &lt; 0.05" type="fail">\
drifted: KS 0.31 &gt;= 0.1 &amp; p &lt; 0.05
method: ks
p_value: 1e-09</failure>
    </testcase>
    <testcase classname="modelship.checks.data_drift" name="data_drift[city]">
      <system-out>warn: unseen categories: "Zürich", '&lt;Oslo&gt;'</system-out>
    </testcase>
    <testcase classname="modelship.checks.data_drift" name="data_drift[income]">
      <skipped message="no rows in current data" />
    </testcase>
    <testcase classname="modelship.checks.data_drift" name="data_drift[score]">
      <error message="cannot compare: \ufffd[31m bad\ufffd" type="error">\
cannot compare: \ufffd[31m bad\ufffd
error: TypeError</error>
    </testcase>
    <testcase classname="modelship.checks.data_drift" name="data_drift[😀 emoji]" />
  </testsuite>
  <testsuite name="bias" tests="1" failures="1" errors="0" skipped="0">
    <properties />
    <testcase classname="modelship.checks.bias" name="bias">
      <failure message="gap 0.04 near 0.05" type="warn">gap 0.04 near 0.05
x: y</failure>
    </testcase>
  </testsuite>
  <testsuite name="latency" tests="1" failures="0" errors="0" skipped="0">
    <properties />
    <testcase classname="modelship.checks.latency" name="latency">
      <system-out>fail: p99 210 ms &gt; 200 ms</system-out>
    </testcase>
  </testsuite>
</testsuites>
"""


def test_normal_report_is_unchanged() -> None:
    head = Entry(
        name="data_drift",
        status="fail",
        reason="2 of 4 columns drifted (50% >= 50%): 'age', 'city'",
        facts={"statistic": "0.5", "threshold": "0.5"},
    )
    entries = [
        Entry(
            name="age",
            status="fail",
            reason="drifted: KS 0.31 >= 0.1 & p < 0.05",
            facts={"method": "ks", "p_value": "1e-09"},
        ),
        Entry(name="city", status="warn", reason="unseen categories: \"Zürich\", '<Oslo>'"),
        Entry(name="income", status="skip", reason="no rows in current data"),
        Entry(
            name="score",
            status="error",
            reason="cannot compare: \x1b[31m bad\udcff",
            facts={"error": "TypeError"},
        ),
        Entry(name="😀 emoji", status="pass", reason=""),
    ]
    drift = Section(
        head=head,
        entries=entries,
        item="column",
        properties={"reference_rows": "500", "note": "a & b", "empty": ""},
    )
    bias = Section(
        head=Entry(name="bias", status="warn", reason="gap 0.04 near 0.05", facts={"x": "y"}),
        strict=True,
    )
    latency = Section(
        head=Entry(name="latency", status="fail", reason="p99 210 ms > 200 ms"), blocking=False
    )
    report = Report(
        title="modelship checks",
        passed=False,
        sections=[drift, bias, latency],
        package="modelship.checks",
    )
    assert render_junit(report) == _OLD_JUNIT
