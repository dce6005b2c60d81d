"""``fingerprint`` of ordinary pandas frames: missing values, times, refused values.

Registering with ``data={"train": df}`` fingerprints ``df``; a text column holding
``pd.NA``, a nullable boolean, a time-zoned timestamp column must not stop it, and what
cannot be hashed is refused naming the column, never silently hashed by an unstable text.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modelship as ms
from modelship.errors import ConfigError

# Digests computed on the code before missing values and times were read (HEAD e2cbb0e):
# a registered fingerprint of such data must stay comparable.
PLAIN_FRAME_DIGEST = "sha256:b5c23a9eafd8defeee5dfbde79d2afdfc6f367bb3953de7b2af151631335ab41"
PLAIN_OBJECTS_DIGEST = "sha256:b4c1d873c0c749c1c5fb15b19d6c7f40b0c0e805db842b1940495ab7dc218fd1"
# The documented encoding of times and dates, pinned: changing it changes every digest.
TIMES_DIGEST = "sha256:fa9f09a3e1cb9c9fbaf5732655959560eb37a830b8dcc4f20da5658dde252f70"


def test_fingerprints_of_plain_strings_numbers_and_missing_values_are_unchanged() -> None:
    frame = pd.DataFrame(
        {
            "name": ["a", "bc", None],
            "n": np.array([1, 2, 3], dtype="int64"),
            "x": [1.5, float("nan"), -0.0],
            "ok": [True, False, True],
            "cat": pd.Series(["u", None, "v"], dtype="category"),
            "when": pd.to_datetime(["2024-01-01", None, "2024-03-01"]),
        }
    )
    objects = {"o": np.array(["a", 1, 2.5, None, True, b"z"], dtype=object)}
    assert ms.fingerprint(frame) == PLAIN_FRAME_DIGEST
    assert ms.fingerprint(objects) == PLAIN_OBJECTS_DIGEST


@pytest.mark.parametrize("dtype", ["string[python]", "string[pyarrow]"])
def test_a_text_column_holding_pd_na_hashes_like_one_holding_none(dtype: str) -> None:
    if dtype.endswith("[pyarrow]"):
        pytest.importorskip("pyarrow")
    text = pd.DataFrame({"plan": pd.array(["basic", None, "pro"], dtype=dtype)})
    plain = {"plan": np.array(["basic", None, "pro"], dtype=object)}
    assert ms.fingerprint(text) == ms.fingerprint(plain)


def test_a_nullable_boolean_column_with_na_is_fingerprinted_as_missing() -> None:
    flags = pd.DataFrame({"ok": pd.array([True, None, False], dtype="boolean")})
    assert ms.fingerprint(flags) == ms.fingerprint({"ok": [True, None, False]})


def test_the_same_instant_in_two_time_zones_has_one_fingerprint() -> None:
    utc = pd.to_datetime(["2024-01-01 12:00", None], utc=True)
    paris = pd.Series(utc).dt.tz_convert("Europe/Paris")
    assert ms.fingerprint({"when": paris}) == ms.fingerprint({"when": pd.Series(utc)})


def test_a_naive_time_does_not_hash_as_the_aware_one() -> None:
    naive = np.array([datetime.datetime(2024, 1, 1, 12)], dtype=object)
    aware = np.array(
        [datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone.utc)], dtype=object
    )
    assert ms.fingerprint({"when": naive}) != ms.fingerprint({"when": aware})


def test_a_time_does_not_hash_as_its_iso_text() -> None:
    moment = datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone.utc)
    as_text = np.array([moment.isoformat()], dtype=object)
    assert ms.fingerprint({"when": [moment]}) != ms.fingerprint({"when": as_text})


def test_a_pandas_timestamp_hashes_as_the_python_datetime_it_equals() -> None:
    moment = pd.Timestamp("2024-01-01 12:00:00.25", tz="Europe/Paris")
    python = np.array([moment.to_pydatetime()], dtype=object)
    pandas = np.array([moment], dtype=object)
    assert ms.fingerprint(pandas) == ms.fingerprint(python)


def test_times_dates_and_nat_hash_by_the_documented_encoding() -> None:
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01 12:00", None], utc=True),
            "day": [datetime.date(2024, 1, 2), None],
            "ok": pd.array([True, None], dtype="boolean"),
        }
    )
    assert ms.fingerprint(frame) == TIMES_DIGEST
    nat = pd.DataFrame({"when": np.array([pd.NaT, pd.NA, None], dtype=object)})
    assert ms.fingerprint(nat) == ms.fingerprint({"when": np.array([None] * 3, dtype=object)})


def test_an_interval_column_is_refused_naming_the_role_and_the_column() -> None:
    from modelship._fingerprint import data_fingerprint

    band = pd.cut(pd.Series([20, 40, 60]), bins=[17, 30, 50, 80])
    with pytest.raises(ConfigError) as caught:
        data_fingerprint(pd.DataFrame({"band": band}), "data['train']")
    message = str(caught.value)
    assert "data['train'], column 'band'" in message
    assert "Interval" in message
    assert ".astype(str)" in message


def test_an_object_without_a_stable_text_is_refused_not_hashed_by_its_address() -> None:
    values: Any = np.array([object()], dtype=object)
    with pytest.raises(ConfigError, match=r"cannot fingerprint data, column 'x': .* object"):
        ms.fingerprint({"x": values})


def test_register_names_the_role_and_the_column_it_cannot_fingerprint(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    reg = ms.open_registry(str(tmp_path / "models"))
    frame = pd.DataFrame({"age": [20, 40], "band": pd.cut([20, 40], [0, 30, 50])})
    with pytest.raises(ms.ConfigError, match=r"data\['train'\], column 'band'"):
        reg.register(model_name="m", model=b"w", serializer="bytes", data={"train": frame})
    assert not (tmp_path / "models").exists()  # nothing was written


def test_a_zoned_time_at_the_year_limits_or_with_a_failing_zone_is_hashed_or_refused() -> None:
    # astimezone() overflows within a day of the years 1 and 9999, and a tzinfo's own
    # utcoffset() may raise: a ConfigError naming the column, or a digest, never a raw
    # OverflowError or the zone's own exception (the second look at stop 46).
    from zoneinfo import ZoneInfo

    far = datetime.datetime.max.replace(tzinfo=ZoneInfo("America/New_York"))
    first = datetime.datetime(1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=5)))
    for value in (far, first):
        digest = ms.fingerprint({"valid_to": np.array([value, None], dtype=object)})
        assert digest.startswith("sha256:")

    class Failing(datetime.tzinfo):
        def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
            raise RuntimeError("no offset")

    with pytest.raises(ConfigError, match="column 'when'"):
        ms.fingerprint({"when": np.array([datetime.datetime(2024, 1, 1, tzinfo=Failing())])})


def test_a_numpy_datetime_cell_hashes_as_the_time_it_holds_not_as_a_number() -> None:
    # item() gives the integer of nanoseconds: it hashed like that number, and one instant
    # differently by its unit.
    def digest(cell: Any) -> str:
        return ms.fingerprint({"c": np.array([cell, "x"], dtype=object)})

    ns = np.datetime64("2024-01-01T00:00:00", "ns")
    assert digest(ns) == digest(np.datetime64("2024-01-01T00:00:00", "us"))
    assert digest(ns) == digest(datetime.datetime(2024, 1, 1))
    assert digest(ns) != digest(1_704_067_200_000_000_000)
    assert digest(np.datetime64("2024-01-01T00:00:00.000000001", "ns")) != digest(ns)
    assert digest(np.datetime64("NaT", "ns")) == digest(None)
    with pytest.raises(ConfigError, match="timedelta64"):
        digest(np.timedelta64(5, "ns"))
