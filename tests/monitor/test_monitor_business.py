"""Business metrics: a user's PromQL query through PrometheusSource (a real Prometheus
scraping a shop's order counter) and a user's function through CallableSource."""

from __future__ import annotations

import numpy as np
from business_support import Shop, orders_window, shop  # noqa: F401

import modelship as ms
from modelship.monitor import CallableSource, OutcomeSource, RoutedSource, Samples


def test_a_promql_business_metric_is_read_with_its_sample_size(shop: Shop) -> None:  # noqa: F811
    start, end, seen = orders_window(shop, "busy", per_scrape=10)
    out = shop.source().fetch("orders_per_second", slot="busy", start=start, end=end, stat="mean")
    assert isinstance(out, Samples)
    assert float(out.values[-1]) > 0
    assert out.count is not None
    assert out.count > 0  # from the count template: the orders behind the rate
    assert seen.to_dict() == out.to_dict()


def test_a_policy_on_a_promql_business_metric_fails_below_its_threshold(shop: Shop) -> None:  # noqa: F811
    start, end, seen = orders_window(shop, "slowshop", per_scrape=3)
    rate = float(seen.values[-1])
    limit_above_rate = ms.monitor.RollbackPolicy(
        conditions=[f"orders_per_second < {rate * 2} min_samples=1"]
    )
    limit_below_rate = ms.monitor.RollbackPolicy(
        conditions=[f"orders_per_second < {rate / 2} min_samples=1"]
    )
    source = shop.source()
    assert (
        limit_above_rate.evaluate(source, slot="slowshop", window=end - start, at=end).verdict
        == "fail"
    )
    assert (
        limit_below_rate.evaluate(source, slot="slowshop", window=end - start, at=end).verdict
        == "pass"
    )


def _revenue(metric: str, slot: str, start: float, end: float) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(0 if slot == "stable" else 1)
    basket = 100.0 if slot == "stable" else 80.0
    amounts = rng.normal(basket, 5.0, 200)
    return amounts.tolist(), np.linspace(start + 1, end, 200).tolist()


def test_a_callable_business_metric_fails_a_canary_relative_to_the_baseline() -> None:
    revenue = CallableSource(_revenue, now=1000.0)
    src = RoutedSource({"revenue": revenue}, default=OutcomeSource(now=1000.0))
    policy = ms.monitor.RollbackPolicy(conditions=["mean(revenue) < baseline - 10%"])
    decision = policy.evaluate(src, slot="canary", baseline="stable", window=600.0)
    assert decision.verdict == "fail"
    assert "(n=200 vs 200)" in decision.reasons[0]


def test_a_callable_business_metric_that_raises_is_an_error_not_a_pass() -> None:
    def down(metric: str, slot: str, start: float, end: float) -> tuple[list[float], list[float]]:
        raise TimeoutError("warehouse did not answer")

    policy = ms.monitor.RollbackPolicy(conditions=["mean(revenue) < 50"])
    decision = policy.evaluate(CallableSource(down, now=10.0), slot="canary", window=10.0)
    assert decision.verdict == "error"
    assert "warehouse did not answer" in decision.reasons[0]
