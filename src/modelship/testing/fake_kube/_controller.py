"""The fake's controllers: Deployments to ReplicaSets to Pods, Services to EndpointSlices.

One loop does, on a short tick, what kube-controller-manager, the scheduler and the
kubelets do between them, far faster: a Deployment whose pod template changed gets a new
ReplicaSet scaled to the desired count at once (a surge of 100%); old ReplicaSets are
scaled to zero once every new pod is available; a ReplicaSet scaled down deletes its
unready pods first, then the newest ready ones, as Kubernetes ranks them; pods turn
Running after ``pod_ready`` seconds (each container's ``containerStatuses`` entry
written as a kubelet writes it, or waiting with the kubelet's reason when its image says
so: see :func:`container_state`) and Ready then too, unless a test says they turn
Ready only some seconds after their creation (as a readinessProbe's
``initialDelaySeconds`` makes a real pod wait; :meth:`FakeKube.slow_ready`) or never do; the
Deployment's status counts them the way the deployment controller does (a count of 0 is
left out, as the API's ``omitempty`` fields are). Its conditions follow the deployment
controller's rules (``calculateStatus``, ``syncRolloutStatus``): ``Available`` once
``availableReplicas >= replicas - maxUnavailable`` (resolved from the strategy as
``ResolveFenceposts`` does); ``Progressing`` set to ``NewReplicaSetCreated`` when a pod
template change makes a new ReplicaSet (which starts the progress clock),
``ReplicaSetUpdated`` on progress (more updated, ready or available replicas, or fewer
old ones; each restarts the clock), ``NewReplicaSetAvailable`` once the rollout is
complete and ``ProgressDeadlineExceeded`` when ``progressDeadlineSeconds`` (times
``deadline_scale``) passes without progress, or at once when a test asks for it
(:meth:`FakeKube.exceed_progress_deadline`). Only a rollout times out: a complete
Deployment that is scaled keeps ``NewReplicaSetAvailable`` whether or not its new pods
turn Ready (as kubernetes/kubernetes#106697 describes), and a spec change that makes no
new ReplicaSet (replicas, the deadline) does not restart the clock or clear a
``ProgressDeadlineExceeded``: only progress, a complete rollout or a new ReplicaSet does.
A Deployment being deleted (a ``deletionTimestamp``, a finalizer holding it) only has its
status counted, as the deployment controller's ``syncStatusOnly`` does: a changed pod
template gets no new ReplicaSet (``updatedReplicas`` stays 0), no ReplicaSet is scaled and
``Progressing`` is left as it was.
EndpointSlices list the pods a Service selects, ready or not; objects whose owner is
gone are deleted. A Gateway controller (:data:`GATEWAY_CONTROLLER`) writes each
HTTPRoute's ``status.parents``: one entry of its own per parentRef with ``Accepted`` and
``ResolvedRefs`` conditions at the route's generation (``ResolvedRefs`` False,
``BackendNotFound``, while a backend Service is missing), other controllers' entries
kept; a test may make it refuse routes or stop answering (:meth:`FakeKube.refuse_routes`,
:meth:`FakeKube.silence_gateway`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelship._shown import ascii_number
from modelship.errors import ConfigError
from modelship.testing.fake_kube._fields import json_copy
from modelship.testing.fake_kube._store import (
    INT64_MAX,
    Store,
    canonical,
    match_labels,
    now_iso,
)

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
    progress; to test a deadline, :meth:`FakeKube.exceed_progress_deadline` is quicker);
    ``backoff``: the kubelet's back-off, between two restarts of a crash-looping container
    and between two pulls of an image that cannot be pulled (see :func:`container_state`).

    Examples
    --------
    >>> Timings().pod_ready
    0.02
    """

    tick: float = attrs.field(default=0.005, validator=lambda i, a, v: _seconds(a.name, v, 0.0))
    pod_ready: float = attrs.field(default=0.02, validator=lambda i, a, v: _seconds(a.name, v))
    deadline_scale: float = attrs.field(default=0.05, validator=lambda i, a, v: _seconds(a.name, v))
    backoff: float = attrs.field(default=0.1, validator=lambda i, a, v: _seconds(a.name, v, 0.0))


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


_COMPLETE = "NewReplicaSetAvailable"  # Progressing's reason once a rollout is complete
_TIMED_OUT = "ProgressDeadlineExceeded"
_NO_DEADLINE = 2**31 - 1  # progressDeadlineSeconds that turns the check off (math.MaxInt32)


def _deadline(spec: Mapping[str, Any]) -> float:
    """The Deployment's ``progressDeadlineSeconds`` (left out: the API server's default)."""
    return float(spec.get("progressDeadlineSeconds") or 600)


def _deleting(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is being deleted (a finalizer holds it): it has a
    ``deletionTimestamp``."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def _has_deadline(spec: Mapping[str, Any]) -> bool:
    """Whether the Deployment is checked for progress (``util.HasProgressDeadline``)."""
    return _deadline(spec) != _NO_DEADLINE


def _condition_of(status: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def _rolling_out(status: Mapping[str, Any]) -> bool:
    """Whether the Deployment's ``Progressing`` condition says a rollout is under way (its
    progress deadline may pass)."""
    condition = _condition_of(status, "Progressing")
    return (
        condition is not None
        and condition.get("status") == "True"
        and condition.get("reason") != _COMPLETE
    )


def _progressed(old: Mapping[str, Any], new: Mapping[str, int]) -> bool:
    """Whether the status ``new`` shows progress over ``old`` (``util.DeploymentProgressing``):
    more updated, ready or available replicas, or fewer old ones."""

    def was(key: str) -> int:
        return int(old.get(key) or 0)  # a count of 0 is left out of a status

    return (
        new["updatedReplicas"] > was("updatedReplicas")
        or new["replicas"] - new["updatedReplicas"] < was("replicas") - was("updatedReplicas")
        or new["readyReplicas"] > was("readyReplicas")
        or new["availableReplicas"] > was("availableReplicas")
    )


def _scaled(value: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent of the strategy, resolved against ``total`` replicas
    (``intstr.GetScaledValueFromIntOrPercent``): ``"25%"`` of 2 is 1 rounded up, 0 down."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    percent = ascii_number(value[:-1], 19) if isinstance(value, str) and value[-1:] == "%" else None
    if percent is not None and percent <= INT64_MAX:  # strconv.Atoi: a range error past it
        return -(-percent * total // 100) if round_up else percent * total // 100
    raise ValueError(f"{value!r} is not a number of replicas or a percentage such as '25%'")


def _max_unavailable(spec: Mapping[str, Any], replicas: int) -> int:
    """How many of ``replicas`` may be unavailable while the Deployment is ``Available``
    (``deploymentutil.MaxUnavailable``): 0 for a ``Recreate`` strategy or 0 replicas; else
    maxUnavailable rounded down, 1 when both it and maxSurge (rounded up) come to 0
    (``ResolveFenceposts``), at most ``replicas``. A field left out is the API server's
    default, 25%. A percentage past int64 (which validation lets through as a maxSurge)
    is ResolveFenceposts' error, which MaxUnavailable reads as 0."""
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or replicas == 0:
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    try:
        surge = _scaled(rolling.get("maxSurge", "25%"), replicas, round_up=True)
        unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    except ValueError:
        return 0
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return min(unavailable, replicas)


def _deployment_condition(
    before: Mapping[str, Any] | None,
    kind: str,
    said: tuple[str, str, str],
    *,
    refresh: bool = False,
) -> dict[str, Any]:
    """A Deployment condition (``said``: its status, reason and message) set as
    ``util.SetDeploymentCondition`` does: one whose status and reason do not change is
    kept as it was (unless ``refresh``: progress seen, which updates its message and
    ``lastUpdateTime``); ``lastTransitionTime`` changes only with the status."""
    status, reason, message = said
    if (
        before is not None
        and (before.get("status"), before.get("reason")) == (status, reason)
        and not refresh
    ):
        return dict(before)
    when = now_iso()
    kept = before is not None and before.get("status") == status
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": when,
        "lastTransitionTime": before["lastTransitionTime"] if kept and before else when,
    }


_CONFIG_NAME = "model-config"  # the ConfigMap a `fail-config` image's container needs


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _crashes(container: Mapping[str, Any]) -> bool:
    """Whether ``container`` crash-loops: its image names ``fail-crash`` (the one place
    that says so: :func:`container_state` gives it restarts, and the controller never
    makes it Ready, as its readiness probe never passes between two exits)."""
    return "fail-crash" in str(container.get("image", ""))


def container_state(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    age: float,
    backoff: float,
    missing_config: str | None = None,
) -> dict[str, Any]:
    """A container's status (``status.containerStatuses[]``) as a kubelet writes it,
    ``age`` seconds after the kubelet first saw the pod; ``ready`` is left to the caller.

    What goes wrong is chosen by the container's image (documented in
    :class:`~modelship.testing.fake_kube.FakeKube`): a name containing ``fail-invalid``
    does not parse (``InvalidImageName``); ``fail-never-pull``, or ``fail-pull`` with
    ``imagePullPolicy: Never``, is not on the node (``ErrImageNeverPull``); ``fail-pull``
    cannot be pulled (``ErrImagePull``, then ``ImagePullBackOff`` until the next pull,
    every ``backoff`` seconds); ``fail-crash`` exits with code 1 every time it starts
    (running, then ``CrashLoopBackOff`` with ``lastState.terminated``, its
    ``restartCount`` one more every ``backoff`` seconds); ``missing_config`` names a
    ConfigMap the container needs that does not exist (``CreateContainerConfigError``,
    until it is created). The messages are the kubelet's.

    Examples
    --------
    >>> pod = {"metadata": {"name": "m-1", "namespace": "ns", "uid": "u1"}}
    >>> state = container_state(pod, {"name": "s", "image": "m:fail-crash"}, 0.35, 0.1)
    >>> state["restartCount"], state["state"]["waiting"]["reason"]
    (3, 'CrashLoopBackOff')
    >>> container_state(pod, {"name": "s", "image": "m:1"}, 0.0, 0.1)["state"].keys()
    dict_keys(['running'])
    """
    meta = pod["metadata"]
    name, image = str(container.get("name", "")), str(container.get("image", ""))
    pulled = f"docker.io/library/{image}" if "/" not in image.split(":", maxsplit=1)[0] else image
    out: dict[str, Any] = {
        "name": name,
        "image": image,
        "imageID": "",
        "ready": False,
        "started": False,
        "restartCount": 0,
        "lastState": {},
    }
    waiting: tuple[str, str] | None = None
    if "fail-invalid" in image:
        waiting = (
            "InvalidImageName",
            f'Failed to apply default image tag "{image}": couldn\'t parse image name '
            f'"{image}": invalid reference format',
        )
    elif "fail-never-pull" in image or (
        "fail-pull" in image and container.get("imagePullPolicy") == "Never"
    ):
        waiting = (
            "ErrImageNeverPull",
            f'Container image "{image}" is not present with pull policy of Never',
        )
    elif "fail-pull" in image:
        pulls = int(max(age, 0.0) / backoff)
        waiting = (
            ("ErrImagePull", f'rpc error: code = NotFound desc = failed to pull and unpack '
             f'image "{pulled}": failed to resolve reference "{pulled}": {pulled}: not found')
            if pulls % 2 == 0
            else ("ImagePullBackOff", f'Back-off pulling image "{pulled}"')
        )  # fmt: skip
    elif missing_config is not None:
        waiting = ("CreateContainerConfigError", f'configmap "{missing_config}" not found')
    if waiting is not None:
        out["state"] = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
        return out
    out["imageID"] = f"{pulled.rsplit(':', 1)[0]}@sha256:{_digest(image)}"
    restarts = int(max(age, 0.0) / backoff) if _crashes(container) else 0
    out["containerID"] = f"containerd://{_digest(str(meta.get('uid')), name, str(restarts))}"
    if restarts == 0:
        out["started"] = True
        out["state"] = {"running": {"startedAt": now_iso()}}
        return out
    when = now_iso()
    out["restartCount"] = restarts
    out["lastState"] = {
        "terminated": {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": when,
            "finishedAt": when,
            "containerID": f"containerd://{_digest(str(meta.get('uid')), name, str(restarts - 1))}",
        }
    }
    delay = min(10 * 2 ** (restarts - 1), 300)
    out["state"] = {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {delay}s restarting failed container={name} "
            f"pod={meta.get('name')}_{meta.get('namespace')}({meta.get('uid')})",
        }
    }
    return out


def _same_state(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a container status says what it said (its timestamps aside)."""

    def what(cs: Mapping[str, Any]) -> tuple[Any, ...]:
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        return (next(iter(state), None), waiting.get("reason"), cs.get("restartCount"))

    return what(old) == what(new)


def _stuck(pod: Mapping[str, Any]) -> bool:
    """Whether a pod's containers wait for something no timer of the fake ends (a pull
    that fails, a crash loop, a missing ConfigMap): its status changes at the slow pace
    of the idle loop, which is enough, rather than every tick."""
    return any(
        (cs.get("state") or {}).get("waiting")
        for cs in pod.get("status", {}).get("containerStatuses") or []
    )


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
        # deployment uid -> when (monotonic) its rollout last made progress, or made its
        # new ReplicaSet: the clock of its progress deadline
        self._progress: dict[str, float] = {}
        self._ip = 0
        self._skipped: set[tuple[str, str, str]] = set()  # (plural, name, rv), logged once
        self.gateway_answers = True  # False: the Gateway controller writes no route status
        self.route_refusal: tuple[str, str] | None = None  # (reason, message) of Accepted=False

    def pending(self) -> bool:
        """Whether a timer runs: a pod not yet Running or waiting out its delay before
        Ready, or a rollout not yet complete."""
        with self.store.lock:
            if any(
                (p.get("status", {}).get("phase") != "Running" and not _stuck(p))
                or self._waits_for_ready(p)
                for p in self.store.raw("pods")
            ):
                return True
            return any(_rolling_out(d.get("status") or {}) for d in self.store.raw("deployments"))

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
        if _deleting(dep):
            return  # syncStatusOnly: no new ReplicaSet, nothing scaled (see the module doc)
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        spec = dep["spec"]
        want = int(spec.get("replicas", 1))
        h = self._template_hash(dep)
        sets = [rs for rs in self.store.raw("replicasets", ns) if _owned_by(rs, dep)]
        new = next(
            (rs for rs in sets if rs["metadata"]["labels"].get("pod-template-hash") == h), None
        )
        if new is None:
            template = json_copy(spec["template"])
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
            self._rollout_started(dep, f"{name}-{h}")
            return
        if new["spec"]["replicas"] != want:
            changed = json_copy(new)
            changed["spec"]["replicas"] = want
            self.store.put(changed)
        ready_new = sum(1 for p in self._pods_of(new) if _pod_ready(p))
        if ready_new >= want:
            for old in sets:
                if old is not new and old["spec"]["replicas"] != 0:
                    changed = json_copy(old)
                    changed["spec"]["replicas"] = 0
                    self.store.put(changed)

    def _rollout_started(self, dep: dict[str, Any], rs_name: str) -> None:
        """A new ReplicaSet was made (the pod template changed): the progress clock starts
        and ``Progressing`` says so, whatever it said before (``ProgressDeadlineExceeded``
        too), as the deployment controller's ``getNewReplicaSet`` writes it."""
        self._progress[dep["metadata"]["uid"]] = time.monotonic()
        if not _has_deadline(dep["spec"]):
            return
        status = json_copy(dep.get("status") or {})
        created = ("True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"')
        status["conditions"] = [
            *(c for c in status.get("conditions", []) if c.get("type") != "Progressing"),
            _deployment_condition(_condition_of(status, "Progressing"), "Progressing", created),
        ]
        meta = dep["metadata"]
        self.store.write_status("deployments", meta["namespace"], meta["name"], status)

    def _deployment_status(self, dep: dict[str, Any]) -> None:
        """Count the Deployment's pods and set its conditions as the deployment controller
        does (``calculateStatus``, then ``syncRolloutStatus``)."""
        meta, spec = dep["metadata"], dep["spec"]
        ns, name = meta["namespace"], meta["name"]
        want = int(spec.get("replicas", 1))
        h = self._template_hash(dep)
        sets = [rs for rs in self.store.raw("replicasets", ns) if _owned_by(rs, dep)]
        pods = [p for rs in sets for p in self._pods_of(rs)]
        ready = sum(1 for p in pods if _pod_ready(p))
        counts = {
            "observedGeneration": meta["generation"],
            "replicas": len(pods),
            "updatedReplicas": sum(
                1 for p in pods if p["metadata"]["labels"].get("pod-template-hash") == h
            ),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": len(pods) - ready,
        }
        old = dep.get("status") or {}
        # calculateStatus: the conditions are carried over; Available follows the counts
        conditions = {c["type"]: c for c in json_copy(old.get("conditions", []))}
        available = ready >= want - _max_unavailable(spec, want)
        conditions["Available"] = _deployment_condition(
            conditions.get("Available"),
            "Available",
            ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            if available
            else (
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            ),
        )
        if not _has_deadline(spec):
            conditions.pop("Progressing", None)
        elif not _deleting(dep):  # syncStatusOnly leaves Progressing as it was
            new_rs = next(
                (rs for rs in sets if rs["metadata"]["labels"].get("pod-template-hash") == h),
                None,
            )
            which = (
                f'ReplicaSet "{new_rs["metadata"]["name"]}"'
                if new_rs is not None
                else f'Deployment "{name}"'
            )
            current = conditions.get("Progressing")
            said = self._progressing(dep, old, counts, current, which)
            if said is not None:
                refresh = said[1] == "ReplicaSetUpdated"  # progress seen: lastUpdateTime moves
                conditions["Progressing"] = _deployment_condition(
                    current, "Progressing", said, refresh=refresh
                )
        # Every count of apps/v1 DeploymentStatus is `omitempty`: a 0 is left out, and a
        # client reads None for it, as from a real API server.
        status: dict[str, Any] = {k: v for k, v in counts.items() if v}
        order = ["Available", "Progressing"]
        status["conditions"] = [conditions[k] for k in order if k in conditions] + [
            c for k, c in conditions.items() if k not in order
        ]
        self.store.write_status("deployments", ns, name, status)

    def _progressing(
        self,
        dep: Mapping[str, Any],
        old: Mapping[str, Any],
        counts: Mapping[str, int],
        current: Mapping[str, Any] | None,
        which: str,
    ) -> tuple[str, str, str] | None:
        """The ``Progressing`` condition (status, reason, message) ``syncRolloutStatus``
        sets from the new ``counts`` and the ``old`` status, or None to leave it as is.

        A complete Deployment (every replica updated, and ``current`` saying its rollout
        completed) is not checked: scaling it up keeps ``NewReplicaSetAvailable`` while
        its new pods start, or never turn Ready. Else: complete now; progress over ``old``
        (``DeploymentProgressing``: the clock restarts); or ``DeploymentTimedOut``: once
        ``ProgressDeadlineExceeded``, always so until one of those; never from a
        ``NewReplicaSetAvailable`` (no rollout is timed before it progresses); else when
        the clock passed ``progressDeadlineSeconds`` or a test said it did.
        """
        meta, spec = dep["metadata"], dep["spec"]
        uid, want = meta["uid"], int(spec.get("replicas", 1))
        reason = None if current is None else current.get("reason")
        total, updated = counts["replicas"], counts["updatedReplicas"]
        if total == updated and reason == _COMPLETE:
            return None
        if updated == total == counts["availableReplicas"] == want:
            return ("True", _COMPLETE, f"{which} has successfully progressed.")
        now = time.monotonic()
        if _progressed(old, counts):
            self._progress[uid] = now
            return ("True", "ReplicaSetUpdated", f"{which} is progressing.")
        if current is None or reason == _COMPLETE:
            return None
        since = self._progress.setdefault(uid, now)
        if (
            reason == _TIMED_OUT
            or self.deadline_exceeded(meta["namespace"], meta["name"])
            or now - since > _deadline(spec) * self.timings.deadline_scale
        ):
            return ("False", _TIMED_OUT, f"{which} has timed out progressing.")
        return None

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
                    "spec": json_copy(template["spec"]),
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
        status = json_copy(pod.get("status", {}))
        if "podIP" not in status:
            self._ip += 1
            status["podIP"] = f"10.244.{self._ip // 250}.{self._ip % 250 + 2}"
            status["hostIP"] = "192.168.49.2"
            status["startTime"] = now_iso()
        labels = meta.get("labels", {})
        # the delay holds back a pod's first Ready only, as initialDelaySeconds does
        waited = _pod_ready(pod) or age >= self.ready_after(labels)
        ok = waited and not self.never_ready(labels)
        before = {
            cs.get("name"): cs
            for cs in status.get("containerStatuses") or []
            if isinstance(cs, dict)
        }
        statuses = []
        for container in pod["spec"].get("containers") or []:
            missing = self._missing_config(meta["namespace"], container)
            cs = container_state(
                pod, container, age - self.timings.pod_ready, self.timings.backoff, missing
            )
            # a crash-looping server never passes its readiness probe between two exits
            cs["ready"] = ok and "running" in cs["state"] and not _crashes(container)
            old = before.get(cs["name"])
            if old is not None and _same_state(old, cs):
                cs = {**old, "ready": cs["ready"]}  # the kubelet rewrites no timestamps
            statuses.append(cs)
        unready = [cs["name"] for cs in statuses if not cs["ready"]]
        ok = ok and not unready
        status["containerStatuses"] = statuses
        # Pending until every container started once (a crash loop is Running: its
        # container did start), as the kubelet's getPhase has it.
        started = all(cs["state"].get("running") or cs["restartCount"] for cs in statuses)
        status["phase"] = "Running" if started else "Pending"
        status["conditions"] = [
            self._condition(
                pod.get("status", {}),
                "Ready",
                "True" if ok else "False",
                "" if ok else "ContainersNotReady",
                "" if ok else f"containers with unready status: [{' '.join(unready)}]",
            )
        ]
        self.store.write_status("pods", meta["namespace"], meta["name"], status)

    def _missing_config(self, namespace: str, container: Mapping[str, Any]) -> str | None:
        """The ConfigMap ``container`` needs that does not exist (its image names
        ``fail-config``: ConfigMap ``model-config``), or None."""
        if "fail-config" not in str(container.get("image", "")):
            return None
        if self.store.get("configmaps", namespace, _CONFIG_NAME) is not None:
            return None
        return _CONFIG_NAME

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
                    "parentRef": json_copy(parent),
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
