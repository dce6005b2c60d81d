"""Small helpers of the bias and degradation result records: field converters, rebuilding."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

__all__ = ["finite_or_none", "record_from_dict"]

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


def record_from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build the attrs record ``cls`` from a dict, ignoring keys it has no field for.

    Examples
    --------
    >>> import attrs
    >>> from modelship.checks._records import record_from_dict
    >>> @attrs.frozen
    ... class Point:
    ...     x: int
    >>> record_from_dict(Point, {"x": 1, "extra": 2})
    Point(x=1)
    """
    fields = {field.name for field in attrs.fields(cls)}  # type: ignore[arg-type]
    return cls(**{key: value for key, value in data.items() if key in fields})
