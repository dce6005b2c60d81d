"""``modelship monitor watch`` never says "ok" about a slot it could not judge.

A run in which every evaluation was an error (Prometheus unreachable), without data (no
series for the slot) or inconclusive exits 2 with an ``error`` event; one judged
evaluation is enough for the usual exit codes.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from monitor_support import Prometheus, Target, wait_for

from modelship.cli import main
from modelship.monitor import PrometheusSource, Samples

ERROR_RATE = "error_rate > 1%"
SHORT = ["--interval", "0.1", "--duration", "0.3", "--timeout", "2"]


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_watch_of_a_prometheus_never_reached_exits_2_saying_nothing_was_judged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["monitor", "watch", "http://127.0.0.1:1", "--slot", "green", "-c", ERROR_RATE, *SHORT]
    )

    captured = capsys.readouterr()
    printed = lines(captured.out)
    evaluations, last = printed[:-1], printed[-1]
    assert code == 2
    assert evaluations
    assert {e["verdict"] for e in evaluations} == {"error"}
    assert {e["action"] for e in evaluations} == {"hold"}  # within the error limit
    assert last["event"] == "error"
    assert last["alias"] is None
    assert last["reason"] == evaluations[-1]["reason"]
    message = str(last["message"])
    errors = f"{len(evaluations)} error{'' if len(evaluations) == 1 else 's'}"
    assert message.startswith(f"no evaluation judged the slot green: {errors}, 0 without data")
    assert "; last error: mean(error_rate) > 0.01: green: connection: cannot reach " in message
    assert "http://127.0.0.1:1" in message
    assert f"modelship monitor: {message}" in captured.err


def test_watch_of_a_slot_without_series_exits_2(
    prometheus: Prometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    slot = f"nosuch-{uuid.uuid4().hex[:6]}"  # a slot the real Prometheus never scraped

    code = main(["monitor", "watch", prometheus.url, "--slot", slot, "-c", ERROR_RATE, *SHORT])

    printed = lines(capsys.readouterr().out)
    assert code == 2
    assert {p["verdict"] for p in printed[:-1]} == {"no_data"}
    assert printed[-1]["event"] == "error"
    message = str(printed[-1]["message"])
    assert message.startswith(
        f"no evaluation judged the slot {slot}: 0 errors, {len(printed) - 1} without data;"
    )
    assert "last error" not in message


def test_watch_with_a_judged_evaluation_exits_0(
    prometheus: Prometheus, metrics_target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    slot = f"green-{uuid.uuid4().hex[:6]}"
    metrics_target.open_slot(slot)
    source = PrometheusSource(prometheus.url)

    def scraped() -> bool:
        answer = source.query(
            f'modelship_request_duration_seconds_count{{slot="{slot}"}}', at=time.time()
        )
        return isinstance(answer, dict) and bool(answer["result"])

    wait_for(scraped, what=f"a scrape of {slot}")
    metrics_target.serve(slot, 0.01, 100)

    def counted() -> bool:
        now = time.time()
        out = source.fetch("error_rate", slot=slot, stat="mean", start=now - 300, end=now)
        return isinstance(out, Samples) and (out.count or 0) >= 90

    wait_for(counted, what=f"the requests of {slot} in Prometheus")

    watch = ["monitor", "watch", prometheus.url, "--slot", slot, "-c", ERROR_RATE, *SHORT]
    code = main([*watch, "--window", "300"])  # the window holds the requests served

    printed = lines(capsys.readouterr().out)
    assert code == 0
    assert "pass" in {p["verdict"] for p in printed}
    assert not any("event" in p for p in printed)
