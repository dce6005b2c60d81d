"""Review 48: DriftSource's retention bound, incremental log reads, timestamps, windows."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pytest

from modelship.checks import DriftProfile
from modelship.deploy.serve import PredictionLog
from modelship.errors import ConfigError
from modelship.monitor import DriftSource, NoData, Samples, prediction_profile

_RNG = np.random.default_rng(48)
_TRAIN = _RNG.normal(size=(1000, 2))
_EPOCH = 1_704_067_200.0  # 2024-01-01T00:00:00Z


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _source(now: Any, **kwargs: Any) -> DriftSource:
    src = DriftSource(now=now, **kwargs)
    src.set_profiles(
        "1",
        features=DriftProfile.from_data(_TRAIN),
        predictions=prediction_profile(_TRAIN.sum(axis=1)),
    )
    return src


def _rows(stamps: Any, prefix: str = "r", shift: float = 0.0) -> list[dict[str, Any]]:
    x = _RNG.normal(shift, 1.0, size=(len(stamps), 2))
    return [
        {
            "request_id": f"{prefix}{i}",
            "row": 0,
            "timestamp": stamp,
            "version": "1",
            "inputs": x[i].tolist(),
            "output": float(x[i].sum()),
        }
        for i, stamp in enumerate(stamps)
    ]


def _count(src: DriftSource, start: float, end: float) -> Any:
    out = src.fetch("feature_drift", slot="1", start=start, end=end, stat="count")
    return out.values.tolist() if isinstance(out, Samples) else out


# --- 1a. retention ----------------------------------------------------------------------


def test_rows_older_than_the_retention_are_dropped_with_their_keys_and_index() -> None:
    # Every row was kept forever: 134 MiB after 200,000 rows, growing ~6 GB a day.
    clock = _Clock(1000.0)
    src = _source(clock, retention=1000.0)
    assert src.add_predictions(_rows(np.arange(100.0, 1000.0, 10.0), "a")) == 90
    clock.now = 2500.0  # the oldest (100) is now 1400 s old: past retention + 10 %
    assert src.add_predictions(_rows(np.arange(2000.0, 2500.0, 10.0), "b")) == 50
    store = src._rows["1"]
    # Rows stamped at or before 1500 are gone from the rows, the keys and the index.
    assert len(store.inputs) == len(store.keys) == store.index.stamps.size == 50
    assert len(src._seen) == len(src._inputs_seen) == 50
    # The rows left are the right ones, renumbered consistently.
    assert _count(src, 1500.0, 2500.0) == [50.0]
    result = src.check("features", version="1", start=2240.0, end=2490.0)
    assert result is not None
    assert result.columns["0"].details["n_current"] == 25
    positions = store.index.window(2000.0, 2010.0).tolist()
    assert [store.keys[i][0] for i in positions] == ["b1"]


def test_a_window_reaching_dropped_rows_is_no_data_saying_so() -> None:
    clock = _Clock(1000.0)
    src = _source(clock, retention=1000.0)
    src.add_predictions(_rows(np.arange(100.0, 1000.0, 10.0), "a"))
    clock.now = 2500.0
    src.add_predictions(_rows(np.arange(2000.0, 2500.0, 10.0), "b"))
    # A window no longer than the retention, reaching back to dropped rows.
    out = src.fetch("feature_drift", slot="1", start=900.0, end=1900.0)
    assert isinstance(out, NoData)
    assert "were dropped (retention=1000 s" in out.reason
    assert "DriftSource(retention=...)" in out.reason
    with pytest.raises(ConfigError, match=r"were dropped \(retention=1000 s"):
        src.check("features", version="1", start=900.0, end=1900.0)


def test_a_row_already_past_the_retention_is_not_kept_and_its_window_says_so() -> None:
    src = _source(100_000.0, retention=3600.0)
    assert src.add_predictions(_rows([50.0] * 30, "old")) == 0
    assert src.add_predictions(_rows([99_000.0] * 30, "new")) == 30
    assert _count(src, 98_000.0, 100_000.0) == [30.0]
    out = src.fetch("feature_drift", slot="1", start=0.0, end=3600.0)
    assert isinstance(out, NoData)
    assert "rows stamped at or before 50 were dropped" in out.reason


def test_a_dropped_row_given_again_is_not_kept_again() -> None:
    clock = _Clock(1000.0)
    src = _source(clock, retention=1000.0)
    early = _rows(np.arange(100.0, 1000.0, 10.0), "a")
    src.add_predictions(early)
    clock.now = 2500.0
    src.add_predictions(_rows([2400.0], "b"))
    assert src.add_predictions(early) == 0
    assert len(src._seen) == 1


def test_retention_none_keeps_every_row() -> None:
    clock = _Clock(1000.0)
    src = _source(clock, retention=None)
    src.add_predictions(_rows(np.arange(100.0, 1000.0, 10.0), "a"))
    clock.now = 10**9
    src.add_predictions(_rows([10.0**9 - 1], "b"))
    assert _count(src, 0.0, 1000.0) == [90.0]


@pytest.mark.parametrize("retention", [0, -1.0, float("inf"), "1h", True])
def test_retention_must_be_seconds(retention: Any) -> None:
    with pytest.raises(ConfigError, match="retention"):
        DriftSource(now=0.0, retention=retention)


# --- 1b. incremental reads of the prediction log ----------------------------------------


def _log(url: str, n: int, request: str) -> None:
    log = PredictionLog(url)
    x = _RNG.normal(size=(n, 2))
    log.add(request, x, x.sum(axis=1), latency_seconds=0.001, model="m", version="1")
    log.flush()


def test_the_prediction_log_is_read_once_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every call re-read and re-parsed the whole log (3.5 s for 200,000 rows it held).
    import fsspec

    url = "memory://review48-drift-incremental"
    _log(url, 20, "q1")
    _log(url, 30, "q2")
    fs_class = type(fsspec.filesystem("memory"))
    read: list[str] = []
    real = fs_class.cat_file

    def spy(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        read.append(path)
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(fs_class, "cat_file", spy)
    src = _source(time.time() + 60)
    assert src.load_prediction_log(url) == 50
    assert len(read) == 2
    read.clear()
    assert src.load_prediction_log(url) == 0
    assert read == []
    _log(url, 5, "q3")
    assert src.load_prediction_log(url) == 5
    assert len(read) == 1


def test_a_batch_copied_under_a_new_name_adds_no_row_twice() -> None:
    import fsspec

    url = "memory://review48-drift-copied"
    _log(url, 20, "q1")
    fs = fsspec.filesystem("memory")
    (path,) = [p for p in fs.find("/review48-drift-copied") if p.endswith(".jsonl")]
    src = _source(time.time() + 60)
    assert src.load_prediction_log(url) == 20
    fs.pipe_file(path.replace(".jsonl", "-copy.jsonl"), fs.cat_file(path))
    assert src.load_prediction_log(url) == 0


def test_a_refused_batch_is_read_again_once_fixed(tmp_path: Any) -> None:
    from modelship.deploy.serve import PredictionLogError

    folder = tmp_path / "log"
    _log(str(folder), 10, "q1")
    bad = folder / "zzz-bad.jsonl"
    bad.write_text("not json\n")
    src = _source(time.time() + 60)
    with pytest.raises(PredictionLogError, match=r"zzz-bad\.jsonl"):
        src.load_prediction_log(str(folder))
    bad.unlink()
    assert src.load_prediction_log(str(folder)) == 10  # nothing of the refused call kept


# --- 2. timestamps -----------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns", "m"])
def test_a_datetime64_timestamp_is_read_as_seconds_whatever_its_unit(unit: str) -> None:
    # [ns] was kept as 1.7e18 seconds (in no window, ever); [s]/[ms]/[us] were refused.
    src = _source(_EPOCH + 100.0)
    stamp = np.datetime64("2024-01-01T00:00:00", unit)
    assert src.add_predictions(_rows([stamp] * 40)) == 40
    assert _count(src, _EPOCH - 1.0, _EPOCH) == [40.0]


def test_a_sub_second_datetime64_is_converted_exactly() -> None:
    src = _source(_EPOCH + 100.0)
    src.add_predictions(_rows([np.datetime64("2024-01-01T00:00:00.250001", "ns")] * 40))
    assert _count(src, _EPOCH + 0.25, _EPOCH + 0.250001) == [40.0]
    assert isinstance(
        src.fetch("feature_drift", slot="1", start=_EPOCH + 0.2500015, end=_EPOCH + 1.0), NoData
    )


def test_a_datetime_with_a_time_zone_is_read_and_a_naive_one_refused() -> None:
    src = _source(_EPOCH + 100.0)
    paris = dt.timezone(dt.timedelta(hours=1))
    aware = dt.datetime(2024, 1, 1, 1, 0, 30, tzinfo=paris)  # 00:00:30 UTC
    assert src.add_predictions(_rows([aware] * 40)) == 40
    assert _count(src, _EPOCH, _EPOCH + 30.0) == [40.0]
    with pytest.raises(ConfigError, match=r"prediction 0: timestamp .* has no time zone"):
        src.add_predictions(_rows([dt.datetime(2024, 1, 1)], "naive"))


@pytest.mark.parametrize(
    ("stamp", "says"),
    [
        (True, "is a truth value, not a time"),
        (np.bool_(False), "is a truth value, not a time"),
        (np.timedelta64(5, "s"), "is a duration, not a time"),
        (dt.timedelta(seconds=5), "is a duration, not a time"),
        (np.datetime64("NaT"), "is NaT"),
        (_EPOCH * 1e3, "looks like milliseconds since the epoch: divide by 1e3"),
        (int(_EPOCH * 1e6), "looks like microseconds since the epoch: divide by 1e6"),
        (int(_EPOCH * 1e9), "looks like nanoseconds since the epoch: divide by 1e9"),
    ],
)
def test_a_timestamp_that_is_no_time_in_seconds_is_refused(stamp: Any, says: str) -> None:
    src = _source(_EPOCH)
    rows = _rows([_EPOCH, stamp], "odd")
    with pytest.raises(ConfigError, match=rf"prediction 1: timestamp .*{says}"):
        src.add_predictions(rows)
    assert src.add_predictions(rows[:1]) == 1  # nothing of the refused call was kept


def test_a_seconds_timestamp_ahead_of_a_test_clock_is_kept() -> None:
    # A fixed test clock with rows of the wall clock is not a unit mistake.
    src = _source(1000.0)
    assert src.add_predictions(_rows([_EPOCH] * 3)) == 3


# --- 3. a window with start after end ---------------------------------------------------


def test_fetch_and_check_refuse_start_after_end_naming_the_arguments() -> None:
    # fetch named an internal "no_data outcome"; check returned None.
    src = _source(100.0)
    src.add_predictions(_rows(np.arange(0.0, 100.0)))
    with pytest.raises(ConfigError, match=r"start=50\.0 is after end=40\.0"):
        src.fetch("prediction_drift", slot="1", start=50.0, end=40.0)
    with pytest.raises(ConfigError, match=r"start=50\.0 is after end=40\.0"):
        src.check("predictions", version="1", start=50.0, end=40.0)
    assert isinstance(src.fetch("prediction_drift", slot="1", start=10.0, end=10.0), NoData)


def test_rows_are_kept_as_long_as_the_longest_window_asked_for() -> None:
    """A policy window of two hours against a retention of one was judged for an hour,
    then NoData for ever (a drifted canary held instead of failed): rows are kept as long
    as the longest window asked for."""
    clock = _Clock(10_000.0)
    src = _source(clock, retention=3600.0)
    src.add_predictions(_rows(np.arange(10_000.0, 17_000.0, 100.0), "a"))
    first = src.fetch("feature_drift", slot="1", start=10_000.0 - 7200.0, end=10_000.0)
    assert isinstance(first, NoData)  # nothing yet: the window is asked for, and noted
    for now in (17_200.0, 20_000.0, 24_000.0):
        clock.now = now
        src.add_predictions(_rows(np.arange(now - 1000.0, now, 100.0), f"b{now}"))
        counted = _count(src, now - 7200.0, now)  # never NoData: all two hours kept
        assert not isinstance(counted, NoData), counted
        assert counted[0] > 10
