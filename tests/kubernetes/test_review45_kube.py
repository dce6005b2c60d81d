"""Review 45: a server-side dry run refuses what apply refuses, and shows what it applies;
the Kubernetes manifests refuse a registry path only this process can read."""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _kube_helpers import NS

import modelship as ms
from modelship.deploy import DeploymentSpec, KubernetesDeployer, SlotInUse
from modelship.deploy._cli import main
from modelship.deploy.kubernetes import dry_run, render
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]


def helm_service(name: str) -> dict[str, Any]:
    """A Helm release's Service named like one of modelship's objects."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {
                "app.kubernetes.io/instance": "other",
                "app.kubernetes.io/managed-by": "Helm",
            },
        },
        "spec": {"selector": {"app": "other"}, "ports": [{"port": 80}]},
    }


def dry_run_patches(kube: FakeKube) -> list[Any]:
    return [r for r in kube.requests if r.method == "PATCH" and r.query.get("dryRun") == "All"]


def test_a_server_dry_run_refuses_another_apps_slot_service_as_apply_does(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    kube.create(helm_service("fraud-blue"))
    dep = make_deployer()
    with pytest.raises(ConfigError, match="belongs to app 'other'") as dry:
        dep.server_dry_run("fraud", "1", spec, "blue")
    with pytest.raises(ConfigError) as applied:
        dep.apply("blue", "fraud", "1", spec)
    assert str(dry.value) == str(applied.value)
    assert [r for r in kube.requests if r.method == "PATCH"] == []
    stored = kube.get("services", NS, "fraud-blue")
    assert stored is not None
    assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_a_server_dry_run_into_a_slot_with_traffic_raises_slot_in_use_as_apply_does(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)
    dep.set_traffic({"blue": 100})
    with pytest.raises(SlotInUse, match="receives 100% of the traffic") as dry:
        dry_run("fraud", "2", spec, slot="blue", deployer=dep, server_side=True)
    with pytest.raises(SlotInUse) as applied:
        dep.apply("blue", "fraud", "2", spec)
    assert str(dry.value) == str(applied.value)
    assert dry_run_patches(kube) == []


def test_a_server_dry_run_refuses_another_apps_service_of_the_apps_name(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    # set_traffic would refuse to write it; the dry run shows it, so refuses it too.
    kube.create(helm_service("fraud"))
    with pytest.raises(ConfigError, match=r"Service 'fraud' in .* belongs to app 'other'"):
        make_deployer().server_dry_run("fraud", "1", spec, "blue")
    assert dry_run_patches(kube) == []


@pytest.mark.parametrize(
    "traffic",
    [{}, {"traffic": "httproute", "gateway": "public"}],
    ids=["service", "httproute"],
)
def test_every_dry_run_shows_the_objects_render_lists(
    make_deployer: Make, spec: DeploymentSpec, traffic: dict[str, str]
) -> None:
    dep = make_deployer(**traffic)
    options = {"namespace": NS, "app": "fraud", "registry_url": "s3://models", **traffic}
    expected = [
        (o["kind"], o["metadata"]["name"])
        for o in render("fraud", "2", spec, slot="green", **options)
    ]
    assert len(expected) == 3  # the slot's Deployment and Service, the app's Service or route
    answers = dep.server_dry_run("fraud", "2", spec, "green")
    assert [(o["kind"], o["metadata"]["name"]) for o in answers] == expected
    yaml = pytest.importorskip("yaml")
    for server_side in (False, True):
        text = dry_run("fraud", "2", spec, slot="green", deployer=dep, server_side=server_side)
        shown = [(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(text)]
        assert shown == expected


@pytest.fixture
def registry_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="fraud", model=functools.partial(np.sum, axis=1))
    return tmp_path / "reg"


def test_kubernetes_manifests_refuse_a_relative_registry_path(
    registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "./reg", "fraud", "1", "--dry-run", "--image", "ai-model:1"]) == 2
    captured = capsys.readouterr()
    assert "registry './reg' is a relative path, which the pods cannot read" in captured.err
    assert "s3://" in captured.err
    assert captured.out == ""


def test_kubernetes_manifests_take_an_absolute_registry_path_as_given(
    registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yaml = pytest.importorskip("yaml")
    argv = ["apply", str(registry_dir), "fraud", "1", "--dry-run", "--image", "ai-model:1"]
    assert main(argv) == 0
    deployment = next(yaml.safe_load_all(capsys.readouterr().out))
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:4] == ["serve", str(registry_dir), "fraud", "1"]


@pytest.mark.parametrize("scheme", ["file:", "file://", "local://"])
def test_kubernetes_manifests_take_an_absolute_file_url_as_given(
    registry_dir: Path, capsys: pytest.CaptureFixture[str], scheme: str
) -> None:
    yaml = pytest.importorskip("yaml")
    url = scheme + str(registry_dir)
    assert main(["apply", url, "fraud", "1", "--dry-run", "--image", "ai-model:1"]) == 0
    deployment = next(yaml.safe_load_all(capsys.readouterr().out))
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["serve", url]


def test_kubernetes_manifests_refuse_a_relative_file_url(
    registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "file:reg", "fraud", "1", "--dry-run", "--image", "ai-model:1"]) == 2
    assert "registry 'file:reg' is a relative path" in capsys.readouterr().err


def kubeconfig(kube: FakeKube, tmp_path: Path) -> Path:
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "kubeconfig"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": kube.url}}],
        "users": [{"name": "me", "user": {}}],
        "contexts": [{"name": "c", "context": {"cluster": "fake", "user": "me"}}],
        "current-context": "c",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def server_dry_run_cli(kube: FakeKube, registry_dir: Path) -> list[str]:
    yaml = pytest.importorskip("yaml")
    argv = ["apply", str(registry_dir), "fraud", "1", "--dry-run=server"]
    argv += ["--kubeconfig", str(kubeconfig(kube, registry_dir.parent))]
    argv += ["--image", "ai-model:2", "--namespace", NS]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return [f"{o['kind']}/{o['metadata']['name']}" for o in yaml.safe_load_all(out.getvalue())]


def test_a_server_dry_run_with_no_slot_shows_blue_for_a_first_deploy(
    kube: FakeKube, registry_dir: Path
) -> None:
    shown = server_dry_run_cli(kube, registry_dir)
    assert shown == ["Deployment/fraud-blue", "Service/fraud-blue", "Service/fraud"]


def test_a_server_dry_run_with_no_slot_shows_the_idle_slot_a_blue_green_deploy_writes(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec, registry_dir: Path
) -> None:
    # The command docs/kubernetes.md gives for CI: it must not be refused once blue serves.
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)
    dep.set_traffic({"blue": 100})
    shown = server_dry_run_cli(kube, registry_dir)
    assert shown == ["Deployment/fraud-green", "Service/fraud-green", "Service/fraud"]
    assert [s.slot for s in dep.state().slots] == ["blue"]  # nothing was written


def test_a_server_dry_run_with_no_slot_over_a_split_asks_for_the_slot(
    kube: FakeKube,
    make_deployer: Make,
    spec: DeploymentSpec,
    registry_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A canary split left behind: which slot is stable takes the alias a deploy moves.
    # Before: exit 2 with the deploy's message ("... then deploy again").
    dep = make_deployer()
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, spec)
        assert dep.wait_ready(slot, 10)
    dep.set_traffic({"blue": 90, "green": 10})
    argv = ["apply", str(registry_dir), "fraud", "1", "--dry-run=server"]
    argv += ["--kubeconfig", str(kubeconfig(kube, registry_dir.parent))]
    argv += ["--image", "ai-model:2", "--namespace", NS]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot tell which slot a deploy would write" in captured.err
    assert captured.err.rstrip().endswith("give --slot")


def test_kubernetes_manifests_take_a_file_url_naming_localhost_as_its_absolute_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # RFC 8089: file://localhost/abs is /abs, as the registry reads it (stop 46): the pods
    # are given the URL, which names the same absolute path there.
    import modelship as ms

    ms.open_registry(str(tmp_path / "models")).register(
        model_name="fraud", model=b"w", serializer="bytes"
    )
    url = f"file://localhost{tmp_path}/models"
    assert main(["apply", url, "fraud", "1", "--dry-run", "--image", "ai-model:1"]) == 0
    captured = capsys.readouterr()
    assert "relative path" not in captured.err
    assert url in captured.out


@pytest.mark.parametrize("url", ["file://reg/x", "file://models/srv/x"])
def test_kubernetes_manifests_refuse_a_file_url_with_a_host_part(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
) -> None:
    # fsspec reads file://reg/x as the relative path reg/x: no host is meant there.
    import modelship as ms

    monkeypatch.chdir(tmp_path)
    relative = url.removeprefix("file://")
    ms.open_registry(relative).register(model_name="fraud", model=b"w", serializer="bytes")
    assert main(["apply", url, "fraud", "1", "--dry-run", "--image", "ai-model:1"]) == 2
    assert f"registry {url!r} is a relative path" in capsys.readouterr().err
