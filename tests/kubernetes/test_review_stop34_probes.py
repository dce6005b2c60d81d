"""The probes a slot's server container gets: liveness never waits for the model.

A liveness probe that asks a path answering 503 until the model is loaded has the kubelet
restart every pod whose model loads slower than the probe tolerates, and again after
each restart: the documented example spec (``healthcheck.path: /ready``) did exactly that.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from _kube_helpers import need

from modelship.deploy import Container, DeploymentSpec, HealthCheck
from modelship.deploy.kubernetes import render

kubernetes_validate = need("kubernetes_validate")

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ("1.30", "1.33", "1.36")

# healthcheck.path -> (readiness probe's path, liveness probe's path)
PATHS = {
    "/ready": ("/ready", "/health"),
    "/v2/health/ready": ("/v2/health/ready", "/health"),
    "/v2/models/fraud/ready": ("/v2/models/fraud/ready", "/health"),
    "/v2/models/fraud/versions/3/ready": ("/v2/models/fraud/versions/3/ready", "/health"),
    "/health": ("/ready", "/health"),
    "/v2/health/live": ("/ready", "/v2/health/live"),
    "/livez": ("/ready", "/livez"),  # a path of one's own keeps its meaning: liveness
}


def server_container(spec: DeploymentSpec) -> dict[str, Any]:
    objs = render(
        "fraud", "3", spec, slot="green", app="fraud", namespace="models",
        registry_url="s3://models/prod",
    )  # fmt: skip
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    for version in VERSIONS:
        kubernetes_validate.validate(deployment, version, strict=True)
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def spec_with(**healthcheck: Any) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-service", image="ai-model:3", port=8080)],
        healthcheck=HealthCheck(**healthcheck),
    )


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_readiness_path_is_the_readiness_probes_and_liveness_asks_health(path: str) -> None:
    c = server_container(spec_with(path=path))
    assert (c["readinessProbe"]["httpGet"]["path"], c["livenessProbe"]["httpGet"]["path"]) == (
        PATHS[path]
    )


def test_the_delay_is_the_liveness_probes_and_the_rest_applies_to_both() -> None:
    c = server_container(
        spec_with(
            path="/ready",
            initial_delay_seconds=10,
            period_seconds=5,
            timeout_seconds=2,
            failure_threshold=4,
        )
    )
    shared = {"periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 4}
    assert c["livenessProbe"] == {
        "httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
        "initialDelaySeconds": 10,
        "successThreshold": 1,
        **shared,
    }
    assert c["readinessProbe"] == {
        "httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
        "initialDelaySeconds": 0,
        "successThreshold": 1,
        **shared,
    }
    assert "startupProbe" not in c  # /health answers while the model loads: none needed


def _doc_spec() -> dict[str, Any]:
    text = (ROOT / "docs" / "deploy-spec.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(deployment:.*?)```", text, re.S)
    assert block, "docs/deploy-spec.md lost its example spec"
    loaded: dict[str, Any] = yaml.safe_load(block.group(1))
    return loaded


@pytest.mark.parametrize("source", ["examples/deployment.yaml", "docs/deploy-spec.md"])
def test_the_documented_example_specs_never_probe_liveness_on_readiness(source: str) -> None:
    if source.endswith(".yaml"):
        spec = DeploymentSpec.from_file(ROOT / source, variables={"VERSION": "3"}, environ=False)
    else:
        spec = DeploymentSpec.from_dict(_doc_spec(), variables={"VERSION": "3"})
    c = server_container(spec)
    assert c["livenessProbe"]["httpGet"]["path"] in ("/health", "/v2/health/live")
    assert c["readinessProbe"]["httpGet"]["path"] in ("/ready", "/v2/health/ready")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            status: int = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status


@pytest.mark.parametrize("path", sorted(PATHS))
def test_while_the_model_loads_the_server_passes_liveness_and_fails_readiness(path: str) -> None:
    """Against the real server: the liveness path answers 200 before the model has loaded."""
    uvicorn = need("uvicorn")
    from modelship.deploy.serve import ModelServer, ServeConfig

    c = server_container(spec_with(path=path))
    ready, live = c["readinessProbe"]["httpGet"]["path"], c["livenessProbe"]["httpGet"]["path"]
    if live == "/livez":
        return  # a path of the user's own image, not modelship serve's
    loaded = threading.Event()

    def load() -> Any:
        assert loaded.wait(30), "the test never let the model load"
        return lambda x: x[:, 0]

    server = ModelServer(load, name="fraud", version="3", config=ServeConfig(warmup=[[0.0]]))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    web = uvicorn.Server(uvicorn.Config(server.app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=web.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(300):
            if web.started:
                break
            time.sleep(0.05)
        assert web.started
        assert _status(base + live) == 200  # the kubelet would not restart the pod
        assert _status(base + ready) == 503  # nor send it traffic
        loaded.set()
        for _ in range(300):
            if _status(base + ready) == 200:
                break
            time.sleep(0.05)
        assert _status(base + ready) == 200
    finally:
        loaded.set()
        web.should_exit = True
        thread.join(10)
        sock.close()
