"""When a slot is ready: ``kubectl rollout status`` semantics, then ready endpoints.

A Deployment has rolled out when the controller has seen its latest spec
(``observedGeneration`` caught up), every desired replica is updated, no old replica is
left, and every updated replica is available. ``ProgressDeadlineExceeded`` is a failure,
reported at once, not something to wait out, and so is a Deployment being deleted (a
``deletionTimestamp``, a finalizer holding it): the deployment controller only counts its
status (``syncStatusOnly``), so it never rolls out. The messages are kubectl's.

While a rollout is not done, what keeps its new pods from turning Ready is what
``kubectl describe pod`` shows: each container's ``state.waiting`` reason and message,
its ``restartCount`` and ``lastState.terminated`` (:func:`pod_waits`); some reasons will
not fix themselves (:meth:`PodWait.hopeless`), and a wait fails on them at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from modelship._shown import printable

__all__ = [
    "CRASH_LOOP_RESTARTS",
    "PULL_FAILURE_SECONDS",
    "PodWait",
    "Progress",
    "being_deleted",
    "new_replicaset_hash",
    "pod_waits",
    "ready_endpoints",
    "rollout_progress",
]


@attrs.frozen
class Progress:
    """Where a Deployment's rollout is: ``done``, ``failed``, and kubectl's message.

    Examples
    --------
    >>> Progress(done=False, failed=True, message="exceeded its progress deadline").failed
    True
    """

    done: bool
    failed: bool
    message: str


def rollout_progress(deployment: Mapping[str, Any]) -> Progress:
    """How far a Deployment (as the API returns it) has rolled out.

    Examples
    --------
    >>> dep = {"metadata": {"name": "m", "generation": 2},
    ...        "spec": {"replicas": 2},
    ...        "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2,
    ...                   "availableReplicas": 2}}
    >>> rollout_progress(dep).message
    'Waiting for deployment "m" rollout to finish: 1 old replicas are pending termination...'
    >>> dep["status"]["replicas"] = 2
    >>> rollout_progress(dep)
    Progress(done=True, failed=False, message='deployment "m" successfully rolled out')
    """
    meta = deployment.get("metadata", {})
    name = meta.get("name", "?")
    spec = deployment.get("spec", {})
    status = deployment.get("status") or {}
    deleting = being_deleted(deployment, "Deployment")
    if deleting is not None:
        # syncStatusOnly: no new ReplicaSet is made, nothing is scaled; once its last
        # finalizer goes, so does the Deployment, with its pods.
        return Progress(
            False,
            True,
            f"{deleting}: the deployment controller rolls out nothing in a Deployment being "
            "deleted; wait until it is gone or remove the finalizer, then deploy again",
        )
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return Progress(False, False, "Waiting for deployment spec update to be observed...")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Progress(False, True, f'deployment "{name}" exceeded its progress deadline')
    desired = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    total = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    wait = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < desired:
        wait += f"{updated} out of {desired} new replicas have been updated..."
    elif total > updated:
        wait += f"{total - updated} old replicas are pending termination..."
    elif available < updated:
        wait += f"{available} of {updated} updated replicas are available..."
    else:
        return Progress(True, False, f'deployment "{name}" successfully rolled out')
    return Progress(False, False, wait + _replica_failure(status))


def being_deleted(obj: Mapping[str, Any], kind: str) -> str | None:
    """What says ``obj`` (a ``kind`` as the API returns it) is being deleted: its
    ``deletionTimestamp`` and the finalizers that hold it; None if it is not.

    Examples
    --------
    >>> dep = {"metadata": {"name": "fraud-blue", "deletionTimestamp": "2026-01-02T03:04:05Z",
    ...                     "finalizers": ["example.com/hold"]}}
    >>> print(being_deleted(dep, "Deployment"))  # doctest: +NORMALIZE_WHITESPACE
    Deployment fraud-blue is being deleted (since 2026-01-02T03:04:05Z, held by finalizers:
    example.com/hold)
    >>> being_deleted({"metadata": {"name": "fraud-blue"}}, "Deployment") is None
    True
    """
    meta = obj.get("metadata") or {}
    since = meta.get("deletionTimestamp")
    if not since:
        return None
    held = [_said(f) for f in _list(meta.get("finalizers"))[:10] if isinstance(f, str)]
    holds = f"held by finalizers: {', '.join(held)}" if held else "no finalizer holds it"
    name = _said(meta.get("name")) or "?"
    return f"{kind} {name} is being deleted (since {_said(since)}, {holds})"


def _replica_failure(status: Mapping[str, Any]) -> str:
    """The Deployment's ``ReplicaFailure`` condition when it is ``True`` (a ReplicaSet
    could not create or delete pods: a quota, an admission webhook; the controller
    copies it from the ReplicaSet), as a note to a wait's message, else "".

    Not a failure of the rollout: the controller retries, and drops the condition once
    it succeeds (a quota freed as old pods end); kubectl waits on, as a wait does.
    """
    for cond in status.get("conditions") or []:
        if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
            # The cluster's text (a webhook's author writes it): cut and escaped, so it
            # can neither flood a message nor forge a line of a log.
            reason, message = _said(cond.get("reason")) or "?", _said(cond.get("message"))
            return f" (ReplicaFailure: {reason}" + (f": {message})" if message else ")")
    return ""


_SAID = 300  # characters of a condition's text a message quotes


def _said(text: object) -> str:
    """A condition's ``reason`` or ``message`` as a message quotes it: text only, at most
    :data:`_SAID` characters, what is not printable escaped.

    Examples
    --------
    >>> print(_said("denied" + chr(10) + "forged line"))
    denied\\nforged line
    >>> _said(None), len(_said("x" * 10_000))
    ('', 300)
    """
    if not isinstance(text, str):
        return ""
    # Cut before escaping (one character more, to know it was cut): escaping a megabyte
    # to keep 300 characters of it would cost seconds.
    shown = printable(text[: _SAID + 1])
    return shown if len(shown) <= _SAID else shown[: _SAID - 3] + "..."


def ready_endpoints(slices: Iterable[Mapping[str, Any]]) -> int:
    """How many endpoints of these EndpointSlices are ready (a missing ``ready`` counts,
    unless the endpoint is terminating).

    The API documents a missing ``conditions.ready`` as an unknown state most consumers
    read as ready, and says ``ready`` "should never be true for terminating endpoints"
    unless the Service publishes not-ready addresses: a terminating endpoint counts only
    when its ``ready`` is ``true`` itself.

    Examples
    --------
    >>> ready_endpoints([{"endpoints": [{"conditions": {"ready": True}},
    ...                                 {"conditions": {"ready": False}}, {},
    ...                                 {"conditions": {"terminating": True}}]}])
    2
    """
    return sum(1 for s in slices for ep in s.get("endpoints") or [] if _ready(ep))


def _ready(endpoint: Mapping[str, Any]) -> bool:
    conditions = endpoint.get("conditions") or {}
    ready = conditions.get("ready")
    if ready is None:  # unknown: ready, unless the endpoint is going away
        return conditions.get("terminating") is not True
    return ready is not False


# --- why a rollout's pods are not Ready ---------------------------------------------------

#: A crash-looping container (``CrashLoopBackOff``) that restarted this many times will
#: not come up by waiting: the wait fails (the kubelet backs off 10 s, 20 s, 40 s..., so
#: it is about a minute into the loop; a model server that dies loading its model dies
#: every time).
CRASH_LOOP_RESTARTS = 3

#: A pod whose image pull failed (``ErrImagePull``, ``ImagePullBackOff``) in every read
#: of a wait for this many seconds fails the wait: by then the kubelet tried the pull
#: about three times (it backs off 10 s, then 20 s), so a registry's hiccup has passed,
#: and an image that does not exist or may not be pulled is reported rather than waited
#: out.
PULL_FAILURE_SECONDS = 60.0

# Waiting reasons that never fix themselves: the image reference does not parse, or it
# is not on the node and may not be pulled (imagePullPolicy: Never).
_HOPELESS = frozenset({"InvalidImageName", "ErrImageNeverPull"})
_PULL = frozenset({"ErrImagePull", "ImagePullBackOff"})
_CRASH = "CrashLoopBackOff"
# Waiting reasons of a container on its way up: not worth naming.
_QUIET = frozenset({"ContainerCreating", "PodInitializing"})
_PULL_ADVICE = (
    "check that the image and its tag exist and that the cluster may pull it "
    "(imagePullSecrets, registry access), then deploy again"
)
# What to do, by reason (a reason not here is named, and waited on).
_ADVICE = {
    "InvalidImageName": "the image reference does not parse: correct the image in the "
    "spec and deploy again",
    "ErrImageNeverPull": "the image is not on the node and its imagePullPolicy is Never: "
    "load the image on the nodes or change the policy, then deploy again",
    **dict.fromkeys(_PULL, _PULL_ADVICE),
    "CrashLoopBackOff": "the container keeps exiting: read its log (kubectl logs {pod} -c "
    "{container} --previous), fix the cause and deploy again",
}


@attrs.frozen
class PodWait:
    """A container of a pod that is not Ready, waiting for a reason its kubelet gives
    (``status.containerStatuses[].state.waiting``), or a pod the scheduler cannot place
    (``PodScheduled`` False, ``Unschedulable``: ``container`` is empty).

    ``pod``, ``container``, ``reason`` and ``message`` are cut and escaped as a wait's
    message quotes them (the cluster writes them); ``restarts`` is the container's
    ``restartCount``, ``last`` how it last ended (``lastState.terminated``: its reason and
    exit code), ``uid`` the pod's.

    Examples
    --------
    >>> wait = PodWait("m-1", "u1", "server", "CrashLoopBackOff", "back-off 40s", 3, "OOMKilled")
    >>> print(wait.text)
    pod m-1, container server: CrashLoopBackOff: back-off 40s (restarts: 3, last ended: OOMKilled)
    >>> wait.hopeless(pulling_for=0.0)
    True
    """

    pod: str
    uid: str
    container: str
    reason: str
    message: str
    restarts: int = 0
    last: str = ""

    @property
    def pulling(self) -> bool:
        """Whether its image pull fails (the kubelet backs off and tries again)."""
        return self.reason in _PULL

    def hopeless(self, pulling_for: float) -> bool:
        """Whether waiting on will not make the container run: a reason that never fixes
        itself, a crash loop :data:`CRASH_LOOP_RESTARTS` restarts long, or an image pull
        failing in every read for ``pulling_for`` >= :data:`PULL_FAILURE_SECONDS`.
        ``CreateContainerConfigError`` (a missing Secret or ConfigMap, which may still
        be created), ``Unschedulable`` (an autoscaler may add a node) and the rest are
        waited on."""
        if self.reason in _HOPELESS:
            return True
        if self.reason == _CRASH:
            return self.restarts >= CRASH_LOOP_RESTARTS
        return self.pulling and pulling_for >= PULL_FAILURE_SECONDS

    @property
    def text(self) -> str:
        """``pod P, container C: Reason: message (restarts: N, last ended: ...)``."""
        where = f"pod {self.pod}" + (f", container {self.container}" if self.container else "")
        said = f"{where}: {self.reason}" + (f": {self.message}" if self.message else "")
        notes = [f"restarts: {self.restarts}"] if self.restarts else []
        notes += [f"last ended: {self.last}"] if self.last else []
        return said + (f" ({', '.join(notes)})" if notes else "")

    @property
    def advice(self) -> str:
        """What to do about it ("" when the reason is not one this module knows)."""
        return _ADVICE.get(self.reason, "").format(pod=self.pod, container=self.container)


def pod_waits(pods: Iterable[Mapping[str, Any]]) -> list[PodWait]:
    """What keeps these pods (as the API returns them) from turning Ready: each container
    waiting for a reason other than being created (init containers first), and each pod
    the scheduler cannot place; pods Ready or being deleted are left out.

    Examples
    --------
    >>> pod = {"metadata": {"name": "m-1", "uid": "u1"},
    ...        "status": {"phase": "Pending", "containerStatuses": [
    ...            {"name": "server", "ready": False, "restartCount": 0,
    ...             "state": {"waiting": {"reason": "ImagePullBackOff",
    ...                                   "message": 'Back-off pulling image "m:9"'}}}]}}
    >>> [w.text for w in pod_waits([pod])]
    ['pod m-1, container server: ImagePullBackOff: Back-off pulling image "m:9"']
    """
    found: list[PodWait] = []
    for pod in pods:
        if not isinstance(pod, Mapping):
            continue
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        if not isinstance(meta, Mapping) or not isinstance(status, Mapping):
            continue
        conditions = [c for c in _list(status.get("conditions")) if isinstance(c, Mapping)]
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        if ready or meta.get("deletionTimestamp"):
            continue
        name, uid = _said(meta.get("name")) or "?", str(meta.get("uid") or "")
        for cond in conditions:
            if (cond.get("type"), cond.get("status"), cond.get("reason")) == (
                "PodScheduled",
                "False",
                "Unschedulable",
            ):
                found.append(PodWait(name, uid, "", "Unschedulable", _said(cond.get("message"))))
        for kind in ("initContainerStatuses", "containerStatuses"):
            for cs in _list(status.get(kind)):
                wait = _container_wait(name, uid, cs)
                if wait is not None:
                    found.append(wait)
    return found


def _container_wait(pod: str, uid: str, cs: object) -> PodWait | None:
    """A container status's wait (None: it is not waiting, or only being created)."""
    if not isinstance(cs, Mapping):
        return None
    state = cs.get("state") or {}
    waiting = state.get("waiting") if isinstance(state, Mapping) else None
    if not isinstance(waiting, Mapping):
        return None
    # A reason of another type (a list is not hashable: `in` a set would raise) says nothing.
    reason = _said(waiting.get("reason"))
    if not reason or reason in _QUIET:
        return None
    restarts = cs.get("restartCount")
    last = (
        (cs.get("lastState") or {}).get("terminated")
        if isinstance(cs.get("lastState"), Mapping)
        else None
    )
    ended = ""
    if isinstance(last, Mapping):
        code = last.get("exitCode")
        ended = ", ".join(
            part
            for part in (
                _said(last.get("reason")),
                f"exit code {code}" if isinstance(code, int) and not isinstance(code, bool) else "",
            )
            if part
        )
    return PodWait(
        pod,
        uid,
        _said(cs.get("name")) or "?",
        reason,
        _said(waiting.get("message")),
        restarts if isinstance(restarts, int) and not isinstance(restarts, bool) else 0,
        ended,
    )


def new_replicaset_hash(
    deployment: Mapping[str, Any], replicasets: Iterable[Mapping[str, Any]]
) -> str | None:
    """The ``pod-template-hash`` of the Deployment's new ReplicaSet (the one its rollout
    waits for), or None when there is none yet: as the deployment controller finds it
    (``FindNewReplicaSet``), the oldest ReplicaSet it owns whose pod template is the
    Deployment's, the hash label aside.

    Examples
    --------
    >>> dep = {"metadata": {"uid": "d1"}, "spec": {"template": {"metadata": {"labels":
    ...        {"app": "m"}}, "spec": {"containers": [{"name": "s", "image": "m:2"}]}}}}
    >>> rs = {"metadata": {"labels": {"app": "m", "pod-template-hash": "abc"},
    ...                    "ownerReferences": [{"uid": "d1", "controller": True}]},
    ...       "spec": {"template": {"metadata": {"labels": {"app": "m",
    ...                "pod-template-hash": "abc"}},
    ...                "spec": {"containers": [{"name": "s", "image": "m:2"}]}}}}
    >>> new_replicaset_hash(dep, [rs])
    'abc'
    """
    uid = _mapping(deployment.get("metadata")).get("uid")
    if not isinstance(uid, str) or not uid:
        return None
    want = _template(deployment)
    owned = [
        rs
        for rs in replicasets
        if isinstance(rs, Mapping)
        and any(
            isinstance(ref, Mapping) and ref.get("uid") == uid and ref.get("controller") is True
            for ref in _list(_mapping(rs.get("metadata")).get("ownerReferences"))
        )
        and _template(rs) == want
    ]
    owned.sort(key=lambda rs: str(_mapping(rs.get("metadata")).get("creationTimestamp", "")))
    for rs in owned:
        labels = _mapping(_mapping(rs.get("metadata")).get("labels"))
        value = labels.get("pod-template-hash")
        if isinstance(value, str) and value:
            return value
    return None


def _template(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """An object's pod template without its ``pod-template-hash`` label (a spec, template
    or metadata of another type than an object counts as empty), to compare only: it
    shares all but the dicts on the way to that label with ``obj`` (a wait compares up
    to :data:`~._deployer._POD_READ_LIMIT` ReplicaSets every few seconds: copying their
    templates whole would cost more than the comparison).

    Examples
    --------
    >>> rs = {"spec": {"template": {"metadata": {"labels": {"app": "m",
    ...       "pod-template-hash": "abc"}}, "spec": {"containers": []}}}}
    >>> _template(rs)
    {'metadata': {'labels': {'app': 'm'}}, 'spec': {'containers': []}}
    >>> rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"]  # not changed
    'abc'
    """
    template = _mapping(_mapping(obj.get("spec")).get("template"))
    meta = template.get("metadata")
    if not isinstance(meta, Mapping):
        return template
    labels = meta.get("labels")
    if not isinstance(labels, Mapping) or "pod-template-hash" not in labels:
        return template
    kept = {k: v for k, v in labels.items() if k != "pod-template-hash"}
    return {**template, "metadata": {**meta, "labels": kept}}


def _mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one (the cluster wrote it: a
    field of another type says nothing)."""
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    """``value`` when it is a JSON array, else an empty one (see :func:`_mapping`)."""
    return value if isinstance(value, list) else []
