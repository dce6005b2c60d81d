"""``ParityRules``: how much each kind of difference matters.

Every rule is a severity: ``"blocking"`` stops a deployment, ``"advisory"`` is reported
and lets it through, ``"off"`` (or ``None``) does not look. The defaults are documented
in docs/parity.md, and a test checks that the table there and these defaults agree.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from modelship.checks import Severity
from modelship.errors import ConfigError
from modelship.parity._behaviour import BEHAVIOUR_ATOL, BEHAVIOUR_RTOL

__all__ = ["DEFAULT_RULES", "ParityRules"]

_B, _A = Severity.BLOCKING, Severity.ADVISORY


def _severity(value: Any) -> Severity | None:
    if value is None or value == "off":
        return None
    try:
        return Severity(value)
    except ValueError:
        raise ConfigError(
            f"a parity rule is 'blocking', 'advisory' or 'off', got {value!r}"
        ) from None


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value >= 0)
    ):
        raise ConfigError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class ParityRules:
    """The severity of each parity check, and the tolerances they use.

    Each severity field takes ``"blocking"``, ``"advisory"`` or ``"off"``; see the table
    in the parity documentation for what each rule compares.

    Examples
    --------
    >>> from modelship.parity import ParityRules
    >>> rules = ParityRules(package_patch="off", os="blocking")
    >>> rules.package_patch, rules.os.value, rules.python_minor.value
    (None, 'blocking', 'blocking')
    >>> ParityRules(os="sometimes")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: a parity rule is 'blocking', 'advisory' or 'off', got 'sometimes'
    """

    python_minor: Severity | None = attrs.field(default=_B, converter=_severity)
    python_patch: Severity | None = attrs.field(default=_A, converter=_severity)
    python_implementation: Severity | None = attrs.field(default=_B, converter=_severity)
    package_major: Severity | None = attrs.field(default=_B, converter=_severity)
    package_minor: Severity | None = attrs.field(default=_B, converter=_severity)
    package_patch: Severity | None = attrs.field(default=_A, converter=_severity)
    package_missing: Severity | None = attrs.field(default=_B, converter=_severity)
    architecture: Severity | None = attrs.field(default=_B, converter=_severity)
    os: Severity | None = attrs.field(default=_A, converter=_severity)
    blas: Severity | None = attrs.field(default=_A, converter=_severity)
    gpu: Severity | None = attrs.field(default=_A, converter=_severity)
    resources: Severity | None = attrs.field(default=_B, converter=_severity)
    schema: Severity | None = attrs.field(default=_B, converter=_severity)
    preprocessing_fingerprint: Severity | None = attrs.field(default=_B, converter=_severity)
    preprocessing_behaviour: Severity | None = attrs.field(default=_B, converter=_severity)
    env: Severity | None = attrs.field(default=_A, converter=_severity)
    locale: Severity | None = attrs.field(default=_A, converter=_severity)
    timezone: Severity | None = attrs.field(default=_A, converter=_severity)
    behaviour_rtol: float = attrs.field(default=BEHAVIOUR_RTOL, validator=_non_negative)
    behaviour_atol: float = attrs.field(default=BEHAVIOUR_ATOL, validator=_non_negative)
    model_memory_factor: float = attrs.field(default=1.0, validator=_non_negative)


DEFAULT_RULES = ParityRules()
"""The rules :func:`~modelship.parity.compare` applies when given none."""
