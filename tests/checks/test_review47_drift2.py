"""Second look at review 47 of the drift checks: a date label with a time zone is read
without touching the warning filters (which are the whole process', not one thread's),
and a byte string that is not UTF-8 has the same label as a bias group as it has as a
drift category, so different invalid bytes stay different groups.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelship.checks import Bias, DataDrift, DriftProfile, Status
from modelship.checks._suspects import is_date_text as _is_date_text
from modelship.checks.stats._fairness import group_label

# --- 1. zoned date labels: no warning filter is changed ---------------------------------


def _read_before(label: str) -> bool:
    """What the check read before: whether NumPy parses the label, its zone warning
    silenced (here, in the test's own thread, and nowhere else)."""
    if len(label) < 8 or not label[:4].isdigit() or not any(c in label for c in "-:/"):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            np.datetime64(label.replace("/", "-"))
        except ValueError:
            return False
    return True


@pytest.mark.parametrize("zone", ["Z", "+01", "+0130", "-05:30", "Z ", "+01:00\t"])
def test_zoned_date_labels_are_flagged_without_any_catch_warnings(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamps = [f"2024-01-{day:02d}T10:00:00{zone}" for day in range(1, 29)] * 3
    data = {"when": stamps, "x": np.arange(84.0)}

    def changes_the_filters(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("warnings.catch_warnings changes every thread's filters")

    with warnings.catch_warnings(), monkeypatch.context() as patch:
        warnings.simplefilter("error")  # as `python -W error`
        patch.setattr(warnings, "catch_warnings", changes_the_filters)
        result = DataDrift(reference=data, current=data).run()
    assert result.columns["when"].status is Status.WARN
    assert "holds date strings" in result.columns["when"].reason


LABELS = {
    # no zone
    "2024-01-15": True,
    "2024/01/15": True,
    "12024-01": True,
    "2024-01": False,  # too short for a date label
    "2024-01-15T10": True,
    "2024-01-15 10:30": True,
    "2024-01-15T10:30:00.123456": True,
    "2024-01-15T10:30:00.": True,
    "2024-02-30": False,
    "2024-01-15t10:30": False,
    "2024-01-15T10:3": False,
    "2024-01-15T24:00": False,
    "20240115T1030": False,
    "2024-001": False,
    # a zone NumPy takes
    "2024-01-15T10:30:00Z": True,
    "2024/01/15 10:30Z": True,
    "2024-01-15T10Z": True,
    "2024-01-15T10+01": True,
    "2024-01-15T10:30+0130": True,
    "2024-01-15T10:30:00-05:30": True,
    "2024-01-15T10:30:00.5+23:59": True,
    "2024-01-15T10:30Z \t": True,
    "2024-01-15T10:30+01:00\n": True,
    "2024-01-15T10:30 ": True,
    # what follows the time is no zone NumPy takes
    "2024-01-15T10:30z": False,
    "2024-01-15T10:30 Z": False,
    "2024-01-15T10:30 UTC": False,
    "2024-01-15T10:30+1": False,
    "2024-01-15T10:30+24": False,
    "2024-01-15T10:30+01:60": False,
    "2024-01-15T10:30+01:": False,
    "2024-01-15T10:30+01 ": False,
    "2024-01-15T10:30Zx": False,
    "2024-01-15T10:30\u3000": False,
    "2024-01-15T10:30:00.1234567890123456789Z": False,
    "2024-13-15T10:30Z": False,
    "2024-01-15Z": False,
}


@pytest.mark.parametrize(("label", "expected"), LABELS.items())
def test_date_text_is_read_as_before_and_without_a_warning(label: str, expected: bool) -> None:
    assert _read_before(label) is expected  # the table is what was read before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _is_date_text(label) is expected


_PARTS = (
    ["2024-01-15", "2024-02-30", "2024/01/15", "2024-01"],
    ["", "T", " ", "t"],
    ["", "1", "10", "24", "10:30", "10:3", "10:30:00", "10:30:00.", "10:30:00.123456789"],
    ["", "Z", "z", "+01", "+1", "+0130", "-05:30", "+24", "+01:60", "+01 ", "Z ", " ", "\v", "x"],
)


def test_date_text_reads_every_combination_as_before() -> None:
    labels = ["".join(parts) for parts in itertools.product(*_PARTS)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read = {label: _is_date_text(label) for label in labels}
    assert read == {label: _read_before(label) for label in labels}
    assert sum(read.values()) > 100


@settings(max_examples=300, deadline=None)
@given(
    date=st.sampled_from(["2024-01-15T10", "2024-01-15 10:30", "2024-01-15T10:30:59", "2024-01"]),
    tail=st.text(alphabet="0123456789:.+-Zz T\t\u3000x", max_size=8),
)
def test_date_text_reads_any_tail_as_before(date: str, tail: str) -> None:
    label = date + tail
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read = _is_date_text(label)
    assert read is _read_before(label)


# --- 3. bytes: one label as a bias group and as a drift category ------------------------

INVALID = [b"\xff", b"\xfe"]


@pytest.mark.parametrize("dtype", [object, "S1"])
def test_bias_groups_of_different_invalid_bytes_stay_different(dtype: Any) -> None:
    rng = np.random.default_rng(0)
    groups = np.array(INVALID, dtype=dtype)[rng.integers(0, 2, 400)]
    y = rng.integers(0, 2, 400)
    result = Bias(y_true=y, y_pred=y, sensitive=groups).run()
    assert result.status is Status.PASS
    assert sorted(result.groups) == ["\\xfe", "\\xff"]


BYTES = [b"F", "é".encode(), b"\xff", b"\xfe", b"a\xffb", b"\xc3", b"\xe2\x82"]


def test_bytes_read_the_same_as_bias_groups_and_as_drift_categories() -> None:
    drift = DriftProfile.from_data({"g": np.array(BYTES, dtype=object)}).categorical["g"]
    assert sorted(drift.counts) == sorted(group_label(value) for value in BYTES)
    assert len(drift.counts) == len(BYTES)


def test_a_valid_byte_string_spelling_an_escape_shares_its_label() -> None:
    # What the docs say: the label is the escape's text, which valid bytes can spell too.
    drift = DriftProfile.from_data({"g": np.array([b"\xff", b"\\xff"], dtype=object)})
    assert drift.categorical["g"].counts == {"\\xff": 2}
    assert group_label(b"\xff") == group_label(b"\\xff") == "\\xff"
