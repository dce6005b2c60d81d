"""One rule for "a number written in ASCII digits": ``modelship._shown.ascii_digits``.

``str.isdigit()`` is True for "²", "³" and "¹" (Latin-1, which HTTP headers decode to) and
for the digits of other scripts, and ``int("²")`` raises ValueError: text read from outside
(a header, a URL's port, a /proc entry, a probe's output) is tested with the one helper.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.cli import main
from modelship.monitor import NoData, PrometheusSource, SourceError
from modelship.monitor._prometheus import MAX_ANSWER_BYTES

_EMPTY = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})


class _Answer:
    """What the server below answers: a body and the Content-Length header it declares."""

    def __init__(self) -> None:
        self.body = _EMPTY.encode()
        self.length = "\u00b2"  # "²": a digit to str.isdigit(), not to int()


@pytest.fixture
def answer() -> Iterator[tuple[_Answer, str]]:
    """A real HTTP server on 127.0.0.1 answering every POST with :class:`_Answer`; the
    connection is closed after the body (the declared length frames nothing)."""
    script = _Answer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", script.length)
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may refuse it unread
                self.wfile.write(script.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _fetch(url: str) -> object:
    with PrometheusSource(url, timeout=10) as source:
        end = source.now()
        return source.fetch("inference_latency_seconds", slot="canary", start=end - 60, end=end)


def test_prometheus_answer_declaring_a_superscript_content_length_is_read_as_undeclared(
    answer: tuple[_Answer, str],
) -> None:
    _, url = answer
    outcome = _fetch(url)
    assert isinstance(outcome, NoData)  # the body was read and understood: no ValueError


def test_prometheus_answer_declaring_a_superscript_content_length_still_has_the_byte_cap(
    answer: tuple[_Answer, str],
) -> None:
    script, url = answer
    script.body = b" " * (MAX_ANSWER_BYTES + 1)
    outcome = _fetch(url)
    assert isinstance(outcome, SourceError)
    assert outcome.error_type == "bad_response"
    assert "MAX_ANSWER_BYTES" in outcome.message


def test_prometheus_answer_declaring_ascii_digits_past_the_cap_is_refused_unread(
    answer: tuple[_Answer, str],
) -> None:
    script, url = answer
    script.length = str(MAX_ANSWER_BYTES + 1)
    outcome = _fetch(url)
    assert isinstance(outcome, SourceError)
    assert outcome.error_type == "bad_response"
    assert "MAX_ANSWER_BYTES" in outcome.message


@pytest.mark.parametrize(
    ("length", "above_the_cap"),
    [("9" * 5000, True), ("0" * 5000 + "5", False), ("0" * 5000, False)],
    ids=["5000 nines", "5000 zeros then 5", "5000 zeros"],
)
def test_prometheus_answer_declaring_thousands_of_digits_is_no_valueerror(
    answer: tuple[_Answer, str], length: str, above_the_cap: bool
) -> None:
    # int() refuses more than 4,300 digits: the length is bounded before it is read.
    script, url = answer
    script.length = length
    outcome = _fetch(url)
    if above_the_cap:  # a number of 5,000 digits is above the cap: refused unread
        assert isinstance(outcome, SourceError), outcome
        assert outcome.error_type == "bad_response"
        assert "MAX_ANSWER_BYTES" in outcome.message
        assert len(outcome.message) < 400
    else:  # a small number written with leading zeros: the answer is read
        assert not isinstance(outcome, SourceError) or "MAX_ANSWER_BYTES" not in (
            outcome.message
        ), outcome


def test_ascii_number_bounds_the_digits_before_int() -> None:
    from modelship._shown import ascii_number

    assert ascii_number("0042", 2) == 42
    assert ascii_number("9" * 5000, 10) is None
    assert ascii_number("0" * 5000 + "12", 2) == 12
    assert ascii_number("\u00b2", 5) is None
    assert ascii_number("", 5) is None


def test_cli_error_hides_a_password_after_a_superscript_that_is_no_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "ci:²/K7/bP@host": after the ":" comes no port, so the "@" after several "/" ends the
    # user information (as an AWS secret key with "/" in it does), and it is not shown.
    assert main(["registry", "models", "nosuch://ci:\u00b2/K7/bP@host/r"]) == 2
    err = capsys.readouterr().err
    assert "nosuch://***@host/r" in err
    assert "K7" not in err


def test_cli_error_keeps_a_real_port_and_a_path_with_an_at_sign(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["registry", "models", "nosuch://host:8443/models/fraud@v2"]) == 2
    assert "nosuch://host:8443/models/fraud@v2" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["0", "7", "0042", "8443", "1" * 5000])
def test_ascii_digits_takes_ascii_digits(text: str) -> None:
    from modelship._shown import ascii_digits

    assert ascii_digits(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\u00b2",
        "\u00b3",
        "\u00b9",
        "1\u00b2",
        "\u0663",
        "\uff11",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1.5",
        "0x1",
        "1_000",
    ],
)
def test_ascii_digits_refuses_everything_else(text: str) -> None:
    from modelship._shown import ascii_digits

    assert not ascii_digits(text)


@given(st.text())
def test_ascii_digits_is_exactly_what_int_reads_as_plain_digits(text: str) -> None:
    from modelship._shown import ascii_digits

    assert ascii_digits(text) == bool(re.fullmatch(r"[0-9]+", text))
    if ascii_digits(text) and len(text) < 4000:
        assert int(text) >= 0
