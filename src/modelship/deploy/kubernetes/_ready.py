"""When a slot is ready: ``kubectl rollout status`` semantics, then ready endpoints.

A Deployment has rolled out when the controller has seen its latest spec
(``observedGeneration`` caught up), every desired replica is updated, no old replica is
left, and every updated replica is available. ``ProgressDeadlineExceeded`` is a failure,
reported at once, not something to wait out. The messages are kubectl's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from modelship._shown import printable

__all__ = ["Progress", "ready_endpoints", "rollout_progress"]


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
