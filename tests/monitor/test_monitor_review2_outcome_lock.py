"""The outcomes file shared by processes: an opener never cuts another writer's line."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from modelship.monitor import OutcomeSource

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock is POSIX")


def test_an_opener_leaves_a_line_being_appended_under_the_lock_on_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outcomes.jsonl"
    OutcomeSource(path, now=10.0).record_outcomes(["a"], [1])
    line = path.read_bytes()  # a whole verified line, to append again in two halves
    with path.open("ab") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # another process, mid-append
        writer.write(line[:20])
        writer.flush()

        reader = OutcomeSource(path, now=20.0)

        assert reader.unmatched == 1
        assert path.read_bytes() == line + line[:20]
        writer.write(line[20:])
        writer.flush()
        fcntl.flock(writer.fileno(), fcntl.LOCK_UN)

    assert path.read_bytes() == line + line
    assert OutcomeSource(path, now=30.0).recovered == ()


def test_a_reader_that_cannot_take_the_lock_says_it_left_the_tail(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    with path.open("ab") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        writer.write(b"3f5a9c half-a-line")
        writer.flush()

        reader = OutcomeSource(path, now=20.0)

    assert any("left the last 18 bytes" in note for note in reader.recovered)


def test_the_bytes_cut_off_are_copied_to_a_side_file(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    OutcomeSource(path, now=10.0).record_outcomes(["a"], [1])
    with path.open("ab") as f:
        f.write(b"3f5a9c torn-payl")

    reopened = OutcomeSource(path, now=20.0)

    sides = list(tmp_path.glob("outcomes.jsonl.cut-*"))
    assert [side.read_bytes() for side in sides] == [b"3f5a9c torn-payl"]
    assert any(str(sides[0]) in note for note in reopened.recovered)


def test_a_batch_glued_after_torn_bytes_is_kept_in_the_side_file(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    OutcomeSource(path, now=10.0).record_outcomes(["a"], [1])
    with path.open("ab") as f:  # a torn line, then a batch appended right after it
        f.write(b"3f2a9c torn-bytes")
    other = tmp_path / "other.jsonl"
    OutcomeSource(other, now=11.0).record_outcomes(["b2"], [0])
    with path.open("ab") as f:
        f.write(other.read_bytes())

    OutcomeSource(path, now=20.0)

    (side,) = tmp_path.glob("outcomes.jsonl.cut-*")
    assert b'"b2"' in side.read_bytes()
    assert b'"b2"' not in path.read_bytes()
