"""``ParityRules``: how much each kind of difference matters.

Every rule is a severity: ``"blocking"`` stops a deployment, ``"advisory"`` is reported
and lets it through, ``"off"`` (or ``None``) does not look. The defaults are documented
in docs/parity.md, and a test checks that the table there and these defaults agree.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from modelship._params import Constraints, Interval, Options, check_parameters
from modelship.checks import Severity
from modelship.parity._behaviour import BEHAVIOUR_ATOL, BEHAVIOUR_RTOL

__all__ = ["DEFAULT_RULES", "ParityRules"]

_B, _A = Severity.BLOCKING, Severity.ADVISORY
_NON_NEGATIVE = Interval(float, 0, None)
_SEVERITY_FIELDS = (
    "python_minor",
    "python_patch",
    "python_implementation",
    "package_major",
    "package_minor",
    "package_patch",
    "package_missing",
    "package_unknown",
    "package_source",
    "package_source_unverified",
    "architecture",
    "os",
    "blas",
    "gpu",
    "resources",
    "schema",
    "preprocessing_fingerprint",
    "preprocessing_behaviour",
    "env",
    "locale",
    "timezone",
)


def _severity(value: Any) -> Severity | None:
    if value is None or value == "off":
        return None
    return Severity(value)  # checked by _parameter_constraints first


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
    modelship.errors.InvalidParameter: os='sometimes' is not allowed; os must be None, one of ...
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **dict.fromkeys(_SEVERITY_FIELDS, (None, Options(("off",)), Options(Severity))),
        "behaviour_rtol": _NON_NEGATIVE,
        "behaviour_atol": _NON_NEGATIVE,
        "model_memory_factor": _NON_NEGATIVE,
    }
    __attrs_pre_init__ = check_parameters

    python_minor: Severity | None = attrs.field(default=_B, converter=_severity)
    python_patch: Severity | None = attrs.field(default=_A, converter=_severity)
    python_implementation: Severity | None = attrs.field(default=_B, converter=_severity)
    package_major: Severity | None = attrs.field(default=_B, converter=_severity)
    package_minor: Severity | None = attrs.field(default=_B, converter=_severity)
    package_patch: Severity | None = attrs.field(default=_A, converter=_severity)
    package_missing: Severity | None = attrs.field(default=_B, converter=_severity)
    package_unknown: Severity | None = attrs.field(default=_B, converter=_severity)
    package_source: Severity | None = attrs.field(default=_B, converter=_severity)
    package_source_unverified: Severity | None = attrs.field(default=_A, converter=_severity)
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
    behaviour_rtol: float = attrs.field(default=BEHAVIOUR_RTOL)
    behaviour_atol: float = attrs.field(default=BEHAVIOUR_ATOL)
    model_memory_factor: float = 1.0


DEFAULT_RULES = ParityRules()
"""The rules :func:`~modelship.parity.compare` applies when given none."""
