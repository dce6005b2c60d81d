"""The outcomes file shared by processes, third look: an append never glues its line to
torn bytes, an opener holds the lock only to read and cut, and side files never collide."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from modelship.monitor import OutcomeLogError, OutcomeSource, _outcomes

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock is POSIX")

TORN = b"3f5a9c torn-payl"  # what a writer that crashed mid-append leaves


def torn_log(path: Path) -> None:
    OutcomeSource(path, now=10.0).record_outcomes(["a"], [1])
    with path.open("ab") as f:
        f.write(TORN)


def open_while_locked(path: Path) -> OutcomeSource:
    """Open ``path`` while another process (here another open file) holds its lock."""
    with path.open("rb") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        return OutcomeSource(path, now=20.0)


def test_an_append_after_torn_bytes_left_on_disk_moves_them_aside_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outcomes.jsonl"
    torn_log(path)
    writer = open_while_locked(path)  # a restarted writer that could not cut the tail
    assert path.read_bytes().endswith(TORN)

    writer.record_outcomes(["b"], [0])
    writer.record_outcomes(["c"], [1])

    reopened = OutcomeSource(path, now=30.0)
    assert reopened.unmatched == 3
    assert reopened.recovered == ()
    (side,) = tmp_path.glob("outcomes.jsonl.cut-*")
    assert side.read_bytes() == TORN
    assert any(str(side) in note for note in writer.recovered)


def test_an_append_finds_a_torn_line_longer_than_one_backwards_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_outcomes, "_BACKWARDS", 7)  # the torn line spans several reads
    path = tmp_path / "outcomes.jsonl"
    torn_log(path)
    writer = open_while_locked(path)

    writer.record_outcomes(["b"], [0])

    assert OutcomeSource(path, now=30.0).unmatched == 2
    (side,) = tmp_path.glob("outcomes.jsonl.cut-*")
    assert side.read_bytes() == TORN


def test_an_append_to_a_file_of_torn_bytes_only_moves_all_of_them_aside(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outcomes.jsonl"
    path.write_bytes(TORN)
    writer = open_while_locked(path)

    writer.record_outcomes(["b"], [0])

    assert OutcomeSource(path, now=30.0).unmatched == 1
    (side,) = tmp_path.glob("outcomes.jsonl.cut-*")
    assert side.read_bytes() == TORN


def test_an_append_can_take_the_lock_while_an_opener_is_still_replaying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "outcomes.jsonl"
    writer = OutcomeSource(path, now=10.0)
    writer.record_outcomes(["a"], [1])
    replaying, appended, release = threading.Event(), threading.Event(), threading.Event()
    opened: list[OutcomeSource] = []
    opening = threading.Thread(target=lambda: opened.append(OutcomeSource(path, now=20.0)))
    apply = OutcomeSource._apply

    def paused_apply(self: OutcomeSource, *args: Any) -> Any:
        if threading.current_thread() is opening:  # the opener's replay, at line 1
            replaying.set()
            release.wait(timeout=60)
        return apply(self, *args)

    monkeypatch.setattr(OutcomeSource, "_apply", paused_apply)
    opening.start()
    try:
        assert replaying.wait(timeout=60)
        appending = threading.Thread(
            target=lambda: (writer.record_outcomes(["b"], [0]), appended.set())
        )
        appending.start()
        # The opener is paused in its replay: the append gets the lock meanwhile (with
        # the lock held for the whole replay it would wait for the release below).
        append_went_through = appended.wait(timeout=10)
    finally:
        release.set()
        opening.join(timeout=60)
    appending.join(timeout=60)

    assert append_went_through
    assert opened[0].unmatched == 1  # the bytes read under the lock are what is replayed
    assert OutcomeSource(path, now=30.0).unmatched == 2


def test_an_opener_that_finds_a_corrupted_line_holds_no_lock_after(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    OutcomeSource(path, now=10.0).record_outcomes(["a"], [1])
    OutcomeSource(path, now=11.0).record_outcomes(["b"], [1])
    data = path.read_bytes()
    path.write_bytes(b"-" + data[1:])  # line 1's checksum is not hex

    with pytest.raises(OutcomeLogError, match="line 1"):
        OutcomeSource(path, now=20.0)

    with path.open("rb") as f:  # not left locked
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


class _StoppedClock:
    """The ``time`` module as one clock tick sees it."""

    @staticmethod
    def time() -> float:
        return 1_800_000_000.0

    @staticmethod
    def time_ns() -> int:
        return 1_800_000_000_000_000_000


def test_two_cuts_in_one_clock_tick_by_one_process_get_two_side_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_outcomes, "time", _StoppedClock)
    path = tmp_path / "outcomes.jsonl"
    torn_log(path)
    OutcomeSource(path, now=20.0)
    with path.open("ab") as f:
        f.write(b"another torn")

    reopened = OutcomeSource(path, now=30.0)

    assert reopened.unmatched == 1
    sides = sorted(side.read_bytes() for side in tmp_path.glob("outcomes.jsonl.cut-*"))
    assert sides == [TORN, b"another torn"]


def test_a_side_file_name_that_exists_is_never_overwritten_the_next_is_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_outcomes, "time", _StoppedClock)
    monkeypatch.setattr(_outcomes, "_side_count", iter(range(5)))
    taken = tmp_path / f"outcomes.jsonl.cut-{_StoppedClock.time_ns()}-{os.getpid()}-0"
    taken.write_bytes(b"an earlier cut")
    path = tmp_path / "outcomes.jsonl"
    torn_log(path)

    reopened = OutcomeSource(path, now=20.0)

    assert taken.read_bytes() == b"an earlier cut"
    (side,) = set(tmp_path.glob("outcomes.jsonl.cut-*")) - {taken}
    assert side.read_bytes() == TORN
    assert any(str(side) in note for note in reopened.recovered)


def test_side_file_names_all_taken_is_said_and_not_blamed_on_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_outcomes, "time", _StoppedClock)
    monkeypatch.setattr(_outcomes, "_side_count", iter([0] * 100))
    taken = tmp_path / f"outcomes.jsonl.cut-{_StoppedClock.time_ns()}-{os.getpid()}-0"
    taken.write_bytes(b"an earlier cut")
    path = tmp_path / "outcomes.jsonl"
    torn_log(path)

    with pytest.raises(OutcomeLogError) as raised:
        OutcomeSource(path, now=20.0)

    message = str(raised.value)
    assert "exist" in message
    assert str(taken) in message
    assert "writable" not in message
    assert path.read_bytes().endswith(TORN)  # nothing cut without its copy
