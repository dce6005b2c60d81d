"""A rollout whose process was killed (SIGKILL, a lost machine) stays recorded as in
progress for ever: nothing finishes its record. ``deploy status`` and ``deploy history``
now say whether its process still runs (``"process": "gone"``), from the runner the
``started`` event records, and ``deploy rollback`` says why there is nothing to roll back
and how to move the alias instead of only "nothing to roll back to"."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from test_deploy_cli import registry  # noqa: F401 - a fixture
from test_review_stop34_cli import next_event, start_apply, stop, wait_for_event

import modelship as ms
from modelship.deploy import RegistryHistory, _lock
from modelship.deploy._cli import _summary, main
from modelship.deploy._lock import runner, runner_gone
from modelship.deploy._rollout import EventKind, RolloutEvent, RolloutRecord, RolloutStatus

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _dead_runner() -> dict[str, Any]:
    """The runner of a process that has ended: a real child, waited for."""
    code = "import json; from modelship.deploy._lock import runner; print(json.dumps(runner()))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _record(started: dict[str, Any], status: RolloutStatus) -> RolloutRecord:
    return RolloutRecord(
        id="r1",
        model="fraud",
        version="2",
        strategy="canary",
        status=status,
        slot="green",
        previous_version="1",
        previous_slot="blue",
        started_at=WHEN,
        events=(RolloutEvent(WHEN, EventKind.STARTED, "started", started),),
    )


def test_a_runner_is_this_process_and_is_running() -> None:
    me = runner()
    assert (me["pid"], me["host"]) == (os.getpid(), socket.gethostname())
    assert runner_gone(me) is False


def test_a_process_that_ended_is_gone() -> None:
    assert runner_gone(_dead_runner()) is True


def test_a_pid_reused_by_another_process_is_gone() -> None:
    me = runner()
    if me["start"] is None:
        pytest.skip("no /proc start time on this platform")
    assert runner_gone({**me, "start": me["start"] - 1}) is True


def test_a_runner_in_another_pid_namespace_is_unknown() -> None:
    # A container with the host's name and boot: its pid 1 is not this namespace's pid 1.
    me = runner()
    if me["pidns"] is None:
        pytest.skip("no PID namespace on this platform")
    assert runner_gone({**me, "pidns": me["pidns"] + 1}) is None
    assert runner_gone({**me, "pid": 1, "start": 1, "pidns": me["pidns"] + 1}) is None
    assert runner_gone({**me, "pidns": None}) is None  # a record that does not say


def test_a_live_process_whose_start_cannot_be_read_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # /proc mounted with hidepid: another user's process exists but its stat is hidden.
    me = runner()
    if me["pidns"] is None:
        pytest.skip("no PID namespace on this platform")
    monkeypatch.setattr(_lock, "_stat", lambda pid: None)
    assert runner_gone(me) is None


def test_a_reboot_since_is_gone() -> None:
    me = runner()
    if me["boot"] is None:
        pytest.skip("no boot id on this platform")
    assert runner_gone({**me, "boot": "another-boot"}) is True


@pytest.mark.parametrize(
    "recorded",
    [
        None,
        "pid 12",
        {"pid": 1, "host": "another-host", "boot": None, "start": None},
        {"pid": True, "host": socket.gethostname(), "boot": None, "start": None},
        {"pid": -1, "host": socket.gethostname(), "boot": None, "start": None},
        {"pid": 2**40, "host": socket.gethostname(), "boot": None, "start": None},
        {"pid": os.getpid(), "host": socket.gethostname(), "boot": 5, "start": None},
        {"pid": os.getpid(), "host": ["vm"], "boot": None, "start": None},
    ],
    ids=["none", "text", "another host", "bool pid", "negative", "huge", "bad boot", "bad host"],
)
def test_a_runner_this_host_cannot_judge_is_unknown(recorded: object) -> None:
    assert runner_gone(recorded) is None


def test_the_summary_of_an_in_progress_rollout_says_whether_its_process_runs() -> None:
    in_progress = RolloutStatus.IN_PROGRESS
    assert _summary(_record({"runner": _dead_runner()}, in_progress))["process"] == "gone"
    assert _summary(_record({"runner": runner()}, in_progress))["process"] == "running"
    assert _summary(_record({}, in_progress))["process"] == "unknown"  # an older record
    assert "process" not in _summary(_record({"runner": runner()}, RolloutStatus.SUCCEEDED))


@pytest.mark.slow
def test_a_killed_apply_leaves_a_rollout_status_calls_gone(
    registry: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = tmp_path / "canary.yaml"
    spec.write_text(
        "deployment:\n"
        "  strategy: canary\n"
        "  containers: [{name: m, image: 'm:1'}]\n"
        "  canary: {steps: [{weight: 50, pause: 60}]}\n"
    )
    apply = start_apply(registry, "--spec", str(spec))
    try:
        next_event(apply)
        ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
        assert wait_for_event(registry, "2", "pause", "step 1", 60)
        # Running: status says so.
        assert main(["status", registry, "fraud"]) == 0
        running = json.loads(capsys.readouterr().out)["last_rollout"]
        assert (running["status"], running["process"]) == ("in_progress", "running")
        apply.send_signal(signal.SIGKILL)
        apply.wait(60)
    finally:
        stop(apply)
    records = RegistryHistory(ms.open_registry(registry)).records("fraud")
    assert records[-1].status is RolloutStatus.IN_PROGRESS  # nothing could finish it
    assert main(["status", registry, "fraud"]) == 0
    status = json.loads(capsys.readouterr().out)["last_rollout"]
    assert (status["version"], status["status"], status["process"]) == ("2", "in_progress", "gone")
    assert main(["history", registry, "fraud"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [r.get("process") for r in history] == [None, "gone"]
    assert main(["rollback", registry, "fraud"]) == 1
    said = capsys.readouterr().err
    assert "nothing to roll back to" in said
    assert "is recorded in progress, but the process that ran it is gone" in said
    assert "modelship registry alias REGISTRY fraud production 1" in said


def test_a_killed_runner_not_yet_reaped_is_gone() -> None:
    # A zombie (SIGKILLed, its parent has not waited yet) has its pid and start time still.
    code = (
        "import json, time; from modelship.deploy._lock import runner; "
        "print(json.dumps(runner()), flush=True); time.sleep(600)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout is not None
        recorded = json.loads(child.stdout.readline())
        if recorded["pidns"] is None:
            pytest.skip("no PID namespace on this platform")
        assert runner_gone(recorded) is False
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while runner_gone(recorded) is not True and time.monotonic() < deadline:
            time.sleep(0.05)  # until the kernel has made it a zombie
        assert runner_gone(recorded) is True
        assert child.poll() is None or child.returncode is not None
    finally:
        child.kill()
        child.wait(30)
