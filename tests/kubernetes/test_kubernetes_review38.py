"""Review 38 of the Kubernetes adapter: dry-run printouts that parse and keep secrets
out, a server-side dry-run that sends replicas as apply() does, no empty model name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from _kube_helpers import NS

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import dry_run, redact, render
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]
OPTIONS: dict[str, Any] = {"app": "fraud", "registry_url": "s3://models", "namespace": NS}


def model_spec(**container: Any) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model", image="ai-model:3", port=8080, **container)],
        replicas=2,
    )


# --- 1: a value that is the word "basic" or "bearer" ------------------------------------------


@pytest.mark.parametrize("model", ["fraud", "basic", "Bearer"])
@pytest.mark.parametrize("word", ["basic", "bearer", "Basic"])
def test_a_dry_run_with_the_word_basic_parses_and_reads_back_as_rendered(
    model: str, word: str
) -> None:
    spec = model_spec(env={"PLAN": word, "LOG_LEVEL": "info"}, args=[word, "--x", "1"])
    text = dry_run(model, "3", spec, **OPTIONS)
    assert list(yaml.safe_load_all(text)) == render(model, "3", spec, **OPTIONS)


def test_redaction_of_a_bearer_word_stays_on_its_line() -> None:
    text = "value: basic\nname: LOG_LEVEL\n- bearer\n- '3'"
    assert redact(text) == text
    assert redact("Authorization: Bearer abc.def") == "Authorization: <redacted>"


# --- 2: kubectl's last-applied copy in a server-side dry-run --------------------------------


def test_a_server_side_dry_run_leaves_out_kubectls_copy_with_its_secrets(
    kube: FakeKube, make_deployer: Make
) -> None:
    spec = model_spec(env={"HF_TOKEN": "hf_SuperSecretValue123"})
    live = render("fraud", "3", spec, **OPTIONS)[0]
    annotations = live["metadata"]["annotations"]
    annotations["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(live)
    annotations["example.com/settings"] = json.dumps({"api_key": "k3yV4lue99", "zone": "eu"})
    kube.create(live, manager="kubectl-client-side-apply")
    text = dry_run("fraud", "3", spec, deployer=make_deployer(), server_side=True)
    assert "hf_SuperSecretValue123" not in text
    assert "k3yV4lue99" not in text
    shown = next(yaml.safe_load_all(text))["metadata"]["annotations"]
    assert shown["kubectl.kubernetes.io/last-applied-configuration"].startswith("<left out")
    assert json.loads(shown["example.com/settings"]) == {"api_key": "<redacted>", "zone": "eu"}


def test_an_annotation_holding_json_without_credentials_is_shown_as_it_is() -> None:
    objects = render("fraud", "3", model_spec(), **OPTIONS)
    text = dry_run("fraud", "3", model_spec(), **OPTIONS)
    weights = objects[2]["metadata"]["annotations"]["modelship.io/weights"]
    assert list(yaml.safe_load_all(text))[2]["metadata"]["annotations"] == {
        "modelship.io/weights": weights
    }


# --- 3: an autoscaled slot's replicas in a server-side dry-run ------------------------------


def hpa(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 2,
            "maxReplicas": 10,
        },
    }


def dry_run_replicas(dep: KubernetesDeployer, spec: DeploymentSpec) -> Any:
    text = dry_run("fraud", "4", spec, slot="blue", deployer=dep, server_side=True)
    return next(yaml.safe_load_all(text))["spec"].get("replicas")


def test_a_server_side_dry_run_shows_the_replicas_an_autoscaler_set(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "3", model_spec())
    kube.create(hpa("fraud-blue"), manager="kubectl")
    live = kube.get("deployments", NS, "fraud-blue")
    assert live is not None
    live["spec"]["replicas"] = 7  # the HPA scaled the slot
    kube.create(live, manager="kube-controller-manager")
    shown = dry_run_replicas(dep, model_spec())
    dep.apply("blue", "fraud", "4", model_spec())
    stored = kube.get("deployments", NS, "fraud-blue")
    assert stored is not None
    assert shown == stored["spec"]["replicas"] == 7


def test_a_server_side_dry_run_keeps_the_replicas_apply_hands_over(
    kube: FakeKube, make_deployer: Make
) -> None:
    # An HPA appeared but has not scaled yet: modelship still owns spec.replicas, and
    # apply() hands it over at its current value rather than the spec's new one.
    dep = make_deployer()
    dep.apply("blue", "fraud", "3", model_spec())
    kube.create(hpa("fraud-blue"), manager="kubectl")
    bigger = DeploymentSpec(containers=model_spec().containers, replicas=5)
    shown = dry_run_replicas(dep, bigger)
    dep.apply("blue", "fraud", "4", bigger)
    stored = kube.get("deployments", NS, "fraud-blue")
    assert stored is not None
    assert shown == stored["spec"]["replicas"] == 2


# --- 7: an empty model name ------------------------------------------------------------------


def test_an_empty_model_name_is_refused_before_anything_is_rendered_or_written(
    kube: FakeKube, make_deployer: Make
) -> None:
    with pytest.raises(ConfigError, match="model name must not be empty"):
        render("", "3", model_spec(), **OPTIONS)
    with pytest.raises(ConfigError, match="model name must not be empty"):
        dry_run("", "3", model_spec(), **OPTIONS)
    dep = make_deployer()
    with pytest.raises(ConfigError, match="model name must not be empty"):
        dep.apply("blue", "", "3", model_spec())
    with pytest.raises(ConfigError, match="model name must not be empty"):
        dep.server_dry_run("", "3", model_spec())
    assert kube.writes() == []


def test_a_model_name_the_registry_refuses_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"must not contain '\.\.'"):
        render("a..b", "3", model_spec(), **OPTIONS)
