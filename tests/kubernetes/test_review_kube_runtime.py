"""The deployer and its client at run time against faults, and the fake behaving as the
API server does: each test is one behaviour a review found missing."""

from __future__ import annotations

import email.utils
import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _kube_helpers import NS, fast_retry, write

from modelship._params import declared_constraints, invalid_values
from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer, RolloutInProgress
from modelship.deploy._errors import SlotNotFound
from modelship.deploy.kubernetes import KubernetesError, Retry
from modelship.deploy.kubernetes import _client as client_module
from modelship.deploy.kubernetes._client import KubeClient, load_configuration
from modelship.deploy.kubernetes._dry_run import dry_run
from modelship.deploy.kubernetes._lease import RolloutLease, lease_body
from modelship.errors import ConfigError, InvalidParameter
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]


def _client(url: str, *, timeout: float = 2.0, retry: Retry | None = None, **kw: Any) -> KubeClient:
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

    return KubeClient(configure, retry=retry or fast_retry(), timeout=timeout, **kw)


def _replicas(kube: FakeKube, slot: str) -> int:
    dep = kube.get("deployments", NS, f"fraud-{slot}")
    assert dep is not None
    return int(dep["spec"]["replicas"])


def _two_ready_slots(dep: KubernetesDeployer, spec: DeploymentSpec) -> None:
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, spec)
        assert dep.wait_ready(slot, 10)
    dep.set_traffic({"blue": 100})


def _http(
    kube: FakeKube, method: str, path: str, body: Any = None, ctype: str = "application/json"
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(kube.url + path, data=data, method=method)
    req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture
def tiny_server() -> Iterator[Callable[[Callable[[Any], None]], tuple[str, list[str]]]]:
    """A server answering every request with ``behave(handler)``; yields (url, paths seen)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(behave: Callable[[Any], None]) -> tuple[str, list[str]]:
        seen: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                seen.append(self.path)
                behave(self)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _answer(handler: Any, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


# --- 1: set_traffic undoes the growth of a split that failed --------------------------


def test_a_slot_grown_for_a_split_is_scaled_back_when_the_service_write_fails(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    _two_ready_slots(dep, spec)
    kube.inject(Fault("PATCH", "/services/fraud$", status=500, times=None))
    with pytest.raises(KubernetesError, match="500"):
        dep.set_traffic({"blue": 80, "green": 20})
    kube.faults.clear()
    grew = [r for r in kube.writes() if r.path.endswith("/fraud-blue") and r.method == "PATCH"]
    assert grew, "the split did not grow blue: the test proves nothing"
    assert (_replicas(kube, "blue"), _replicas(kube, "green")) == (2, 2)
    assert [(s.slot, s.weight) for s in dep.state().slots] == [("blue", 100), ("green", 0)]


# --- 2: wait_ready watches from a list and backs off after failed watches -------------


def test_wait_ready_after_compaction_watches_from_a_fresh_list_not_in_a_loop(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    kube.never_ready({"modelship.io/slot": "blue"})
    dep.apply("blue", "fraud", "1", spec)
    assert not dep.wait_ready("blue", 0.3)  # the controller has written its status
    for i in range(3):  # the store moves past the Deployment's own resourceVersion
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"c{i}", "namespace": NS},
            }
        )
    kube.compact()
    before = len(kube.requests)
    assert not dep.wait_ready("blue", 1.0)
    watches = [r for r in kube.requests[before:] if r.query.get("watch") == "true"]
    assert watches, "wait_ready did not watch"
    assert all(r.status == 200 for r in watches)
    assert len(kube.requests) - before < 20


def test_wait_ready_backs_off_when_every_watch_answers_gone(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    kube.never_ready({"modelship.io/slot": "blue"})
    dep.apply("blue", "fraud", "1", spec)
    kube.inject(Fault("GET", kind=FaultKind.GONE, watch=True, times=None))
    before = len(kube.requests)
    assert not dep.wait_ready("blue", 1.0)
    # Backoff 50 ms doubling: at most about five list-and-watch rounds in a second.
    assert len(kube.requests) - before < 20


# --- 3: wait_ready ends at its deadline ------------------------------------------------


def test_wait_ready_returns_false_at_its_deadline_when_the_server_stops_answering(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer(request_timeout=2.0, retry=Retry(attempts=4, base=0.01, cap=0.02))
    kube.never_ready({"modelship.io/slot": "blue"})
    dep.apply("blue", "fraud", "1", spec)
    # The existence check answers; every later read hangs for 3 s, longer than the wait.
    kube.inject(
        Fault(
            "GET",
            "/deployments",
            kind=FaultKind.TIMEOUT,
            delay=3.0,
            skip=1,
            times=None,
            watch=False,
        )
    )
    started = time.monotonic()
    assert dep.wait_ready("blue", 1.0) is False
    assert time.monotonic() - started < 2.0  # unbounded, 4 attempts x 2 s each


def test_a_request_sends_no_attempt_after_its_deadline(kube: FakeKube) -> None:
    client = _client(kube.url, retry=Retry(attempts=6, base=0.001, cap=1.0))
    kube.inject(Fault("GET", status=503, retry_after="0.3", times=None))
    with pytest.raises(KubernetesError, match="deadline passed"):
        client.request(
            "GET", f"/api/v1/namespaces/{NS}/configmaps", deadline=time.monotonic() + 0.5
        )
    assert len(kube.requests) == 2  # at 0 s and 0.3 s; a third would start after 0.5 s


# --- 4: the Lease is judged on the API server's clock ---------------------------------


def _skewed(by: timedelta) -> Callable[[], datetime]:
    return lambda: datetime.now(timezone.utc) + by


def test_a_live_holder_keeps_its_lease_against_a_taker_whose_clock_runs_ahead(
    kube: FakeKube,
) -> None:
    name = "fraud-rollout"
    holder = RolloutLease(_client(kube.url), NS, name, 60, now=_skewed(timedelta(minutes=-3)))
    taker = RolloutLease(_client(kube.url), NS, name, 60, now=_skewed(timedelta(minutes=3)))
    with holder.hold("rollout A"), pytest.raises(RolloutInProgress, match="rollout A"):
        taker._take("rollout B")
    lease = kube.get("leases", NS, name)
    assert lease is not None


def test_an_expired_lease_is_taken_over_at_once_by_a_taker_whose_clock_runs_behind(
    kube: FakeKube,
) -> None:
    name = "fraud-rollout"
    two_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=2)
    kube.create(
        lease_body(
            name=name,
            namespace=NS,
            identity="modelship-dead",
            holder="a killed job",
            seconds=60,
            now=two_minutes_ago,
        )
    )
    taker = RolloutLease(_client(kube.url), NS, name, 60, now=_skewed(timedelta(minutes=-3)))
    with taker.hold("rollout B"):
        lease = kube.get("leases", NS, name)
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == taker.identity
        # Stamped with the server's clock, not the taker's 3 minutes slow one.
        renewed = datetime.strptime(lease["spec"]["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
        drift = renewed.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
        assert abs(drift) < timedelta(seconds=30)


def test_the_client_reads_the_api_servers_clock_from_its_answers(kube: FakeKube) -> None:
    client = _client(kube.url)
    assert client.server_now() is None
    client.request("GET", f"/api/v1/namespaces/{NS}/configmaps")
    now = client.server_now()
    assert now is not None
    assert abs(now - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_the_servers_clock_never_steps_back_within_a_dates_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Date is cut to whole seconds: an answer at 10.0 s and one at 10.9 s both say 10 s.
    # Taking the later one as "now" stepped the clock back 0.9 s (a renewTime written
    # earlier than the one before it).
    mono = [100.0]
    monkeypatch.setattr(client_module.time, "monotonic", lambda: mono[0])
    client = KubeClient(lambda: None, retry=Retry(), timeout=2.0)
    second = datetime.now(timezone.utc).replace(microsecond=0)

    class Answer:
        def __init__(self, date: datetime) -> None:
            self.headers = {"Date": email.utils.format_datetime(date, usegmt=True)}

    client._note_date("/api/v1/namespaces/ns/pods", Answer(second))
    mono[0] = 100.9
    client._note_date("/api/v1/namespaces/ns/pods", Answer(second))
    assert client.server_now() == second + timedelta(seconds=0.9)
    mono[0] = 101.2
    client._note_date("/api/v1/namespaces/ns/pods", Answer(second + timedelta(seconds=1)))
    assert client.server_now() == second + timedelta(seconds=1.2)
    # A Date more than a second behind is the server's clock set back: followed.
    client._note_date("/api/v1/namespaces/ns/pods", Answer(second - timedelta(seconds=5)))
    assert client.server_now() == second - timedelta(seconds=5)


# --- 5, 6: Retry-After ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_a_retry_after_that_is_not_seconds_of_at_least_zero_uses_the_usual_backoff(
    kube: FakeKube, value: str
) -> None:
    slept: list[float] = []
    client = _client(kube.url, sleep=slept.append)
    kube.inject(Fault("GET", status=429, retry_after=value, times=2))
    answer = client.request("GET", f"/api/v1/namespaces/{NS}/configmaps")
    assert answer["kind"] == "ConfigMapList"
    assert len(slept) == 2
    assert all(0 <= s <= client.retry.cap for s in slept)


@pytest.mark.parametrize("status", [500, 503, 504])
def test_a_5xx_with_retry_after_waits_as_asked(kube: FakeKube, status: int) -> None:
    slept: list[float] = []
    client = _client(kube.url, retry=Retry(attempts=4, base=0.001, cap=5.0), sleep=slept.append)
    kube.inject(Fault("GET", status=status, retry_after="2", times=2))
    client.request("GET", f"/api/v1/namespaces/{NS}/configmaps")
    assert slept == [2.0, 2.0]


def test_the_fake_sends_retry_after_with_a_fault_that_asks_for_it(kube: FakeKube) -> None:
    kube.inject(Fault("GET", status=503, retry_after="3"))
    req = urllib.request.Request(kube.url + f"/api/v1/namespaces/{NS}/pods")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=5)
    assert caught.value.headers.get("Retry-After") == "3"


# --- 7: answers that trickle in or are too large ---------------------------------------


def test_an_answer_that_trickles_in_ends_at_the_request_timeout(kube: FakeKube) -> None:
    client = _client(kube.url, timeout=0.5, retry=Retry(attempts=2, base=0.01, cap=0.01))
    kube.inject(Fault("GET", kind=FaultKind.SLOW, delay=0.05, times=None))  # ~100 B: 5 s each
    started = time.monotonic()
    with pytest.raises(KubernetesError, match=r"longer than 0\.5 s"):
        client.request("GET", f"/api/v1/namespaces/{NS}/configmaps")
    assert time.monotonic() - started < 3.0


def test_an_answer_larger_than_the_cap_is_refused(
    kube: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_ANSWER_BYTES", 64)
    client = _client(kube.url)
    with pytest.raises(KubernetesError, match="larger than 64 bytes"):
        client.request("GET", f"/api/v1/namespaces/{NS}/configmaps")
    assert len(kube.requests) == 1  # the same request would get the same answer


def test_a_watch_event_line_larger_than_the_cap_is_refused(
    kube: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_EVENT_BYTES", 64)
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": NS},
            "data": {"k": "v" * 200},
        }
    )
    client = _client(kube.url)
    with pytest.raises(KubernetesError, match="longer than 64 bytes"):
        list(
            client.watch(
                f"/api/v1/namespaces/{NS}/configmaps", query={}, resource_version="", timeout=1
            )
        )


# --- 8: a watch stream that is not JSON events -----------------------------------------


@pytest.mark.parametrize("line", [b"<html>502 Bad Gateway</html>", b"[1, 2]", b'{"object": 5}'])
def test_a_watch_answer_that_is_not_json_events_is_a_kubernetes_error(
    tiny_server: Any, line: bytes
) -> None:
    url, _ = tiny_server(lambda h: _answer(h, 200, line + b"\n"))
    client = _client(url)
    with pytest.raises(KubernetesError, match="not a watch event"):
        list(client.watch("/api/v1/namespaces/x/pods", query={}, resource_version="1", timeout=1))


# --- 9: malformed kubeconfig ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: [unclosed\n",
        "- 1\n- 2\n",
        "just text\n",
        "users: 5\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://x'}}]\n",
        "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
        "users: [{name: u, user: {token: s3cr3t-t0ken-value}}, 7]\n",
    ],
)
def test_a_malformed_kubeconfig_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "config", text)
    dep = KubernetesDeployer(NS, kubeconfig=path, image="m:1", registry_url="s3://m")
    with pytest.raises(ConfigError, match="cannot be used") as caught:
        dep.state()
    assert "s3cr3t-t0ken-value" not in str(caught.value)


def test_a_kubeconfig_that_is_not_text_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"\xff\xfe\x00bad")
    dep = KubernetesDeployer(NS, kubeconfig=path, image="m:1", registry_url="s3://m")
    with pytest.raises(ConfigError, match="cannot be used"):
        dep.state()


# --- 10, 11: constructor arguments and int32 bounds -------------------------------------

_CTOR_CASES = [
    (name, bad)
    for name, allowed in sorted(declared_constraints(KubernetesDeployer.__init__).items())
    for bad in invalid_values(*allowed)
]


def test_the_constructor_declares_its_numeric_parameters() -> None:
    declared = set(declared_constraints(KubernetesDeployer.__init__))
    assert declared >= {
        "request_timeout",
        "retry",
        "max_split_replicas",
        "traffic_timeout",
        "rollout_lease",
    }


@pytest.mark.parametrize(
    ("name", "bad"), _CTOR_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(_CTOR_CASES)]
)
def test_a_refused_constructor_argument_names_the_parameter(name: str, bad: object) -> None:
    with pytest.raises(InvalidParameter) as caught:
        KubernetesDeployer(
            NS, server="https://127.0.0.1:1", image="m:1", registry_url="s3://m", **{name: bad}
        )
    assert caught.value.parameter == name


@pytest.mark.parametrize(
    "kwargs",
    [
        {"request_timeout": float("nan")},
        {"request_timeout": "30"},
        {"retry": 3},
        {"rollout_lease": 10**12},
        {"max_split_replicas": 2**31},
    ],
)
def test_the_constructor_refuses_values_the_review_found_accepted(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        KubernetesDeployer(
            NS, server="https://127.0.0.1:1", image="m:1", registry_url="s3://m", **kwargs
        )


_RETRY_CASES = [
    (name, bad)
    for name, allowed in sorted(declared_constraints(Retry).items())
    for bad in invalid_values(*allowed)
]


@pytest.mark.parametrize(
    ("name", "bad"), _RETRY_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(_RETRY_CASES)]
)
def test_a_refused_retry_argument_names_the_parameter(name: str, bad: object) -> None:
    with pytest.raises(InvalidParameter) as caught:
        Retry(**{name: bad})  # type: ignore[arg-type]
    assert caught.value.parameter == name


@pytest.mark.parametrize("replicas", [2.5, "3", 2**31, -(2**31) - 1])
def test_the_fake_refuses_replicas_that_are_not_an_int32(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec, replicas: object
) -> None:
    make_deployer().apply("blue", "fraud", "1", spec)
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/fraud-blue"
    code, body = _http(
        kube, "PATCH", path, {"spec": {"replicas": replicas}}, "application/merge-patch+json"
    )
    assert (code, body["reason"]) == (422, "Invalid")
    assert "spec.replicas" in body["message"]
    assert _replicas(kube, "blue") == 2


@pytest.mark.parametrize("field", ["leaseDurationSeconds", "leaseTransitions"])
def test_the_fake_refuses_lease_fields_beyond_int32(kube: FakeKube, field: str) -> None:
    body = lease_body(
        name="l",
        namespace=NS,
        identity="me",
        holder="h",
        seconds=60,
        now=datetime.now(timezone.utc),
    )
    body["spec"][field] = 2**31
    code, answer = _http(kube, "POST", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases", body)
    assert (code, answer["reason"]) == (422, "Invalid")
    assert kube.get("leases", NS, "l") is None


# --- 12-15: the fake behaves as the API server -----------------------------------------


def _configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS}}


def _watch_lines(kube: FakeKube, rv: int) -> list[dict[str, Any]]:
    query = f"watch=true&resourceVersion={rv}&timeoutSeconds=1"
    url = f"{kube.url}/api/v1/namespaces/{NS}/configmaps?{query}"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return [json.loads(line) for line in answer.read().splitlines() if line.strip()]


def test_a_fake_watch_from_before_the_oldest_kept_event_is_gone() -> None:
    with FakeKube(watch_history=3) as kube:
        rvs = [
            int(kube.create(_configmap(f"c{i}"))["metadata"]["resourceVersion"]) for i in range(5)
        ]
        kept = rvs[-3:]
        dropped = rvs[-4]  # the newest event no longer in the history
        events = _watch_lines(kube, dropped - 1)
        assert events[0]["type"] == "ERROR"
        assert events[0]["object"]["code"] == 410
        events = _watch_lines(kube, dropped)
        assert [int(e["object"]["metadata"]["resourceVersion"]) for e in events] == kept


def test_a_fake_status_write_changes_only_the_status(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    make_deployer().apply("blue", "fraud", "1", spec)
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/fraud-blue"
    patch = {"spec": {"replicas": 7}, "status": {"replicas": 42}}
    code, out = _http(kube, "PATCH", path + "/status", patch, "application/merge-patch+json")
    assert code == 200
    assert (out["spec"]["replicas"], out["status"]["replicas"]) == (2, 42)


def test_a_fake_write_of_the_main_resource_keeps_the_stored_status(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/fraud-blue"
    patch = {"spec": {"replicas": 3}, "status": {"replicas": 99}}
    code, out = _http(kube, "PATCH", path, patch, "application/merge-patch+json")
    assert code == 200
    assert out["spec"]["replicas"] == 3
    assert out["status"]["replicas"] != 99
    assert dep.wait_ready("blue", 10)  # the controller still writes the status
    live = kube.get("deployments", NS, "fraud-blue")
    assert live is not None
    assert live["status"]["availableReplicas"] == 3


def test_a_fake_write_that_changes_nothing_keeps_the_resource_version_and_sends_no_event(
    kube: FakeKube,
) -> None:
    created = kube.create(_configmap("c"))
    rv = created["metadata"]["resourceVersion"]
    path = f"/api/v1/namespaces/{NS}/configmaps/c"
    code, out = _http(
        kube, "PATCH", path, {"metadata": {"labels": None}}, "application/merge-patch+json"
    )
    assert code == 200
    assert out["metadata"]["resourceVersion"] == rv
    assert kube.store.rv == int(rv)
    assert _watch_lines(kube, int(rv)) == []


def test_the_fake_refuses_a_change_of_a_deployments_selector(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    obj = next(o for o in dep.render("fraud", "1", spec) if o["kind"] == "Deployment")
    dep.apply("blue", "fraud", "1", spec)
    obj["spec"]["selector"] = {"matchLabels": {"other": "x"}}
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/fraud-blue?fieldManager=t&force=true"
    code, out = _http(kube, "PATCH", path, obj, "application/apply-patch+yaml")
    assert (code, out["reason"]) == (422, "Invalid")
    assert "field is immutable" in out["message"]


# --- 16: redirects ------------------------------------------------------------------------


def test_a_redirect_is_reported_at_once_and_not_followed(tiny_server: Any) -> None:
    elsewhere, followed = tiny_server(lambda h: _answer(h, 200, b'{"items": []}'))
    url, seen = tiny_server(lambda h: _answer(h, 307, b"", {"Location": elsewhere + h.path}))
    client = _client(url)
    with pytest.raises(KubernetesError, match="307 redirecting to") as caught:
        client.request("GET", "/api/v1/namespaces/x/pods")
    assert caught.value.status == 307
    assert (len(seen), followed) == (1, [])


# --- 17: dry_run with a deployer ------------------------------------------------------------


def test_dry_run_with_a_deployer_refuses_options_it_would_ignore(make_deployer: Make) -> None:
    with pytest.raises(ConfigError, match=r"\['app'\]"):
        dry_run("fraud", "2", deployer=make_deployer(), app="other")


# --- review 2: defects of the hostile-review mends ------------------------------------


def test_a_service_write_whose_answer_is_lost_moves_traffic_and_keeps_the_grown_slot(
    kube: FakeKube, make_deployer: Make
) -> None:
    spec = DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=4
    )
    dep = make_deployer(retry=Retry(attempts=3, base=0.001, cap=0.005))
    _two_ready_slots(dep, spec)
    kube.inject(
        Fault("PATCH", r"/services/fraud$", kind=FaultKind.LOST, times=1),
        Fault("PATCH", r"/services/fraud$", status=503, times=None),
    )
    dep.set_traffic({"blue": 90, "green": 10})  # the write landed: traffic moved
    kube.faults.clear()
    assert [(s.slot, s.weight) for s in dep.state().slots] == [("blue", 90), ("green", 10)]


def test_a_failed_service_write_that_cannot_be_read_again_is_not_undone(
    kube: FakeKube, make_deployer: Make
) -> None:
    spec = DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=4
    )
    dep = make_deployer(retry=Retry(attempts=3, base=0.001, cap=0.005))
    _two_ready_slots(dep, spec)
    kube.inject(
        Fault("PATCH", r"/services/fraud$", kind=FaultKind.LOST, times=1),
        Fault("PATCH", r"/services/fraud$", status=503, times=None),
        # skip=2: the Service is read (and its owner checked) before any slot is scaled,
        # then again right before the write; the read failing is the one after the write.
        Fault("GET", r"/services/fraud$", status=503, skip=2, times=None, watch=False),
    )
    with pytest.raises(KubernetesError, match="may have changed"):
        dep.set_traffic({"blue": 90, "green": 10})
    kube.faults.clear()
    # The selector splits: blue keeps the size grown for the split (not 4, which is 50/50).
    assert _replicas(kube, "blue") == 9
    assert kube.get("services", NS, "fraud")["spec"]["selector"] == {
        "app.kubernetes.io/instance": "fraud",
        "app.kubernetes.io/managed-by": "modelship",
        "app.kubernetes.io/component": "model-server",
    }


@pytest.mark.parametrize("timeout", [0, 0.0005])
def test_wait_ready_with_no_time_still_checks_once(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec, timeout: float
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)
    assert dep.wait_ready("blue", timeout) is True
    with pytest.raises(SlotNotFound):
        dep.wait_ready("nowhere", timeout)


def test_wait_ready_ends_at_its_deadline_while_a_watch_trickles(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer(request_timeout=2.0, retry=Retry(attempts=4, base=0.01, cap=0.02))
    kube.never_ready({"modelship.io/slot": "blue"})
    dep.apply("blue", "fraud", "1", spec)
    kube.inject(Fault(kind=FaultKind.SLOW, delay=0.01, times=None, watch=True))
    stop = threading.Event()

    def poke() -> None:  # the Deployment keeps changing: the watch has events to trickle
        i = 0
        while not stop.wait(0.2):
            i += 1
            d = kube.get("deployments", NS, "fraud-blue")
            assert d is not None
            d["metadata"].setdefault("annotations", {})["poke"] = str(i)
            kube.store.put(d, manager="poker")

    poker = threading.Thread(target=poke, daemon=True)
    poker.start()
    try:
        started = time.monotonic()
        assert dep.wait_ready("blue", 1.0) is False
        assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        poker.join()


def test_a_request_deadline_covers_the_body_after_late_headers(tiny_server: Any) -> None:
    def behave(handler: Any) -> None:
        time.sleep(0.9)
        body = b'{"items": [], "metadata": {"resourceVersion": "1"}}'
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)

    url, _ = tiny_server(behave)
    client = _client(url, timeout=5.0, retry=Retry(attempts=3, base=0.01, cap=0.01))
    client.api()  # configured before the clock starts
    started = time.monotonic()
    with pytest.raises(KubernetesError, match="deadline"):
        client.request("GET", "/apis/apps/v1/namespaces/ns/deployments", deadline=started + 1.0)
    assert time.monotonic() - started < 1.3  # was 0.9 s + another full second
    client.close()


def test_wait_ready_backs_off_when_every_watch_ends_at_once_without_events(
    tiny_server: Any,
) -> None:
    deployment = {
        "metadata": {"name": "fraud-blue", "generation": 1, "resourceVersion": "5"},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, "updatedReplicas": 0},
    }

    def behave(handler: Any) -> None:
        if "watch=true" in handler.path:
            _answer(handler, 200, b"")  # a server or proxy closing the watch at once
        elif "fieldSelector" in handler.path:
            listed = {"items": [deployment], "metadata": {"resourceVersion": "9"}}
            _answer(handler, 200, json.dumps(listed).encode())
        else:
            _answer(handler, 200, json.dumps(deployment).encode())

    url, seen = tiny_server(behave)
    dep = KubernetesDeployer(
        "ns", server=url, image="i:1", registry_url="s3://m", app="fraud", retry=fast_retry()
    )
    assert dep.wait_ready("blue", 1.0) is False
    assert len(seen) < 30  # was over a thousand list-and-watch pairs
    dep.close()


def _dated(handler: Any, body: bytes, date: str) -> None:
    """Answer 200 with ``body`` and ``date`` as the only Date header."""
    handler.send_response_only(200)  # send_response would add a Date of its own
    for key, value in (("Date", date), ("Content-Length", str(len(body)))):
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.mark.parametrize(
    "date",
    [
        "Jan 2026 99999999999 99:99:99 Jan 99999999999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 1900 00:00:00 GMT",
    ],
)
def test_a_garbled_or_extreme_date_header_is_ignored(tiny_server: Any, date: str) -> None:
    url, _ = tiny_server(lambda h: _dated(h, b'{"kind": "Lease"}', date))
    client = _client(url)
    assert client.request("GET", "/apis/coordination.k8s.io/v1/namespaces/x/leases/l") == {
        "kind": "Lease"
    }
    assert client.server_now() is None
    client.close()


def test_a_date_relayed_by_the_services_proxy_is_not_the_api_servers_clock(
    tiny_server: Any,
) -> None:
    def behave(handler: Any) -> None:
        ahead = 3600 if "/proxy/" in handler.path else 0  # the pod's clock, an hour ahead
        _dated(handler, b"{}", email.utils.formatdate(time.time() + ahead, usegmt=True))

    url, _ = tiny_server(behave)
    client = _client(url)
    client.request("GET", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/fraud-rollout")
    client.request("GET", "/api/v1/namespaces/ns/services/fraud-blue:http/proxy/health")
    now = client.server_now()
    assert now is not None
    assert abs(now - datetime.now(timezone.utc)) < timedelta(seconds=5)
    client.close()


def test_timeouts_and_attempts_too_large_for_the_timers_are_refused() -> None:
    with pytest.raises(InvalidParameter, match="request_timeout"):
        KubernetesDeployer(
            NS, server="https://127.0.0.1:1", image="m:1", registry_url="s3://m",
            request_timeout=1e10,
        )  # fmt: skip
    with pytest.raises(InvalidParameter, match="attempts"):
        Retry(attempts=101)
    with pytest.raises(InvalidParameter, match="base"):
        Retry(base=1e10)
    assert Retry(attempts=100).delay(5000, jitter=1.0) == Retry().cap


def test_the_fake_takes_an_unchanged_selector_with_empty_match_expressions(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    make_deployer().apply("blue", "fraud", "1", spec)
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/fraud-blue"
    for _ in range(50):  # bounded: the fake's controller updates the status meanwhile
        code, live = _http(kube, "GET", path)
        assert code == 200
        live["metadata"].pop("managedFields", None)
        live["spec"]["selector"]["matchExpressions"] = []
        code, answer = _http(kube, "PUT", path, live)
        if code != 409:  # 409: the resourceVersion read is stale; read it again
            break
    assert code == 200, answer


def test_a_long_watch_line_is_read_in_linear_time() -> None:
    line = json.dumps({"type": "ADDED", "object": {"data": "x" * (15 << 20)}}).encode() + b"\n"

    class Stream:  # an answer read 16 KiB at a time, as TLS records come
        offset = 0

        def read1(self, n: int, decode_content: bool = True) -> bytes:
            chunk = line[self.offset : self.offset + 16384]
            self.offset += len(chunk)
            return chunk

    started = time.monotonic()
    events = list(KubeClient._events("/w", Stream(), time.monotonic() + 60))
    assert len(events) == 1
    assert time.monotonic() - started < 2.0  # quadratic: tens of seconds
