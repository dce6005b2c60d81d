"""PrometheusSource against a real Prometheus, and against a scripted HTTP server for
authentication, TLS and every shape of envelope."""

from __future__ import annotations

import base64
import math
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from monitor_support import Prometheus, Scripted, Target, wait_for

import modelship as ms
from modelship.monitor import NoData, PrometheusSource, Samples, SourceError

LATENCY = "inference_latency_seconds"


def _slot(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def _open_and_wait(
    target: Target, source: PrometheusSource, *slots: str, errors: bool = True
) -> None:
    """Create the slots' series at zero and wait until Prometheus has scraped them."""
    for slot in slots:
        target.open_slot(slot, errors=errors)
    for slot in slots:
        query = f'modelship_request_duration_seconds_count{{slot="{slot}"}}'
        wait_for(lambda q=query: _has_series(source, q), what=f"a scrape of {query}")


def _has_series(source: PrometheusSource, query: str) -> bool:
    answer = source.query(query, at=time.time())
    return isinstance(answer, dict) and bool(answer["result"])


def _serve(target: Target, slot: str, latency: float, requests: int, errors: int = 0) -> None:
    target.serve(slot, latency, requests, errors)


def _fetch_when_ready(source: PrometheusSource, slot: str, stat: str, expect_n: int) -> Samples:
    def attempt() -> Samples | None:
        now = time.time()
        out = source.fetch(LATENCY, slot=slot, stat=stat, start=now - 60, end=now)
        if isinstance(out, Samples) and (out.count or 0) >= expect_n * 0.9:
            return out
        return None

    return wait_for(attempt, what=f"{stat} of {slot} from Prometheus")  # type: ignore[no-any-return]


# --- against the real Prometheus -------------------------------------------------------------


def test_p95_from_the_histogram_falls_in_the_bucket_of_the_observed_latency(
    prometheus: Prometheus, metrics_target: Target
) -> None:
    source = PrometheusSource(prometheus.url)
    slow, fast = _slot("canary"), _slot("stable")
    _open_and_wait(metrics_target, source, slow, fast)
    _serve(metrics_target, slow, latency=0.3, requests=200)
    _serve(metrics_target, fast, latency=0.04, requests=200)

    canary = _fetch_when_ready(source, slow, "p95", expect_n=200)
    stable = _fetch_when_ready(source, fast, "p95", expect_n=200)

    assert canary.stat == "p95"
    assert 0.2 < float(canary.values[-1]) <= 0.5  # the bucket that holds 0.3
    assert 0.025 < float(stable.values[-1]) <= 0.05  # the bucket that holds 0.04


def test_error_rate_is_errors_over_requests_and_zero_when_a_slot_never_failed(
    prometheus: Prometheus, metrics_target: Target
) -> None:
    source = PrometheusSource(prometheus.url)
    failing, clean = _slot("canary"), _slot("stable")
    _open_and_wait(metrics_target, source, failing)
    _open_and_wait(metrics_target, source, clean, errors=False)  # no error series at all
    _serve(metrics_target, failing, latency=0.05, requests=200, errors=20)
    _serve(metrics_target, clean, latency=0.05, requests=200)

    def rate(slot: str) -> Samples | None:
        now = time.time()
        out = source.fetch("error_rate", slot=slot, stat="mean", start=now - 60, end=now)
        return out if isinstance(out, Samples) and (out.count or 0) >= 180 else None

    failing_rate = wait_for(lambda: rate(failing), what="error rate of the failing slot")
    clean_rate = wait_for(lambda: rate(clean), what="error rate of the clean slot")
    assert float(failing_rate.values[-1]) == pytest.approx(0.1, abs=0.01)
    assert float(clean_rate.values[-1]) == 0.0


def test_a_slot_prometheus_never_saw_is_no_data_not_zero(prometheus: Prometheus) -> None:
    source = PrometheusSource(prometheus.url)
    now = time.time()
    out = source.fetch(LATENCY, slot=_slot("ghost"), stat="p95", start=now - 60, end=now)
    assert isinstance(out, NoData)
    assert "no series" in out.reason


def test_a_slot_without_traffic_is_no_data_not_zero(
    prometheus: Prometheus, metrics_target: Target
) -> None:
    source = PrometheusSource(prometheus.url)
    idle = _slot("idle")
    _open_and_wait(metrics_target, source, idle)
    series = f'modelship_request_duration_seconds_count{{slot="{idle}"}}'
    two_scrapes = f"count_over_time({series}[60s]) >= 2"
    wait_for(lambda: _has_series(source, two_scrapes), what="two scrapes of the idle slot")
    now = time.time()
    out = source.fetch(LATENCY, slot=idle, stat="p95", start=now - 60, end=now)
    assert isinstance(out, NoData)  # histogram_quantile over a zero rate is NaN
    assert "NaN" in out.reason


def test_a_query_prometheus_cannot_parse_is_a_source_error_with_its_error_type(
    prometheus: Prometheus,
) -> None:
    source = PrometheusSource(prometheus.url, queries={("broken", "mean"): "sum(rate(x[$window]"})
    now = time.time()
    out = source.fetch("broken", slot="canary", stat="mean", start=now - 60, end=now)
    assert isinstance(out, SourceError)
    assert out.error_type == "bad_data"
    assert out.status_code == 400


def test_a_policy_over_prometheus_fails_the_slow_canary_and_passes_the_stable(
    prometheus: Prometheus, metrics_target: Target
) -> None:
    source = PrometheusSource(prometheus.url)
    slow, fast = _slot("canary"), _slot("stable")
    _open_and_wait(metrics_target, source, slow, fast)
    _serve(metrics_target, slow, latency=0.3, requests=200)
    _serve(metrics_target, fast, latency=0.04, requests=200)
    _fetch_when_ready(source, slow, "p95", expect_n=200)
    _fetch_when_ready(source, fast, "p95", expect_n=200)
    policy = ms.monitor.RollbackPolicy(
        conditions=["p95(inference_latency_seconds) > 0.2 min_samples=100"]
    )

    assert policy.evaluate(source, slot=slow, window=60.0).verdict == "fail"
    assert policy.evaluate(source, slot=fast, window=60.0).verdict == "pass"


def test_a_range_query_returns_one_point_per_step(
    prometheus: Prometheus, metrics_target: Target
) -> None:
    source = PrometheusSource(prometheus.url)
    slot = _slot("canary")
    _open_and_wait(metrics_target, source, slot)
    _serve(metrics_target, slot, latency=0.3, requests=100)
    _fetch_when_ready(source, slot, "p95", expect_n=100)
    end = time.time()
    out = source.fetch_series(LATENCY, slot=slot, start=end - 20, end=end, stat="count", step=5)
    assert isinstance(out, Samples)
    assert 1 <= out.values.size <= 4
    assert (out.timestamps > end - 20).all()
    assert (out.timestamps <= end).all()


def test_prometheus_stopped_mid_run_gives_source_errors_and_the_error_limit_rolls_back(
    own_prometheus: Prometheus,
) -> None:
    source = PrometheusSource(own_prometheus.url, timeout=2.0)
    policy = ms.monitor.RollbackPolicy(
        conditions=["p95(inference_latency_seconds) > 0.2"], error_limit=2
    )
    tracker = policy.tracker(started_at=time.time())
    first = policy.evaluate(source, slot="canary", window=60.0)
    assert first.verdict == "no_data"
    assert tracker.update(first).action == "hold"

    own_prometheus.stop()

    actions = []
    for _ in range(3):
        decision = policy.evaluate(source, slot="canary", window=60.0)
        assert decision.verdict == "error"
        assert "connection" in decision.reasons[0]
        actions.append(tracker.update(decision).action)
    assert actions == ["hold", "hold", "rollback"]


# --- against a scripted server ---------------------------------------------------------------


#: When the scripted server's points are stamped; a fetch asks for the minute up to it.
AT = 1700000000.5


def _vector(*values: str, warnings: list[str] | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": {}, "value": [AT, v]} for v in values],
        },
    }
    if warnings:
        body["warnings"] = warnings
    return body


def _fetch(url: str, **kwargs: object) -> object:
    source = PrometheusSource(url, **kwargs)  # type: ignore[arg-type]
    return source.fetch(LATENCY, slot="canary", stat="p95", start=AT - 60.0, end=AT)


def test_the_query_is_posted_as_a_form_with_time_and_timeout(scripted: Scripted) -> None:
    scripted.answer(_vector("0.25"))
    _fetch(scripted.url, timeout=3.0)
    request = scripted.seen[0]
    form = parse_qs(request["body"])
    assert request["path"] == "/api/v1/query"
    assert form["time"] == ["1700000000.5"]
    assert form["timeout"] == ["3s"]
    assert 'slot="canary"' in form["query"][0]


def test_a_bearer_token_is_sent_in_the_authorization_header(scripted: Scripted) -> None:
    scripted.answer(_vector("0.25"))
    _fetch(scripted.url, bearer_token="s3cr3t")
    assert scripted.seen[0]["headers"]["Authorization"] == "Bearer s3cr3t"


def test_basic_auth_is_sent_in_the_authorization_header(scripted: Scripted) -> None:
    scripted.answer(_vector("0.25"))
    _fetch(scripted.url, basic_auth=("ann", "pw"))
    expected = "Basic " + base64.b64encode(b"ann:pw").decode()
    assert scripted.seen[0]["headers"]["Authorization"] == expected


def test_extra_headers_are_sent(scripted: Scripted) -> None:
    scripted.answer(_vector("0.25"))
    _fetch(scripted.url, headers={"X-Scope-OrgID": "team-a"})
    assert scripted.seen[0]["headers"]["X-Scope-OrgID"] == "team-a"


def test_bearer_and_basic_auth_together_are_refused() -> None:
    with pytest.raises(ms.ConfigError, match="not both"):
        PrometheusSource("http://127.0.0.1:9", bearer_token="t", basic_auth=("a", "b"))


def test_tls_with_the_servers_ca_file_is_trusted(scripted_tls: tuple[Scripted, Path]) -> None:
    server, ca_file = scripted_tls
    server.answer(_vector("0.25"))
    out = _fetch(server.url, verify=str(ca_file))
    assert isinstance(out, Samples)


def test_tls_with_an_unknown_certificate_is_a_tls_error(
    scripted_tls: tuple[Scripted, Path],
) -> None:
    server, _ = scripted_tls
    server.answer(_vector("0.25"))
    out = _fetch(server.url)
    assert isinstance(out, SourceError)
    assert out.error_type == "tls"


def test_values_are_read_from_strings_and_plus_inf_is_kept(scripted: Scripted) -> None:
    scripted.answer(_vector("+Inf"))
    out = _fetch(scripted.url)
    assert isinstance(out, Samples)
    assert out.values.tolist() == [math.inf]
    assert out.timestamps.tolist() == [1700000000.5]


def test_a_point_rounded_to_the_millisecond_past_the_end_stands_at_the_end(
    scripted: Scripted,
) -> None:
    end = 1700000000.4996  # Prometheus evaluates, and stamps, at 1700000000.5
    scripted.answer(_vector("0.25"))
    out = PrometheusSource(scripted.url).fetch(
        LATENCY, slot="canary", stat="p95", start=end - 60, end=end
    )
    assert isinstance(out, Samples)
    assert out.timestamps.tolist() == [end]


def test_a_nan_value_is_no_data(scripted: Scripted) -> None:
    scripted.answer(_vector("NaN"))
    assert isinstance(_fetch(scripted.url), NoData)


def test_an_empty_vector_is_no_data(scripted: Scripted) -> None:
    scripted.answer(_vector())
    assert isinstance(_fetch(scripted.url), NoData)


def test_warnings_are_kept_with_the_samples(scripted: Scripted) -> None:
    scripted.answer(_vector("0.3", warnings=["PromQL info: metric might not be a counter"]))
    out = _fetch(scripted.url)
    assert isinstance(out, Samples)
    assert "might not be a counter" in out.warnings[0]


def test_a_count_is_its_own_sample_size(scripted: Scripted) -> None:
    scripted.answer(_vector("250"))
    source = PrometheusSource(scripted.url)
    out = source.fetch(LATENCY, slot="canary", stat="count", start=AT - 60.0, end=AT)
    assert isinstance(out, Samples)
    assert out.n == 250
    assert len(scripted.seen) == 1


def test_a_scalar_result_is_a_value(scripted: Scripted) -> None:
    scripted.answer({"status": "success", "data": {"resultType": "scalar", "result": [AT, "0.5"]}})
    out = _fetch(scripted.url)
    assert isinstance(out, Samples)
    assert out.values.tolist() == [0.5]


def test_the_sample_size_comes_from_the_count_query(scripted: Scripted) -> None:
    scripted.answer(_vector("412"))  # the same answer to the p95 and the count query
    out = _fetch(scripted.url)
    assert isinstance(out, Samples)
    assert out.count == 412
    assert len(scripted.seen) == 2


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (422, {"status": "error", "errorType": "execution", "error": "boom"}, "execution"),
        (503, {"status": "error", "errorType": "timeout", "error": "query timed out"}, "timeout"),
        (502, b"<html>bad gateway</html>", "http"),
        (200, b"not json", "bad_response"),
        (200, {"status": "success"}, "bad_response"),
        (200, {"data": {}}, "bad_response"),
        (
            200,
            {"status": "success", "data": {"resultType": "string", "result": [1, "x"]}},
            "bad_response",
        ),
        (
            200,
            {"status": "success", "data": {"resultType": "vector", "result": {}}},
            "bad_response",
        ),
        (
            200,
            {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}},
            "bad_response",
        ),
        (
            200,
            {
                "status": "success",
                "data": {"resultType": "vector", "result": [{"value": [1, "x"]}]},
            },
            "bad_response",
        ),
        (200, _vector("0.1", "0.2"), "bad_response"),
    ],
)
def test_a_malformed_or_failed_answer_is_a_source_error(
    scripted: Scripted, status: int, body: object, error_type: str
) -> None:
    scripted.answer(body, status=status)
    out = _fetch(scripted.url)
    assert isinstance(out, SourceError)
    assert out.error_type == error_type
    assert out.metric == LATENCY
    assert out.slot == "canary"


def test_a_native_histogram_sample_is_refused_with_a_reason(scripted: Scripted) -> None:
    scripted.answer(
        {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "histogram": [1, {}]}]},
        }
    )
    out = _fetch(scripted.url)
    assert isinstance(out, SourceError)
    assert "native histogram" in out.message


def test_a_server_slower_than_the_timeout_is_a_timeout_error(scripted: Scripted) -> None:
    scripted.answer(_vector("0.25"))
    scripted.delay = 2.0
    out = _fetch(scripted.url, timeout=0.3)
    assert isinstance(out, SourceError)
    assert out.error_type == "timeout"


def test_nothing_listening_is_a_connection_error() -> None:
    from monitor_support import free_port

    out = _fetch(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    assert isinstance(out, SourceError)
    assert out.error_type == "connection"


def test_a_metric_without_a_template_is_a_config_error_naming_the_known_ones() -> None:
    source = PrometheusSource("http://127.0.0.1:9")
    with pytest.raises(ms.ConfigError, match="known for inference_latency_seconds: count"):
        source.render(LATENCY, "p42", slot="canary", window=60)


def test_slot_values_are_quoted_in_the_selector() -> None:
    source = PrometheusSource("http://127.0.0.1:9")
    promql = source.render("request_rate", "mean", slot='a"b\\c', window=1.5)
    assert 'slot="a\\"b\\\\c"' in promql
    assert "[1500ms]" in promql


def test_a_template_with_an_unknown_placeholder_is_a_config_error() -> None:
    source = PrometheusSource("http://127.0.0.1:9", queries={("m", "mean"): "rate(m{$labels}[1m])"})
    with pytest.raises(ms.ConfigError, match=r"\$selector"):
        source.render("m", "mean", slot="canary", window=60)
