"""Review 36 of the monitor: a caller's session left alone, Prometheus's range limit
computed on its own times, URLs and TLS paths checked when a source is made, exact canary
scores, a refusal that suggests a step accepted, a timeout that bounds the whole request,
policy gates that ask their questions up front, and planning inputs beyond any float."""

from __future__ import annotations

import base64
import contextlib
import http.server
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from monitor_support import Prometheus, Scripted

import modelship as ms
from modelship.errors import ConfigError
from modelship.monitor import (
    CanaryMetric,
    MetricJudgement,
    PrometheusSource,
    RollbackPolicy,
    Samples,
    SequentialTest,
    SourceError,
    canary_gate,
    msprt,
    policy_gate,
    sample_size_means,
    sample_size_proportions,
)
from modelship.monitor._canary import combine
from modelship.monitor._prometheus import _go_time_ns, _range

NOBODY = "http://127.0.0.1:9"  # nothing listens
EMPTY = {"status": "success", "data": {"resultType": "vector", "result": []}}


def _sent(script: Scripted, name: str) -> list[str | None]:
    return [seen["headers"].get(name) for seen in script.seen]


# --- 1. the caller's session ------------------------------------------------------------------


def test_a_given_session_is_not_changed_by_the_source() -> None:
    session = requests.Session()
    before = dict(session.headers)

    PrometheusSource(
        NOBODY, session=session, bearer_token="t0k3n", headers={"X-Scope-OrgID": "team-a"}
    )
    PrometheusSource(NOBODY, session=session, basic_auth=("user", "pw"))

    assert dict(session.headers) == before
    assert session.auth is None


def test_two_sources_sharing_a_session_each_send_their_own_tenant_and_token(
    scripted: Scripted,
) -> None:
    scripted.answer(EMPTY)
    pool = requests.Session()
    a = PrometheusSource(
        scripted.url, session=pool, bearer_token="token-a", headers={"X-Scope-OrgID": "team-a"}
    )
    b = PrometheusSource(
        scripted.url, session=pool, bearer_token="token-b", headers={"X-Scope-OrgID": "team-b"}
    )

    a.fetch("request_rate", slot="canary", start=0.0, end=60.0)
    b.fetch("request_rate", slot="canary", start=0.0, end=60.0)

    # One query each: an empty answer is NoData, without a count to ask for.
    assert _sent(scripted, "X-Scope-OrgID") == ["team-a", "team-b"]
    assert _sent(scripted, "Authorization") == ["Bearer token-a", "Bearer token-b"]


def test_basic_auth_is_sent_with_the_sources_requests_only(scripted: Scripted) -> None:
    scripted.answer(EMPTY)
    session = requests.Session()
    source = PrometheusSource(scripted.url, session=session, basic_auth=("user", "pw"))

    source.query("up", at=60.0)

    assert session.auth is None
    assert _sent(scripted, "Authorization") == ["Basic " + base64.b64encode(b"user:pw").decode()]


def test_the_sources_token_wins_over_the_sessions_own_auth(scripted: Scripted) -> None:
    scripted.answer(EMPTY)
    session = requests.Session()
    session.auth = ("someone", "else")

    PrometheusSource(scripted.url, session=session, bearer_token="t0k3n").query("up", at=60.0)

    assert _sent(scripted, "Authorization") == ["Bearer t0k3n"]


def test_a_sessions_own_auth_is_used_when_the_source_has_none(scripted: Scripted) -> None:
    scripted.answer(EMPTY)
    session = requests.Session()
    session.auth = ("user", "pw")

    PrometheusSource(scripted.url, session=session).query("up", at=60.0)

    assert _sent(scripted, "Authorization") == ["Basic " + base64.b64encode(b"user:pw").decode()]


class _RecordingSession(requests.Session):
    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


def test_close_leaves_a_given_session_open_and_closes_its_own() -> None:
    given = _RecordingSession()
    with PrometheusSource(NOBODY, session=given):
        pass
    assert not given.closed

    source = PrometheusSource(NOBODY)
    own = _RecordingSession()
    source._session = own  # the one it created, standing in
    source.close()
    assert own.closed


# --- 2. (end - start) / step as Prometheus computes it ------------------------------------------

B = 1_700_000_000.0


def test_a_time_keeps_its_milliseconds_as_prometheus_parses_it() -> None:
    assert _go_time_ns(100.25) == 100_250_000_000
    assert _go_time_ns(B + 0.518) == 1_700_000_000_518_000_000
    assert _go_time_ns(0.0005) == 1_000_000  # half a millisecond: away from zero


@pytest.mark.parametrize(
    ("start", "end", "step", "refused"),
    [
        (B + 0.518 - 3300.75, B + 0.518, 0.3, True),  # 11001.5 steps: the old check let it by
        (B + 0.95 - 17, B + 0.25, 0.0015, False),  # 10866 steps: the old check refused it
        (B + 0.999 - 0.25, B + 2751.248, 0.25, False),  # 10999 steps, 11004 whole seconds
        (B + 0.1234, B + 0.1234 + 2750.25, 0.25, False),  # at the limit, 11000 steps
        (B + 0.1234, B + 0.1234 + 2750.5, 0.25, True),  # 11001
        (B + 0.4567, B + 0.4567 + 3300.3, 0.3, False),
        (B + 0.4567, B + 0.4567 + 3300.65, 0.3, True),
    ],
)
def test_the_range_limit_agrees_with_prometheus_on_fractional_times(
    prometheus: Prometheus, start: float, end: float, step: float, refused: bool
) -> None:
    source = PrometheusSource(prometheus.url, queries={("m", "mean"): "vector(1)"}, timeout=30)
    first, last = _range(start, end, step)
    direct = source.query_range("vector(1)", start=first, end=last, step=step)
    prometheus_refused = isinstance(direct, SourceError)
    if prometheus_refused:
        assert isinstance(direct, SourceError)
        assert "exceeded maximum resolution" in direct.message
    assert prometheus_refused is refused  # the case is what it says it is

    if refused:
        with pytest.raises(ConfigError, match="Prometheus refuses more than 11000"):
            source.fetch_series("m", slot="green", start=start, end=end, stat="mean", step=step)
    else:
        out = source.fetch_series("m", slot="green", start=start, end=end, stat="mean", step=step)
        assert isinstance(out, Samples)


def test_a_canary_gate_over_a_range_prometheus_refuses_is_refused_when_made() -> None:
    metric = CanaryMetric("request_rate", stat="mean")
    canary_gate(PrometheusSource(NOBODY), [metric], window=3300.3, step=0.3)  # 11000 steps

    with pytest.raises(ConfigError, match="11002 steps"):
        canary_gate(PrometheusSource(NOBODY), [metric], window=3300.9, step=0.3)


def test_a_canary_gate_is_refused_when_a_window_of_its_length_can_be_refused(
    prometheus: Prometheus,
) -> None:
    window, step = 3300.5995, 0.3  # (window - step) / step: 11000.998
    metric = CanaryMetric("request_rate", stat="mean")
    # Starting a little after a whole millisecond, the times sent are 11001 steps apart:
    start = B + 0.0006
    first, last = _range(start, start + window, step)
    direct = PrometheusSource(prometheus.url, timeout=30).query_range(
        "vector(1)", start=first, end=last, step=step
    )
    assert isinstance(direct, SourceError)
    assert "exceeded maximum resolution" in direct.message

    with pytest.raises(ConfigError, match="11001 steps"):
        canary_gate(PrometheusSource(NOBODY), [metric], window=window, step=step)


# --- 3. URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:90900", "not a URL requests can send to"),
        ("http://127.0.0.1:0", "outside 1-65535"),
        ("http://:9090", "not a URL requests can send to|no host"),
        ("http://127.0.0.1:9090/?x=1", "a query or a fragment"),
        ("http://127.0.0.1:9090#top", "a query or a fragment"),
        ("http://127.0.0.1:9090?", "a query or a fragment"),
    ],
)
def test_a_url_that_cannot_be_asked_is_refused_when_the_source_is_made(
    url: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        PrometheusSource(url)


def test_a_url_with_a_path_prefix_is_accepted() -> None:
    source = PrometheusSource("http://[::1]:9090/prometheus/")
    assert source.url == "http://[::1]:9090/prometheus"


def test_a_request_that_cannot_be_sent_for_a_bad_proxy_url_is_a_config_error() -> None:
    session = requests.Session()
    session.proxies = {"http": "http://:3128"}  # no host: requests' InvalidProxyURL
    source = PrometheusSource(NOBODY, session=session, timeout=1)

    with pytest.raises(ConfigError, match="cannot be sent"):
        source.fetch("request_rate", slot="canary", start=0.0, end=60.0)


# --- 4 and 5. TLS settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verify": ""},
        {"cert": ""},
        {"cert": ("", "")},
    ],
    ids=str,
)
def test_an_empty_tls_path_is_refused_not_read_as_no_verification(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="verify=False"):
        PrometheusSource("https://127.0.0.1:9", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verify": "/nonexistent/ca.pem"},
        {"cert": "/nonexistent/client.pem"},
        {"cert": ("/nonexistent/client.pem", "/nonexistent/client.key")},
    ],
    ids=str,
)
def test_a_missing_tls_file_is_refused_when_the_source_is_made(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="no such file or directory"):
        PrometheusSource("https://127.0.0.1:9", **kwargs)


def test_a_ca_directory_is_accepted(tmp_path: Path) -> None:
    PrometheusSource("https://127.0.0.1:9", verify=str(tmp_path))


def test_a_tls_file_removed_after_the_source_was_made_is_a_config_error(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not yet a certificate")
    source = PrometheusSource("https://127.0.0.1:9", verify=str(ca), timeout=1)
    ca.unlink()

    with pytest.raises(ConfigError, match="cannot be sent"):
        source.fetch("request_rate", slot="canary", start=0.0, end=60.0)


def test_verify_with_a_ca_bundle_still_verifies(scripted_tls: tuple[Scripted, Path]) -> None:
    server, ca_file = scripted_tls
    server.answer(EMPTY)

    out = PrometheusSource(server.url, verify=str(ca_file)).fetch(
        "request_rate", slot="canary", start=0.0, end=60.0
    )

    assert isinstance(out, ms.monitor.NoData)  # reached, verified, answered empty


# --- 6. exact canary scores -------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 0.1, 1e-3, 10.0])
def test_weights_in_the_same_ratios_give_the_same_score_and_verdict(scale: float) -> None:
    weights = [round(2 * scale, 12), round(7 * scale, 12), round(3 * scale, 12)]
    judgements = [
        MetricJudgement("latency", "pass", "", None, 9, 9, weights[0], False),
        MetricJudgement("accuracy", "pass", "", None, 9, 9, weights[1], False),
        MetricJudgement("errors", "fail", "", None, 9, 9, weights[2], False),
    ]

    report = combine(judgements)

    assert report.score == 75.0
    assert report.verdict == "pass"
    assert report.gate_outcome == "pass"


def test_the_score_bounds_of_unjudged_metrics_are_exact() -> None:
    judgements = [
        MetricJudgement("latency", "pass", "", None, 9, 9, 0.1, False),
        MetricJudgement("accuracy", "no_data", "", None, 0, 0, 0.2, False),
    ]

    report = combine(judgements)

    assert (report.score_low, report.score_high) == (100 / 3, 100.0)


# --- 7. a refusal that suggests a step Prometheus answers ----------------------------------------


@pytest.mark.parametrize(
    ("window", "step"), [(3301.2, 0.3), (86400.0, 5.0), (3300.9, 0.3), (1e6, 1.0)]
)
def test_the_step_a_refusal_suggests_is_accepted(window: float, step: float) -> None:
    source = PrometheusSource(NOBODY)
    with pytest.raises(ConfigError) as refused:
        source.check_question("request_rate", slot="canary", stat="mean", window=window, step=step)
    found = re.search(r"raise the step to at least (\S+) s", str(refused.value))
    assert found is not None
    suggested = float(found.group(1))

    source.check_question("request_rate", slot="canary", stat="mean", window=window, step=suggested)
    assert suggested > step


# --- 8. a timeout that bounds the whole request ---------------------------------------------------


@contextlib.contextmanager
def _stalling_server(timeout: float) -> Iterator[str]:
    """Headers well inside ``timeout``, then a byte every 0.75 ``timeout``: each inside a
    wait of the whole timeout, the first after the request's deadline."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            with contextlib.suppress(OSError):  # the client gives up, as it should
                time.sleep(0.6 * timeout)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.flush()
                for byte in (b"{", b" ", b" "):
                    time.sleep(0.75 * timeout)
                    self.wfile.write(byte)
                    self.wfile.flush()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_server_answering_just_inside_each_wait_is_given_up_at_the_timeout() -> None:
    timeout = 2.0
    with _stalling_server(timeout) as url:
        began = time.monotonic()
        out = PrometheusSource(url, timeout=timeout).fetch(
            "request_rate", slot="canary", start=0.0, end=60.0
        )
        took = time.monotonic() - began

    assert isinstance(out, SourceError)
    assert out.error_type == "timeout"
    # Not at the first byte after the deadline (2.7 s before: a read waited the whole 2 s).
    assert took < timeout + 0.35


# --- 9. policy gates ask their questions when made ---------------------------------------------


def test_a_policy_gate_refuses_a_condition_the_source_has_no_query_for() -> None:
    policy = RollbackPolicy(conditions=["p75(inference_latency_seconds) > 0.2"])

    with pytest.raises(ConfigError, match=r"no PromQL template for p75"):
        policy_gate(PrometheusSource(NOBODY), policy, window=60.0)


def test_a_policy_gate_asks_about_a_disabled_policy_too() -> None:
    # The gate evaluates the policy at each analysis whether or not it is enabled.
    policy = RollbackPolicy(conditions=["p75(inference_latency_seconds) > 0.2"], enabled=False)

    with pytest.raises(ConfigError, match=r"no PromQL template for p75"):
        policy_gate(PrometheusSource(NOBODY), policy, window=60.0)


def test_a_policy_gate_with_questions_the_source_answers_is_made() -> None:
    policy = RollbackPolicy(
        conditions=["p95(inference_latency_seconds) > baseline * 1.5", "error_rate > 1%"]
    )

    gate = policy_gate(PrometheusSource(NOBODY), policy, window=60.0, baseline="blue")

    assert callable(gate)


# --- 10. planning inputs beyond any float ----------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sd": 1.0, "mde": 1e-160},  # OverflowError before
        {"sd": 1.0, "mde": 1e-170},  # ZeroDivisionError before
        {"sd": 1e200, "mde": 1.0},  # OverflowError before
    ],
    ids=str,
)
def test_a_sample_size_beyond_any_float_is_a_config_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="too small relative to the spread"):
        sample_size_means(**kwargs)


def test_a_rate_change_too_small_for_a_sample_size_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="too small relative to the spread"):
        sample_size_proportions(baseline_rate=1e-300, mde=1e-300)


def test_a_sample_size_within_range_is_unchanged() -> None:
    assert sample_size_means(sd=1.0, mde=1e-150).n_x > 0
    plan = sample_size_means(sd=0.05, mde=0.01, power=0.9)
    assert (plan.n_x, plan.n_y) == (526, 526)


@pytest.mark.parametrize("tau", [1e-300, 1e-160, 1e160, 1e300])
def test_a_tau_whose_square_is_no_positive_finite_float_is_refused(tau: float) -> None:
    with pytest.raises(ConfigError, match="tau"):
        SequentialTest(tau=tau)
    with pytest.raises(ConfigError, match="tau"):
        msprt(difference=0.1, variance=0.01, tau=tau)


def test_a_tau_at_the_ends_of_its_range_gives_numbers() -> None:
    x, y = [float(i) for i in range(50)], [float(i) + 1 for i in range(50)]
    for tau in (1e-150, 1e150):
        result = SequentialTest(tau=tau).look(x, y)
        assert result.log_lr == result.log_lr  # not NaN
        assert 0.0 <= result.p_value <= 1.0


@pytest.mark.parametrize("scale", [1e-200, 1.0, 1e200])
def test_a_sample_size_depends_on_the_ratio_of_sd_to_mde_only(scale: float) -> None:
    from modelship.monitor import sample_size_means

    plan = sample_size_means(sd=0.05 * scale, mde=0.01 * scale, power=0.9)
    assert (plan.n_x, plan.n_y) == (526, 526)
