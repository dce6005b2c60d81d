"""Review 40 (monitor): a decision log that rolled back is not run again (on_rollback was
called again at every later run), DriftSource.fetch and check refuse bad arguments with
InvalidParameter (raw TypeError, AttributeError, ValueError before), and a window or step
longer than Prometheus reads a duration is refused before anything runs (it read as an
outage and rolled back)."""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.cli import main
from modelship.errors import ConfigError, InvalidParameter
from modelship.monitor import (
    DecisionLog,
    DriftSource,
    InMemorySource,
    Outcome,
    PrometheusSource,
    RollbackPolicy,
)

# Nothing listens there: every Prometheus test below is decided before a request is sent.
NOWHERE = "http://127.0.0.1:9"


class _Counted:
    """An in-memory source that counts the questions it is asked."""

    def __init__(self, inner: InMemorySource) -> None:
        self.inner = inner
        self.fetched = 0

    def now(self) -> float:
        return self.inner.now()

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        self.fetched += 1
        return self.inner.fetch(metric, slot=slot, start=start, end=end, stat=stat)


def _rolled_back_run() -> tuple[DecisionLog, _Counted, list[ms.monitor.Step], Callable[..., Any]]:
    """A run that rolls back at its first evaluation, and a way to run again on its log."""
    clock = [0.0]
    src = _Counted(InMemorySource(now=lambda: clock[0]))

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    src.inner.add("error_rate", slot="green", values=[0.5] * 50, timestamps=[-1.0] * 50)
    policy = RollbackPolicy(conditions=["error_rate > 1%"])
    rolled_back: list[ms.monitor.Step] = []
    steps: list[ms.monitor.Step] = []

    def run(log: DecisionLog | None) -> DecisionLog:
        return ms.monitor.run_policy(
            src,
            policy,
            slot="green",
            window=60.0,
            interval=60.0,
            duration=120.0,
            sleep=sleep,
            log=log,
            on_rollback=rolled_back.append,
            on_step=steps.append,
        )

    log = run(None)
    assert [step.action for _, step in log] == ["rollback"]
    assert (len(rolled_back), src.fetched) == (1, 1)
    sleep(60.0)
    src.inner.add("error_rate", slot="green", values=[0.5] * 50, timestamps=[59.0] * 50)
    return log, src, rolled_back, run


def test_continuing_a_log_that_rolled_back_calls_on_rollback_no_more() -> None:
    # Every later run called on_rollback again ("already rolled back"): with an alias
    # move as on_rollback, each moved the alias back one version further.
    log, src, rolled_back, run = _rolled_back_run()
    before = log.to_jsonl()
    for _ in range(2):
        again = run(log)
        assert again is log
    assert len(rolled_back) == 1
    assert rolled_back[0].reason == "1 failures > failure_limit=0"
    assert src.fetched == 1  # nothing evaluated: the source was not asked
    assert log.to_jsonl() == before
    assert log.rolled_back == rolled_back[0]


def test_a_log_read_back_after_its_rollback_is_not_run_again() -> None:
    # A watcher restarted from its file after the rollback must not roll back once more.
    log, src, rolled_back, run = _rolled_back_run()
    read_back = DecisionLog.from_jsonl(log.to_jsonl())
    assert run(read_back) is read_back
    assert (len(rolled_back), src.fetched) == (1, 1)
    assert len(read_back) == 1
    assert read_back.rolled_back == rolled_back[0]


def test_a_log_that_has_not_rolled_back_is_continued() -> None:
    # The stop applies to a rolled-back log only: a held log goes on counting.
    clock = [0.0]
    src = InMemorySource(now=lambda: clock[0])
    policy = RollbackPolicy(conditions=["error_rate > 1%"], deadline=None)
    log = DecisionLog(policy, started_at=0.0)
    log.evaluate(src, slot="green", window=60.0)
    assert log.rolled_back is None
    ms.monitor.run_policy(
        src, policy, slot="green", window=60.0, interval=60.0, duration=60.0,
        sleep=lambda s: clock.__setitem__(0, clock[0] + s), log=log,
    )  # fmt: skip
    assert [step.action for _, step in log] == ["hold", "hold", "hold"]


def test_a_rolled_back_log_of_another_policy_is_still_refused() -> None:
    log, _, _, _ = _rolled_back_run()
    other = RollbackPolicy(conditions=["error_rate > 2%"])
    with pytest.raises(ConfigError, match="another policy"):
        ms.monitor.run_policy(
            InMemorySource(now=60.0), other, slot="green", window=60.0, interval=60.0,
            duration=60.0, log=log, sleep=lambda s: None,
        )  # fmt: skip


# --- DriftSource: bad arguments are InvalidParameter ---------------------------------------

_T0, _T1 = datetime.datetime(2026, 1, 1), datetime.datetime(2026, 1, 2)
_GOOD_FETCH: dict[str, Any] = {
    "metric": "feature_drift",
    "slot": "canary",
    "start": 0.0,
    "end": 100.0,
}


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("metric", None),
        ("metric", 5),
        ("metric", ["feature_drift"]),
        ("slot", ["canary"]),
        ("slot", None),
        ("start", _T0),
        ("start", None),
        ("start", "abc"),
        ("start", math.nan),
        ("end", _T1),
        ("end", math.inf),
    ],
)
def test_drift_fetch_refuses_a_bad_argument_naming_it(parameter: str, value: object) -> None:
    # A datetime, None or a string raised TypeError/ValueError; a metric that is not a
    # string AttributeError; a list as the slot "unhashable type".
    src = DriftSource(slots={"canary": "1"}, now=100.0)
    arguments = {**_GOOD_FETCH, parameter: value}
    metric = arguments.pop("metric")
    with pytest.raises(InvalidParameter) as raised:
        src.fetch(metric, **arguments)
    assert raised.value.parameter == parameter


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("kind", "feature"),
        ("kind", None),
        ("version", 1),
        ("version", " "),
        ("start", "0"),
        ("start", "x"),
        ("end", None),
        ("end", math.nan),
    ],
)
def test_drift_check_refuses_a_bad_argument_naming_it(parameter: str, value: object) -> None:
    # start="x" raised "Unknown format code 'g' for object of type 'str'"; a start the
    # profile check came before was reported as a missing profile.
    src = DriftSource(slots={"canary": "1"}, now=100.0)
    arguments: dict[str, Any] = {"kind": "features", "version": "1", "start": 0.0, "end": 100.0}
    arguments[parameter] = value
    kind = arguments.pop("kind")
    with pytest.raises(InvalidParameter) as raised:
        src.check(kind, **arguments)
    assert raised.value.parameter == parameter


def test_drift_fetch_with_good_arguments_still_answers() -> None:
    src = DriftSource(slots={"canary": "1"}, now=100.0)
    assert type(src.fetch("feature_drift", slot="canary", start=0, end=100)).__name__ == "NoData"


# --- Prometheus: a duration it cannot read is refused up front ----------------------------

# Prometheus 2.42 reads [9223372036s] and [9223372036854ms], refuses [9223372037s] and
# [9223372036855ms] with bad_data "duration out of range" (measured).


@pytest.mark.parametrize(
    ("window", "rendered"),
    [(9223372036.0, "[9223372036s]"), (9223372036.854, "[9223372036854ms]")],
)
def test_the_longest_window_prometheus_reads_is_rendered(window: float, rendered: str) -> None:
    promql = PrometheusSource(NOWHERE).render("error_rate", "mean", slot="green", window=window)
    assert rendered in promql


@pytest.mark.parametrize("window", [9223372036.8546, 9223372037.0, 1e10, 1e300])
def test_a_window_longer_than_prometheus_reads_is_refused(window: float) -> None:
    with pytest.raises(ConfigError, match=r"at most 9223372036\.854 s"):
        PrometheusSource(NOWHERE).render("error_rate", "mean", slot="green", window=window)


def test_run_policy_refuses_such_a_window_before_asking_prometheus() -> None:
    # It passed every up-front check, then every evaluation was a bad_data error until
    # error_limit rolled back.
    policy = RollbackPolicy(conditions=["error_rate > 5%"])
    rolled_back: list[ms.monitor.Step] = []
    with (
        PrometheusSource(NOWHERE, timeout=0.5) as source,
        pytest.raises(ConfigError, match="longer than any duration Prometheus reads"),
    ):
        ms.monitor.run_policy(
            source, policy, slot="green", window=1e10, interval=60.0, duration=60.0,
            on_rollback=rolled_back.append, sleep=lambda s: None,
        )  # fmt: skip
    assert rolled_back == []


def test_monitor_watch_refuses_such_a_window_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It held 5 times (Prometheus refusing the query), then rolled back with exit 1.
    path = tmp_path / "d.jsonl"
    code = main(
        [
            "monitor", "watch", NOWHERE, "--slot", "green", "-c", "error_rate > 5%",
            "--interval", "0.01", "--duration", "60", "--window", "1e10", "--timeout", "0.5",
            "--log", str(path),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""  # no evaluation
    assert "longer than any duration Prometheus reads" in captured.err
    assert not path.exists()


@pytest.mark.parametrize("step", [9223372036.8546, 1e10])
def test_a_range_query_step_longer_than_prometheus_reads_is_refused(step: float) -> None:
    with pytest.raises(ConfigError, match=r"step of .* \(at most 9223372036\.854 s"):
        PrometheusSource(NOWHERE).query_range("up", start=0.0, end=1.0, step=step)


def test_a_series_step_longer_than_prometheus_reads_is_refused() -> None:
    with pytest.raises(ConfigError, match="longer than any duration Prometheus reads"):
        PrometheusSource(NOWHERE).fetch_series(
            "error_rate", slot="green", start=0.0, end=2e10, stat="mean", step=1e10
        )
