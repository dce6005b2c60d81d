"""``modelship deploy apply``: signals cut a rollout short, ``--strategy`` switches to and
from canary, and the undo window closes.

* SIGINT or SIGTERM during a rollout ``apply`` follows (a canary in its pause) used to be
  noted and ignored until the rollout ended: the canary was promoted after the Ctrl-C,
  and ``apply`` exited 0. The rollout is now cut short, its strategy aborts it, and
  ``apply`` exits 1 at once. Between rollouts a signal still stops it cleanly, exit 0.
* ``--strategy canary`` without canary steps, and ``--strategy blue-green`` with a
  canary spec, exited 2 over ``canary.steps``, a field the user never wrote.
* ``--undo-window`` never closed: the previous version's server ran until the next
  deploy. It is stopped once the window has closed, and a rollback then redeploys it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from test_deploy_cli import registry, version_served  # noqa: F401 - a fixture, a helper
from test_review_stop31_local import (  # noqa: F401 - fixtures and helpers
    Events,
    Store,
    memory_registry,
    served_by_double,
)

import modelship as ms
from modelship.deploy import RegistryHistory, RolloutRecord
from modelship.deploy._cli import _spec, build_parser, main
from modelship.deploy._spec import Strategy
from modelship.deploy._strategies import Canary
from modelship.testing._deployer_double import Fault

CODE = "import sys; from modelship.deploy._cli import main; sys.exit(main(sys.argv[1:]))"


def start_apply(registry: str, *options: str) -> subprocess.Popen[str]:  # noqa: F811
    """``deploy apply`` of version 1 as a real process (stdout and stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-c", CODE, "apply", registry, "fraud", "1", "--poll", "0.1", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def next_event(apply: subprocess.Popen[str]) -> dict[str, object]:
    assert apply.stdout is not None
    line = apply.stdout.readline()
    assert line, "apply ended before its next event"
    event: dict[str, object] = json.loads(line)
    return event


def record_of(registry: str, version: str) -> RolloutRecord | None:  # noqa: F811
    """The last recorded rollout of ``version``."""
    records = RegistryHistory(ms.open_registry(registry)).records("fraud")
    found = [r for r in records if r.version == version]
    return found[-1] if found else None


def wait_for_event(registry: str, version: str, kind: str, text: str, seconds: float) -> bool:  # noqa: F811
    """Whether the rollout of ``version`` records a ``kind`` event saying ``text`` within
    ``seconds`` (looked at once at least)."""
    deadline = time.monotonic() + seconds
    while True:
        record = record_of(registry, version)
        if record is not None and any(
            e.kind.value == kind and text in e.message for e in record.events
        ):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def stop(apply: subprocess.Popen[str]) -> None:
    if apply.poll() is None:
        apply.kill()
        apply.wait(60)


# --- a signal during a rollout --------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_during_a_followed_canary_aborts_it_and_apply_exits_1(
    registry: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    signum = signal.SIGINT
    spec = tmp_path / "canary.yaml"
    spec.write_text(
        "deployment:\n"
        "  strategy: canary\n"
        "  containers: [{name: m, image: 'm:1'}]\n"
        "  canary: {steps: [{weight: 50, pause: 60}]}\n"
    )
    apply = start_apply(registry, "--spec", str(spec))
    try:
        endpoint = str(next_event(apply)["endpoint"])
        ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
        # The release is followed: the canary of 2 starts, then pauses for a minute.
        assert wait_for_event(registry, "2", "pause", "step 1", 60)
        assert version_served(endpoint) in ("1", "2")  # split 50/50 now
        signalled = time.monotonic()
        apply.send_signal(signum)
        try:
            code = apply.wait(20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"apply went on with the canary after {signum.name}")
        assert time.monotonic() - signalled < 20
        _, err = apply.communicate(timeout=60)
    finally:
        stop(apply)
    assert code == 1  # the rollout did not complete
    assert f"{signum.name} cut the rollout of fraud 2 short: it was aborted" in err
    assert "Traceback" not in err
    record = record_of(registry, "2")
    assert record is not None
    assert record.status.value == "aborted"  # not promoted after the signal
    assert record.events[-1].message == f"interrupted: {signum.name}"
    assert not any(e.kind.value == "succeeded" for e in record.events)
    # Stopped, not failed: the alias still names the release, which the next
    # `apply @production` deploys.
    assert ms.open_registry(registry).aliases("fraud") == {"production": "2"}


def test_sigterm_during_a_followed_canary_aborts_it_and_apply_exits_1(
    memory_registry: str,  # noqa: F811
    served_by_double: list[Fault],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # As a supervisor stops it (systemd, Kubernetes): SIGTERM is Ctrl-C's twin.
    spec = tmp_path / "canary.yaml"
    spec.write_text(
        "deployment:\n"
        "  strategy: canary\n"
        "  containers: [{name: m, image: 'm:1'}]\n"
        "  canary: {steps: [{weight: 50, pause: 20}]}\n"
    )
    store = Store(monkeypatch, memory_registry)

    def release_2(n: int) -> None:
        if n == 2:
            store.move("2", expected="1")

    store.on_read = release_2
    out = Events(lambda event: setattr(store, "armed", True))
    done = threading.Event()

    def sigterm_in_the_pause() -> None:
        while not done.wait(0.05):
            if wait_for_event(memory_registry, "2", "pause", "step 1", 0):
                os.kill(os.getpid(), signal.SIGTERM)
                return

    signaller = threading.Thread(target=sigterm_in_the_pause, daemon=True)
    signaller.start()
    monkeypatch.setattr(sys, "stdout", out)
    started = time.monotonic()
    try:
        argv = ["apply", memory_registry, "fraud", "1", "--spec", str(spec), "--poll", "0.05"]
        code = main([*argv, "--for", "30"])
    finally:
        done.set()
        signaller.join(10)
        monkeypatch.undo()
    assert time.monotonic() - started < 15  # not the 20 s pause, nor --for
    assert code == 1
    assert [e["version"] for e in out.events] == ["1"]  # 2 never served
    err = capsys.readouterr().err
    assert "SIGTERM cut the rollout of fraud 2 short: it was aborted (1 was serving)" in err
    record = record_of(memory_registry, "2")
    assert record is not None
    assert record.status.value == "aborted"
    assert record.events[-1].message == "interrupted: SIGTERM"


# --- --strategy to and from canary ----------------------------------------------------------


def test_strategy_canary_without_steps_takes_the_default_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(["deploy", "apply", "./m", "fraud", "--strategy", "canary"])
    spec = _spec(args, "1")
    assert spec.strategy is Strategy.CANARY
    assert spec.steps == Canary.DEFAULT_STEPS
    err = capsys.readouterr().err
    assert "--strategy canary: no canary steps given; using the default steps" in err
    assert "10% for 60 s, 25% for 60 s, 50% for 60 s" in err


def test_strategy_away_from_canary_leaves_the_spec_steps_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "canary.json"
    path.write_text(
        json.dumps(
            {
                "deployment": {
                    "strategy": "canary",
                    "containers": [{"name": "m", "image": "m:1"}],
                    "canary": {"steps": [{"weight": 10, "pause": 1}]},
                }
            }
        )
    )
    for strategy in ("blue-green", "recreate"):
        argv = ["deploy", "apply", "./m", "fraud", "--spec", str(path), "--strategy", strategy]
        spec = _spec(build_parser().parse_args(argv), "1")
        assert spec.strategy is Strategy(strategy)
        assert spec.steps == ()
        assert f"--strategy {strategy}: the canary steps of the spec are not used" in (
            capsys.readouterr().err
        )
    # The spec's own strategy given again changes nothing, and says nothing.
    argv = ["deploy", "apply", "./m", "fraud", "--spec", str(path), "--strategy", "canary"]
    spec = _spec(build_parser().parse_args(argv), "1")
    assert spec.steps[0].weight == 10
    assert capsys.readouterr().err == ""


def test_apply_deploys_with_a_strategy_override_to_and_from_canary(
    memory_registry: str,  # noqa: F811
    served_by_double: list[Fault],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = tmp_path / "canary.yaml"
    spec.write_text(
        "deployment:\n"
        "  strategy: canary\n"
        "  containers: [{name: m, image: 'm:1'}]\n"
        "  canary: {steps: [{weight: 10, pause: 1}]}\n"
    )
    url = memory_registry
    assert main(["apply", url, "fraud", "1", "--strategy", "canary", "--for", "0"]) == 0
    argv = ["apply", url, "fraud", "2", "--spec", str(spec), "--strategy", "blue-green"]
    assert main([*argv, "--for", "0"]) == 0
    records = RegistryHistory(ms.open_registry(url)).records("fraud")
    assert [(r.version, r.strategy, r.status.value) for r in records] == [
        ("1", "canary", "succeeded"),
        ("2", "blue-green", "succeeded"),
    ]
    assert "ConfigError" not in capsys.readouterr().err


# --- the undo window closes -----------------------------------------------------------------


@pytest.mark.slow
def test_apply_stops_the_previous_version_once_the_undo_window_closed(registry: str) -> None:  # noqa: F811
    apply = start_apply(registry, "--undo-window", "1")
    try:
        endpoint = str(next_event(apply)["endpoint"])
        ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
        assert next_event(apply)["version"] == "2"
        record = record_of(registry, "2")
        assert record is not None
        assert record.undo_until is not None
        # The previous slot (1, in blue) is scaled down once the window is over.
        assert wait_for_event(registry, "2", "scaled_down", "undo window closed", 20), (
            "the previous version still runs after its undo window"
        )
        assert version_served(endpoint) == "2"
        # A rollback after the window redeploys 1 (no slot is left to switch back to).
        assert main(["rollback", registry, "fraud"]) == 0
        event = next_event(apply)
        assert event["version"] == "1"
        assert version_served(endpoint) == "1"
        apply.send_signal(signal.SIGTERM)
        code = apply.wait(30)
        _, err = apply.communicate(timeout=60)
    finally:
        stop(apply)
    assert code == 0
    assert "the undo window of fraud 2 closed: 1 in blue is stopped" in err
    records = RegistryHistory(ms.open_registry(registry)).records("fraud")
    assert [(r.version, r.status.value) for r in records] == [
        ("1", "succeeded"),
        ("2", "rolled_back"),
        ("1", "succeeded"),
    ]
    # Past the window, apply deploys the version the alias names (the rollback is
    # recorded by `deploy rollback`, which moved the alias).
    rolled_back = records[1]
    assert any("by `modelship deploy rollback`" in e.message for e in rolled_back.events)
    assert records[2].previous_version == "2"
