"""Review 43 of the Kubernetes deployer: waits keep to their deadline and wait out a short
outage of the API server, letting go of the rollout Lease is bounded, and a watch line
that is no event is an error.

* A watch answered with an error whose body trickles in is read until the wait's
  deadline, not for the whole request timeout.
* A read of a wait (``wait_ready``, a slot growing or shrinking for a split, an HTTPRoute
  being accepted) that fails before the deadline in a way a later one may not (no answer,
  429, 5xx: ``KubernetesError.retryable``) is sent again after a pause, as a failed watch
  is; an answer that will not change (403, 404) still raises at once, and a rollout whose
  Lease lapsed meanwhile still answers RolloutInProgress.
* Letting go of the rollout Lease ends within a third of its duration.
* A JSON line of a watch whose ``type`` is not a watch event's is a KubernetesError.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _kube_helpers import NS, fast_retry
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy import DeploymentSpec, KubernetesDeployer, RolloutInProgress
from modelship.deploy.kubernetes import KubernetesError, Retry
from modelship.deploy.kubernetes._client import KubeClient, _event, load_configuration
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]
ATTEMPTS = 4  # conftest's fast_retry()
EVENT_TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR")


def _client(url: str, *, timeout: float) -> KubeClient:
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

    return KubeClient(configure, retry=fast_retry(), timeout=timeout)


def _outage(kind: str, **where: Any) -> Fault:
    """Two whole requests' worth of failed attempts (each request gives up), then answers."""
    times = 2 * ATTEMPTS
    if kind == "drop":
        return Fault(kind=FaultKind.DROP, times=times, watch=False, **where)
    return Fault(status=int(kind), times=times, watch=False, **where)


def _ready(dep: KubernetesDeployer, slot: str, version: str, spec: DeploymentSpec) -> None:
    dep.apply(slot, "fraud", version, spec)
    assert dep.wait_ready(slot, 10)


def _blue_serves_green_ready(dep: KubernetesDeployer, spec: DeploymentSpec) -> None:
    _ready(dep, "blue", "1", spec)
    dep.set_traffic({"blue": 100})
    _ready(dep, "green", "2", spec)


def _replicas(kube: FakeKube, name: str) -> int:
    found = kube.get("deployments", NS, name)
    assert found is not None
    return int(found["spec"]["replicas"])


# --- 1: a watch's error answer is read no longer than the wait's deadline ----------------


def test_a_watch_answering_an_error_slowly_is_read_no_longer_than_its_deadline(
    kube: FakeKube,
) -> None:
    """The 404's Status body trickles in for about 3.5 s (a byte every 20 ms); the watch's
    deadline is 0.3 s away and its request timeout 30 s. The error is raised with what had
    come by the deadline: its status, not the Status message still on its way."""
    client = _client(kube.url, timeout=30.0)
    try:
        client.request("GET", "/version")  # the client is configured before the clock runs
        kube.inject(Fault("GET", "/nothings", kind=FaultKind.SLOW, delay=0.02, watch=True))
        with pytest.raises(KubernetesError) as failed:
            for _ in client.watch(
                f"/apis/apps/v1/namespaces/{NS}/nothings",
                query={},
                resource_version="1",
                timeout=5.0,
                deadline=time.monotonic() + 0.3,
            ):
                pass
    finally:
        client.close()
    assert failed.value.status == 404
    assert not kube.faults[0].times, "the watch was not slowed: the test proves nothing"
    assert "could not find the requested resource" not in str(failed.value), (
        "the whole error body was read, past the watch's deadline"
    )


# --- 2: waits wait out a short outage -----------------------------------------------------


@pytest.mark.parametrize("kind", ["drop", "503", "429", "500"])
@pytest.mark.parametrize("skip", [0, 1], ids=["existence-check", "first-list"])
def test_wait_ready_waits_out_a_short_outage_of_the_api_server(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec, kind: str, skip: int
) -> None:
    """Every attempt of two reads in a row fails (each read gives up after the client's
    retries), well before the deadline: the wait reads again and sees the slot ready."""
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    outage = _outage(kind, method="GET", skip=skip)
    kube.inject(outage)
    assert dep.wait_ready("blue", 30.0) is True
    assert outage.times == 0, "the outage did not happen: the test proves nothing"


@pytest.mark.parametrize("status", [403, 404])
def test_wait_ready_still_raises_at_once_on_an_answer_that_will_not_change(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec, status: int
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    before = len(kube.requests)
    kube.inject(Fault("GET", "/deployments$", status=status, times=None, watch=False))
    with pytest.raises(KubernetesError) as failed:
        dep.wait_ready("blue", 30.0)
    assert failed.value.status == status
    assert not failed.value.retryable
    lists = [r for r in kube.requests[before:] if r.path.endswith("/deployments")]
    assert len(lists) == 1, "an answer that will not change was asked again"


def test_a_split_waits_out_an_outage_while_the_slot_it_shrinks_is_read(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    """90/10 shrinks green (no traffic yet) from 2 to 1 and waits until its Service lists
    at most one ready endpoint; the reads of that wait fail twice over (the first read of
    green's EndpointSlices, the check that it has a ready one, answers)."""
    dep = make_deployer()
    _blue_serves_green_ready(dep, spec)
    outage = _outage("503", method="GET", path="/endpointslices$", query="fraud-green", skip=1)
    kube.inject(outage)
    dep.set_traffic({"blue": 90, "green": 10})
    assert outage.times == 0, "the outage did not happen: the test proves nothing"
    assert (_replicas(kube, "fraud-blue"), _replicas(kube, "fraud-green")) == (9, 1)
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 90, "green": 10}


def test_a_route_is_waited_for_through_an_outage(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    """The reads of the written HTTPRoute, waiting for its Gateway to accept it, fail
    twice over (the read before the write answers)."""
    dep = make_deployer(traffic="httproute", gateway="public")
    _ready(dep, "blue", "1", spec)
    _ready(dep, "green", "2", spec)
    outage = _outage("drop", method="GET", path="/httproutes/fraud$", skip=1)
    kube.inject(outage)
    dep.set_traffic({"blue": 97, "green": 3})
    assert outage.times == 0, "the outage did not happen: the test proves nothing"
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 97, "green": 3}


class _Lapse:
    """Wraps ``dep``'s requests: once the PATCH that grows ``grown`` is answered, the
    holder's trust in its Lease lapses (its clock jumps past it) and every list of the
    grown Deployment fails (503) from then on; writes sent after are recorded."""

    def __init__(self, dep: KubernetesDeployer, kube: FakeKube, grown: str) -> None:
        assert dep._lease is not None
        self.now = 1000.0
        dep._lease._monotonic = lambda: self.now
        self.sent: list[tuple[str, str]] = []
        self.lapsed = False
        self._kube, self._grown = kube, grown
        self._real = dep._client.request
        dep._client.request = self  # type: ignore[method-assign]

    def __call__(self, method: str, path: str, **kw: Any) -> Any:
        check = kw.get("before_attempt")
        if self.lapsed and method != "GET" and "/leases/" not in path and check is not None:

            def checked() -> None:
                check()
                self.sent.append((method, path))

            kw["before_attempt"] = checked
        answer = self._real(method, path, **kw)
        if not self.lapsed and method == "PATCH" and path.endswith(f"/deployments/{self._grown}"):
            self.lapsed = True
            self.now += 61  # past the 60 s Lease
            self._kube.inject(
                Fault("GET", "/deployments$", query=self._grown, status=503, times=None)
            )
        return answer


def test_a_split_whose_lease_lapsed_during_an_outage_answers_rollout_in_progress(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    """Blue grows for 90/10, then the API server fails every read of it and the rollout's
    Lease lapses: the wait, reading again after a pause, checks the Lease first and
    answers RolloutInProgress, writing nothing more (not even blue's scale-back)."""
    dep = make_deployer(rollout_lease=60, traffic_timeout=30)
    _blue_serves_green_ready(dep, spec)
    lapse = _Lapse(dep, kube, "fraud-blue")
    with dep.rollout_lock("canary of fraud 2"), pytest.raises(RolloutInProgress):
        dep.set_traffic({"blue": 90, "green": 10})
    kube.faults.clear()
    assert lapse.lapsed, "blue was never grown: the scenario did not happen"
    assert lapse.sent == [], f"writes after the Lease lapsed: {lapse.sent}"


# --- 3: letting go of the rollout Lease is bounded ---------------------------------------


def test_letting_go_of_the_rollout_lease_sends_nothing_after_a_third_of_its_duration(
    kube: FakeKube, make_deployer: Make
) -> None:
    """Every request to the Lease is dropped as the rollout ends. Its next attempt would
    come 10 to 20 s later (the backoff), past a third of the 30 s Lease: letting go gives
    up after the one attempt, and the Lease expires by itself."""
    dep = make_deployer(rollout_lease=30, retry=Retry(attempts=2, base=20.0, cap=20.0))
    with dep.rollout_lock("blue-green of fraud 2"):
        kube.inject(Fault(None, "/leases/", kind=FaultKind.DROP, times=None))
        before = len(kube.requests)
    sent = [r.method for r in kube.requests[before:]]
    assert sent == ["GET"], f"letting go went on past a third of the Lease: {sent}"


# --- 4: a watch line that is no event is an error ----------------------------------------


@pytest.fixture
def watch_answering() -> Iterator[Callable[[bytes], str]]:
    """A server answering every GET with 200 and ``body``; yields its URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(body: bytes) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


STATUS = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 502}


@pytest.mark.parametrize(
    "line",
    [
        {},
        STATUS,  # a proxy's error, put in the stream as it is
        {"type": "SYNC", "object": {}},
        {"type": ["ADDED"], "object": {}},
        {"object": {"metadata": {"name": "fraud-blue"}}},
    ],
    ids=["empty", "status", "unknown-type", "type-not-text", "no-type"],
)
def test_a_watch_line_that_is_no_event_is_an_error(
    watch_answering: Callable[[bytes], str], line: dict[str, Any]
) -> None:
    client = _client(watch_answering(json.dumps(line).encode() + b"\n"), timeout=2.0)
    try:
        with pytest.raises(KubernetesError, match="not a watch event"):
            for _ in client.watch(
                f"/apis/apps/v1/namespaces/{NS}/deployments",
                query={},
                resource_version="1",
                timeout=1.0,
            ):
                pass
    finally:
        client.close()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@given(
    st.dictionaries(st.sampled_from(["type", "object", "kind", "code"]), _JSON)
    | st.fixed_dictionaries(
        {"type": st.sampled_from(EVENT_TYPES), "object": st.dictionaries(st.text(), _JSON)}
    )
)
def test_a_watch_line_is_an_event_of_a_known_type_or_a_kubernetes_error(
    line: dict[str, Any],
) -> None:
    try:
        event = _event("/w", json.dumps(line).encode())
    except KubernetesError:
        return
    assert event["type"] in EVENT_TYPES
    assert event["type"] != "ERROR", "an ERROR event is raised, never returned"
    assert isinstance(event.get("object") or {}, dict)


def test_letting_go_waits_for_a_renewal_in_flight_within_the_same_third_of_the_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A renewal hung on the API server ends only at its own deadline, a third of the
    Lease: the let-go's wait for it counts against the let-go's third, not before it (two
    thirds in all, 20 s of a 30 s Lease, held the caller before)."""
    from modelship.deploy.kubernetes import _lease

    now = [1000.0]
    monkeypatch.setattr(_lease.time, "monotonic", lambda: now[0])

    class HungRenewal:
        def join(self, timeout: float | None = None) -> None:
            assert timeout is not None
            now[0] += timeout  # the renewal ends no sooner than the join gives up

    deadlines: list[float] = []

    class Client:
        def request(self, method: str, path: str, **options: Any) -> None:
            deadlines.append(options["deadline"])  # the Lease is gone: nothing to let go

    lease = _lease.RolloutLease(Client(), NS, "rollout", 30)  # type: ignore[arg-type]
    lease._renewer = HungRenewal()  # type: ignore[assignment]
    lease._let_go()
    assert now[0] <= 1010.0, f"the wait for the renewal took {now[0] - 1000:.0f} s of 30"
    assert deadlines, "letting go sent nothing"
    assert max(deadlines) <= 1010.0, deadlines
