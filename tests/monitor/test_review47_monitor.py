"""Review 47: latency quantiles capped at the top finite bucket, a watch past its duration.

1. The default quantile templates were a plain ``histogram_quantile``: a rank in the
   ``+Inf`` bucket answered the highest finite bucket's bound (10 s), so
   ``p95(inference_latency_seconds) > 15`` passed on a slot whose every request took 30 s.
   Checked against the real Prometheus, scraping an exporter whose buckets are not the
   server's (the templates must not know them) and whose every scrape is one consistent
   snapshot (all counters of a slot grow in the same proportion), so each answer is exact.
   The +Inf test then compared each ``le`` value's sum, and said +Inf where two servers
   of a slot spell a bound differently or have different buckets; ``le="+inf"`` escaped it.
2. ``run_policy`` slept a whole interval after each evaluation even when less than that
   was left of ``duration``, then evaluated again: up to an interval past it. Cut to
   the duration, the last evaluation re-read the previous one's window and counted the
   same bad minute as a second consecutive failure.
3. A canary analysis made any infinite value ``error``: a canary slower than every bucket
   (p95 +Inf) was not failed, a good one against a baseline with one +Inf step aborted.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs
import pytest
from monitor_support import LATENCY_BUCKETS, free_port, run_prometheus, wait_for

import modelship as ms
from modelship.deploy.serve._metrics import LATENCY_BUCKETS as SERVER_BUCKETS
from modelship.monitor import (
    CanaryMetric,
    InMemorySource,
    NoData,
    PrometheusSource,
    RollbackPolicy,
    Samples,
    compare_metric,
)

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


# Slots of several servers, each with its own buckets and spelling of ``le`` (what a
# rollout, or exporters written by hand, give): slot -> [(pod, buckets, write le, +Inf
# le, mix)]. Every request of "spell" and "mixed" is within some server's buckets.
PODS: dict[
    str, list[tuple[str, tuple[float, ...], Callable[[float], str], str, list[tuple[float, int]]]]
] = {
    # prometheus_client writes "4.0", a Go client "4": histogram_quantile reads one bucket
    "spell": [
        ("p", (1.0, 2.0, 4.0), repr, "+Inf", [(3.0, 100)]),
        ("g", (1.0, 2.0, 4.0), "{:g}".format, "+Inf", [(3.0, 100)]),
    ],
    # an old server with buckets up to 2 s, a new one up to 8 s
    "mixed": [
        ("old", (1.0, 2.0), repr, "+Inf", [(0.04, 100)]),
        ("new", (1.0, 2.0, 4.0, 8.0), repr, "+Inf", [(3.0, 100)]),
    ],
    # Go's ParseFloat (so Prometheus) reads these as +Inf too
    "lowinf": [("a", (1.0, 2.0), repr, "+inf", [(300.0, 100)])],
    "infinity": [("a", (1.0, 2.0), repr, "Infinity", [(300.0, 100)])],
}


def _exposition(scrape: int) -> bytes:
    """Every counter of every slot at ``scrape`` times its requests per scrape."""
    name = "modelship_request_duration_seconds"
    lines = []
    for slot, pods in PODS.items():
        for pod, buckets, spell, inf, mix in pods:
            labels = f'slot="{slot}",pod="{pod}"'
            for edge in buckets:
                count = sum(n * scrape for latency, n in mix if latency <= edge)
                lines.append(f'{name}_bucket{{{labels},le="{spell(edge)}"}} {count}')
            lines.append(f'{name}_bucket{{{labels},le="{inf}"}} {sum(n * scrape for _, n in mix)}')
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


@pytest.mark.parametrize("stat", ["p95", "p99"])
def test_a_slot_whose_servers_spell_le_differently_keeps_its_finite_quantile(
    scraped: Scraped, stat: str
) -> None:
    # Every request takes 3 s, within both servers' buckets ("4.0" and "4"). Summed by
    # le, neither spelling of the top bucket counts more than half the requests: the old
    # template said +Inf.
    out = _fetch(scraped, "spell", stat)
    assert isinstance(out, Samples)
    value = float(out.values[-1])
    assert value == _plain_quantile(scraped, "spell", QUANTILES[stat])
    assert 2.0 < value <= 4.0


def test_a_slot_of_servers_with_different_buckets_is_what_histogram_quantile_answers(
    scraped: Scraped,
) -> None:
    # The old server's top bucket (2 s) is no top bucket of the merged histogram: summed by
    # le, no bucket counts both servers' requests, and the old template said +Inf.
    out = _fetch(scraped, "mixed", "p95")
    assert isinstance(out, Samples)
    assert float(out.values[-1]) == _plain_quantile(scraped, "mixed", "0.95") == 8.0


@pytest.mark.parametrize("slot", ["lowinf", "infinity"])
def test_an_inf_bucket_spelled_otherwise_still_makes_a_quantile_above_it_inf(
    scraped: Scraped, slot: str
) -> None:
    assert _plain_quantile(scraped, slot, "0.95") == 2.0  # Prometheus reads it as +Inf
    out = _fetch(scraped, slot, "p95")
    assert isinstance(out, Samples)
    assert float(out.values[-1]) == math.inf


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


# --- 3. the cut last evaluation reads only the time not judged yet --------------------------


def _one_bad_stretch(clock: _Clock, bad: tuple[float, float], until: float) -> InMemorySource:
    """Every request in ``(bad[0], bad[1]]`` fails, none before or after: two a second."""
    src = InMemorySource(now=lambda: clock.now)
    stamps = [i * 0.5 for i in range(1, int(2 * until))]
    src.add(
        "error_rate",
        slot="green",
        values=[1.0 if bad[0] < t <= bad[1] else 0.0 for t in stamps],
        timestamps=stamps,
    )
    return src


@pytest.mark.parametrize(
    ("duration", "interval", "bad", "judged"),
    [
        # one bad minute judged at 120; a last evaluation at 120.5 (a whole window, since
        # stop 54) would read (60.5, 120.5] again: it is not made
        (120.5, 60.0, (60.0, 120.0), 120.0),
        # --interval 45 --duration 600: a bad 45 s judged at 585, not read again at 600
        (600.0, 45.0, (540.0, 585.0), 585.0),
    ],
)
def test_a_cut_last_evaluation_does_not_count_the_same_bad_time_twice(
    duration: float,
    interval: float,
    bad: tuple[float, float],
    judged: float,
) -> None:
    clock = _Clock()
    src = _one_bad_stretch(clock, bad, until=duration + 100)
    policy = RollbackPolicy(
        conditions=["error_rate > 1% min_samples=10"],
        failure_limit=None,
        consecutive_failure_limit=1,  # one failure is allowed, not two in a row
        deadline=None,
    )
    log = ms.monitor.run_policy(
        src,
        policy,
        slot="green",
        window=interval,
        interval=interval,
        duration=duration,
        sleep=clock.sleep,
    )
    assert log.rolled_back is None
    steps = list(log)
    _, step = steps[-1]  # the bad stretch, judged once: the watch ends on it
    assert (step.at, step.verdict) == (judged, "fail")
    assert [s.verdict for _, s in steps].count("fail") == 1


def test_a_cut_last_evaluation_still_fails_on_bad_time_of_its_own() -> None:
    clock = _Clock()
    src = _one_bad_stretch(clock, (120.0, 150.0), until=300.0)
    policy = RollbackPolicy(
        conditions=["error_rate > 1% min_samples=10"], consecutive_failure_limit=1, deadline=None
    )
    log = ms.monitor.run_policy(
        src, policy, slot="green", window=60.0, interval=60.0, duration=150.0, sleep=clock.sleep
    )
    decision, step = list(log)[-1]
    # The last evaluation reads a whole window ending at the end (it read 30 s before).
    assert (step.at, decision.window, step.verdict) == (150.0, 60.0, "fail")


def test_a_watch_whose_every_wait_is_whole_reads_whole_windows() -> None:
    clock = _Clock()
    src = _one_bad_stretch(clock, (0.0, 0.0), until=300.0)
    log = ms.monitor.run_policy(
        src,
        RollbackPolicy(conditions=["error_rate > 1%"], deadline=None),
        slot="green",
        window=90.0,
        interval=60.0,
        duration=180.0,
        sleep=clock.sleep,
    )
    assert [decision.window for decision, _ in log] == [90.0, 90.0, 90.0, 90.0]


# --- 4. a canary analysis judges infinite quantiles by rank ---------------------------------

P95 = CanaryMetric(LATENCY, stat="p95", tolerance=0.1, critical=True)


def test_a_canary_slower_than_every_bucket_fails_on_an_infinite_shift() -> None:
    judged = compare_metric([math.inf] * 10, [0.05] * 10, P95)
    assert judged.verdict == "fail", judged.reason
    assert judged.test is not None
    assert (judged.test.shift, judged.test.ci_low, judged.test.ci_high) == (math.inf,) * 3


def test_a_canary_slower_than_every_bucket_fails_the_analysis() -> None:
    src = InMemorySource(now=100.0)
    src.add(LATENCY, slot="canary", values=[math.inf] * 10, timestamps=range(90, 100))
    src.add(LATENCY, slot="baseline", values=[0.05] * 10, timestamps=range(90, 100))
    report = ms.monitor.canary_analysis(
        src, [P95], canary="canary", baseline="baseline", window=60.0
    )
    assert report.verdict == "fail", report.reasons


def test_a_good_canary_against_a_baseline_with_one_infinite_step_is_judged() -> None:
    judged = compare_metric([0.05] * 10, [0.05] * 9 + [math.inf], P95)
    assert judged.verdict == "pass", judged.reason


def test_a_canary_better_than_a_baseline_above_every_bucket_passes() -> None:
    judged = compare_metric([0.05] * 10, [math.inf] * 10, P95)
    assert judged.verdict == "pass", judged.reason
    accuracy = CanaryMetric("accuracy", direction="decrease", tolerance=0.1)
    assert compare_metric([math.inf] * 10, [0.05] * 10, accuracy).verdict == "pass"


@pytest.mark.parametrize(
    ("canary", "baseline"),
    [
        ([math.inf] * 10, [math.inf] * 10),  # both slower than every bucket
        ([math.inf] * 10, [math.inf] * 9 + [0.05]),  # 90 of 100 pairs are inf - inf
        ([-math.inf] * 10, [-math.inf] * 10),
    ],
)
def test_a_shift_resting_on_ties_of_equal_infinities_is_an_error(
    canary: list[float], baseline: list[float]
) -> None:
    # inf - inf is counted as a tie, never measured: the shift is undefined, not 0, and
    # the canary must not pass as equal to its baseline.
    judged = compare_metric(canary, baseline, P95)
    assert judged.verdict == "error"
    assert "undefined" in judged.reason
    assert "widen" in judged.reason


def test_a_shift_between_minus_and_plus_infinity_is_an_error() -> None:
    judged = compare_metric([-math.inf] * 5 + [math.inf] * 5, [0.05] * 10, P95)
    assert judged.verdict == "error"
    assert "undefined" in judged.reason


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1.0, math.inf], [1.0, math.inf]),
        ([-math.inf, 0.0, 2.5, math.inf, math.inf], [-1.0, 0.5, math.inf]),
        ([-math.inf, -math.inf], [0.0, math.inf]),
    ],
)
def test_pairwise_differences_with_infinities_are_ranks(x: list[float], y: list[float]) -> None:
    def difference(a: float, b: float) -> float:
        return 0.0 if math.isinf(a) and a == b else a - b

    expected = sorted(difference(a, b) for a in x for b in y)
    ranks = list(range(len(expected)))
    assert ms.monitor.pairwise_difference_quantiles(sorted(x), sorted(y), ranks) == expected


def test_a_rank_test_with_tied_infinities_counts_them_as_one_tie_group() -> None:
    with_inf = ms.monitor.mann_whitney([math.inf] * 3 + [1.0, 2.0], [math.inf] * 2 + [0.5] * 4)
    finite = ms.monitor.mann_whitney([9.0] * 3 + [1.0, 2.0], [9.0] * 2 + [0.5] * 4)
    assert (with_inf.statistic, with_inf.p_value) == (finite.statistic, finite.p_value)
