"""``modelship monitor watch`` review fixes: a log it cannot write, disabled policies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modelship as ms

_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from modelship.cli import main
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, resource.RLIM_INFINITY))
    sys.exit(main(["monitor", "watch", "http://127.0.0.1:9", "--slot", "canary",
                   "-c", "error_rate > 1%", "--interval", "0.01", "--duration", "60",
                   "--timeout", "1", "--log", sys.argv[1]]))
    """
)


def test_cli_watch_goes_on_without_a_log_file_it_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    printed = [json.loads(line) for line in done.stdout.splitlines()]
    evaluations = [p for p in printed if "verdict" in p]
    assert done.returncode == 1, done.stderr  # rolled back at the error limit, as ever
    assert [p["action"] for p in evaluations][-1] == "rollback"
    assert len(evaluations) == 5
    stopped = [p for p in printed if p.get("event") == "log_error"]
    assert len(stopped) == 1
    assert "stops before evaluation 1" in stopped[0]["message"]
    assert "the decision log stops" in done.stderr
    kept = ms.monitor.DecisionLog.from_jsonl(path.read_text())  # whole lines only
    assert len(kept) == 1


DISABLED = """
deployment:
  monitoring:
    enabled: false
    conditions: ["error_rate > 1%"]
"""


def test_watch_of_a_disabled_policy_evaluates_nothing_and_says_so(tmp_path: Path) -> None:
    from modelship.deploy import BlueGreen, EventKind
    from modelship.testing import InMemoryDeployer

    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    src = ms.monitor.InMemorySource(now=dep.clock.monotonic)
    src.add("error_rate", slot=rollout.slot, values=[0.2] * 50, timestamps=[0.0] * 50)
    path = tmp_path / "d.jsonl"

    result = ms.monitor.watch(
        rollout,
        src,
        ms.monitor.RollbackPolicy.from_yaml(DISABLED),
        interval=60.0,
        duration=600.0,
        clock=dep.clock,
        log_path=path,
    )

    assert (result.watched, result.rolled_back, result.last, len(result.log)) == (
        False,
        False,
        None,
        0,
    )
    assert dep.state().serving().version == "2"
    assert dep.clock.monotonic() == 0.0  # returned at once
    assert not path.exists()
    messages = [e.message for e in rollout.history if e.kind is EventKind.MONITOR]
    assert messages == ["not watching green: the policy is disabled (enabled: false)"]


def test_run_policy_of_a_disabled_policy_returns_an_empty_log() -> None:
    policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"], enabled=False)
    src = ms.monitor.InMemorySource(now=0.0)
    src.add("error_rate", slot="canary", values=[1.0] * 50, timestamps=[0.0] * 50)
    rolled: list[object] = []

    log = ms.monitor.run_policy(
        src, policy, slot="canary", window=60.0, interval=60.0, duration=600.0,
        on_rollback=rolled.append, sleep=lambda seconds: None,
    )  # fmt: skip

    assert (len(log), rolled) == (0, [])


def test_cli_watch_of_a_disabled_policy_prints_it_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelship.cli import main

    policy = tmp_path / "policy.yaml"
    policy.write_text(DISABLED)
    log = tmp_path / "d.jsonl"

    code = main(
        [
            "monitor", "watch", "http://127.0.0.1:9", "--slot", "green", "--policy",
            str(policy), "--interval", "1", "--duration", "1", "--log", str(log),
        ]
    )  # fmt: skip

    out = capsys.readouterr()
    assert code == 0
    assert [json.loads(line) for line in out.out.splitlines()] == [
        {
            "event": "disabled",
            "slot": "green",
            "message": "not watching green: the policy is disabled (monitoring.enabled: false)",
        }
    ]
    assert "disabled" in out.err
    assert not log.exists()


@pytest.mark.parametrize("command", ["status", "replay"])
def test_a_decision_log_that_is_not_utf8_is_an_error_naming_the_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    from modelship.cli import main

    policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    log = ms.monitor.DecisionLog(policy, started_at=0.0)
    src = ms.monitor.InMemorySource(now=100.0)
    src.add("error_rate", slot="c", values=[0.0] * 50, timestamps=[90.0] * 50)
    log.evaluate(src, slot="c", window=60.0)
    path = tmp_path / "d.jsonl"
    path.write_bytes(log.to_jsonl().encode() + b"\xff\xfe")

    code = main(["monitor", command, str(path)])

    assert code == 2
    assert "is not a decision log: line 3 is not UTF-8 text" in capsys.readouterr().err
