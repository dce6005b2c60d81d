"""The Kubernetes deployer and the fake API server, as a review reproduced their defects:
objects of another app taken over, the Lease under clock skew, splits that shrank the
stable slot, a failed write reported as done, waits past their deadline, credentials in
reprs, and a fake that accepted what an API server refuses."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.deploy import (
    Container,
    DeploymentSpec,
    KubernetesDeployer,
)
from modelship.deploy.kubernetes import KubernetesError
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]


@pytest.fixture
def make(make_deployer: Make) -> Make:
    """The conftest's deployers (fraud, s3://models, fast retries, 2 s requests)."""
    return make_deployer


def spec(replicas: int = 2) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)],
        replicas=replicas,
    )


def _replicas(kube: FakeKube, name: str) -> int:
    found = kube.get("deployments", NS, name)
    assert found is not None
    return int(found["spec"]["replicas"])


def _post(kube: FakeKube, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        kube.url + path,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- 1: one app never writes over another's objects --------------------------------------


def test_apply_refuses_to_take_over_a_slot_object_of_another_app(
    kube: FakeKube, make: Make
) -> None:
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "fraud-blue",
                "namespace": NS,
                "labels": {"app.kubernetes.io/instance": "scoring"},
            },
            "spec": {"ports": [{"port": 80}], "selector": {"app": "scoring"}},
        }
    )
    with pytest.raises(ConfigError, match=r"belongs to app 'scoring'.*not to app 'fraud'"):
        make().apply("blue", "fraud", "1", spec())
    svc = kube.get("services", NS, "fraud-blue")
    assert svc is not None
    assert svc["spec"]["selector"] == {"app": "scoring"}
    assert kube.get("deployments", NS, "fraud-blue") is None


def test_set_traffic_refuses_to_take_over_the_client_service_of_another_app(
    kube: FakeKube, make: Make
) -> None:
    dep = make()
    dep.apply("blue", "fraud", "1", spec())
    assert dep.wait_ready("blue", 10)
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "fraud",
                "namespace": NS,
                "labels": {"app.kubernetes.io/instance": "other"},
            },
            "spec": {"ports": [{"port": 80}], "selector": {"app": "other"}},
        }
    )
    with pytest.raises(ConfigError, match="belongs to app 'other'"):
        dep.set_traffic({"blue": 100})
    svc = kube.get("services", NS, "fraud")
    assert svc is not None
    assert svc["spec"]["selector"] == {"app": "other"}


# --- 2: the Lease under clock skew -----------------------------------------------------------


def test_a_machine_whose_clock_is_days_behind_refuses_the_lease_instead_of_stamping_it(
    kube: FakeKube, make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelship.deploy.kubernetes import _client as client_module

    real = client_module.datetime

    class TwoDaysBehind(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
            return real.now(tz) - timedelta(days=2)

    a, b = make(rollout_lease=60), make(rollout_lease=60)
    a._lease._now = lambda: real.now(timezone.utc) - timedelta(days=2)  # type: ignore[union-attr]
    with monkeypatch.context() as m:
        m.setattr(client_module, "datetime", TwoDaysBehind)
        with (
            pytest.raises(KubernetesError, match=r"48\.0 hours ahead of this machine's clock"),
            a.rollout_lock("A: deploy of fraud 2"),
        ):
            pass
    lease = kube.get("leases", NS, "fraud-rollout")
    assert lease is None or not lease["spec"].get("holderIdentity")  # never stamped by A
    with b.rollout_lock("B: deploy of fraud 3"):  # a machine with a right clock takes it
        lease = kube.get("leases", NS, "fraud-rollout")
        assert lease is not None
        renewed = datetime.strptime(lease["spec"]["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
        drift = renewed.replace(tzinfo=timezone.utc) - real.now(timezone.utc)
        assert abs(drift) < timedelta(minutes=1)


# --- 3: splits keep the stable slot at its spec's size ---------------------------------------


def _split(make: Make, kube: FakeKube, replicas: int, **options: Any) -> dict[str, int]:
    dep = make(**options)
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, spec(replicas))
        assert dep.wait_ready(slot, 10)
    dep.set_traffic({"blue": 100})
    dep.set_traffic({"blue": 90, "green": 10})
    return {s.slot: s.weight for s in dep.state().slots}


def test_a_split_never_shrinks_the_stable_slot_below_its_specs_replicas(
    kube: FakeKube, make: Make
) -> None:
    weights = _split(make, kube, 6, max_split_replicas=4)
    assert (_replicas(kube, "fraud-blue"), _replicas(kube, "fraud-green")) == (6, 1)
    assert weights == {"blue": 86, "green": 14}  # the closest 6 replicas allow


def test_a_split_scales_the_stable_slot_up_to_the_ratio_asked(kube: FakeKube, make: Make) -> None:
    weights = _split(make, kube, 2)
    assert (_replicas(kube, "fraud-blue"), _replicas(kube, "fraud-green")) == (9, 1)
    assert weights == {"blue": 90, "green": 10}


# --- 5: credentials in the server URL ---------------------------------------------------------


def test_the_password_of_the_server_url_is_not_in_the_repr(kube: FakeKube, make: Make) -> None:
    dep = make(server=kube.url.replace("http://", "http://ci:S3cretPass@"))
    assert "S3cretPass" not in repr(dep)
    assert "//<redacted>@" in repr(dep)


def test_the_password_of_a_refused_server_url_is_not_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        KubernetesDeployer("models", server="https://admin:S3cretPass@not a host")
    assert "S3cretPass" not in str(caught.value)


# --- 6: the fake refuses what an API server refuses ------------------------------------------


@pytest.mark.parametrize(
    ("plural", "api", "kind", "name"),
    [
        ("services", "/api/v1", "Service", "Bad_Name"),
        ("services", "/api/v1", "Service", "1starts-with-digit"),
        ("services", "/api/v1", "Service", "a" * 64),
        ("deployments", "/apis/apps/v1", "Deployment", "UPPER.case"),
        ("leases", "/apis/coordination.k8s.io/v1", "Lease", "x" * 254),
    ],
)
def test_the_fake_refuses_an_invalid_name_with_422(
    kube: FakeKube, plural: str, api: str, kind: str, name: str
) -> None:
    version = "v1" if api == "/api/v1" else api.split("/", 2)[-1]
    body: dict[str, Any] = {
        "apiVersion": version,
        "kind": kind,
        "metadata": {"name": name, "namespace": NS},
    }
    if kind == "Service":
        body["spec"] = {"ports": [{"port": 80}]}
    code, status = _post(kube, f"{api}/namespaces/{NS}/{plural}", body)
    assert (code, status["reason"]) == (422, "Invalid")
    assert "metadata.name: Invalid value" in status["message"]


def test_the_fake_accepts_a_dotted_deployment_name_and_a_long_one(kube: FakeKube) -> None:
    for name in ("a.b-c", "x" * 253):
        code, _ = _post(
            kube,
            f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases",
            {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name}},
        )
        assert code == 201


def test_the_fake_refuses_a_deployment_without_selector_or_template(kube: FakeKube) -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "broken"}}
    code, status = _post(kube, f"/apis/apps/v1/namespaces/{NS}/deployments", body)
    assert (code, status["reason"]) == (422, "Invalid")
    assert "spec.selector: Required value" in status["message"]
    assert "spec.template.spec.containers: Required value" in status["message"]


def test_the_fake_controller_keeps_running_past_an_object_it_cannot_handle(
    kube: FakeKube, make: Make
) -> None:
    with kube.store.lock:  # as if a test wrote it straight into the store
        kube.store.objects[("deployments", NS, "broken")] = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "broken", "namespace": NS, "uid": "u", "resourceVersion": "1"},
            "spec": {},
        }
    time.sleep(0.2)
    dep = make()
    dep.apply("blue", "fraud", "1", spec())
    assert dep.wait_ready("blue", 10)
    assert any(t.is_alive() for t in threading.enumerate() if "ctl" in t.name)


# --- 8 and 9: specific errors at the call ----------------------------------------------------


@pytest.mark.parametrize("timeout", ["5", None, float("nan")])
def test_wait_ready_refuses_a_timeout_that_is_not_seconds(make: Make, timeout: Any) -> None:
    with pytest.raises(ConfigError, match="timeout must be a number of seconds"):
        make().wait_ready("blue", timeout)


@pytest.mark.parametrize("holder", [None, "", 5])
def test_rollout_lock_refuses_a_holder_that_is_not_text(make: Make, holder: Any) -> None:
    with pytest.raises(ConfigError, match="holder must be a non-empty string"):
        make().rollout_lock(holder)


def test_apply_refuses_a_version_of_none_before_writing(kube: FakeKube, make: Make) -> None:
    with pytest.raises(ConfigError, match="version must be"):
        make().apply("blue", "fraud", None, spec())  # type: ignore[arg-type]
    assert kube.get("deployments", NS, "fraud-blue") is None


def test_apply_refuses_a_spec_that_is_not_a_deployment_spec(make: Make) -> None:
    with pytest.raises(ConfigError, match="spec must be a DeploymentSpec"):
        make().apply("blue", "fraud", "1", "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("server", "", "server must be"),
        ("server", "not a url", "server must be"),
        ("server", "ftp://127.0.0.1:1", "server must be"),
        ("server", 123, "server must be"),
        ("token", 123, "token must be"),
        ("verify_ssl", "no", "verify_ssl must be"),
        ("spec", "x", "spec must be a DeploymentSpec"),
        ("ca_cert", "/nonexistent/ca.pem", "ca_cert '/nonexistent/ca.pem' is not a file"),
    ],
)
def test_the_constructor_refuses_unusable_connection_settings(
    setting: str, value: Any, named: str
) -> None:
    options: dict[str, Any] = {"server": "https://127.0.0.1:1", setting: value}
    with pytest.raises(ConfigError, match=named):
        KubernetesDeployer("models", image="m:1", registry_url="s3://m", **options)


def test_the_constructor_accepts_an_existing_ca_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    KubernetesDeployer("models", server="https://127.0.0.1:1", ca_cert=ca).close()


# --- 10: a failed Service write between two splits -------------------------------------------


def test_a_failed_write_between_two_splits_is_reported(kube: FakeKube, make: Make) -> None:
    dep = make()
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, spec())
        assert dep.wait_ready(slot, 10)
    dep.set_traffic({"blue": 90, "green": 10})
    kube.inject(Fault("PATCH", r"/services/fraud$", status=500, times=None))
    with pytest.raises(KubernetesError, match="500"):
        dep.set_traffic({"blue": 50, "green": 50})
    svc = kube.get("services", NS, "fraud")
    assert svc is not None
    assert json.loads(svc["metadata"]["annotations"]["modelship.io/weights"]) == {
        "blue": 90,
        "green": 10,
    }


# --- 11: wait_ready within its timeout -------------------------------------------------------


def test_wait_ready_returns_near_its_deadline_when_the_server_hangs(
    kube: FakeKube, make: Make
) -> None:
    dep = make(request_timeout=20.0)
    dep.apply("blue", "fraud", "1", spec())
    assert dep.wait_ready("blue", 10)
    kube.inject(Fault("GET", r"/deployments", kind=FaultKind.TIMEOUT, delay=40, times=None))
    started = time.monotonic()
    assert dep.wait_ready("blue", 1) is False
    # The request timeout (20 s) is not waited out: ~1 s here, with room for a busy machine.
    assert time.monotonic() - started < 10.0
