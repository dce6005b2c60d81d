"""RoutedSource answers series from its routes, through a real Prometheus (review fixes)."""

from __future__ import annotations

import time
import uuid

from monitor_support import Prometheus, Target, wait_for

import modelship as ms
from modelship.monitor import InMemorySource, PrometheusSource, RoutedSource, Samples

LATENCY = "inference_latency_seconds"


def test_a_routed_source_is_a_series_source_answering_its_routes_series(
    prometheus: Prometheus, metrics_target: Target
) -> None:
    prom = PrometheusSource(prometheus.url)
    routed = RoutedSource({"accuracy": InMemorySource()}, default=prom)
    slot = f"canary-{uuid.uuid4().hex[:6]}"
    metrics_target.open_slot(slot)
    # A counter's first scraped value is no increase: let Prometheus see it at zero first.
    query = f'modelship_request_duration_seconds_count{{slot="{slot}"}}'

    def seen_once() -> bool:
        answer = prom.query(query, at=time.time())
        return isinstance(answer, dict) and bool(answer["result"])

    wait_for(seen_once, what=f"a scrape of {query}")
    metrics_target.serve(slot, 0.3, 100)

    def scraped() -> Samples | None:
        end = time.time()
        out = prom.fetch(LATENCY, slot=slot, stat="count", start=end - 60, end=end)
        return out if isinstance(out, Samples) and (out.count or 0) >= 90 else None

    wait_for(scraped, what=f"the count of {slot} in Prometheus")
    end = time.time()

    direct = prom.fetch_series(LATENCY, slot=slot, start=end - 20, end=end, stat="count", step=5)
    through = routed.fetch_series(LATENCY, slot=slot, start=end - 20, end=end, stat="count", step=5)

    assert isinstance(routed, ms.monitor.SeriesSource)
    assert isinstance(through, Samples)
    assert through.to_dict() == direct.to_dict()
    assert through.values.size >= 1


def test_a_route_without_series_answers_its_fetch() -> None:
    labels = InMemorySource(now=100.0)
    labels.add("accuracy", slot="canary", values=[0.9, 0.8], timestamps=[10.0, 20.0])
    routed = RoutedSource({"accuracy": labels})

    out = routed.fetch_series("accuracy", slot="canary", start=0.0, end=100.0, stat="mean", step=5)

    assert isinstance(out, Samples)
    assert out.values.tolist() == [0.9, 0.8]


def test_canary_analysis_with_a_step_over_a_routed_prometheus_gets_one_point_per_step(
    prometheus: Prometheus, metrics_target: Target
) -> None:
    prom = PrometheusSource(prometheus.url)
    slots = [f"{name}-{uuid.uuid4().hex[:6]}" for name in ("canary", "stable")]
    for slot in slots:
        metrics_target.open_slot(slot)
        metrics_target.serve(slot, 0.05, 50)
    seen: list[tuple[str, float]] = []

    class Spy:
        def now(self) -> float:
            return prom.now()

        def fetch(self, metric: str, **kwargs: object) -> object:
            raise AssertionError("fetch_series must be used")

        def fetch_series(self, metric: str, **kwargs: object) -> object:
            seen.append((metric, float(kwargs["step"])))  # type: ignore[arg-type]
            return prom.fetch_series(metric, **kwargs)  # type: ignore[arg-type]

    spied = RoutedSource({}, default=Spy())  # type: ignore[dict-item]
    metric = ms.monitor.CanaryMetric("error_rate", stat="mean", tolerance=0.01)

    ms.monitor.canary_analysis(spied, [metric], canary=slots[0], baseline=slots[1],
                               window=30.0, step=5.0)  # fmt: skip

    assert seen == [("error_rate", 5.0), ("error_rate", 5.0)]
