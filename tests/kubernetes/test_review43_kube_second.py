"""Review 43, second look, of the Kubernetes deployer's waits through an API outage.

* A TLS connection the peer closes mid-handshake (``SSLEOFError``: a TCP load balancer in
  front of an API server restarting) or ends cleanly (``SSLZeroReturnError``) is no
  answer, retried and waited out; a certificate or handshake failure still fails at once.
* A wait reads again through "no answer" only once the API server has answered this
  deployer: a server that never did (nothing listening, ``http://`` to a TLS port) is an
  error at once, not ``False`` after the whole timeout. A 429 or 5xx is an answer.
* set_traffic's wait for a slot's controller to observe its spec reads again through an
  outage.
* The Service write's error, wrapped again when the Service cannot be read back, keeps
  ``retryable``.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import urllib3
from _kube_helpers import FAST, NS, fast_retry

from modelship.deploy import DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import KubernetesError
from modelship.deploy.kubernetes._client import _no_answer
from modelship.testing.fake_kube import FakeKube, Fault, TestPKI

Make = Callable[..., KubernetesDeployer]
ATTEMPTS = 4  # conftest's fast_retry()


def _through_urllib3(error: BaseException) -> urllib3.exceptions.MaxRetryError:
    """``error`` as urllib3 reports it with retries off: a ``MaxRetryError`` whose reason
    is an ``SSLError`` raised while handling ``error``."""
    try:
        try:
            raise error
        except ssl.SSLError as inner:
            raise urllib3.exceptions.SSLError(inner) from inner
    except urllib3.exceptions.SSLError as wrapped:
        return urllib3.exceptions.MaxRetryError(None, "/api", reason=wrapped)  # type: ignore[arg-type]


def _blue_ready(dep: KubernetesDeployer, spec: DeploymentSpec) -> None:
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)


# --- 1: a TLS connection closed by the peer is no answer ---------------------------------

_CLOSED = [
    ssl.SSLEOFError(8, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol"),
    ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed (EOF)"),
]


@pytest.mark.parametrize("error", _CLOSED, ids=["eof", "zero-return"])
@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "in-max-retry-error"])
def test_a_tls_connection_closed_by_the_peer_is_no_answer_to_retry(
    error: ssl.SSLError, wrapped: bool
) -> None:
    exc = _through_urllib3(error) if wrapped else error
    answer = _no_answer("GET", "/api", exc)  # raised at once for a TLS failure
    assert answer.status == 0
    assert "no answer from the API server" in str(answer)


@pytest.mark.parametrize(
    "error",
    [
        ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] verify failed"),
        ssl.CertificateError("hostname 'kube' doesn't match 'other'"),
        ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"),
        ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
    ],
    ids=["verify", "hostname", "alert", "not-tls"],
)
@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "in-max-retry-error"])
def test_a_certificate_or_handshake_failure_still_fails_at_once(
    error: ssl.SSLError, wrapped: bool
) -> None:
    exc = _through_urllib3(error) if wrapped else error
    with pytest.raises(KubernetesError) as failed:
        _no_answer("GET", "/api", exc)
    assert not failed.value.retryable


class _Balancer:
    """A TCP load balancer in front of ``port``: the next ``closing`` connections it
    accepts are closed at once (no backend, as while the API server restarts); the rest
    are forwarded."""

    def __init__(self, port: int) -> None:
        self.closing = 0
        self._port = port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                close, self.closing = self.closing > 0, max(0, self.closing - 1)
            if close:
                conn.close()
                continue
            backend = socket.create_connection(("127.0.0.1", self._port))
            for a, b in ((conn, backend), (backend, conn)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self._listener.close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def tls_kube(pki: TestPKI) -> Iterator[FakeKube]:
    with FakeKube(pki=pki, timings=FAST, tokens=["t0ken-abc"]) as fake:
        yield fake


def test_wait_ready_waits_out_a_tls_load_balancer_closing_connections(
    tls_kube: FakeKube, pki: TestPKI, spec: DeploymentSpec
) -> None:
    """Behind the balancer, the handshakes of two whole reads (each giving up after the
    client's retries) end in an EOF: the wait reads again and sees the slot ready."""
    balancer = _Balancer(tls_kube.port)
    dep = KubernetesDeployer(
        NS,
        server=f"https://127.0.0.1:{balancer.port}",
        token="t0ken-abc",
        ca_cert=str(pki.ca_cert),
        image="ai-model:1",
        registry_url="s3://models",
        app="fraud",
        retry=fast_retry(),
        request_timeout=2.0,
    )
    try:
        _blue_ready(dep, spec)
        dep._client.api().rest_client.pool_manager.clear()  # each attempt connects anew
        balancer.closing = 2 * ATTEMPTS
        assert dep.wait_ready("blue", 30.0) is True
        assert balancer.closing == 0, "no connection was closed: the test proves nothing"
    finally:
        dep.close()
        balancer.close()


# --- 2: no answer is waited out only from a server that has answered ---------------------


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """``http://`` to a port bound but not listening: every connection is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_wait_ready_raises_when_nothing_listens_at_the_server_url(
    refusing_url: str, make_deployer: Make
) -> None:
    """Old behaviour after the outage fix: ``False`` after the whole 5 s timeout."""
    dep = make_deployer(server=refusing_url)
    with pytest.raises(KubernetesError) as failed:
        dep.wait_ready("blue", 5.0)
    assert failed.value.status == 0
    assert "no answer from the API server" in str(failed.value)


def test_wait_ready_raises_for_http_to_a_tls_api_server(
    tls_kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer(server=tls_kube.url.replace("https://", "http://"), token="t0ken-abc")
    with pytest.raises(KubernetesError) as failed:
        dep.wait_ready("blue", 5.0)
    assert failed.value.status == 0


def test_wait_ready_of_a_new_deployer_waits_out_5xx_as_its_first_answers(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    """A 503 is an answer: the server is there, restarting; it is waited out even before
    any request of this deployer succeeded."""
    _blue_ready(make_deployer(), spec)
    fresh = make_deployer()
    outage = Fault("GET", status=503, times=2 * ATTEMPTS, watch=False)
    kube.inject(outage)
    assert fresh.wait_ready("blue", 30.0) is True
    assert outage.times == 0, "the outage did not happen: the test proves nothing"


# --- 3: waiting for a slot's controller to observe it rides out an outage ----------------


def test_set_traffic_waits_for_the_controller_to_observe_a_slot_through_an_outage(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Green was just annotated (the list set_traffic reads shows a generation its
    controller has not observed), and the reads of green that wait for it to be observed
    fail twice over (each giving up after the client's retries)."""
    dep = make_deployer(traffic_timeout=30)
    _blue_ready(dep, spec)
    dep.apply("green", "fraud", "2", spec)
    assert dep.wait_ready("green", 10)
    dep.set_traffic({"blue": 100})
    real = dep._client.request
    lagging = [True]

    def request(method: str, path: str, **kw: Any) -> Any:
        answer = real(method, path, **kw)
        listed = method == "GET" and path.endswith("/deployments")
        if lagging[0] and listed and "labelSelector" in (kw.get("query") or {}):
            lagging[0] = False
            for item in answer["items"]:
                if item["metadata"]["name"] == "fraud-green":
                    item["metadata"]["generation"] += 1  # annotated, not observed yet
        return answer

    monkeypatch.setattr(dep._client, "request", request)
    outage = Fault("GET", "/deployments/fraud-green$", status=503, times=2 * ATTEMPTS, watch=False)
    kube.inject(outage)
    dep.set_traffic({"green": 100})
    assert not lagging[0], "green never looked unobserved: the test proves nothing"
    assert outage.times == 0, "the outage did not happen: the test proves nothing"
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 0, "green": 100}


# --- 4: the Service write's error keeps retryable when wrapped again ---------------------


def test_a_service_write_failing_in_an_outage_stays_retryable_when_it_cannot_be_read_back(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    """Every attempt of the write that moves traffic answers 503, and so does the read
    after it (the two reads before it answer)."""
    dep = make_deployer()
    _blue_ready(dep, spec)
    dep.apply("green", "fraud", "2", spec)
    assert dep.wait_ready("green", 10)
    dep.set_traffic({"blue": 100})
    kube.inject(Fault("PATCH", "/services/fraud$", status=503, times=None))
    kube.inject(Fault("GET", "/services/fraud$", status=503, times=None, skip=2))
    with pytest.raises(KubernetesError) as failed:
        dep.set_traffic({"blue": 90, "green": 10})
    assert "may have changed" in str(failed.value), "not the wrapped error: proves nothing"
    assert failed.value.status == 503
    assert failed.value.retryable
