"""The MetricSource conformance suite, run against every built-in source, a real
Prometheus, and a source written here from public names only (no private back door)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from business_support import ORDER_QUERIES, Shop, orders_window, shop  # noqa: F401
from monitor_support import free_port

import modelship as ms
from modelship.monitor import (
    CallableSource,
    DriftSource,
    InMemorySource,
    NoData,
    Outcome,
    OutcomeSource,
    PrometheusSource,
    RoutedSource,
    Samples,
    prediction_profile,
)
from modelship.testing import MetricSourceConformance, SourceCase

NOW = 1_000.0


class TestInMemorySource(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        src = InMemorySource(now=NOW)
        src.add("latency", slot="canary", values=[0.1, np.nan, 0.3, 0.2], timestamps=[5, 6, 7, 8])
        return SourceCase(src, "latency", "canary", start=0.0, end=10.0)

    @pytest.fixture
    def failing_case(self) -> SourceCase:
        src = InMemorySource(now=NOW)
        src.set_error("latency", slot="canary", error_type="timeout")
        return SourceCase(src, "latency", "canary", start=0.0, end=10.0)


class TestInMemoryPoints(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        src = InMemorySource(now=NOW)
        src.add_points(
            "latency",
            slot="canary",
            stat="p95",
            values=[0.2, 0.3],
            timestamps=[5, 9],
            counts=[40, 60],
        )
        return SourceCase(src, "latency", "canary", start=0.0, end=10.0, stat="p95")


def _outcomes() -> OutcomeSource:
    src = OutcomeSource(slots={"canary": "2"}, now=NOW)
    src.add_predictions(
        {"request_id": f"r{i}", "row": 0, "timestamp": 100.0 + i, "version": "2", "output": i % 2}
        for i in range(60)
    )
    src.record_outcomes([f"r{i}" for i in range(60)], [1] * 60, at=500.0)
    return src


class TestOutcomeSource(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        return SourceCase(_outcomes(), "accuracy", "canary", start=0.0, end=NOW, stat="mean")


class TestOutcomeSourceConfidenceBound(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        return SourceCase(_outcomes(), "accuracy", "canary", start=0.0, end=NOW, stat="p5")


class TestDriftSource(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        rng = np.random.default_rng(2)
        train = rng.normal(size=(1000, 2))
        src = DriftSource(slots={"canary": "2"}, now=NOW)
        src.set_profiles(
            "2",
            features=ms.checks.DriftProfile.from_data(train),
            predictions=prediction_profile(train.sum(axis=1)),
        )
        src.add_predictions(
            {"request_id": str(i), "row": 0, "timestamp": 100.0 + i, "version": "2",
             "inputs": x.tolist(), "output": float(x.sum())}
            for i, x in enumerate(rng.normal(size=(200, 2)))
        )  # fmt: skip
        return SourceCase(src, "prediction_drift", "canary", start=0.0, end=NOW, stat="mean")


def _orders(metric: str, slot: str, start: float, end: float) -> tuple[list[float], list[float]]:
    if (metric, slot) != ("orders", "canary"):
        return [], []
    stamps = [100.0, 200.0, 300.0]
    return [12.0, float("nan"), 15.0], stamps


def _warehouse_down(metric: str, slot: str, start: float, end: float) -> Any:
    raise ConnectionError("warehouse unreachable")


class TestCallableSource(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        return SourceCase(CallableSource(_orders, now=NOW), "orders", "canary", start=0.0, end=NOW)

    @pytest.fixture
    def failing_case(self) -> SourceCase:
        return SourceCase(
            CallableSource(_warehouse_down, now=NOW), "orders", "canary", start=0.0, end=NOW
        )


class TestRoutedSource(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        routed = RoutedSource({"orders": CallableSource(_orders, now=NOW)}, default=_outcomes())
        return SourceCase(routed, "orders", "canary", start=0.0, end=NOW)


class ListSource:
    """A source of a user's own, built from public names only: values in a dict."""

    def __init__(self, data: dict[tuple[str, str], list[tuple[float, float]]]) -> None:
        self.data = data

    def now(self) -> float:
        return NOW

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        points = sorted((t, v) for t, v in self.data.get((metric, slot), []) if start < t <= end)
        if not points:
            return NoData(metric, slot, start=start, end=end, stat=stat, reason="nothing stored")
        stamps, values = zip(*points, strict=True)
        return Samples(metric, slot, values, stamps, start=start, end=end)


class TestAUsersOwnSource(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        src = ListSource({("kpi", "canary"): [(9.0, 2.0), (3.0, 1.0)]})
        return SourceCase(src, "kpi", "canary", start=0.0, end=10.0)


@pytest.fixture(scope="module")
def orders(shop: Shop) -> tuple[float, float]:  # noqa: F811 - the fixture imported above
    start, end, _ = orders_window(shop, "conformance", per_scrape=5)
    return start, end


class TestPrometheusSource(MetricSourceConformance):
    """Against a real Prometheus scraping a business counter (see business_support)."""

    @pytest.fixture
    def source_case(self, shop: Shop, orders: tuple[float, float]) -> SourceCase:  # noqa: F811
        start, end = orders
        return SourceCase(
            shop.source(), "orders_per_second", "conformance", start=start, end=end, stat="mean"
        )

    @pytest.fixture
    def failing_case(self) -> SourceCase:
        down = PrometheusSource(f"http://127.0.0.1:{free_port()}", queries=ORDER_QUERIES, timeout=2)
        return SourceCase(down, "orders_per_second", "conformance", start=0.0, end=NOW, stat="mean")
