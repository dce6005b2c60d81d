"""``FakeKube``: a fake Kubernetes API server over real HTTP or HTTPS on 127.0.0.1.

It answers the official ``kubernetes`` client with the shapes the real API server uses
(objects with ``metadata.resourceVersion`` and ``managedFields``, ``Status`` bodies for
errors, ``{"type", "object"}`` lines in a chunked watch stream) so the client's real code
path runs: configuration, authentication, TLS, (de)serialisation, retries.

Modelled: create (a ``generateName`` gets 5 random characters, drawn again if taken),
get, list and watch (equality- and set-based label selectors; field selectors on
``metadata.name``, ``metadata.namespace`` and, for a Pod, ``status.phase``,
``spec.nodeName`` and the rest of its registry's fields; others 400), replace with
optimistic
concurrency (409 on a stale resourceVersion; without one, an unconditional update, which
a Lease and the custom resources refuse with 422; a PUT to a missing Lease or Service
creates it, 201), JSON merge patch (a ``$`` key is plain data there), strategic
merge patch of the built-in kinds (as a merge patch whose lists with patch strategy
merge merge by their schema's merge key, as :data:`._fields.PATCH_MERGE_KEYS` lists them:
a container's ports by ``containerPort``, a Service's by ``port``, ``finalizers`` as a set
of strings; every other list is replaced; ordered as the API server orders them; its
directives ``$patch: replace`` and ``$patch: delete`` on a map or an item of a merged
list, ``$retainKeys``, ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>``;
any other ``$`` key, and what the API server refuses, is 400, never stored; a patch that
drops the object's name is 400; 415 for the custom resources, which have no patch
strategies), server-side apply
with field managers, shared ownership and conflicts (409 unless ``force``; a
resourceVersion in the applied object is a precondition) that merges as the schemas'
``x-kubernetes-map-type``/``list-type``/``list-map-keys`` say (see :mod:`._fields`),
``dryRun=All`` (any other value: 422, nothing done), delete with garbage collection by
owner and finalizers (an object with finalizers gets a ``deletionTimestamp`` and goes
when its last finalizer does), watch from a resourceVersion with 410 Gone once the event
log has moved past it (an object that starts or stops matching the watch's label
selector is ADDED or DELETED), Deployments
driven through a rollout (see :mod:`._controller`), EndpointSlices following pods, the
services proxy (``/api/v1/namespaces/N/services/S:P/proxy/PATH``) answering from the
simulated pods, bearer tokens and client certificates, the ``status`` subresource (a
write to ``/status`` changes only the status; one to the object keeps the stored
status), writes that change nothing keeping their resourceVersion, a generation bumped
by spec changes (and a Deployment's annotations), the validation (422) of names, label
keys and values (metadata, selectors, pod templates), int32 counts, replicas (at least
0), a Deployment's strategy (its type, and maxSurge and maxUnavailable: not both 0,
maxUnavailable at most 100%; defaulted first, as the API server defaults it), a Lease's
duration (above 0) and transitions (at least 0), a Deployment's immutable selector, and the
decoding of a Lease's MicroTimes (400 unless six fractional digits; stored in UTC), a
``Date`` header on every answer, and injectable faults.

Not modelled (tests must not rely on them): admission and schema validation beyond the
fields above (use kubernetes-validate), defaulting beyond a few fields, RBAC (every
authenticated caller may do everything), graceful pod termination (pods are deleted at
once), the scheduler, node capacity and resource quotas, JSON patch, the ``scale`` and
``ephemeralContainers`` subresources, the Gateway's data plane and Gateway objects (a
Gateway controller only writes each HTTPRoute's parent status: accepted, unless a test
says otherwise; see :mod:`._controller`), the PodMonitor controller (PodMonitors are only
stored), list pagination beyond one page (``limit`` cuts a list, which then carries a
``continue`` token and ``remainingItemCount``; a list sent with ``continue`` is refused
with 400), watch bookmarks, and the ``/api`` and ``/apis`` discovery documents.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import http.server
import json
import math
import re
import secrets
import selectors
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs

from modelship._shown import ascii_number
from modelship.errors import ConfigError
from modelship.testing.fake_kube._controller import Controller, Timings
from modelship.testing.fake_kube._fields import PATCH_MERGE_KEYS, SchemaPath, json_copy
from modelship.testing.fake_kube._store import (
    KINDS,
    ApiError,
    Kind,
    Store,
    conflict,
    decode_strings,
    decode_times,
    match_labels,
    parse_field_selector,
    parse_selector,
    prepare_create,
)

if TYPE_CHECKING:
    from types import TracebackType

    from modelship.testing.fake_kube._tls import TestPKI

__all__ = ["FakeKube", "Fault", "FaultKind", "RecordedRequest"]

_NAMESPACED = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>.*))?)?$"
)


class FaultKind(enum.Enum):
    """What an injected fault does to a matching request.

    ``STATUS``: answer ``status`` with a ``Status`` body (429 adds ``Retry-After``, as
    does any status given the fault's ``retry_after``).
    ``TIMEOUT``: hold the request ``delay`` seconds, then close without answering.
    ``DROP``: close the connection at once, without answering.
    ``LOST``: carry the request out, then close the connection without answering (the
    answer is lost on the way: the client cannot tell whether the change happened); a
    watch is dropped as with ``DROP``.
    ``GONE``: a watch gets an ``ERROR`` event carrying a 410 ``Status``; any other
    request a 410 answer.
    ``SLOW``: carry the request out and answer, but send the answer's body (a watch's
    stream too) one byte every ``delay`` seconds, as an overloaded server or proxy may.

    Examples
    --------
    >>> FaultKind("drop")
    <FaultKind.DROP: 'drop'>
    """

    STATUS = "status"
    TIMEOUT = "timeout"
    DROP = "drop"
    LOST = "lost"
    GONE = "gone"
    SLOW = "slow"


def _fault_kind(value: FaultKind | str) -> FaultKind:
    """A :class:`FaultKind`, or its value (``"drop"``); another is a ConfigError."""
    if isinstance(value, FaultKind):
        return value
    try:
        return FaultKind(value)
    except ValueError:
        known = ", ".join(repr(k.value) for k in FaultKind)
        raise ConfigError(
            f"Fault kind={value!r} is not a fault kind; give a FaultKind or one of {known}"
        ) from None


def _pattern(instance: Fault, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ConfigError(
            f"Fault {attribute.name}={value!r} is not a regular expression; give a str or None"
        )
    try:
        re.compile(value)
    except re.error as exc:
        raise ConfigError(
            f"Fault {attribute.name}={value!r} is not a valid regular expression ({exc}); "
            "escape special characters with re.escape"
        ) from None


def _count(instance: Fault, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is None and attribute.name == "times":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        none = " or None (every matching request)" if attribute.name == "times" else ""
        raise ConfigError(
            f"Fault {attribute.name}={value!r} is not allowed; give a whole number >= 0{none}"
        )


def _seconds(instance: Fault, attribute: attrs.Attribute[float], value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(
            f"Fault {attribute.name}={value!r} is not allowed; give a finite number of seconds >= 0"
        )


def _status(instance: Fault, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ConfigError(f"Fault status={value!r} is not an HTTP status; give 100 to 599")


@attrs.define
class Fault:
    """A fault for requests whose ``method`` and ``path`` (a regex searched) match.

    ``method`` and ``path`` are regular expressions (``"PATCH|DELETE"``). ``skip``: how
    many matching requests pass untouched first; ``times``: how many it then hits (None:
    all). ``watch``: only watch requests (True), only others (False), or both (None).
    ``query``, a regular expression too, is searched in the request's decoded query
    string (``fieldSelector=metadata.name=fraud-blue``).
    ``echo_authorization`` puts the request's ``Authorization`` header into the error
    body (to test redaction). ``retry_after`` is the ``Retry-After`` header a ``STATUS``
    fault answers with (as the API server sends with 429 and 503); None: ``"1"`` on a 429,
    none otherwise.

    ``kind`` may be given as a :class:`FaultKind` or its value (``"drop"``). Wrong
    values (an unknown kind, a regular expression that does not compile, a negative
    ``times``, ``skip`` or ``delay``, a ``status`` outside 100-599) are refused with
    :class:`~modelship.errors.ConfigError` when the fault is made.

    Examples
    --------
    >>> Fault("PATCH", "/services/", status=503).kind
    <FaultKind.STATUS: 'status'>
    >>> Fault("GET", "/pods", kind="drop").kind
    <FaultKind.DROP: 'drop'>
    >>> Fault("GET", "[")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: Fault path='[' is not a valid regular expression ...
    """

    method: str | None = attrs.field(default=None, validator=_pattern)
    path: str | None = attrs.field(default=None, validator=_pattern)
    kind: FaultKind = attrs.field(default=FaultKind.STATUS, converter=_fault_kind)
    status: int = attrs.field(default=500, validator=_status)
    times: int | None = attrs.field(default=1, validator=_count)
    delay: float = attrs.field(default=5.0, validator=_seconds)
    watch: bool | None = None
    echo_authorization: bool = False
    skip: int = attrs.field(default=0, validator=_count)
    retry_after: str | None = None
    query: str | None = attrs.field(default=None, validator=_pattern)

    def matches(self, method: str, path: str, watching: bool, query: str = "") -> bool:
        """Whether this fault applies to a request (before counting ``skip`` and ``times``)."""
        return (
            (self.times is None or self.times > 0)
            and (self.method is None or re.fullmatch(self.method, method) is not None)
            and (self.path is None or re.search(self.path, path) is not None)
            and (self.query is None or re.search(self.query, query) is not None)
            and (self.watch is None or self.watch == watching)
        )


@attrs.define
class RecordedRequest:
    """One request as the fake received it, and the status it answered (0: none yet).

    Recorded before the answer is sent, so a client never sees an answer whose request
    is not in :attr:`FakeKube.requests` yet.

    Examples
    --------
    >>> r = RecordedRequest("PATCH", "/api/v1/namespaces/n/services/s", {}, "", {}, "", 200)
    >>> r.write
    True
    """

    method: str
    path: str
    query: Mapping[str, str]
    content_type: str
    body: Any
    user: str | None
    status: int

    @property
    def write(self) -> bool:
        """Whether the request changes state (not a dry run, not a read)."""
        return self.method in ("POST", "PUT", "PATCH", "DELETE") and "dryRun" not in self.query


def _reason(code: int) -> str:
    return {
        400: "BadRequest",
        401: "Unauthorized",
        404: "NotFound",
        405: "MethodNotAllowed",
        409: "Conflict",
        410: "Expired",
        415: "UnsupportedMediaType",
        422: "Invalid",
        429: "TooManyRequests",
        503: "ServiceUnavailable",
        504: "Timeout",
    }.get(code, "InternalError")


class FakeKube:
    """A fake Kubernetes API server on 127.0.0.1 (HTTPS when ``pki`` is given).

    ``tokens``: bearer tokens accepted (a mutable set: rotate by replacing its content);
    with ``pki``, a client certificate signed by its CA is accepted too. With neither
    tokens nor ``pki`` every request is anonymous and allowed. Use as a context manager.

    Pods carry ``status.containerStatuses`` as a kubelet writes them. A container whose
    image contains one of these words never turns Ready, its ``state.waiting`` saying
    why, with the kubelet's reason and message: ``fail-pull`` (``ErrImagePull``, then
    ``ImagePullBackOff`` until the next pull, in turn every ``Timings.backoff`` seconds;
    ``ErrImageNeverPull`` with ``imagePullPolicy: Never``), ``fail-never-pull``
    (``ErrImageNeverPull``), ``fail-invalid`` (``InvalidImageName``), all with the pod
    ``Pending``; ``fail-crash`` (the pod ``Running``, its container exiting with code 1:
    ``CrashLoopBackOff``, ``lastState.terminated``, a ``restartCount`` one more every
    ``Timings.backoff`` seconds); ``fail-config`` (``CreateContainerConfigError``, the
    pod ``Pending``, until a ConfigMap ``model-config`` exists in its namespace: then it
    starts, as a container waiting for a Secret or ConfigMap does).

    Examples
    --------
    >>> import urllib.request, json
    >>> with FakeKube() as kube:
    ...     with urllib.request.urlopen(kube.url + "/api/v1/namespaces/default/pods") as r:
    ...         json.load(r)["kind"]
    'PodList'
    """

    def __init__(
        self,
        *,
        pki: TestPKI | None = None,
        tokens: Iterable[str] = (),
        timings: Timings | None = None,
        watch_history: int = 1000,
    ) -> None:
        if (
            isinstance(watch_history, bool)
            or not isinstance(watch_history, int)
            or watch_history < 1
        ):
            raise ConfigError(
                f"FakeKube watch_history={watch_history!r} is not allowed; give a whole number "
                ">= 1 (how many events a watch may resume from)"
            )
        if timings is not None and not isinstance(timings, Timings):
            raise ConfigError(f"FakeKube timings={timings!r} is not a Timings; give Timings(...)")
        self.pki = pki
        self.tokens: set[str] = set(tokens)
        self.timings = timings if timings is not None else Timings()
        self.store = Store(watch_history)
        self._previous = _PreviousObjects(self.store)
        self.store.on_write.insert(0, self._previous.note)  # first: before any hook's writes
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self._never_ready: list[dict[str, str]] = []
        self._slow_ready: list[tuple[dict[str, str], float]] = []
        self._unhealthy: list[dict[str, str]] = []
        self._exceeded: set[tuple[str, str]] = set()
        self._watched: list[tuple[str, str, bool]] = []
        self.serving_samples: list[tuple[str, str, int]] = []
        self.controller = Controller(
            self.store,
            self.timings,
            self._is_never_ready,
            lambda ns, n: (ns, n) in self._exceeded,
            self._ready_after,
        )
        self.store.on_write.append(self._sample)
        self._stop = threading.Event()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("the fake API server is not started")
        scheme = "https" if self.pki is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(urllib.parse.urlsplit(self.url).port or 0)

    def start(self) -> FakeKube:
        """Listen on a free port and start the controller loop."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        if self.pki is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.pki.server_cert, self.pki.server_key)
            ctx.load_verify_locations(self.pki.ca_cert)
            ctx.verify_mode = ssl.CERT_OPTIONAL
            server.tls = ctx
        self._server = server
        for target, name in (
            (self._serve, "fake-kube-http"),
            (self._loop, "fake-kube-ctl"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and end open watches."""
        self._stop.set()
        with self.store.lock:
            self.store.changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._server is not None
        self._server.serve_forever()

    def _loop(self) -> None:
        # Idle until something changes (a busy loop would hold the GIL and slow every
        # request by the interpreter's 5 ms switch interval); tick while timers run.
        while not self._stop.is_set():
            before = self.store.rv
            self.controller.reconcile()
            with self.store.lock:
                if self.store.rv != before:
                    continue
                idle = not self.controller.pending()
                self.store.changed.wait(0.05 if idle else self.timings.tick)

    # --- test controls --------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Add faults; each hits the next ``times`` matching requests."""
        for fault in faults:
            if not isinstance(fault, Fault):
                raise ConfigError(f"inject({fault!r}): not a Fault; give Fault(...) objects")
        with self.store.lock:
            self.faults.extend(faults)

    def never_ready(self, labels: Mapping[str, str]) -> None:
        """Pods with these labels never turn Ready (and ready ones turn unready)."""
        with self.store.lock:
            self._never_ready.append(dict(labels))

    def allow_ready(self, labels: Mapping[str, str]) -> None:
        """Undo :meth:`never_ready` for exactly these labels: their pods turn Ready again."""
        with self.store.lock:
            self._never_ready = [sel for sel in self._never_ready if sel != dict(labels)]

    def slow_ready(self, labels: Mapping[str, str], seconds: float) -> None:
        """Pods with these labels turn Ready only ``seconds`` after their creation.

        As a real pod whose readinessProbe has ``initialDelaySeconds`` does: it is
        Running, its ``Ready`` condition ``False``, until then (a model server still
        loading its model). Pods already Ready stay Ready; a pod matched by several calls
        waits the longest of their seconds; calling again with the same labels replaces
        their seconds (0: no delay). ``labels`` must be a non-empty mapping of strings to
        strings (to delay every pod, use ``Timings(pod_ready=...)``) and ``seconds`` a
        finite number >= 0, or :class:`~modelship.errors.ConfigError` is raised.

        Examples
        --------
        >>> with FakeKube() as kube:
        ...     kube.slow_ready({"modelship.io/version": "4"}, 1.0)
        ...     kube.slow_ready({"modelship.io/version": "4"}, -1)
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: slow_ready seconds=-1 is not allowed; give a finite ...
        """
        if (
            not isinstance(labels, Mapping)
            or not labels
            or not all(isinstance(k, str) and k and isinstance(v, str) for k, v in labels.items())
        ):
            raise ConfigError(
                f"slow_ready labels={labels!r} is not allowed; give a non-empty mapping of "
                "label names to values (strings), e.g. {'modelship.io/version': '4'}; to "
                "delay every pod, give FakeKube(timings=Timings(pod_ready=...))"
            )
        if not (
            isinstance(seconds, int | float)
            and not isinstance(seconds, bool)
            and math.isfinite(seconds)
            and seconds >= 0
        ):
            raise ConfigError(
                f"slow_ready seconds={seconds!r} is not allowed; give a finite number >= 0 "
                "(seconds from a pod's creation to its Ready; 0 for no delay)"
            )
        selector = dict(labels)
        with self.store.lock:
            self._slow_ready = [(sel, s) for sel, s in self._slow_ready if sel != selector]
            self._slow_ready.append((selector, float(seconds)))
            self.store.changed.notify_all()

    def unhealthy(self, labels: Mapping[str, str]) -> None:
        """Pods with these labels answer 500 on the services proxy (a failing /health)."""
        with self.store.lock:
            self._unhealthy.append(dict(labels))

    def exceed_progress_deadline(self, namespace: str, name: str) -> None:
        """The Deployment's progress deadline counts as passed from now on: while it rolls
        out (a pod template change made a new ReplicaSet not yet complete), its first
        check without progress turns ``Progressing`` to ``ProgressDeadlineExceeded``,
        which stays until progress is seen or the rollout completes, as on a cluster
        past ``progressDeadlineSeconds``. A complete Deployment that is only scaled is
        not rolling out, and keeps ``NewReplicaSetAvailable``, as on a real cluster."""
        with self.store.lock:
            self._exceeded.add((namespace, name))

    def refuse_routes(
        self,
        reason: str = "NotAllowedByListeners",
        message: str = "no listener of the Gateway allows routes from this namespace",
    ) -> None:
        """The Gateway controller marks every HTTPRoute ``Accepted=False`` with ``reason``
        from now on, as for a Gateway whose listeners do not allow the route."""
        with self.store.lock:
            self.controller.route_refusal = (reason, message)
            self.controller.gateway_answers = True
            self.store.changed.notify_all()

    def silence_gateway(self) -> None:
        """The Gateway controller writes no route status from now on (none is installed,
        or it is down): a route keeps the status it had."""
        with self.store.lock:
            self.controller.gateway_answers = False

    def accept_routes(self) -> None:
        """Undo :meth:`refuse_routes` and :meth:`silence_gateway`: routes are accepted."""
        with self.store.lock:
            self.controller.route_refusal = None
            self.controller.gateway_answers = True
            self.store.changed.notify_all()

    def compact(self) -> None:
        """Forget the watch history (as etcd compaction does): old watches get 410."""
        self.store.compact()

    def watch_serving(self, namespace: str, service: str, *, route: bool = False) -> None:
        """From now and after every change, record how many Ready pods ``service`` selects.

        With ``route``, ``service`` names an HTTPRoute: the count is of the Ready pods
        behind its backendRefs of weight above 0 (what a Gateway would send to). The
        samples are in :attr:`serving_samples` as (namespace, name, count).
        """
        with self.store.lock:
            self._watched.append((namespace, service, route))
            self.serving_samples.append(
                (namespace, service, self._serving(namespace, service, route))
            )

    def ready_pods(self, namespace: str, service: str) -> int:
        """How many Ready pods ``service`` selects now (0 if it does not exist)."""
        with self.store.lock:
            svc = self.store.objects.get(("services", namespace, service))
            selector = svc["spec"].get("selector") if svc else None
            if not selector:
                return 0
            return sum(
                1
                for pod in self.store.objects.values()
                if pod["kind"] == "Pod"
                and pod["metadata"]["namespace"] == namespace
                and match_labels(pod["metadata"].get("labels", {}), selector)
                and _ready(pod)
            )

    def _serving(self, namespace: str, name: str, route: bool) -> int:
        if not route:
            return self.ready_pods(namespace, name)
        obj = self.store.objects.get(("httproutes", namespace, name))
        rules = ((obj or {}).get("spec") or {}).get("rules") or []
        return sum(
            self.ready_pods(namespace, ref["name"])
            for rule in rules
            for ref in rule.get("backendRefs") or []
            if ref.get("weight", 1) > 0
        )

    def writes(self) -> list[RecordedRequest]:
        """The requests that changed state, in order."""
        with self.store.lock:
            return [r for r in self.requests if r.write and r.status < 400]

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """An object as a client would read it, or None."""
        return self.store.get(plural, namespace, name)

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        """Every object of a kind in a namespace."""
        return self.store.select(plural, namespace)

    def create(self, obj: Mapping[str, Any], manager: str = "kubectl") -> dict[str, Any]:
        """Create or replace an object as another client (field manager) would."""
        return self.store.put(json_copy(dict(obj)), manager=manager)

    def _sample(self) -> None:
        for ns, name, route in self._watched:
            if (("httproutes" if route else "services"), ns, name) in self.store.objects:
                self.serving_samples.append((ns, name, self._serving(ns, name, route)))

    def _is_never_ready(self, labels: Mapping[str, str]) -> bool:
        return any(match_labels(labels, sel) for sel in self._never_ready)

    def _ready_after(self, labels: Mapping[str, str]) -> float:
        return max((s for sel, s in self._slow_ready if match_labels(labels, sel)), default=0.0)

    def _is_unhealthy(self, labels: Mapping[str, str]) -> bool:
        return any(match_labels(labels, sel) for sel in self._unhealthy)

    def _take_fault(self, method: str, path: str, watching: bool, query: str) -> Fault | None:
        with self.store.lock:
            for fault in self.faults:
                if fault.matches(method, path, watching, query):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    # --- request handling (called by the handler) ----------------------------------------

    def authenticate(self, handler: _Handler) -> str | None:
        """The user a request authenticates as, "" when anonymous is allowed, else None."""
        auth = handler.headers.get("Authorization", "")
        if auth.lower().startswith("bearer ") and auth[7:].strip() in self.tokens:
            return "token:" + auth[7:].strip()[:6]  # enough to tell tokens apart in tests
        conn = handler.connection
        if isinstance(conn, ssl.SSLSocket):
            cert = conn.getpeercert()
            if cert:
                subject = cast("tuple[tuple[tuple[str, str], ...], ...]", cert.get("subject", ()))
                names = [pair for rdn in subject for pair in rdn]
                common = [str(value) for key, value in names if key == "commonName"]
                return "cert:" + (common[0] if common else "")
        if not self.tokens and self.pki is None:
            return ""
        return None


#: Logged events for a watch: (resourceVersion, type, object, the object before it).
_Logged = list[tuple[int, str, dict[str, Any], dict[str, Any] | None]]


class _PreviousObjects:
    """What the object of each event in the store's watch log was before it (None: it did
    not exist), as the API server's watch cache keeps with each event (``PrevObject``): a
    watch with a label selector tells from it whether an object started or stopped
    matching. Fed by a :attr:`Store.on_write` hook, which runs under the store's lock after
    each logged write; it keeps what the log still holds, and each object's latest state."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._latest: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._before: collections.OrderedDict[int, dict[str, Any] | None] = (
            collections.OrderedDict()
        )
        self._noted = 0  # the resourceVersion of the newest event noted

    def note(self) -> None:
        """Note the events logged since the last call (a write in a hook logs another)."""
        log = self._store.log
        new = []
        for event in reversed(log):  # bound: the log's length; stops at the last one noted
            if event.rv <= self._noted:
                break
            new.append(event)
        for event in reversed(new):
            key = (event.plural, event.namespace, event.obj["metadata"]["name"])
            self._before[event.rv] = self._latest.get(key)
            if event.type == "DELETED":
                self._latest.pop(key, None)
            else:
                self._latest[key] = event.obj  # the log's copy: never changed
            self._noted = event.rv
        oldest = log[0].rv if log else self._noted + 1
        while self._before and next(iter(self._before)) < oldest:  # bound: entries kept
            self._before.popitem(last=False)

    def before(self, rv: int) -> dict[str, Any] | None:
        """The object as it was before the event at ``rv`` (call under the store's lock)."""
        return self._before.get(rv)


def _ready(pod: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


class _Server(http.server.ThreadingHTTPServer):
    """The HTTP server; its :meth:`shutdown` wakes :meth:`serve_forever` at once.

    ``socketserver``'s loop polls for a shutdown request every ``poll_interval`` (each
    stop waited up to that long); this one also waits on a socket pair that
    :meth:`shutdown` writes to, with the same semantics otherwise: :meth:`shutdown` asks
    the loop to end and blocks until it has, and a request that arrives with the shutdown
    is not taken.
    """

    daemon_threads = True
    fake: FakeKube
    tls: ssl.SSLContext | None = None

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        super().__init__(address, handler)
        self._wake_r, self._wake_w = socket.socketpair()
        self._shutdown_request = threading.Event()
        self._is_shut_down = threading.Event()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Handle requests until :meth:`shutdown` (``poll_interval`` is not used)."""
        self._is_shut_down.clear()
        try:
            with _Selector() as selector:
                selector.register(self, selectors.EVENT_READ)
                selector.register(self._wake_r, selectors.EVENT_READ)
                while not self._shutdown_request.is_set():
                    ready = selector.select()  # bound: shutdown() wakes it
                    if self._shutdown_request.is_set():
                        break
                    if any(key.fileobj is self._wake_r for key, _ in ready):
                        self._wake_r.recv(64)  # a wake left from an earlier shutdown()
                    if any(key.fileobj is self for key, _ in ready):
                        self._handle_request_noblock()  # type: ignore[attr-defined]
                    self.service_actions()
        finally:
            self._shutdown_request.clear()
            self._is_shut_down.set()

    def shutdown(self) -> None:
        """End :meth:`serve_forever` (running in another thread) and wait until it has."""
        self._shutdown_request.set()
        with contextlib.suppress(OSError):  # closed: the loop has ended already
            self._wake_w.send(b"\0")
        self._is_shut_down.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that fails the TLS handshake or goes away is not the fake's error."""

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


# What socketserver's loop waits with: poll where there is one (no fd limit), else select.
_Selector: type[selectors.BaseSelector] = getattr(
    selectors, "PollSelector", selectors.SelectSelector
)


# The status the API server gives an object it creates (each strategy's PrepareForCreate
# writes an empty status struct; its JSON keeps the fields without omitempty). A custom
# resource with a status subresource, such as an HTTPRoute, gets none.
_CREATED_STATUS: Mapping[str, dict[str, Any]] = {
    "Deployment": {},
    "ReplicaSet": {"replicas": 0},
    "Service": {"loadBalancer": {}},
    "HorizontalPodAutoscaler": {"desiredReplicas": 0},
}


def _defaults(obj: dict[str, Any], *, created: bool = False) -> None:
    """The few defaults the fake fills in, as the API server's defaulting does; a created
    object also gets the status the API server starts it with."""
    initial = _CREATED_STATUS.get(obj.get("kind", "")) if created else None
    if initial is not None:
        obj["status"] = json_copy(initial)
    spec = obj.setdefault("spec", {}) if obj.get("kind") in ("Deployment", "Service") else None
    if obj.get("kind") == "Deployment" and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("revisionHistoryLimit", 10)
        # SetDefaults_Deployment: a type left out is RollingUpdate, whose rollingUpdate
        # and each of its two fields left out (or null) are 25%
        strategy = spec.setdefault("strategy", {})
        if isinstance(strategy, dict):
            if strategy.get("type") in (None, ""):
                strategy["type"] = "RollingUpdate"
            if strategy["type"] == "RollingUpdate":
                if strategy.get("rollingUpdate") is None:
                    strategy["rollingUpdate"] = {}
                rolling = strategy["rollingUpdate"]
                for field in ("maxUnavailable", "maxSurge") if isinstance(rolling, dict) else ():
                    if rolling.get(field) is None:
                        rolling[field] = "25%"
            elif "rollingUpdate" in strategy and strategy["rollingUpdate"] is None:
                del strategy["rollingUpdate"]  # a nil pointer, omitted as Go omits it
    if obj.get("kind") == "Service" and spec is not None:
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports", []):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stalls
    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (OSError, ssl.SSLError):
                self.request.close()
                raise
            self.request.settimeout(None)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is :attr:`FakeKube.requests`."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- plumbing -------------------------------------------------------------------------

    record: RecordedRequest | None = None

    _lose_answer = False
    _trickle = 0.0  # a SLOW fault: seconds per byte of the body

    def _write(self, data: bytes) -> None:
        if not self._trickle:
            self.wfile.write(data)
            return
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            if self.server.fake._stop.wait(self._trickle):
                raise ConnectionResetError("the fake API server stopped")

    def _send(self, code: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        if self.record is not None:
            self.record.status = code
        if self._lose_answer:
            return  # a LOST fault: done, but the client never hears
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()
        self._write(data)

    def _chunk(self, data: bytes) -> None:
        self._write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query).items()}
        dry_run = urllib.parse.parse_qs(split.query, keep_blank_values=True).get("dryRun", [])
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = _yaml(raw)
        watching = _flag(query.get("watch"))
        user = fake.authenticate(self)
        self.record = RecordedRequest(method, path, query, content_type, body, user, 0)
        with fake.store.lock:
            fake.requests.append(self.record)
        try:
            if user is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            fault = fake._take_fault(method, path, watching, urllib.parse.unquote_plus(split.query))
            if fault is not None and fault.kind is FaultKind.SLOW:
                self._trickle = fault.delay
                fault = None
            if fault is not None and not (fault.kind is FaultKind.LOST and not watching):
                self._fault(fault, watching)
                return
            self._lose_answer = fault is not None
            self._route(
                method,
                path,
                query=query,
                dry_run=dry_run,
                ctype=content_type,
                body=body,
                watching=watching,
            )
        except ApiError as exc:
            extra = {"Retry-After": exc.retry_after} if exc.retry_after is not None else None
            if exc.code == 429 and extra is None:
                extra = {"Retry-After": "1"}
            self._send(exc.code, exc.body, extra)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client went away (a watch it stopped reading)
        finally:
            if self._lose_answer:
                self._hang_up()

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone already
            self.connection.shutdown(socket.SHUT_RDWR)

    def _fault(self, fault: Fault, watching: bool) -> int:
        if fault.kind in (FaultKind.DROP, FaultKind.LOST):
            self._hang_up()
            return 0
        if fault.kind is FaultKind.TIMEOUT:
            self.server.fake._stop.wait(fault.delay)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return 0
        if fault.kind is FaultKind.GONE:
            gone = ApiError(410, "Expired", "too old resource version: 1 (2)")
            if watching:
                self._start_stream()
                self._chunk(json.dumps({"type": "ERROR", "object": gone.body}).encode() + b"\n")
                self._chunk(b"")
                return 200
            raise gone
        message = "injected fault"
        if fault.echo_authorization:
            message += f" (request had Authorization: {self.headers.get('Authorization')})"
        error = ApiError(fault.status, _reason(fault.status), message)
        error.retry_after = fault.retry_after
        raise error

    def _start_stream(self) -> None:
        if self.record is not None:
            self.record.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _route(  # noqa: PLR0911, PLR0912, PLR0913 - fake API server router: one branch and return per HTTP route and verb, with the parsed request
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str],
        dry_run: list[str],
        ctype: str,
        body: Any,
        watching: bool,
    ) -> int:
        fake = self.server.fake
        if path == "/version" and method == "GET":
            self._send(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0-modelship-fake"})
            return 200
        m = _NAMESPACED.match(path)
        if m is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        group = m["group"] or ""
        version = m["core"] or m["version"]
        kind = KINDS.get(m["plural"])
        if kind is None or (kind.group, kind.version) != (group, version):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns, name, sub = m["ns"], m["name"], m["sub"]
        if kind.plural == "services" and sub is not None and "proxy" in sub.split("/", 1)[0]:
            return self._proxy(ns, name.split(":")[0], sub.partition("/")[2])
        if sub not in (None, "status") or (sub == "status" and kind.plural not in _WITH_STATUS):
            raise ApiError(404, "NotFound", f"the subresource {sub!r} is not served by the fake")
        _check_options(method, query, ctype)
        dry = _dry_run(method, dry_run, body)
        if name is None:
            if method == "GET" and watching:
                return self._watch(kind, ns, query)
            if method == "GET":
                return self._list(kind, ns, query)
            if method == "POST":
                return self._create(kind, ns, body, query, dry)
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a collection")
        if method == "GET":
            obj = fake.store.get(kind.plural, ns, name)
            if obj is None:
                raise _not_found(kind, name)
            self._send(200, obj)
            return 200
        if method == "DELETE":
            options = body if isinstance(body, dict) else {}
            preconditions = options.get("preconditions")
            if preconditions is not None and not isinstance(preconditions, dict):
                raise ApiError(400, "BadRequest", "DeleteOptions.preconditions is not an object")
            obj = fake.store.delete(kind.plural, ns, name, dry_run=dry, preconditions=preconditions)
            if obj is None:
                raise _not_found(kind, name)
            self._send(200, obj)
            return 200
        if method == "PUT":
            return self._replace(kind, ns, name=name, body=body, query=query, dry=dry, sub=sub)
        if method == "PATCH":
            return self._patch(
                kind, ns, name=name, body=body, query=query, ctype=ctype, dry=dry, sub=sub
            )
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed")

    def _check_body(self, kind: Kind, ns: str, name: str | None, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body is not an object")
        if (body.get("apiVersion"), body.get("kind")) != (kind.api_version, kind.kind):
            raise ApiError(
                400,
                "BadRequest",
                f"the body's apiVersion/kind {body.get('apiVersion')}/{body.get('kind')} does "
                f"not match the URL's {kind.api_version}/{kind.kind}",
            )
        meta = body.setdefault("metadata", {})
        if name is not None and meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the URL")
        if name is not None:
            meta["name"] = name
        prefix = meta.get("generateName")
        if prefix is not None and not isinstance(prefix, str):
            raise ApiError(400, "BadRequest", "metadata.generateName is not a string")
        if not meta.get("name") and not (name is None and prefix):
            # Only a create may leave the name to the server (a generateName).
            raise ApiError(
                422,
                "Invalid",
                f'{kind.kind} "" is invalid: metadata.name: Required value: name or '
                "generateName is required",
            )
        if meta.get("namespace", ns) != ns:
            raise ApiError(400, "BadRequest", "the namespace of the object does not match the URL")
        meta["namespace"] = ns
        return body

    def _list(self, kind: Kind, ns: str, query: Mapping[str, str]) -> int:
        store = self.server.fake.store
        selector = parse_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), kind.plural)
        if query.get("continue"):
            raise ApiError(400, "BadRequest", "the fake serves no continue token: list again")
        items = [i for i in store.select(kind.plural, ns, selector) if fields(i)]
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        metadata: dict[str, Any] = {"resourceVersion": str(store.rv)}
        limit = ascii_number(query.get("limit", ""), 18) if "limit" in query else None
        if "limit" in query and limit is None:
            raise ApiError(400, "BadRequest", f"limit={query['limit']!r}: not a whole number")
        if limit and len(items) > limit:  # limit=0: no limit, as on a real API server
            metadata["continue"] = f"fake-{store.rv}-{limit}"
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        self._send(
            200,
            {
                "kind": f"{kind.kind}List",
                "apiVersion": kind.api_version,
                "metadata": metadata,
                "items": items,
            },
        )
        return 200

    def _watch(self, kind: Kind, ns: str, query: Mapping[str, str]) -> int:
        fake = self.server.fake
        store = fake.store
        selector = parse_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), kind.plural)
        timeout = min(float(query.get("timeoutSeconds", 60)), 300.0)
        since = query.get("resourceVersion", "")

        def wanted(obj: Mapping[str, Any]) -> bool:
            meta = obj["metadata"]
            return selector(meta.get("labels", {})) and fields(obj)

        def seen(
            rv: int, kind_: str, obj: dict[str, Any], before: dict[str, Any] | None
        ) -> tuple[str, dict[str, Any]] | None:
            """The event this watch sends for a logged one, as the API server's watch cache
            does (cacheWatcher.convertToWatchEvent): an object that starts matching the
            selector is ADDED, one that stops matching DELETED (as it was, at the event's
            resourceVersion), one that matches before and after MODIFIED; else none."""
            if kind_ in ("ERROR", "DELETED"):
                return (kind_, obj) if kind_ == "ERROR" or wanted(obj) else None
            if wanted(obj):
                return ("MODIFIED" if before is not None and wanted(before) else "ADDED", obj)
            if before is None or not wanted(before):
                return None
            gone = json_copy(before)
            gone["metadata"]["resourceVersion"] = str(rv)
            return ("DELETED", gone)

        def logged_after(rv: int) -> _Logged:  # under the store's lock
            return [
                (at, kind_, obj, fake._previous.before(at))
                for at, kind_, obj in store.events_after(rv, kind.plural, ns)
            ]

        with store.lock:
            if since not in ("", "0") and int(since) < store.oldest:
                gone = ApiError(
                    410, "Expired", f"too old resource version: {since} ({store.oldest})"
                )
                events: _Logged = [(0, "ERROR", gone.body, None)]
                last = -1
            elif since in ("", "0"):
                events = [
                    (store.rv, "ADDED", o, None) for o in store.select(kind.plural, ns) if wanted(o)
                ]
                last = store.rv
            else:
                last = int(since)
                events = []
        self._start_stream()
        end = time.monotonic() + timeout
        while True:
            for rv, kind_, obj, before in events:
                sent = seen(rv, kind_, obj, before)
                if sent is not None:
                    self._chunk(json.dumps({"type": sent[0], "object": sent[1]}).encode() + b"\n")
                last = max(last, rv)
            if last < 0 or fake._stop.is_set() or time.monotonic() >= end:
                break
            with store.lock:
                events = logged_after(last)
                if not events:
                    store.changed.wait(min(0.5, max(0.0, end - time.monotonic())))
                    events = logged_after(last)
        self._chunk(b"")
        return 200

    def _create(self, kind: Kind, ns: str, body: Any, query: Mapping[str, str], dry: bool) -> int:
        store = self.server.fake.store
        obj = self._check_body(kind, ns, None, body)
        with store.lock:
            if not obj["metadata"].get("name"):
                obj["metadata"]["name"] = _generated_name(store, kind, ns, obj["metadata"])
            if store.get(kind.plural, ns, obj["metadata"]["name"]) is not None:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{kind.qualified} "{obj["metadata"]["name"]}" already exists',
                    {"name": obj["metadata"]["name"], "group": kind.group, "kind": kind.plural},
                )
            prepare_create(obj["metadata"])
            if kind.plural in _WITH_STATUS:
                obj.pop("status", None)  # a create sets no status: its controller does
            _defaults(obj, created=True)
            out = store.put(obj, manager=query.get("fieldManager", "unknown"), dry_run=dry)
        self._send(201, out)
        return 201

    def _replace(  # noqa: PLR0913 - fake PUT handler: kind, namespace plus keyword-only parsed request parts
        self,
        kind: Kind,
        ns: str,
        *,
        name: str,
        body: Any,
        query: Mapping[str, str],
        dry: bool,
        sub: str | None = None,
    ) -> int:
        store = self.server.fake.store
        obj = self._check_body(kind, ns, name, body)
        with store.lock:
            live = store.get(kind.plural, ns, name)
            if live is None and _allows_create_on_update(kind):
                return self._create_on_update(kind, ns, obj, query, dry)
            if live is None:
                raise _not_found(kind, name)
            given = obj["metadata"].get("resourceVersion")
            if not given and not _allows_unconditional_update(kind):
                raise ApiError(
                    422,
                    "Invalid",
                    f'{kind.kind} "{name}" is invalid: metadata.resourceVersion: Invalid value: '
                    "0x0: must be specified for an update",
                )
            if given and given != live["metadata"]["resourceVersion"]:
                raise _conflict(kind, name)
            uid = obj["metadata"].get("uid")
            if uid and uid != live["metadata"].get("uid"):
                # An update's own uid is a precondition (rest.DefaultUpdatedObjectInfo).
                raise _uid_precondition_failed(kind, ns, name, uid, live["metadata"].get("uid"))
            obj = _endpoint_part(kind, sub, live, obj)
            _defaults(obj)
            out = store.put(obj, manager=query.get("fieldManager", "unknown"), dry_run=dry)
        self._send(200, out)
        return 200

    def _create_on_update(
        self, kind: Kind, ns: str, obj: dict[str, Any], query: Mapping[str, str], dry: bool
    ) -> int:
        """A PUT that creates (a kind whose strategy allows create on update, as a
        Lease's and a Service's do): a uid in the body is a precondition no missing
        object meets (409, as the storage layer's GuaranteedUpdate answers); the
        resourceVersion and a status are ignored; the object is created (201)."""
        meta = obj["metadata"]
        uid = meta.get("uid")
        if uid:
            raise _uid_precondition_failed(kind, ns, meta["name"], uid, None)
        for field in ("resourceVersion", "creationTimestamp"):
            meta.pop(field, None)
        if kind.plural in _WITH_STATUS:
            obj.pop("status", None)  # a create sets no status (the strategy's PrepareForCreate)
        _defaults(obj, created=True)
        out = self.server.fake.store.put(
            obj, manager=query.get("fieldManager", "unknown"), dry_run=dry
        )
        self._send(201, out)
        return 201

    def _patch(  # noqa: PLR0913 - fake PATCH handler: kind, namespace plus keyword-only parsed request parts and content type
        self,
        kind: Kind,
        ns: str,
        *,
        name: str,
        body: Any,
        query: Mapping[str, str],
        ctype: str,
        dry: bool,
        sub: str | None = None,
    ) -> int:
        store = self.server.fake.store
        if ctype == "application/apply-patch+yaml":
            manager = query["fieldManager"]  # _check_options: an apply names its manager
            obj = self._check_body(kind, ns, name, body)
            if sub == "status":
                raise ApiError(415, "UnsupportedMediaType", "the fake does not apply to /status")
            if kind.plural in _WITH_STATUS:
                obj.pop("status", None)  # the main resource's writes keep the stored status
            force = _flag(query.get("force"))
            out, created = store.apply(obj, manager, force=force, dry_run=dry, defaults=_defaults)
            self._send(201 if created else 200, out)
            return 201 if created else 200
        strategic = ctype == "application/strategic-merge-patch+json"
        if strategic and kind.group in _CUSTOM_GROUPS:
            # A custom resource has no patch strategies: the API server refuses the type.
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml",
            )
        if ctype != "application/merge-patch+json" and not strategic:
            raise ApiError(415, "UnsupportedMediaType", f"the fake does not serve {ctype} patches")
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "a merge patch is a JSON object")
        with store.lock:
            live = store.get(kind.plural, ns, name)
            if live is None:
                raise _not_found(kind, name)
            meta = body.get("metadata")
            given = meta.get("resourceVersion") if isinstance(meta, dict) else None
            if given is not None and given != live["metadata"]["resourceVersion"]:
                raise _conflict(kind, name)
            live["metadata"].pop("managedFields", None)
            merged = _merge_patch(live, body, strategic=strategic, kind=kind.kind)
            _patched_identity(ns, name, merged)
            merged = _endpoint_part(kind, sub, live, merged)
            try:
                decode_strings(kind, merged)
                decode_times(kind, merged)
            except ApiError as exc:  # the patched object does not decode: 422 on "patch"
                message = f"Invalid value: {json.dumps(json.dumps(merged))}: {exc}"
                raise ApiError(
                    422,
                    "Invalid",
                    f' "" is invalid: patch: {message}',
                    {
                        "causes": [
                            {"reason": "FieldValueInvalid", "message": message, "field": "patch"}
                        ]
                    },
                ) from None
            _defaults(merged)
            out = store.put(merged, manager=query.get("fieldManager", "unknown"), dry_run=dry)
        self._send(200, out)
        return 200

    def _proxy(self, ns: str, service: str, rest: str) -> int:
        fake = self.server.fake
        store = fake.store
        with store.lock:
            svc = store.get("services", ns, service)
            if svc is None:
                raise _not_found(KINDS["services"], service)
            selector = svc["spec"].get("selector") or {}
            pods = [
                p
                for p in store.select("pods", ns)
                if selector
                and match_labels(p["metadata"].get("labels", {}), selector)
                and _ready(p)
            ]
        if not pods:
            raise ApiError(
                503, "ServiceUnavailable", f'no endpoints available for service "{service}"'
            )
        if fake._is_unhealthy(pods[0]["metadata"].get("labels", {})):
            self._send(500, {"status": "unhealthy", "detail": "injected by the fake"})
            return 500
        if rest.strip("/") in ("health", "v2/health/live"):
            self._send(200, {"status": "ok"})
            return 200
        if rest.strip("/") in ("ready", "v2/health/ready"):
            self._send(200, {"ready": True})
            return 200
        raise ApiError(404, "NotFound", f"the fake's model server has no /{rest}")


#: The API groups of the custom resources the fake serves (HTTPRoute, PodMonitor).
_CUSTOM_GROUPS = frozenset({"gateway.networking.k8s.io", "monitoring.coreos.com"})

#: The kinds served with a ``status`` subresource: their main resource's writes keep the
#: stored status, and ``/status`` writes change only the status.
_WITH_STATUS = frozenset(
    {"pods", "services", "deployments", "replicasets", "horizontalpodautoscalers", "httproutes"}
)


def _endpoint_part(
    kind: Kind, sub: str | None, live: Mapping[str, Any], new: dict[str, Any]
) -> dict[str, Any]:
    """What a write to ``sub`` (None: the main resource) may change of ``live``: on
    ``/status`` only the status, elsewhere everything but the status (kinds without a
    status subresource: everything)."""
    if kind.plural not in _WITH_STATUS:
        return new
    if sub == "status":
        out: dict[str, Any] = json_copy(dict(live))
        out["metadata"].pop("managedFields", None)
        out["status"] = json_copy(new.get("status"))
        if out["status"] is None:
            out.pop("status")
        return out
    out = dict(new)
    out.pop("status", None)
    if "status" in live:
        out["status"] = json_copy(live["status"])
    return out


# The options each write decodes its query (or a DELETE its body) into.
_WRITE_OPTIONS = {
    "POST": "CreateOptions",
    "PUT": "UpdateOptions",
    "PATCH": "PatchOptions",
    "DELETE": "DeleteOptions",
}


#: ValidateFieldManager's limit (k8s.io/apimachinery metav1 validation).
_FIELD_MANAGER_MAX_BYTES = 128


def _check_options(method: str, query: Mapping[str, str], ctype: str) -> None:
    """Refuse a write's options as ValidatePatchOptions, ValidateCreateOptions and
    ValidateUpdateOptions do (422 Invalid, every error at once): ``force`` on a patch
    that is not an apply, an apply without ``fieldManager``, a ``fieldManager`` over 128
    bytes or with a character that is not printable."""
    options = _WRITE_OPTIONS.get(method)
    if options is None or options == "DeleteOptions":
        return
    errors: list[tuple[str, str, str]] = []  # (field, reason, message)
    manager = query.get("fieldManager")
    if method == "PATCH":
        apply = ctype == "application/apply-patch+yaml"
        if not apply and "force" in query:
            errors.append(
                (
                    "force",
                    "FieldValueForbidden",
                    "Forbidden: may not be specified for non-apply patch",
                )
            )
        if apply and not manager:
            errors.append(
                (
                    "fieldManager",
                    "FieldValueRequired",
                    "Required value: is required for apply patch",
                )
            )
    if manager is not None and len(manager.encode()) > _FIELD_MANAGER_MAX_BYTES:
        errors.append(
            (
                "fieldManager",
                "FieldValueTooLong",
                f"Too long: may not be more than {_FIELD_MANAGER_MAX_BYTES} bytes",
            )
        )
    elif manager is not None and not manager.isprintable():
        errors.append(
            (
                "fieldManager",
                "FieldValueInvalid",
                f"Invalid value: {json.dumps(manager)}: must only contain printable characters",
            )
        )
    if not errors:
        return
    texts = [f"{field}: {message}" for field, _, message in errors]
    raise ApiError(
        422,
        "Invalid",
        f'{options}.meta.k8s.io "" is invalid: '
        + (texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"),
        {
            "group": "meta.k8s.io",
            "kind": options,
            "causes": [
                {"reason": reason, "message": message, "field": field}
                for field, reason, message in errors
            ],
        },
    )


def _dry_run(method: str, values: list[str], body: Any) -> bool:
    """Whether a write is a dry run. Any value but ``All`` is refused with 422 before the
    write is looked at (ValidateDryRun, k8s.io/apimachinery metav1 validation); a read has
    no dryRun. A DELETE with a body, ``{}`` included, takes its DeleteOptions from the
    body alone, the query unread (the API server's delete handler decodes the body
    whenever it has bytes: the official client sends ``{}`` for ``V1DeleteOptions()``)."""
    options = _WRITE_OPTIONS.get(method)
    if options is None:
        return False
    if options == "DeleteOptions" and isinstance(body, dict):
        values = body.get("dryRun") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ApiError(400, "BadRequest", "DeleteOptions.dryRun is not a list of strings")
    if all(value == "All" for value in values):
        return bool(values)
    shown = ", ".join(json.dumps(value) for value in values)
    message = f'Unsupported value: []string{{{shown}}}: supported values: "All"'
    raise ApiError(
        422,
        "Invalid",
        f'{options}.meta.k8s.io "" is invalid: dryRun: {message}',
        {
            "group": "meta.k8s.io",
            "kind": options,
            "causes": [{"reason": "FieldValueNotSupported", "message": message, "field": "dryRun"}],
        },
    )


# A generated name (the API server's names.SimpleNameGenerator): generateName cut to 58
# characters, then 5 random ones of utilrand's alphabet (no vowels: no words). A name
# taken is drawn again, 8 tries in all (RetryGenerateName, on by default since 1.31).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NAME_TRIES = 8


def _name_suffix() -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))


def _generated_name(store: Store, kind: Kind, ns: str, meta: Mapping[str, Any]) -> str:
    """A name for a created object that has a ``generateName`` and no name: the first of
    :data:`_NAME_TRIES` drawn that is free, or the last (taken: the create is refused
    with 409 AlreadyExists)."""
    base = str(meta["generateName"])[:58]
    name = base
    for _ in range(_NAME_TRIES):
        name = base + _name_suffix()
        if store.get(kind.plural, ns, name) is None:
            break
    return name


def _allows_unconditional_update(kind: Kind) -> bool:
    """Whether a PUT without a resourceVersion replaces the object whatever its version
    (each kind's strategy says: AllowUnconditionalUpdate); a Lease's and a custom
    resource's refuse it, the built-in workload, config and network kinds allow it."""
    return kind.plural != "leases" and kind.group not in _CUSTOM_GROUPS


def _allows_create_on_update(kind: Kind) -> bool:
    """Whether a PUT to a missing object creates it (each kind's strategy says:
    AllowCreateOnUpdate): a Lease's and a Service's do; the other kinds the fake serves
    answer 404."""
    return kind.plural in ("leases", "services")


def _flag(value: str | None) -> bool:
    """A boolean query parameter as Go's strconv.ParseBool reads it (``true``, ``True``, ``1``)."""
    return (value or "").lower() in ("1", "t", "true")


def _not_found(kind: Kind, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{kind.qualified} "{name}" not found',
        {"name": name, "group": kind.group, "kind": kind.plural},
    )


_conflict = conflict


def _merge_patch(live: Any, patch: Any, *, strategic: bool, kind: str = "") -> Any:
    """``patch`` applied to ``live``: a JSON merge patch (RFC 7386: a ``$`` key is plain
    data) or, ``strategic``, a strategic merge patch of a ``kind`` (see
    :func:`_strategic_map`)."""
    if not isinstance(patch, dict):
        return json_copy(patch)
    if strategic:
        if _PATCH in patch:
            raise _bad_patch(
                f"a {_PATCH} directive on the whole object is not modelled by the fake: "
                "replace the object with PUT, or delete it"
            )
        return _strategic_map(live, patch, kind, "", ())
    out = dict(live) if isinstance(live, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value, strategic=False)
    return out


def _patched_identity(ns: str, name: str, merged: dict[str, Any]) -> None:
    """``checkName`` of the API server's patch handler: the patched object keeps the URL's
    name (else 400); a namespace the patch removed is the URL's again."""
    meta = merged.get("metadata")
    if not isinstance(meta, dict):
        meta = merged["metadata"] = {}
    if meta.get("name") != name:
        shown = meta.get("name") if isinstance(meta.get("name"), str) else ""
        raise ApiError(
            400,
            "BadRequest",
            f"the name of the object ({shown}) does not match the name on the URL ({name})",
        )
    if ns and not meta.get("namespace"):
        meta["namespace"] = ns
    elif ns and meta["namespace"] != ns:
        raise ApiError(
            400,
            "BadRequest",
            f"the namespace of the object ({meta['namespace']}) does not match the namespace "
            f"on the URL ({ns})",
        )


# The strategic merge patch directives (apimachinery pkg/util/strategicpatch).
_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def _bad_patch(message: str) -> ApiError:
    return ApiError(400, "BadRequest", f"strategic merge patch: {message}")


def _at(path: str) -> str:
    return path or "the object"


def _strategic_map(
    live: Any, patch: Mapping[str, Any], kind: str, path: str, spath: SchemaPath
) -> dict[str, Any]:
    """``mergeMap`` of a strategic merge patch of a ``kind`` at ``path`` (``spath``, its
    schema path): ``$patch: replace`` (the map becomes the patch's), ``$patch: delete``
    (an empty map), ``$retainKeys`` (the merged map keeps only the listed keys; each key
    the patch sets must be listed), ``null`` deletes a key, maps merge, lists go to
    :func:`_strategic_list` with their ``$setElementOrder/<key>``, then
    ``$deleteFromPrimitiveList/<key>`` takes values out of a list of scalars the API
    server merges (``finalizers``). Any other ``$`` key is refused (400)."""
    if _PATCH in patch:
        return _map_directive(patch, kind, path, spath)
    out = dict(live) if isinstance(live, dict) else {}
    rest = dict(patch)
    if _RETAIN_KEYS in rest:
        out = _retain_keys(out, rest, path)
    orders, deletions = _list_orders(rest, path)
    for key, value in rest.items():
        where = f"{path}.{key}" if path else key
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            out[key] = _strategic_map(out.get(key), value, kind, where, (*spath, key))
        elif isinstance(value, list):
            order = orders.pop(key, None)
            out[key] = _strategic_list(
                out.get(key), value, order, kind=kind, path=where, spath=(*spath, key)
            )
        else:
            out[key] = value
    for key, order in orders.items():  # an order for a list the patch does not change
        where = f"{path}.{key}" if path else key
        if key in rest or not isinstance(out.get(key, []), list):
            raise _bad_patch(
                f"{_SET_ORDER}{key} at {_at(path)} orders {where}, which is not a list: "
                "order only a list"
            )
        merged = _strategic_list(
            out.get(key), None, order, kind=kind, path=where, spath=(*spath, key)
        )
        if key in out:
            out[key] = merged
    for key, values in deletions.items():
        _delete_from_primitive_list(out, key, values, kind=kind, path=path, spath=(*spath, key))
    return out


def _map_directive(
    patch: Mapping[str, Any], kind: str, path: str, spath: SchemaPath
) -> dict[str, Any]:
    """``handleDirectiveInMergeMap``: a map's ``$patch: replace`` or ``$patch: delete``."""
    directive = patch[_PATCH]
    if directive == "replace":
        rest = {k: v for k, v in patch.items() if k != _PATCH}
        return _strategic_map({}, rest, kind, path, spath)
    if directive == "delete":
        return {}
    raise _bad_patch(
        f"unknown patch type {json.dumps(directive)} in {_PATCH} at {_at(path)}: "
        'a map takes "replace" or "delete"'
    )


def _retain_keys(out: dict[str, Any], rest: dict[str, Any], path: str) -> dict[str, Any]:
    """``applyRetainKeysDirective``: ``out`` without the keys ``$retainKeys`` (popped from
    ``rest``) does not list; a key the patch sets must be listed (400)."""
    keys = rest.pop(_RETAIN_KEYS)
    if not isinstance(keys, list):
        raise _bad_patch(
            f"{_RETAIN_KEYS} at {_at(path)} is {json.dumps(keys)}: it must be a list of "
            "the keys the map keeps"
        )
    unlisted = [
        k for k, v in rest.items() if v is not None and not k.startswith("$") and k not in keys
    ]
    if unlisted:
        raise _bad_patch(
            f"{_at(path)} sets {', '.join(map(json.dumps, unlisted))}, not in its "
            f"{_RETAIN_KEYS} {json.dumps(keys)}: list every key the patch sets"
        )
    return {k: v for k, v in out.items() if k in keys}


def _list_orders(rest: dict[str, Any], path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>`` directives
    popped from ``rest``, each by list; any other ``$`` key left is refused (400)."""
    orders: dict[str, Any] = {}
    deletions: dict[str, Any] = {}
    for key in [k for k in rest if k.startswith("$")]:
        value = rest.pop(key)
        if key.startswith(_SET_ORDER) and len(key) > len(_SET_ORDER):
            orders[key[len(_SET_ORDER) :]] = value
        elif key.startswith(_DELETE_PRIMITIVE) and len(key) > len(_DELETE_PRIMITIVE):
            deletions[key[len(_DELETE_PRIMITIVE) :]] = value
        else:
            raise _bad_patch(
                f"{json.dumps(key)} at {_at(path)} is not a directive the fake models "
                f"({_PATCH}, {_RETAIN_KEYS}, {_SET_ORDER}<list>, {_DELETE_PRIMITIVE}<list>)"
            )
    return orders, deletions


def _merge_key(kind: str, spath: SchemaPath) -> str | None:
    """The merge key of the list at ``spath`` (``""``: scalars merged as a set), or None:
    the strategic merge patch replaces it (see :data:`._fields.PATCH_MERGE_KEYS`)."""
    return PATCH_MERGE_KEYS.get(kind, {}).get(spath)


def _scalar(item: Any) -> bool:
    return not isinstance(item, (dict, list))


def _delete_from_primitive_list(  # noqa: PLR0913 - the map, the list's key, its values, and where it is
    out: dict[str, Any], key: str, values: Any, *, kind: str, path: str, spath: SchemaPath
) -> None:
    """``$deleteFromPrimitiveList/<key>``: the ``values`` taken out of the list of scalars
    ``out[key]`` (none there: nothing to do). On a list the API server does not merge as
    a set it is refused (400): the API server would make the list the values to delete."""
    where = f"{path}.{key}" if path else key
    directive = f"{_DELETE_PRIMITIVE}{key} at {_at(path)}"
    if not isinstance(values, list) or not all(_scalar(v) for v in values):
        raise _bad_patch(
            f"{directive} is {json.dumps(values)}: it must be a list of the values to delete"
        )
    merge_key = _merge_key(kind, spath)
    if merge_key != "":
        how = (
            "replaces it"
            if merge_key is None
            else f"merges its items by {merge_key}: delete "
            f'one with a {{"{_PATCH}": "delete", "{merge_key}": ...}} item'
        )
        raise _bad_patch(
            f"{directive}: {where} of a {kind} is not a list of scalars merged as a set "
            f"(a strategic merge patch {how}); send the whole list instead"
        )
    live = out.get(key)
    if isinstance(live, list):
        out[key] = [v for v in live if v not in values]
    elif live is not None:
        raise _bad_patch(f"{directive}: {where} is not a list: delete from a list only")


def _strategic_list(  # noqa: PLR0913 - the live and patched lists, the order, and where it is
    live: Any, patch: list[Any] | None, order: Any, *, kind: str, path: str, spath: SchemaPath
) -> list[Any]:
    """``mergeSlice`` of the list at ``path`` (``patch`` None: the patch only orders it),
    by the list's patch strategy (:func:`_merge_key`): maps merged by their merge key
    (:func:`_merged_maps`), scalars merged as a set (:func:`_merged_scalars`), or
    replaced (:func:`_replaced_list`); ordered as the API server orders it
    (``$setElementOrder``, else the patch's order, with the items only the live list has
    kept where they were)."""
    if order is not None and not isinstance(order, list):
        raise _bad_patch(
            f"{_SET_ORDER}{path.rsplit('.', 1)[-1]} at {path} is {json.dumps(order)}: it must "
            "be a list of the list's items (their merge keys)"
        )
    original = live if isinstance(live, list) else []
    merge_key = _merge_key(kind, spath)
    if merge_key is None:
        return _replaced_list(
            original, patch, order, kind=kind, path=path, item_spath=(*spath, "[]")
        )
    if merge_key == "":
        return _merged_scalars(original, patch or [], order, path)
    return _merged_maps(
        original, patch or [], order, merge_key, kind=kind, path=path, item_spath=(*spath, "[]")
    )


def _replaced_list(  # noqa: PLR0913 - the live and patched lists, the order, and where it is
    original: list[Any],
    patch: list[Any] | None,
    order: list[Any] | None,
    *,
    kind: str,
    path: str,
    item_spath: SchemaPath,
) -> list[Any]:
    """A list without a patch strategy: the patch's list replaces it, items as they are
    (a map's ``null``\\ s and directives applied to nothing). A ``$setElementOrder`` of a
    list of scalars orders it as the API server does; one of a list of maps, which the
    API server fails on (no merge key to order by), and a ``$patch`` item are 400."""
    if any(isinstance(i, dict) and _PATCH in i for i in patch or []):
        raise _bad_patch(
            f"a {_PATCH} item in {path}: a strategic merge patch replaces this list of a "
            f"{kind} (it has no merge key): send the whole list instead"
        )
    if patch is None:
        merged = list(original)
    else:
        merged = [
            _strategic_map({}, i, kind, path, item_spath) if isinstance(i, dict) else i
            for i in patch
        ]
    if order is None:
        return merged
    if not all(_scalar(i) for i in [*original, *merged, *order]):
        raise _bad_patch(
            f"{_SET_ORDER}{path.rsplit('.', 1)[-1]} at {path}: this list of a {kind} has no "
            "merge key to order its items by (the API server fails on it too): send the "
            "whole list in its order, without the directive"
        )
    _check_order(patch or [], order, path, _itself)
    return _ordered(merged, order, original, _itself)


def _merged_scalars(
    original: list[Any], patch: list[Any], order: list[Any] | None, path: str
) -> list[Any]:
    """A list of scalars with patch strategy merge: the union of the live and patched
    values (each once), ordered."""
    if not all(_scalar(i) for i in [*original, *patch, *(order or [])]):
        raise _bad_patch(
            f"{path} is a list of scalars, merged as a set: each of its items (and of its "
            f"{_SET_ORDER}) must be a string or a number"
        )
    merged: list[Any] = []
    for item in [*original, *patch]:
        if item not in merged:
            merged.append(item)
    if order is not None:
        _check_order(patch, order, path, _itself)
    return _ordered(merged, patch if order is None else order, original, _itself)


def _merged_maps(  # noqa: PLR0913 - the live and patched lists, the order, the key, and where it is
    original: list[Any],
    patch: list[Any],
    order: list[Any] | None,
    merge_key: str,
    *,
    kind: str,
    path: str,
    item_spath: SchemaPath,
) -> list[Any]:
    """A list of maps with patch strategy merge: merged item by item by ``merge_key``
    (``$patch: delete`` items delete theirs, a ``{"$patch": "replace"}`` item makes the
    other items the list), ordered."""
    special = [i for i in patch if isinstance(i, dict) and _PATCH in i]
    plain = [i for i in patch if not (isinstance(i, dict) and _PATCH in i)]
    for what, items in (("patch", plain), ("live object", original), (_SET_ORDER, order or [])):
        if not all(isinstance(i, dict) and merge_key in i for i in items):
            raise _bad_patch(
                f"an item of {path} in the {what} is not a map with the list's merge key, "
                f"{merge_key}: give every item its {merge_key}"
            )

    def key(item: Any) -> Any:
        return item[merge_key]

    original, replace = _list_directives(original, special, merge_key, path)
    if order is not None:
        _check_order(plain, order, path, key)
    if replace:
        original = [_strategic_map({}, i, kind, path, item_spath) for i in plain]
        plain = []
    merged = list(original)
    for item in plain:
        at = next((n for n, i in enumerate(merged) if key(i) == key(item)), None)
        if at is None:
            merged.append(_strategic_map({}, item, kind, path, item_spath))
        else:
            merged[at] = _strategic_map(merged[at], item, kind, path, item_spath)
    return _ordered(merged, plain if order is None else order, original, key)


def _itself(item: Any) -> Any:
    return item


def _ordered(
    merged: list[Any], wanted: list[Any], original: list[Any], key: Callable[[Any], Any]
) -> list[Any]:
    """``normalizeElementOrder``: the ``merged`` items ``wanted`` names in its order, the
    others (the live list's) put back among them where they were (:func:`_merge_sorted`)."""
    wanted_keys = [key(i) for i in wanted]
    server_order = [key(i) for i in original]
    ranked = [i for i in merged if key(i) in wanted_keys]
    ranked.sort(key=lambda i: wanted_keys.index(key(i)))
    server_only = [i for i in merged if key(i) not in wanted_keys]
    server_only.sort(key=lambda i: _index(server_order, key(i), len(server_order)))
    return _merge_sorted(server_only, ranked, server_order, key)


def _list_directives(
    original: list[Any], special: list[dict[str, Any]], merge_key: str, path: str
) -> tuple[list[Any], bool]:
    """``mergeSliceWithSpecialElements``: ``original`` without the items the
    ``$patch: delete`` items name by ``merge_key``, and whether a ``$patch: replace``
    item came."""
    replace = False
    for item in special:
        directive = item[_PATCH]
        if directive == "delete":
            if merge_key not in item:
                raise _bad_patch(
                    f"a {_PATCH}: delete item in {path} has no {merge_key} (its merge key): "
                    f"give the {merge_key} of the item to delete"
                )
            original = [i for i in original if i.get(merge_key) != item[merge_key]]
        elif directive == "replace":
            replace = True
        else:
            raise _bad_patch(
                f"unknown patch type {json.dumps(directive)} in a {_PATCH} item of {path}: "
                'a list item takes "replace" or "delete"'
            )
    return original, replace


def _index(names: list[Any], name: Any, missing: int) -> int:
    return names.index(name) if name in names else missing


def _check_order(plain: list[Any], order: list[Any], path: str, key: Callable[[Any], Any]) -> None:
    """``validatePatchWithSetOrderList``: the patch's items in the order's order."""
    p = s = 0
    while p < len(plain) and s < len(order):
        if key(plain[p]) == key(order[s]):
            p += 1
        s += 1
    if p < len(plain):
        raise _bad_patch(
            f"the order of the items in {path} does not match its "
            f"{_SET_ORDER}{path.rsplit('.', 1)[-1]} list: list every item in the same order"
        )


def _merge_sorted(
    left: list[Any], right: list[Any], server_order: list[Any], key: Callable[[Any], Any]
) -> list[Any]:
    """``mergeSortedSlice``: the live-only items (``left``) put back among the patched
    ones (``right``), each before the first patched item it preceded in the live list."""
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i < len(left) and (
            j >= len(right)
            or (
                key(left[i]) in server_order
                and key(right[j]) in server_order
                and server_order.index(key(left[i])) < server_order.index(key(right[j]))
            )
        ):
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out


def _yaml(raw: bytes) -> Any:
    try:
        import yaml
    except ImportError:
        raise ApiError(
            400,
            "BadRequest",
            "the body is not JSON (and PyYAML is not installed: pip install 'modelship[yaml]')",
        ) from None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ApiError(400, "BadRequest", f"the body is not YAML: {exc}") from None


def _uid_precondition_failed(
    kind: Kind, ns: str, name: str, uid: str, live_uid: str | None
) -> ApiError:
    """The 409 of the storage layer's GuaranteedUpdate when an update's uid (its
    precondition) is not the stored object's (``live_uid``; ``None``: no object)."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {kind.qualified} "{name}": StorageError: '
        f"invalid object, Code: 4, Key: /registry/{kind.plural}/{ns}/{name}, "
        "ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
        f"precondition: {uid}, UID in object meta: {live_uid or ''}",
        {"name": name, "group": kind.group, "kind": kind.plural},
    )
