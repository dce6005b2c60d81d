"""Review 54a: a watch that knows its model reads only that model's series (every model's
slots are named blue/green), and the last evaluation of a watch reads a whole window."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from monitor_support import Prometheus, Target, target_and_prometheus, wait_for

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen, RegistryHistory, Rollout
from modelship.errors import ConfigError
from modelship.monitor import InMemorySource, PrometheusSource, RollbackPolicy
from modelship.testing import InMemoryDeployer

ERRORS = "error_rate > 5% min_samples=20"


# --- a Prometheus of this module's own: the slots are blue/green, as the deployers name them


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, Prometheus]]:
    with target_and_prometheus(tmp_path_factory.mktemp("prom54")) as both:
        yield both


def _served(prom: Prometheus, query: str, least: float) -> None:
    source = PrometheusSource(prom.url)

    def seen() -> bool:
        answer = source.query(query, at=time.time())
        if not isinstance(answer, dict) or not answer["result"]:
            return False
        return float(answer["result"][0]["value"][1]) >= least

    wait_for(seen, what=f"{query} >= {least:g}")


def _two_models_in_one_slot(target: Target, prom: Prometheus, slot: str) -> None:
    """fraud 2 in ``slot`` fails 20 % of 100 requests; churn, another model whose slot has
    the same name, answers 1,000 without an error: 2 % together."""
    from modelship.deploy.serve._metrics import ServerMetrics

    fraud = ServerMetrics("fraud", "2", slot=slot)
    churn = ServerMetrics("churn", "7", slot=slot)
    target.slots[f"fraud-{slot}"] = fraud
    target.slots[f"churn-{slot}"] = churn
    for m in (fraud, churn):  # the series exist at zero before they count
        m._requests.labels(*m._ids, "predict", "200")
        m._requests.labels(*m._ids, "predict", "500")
    _served(prom, f'count(modelship_requests_total{{slot="{slot}"}})', 4)
    time.sleep(2.5)  # two scrapes at zero: the increase is measured from there
    for i in range(100):
        if i < 20:
            fraud.error("predict", "model")
            fraud.observe("predict", 500, 0.01)
        else:
            fraud.observe("predict", 200, 0.01)
    for _ in range(1000):
        churn.observe("predict", 200, 0.01)
    _served(prom, f'sum(modelship_requests_total{{slot="{slot}"}})', 1100)


def _registry(path: Path) -> tuple[ms.Registry, Rollout]:
    reg = ms.open_registry(str(path))
    for weights in (b"a", b"b"):
        reg.register(model_name="fraud", model=weights, serializer="bytes")
    dep = InMemoryDeployer()
    BlueGreen(dep, history=RegistryHistory(reg)).deploy("fraud", "1")
    rollout = BlueGreen(dep, history=RegistryHistory(reg)).deploy("fraud", "2")
    reg.set_alias("fraud", "production", "2")
    return reg, rollout


@pytest.fixture(scope="module")
def shared_slot(
    world: tuple[Target, Prometheus], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ms.Registry, Rollout, Prometheus]:
    target, prom = world
    path = tmp_path_factory.mktemp("reg54") / "reg"
    reg, rollout = _registry(path)
    _two_models_in_one_slot(target, prom, rollout.slot)
    return path, reg, rollout, prom


def test_the_cli_watch_of_a_model_judges_its_series_not_another_model_s_in_a_slot_so_named(
    shared_slot: tuple[Path, ms.Registry, Rollout, Prometheus],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _, rollout, prom = shared_slot
    code = main(
        [
            "monitor", "watch", prom.url, "--registry", str(path), "--model", "fraud",
            "--slot", rollout.slot, "--since", "0", "-c", ERRORS,
            "--interval", "1", "--window", "120", "--duration", "1",
        ]
    )  # fmt: skip
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Before: 20 errors of 1,100 requests (fraud's and churn's) is 1.8 %: pass, exit 0.
    assert code != 0, lines
    assert (lines[0]["verdict"], lines[0]["action"]) == ("fail", "rollback"), lines
    assert "mean = 0.2 " in lines[0]["reasons"][0], lines[0]["reasons"]


def test_the_cli_refuses_a_model_label_that_contradicts_model(
    shared_slot: tuple[Path, ms.Registry, Rollout, Prometheus],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _, rollout, prom = shared_slot
    code = main(
        [
            "monitor", "watch", prom.url, "--registry", str(path), "--model", "fraud",
            "--slot", rollout.slot, "--since", "0", "-c", ERRORS, "--label", "model=churn",
            "--interval", "1", "--window", "120", "--duration", "1",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2
    assert "--label model=churn contradicts --model fraud" in captured.err
    assert captured.out == ""  # refused before any evaluation


def test_watch_of_a_rollout_reads_only_its_model_through_a_plain_source(
    shared_slot: tuple[Path, ms.Registry, Rollout, Prometheus],
) -> None:
    _, _, rollout, prom = shared_slot
    source = PrometheusSource(prom.url)
    result = ms.monitor.watch(
        rollout,
        source,
        RollbackPolicy(conditions=[ERRORS], deadline=None),
        interval=1.0,
        duration=1.0,
        window=120.0,
        since=0.0,
    )
    decision, step = result.log.entries[0]
    assert (decision.verdict, step.action) == ("fail", "rollback"), decision.reasons
    assert source.labels == {}  # the caller's source is left as it was
    source.close()


def test_watch_refuses_a_source_labelled_with_another_model() -> None:
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    source = PrometheusSource("http://127.0.0.1:9", labels={"model": "churn"})
    with pytest.raises(ConfigError, match=r"model='churn'.*'fraud'"):
        ms.monitor.watch(rollout, source, RollbackPolicy(conditions=[ERRORS]), since=0.0)


# --- 2. the last evaluation reads a whole window ------------------------------------------------


def test_a_healthy_slot_is_not_rolled_back_by_a_last_window_too_short_for_prometheus(
    world: tuple[Target, Prometheus],
) -> None:
    target, prom = world
    slot = "last-window"
    target.open_slot(slot)
    _served(prom, f'count(modelship_requests_total{{slot="{slot}"}})', 2)
    stop = time.monotonic() + 60
    policy = RollbackPolicy(
        conditions=["error_rate > 5% min_samples=5"], on_no_data="fail", deadline=None
    )
    source = PrometheusSource(prom.url)

    def sleep(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < min(end, stop):  # ten healthy requests a second
            target.serve(slot, 0.01, 1)
            time.sleep(0.1)

    sleep(12.0)
    log = ms.monitor.run_policy(
        source, policy, slot=slot, window=10.0, interval=2.0, duration=5.0, sleep=sleep
    )
    # Before: the last evaluation, at 5 s, read the one second since the one at 4 s, in
    # which Prometheus has no rate: no_data, counted as a failure, rollback.
    assert log.rolled_back is None, [(d.window, d.verdict, d.reasons) for d, _ in log]
    assert [round(d.window, 3) for d, _ in log][-1] >= 10.0
    assert all(d.verdict == "pass" for d, _ in log)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _stamped(clock: _Clock, bad: tuple[float, float], until: float) -> InMemorySource:
    src = InMemorySource(now=lambda: clock.now)
    stamps = [i * 0.5 for i in range(1, int(2 * until))]
    src.add(
        "error_rate",
        slot="green",
        values=[1.0 if bad[0] < t <= bad[1] else 0.0 for t in stamps],
        timestamps=stamps,
    )
    return src


def test_the_last_evaluation_reads_a_whole_window_ending_at_the_end() -> None:
    clock = _Clock()
    clock.now = 60.0
    src = _stamped(clock, (0.0, 0.0), until=400.0)
    policy = RollbackPolicy(
        conditions=["error_rate > 1% min_samples=100"], on_inconclusive="fail", deadline=None
    )
    log = ms.monitor.run_policy(
        src, policy, slot="green", window=60.0, interval=60.0, duration=150.0, sleep=clock.sleep
    )
    # Before: (180, 210] alone, 60 samples < min_samples=100: inconclusive -> rollback.
    assert [(step.at, d.window, d.verdict) for d, step in log] == [
        (60.0, 60.0, "pass"),
        (120.0, 60.0, "pass"),
        (180.0, 60.0, "pass"),
        (210.0, 60.0, "pass"),
    ]
    assert log.rolled_back is None


def test_a_last_window_overlapping_a_failed_one_is_not_judged_again() -> None:
    clock = _Clock()
    src = _stamped(clock, (60.0, 120.0), until=300.0)
    policy = RollbackPolicy(
        conditions=["error_rate > 1% min_samples=10"],
        failure_limit=None,
        consecutive_failure_limit=1,  # one failure is tolerated, not two in a row
        deadline=None,
    )
    log = ms.monitor.run_policy(
        src, policy, slot="green", window=60.0, interval=60.0, duration=120.5, sleep=clock.sleep
    )
    assert log.rolled_back is None
    # Before: one more evaluation at 120.5 read only (120, 120.5]: inconclusive.
    assert [(step.at, d.verdict) for d, step in log] == [
        (0.0, "no_data"),
        (60.0, "pass"),
        (120.0, "fail"),
    ]


# --- second look 54c: the model matcher only in the server's series; the gates scope too ------

ORDERS = {
    ("orders_per_second", "mean"): "sum(rate(shop_orders_total{$selector}[$window]))",
    ("orders_per_second", "count"): "sum(increase(shop_orders_total{$selector}[$window]))",
}


def test_for_model_selects_the_model_only_in_the_model_server_s_series() -> None:
    source = PrometheusSource(
        "http://127.0.0.1:9",
        queries={**ORDERS, ("rps", "mean"): "sum(rate(modelship_requests_total{$selector}[1m]))"},
    )
    fraud = source.for_model("fraud")
    assert 'model="fraud"' in fraud.render("error_rate", "mean", slot="green", window=60.0)
    assert 'model="fraud"' in fraud.render("rps", "mean", slot="green", window=60.0)
    assert fraud.render("orders_per_second", "mean", slot="green", window=60.0) == (
        'sum(rate(shop_orders_total{slot="green"}[60s]))'
    )
    assert fraud.for_model("fraud") is fraud
    with pytest.raises(ConfigError, match=r"model='fraud'.*'churn'"):
        fraud.for_model("churn")


def test_watch_of_a_rollout_reads_a_business_metric_without_a_model_label(
    shared_slot: tuple[Path, ms.Registry, Rollout, Prometheus],
    world: tuple[Target, Prometheus],
) -> None:
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry, Counter

    target, _ = world
    prom = shared_slot[3]
    dep = InMemoryDeployer()  # a rollout of its own: the shared one may be rolled back
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    registry = CollectorRegistry(auto_describe=True)
    orders = Counter("shop_orders", "Orders placed", ["slot"], registry=registry)
    orders.labels(slot=rollout.slot).inc(0)
    target.slots["shop"] = SimpleNamespace(registry=registry)  # the application's series
    _served(prom, f'count(shop_orders_total{{slot="{rollout.slot}"}})', 1)
    time.sleep(2.5)  # two scrapes at zero
    orders.labels(slot=rollout.slot).inc(50)
    _served(prom, f'sum(shop_orders_total{{slot="{rollout.slot}"}})', 50)
    source = PrometheusSource(prom.url, queries=ORDERS)
    policy = RollbackPolicy(
        conditions=["orders_per_second < 0.0001 min_samples=1"], on_no_data="fail", deadline=None
    )
    result = ms.monitor.watch(
        rollout, source, policy, interval=1.0, duration=1.0, window=120.0, since=0.0
    )
    # Before: model="fraud" in shop_orders_total's selector, no series: no_data -> rollback.
    decision, step = result.log.entries[0]
    assert (decision.verdict, step.action) == ("pass", "continue"), decision.reasons
    source.close()


def test_policy_gate_judges_only_the_rollout_s_model_in_a_shared_slot(
    shared_slot: tuple[Path, ms.Registry, Rollout, Prometheus],
) -> None:
    _, _, rollout, prom = shared_slot
    source = PrometheusSource(prom.url)
    gate = ms.monitor.policy_gate(
        source, RollbackPolicy(conditions=[ERRORS]), window=120.0, since_start=False
    )
    answer = gate(rollout)
    # Before: fraud's 20 errors among fraud's and churn's 1,100 requests, 1.8 %: pass.
    assert answer.verdict.value == "fail", answer.reason
    assert "mean = 0.2 " in answer.reason
    assert source.labels == {}  # the caller's source as it was
    assert source.model is None
    source.close()


def test_canary_gate_asks_only_for_the_rollout_s_model(
    shared_slot: tuple[Path, ms.Registry, Rollout, Prometheus],
) -> None:
    _, _, rollout, prom = shared_slot
    source = PrometheusSource(prom.url)
    asked: list[str] = []
    ask = source.query_range

    def recorded(promql: str, **kwargs: Any) -> Any:
        asked.append(promql)
        return ask(promql, **kwargs)

    source.query_range = recorded  # type: ignore[method-assign]  # the scoped copy's too
    gate = ms.monitor.canary_gate(
        source,
        [ms.monitor.CanaryMetric("error_rate")],
        window=60.0,
        step=10.0,
        since_start=False,
    )
    gate(rollout)
    # Before: slot="green" alone, churn's requests judged as fraud's.
    assert asked, "the gate asked Prometheus nothing"
    assert all('model="fraud"' in promql for promql in asked), asked
    source.close()


# --- second look 54c: the last evaluation under a real sleep's drift -----------------------------


class _DriftingClock(_Clock):
    """A clock whose every sleep ends ``drift`` seconds late (or early, when negative), as
    time.sleep does by a fraction of a millisecond to a few milliseconds."""

    def __init__(self, drift: float) -> None:
        super().__init__()
        self.drift = drift

    def sleep(self, seconds: float) -> None:
        self.now += seconds + self.drift


def test_a_regression_in_the_last_interval_rolls_back_when_sleeps_overshoot() -> None:
    clock = _DriftingClock(0.003)
    clock.now = 60.0
    # Healthy until 75 s, failing after: the evaluation at 80 fails (tolerated), and so
    # does the last one, at the end (90), which must roll back.
    src = _stamped(clock, (75.0, 1000.0), until=200.0)
    policy = RollbackPolicy(
        conditions=["error_rate > 1% min_samples=5"], failure_limit=1, deadline=None
    )
    log = ms.monitor.run_policy(
        src, policy, slot="green", window=10.0, interval=10.0, duration=30.0, sleep=clock.sleep
    )
    # Before: the evaluation at 90.003 came 9.997 s after the failed one at 80.006, under
    # a window: skipped, and the regression was never rolled back.
    assert [(d.verdict, step.action) for d, step in log] == [
        ("pass", "continue"),
        ("pass", "continue"),
        ("fail", "hold"),
        ("fail", "rollback"),
    ]
    assert log.rolled_back is not None


def test_a_sleep_ending_early_does_not_judge_the_last_window_twice() -> None:
    clock = _DriftingClock(-0.004)
    src = _stamped(clock, (0.0, 0.0), until=400.0)
    policy = RollbackPolicy(conditions=["error_rate > 1% min_samples=10"], deadline=None)
    log = ms.monitor.run_policy(
        src, policy, slot="green", window=60.0, interval=50.0, duration=150.01, sleep=clock.sleep
    )
    # Before: one more evaluation 18 ms after the one at 149.988, reading the same window
    # (the same minute judged twice: one bad minute would count as two failures).
    assert [round(step.at, 3) for _, step in log] == [0.0, 49.996, 99.992, 149.988]
