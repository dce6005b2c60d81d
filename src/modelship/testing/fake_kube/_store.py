"""The fake API server's object store: kinds, resourceVersions, writes, the watch log.

Every write goes through :class:`Store` under one lock, is validated as the API server
validates the few fields it models (names, labels, int32 counts, a Lease's counts and
times, a Deployment's immutable selector),
gets the next resourceVersion, and is appended to a bounded event log that watches read
from; a watch that asks for a resourceVersion older than the log's oldest entry is told
410 Gone, as etcd compaction makes a real API server do. A write that changes nothing
(the same object, the same field owners) is not stored again: it keeps its
resourceVersion and sends no event, as on a real API server.
"""

from __future__ import annotations

import collections
import datetime
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from modelship.testing.fake_kube._fields import (
    ApplyConflict,
    Path,
    apply_merge,
    changed_paths,
    fields_v1,
    format_path,
    json_copy,
)

__all__ = [
    "INT64_MAX",
    "KINDS",
    "ApiError",
    "Kind",
    "Store",
    "conflict",
    "decode_strings",
    "decode_times",
    "match_labels",
    "now_iso",
    "parse_field_selector",
    "prepare_create",
    "parse_selector",
    "status_body",
    "validate",
]


@attrs.frozen
class Kind:
    """A resource the fake serves: ``group``/``version``, ``plural``, ``kind``."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``deployments.apps`` as the API server names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


KINDS: dict[str, Kind] = {
    k.plural: k
    for k in (
        Kind("", "v1", "pods", "Pod"),
        Kind("", "v1", "services", "Service"),
        Kind("", "v1", "configmaps", "ConfigMap"),
        Kind("apps", "v1", "deployments", "Deployment"),
        Kind("apps", "v1", "replicasets", "ReplicaSet"),
        Kind("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
        Kind("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
        Kind("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute"),
        Kind("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor"),
        Kind("coordination.k8s.io", "v1", "leases", "Lease"),
    )
}


def now_iso() -> str:
    """The time now as Kubernetes writes it (``2026-01-01T00:00:00Z``)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(
    code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A ``Status`` object as the API server answers errors with.

    Examples
    --------
    >>> status_body(404, "NotFound", 'pods "x" not found')["status"]
    'Failure'
    """
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if not reason:  # metav1.StatusReasonUnknown, omitted as Go omits an empty reason
        del body["reason"]
    if details is not None:
        body["details"] = dict(details)
    return body


class ApiError(Exception):
    """An error answer: HTTP ``code`` with a ``Status`` body."""

    def __init__(
        self, code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.body = status_body(code, reason, message, details)
        self.retry_after: str | None = None  # the Retry-After header to answer with


def match_labels(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    """Whether ``labels`` has every key and value of ``selector`` (equality selectors)."""
    return all(labels.get(k) == v for k, v in selector.items())


def _split_terms(text: str) -> list[str]:
    """The comma-separated terms of a selector, commas inside ``( )`` kept."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [t.strip() for t in terms]


_SET_TERM = re.compile(r"^(!?)\s*([^\s=!<>(),]+)\s+(in|notin)\s*\(([^()]*)\)$")
_VALUE_TERM = re.compile(r"^([^\s=!<>(),]+)\s*(==|=|!=|<|>)\s*([^\s=!<>(),]*)$")
_KEY_TERM = re.compile(r"^(!?)\s*([^\s=!<>(),]+)$")


def _bad_selector(text: str, why: str) -> ApiError:
    return ApiError(400, "BadRequest", f"unable to parse requirement: {why} in {text!r}")


def parse_selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """A label selector query as a predicate on labels, as the API server reads it:
    ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a``, ``!a``,
    ``a>5``, ``a<5``; any other term is a 400 BadRequest.

    Examples
    --------
    >>> match = parse_selector("env in (prod,qa),tier!=db,!canary")
    >>> match({"env": "qa", "tier": "web"}), match({"env": "dev"})
    (True, False)
    >>> parse_selector("env in prod")
    Traceback (most recent call last):
    ...
    modelship.testing.fake_kube._store.ApiError: unable to parse requirement: ...
    """
    if not text.strip():
        return lambda labels: True
    tests = [_label_term(text, raw) for raw in _split_terms(text)]
    return lambda labels: all(test(labels) for test in tests)


Labels = Mapping[str, str]


def _label_term(text: str, raw: str) -> Callable[[Labels], bool]:
    """One term of the label selector ``text`` as a predicate (400 if unreadable)."""
    if m := _SET_TERM.match(raw):
        return _set_term(text, raw, m)
    if m := _VALUE_TERM.match(raw):
        key, op, value = m[1], m[2], m[3]
        if op in ("<", ">"):
            bound = _int64(value)
            if bound is None:
                raise _bad_selector(
                    text, f"{raw!r}: for 'Gt', 'Lt' operators, the value must be an integer"
                )
            return lambda labels: _compare(labels.get(key), bound, greater=op == ">")
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: key in labels and labels[key] == value
    if m := _KEY_TERM.match(raw):
        key, absent = m[2], bool(m[1])
        return lambda labels: (key in labels) != absent
    raise _bad_selector(text, f"{raw!r} is not a label selector term" if raw else "an empty term")


def _set_term(text: str, raw: str, m: re.Match[str]) -> Callable[[Labels], bool]:
    """A set-based term (``key in (a,b)``, ``key notin (a,b)``) as a predicate. As the
    API server's parser reads the values: ``()``, ``(,)`` and ``(a,,b)`` name the empty
    value; two values with only whitespace between them are a 400."""
    if m[1]:
        raise _bad_selector(text, f"{raw!r}: '!' goes with a key alone")
    key, op = m[2], m[3]
    values = frozenset(v.strip() for v in m[4].split(","))
    for value in values:
        if bad := re.search(r"\s+(\S)|[=!<>]", value):
            found = value[bad.start(1) :].split()[0] if bad[1] else bad[0]
            raise _bad_selector(text, f"{raw!r}: found {found!r}, expected: ',' or ')'")
    if op == "in":
        return lambda labels: key in labels and labels[key] in values
    return lambda labels: labels.get(key) not in values


_INT64 = re.compile(r"[+-]?[0-9]+")


def _int64(value: str | None) -> int | None:
    """``value`` as Go's ``strconv.ParseInt(value, 10, 64)`` reads it (None if it fails:
    no underscores, no spaces, ASCII digits, within int64)."""
    if value is None or not _INT64.fullmatch(value):
        return None
    number = int(value)
    return number if -(2**63) <= number < 2**63 else None


def _compare(value: str | None, bound: int, *, greater: bool) -> bool:
    number = _int64(value)
    return number is not None and (number > bound if greater else number < bound)


def _path(*keys: str) -> Callable[[Mapping[str, Any]], str]:
    def read(obj: Mapping[str, Any]) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value if isinstance(value, str) else ""

    return read


def _host_network(obj: Mapping[str, Any]) -> str:
    spec = obj.get("spec")
    return "true" if isinstance(spec, Mapping) and spec.get("hostNetwork") is True else "false"


def _pod_ip(obj: Mapping[str, Any]) -> str:
    status = obj.get("status")
    status = status if isinstance(status, Mapping) else {}
    ips = status.get("podIPs")
    if isinstance(ips, list) and ips and isinstance(ips[0], Mapping):
        ip = ips[0].get("ip")
        return ip if isinstance(ip, str) else ""
    return _path("status", "podIP")(obj)


def _replicas(obj: Mapping[str, Any]) -> str:
    status = obj.get("status")
    value = status.get("replicas") if isinstance(status, Mapping) else None
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"


FieldRead = Callable[[Mapping[str, Any]], str]

#: The fields a field selector may name on every kind (generic.ObjectMetaFieldsSet).
_META_FIELDS: dict[str, FieldRead] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}

#: The fields each kind's registry serves besides (pod.ToSelectableFields and the v1
#: field label conversions; a ReplicaSet's status.replicas), and how to read them.
_SELECTABLE_FIELDS: dict[str, dict[str, FieldRead]] = {
    "pods": {
        **_META_FIELDS,
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.host": _path("spec", "nodeName"),  # the old name, still accepted
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _host_network,
        "status.phase": _path("status", "phase"),
        "status.podIP": _pod_ip,
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "replicasets": {**_META_FIELDS, "status.replicas": _replicas},
}


def _split_field_terms(text: str) -> list[str]:
    """The terms of a field selector, split at commas not escaped by a backslash
    (fields.splitTerms); the terms are not trimmed."""
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_field_term(term: str) -> tuple[str, str, str] | None:
    """``term`` as (field, operator, value), at the first operator (fields.splitTerm)."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape_field_value(value: str) -> str:
    """A field selector value with its escapes (a backslash before a backslash, ``,`` or
    ``=``) read, as fields.UnescapeValue does (400 for an unescaped ``,`` or ``=`` or a
    bad escape)."""
    out: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise ApiError(
                    400,
                    "BadRequest",
                    f"invalid field selector: invalid escape sequence: \\{ch}",
                )
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise ApiError(
                400, "BadRequest", f"invalid field selector: unescaped character in value: {ch}"
            )
        else:
            out.append(ch)
    if escaped:
        raise ApiError(400, "BadRequest", "invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(text: str, plural: str = "") -> Callable[[Mapping[str, Any]], bool]:
    """A field selector query (``metadata.name=a,metadata.namespace!=b``) as a predicate
    on objects of the kind ``plural``, for a list and a watch alike, as the API server
    reads it: terms split at unescaped commas and not trimmed, ``=``, ``==`` and ``!=``,
    values with a backslash escaping a backslash, ``,`` or ``=``. Every kind serves
    ``metadata.name`` and ``metadata.namespace``; a Pod also ``status.phase``,
    ``spec.nodeName`` and the other fields of its registry (an absent one reads ``""``).
    Another field is a 400 BadRequest ("field label not supported"), and so is a term
    it cannot parse.

    Examples
    --------
    >>> match = parse_field_selector("metadata.name!=a")
    >>> match({"metadata": {"name": "b", "namespace": "n"}})
    True
    >>> parse_field_selector("status.phase=Running", "pods")({"status": {"phase": "Running"}})
    True
    >>> parse_field_selector("spec.color=red", "pods")
    Traceback (most recent call last):
    ...
    modelship.testing.fake_kube._store.ApiError: field label not supported: spec.color
    """
    table = _SELECTABLE_FIELDS.get(plural, _META_FIELDS)
    tests: list[tuple[FieldRead, bool, str]] = []  # (read, equal, value)
    for raw in _split_field_terms(text):
        if not raw:
            continue
        parts = _split_field_term(raw)
        if parts is None:
            raise ApiError(
                400, "BadRequest", f"invalid selector: '{text}'; can't understand '{raw}'"
            )
        field, op, value = parts
        value = _unescape_field_value(value)
        if field not in table:
            raise ApiError(400, "BadRequest", f"field label not supported: {field}")
        tests.append((table[field], op != "!=", value))
    return lambda obj: all((read(obj) == value) == equal for read, equal, value in tests)


def prepare_create(meta: dict[str, Any]) -> None:
    """Ready a new object's ``meta`` as the API server's create does: a resourceVersion
    that reads as a number other than 0 is refused with the storage layer's plain error
    (500, no reason: etcd3 store Create, "resourceVersion should not be set on objects to
    be created"); any other is dropped, as are a client's ``uid`` and
    ``creationTimestamp``, which the server always sets afresh (rest.BeforeCreate).

    Examples
    --------
    >>> prepare_create({"name": "c", "resourceVersion": "7"})
    Traceback (most recent call last):
    ...
    modelship.testing.fake_kube._store.ApiError: resourceVersion should not be set on ...
    """
    given = meta.pop("resourceVersion", None)
    try:
        version = int(str(given)) if given not in (None, "") else 0
    except ValueError:
        version = 0  # the storage versioner cannot read it: not refused (as on the server)
    if 0 < version < 2**64:
        meta["resourceVersion"] = given
        raise ApiError(500, "", "resourceVersion should not be set on objects to be created")
    for field in ("uid", "creationTimestamp"):
        meta.pop(field, None)


def conflict(kind: Kind, name: str) -> ApiError:
    """409 Conflict: a write's resourceVersion precondition failed."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {kind.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        {"name": name, "group": kind.group, "kind": kind.plural},
    )


Key = tuple[str, str, str]  # plural, namespace, name

# Set by a DELETE of an object with finalizers; no write can change them.
_DELETION = ("deletionTimestamp", "deletionGracePeriodSeconds")


def _server_fields(kind: Kind, old: Mapping[str, Any] | None, obj: dict[str, Any]) -> None:
    """Set the metadata the server owns on ``obj`` (replacing ``old``): uid, creation and
    deletion timestamps, generation; an update without a status keeps the stored one."""
    meta = obj["metadata"]
    if old is None:
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_iso())
        meta["generation"] = 1
        for field in _DELETION:  # only a DELETE sets them
            meta.pop(field, None)
        return
    for field in ("uid", "creationTimestamp", *_DELETION):
        if field in old["metadata"]:
            meta[field] = old["metadata"][field]
        else:
            meta.pop(field, None)
    bump = _bumps_generation(kind, old, obj)
    meta["generation"] = old["metadata"].get("generation", 1) + int(bump)
    if "status" not in obj and "status" in old:
        obj["status"] = old["status"]


def _bumps_generation(kind: Kind, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether an update moves ``metadata.generation`` on: a change of the spec, and for a
    Deployment of its annotations too (the apps/v1 Deployment strategy's PrepareForUpdate:
    "annotation updates bump the generation"; nil and empty compare equal)."""
    if old.get("spec") != new.get("spec"):
        return True
    if kind.kind == "Deployment":
        before = (old.get("metadata") or {}).get("annotations") or {}
        after = (new.get("metadata") or {}).get("annotations") or {}
        return bool(before != after)
    return False


@attrs.define
class _Event:
    rv: int
    plural: str
    namespace: str
    type: str
    obj: dict[str, Any]


class Store:
    """Objects by (plural, namespace, name), their field owners, and the watch log."""

    def __init__(self, watch_history: int = 1000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 1
        self.objects: dict[Key, dict[str, Any]] = {}
        self.owners: dict[Key, dict[str, set[Path]]] = {}
        self.operations: dict[Key, dict[str, tuple[str, str]]] = {}
        self.log: collections.deque[_Event] = collections.deque(maxlen=watch_history)
        self.oldest = 1  # the oldest resourceVersion a watch may resume from (older: 410)
        self.on_write: list[Callable[[], None]] = []

    # --- reads ------------------------------------------------------------------------------

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self.objects.get((plural, namespace, name))
            return self._out((plural, namespace, name), obj) if obj is not None else None

    def select(
        self,
        plural: str,
        namespace: str | None = None,
        selector: Callable[[Mapping[str, str]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        with self.lock:
            return [
                self._out(key, obj)
                for key, obj in sorted(self.objects.items())
                if key[0] == plural
                and (namespace is None or key[1] == namespace)
                and (selector is None or selector(obj["metadata"].get("labels", {})))
            ]

    def raw(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """The stored objects themselves (the controller edits copies and writes back)."""
        with self.lock:
            return [
                obj
                for key, obj in sorted(self.objects.items())
                if key[0] == plural and (namespace is None or key[1] == namespace)
            ]

    def _out(
        self,
        key: Key,
        obj: dict[str, Any],
        owners: dict[str, set[Path]] | None = None,
        ops: dict[str, tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        """What a client reads: ``obj`` with its ``managedFields`` (stored, or as given)."""
        out: dict[str, Any] = json_copy(obj)
        owners = self.owners.get(key, {}) if owners is None else owners
        ops = self.operations.get(key, {}) if ops is None else ops
        managed = [
            {
                "manager": manager,
                "operation": ops.get(manager, ("Update", ""))[0],
                "apiVersion": out.get("apiVersion", ""),
                "time": ops.get(manager, ("", now_iso()))[1],
                "fieldsType": "FieldsV1",
                "fieldsV1": fields_v1(paths),
            }
            for manager, paths in sorted(owners.items())
            if paths
        ]
        if managed:
            out["metadata"]["managedFields"] = managed
        return out

    # --- writes -----------------------------------------------------------------------------

    def _bump(self, key: Key, obj: dict[str, Any], kind: str) -> dict[str, Any]:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if len(self.log) == self.log.maxlen:
            # log[0] is dropped: a watch from its resourceVersion needs only later events,
            # all still kept; one from before it would miss it.
            self.oldest = self.log[0].rv
        self.log.append(_Event(self.rv, key[0], key[1], kind, json_copy(obj)))
        self.changed.notify_all()
        for hook in self.on_write:
            hook()
        return self._out(key, obj)

    def put(
        self,
        obj: dict[str, Any],
        *,
        manager: str | None = None,
        operation: str = "Update",
        owners: dict[str, set[Path]] | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Store ``obj`` (created or replaced) and return what a client reads back.

        ``manager`` takes the fields this write changed (an update), unless ``owners``
        gives the new field ownership outright (an apply).
        """
        kind = KINDS[_plural_of(obj)]
        meta = obj["metadata"]
        key = (kind.plural, meta["namespace"], meta["name"])
        with self.lock:
            old = self.objects.get(key)
            decode_strings(kind, obj)
            decode_times(kind, obj)
            validate(kind, old, obj)
            _server_fields(kind, old, obj)
            meta.pop("managedFields", None)
            new_owners = owners if owners is not None else _copy_owners(self.owners.get(key, {}))
            if manager is not None and owners is None:
                changed = changed_paths(old, obj)
                for owned in new_owners.values():
                    owned.difference_update(changed)
                new_owners.setdefault(manager, set()).update(changed)
            kept = {m: p for m, p in new_owners.items() if p}
            if old is not None and _same(old, obj) and kept == self.owners.get(key, {}):
                return self._out(key, old)  # a no-op: same resourceVersion, no event
            ops = dict(self.operations.get(key, {}))
            if manager is not None:
                ops[manager] = (operation, now_iso())
            if dry_run:  # what would be stored, managedFields and all; nothing changes
                meta["resourceVersion"] = str(self.rv)
                return self._out(key, obj, kept, ops)
            if "deletionTimestamp" in meta and not meta.get("finalizers"):
                # The last finalizer of an object being deleted is gone: so is the object.
                return self._remove(key, obj, self._out(key, obj, kept, ops))
            self.objects[key] = obj
            self.owners[key] = kept
            self.operations[key] = ops
            return self._bump(key, obj, "ADDED" if old is None else "MODIFIED")

    def write_status(self, plural: str, namespace: str, name: str, status: Any) -> None:
        """The controller's status write (no field ownership, no generation change)."""
        key = (plural, namespace, name)
        with self.lock:
            obj = self.objects.get(key)
            if obj is None or obj.get("status") == status:
                return
            obj["status"] = json_copy(status)
            self._bump(key, obj, "MODIFIED")

    def delete(
        self,
        plural: str,
        namespace: str,
        name: str,
        *,
        dry_run: bool = False,
        preconditions: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Delete an object; what a client reads back, or None if there is none.

        An object with finalizers is not removed: it gets ``metadata.deletionTimestamp``
        (and ``deletionGracePeriodSeconds``: 0) and stays until a write removes its last
        finalizer, as on a real API server. Deleting it again changes nothing.
        ``preconditions`` (DeleteOptions' ``uid`` and ``resourceVersion``) that the object
        no longer meets are a 409 Conflict, checked under the store's lock as the API
        server checks them in its storage transaction.
        """
        key = (plural, namespace, name)
        with self.lock:
            obj = self.objects.get(key)
            if obj is None:
                return None
            meta = obj["metadata"]
            for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                wanted = (preconditions or {}).get(field)
                if wanted is not None and wanted != meta.get(field):
                    kind = KINDS[plural]
                    raise ApiError(
                        409,
                        "Conflict",
                        f'Operation cannot be fulfilled on {kind.qualified} "{name}": '
                        f"Precondition failed: {label} in precondition: {wanted}, {label} in "
                        f"object meta: {meta.get(field)}",
                        {"name": name, "group": kind.group, "kind": kind.plural},
                    )
            if meta.get("finalizers"):
                if "deletionTimestamp" in meta:
                    return self._out(key, obj)  # already being deleted
                marked = json_copy(obj)
                marked["metadata"]["deletionTimestamp"] = now_iso()
                marked["metadata"]["deletionGracePeriodSeconds"] = 0
                if marked["metadata"].get("generation", 0) > 0:
                    # The registry store's markAsDeleting: the spec's meaning changed.
                    marked["metadata"]["generation"] += 1
                if dry_run:
                    return self._out(key, marked)
                self.objects[key] = marked
                return self._bump(key, marked, "MODIFIED")
            if dry_run:
                return self._out(key, obj)
            return self._remove(key, obj, self._out(key, obj))

    def _remove(self, key: Key, obj: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        """Remove the object at ``key`` (``obj``, read back as ``out``): a DELETED event."""
        del self.objects[key]
        self.owners.pop(key, None)
        self.operations.pop(key, None)
        self._bump(key, obj, "DELETED")
        out["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
        return out

    def apply(
        self,
        applied: dict[str, Any],
        manager: str,
        *,
        force: bool,
        dry_run: bool,
        defaults: Callable[..., None],
    ) -> tuple[dict[str, Any], bool]:
        """Server-side apply; returns (object, created). Raises :class:`ApiError` 409."""
        kind = KINDS[_plural_of(applied)]
        meta = applied["metadata"]
        key = (kind.plural, meta["namespace"], meta["name"])
        with self.lock:
            live = json_copy(self.objects.get(key))
            if live is None:
                prepare_create(meta)
            given = meta.get("resourceVersion")
            if given and live is not None and given != live["metadata"]["resourceVersion"]:
                # An applied resourceVersion is a precondition, as in any update.
                raise conflict(kind, meta["name"])
            owners = _copy_owners(self.owners.get(key, {}))
            try:
                merged = apply_merge(live, applied, manager, owners, force=force)
            except ApplyConflict as exc:
                n = len(exc.conflicts)
                lines = [
                    f'conflict with "{other}" using {kind.api_version}: {format_path(path)}'
                    for other, path in exc.conflicts
                ]
                raise ApiError(
                    409,
                    "Conflict",
                    f"Apply failed with {n} conflict{'s' if n > 1 else ''}: " + "\n".join(lines),
                    {
                        "name": meta["name"],
                        "group": kind.group,
                        "kind": kind.plural,
                        "causes": [
                            {
                                "reason": "FieldManagerConflict",
                                "message": f'conflict with "{other}" using {kind.api_version}',
                                "field": format_path(path),
                            }
                            for other, path in exc.conflicts
                        ],
                    },
                ) from None
            defaults(merged, created=live is None)
            out = self.put(
                merged, manager=manager, operation="Apply", owners=owners, dry_run=dry_run
            )
            return out, live is None

    def compact(self) -> None:
        """Forget the watch log: every watch from an older resourceVersion gets 410 Gone."""
        with self.lock:
            self.log.clear()
            self.oldest = self.rv

    def events_after(
        self, rv: int, plural: str, namespace: str
    ) -> Iterable[tuple[int, str, dict[str, Any]]]:
        with self.lock:
            return [
                (e.rv, e.type, self._out((plural, namespace, e.obj["metadata"]["name"]), e.obj)
                 if e.type != "DELETED" else json_copy(e.obj))
                for e in self.log
                if e.rv > rv and e.plural == plural and e.namespace == namespace
            ]  # fmt: skip


#: The int32 fields the fake checks, by kind (the API server stores them as int32).
_INT32_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Deployment": (("spec", "replicas"),),
    "ReplicaSet": (("spec", "replicas"),),
    "Lease": (("spec", "leaseDurationSeconds"), ("spec", "leaseTransitions")),
}
_INT32 = (-(2**31), 2**31 - 1)


def validate(kind: Kind, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> None:
    """Refuse ``new`` (replacing ``old``) with 422 where the API server's validation would,
    for the fields the fake models: a new object's name (a DNS-1035 label for a Service,
    a DNS-1123 subdomain for the other kinds), int32 counts, replicas (at least 0), a
    Deployment's strategy (see :func:`_strategy_errors`), its selector and
    pod template (both required) and its selector, which is immutable once created, its
    pod template's security contexts (see :func:`_security_errors`), label
    keys and values, a Lease's duration and transitions, and no finalizer added to an
    object being deleted.

    Examples
    --------
    >>> lease = {"kind": "Lease", "metadata": {"name": "l"}, "spec": {"leaseTransitions": 2**40}}
    >>> validate(KINDS["leases"], None, lease)
    Traceback (most recent call last):
    ...
    modelship.testing.fake_kube._store.ApiError: Lease.coordination.k8s.io "l" is invalid: ...
    """
    name = f'{kind.kind}{"." + kind.group if kind.group else ""} "{new["metadata"]["name"]}"'
    details = {"name": new["metadata"]["name"], "group": kind.group, "kind": kind.plural}
    if old is None:
        _validate_name(kind, name, new["metadata"]["name"], details)
    if kind.kind == "Deployment":
        spec = new.get("spec") or {}
        missing = [
            f"{field}: Required value"
            for field, value in (
                ("spec.selector", spec.get("selector")),
                (
                    "spec.template.spec.containers",
                    ((spec.get("template") or {}).get("spec") or {}).get("containers"),
                ),
            )
            if not value
        ]
        if missing:
            raise ApiError(422, "Invalid", f"{name} is invalid: [{', '.join(missing)}]", details)
    for section, field in _INT32_FIELDS.get(kind.kind, ()):
        value = (new.get(section) or {}).get(field)
        if value is None:
            continue
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or not _INT32[0] <= value <= _INT32[1]:
            raise ApiError(
                422,
                "Invalid",
                f"{name} is invalid: {section}.{field}: Invalid value: {json.dumps(value)}: "
                f"must be an int32 (from {_INT32[0]} to {_INT32[1]})",
                {"name": new["metadata"]["name"], "group": kind.group, "kind": kind.plural},
            )
    labels = _label_errors(kind, new)
    # ValidateObjectMeta's errors first, then the spec's in ValidateDeploymentSpec's order
    errors = [e for e in labels if e[0].startswith("metadata.")]
    errors += _replicas_errors(kind, new)
    errors += [e for e in labels if not e[0].startswith("metadata.")]
    errors += _security_errors(kind, new)
    errors += _strategy_errors(kind, new) + _lease_errors(kind, new) + _finalizer_errors(new)
    uid = new["metadata"].get("uid")
    if old is not None and uid and uid != old["metadata"].get("uid"):
        # ValidateObjectMetaUpdate (a patch or an apply naming another uid; a PUT's uid is
        # a precondition, refused with 409 before this).
        errors.append(("metadata.uid", f"Invalid value: {json.dumps(uid)}: field is immutable"))
    if old is not None and "deletionTimestamp" in old["metadata"]:
        added = [
            f
            for f in new["metadata"].get("finalizers") or []
            if f not in (old["metadata"].get("finalizers") or [])
        ]
        if added:
            listed = ", ".join(json.dumps(f) for f in added)
            errors.append(
                (
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{listed}}}",
                )
            )
    if errors:
        texts = [f"{field}: {message}" for field, message in errors]
        raise ApiError(
            422,
            "Invalid",
            f"{name} is invalid: " + (texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"),
            {
                **details,
                "causes": [
                    {"reason": _cause_reason(message), "message": message, "field": field}
                    for field, message in errors
                ],
            },
        )
    if kind.kind == "Deployment" and old is not None:
        before, after = (
            (old.get("spec") or {}).get("selector"),
            (new.get("spec") or {}).get("selector"),
        )
        if _selector(before) != _selector(after):
            raise ApiError(
                422,
                "Invalid",
                f"{name} is invalid: spec.selector: Invalid value: {json.dumps(after)}: field "
                "is immutable",
                {"name": new["metadata"]["name"], "group": kind.group, "kind": kind.plural},
            )


# The API server's name rules (k8s.io/apimachinery/pkg/util/validation): a Service's
# name is a DNS-1035 label, every other kind the fake serves a DNS-1123 subdomain.
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _validate_name(kind: Kind, name: str, value: Any, details: Mapping[str, Any]) -> None:
    """Refuse a new object's name as the API server does (422 Invalid, FieldValueInvalid)."""
    if kind.kind == "Service":
        pattern, limit, rule = (
            _DNS_1035_LABEL,
            63,
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character",
        )
    else:
        pattern, limit, rule = (
            _DNS_1123_SUBDOMAIN,
            253,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character",
        )
    problem = None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        problem = f"{rule} (regex used for validation is '{pattern.pattern}')"
    elif len(value) > limit:
        problem = f"must be no more than {limit} characters"
    if problem is not None:
        message = f"Invalid value: {json.dumps(value)}: {problem}"
        raise ApiError(
            422,
            "Invalid",
            f"{name} is invalid: metadata.name: {message}",
            {
                **details,
                "causes": [
                    {"reason": "FieldValueInvalid", "message": message, "field": "metadata.name"}
                ],
            },
        )


# Label keys and values (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName and
# IsValidLabelValue), checked where the API server checks them: every object's
# metadata.labels, a Deployment's or ReplicaSet's selector and pod template labels, and a
# Service's selector.
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QUALIFIED_NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    f"validation is '{_QUALIFIED_NAME.pattern}')"
)
_LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE.pattern}')"
)
_DNS_1123_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_DNS_1123_SUBDOMAIN.pattern}')"
)


def _qualified_name_problems(key: str) -> list[str]:
    parts = key.split("/")
    if len(parts) > 2:
        return [
            f"a qualified name {_QUALIFIED_NAME_RULE} with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    problems = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                problems.append("prefix part must be no more than 253 characters")
            if not _DNS_1123_SUBDOMAIN.fullmatch(prefix):
                problems.append(f"prefix part {_DNS_1123_SUBDOMAIN_RULE}")
    part = parts[-1]
    if not part:
        problems.append("name part must be non-empty")
    elif len(part) > 63:
        problems.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME.fullmatch(part):
        problems.append(f"name part {_QUALIFIED_NAME_RULE}")
    return problems


def _labels_problems(labels: Any, field: str) -> list[tuple[str, str]]:
    if not isinstance(labels, Mapping):
        return []
    errors = []
    for key in sorted(labels, key=str):
        value = labels[key]
        errors += [
            (field, f"Invalid value: {json.dumps(key)}: {problem}")
            for problem in _qualified_name_problems(str(key))
        ]
        if not isinstance(value, str):
            continue
        if len(value) > 63:
            errors.append(
                (field, f"Invalid value: {json.dumps(value)}: must be no more than 63 characters")
            )
        if not _LABEL_VALUE.fullmatch(value):
            errors.append((field, f"Invalid value: {json.dumps(value)}: {_LABEL_VALUE_RULE}"))
    return errors


def _finalizer_errors(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Finalizer names as ValidateFinalizerName checks them: qualified names."""
    finalizers = (obj.get("metadata") or {}).get("finalizers")
    if not isinstance(finalizers, list):
        return []
    return [
        ("metadata.finalizers", f"Invalid value: {json.dumps(name)}: {problem}")
        for name in finalizers
        for problem in _qualified_name_problems(str(name))
    ]


def decode_strings(kind: Kind, obj: Mapping[str, Any]) -> None:
    """Refuse (400 BadRequest, as decoding into ``map[string]string`` fails before any
    validation) labels or annotations whose values are not text; a null value is decoded
    as ``""``, in place, as Go's decoder does.

    Examples
    --------
    >>> decode_strings(KINDS["configmaps"], {"metadata": {"labels": {"app": 5}}})
    Traceback (most recent call last):
    ...
    modelship.testing.fake_kube._store.ApiError: ConfigMap in version "v1" cannot be handled ...
    """
    meta = _map(obj.get("metadata"))
    finalizers = meta.get("finalizers")
    if isinstance(finalizers, list):
        odd = [f for f in finalizers if not isinstance(f, str)]
        if odd:
            raise ApiError(
                400,
                "BadRequest",
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                f"json: cannot unmarshal {_json_type(odd[0])} into Go struct field "
                "ObjectMeta.metadata.finalizers of type string",
            )
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if values is None:
            continue
        if isinstance(values, dict):
            for key, value in values.items():
                if value is None:  # Go decodes a null into a string as ""
                    values[key] = ""
        bad = (
            [values]
            if not isinstance(values, Mapping)
            else [v for v in values.values() if not isinstance(v, str)]
        )
        if bad:
            got = "object" if isinstance(values, Mapping) else "value"
            raise ApiError(
                400,
                "BadRequest",
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                f"json: cannot unmarshal {_json_type(bad[0])} into Go struct field "
                f"ObjectMeta.metadata.{field} of type "
                f"{'string' if got == 'object' else 'map[string]string'}",
            )


def _json_type(value: Any) -> str:
    """The JSON type name Go's decoder names in an unmarshal error."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "string"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _label_errors(kind: Kind, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for every label key or value the API server would refuse."""
    spec = _map(obj.get("spec"))
    places: list[tuple[Any, str]] = [((obj.get("metadata") or {}).get("labels"), "metadata.labels")]
    if kind.kind in ("Deployment", "ReplicaSet"):
        selector = _map(spec.get("selector"))
        template = _map(spec.get("template"))
        places += [
            (selector.get("matchLabels"), "spec.selector.matchLabels"),
            (_map(template.get("metadata")).get("labels"), "spec.template.metadata.labels"),
        ]
    if kind.kind == "Service":
        places.append((spec.get("selector"), "spec.selector"))
    return [error for labels, field in places for error in _labels_problems(labels, field)]


def _cause_reason(message: str) -> str:
    """A cause's ``reason`` (the ``field.ErrorType``), from its message's start."""
    for start, reason in (
        ("Forbidden", "FieldValueForbidden"),
        ("Unsupported value", "FieldValueNotSupported"),
        ("Required value", "FieldValueRequired"),
    ):
        if message.startswith(start):
            return reason
    return "FieldValueInvalid"


_NEGATIVE = "must be greater than or equal to 0"  # apimachinery's isNegativeErrorMsg
_PERCENT = re.compile(r"[0-9]+%")
_PERCENT_RULE = (
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', "
    "or '93%', regex used for validation is '[0-9]+%')"
)


def _replicas_errors(kind: Kind, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A Deployment's or ReplicaSet's ``spec.replicas`` below 0, as
    ValidateNonnegativeField refuses it (apps/validation)."""
    if kind.kind not in ("Deployment", "ReplicaSet"):
        return []
    replicas = _map(obj.get("spec")).get("replicas")
    if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas < 0:
        return [("spec.replicas", f"Invalid value: {replicas}: {_NEGATIVE}")]
    return []


def _int_or_string(value: Any) -> str:
    """An ``intstr.IntOrString`` as Go's ``%#v`` prints it in a field error."""
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{json.dumps(value)}}}"
    return f'intstr.IntOrString{{Type:0, IntVal:{value}, StrVal:""}}'


#: The largest int64: where Go's strconv.Atoi stops reading a number.
INT64_MAX = 2**63 - 1


def _atoi(text: str) -> int:
    """Go's ``strconv.Atoi`` on a 64-bit machine, its error ignored as ``getPercentValue``
    and ``IntOrString.IntValue`` ignore it: an optional sign and ASCII digits (leading
    zeros read: ``"0001"`` is 1), else 0; beyond int64 the nearest bound (ParseInt's
    value with its range error)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return 0
    digits = text.lstrip("+-").lstrip("0")  # no int() of thousands of digits
    number = int(digits) if 0 < len(digits) <= 19 else (0 if not digits else INT64_MAX + 1)
    if text.startswith("-"):
        return max(-INT64_MAX - 1, -number)
    return min(INT64_MAX, number)


def _int_or_percent(value: Any) -> int:
    """``getIntOrPercentValue``: a percentage's number, an int, else a string's
    ``IntValue`` (0 unless it reads as an integer), both through :func:`_atoi`."""
    if isinstance(value, str):
        return _atoi(value[:-1] if _PERCENT.fullmatch(value) else value)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


_ID_RANGE = "must be between 0 and 2147483647, inclusive"


def _security_errors(kind: Kind, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A Deployment's pod template security contexts as ValidateSecurityContext and
    ValidatePodSecurityContext (core/validation) check them, for the rules the fake
    models: user and group ids within 0..2147483647, and ``allowPrivilegeEscalation:
    false`` beside ``privileged: true`` or a capability added as ``CAP_SYS_ADMIN`` (the
    API server compares the text, so ``SYS_ADMIN`` passes). Containers first, then the
    pod, as ValidatePodSpec orders them."""
    if kind.kind != "Deployment":
        return []
    pod = _map(_map(_map(obj.get("spec")).get("template")).get("spec"))
    errors: list[tuple[str, str]] = []
    containers = pod.get("containers")
    for i, container in enumerate(containers if isinstance(containers, list) else []):
        field = f"spec.template.spec.containers[{i}].securityContext"
        context = _map(_map(container).get("securityContext"))
        errors += _id_errors(context, field, ("runAsUser", "runAsGroup"))
        if context.get("allowPrivilegeEscalation") is False:
            shown = (
                "Invalid value: core.SecurityContext{...}: cannot set `allowPrivilegeEscalation`"
            )
            if context.get("privileged") is True:
                errors.append((field, f"{shown} to false and `privileged` to true"))
            added = _map(context.get("capabilities")).get("add")
            for name in added if isinstance(added, list) else []:
                if name == "CAP_SYS_ADMIN":
                    errors.append((field, f"{shown} to false and `capabilities.Add` CAP_SYS_ADMIN"))
    field = "spec.template.spec.securityContext"
    context = _map(pod.get("securityContext"))
    errors += _id_errors(context, field, ("fsGroup", "runAsUser", "runAsGroup"))
    groups = context.get("supplementalGroups")
    for i, group in enumerate(groups if isinstance(groups, list) else []):
        errors += _id_errors(
            {f"supplementalGroups[{i}]": group}, field, (f"supplementalGroups[{i}]",)
        )
    return errors


def _id_errors(
    context: Mapping[str, Any], field: str, names: Iterable[str]
) -> list[tuple[str, str]]:
    """IsValidUserID / IsValidGroupID on the ``names`` of ``context`` that are set."""
    return [
        (f"{field}.{name}", f"Invalid value: {context[name]}: {_ID_RANGE}")
        for name in names
        if isinstance(context.get(name), int)
        and not isinstance(context[name], bool)
        and not 0 <= context[name] <= 2**31 - 1
    ]


def _strategy_errors(kind: Kind, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A Deployment's ``spec.strategy`` (defaulted: see the server's ``_defaults``) as
    ValidateDeploymentStrategy and ValidateRollingUpdateDeployment (apps/validation)
    check it: a type other than ``Recreate`` and ``RollingUpdate``; ``rollingUpdate``
    with ``Recreate``; maxUnavailable or maxSurge that is neither an int at least 0 nor
    a percentage; both 0; maxUnavailable over 100%."""
    if kind.kind != "Deployment":
        return []
    field = "spec.strategy"
    strategy = _map(_map(obj.get("spec")).get("strategy"))
    # what the API server's defaulting fills in, for an object stored without it
    kind_of = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if kind_of == "Recreate":
        if rolling is None:
            return []
        return [
            (
                f"{field}.rollingUpdate",
                "Forbidden: may not be specified when strategy `type` is 'Recreate'",
            )
        ]
    if kind_of != "RollingUpdate":
        shown = "nil" if rolling is None else "0xc000a1b2c0"  # Go prints a pointer's address
        return [
            (
                field,
                f"Unsupported value: apps.DeploymentStrategy{{Type:{json.dumps(str(kind_of))}, "
                f"RollingUpdate:(*apps.RollingUpdateDeployment)({shown})}}: supported values: "
                '"Recreate", "RollingUpdate"',
            )
        ]
    given = _map(rolling)
    rolling = {
        name: "25%" if given.get(name) is None else given[name]
        for name in ("maxUnavailable", "maxSurge")
    }
    errors: list[tuple[str, str]] = []
    for name in ("maxUnavailable", "maxSurge"):
        value = rolling[name]
        path = f"{field}.rollingUpdate.{name}"
        if isinstance(value, str):
            if not _PERCENT.fullmatch(value):
                errors.append((path, f"Invalid value: {_int_or_string(value)}: {_PERCENT_RULE}"))
        elif isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                errors.append((path, f"Invalid value: {value}: {_NEGATIVE}"))
        else:
            errors.append(
                (path, f"Invalid value: {json.dumps(value)}: must be an integer or percentage "
                 "(e.g '5%%')")
            )  # fmt: skip
    unavailable, surge = rolling["maxUnavailable"], rolling["maxSurge"]
    path = f"{field}.rollingUpdate.maxUnavailable"
    if _int_or_percent(unavailable) == 0 and _int_or_percent(surge) == 0:
        errors.append(
            (
                path,
                f"Invalid value: {_int_or_string(unavailable)}: may not be 0 when `maxSurge` is 0",
            )
        )
    if (
        isinstance(unavailable, str)
        and _PERCENT.fullmatch(unavailable)
        and (_int_or_percent(unavailable) > 100)
    ):
        errors.append(
            (path, f"Invalid value: {_int_or_string(unavailable)}: must not be greater than 100%")
        )
    return errors


def _lease_errors(kind: Kind, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A Lease's spec as ValidateLeaseSpec checks it (coordination/validation)."""
    if kind.kind != "Lease":
        return []
    spec = _map(obj.get("spec"))
    errors = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        errors.append(
            ("spec.leaseDurationSeconds", f"Invalid value: {duration}: must be greater than 0")
        )
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        errors.append(
            (
                "spec.leaseTransitions",
                f"Invalid value: {transitions}: must be greater than or equal to 0",
            )
        )
    return errors


# A MicroTime (a Lease's acquireTime and renewTime) as metav1.MicroTime decodes it: Go's
# time.Parse with RFC3339Micro, which takes exactly six fractional digits and a "Z" or
# "+hh:mm" offset; anything else fails the decoding (400) before validation runs.
_MICRO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})")
_MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"
_MICRO_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Lease": (("spec", "acquireTime"), ("spec", "renewTime")),
}


def decode_times(kind: Kind, obj: dict[str, Any]) -> None:
    """Decode ``obj``'s MicroTime fields as the API server does, in place: stored in UTC
    (``2026-12-05T11:00:00.500000Z``), or 400 BadRequest for a text that does not parse.

    Examples
    --------
    >>> lease = {"spec": {"renewTime": "2026-12-05T12:00:00.500000+01:00"}}
    >>> decode_times(KINDS["leases"], lease)
    >>> lease["spec"]["renewTime"]
    '2026-12-05T11:00:00.500000Z'
    """
    for section, field in _MICRO_FIELDS.get(kind.kind, ()):
        part = obj.get(section)
        if not isinstance(part, dict) or part.get(field) is None:
            continue
        value = part[field]
        when = None
        if isinstance(value, str) and _MICRO_TIME.fullmatch(value):
            try:
                when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                when = None
        if when is None:
            raise ApiError(
                400,
                "BadRequest",
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                f"parsing time {json.dumps(value)} as {json.dumps(_MICRO_LAYOUT)}: "
                f"{section}.{field} is not a MicroTime",
            )
        part[field] = when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _selector(selector: Any) -> Any:
    """A label selector without its empty (or null) parts, as the API server compares it:
    ``matchExpressions: []`` selects what its absence does."""
    if not isinstance(selector, Mapping):
        return selector
    return {k: v for k, v in selector.items() if v not in (None, [], {})}


def _same(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether storing ``new`` over ``old`` would change nothing a client can read."""

    def content(obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = {
            k: v
            for k, v in (obj.get("metadata") or {}).items()
            if k not in ("resourceVersion", "managedFields", "generation")
        }
        return {**obj, "metadata": meta}

    return content(old) == content(new)


def _copy_owners(owners: Mapping[str, set[Path]]) -> dict[str, set[Path]]:
    """A copy of field owners that shares no set with ``owners`` (paths are tuples of
    text, immutable: kept as they are, as :func:`copy.deepcopy` keeps them)."""
    return {manager: set(paths) for manager, paths in owners.items()}


def _plural_of(obj: Mapping[str, Any]) -> str:
    for kind in KINDS.values():
        if kind.kind == obj.get("kind") and kind.api_version == obj.get("apiVersion"):
            return kind.plural
    raise ApiError(
        400,
        "BadRequest",
        f"no kind {obj.get('kind')!r} is registered for version {obj.get('apiVersion')!r}",
    )


def canonical(obj: Any) -> str:
    """A stable text of ``obj`` (for hashing pod templates)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))
