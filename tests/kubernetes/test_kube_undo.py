"""The undo window on the fake: the previous version waits at full size, one write away.

After a promotion (blue-green or canary, whatever the canary's steps did to the replica
counts) the previous slot runs exactly its spec's replica count until the window closes;
a rollback inside the window writes the client-facing object once (the Service, or the
HTTPRoute) and then only deletes the rolled-back slot.
"""

from __future__ import annotations

from _kube_helpers import FAST, NS, fast_retry
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from modelship.deploy import (
    Canary,
    CanaryStep,
    Container,
    DeploymentSpec,
    InMemoryHistory,
    KubernetesDeployer,
)
from modelship.deploy._rollout import Rollout
from modelship.testing.fake_kube import FakeKube

MODES = {"service": {}, "httproute": {"traffic": "httproute", "gateway": "public"}}
CLIENT_FACING = {"service": ("services", "fraud"), "httproute": ("httproutes", "fraud")}

step_plans = st.lists(st.integers(1, 99), min_size=1, max_size=3, unique=True).map(
    lambda ws: tuple(sorted(ws))
)


def canary(dep: KubernetesDeployer, spec: DeploymentSpec, steps: tuple[int, ...]) -> Canary:
    return Canary(
        dep,
        spec,
        steps=[CanaryStep(w) for w in steps],
        history=InMemoryHistory(),
        alias=None,
        progress_deadline=10.0,
        undo_window=600.0,
    )


def model_spec(replicas: int) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)],
        replicas=replicas,
    )


def promoted(
    kube: FakeKube, mode: str, steps: tuple[int, ...], replicas: int
) -> tuple[KubernetesDeployer, Rollout]:
    dep = KubernetesDeployer(
        NS,
        server=kube.url,
        registry_url="s3://models",
        app="fraud",
        retry=fast_retry(),
        request_timeout=2.0,
        **MODES[mode],  # type: ignore[arg-type]
    )
    spec = model_spec(replicas)
    canary(dep, spec, steps).deploy("fraud", "1")
    rollout = canary(dep, spec, steps).deploy("fraud", "2")
    return dep, rollout


def writes_since(kube: FakeKube, before: int) -> list[tuple[str, str, str]]:
    """The writes to the service's objects since ``before``; the rollout Lease's own writes
    (taken at the start, let go at the end) are checked on their own and left out."""
    writes = [
        (r.method, *r.path.rsplit("/", 2)[-2:])  # type: ignore[misc]
        for r in kube.writes()[before:]
    ]
    lease = [w for w in writes if w[1] == "leases"]
    assert lease == [("PUT", "leases", "fraud-rollout")] * 2, lease  # taken, let go
    assert writes[0] == writes[-1] == lease[0], "a write came before or after the lock's"
    return [w for w in writes if w[1] != "leases"]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mode=st.sampled_from(sorted(MODES)), steps=step_plans, replicas=st.integers(1, 4))
@example(mode="service", steps=(50, 75), replicas=2)  # the old slot was left at 1
@example(mode="service", steps=(20,), replicas=2)  # the old slot was left at 4
@example(mode="httproute", steps=(20, 50), replicas=2)
def test_a_canary_rollback_in_the_undo_window_is_one_traffic_write_to_a_full_size_slot(
    mode: str, steps: tuple[int, ...], replicas: int
) -> None:
    with FakeKube(timings=FAST) as kube:
        dep, rollout = promoted(kube, mode, steps, replicas)
        blue = kube.get("deployments", NS, "fraud-blue")
        assert blue is not None
        assert blue["spec"]["replicas"] == replicas, "the previous slot is not at full size"
        before = len(kube.writes())
        assert rollout.undo_window_open
        rollout.rollback()
        plural, name = CLIENT_FACING[mode]
        assert writes_since(kube, before) == [
            ("PATCH", plural, name),
            ("DELETE", "deployments", "fraud-green"),
            ("DELETE", "services", "fraud-green"),
        ]
        after = kube.get("deployments", NS, "fraud-blue")
        assert after is not None
        assert after["metadata"]["generation"] == blue["metadata"]["generation"]
        assert after["status"]["availableReplicas"] == replicas
        serving = dep.state().serving()
        assert serving is not None
        assert (serving.slot, serving.version, serving.weight) == ("blue", "1", 100)
        dep.close()


def test_the_previous_canary_slot_keeps_its_size_until_the_undo_window_closes() -> None:
    with FakeKube(timings=FAST) as kube:
        dep, rollout = promoted(kube, "service", (20,), 2)
        blue = kube.get("deployments", NS, "fraud-blue")
        assert blue is not None
        assert blue["spec"]["replicas"] == 2  # the 20 % step had it at 4
        assert dep.wait_ready("blue", 10)
        blue = kube.get("deployments", NS, "fraud-blue")
        assert blue is not None
        assert blue["status"]["availableReplicas"] == 2
        assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 0, "green": 100}
        rollout.finish()
        assert kube.get("deployments", NS, "fraud-blue") is None
        dep.close()
