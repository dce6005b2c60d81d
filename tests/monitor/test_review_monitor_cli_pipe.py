"""A reader that leaves early (``modelship monitor replay ... | head -1``) changes neither
what a monitor command does nor its exit code: a replay that differs still exits 1, and a
watch goes on watching, rolls back, and exits 1."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from test_monitor_cli import P95, write_log

import modelship as ms
from modelship.cli import main


class GoneAfter(io.StringIO):
    """Standard output whose reader leaves after ``lines`` lines."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= text.count("\n")
        return super().write(text)


def test_a_replay_whose_reader_leaves_before_the_difference_still_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.jsonl"
    write_log(path, [0.1, 0.5])
    head, first, second = path.read_text().splitlines()
    record = json.loads(second)
    record["decision"]["verdict"] = "pass"  # the second decision differs on replay
    path.write_text("\n".join([head, first, json.dumps(record)]) + "\n")
    monkeypatch.setattr("sys.stdout", GoneAfter(lines=0))

    assert main(["monitor", "replay", str(path)]) == 1


def test_a_replay_that_agrees_exits_0_when_its_reader_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_log(tmp_path / "d.jsonl", [0.1, 0.5, 0.1])
    monkeypatch.setattr("sys.stdout", GoneAfter(lines=1))

    assert main(["monitor", "replay", str(tmp_path / "d.jsonl")]) == 0


def test_a_watch_whose_reader_leaves_keeps_watching_and_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = GoneAfter(lines=1)
    monkeypatch.setattr("sys.stdout", out)
    path = tmp_path / "d.jsonl"
    code = main(
        [
            "monitor", "watch", "http://127.0.0.1:9", "--slot", "canary", "-c", P95,
            "--interval", "0.01", "--duration", "60", "--timeout", "1", "--log", str(path),
        ]
    )  # fmt: skip

    assert code == 1  # rolled back at the error limit, as with a reader that stays
    log = ms.monitor.DecisionLog.from_jsonl(path.read_text())
    assert [step.action for _, step in log][-1] == "rollback"
    assert len(log) == 5
    assert len(out.getvalue().splitlines()) == 1  # what the reader took before leaving
