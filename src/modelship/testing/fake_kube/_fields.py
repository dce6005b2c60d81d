"""Server-side apply for the fake API server: field sets, merges, ownership, conflicts.

A much smaller cousin of Kubernetes' structured-merge-diff. A field is a path of steps:
``("f", key)`` into a map, ``("k", name)`` into a list of maps keyed by ``name`` (the
fake treats every list whose items all have a ``name`` as such an associative list;
every other list is atomic, owned and replaced whole). Each manager owns a set of leaf
paths. An apply conflicts when it sets a field another manager owns to a different value
(unless forced, which takes the field over); a field the applier owned before and no
longer sends is removed unless someone else owns it too; an update takes every field it
changed away from the other managers. Values set by defaulting belong to nobody.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "Path",
    "apply_merge",
    "changed_paths",
    "delete_path",
    "fields_v1",
    "format_path",
    "get_path",
    "leaves",
]

Step = tuple[str, str]
Path = tuple[Step, ...]

_MISSING = object()

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
        (("f", "metadata"), ("f", "managedFields")),
    }
)


def _associative(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and isinstance(item.get("name"), str) for item in value)
    )


def leaves(obj: Mapping[str, Any]) -> dict[Path, Any]:
    """Every owned leaf of ``obj`` (``status`` and identity fields excluded) and its value.

    Examples
    --------
    >>> for path in sorted(leaves({"spec": {"replicas": 2, "c": [{"name": "a", "image": "x"}]}})):
    ...     print(path)
    (('f', 'spec'), ('f', 'c'), ('k', 'a'), ('f', 'image'))
    (('f', 'spec'), ('f', 'c'), ('k', 'a'), ('f', 'name'))
    (('f', 'spec'), ('f', 'replicas'))
    """
    out: dict[Path, Any] = {}

    def walk(value: Any, path: Path) -> None:
        if path in _UNOWNED or path == (("f", "status"),):
            return
        if isinstance(value, Mapping) and value:
            for key, inner in value.items():
                walk(inner, (*path, ("f", str(key))))
        elif _associative(value):
            for item in value:
                walk(item, (*path, ("k", item["name"])))
        else:
            out[path] = copy.deepcopy(value)

    walk(obj, ())
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
            found = [item for item in node if isinstance(item, Mapping) and item.get("name") == key]
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
    elif kind == "k" and isinstance(parent, list):
        parent[:] = [i for i in parent if not (isinstance(i, Mapping) and i.get("name") == key)]
    else:
        return
    if not parent and len(path) > 1:
        delete_path(obj, path[:-1])


def _merge(live: Any, applied: Any) -> Any:
    if isinstance(live, dict) and isinstance(applied, Mapping):
        out = dict(live)
        for key, value in applied.items():
            out[key] = _merge(live.get(key, _MISSING), value)
        return out
    if _associative(applied) and _associative(live):
        by_name = {item["name"]: item for item in live}
        merged = [_merge(by_name.get(item["name"], _MISSING), item) for item in applied]
        sent = {item["name"] for item in applied}
        return merged + [item for item in live if item["name"] not in sent]
    return copy.deepcopy(applied)


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
    base: dict[str, Any] = copy.deepcopy(live) if live is not None else {}
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
    merged: dict[str, Any] = _merge(base, applied)
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
        out += f".{key}" if kind == "f" else f"[name={json.dumps(key)}]"
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
        for kind, key in path:
            name = f"f:{key}" if kind == "f" else "k:" + json.dumps({"name": key})
            node = node.setdefault(name, {})
            if kind == "k":
                node.setdefault(".", {})
    return root
