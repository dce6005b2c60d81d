"""A CI job that dies mid-rollout (review 54):

- a damaged alias log is an error for ``deploy`` (exit 2), never its "a rollout aborted /
  nothing to roll back" (exit 1), and the message says what to do;
- a rollout record from another machine with the same host name is "unknown", not
  "gone": a boot id that differs means "rebooted" only on the same machine (machine id);
- a second interruption that cuts an abort short still leaves the record aborted (not
  "in progress" for good), saying so, and ``apply`` says what the record says;
- ``deploy rollback`` while a rollout of the version the alias names is running refuses
  naming that rollout's runner (exit 2), not "nothing to roll back" (exit 1).
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import modelship as ms
from modelship.cli import main
from modelship.deploy import Canary, CanaryStep, InMemoryHistory, RegistryHistory, _lock
from modelship.deploy._lock import runner, runner_gone
from modelship.deploy._rollout import EventKind, RolloutRecord, RolloutStatus
from modelship.testing import InMemoryDeployer, ManualClock

# --- 1. a damaged alias log: exit 2 for deploy --------------------------------------------


@pytest.fixture
def damaged(tmp_path: Path) -> str:
    """A registry whose last alias log entry of ``fraud`` is cut short."""
    path = str(tmp_path / "reg")
    reg = ms.open_registry(path)
    for weights in (b"w1", b"w2"):
        reg.register(model_name="fraud", model=weights, serializer="bytes")
    reg.set_alias("fraud", "production", "1")
    reg.set_alias("fraud", "production", "2", expected="1")
    entry = sorted((tmp_path / "reg" / "models" / "fraud" / "aliases").glob("*.json"))[-1]
    entry.write_bytes(entry.read_bytes()[:20])
    return path


@pytest.mark.parametrize(
    "command",
    [["status"], ["rollback"], ["apply", "@production", "--for", "0"]],
    ids=["status", "rollback", "apply"],
)
def test_a_damaged_alias_log_is_an_error_for_deploy(
    damaged: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["deploy", command[0], damaged, "fraud", *command[1:]])
    said = capsys.readouterr().err
    assert code == 2, said  # 1 is "a rollout aborted / nothing to roll back"
    assert "IntegrityError" in said
    assert "models/fraud/aliases/" in said  # which file
    assert f"modelship registry verify {damaged} fraud --all" in said  # how to see them all
    assert "restore it from a backup" in said  # what to do


def test_registry_verify_still_says_a_damaged_alias_log_failed(damaged: str) -> None:
    # Only deploy's meaning of exit 1 collides; `registry verify` reports a failure (1).
    assert main(["registry", "verify", damaged, "fraud", "--all"]) == 1
    assert main(["deploy", "status", damaged, "fraud"]) == 2


# --- 2. the same host name on another machine -------------------------------------------


@pytest.fixture
def machine_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """This machine's id, read from a file of the test's."""
    found = tmp_path / "machine-id"
    found.write_text("0123456789abcdef0123456789abcdef\n")
    monkeypatch.setattr(_lock, "_MACHINE_IDS", (str(found),), raising=False)
    return "0123456789abcdef0123456789abcdef"


def test_a_runner_records_its_machine(machine_id: str) -> None:
    assert runner()["machine"] == machine_id


def test_another_machine_with_this_host_name_is_unknown_not_gone(
    machine_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = runner()
    if me["boot"] is None:
        pytest.skip("no boot id on this platform")
    # Another machine of a runner pool with this host name, running now: not "killed".
    other = {**me, "machine": "fedcba9876543210fedcba9876543210", "boot": "another-boot"}
    assert runner_gone(other) is None
    # Another machine id even with this boot id (a copied boot id): not this machine.
    assert runner_gone({**me, "machine": "fedcba9876543210fedcba9876543210"}) is None
    # This machine after a reboot: gone, as before (outside a container: see below).
    monkeypatch.setattr(_lock, "_pid_namespace", lambda: _lock._HOST_PID_NAMESPACE)
    assert runner_gone({**me, "boot": "another-boot"}) is True


def test_in_a_container_another_boot_of_this_machine_id_is_unknown(
    machine_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A container's machine id came with its image: another node's container of the same
    # image, with the same host name, would read as this machine rebooted (a second look
    # found a live rollout called "gone ... killed").
    me = runner()
    if me["boot"] is None:
        pytest.skip("no boot id on this platform")
    monkeypatch.setattr(_lock, "_pid_namespace", lambda: 4026532000)  # not the host's
    assert runner_gone({**me, "boot": "another-boot"}) is None


@pytest.mark.parametrize("text", ["uninitialized\n", "not-hex-at-all", "0123\n"])
def test_a_placeholder_machine_id_names_no_machine(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = tmp_path / "machine-id"
    found.write_text(text)
    monkeypatch.setattr(_lock, "_MACHINE_IDS", (str(found),), raising=False)
    assert runner()["machine"] is None


def test_a_record_without_a_machine_id_is_not_gone_by_its_boot_id_alone(
    machine_id: str,
) -> None:
    me = runner()
    if me["boot"] is None:
        pytest.skip("no boot id on this platform")
    older = {k: v for k, v in me.items() if k != "machine"}  # written before machine ids
    assert runner_gone({**older, "boot": "another-boot"}) is None  # a reboot, or another one
    assert runner_gone(older) is False  # this boot's id: this machine, and it runs


def test_a_host_without_a_machine_id_does_not_call_another_boot_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_lock, "_MACHINE_IDS", (str(tmp_path / "none"),), raising=False)
    me = runner()
    if me["boot"] is None:
        pytest.skip("no boot id on this platform")
    assert me.get("machine", "absent") is None
    assert runner_gone({**me, "boot": "another-boot"}) is None


# --- 3. a second interruption cuts the abort short --------------------------------------


class _Second(KeyboardInterrupt):
    """The second Ctrl-C or SIGTERM, raised in the abort of the first."""


class _Interrupting(InMemoryDeployer):
    """Raises a second interruption when the abort removes the canary's slot."""

    def remove(self, slot: str) -> None:
        raise _Second("a second SIGTERM")


class _PauseInterrupted(ManualClock):
    """Raises the first interruption in the first canary pause (the canary has traffic);
    ``in_pause``, if given, runs there instead (a command run while the canary waits)."""

    def __init__(self, dep: Callable[[], InMemoryDeployer | None]) -> None:
        super().__init__()
        self._dep = dep
        self.in_pause: Callable[[], None] | None = None
        self.done = False

    def sleep(self, seconds: float) -> None:
        dep = self._dep()
        split = dep is not None and any(s.weight == 50 for s in dep.state().slots)
        if split and not self.done:
            self.done = True
            if self.in_pause is None:
                raise KeyboardInterrupt("the first SIGTERM")
            self.in_pause()
        super().sleep(seconds)


def _canary(dep: InMemoryDeployer, clock: ManualClock, history: Any, **options: Any) -> Canary:
    return Canary(
        dep,
        steps=[CanaryStep(50, pause=60)],
        history=history,
        clock=clock,
        undo_window=0,
        **options,
    )


def _cut_short_abort(history: Any) -> list[RolloutRecord]:
    holder: list[InMemoryDeployer] = []
    clock = _PauseInterrupted(lambda: holder[0] if holder else None)
    dep = _Interrupting(clock=clock)
    holder.append(dep)
    strategy = _canary(dep, clock, history, alias=None)
    # The first deploy of 1 (no pause: nothing to split with), then the canary of 2.
    assert strategy.deploy("fraud", "1").status is RolloutStatus.SUCCEEDED
    with pytest.raises(_Second):
        strategy.deploy("fraud", "2")
    records: list[RolloutRecord] = history.records("fraud")
    return records


def test_an_abort_cut_short_by_a_second_interruption_is_recorded_aborted() -> None:
    records = _cut_short_abort(InMemoryHistory())
    last = records[-1]
    assert last.version == "2"
    assert last.status is RolloutStatus.ABORTED  # was in_progress for good
    ended = [e for e in last.events if e.kind is EventKind.ABORTED][-1]
    assert "a second interruption cut the abort short (_Second)" in ended.message
    assert "interrupted: KeyboardInterrupt" in ended.message
    assert "1 is serving from blue" in ended.message  # what was left
    assert "2 may still run in green" in ended.message
    assert ended.data["serving"] == "1"


class _SignalledHistory(InMemoryHistory):
    """Sends this process SIGINT while the final aborted record is being saved."""

    def __init__(self) -> None:
        super().__init__()
        self.signalled = False

    def save(self, record: RolloutRecord) -> None:
        if record.status is RolloutStatus.ABORTED and not self.signalled:
            self.signalled = True
            os.kill(os.getpid(), signal.SIGINT)  # a third Ctrl-C, as the record is written
        super().save(record)


@pytest.fixture
def raising_sigint() -> Iterator[None]:
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt("a third Ctrl-C")

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("raising_sigint")
def test_a_third_interruption_does_not_skip_the_final_record() -> None:
    history = _SignalledHistory()
    records = _cut_short_abort(history)
    assert history.signalled
    assert records[-1].status is RolloutStatus.ABORTED
    assert signal.getsignal(signal.SIGINT) is not None  # set back on leaving


def test_apply_says_what_the_record_says_of_an_abort_cut_short() -> None:
    from modelship.deploy import _cli

    record = _cut_short_abort(InMemoryHistory())[-1]
    outcome, where = _cli._abort_outcome((record, True))
    assert outcome.startswith("it was aborted, but a second interruption cut the abort short")
    assert "1 is serving from blue" in outcome
    assert where == "`modelship deploy history` has its record"
    in_progress = _cli._abort_outcome((_in_progress(record), False))
    assert "still says in_progress" in in_progress[0]
    assert "could not be saved" in in_progress[1]


def _in_progress(record: RolloutRecord) -> RolloutRecord:
    import attrs

    return attrs.evolve(record, status=RolloutStatus.IN_PROGRESS, events=record.events[:2])


# --- 4. deploy rollback while the rollout runs ------------------------------------------


def test_rollback_while_the_rollout_runs_names_it_and_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "reg")
    reg = ms.open_registry(path)
    for weights in (b"w1", b"w2"):
        reg.register(model_name="fraud", model=weights, serializer="bytes")
    holder: list[InMemoryDeployer] = []
    clock = _PauseInterrupted(lambda: holder[0] if holder else None)
    dep = InMemoryDeployer(registry=reg, clock=clock)
    holder.append(dep)
    strategy = _canary(dep, clock, RegistryHistory(reg))
    strategy.deploy("fraud", "1")
    answers: list[tuple[int, str]] = []

    def rollback() -> None:  # while the canary of 2 waits in its pause
        code = main(["deploy", "rollback", path, "fraud"])
        answers.append((code, capsys.readouterr().err))

    clock.in_pause = rollback
    # As `apply` follows a move: the alias names 2 while 2 rolls out.
    reg.set_alias("fraud", "production", "2", expected="1")
    strategy.deploy("fraud", "2")
    [(code, said)] = answers
    assert code == 2, said  # a refusal with a rollout running: not "nothing to roll back"
    assert "nothing to roll back to" not in said
    assert "RolloutInProgress" in said
    assert f"pid {os.getpid()} on {socket.gethostname()}" in said  # the holder
    assert "still running" in said
    assert "modelship registry alias REGISTRY fraud production 1" in said  # what to do
    assert reg.aliases("fraud")["production"] == "2"  # nothing moved
