"""Filters for ``Registry.versions(name, where=...)``: by current tag and by metric.

A filter is a mapping from a field to a condition; a version matches when every
condition holds::

    {"tags.stage": "prod",              # the tag equals "prod"
     "tags.ticket": None,               # the tag is not set
     "tags.owner": ("!=", "bot"),       # set, and not "bot"
     "metrics.auc": (">=", 0.9),        # the metric is at least 0.9
     "metrics.epochs": 10}              # the metric equals 10

Fields are ``tags.<key>`` (the version's tags now: the registration's, changed by
``set_tag``/``remove_tag``) and ``metrics.<name>`` (``tag.`` and ``metric.`` are accepted
too). Tags compare as strings with ``==`` and ``!=``; metrics as numbers with ``==``, ``!=``,
``<``, ``<=``, ``>`` and ``>=``. A tag that is not set differs from every value (so
``("!=", "prod")`` keeps untagged versions); a version without a metric matches no
condition on that metric.
Everything is checked before anything is read, and :class:`InvalidFilter` says what was
wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import operator
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias, cast

import attrs

from modelship.errors import InvalidFilter

__all__ = ["Condition", "Op", "Where", "match_all", "parse_where"]

Op: TypeAlias = Literal["==", "!=", "<", "<=", ">", ">="]
"""A comparison in a filter condition (a type alias of the six operator strings): tags
compare with ``"=="`` and ``"!="``, metrics with all six.

Examples
--------
>>> from typing import get_args
>>> from modelship.registry import Op, Where
>>> get_args(Op)
('==', '!=', '<', '<=', '>', '>=')
>>> at_least: Op = ">="
>>> where: Where = {"metrics.auc": (at_least, 0.9), "tags.owner": ("!=", "bot")}
"""
Where: TypeAlias = Mapping[str, "str | int | float | tuple[Op, str | int | float] | None"]
"""A filter for ``Registry.versions(name, where=...)`` (a type alias): a mapping from a
field (``"tags.<key>"``, ``"metrics.<name>"``) to a value (equal to it), ``None`` (the tag
is not set) or an ``(op, value)`` pair (see ``Op``); a version matches when every
condition holds.

Examples
--------
>>> import tempfile
>>> import modelship as ms
>>> from modelship.registry import Where
>>> reg = ms.open_registry(tempfile.mkdtemp())
>>> for auc in [0.8, 0.95]:
...     _ = reg.register(model_name="m", model=b"x", serializer="bytes", metrics={"auc": auc})
>>> reg.set_tag("m", "1", "stage", "prod")
>>> good: Where = {"metrics.auc": (">=", 0.9), "tags.stage": None}
>>> [mv.version for mv in reg.versions("m", where=good)]
['2']
"""

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FIELDS = {"tags": "tags", "tag": "tags", "metrics": "metrics", "metric": "metrics"}


@attrs.frozen
class Condition:
    """One parsed condition: ``field`` (``"tags"`` or ``"metrics"``), ``key``, ``op``, ``value``.

    ``value`` None with ``op`` ``"=="`` means "the tag is not set" (``"!="``: it is).

    Examples
    --------
    >>> c = Condition("metrics", "auc", ">=", 0.9)
    >>> c.matches({"auc": 0.93}, {}), c.matches({}, {})
    (True, False)
    """

    field: Literal["tags", "metrics"]
    key: str
    op: Op
    value: str | int | float | None

    def matches(self, metrics: Mapping[str, float | int], tags: Mapping[str, str]) -> bool:
        """Whether a version with these metrics and current tags meets this condition."""
        if self.field == "tags":
            # A tag that is not set equals None and differs from every string.
            return (tags.get(self.key) == self.value) == (self.op == "==")
        have = metrics.get(self.key)
        return have is not None and _OPS[self.op](have, self.value)


def _condition(field: str, raw: object) -> Condition:
    kind, dot, key = field.partition(".") if isinstance(field, str) else ("", "", "")
    if not dot or not key or kind not in _FIELDS:
        raise InvalidFilter(
            f"filter field {field!r} must be 'tags.<key>' or 'metrics.<name>' "
            "(for example 'tags.stage' or 'metrics.auc')"
        )
    target = _FIELDS[kind]
    if isinstance(raw, tuple) and len(raw) != 2:
        raise InvalidFilter(f"filter {field!r}: a condition is (op, value), got {raw!r}")
    given, value = raw if isinstance(raw, tuple) else ("==", raw)
    if not isinstance(given, str) or given not in _OPS:
        raise InvalidFilter(
            f"filter {field!r}: unknown operator {given!r}; use one of {', '.join(_OPS)}"
        )
    op = cast(Op, given)
    if target == "tags":
        if op not in ("==", "!=") or not (value is None or isinstance(value, str)):
            raise InvalidFilter(
                f"filter {field!r}: tags compare as strings with '==' or '!=' (or None: "
                f"the tag is not set), got {op!r} {value!r}"
            )
        return Condition("tags", key, op, value)
    number = _plain(value)
    if number is None:
        shown = repr(value)
        if isinstance(value, int) and value.bit_length() > 64:
            shown = f"an integer of {value.bit_length()} bits"
        raise InvalidFilter(f"filter {field!r}: metrics compare with finite numbers, got {shown}")
    return Condition("metrics", key, op, number)


def _plain(value: object) -> int | float | None:
    """``value`` as the number a metric is compared with, or None if it is not one.

    Not a bool, and finite as a float (an integer beyond float's range, 10**400, is not).
    A NumPy integer or float (what ``register(metrics=)`` accepts) becomes the Python
    ``int`` or ``float`` it holds exactly (``np.uint64(2**64 - 1)`` stays that integer,
    compared exactly); a number that has no such value (``np.longdouble``) is not one.

    Examples
    --------
    >>> import numpy as np
    >>> _plain(np.int64(100)), _plain(np.float32(0.5)), _plain(np.uint64(2**64 - 1))
    (100, 0.5, 18446744073709551615)
    >>> _plain(np.bool_(True)), _plain(True), _plain(float("nan")), _plain(10**400)
    (None, None, None, None)
    """
    item = getattr(value, "item", None)
    if isinstance(value, numbers.Real) and not isinstance(value, (int, float)) and callable(item):
        value = item()  # a NumPy scalar (np.bool_ is no numbers.Real)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:
        return None


def parse_where(where: Where | None) -> tuple[Condition, ...]:
    """The conditions of a ``where=`` mapping, checked; () for None.

    Examples
    --------
    >>> [(c.field, c.key, c.op, c.value) for c in parse_where({"tag.stage": "prod"})]
    [('tags', 'stage', '==', 'prod')]
    >>> parse_where({"metrics.auc": ("~", 1)})
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidFilter: filter 'metrics.auc': unknown operator '~'; ...
    """
    if where is None:
        return ()
    if not isinstance(where, Mapping):
        raise InvalidFilter(
            f"where must be a mapping of field to condition, got {type(where).__name__}"
        )
    return tuple(_condition(field, raw) for field, raw in where.items())


def match_all(
    conditions: tuple[Condition, ...], metrics: Mapping[str, float | int], tags: Mapping[str, str]
) -> bool:
    """Whether every condition holds (True when there are none).

    Examples
    --------
    >>> match_all(parse_where({"tags.stage": "prod"}), {}, {"stage": "prod"})
    True
    """
    return all(c.matches(metrics, tags) for c in conditions)


def fingerprint(conditions: tuple[Condition, ...], *extra: object) -> str:
    """A short digest of a query, so a cursor is not used with another one.

    Examples
    --------
    >>> fingerprint(()) == fingerprint(()) != fingerprint(parse_where({"tags.a": "b"}))
    True
    """
    text = json.dumps([[attrs.astuple(c) for c in conditions], *extra], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
