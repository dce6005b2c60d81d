"""The watch loop, ``ms.monitor.watch`` and ``modelship monitor watch`` against what a hostile
review found: a record that fails before the rollback, a torn decision log, a refused
rollback reported as done, and a canary gate that aborts a healthy canary early."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import modelship as ms
from modelship.cli import main
from modelship.deploy import Canary, EventKind, GatePolicy, RolloutStatus, Verdict
from modelship.monitor import InMemorySource, RollbackPolicy, Step
from modelship.testing import InMemoryDeployer

LATENCY = "inference_latency_seconds"


# --- defect 3: roll back first, then record ----------------------------------------------------


def test_a_record_that_fails_on_the_rollback_step_does_not_prevent_the_rollback() -> None:
    src = InMemorySource(now=100.0)
    src.add("error_rate", slot="canary", values=[0.5] * 50, timestamps=[90.0] * 50)
    calls: list[str] = []

    def record(step: Step) -> None:
        calls.append(f"record {step.action}")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        ms.monitor.run_policy(
            src,
            RollbackPolicy(conditions=["error_rate > 1%"]),
            slot="canary",
            window=60.0,
            interval=60.0,
            duration=600.0,
            on_rollback=lambda step: calls.append(f"roll back {step.action}"),
            on_step=record,
            sleep=lambda seconds: None,
        )
    assert calls == ["roll back rollback", "record rollback"]


def test_a_rollback_that_fails_is_still_recorded_and_its_error_raised() -> None:
    src = InMemorySource(now=100.0)
    src.add("error_rate", slot="canary", values=[0.5] * 50, timestamps=[90.0] * 50)
    recorded: list[str] = []

    def refuse(step: Step) -> None:
        raise ms.ConfigError("nothing to roll back to")

    with pytest.raises(ms.ConfigError, match="nothing to roll back to"):
        ms.monitor.run_policy(
            src,
            RollbackPolicy(conditions=["error_rate > 1%"]),
            slot="canary",
            window=60.0,
            interval=60.0,
            duration=600.0,
            on_rollback=refuse,
            on_step=lambda step: recorded.append(step.action),
            sleep=lambda seconds: None,
        )
    assert recorded == ["rollback"]


#: A watch in a process of its own whose files may grow to ``limit`` bytes (a full disk):
#: the decision log's head fits, no evaluation's line does. Healthy for ``good`` minutes.
_FULL_DISK = textwrap.dedent(
    """
    import json, resource, signal, sys
    import modelship as ms
    from modelship.deploy import BlueGreen
    from modelship.testing import InMemoryDeployer

    path, limit, good = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    src = ms.monitor.InMemorySource(now=dep.clock.monotonic)

    class Clock:
        minute = 0
        def monotonic(self): return dep.clock.monotonic()
        def wall(self): return dep.clock.wall()
        def sleep(self, seconds):
            dep.clock.sleep(seconds)
            self.minute += 1
            rate = 0.0 if self.minute < good else 0.5
            src.add("error_rate", slot=rollout.slot, values=[rate] * 50,
                    timestamps=[dep.clock.monotonic() - 1.0] * 50)

    src.add("error_rate", slot=rollout.slot, values=[0.5 if good == 0 else 0.0] * 50,
            timestamps=[dep.clock.monotonic()] * 50)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    try:
        result = ms.monitor.watch(rollout, src, policy, interval=60.0, duration=600.0,
                                  clock=Clock(), log_path=path)
        raised = None
    except Exception as exc:
        result, raised = None, f"{type(exc).__name__}: {exc}"
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    print(json.dumps({
        "raised": raised,
        "status": rollout.status.value,
        "serving": dep.state().serving().version,
        "evaluations": None if result is None else len(result.log),
        "errors": [e.message for e in rollout.history if e.kind.value == "error"],
    }))
    """
)


def _watch_on_a_full_disk(tmp_path: Path, good: int) -> tuple[dict[str, object], str]:
    path = tmp_path / "decisions.jsonl"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path), "600", str(good)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), path.read_text(encoding="utf-8")


@pytest.mark.parametrize("good", [0, 3], ids=["bad-at-once", "bad-after-3-minutes"])
def test_a_full_disk_neither_stops_the_watch_nor_keeps_the_bad_version_serving(
    tmp_path: Path, good: int
) -> None:
    report, _ = _watch_on_a_full_disk(tmp_path, good)

    assert report["raised"] is None
    assert (report["status"], report["serving"]) == ("rolled_back", "1")
    assert report["evaluations"] == good + 1
    errors = report["errors"]
    assert isinstance(errors, list)
    assert any("the decision log stops before evaluation 0" in e for e in errors)


@pytest.mark.parametrize("good", [0, 3], ids=["bad-at-once", "bad-after-3-minutes"])
def test_a_line_the_disk_cannot_hold_is_not_left_torn(tmp_path: Path, good: int) -> None:
    _, text = _watch_on_a_full_disk(tmp_path, good)

    assert text.endswith("\n")
    log = ms.monitor.DecisionLog.from_jsonl(text)  # every line whole
    assert len(log) == 0  # the head fitted, no evaluation's line did


# --- defect 9: a refused rollback is an error, exit 2 -----------------------------------------


def test_watch_whose_rollback_the_registry_refuses_prints_an_error_event_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))
    mv = reg.register(model_name="fraud", model=b"x", serializer="bytes")
    reg.set_alias("fraud", "production", mv.version)  # no earlier version to go back to

    code = main(
        [
            "monitor", "watch", "http://127.0.0.1:9", "--slot", "green", "-c", "error_rate > 1%",
            "--interval", "0.01", "--duration", "60", "--timeout", "1",
            "--registry", str(tmp_path / "reg"), "--model", "fraud",
        ]
    )  # fmt: skip

    captured = capsys.readouterr()
    printed = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    assert code == 2
    assert printed[-2]["action"] == "rollback"
    assert printed[-1]["event"] == "error"
    assert printed[-1]["alias"] is None
    assert "was not moved" in printed[-1]["message"]
    assert "was not moved" in captured.err
    assert not any(p.get("event") == "rollback" for p in printed)
    assert reg.aliases("fraud")["production"] == mv.version


# --- defect 7: a canary gate with a step ----------------------------------------------------


def test_a_canary_gate_step_longer_than_its_window_is_refused_when_made() -> None:
    metric = ms.monitor.CanaryMetric(LATENCY)
    with pytest.raises(ms.ConfigError, match=r"step=120\.0 is longer than window=60\.0"):
        ms.monitor.canary_gate(InMemorySource(now=0.0), [metric], window=60.0, step=120.0)


def test_a_canary_gate_is_inconclusive_until_the_rollout_is_one_step_old_then_promotes() -> None:
    dep = InMemoryDeployer()
    Canary(dep, clock=dep.clock).deploy("fraud", "1")
    rng = np.random.default_rng(0)
    src = InMemorySource(now=dep.clock.monotonic)
    stamps = dep.clock.monotonic() + np.linspace(0.5, 3000, 30000)
    for slot in ("blue", "green"):  # the same healthy traffic on both slots
        src.add(LATENCY, slot=slot, values=rng.gamma(4, 0.02, stamps.size), timestamps=stamps)
    gate = ms.monitor.canary_gate(
        src, [ms.monitor.CanaryMetric(LATENCY, tolerance=0.01)], window=600.0, step=180.0
    )

    rollout = Canary(dep, gate=gate, clock=dep.clock, policy=GatePolicy()).deploy("fraud", "2")

    assert rollout.status is RolloutStatus.SUCCEEDED
    verdicts = [e.data["verdict"] for e in rollout.history if e.kind is EventKind.GATE]
    assert "error" not in verdicts
    assert verdicts[0] == Verdict.INCONCLUSIVE.value
    assert verdicts[-1] == Verdict.PASS.value
