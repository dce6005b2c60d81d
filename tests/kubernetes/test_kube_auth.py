"""Credentials through the official client, against the fake serving TLS with its own CA."""

from __future__ import annotations

import base64
import datetime
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from _kube_helpers import FAST, NS, write

from modelship.deploy import KubernetesDeployer
from modelship.deploy.kubernetes import KubernetesError, Retry
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube, TestPKI, make_pki

_timedelta = datetime.timedelta


@pytest.fixture
def tls_kube(pki: TestPKI) -> Iterator[FakeKube]:
    with FakeKube(pki=pki, timings=FAST) as fake:
        yield fake


def kubeconfig(path: Path, server: str, ca: Path, user: dict[str, object]) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "fake",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": "me", "user": user}],
        "contexts": [{"name": "fake-ctx", "context": {"cluster": "fake", "user": "me"}}],
        "current-context": "fake-ctx",
    }
    return write(path, yaml.safe_dump(doc))


def deployer(**kwargs: object) -> KubernetesDeployer:
    return KubernetesDeployer(
        NS, image="m:1", registry_url="s3://m", app="fraud",
        retry=Retry(attempts=2, base=0.01, cap=0.01), request_timeout=5.0, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_kubeconfig_with_a_client_certificate(
    tls_kube: FakeKube, pki: TestPKI, tmp_path: Path
) -> None:
    user = {
        "client-certificate-data": base64.b64encode(pki.client_cert.read_bytes()).decode(),
        "client-key-data": base64.b64encode(pki.client_key.read_bytes()).decode(),
    }
    path = kubeconfig(tmp_path / "config", tls_kube.url, pki.ca_cert, user)
    with deployer(kubeconfig=path, context="fake-ctx") as dep:
        dep.apply("blue", "fraud", "1")
    assert {r.user for r in tls_kube.requests} == {"cert:modelship-test"}


def test_a_kubeconfig_with_an_exec_credential_plugin(
    tls_kube: FakeKube, pki: TestPKI, tmp_path: Path
) -> None:
    calls = tmp_path / "calls"
    plugin = write(
        tmp_path / "get_token.py",
        "import json, pathlib, sys\n"
        f"pathlib.Path({str(calls)!r}).open('a').write('x')\n"
        "json.dump({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',"
        " 'status': {'token': 'exec-token-0123456789'}}, sys.stdout)\n",
    )
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    tls_kube.tokens.add("exec-token-0123456789")
    path = kubeconfig(tmp_path / "config", tls_kube.url, pki.ca_cert, user)
    with deployer(kubeconfig=path) as dep:
        assert dep.state().slots == ()
    assert calls.read_text().startswith("x")
    assert {r.user for r in tls_kube.requests} == {"token:exec-t"}


@pytest.fixture
def in_cluster(
    tls_kube: FakeKube, pki: TestPKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "ca.crt").write_bytes(pki.ca_cert.read_bytes())
    (account / "token").write_text("first-token-abcdef")
    tls_kube.tokens.add("first-token-abcdef")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(tls_kube.port))
    return account


def test_the_in_cluster_account_is_used_with_neither_server_nor_kubeconfig(
    tls_kube: FakeKube, in_cluster: Path
) -> None:
    with deployer(service_account_dir=in_cluster) as dep:
        assert dep.state().slots == ()
    assert {r.user for r in tls_kube.requests} == {"token:first-"}


def test_a_rotated_in_cluster_token_is_read_again(
    tls_kube: FakeKube, in_cluster: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes.config import incluster_config

    with deployer(service_account_dir=in_cluster) as dep:
        dep.state()
        (in_cluster / "token").write_text("second-token-ghijkl")
        tls_kube.tokens.clear()
        tls_kube.tokens.add("second-token-ghijkl")  # the first one is revoked

        class Later(datetime.datetime):
            @classmethod
            def now(cls, tz: datetime.tzinfo | None = None) -> Later:  # type: ignore[override]
                return super().now(tz) + datetime.timedelta(minutes=2)  # type: ignore[return-value]

        class Clock:  # the client's module reads datetime.datetime.now() for its refresh
            datetime = Later
            timedelta = _timedelta

        monkeypatch.setattr(incluster_config, "datetime", Clock)
        dep.apply("blue", "fraud", "1")
    users = [r.user for r in tls_kube.requests]
    assert users[0] == "token:first-"
    assert users[-1] == "token:second"
    assert [r.status for r in tls_kube.requests if r.method == "PATCH"] == [201, 201]


def plain_kubeconfig(path: Path, server: str) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "me", "user": {"token": "default-config-token"}}],
        "contexts": [{"name": "fake-ctx", "context": {"cluster": "fake", "user": "me"}}],
        "current-context": "fake-ctx",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return write(path, yaml.safe_dump(doc))


@pytest.fixture
def outside_a_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No service account; HOME is an empty folder; returns the missing account dir."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "no-service-account"


def test_the_kubeconfig_named_by_the_kubeconfig_variable_is_the_fallback(
    kube: FakeKube, tmp_path: Path, outside_a_cluster: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube.tokens.add("default-config-token")
    missing = tmp_path / "missing"
    path = plain_kubeconfig(tmp_path / "elsewhere" / "config", kube.url)
    monkeypatch.setenv("KUBECONFIG", f"{missing}:{path}")  # set after the client's import
    with deployer(service_account_dir=outside_a_cluster) as dep:
        assert dep.state().slots == ()
    assert {r.user for r in kube.requests} == {"token:defaul"}


def test_the_kubeconfig_in_the_home_folder_is_the_last_fallback(
    kube: FakeKube, tmp_path: Path, outside_a_cluster: Path
) -> None:
    kube.tokens.add("default-config-token")
    plain_kubeconfig(tmp_path / "home" / ".kube" / "config", kube.url)
    with deployer(service_account_dir=outside_a_cluster) as dep:
        dep.apply("blue", "fraud", "1")
    assert {r.user for r in kube.requests} == {"token:defaul"}


def test_a_context_alone_picks_it_from_the_default_kubeconfig(
    kube: FakeKube, tmp_path: Path, outside_a_cluster: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube.tokens.add("default-config-token")
    monkeypatch.setenv("KUBECONFIG", str(plain_kubeconfig(tmp_path / "k" / "config", kube.url)))
    with deployer(context="fake-ctx", service_account_dir=outside_a_cluster) as dep:
        assert dep.state().slots == ()
    assert {r.user for r in kube.requests} == {"token:defaul"}


def test_no_credentials_at_all_is_a_config_error_at_first_use_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    dep = deployer(service_account_dir=tmp_path / "none")
    with pytest.raises(ConfigError, match="no Kubernetes credentials found"):
        dep.state()


def test_a_server_with_a_certificate_from_another_ca_is_refused_at_once(
    tls_kube: FakeKube, tmp_path: Path
) -> None:
    other = make_pki(tmp_path / "other")
    with (
        deployer(server=tls_kube.url, ca_cert=other.ca_cert) as dep,
        pytest.raises(KubernetesError, match=r"(?i)certificate"),
    ):
        dep.state()
    assert tls_kube.requests == []


def test_a_wrong_token_is_unauthorized(tls_kube: FakeKube, pki: TestPKI) -> None:
    tls_kube.tokens.add("the-right-token")
    with (
        deployer(server=tls_kube.url, token="a-wrong-token", ca_cert=pki.ca_cert) as dep,
        pytest.raises(KubernetesError, match="401 Unauthorized") as info,
    ):
        dep.state()
    assert "a-wrong-token" not in str(info.value)
    assert json.dumps([r.status for r in tls_kube.requests]) == "[401]"
