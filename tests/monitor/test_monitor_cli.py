"""``modelship monitor status|replay|watch`` through the top-level command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main
from modelship.monitor import DecisionLog, InMemorySource, RollbackPolicy

P95 = "p95(inference_latency_seconds) > 0.2"


def write_log(path: Path, latencies: list[float]) -> DecisionLog:
    """A decision log of one evaluation per minute, the canary at each given latency."""
    clock = [0.0]
    src = InMemorySource(now=lambda: clock[0])
    log = DecisionLog(RollbackPolicy(conditions=[P95], failure_limit=1), started_at=0.0)
    for latency in latencies:
        clock[0] += 60.0
        src.add(
            "inference_latency_seconds",
            slot="canary",
            values=[latency] * 40,
            timestamps=[clock[0] - 1.0] * 40,
        )
        log.evaluate(src, slot="canary", window=60.0)
    path.write_text(log.to_jsonl())
    return log


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_replay_prints_every_decision_and_exits_0_when_all_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path / "d.jsonl", [0.1, 0.5, 0.1, 0.5])

    code = main(["monitor", "replay", str(tmp_path / "d.jsonl")])

    printed = lines(capsys.readouterr().out)
    assert code == 0
    assert [p["verdict"] for p in printed] == [d.verdict for d, _ in log]
    assert [p["action"] for p in printed] == [s.action for _, s in log]
    assert all(p["same"] for p in printed)


def test_replay_exits_1_when_a_recorded_decision_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.jsonl"
    write_log(path, [0.1, 0.5])
    head, first, second = path.read_text().splitlines()
    record = json.loads(second)
    record["decision"]["verdict"] = "pass"  # someone edited the log, or the code changed
    path.write_text("\n".join([head, first, json.dumps(record)]) + "\n")

    code = main(["monitor", "replay", str(path)])

    captured = capsys.readouterr()
    assert code == 1
    assert [p["same"] for p in lines(captured.out)] == [True, False]
    assert "1 of 2 decisions differ" in captured.err


def test_status_prints_the_latest_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_log(tmp_path / "d.jsonl", [0.1, 0.5, 0.5])

    code = main(["monitor", "status", str(tmp_path / "d.jsonl")])

    (printed,) = lines(capsys.readouterr().out)
    assert code == 0
    assert printed["evaluations"] == 3
    latest = printed["latest"]
    assert isinstance(latest, dict)
    assert (latest["index"], latest["verdict"], latest["action"]) == (2, "fail", "rollback")


def test_a_file_that_is_not_a_decision_log_is_an_error_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"hello": 1}\n')

    assert main(["monitor", "status", str(path)]) == 2
    assert "decision log" in capsys.readouterr().err


def test_watch_without_a_condition_is_an_error_saying_what_to_give(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["monitor", "watch", "http://127.0.0.1:9", "--slot", "canary"])
    assert code == 2
    assert "--condition" in capsys.readouterr().err


def test_watch_of_an_unreachable_prometheus_rolls_back_at_the_error_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.jsonl"
    code = main(
        [
            "monitor", "watch", "http://127.0.0.1:9", "--slot", "canary", "-c", P95,
            "--interval", "0.01", "--duration", "60", "--timeout", "1", "--log", str(path),
        ]
    )  # fmt: skip

    printed = lines(capsys.readouterr().out)
    assert code == 1
    assert [p["verdict"] for p in printed] == ["error"] * 5  # error_limit 4: the fifth
    assert printed[-1]["action"] == "rollback"
    assert len(ms.monitor.DecisionLog.from_jsonl(path.read_text())) == 5


def test_watch_of_a_registry_rollout_watches_its_slot_and_moves_the_alias_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import functools

    import numpy as np

    from modelship.deploy import BlueGreen
    from modelship.testing import InMemoryDeployer

    reg = ms.open_registry(str(tmp_path / "reg"))
    for _ in range(2):
        reg.register(model_name="fraud", model=functools.partial(np.sum, axis=1))
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    second = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    assert reg.aliases("fraud")["production"] == "2"

    code = main(
        [
            "monitor", "watch", "http://127.0.0.1:9", "-c", P95, "--interval", "0.01",
            "--duration", "60", "--timeout", "1", "--registry", str(tmp_path / "reg"),
            "--model", "fraud",
        ]
    )  # fmt: skip

    printed = lines(capsys.readouterr().out)
    assert code == 1
    assert {p["slot"] for p in printed if "slot" in p} == {second.slot}
    assert printed[-1]["event"] == "rollback"
    assert printed[-1]["alias"] == {
        "model": "fraud", "alias": "production", "from": "2", "to": "1", "rollout": second.id,
    }  # fmt: skip
    assert reg.aliases("fraud")["production"] == "1"


@pytest.mark.parametrize(
    ("option", "value"),
    [("--interval", "0"), ("--window", "nan"), ("--duration", "-5"), ("--timeout", "soon")],
)
def test_watch_refuses_a_wait_that_is_not_positive_seconds_naming_the_option(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    # '--interval 0' was reported as "window=0.0 is not allowed": the option the user gave
    # was not the one named.
    args = ["monitor", "watch", "http://127.0.0.1:9", "-c", "error_rate > 1%", option, value]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert f"argument {option}: {value!r} is not a number of seconds > 0" in (
        capsys.readouterr().err
    )
