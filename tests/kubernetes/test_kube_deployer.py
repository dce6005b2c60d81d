"""KubernetesDeployer against the fake API server: writes, readiness, traffic, autoscalers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
from _kube_helpers import NS, hpa

from modelship.deploy import DeploymentSpec, KubernetesDeployer, SlotInUse
from modelship.deploy.kubernetes import KubernetesError
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]


def start(
    dep: KubernetesDeployer, slot: str, version: str, spec: DeploymentSpec | None = None
) -> None:
    dep.apply(slot, "fraud", version, spec)
    assert dep.wait_ready(slot, 10)


def test_nothing_is_contacted_when_the_deployer_is_made(
    kube: FakeKube, make_deployer: Make
) -> None:
    make_deployer()
    KubernetesDeployer(NS, server="http://127.0.0.1:9", image="m:1", registry_url="s3://m")
    assert kube.requests == []


def test_apply_is_a_forced_server_side_apply_by_our_field_manager(
    kube: FakeKube, make_deployer: Make
) -> None:
    make_deployer().apply("blue", "fraud", "1")
    patches = [r for r in kube.requests if r.method == "PATCH"]
    assert {r.path.rsplit("/", 2)[-2] for r in patches} == {"deployments", "services"}
    for r in patches:
        assert r.content_type == "application/apply-patch+yaml"
        assert r.query == {"fieldManager": "modelship", "force": "true"}
    dep = kube.get("deployments", NS, "fraud-blue")
    assert dep is not None
    assert [m["manager"] for m in dep["metadata"]["managedFields"]] == ["modelship"]


def test_what_apply_sends_is_what_render_returns(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    dep.apply("green", "fraud", "2", spec)
    sent = [r.body for r in kube.requests if r.method == "PATCH"]
    assert sent == dep.render("fraud", "2", spec, "green")


def test_a_server_side_dry_run_stores_nothing(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    answers = make_deployer().server_dry_run("fraud", "2", spec, "green")
    # the slot's objects, then the app Service as once serving (as render() lists them)
    assert [a["kind"] for a in answers] == ["Deployment", "Service", "Service"]
    assert answers[0]["spec"]["progressDeadlineSeconds"] == 600  # defaulted by the server
    assert all(r.query.get("dryRun") == "All" for r in kube.requests if r.method == "PATCH")
    assert kube.get("deployments", NS, "fraud-green") is None


def test_a_slot_becomes_ready_when_rolled_out_with_ready_endpoints(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1", spec)
    deployment = kube.get("deployments", NS, "fraud-blue")
    assert deployment is not None
    assert deployment["status"]["updatedReplicas"] == deployment["status"]["availableReplicas"] == 2
    slices = [
        s
        for s in kube.list("endpointslices", NS)
        if s["metadata"]["labels"]["kubernetes.io/service-name"] == "fraud-blue"
    ]
    assert sum(e["conditions"]["ready"] for s in slices for e in s["endpoints"]) == 2


@pytest.mark.timeout(30)
def test_progress_deadline_exceeded_is_a_failure_not_a_wait(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    kube.never_ready({"modelship.io/version": "2"})
    kube.exceed_progress_deadline(NS, "fraud-blue")
    dep.apply("blue", "fraud", "2")
    assert dep.wait_ready("blue", 600) is False


def test_a_pod_that_never_becomes_ready_is_not_ready_at_the_deadline(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    kube.never_ready({"modelship.io/version": "2"})
    dep.apply("blue", "fraud", "2")
    assert dep.wait_ready("blue", 0.3) is False
    assert dep.state().slots[0].ready is False


def test_traffic_never_moves_to_a_slot_without_ready_endpoints(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1")
    dep.set_traffic({"blue": 100})
    kube.never_ready({"modelship.io/version": "2"})
    dep.apply("green", "fraud", "2")
    with pytest.raises(KubernetesError, match="no ready endpoint"):
        dep.set_traffic({"green": 100})
    assert [(s.slot, s.weight) for s in dep.state().slots] == [("blue", 100), ("green", 0)]


@pytest.mark.parametrize("kind", ["status", "event"])
def test_a_watch_answered_410_gone_relists_and_still_sees_readiness(
    make_deployer: Make, kind: str
) -> None:
    kube = FakeKube().start()
    dep = make_deployer(server=kube.url)
    if kind == "event":
        kube.inject(Fault(path="/deployments$", kind=FaultKind.GONE, watch=True, times=2))
    else:
        kube.inject(Fault(path="/deployments$", status=410, watch=True, times=2))
    # Ready only once the deployer has started watching, whatever the machine's load (a
    # timer of 0.3 s let a slow first list see the pods ready and never watch at all).
    version = {"modelship.io/version": "1"}
    kube.never_ready(version)

    def ready_after_a_watch() -> None:
        for _ in range(1000):  # bounded: 10 s
            if any(r.query.get("watch") == "true" for r in list(kube.requests)):
                kube.allow_ready(version)
                return
            time.sleep(0.01)

    releaser = threading.Thread(target=ready_after_a_watch, daemon=True)
    releaser.start()
    dep.apply("blue", "fraud", "1")
    assert dep.wait_ready("blue", 10)
    releaser.join()
    watches = [i for i, r in enumerate(kube.requests) if r.query.get("watch") == "true"]
    gone = [i for i in watches if kube.requests[i].status in (410, 200)][:1]
    assert gone, "the deployer watched"
    after = kube.requests[gone[0] + 1]
    kube.stop()
    assert (after.method, after.query.get("watch")) == ("GET", None)  # relisted


def test_the_fake_answers_410_to_a_watch_from_before_a_compaction(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1")
    old = kube.get("deployments", NS, "fraud-blue")
    assert old is not None
    kube.compact()
    from modelship.deploy.kubernetes import Gone

    with pytest.raises(Gone):
        list(dep._client.watch(dep._path("deployments"), query={}, resource_version="1", timeout=1))


def test_a_split_by_replicas_reports_the_share_applied(kube: FakeKube, make_deployer: Make) -> None:
    dep = make_deployer()
    start(dep, "blue", "1")
    start(dep, "green", "2")
    dep.set_traffic({"blue": 90, "green": 10})
    shares = {s.slot: s.weight for s in dep.state().slots}
    assert shares == {"blue": 90, "green": 10}
    replicas = {
        n: kube.get("deployments", NS, f"fraud-{n}")["spec"]["replicas"] for n in ("blue", "green")
    }  # type: ignore[index]
    assert replicas == {"blue": 9, "green": 1}
    service = kube.get("services", NS, "fraud")
    assert service is not None
    assert "modelship.io/slot" not in service["spec"]["selector"]
    dep.set_traffic({"blue": 100})
    replicas = {
        n: kube.get("deployments", NS, f"fraud-{n}")["spec"]["replicas"] for n in ("blue", "green")
    }  # type: ignore[index]
    assert replicas == {"blue": 1, "green": 1}


def test_a_slot_losing_its_traffic_goes_back_to_its_spec_size_without_being_waited_for(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1", spec)
    start(dep, "green", "2", spec)
    dep.set_traffic({"blue": 25, "green": 75})
    sizes = {
        n: kube.get("deployments", NS, f"fraud-{n}")["spec"]["replicas"] for n in ("blue", "green")
    }  # type: ignore[index]
    assert sizes == {"blue": 1, "green": 3}
    kube.never_ready({"modelship.io/version": "2"})  # green breaks: it must not hold us up
    before = len(kube.requests)
    dep.set_traffic({"blue": 100})
    sizes = {
        n: kube.get("deployments", NS, f"fraud-{n}")["spec"]["replicas"] for n in ("blue", "green")
    }  # type: ignore[index]
    assert sizes == {"blue": 2, "green": 2}
    sent = [(r.method, r.path.rsplit("/", 1)[-1], r.query) for r in kube.requests[before:]]
    switch = next(i for i, (m, name, _) in enumerate(sent) if (m, name) == ("PATCH", "fraud"))
    assert [name for m, name, _ in sent[:switch] if m == "PATCH"] == ["fraud-blue"]
    assert not [q for _, _, q in sent[switch:] if "fraud-green" in q.get("fieldSelector", "")], (
        "the slot without traffic was waited for"
    )


@pytest.mark.parametrize("edited", ["two", "0", "-1", "2.0", "\u00b2", ""])
def test_a_replica_annotation_edited_by_hand_is_a_clear_error_and_nothing_moves(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec, edited: str
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1", spec)
    start(dep, "green", "2", spec)
    dep.set_traffic({"blue": 100})
    green = kube.get("deployments", NS, "fraud-green")
    assert green is not None
    green["metadata"]["annotations"]["modelship.io/replicas"] = edited
    kube.create(green)  # someone ran kubectl annotate
    before = len(kube.writes())
    # "\u00b2" (a superscript two) passes str.isdigit() but not int().
    with pytest.raises(KubernetesError, match=r"modelship.io/replicas=.*set it back"):
        dep.set_traffic({"blue": 50, "green": 50})
    assert len(kube.writes()) == before


def test_weights_through_an_http_route_are_exact(kube: FakeKube, make_deployer: Make) -> None:
    dep = make_deployer(traffic="httproute", gateway="public")
    start(dep, "blue", "1")
    start(dep, "green", "2")
    dep.set_traffic({"blue": 97, "green": 3})
    route = kube.get("httproutes", NS, "fraud")
    assert route is not None
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"name": "fraud-blue", "port": 80, "weight": 97},
        {"name": "fraud-green", "port": 80, "weight": 3},
    ]
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 97, "green": 3}


def test_a_slot_without_traffic_is_left_out_of_the_http_route(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer(traffic="httproute", gateway="public")
    start(dep, "blue", "1")
    start(dep, "green", "2")
    dep.set_traffic({"blue": 0, "green": 100})
    route = kube.get("httproutes", NS, "fraud")
    assert route is not None
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"name": "fraud-green", "port": 80, "weight": 100}
    ]
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 0, "green": 100}
    before = len(kube.writes())
    dep.remove("blue")
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in kube.writes()[before:]] == [
        ("DELETE", "fraud-blue"),
        ("DELETE", "fraud-blue"),
    ]


def test_removing_a_slot_an_old_route_still_names_drops_it_from_the_route_first(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer(traffic="httproute", gateway="public")
    start(dep, "blue", "1")
    start(dep, "green", "2")
    dep.set_traffic({"green": 100})
    route = kube.get("httproutes", NS, "fraud")
    assert route is not None
    route["spec"]["rules"][0]["backendRefs"].append({"name": "fraud-blue", "port": 80, "weight": 0})
    kube.create(route, manager="modelship")  # as a release that kept weight-0 refs wrote it
    before = len(kube.writes())
    dep.remove("blue")
    writes = [(r.method, r.path.rsplit("/", 2)[-2]) for r in kube.writes()[before:]]
    assert writes == [("PATCH", "httproutes"), ("DELETE", "deployments"), ("DELETE", "services")]
    after = kube.get("httproutes", NS, "fraud")
    assert after is not None
    assert [r["name"] for r in after["spec"]["rules"][0]["backendRefs"]] == ["fraud-green"]


def test_health_goes_through_the_services_proxy(kube: FakeKube, make_deployer: Make) -> None:
    dep = make_deployer()
    start(dep, "blue", "1")
    assert dep.health("blue").healthy
    kube.unhealthy({"modelship.io/version": "1"})
    health = dep.health("blue")
    assert not health.healthy
    assert "500" in health.detail


def test_remove_refuses_a_slot_with_traffic_and_deletes_an_idle_one(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1")
    start(dep, "green", "2")
    dep.set_traffic({"blue": 100})
    with pytest.raises(SlotInUse):
        dep.remove("blue")
    dep.remove("green")
    assert kube.get("deployments", NS, "fraud-green") is None
    assert kube.get("services", NS, "fraud-green") is None


def test_replicas_are_never_sent_for_a_deployment_an_autoscaler_owns(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1")
    kube.create(hpa("fraud-blue"), manager="kubectl")
    dep.apply("blue", "fraud", "2")
    ours = [
        r for r in kube.requests if r.method == "PATCH" and r.query["fieldManager"] == "modelship"
    ]
    assert "replicas" in ours[0].body["spec"]
    assert "replicas" not in ours[-2].body["spec"]  # the second apply's Deployment


def test_replicas_are_not_sent_even_on_the_first_apply_when_an_autoscaler_waits_for_it(
    kube: FakeKube, make_deployer: Make
) -> None:
    kube.create(hpa("fraud-blue"), manager="kubectl")
    make_deployer().apply("blue", "fraud", "1")
    (sent,) = [r.body for r in kube.writes() if r.body.get("kind") == "Deployment"]
    assert "replicas" not in sent["spec"]
    live = kube.get("deployments", NS, "fraud-blue")
    assert live is not None
    ours = [m for m in live["metadata"]["managedFields"] if m["manager"] == "modelship"]
    assert "f:replicas" not in ours[0]["fieldsV1"]["f:spec"]


def test_an_autoscaler_for_another_deployment_does_not_stop_replicas_being_sent(
    kube: FakeKube, make_deployer: Make
) -> None:
    kube.create(hpa("fraud-green"), manager="kubectl")
    make_deployer().apply("blue", "fraud", "1")
    (sent,) = [r.body for r in kube.writes() if r.body.get("kind") == "Deployment"]
    assert sent["spec"]["replicas"] == 1


def test_handing_replicas_to_an_autoscaler_does_not_reset_them(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1")
    kube.create(hpa("fraud-blue"))
    live = kube.get("deployments", NS, "fraud-blue")
    assert live is not None
    live["spec"]["replicas"] = 1  # the autoscaler has not changed it yet: still ours alone
    dep.apply("blue", "fraud", "2")
    after = kube.get("deployments", NS, "fraud-blue")
    assert after is not None
    assert after["spec"]["replicas"] == 1
    managers = {m["manager"]: m["fieldsV1"] for m in after["metadata"]["managedFields"]}
    assert "f:replicas" not in managers["modelship"]["f:spec"]
    assert "f:replicas" in managers["modelship-handover"]["f:spec"]


def test_replicas_an_autoscaler_changed_survive_our_next_apply(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1")
    live = kube.get("deployments", NS, "fraud-blue")
    assert live is not None
    live["spec"]["replicas"] = 7
    kube.create(live, manager="kube-controller-manager")  # an update: it now owns replicas
    dep.apply("blue", "fraud", "2")
    after = kube.get("deployments", NS, "fraud-blue")
    assert after is not None
    assert after["spec"]["replicas"] == 7
    assert after["spec"]["template"]["metadata"]["labels"]["modelship.io/version"] == "2"


def test_a_replica_split_is_refused_when_an_autoscaler_owns_replicas(
    kube: FakeKube, make_deployer: Make
) -> None:
    from modelship.errors import ConfigError

    dep = make_deployer()
    start(dep, "blue", "1")
    start(dep, "green", "2")
    dep.set_traffic({"blue": 100})
    kube.create(hpa("fraud-blue"))
    with pytest.raises(ConfigError, match="httproute"):
        dep.set_traffic({"blue": 80, "green": 20})  # blue would need 4 replicas
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100, "green": 0}


def test_the_state_is_read_from_the_cluster_by_a_second_deployer(make_deployer: Make) -> None:
    first = make_deployer()
    start(first, "blue", "1")
    first.set_traffic({"blue": 100})
    second = make_deployer()
    assert json.dumps(second.state().to_dict()) == json.dumps(first.state().to_dict())


def test_a_terminating_endpoint_with_no_ready_condition_is_not_counted_ready() -> None:
    # The API reads a missing `ready` as ready, but never for an endpoint going away
    # (EndpointConditions: ready "should never be true for terminating endpoints").
    from modelship.deploy.kubernetes import ready_endpoints

    going = {"conditions": {"terminating": True}}
    assert (
        ready_endpoints(
            [{"endpoints": [going, {"conditions": {"serving": True, **going["conditions"]}}]}]
        )
        == 0
    )
    published = {"conditions": {"ready": True, "terminating": True}}  # publishNotReadyAddresses
    assert ready_endpoints([{"endpoints": [published, {}, {"conditions": None}]}]) == 3
