"""End to end: LocalDeployer slots scraped by a real Prometheus, watched, rolled back."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from monitor_support import run_prometheus, wait_for
from numpy_models import Threshold, importable_by_servers

import modelship as ms
from modelship.deploy import BlueGreen, EventKind, InMemoryHistory, RolloutStatus
from modelship.deploy.local import LocalDeployer
from modelship.monitor import PrometheusSource, RollbackPolicy, Samples

pytestmark = pytest.mark.slow

ROW = json.dumps({"instances": [[0.5, 0.0, 0.0, 0.0]]}).encode()


def predict(url: str) -> str:
    request = urllib.request.Request(
        url + "/predict", data=ROW, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["version"])


def has_series(source: PrometheusSource, query: str) -> bool:
    answer = source.query(query, at=source.now())
    return isinstance(answer, dict) and bool(answer["result"])


@pytest.fixture
def dep(tmp_path: Path) -> Iterator[LocalDeployer]:
    reg = ms.open_registry(str(tmp_path / "reg"))
    for flip in (False, True):
        reg.register(model_name="fraud", model=Threshold(flip))
    with importable_by_servers(), LocalDeployer(registry=reg) as d:
        yield d


def test_a_watched_slot_whose_latency_breaches_the_policy_is_rolled_back(
    dep: LocalDeployer, tmp_path: Path
) -> None:
    BlueGreen(dep, history=InMemoryHistory(), alias=None).deploy("fraud", "1")
    rollout = BlueGreen(dep, history=InMemoryHistory(), alias=None).deploy("fraud", "2")
    ports = [urlparse(dep.slot_url(slot)).port for slot in ("blue", "green")]
    with run_prometheus(tmp_path, *[p for p in ports if p is not None]) as prometheus:
        source = PrometheusSource(prometheus.url, labels={"model": "fraud"})
        # A counter's first scraped value is no increase: let Prometheus see the series
        # once, then serve the traffic that is measured.
        assert predict(dep.endpoint) == "2"
        series = f'modelship_request_duration_seconds_count{{slot="{rollout.slot}"}}'
        wait_for(lambda: has_series(source, series), what=f"a scrape of {series}", limit=60.0)
        assert {predict(dep.endpoint) for _ in range(100)} == {"2"}

        def scraped() -> Samples | None:
            now = source.now()
            out = source.fetch(
                "inference_latency_seconds", slot=rollout.slot, stat="p95", start=now - 30, end=now
            )
            return out if isinstance(out, Samples) and (out.count or 0) >= 90 else None

        wait_for(scraped, what="the green slot's latency in Prometheus", limit=60.0)
        # Every real latency is above zero: the condition holds, as a slow version's would.
        policy = RollbackPolicy(conditions=["p95(inference_latency_seconds) > 0 min_samples=50"])
        result = ms.monitor.watch(rollout, source, policy, interval=1.0, duration=30.0, window=30.0)

    assert result.rolled_back
    assert rollout.status is RolloutStatus.ROLLED_BACK
    assert predict(dep.endpoint) == "1"
    decision = next(
        e.data["decision"]
        for e in rollout.history
        if e.kind is EventKind.MONITOR and "decision" in e.data
    )
    assert decision["conditions"][0]["n"] >= 90
    assert decision["conditions"][0]["value"] > 0
