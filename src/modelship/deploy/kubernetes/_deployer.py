"""``KubernetesDeployer``: the Deployer protocol on a Kubernetes cluster.

Slots are Deployments; a Service per slot tells (through its EndpointSlices) when the
slot can take traffic; the Service clients call has its selector switched between slots
(blue-green), or selects both slots while their replica counts set the split (canary);
with ``traffic="httproute"`` a Gateway API HTTPRoute's backend weights split it exactly.

Invariant: traffic never moves to a slot whose Service lists no ready endpoint, nor to
one whose Deployment still runs pods of the version it replaces (both checked just
before the write that moves it); replica counts of slots taking traffic that rise
are waited for before the selector changes, a slot the selector does not select yet
shrinks before it too, and is waited for until its Service lists no more ready endpoints
than its share's count (a canary's first step: it gets its share, not all its pods), and
every other count changes after it (a slot left without traffic goes back to its spec's
count, so the previous version of a canary waits at full size through the undo window
and a rollback is one write of the Service or HTTPRoute); :meth:`remove` refuses a slot
with traffic. Every write is a server-side apply (field manager ``modelship``, forced:
these objects are ours) or, for a replica count, a merge patch; a check-then-act against
the cluster is not atomic, so each write is one the API server makes atomic on its own,
and the state is read again after every failure rather than assumed. Every write (dry
runs aside) checks the rollout Lease just before it is sent, in one place (``_write``): a
rollout may wait minutes between writes, and one whose Lease went to another meanwhile
sends nothing more, not even the undo of a slot it grew. A traffic switch through an
HTTPRoute is done once its Gateway's controller accepted the route (``status.parents``);
the guards, the strategies and :meth:`~KubernetesDeployer.state` read its weights as
written, accepted or not, so a slot a refused route names is never replaced or removed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

from modelship._params import Interval, validate_params
from modelship._shown import ascii_number, brief
from modelship.deploy._errors import DeployError, RolloutInProgress, SlotInUse, SlotNotFound
from modelship.deploy._protocol import (
    DeployerCapabilities,
    DeployerState,
    SlotHealth,
    SlotState,
    check_weights,
)
from modelship.deploy.kubernetes._client import (
    MAX_REQUEST_TIMEOUT,
    SERVICE_ACCOUNT_DIR,
    KubeClient,
    KubernetesError,
    OutOfTime,
    Retry,
    load_configuration,
)
from modelship.deploy.kubernetes._lease import RolloutLease
from modelship.deploy.kubernetes._ready import (
    PodWait,
    Progress,
    being_deleted,
    new_replicaset_hash,
    pod_waits,
    ready_endpoints,
    rollout_progress,
)
from modelship.deploy.kubernetes._redact import redact
from modelship.deploy.kubernetes._render import (
    ANNOTATION_MODEL,
    ANNOTATION_REPLICAS,
    ANNOTATION_VERSION,
    ANNOTATION_WEIGHTS,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_SLOT,
    LABEL_TRAFFIC_OFF,
    MANAGER,
    SLOTS,
    KubeOptions,
    app_service,
    check_spec,
    check_version,
    default_spec,
    http_route,
    slot_objects,
)
from modelship.errors import ConfigError

if TYPE_CHECKING:
    from types import TracebackType

    from modelship.deploy._spec import DeploymentSpec
    from modelship.registry import Registry

__all__ = ["KubernetesDeployer", "SlotBeingDeleted"]

_log = logging.getLogger("modelship.deploy.kubernetes")

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
HANDOVER_MANAGER = "modelship-handover"
#: The largest replica count and Lease duration: the API server stores them as int32.
INT32_MAX = 2**31 - 1
_MAX_WAIT_ROUNDS = 100_000  # every wait also ends at its deadline; this bounds a busy loop
# Pause after a watch that failed, doubling from 50 ms to 2 s: a server that answers every
# watch with an error (410 Gone each time, a proxy's error page) is then asked about twice
# a second, not in a loop.
_WATCH_BACKOFF = 0.05
_WATCH_BACKOFF_CAP = 2.0
# A watch of a wait lasts at most this long (then the wait reads again), and at most
# _POD_RECHECK while a rollout is not done: a pod's state (an image pull failing, a crash
# loop) changes nothing the watch sees, so its pods are read again that often.
_WATCH_MOST = 10.0
_POD_RECHECK = 5.0
# A wait reads at most this many of a slot's ReplicaSets, and of its new ReplicaSet's pods
# (one page each: enough to say why they are not Ready).
_POD_READ_LIMIT = 50
# Those reads only explain a verdict, so they may never cost it: together they get at most
# a quarter of the time a read has left, at most _DIAGNOSTIC_MOST seconds (and the request
# timeout), and are skipped when that is under _DIAGNOSTIC_LEAST; the Deployment is read
# again after them when they took over _DIAGNOSTIC_STALE seconds (see _diagnosed).
_DIAGNOSTIC_MOST = 2.0
_DIAGNOSTIC_LEAST = 0.1
_DIAGNOSTIC_STALE = 0.1
# remove(): a slot object changed between its owner check and its delete (a status write)
# is read and checked again, up to this many times in all (0.05 s, then doubling, between).
_DELETE_TRIES = 6


class SlotBeingDeleted(DeployError):
    """A slot's Deployment or Service, or the app's Service (the one clients call), is
    being deleted (it has a ``deletionTimestamp``: a finalizer holds it, as ``kubectl
    delete --cascade=foreground`` or a namespace being deleted does), so nothing is
    written into it: no version into the slot, no traffic into the app's Service.

    The deployment controller rolls out nothing in a Deployment being deleted (it only
    counts its status), and the object goes, pods and all, once its last finalizer does:
    a new version applied there would never roll out, or would take the traffic and
    vanish; traffic written into an app Service being deleted goes with it. Wait until
    it is gone, or remove the finalizer, then deploy again.

    Examples
    --------
    >>> from modelship.deploy import DeployError
    >>> issubclass(SlotBeingDeleted, DeployError)
    True
    """


def _deleting(
    deployment: Mapping[str, Any] | None, service: Mapping[str, Any] | None
) -> tuple[str, str] | None:
    """The kind (``Deployment`` or ``Service``) and description of the first of a slot's
    ``deployment`` and ``service`` (as read; None: there is none) being deleted, or None."""
    for kind, found in (("Deployment", deployment), ("Service", service)):
        said = None if found is None else being_deleted(found, kind)
        if said is not None:
            return kind, said
    return None


class _Seconds(Interval):
    """:meth:`KubernetesDeployer.wait_ready`'s timeout: any finite number (below 0 is 0),
    refused with the one message shape of :mod:`modelship._params`."""

    def __str__(self) -> str:
        return "a number of seconds (a finite float; below 0 is 0)"


_TIMEOUT = _Seconds(float, None, None)  # as LocalDeployer's and InMemoryDeployer's: finite


class KubernetesDeployer:
    """A :class:`~modelship.deploy.Deployer` whose slots are Deployments in a namespace.

    Nothing is contacted until an operation needs the cluster. Settings no request could
    use (a server that is not a URL, a missing CA file, a token that is not text) are a
    :class:`~modelship.errors.ConfigError` naming the setting, raised here.

    Besides the :class:`~modelship.deploy.Deployer` protocol it has one optional hook,
    :meth:`check_not_being_deleted` (not part of the protocol: a strategy calls it only
    if a deployer has it): :class:`~modelship.deploy.Recreate` asks it before stopping
    the serving version, so a slot being deleted is refused before the outage.

    Parameters
    ----------
    namespace
        Where every object goes.
    server, token
        An API server URL (``http://`` or ``https://`` with a host) and a bearer token
        (with ``ca_cert``, the path of an existing CA file). Without ``server`` and
        ``kubeconfig``: the in-cluster service account, then the default kubeconfig.
        A password in the URL is redacted in ``repr`` and messages.
    kubeconfig, context
        A kubeconfig file and context (client certificates, exec plugins and token
        refresh work as in ``kubectl``: the official client handles them).
    registry, registry_url
        The registry rollouts record history in, and the URL pods load models from
        (default: the registry's URL).
    app, image, spec
        The name of the Service clients call (and prefix of every object; it may not end
        in ``-blue`` or ``-green``, which name the slots' objects), the image of
        ``modelship serve`` used when :meth:`apply` gets no spec, or a default spec.
    traffic, gateway, gateway_namespace
        ``"service"`` (a Service's selector; splits by replica ratio, approximate) or
        ``"httproute"`` (Gateway API weights on the named Gateway, exact).
    pod_monitor, scrape_annotations
        Prometheus: a PodMonitor, and/or ``prometheus.io/*`` pod annotations.
    request_timeout, retry, max_split_replicas
        Seconds per request attempt (> 0; the whole answer must arrive within it); the
        retry policy; the most replicas a replica-ratio split may scale a slot to (an int
        from 2 to 2147483647).
    traffic_timeout
        Seconds (> 0) :meth:`set_traffic` waits for a slot grown for a split (and for
        the controller to see the latest spec of a slot to take traffic).
    rollout_lease
        Seconds of the Lease ``<app>-rollout`` that keeps two rollouts of the service from
        running at once (an int from 3 to 2147483647, default 60; renewed while held, so
        a rollout may last longer; a holder that died keeps others out this long).
        ``None``: no lock (the Role then needs no access to leases).

    Examples
    --------
    >>> from modelship.deploy import KubernetesDeployer
    >>> dep = KubernetesDeployer("models", server="https://127.0.0.1:1", token="t0ken-x",
    ...                          image="ai-model:1", registry_url="s3://models", app="fraud")
    >>> dep.capabilities
    DeployerCapabilities(exact_weights=False, max_slots=2)
    >>> "t0ken" in repr(dep)
    False
    """

    @validate_params(
        request_timeout=Interval(float, 0, MAX_REQUEST_TIMEOUT, closed="right"),
        retry=(None, Retry),
        max_split_replicas=Interval(int, 2, INT32_MAX),
        traffic_timeout=Interval(float, 0, None, closed="neither"),
        rollout_lease=(None, Interval(int, 3, INT32_MAX)),
    )
    def __init__(  # noqa: PLR0913 - public constructor: connection settings plus documented keyword-only deployment options
        self,
        namespace: str = "default",
        server: str | None = None,
        token: str | None = None,
        kubeconfig: str | os.PathLike[str] | None = None,
        context: str | None = None,
        *,
        registry: Registry | None = None,
        registry_url: str | None = None,
        app: str = "modelship",
        image: str | None = None,
        spec: DeploymentSpec | None = None,
        traffic: str = "service",
        gateway: str | None = None,
        gateway_namespace: str | None = None,
        pod_monitor: bool = False,
        scrape_annotations: bool = True,
        ca_cert: str | os.PathLike[str] | None = None,
        verify_ssl: bool = True,
        service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR,
        request_timeout: float = 30.0,
        retry: Retry | None = None,
        max_split_replicas: int = 20,
        traffic_timeout: float = 300.0,
        rollout_lease: int | None = 60,
    ) -> None:
        _check_connection(server, token, ca_cert, verify_ssl)
        _check_kubeconfig(kubeconfig, context)
        if token is not None and server is None:
            raise ConfigError("token= needs server= (the API server the token is for)")
        if spec is not None:
            check_spec(spec)
        url = registry_url if registry_url is not None else (registry.url if registry else None)
        self.options = KubeOptions(
            namespace=namespace,
            app=app,
            registry_url=url,
            image=image,
            traffic=traffic,
            gateway=gateway,
            gateway_namespace=gateway_namespace,
            pod_monitor=pod_monitor,
            scrape_annotations=scrape_annotations,
        )
        self.registry: Registry | None = registry
        self.capabilities = DeployerCapabilities(exact_weights=traffic == "httproute", max_slots=2)
        self._spec = spec
        self._server = server
        self._max_split = max_split_replicas
        self._traffic_timeout = traffic_timeout
        # False once pods or ReplicaSets could not be read for lack of rights (403): a
        # wait then says no more than its rollout's progress (see _pod_waits).
        self._pods_readable = True

        def configure() -> Any:
            return load_configuration(
                server=server,
                token=token,
                kubeconfig=kubeconfig,
                context=context,
                ca_cert=ca_cert,
                verify_ssl=verify_ssl,
                service_account_dir=service_account_dir,
            )

        self._client = KubeClient(
            configure, retry=retry if retry is not None else Retry(), timeout=request_timeout
        )
        self._lock = threading.RLock()
        self._lease = (
            RolloutLease(self._client, namespace, f"{app}-rollout", rollout_lease)
            if rollout_lease is not None
            else None
        )

    def __repr__(self) -> str:
        where = (
            redact(self._server) if self._server is not None else "from kubeconfig or in-cluster"
        )
        return (
            f"KubernetesDeployer(namespace={self.options.namespace!r}, app={self.options.app!r}, "
            f"server={where!r})"
        )

    def rollout_lock(self, holder: str) -> AbstractContextManager[None]:
        """One rollout of this service at a time, across processes and machines: the Lease
        ``<app>-rollout`` in the namespace (:class:`~modelship.deploy.LocksRollouts`).

        Raises :class:`~modelship.deploy.RolloutInProgress` at once while another holds
        it and it has not expired; nothing to hold with ``rollout_lease=None``.
        """
        if not isinstance(holder, str) or not holder.strip():
            raise ConfigError(
                f"holder must be a non-empty string saying what the rollout does (shown to "
                f"whoever it keeps out), got {holder!r}"
            )
        if self._lease is None:
            return contextlib.nullcontext()
        return self._lease.hold(holder)

    def _existing(self, slot: str) -> str:
        """The name of ``slot``'s objects; a text naming no slot of an app (only blue and
        green are) is a slot that does not exist."""
        if isinstance(slot, str) and slot not in SLOTS:
            raise SlotNotFound(
                f"no slot {slot!r} in {self.options.app!r}: its slots are {', '.join(SLOTS)}"
            )
        return self.options.slot_name(slot)

    def _check_lease(self) -> None:
        """Refuse to go on if this rollout's Lease was taken by another, or can no longer
        be trusted (see :meth:`RolloutLease.check_held`)."""
        if self._lease is not None:
            self._lease.check_held()

    def _write(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one write of a rollout, the Lease checked right before each attempt.

        Every write of the cluster goes through here: a rollout may have waited minutes
        before it (a slot growing for a split, a controller catching up, a delete tried
        again), and the client's own retries may send it again long after the first
        attempt (up to its attempts times its timeout and backoff); meanwhile its Lease may
        have expired and gone to another rollout, which then owns the service:
        :class:`RolloutInProgress` is raised and no further attempt is sent.
        """
        return self._client.request(method, path, before_attempt=self._check_lease, **kwargs)

    def close(self) -> None:
        """Release the client's connections (slots keep running in the cluster)."""
        self._client.close()

    def __enter__(self) -> KubernetesDeployer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- paths ----------------------------------------------------------------------------

    def _path(self, kind: str, name: str | None = None) -> str:
        ns = self.options.namespace
        prefix = {
            "deployments": f"/apis/apps/v1/namespaces/{ns}/deployments",
            "replicasets": f"/apis/apps/v1/namespaces/{ns}/replicasets",
            "pods": f"/api/v1/namespaces/{ns}/pods",
            "services": f"/api/v1/namespaces/{ns}/services",
            "endpointslices": f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
            "httproutes": f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes",
            "podmonitors": f"/apis/monitoring.coreos.com/v1/namespaces/{ns}/podmonitors",
            "horizontalpodautoscalers": (
                f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
            ),
        }[kind]
        return prefix if name is None else f"{prefix}/{name}"

    @staticmethod
    def _plural(obj: Mapping[str, Any]) -> str:
        return {
            "Deployment": "deployments",
            "Service": "services",
            "HTTPRoute": "httproutes",
            "PodMonitor": "podmonitors",
        }[obj["kind"]]

    def _apply(
        self, obj: Mapping[str, Any], *, dry_run: bool = False, manager: str = MANAGER
    ) -> Any:
        query: dict[str, Any] = {"fieldManager": manager, "force": "true"}
        if dry_run:
            query["dryRun"] = "All"
        # A dry run stores nothing: it needs no Lease.
        send = self._client.request if dry_run else self._write
        return send(
            "PATCH",
            self._path(self._plural(obj), obj["metadata"]["name"]),
            query=query,
            body=obj,
            content_type=APPLY,
        )

    # --- reading the cluster --------------------------------------------------------------

    def _deployments(self) -> dict[str, dict[str, Any]]:
        selector = (
            f"app.kubernetes.io/instance={self.options.app},app.kubernetes.io/managed-by={MANAGER}"
        )
        answer = self._client.request(
            "GET", self._path("deployments"), query={"labelSelector": selector}
        )
        out = {}
        for dep in answer.get("items", []):
            slot = dep["metadata"].get("labels", {}).get(LABEL_SLOT)
            if slot in SLOTS:  # another slot label is none of ours: it is left alone
                out[slot] = dep
        return out

    def _weights(self, deployments: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
        """Each slot's share as applied (see :meth:`_traffic`), for every slot of
        ``deployments`` (0: none)."""
        traffic = self._traffic(deployments)
        return {slot: traffic.get(slot, 0) for slot in deployments}

    def _traffic(self, deployments: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
        """Every slot the app's traffic points at as applied, with its share in percent:
        the one source of :meth:`_weights` and of the guards of :meth:`apply` and
        :meth:`remove` (:meth:`_in_use`).

        With ``traffic="service"``, the slots whose pods the app Service selects (see
        :meth:`_selected`), sharing by replica count (:meth:`_shares`): a selected slot
        without pods (scaled to 0, or its Deployment deleted by hand) is listed, at 0%
        unless it is the only one selected. Behind an HTTPRoute, the slots whose weight
        as written is above 0, sharing by those weights, whether or not their
        Deployments exist (the Gateway still sends their share to their Services).

        A Service or HTTPRoute of the app's name that is not the app's (another app's, a
        Helm release's) sends it none: its selector or backends say nothing about this
        app's slots (and writing it is refused). A route its Gateway refuses still counts
        as written: the guards of :meth:`apply` and :meth:`remove` and the strategies'
        choice of the idle slot must see the slots it names, or they would replace or
        delete the version it serves once the Gateway accepts it again (or still serves
        from its last accepted generation); :meth:`set_traffic` is what reports a refusal.
        """
        if self.options.traffic == "httproute":
            written = self._route_weights(self._route())
            raw = {
                slot: written[self.options.slot_name(slot)]
                for slot in SLOTS
                if self.options.slot_name(slot) in written
            }
            # _percentages gives a weight above 0 at least 1%, and one of 0 (or less) 0%.
            return {slot: share for slot, share in _percentages(raw).items() if raw[slot] > 0}
        selected = self._selected(self._app_service())
        running = [slot for slot in selected if slot in deployments]
        return {**dict.fromkeys(selected, 0), **self._shares(deployments, running)}

    @staticmethod
    def _shares(
        deployments: Mapping[str, Mapping[str, Any]], selected: Sequence[str]
    ) -> dict[str, int]:
        """The share of each ``selected`` slot with ``traffic="service"`` (each one of
        ``deployments``): all to one, or split by replica count (a slot with a pod at
        least 1%)."""
        if len(selected) == 1:
            return {selected[0]: 100}
        return _percentages({s: _replicas(deployments[s]) for s in selected})

    def _in_use(self, slot: str, deployments: Mapping[str, Mapping[str, Any]]) -> str | None:
        """The traffic ``slot`` takes (``"receives 1% of the traffic of 'fraud' …"``), or
        None if none: what the guards of :meth:`apply` and :meth:`remove` refuse, read
        from :meth:`_traffic` as the weights are. With ``traffic="service"`` a slot takes
        traffic if the app Service selects it, whatever its share of the replicas (1 pod
        of 300 does, and so would the pods an apply starts in a selected slot scaled to
        0); behind an HTTPRoute, if its weight as written is not 0. The slot itself is
        judged, whether or not its Deployment exists: a slot whose Deployment was deleted
        by hand while traffic points at it would give an apply's new pods that traffic at
        once, with no step and no gate."""
        share = self._traffic(deployments).get(slot)
        if share is None:
            return None
        app = repr(self.options.app)
        if self.options.traffic == "httproute":
            return f"receives {share}% of the traffic of {app}"
        deployment = deployments.get(slot)
        if deployment is not None and _replicas(deployment) > 0:
            return f"receives {share}% of the traffic of {app} (Service {app} selects its pods)"
        # No pods, so no traffic reaches it now; a share of "0%" would not say why it is
        # refused: the selector would give the pods an apply starts there traffic at once.
        pods = "has no Deployment" if deployment is None else "is scaled to 0 replicas"
        return (
            f"{pods}, but Service {app} selects its pods: the pods an apply starts there "
            "would take traffic at once, with no step and no gate"
        )

    def _app_service(self) -> dict[str, Any] | None:
        """The Service ``<app>`` as stored, or None."""
        found: dict[str, Any] | None = self._client.request(
            "GET", self._path("services", self.options.app), missing_ok=True
        )
        return found

    def _selected(self, svc: Mapping[str, Any] | None) -> list[str]:
        """The slots whose pods the app Service ``svc`` (as read) selects, by their slot
        label, whether or not their Deployments exist: one, both (a split) or none (no
        Service, one that is not the app's, or traffic turned off)."""
        if svc is None or self._not_ours(svc) is not None:
            return []
        selector = (svc.get("spec") or {}).get("selector") or {}
        if LABEL_TRAFFIC_OFF in selector:
            return []
        if LABEL_SLOT in selector:
            return [selector[LABEL_SLOT]] if selector[LABEL_SLOT] in SLOTS else []
        return list(SLOTS)

    def _route(self) -> dict[str, Any] | None:
        """The HTTPRoute ``<app>`` as stored, or None."""
        found: dict[str, Any] | None = self._client.request(
            "GET", self._path("httproutes", self.options.app), missing_ok=True
        )
        return found

    def _route_weights(self, route: Mapping[str, Any] | None) -> dict[str, int]:
        """The weight of each backendRef of ``route`` (the route as read), by Service name,
        as written (an absent weight is 1 in the Gateway API); none for a route that is
        not the app's."""
        if self._not_ours(route) is not None:
            return {}
        return {r["name"]: int(r.get("weight", 1)) for r in _backends(route) if "name" in r}

    def _apply_route(self, weights: Mapping[str, int], found: Mapping[str, Any] | None) -> None:
        """Apply the HTTPRoute for ``weights``, unless ``found`` (the route as read) is
        another app's or not modelship's."""
        self._check_owner(found)
        self._apply(http_route(self.options, weights))

    def _parent_ref(self) -> dict[str, Any]:
        """The route's parentRef (its Gateway), as :func:`http_route` writes it."""
        refs: list[dict[str, Any]] = http_route(self.options, {})["spec"]["parentRefs"]
        return refs[0]

    def _parent_conditions(self, route: Mapping[str, Any]) -> list[dict[str, dict[str, Any]]]:
        """The conditions (by type) of every ``status.parents`` entry for our Gateway."""
        ours = _parent_key(self._parent_ref(), self.options.namespace)
        parents = (route.get("status") or {}).get("parents") or []
        return [
            {c.get("type", ""): c for c in entry.get("conditions") or [] if isinstance(c, dict)}
            for entry in parents
            if isinstance(entry, dict)
            and _parent_key(entry.get("parentRef") or {}, self.options.namespace) == ours
        ]

    def _route_verdict(self, route: Mapping[str, Any]) -> tuple[bool | None, str]:
        """Whether the Gateway's controller accepted ``route`` as it is now: True, False
        (refused: why), or None (no status for its latest generation yet: what is seen).

        A parent status counts once its conditions' ``observedGeneration`` reaches the
        route's ``metadata.generation``: an older one speaks of a spec since replaced.
        Of the entries for our Gateway that count, one with ``Accepted=True`` (and no
        ``ResolvedRefs=False``) accepts the route whatever the others say: the Gateway
        API has a route accepted when at least one implementation of its parent accepts
        it (another controller's entry, or one left by a controller no longer running,
        may say otherwise).
        """
        generation = (route.get("metadata") or {}).get("generation") or 0
        gateway = _parent_text(self._parent_ref(), self.options.namespace)
        entries = self._parent_conditions(route)
        if not entries:
            return None, f"no status from the controller of Gateway {gateway} yet"
        seen = "an Accepted condition"
        refusal: str | None = None
        for conditions in entries:
            accepted = conditions.get("Accepted")
            if accepted is None:
                continue
            observed = accepted.get("observedGeneration")
            if not isinstance(observed, int) or observed < generation:
                seen = f"a status of generation {observed}; the route is at generation {generation}"
                continue
            failed = next(
                (
                    kind
                    for kind in ("Accepted", "ResolvedRefs")
                    if (conditions.get(kind) or {}).get("status") == "False"
                ),
                None,
            )
            if failed is not None:
                condition = conditions[failed]
                refusal = refusal or (
                    f"the controller of Gateway {gateway} set {failed}=False, reason "
                    f"{condition.get('reason')!r}: {condition.get('message', '')}"
                )
            elif accepted.get("status") == "True":
                return True, "Accepted=True"
            else:
                seen = f"Accepted={accepted.get('status')}"
        if refusal is not None:
            return False, refusal
        return None, f"no Accepted=True for generation {generation} yet (seen: {seen})"

    def _wait_route(self, deadline: float) -> None:
        """Wait until the Gateway's controller accepted the HTTPRoute as it now is (until
        ``deadline``), or raise saying why it did not.

        The route is read again every 50 ms to 1 s (GET only: the Role needs no list or
        watch on httproutes); a controller answers within moments. A read that fails in a
        way a later one may not (``retryable``: no answer, 429, 5xx) is read again too.
        """
        name = self.options.app
        pause = 0.05
        seen = "it was never read"
        for round_ in range(_MAX_WAIT_ROUNDS):
            until = self._first_check(deadline, at_least=1.0) if round_ == 0 else deadline
            try:
                route = self._client.request(
                    "GET", self._path("httproutes", name), missing_ok=True, deadline=until
                )
            except KubernetesError as exc:
                if time.monotonic() >= deadline or isinstance(exc, OutOfTime):
                    if not round_:
                        seen = _no_answer(exc).message
                    break
                if not self._passing(exc):
                    raise
                # The API server failed (restarting?): read again after the pause.
                _log.info("%s; reading again after a pause", exc)
                seen = f"the API server failed: {exc}"
            else:
                if route is None:
                    raise KubernetesError(
                        f"HTTPRoute {name} in {self.options.namespace!r} was deleted while "
                        "its Gateway was to accept it; set the traffic again"
                    )
                verdict, seen = self._route_verdict(route)
                if verdict is True:
                    return
                if verdict is False:
                    raise KubernetesError(
                        f"HTTPRoute {name} in {self.options.namespace!r} was written but its "
                        f"Gateway does not route it: {seen}; traffic does not follow its "
                        "weights: fix what the reason names (a Gateway in another namespace "
                        "must allow routes from this one in its listeners' allowedRoutes), "
                        "then set the traffic again"
                    )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(pause, remaining))
            pause = min(2 * pause, 1.0)
        raise KubernetesError(
            f"HTTPRoute {name} in {self.options.namespace!r} was written but its Gateway's "
            f"controller did not accept it within traffic_timeout "
            f"({self._traffic_timeout:g} s; last seen: {seen}); traffic may not follow its "
            "weights: check that the Gateway exists and its controller runs (kubectl describe "
            f"httproute {name}), then set the traffic again"
        )

    def state(self) -> DeployerState:
        """Every slot: version, traffic share (as applied) and readiness (rollout complete).

        Examples
        --------
        >>> from modelship.testing.fake_kube import FakeKube
        >>> with FakeKube() as kube, KubernetesDeployer(server=kube.url, image="m:1",
        ...                                             registry_url="s3://m") as dep:
        ...     dep.state()
        DeployerState(slots=())
        """
        deployments = self._deployments()
        weights = self._weights(deployments)
        slots = []
        for slot, dep in sorted(deployments.items()):
            meta = dep["metadata"]
            notes = meta.get("annotations", {})
            progress = rollout_progress(dep)
            available = (dep.get("status") or {}).get("availableReplicas") or 0
            slots.append(
                SlotState(
                    slot=slot,
                    model=notes.get(ANNOTATION_MODEL, ""),
                    version=notes.get(ANNOTATION_VERSION, ""),
                    weight=weights.get(slot, 0),
                    ready=progress.done and available > 0,
                )
            )
        return DeployerState(tuple(slots))

    # --- apply ----------------------------------------------------------------------------

    def render(
        self, model: str, version: str, spec: DeploymentSpec | None = None, slot: str = "blue"
    ) -> list[dict[str, Any]]:
        """The slot's objects :meth:`apply` would send (replicas as for a fresh slot)."""
        chosen = self._chosen(spec)
        return slot_objects(
            model, check_version(version), chosen, slot, self.options, replicas=chosen.replicas
        )

    def _chosen(self, spec: DeploymentSpec | None) -> DeploymentSpec:
        """The spec to deploy: ``spec``, else the deployer's, else one of ``image``."""
        if spec is not None:
            return check_spec(spec)
        return self._spec or default_spec(self.options)

    def server_dry_run(
        self, model: str, version: str, spec: DeploymentSpec | None = None, slot: str = "blue"
    ) -> list[dict[str, Any]]:
        """Send what deploying ``version`` into ``slot`` applies with ``dryRun=All``: what
        the server would store.

        The slot's objects (:meth:`render`'s), then the app Service (or HTTPRoute) as it
        is once traffic moved to ``slot``, as :func:`render` lists them. Admission,
        validation and defaulting run in the cluster; nothing is persisted.
        ``spec.replicas`` is sent as :meth:`apply` would send it: left out when an
        autoscaler owns the slot's replicas, so the answer shows the replicas it keeps.

        Raises
        ------
        SlotInUse, ConfigError
            What :meth:`apply` would refuse (a slot with traffic, a third slot, another
            app's object of a name to write): refused alike, before anything is sent.
        KubernetesError
            The API server refused, or could not be reached after the retries.
        """
        version = check_version(version)
        chosen = self._chosen(spec)
        name = self.options.slot_name(slot)
        with self._lock:
            deployments = self._check_writable(slot)
            route = self._route() if self.options.traffic == "httproute" else self._app_service()
            # The app's Service or route is written once traffic moves (set_traffic checks
            # it then): checked here too, so the dry run is refused where that would be.
            self._check_owner(route)
            live = deployments.get(slot)
            autoscaled = self._autoscaled(live) if live is not None else self._hpa_targets(name)
            replicas: int | None = None if autoscaled else chosen.replicas
            if autoscaled and live is not None and self._owns_replicas(live):
                # apply() first hands the field over, keeping its value, then leaves it
                # out; a dry-run cannot persist that hand-over, and leaving the field out
                # while modelship still owns it would show it reset to 1: send the kept value.
                replicas = _replicas(live)
            objects = slot_objects(model, version, chosen, slot, self.options, replicas=replicas)
            return [
                self._apply(obj, dry_run=True)
                for obj in serving_objects(objects, self.options, slot)
            ]

    def apply(
        self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
    ) -> None:
        """Server-side apply ``slot``'s Deployment and Service for ``version`` (no traffic).

        Raises
        ------
        SlotInUse
            The slot receives traffic; move it first.
        SlotBeingDeleted
            The slot's Deployment or Service is being deleted (a finalizer holds it):
            nothing is written; wait until it is gone or remove the finalizer.
        ConfigError
            A third slot, or names Kubernetes would refuse.
        RolloutInProgress
            The rollout Lease went to another rollout (or can no longer be trusted)
            before a write: nothing more is written.
        KubernetesError
            The API server refused, or could not be reached after the retries.
        """
        self._check_lease()
        version = check_version(version)
        name = self.options.slot_name(slot)
        with self._lock:
            chosen = self._chosen(spec)
            deployments = self._check_writable(slot)
            live = deployments.get(slot)
            # A first apply has no managedFields to read, but an HPA may already target
            # the name: sending replicas then would fight it from the start.
            autoscaled = self._autoscaled(live) if live is not None else self._hpa_targets(name)
            objects = slot_objects(
                model,
                version,
                chosen,
                slot,
                self.options,
                replicas=None if autoscaled else chosen.replicas,
            )
            if autoscaled and live is not None:
                self._hand_over_replicas(live)
            for obj in objects:
                self._apply(obj)

    def _check_writable(self, slot: str) -> dict[str, dict[str, Any]]:
        """Refuse, reading only, what :meth:`apply` must not write into ``slot``: a slot
        with traffic (SlotInUse), a slot whose Deployment or Service is being deleted
        (SlotBeingDeleted), a slot beyond the most allowed, or another app's
        Deployment, Service or PodMonitor of a name the slot's objects take (ConfigError).
        Returns the app's Deployments by slot, as read."""
        deployments = self._deployments()
        in_use = self._in_use(slot, deployments)
        if in_use is not None:
            raise SlotInUse(f"slot {slot!r} {in_use}; move its traffic before replacing it")
        name = self.options.slot_name(slot)
        service = self._client.request("GET", self._path("services", name), missing_ok=True)
        self._refuse_deleting(slot, deployments.get(slot), service)
        if slot not in deployments and len(deployments) >= self.capabilities.max_slots:
            raise ConfigError(
                f"{self.options.app!r} already has slots {sorted(deployments)}; remove one "
                f"before starting {slot!r} (at most {self.capabilities.max_slots})"
            )
        if slot not in deployments:
            # A slot's first write: refuse to take over another app's objects of that
            # name (forced applies would, without a word).
            self._check_owner(
                self._client.request("GET", self._path("deployments", name), missing_ok=True)
            )
            self._check_owner(service)
        if self.options.pod_monitor:
            # Shared by the slots and applied with each: checked at every apply, as the
            # app Service is at every write of it.
            self._check_owner(
                self._client.request(
                    "GET", self._path("podmonitors", self.options.app), missing_ok=True
                )
            )
        return deployments

    def check_not_being_deleted(self, slot: str) -> None:
        """Refuse, reading only, a ``slot`` whose Deployment or Service is being deleted:
        :meth:`apply` would raise the same. :class:`~modelship.deploy.Recreate` asks
        before it stops the serving version, so that a slot that cannot take the new
        version is found before the outage, not after it.

        Raises
        ------
        SlotBeingDeleted
            Its Deployment or Service carries a ``deletionTimestamp``.
        SlotNotFound
            ``slot`` names no slot (only blue and green are).
        KubernetesError
            The API server refused, or could not be reached after the retries.

        Examples
        --------
        A strategy of your own that stops traffic before it writes can ask first, as
        :class:`~modelship.deploy.Recreate` does (only deployers that have the hook)::

            check = getattr(deployer, "check_not_being_deleted", None)
            if check is not None:
                check("blue")  # raises SlotBeingDeleted: nothing stopped yet
        """
        name = self._existing(slot)
        deployment = self._client.request("GET", self._path("deployments", name), missing_ok=True)
        service = self._client.request("GET", self._path("services", name), missing_ok=True)
        self._refuse_deleting(slot, deployment, service)

    def _refuse_deleting(
        self,
        slot: str,
        deployment: Mapping[str, Any] | None,
        service: Mapping[str, Any] | None,
    ) -> None:
        """Raise SlotBeingDeleted if ``slot``'s ``deployment`` or ``service`` (as read;
        None: there is none) is being deleted."""
        name = self.options.slot_name(slot)
        found = _deleting(deployment, service)
        if found is not None:
            kind, deleting = found
            plural = kind.lower()
            raise SlotBeingDeleted(
                f"slot {slot!r} of {self.options.app!r} cannot take a new version: "
                f"{deleting} in namespace {self.options.namespace!r}; the deployment "
                "controller rolls out nothing in a Deployment being deleted, and the "
                "object goes with whatever it runs once its last finalizer does; "
                f"nothing was written: wait until it is gone (kubectl get {plural} "
                f"{name} -n {self.options.namespace}) or remove the finalizer, then "
                "deploy again"
            )

    def _refuse_app_deleting(self, service: Mapping[str, Any] | None) -> None:
        """Raise SlotBeingDeleted if the app Service ``service`` (as read) is being
        deleted: traffic written into it would go once its last finalizer does."""
        deleting = None if service is None else being_deleted(service, "Service")
        if deleting is not None:
            app, ns = self.options.app, self.options.namespace
            raise SlotBeingDeleted(
                f"the Service clients call cannot take traffic: {deleting} in namespace "
                f"{ns!r}; it goes, and clients lose {app!r}, once its last finalizer does; "
                f"traffic was not moved: wait until it is gone (kubectl get service {app} "
                f"-n {ns}) or remove the finalizer, then set the traffic again (a deploy "
                "writes the Service anew)"
            )

    def _check_owner(self, found: Mapping[str, Any] | None) -> None:
        """Refuse to write over ``found`` (an object as read; None: there is none) unless
        it is this app's: its instance label names this app and its managed-by label is
        ``modelship`` (every object modelship writes carries both). The instance label
        alone is not enough: Helm puts it on every object of a release named like the app.
        """
        why = self._not_ours(found)
        if why is not None:
            raise ConfigError(
                f"{why}; nothing was written: give one of the apps another name, or delete "
                "the object if it is stale"
            )

    def _not_ours(self, found: Mapping[str, Any] | None) -> str | None:
        """Why ``found`` is not this app's object (None: it is, or there is none)."""
        if found is None:
            return None
        meta = found.get("metadata") or {}
        labels = meta.get("labels") or {}
        owner = labels.get(LABEL_INSTANCE)
        what = f"{found.get('kind', 'object')} {meta.get('name')!r} in {self.options.namespace!r}"
        if owner != self.options.app:
            whose = f"belongs to app {owner!r}" if owner is not None else "names no app"
            return f"{what} {whose} (label {LABEL_INSTANCE}), not to app {self.options.app!r}"
        manager = labels.get(LABEL_MANAGED_BY)
        if manager != MANAGER:
            return (
                f"{what} belongs to app {owner!r} managed by {manager!r} (label "
                f"{LABEL_MANAGED_BY}), not to modelship's app {self.options.app!r}"
            )
        return None

    def _autoscaled(self, deployment: Mapping[str, Any]) -> bool:
        """Whether an autoscaler (an HPA, or another field manager) owns ``spec.replicas``."""
        name = deployment["metadata"]["name"]
        for entry in deployment["metadata"].get("managedFields") or []:
            if entry.get("manager") in (MANAGER, HANDOVER_MANAGER, "modelship-traffic"):
                continue
            if "f:replicas" in (entry.get("fieldsV1") or {}).get("f:spec", {}):
                return True
        return self._hpa_targets(name)

    def _hpa_targets(self, name: str) -> bool:
        """Whether a HorizontalPodAutoscaler in the namespace scales Deployment ``name``."""
        try:
            hpas = self._client.request("GET", self._path("horizontalpodautoscalers"))
        except KubernetesError as exc:
            if exc.status in (403, 404):
                return False  # not allowed to look, or no autoscaling API: none we can see
            raise
        return any(
            (h.get("spec") or {}).get("scaleTargetRef", {}).get("kind") == "Deployment"
            and ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name
            for h in hpas.get("items", [])
        )

    @staticmethod
    def _owns_replicas(deployment: Mapping[str, Any]) -> bool:
        """Whether modelship's own apply owns the Deployment's ``spec.replicas``."""
        return any(
            e.get("manager") == MANAGER
            and "f:replicas" in (e.get("fieldsV1") or {}).get("f:spec", {})
            for e in deployment["metadata"].get("managedFields") or []
        )

    def _hand_over_replicas(self, deployment: Mapping[str, Any]) -> None:
        """Let go of ``spec.replicas`` without resetting it (the documented SSA hand-over).

        Omitting a field we own removes it (and it defaults to 1); so another manager
        first co-owns the current value, then our apply without the field drops only
        our claim.
        """
        if not self._owns_replicas(deployment):
            return
        self._apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": deployment["metadata"]["name"],
                    "namespace": self.options.namespace,
                },
                "spec": {"replicas": (deployment.get("spec") or {}).get("replicas", 1)},
            },
            manager=HANDOVER_MANAGER,
        )

    # --- readiness ------------------------------------------------------------------------

    @validate_params(timeout=_TIMEOUT)
    def wait_ready(self, slot: str, timeout: float) -> bool:
        """Wait until the slot's rollout is complete and its Service has ready endpoints.

        Returns False at the deadline (``timeout`` seconds from now: no request outlasts
        it, even when the API server stops answering, or asks to be asked again only
        after it: then the wait sleeps until the deadline), or at once when the
        Deployment reports ``ProgressDeadlineExceeded`` or a pod of its new version will
        not start by waiting: its image reference does not parse (``InvalidImageName``) or
        may never be pulled (``ErrImageNeverPull``), its container crash-loops
        (``CrashLoopBackOff``) and restarted ``CRASH_LOOP_RESTARTS`` (3) times, or its pull
        failed (``ErrImagePull``, ``ImagePullBackOff``) in every read for
        ``PULL_FAILURE_SECONDS`` (60 s). The message logged names the pod, the container
        and the kubelet's reason and message, and what to do; a reason that may pass
        (``CreateContainerConfigError``: a Secret or ConfigMap not created yet;
        ``Unschedulable``) is named and waited on. (Pods and ReplicaSets are read for
        this, best effort: without the rights to list them the wait says no more.)
        Watches (relisting after 410 Gone, backing off after a watch fails) between
        checks. A read that fails before the deadline with no answer, 429 or 5xx (after
        the client's retries: an API server restarting) backs off as a failed watch does
        and reads again, so a short outage is waited out; no answer only once the API
        server has answered this deployer (before, the URL is likelier wrong than the
        server restarting).

        Raises
        ------
        InvalidParameter
            ``timeout`` is not a finite number (a string, None, NaN, infinity, an int
            too large for a float).
        SlotNotFound
            The slot has no Deployment.
        KubernetesError
            The API server refused a read with an answer that will not change (403
            Forbidden, a redirect, a 404 of the API itself, a TLS failure), or did not
            answer and never has to this deployer (nothing listening, a host name that
            does not resolve, ``http://`` to a TLS port): at once, after the client's
            retries.

        Examples
        --------
        >>> dep = KubernetesDeployer("models", server="https://127.0.0.1:1", token="t0ken-x",
        ...                          image="ai-model:1", registry_url="s3://models")
        >>> dep.wait_ready("blue", float("inf"))  # refused before the cluster is contacted
        Traceback (most recent call last):
        ...
        modelship.errors.InvalidParameter: timeout=inf is not allowed; timeout must be a number
        of seconds (a finite float; below 0 is 0)
        """
        deadline = time.monotonic() + max(0.0, float(timeout))
        name = self._existing(slot)
        try:
            found = self._deployment_within(name, deadline)
        except KubernetesError as exc:
            if time.monotonic() < deadline and not isinstance(exc, OutOfTime):
                raise
            return _not_ready_in_time(name, deadline, exc).done
        if found is None:
            raise SlotNotFound(
                f"no slot {slot!r}: no Deployment {name} in {self.options.namespace}"
            )
        return self._wait(name, deadline, endpoints=True).done

    def _deployment_within(self, name: str, deadline: float) -> dict[str, Any] | None:
        """Deployment ``name`` (None: there is none), read for a wait: like every request
        of a wait bounded by its deadline (the first attempt given at least a second, so
        that timeout=0 makes one), and read again after a failure a later read may not
        meet (see :meth:`_read_again`)."""
        failures = 0
        until = self._first_check(deadline, at_least=1.0)
        while True:  # each failed read pauses, and none is sent past the deadline
            try:
                found: dict[str, Any] | None = self._client.request(
                    "GET", self._path("deployments", name), missing_ok=True, deadline=until
                )
            except KubernetesError as exc:
                failures = self._read_again(exc, deadline, failures, before_write=False)
                until = deadline
                continue
            return found

    def _read_again(
        self, exc: KubernetesError, deadline: float, failures: int, *, before_write: bool
    ) -> int:
        """After a wait's read failed with ``exc``, before ``deadline``, in a way a later
        read may not (``exc.retryable``: the API server did not answer, or answered 429 or
        5xx, through the client's retries, as while it restarts): pause as after a failed
        watch, and return how many reads and watches in a row have failed, so the wait
        reads again rather than failing a few seconds into an outage it was given the
        time to wait out. A rollout's wait checks its Lease first (``before_write``: see
        :meth:`_await_change`).

        Raises ``exc`` for an answer that will not change (403, 404, a redirect, a TLS
        failure), for no answer before the API server ever answered (see :meth:`_passing`)
        or past the deadline; :class:`OutOfTime` carrying it once the pause reached the
        deadline (the wait ends, not done)."""
        if not self._passing(exc) or isinstance(exc, OutOfTime) or time.monotonic() >= deadline:
            raise exc
        _log.info("%s; reading again after a pause", exc)
        if before_write:
            self._check_lease()
        failures += 1
        self._pause(failures, deadline)
        if time.monotonic() >= deadline:
            raise OutOfTime(str(exc), exc.status, exc.reason, retryable=True) from exc
        return failures

    def _passing(self, exc: KubernetesError) -> bool:
        """Whether a wait's read that failed with ``exc`` may succeed later, so the wait
        reads again: the client gave up on failures a later attempt may not meet
        (``exc.retryable``), and, when no answer came at all, the API server has answered
        this deployer before. Until it has, nothing listening, a host name that does not
        resolve or ``http://`` to a TLS port is far likelier than a restart, and waiting
        out the whole timeout would only hide it."""
        return exc.retryable and (exc.status != 0 or self._client.answered())

    def _pause(self, failures: int, deadline: float) -> None:
        """Sleep after the ``failures``-th failed read or watch in a row of a wait (at
        least one): 50 ms doubling to 2 s, never past ``deadline``."""
        pause = min(_WATCH_BACKOFF_CAP, _WATCH_BACKOFF * 2 ** (failures - 1))
        time.sleep(max(0.0, min(pause, deadline - time.monotonic())))

    def _wait(
        self, name: str, deadline: float, *, endpoints: bool, before_write: bool = False
    ) -> Progress:
        """Wait until Deployment ``name`` rolled out (and, with ``endpoints``, its Service
        has a ready endpoint): ``done``; ``failed`` when it never will (its rollout failed,
        or it was deleted), at once; neither at ``deadline``, with what was last seen.
        Requests that fail past the deadline, or that the server asks to send again only
        after it, end the wait (at the deadline); one that fails before it in a way a later
        one may not is sent again after a pause (see :meth:`_read_again`).

        What was last seen is the rollout progress last read, and a read that failed after
        it; a read cut off by the deadline (not sent, its deadline had passed) saw nothing,
        so the API server is named only when it failed, or when no read was ever answered.

        ``before_write``: a rollout waits for this before it writes again; it checks its
        Lease before each wait for a change (see :meth:`_await_change`)."""
        seen = _Seen()
        try:
            return self._wait_rounds(
                name, deadline, seen, endpoints=endpoints, before_write=before_write
            )
        except KubernetesError as exc:
            if time.monotonic() < deadline and not isinstance(exc, OutOfTime):
                raise
            return _not_ready_in_time(name, deadline, exc, seen.last())

    def _first_check(self, deadline: float, *, at_least: float | None = None) -> float:
        """The deadline of a wait's first check: at least ``at_least`` seconds (the request
        timeout) from now, so that even ``timeout=0`` makes one attempt (a ready slot is
        then ready)."""
        floor = self._client.timeout if at_least is None else min(at_least, self._client.timeout)
        return max(deadline, time.monotonic() + floor)

    def _wait_rounds(
        self, name: str, deadline: float, seen: _Seen, *, endpoints: bool, before_write: bool
    ) -> Progress:
        """:meth:`_wait`'s reads and watches, noting in ``seen`` what each read saw."""
        failures = 0  # reads and watches in a row that ended in an error: they back off
        progress = Progress(False, False, f"Deployment {name} was never read")
        for round_ in range(_MAX_WAIT_ROUNDS):
            # The first list gets at least a second (or the request timeout) too; never
            # much more, so a server that stops answering ends the wait near its deadline.
            until = self._first_check(deadline, at_least=1.0) if round_ == 0 else deadline
            try:
                progress, watch = self._look(name, until, endpoints=endpoints, seen=seen)
            except KubernetesError as exc:
                if not _cut_off(exc):
                    seen.failure = exc
                failures = self._read_again(exc, deadline, failures, before_write=before_write)
                continue
            seen.progress, seen.failure = progress, None
            if watch is None:
                return progress
            if deadline - time.monotonic() <= 0:
                _log.info("%s: not ready in time: %s", name, progress.message)
                return progress
            path, query, rv, most = watch
            failures = self._await_change(
                path, query, rv, deadline, failures, before_write=before_write, most=most
            )
        return progress

    def _look(
        self, name: str, until: float, *, endpoints: bool, seen: _Seen
    ) -> tuple[Progress, tuple[str, dict[str, str], str, float] | None]:
        """How Deployment ``name`` (and, with ``endpoints``, its Service) is doing, read by
        ``until``; and what to watch for its next change (a path, a query, a list's
        resourceVersion and for how long at most), or None when the wait is over (done,
        failed, or deleted). The Deployment's progress goes to ``seen`` as soon as it is
        read: a read of the EndpointSlices that fails after it fails after *that* progress.

        While the rollout is not done, the pods of its new ReplicaSet are read too (every
        :data:`_POD_RECHECK` seconds at most), and the progress names what keeps them from
        turning Ready (see :func:`_pods_said`): a wait fails at once on what will not fix
        itself, as on ``ProgressDeadlineExceeded``.
        """
        # A list's resourceVersion, not the object's: the object's may be older than
        # the watch history (compacted), when a list's is as new as the store.
        path, query = self._path("deployments"), {"fieldSelector": f"metadata.name={name}"}
        listed = self._client.request("GET", path, query=query, deadline=until)
        items = listed.get("items") or []
        most = _WATCH_MOST
        # Computed once per Deployment read, and again only when it is read again.
        progress = rollout_progress(items[0]) if items else None
        if (
            progress is not None
            and self._pods_readable
            and _rolling(progress)
            and self._diagnosed(items[0], until, seen)
        ):
            # The pods took time to read: the verdict is the Deployment as it is now,
            # not as it was before them (a wait must not end on a stale "not done").
            listed = self._client.request("GET", path, query=query, deadline=until)
            items = listed.get("items") or []
            progress = rollout_progress(items[0]) if items else None
        if progress is None:
            return Progress(False, True, f"Deployment {name} was deleted"), None
        if _rolling(progress) and self._pods_readable:
            progress = _pods_said(name, progress, seen.waits, seen.pulls)
            most = _POD_RECHECK
        # Rolled out is not ready while the Service's endpoints are still to be read:
        # a wait cut off by that read must not report the slot ready.
        noted = progress
        if endpoints and progress.done:
            noted = Progress(False, False, f"{progress.message}; its endpoints not read yet")
        seen.progress, seen.failure = noted, None
        if progress.failed:
            _log.warning("%s", progress.message)
            return progress, None
        if not progress.done:
            return progress, (path, query, listed["metadata"]["resourceVersion"], most)
        if not endpoints:
            return progress, None
        slices = self._slices(name, until)
        if ready_endpoints(slices.get("items", [])) > 0:
            return progress, None
        progress = Progress(
            False, False, f"{progress.message}, but Service {name} lists no ready endpoint"
        )
        watch = (
            self._path("endpointslices"),
            {"labelSelector": f"kubernetes.io/service-name={name}"},
            slices["metadata"]["resourceVersion"],
            _WATCH_MOST,
        )
        return progress, watch

    def _diagnosed(self, deployment: Mapping[str, Any], until: float, seen: _Seen) -> bool:
        """Read what keeps ``deployment``'s new pods from turning Ready into ``seen`` (at
        most every :data:`_POD_RECHECK` seconds: a watch may churn), within a short
        deadline of its own (see :func:`_diagnostic_deadline`), skipped when the read
        ending at ``until`` has too little time left; return whether the reads took long
        enough (:data:`_DIAGNOSTIC_STALE`) that the Deployment must be read again."""
        now = time.monotonic()
        if now - seen.pods_read < _POD_RECHECK:
            return False
        cutoff = _diagnostic_deadline(now, until, self._client.timeout)
        if cutoff is None:
            return False
        seen.waits, seen.pods_read = self._pod_waits(deployment, cutoff), now
        return time.monotonic() - now > _DIAGNOSTIC_STALE

    def _pod_waits(self, deployment: Mapping[str, Any], until: float) -> list[PodWait]:
        """What keeps the pods of ``deployment``'s new ReplicaSet from turning Ready (see
        :func:`pod_waits`), read by ``until``: its ReplicaSets, then that one's pods, one
        page of at most :data:`_POD_READ_LIMIT` each, one attempt each.

        Best effort: a read that fails, or answers with objects not shaped as the API's,
        says nothing (the wait goes on as it would without it); one refused for lack of
        rights (403: the Role grants no ``list`` on pods or replicasets) is not sent again
        by this deployer, and says so once."""
        try:
            return self._read_pod_waits(deployment, until)
        except (TypeError, AttributeError, ValueError) as exc:  # a shape _ready missed
            _log.info("could not make out the pods of a rollout: %s: %s",
                      type(exc).__name__, exc)  # fmt: skip
            return []

    def _read_pod_waits(self, deployment: Mapping[str, Any], until: float) -> list[PodWait]:
        spec = deployment.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels")
        if not self._pods_readable or not isinstance(selector, Mapping) or not selector:
            return []
        labels = ",".join(f"{k}={v}" for k, v in selector.items())
        try:
            sets = self._client.request(
                "GET",
                self._path("replicasets"),
                query={"labelSelector": labels, "limit": str(_POD_READ_LIMIT)},
                attempts=1,
                deadline=until,
            )
            found = new_replicaset_hash(deployment, _items(sets))
            if found is None:
                return []
            pods = self._client.request(
                "GET",
                self._path("pods"),
                query={
                    "labelSelector": f"{labels},pod-template-hash={found}",
                    "limit": str(_POD_READ_LIMIT),
                },
                attempts=1,
                deadline=until,
            )
        except KubernetesError as exc:
            if exc.status == 403:
                self._pods_readable = False
                _log.warning(
                    "%s; a wait will not say why pods are not Ready: grant the deployer "
                    "get and list on pods and replicasets (see the RBAC Role in the docs)",
                    exc,
                )
            else:
                _log.info("could not read the pods of a rollout: %s", exc)
            return []
        return pod_waits(_items(pods))

    def _await_change(  # noqa: PLR0913 - the watch, then how the wait is going
        self,
        path: str,
        query: Mapping[str, Any],
        rv: str,
        deadline: float,
        failures: int,
        *,
        before_write: bool,
        most: float = _WATCH_MOST,
    ) -> int:
        """Watch for the first change after ``rv`` (for ``most`` seconds at most); return
        how many watches in a row have failed (``failures`` before this one), having
        paused after a failed one.

        ``before_write``: the wait comes before a write of a rollout, and a rollout whose
        Lease can no longer be trusted writes nothing more; waiting (up to the
        traffic_timeout) for a cluster another rollout may now be changing back would only
        delay that answer, so the Lease is checked first (:class:`RolloutInProgress`)."""
        if before_write:
            self._check_lease()
        failures = 0 if self._next_event(path, query, rv, deadline, most) else failures + 1
        if failures:
            self._pause(failures, deadline)
        return failures

    def _slices(self, service: str, deadline: float | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = self._client.request(
            "GET",
            self._path("endpointslices"),
            query={"labelSelector": f"kubernetes.io/service-name={service}"},
            deadline=deadline,
        )
        return answer

    def _next_event(
        self, path: str, query: Mapping[str, Any], rv: str, deadline: float, most: float
    ) -> bool:
        """Return at the first change after ``rv`` (or at the watch's end, ``most`` seconds
        at most): True, or False when the watch failed (410 Gone included: the caller lists
        again, after a pause).

        A watch that ends without an event well before its timeout (a server or proxy
        closing it at once) counts as failed too, else list and watch would spin.
        """
        started = time.monotonic()
        timeout = min(deadline - started, most)
        try:
            for _event in self._client.watch(
                path,
                query=query,
                resource_version=rv,
                timeout=timeout,
                deadline=deadline,
            ):
                return True
        except KubernetesError as exc:
            _log.info("watch ended: %s; reading again", exc)
            return False
        if time.monotonic() - started < timeout / 2:
            _log.info("watch ended after %.3f s without an event; reading again after a pause",
                      time.monotonic() - started)  # fmt: skip
            return False
        return True

    # --- traffic --------------------------------------------------------------------------

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        """Move traffic; each slot with a share must have rolled out its version (no pod
        of the version it replaced left) and have ready endpoints first.

        With ``traffic="service"`` one slot takes all (the Service selects it) or two
        split by replica ratio (state() reports the share applied), and a slot left
        without traffic goes back to its spec's replica count once the selector moved
        (one not selected yet that shrinks for a split does so before it, and the selector
        moves once its Service lists no more ready endpoints than its share); with
        ``traffic="httproute"`` the HTTPRoute's weights are exact, and the call returns
        once the Gateway's controller reports the route as written ``Accepted``
        (``status.parents``, at the route's generation).

        Raises
        ------
        SlotNotFound
            A weight names a slot that does not exist.
        SlotBeingDeleted
            With ``traffic="service"``: the app's Service (the one clients call) is being
            deleted (a finalizer holds it); traffic was not moved.
        KubernetesError
            A slot to receive traffic is still rolling out a version (old replicas left,
            or its latest spec not observed yet: wait_ready it first) or has no ready
            endpoint (nothing moved), or the API server failed. A slot grown for a split
            that then failed is scaled back to the size it had (best effort: a failure of
            that is logged). With an HTTPRoute: its Gateway refused it (``Accepted`` or
            ``ResolvedRefs`` False: the reason and message are named), or did not accept
            it within ``traffic_timeout``; the route is written, but traffic may not
            follow it (state() reports the route's weights as written, so that no slot
            it names is replaced or removed meanwhile). A slot shrunk for a split whose
            Service still lists more ready endpoints than its share at
            ``traffic_timeout`` (it is scaled back; the selector was not changed).
        RolloutInProgress
            The rollout Lease went to another rollout (or can no longer be trusted)
            before a write, as when a wait outlasted it: nothing more is written, not even
            the scale-back of a slot grown for the split (it is logged; the rollout holding
            the Lease decides what serves).
        """
        self._check_lease()
        weights = check_weights(weights)
        with self._lock:
            deployments = self._deployments()
            for slot in weights:
                if slot not in deployments:
                    raise SlotNotFound(
                        f"no slot {slot!r} in {self.options.app!r}; slots: {sorted(deployments)}"
                    )
            service: dict[str, Any] | None = None
            if self.options.traffic == "service":
                # Refused before anything is written (a split scales slots first); read
                # again, and checked again, right before the write that moves traffic.
                service = self._app_service()
                self._check_owner(service)
                self._refuse_app_deleting(service)
            live = {slot: w for slot, w in weights.items() if w > 0}
            deadline = time.monotonic() + self._traffic_timeout
            # Checked in both modes. The client Service selects a slot's pods whatever
            # their version; a slot Service, behind an HTTPRoute, selects its version's,
            # but its EndpointSlices are written by a controller that lags behind: just
            # after an apply they still list the replaced version's ready pods. Only a slot
            # with no traffic yet can be rolling out a version (apply refuses one with
            # traffic): a slot serving may be restarting, at its own version, and an abort
            # to it must go through.
            serving: dict[str, int] | None = None  # read only for a slot rolling out
            for slot in live:
                name = self.options.slot_name(slot)
                deployments[slot] = self._observed(slot, deployments[slot], deadline)
                rolling = _rolling_out(deployments[slot])
                if rolling is not None:
                    serving = self._weights(deployments) if serving is None else serving
                    rolling = None if serving.get(slot) else rolling
                if rolling is not None:
                    raise KubernetesError(
                        f"slot {slot!r}: Deployment {name} is still rolling out ({rolling}); "
                        "pods of the version it replaces would take traffic: wait_ready"
                        f"({slot!r}) first; traffic was not moved"
                    )
                if ready_endpoints(self._slices(name).get("items", [])) == 0:
                    raise KubernetesError(
                        f"slot {slot!r}: Service {name} lists no ready endpoint; traffic was "
                        "not moved"
                    )
            full = {slot: weights.get(slot, 0) for slot in deployments}
            if self.options.traffic == "httproute":
                self._apply_route(full, self._route())
                self._wait_route(deadline)
                return
            self._switch_service(full, live, deployments, deadline, service)

    def _switch_service(
        self,
        full: Mapping[str, int],
        live: Mapping[str, int],
        deployments: Mapping[str, Mapping[str, Any]],
        deadline: float,
        service: Mapping[str, Any] | None,
    ) -> None:
        """Move traffic to ``full`` with ``traffic="service"``: scale, switch the app
        Service's selector, scale (see the module doc for the order). ``service`` is the
        app Service as read at the start (it tells which slots carry traffic)."""
        plan = self._replica_plan(live, deployments)
        now = {slot: _replicas(deployments[slot]) for slot in plan}
        # Only slots about to take traffic grow first (and are waited for): a slot
        # losing traffic is resized after the switch, so a broken one can never hold
        # up traffic moving away from it. A slot that shrinks and has no traffic yet
        # (a canary at its first step, at its spec's count) shrinks before the switch,
        # and one to take traffic is waited for until its Service lists no more ready
        # endpoints than its share's count: else, for a moment, all its pods would take
        # a share of the split (it has no traffic yet: waiting on it holds up nothing).
        grow = [slot for slot in plan if slot in live and plan[slot] > now[slot]]
        shrink = [slot for slot in plan if plan[slot] < now[slot]]
        if shrink:  # the selector, not rounded shares: 1 pod of 300 carries traffic
            selected = self._selected(service)
            shrink = [slot for slot in shrink if slot not in selected]
        changed = [*shrink, *grow]
        with self._undo_growth(changed, now):
            for slot in shrink:
                self._scale(slot, plan[slot])
            self._grow(grow, plan, deadline)
            self._shrunk([slot for slot in shrink if slot in live], plan, deadline)
            desired = app_service(self.options, full)
            current = self._client.request(
                "GET", self._path("services", self.options.app), missing_ok=True
            )
            self._check_owner(current)
            self._refuse_app_deleting(current)
        if current is None or _differs(current, desired):
            self._write_service(desired, current, changed, now)
        after = [slot for slot in plan if slot not in changed]
        for slot in after:
            self._scale(slot, plan[slot])
        # Until observed, a serving slot would not look rolled out. A slot without
        # traffic is not waited for: a broken one would hold up an abort, and a
        # rollback waits for its slot to be ready anyway.
        for slot in [*shrink, *after]:
            if (
                slot in live
                and plan[slot] < now[slot]
                and not self._wait(self.options.slot_name(slot), deadline, endpoints=False).done
            ):
                _log.warning("slot %s: scaling down to %d not observed yet", slot, plan[slot])

    def _observed(self, slot: str, deployment: dict[str, Any], deadline: float) -> dict[str, Any]:
        """``deployment`` once its controller has seen its latest spec (read again every
        50 ms to 1 s until ``deadline``; as it was if it never is).

        Any change of a Deployment's spec or annotations (a scale, ``kubectl annotate``)
        moves its generation on, and a controller sees it within moments: until then its
        status says nothing of the new spec, and traffic would be refused for that. A read
        that fails in a way a later one may not is read again after a pause (see
        :meth:`_read_again`: :class:`OutOfTime` once that reaches ``deadline``).
        """
        pause = 0.05
        failures = 0  # reads in a row that failed
        while _unobserved(deployment) and time.monotonic() < deadline:
            self._check_lease()  # a split writes next: see _await_change
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(2 * pause, 1.0)
            name = self.options.slot_name(slot)
            try:
                found = self._client.request(
                    "GET", self._path("deployments", name), missing_ok=True, deadline=deadline
                )
            except KubernetesError as exc:
                failures = self._read_again(exc, deadline, failures, before_write=True)
                continue
            failures = 0
            if found is None:
                raise SlotNotFound(
                    f"no slot {slot!r}: Deployment {name} was deleted meanwhile; traffic was "
                    "not moved"
                )
            deployment = found
        return deployment

    def _replica_plan(
        self, live: Mapping[str, int], deployments: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, int]:
        """The replica counts to change: every slot's target that differs from its count.

        One slot with traffic runs its spec's count; two share by ratio. A slot without
        traffic runs its spec's count too, so the previous version of a canary is at full
        size for the whole undo window (rolling back is then one traffic switch, as after
        blue-green) until it is removed. A slot whose replicas an autoscaler owns is
        never scaled: left alone when it takes all or none of the traffic, and a split
        is refused.
        """

        def base(slot: str) -> int:
            notes = deployments[slot]["metadata"].get("annotations") or {}
            if ANNOTATION_REPLICAS not in notes:
                return _replicas(deployments[slot])
            text = notes[ANNOTATION_REPLICAS]  # read from the cluster: anyone may edit it
            # At most 10 digits (a replica count is an int32): int() refuses 4,301.
            count = ascii_number(text, 10) if isinstance(text, str) else None
            if count is None or count < 1:
                raise KubernetesError(
                    f"Deployment {self.options.slot_name(slot)} has annotation "
                    f"{ANNOTATION_REPLICAS}={brief(text)}, not a replica count; it records "
                    "the spec's replicas: set it back (or deploy the slot again)"
                )
            return count

        plan = {slot: base(slot) for slot in deployments}
        if len(live) >= 2:
            big, small = sorted(live, key=lambda s: (-live[s], s))
            plan.update(
                zip(
                    (big, small),
                    _split(live[big], live[small], base(big), self._max_split, base(small)),
                    strict=True,
                )
            )
        changes = {slot: n for slot, n in plan.items() if n != _replicas(deployments[slot])}
        scaled = {slot for slot in changes if self._autoscaled(deployments[slot])}
        if len(live) >= 2 and scaled & set(live):
            raise ConfigError(
                f"an autoscaler owns the replicas of {sorted(scaled & set(live))}, so traffic "
                "cannot be split by replica ratio; use traffic='httproute' with a Gateway for "
                "canaries"
            )
        return {slot: n for slot, n in changes.items() if slot not in scaled}

    @contextlib.contextmanager
    def _undo_growth(self, grow: Sequence[str], now: Mapping[str, int]) -> Iterator[None]:
        """If traffic does not move, scale ``grow`` (the slots grown, or shrunk before the
        switch) back to the size each had (``now``).

        Covers every step from the first scale to the write that moves traffic: else a
        slot that keeps all the traffic would stay at a split's size, and a canary that
        got none at its split's size. The undo is best
        effort (a failure of it is logged); the error that caused it is raised. Scaling a
        slot back that was not grown yet is a no-op write.
        """
        try:
            yield
        except Exception:
            self._scale_back(grow, now)
            raise

    def _scale_back(self, grow: Sequence[str], now: Mapping[str, int]) -> None:
        """Scale ``grow`` back to ``now``, best effort; never once this rollout's Lease is
        another's (that rollout owns the service now and sizes its slots): the slots are
        left as they are, and logged."""
        for slot in grow:
            try:
                self._scale(slot, now[slot])
            except RolloutInProgress as exc:
                _log.warning(
                    "slot %s: left as it is, not scaled back to %d: %s", slot, now[slot], exc
                )
            except KubernetesError as exc:
                _log.warning("slot %s: could not scale back to %d: %s", slot, now[slot], exc)

    def _write_service(
        self,
        desired: Mapping[str, Any],
        current: Mapping[str, Any] | None,
        grow: Sequence[str],
        now: Mapping[str, int],
    ) -> None:
        """Write the app Service. If that fails, it is read again: with the selector
        written, the write landed (its answer was lost) and traffic moved; with the one it
        had before, the write did not land and ``grow`` is scaled back; else (or when it
        cannot be read) the error says the Service may have changed and nothing is undone,
        since the grown slots may already serve the new split."""
        try:
            self._apply(desired)
        except RolloutInProgress:
            # Refused before it was sent (the Lease is another's): nothing to read again.
            self._scale_back(grow, now)  # logs only: scaling back is refused too
            raise
        except Exception as exc:
            before = None if current is None else _written(current)
            try:
                again = self._client.request(
                    "GET", self._path("services", self.options.app), missing_ok=True
                )
            except KubernetesError as read_error:
                _log.warning(
                    "Service %s: could not read it again: %s", self.options.app, read_error
                )
            else:
                after = None if again is None else _written(again)
                # The selector and the weights asked for: two splits share a selector, so
                # the selector alone cannot tell whether this write landed.
                if again is not None and after == _written(desired):
                    _log.warning(
                        "Service %s: its write failed (%s) but it was carried out",
                        self.options.app,
                        exc,
                    )
                    return  # the answer was lost, not the write
                if (again is None) == (current is None) and after == before:
                    self._scale_back(grow, now)  # the write did not land
                    raise
            raise KubernetesError(
                f"Service {self.options.app}: the write that moves traffic failed, but the "
                f"Service may have changed (its answer was lost, or it could not be read "
                f"again); slots resized for the split were left at their size: check state() "
                f"and call set_traffic again ({exc})",
                getattr(exc, "status", 0),
                getattr(exc, "reason", ""),
                retryable=getattr(exc, "retryable", False),
            ) from exc

    def _grow(self, grow: Sequence[str], plan: Mapping[str, int], deadline: float) -> None:
        """Scale ``grow`` to their plan and wait until available, or raise saying why not
        (a rollout that failed at once, or traffic_timeout reached)."""
        for slot in grow:
            self._scale(slot, plan[slot])
        for slot in grow:
            progress = self._wait(
                self.options.slot_name(slot), deadline, endpoints=False, before_write=True
            )
            if progress.done:
                continue
            why = (
                progress.message  # it failed: not waited for any longer
                if progress.failed
                else f"not within traffic_timeout ({self._traffic_timeout:g} s; last seen: "
                f"{progress.message})"
            )
            raise KubernetesError(
                f"slot {slot!r} did not reach {plan[slot]} available replicas: {why}; the "
                "selector was not changed"
            )

    def _shrunk(self, shrink: Sequence[str], plan: Mapping[str, int], deadline: float) -> None:
        """Wait until the Service of each slot of ``shrink`` lists at most its ``plan``'s
        count of ready endpoints (its pods going away: a terminating pod is listed, not
        ready), or raise saying what was last seen (a scale-down not reached by
        ``deadline``)."""
        for slot in shrink:
            name = self.options.slot_name(slot)
            seen = self._wait_endpoints(name, plan[slot], deadline)
            if seen is not None:
                raise KubernetesError(
                    f"slot {slot!r} did not scale down to {plan[slot]} ready endpoints within "
                    f"traffic_timeout ({self._traffic_timeout:g} s; last seen: {seen}); the "
                    "selector was not changed"
                )

    def _wait_endpoints(self, name: str, most: int, deadline: float) -> str | None:
        """Wait until Service ``name`` lists at most ``most`` ready endpoints: None, or at
        ``deadline`` what was last seen. Watches its EndpointSlices between checks; a read
        that fails in a way a later one may not is sent again (see :meth:`_read_again`)."""
        seen = _Seen()  # what the last read said, and a read that failed after it
        path = self._path("endpointslices")
        query = {"labelSelector": f"kubernetes.io/service-name={name}"}
        failures = 0
        try:
            for round_ in range(_MAX_WAIT_ROUNDS):
                until = self._first_check(deadline, at_least=1.0) if round_ == 0 else deadline
                try:
                    slices = self._slices(name, until)
                except KubernetesError as exc:
                    if not _cut_off(exc):
                        seen.failure = exc
                    failures = self._read_again(exc, deadline, failures, before_write=True)
                    continue
                ready = ready_endpoints(slices.get("items", []))
                if ready <= most:
                    return None
                listed = Progress(False, False, f"Service {name} lists {ready} ready endpoints")
                seen.progress, seen.failure = listed, None
                if deadline - time.monotonic() <= 0:
                    break
                rv = slices["metadata"]["resourceVersion"]
                failures = self._await_change(
                    path, query, rv, deadline, failures, before_write=True
                )
        except KubernetesError as exc:
            if time.monotonic() < deadline and not isinstance(exc, OutOfTime):
                raise
            return _not_ready_in_time(name, deadline, exc, seen.last()).message
        last = seen.last()
        return (
            f"the EndpointSlices of Service {name} were never read"
            if last is None
            else last.message
        )

    def _scale(self, slot: str, replicas: int) -> None:
        self._write(
            "PATCH",
            self._path("deployments", self.options.slot_name(slot)),
            query={"fieldManager": "modelship-traffic"},
            body={"spec": {"replicas": replicas}},
            content_type=MERGE,
        )

    # --- health and removal ---------------------------------------------------------------

    def health(self, slot: str) -> SlotHealth:
        """GET the slot's ``/health`` through the API server's services proxy; when that
        fails, the detail names what keeps a pod of its current version from turning
        Ready, if anything does (an image pull failing, a crash loop: see ``wait_ready``).
        """
        name = self._existing(slot)
        found = self._client.request("GET", self._path("deployments", name), missing_ok=True)
        if found is None:
            raise SlotNotFound(
                f"no slot {slot!r}: no Deployment {name} in {self.options.namespace}"
            )
        service = self._client.request("GET", self._path("services", name), missing_ok=True)
        deleted = _deleting(found, service)
        if deleted is not None:
            # It goes, pods and all, once its last finalizer does: not a slot to trust.
            return SlotHealth(
                False,
                redact(
                    f"{deleted[1]}: it goes with its pods once its last finalizer does; "
                    "deploy again once it is gone"
                ),
            )
        path = f"/api/v1/namespaces/{self.options.namespace}/services/{name}:http/proxy/health"
        try:
            self._client.request("GET", path, attempts=2)
        except KubernetesError as exc:
            detail = f"GET /health via {name}: {exc}"
            # Bounded as a wait's are: a hanging pods list must not hold up the answer.
            cutoff = time.monotonic() + min(_DIAGNOSTIC_MOST, self._client.timeout)
            waits = self._pod_waits(found, cutoff)
            if waits:
                detail += f"; {waits[0].text}" + (f"; {waits[0].advice}" if waits[0].advice else "")
            return SlotHealth(False, redact(detail))
        return SlotHealth(True, f"GET /health via Service {name}: 200")

    def remove(self, slot: str) -> None:
        """Delete the slot's Deployment and Service; refuses a slot with traffic.

        Raises
        ------
        SlotInUse
            The slot receives traffic; move it first.
        ConfigError
            ``slot`` is not text, or its Deployment or Service is not this app's (both
            are checked before either is deleted: nothing was deleted).
        RolloutInProgress
            The rollout Lease went to another rollout (or can no longer be trusted)
            before a write: nothing more is written.
        KubernetesError
            The API server refused, or could not be reached after the retries.
        """
        if isinstance(slot, str) and slot not in SLOTS:
            return  # no such slot: nothing to delete
        name = self.options.slot_name(slot)  # a slot that is not text: ConfigError
        self._check_lease()
        with self._lock:
            deployments = self._deployments()
            in_use = self._in_use(slot, deployments)
            if in_use is not None:
                raise SlotInUse(f"slot {slot!r} {in_use}; move its traffic first")
            # Both read and checked before anything is written, so another app's Service
            # of the slot's name refuses the removal before our Deployment is deleted.
            found = {
                kind: self._client.request("GET", self._path(kind, name), missing_ok=True)
                for kind in ("deployments", "services")
            }
            for obj in found.values():
                self._check_owner(obj)
            # First drop a reference to the slot's Service (one left by an older release,
            # with weight 0), so the route never names a deleted Service. The route is
            # rebuilt from its own backends, each other slot keeping its weight as written.
            if self.options.traffic == "httproute":
                route = self._route()
                if any(ref.get("name") == name for ref in _backends(route)):
                    written = self._route_weights(route)
                    kept = {
                        other: written[self.options.slot_name(other)]
                        for other in SLOTS
                        if other != slot and self.options.slot_name(other) in written
                    }
                    self._apply_route(kept, route)
            deleted: list[str] = []
            for kind, obj in found.items():
                self._delete_own(kind, name, obj, deleted)
                if obj is not None:
                    deleted.append(f"{obj.get('kind', kind)} {name!r}")

    def _delete_own(
        self, kind: str, name: str, found: Mapping[str, Any] | None, deleted: Sequence[str]
    ) -> None:
        """Delete ``found``, ``kind`` ``name`` as read and checked to be this app's.

        Deleted with the read's ``uid`` and ``resourceVersion`` as preconditions, so the
        API server refuses (409) a delete of an object replaced or changed since the
        check: the check and the delete act on the same object. A changed object (a
        controller writing its status) is read and checked again, at most
        :data:`_DELETE_TRIES` tries in all, waiting 0.05 s, then twice as long, between
        them; one that is no longer this app's then is a :class:`ConfigError` saying what
        was ``deleted`` already.
        """
        path = self._path(kind, name)
        for attempt in range(_DELETE_TRIES):
            if attempt:
                time.sleep(0.05 * 2 ** (attempt - 1))
                found = self._client.request("GET", path, missing_ok=True)
                why = self._not_ours(found)
                if why is not None:
                    done = ", ".join(deleted) if deleted else "nothing"
                    raise ConfigError(
                        f"{why}: it was replaced while it was being deleted, and was left "
                        f"alone ({done} deleted); give one of the apps another name, or "
                        "delete the object if it is stale"
                    )
            if found is None:
                return
            meta = found.get("metadata") or {}
            options = {
                "apiVersion": "v1",
                "kind": "DeleteOptions",
                "propagationPolicy": "Background",
                "preconditions": {
                    "uid": meta.get("uid"),
                    "resourceVersion": meta.get("resourceVersion"),
                },
            }
            try:
                self._write("DELETE", path, body=options, missing_ok=True)
            except KubernetesError as exc:
                if exc.status != 409:
                    raise
                continue  # changed since the read: read and check again
            return
        raise KubernetesError(
            f"{kind} {name!r} in {self.options.namespace!r} kept changing while it was being "
            f"deleted ({_DELETE_TRIES} tries); remove the slot again",
            409,
            "Conflict",
        )


def serving_objects(
    objects: list[dict[str, Any]], options: KubeOptions, slot: str
) -> list[dict[str, Any]]:
    """``objects`` (a slot's, from :func:`slot_objects`) with the app Service or
    HTTPRoute as it is once all traffic moved to ``slot``, in :func:`render`'s order."""
    route = (
        http_route(options, {slot: 100})
        if options.traffic == "httproute"
        else app_service(options, {slot: 100})
    )
    return [*objects[:2], route, *objects[2:]]


@attrs.define
class _Seen:
    """What a wait last saw: the progress last read (None: none was), and a read that
    failed after it (None: none did, or one was answered since); and since when (a
    :func:`time.monotonic` time) each pod, by uid, was seen failing to pull its image in
    every read (see :func:`_pods_said`)."""

    progress: Progress | None = None
    failure: KubernetesError | None = None
    pulls: dict[str, float] = attrs.field(factory=dict)
    # what kept the rollout's pods from turning Ready, and when (monotonic) it was read:
    # they are read again only every _POD_RECHECK seconds
    waits: list[PodWait] = attrs.field(factory=list)
    pods_read: float = -math.inf

    def last(self) -> Progress | None:
        """The progress last read, naming the read that failed after it (if any); when no
        read was answered, the read that failed (the API server's answer, such as a 503,
        not a later read the deadline cut off); None when nothing was seen at all."""
        if self.failure is None:
            return self.progress
        if self.progress is None:
            return _no_answer(self.failure)
        message = f"{self.progress.message}; then a read failed: {self.failure}"
        return attrs.evolve(self.progress, message=message)


def _pods_said(
    name: str, progress: Progress, waits: Sequence[PodWait], pulls: dict[str, float]
) -> Progress:
    """``progress`` of Deployment ``name``'s rollout with what keeps its new pods from
    turning Ready (``waits``, as read now): the first named in its message, and ``failed``
    with what to do when one will not fix itself (:meth:`PodWait.hopeless`: an image
    reference that does not parse, or may never be pulled; a crash loop of
    :data:`~._ready.CRASH_LOOP_RESTARTS` restarts; an image pull failing in every read for
    :data:`~._ready.PULL_FAILURE_SECONDS`). ``pulls`` (pod uid: since when its pull was
    seen failing) is updated: a pod whose pull is not failing now starts again at 0.

    Examples
    --------
    >>> late = PodWait("m-1", "u1", "server", "CrashLoopBackOff", "back-off 40s", 3)
    >>> print(_pods_said("m", Progress(False, False, "Waiting..."), [late], {}).message)
    Deployment m will not become ready: pod m-1, container server: CrashLoopBackOff: \
back-off 40s (restarts: 3); the container keeps exiting: read its log (kubectl logs m-1 \
-c server --previous), fix the cause and deploy again
    """
    now = time.monotonic()
    pulling = {w.uid for w in waits if w.pulling}
    for uid in [uid for uid in pulls if uid not in pulling]:
        del pulls[uid]
    for uid in pulling:
        pulls.setdefault(uid, now)
    for wait in waits:
        if wait.hopeless(now - pulls.get(wait.uid, now)):
            said = f"Deployment {name} will not become ready: {wait.text}"
            return Progress(False, True, f"{said}; {wait.advice}" if wait.advice else said)
    if not waits:
        return progress
    more = f"; and {len(waits) - 1} more container(s) waiting" if len(waits) > 1 else ""
    return attrs.evolve(progress, message=f"{progress.message} ({waits[0].text}{more})")


def _rolling(progress: Progress) -> bool:
    """Whether a rollout is still going (neither done nor failed)."""
    return not progress.done and not progress.failed


def _diagnostic_deadline(now: float, until: float, request_timeout: float) -> float | None:
    """The deadline of a wait's diagnostic reads (ReplicaSets, pods) made ``now`` by a
    read that must end by ``until``: a quarter of the time left, at most
    :data:`_DIAGNOSTIC_MOST` seconds and ``request_timeout``, so that a slow or hanging
    list (an API server queueing expensive LISTs) never eats the wait; None (skip them)
    when that is under :data:`_DIAGNOSTIC_LEAST`.

    Examples
    --------
    >>> _diagnostic_deadline(0.0, 60.0, 30.0), _diagnostic_deadline(0.0, 4.0, 30.0)
    (2.0, 1.0)
    >>> _diagnostic_deadline(0.0, 0.3, 30.0) is None
    True
    """
    budget = min((until - now) / 4, _DIAGNOSTIC_MOST, request_timeout)
    return None if budget < _DIAGNOSTIC_LEAST else now + budget


def _items(listed: object) -> list[Mapping[str, Any]]:
    """The objects of a list the API server answered (none, if it is not shaped as one)."""
    items = listed.get("items") if isinstance(listed, Mapping) else None
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def _cut_off(exc: KubernetesError) -> bool:
    """Whether a read that failed with ``exc`` was only cut off by its deadline, and so saw
    nothing: not sent at all, the deadline having passed (:attr:`OutOfTime.unsent`). Any
    attempt that failed (an answer such as 429 or 5xx, a dropped connection, a timeout)
    is something seen, even when its retry would start after the deadline."""
    return isinstance(exc, OutOfTime) and exc.unsent


def _not_ready_in_time(
    name: str, deadline: float, exc: KubernetesError, last: Progress | None = None
) -> Progress:
    """Not done, at ``deadline``: a wait's request stopped because its next attempt would
    start after the deadline (:class:`OutOfTime`: the server asked to be asked again only
    later), or failed past it. The wait sleeps out the time left (one sleep, ending at the
    deadline), so that it returns at its deadline, as documented, and a caller waiting
    again in a loop does not ask before the server said to. ``last``: what the wait last
    saw (see :class:`_Seen`), said instead of the API server when a read was answered."""
    time.sleep(max(0.0, deadline - time.monotonic()))
    if last is not None:
        _log.info("%s: not ready in time: %s", name, last.message)
        return last
    _log.info("%s: not ready in time: %s", name, exc)
    return _no_answer(exc)


def _no_answer(exc: KubernetesError) -> Progress:
    """What a wait saw when no read of it was answered, only ``exc``: not done, not failed
    (the one place that says it, for :class:`_Seen` and :func:`_not_ready_in_time`).

    Examples
    --------
    >>> print(_no_answer(KubernetesError("GET /x: 503 ServiceUnavailable")).message)
    the API server did not answer in time: GET /x: 503 ServiceUnavailable
    """
    return Progress(False, False, f"the API server did not answer in time: {exc}")


def _parent_key(ref: Mapping[str, Any], namespace: str) -> tuple[Any, ...]:
    """What names a Gateway API parentRef's parent, its defaults filled in (group
    ``gateway.networking.k8s.io``, kind ``Gateway``, the route's namespace)."""
    return (
        ref.get("group", "gateway.networking.k8s.io"),
        ref.get("kind", "Gateway"),
        ref.get("namespace") or namespace,
        ref.get("name"),
        ref.get("sectionName"),
        ref.get("port"),
    )


def _parent_text(ref: Mapping[str, Any], namespace: str) -> str:
    """``namespace/name`` of a parentRef's Gateway."""
    return f"{ref.get('namespace') or namespace}/{ref.get('name')}"


def _rolling_out(deployment: Mapping[str, Any]) -> str | None:
    """Why traffic may not go to ``deployment``'s pods yet (kubectl's rollout message), or
    None.

    The client Service selects a slot's pods whatever their version, and a slot Service's
    EndpointSlices (behind an HTTPRoute) may still list the replaced version's pods, so
    they must be gone first: traffic waits while the controller has not seen
    the latest spec (a new version may just have been applied) or old replicas remain. A
    slot only scaling (an autoscaler's, or a split's, pods still starting), all of one
    version, may take traffic: only its ready pods get it, and a refusal would fail canary
    steps under load and hold up an abort to a stable slot an autoscaler is scaling.
    """
    progress = rollout_progress(deployment)
    if progress.done:
        return None
    status = deployment.get("status") or {}
    old = (status.get("replicas") or 0) > (status.get("updatedReplicas") or 0)
    return progress.message if _unobserved(deployment) or old else None


def _unobserved(deployment: Mapping[str, Any]) -> bool:
    """Whether the Deployment's controller has not seen its latest spec yet."""
    meta = deployment.get("metadata") or {}
    status = deployment.get("status") or {}
    return bool(meta.get("generation", 0) > status.get("observedGeneration", 0))


def _backends(route: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The backendRefs of an HTTPRoute's (only) rule; none if there is no route."""
    rules = [] if route is None else (route.get("spec") or {}).get("rules") or []
    return [ref for rule in rules[:1] for ref in rule.get("backendRefs") or []]


def _replicas(deployment: Mapping[str, Any]) -> int:
    """The Deployment's ``spec.replicas`` (1 when absent, as the API server defaults it)."""
    return int((deployment.get("spec") or {}).get("replicas", 1))


def _split(big: int, small: int, floor: int, most: int, small_spec: int) -> tuple[int, int]:
    """Replica counts ``(n, m)`` for a split of weights ``big`` >= ``small`` > 0 whose share
    ``m / (n + m)`` (the Service splits by replica count) is the closest to the share asked
    that these bounds allow: the larger share's slot keeps at least ``floor`` (its spec's
    count, at least one), the smaller's gets at least one, and neither is scaled above
    ``most`` (max_split_replicas) or its own spec's count (``floor``, ``small_spec``),
    whichever is larger. Of equally close splits, the one with the fewest replicas.

    For each ``n`` the closest share is at one of the two counts next to ``n * small /
    big``. ``n`` is tried only up to the first multiple of ``big / gcd(big, small)`` (at
    most 99 counts, as weights are percentages): there the ratio is exact, or the smaller
    slot is at its most and a larger ``n`` only moves the share further away.

    Examples
    --------
    >>> _split(90, 10, 2, 20, 2), _split(90, 10, 6, 4, 6), _split(50, 50, 2, 20, 2)
    ((9, 1), (6, 1), (2, 2))
    >>> _split(50, 50, 30, 20, 5), _split(58, 42, 2, 2, 2)  # 40% and 50%: the closest
    ((30, 20), (2, 2))
    """
    lowest = max(floor, 1)
    period = big // math.gcd(big, small)
    exact = -(-lowest // period) * period  # the first n with an exact ratio, if m may follow
    ceiling = max(small_spec, most)
    best: tuple[Fraction, int, int] | None = None
    for n in range(lowest, min(max(floor, most), exact) + 1):
        for m in sorted({min(max(1, n * small // big + up), ceiling) for up in (0, 1)}):
            # |m / (n + m) - small / (big + small)| times the constant (big + small)
            error = Fraction(abs(m * big - n * small), n + m)
            if best is None or (error, n + m) < (best[0], best[1] + best[2]):
                best = (error, n, m)
    assert best is not None  # the range holds lowest at least
    return best[1], best[2]


def _percentages(counts: Mapping[str, int]) -> dict[str, int]:
    """Integer percentages proportional to ``counts`` that sum to 100 (or all 0).

    A nonzero count gets at least 1%, the difference taken from the largest: a slot
    with 2 pods of 402 takes traffic, and a share of 0 would let it be replaced.

    Examples
    --------
    >>> _percentages({"blue": 400, "green": 2}), _percentages({"blue": 3, "green": 1})
    ({'blue': 99, 'green': 1}, {'blue': 75, 'green': 25})
    >>> _percentages({"blue": 5, "green": 0}), _percentages({"blue": 0, "green": 0})
    ({'blue': 100, 'green': 0}, {'blue': 0, 'green': 0})
    """
    total = sum(counts.values())
    if total <= 0:
        return dict.fromkeys(counts, 0)
    out = {slot: max(1, round(100 * n / total)) if n > 0 else 0 for slot, n in counts.items()}
    top = max(sorted(out), key=lambda s: counts[s])
    out[top] += 100 - sum(out.values())
    return out


def _written(service: Mapping[str, Any]) -> tuple[Any, Any]:
    """What a write of the app Service sets: its selector and the weights annotation."""
    notes = (service.get("metadata") or {}).get("annotations") or {}
    return (service.get("spec") or {}).get("selector"), notes.get(ANNOTATION_WEIGHTS)


def _check_connection(server: object, token: object, ca_cert: object, verify_ssl: object) -> None:
    """Refuse connection settings that no request could use, naming the setting."""
    if server is not None:
        text = server if isinstance(server, str) else None
        parts = urllib.parse.urlsplit(text) if text is not None and " " not in text else None
        try:
            host = parts.hostname if parts is not None else None
        except ValueError:
            host = None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise ConfigError(
                f"server must be the API server's URL, such as 'https://10.0.0.1:6443', got "
                f"{redact(repr(server))}"
            )
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ConfigError(
            f"token must be a non-empty string (a bearer token), got {type(token).__name__}"
        )
    if ca_cert is not None:
        if not isinstance(ca_cert, (str, os.PathLike)):
            raise ConfigError(f"ca_cert must be the path of a CA certificate file, got {ca_cert!r}")
        if not os.path.isfile(ca_cert):
            raise ConfigError(
                f"ca_cert {os.fspath(ca_cert)!r} is not a file; pass the path of the API "
                "server's CA certificate (PEM)"
            )
    if not isinstance(verify_ssl, bool):
        raise ConfigError(f"verify_ssl must be True or False, got {verify_ssl!r}")


def _check_kubeconfig(kubeconfig: object, context: object) -> None:
    """Refuse a kubeconfig that is not a path, or a context that is not a name, when the
    deployer is made (they are read only at the first request)."""
    if kubeconfig is not None and not isinstance(kubeconfig, (str, os.PathLike)):
        raise ConfigError(
            f"kubeconfig must be the path of a kubeconfig file (a str or os.PathLike), got "
            f"{type(kubeconfig).__name__} {redact(repr(kubeconfig))}"
        )
    if context is not None and not isinstance(context, str):
        raise ConfigError(
            f"context must be the name of a context in the kubeconfig (a str), got "
            f"{type(context).__name__} {redact(repr(context))}"
        )


def _differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    have = (
        (current.get("spec") or {}).get("selector"),
        (current["metadata"].get("annotations") or {}).get("modelship.io/weights"),
    )
    want = desired["spec"]["selector"], desired["metadata"]["annotations"]["modelship.io/weights"]
    ports = [(p.get("name"), p.get("port")) for p in (current.get("spec") or {}).get("ports", [])]
    return have != want or ports != [(p["name"], p["port"]) for p in desired["spec"]["ports"]]
