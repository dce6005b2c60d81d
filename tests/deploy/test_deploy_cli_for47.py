"""``deploy apply --for N`` stops N seconds after it started, a rollout running then too.

``--for`` was only looked at between polls of the alias: a rollout (a canary's pause, a
wait for readiness, the first deploy too) ran to its end past the deadline, and ``apply
--for 10`` promoted a canary 50 s after it started, exit 0. The end of ``--for`` now
does what SIGTERM does: a rollout running then is cut short and aborted (exit 1, the
previous version serving until the stop); between rollouts ``apply`` stops, exit 0.

Each test runs ``apply`` as a real process (so the deadline is a real signal in it),
deploying to the in-memory deployer double, whose deploys take no time: the deadline
falls where the test puts it, not where a model server's start-up happens to end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy import RegistryHistory, RolloutRecord
from modelship.deploy._cli import _for_deadline, _Interrupted, _Signals

# apply on the deployer double (waiting for readiness in real time). RELEASE=V moves the
# alias production from 1 to V as soon as 1 serves (the follower's first look sees it);
# NEVER_READY=V: V never becomes ready.
CODE = """
import os, sys
import modelship as ms
from modelship.deploy import _cli
from modelship.deploy._clock import SystemClock
from modelship.testing import Fault, FaultEffect, InMemoryDeployer

class Double(InMemoryDeployer):
    endpoint = "http://double.invalid"

never = os.environ.get("NEVER_READY")
faults = (Fault("apply", FaultEffect.NEVER_READY, version=never),) if never else ()
_cli.LocalDeployer = lambda registry: Double(registry, clock=SystemClock(), faults=faults)
serving = _cli._serving_event

def released(data, addresses):
    serving(data, addresses)
    if os.environ.get("RELEASE") and data["version"] == "1":
        reg = ms.open_registry(sys.argv[2])
        reg.set_alias("fraud", "production", os.environ["RELEASE"], expected="1")

_cli._serving_event = released
sys.exit(_cli.main(sys.argv[1:]))
"""

#: Far longer than any test waits: a rollout still in it at the end was cut short.
LONG = 60


@pytest.fixture
def registry(tmp_path: Path) -> str:
    """A registry of ``fraud`` 1 and 2 (the double serves any bytes)."""
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for weights in (b"1", b"2"):
        reg.register(model_name="fraud", model=weights, serializer="bytes")
    return url


@pytest.fixture
def canary(tmp_path: Path) -> str:
    """A canary spec whose one step pauses :data:`LONG` seconds."""
    spec = tmp_path / "canary.yaml"
    spec.write_text(
        "deployment:\n"
        "  strategy: canary\n"
        "  containers: [{name: m, image: 'm:1'}]\n"
        f"  canary: {{steps: [{{weight: 50, pause: {LONG}}}]}}\n"
    )
    return str(spec)


def apply_for(
    registry: str, seconds: float, *options: str, **env: str
) -> tuple[int, list[dict[str, object]], str]:
    """``apply`` of version 1 ``--for seconds`` in a process of its own: its exit code,
    its JSON events and its stderr. A process still running after half :data:`LONG`
    (the deadline ignored: a rollout ran on) is killed, and the test fails."""
    argv = [sys.executable, "-c", CODE, "apply", registry, "fraud", "1", "--poll", "0.05"]
    try:
        done = subprocess.run(
            [*argv, "--for", str(seconds), *options],
            capture_output=True,
            text=True,
            timeout=LONG / 2,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"apply --for {seconds} still ran after {LONG / 2:g} s")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, events, done.stderr


def last_record(registry: str, version: str) -> RolloutRecord:
    history = RegistryHistory(ms.open_registry(registry))
    records = [r for r in history.records("fraud") if r.version == version]
    assert records, f"no rollout of {version} recorded"
    return records[-1]


def test_for_ending_in_a_followed_canary_pause_aborts_it_and_exits_1(
    registry: str, canary: str
) -> None:
    code, events, err = apply_for(registry, 2, "--spec", canary, RELEASE="2")

    assert code == 1  # the rollout did not complete
    assert [e["version"] for e in events] == ["1"]  # 2 never served all the traffic
    assert (
        "the end of --for cut the rollout of fraud 2 short: it was aborted (1 was serving)" in err
    )
    assert "Traceback" not in err
    record = last_record(registry, "2")
    assert record.status.value == "aborted"  # not promoted after the deadline
    assert record.events[-1].message == "interrupted: ForEnded"
    assert not any(e.kind.value == "succeeded" for e in record.events)
    assert last_record(registry, "1").status.value == "succeeded"
    # A stop is no verdict on the release: the next `apply @production` deploys it.
    assert ms.open_registry(registry).aliases("fraud") == {"production": "2"}


def test_for_ending_in_the_first_deploy_aborts_it_and_exits_1(registry: str) -> None:
    # Version 1 never becomes ready: its deploy waits up to --progress-deadline (25 s).
    code, events, err = apply_for(registry, 1, "--progress-deadline", "25", NEVER_READY="1")

    assert code == 1
    assert events == []  # nothing served
    assert "the end of --for cut the rollout of fraud 1 short: it was aborted" in err
    record = last_record(registry, "1")
    assert record.status.value == "aborted"
    # Cut short by the deadline, not aborted at the progress deadline it would reach.
    assert record.events[-1].message == "interrupted: ForEnded"


def test_for_ending_between_rollouts_stops_serving_and_exits_0(registry: str, canary: str) -> None:
    code, events, err = apply_for(registry, 1, "--spec", canary)

    assert code == 0
    assert [e["version"] for e in events] == ["1"]
    assert "cut the rollout" not in err
    assert last_record(registry, "1").status.value == "succeeded"
    assert ms.open_registry(registry).aliases("fraud") == {"production": "1"}


def test_for_0_deploys_looks_once_and_exits_0(registry: str, canary: str) -> None:
    # --for 0 arms no deadline: the first deploy runs to its end (a canary's first
    # deploy skips the pause), then one look at the alias, then apply stops.
    code, events, _ = apply_for(registry, 0, "--spec", canary)

    assert code == 0
    assert [e["version"] for e in events] == ["1"]
    assert last_record(registry, "1").status.value == "succeeded"


def test_for_sets_the_alarm_handler_and_timer_it_found_again() -> None:
    # A test runner's timeout (pytest-timeout) is a SIGALRM timer too: apply run in its
    # process must not leave it disarmed, nor its own handler in place.
    def runner(signum: int, frame: object) -> None:
        raise AssertionError("the runner's timeout fired")

    before = signal.signal(signal.SIGALRM, runner)
    previous = signal.setitimer(signal.ITIMER_REAL, 500)
    try:
        with _for_deadline(5, _Signals()):
            assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 5
        assert signal.getsignal(signal.SIGALRM) is runner
        assert 5 < signal.getitimer(signal.ITIMER_REAL)[0] <= 500
    finally:
        signal.signal(signal.SIGALRM, before)
        signal.setitimer(signal.ITIMER_REAL, *previous)


# The end of --for lands in the drain of an abort the rollout began on its own (version
# NEVER_READY missed its progress deadline): the double's first remove() of a slot, the
# abort's drain, raises the SIGALRM that --for would, at once (--for itself is LONG).
ABORT_DRAIN = CODE.replace(
    'class Double(InMemoryDeployer):\n    endpoint = "http://double.invalid"\n',
    'class Double(InMemoryDeployer):\n    endpoint = "http://double.invalid"\n'
    "    drained = 0\n"
    "    def remove(self, slot):\n"
    "        Double.drained += 1\n"
    "        if Double.drained == 1:\n"
    "            import signal\n"
    "            signal.raise_signal(signal.SIGALRM)\n"
    "        super().remove(slot)\n",
)


def apply_with_deadline_in_abort_drain(
    registry: str, **env: str
) -> tuple[int, list[dict[str, object]], str]:
    """``apply`` of ``@production`` (naming 1), ``--progress-deadline 0.2``, the end of
    ``--for`` landing in the first drain (:data:`ABORT_DRAIN`)."""
    ms.open_registry(registry).set_alias("fraud", "production", "1")
    argv = [sys.executable, "-c", ABORT_DRAIN, "apply", registry, "fraud", "@production"]
    options = ["--alias", "production", "--progress-deadline", "0.2", "--poll", "0.05"]
    try:
        done = subprocess.run(
            [*argv, *options, "--for", str(LONG)],
            capture_output=True,
            text=True,
            timeout=LONG / 2,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"apply still ran after {LONG / 2:g} s: the end of --for was lost")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, events, done.stderr


def test_for_ending_in_a_followed_rollouts_own_abort_lets_it_end_and_stops_exit_0(
    registry: str,
) -> None:
    code, events, err = apply_with_deadline_in_abort_drain(registry, RELEASE="2", NEVER_READY="2")

    # The abort ran once, to its end, and recorded its own reason, not "interrupted".
    record = last_record(registry, "2")
    assert record.status.value == "aborted"
    assert record.events[-1].message.startswith(
        "green did not become ready within the progress deadline"
    )
    assert [e.kind.value for e in record.events].count("scaled_down") == 1
    # As any abort of a followed version: the alias is moved back to the version serving,
    # and apply stops at its next look (the end of --for came between rollouts).
    assert ms.open_registry(registry).aliases("fraud") == {"production": "1"}
    assert code == 0
    assert [e["version"] for e in events] == ["1"]
    assert "did not become ready within the progress deadline" in err
    assert "cut the rollout" not in err
    assert "Traceback" not in err


def test_for_ending_in_the_first_deploys_own_abort_lets_it_end_and_exits_1(
    registry: str,
) -> None:
    code, events, err = apply_with_deadline_in_abort_drain(registry, NEVER_READY="1")

    record = last_record(registry, "1")
    assert record.status.value == "aborted"
    assert record.events[-1].message.startswith(
        "blue did not become ready within the progress deadline"
    )
    assert [e.kind.value for e in record.events].count("scaled_down") == 1
    assert code == 1  # the first deploy failed: nothing to serve
    assert events == []
    assert "did not become ready within the progress deadline" in err
    assert "cut the rollout" not in err


def test_for_ending_after_a_rollouts_abort_was_recorded_only_stops() -> None:
    # Between the abort's record and the end of the deploy (the lock released, the
    # exception on its way up) the strategy is no longer aborting: what was recorded tells.
    signals = _Signals()

    def rollout() -> str:
        signals.aborted()  # as _Witness.save calls it for a record saying "aborted"
        signals.deadline(signal.SIGALRM, None)
        return "ran to its end"

    assert signals.during(rollout) == "ran to its end"
    assert signals.stop.is_set()
    assert signals.first == signal.SIGALRM


def test_for_ending_during_a_rollout_not_aborting_still_cuts_it_short() -> None:
    signals = _Signals()

    def rollout() -> str:
        signals.deadline(signal.SIGALRM, None)
        return "ran to its end"

    with pytest.raises(_Interrupted) as caught:
        signals.during(rollout, aborting=lambda: False)
    assert type(caught.value).__name__ == "ForEnded"
    assert signals.stop.is_set()


def test_apply_outside_the_main_thread_is_refused_with_a_config_error(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelship.cli import main

    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(main(["deploy", "apply", registry, "fraud", "1", "--for", "1"]))
    )
    thread.start()
    thread.join(LONG / 2)

    assert codes == [2]
    err = capsys.readouterr().err
    assert "ConfigError: deploy apply must run in the main thread" in err
    assert "bug in modelship" not in err
