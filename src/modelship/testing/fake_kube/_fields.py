"""Server-side apply for the fake API server: field sets, merges, ownership, conflicts.

A much smaller cousin of Kubernetes' structured-merge-diff, driven by the same schema
annotations the API server's is. A field is a path of steps: ``("f", key)`` into a map,
``("k", key)`` into an associative list (``x-kubernetes-list-type: map``; ``key`` is the
item's ``x-kubernetes-list-map-keys`` as compact JSON, ``{"name":"a"}``), ``("v", value)``
into a set (``x-kubernetes-list-type: set``; ``value`` as JSON). Every other list is
atomic, as is every map annotated ``x-kubernetes-map-type: atomic`` (a Service's
``spec.selector``, a ``LabelSelector``): owned and replaced whole, never merged. The
annotations of the built-in kinds the fake serves are in :data:`SCHEMA_RULES`; a custom
resource's lists are atomic (the fake has no CRD schemas to read annotations from).

Each manager owns a set of leaf paths. An apply conflicts when it sets a field another
manager owns to a different value (unless forced, which takes the field over); a field the
applier owned before and no longer sends is removed unless someone else owns it too; an
update takes every field it changed away from the other managers. Values set by
defaulting belong to nobody.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "PATCH_MERGE_KEYS",
    "SCHEMA_RULES",
    "Path",
    "apply_merge",
    "changed_paths",
    "delete_path",
    "fields_v1",
    "format_path",
    "get_path",
    "json_copy",
    "leaves",
]

Step = tuple[str, str]
Path = tuple[Step, ...]
#: A schema annotation: ("atomic", ()) for x-kubernetes-map-type or -list-type atomic,
#: ("set", ()) and ("map", keys) for x-kubernetes-list-type set / map with its
#: x-kubernetes-list-map-keys.
Rule = tuple[str, tuple[str, ...]]
SchemaPath = tuple[str, ...]  # field names, "[]" for a list's items

_MISSING = object()
_ATOMS = frozenset({str, int, float, bool, type(None)})


def json_copy(value: Any) -> Any:
    """A deep copy of ``value`` as :func:`copy.deepcopy` makes it, several times faster for
    what the fake stores: JSON-like values (dicts, lists, text, numbers, booleans, None),
    which its reads, writes and controller passes copy all the time.

    The copy shares no dict or list with ``value``; a dict or list that ``value`` holds
    twice is copied once and held twice, as :func:`copy.deepcopy` does (the controller's
    ReplicaSets hold one labels map as labels, selector and template labels). Keys are
    kept as they are (text, in JSON). A value of any other type (a tuple, a subclass of
    dict) is copied by :func:`copy.deepcopy`.

    Examples
    --------
    >>> labels = {"app": "a"}
    >>> obj = {"metadata": {"labels": labels}, "spec": {"selector": labels}, "n": [1, 2.5]}
    >>> out = json_copy(obj)
    >>> out == obj, out["metadata"]["labels"] is labels
    (True, False)
    >>> out["metadata"]["labels"] is out["spec"]["selector"]
    True
    """
    return _json_copy(value, {})


def _json_copy(value: Any, memo: dict[int, Any]) -> Any:
    """:func:`json_copy` of ``value``; ``memo`` maps the id of each dict and list copied so
    far to its copy, as :func:`copy.deepcopy`'s memo does."""
    cls = type(value)
    if cls is dict:
        done = memo.get(id(value))
        if done is not None:
            return done
        out: dict[Any, Any] = {}
        memo[id(value)] = out
        for key, inner in value.items():
            out[key] = inner if type(inner) in _ATOMS else _json_copy(inner, memo)
        return out
    if cls is list:
        done = memo.get(id(value))
        if done is not None:
            return done
        items: list[Any] = []
        memo[id(value)] = items
        for inner in value:
            items.append(inner if type(inner) in _ATOMS else _json_copy(inner, memo))
        return items
    if cls in _ATOMS:
        return value
    return copy.deepcopy(value, memo)


_ATOMIC: Rule = ("atomic", ())
_SET: Rule = ("set", ())


def _keyed(*keys: str) -> Rule:
    return ("map", keys)


# The x-kubernetes-map-type, -list-type and -list-map-keys annotations of the built-in
# kinds the fake serves, copied from the Kubernetes 1.33 OpenAPI schemas (kubernetes-validate
# ships them: kubernetes_validate/kubernetes-json-schema/v1.33.0-local/_definitions.json;
# tests/kubernetes/test_fake_kube_fidelity.py checks this table against that file). They
# are written out here because modelship.testing must work where only the ``kubernetes``
# extra is installed, and kubernetes-validate is a test dependency only. Paths are
# relative to the prefix each table is used at; "[]" steps into a list's items.
_OBJECT_META: dict[str, Rule] = {
    "finalizers": _SET,
    "managedFields": _ATOMIC,
    "ownerReferences": _keyed("uid"),
    "ownerReferences[]": _ATOMIC,
}
_PROBE = {"exec.command": _ATOMIC, "httpGet.httpHeaders": _ATOMIC}
_CONTAINER: dict[str, Rule] = {
    "args": _ATOMIC,
    "command": _ATOMIC,
    "env": _keyed("name"),
    "env[].valueFrom.configMapKeyRef": _ATOMIC,
    "env[].valueFrom.fieldRef": _ATOMIC,
    "env[].valueFrom.resourceFieldRef": _ATOMIC,
    "env[].valueFrom.secretKeyRef": _ATOMIC,
    "envFrom": _ATOMIC,
    **{
        f"{probe}.{path}": rule
        for probe in (
            "lifecycle.postStart",
            "lifecycle.preStop",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
        )
        for path, rule in _PROBE.items()
    },
    "ports": _keyed("containerPort", "protocol"),
    "resizePolicy": _ATOMIC,
    "resources.claims": _keyed("name"),
    "securityContext.capabilities.add": _ATOMIC,
    "securityContext.capabilities.drop": _ATOMIC,
    "volumeDevices": _keyed("devicePath"),
    "volumeMounts": _keyed("mountPath"),
}
_POD_SPEC: dict[str, Rule] = {
    "affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution": _ATOMIC,
    "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution": _ATOMIC,
    "affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution": _ATOMIC,
    "affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution": _ATOMIC,
    "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution": _ATOMIC,
    "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution": _ATOMIC,
    **{field: _keyed("name") for field in ("containers", "initContainers", "ephemeralContainers")},
    **{
        f"{field}[].{path}": rule
        for field in ("containers", "initContainers", "ephemeralContainers")
        for path, rule in _CONTAINER.items()
    },
    "dnsConfig.nameservers": _ATOMIC,
    "dnsConfig.options": _ATOMIC,
    "dnsConfig.searches": _ATOMIC,
    "hostAliases": _keyed("ip"),
    "hostAliases[].hostnames": _ATOMIC,
    "imagePullSecrets": _keyed("name"),
    "imagePullSecrets[]": _ATOMIC,
    "nodeSelector": _ATOMIC,
    "readinessGates": _ATOMIC,
    "resourceClaims": _keyed("name"),
    "resources.claims": _keyed("name"),
    "schedulingGates": _keyed("name"),
    "securityContext.supplementalGroups": _ATOMIC,
    "securityContext.sysctls": _ATOMIC,
    "tolerations": _ATOMIC,
    "topologySpreadConstraints": _keyed("topologyKey", "whenUnsatisfiable"),
    "topologySpreadConstraints[].labelSelector": _ATOMIC,
    "topologySpreadConstraints[].matchLabelKeys": _ATOMIC,
    "volumes": _keyed("name"),
    **{
        f"volumes[].{path}": _ATOMIC
        for path in (
            "cephfs.monitors",
            "cephfs.secretRef",
            "cinder.secretRef",
            "configMap.items",
            "csi.nodePublishSecretRef",
            "downwardAPI.items",
            "ephemeral.volumeClaimTemplate.spec.accessModes",
            "ephemeral.volumeClaimTemplate.spec.dataSource",
            "ephemeral.volumeClaimTemplate.spec.selector",
            "fc.targetWWNs",
            "fc.wwids",
            "flexVolume.secretRef",
            "iscsi.portals",
            "iscsi.secretRef",
            "projected.sources",
            "rbd.monitors",
            "rbd.secretRef",
            "scaleIO.secretRef",
            "secret.items",
            "storageos.secretRef",
        )
    },
    **{f"volumes[].ephemeral.volumeClaimTemplate.metadata.{p}": r for p, r in _OBJECT_META.items()},
}
_POD_TEMPLATE: dict[str, Rule] = {
    **{f"metadata.{p}": r for p, r in _OBJECT_META.items()},
    **{f"spec.{p}": r for p, r in _POD_SPEC.items()},
}


def _schema_path(dotted: str) -> SchemaPath:
    steps: list[str] = []
    for name in dotted.strip(".").split("."):
        steps.append(name.removesuffix("[]"))
        if name.endswith("[]"):
            steps.append("[]")
    return tuple(steps)


def _table(*parts: tuple[str, Mapping[str, Rule]]) -> dict[SchemaPath, Rule]:
    out: dict[SchemaPath, Rule] = {}
    for prefix, rules in (("metadata", _OBJECT_META), *parts):
        for dotted, rule in rules.items():
            out[_schema_path(f"{prefix}.{dotted}")] = rule
    return out


#: The schema annotations by kind (``Pod``, ``Service``, ...): a path's rule, or none
#: (a map of fields merged field by field, or a list that is atomic). Custom resources
#: (HTTPRoute, PodMonitor) have their ``metadata`` rules only, and the ``LabelSelector``
#: of a PodMonitor, atomic as controller-gen marks every ``metav1.LabelSelector``.
SCHEMA_RULES: dict[str, dict[SchemaPath, Rule]] = {
    "Pod": _table(("spec", _POD_SPEC)),
    "Service": _table(
        (
            "spec",
            {
                "clusterIPs": _ATOMIC,
                "externalIPs": _ATOMIC,
                "ipFamilies": _ATOMIC,
                "loadBalancerSourceRanges": _ATOMIC,
                "ports": _keyed("port", "protocol"),
                "selector": _ATOMIC,
            },
        )
    ),
    "ConfigMap": _table(),
    "Deployment": _table(("spec", {"selector": _ATOMIC}), ("spec.template", _POD_TEMPLATE)),
    "ReplicaSet": _table(("spec", {"selector": _ATOMIC}), ("spec.template", _POD_TEMPLATE)),
    "EndpointSlice": _table(("", {"endpoints": _ATOMIC, "ports": _ATOMIC})),
    "HorizontalPodAutoscaler": _table(
        (
            "spec",
            {
                "behavior.scaleDown.policies": _ATOMIC,
                "behavior.scaleUp.policies": _ATOMIC,
                "metrics": _ATOMIC,
            },
        )
    ),
    "Lease": _table(),
    "HTTPRoute": _table(),
    "PodMonitor": _table(("spec", {"selector": _ATOMIC})),
}

# The strategic merge patch metadata of the same kinds and schemas: each list whose
# x-kubernetes-patch-strategy is "merge" (with or without retainKeys), by its
# x-kubernetes-patch-merge-key, "" for a list of scalars merged as a set (finalizers).
# Every other list a strategic merge patch replaces. These keys are not always the
# list-map keys above: a container's ports merge by containerPort alone, a Service's by
# port alone (tests/kubernetes/test_fake_merge_keys51.py checks this table against the
# schemas). Paths as in the tables above; a list's own path, not its items'.
_OBJECT_META_PATCH: dict[str, str] = {"finalizers": "", "ownerReferences": "uid"}
_CONTAINER_PATCH: dict[str, str] = {
    "env": "name",
    "ports": "containerPort",
    "volumeDevices": "devicePath",
    "volumeMounts": "mountPath",
}
_POD_SPEC_PATCH: dict[str, str] = {
    **dict.fromkeys(("containers", "initContainers", "ephemeralContainers"), "name"),
    **{
        f"{field}[].{path}": key
        for field in ("containers", "initContainers", "ephemeralContainers")
        for path, key in _CONTAINER_PATCH.items()
    },
    "hostAliases": "ip",
    "imagePullSecrets": "name",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "topologySpreadConstraints": "topologyKey",
    "volumes": "name",
    **{
        f"volumes[].ephemeral.volumeClaimTemplate.metadata.{p}": k
        for p, k in _OBJECT_META_PATCH.items()
    },
}
_POD_TEMPLATE_PATCH: dict[str, str] = {
    **{f"metadata.{p}": k for p, k in _OBJECT_META_PATCH.items()},
    **{f"spec.{p}": k for p, k in _POD_SPEC_PATCH.items()},
}
_CONDITIONS_PATCH: dict[str, str] = {"conditions": "type"}


def _patch_table(*parts: tuple[str, Mapping[str, str]]) -> dict[SchemaPath, str]:
    return {
        _schema_path(f"{prefix}.{dotted}"): key
        for prefix, keys in (("metadata", _OBJECT_META_PATCH), *parts)
        for dotted, key in keys.items()
    }


#: The lists a strategic merge patch merges, by kind and path: the list's merge key
#: (``""``: a list of scalars, merged as a set). A list not here is replaced. The
#: custom resources take no strategic merge patch (415).
PATCH_MERGE_KEYS: dict[str, dict[SchemaPath, str]] = {
    "Pod": _patch_table(
        ("spec", _POD_SPEC_PATCH),
        (
            "status",
            {**_CONDITIONS_PATCH, "hostIPs": "ip", "podIPs": "ip", "resourceClaimStatuses": "name"},
        ),
    ),
    "Service": _patch_table(("spec", {"ports": "port"}), ("status", _CONDITIONS_PATCH)),
    "ConfigMap": _patch_table(),
    "Deployment": _patch_table(
        ("spec.template", _POD_TEMPLATE_PATCH), ("status", _CONDITIONS_PATCH)
    ),
    "ReplicaSet": _patch_table(
        ("spec.template", _POD_TEMPLATE_PATCH), ("status", _CONDITIONS_PATCH)
    ),
    "EndpointSlice": _patch_table(),
    "HorizontalPodAutoscaler": _patch_table(("status", _CONDITIONS_PATCH)),
    "Lease": _patch_table(),
}

# A list-map key the API server defaults before merging (``protocol`` of a Service's and
# a container's ports is ``TCP`` when not given, the schemas' ``default``).
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}

# Fields that are the object's identity or the server's bookkeeping, never owned.
_UNOWNED: frozenset[Path] = frozenset(
    {
        (("f", "apiVersion"),),
        (("f", "kind"),),
        (("f", "metadata"), ("f", "name")),
        (("f", "metadata"), ("f", "namespace")),
        (("f", "metadata"), ("f", "resourceVersion")),
        (("f", "metadata"), ("f", "uid")),
        (("f", "metadata"), ("f", "generation")),
        (("f", "metadata"), ("f", "creationTimestamp")),
        (("f", "metadata"), ("f", "deletionTimestamp")),
        (("f", "metadata"), ("f", "deletionGracePeriodSeconds")),
        (("f", "metadata"), ("f", "managedFields")),
    }
)


def _rule(kind: Any, spath: SchemaPath) -> Rule | None:
    return SCHEMA_RULES.get(kind, {}).get(spath) if isinstance(kind, str) else None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _item_key(item: Any, keys: tuple[str, ...]) -> str:
    """An associative list item's key, as the JSON of its key fields (sorted by name)."""
    fields = item if isinstance(item, Mapping) else {}
    return _json({k: fields.get(k, _KEY_DEFAULTS.get(k)) for k in keys})


def _step_of(rule: Rule, item: Any) -> Step:
    if rule[0] == "set":
        return ("v", _json(item))
    return ("k", _item_key(item, rule[1]))


def _matches(step: Step, item: Any) -> bool:
    kind, key = step
    if kind == "v":
        return _json(item) == key
    return _item_key(item, tuple(json.loads(key))) == key


def _granular_list(rule: Rule | None, value: Any) -> bool:
    granular = rule is not None and rule[0] in ("map", "set")
    return granular and isinstance(value, list) and bool(value)


def leaves(obj: Mapping[str, Any]) -> dict[Path, Any]:
    """Every owned leaf of ``obj`` (``status`` and identity fields excluded) and its value.

    The object's ``kind`` picks the schema rules (:data:`SCHEMA_RULES`).

    Examples
    --------
    >>> svc = {"kind": "Service", "spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}}
    >>> for path in sorted(leaves(svc)):
    ...     print(path)
    (('f', 'spec'), ('f', 'ports'), ('k', '{"port":80,"protocol":"TCP"}'), ('f', 'port'))
    (('f', 'spec'), ('f', 'selector'))
    """
    out: dict[Path, Any] = {}
    kind = obj.get("kind")

    def walk(value: Any, path: Path, spath: SchemaPath) -> None:
        if path in _UNOWNED or path == (("f", "status"),):
            return
        rule = _rule(kind, spath)
        if isinstance(value, Mapping) and value and rule != _ATOMIC:
            for key, inner in value.items():
                walk(inner, (*path, ("f", str(key))), (*spath, str(key)))
        elif rule is not None and _granular_list(rule, value):
            for item in value:
                inner_path = (*path, _step_of(rule, item))
                if rule[0] == "set":
                    out[inner_path] = json_copy(item)
                else:
                    walk(item, inner_path, (*spath, "[]"))
        else:
            out[path] = json_copy(value)

    walk(obj, (), ())
    return out


def get_path(obj: Any, path: Path) -> Any:
    """The value at ``path`` in ``obj``, or a private sentinel when absent."""
    node = obj
    for kind, key in path:
        if kind == "f":
            if not isinstance(node, Mapping) or key not in node:
                return _MISSING
            node = node[key]
        else:
            if not isinstance(node, list):
                return _MISSING
            found = [item for item in node if _matches((kind, key), item)]
            if not found:
                return _MISSING
            node = found[0]
    return node


def delete_path(obj: dict[str, Any], path: Path) -> None:
    """Remove the value at ``path`` and every map or list item it leaves empty."""
    if not path:
        return
    parent = get_path(obj, path[:-1])
    kind, key = path[-1]
    if kind == "f" and isinstance(parent, dict):
        parent.pop(key, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        parent[:] = [i for i in parent if not _matches((kind, key), i)]
    else:
        return
    if not parent and len(path) > 1:
        delete_path(obj, path[:-1])


def _merge(live: Any, applied: Any, kind: Any, spath: SchemaPath) -> Any:
    rule = _rule(kind, spath)
    if isinstance(live, dict) and isinstance(applied, Mapping) and rule != _ATOMIC:
        out = dict(live)
        for key, value in applied.items():
            out[key] = _merge(live.get(key, _MISSING), value, kind, (*spath, str(key)))
        return out
    if rule is not None and isinstance(live, list) and _granular_list(rule, applied):
        return _merge_items(live, applied, rule, kind, (*spath, "[]"))
    return json_copy(applied)


def _merge_items(
    live: list[Any], applied: list[Any], rule: Rule, kind: Any, item_path: SchemaPath
) -> list[Any]:
    """Merge an associative list in structured-merge-diff's order (``visitListItems``):
    live items the apply does not name stay where they were, items both name follow the
    applied order, new applied items come at their place in it. A re-apply that changes
    nothing then leaves the order as it was (no new generation, no rollout).

    Each turn of the loop moves past one live item or one applied item, so it ends after
    at most ``len(live) + len(applied)`` turns.
    """
    lhs = _indexed(live, rule)
    rhs = _indexed(applied, rule)
    shared = iter([step for step in rhs if step in lhs])
    next_shared = next(shared, None)
    out: list[Any] = []
    lsteps, rsteps = list(lhs), list(rhs)
    li = ri = 0
    while li < len(lsteps) or ri < len(rsteps):
        if li < len(lsteps) and ri < len(rsteps):
            step = lsteps[li]
            if step == rsteps[ri]:  # the same item next in both: merged
                out.append(_merge(lhs[step], rhs[step], kind, item_path))
                li += 1
                ri += 1
                next_shared = next(shared, None)
                continue
            if step in rhs and next_shared is not None and step != next_shared:
                li += 1  # shared, merged when the applied order reaches it
                continue
        if li < len(lsteps) and lsteps[li] not in rhs:
            out.append(json_copy(lhs[lsteps[li]]))  # live only: kept in place
            li += 1
            continue
        if ri < len(rsteps):
            step = rsteps[ri]
            out.append(_merge(lhs.get(step, _MISSING), rhs[step], kind, item_path))
            ri += 1
            if step == next_shared:
                next_shared = next(shared, None)
            continue
        li += 1  # a live item already merged through the applied order
    return out


def _indexed(items: list[Any], rule: Rule) -> dict[Step, Any]:
    """``items`` by their list step, in order; a repeated key keeps its first item (the
    API server reports duplicates and leaves the later ones out of the merge)."""
    out: dict[Step, Any] = {}
    for item in items:
        out.setdefault(_step_of(rule, item), item)
    return out


class ApplyConflict(Exception):
    """Fields another manager owns with a different value: ``conflicts`` is (manager, path)."""

    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        super().__init__(conflicts)
        self.conflicts = conflicts


def apply_merge(
    live: dict[str, Any] | None,
    applied: Mapping[str, Any],
    manager: str,
    owners: dict[str, set[Path]],
    *,
    force: bool,
) -> dict[str, Any]:
    """The object after ``manager`` applies ``applied`` to ``live``; ``owners`` is updated.

    Raises :class:`ApplyConflict` (and changes nothing) when fields another manager owns
    would change value and ``force`` is False.

    Examples
    --------
    >>> owners = {}
    >>> first = {"spec": {"replicas": 3, "paused": False}}
    >>> obj = apply_merge(None, first, "a", owners, force=False)
    >>> obj = apply_merge(obj, {"spec": {"replicas": 5}}, "b", owners, force=False)
    Traceback (most recent call last):
    ...
    modelship.testing.fake_kube._fields.ApplyConflict: [('a', (('f', 'spec'), ('f', 'replicas')))]
    >>> obj = apply_merge(obj, {"spec": {"replicas": 5}}, "b", owners, force=True)
    >>> obj["spec"], sorted(owners["a"])
    ({'replicas': 5, 'paused': False}, [(('f', 'spec'), ('f', 'paused'))])
    """
    base: dict[str, Any] = json_copy(live) if live is not None else {}
    sent = leaves(applied)
    conflicts = [
        (other, path)
        for other, paths in owners.items()
        if other != manager
        for path in sorted(paths & sent.keys())
        if get_path(base, path) != sent[path]
    ]
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    for other, path in conflicts:
        owners[other].discard(path)
    shared = set().union(*(p for m, p in owners.items() if m != manager))
    for path in sorted(owners.get(manager, set()) - sent.keys() - shared, reverse=True):
        delete_path(base, path)
    merged: dict[str, Any] = _merge(base, applied, applied.get("kind"), ())
    owners[manager] = set(sent)
    return merged


def changed_paths(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> set[Path]:
    """The leaf paths of ``new`` whose value differs from ``old`` (an update's fields)."""
    before = leaves(old) if old is not None else {}
    return {path for path, value in leaves(new).items() if before.get(path, _MISSING) != value}


def format_path(path: Path) -> str:
    """A path as Kubernetes prints it in conflict messages: ``.spec.replicas``."""
    out = ""
    for kind, key in path:
        if kind == "f":
            out += f".{key}"
        elif kind == "v":
            out += f"[={key}]"
        else:
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(key).items()) + "]"
    return out


def fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """A set of paths in the ``FieldsV1`` encoding of ``metadata.managedFields``.

    Examples
    --------
    >>> fields_v1([(("f", "spec"), ("f", "replicas"))])
    {'f:spec': {'f:replicas': {}}}
    """
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        for i, (kind, key) in enumerate(path):
            node = node.setdefault(f"{kind}:{key}", {})
            if kind == "k" and i < len(path) - 1:
                node.setdefault(".", {})  # the item itself, as well as some of its fields
    return root
