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


def test_watch_and_deploy_rollback_agree_that_an_undone_spec_change_condemns_no_version() -> None:
    # A rolled-back spec change of version 1 (its previous version was 1 too) condemns
    # the spec, not the version: `monitor watch --registry` refused to move the alias back
    # to the healthy version 1, where `deploy rollback` moved it.
    from datetime import datetime, timezone

    import modelship as ms
    from modelship.deploy._history import RegistryHistory
    from modelship.deploy._record import RolloutRecord
    from modelship.deploy._rollout import RolloutStatus, condemning_rollout
    from modelship.monitor._cli import _rolled_back_since_success

    reg = ms.open_registry("memory://review37-watch-condemned")
    v1 = reg.register(model_name="fraud", model=b"w1", serializer="bytes").version
    v2 = reg.register(model_name="fraud", model=b"w2", serializer="bytes").version
    history = RegistryHistory(reg)
    for n, version, status, previous in [
        (1, v1, RolloutStatus.SUCCEEDED, None),
        (2, v1, RolloutStatus.ROLLED_BACK, v1),
        (3, v2, RolloutStatus.SUCCEEDED, v1),
    ]:
        history.save(
            RolloutRecord(
                id=f"r{n}",
                model="fraud",
                version=version,
                strategy="blue-green",
                status=status,
                slot="blue",
                previous_version=previous,
                previous_slot="green",
                started_at=datetime(2026, 1, 1, n, tzinfo=timezone.utc),
            )
        )
    assert condemning_rollout(history.records("fraud"), v1) is None
    assert _rolled_back_since_success(reg, "fraud", v1, alias="production") is None


@pytest.mark.parametrize(
    "given",
    [
        {"url": "http://admin:s3cret@prom:9090/ x"},
        {"url": "ftp://admin:s3cret@prom:9090"},
        {"url": "http://p:9090", "bearer_token": "s3cret-token\n"},
        {"url": "http://p:9090", "headers": {"X-Api-Key": "s3cret\n"}},
        {"url": "http://p:9090", "basic_auth": ("u", "s3cret\u2026")},
    ],
)
def test_a_refused_credential_is_never_shown(given: dict[str, object]) -> None:
    # validate_params echoed the URL with its password, and the token or header value.
    with pytest.raises(ConfigError) as err:
        PrometheusSource(**given)  # type: ignore[arg-type]
    assert "s3cret" not in str(err.value)
