"""Rendering and dry runs of the Kubernetes adapter, as a review reproduced their defects:
app names that collide, env order and names, secrets in dry-run output, raw exceptions."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy._cli import main
from modelship.deploy.kubernetes import KubeOptions, dry_run, redact, render
from modelship.errors import ConfigError

BASE: dict[str, Any] = {"image": "ai-model:1", "registry_url": "s3://m", "app": "fraud"}

if importlib.util.find_spec("yaml") is None:  # dry runs print YAML
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise ImportError("PyYAML is required under CI=true: pip install '.[test]'")
    pytest.skip("PyYAML is not installed", allow_module_level=True)


def _names(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects}


def _env(spec: DeploymentSpec) -> list[dict[str, str]]:
    objs = render("fraud", "1", spec, **BASE)
    env: list[dict[str, str]] = objs[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    return env


# --- app names ------------------------------------------------------------------------------


@pytest.mark.parametrize("app", ["fraud-blue", "fraud-green", "a-blue"])
def test_an_app_named_like_another_apps_slot_is_refused(app: str) -> None:
    with pytest.raises(ConfigError, match=r"ends in '-(blue|green)'.*collide"):
        KubeOptions(app=app)


def test_the_deployer_refuses_an_app_named_like_another_apps_slot() -> None:
    with pytest.raises(ConfigError, match="fraud-blue"):
        KubernetesDeployer("models", server="https://127.0.0.1:1", app="fraud-blue")


def test_objects_of_two_accepted_apps_never_share_a_name() -> None:
    apps = ["fraud", "fraud-b", "fraud-bluex", "blue", "green", "fraud-gree", "x-blue-1"]
    seen: dict[tuple[str, str], str] = {}
    for app in apps:
        for slot in ("blue", "green"):
            for kind_name in _names(render("m", "1", slot=slot, **{**BASE, "app": app})):
                assert seen.setdefault(kind_name, app) == app, (kind_name, app)


def test_a_slot_other_than_blue_or_green_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"slot must be one of \('blue', 'green'\)"):
        render("fraud", "1", slot="b", **BASE)


# --- env ------------------------------------------------------------------------------------


def test_env_keeps_the_spec_order_for_dependent_variables() -> None:
    spec = DeploymentSpec.from_dict(
        {
            "deployment": {
                "containers": [
                    {
                        "name": "model-server",
                        "image": "ai-model:3",
                        "env": [
                            {"name": "Z_HOST", "value": "db.internal"},
                            {"name": "A_URL", "value": "postgres://$(Z_HOST):5432/models"},
                        ],
                    }
                ]
            }
        }
    )
    assert [e["name"] for e in _env(spec)] == ["Z_HOST", "A_URL"]


@pytest.mark.parametrize("name", [".", "..", "..CONFIG"])
def test_env_names_kubernetes_refuses_are_refused(name: str) -> None:
    spec = DeploymentSpec(containers=[Container(name="model-server", image="m:1", env={name: "x"})])
    with pytest.raises(ConfigError, match="not a name Kubernetes accepts"):
        render("fraud", "1", spec, **BASE)


def test_env_names_with_dots_inside_are_kept() -> None:
    spec = DeploymentSpec(
        containers=[Container(name="model-server", image="m:1", env={".a": "1", "a..b": "2"})]
    )
    assert [e["name"] for e in _env(spec)] == [".a", "a..b"]


# --- secrets in dry-run output -------------------------------------------------------------


def test_dry_run_masks_env_values_that_look_like_secrets() -> None:
    spec = DeploymentSpec(
        containers=[
            Container(
                name="model-server",
                image="m:1",
                env={"HF_TOKEN": "hf_SuperSecretValue123456", "LOG_LEVEL": "debug"},
            )
        ]
    )
    text = dry_run("fraud", "3", spec, **BASE)
    assert "hf_SuperSecretValue123456" not in text
    assert "name: HF_TOKEN" in text
    assert "debug" in text


def test_dry_run_masks_the_password_of_the_registry_url() -> None:
    text = dry_run(
        "fraud",
        "3",
        image="m:1",
        app="fraud",
        registry_url="https://ci-user:Pa55w0rd-xyz@models.example.com/reg",
    )
    assert "Pa55w0rd-xyz" not in text
    assert "https://<redacted>@models.example.com/reg" in text


def test_redact_masks_the_password_of_a_url() -> None:
    assert redact("GET https://ci:S3cretPass@10.0.0.1:6443/api failed") == (
        "GET https://<redacted>@10.0.0.1:6443/api failed"
    )


# --- specific errors, never raw ones -------------------------------------------------------


def test_render_refuses_a_spec_that_is_not_a_deployment_spec() -> None:
    with pytest.raises(ConfigError, match="spec must be a DeploymentSpec"):
        render("fraud", "1", spec="x", **BASE)  # type: ignore[arg-type]


def test_render_refuses_a_misspelt_option_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['replica'\]"):
        render("fraud", "1", replica=2, **BASE)


@pytest.mark.parametrize("version", [None, "", 1.5])
def test_render_refuses_a_version_that_is_not_text(version: Any) -> None:
    with pytest.raises(ConfigError, match="version must be"):
        render("fraud", version, **BASE)


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli_registry(tmp_path: Path) -> str:
    reg = ms.open_registry(str(tmp_path / "reg"))
    for name in ("2fa-detector", "fraud-blue"):
        reg.register(model_name=name, model=b"x", serializer="bytes")
    return str(tmp_path / "reg")


def test_cli_dry_run_takes_an_app_name(
    cli_registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["apply", cli_registry, "2fa-detector", "1", "--dry-run", "--image", "ai:1"]
    assert main([*argv, "--app", "m-2fa-detector"]) == 0
    out = capsys.readouterr().out
    assert "name: m-2fa-detector-blue" in out
    assert "modelship.io/model: '2fa-detector'" in out


def test_cli_dry_run_refuses_a_model_name_that_collides_and_names_app(
    cli_registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["apply", cli_registry, "fraud-blue", "1", "--dry-run", "--image", "ai:1"]
    assert main(argv) == 2
    assert "--app" in capsys.readouterr().err
