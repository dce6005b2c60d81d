"""Review 54a: a query mistake is refused, not counted as an outage; a failed request is
asked once more; a host clock far from Prometheus's is refused when a watch starts.

Against a real Prometheus of this module's own, whose slots are named blue/green as the
deployers name them, with no other test's series in them."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from monitor_support import Prometheus, Target, target_and_prometheus, wait_for

import modelship as ms
from modelship.deploy import BlueGreen, Rollout
from modelship.errors import ConfigError
from modelship.monitor import PrometheusSource, RollbackPolicy
from modelship.testing import InMemoryDeployer

ERRORS = "error_rate > 5% min_samples=10"
# A parenthesis short: Prometheus answers bad_data at every evaluation.
UNPARSED = (
    'sum(rate(modelship_requests_total{$selector,code=~"5.."}[$window])) / '
    "sum(rate(modelship_requests_total{$selector}[$window])"
)
# No sum(): one series per status code.
SEVERAL = "rate(modelship_requests_total{$selector}[$window])"
MISTAKES = [(UNPARSED, "bad_data"), (SEVERAL, r"returned \d+ series")]


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, Prometheus]]:
    with target_and_prometheus(tmp_path_factory.mktemp("prom54f")) as both:
        yield both


@pytest.fixture(scope="module")
def served(own: tuple[Target, Prometheus]) -> tuple[Rollout, Prometheus]:
    """fraud 2 promoted into its slot, which answers healthy requests (the 200 and the
    5xx series, the latter at zero), scraped before and after they came."""
    from modelship.deploy.serve._metrics import ServerMetrics

    target, prom = own
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    m = ServerMetrics("fraud", "2", slot=rollout.slot)
    target.slots[rollout.slot] = m
    m._latency.labels(*m._ids, "predict")
    m._requests.labels(*m._ids, "predict", "200")
    m._requests.labels(*m._ids, "predict", "500")
    source = PrometheusSource(prom.url)

    def scraped(least: float) -> bool:
        query = f'sum(modelship_requests_total{{slot="{rollout.slot}"}})'
        answer = source.query(query, at=time.time())
        if not isinstance(answer, dict) or not answer["result"]:
            return False
        return float(answer["result"][0]["value"][1]) >= least

    wait_for(lambda: scraped(0), what="a scrape at zero")
    for _ in range(6):  # over three scrapes: a rate to measure
        for _ in range(10):
            m.observe("predict", 200, 0.01)
        time.sleep(0.5)
    wait_for(lambda: scraped(60), what="a scrape of 60 requests")
    time.sleep(1.2)
    return rollout, prom


# --- a query mistake is no outage -------------------------------------------------------------


@pytest.mark.parametrize(("template", "said"), MISTAKES)
def test_watch_refuses_a_query_prometheus_can_never_answer_before_it_starts(
    served: tuple[Rollout, Prometheus], template: str, said: str
) -> None:
    rollout, prom = served
    source = PrometheusSource(prom.url, queries={("error_rate", "mean"): template})
    policy = RollbackPolicy(conditions=[ERRORS], error_limit=0, deadline=None)
    # Before: every evaluation a source error, and the healthy version rolled back.
    with pytest.raises(ConfigError, match=said):
        ms.monitor.watch(
            rollout, source, policy, interval=0.2, duration=0.4, window=30.0, since=0.0
        )
    assert rollout.status.value == "succeeded"


@pytest.mark.parametrize(("template", "said"), MISTAKES[:1])
def test_a_query_mistake_met_during_a_run_stops_it_without_a_rollback(
    served: tuple[Rollout, Prometheus], template: str, said: str
) -> None:
    rollout, prom = served
    source = PrometheusSource(prom.url, queries={("error_rate", "mean"): template})
    policy = RollbackPolicy(conditions=[ERRORS], error_limit=0, deadline=None)
    rolled_back: list[object] = []
    with pytest.raises(ConfigError, match=said) as raised:
        ms.monitor.run_policy(
            source,
            policy,
            slot=rollout.slot,
            window=30.0,
            interval=0.2,
            duration=0.4,
            on_rollback=rolled_back.append,
        )
    assert "nothing was rolled back" in str(raised.value)
    assert rolled_back == []


def test_several_series_met_during_a_run_are_that_condition_s_source_error(
    served: tuple[Rollout, Prometheus],
) -> None:
    """After the start-up probe, several series are what is scraped changing (a second pod
    appeared): that condition's source error, the other conditions still judged."""
    rollout, prom = served
    source = PrometheusSource(prom.url, queries={("per_pod", "mean"): SEVERAL})
    policy = RollbackPolicy(
        conditions=["request_rate > 0", "per_pod > 1000"], error_limit=3, deadline=None
    )
    rolled_back: list[object] = []
    # Before: a ConfigError stopped the run, request_rate's failure discarded.
    log = ms.monitor.run_policy(
        source,
        policy,
        slot=rollout.slot,
        window=3600.0,
        interval=0.2,
        duration=0.2,
        on_rollback=rolled_back.append,
        since=0.0,
    )
    decision, step = log.entries[0]
    assert step.action == "rollback", decision.reasons
    assert len(rolled_back) == 1
    errors = [o for o in decision.inputs if isinstance(o, ms.monitor.SourceError)]
    assert [(e.metric, e.error_type) for e in errors] == [("per_pod", "bad_response")]
    assert "series" in errors[0].message


# --- one failed request is asked again ------------------------------------------------------


@contextlib.contextmanager
def _every_second_request_fails(upstream: str, status: int) -> Iterator[int]:
    """A proxy in front of Prometheus answering every second request with ``status``."""
    import requests

    seen: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(len(seen))
            if len(seen) % 2 == 0:
                body, code = b"<html>Bad Gateway</html>", status
            else:
                answer = requests.post(
                    upstream + self.path,
                    data=form,
                    headers={"Content-Type": self.headers.get("Content-Type", "")},
                    timeout=10,
                )
                body, code = answer.content, answer.status_code
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_query_failed_by_a_flaky_proxy_is_asked_once_more(
    served: tuple[Rollout, Prometheus], status: int
) -> None:
    rollout, prom = served
    with _every_second_request_fails(prom.url, status) as port:
        source = PrometheusSource(f"http://127.0.0.1:{port}", timeout=5.0)
        policy = RollbackPolicy(conditions=[ERRORS], error_limit=0, deadline=None)
        # Before: the count query of each evaluation met the failure: error -> rollback.
        log = ms.monitor.run_policy(
            source, policy, slot=rollout.slot, window=60.0, interval=0.2, duration=0.6
        )
    assert log.rolled_back is None, [d.reasons for d, _ in log]
    assert {d.verdict for d, _ in log} == {"pass"}


# --- the clocks ----------------------------------------------------------------------------


def test_watch_refuses_a_host_clock_far_from_prometheus_s(
    served: tuple[Rollout, Prometheus],
) -> None:
    rollout, prom = served
    ahead = PrometheusSource(prom.url, clock=lambda: time.time() + 30.0)
    policy = RollbackPolicy(conditions=[ERRORS], deadline=None)
    # Before: watched, every window 30 s in Prometheus's future.
    with pytest.raises(ConfigError, match=r"30\.\d s ahead of Prometheus.*NTP"):
        ms.monitor.watch(rollout, ahead, policy, interval=0.2, duration=0.2, since=0.0)


def test_a_clock_within_the_tolerance_is_accepted(served: tuple[Rollout, Prometheus]) -> None:
    source = PrometheusSource(served[1].url, clock=lambda: time.time() + 1.0)
    assert source.check_clock() is True
