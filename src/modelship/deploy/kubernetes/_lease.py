"""The rollout lock of a service on Kubernetes: a ``coordination.k8s.io/v1`` Lease.

Two CI jobs deploying one service run in different processes, often on different
machines; the lock they both see is a Lease named ``<app>-rollout`` in the service's
namespace, as the API server's own leader election uses them:

* **Taking it** reads the Lease, and creates it (``POST``: the API server refuses a second
  create of one name) or replaces it with the resourceVersion it read (``PUT``: refused
  with 409 if anyone wrote it in between). A Lease held by another holder whose
  ``renewTime + leaseDurationSeconds`` has not passed refuses the rollout at once with
  :class:`~modelship.deploy.RolloutInProgress`; an expired one is taken over at once. A write
  refused with 409 is read again, at most :data:`_ATTEMPTS` times, so an answer lost after
  our own write succeeded (the retry then gets 409) finds the Lease ours.
* **Holding it**: a thread renews it every third of its duration, so a canary's pauses
  may last longer than the duration; a process that dies stops renewing, and the Lease
  expires. Each renewal's requests end within that third, so a hung one never delays the
  next.
* **Trusting it** (as client-go's leader election does): the holder notes, on its local
  monotonic clock, when it stamped the last take or renewal that succeeded (when it was
  sent, not answered: a slow answer does not extend it). Other holders may see the Lease
  expire from that stamp's ``renewTime`` plus the duration, up to a second early (``Date``
  has a resolution of one second); so :meth:`RolloutLease.check_held`, which the deployer
  calls before each write, refuses once :func:`renew_deadline` seconds have passed since,
  whether or not the renewer has yet seen another holder take the Lease (renewals that
  fail or hang, as when the network to the API server is cut, let it expire unseen). A
  later renewal that finds the Lease still its own trusts it again.
* **Letting go** clears ``holderIdentity`` with the resourceVersion just read, its
  requests ending within a third of the duration (as a renewal's); it never raises (a
  failed release leaves a Lease that expires, and that this deployer may take again at
  once, as the holder is the deployer, not the call).

**One clock, the API server's.** Holders run on different machines whose clocks differ;
comparing a ``renewTime`` one machine wrote with another machine's clock would let a
machine whose clock runs ahead take a Lease its holder still renews. So every time written
into the Lease, and the "now" an expiry is judged against, is the API server's: the
``Date`` header of its answers (to the Lease's reads and any other request of the same
client) plus the time elapsed since on the local monotonic clock, never stepping back.
``Date`` has a resolution of one second, so an expiry may be seen up to a second late, and
a renewal stamped up to a second early (a holder renews every third of the duration, at
least a second, so this stays within the margin). Only when the server's answers carry no
``Date`` (a proxy that strips it) is the local clock used, and clocks must then agree to
within the Lease's duration. When the answers' ``Date`` is more than a day from the local
clock, the client ignores it (it may be garbled) and the local clock is known to disagree
with the server's, so it is not used either: taking, renewing or letting go of the Lease
raises :class:`KubernetesError` saying how far the clocks are apart. (Stamping with the
local clock would be wrong: a machine two days behind writes a ``renewTime`` that other
jobs read as long expired, and they take the lock while it is held.) (client-go's
leader election instead times expiry locally from when it saw the record change; that
needs no shared clock but makes a stale Lease wait a full duration, where this takes an
expired Lease over at once.)

The holder is one :class:`KubernetesDeployer` object; its threads are kept apart in the
process (:class:`~modelship.deploy.ProcessRolloutLock`), and the thread holding the lock
may take it again (a rollback that redeploys).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from modelship.deploy._errors import RolloutInProgress
from modelship.deploy._lock import ProcessRolloutLock
from modelship.deploy.kubernetes._client import KubeClient, KubernetesError

__all__ = ["ANNOTATION_ROLLOUT", "RolloutLease", "lease_body", "renew_deadline"]

_log = logging.getLogger("modelship.deploy.kubernetes")

#: The annotation naming what the holder is doing, for the refusal's message.
ANNOTATION_ROLLOUT = "modelship.io/rollout"
#: Reads and writes tried when each write is refused with 409 (another writer moved).
_ATTEMPTS = 4
_MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"  # MicroTime, as Kubernetes writes it
#: Seconds other holders may see a Lease expire early: a ``renewTime`` is stamped with the
#: API server's ``Date``, whose resolution is one second.
_DATE_RESOLUTION = 1.0
#: The share of the Lease's duration kept back besides: the latest answer's transit, the
#: drift between the machines' monotonic clocks, and the time from the check before a
#: write to the write reaching the API server.
_MARGIN_SHARE = 0.05
#: Seconds before a renewal that did not land is tried again (a quarter of the period at
#: most): short against any Lease's trust, long against a busy API server.
_RETRY_SOON = 0.25


def renew_deadline(seconds: int) -> float:
    """Seconds after a take or renewal of a Lease of ``seconds`` was sent that its holder
    may still write: the duration less what others may see of it early.

    Examples
    --------
    >>> renew_deadline(60), renew_deadline(3)
    (56.0, 1.85)
    """
    return round(seconds - _DATE_RESOLUTION - seconds * _MARGIN_SHARE, 6)


def _micro(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(_MICRO)


def _parse_micro(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    for fmt in (_MICRO, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _expiry(renewed: datetime, seconds: int) -> datetime | None:
    """When a Lease renewed at ``renewed`` for ``seconds`` expires; None when that is past
    the last time a datetime can hold (a ``renewTime`` of year 9999, a huge duration): such
    a Lease never expires."""
    try:
        return renewed + timedelta(seconds=seconds)
    except OverflowError:
        return None


def lease_body(  # noqa: PLR0913 - the Lease's fields, keyword-only
    *,
    name: str,
    namespace: str,
    identity: str,
    holder: str,
    seconds: int,
    now: datetime,
    acquired: datetime | None = None,
    transitions: int = 0,
    resource_version: str | None = None,
) -> dict[str, Any]:
    """The Lease that says ``identity`` holds the rollout lock since ``acquired``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> body = lease_body(name="fraud-rollout", namespace="models", identity="modelship-1",
    ...                   holder="blue-green deploy of fraud 2", seconds=60, now=t)
    >>> body["spec"]["renewTime"], body["spec"]["leaseDurationSeconds"]
    ('2026-01-01T00:00:00.000000Z', 60)
    """
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {"app.kubernetes.io/managed-by": "modelship"},
        "annotations": {ANNOTATION_ROLLOUT: holder[:1000]},
    }
    if resource_version is not None:
        meta["resourceVersion"] = resource_version
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": seconds,
            "acquireTime": _micro(acquired or now),
            "renewTime": _micro(now),
            "leaseTransitions": transitions,
        },
    }


def _replacing(live: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """``live`` with ``spec``, for a PUT: its resourceVersion kept, as the precondition,
    and its managedFields left out (the API server keeps them; sent, they would replace
    them)."""
    meta = {k: v for k, v in (live.get("metadata") or {}).items() if k != "managedFields"}
    return {**live, "metadata": meta, "spec": dict(spec)}


class RolloutLease:
    """The Lease ``name`` in ``namespace`` as one deployer's rollout lock.

    ``seconds`` is the Lease's duration: how long a holder that stopped renewing (a
    killed CI job) keeps others out. ``now`` is the local clock, used only when the API
    server's answers carry no ``Date`` header (see the module doc). ``monotonic`` is the
    local clock that times how long a take or renewal is trusted (a seam for tests).
    """

    def __init__(  # noqa: PLR0913 - the Lease, then the clocks (seams for tests)
        self,
        client: KubeClient,
        namespace: str,
        name: str,
        seconds: int,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._name = name
        self.seconds = seconds
        self._now = now
        self._monotonic = monotonic
        self.identity = f"modelship-{uuid.uuid4().hex}"
        self._local = ProcessRolloutLock(f"the Lease {namespace}/{name} (in this process)")
        self._depth = 0  # changed only by the thread holding _local
        self._stop: threading.Event | None = None
        self._renewer: threading.Thread | None = None
        self._lost: str | None = None  # who took the Lease from this holder, once seen
        # When (on _monotonic) the last take or renewal that succeeded was stamped, and why
        # the latest renewal failed (None: it did not). Each replaced whole by one thread.
        self._stamped = -float("inf")
        self._failure: str | None = None
        self._renewals = 0  # renewals that landed (the renewer's thread alone counts them)

    def _clock(self) -> datetime:
        """The API server's time now (from its latest answer), else the local clock's;
        never a local clock its answers showed wrong (see the module doc)."""
        server = self._client.server_now()
        if server is not None:
            return server
        offset = self._client.refused_clock_offset()
        if offset is not None:
            # Refusing is the only safe answer: the server's time is not known, and the
            # local clock is a day or more off it (or its Date is garbled).
            hours = abs(offset.total_seconds()) / 3600
            way = "ahead of" if offset > timedelta(0) else "behind"
            raise KubernetesError(
                f"the API server's clock (its answers' Date header) is {hours:.1f} hours "
                f"{way} this machine's clock, so the rollout Lease {self._namespace}/{self._name} "
                "cannot be stamped with a time the other holders share; fix this machine's "
                "clock (NTP), or the proxy rewriting Date, then deploy again"
            )
        return self._now()

    @property
    def path(self) -> str:
        """The Lease's URL path on the API server."""
        return f"/apis/coordination.k8s.io/v1/namespaces/{self._namespace}/leases/{self._name}"

    @contextlib.contextmanager
    def hold(self, holder: str) -> Iterator[None]:
        """Hold the Lease for the block (re-entrant for this thread), or refuse at once."""
        with self._local.hold(holder):
            outer = self._depth == 0
            if outer:
                self._lost = self._failure = None
                self._take(holder)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if outer:
                    self._let_go()

    # --- taking ---------------------------------------------------------------------------

    def _take(self, holder: str) -> None:
        collection = self.path.rsplit("/", 1)[0]
        for _ in range(_ATTEMPTS):  # bound: each pass ends in a write, a refusal or a 409
            live = self._request("GET", self.path, missing_ok=True)
            stamped = self._monotonic()  # before the stamp: never later than it
            now = self._clock()

            def ours(**more: Any) -> dict[str, Any]:
                return lease_body(
                    name=self._name,
                    namespace=self._namespace,
                    identity=self.identity,
                    holder=holder,
                    seconds=self.seconds,
                    now=now,  # noqa: B023 - called in this pass only
                    **more,
                )

            if live is None:
                if self._write("POST", collection, ours()):
                    self._stamped = stamped
                    self._start_renewing()
                    return
                continue
            if not isinstance(live, Mapping):
                raise KubernetesError(
                    f"GET {self.path} answered {type(live).__name__}, not a Lease object"
                )
            found = live.get("spec")
            spec: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
            owner = spec.get("holderIdentity")
            if owner and owner != self.identity and not self._expired(spec, now):
                raise self._refusal(live, spec)
            taken_over = bool(owner) and owner != self.identity
            transitions = spec.get("leaseTransitions")
            body = ours(
                transitions=(transitions if isinstance(transitions, int) else 0) + taken_over,
                resource_version=str(live.get("metadata", {}).get("resourceVersion", "")),
            )
            if self._write("PUT", self.path, body):
                self._stamped = stamped
                if taken_over:
                    _log.warning("took over the expired rollout Lease %s from %s", self.path, owner)
                self._start_renewing()
                return
        raise RolloutInProgress(
            f"the Lease {self._namespace}/{self._name} changed {_ATTEMPTS} times while this "
            "rollout tried to take it: other rollouts are starting; wait, then deploy again"
        )

    def _expired(self, spec: Mapping[str, Any], now: datetime) -> bool:
        """Whether the holder stopped renewing: a Lease whose times cannot be read cannot
        show that anyone still holds it, so it counts as expired."""
        renewed = _parse_micro(spec.get("renewTime")) or _parse_micro(spec.get("acquireTime"))
        seconds = spec.get("leaseDurationSeconds")
        if renewed is None or not isinstance(seconds, int) or isinstance(seconds, bool):
            return True
        expires = _expiry(renewed, seconds)
        return expires is not None and expires < now

    def _refusal(self, live: Mapping[str, Any], spec: Mapping[str, Any]) -> RolloutInProgress:
        annotations = live.get("metadata", {}).get("annotations") or {}
        what = annotations.get(ANNOTATION_ROLLOUT) or f"holder {spec.get('holderIdentity')}"
        renewed = _parse_micro(spec.get("renewTime"))
        expires = None if renewed is None else _expiry(renewed, spec["leaseDurationSeconds"])
        if expires is not None:
            until = f"; it expires at {_micro(expires)} unless renewed"
        elif renewed is not None:
            until = (
                f"; its renew time ({spec['renewTime']}) is so far in the future that it never "
                "expires: if that holder is gone, delete the Lease"
            )
        else:
            until = ""
        return RolloutInProgress(
            f"another rollout holds the Lease {self._namespace}/{self._name}: {what}{until}; "
            "wait for it to finish, then deploy again"
        )

    def _write(
        self, method: str, path: str, body: Mapping[str, Any], deadline: float | None = None
    ) -> bool:
        """Send the write; False when refused with 409 (someone wrote first: read again)."""
        try:
            self._request(method, path, body=body, deadline=deadline)
        except KubernetesError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._client.request(method, path, **kwargs)
        except KubernetesError as exc:
            if exc.status == 403:
                raise KubernetesError(
                    f"{exc}; the rollout lock needs get, create and update on leases in the "
                    f"coordination.k8s.io API group in namespace {self._namespace!r} (see the "
                    "Role in the Kubernetes guide), or KubernetesDeployer(rollout_lease=None) "
                    "to deploy without one",
                    exc.status,
                    exc.reason,
                ) from None
            raise

    def check_held(self) -> None:
        """Raise :class:`RolloutInProgress` if this holder can no longer trust that it holds
        the Lease: the renewer saw another holder take it, or :func:`renew_deadline` seconds
        passed since the last take or renewal that succeeded was sent (others may see it
        expired and take it). The deployer calls it before each write of a rollout, so it
        stops changing a service another rollout may now own. Outside a hold it does
        nothing."""
        if self._depth == 0:
            return
        lost = self._lost
        if lost is not None:
            raise RolloutInProgress(
                f"the Lease {self._namespace}/{self._name} was taken by {lost} after this "
                "rollout's expired; it changes nothing more, and the other rollout decides "
                "what serves"
            )
        since = self._monotonic() - self._stamped
        trusted = renew_deadline(self.seconds)
        if since > trusted:
            failure = self._failure
            why = f" (the latest renewal failed: {failure})" if failure else ""
            where = f"{self._namespace}/{self._name}"
            raise RolloutInProgress(
                f"this rollout last took or renewed the Lease {where} {since:.1f} s ago{why}, "
                f"and a Lease of {self.seconds} s is trusted for only {trusted:g} s after a "
                "renewal: another rollout may have taken it over, so this one changes "
                "nothing more. Check the network to the API server, see who holds the Lease "
                f"(kubectl get lease {self._name} -n {self._namespace}), then deploy again"
            )

    # --- holding and letting go -----------------------------------------------------------

    def _start_renewing(self) -> None:
        self._stop = threading.Event()
        self._renewer = threading.Thread(
            target=self._renew_until, args=(self._stop,), name="modelship-lease", daemon=True
        )
        self._renewer.start()

    def _renew_until(self, stop: threading.Event) -> None:
        # Bounded by the holder: it sets stop when it lets go (or the process ends). Renewals
        # are due every third of the duration from the take, not from the previous one's end,
        # and each ends within its third, so one that hangs never pushes the next back.
        # A renewal that did not land (failed, or refused with 409) is tried again soon,
        # not a third later: trust ends renew_deadline() after the last one that landed,
        # which for a short Lease is before the next third (a 3 s Lease: 1.85 s, renewals
        # due every 1 s), so one throttled answer (429) would otherwise end the rollout.
        period = self.seconds / 3
        soon = min(period / 4, _RETRY_SOON)
        due = time.monotonic() + period
        while not stop.wait(max(0.0, due - time.monotonic())):
            landed = self._renewals
            try:
                if not self._renew(deadline=time.monotonic() + period):
                    return  # no longer ours: nothing to renew
            except Exception as exc:  # a renewal that fails is tried again soon
                _log.warning("renewing the rollout Lease %s failed: %s", self.path, exc)
            now = time.monotonic()
            due = max(due + period, now) if self._renewals != landed else now + soon

    def _renew(self, deadline: float | None = None) -> bool:
        """Write a new renewTime if the Lease is still ours; whether it was. ``deadline`` (a
        :func:`time.monotonic` time) ends its requests; a write refused with 409 (someone
        wrote it in between) is not a renewal: the renewer tries again soon (see
        :meth:`_renew_until`). Why it failed is kept for :meth:`check_held`'s refusal."""
        try:
            live = self._client.request("GET", self.path, missing_ok=True, deadline=deadline)
            spec = (live or {}).get("spec") or {}
            if live is None or spec.get("holderIdentity") != self.identity:
                annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
                self._lost = str(
                    annotations.get(ANNOTATION_ROLLOUT) or spec.get("holderIdentity") or "nobody"
                )
                _log.warning("the rollout Lease %s was taken by %s", self.path, self._lost)
                return False
            stamped = self._monotonic()  # before the stamp: never later than it
            spec = dict(spec, renewTime=_micro(self._clock()))
            if self._write("PUT", self.path, _replacing(live, spec), deadline=deadline):
                self._stamped = stamped
                self._renewals += 1
        except Exception as exc:
            self._failure = str(exc)
            raise
        self._failure = None
        return True

    def _let_go(self) -> None:
        """Clear the holder, best effort, within a third of the Lease's duration (as a
        renewal); never raises (a Lease not let go expires by itself, so a hung API server
        holds the caller no longer than that)."""
        if self._stop is not None:
            self._stop.set()
        # One third of the Lease in all, the wait for a renewal in flight included: that
        # renewal's own deadline is a third of the Lease too, so waiting for it first and
        # then starting this clock held the caller for two thirds against a hung server.
        deadline = time.monotonic() + self.seconds / 3
        if self._renewer is not None:
            # Not waited for beyond the deadline: a renewal landing after the let-go meets
            # a 409 (the let-go changed the Lease), or the let-go's own write does.
            self._renewer.join(max(0.0, deadline - time.monotonic()))
        self._stop = self._renewer = None
        try:
            for _ in range(_ATTEMPTS):  # bound: each pass ends in a write, or a 409
                live = self._client.request("GET", self.path, missing_ok=True, deadline=deadline)
                spec = (live or {}).get("spec") or {}
                if live is None or spec.get("holderIdentity") != self.identity:
                    return  # not ours any more: nothing to let go
                freed = {k: v for k, v in spec.items() if k != "holderIdentity"}
                freed["renewTime"] = _micro(self._clock())
                if self._write("PUT", self.path, _replacing(live, freed), deadline=deadline):
                    return
        except Exception as exc:
            _log.warning(
                "letting go of the rollout Lease %s failed (it expires in %d s): %s",
                self.path,
                self.seconds,
                exc,
            )
