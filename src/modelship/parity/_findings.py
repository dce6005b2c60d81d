"""``Finding`` and ``ParityReport``: what differs between two environments, as data.

A report is data first: it round-trips through JSON, and :meth:`ParityReport.to_check_result`
turns it into a :class:`~modelship.checks.CheckResult`, so parity lands in the same JSON,
JUnit XML and Markdown as every other pre-deployment check.
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np

from modelship.checks import CheckResult, ColumnResult, Severity, Status
from modelship.errors import ConfigError
from modelship.parity._errors import SnapshotError
from modelship.parity._json import JsonDocument

__all__ = ["REPORT_SCHEMA_VERSION", "Finding", "ParityReport"]

REPORT_SCHEMA_VERSION = 1
"""Version of the JSON layout written by :meth:`ParityReport.to_json`."""

_REASON_FINDINGS = 3  # findings named in a check result's one-line reason

MAX_VALUE_DEPTH = 32
"""Nesting a finding's ``train`` or ``prod`` may have. :func:`compare` writes at most 2 (a
list of GPUs, each a list); a stored report nested hundreds deep would otherwise exhaust
the interpreter's recursion limit while it is read."""


def plain(value: Any) -> Any:
    """``value`` as JSON types: numpy scalars and arrays unwrapped, tuples as lists.

    Raises
    ------
    ConfigError
        When ``value`` nests lists or mappings deeper than :data:`MAX_VALUE_DEPTH` (or
        contains itself).
    """
    return _plain(value, MAX_VALUE_DEPTH)


def _plain(value: Any, depth: int) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN or inf
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (Mapping, list, tuple, np.ndarray)) and depth == 0:
        raise ConfigError(
            f"a finding's train and prod values may nest lists and objects at most "
            f"{MAX_VALUE_DEPTH} deep, got a deeper {type(value).__name__}; give a value a "
            "person can read (a version, a size, a short list)"
        )
    if isinstance(value, Mapping):
        return {str(key): _plain(item, depth - 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item, depth - 1) for item in value]
    return str(value)


def _severity(value: Severity | str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise ConfigError(
            f"a finding's severity must be one of {', '.join(_SEVERITIES)}, got "
            f"{reprlib.repr(value)}"
        ) from None


@attrs.frozen(kw_only=True)
class Finding:
    """One difference between the training and the production environment.

    Parameters
    ----------
    check : str
        The rule that found it (a field of :class:`ParityRules`: ``"python_minor"``,
        ``"package_minor"``, ``"preprocessing_behaviour"``...).
    severity : Severity or str
        ``blocking`` (the deployment must stop) or ``advisory``.
    message : str
        One line a person can act on.
    train, prod : JSON value
        What each side has (a version, a size, the first differing values...).
    subject : str, optional
        What differs, for machines: the package, column or variable name.

    Raises
    ------
    ConfigError
        When ``check`` or ``message`` is not a string, ``subject`` not a string or None,
        ``severity`` not ``blocking`` or ``advisory``, or ``train`` or ``prod`` nests
        deeper than :data:`MAX_VALUE_DEPTH`: what :meth:`from_dict` would refuse, so that
        every finding written reads back.

    Examples
    --------
    >>> from modelship.parity import Finding
    >>> f = Finding(check="package_minor", severity="blocking", subject="scikit-learn",
    ...             message="scikit-learn 1.5.2 in training, 1.4.0 in production",
    ...             train="1.5.2", prod="1.4.0")
    >>> f.severity.value, f.blocks
    ('blocking', True)
    """

    check: str
    severity: Severity = attrs.field(converter=_severity)
    message: str
    train: Any = attrs.field(default=None, converter=plain)
    prod: Any = attrs.field(default=None, converter=plain)
    subject: str | None = None

    def __attrs_post_init__(self) -> None:
        for name, value, optional in (
            ("check", self.check, False),
            ("message", self.message, False),
            ("subject", self.subject, True),
        ):
            if not (isinstance(value, str) or (optional and value is None)):
                raise ConfigError(
                    f"a finding's {name} must be a string{' or None' if optional else ''}, "
                    f"got {type(value).__name__} {reprlib.repr(value)}"
                )

    @property
    def blocks(self) -> bool:
        """Whether this finding stops a deployment.

        Examples
        --------
        >>> from modelship.parity import Finding
        >>> Finding(check="os", severity="advisory", message="Linux vs Darwin").blocks
        False
        """
        return self.severity is Severity.BLOCKING

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-compatible form.

        Examples
        --------
        >>> from modelship.parity import Finding
        >>> Finding(check="os", severity="advisory", message="m").to_dict()["severity"]
        'advisory'
        """
        return {
            "check": self.check,
            "severity": self.severity.value,
            "message": self.message,
            "train": self.train,
            "prod": self.prod,
            "subject": self.subject,
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Finding:
        """Rebuild a finding from :meth:`to_dict` output.

        Raises
        ------
        SnapshotError
            When it is not a mapping, ``check``, ``severity`` or ``message`` is missing,
            a field is unknown or of the wrong type, the severity is unknown, or ``train``
            or ``prod`` nests deeper than :data:`MAX_VALUE_DEPTH`.

        Examples
        --------
        >>> from modelship.parity import Finding
        >>> f = Finding(check="os", severity="advisory", message="m", train="Linux")
        >>> Finding.from_dict(f.to_dict()) == f
        True
        """
        doc = JsonDocument.of(document, "parity finding")
        doc.only(*_FINDING_FIELDS)
        severity = doc.text("severity")
        if severity not in _SEVERITIES:
            raise SnapshotError(
                f"parity finding: 'severity' must be one of {', '.join(_SEVERITIES)}, got "
                f"{reprlib.repr(severity)}"
            )
        check, message, subject = doc.text("check"), doc.text("message"), doc.opt_text("subject")
        try:
            train, prod = plain(document.get("train")), plain(document.get("prod"))
        except ConfigError as exc:
            raise SnapshotError(f"parity finding: {exc}") from None
        return cls(
            check=check, severity=severity, message=message, train=train, prod=prod, subject=subject
        )


_FINDING_FIELDS = ("check", "severity", "message", "train", "prod", "subject")
_SEVERITIES = tuple(severity.value for severity in Severity)


def _findings(value: Iterable[Finding]) -> tuple[Finding, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError(f"a parity report needs a list of Finding, got {type(value).__name__}")
    findings = tuple(value)
    for finding in findings:
        if not isinstance(finding, Finding):
            raise ConfigError(
                f"a parity report holds Finding records, got {type(finding).__name__} "
                f"{reprlib.repr(finding)}"
            )
    return tuple(sorted(findings, key=lambda finding: not finding.blocks))  # stable


@attrs.frozen
class ParityReport:
    """The findings of :func:`~modelship.parity.compare`, blocking ones first.

    Raises
    ------
    ConfigError
        When ``findings`` is not a list of :class:`Finding`.

    Examples
    --------
    >>> from modelship.parity import Finding, ParityReport
    >>> report = ParityReport([Finding(check="os", severity="advisory", message="Linux vs Darwin")])
    >>> report.passed, len(report.advisory)
    (True, 1)
    >>> report.to_check_result().status.value
    'warn'
    """

    findings: tuple[Finding, ...] = attrs.field(converter=_findings)

    @property
    def passed(self) -> bool:
        """``True`` when no finding is blocking.

        Examples
        --------
        >>> from modelship.parity import Finding, ParityReport
        >>> ParityReport([]).passed
        True
        """
        return not self.blocking

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The blocking findings.

        Examples
        --------
        >>> from modelship.parity import Finding, ParityReport
        >>> report = ParityReport([Finding(check="architecture", severity="blocking",
        ...                                message="x86_64 in training, arm64 here")])
        >>> [f.check for f in report.blocking]
        ['architecture']
        """
        return tuple(f for f in self.findings if f.blocks)

    @property
    def advisory(self) -> tuple[Finding, ...]:
        """The advisory findings.

        Examples
        --------
        >>> from modelship.parity import Finding, ParityReport
        >>> report = ParityReport([Finding(check="os", severity="advisory", message="m")])
        >>> [f.check for f in report.advisory]
        ['os']
        """
        return tuple(f for f in self.findings if not f.blocks)

    def to_check_result(self, name: str = "environment_parity") -> CheckResult:
        """Return the report as a blocking check's result, to put in a suite.

        ``fail`` with a blocking finding, ``warn`` with only advisory ones, ``pass``
        without findings; each finding is a column named ``check[subject]``.

        Examples
        --------
        >>> from modelship.checks import run_suite
        >>> from modelship.parity import Finding, ParityReport
        >>> report = ParityReport([Finding(check="python_minor", severity="blocking",
        ...                                message="Python 3.11 in training, 3.12 here")])
        >>> result = report.to_check_result()
        >>> result.status.value, result.reason
        ('fail', '1 blocking, 0 advisory: Python 3.11 in training, 3.12 here')
        >>> run_suite([lambda: result]).passed
        False
        """
        columns = []
        seen: dict[str, int] = {}
        for finding in self.findings:
            label = f"{finding.check}[{finding.subject}]" if finding.subject else finding.check
            seen[label] = seen.get(label, 0) + 1
            if seen[label] > 1:
                label = f"{label}#{seen[label]}"
            columns.append(
                ColumnResult(
                    name=label,
                    status=Status.FAIL if finding.blocks else Status.WARN,
                    reason=finding.message,
                    method=finding.check,
                    details={
                        "severity": finding.severity.value,
                        "train": finding.train,
                        "prod": finding.prod,
                    },
                )
            )
        if self.blocking:
            status = Status.FAIL
        elif self.findings:
            status = Status.WARN
        else:
            status = Status.PASS
        named = [f.message for f in (self.blocking or self.advisory)[:_REASON_FINDINGS]]
        more = len(self.blocking or self.advisory) - len(named)
        reason = (
            f"{len(self.blocking)} blocking, {len(self.advisory)} advisory: "
            + "; ".join(named)
            + (f"; and {more} more" if more > 0 else "")
            if self.findings
            else "the environments match on every rule"
        )
        return CheckResult(
            name=name,
            status=status,
            severity=Severity.BLOCKING,
            reason=reason,
            statistic=len(self.blocking),
            threshold=0,
            columns=columns,
            details={"blocking": len(self.blocking), "advisory": len(self.advisory)},
        )

    def passes(self, *, strict: bool = False) -> bool:
        """Whether the report passes: no blocking finding, or with ``strict=True`` (a
        ``--strict`` run) no finding at all.

        Raises
        ------
        ConfigError
            When ``strict`` is not a bool.

        Examples
        --------
        >>> from modelship.parity import Finding, ParityReport
        >>> report = ParityReport([Finding(check="os", severity="advisory", message="m")])
        >>> report.passes(), report.passes(strict=True)
        (True, False)
        """
        if not isinstance(strict, bool):
            raise ConfigError(
                f"strict must be True or False, got {type(strict).__name__} {strict!r:.80}"
            )
        return not self.findings if strict else self.passed

    def to_dict(self, *, strict: bool = False) -> dict[str, Any]:
        """Return the JSON-compatible form :meth:`to_json` writes.

        ``"passed"`` is :meth:`passes` with ``strict``; with ``strict=True`` the document
        also says ``"strict": true``, so a reader knows an advisory finding failed it.

        Examples
        --------
        >>> from modelship.parity import Finding, ParityReport
        >>> ParityReport([]).to_dict()
        {'schema_version': 1, 'passed': True, 'findings': []}
        >>> report = ParityReport([Finding(check="os", severity="advisory", message="m")])
        >>> {k: v for k, v in report.to_dict(strict=True).items() if k != "findings"}
        {'schema_version': 1, 'passed': False, 'strict': True}
        """
        document: dict[str, Any] = {
            "schema_version": REPORT_SCHEMA_VERSION,
            "passed": self.passes(strict=strict),
        }
        if strict:  # left out otherwise: a report written before reads the same
            document["strict"] = True
        document["findings"] = [finding.to_dict() for finding in self.findings]
        return document

    def to_json(self, *, indent: int | None = 2, strict: bool = False) -> str:
        """Return the report as JSON text; ``strict`` as for :meth:`to_dict`.

        Examples
        --------
        >>> from modelship.parity import Finding, ParityReport
        >>> report = ParityReport([Finding(check="os", severity="advisory", message="m")])
        >>> ParityReport.from_json(report.to_json()) == report
        True
        >>> ParityReport.from_json(report.to_json(strict=True)) == report
        True
        """
        return json.dumps(self.to_dict(strict=strict), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> ParityReport:
        """Read a report written by :meth:`to_json`.

        Raises
        ------
        SnapshotError
            When the text is not JSON text, or not such a report: no integer
            ``schema_version`` (or a newer one), an unknown field, a malformed finding, a
            ``strict`` that is not ``true`` or ``false``, or a ``passed`` its findings
            contradict (judged with ``strict``: a report without it, as every report
            written before modelship wrote it, was not strict).

        Examples
        --------
        >>> from modelship.parity import ParityReport
        >>> ParityReport.from_json('{"schema_version": 1, "findings": []}').passed
        True
        """
        doc = JsonDocument.parse(text, "parity report")
        doc.schema_version(REPORT_SCHEMA_VERSION)
        doc.only("schema_version", "passed", "strict", "findings")
        report = cls([Finding.from_dict(f.doc) for f in doc.records("findings", required=True)])
        strict = doc.doc.get("strict", False)
        if not isinstance(strict, bool):
            raise SnapshotError(
                f"parity report: 'strict' must be true or false, got {reprlib.repr(strict)}"
            )
        expected = report.passes(strict=strict)
        passed = doc.doc.get("passed", expected)
        if passed is not expected:
            raise SnapshotError(
                f"parity report: 'passed' is {reprlib.repr(passed)}, but its findings say "
                f"{expected}{' (strict)' if strict else ''}"
            )
        return report

    def summary(self) -> str:
        """Return one line per finding, then the verdict.

        Examples
        --------
        >>> from modelship.parity import Finding, ParityReport
        >>> print(ParityReport([Finding(check="os", severity="advisory",
        ...                             message="Linux in training, Darwin here")]).summary())
        ADVISORY  os: Linux in training, Darwin here
        passed (0 blocking, 1 advisory)
        """
        lines = [
            f"{finding.severity.value.upper():<9} {finding.check}: {finding.message}"
            for finding in self.findings
        ]
        verdict = "passed" if self.passed else "FAILED"
        lines.append(f"{verdict} ({len(self.blocking)} blocking, {len(self.advisory)} advisory)")
        return "\n".join(lines)
