"""Review 47: latency quantiles capped at the top finite bucket, a watch past its duration.

1. The default quantile templates were a plain ``histogram_quantile``: a rank in the
   ``+Inf`` bucket answered the highest finite bucket's bound (10 s), so
   ``p95(inference_latency_seconds) > 15`` passed on a slot whose every request took 30 s.
   Checked against the real Prometheus, scraping an exporter whose buckets are not the
   server's (the templates must not know them) and whose every scrape is one consistent
   snapshot (all counters of a slot grow in the same proportion), so each answer is exact.
2. ``run_policy`` slept a whole interval after each evaluation even when less than that
   was left of ``duration``, then evaluated again: up to an interval past it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs
import pytest
from monitor_support import LATENCY_BUCKETS, free_port, run_prometheus, wait_for

import modelship as ms
from modelship.deploy.serve._metrics import LATENCY_BUCKETS as SERVER_BUCKETS
from modelship.monitor import InMemorySource, NoData, PrometheusSource, RollbackPolicy, Samples

LATENCY = "inference_latency_seconds"
QUANTILES = {"p50": "0.5", "median": "0.5", "p90": "0.9", "p95": "0.95", "p99": "0.99"}
WINDOW = 20.0

# Requests per scrape by latency, for each slot. Top finite bucket: 2.5 s.
MIXES: dict[str, list[tuple[float, int]]] = {
    "slow": [(300.0, 1000)],  # every request above the last finite bucket
    "half": [(0.04, 500), (300.0, 500)],  # the median's rank is the top finite count
    "spread": [(0.003, 300), (0.04, 400), (0.3, 200), (2.0, 100)],  # all finite
    "idle": [],  # series at zero, no traffic
}


def _exposition(scrape: int) -> bytes:
    """Every counter of every slot at ``scrape`` times its requests per scrape."""
    name = "modelship_request_duration_seconds"
    lines = []
    for slot, mix in MIXES.items():
        for edge in LATENCY_BUCKETS:
            count = sum(n * scrape for latency, n in mix if latency <= edge)
            lines.append(f'{name}_bucket{{slot="{slot}",le="{edge}"}} {count}')
        total = sum(n * scrape for _, n in mix)
        lines.append(f'{name}_bucket{{slot="{slot}",le="+Inf"}} {total}')
        lines.append(f'{name}_sum{{slot="{slot}"}} {sum(n * scrape * lat for lat, n in mix)}')
        lines.append(f'{name}_count{{slot="{slot}"}} {total}')
    return ("\n".join(lines) + "\n").encode()


class _Snapshots(BaseHTTPRequestHandler):
    scrapes = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            type(self).scrapes += 1
            body = _exposition(type(self).scrapes)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@attrs.frozen
class Scraped:
    source: PrometheusSource
    at: float  # one instant every query of the module is asked at


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Snapshots)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with run_prometheus(tmp_path_factory.mktemp("prometheus47"), port) as prom:
            source = PrometheusSource(prom.url)
            scrapes = 'count_over_time(modelship_request_duration_seconds_count{slot="slow"}[20s])'

            def two_scrapes() -> bool:
                answer = source.query(f"{scrapes} >= 2", at=time.time())
                return isinstance(answer, dict) and bool(answer["result"])

            wait_for(two_scrapes, what="two scrapes of the exporter")
            yield Scraped(source, at=time.time())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _fetch(scraped: Scraped, slot: str, stat: str) -> Samples | NoData:
    out = scraped.source.fetch(
        LATENCY, slot=slot, stat=stat, start=scraped.at - WINDOW, end=scraped.at
    )
    assert isinstance(out, Samples | NoData), out
    return out


def _plain_quantile(scraped: Scraped, slot: str, q: str) -> float:
    """What the old template, a plain ``histogram_quantile``, answers."""
    promql = (
        f"histogram_quantile({q}, sum by (le) (rate(modelship_request_duration_seconds_"
        f'bucket{{slot="{slot}"}}[{WINDOW:.0f}s])))'
    )
    answer = scraped.source.query(promql, at=scraped.at)
    assert isinstance(answer, dict), answer
    return float(answer["result"][0]["value"][1])


# --- 1. a quantile above the highest finite bucket is +Inf ----------------------------------


@pytest.mark.parametrize("stat", sorted(QUANTILES))
def test_a_quantile_of_requests_all_above_the_last_bucket_is_inf_not_its_bound(
    scraped: Scraped, stat: str
) -> None:
    assert _plain_quantile(scraped, "slow", QUANTILES[stat]) == 2.5  # what it used to read
    out = _fetch(scraped, "slow", stat)
    assert isinstance(out, Samples)
    assert float(out.values[-1]) == math.inf


def test_a_rank_at_the_top_finite_buckets_count_is_finite_and_a_higher_one_inf(
    scraped: Scraped,
) -> None:
    # Half the requests take 0.04 s, half 300 s: the median's rank is exactly the count
    # of every finite bucket from 0.05 up, so it is read in the bucket that reaches it.
    median = _fetch(scraped, "half", "median")
    assert isinstance(median, Samples)
    assert float(median.values[-1]) == 0.05
    p90 = _fetch(scraped, "half", "p90")
    assert isinstance(p90, Samples)
    assert float(p90.values[-1]) == math.inf


@pytest.mark.parametrize("stat", sorted(QUANTILES))
def test_a_quantile_within_the_buckets_is_what_histogram_quantile_answers(
    scraped: Scraped, stat: str
) -> None:
    out = _fetch(scraped, "spread", stat)
    assert isinstance(out, Samples)
    value = float(out.values[-1])
    assert value == _plain_quantile(scraped, "spread", QUANTILES[stat])
    assert 0.0 < value <= 2.5


@pytest.mark.parametrize("stat", sorted(QUANTILES))
def test_a_quantile_of_a_slot_without_traffic_is_no_data_not_inf(
    scraped: Scraped, stat: str
) -> None:
    out = _fetch(scraped, "idle", stat)
    assert isinstance(out, NoData)
    assert "NaN" in out.reason


def test_a_policy_fails_a_slot_slower_than_every_bucket(scraped: Scraped) -> None:
    policy = RollbackPolicy(conditions=["p95(inference_latency_seconds) > 15s"])
    decision = policy.evaluate(scraped.source, slot="slow", window=WINDOW, at=scraped.at)
    assert decision.verdict == "fail", decision.reasons


def test_the_server_buckets_reach_two_minutes() -> None:
    assert SERVER_BUCKETS[-3:] == (30.0, 60.0, 120.0)
    assert list(SERVER_BUCKETS) == sorted(SERVER_BUCKETS)


# --- 2. the last wait ends at the end of the duration ---------------------------------------


@attrs.define
class _Clock:
    now: float = 0.0
    sleeps: list[float] = attrs.field(factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("duration", "interval", "times", "sleeps"),
    [
        (600.0, 500.0, [0.0, 500.0, 600.0], [500.0, 100.0]),
        (30.0, 60.0, [0.0, 30.0], [30.0]),
        (150.0, 60.0, [0.0, 60.0, 120.0, 150.0], [60.0, 60.0, 30.0]),
        (120.0, 60.0, [0.0, 60.0, 120.0], [60.0, 60.0]),
    ],
)
def test_the_watch_ends_at_its_duration_not_an_interval_past_it(
    duration: float, interval: float, times: list[float], sleeps: list[float]
) -> None:
    clock = _Clock()
    src = InMemorySource(now=lambda: clock.now)
    src.add(
        "error_rate", slot="green", values=[0.0] * 1300, timestamps=[i * 0.5 for i in range(1300)]
    )
    log = ms.monitor.run_policy(
        src,
        RollbackPolicy(conditions=["error_rate > 1%"]),
        slot="green",
        window=60.0,
        interval=interval,
        duration=duration,
        sleep=clock.sleep,
    )
    assert [step.at for _, step in log] == times
    assert clock.sleeps == sleeps
    assert clock.now == duration


def test_a_clock_that_stands_still_still_bounds_the_evaluations() -> None:
    src = InMemorySource(now=0.0)
    log = ms.monitor.run_policy(
        src,
        RollbackPolicy(conditions=["error_rate > 1%"], deadline=None),
        slot="green",
        window=60.0,
        interval=500.0,
        duration=600.0,
        sleep=lambda seconds: None,
    )
    assert len(list(log)) == 3  # ceil(600 / 500) + 1
