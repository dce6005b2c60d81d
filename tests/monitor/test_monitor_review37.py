"""Stop 37: a canary of weights summing to 0, and a Prometheus timeout too long for a socket."""

from __future__ import annotations

import pytest

from modelship.errors import ConfigError
from modelship.monitor import MetricJudgement, PrometheusSource
from modelship.monitor._canary import combine


def _judged(metric: str, verdict: str, weight: float) -> MetricJudgement:
    return MetricJudgement(metric, verdict, "", None, 9, 9, weight, False)  # type: ignore[arg-type]


def test_weights_summing_to_zero_are_a_config_error_not_a_zero_division() -> None:
    with pytest.raises(ConfigError, match="weights sum to 0"):
        combine([_judged("a", "pass", 0.0), _judged("b", "fail", 0.0)])


def test_a_zero_weight_beside_a_positive_one_still_scores() -> None:
    report = combine([_judged("a", "pass", 0.0), _judged("b", "pass", 1.0)])
    assert report.score == 100.0


@pytest.mark.parametrize("timeout", [1e10, 2.0**31])
def test_a_timeout_longer_than_a_socket_takes_is_refused_when_the_source_is_made(
    timeout: float,
) -> None:
    # 1e10 s reached the socket and raised an untyped OverflowError at the first fetch.
    with pytest.raises(ConfigError, match="timeout"):
        PrometheusSource("http://127.0.0.1:9", timeout=timeout)


def test_the_longest_timeout_allowed_is_accepted() -> None:
    assert PrometheusSource("http://127.0.0.1:9", timeout=2**31 - 1).timeout == 2**31 - 1


def _unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_password_in_the_url_is_not_shown_in_a_source_error() -> None:
    # requests sends a URL's user information as basic auth: a supported setup, whose
    # password reached every SourceError (and from there gate reasons and histories).
    src = PrometheusSource(f"http://admin:hunter2@127.0.0.1:{_unused_port()}", timeout=2)
    out = src.query("up", at=1.0)
    assert out.error_type == "connection"  # type: ignore[union-attr]
    assert "hunter2" not in out.message  # type: ignore[union-attr]
    assert "127.0.0.1" in out.message  # type: ignore[union-attr]


def test_a_password_in_a_refused_url_is_not_shown() -> None:
    with pytest.raises(ConfigError, match="port 0") as err:
        PrometheusSource("http://admin:hunter2@127.0.0.1:0")
    assert "hunter2" not in str(err.value)


def test_a_client_certificate_that_is_a_folder_is_refused_when_made(tmp_path: object) -> None:
    # Accepted before, then every query failed as a "connection" outage.
    with pytest.raises(ConfigError, match="not a file"):
        PrometheusSource("http://127.0.0.1:9", cert=str(tmp_path))


def test_a_ca_folder_is_still_accepted_for_verify(tmp_path: object) -> None:
    assert PrometheusSource("https://127.0.0.1:9", verify=str(tmp_path)).url
