"""Small helpers of result and document records: field converters, rebuilding from JSON."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

__all__ = [
    "ROUNDING_TOLERANCE",
    "check_field",
    "finite_or_none",
    "object_field",
    "record_from_dict",
]

#: The allowance for rounding when a figure computed from counts (a rate, a share, their
#: difference or ratio, an interval bound) is compared with a threshold, relative to the
#: figures' magnitude. A rate is one rounded division, a difference or ratio one more
#: operation, an interval bound two more: under 2 units in the last place in all, and 8
#: leave room. So a difference of exactly 1/10 (computed as 0.10000000000000003) passes
#: 0.1, a ratio of exactly 4/5 (0.7999999999999999) passes the four-fifths rule, and a
#: change of exactly 25 points (0.7 - 0.45 = 0.24999999999999994) reaches 0.25, as the
#: rules read. Far below what counts can show: figures of columns under a million rows
#: that differ from a threshold of two decimals differ from it by more than 1e-12.
ROUNDING_TOLERANCE = 8 * sys.float_info.epsilon

T = TypeVar("T")


def finite_or_none(value: Any) -> float | None:
    """``float(value)``, or ``None`` for ``None`` and non-finite numbers (JSON has no NaN).

    Examples
    --------
    >>> from modelship.checks._records import finite_or_none
    >>> finite_or_none(1), finite_or_none(float("nan")), finite_or_none(None)
    (1.0, None, None)
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def object_field(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``data[key]`` when it is an object (``{}`` when absent), else a ``TypeError``.

    Examples
    --------
    >>> from modelship.checks._records import object_field
    >>> object_field({"a": {"x": 1}}, "a"), object_field({}, "a")
    ({'x': 1}, {})
    """
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise TypeError(f"{key!r} must be an object, got {type(value).__name__}")
    return value


def record_from_dict(cls: type[T], data: Any) -> T:
    """Build the attrs record ``cls`` from a dict, ignoring keys it has no field for.

    Each value is checked against its field's declared type (``str``, ``int``, ``bool``,
    ``float``, ``tuple[str, ...]``, ``Mapping[str, ...]``, each possibly ``| None``);
    other fields are left to their converters. A wrong type is a ``TypeError`` naming the
    field, a missing required field a ``TypeError`` from the record: readers wrap both
    with :func:`modelship._json.malformed`.

    Examples
    --------
    >>> import attrs
    >>> from modelship.checks._records import record_from_dict
    >>> @attrs.frozen
    ... class Point:
    ...     x: int
    >>> record_from_dict(Point, {"x": 1, "extra": 2})
    Point(x=1)
    >>> record_from_dict(Point, {"x": "1"})
    Traceback (most recent call last):
    ...
    TypeError: Point field 'x' must be int, got str '1'
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__} must be an object, got {type(data).__name__}")
    fields = {field.name: field for field in attrs.fields(cls)}  # type: ignore[arg-type]
    kept = {key: value for key, value in data.items() if key in fields}
    for key, value in kept.items():
        declared = fields[key].type
        if isinstance(declared, str):
            check_field(f"{cls.__name__} field {key!r}", declared, value)
    return cls(**kept)


_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "float": (int, float),
}


def check_field(what: str, declared: str, value: Any) -> None:
    """Raise ``TypeError`` unless ``value`` (read from JSON) fits the annotation ``declared``.

    Examples
    --------
    >>> from modelship.checks._records import check_field
    >>> check_field("nullable", "bool", False)
    >>> check_field("nullable", "bool", "false")
    Traceback (most recent call last):
    ...
    TypeError: nullable must be bool, got str 'false'
    """
    optional = declared.endswith(" | None")
    base = declared.removesuffix(" | None")
    if value is None:
        if optional:
            return
        raise TypeError(f"{what} must be {base}, got null")
    if base in _SCALARS:
        ok = isinstance(value, _SCALARS[base]) and (base == "bool" or not isinstance(value, bool))
    elif base == "tuple[str, ...]":
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    elif base.startswith("Mapping[str, ") and base.endswith("]"):
        if not isinstance(value, Mapping):
            raise TypeError(f"{what} must be an object, got {type(value).__name__}")
        inner = base[len("Mapping[str, ") : -1]
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{what} must have text keys, got {key!r}")
            check_field(f"{what}[{key!r}]", inner, item)
        return
    else:
        return  # an enum or a record: its converter says what is wrong
    if not ok:
        raise TypeError(f"{what} must be {base}, got {type(value).__name__} {value!r}")
