"""The outcomes file after a crash: recovery cuts the torn line (review fixes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelship.monitor import OutcomeSource


def torn(path: Path) -> None:
    source = OutcomeSource(path, now=10.0)
    source.record_outcomes(["a"], [1])
    with path.open("ab") as f:  # a crash in the middle of the next write
        f.write(b"3f5a9c torn-payl")


def test_a_batch_recorded_after_recovering_from_a_torn_line_survives_a_reopen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outcomes.jsonl"
    torn(path)
    recovered = OutcomeSource(path, now=20.0)
    assert recovered.recovered

    recovered.record_outcomes(["b"], [0])
    again = OutcomeSource(path, now=30.0)

    assert again.recovered == ()
    assert again.unmatched == 2  # a and b, neither lost


def test_recovery_cuts_the_torn_line_off_the_file(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    torn(path)

    OutcomeSource(path, now=20.0)

    data = path.read_bytes()
    assert data.endswith(b"\n")
    assert b"torn-payl" not in data


def test_more_batches_after_a_recovery_never_make_the_file_look_corrupted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outcomes.jsonl"
    torn(path)
    for i, letter in enumerate("bcd"):
        OutcomeSource(path, now=20.0 + i).record_outcomes([letter], [1])

    assert OutcomeSource(path, now=40.0).unmatched == 4


def test_a_last_line_failing_its_checksum_is_cut_too(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    OutcomeSource(path, now=10.0).record_outcomes(["a"], [1])
    with path.open("ab") as f:
        f.write(b"00 {}\n")

    OutcomeSource(path, now=20.0).record_outcomes(["b"], [1])

    reopened = OutcomeSource(path, now=30.0)
    assert reopened.recovered == ()
    assert reopened.unmatched == 2


def test_a_torn_line_that_cannot_be_cut_is_an_error_not_a_later_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelship.monitor import OutcomeLogError

    path = tmp_path / "outcomes.jsonl"
    torn(path)
    # A read-only file (chmod does not stop root, as CI runs): opening it to write fails.
    real_open = Path.open

    def read_only(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self == path and mode != "rb" and mode != "r":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", read_only)
    with pytest.raises(OutcomeLogError, match="cannot cut the torn last line"):
        OutcomeSource(path, now=20.0)
