"""Reports: a path holding a NUL and an int Python will not write are errors of ours that
say what was wrong, never a bare ValueError."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship import _json
from modelship.checks import CheckResult, SuiteResult
from modelship.errors import ConfigError, InvalidParameter
from modelship.report import Entry, Report, Section, render_json, write_text

HUGE = 10**5000  # more digits than Python writes as text (4300 by default)


@pytest.mark.parametrize("append", [False, True])
@pytest.mark.parametrize("name", ["a\0b.md", "x\0/b.md"])
def test_write_text_refuses_a_path_holding_a_nul(tmp_path: Path, name: str, append: bool) -> None:
    path = f"{tmp_path}/{name}"
    with pytest.raises(ConfigError, match=r"cannot write .*\\x00.*: a path cannot hold a NUL"):
        write_text(path, "hi", append=append)
    assert list(tmp_path.iterdir()) == []


def test_a_suite_written_to_a_path_holding_a_nul_is_refused(tmp_path: Path) -> None:
    suite = SuiteResult([CheckResult(name="c", status="pass")])
    with pytest.raises(ConfigError, match="a path cannot hold a NUL"):
        suite.to_junit(f"{tmp_path}/out\0.xml")


@pytest.mark.parametrize("field", ["cells", "facts"])
def test_an_entry_refuses_an_int_python_will_not_write(field: str) -> None:
    with pytest.raises(InvalidParameter, match=rf"{field}\['big'\]=<int> is not allowed"):
        Entry(name="x", status="pass", **{field: {"big": HUGE}})


def test_an_entry_refuses_a_key_python_will_not_write() -> None:
    with pytest.raises(InvalidParameter, match=r"facts\[<int>\]"):
        Entry(name="x", status="pass", facts={HUGE: "1"})


def test_a_section_refuses_a_property_python_will_not_write() -> None:
    head = Entry(name="x", status="pass")
    with pytest.raises(InvalidParameter, match=r"properties\['p'\]=<int>.*4300 digits"):
        Section(head=head, properties={"p": HUGE})


def test_render_json_refuses_an_int_python_will_not_write() -> None:
    report = Report(title="t", passed=True, document={"a": [1, HUGE]})
    with pytest.raises(ConfigError, match="an integer of about 5,001 digits cannot be written"):
        render_json(report)


def test_a_key_python_will_not_write_is_refused_as_json() -> None:
    with pytest.raises(ConfigError, match="an integer of about 5,001 digits cannot be written"):
        _json.dumps({HUGE: 1})


def test_pretty_refuses_an_int_python_will_not_write() -> None:
    with pytest.raises(ConfigError, match="cannot be written as JSON"):
        _json.pretty({"a": -HUGE})


def test_the_longest_int_python_writes_is_written_exactly() -> None:
    longest = 10**4299  # 4300 digits
    assert _json.loads(_json.dumps({"a": longest}), "document") == {"a": longest}
