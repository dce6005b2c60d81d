"""Two review findings: what ``dry_run`` prints masks credentials given as container
arguments, as it does environment values; and a server URL that answers JSON but is not
an API server raises :class:`KubernetesError`, not a ``KeyError`` from deep in the
deployer."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from _kube_helpers import NS, fast_retry

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import KubernetesError
from modelship.deploy.kubernetes._client import KubeClient, load_configuration
from modelship.deploy.kubernetes._dry_run import dry_run
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]
MASK = "<redacted>"

# --- dry_run masks credentials in command and args ------------------------------------


def _pod(text: str) -> dict[str, Any]:
    (deployment,) = [o for o in yaml.safe_load_all(text) if o["kind"] == "Deployment"]
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


def test_dry_run_masks_a_credential_flags_value_and_a_flag_equals_credential() -> None:
    spec = DeploymentSpec(
        containers=[
            Container(
                name="model-server",
                image="m:1",
                port=8080,
                args=("--db-password", "hunter2", "--api-key=sk_live_abcdef123", "--workers", "4"),
                env={"DB_PASSWORD": "hunter2"},
            )
        ]
    )
    text = dry_run("fraud", "1", spec, app="fraud", registry_url="s3://m")
    assert "hunter2" not in text
    assert "sk_live_abcdef123" not in text
    (container,) = _pod(text)["containers"]
    # The flags stay readable; only their values go, with the marker env values get.
    assert container["args"][-5:] == ["--db-password", MASK, f"--api-key={MASK}", "--workers", "4"]
    assert container["env"] == [{"name": "DB_PASSWORD", "value": MASK}]
    assert container["command"] == ["modelship"]
    assert container["args"][:2] == ["serve", "s3://m"]  # nothing else is touched


def test_dry_run_masks_credentials_in_a_sidecars_command_and_args() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9payload0123"
    spec = DeploymentSpec(
        containers=[
            Container(name="model-server", image="m:1", port=8080),
            Container(
                name="proxy",
                image="proxy:1",
                args=(
                    "-H",
                    "Authorization: Bearer",
                    "plainbearertoken42",
                    "-H",
                    f"Authorization: Bearer {token}",
                    "password=s3cr3t-value",
                    "--upstream=http://127.0.0.1:8080",
                ),
            ),
        ]
    )
    text = dry_run("fraud", "1", spec, app="fraud", registry_url="s3://m")
    for secret in ("plainbearertoken42", token, "s3cr3t-value"):
        assert secret not in text
    proxy = _pod(text)["containers"][1]
    assert proxy["args"] == [
        "-H",
        MASK,  # the header names a credential: the whole argument
        MASK,  # the token after "Bearer", in the next argument
        "-H",
        MASK,
        f"password={MASK}",
        "--upstream=http://127.0.0.1:8080",
    ]


def test_dry_run_keeps_the_registry_urls_host_and_masks_its_password() -> None:
    text = dry_run(
        "fraud",
        "1",
        image="m:1",
        app="fraud",
        registry_url="https://ci:hunter2@models.example.com/reg",
    )
    assert "hunter2" not in text
    (container,) = _pod(text)["containers"]
    assert container["args"][1] == f"https://{MASK}@models.example.com/reg"


def test_a_deployers_dry_run_masks_credential_args_too(make_deployer: Make) -> None:
    spec = DeploymentSpec(
        containers=[
            Container(name="model-server", image="m:1", port=8080, args=("--token", "tok-abcdef"))
        ]
    )
    text = dry_run("fraud", "1", spec, deployer=make_deployer())
    assert "tok-abcdef" not in text
    assert _pod(text)["containers"][0]["args"][-2:] == ["--token", MASK]


def test_a_dry_run_applies_nothing_masked(kube: FakeKube, make_deployer: Make) -> None:
    # What is printed is masked; what is applied carries the real values.
    spec = DeploymentSpec(
        containers=[
            Container(name="model-server", image="m:1", port=8080, args=("--token", "tok-abcdef"))
        ]
    )
    dep = make_deployer()
    dry_run("fraud", "1", spec, deployer=dep)
    dep.apply("blue", "fraud", "1", spec)
    live = kube.get("deployments", NS, "fraud-blue")
    assert live is not None
    assert live["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
        "--token",
        "tok-abcdef",
    ]


# --- answers that are JSON but not an API server's ------------------------------------


@pytest.fixture
def json_server() -> Iterator[Callable[[bytes], tuple[str, list[str]]]]:
    """A server answering every request 200 with ``body``; yields (url, requests seen)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(body: bytes) -> tuple[str, list[str]]:
        seen: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                seen.append(f"{self.command} {self.path}")
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PATCH(self) -> None:
                self.do_GET()

            def do_POST(self) -> None:
                self.do_GET()

            def do_PUT(self) -> None:
                self.do_GET()

            def do_DELETE(self) -> None:
                self.do_GET()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _client(url: str) -> KubeClient:
    def configure() -> Any:
        return load_configuration(
            server=url,
            token=None,
            kubeconfig=None,
            context=None,
            ca_cert=None,
            verify_ssl=True,
            service_account_dir="/nonexistent",
        )

    return KubeClient(configure, retry=fast_retry(), timeout=2.0)


NOT_AN_API_SERVER = r"is the server URL an API server\?"
ANSWERS = [
    b"[]",
    b"{}",
    b"5",
    b'"ok"',
    b'{"items": [{"metadata": {}}], "metadata": {}}',
    b'{"items": {}, "metadata": {"resourceVersion": "1"}}',
    b'{"items": [5], "metadata": {"resourceVersion": "1"}}',
    b'{"items": [], "metadata": []}',
]


@pytest.mark.parametrize("body", ANSWERS)
@pytest.mark.parametrize("operation", ["state", "wait_ready", "set_traffic", "apply"])
def test_a_json_answer_that_is_not_an_api_servers_is_a_kubernetes_error(
    json_server: Callable[[bytes], tuple[str, list[str]]],
    spec: DeploymentSpec,
    body: bytes,
    operation: str,
) -> None:
    url, _ = json_server(body)
    dep = KubernetesDeployer(
        NS,
        server=url,
        image="m:1",
        registry_url="s3://m",
        app="fraud",
        retry=fast_retry(),
        request_timeout=2.0,
        rollout_lease=None,
    )
    run: dict[str, Callable[[], object]] = {
        "state": dep.state,
        "wait_ready": lambda: dep.wait_ready("blue", 1),
        "set_traffic": lambda: dep.set_traffic({"blue": 100}),
        "apply": lambda: dep.apply("blue", "fraud", "1", spec),
    }
    try:
        with pytest.raises(KubernetesError, match=NOT_AN_API_SERVER):
            run[operation]()
    finally:
        dep.close()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/apis/apps/v1/namespaces/ns/deployments", b"[]"),
        ("/apis/apps/v1/namespaces/ns/deployments", b'{"kind": "DeploymentList"}'),
        ("/apis/apps/v1/namespaces/ns/deployments", b'{"items": [], "metadata": {}}'),
        ("/api/v1/namespaces/ns/services/fraud", b'{"items": [], "metadata": {}}'),
        (
            "/api/v1/namespaces/ns/services/fraud",
            b'{"kind": "ServiceList", "items": [], "metadata": {"resourceVersion": "1"}}',
        ),
        ("/api/v1/namespaces/ns/services/fraud", b'{"metadata": 5}'),
        ("/api/v1/namespaces/ns/services/fraud", b""),
        ("/apis/coordination.k8s.io/v1/namespaces/ns/leases/l", b"null"),
    ],
)
def test_the_client_refuses_an_answer_not_shaped_as_the_api_servers_at_once(
    json_server: Callable[[bytes], tuple[str, list[str]]], path: str, body: bytes
) -> None:
    url, seen = json_server(body)
    client = _client(url)
    try:
        with pytest.raises(KubernetesError, match=NOT_AN_API_SERVER):
            client.request("GET", path)
        assert len(seen) == 1  # the same request gets the same answer: not retried
    finally:
        client.close()


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        # What the services proxy relays is the pod's own answer: any JSON.
        ("/api/v1/namespaces/ns/services/fraud-blue:http/proxy/health", b"[1]", [1]),
        ("/api/v1/namespaces/ns/services/fraud-blue:http/proxy/health", b"true", True),
        # One object: its kind and fields are the caller's to read.
        (
            "/apis/coordination.k8s.io/v1/namespaces/x/leases/l",
            b'{"kind": "Lease"}',
            {"kind": "Lease"},
        ),
        ("/api/v1/namespaces/ns", b'{"metadata": {"name": "ns"}}', {"metadata": {"name": "ns"}}),
        # A list, whole.
        (
            "/apis/apps/v1/namespaces/ns/deployments",
            b'{"items": [{"metadata": {"name": "a"}}], "metadata": {"resourceVersion": "3"}}',
            {"items": [{"metadata": {"name": "a"}}], "metadata": {"resourceVersion": "3"}},
        ),
        # Paths that name no resource (the version, discovery).
        ("/version", b'{"major": "1"}', {"major": "1"}),
        (
            "/api/v1",
            b'{"kind": "APIResourceList", "resources": []}',
            {"kind": "APIResourceList", "resources": []},
        ),
    ],
)
def test_the_client_returns_answers_shaped_as_the_api_servers(
    json_server: Callable[[bytes], tuple[str, list[str]]], path: str, body: bytes, expected: Any
) -> None:
    url, _ = json_server(body)
    client = _client(url)
    try:
        answer = client.request("GET", path)
        assert answer == expected
    finally:
        client.close()


def test_the_fakes_answers_pass_the_clients_checks(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)
    dep.set_traffic({"blue": 100})
    (slot,) = dep.state().slots
    assert (slot.slot, slot.weight, slot.ready) == ("blue", 100, True)
    assert dep.health("blue").healthy


def test_dry_run_masks_a_credential_in_the_value_of_a_flag_equals() -> None:
    # Only the flag of --flag=value was judged, so a credential in its value was shown,
    # while the same value given apart was masked.
    spec = DeploymentSpec(
        containers=[
            Container(
                name="model-server",
                image="m:1",
                port=8080,
                args=(
                    "--header=X-API-Key: abc123tok",
                    '--config={"api_key": "sk-live-123"}',
                    "--cache=s3://reader:pw@bucket/cache",
                    "--workers=4",
                ),
            )
        ]
    )
    text = dry_run("fraud", "1", spec, app="fraud", registry_url="s3://m")
    assert "abc123tok" not in text
    assert "sk-live-123" not in text
    (container,) = _pod(text)["containers"]
    assert container["args"][-4:] == [
        f"--header={MASK}",
        f"--config={MASK}",
        f"--cache=s3://{MASK}@bucket/cache",  # the URL's host stays readable
        "--workers=4",
    ]
