"""attrs validators for the bias and degradation checks' parameters.

Messages name the parameter, what it must be and the value given:
"`alpha` must be a float in (0, 1), got 2". (To be replaced by the shared parameter layer.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from modelship.errors import ConfigError

__all__ = ["at_least", "in_open_unit", "non_negative", "one_of", "require"]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def require(name: str, ok: bool, must: str, value: Any) -> None:
    """Raise :class:`ConfigError` ``"`name` must be <must>, got <value>"`` unless ``ok``.

    Examples
    --------
    >>> from modelship.checks._param_checks import require
    >>> require("alpha", False, "a float in (0, 1)", 2)
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: `alpha` must be a float in (0, 1), got 2
    """
    if not ok:
        raise ConfigError(f"`{name}` must be {must}, got {value!r}")


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def in_open_unit(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A float strictly between 0 and 1."""
    require(attribute.name, _is_real(value) and 0 < value < 1, "a float in (0, 1)", value)


def non_negative(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A finite number >= 0."""
    require(attribute.name, _is_real(value) and value >= 0, "a number >= 0", value)


def at_least(low: int) -> Validator:
    """An int >= ``low``."""

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        require(attribute.name, ok, f"an int >= {low}", value)

    return validate


def one_of(options: Iterable[Any]) -> Validator:
    """One of ``options``."""
    allowed = tuple(options)

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        shown = ", ".join(repr(option) for option in allowed)
        require(attribute.name, value in allowed, f"one of {shown}", value)

    return validate
