"""Real parts for the monitoring tests: Prometheus (Debian's package) scraping a metrics
target on 127.0.0.1, and a small HTTP server that answers whatever a test tells it to."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5)


def require(what: str, reason: str) -> None:
    """Skip locally, but fail under CI=true: a missing real part never passes silently."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is missing: {reason}")
    pytest.skip(f"{what} missing: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], *, what: str, limit: float = 30.0) -> Any:
    """Poll ``check`` until it returns a truthy value; fail after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:  # bounded by the deadline
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up after {limit:g} s waiting for {what}")


# --- the metrics target ----------------------------------------------------------------------


@attrs.define
class Target:
    """A prometheus_client HTTP server exposing the model server's own metrics by slot.

    Each slot is a :class:`~modelship.deploy.serve._metrics.ServerMetrics` started with
    ``slot=`` (as ``modelship serve --slot`` does), so the monitor's default queries are
    tested against the series the server really exposes.
    """

    port: int
    slots: dict[str, Any] = attrs.field(factory=dict)

    def server(self, slot: str) -> Any:
        from modelship.deploy.serve._metrics import ServerMetrics

        if slot not in self.slots:
            self.slots[slot] = ServerMetrics("m", "1", slot=slot)
        return self.slots[slot]

    def open_slot(self, slot: str, *, errors: bool = True) -> None:
        """Create the slot's series at zero, so a later increase is a rate, not a start.

        A counter whose series appears at 20 has no increase to measure. ``errors=False``
        leaves the 5xx series out, as a server that creates it on the first error does.
        """
        m = self.server(slot)
        m._latency.labels(*m._ids, "predict")
        m._requests.labels(*m._ids, "predict", "200")
        if errors:
            m._requests.labels(*m._ids, "predict", "500")

    def serve(self, slot: str, latency: float, requests: int, errors: int = 0) -> None:
        """Answer ``requests`` requests in ``latency`` seconds, ``errors`` of them with 500."""
        m = self.server(slot)
        for i in range(requests):
            if i < errors:
                m.error("predict", "model")
                m.observe("predict", 500, latency)
            else:
                m.observe("predict", 200, latency)


class _Joined:
    """A collector that exposes every slot's registry at one endpoint."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def collect(self) -> Iterator[Any]:
        for m in list(self.target.slots.values()):
            yield from m.registry.collect()


@contextlib.contextmanager
def serving_target() -> Iterator[Target]:
    """A metrics target: every slot's registry at one endpoint on 127.0.0.1."""
    try:
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError as exc:
        require("prometheus_client", str(exc))
    registry = CollectorRegistry(auto_describe=False)
    target = Target(port=free_port())
    registry.register(_Joined(target))  # type: ignore[arg-type]
    server, thread = start_http_server(target.port, addr="127.0.0.1", registry=registry)
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def metrics_target() -> Iterator[Target]:
    with serving_target() as target:
        yield target


@contextlib.contextmanager
def target_and_prometheus(directory: Path) -> Iterator[tuple[Target, Prometheus]]:
    """A metrics target of its own scraped by a Prometheus of its own: for a module whose
    slots (blue/green, as the deployers name them) must not mix with another's."""
    with serving_target() as target, run_prometheus(directory, target.port) as prom:
        yield target, prom


# --- Prometheus ------------------------------------------------------------------------------


@attrs.define
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


@contextlib.contextmanager
def run_prometheus(directory: Path, target_port: int, *more_ports: int) -> Iterator[Prometheus]:
    """Prometheus scraping fixed ``127.0.0.1`` ports every second."""
    targets = ", ".join(f"'127.0.0.1:{p}'" for p in (target_port, *more_ports))
    with run_prometheus_with(directory, f"static_configs:\n      - targets: [{targets}]") as prom:
        yield prom


@contextlib.contextmanager
def run_prometheus_with(directory: Path, discovery: str) -> Iterator[Prometheus]:
    """Prometheus with one scrape job, every second, finding targets by ``discovery``
    (the job's YAML after ``job_name``: ``static_configs: ...`` or ``file_sd_configs: ...``)."""
    binary = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if binary is None:
        require("prometheus (Debian package 'prometheus')", "no prometheus binary on PATH")
    assert binary is not None
    port = free_port()
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: model\n    {discovery}\n"
    )
    log = (directory / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prometheus = Prometheus(url=f"http://127.0.0.1:{port}", process=process)

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited: {(directory / 'prometheus.log').read_text()[-2000:]}")
        try:
            return requests.get(f"{prometheus.url}/-/ready", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(ready, what="prometheus /-/ready")
        yield prometheus
    finally:
        prometheus.stop()
        log.close()


@pytest.fixture(scope="session")
def prometheus(
    metrics_target: Target, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """Prometheus on a free port, scraping :func:`metrics_target` every second."""
    with run_prometheus(tmp_path_factory.mktemp("prometheus"), metrics_target.port) as prom:
        yield prom


@pytest.fixture
def own_prometheus(metrics_target: Target, tmp_path: Path) -> Iterator[Prometheus]:
    """A Prometheus of the test's own, which the test may stop."""
    with run_prometheus(tmp_path, metrics_target.port) as prom:
        yield prom


# --- a scripted HTTP server ------------------------------------------------------------------


@attrs.define
class Scripted:
    """An HTTP server on 127.0.0.1 that answers ``status`` and ``body`` and records requests."""

    url: str
    status: int = 200
    body: bytes = b"{}"
    delay: float = 0.0
    seen: list[dict[str, Any]] = attrs.field(factory=list)

    def answer(self, body: Any, status: int = 200) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()


def _serve(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _handler(script: Scripted) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            script.seen.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length).decode(),
                }
            )
            if script.delay:
                time.sleep(script.delay)
            self.send_response(script.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(script.body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may have given up (timeout test)
                self.wfile.write(script.body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    """A plain-HTTP scripted server."""
    port = free_port()
    script = Scripted(url=f"http://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(script))
    yield from _with(server, script)


def _with(server: ThreadingHTTPServer, script: Scripted) -> Iterator[Scripted]:
    for _ in _serve(server):
        yield script


@pytest.fixture
def scripted_tls(tmp_path: Path) -> Iterator[tuple[Scripted, Path]]:
    """A scripted server over HTTPS with a fresh self-signed certificate; yields its CA file."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    port = free_port()
    script = Scripted(url=f"https://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(script))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for _ in _serve(server):
        yield script, cert_file
