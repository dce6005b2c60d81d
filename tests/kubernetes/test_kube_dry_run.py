"""Server-side dry runs on the fake: the server's defaulted objects back, nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from _kube_helpers import NS, write

import modelship as ms
from modelship.deploy import DeploymentSpec, KubernetesDeployer
from modelship.deploy._cli import main
from modelship.deploy.kubernetes import dry_run
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]


def stored(kube: FakeKube) -> list[tuple[str, str]]:
    return [
        (plural, o["metadata"]["name"])
        for plural in ("deployments", "services", "podmonitors")
        for o in kube.list(plural, NS)
    ]


def test_a_server_side_dry_run_prints_the_defaulted_objects_and_stores_nothing(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer(pod_monitor=True)
    text = dry_run("fraud", "2", spec, slot="green", deployer=dep, server_side=True)
    objects = list(yaml.safe_load_all(text))
    # The app's Service as it is once the slot has all the traffic: the deployment applies
    # it too (set_traffic), so the server checks it as well.
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Deployment", "fraud-green"),
        ("Service", "fraud-green"),
        ("Service", "fraud"),
        ("PodMonitor", "fraud"),
    ]
    deployment, service, _, _ = objects
    assert deployment["spec"]["progressDeadlineSeconds"] == 600  # the server's defaults
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert service["spec"]["type"] == "ClusterIP"
    # As the real server answers: the fields our manager would own, by an Apply.
    for obj in objects:
        (entry,) = obj["metadata"]["managedFields"]
        assert (entry["manager"], entry["operation"]) == ("modelship", "Apply")
        assert "f:spec" in entry["fieldsV1"]
    assert "f:replicas" in deployment["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    patches = [r for r in kube.requests if r.method == "PATCH"]
    assert len(patches) == 4
    assert all(r.query.get("dryRun") == "All" for r in patches)
    assert kube.writes() == []
    assert stored(kube) == []


def test_a_client_side_dry_run_contacts_no_server(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    text = dry_run("fraud", "2", spec, slot="green", deployer=make_deployer())
    assert [o["kind"] for o in yaml.safe_load_all(text)] == ["Deployment", "Service", "Service"]
    assert kube.requests == []


def test_a_server_side_dry_run_needs_a_deployer() -> None:
    with pytest.raises(ConfigError, match="deployer="):
        dry_run("fraud", "2", image="m:1", registry_url="s3://m", server_side=True)


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for payload in (b"one", b"two"):
        reg.register(model_name="fraud", model=payload, serializer="bytes")
    return url


def kubeconfig_for(kube: FakeKube, path: Path) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": kube.url}}],
        "users": [{"name": "me", "user": {}}],
        "contexts": [{"name": "fake-ctx", "context": {"cluster": "fake", "user": "me"}}],
        "current-context": "fake-ctx",
    }
    return write(path, yaml.safe_dump(doc))


def test_the_cli_dry_run_on_the_server_prints_what_it_would_store(
    kube: FakeKube, registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = kubeconfig_for(kube, tmp_path / "config")
    argv = ["apply", registry, "fraud", "2", "--dry-run=server", "--kubeconfig", str(config)]
    argv += ["--context", "fake-ctx", "--image", "ai-model:2", "--namespace", NS]
    assert main(argv) == 0
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [o["kind"] for o in objects] == ["Deployment", "Service", "Service"]
    assert objects[0]["spec"]["progressDeadlineSeconds"] == 600
    assert objects[0]["spec"]["template"]["spec"]["containers"][0]["args"][1:4] == [
        registry,
        "fraud",
        "2",
    ]
    # Every write is a dry run (the reads of what is live, for replicas, are not writes).
    assert {r.query.get("dryRun") for r in kube.requests if r.method != "GET"} == {"All"}
    assert stored(kube) == []
    assert ms.open_registry(registry).aliases("fraud") == {}


def test_the_cli_dry_run_with_an_unusable_kubeconfig_exits_2_saying_so(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    write(config, yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": []}))
    argv = ["apply", registry, "fraud", "2", "--dry-run=server", "--kubeconfig", str(config)]
    assert main([*argv, "--image", "ai-model:2"]) == 2
    err = capsys.readouterr().err
    assert "ConfigError" in err
    assert str(config) in err


def test_the_cli_dry_run_is_client_side_by_default(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", registry, "fraud", "2", "--dry-run", "--image", "ai-model:2"]) == 0
    assert "progressDeadlineSeconds" not in capsys.readouterr().out
