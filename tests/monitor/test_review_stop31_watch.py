"""``modelship monitor watch`` never says "ok" about a slot it could not judge.

A run in which every evaluation was an error (Prometheus unreachable), without data (no
series for the slot) or inconclusive exits 2 with an ``error`` event; one judged
evaluation is enough for the usual exit codes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from modelship.cli import main

ERROR_RATE = "error_rate > 1%"
SHORT = ["--interval", "0.1", "--duration", "0.3", "--timeout", "2"]


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


#: Answers a Prometheus query (the form's ``query`` and ``time``): status and JSON body.
Answer = Callable[[str, float], tuple[int, dict[str, object]]]


class FakePrometheus:
    """``/api/v1/query`` on 127.0.0.1, answering each query as ``answer`` says."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.queries = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                answer = fake.answers[min(fake.queries, len(fake.answers) - 1)]
                fake.queries += 1
                status, doc = answer(form["query"][0], float(form["time"][0]))
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    yield fake
    fake.close()


def unavailable(query: str, at: float) -> tuple[int, dict[str, object]]:
    return 503, {"status": "error", "errorType": "unavailable", "error": "down for upgrade"}


def no_series(query: str, at: float) -> tuple[int, dict[str, object]]:
    return 200, {"status": "success", "data": {"resultType": "vector", "result": []}}


def no_errors_in_100_requests(query: str, at: float) -> tuple[int, dict[str, object]]:
    value = "100" if query.startswith("sum(increase(") else "0"  # the request count, the rate
    result = [{"metric": {}, "value": [at, value]}]
    return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


def test_watch_of_a_prometheus_never_reached_exits_2_saying_nothing_was_judged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["monitor", "watch", "http://127.0.0.1:1", "--slot", "green", "-c", ERROR_RATE, *SHORT]
    )

    captured = capsys.readouterr()
    printed = lines(captured.out)
    evaluations, last = printed[:-1], printed[-1]
    assert code == 2
    assert evaluations
    assert {e["verdict"] for e in evaluations} == {"error"}
    assert {e["action"] for e in evaluations} == {"hold"}  # within the error limit
    assert last["event"] == "error"
    assert last["alias"] is None
    assert last["reason"] == evaluations[-1]["reason"]
    message = str(last["message"])
    errors = f"{len(evaluations)} error{'' if len(evaluations) == 1 else 's'}"
    assert message.startswith(f"no evaluation judged the slot green: {errors}, 0 without data")
    assert "; last error: mean(error_rate) > 0.01: green: connection: cannot reach " in message
    assert "http://127.0.0.1:1" in message
    assert f"modelship monitor: {message}" in captured.err


def test_watch_of_a_slot_without_series_exits_2(
    prometheus: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    prometheus.answers = [no_series]

    code = main(["monitor", "watch", prometheus.url, "--slot", "nosuch", "-c", ERROR_RATE, *SHORT])

    printed = lines(capsys.readouterr().out)
    assert code == 2
    assert {p["verdict"] for p in printed[:-1]} == {"no_data"}
    assert printed[-1]["event"] == "error"
    message = str(printed[-1]["message"])
    assert message.startswith(
        f"no evaluation judged the slot nosuch: 0 errors, {len(printed) - 1} without data;"
    )
    assert "last error" not in message


def test_watch_with_one_judged_evaluation_exits_0_after_earlier_errors(
    prometheus: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    prometheus.answers = [unavailable, no_errors_in_100_requests]

    code = main(["monitor", "watch", prometheus.url, "--slot", "green", "-c", ERROR_RATE, *SHORT])

    printed = lines(capsys.readouterr().out)
    assert code == 0
    assert printed[0]["verdict"] == "error"
    assert "pass" in {p["verdict"] for p in printed}
    assert not any("event" in p for p in printed)
