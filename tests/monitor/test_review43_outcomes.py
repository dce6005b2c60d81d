"""OutcomeSource, review 43: a logged row's ``method`` decides what its output is, a
failing last line is moved aside before an append, a path in a missing directory and a
failed append are our errors, and a date-time time stamp is refused."""

from __future__ import annotations

import datetime
import errno
import fcntl
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.errors import ConfigError
from modelship.monitor import OutcomeLogError, OutcomeSource

posix_only = pytest.mark.skipif(os.name != "posix", reason="flock is POSIX")


def _log(folder: Path, rows: list[dict[str, Any]]) -> str:
    folder.mkdir()
    lines = [
        {"row": 0, "model": "m", "version": "3", "latency_seconds": 0.001, "inputs": [0.0], **r}
        for r in rows
    ]
    (folder / "batch-0001.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    return str(folder)


def _row(i: int, output: Any, **more: Any) -> dict[str, Any]:
    return {"request_id": f"q{i}", "timestamp": 10.0 + i, "output": output, **more}


# --- 1. the row's method, not its output's shape ---------------------------------------


def test_a_list_logged_as_a_predict_answer_is_refused_naming_the_row(tmp_path: Path) -> None:
    # a two-label model's predict: one-hot rows, which read as pairs would make roc_auc 0
    log = _log(tmp_path / "log", [_row(i, [i % 2, 1 - i % 2], method="predict") for i in range(40)])
    with pytest.raises(
        ConfigError, match=r"prediction 'q0': its predict answer \[0, 1\] is a list"
    ):
        OutcomeSource(now=100.0).load_prediction_log(log)


def test_a_number_logged_as_a_predict_proba_answer_is_refused_naming_the_row(
    tmp_path: Path,
) -> None:
    rows = [_row(0, [0.2, 0.8], method="predict_proba"), _row(1, 0.7, method="predict_proba")]
    with pytest.raises(ConfigError, match=r"prediction 'q1': its predict_proba answer 0\.7"):
        OutcomeSource(now=100.0).load_prediction_log(_log(tmp_path / "log", rows))


def test_a_row_of_another_method_is_left_out_as_drift_leaves_it(tmp_path: Path) -> None:
    """A log a user writes may hold other methods' answers: no metric reads them, and
    they do not stop the metrics reading the rest."""
    rows = [_row(0, 0.5, method="decision_function")]
    rows += [_row(i, i % 2, method="predict") for i in range(1, 21)]
    src = OutcomeSource(now=100.0)
    src.load_prediction_log(_log(tmp_path / "log", rows))
    src.record_outcomes([f"q{i}" for i in range(21)], [i % 2 for i in range(21)])
    accuracy = src.evaluate("accuracy", version="3", start=0.0, end=200.0)
    assert (accuracy.value, accuracy.n) == (1.0, 20)


def test_rows_without_method_are_still_told_by_the_output_shape(tmp_path: Path) -> None:
    rows = [_row(i, [0.1, 0.9] if i % 2 else [0.9, 0.1]) for i in range(20)]
    rows += [_row(100 + i, i % 2) for i in range(20)]
    src = OutcomeSource(now=100.0)
    assert src.load_prediction_log(_log(tmp_path / "log", rows)) == 40
    src.record_outcomes([f"q{i}" for i in range(20)], [i % 2 for i in range(20)])
    src.record_outcomes([f"q{100 + i}" for i in range(20)], [i % 2 for i in range(20)])
    assert src.evaluate("roc_auc", version="3", start=0.0, end=200.0).value == 1.0
    accuracy = src.evaluate("accuracy", version="3", start=0.0, end=200.0)
    assert (accuracy.value, accuracy.n) == (1.0, 20)


def test_method_tagged_rows_of_both_methods_are_read_by_their_method(tmp_path: Path) -> None:
    rows = [_row(i, [0.2, 0.8] if i % 2 else [0.7, 0.3], method="predict_proba") for i in range(20)]
    rows += [_row(i, i % 2, method="predict") for i in range(20)]  # the same requests
    src = OutcomeSource(now=100.0)
    assert src.load_prediction_log(_log(tmp_path / "log", rows)) == 40
    src.record_outcomes([f"q{i}" for i in range(20)], [i % 2 for i in range(20)])
    brier = src.evaluate("brier", version="3", start=0.0, end=100.0)
    assert brier.value == pytest.approx(0.065)  # (0.2**2 + 0.3**2) / 2, from the pairs
    assert src.evaluate("accuracy", version="3", start=0.0, end=100.0).value == 1.0


# --- 2. a failing last line with its newline, left on disk by an opener ----------------

BAD_LINE = b'0000 {"v":1,"at":11.0,"ids":["b"],"rows":null,"y":[0.0]}\n'


@posix_only
def test_an_append_moves_a_last_line_failing_its_checksum_aside_first(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    OutcomeSource(path, now=10.0).record_outcomes(["a"], [1.0])
    with path.open("ab") as f:
        f.write(BAD_LINE)
    with path.open("rb") as other:  # another process appending: the opener cannot cut
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        writer = OutcomeSource(path, now=12.0)
    assert path.read_bytes().endswith(BAD_LINE)

    writer.record_outcomes(["c"], [1.0])

    reopened = OutcomeSource(path, now=13.0)  # raised OutcomeLogError: line 2 corrupted
    assert reopened.unmatched == 2
    assert reopened.recovered == ()
    (side,) = tmp_path.glob("outcomes.jsonl.cut-*")
    assert side.read_bytes() == BAD_LINE
    assert any("fails its checksum" in note for note in writer.recovered)


@posix_only
def test_an_append_leaves_a_verified_last_line_alone(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    src = OutcomeSource(path, now=10.0)
    src.record_outcomes(["a"], [1.0])
    before = path.read_bytes()
    src.record_outcomes(["b"], [0.0])
    assert path.read_bytes().startswith(before)
    assert src.recovered == ()
    assert list(tmp_path.glob("outcomes.jsonl.cut-*")) == []


# --- 3. a path in a missing directory, an append that fails -----------------------------


def test_a_path_in_a_missing_directory_is_refused_when_constructed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no-such-dir.* does not exist"):
        OutcomeSource(tmp_path / "no-such-dir" / "outcomes.jsonl", now=1.0)


def test_an_append_that_fails_raises_outcome_log_error_with_path_and_errno(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outcomes.jsonl"
    src = OutcomeSource(path, now=1.0)
    path.mkdir()  # the file's place is taken: opening it for writing fails
    with pytest.raises(OutcomeLogError, match=f"outcomes.jsonl: .*errno {errno.EISDIR}") as info:
        src.record_outcomes(["a"], [1.0])
    assert isinstance(info.value.__cause__, IsADirectoryError)
    assert src.unmatched == 0


# --- 4. date-time time stamps ----------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        np.datetime64("2026-01-01T00:00:00", "s"),
        np.datetime64("2026-01-01T00:00:00", "ns"),
        datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    ],
    ids=["datetime64-s", "datetime64-ns", "datetime"],
)
def test_a_date_time_timestamp_is_refused_not_read_in_its_own_unit(stamp: Any) -> None:
    src = OutcomeSource(now=1.8e9)
    rows = [{"request_id": "a", "row": 0, "timestamp": 1.7e9, "version": "1", "output": 1}]
    rows.append({"request_id": "b", "row": 0, "timestamp": stamp, "version": "1", "output": 1})
    with pytest.raises(ConfigError, match=r"prediction 1 \('b'\): timestamp .* is a date-time"):
        src.add_predictions(rows)
    assert src.evaluate("accuracy", version="1", start=0.0, end=1.8e9).n == 0


def test_a_column_of_datetime64_timestamps_is_refused() -> None:
    stamps = np.array(["2026-01-01T00:00:00"] * 2, dtype="datetime64[ms]")
    rows = [
        {"request_id": f"r{i}", "row": 0, "timestamp": t, "version": "1", "output": 1}
        for i, t in enumerate(stamps)
    ]
    with pytest.raises(ConfigError, match=r"prediction 0 .* is a date-time"):
        OutcomeSource(now=1.0).add_predictions(rows)


# --- second look -------------------------------------------------------------------------


def test_a_path_whose_folder_name_is_too_long_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read as an outcomes file"):
        OutcomeSource(tmp_path / ("a" * 300) / "outcomes.jsonl")


def test_an_append_after_this_sources_own_does_not_read_its_line_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file ends with this source's last line, verified as written: reading (and
    hashing) a large batch back under the lock on every append is not needed."""
    from modelship.monitor import _outcomes

    looks: list[int] = []
    real = _outcomes._bad_last_line

    def counted(fd: int, size: int) -> tuple[int, str]:
        looks.append(size)
        return real(fd, size)

    monkeypatch.setattr(_outcomes, "_bad_last_line", counted)
    src = OutcomeSource(tmp_path / "outcomes.jsonl")
    src.record_outcomes(["a"], [1])
    src.record_outcomes(["b"], [0])
    src.record_outcomes(["c"], [1])
    assert len(looks) == 1, f"the last line was read back {len(looks)} times"
    other = OutcomeSource(tmp_path / "outcomes.jsonl")  # another writer appends...
    other.record_outcomes(["d"], [1])
    src.record_outcomes(["e"], [0])  # ...so this one reads the last line back again
    assert len(looks) == 3
    assert OutcomeSource(tmp_path / "outcomes.jsonl").recovered == ()


@pytest.mark.parametrize("name", ["out\x00comes.log", "no\x00dir/outcomes.log"])
def test_a_path_with_a_nul_character_is_a_config_error_saying_so(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="NUL character"):
        OutcomeSource(path=f"{tmp_path}/{name}")
