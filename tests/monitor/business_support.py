"""A business metric in a real Prometheus: a shop's order counter, labelled by slot, exposed
by a prometheus_client server on 127.0.0.1 and scraped by Debian's Prometheus."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from monitor_support import Prometheus, free_port, require, run_prometheus, wait_for

from modelship.monitor import PrometheusSource, Samples

#: The business metric's templates: orders per second, and the orders behind it.
ORDER_QUERIES = {
    ("orders_per_second", "mean"): "sum(rate(shop_orders_total{$selector}[$window]))",
    ("orders_per_second", "count"): "sum(increase(shop_orders_total{$selector}[$window]))",
}


@attrs.define
class Shop:
    """The shop's counter, and the Prometheus that scrapes it."""

    prometheus: Prometheus
    counter: object

    def source(self) -> PrometheusSource:
        return PrometheusSource(self.prometheus.url, queries=ORDER_QUERIES)

    def order(self, slot: str, n: int) -> None:
        self.counter.labels(slot=slot).inc(n)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    try:
        from prometheus_client import CollectorRegistry, Counter, start_http_server
    except ImportError as exc:
        require("prometheus_client", str(exc))
    registry = CollectorRegistry(auto_describe=True)
    counter = Counter("shop_orders", "Orders placed", ["slot"], registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        with run_prometheus(Path(tmp_path_factory.mktemp("shop")), port) as prometheus:
            yield Shop(prometheus, counter)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def orders_window(shop: Shop, slot: str, per_scrape: int) -> tuple[float, float, Samples]:
    """Place orders for ``slot`` over a few scrapes; return a past window that shows them."""
    source = shop.source()
    shop.order(slot, 0)  # the series starts at zero, so its increase is measurable

    def rate_seen() -> tuple[float, float, Samples] | None:
        shop.order(slot, per_scrape)
        # Scrapes every second: older points are all ingested. The end is 0.4 ms past a
        # whole millisecond on purpose: Prometheus rounds a query's time to the nearest
        # millisecond, down here, so its point lies inside the window, before its end (the
        # suite's sub-window test splits the window there). A time 0.5 ms or more past
        # would round up, past the end, and that test skipped on half the runs.
        end = math.floor((time.time() - 2.0) * 1000) / 1000 + 0.0004
        out = source.fetch("orders_per_second", slot=slot, start=end - 30.0, end=end, stat="mean")
        if isinstance(out, Samples) and float(out.values[-1]) > 0:
            return end - 30.0, end, out
        time.sleep(0.5)
        return None

    return wait_for(rate_seen, what=f"a rate of orders of {slot} in Prometheus")  # type: ignore[no-any-return]
