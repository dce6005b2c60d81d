"""Retries with backoff on 409, 429, 5xx, timeouts and dropped connections; redaction."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable

import pytest

from modelship.deploy import BlueGreen, InMemoryHistory, KubernetesDeployer, RolloutAborted
from modelship.deploy.kubernetes import KubernetesError, Retry
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]
TOKEN = "s3cret-Token.abc123"


def patches(kube: FakeKube) -> list[int]:
    return [r.status for r in kube.requests if r.method == "PATCH"]


@pytest.mark.parametrize("status", [409, 429, 500, 502, 503, 504])
def test_a_transient_error_is_retried_until_it_passes(
    kube: FakeKube, make_deployer: Make, status: int
) -> None:
    kube.inject(Fault("PATCH", "/deployments/", status=status, times=2))
    make_deployer().apply("blue", "fraud", "1")
    assert patches(kube)[:3] == [status, status, 201]  # created by the apply
    assert kube.get("deployments", "models", "fraud-blue") is not None


@pytest.mark.parametrize("kind", [FaultKind.TIMEOUT, FaultKind.DROP])
def test_a_timeout_or_dropped_connection_is_retried(
    kube: FakeKube, make_deployer: Make, kind: FaultKind
) -> None:
    kube.inject(Fault("PATCH", "/deployments/", kind=kind, delay=3.0, times=1))
    make_deployer(request_timeout=0.5).apply("blue", "fraud", "1")
    assert patches(kube)[:2] == [0, 201]


def test_retries_are_bounded_and_the_last_error_is_reported(
    kube: FakeKube, make_deployer: Make
) -> None:
    kube.inject(Fault("PATCH", "/deployments/", status=503, times=None))
    dep = make_deployer(retry=Retry(attempts=3, base=0.001, cap=0.001))
    with pytest.raises(
        KubernetesError, match=r"503 ServiceUnavailable: injected fault.*3 attempts"
    ) as info:
        dep.apply("blue", "fraud", "1")
    assert info.value.status == 503
    assert patches(kube) == [503, 503, 503]


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_a_client_error_is_not_retried(kube: FakeKube, make_deployer: Make, status: int) -> None:
    kube.inject(Fault("PATCH", "/deployments/", status=status, times=None))
    with pytest.raises(KubernetesError) as info:
        make_deployer().apply("blue", "fraud", "1")
    assert info.value.status == status
    assert patches(kube) == [status]


def test_a_field_manager_conflict_is_not_retried_and_names_the_field(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1")
    obj = dep.render("fraud", "1", slot="blue")[0]
    obj["spec"]["replicas"] = 5
    with pytest.raises(
        KubernetesError, match=r'conflict with "modelship" using apps/v1: \.spec\.replicas'
    ):
        dep._client.request(
            "PATCH",
            dep._path("deployments", "fraud-blue"),
            query={"fieldManager": "someone-else"},
            body=obj,
            content_type="application/apply-patch+yaml",
        )
    assert patches(kube).count(409) == 1


def test_retry_after_of_a_429_is_honoured(make_deployer: Make, kube: FakeKube) -> None:
    slept: list[float] = []
    dep = make_deployer(retry=Retry(attempts=3, base=0.001, cap=2.0))
    dep._client._sleep = slept.append
    kube.inject(Fault("PATCH", "/deployments/", status=429, times=1))
    dep.apply("blue", "fraud", "1")
    assert slept == [1.0]  # the fake answers Retry-After: 1


def test_backoff_doubles_up_to_its_cap() -> None:
    retry = Retry(base=0.5, cap=3.0)
    assert [retry.delay(n, jitter=1.0) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert all(0.25 <= retry.delay(0) <= 0.5 for _ in range(50))


# --- redaction --------------------------------------------------------------------------------


@pytest.fixture
def secret_kube(kube: FakeKube) -> FakeKube:
    kube.tokens.add(TOKEN)
    return kube


def test_a_token_echoed_by_the_server_is_not_in_the_error(
    secret_kube: FakeKube, make_deployer: Make
) -> None:
    secret_kube.inject(
        Fault("PATCH", "/deployments/", status=500, times=None, echo_authorization=True)
    )
    dep = make_deployer(token=TOKEN, retry=Retry(attempts=2, base=0.001, cap=0.001))
    with pytest.raises(KubernetesError) as info:
        dep.apply("blue", "fraud", "1")
    text = "".join(traceback.format_exception(info.value))
    assert "injected fault" in text
    assert TOKEN not in text
    assert "abc123" not in text
    assert TOKEN not in repr(dep)


def test_a_token_is_not_in_any_log_record(
    secret_kube: FakeKube, make_deployer: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_kube.inject(
        Fault("PATCH", "/deployments/", status=500, times=1, echo_authorization=True)
    )
    dep = make_deployer(token=TOKEN)
    logging.getLogger("kubernetes.client.rest").setLevel(logging.DEBUG)
    dep.apply("blue", "fraud", "1")
    assert any("Authorization" in r.getMessage() for r in caplog.records), "the echo was logged"
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_a_token_is_not_in_the_rollout_record(secret_kube: FakeKube, make_deployer: Make) -> None:
    dep = make_deployer(token=TOKEN, retry=Retry(attempts=2, base=0.001, cap=0.001))
    secret_kube.inject(
        Fault("PATCH", "/deployments/", status=500, times=None, echo_authorization=True)
    )
    history = InMemoryHistory()
    with pytest.raises(RolloutAborted) as info:
        BlueGreen(dep, history=history, alias=None, progress_deadline=5).deploy("fraud", "1")
    record = json.dumps(info.value.rollout.to_dict())
    assert "injected fault" in record
    assert "Authorization" in record
    assert TOKEN not in record
