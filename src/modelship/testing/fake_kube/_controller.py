"""The fake's controllers: Deployments to ReplicaSets to Pods, Services to EndpointSlices.

One loop does, on a short tick, what kube-controller-manager, the scheduler and the
kubelets do between them, far faster: a Deployment whose pod template changed gets a new
ReplicaSet scaled to the desired count at once (a surge of 100%); old ReplicaSets are
scaled to zero once every new pod is available; a ReplicaSet scaled down deletes its
unready pods first, then the newest ready ones, as Kubernetes ranks them; pods turn
Running after ``pod_ready`` seconds and Ready then too, unless a test says they turn
Ready only some seconds after their creation (as a readinessProbe's
``initialDelaySeconds`` makes a real pod wait; :meth:`FakeKube.slow_ready`) or never do; the
Deployment's status counts them the way the deployment controller does (a count of 0 is
left out, as the API's ``omitempty`` fields are), with the ``Progressing`` condition
turning ``ProgressDeadlineExceeded`` when ``progressDeadlineSeconds`` (times
``deadline_scale``) passes without progress (a spec change or a pod turning available
restarts the clock) or when a test asks for it.
EndpointSlices list the pods a Service selects, ready or not; objects whose owner is
gone are deleted. A Gateway controller (:data:`GATEWAY_CONTROLLER`) writes each
HTTPRoute's ``status.parents``: one entry of its own per parentRef with ``Accepted`` and
``ResolvedRefs`` conditions at the route's generation (``ResolvedRefs`` False,
``BackendNotFound``, while a backend Service is missing), other controllers' entries
kept; a test may make it refuse routes or stop answering (:meth:`FakeKube.refuse_routes`,
:meth:`FakeKube.silence_gateway`).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelship.errors import ConfigError
from modelship.testing.fake_kube._store import Store, canonical, match_labels, now_iso

_log = logging.getLogger("modelship.testing.fake_kube")

__all__ = ["GATEWAY_CONTROLLER", "Controller", "Timings"]

#: The ``controllerName`` the fake's Gateway controller writes into route status.
GATEWAY_CONTROLLER = "modelship.io/fake-gateway-controller"


@attrs.frozen
class Timings:
    """How fast the fake cluster moves (seconds of real time).

    ``tick``: controller loop period; ``pod_ready``: from pod creation to Ready;
    ``deadline_scale``: real seconds per second of a Deployment's
    ``progressDeadlineSeconds`` (0.05: a 600 s deadline passes in 30 s without
    progress; to test a deadline, :meth:`FakeKube.exceed_progress_deadline` is quicker).

    Examples
    --------
    >>> Timings().pod_ready
    0.02
    """

    tick: float = attrs.field(default=0.005, validator=lambda i, a, v: _seconds(a.name, v, 0.0))
    pod_ready: float = attrs.field(default=0.02, validator=lambda i, a, v: _seconds(a.name, v))
    deadline_scale: float = attrs.field(default=0.05, validator=lambda i, a, v: _seconds(a.name, v))


def _seconds(name: str, value: Any, above: float | None = None) -> None:
    """Refuse a :class:`Timings` value that is not a finite number >= 0 (``tick``: > 0)."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and (value > above if above is not None else value >= 0)
    )
    if not ok:
        bound = f"> {above}" if above is not None else ">= 0"
        raise ConfigError(f"Timings {name}={value!r} is not allowed; give a finite number {bound}")


def _owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    uid = owner["metadata"]["uid"]
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences", []))


def _owner_ref(owner: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _target_port(port: Mapping[str, Any], pods: list[dict[str, Any]]) -> int:
    """A Service port's target as a number (a named target is looked up in the pods)."""
    target = port.get("targetPort", port["port"])
    if isinstance(target, int):
        return target
    for pod in pods:
        for container in pod["spec"].get("containers", []):
            for cport in container.get("ports", []):
                if cport.get("name") == target:
                    return int(cport["containerPort"])
    return int(port["port"])


def _ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod's ``Ready`` condition when it is ``True``, else ``None``."""
    return next(
        (
            c
            for c in pod.get("status", {}).get("conditions", [])
            if c.get("type") == "Ready" and c.get("status") == "True"
        ),
        None,
    )


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    return _ready_condition(pod) is not None


def _ready_since(pod: Mapping[str, Any]) -> str:
    condition = _ready_condition(pod)
    return "" if condition is None else str(condition.get("lastTransitionTime", ""))


def _deletion_order(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pods in the order a ReplicaSet scaling down deletes them, as Kubernetes ranks them.

    The ReplicaSet controller (``ActivePodsWithRanks``) deletes pods that are not ready
    first, then those ready for the shortest time, then the newest: scaling down never
    takes a ready pod while an unready one is left. (Each sort is stable, so the last one
    decides first.)
    """
    ranked = sorted(pods, key=lambda p: str(p["metadata"].get("creationTimestamp", "")))
    ranked.reverse()  # the newest first
    ranked.sort(key=_ready_since, reverse=True)  # ready for the shortest time first
    ranked.sort(key=_pod_ready)  # not ready (False) first
    return ranked


class Controller:
    """Drives the objects of a :class:`Store` towards their spec (see the module doc)."""

    def __init__(
        self,
        store: Store,
        timings: Timings,
        never_ready: Callable[[Mapping[str, str]], bool],
        deadline_exceeded: Callable[[str, str], bool],
        ready_after: Callable[[Mapping[str, str]], float] = lambda labels: 0.0,
    ) -> None:
        self.store = store
        self.timings = timings
        self.never_ready = never_ready
        self.deadline_exceeded = deadline_exceeded
        # seconds from a pod's creation before it may turn Ready (its labels decide)
        self.ready_after = ready_after
        self._born: dict[str, float] = {}  # pod uid -> monotonic creation time
        # deployment uid -> (template hash/generation, when it last made progress)
        self._progress: dict[str, tuple[str, float]] = {}
        self._ready_seen: dict[str, int] = {}
        self._ip = 0
        self._skipped: set[tuple[str, str, str]] = set()  # (plural, name, rv), logged once
        self.gateway_answers = True  # False: the Gateway controller writes no route status
        self.route_refusal: tuple[str, str] | None = None  # (reason, message) of Accepted=False

    def pending(self) -> bool:
        """Whether a timer runs: a pod not yet Running or waiting out its delay before
        Ready, or a rollout not yet complete."""
        with self.store.lock:
            if any(
                p.get("status", {}).get("phase") != "Running" or self._waits_for_ready(p)
                for p in self.store.raw("pods")
            ):
                return True
            return any(
                next(
                    (c["reason"] for c in (d.get("status") or {}).get("conditions", [])
                     if c["type"] == "Progressing"),
                    "",
                ) == "ReplicaSetUpdated"
                for d in self.store.raw("deployments")
            )  # fmt: skip

    def reconcile(self) -> None:
        """One pass over every kind the fake drives.

        An object the pass cannot handle (one a test wrote straight into the store, in a
        shape the API server would have refused) is logged and skipped: the controller
        keeps driving every other object, as a real one does.
        """
        with self.store.lock:
            self._collect_garbage()
            for plural, step in (
                ("deployments", self._deployment),
                ("replicasets", self._replicaset),
                ("pods", self._pod),
                ("deployments", self._deployment_status),
                ("services", self._endpoints),
                ("httproutes", self._route_status),
            ):
                for obj in self.store.raw(plural):
                    try:
                        step(obj)
                    except Exception:  # one bad object must not stop the controller
                        meta = obj.get("metadata") or {}
                        seen = (plural, str(meta.get("name")), str(meta.get("resourceVersion")))
                        if seen not in self._skipped:
                            self._skipped.add(seen)
                            _log.exception("fake controller: skipped %s %s", plural, seen[1])

    # --- deployments ----------------------------------------------------------------------

    @staticmethod
    def _template_hash(dep: Mapping[str, Any]) -> str:
        return hashlib.sha256(canonical(dep["spec"]["template"]).encode()).hexdigest()[:10]

    def _deployment(self, dep: dict[str, Any]) -> None:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        spec = dep["spec"]
        want = int(spec.get("replicas", 1))
        h = self._template_hash(dep)
        uid = dep["metadata"]["uid"]
        marker = f"{h}/{dep['metadata']['generation']}"  # any spec change restarts the clock
        if self._progress.get(uid, ("", 0.0))[0] != marker:
            self._progress[uid] = (marker, time.monotonic())
        sets = [rs for rs in self.store.raw("replicasets", ns) if _owned_by(rs, dep)]
        new = next(
            (rs for rs in sets if rs["metadata"]["labels"].get("pod-template-hash") == h), None
        )
        if new is None:
            template = copy.deepcopy(spec["template"])
            labels = {**template.get("metadata", {}).get("labels", {}), "pod-template-hash": h}
            template.setdefault("metadata", {})["labels"] = labels
            revision = 1 + len(sets)
            self.store.put(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{name}-{h}",
                        "namespace": ns,
                        "labels": labels,
                        "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                        "ownerReferences": [_owner_ref(dep)],
                    },
                    "spec": {
                        "replicas": want,
                        "selector": {"matchLabels": labels},
                        "template": template,
                    },
                    "status": {"replicas": 0},
                }
            )
            return
        if new["spec"]["replicas"] != want:
            changed = copy.deepcopy(new)
            changed["spec"]["replicas"] = want
            self.store.put(changed)
        ready_new = sum(1 for p in self._pods_of(new) if _pod_ready(p))
        if ready_new >= want:
            for old in sets:
                if old is not new and old["spec"]["replicas"] != 0:
                    changed = copy.deepcopy(old)
                    changed["spec"]["replicas"] = 0
                    self.store.put(changed)

    def _deployment_status(self, dep: dict[str, Any]) -> None:
        ns = dep["metadata"]["namespace"]
        want = int(dep["spec"].get("replicas", 1))
        h = self._template_hash(dep)
        sets = [rs for rs in self.store.raw("replicasets", ns) if _owned_by(rs, dep)]
        pods = [p for rs in sets for p in self._pods_of(rs)]
        new_pods = [p for p in pods if p["metadata"]["labels"].get("pod-template-hash") == h]
        ready = sum(1 for p in pods if _pod_ready(p))
        updated = len(new_pods)
        complete = updated == want and len(pods) == want and ready == want
        uid = dep["metadata"]["uid"]
        marker, since = self._progress.get(uid, ("", time.monotonic()))
        if ready > self._ready_seen.get(uid, 0):  # progress: a pod became available
            since = time.monotonic()
            self._progress[uid] = (marker, since)
        self._ready_seen[uid] = ready
        deadline = float(dep["spec"].get("progressDeadlineSeconds", 600))
        old = dep.get("status", {})
        old_progressing: Mapping[str, Any] = next(
            (c for c in old.get("conditions", []) if c["type"] == "Progressing"), {}
        )
        exceeded = not complete and (
            self.deadline_exceeded(ns, dep["metadata"]["name"])
            or time.monotonic() - since > deadline * self.timings.deadline_scale
            or (
                old_progressing.get("reason") == "ProgressDeadlineExceeded"
                and old.get("observedGeneration") == dep["metadata"]["generation"]
            )
        )
        if complete:
            progressing = (
                "True",
                "NewReplicaSetAvailable",
                "ReplicaSet has successfully progressed.",
            )
        elif exceeded:
            progressing = (
                "False",
                "ProgressDeadlineExceeded",
                "ReplicaSet has timed out progressing.",
            )
        else:
            progressing = ("True", "ReplicaSetUpdated", "ReplicaSet is progressing.")
        available = ready >= max(1, want - max(1, want // 4)) if want else True
        conditions = [
            self._condition(
                old,
                "Available",
                "True" if available else "False",
                "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if available
                else "Deployment does not have minimum availability.",
            ),
            self._condition(old, "Progressing", *progressing),
        ]
        counts = {
            "observedGeneration": dep["metadata"]["generation"],
            "replicas": len(pods),
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": len(pods) - ready,
        }
        # Every count of apps/v1 DeploymentStatus is `omitempty`: a 0 is left out, and a
        # client reads None for it, as from a real API server.
        status: dict[str, Any] = {k: v for k, v in counts.items() if v}
        status["conditions"] = conditions
        self.store.write_status("deployments", ns, dep["metadata"]["name"], status)

    @staticmethod
    def _condition(
        old: Mapping[str, Any], kind: str, status: str, reason: str, message: str
    ) -> dict[str, Any]:
        before = next((c for c in old.get("conditions", []) if c["type"] == kind), None)
        same = before is not None and (before["status"], before["reason"]) == (status, reason)
        when = before["lastTransitionTime"] if same and before else now_iso()
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastUpdateTime": when,
            "lastTransitionTime": when,
        }

    # --- replica sets and pods ------------------------------------------------------------

    def _pods_of(self, rs: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [p for p in self.store.raw("pods", rs["metadata"]["namespace"]) if _owned_by(p, rs)]

    def _replicaset(self, rs: dict[str, Any]) -> None:
        ns = rs["metadata"]["namespace"]
        pods = self._pods_of(rs)
        want = int(rs["spec"]["replicas"])
        for extra in _deletion_order(pods)[: max(0, len(pods) - want)]:
            self.store.delete("pods", ns, extra["metadata"]["name"])
        for _ in range(want - len(pods)):
            template = rs["spec"]["template"]
            suffix = hashlib.sha256(f"{rs['metadata']['uid']}{self.store.rv}".encode()).hexdigest()[
                :5
            ]
            pod = self.store.put(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{rs['metadata']['name']}-{suffix}",
                        "namespace": ns,
                        "labels": dict(template["metadata"]["labels"]),
                        "annotations": dict(template["metadata"].get("annotations", {})),
                        "ownerReferences": [_owner_ref(rs)],
                    },
                    "spec": copy.deepcopy(template["spec"]),
                    "status": {"phase": "Pending"},
                }
            )
            self._born[pod["metadata"]["uid"]] = time.monotonic()
        pods = self._pods_of(rs)
        ready = sum(1 for p in pods if _pod_ready(p))
        counts = {
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"],
        }
        # apps/v1 ReplicaSetStatus: replicas is always written, its other counts are
        # `omitempty` (a 0 is left out).
        status = {"replicas": len(pods), **{k: v for k, v in counts.items() if v}}
        self.store.write_status("replicasets", ns, rs["metadata"]["name"], status)

    def _waits_for_ready(self, pod: Mapping[str, Any]) -> bool:
        """Whether ``pod`` is not Ready only because its delay before Ready still runs."""
        meta = pod["metadata"]
        born = self._born.get(meta["uid"])
        labels = meta.get("labels", {})
        return (
            born is not None
            and not _pod_ready(pod)
            and not self.never_ready(labels)
            and time.monotonic() - born < self.ready_after(labels)
        )

    def _pod(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        born = self._born.setdefault(meta["uid"], time.monotonic())
        age = time.monotonic() - born
        if age < self.timings.pod_ready:
            return
        status = copy.deepcopy(pod.get("status", {}))
        if "podIP" not in status:
            self._ip += 1
            status["podIP"] = f"10.244.{self._ip // 250}.{self._ip % 250 + 2}"
            status["hostIP"] = "192.168.49.2"
            status["startTime"] = now_iso()
        labels = meta.get("labels", {})
        # the delay holds back a pod's first Ready only, as initialDelaySeconds does
        waited = _pod_ready(pod) or age >= self.ready_after(labels)
        ok = waited and not self.never_ready(labels)
        status["phase"] = "Running"
        status["conditions"] = [
            self._condition(
                pod.get("status", {}),
                "Ready",
                "True" if ok else "False",
                "" if ok else "ContainersNotReady",
                "" if ok else "containers with unready status: [model-server]",
            )
        ]
        self.store.write_status("pods", meta["namespace"], meta["name"], status)

    # --- services -------------------------------------------------------------------------

    def _endpoints(self, svc: dict[str, Any]) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        selector = svc["spec"].get("selector")
        if not selector:
            return
        pods = [
            p
            for p in self.store.raw("pods", ns)
            if match_labels(p["metadata"].get("labels", {}), selector)
            and "podIP" in p.get("status", {})
        ]
        endpoints = [
            {
                "addresses": [p["status"]["podIP"]],
                "conditions": {
                    "ready": _pod_ready(p),
                    "serving": _pod_ready(p),
                    "terminating": False,
                },
                "targetRef": {
                    "kind": "Pod",
                    "name": p["metadata"]["name"],
                    "namespace": ns,
                    "uid": p["metadata"]["uid"],
                },
                "nodeName": "fake-node",
            }
            for p in pods
        ]
        ports = [
            {
                "name": port.get("name", ""),
                "port": _target_port(port, pods),
                "protocol": port.get("protocol", "TCP"),
            }
            for port in svc["spec"].get("ports", [])
        ]
        slice_name = f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:5]}"
        existing = self.store.objects.get(("endpointslices", ns, slice_name))
        if existing is not None and (existing["endpoints"], existing["ports"]) == (
            endpoints,
            ports,
        ):
            return
        self.store.put(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": slice_name,
                    "namespace": ns,
                    "labels": {
                        "kubernetes.io/service-name": name,
                        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    },
                    "ownerReferences": [_owner_ref(svc)],
                },
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": ports,
            }
        )

    # --- the Gateway controller -----------------------------------------------------------

    def _route_status(self, route: dict[str, Any]) -> None:
        """Write the route's ``status.parents`` as a Gateway controller does: for every
        parentRef, ``Accepted`` and ``ResolvedRefs`` at the route's current generation.

        Only the entries of :data:`GATEWAY_CONTROLLER` are replaced: those of other
        controllers (other Gateways' implementations, or one no longer running) are kept
        as they are, as a real controller keeps them.
        """
        if not self.gateway_answers:
            return
        meta = route["metadata"]
        ns, generation = meta["namespace"], meta.get("generation", 1)
        spec = route.get("spec") or {}
        before = (route.get("status") or {}).get("parents") or []
        missing = sorted(
            {
                ref["name"]
                for rule in spec.get("rules") or []
                for ref in rule.get("backendRefs") or []
                if ref.get("kind", "Service") == "Service"
                and self.store.get("services", ref.get("namespace", ns), ref["name"]) is None
            }
        )
        refusal = self.route_refusal
        mine = [p for p in before if p.get("controllerName") == GATEWAY_CONTROLLER]
        parents = [p for p in before if p.get("controllerName") != GATEWAY_CONTROLLER]
        for parent in spec.get("parentRefs") or []:
            old: Mapping[str, Any] = next((p for p in mine if p.get("parentRef") == parent), {})
            accepted = (
                ("True", "Accepted", "the route is attached to the Gateway")
                if refusal is None
                else ("False", *refusal)
            )
            resolved = (
                ("True", "ResolvedRefs", "every backendRef resolves")
                if not missing
                else ("False", "BackendNotFound", f"no Service {', '.join(missing)} in {ns}")
            )
            parents.append(
                {
                    "parentRef": copy.deepcopy(parent),
                    "controllerName": GATEWAY_CONTROLLER,
                    "conditions": [
                        _route_condition(old, "Accepted", accepted, generation),
                        _route_condition(old, "ResolvedRefs", resolved, generation),
                    ],
                }
            )
        self.store.write_status("httproutes", ns, meta["name"], {"parents": parents})

    def _collect_garbage(self) -> None:
        uids = {obj["metadata"]["uid"] for obj in self.store.objects.values()}
        for (plural, ns, name), obj in list(self.store.objects.items()):
            refs = obj["metadata"].get("ownerReferences", [])
            if refs and not any(ref.get("uid") in uids for ref in refs):
                self.store.delete(plural, ns, name)
                self._born.pop(obj["metadata"]["uid"], None)


def _route_condition(
    old: Mapping[str, Any], kind: str, said: tuple[str, str, str], generation: int
) -> dict[str, Any]:
    """A ``metav1.Condition`` of a route's parent status, ``said`` being its status,
    reason and message (its transition time kept while its status and reason stay)."""
    status, reason, message = said
    before = next((c for c in old.get("conditions") or [] if c.get("type") == kind), None)
    same = before is not None and (before["status"], before["reason"]) == (status, reason)
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": before["lastTransitionTime"] if same and before else now_iso(),
    }
