"""PrometheusSource and DriftSource against what a hostile review found: answers that never
end or never stop growing, redirects, headers that cannot be sent, a slot that would
rewrite its query, points from outside the window, and arguments refused too late."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from monitor_support import Prometheus, Scripted, free_port

import modelship as ms
from modelship.monitor import DriftSource, NoData, PrometheusSource, Samples, SourceError
from modelship.monitor._prometheus import MAX_ANSWER_BYTES

AT = 1700000000.5
QUERIES = {("m", "mean"): "m{$selector}"}


def _vector(value: str, at: float = AT) -> dict[str, object]:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [at, value]}]},
    }


def _fetch(url: str, **kwargs: object) -> object:
    source = PrometheusSource(url, queries=QUERIES, **kwargs)  # type: ignore[arg-type]
    return source.fetch("m", slot="canary", stat="mean", start=AT - 60.0, end=AT)


# --- a server that answers as each test scripts it, byte by byte -------------------------------

Answer = Callable[[BaseHTTPRequestHandler], None]


class Handwritten:
    """An HTTP server on 127.0.0.1 whose answer a test writes itself (``answer``)."""

    def __init__(self) -> None:
        self.answer: Answer = lambda handler: None
        self.requests: list[tuple[str, str]] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                script.requests.append((self.command, self.path))
                try:
                    script.answer(self)
                except OSError:  # the client gave up (the point of several tests)
                    self.close_connection = True

            def do_GET(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def handwritten() -> Iterator[Handwritten]:
    script = Handwritten()
    thread = threading.Thread(target=script.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        script.server.shutdown()
        script.server.server_close()
        thread.join(timeout=10)


def _head(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()


# --- defect 4: a deadline for the whole answer, and a cap on its size --------------------------


def test_an_answer_trickled_a_byte_at_a_time_is_a_timeout_at_the_deadline(
    handwritten: Handwritten,
) -> None:
    body = json.dumps(_vector("0.1")).encode()  # about 100 bytes: 5 s at 20 bytes a second

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, 200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)

    handwritten.answer = trickle
    began = time.monotonic()
    out = _fetch(handwritten.url, timeout=0.5)
    took = time.monotonic() - began

    assert isinstance(out, SourceError)
    assert out.error_type == "timeout"
    assert took < 2.0, f"fetch took {took:.1f} s at timeout=0.5"


def test_an_answer_declared_larger_than_the_cap_is_refused_unread(
    handwritten: Handwritten,
) -> None:
    body = json.dumps(_vector("0.1")).encode()
    padded = body + b" " * (MAX_ANSWER_BYTES + 1 - len(body))  # valid JSON, one byte too long

    def large(handler: BaseHTTPRequestHandler) -> None:
        _head(
            handler, 200, {"Content-Type": "application/json", "Content-Length": str(len(padded))}
        )
        handler.wfile.write(padded)

    handwritten.answer = large
    out = _fetch(handwritten.url, timeout=5.0)

    assert isinstance(out, SourceError)
    assert out.error_type == "bad_response"
    assert "MAX_ANSWER_BYTES" in out.message


def test_an_answer_without_a_length_is_cut_at_the_cap(handwritten: Handwritten) -> None:
    body = json.dumps(_vector("0.1")).encode()

    def endless(handler: BaseHTTPRequestHandler) -> None:  # ends with the connection
        _head(handler, 200, {"Content-Type": "application/json", "Connection": "close"})
        handler.wfile.write(body)
        for _ in range(2 * MAX_ANSWER_BYTES // 65536):
            handler.wfile.write(b" " * 65536)
        handler.close_connection = True

    handwritten.answer = endless
    out = _fetch(handwritten.url, timeout=10.0)

    assert isinstance(out, SourceError)
    assert out.error_type == "bad_response"
    assert "MAX_ANSWER_BYTES" in out.message


def test_an_answer_within_the_cap_and_the_deadline_is_read(handwritten: Handwritten) -> None:
    body = json.dumps(_vector("0.1")).encode() + b" " * (MAX_ANSWER_BYTES // 2)

    def large(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, 200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        handler.wfile.write(body)

    handwritten.answer = large
    out = _fetch(handwritten.url, timeout=5.0)

    assert isinstance(out, Samples)
    assert out.values.tolist() == [0.1]


# --- defect 6: a redirect is reported, never followed ------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_http_error_naming_where_it_points(
    handwritten: Handwritten, prometheus: Prometheus, status: int
) -> None:
    def moved(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, status, {"Location": prometheus.url + handler.path, "Content-Length": "0"})

    handwritten.answer = moved
    source = PrometheusSource(handwritten.url, queries={("m", "mean"): "vector(0.25)"})
    now = time.time()
    out = source.fetch("m", slot="canary", stat="mean", start=now - 60.0, end=now)

    assert isinstance(out, SourceError)
    assert (out.error_type, out.status_code) == ("http", status)
    assert f"{prometheus.url}/api/v1/query" in out.message
    assert "final URL" in out.message
    assert handwritten.requests == [("POST", "/api/v1/query")]  # asked once, not followed


# --- defect 5: what cannot be sent is refused, not counted as an outage -----------------------


@pytest.mark.parametrize(
    "token", ["s3cret\n", "s3cret\r\n", " s3cret", "t\u2026ken", "s3c\x00ret"], ids=repr
)
def test_a_token_that_cannot_be_sent_is_refused_when_the_source_is_made(token: str) -> None:
    with pytest.raises(ms.ConfigError, match=r"bearer_token=.* is not allowed"):
        PrometheusSource("http://127.0.0.1:9", bearer_token=token)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Scope-OrgID": "team a\r\nX-Injected: y"},
        {"X-Team": "\u00e9quipe\u2013a"},
        {"X-Team": "team-a\n"},
        {"Bad Name": "v"},
        {"X-Team:": "v"},
    ],
    ids=repr,
)
def test_a_header_that_cannot_be_sent_is_refused_when_the_source_is_made(
    headers: dict[str, str],
) -> None:
    with pytest.raises(ms.ConfigError, match="headers"):
        PrometheusSource("http://127.0.0.1:9", headers=headers)


def test_basic_auth_outside_latin_1_is_refused_when_the_source_is_made() -> None:
    with pytest.raises(ms.ConfigError, match=r"basic_auth.*latin-1"):
        PrometheusSource("http://127.0.0.1:9", basic_auth=("ann", "p\u2026ss"))


def test_headers_that_can_be_sent_are_sent_as_given(scripted: Scripted) -> None:
    scripted.answer(_vector("0.25"))
    out = _fetch(scripted.url, bearer_token="a.b-c_d~e+f/g=", headers={"X-Team": "\u00e9quipe a"})
    assert isinstance(out, Samples)
    headers = scripted.seen[0]["headers"]
    assert headers["Authorization"] == "Bearer a.b-c_d~e+f/g="
    assert headers["X-Team"] == "\u00e9quipe a"


@pytest.mark.parametrize("header", [("X-Team", "\u00e9quipe\u2013a"), ("X-Team", "a\nb")], ids=repr)
def test_a_session_header_that_cannot_be_sent_is_a_config_error_not_an_outage(
    scripted: Scripted, header: tuple[str, str]
) -> None:
    scripted.answer(_vector("0.25"))
    session = requests.Session()
    session.headers[header[0]] = header[1]

    with pytest.raises(ms.ConfigError, match="cannot be sent"):
        _fetch(scripted.url, session=session)
    assert scripted.seen == []


def test_a_label_value_with_a_lone_surrogate_is_refused_when_the_source_is_made() -> None:
    with pytest.raises(ms.ConfigError, match=r"labels.*UTF-8"):
        PrometheusSource("http://127.0.0.1:9", labels={"model": "fraud\udcff"})


def test_a_slot_with_a_lone_surrogate_is_a_config_error_before_any_request(
    scripted: Scripted,
) -> None:
    scripted.answer(_vector("0.25"))
    source = PrometheusSource(scripted.url)
    with pytest.raises(ms.ConfigError, match=r"slot.*UTF-8"):
        source.fetch("request_rate", slot="can\udcffary", stat="mean", start=AT - 60, end=AT)
    assert scripted.seen == []


# --- defect 10: $slot is escaped, against a real Prometheus --------------------------------


INJECTION = 'x"}) or vector(42) or sum(nothing{a="'


def test_a_slot_with_quotes_cannot_add_to_the_query(prometheus: Prometheus) -> None:
    source = PrometheusSource(
        prometheus.url, queries={("x", "mean"): 'sum(nothing{deployment="$slot"})'}
    )
    now = time.time()
    out = source.fetch("x", slot=INJECTION, stat="mean", start=now - 60, end=now)
    assert isinstance(out, NoData)  # no series has that deployment; never 42


@pytest.mark.parametrize(
    "slot", [INJECTION, 'can"ary', "c\\d", "a\\nb", "a\nb", "\\", "a\ufffdb"], ids=repr
)
def test_prometheus_reads_back_exactly_the_slot_substituted_for_dollar_slot(
    prometheus: Prometheus, slot: str
) -> None:
    source = PrometheusSource(
        prometheus.url, queries={("x", "mean"): 'label_replace(vector(1), "v", "$slot", "", "")'}
    )
    answer = source.query(source.render("x", "mean", slot=slot, window=60.0), at=time.time())
    assert isinstance(answer, dict), answer
    assert answer["result"][0]["metric"]["v"] == slot


# --- defect 11: only points inside the window asked for ----------------------------------------


def test_an_instant_answer_from_an_hour_ago_is_no_data_with_a_warning(scripted: Scripted) -> None:
    scripted.answer(_vector("0.9", at=AT - 3600.0))
    out = _fetch(scripted.url)
    assert isinstance(out, NoData)
    assert "outside the window" in out.reason
    assert any("1 of 1 points" in warning for warning in out.warnings)


def test_range_points_outside_the_window_are_left_out_with_a_warning(scripted: Scripted) -> None:
    stale = [[AT - 86400.0 + 10 * i, "0.9"] for i in range(3)]
    fresh = [[AT - 20.0, "0.1"], [AT - 10.0, "0.2"], [AT, "0.3"]]
    future = [[AT + 3600.0, "0.9"]]
    scripted.answer(
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [{"metric": {}, "values": stale + fresh + future}],
            },
        }
    )
    source = PrometheusSource(scripted.url)
    out = source.fetch_series(
        "inference_latency_seconds", slot="canary", start=AT - 30, end=AT, stat="p95", step=10.0
    )
    assert isinstance(out, Samples)
    assert out.timestamps.tolist() == [AT - 20.0, AT - 10.0, AT]
    assert out.values.tolist() == [0.1, 0.2, 0.3]
    assert any("4 of 7 points" in warning for warning in out.warnings)


# --- defect 17: arguments refused before any request -------------------------------------------


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (
            lambda s: s.fetch_series("m", slot="c", start=math.nan, end=AT, stat="mean", step=1.0),
            "start",
        ),
        (
            lambda s: s.fetch_series("m", slot="c", start=0.0, end=math.inf, stat="mean", step=1.0),
            "end",
        ),
        (
            lambda s: s.fetch_series("m", slot="c", start=AT, end=AT - 1, stat="mean", step=1.0),
            "window",
        ),
        (
            lambda s: s.fetch_series("m", slot="c", start=AT - 5, end=AT, stat="mean", step=10.0),
            "step",
        ),
        (lambda s: s.query("up", at="x"), "at"),
        (lambda s: s.query("up", at=math.nan), "at"),
        (lambda s: s.query_range("up", start=0.0, end=10.0, step=0.0), "step"),
        (lambda s: s.query_range("up", start=10.0, end=0.0, step=1.0), "window"),
        (lambda s: s.fetch("m", slot="c", start=math.nan, end=AT), "start"),
    ],
    ids=[
        "fetch_series(start=nan)",
        "fetch_series(end=inf)",
        "fetch_series(end<start)",
        "fetch_series(step>window)",
        "query(at='x')",
        "query(at=nan)",
        "query_range(step=0)",
        "query_range(end<start)",
        "fetch(start=nan)",
    ],
)
def test_a_bad_time_is_a_config_error_naming_it_before_any_request(
    scripted: Scripted, call: Callable[[PrometheusSource], object], parameter: str
) -> None:
    scripted.answer(_vector("0.25"))
    source = PrometheusSource(scripted.url, queries=QUERIES)
    with pytest.raises(ms.ConfigError, match=parameter):
        call(source)
    assert scripted.seen == []


def test_a_query_for_a_statistic_no_condition_reads_is_refused_when_made() -> None:
    with pytest.raises(ms.ConfigError, match="'avg'"):
        PrometheusSource("http://127.0.0.1:9", queries={("m", "avg"): "m{$selector}"})


@pytest.mark.parametrize("slots", [5, ["canary"], {"canary": 2}, {"": "2"}], ids=repr)
def test_drift_source_slots_that_are_not_names_to_versions_are_refused(slots: object) -> None:
    with pytest.raises(ms.ConfigError, match="slots"):
        DriftSource(slots=slots)  # type: ignore[arg-type]


# --- defect 15: DriftSource options checked when it is made --------------------------------------


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"alhpa": 0.01}, "alhpa"),
        ({"kinds": {}}, "kinds"),  # DataDrift's only: the prediction windows would fail
        ({"alpha": "0.01"}, "alpha"),
        ({"drift_share": 2.0}, "drift_share"),
        (["alpha"], "options"),
    ],
    ids=repr,
)
def test_drift_options_the_checks_refuse_are_refused_when_the_source_is_made(
    options: object, says: str
) -> None:
    with pytest.raises(ms.ConfigError, match=says):
        DriftSource(now=100.0, options=options)  # type: ignore[arg-type]


def test_drift_options_both_checks_take_are_used_for_each_window() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    train = rng.normal(size=(500, 2))
    rows = [
        {"request_id": str(i), "timestamp": 50.0, "version": "1", "inputs": x.tolist()}
        for i, x in enumerate(rng.normal(1.0, 1.0, size=(200, 2)))
    ]
    src = DriftSource(now=100.0, options={"alpha": 0.01})
    src.set_profiles("1", features=ms.checks.DriftProfile.from_data(train))
    src.add_predictions([{**row, "output": 0.0} for row in rows])

    result = src.check("features", version="1", start=0.0, end=100.0)
    assert result is not None
    assert result.details["alpha"] == 0.01
