"""Check results, suites, and the engine that runs them."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, Union, runtime_checkable

import attrs
from joblib import Parallel, delayed

from modelship._params import Interval, validate_params
from modelship.checks import _report

__all__ = [
    "Check",
    "CheckResult",
    "ColumnResult",
    "Severity",
    "Status",
    "SuiteResult",
    "run_suite",
]

#: joblib's number of workers: None (joblib's default), a positive count, or -1, -2, ...
#: for all cores but ``-n_jobs - 1``.
N_JOBS = (None, Interval(int, 1, None), Interval(int, None, -1))


class Status(enum.Enum):
    """The verdict of a check or of one column of a check.

    Ordered from best to worst: ``PASS < WARN < FAIL < ERROR``. ``ERROR`` means the check
    could not be computed; it never counts as a pass.

    Examples
    --------
    >>> from modelship.checks import Status
    >>> Status("warn")
    <Status.WARN: 'warn'>
    >>> max([Status.PASS, Status.FAIL, Status.WARN], key=Status.rank).value
    'fail'
    """

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    def rank(self) -> int:
        """Return the position from best (0, ``PASS``) to worst (3, ``ERROR``).

        Examples
        --------
        >>> from modelship.checks import Status
        >>> Status.ERROR.rank() > Status.FAIL.rank()
        True
        """
        return _STATUS_ORDER.index(self)

    @classmethod
    def worst(cls, statuses: Iterable[Status]) -> Status:
        """Return the worst of ``statuses``, or ``PASS`` when there are none.

        Examples
        --------
        >>> from modelship.checks import Status
        >>> Status.worst([Status.PASS, Status.WARN]).value
        'warn'
        >>> Status.worst([]).value
        'pass'
        """
        return max(statuses, key=cls.rank, default=cls.PASS)


_STATUS_ORDER = (Status.PASS, Status.WARN, Status.FAIL, Status.ERROR)


class Severity(enum.Enum):
    """Whether a failing check stops a deployment (``BLOCKING``) or only informs.

    Examples
    --------
    >>> from modelship.checks import Severity
    >>> Severity("advisory") is Severity.ADVISORY
    True
    """

    BLOCKING = "blocking"
    ADVISORY = "advisory"


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _details(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else dict(value)


@attrs.frozen(kw_only=True)
class ColumnResult:
    """The verdict of a check on one column.

    Parameters
    ----------
    name : str
        The column.
    status : Status or str
        ``pass``, ``warn``, ``fail`` or ``error`` (the column could not be computed).
    reason : str
        One line a person can read: what was found, against which threshold.
    kind : str, optional
        ``"numeric"`` or ``"categorical"``.
    method : str, optional
        The statistic that decides (``"ks"``, ``"cvm"``, ``"chi2"``, ``"wasserstein"``,
        ``"psi"``, ``"js"``; ``"schema"`` for schema checks).
    statistic : float, optional
        The value of ``method``.
    p_value : float, optional
        The p-value of ``method`` after correction across columns; ``None`` where the
        method has none.
    threshold : float, optional
        For a test, the significance level the corrected p-value is compared with (drift
        when ``p_value < threshold``); for a distance, the value ``statistic`` must reach.
    effect_method, effect_size, effect_threshold : optional
        The effect size reported beside every result; ``effect_threshold`` is set when the
        effect size takes part in the verdict, ``None`` when it is for information.
    drifted : bool, optional
        The drift verdict; ``None`` for a column in error or a check that is not about drift.
    details : Mapping[str, Any]
        Everything else (sample sizes, raw p-value, missing rates, new categories...),
        JSON-compatible.

    Examples
    --------
    >>> from modelship.checks import ColumnResult
    >>> col = ColumnResult(name="age", status="fail", reason="KS p=0.001 < 0.05",
    ...                    method="ks", statistic=0.21, p_value=0.001, threshold=0.05,
    ...                    drifted=True)
    >>> col.status.value, col.drifted
    ('fail', True)
    """

    name: str
    status: Status = attrs.field(converter=Status)
    reason: str = ""
    kind: str | None = None
    method: str | None = None
    statistic: float | None = attrs.field(default=None, converter=_optional_float)
    p_value: float | None = attrs.field(default=None, converter=_optional_float)
    threshold: float | None = attrs.field(default=None, converter=_optional_float)
    effect_method: str | None = None
    effect_size: float | None = attrs.field(default=None, converter=_optional_float)
    effect_threshold: float | None = attrs.field(default=None, converter=_optional_float)
    drifted: bool | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_details)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict (non-finite numbers become ``None``).

        Examples
        --------
        >>> from modelship.checks import ColumnResult
        >>> ColumnResult(name="x", status="pass").to_dict()["status"]
        'pass'
        """
        return {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "kind": self.kind,
            "method": self.method,
            "statistic": _report.jsonable(self.statistic),
            "p_value": _report.jsonable(self.p_value),
            "threshold": _report.jsonable(self.threshold),
            "effect_method": self.effect_method,
            "effect_size": _report.jsonable(self.effect_size),
            "effect_threshold": _report.jsonable(self.effect_threshold),
            "drifted": self.drifted,
            "details": _report.jsonable(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnResult:
        """Rebuild a result from :meth:`to_dict` output.

        Examples
        --------
        >>> from modelship.checks import ColumnResult
        >>> col = ColumnResult(name="x", status="warn", statistic=0.3)
        >>> ColumnResult.from_dict(col.to_dict()) == col
        True
        """
        fields: dict[str, Any] = {field.name: data.get(field.name) for field in attrs.fields(cls)}
        return cls(**fields)


def _columns(value: Mapping[str, ColumnResult] | Iterable[ColumnResult]) -> dict[str, ColumnResult]:
    if isinstance(value, Mapping):
        return dict(value)
    return {column.name: column for column in value}


@attrs.frozen(kw_only=True)
class CheckResult:
    """The structured verdict of one check.

    Parameters
    ----------
    name : str
        The check's name, unique within a suite by convention.
    status : Status or str
        ``pass``, ``warn``, ``fail`` or ``error`` (the check could not be computed).
    severity : Severity or str
        ``blocking`` (a ``fail`` stops the deployment) or ``advisory``.
    reason : str
        One line a person can read.
    statistic, threshold, p_value : float, optional
        The check-level statistic (for drift: the share of drifted columns), what it was
        compared with, and a p-value where there is one.
    columns : Mapping[str, ColumnResult] or Iterable[ColumnResult]
        Per-column verdicts, by column name.
    details : Mapping[str, Any]
        Anything else, JSON-compatible.

    Examples
    --------
    >>> from modelship.checks import CheckResult
    >>> result = CheckResult(name="auc", status="fail", reason="AUC 0.71 < 0.80",
    ...                      statistic=0.71, threshold=0.80)
    >>> result.severity.value, result.blocks()
    ('blocking', True)
    """

    name: str
    status: Status = attrs.field(converter=Status)
    severity: Severity = attrs.field(default=Severity.BLOCKING, converter=Severity)
    reason: str = ""
    statistic: float | None = attrs.field(default=None, converter=_optional_float)
    threshold: float | None = attrs.field(default=None, converter=_optional_float)
    p_value: float | None = attrs.field(default=None, converter=_optional_float)
    columns: Mapping[str, ColumnResult] = attrs.field(factory=dict, converter=_columns)
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_details)

    @classmethod
    def from_exception(
        cls, name: str, exc: BaseException, severity: Severity | str = Severity.BLOCKING
    ) -> CheckResult:
        """Return the ``error`` result of a check that raised ``exc``.

        Examples
        --------
        >>> from modelship.checks import CheckResult
        >>> CheckResult.from_exception("drift", ValueError("no rows")).reason
        'ValueError: no rows'
        """
        message = " ".join(str(exc).split())
        reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return cls(
            name=name,
            status=Status.ERROR,
            severity=severity,
            reason=reason,
            details={"exception": type(exc).__name__},
        )

    def blocks(self, *, strict: bool = False) -> bool:
        """Return whether this result stops a deployment.

        An ``error`` always blocks, a ``fail`` blocks when the check is blocking, and with
        ``strict=True`` so does every result that is not a ``pass``.

        Examples
        --------
        >>> from modelship.checks import CheckResult
        >>> warn = CheckResult(name="x", status="warn")
        >>> warn.blocks(), warn.blocks(strict=True)
        (False, True)
        """
        if self.status is Status.ERROR:
            return True
        if strict:
            return self.status is not Status.PASS
        return self.status is Status.FAIL and self.severity is Severity.BLOCKING

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict (non-finite numbers become ``None``).

        Examples
        --------
        >>> from modelship.checks import CheckResult
        >>> sorted(CheckResult(name="x", status="pass").to_dict())[:3]
        ['columns', 'details', 'name']
        """
        return {
            "name": self.name,
            "status": self.status.value,
            "severity": self.severity.value,
            "reason": self.reason,
            "statistic": _report.jsonable(self.statistic),
            "threshold": _report.jsonable(self.threshold),
            "p_value": _report.jsonable(self.p_value),
            "columns": {name: column.to_dict() for name, column in self.columns.items()},
            "details": _report.jsonable(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Rebuild a result from :meth:`to_dict` output.

        Examples
        --------
        >>> from modelship.checks import CheckResult
        >>> result = CheckResult(name="x", status="fail", severity="advisory")
        >>> CheckResult.from_dict(result.to_dict()) == result
        True
        """
        columns = [ColumnResult.from_dict(column) for column in data.get("columns", {}).values()]
        return cls(
            name=data["name"],
            status=data["status"],
            severity=data.get("severity", Severity.BLOCKING.value),
            reason=data.get("reason", ""),
            statistic=data.get("statistic"),
            threshold=data.get("threshold"),
            p_value=data.get("p_value"),
            columns=columns,
            details=data.get("details"),
        )


@runtime_checkable
class Check(Protocol):
    """Anything with a ``name`` and a ``run()`` that returns a :class:`CheckResult`.

    Plain callables taking no argument and returning a ``CheckResult`` are accepted by
    :func:`run_suite` too.

    Examples
    --------
    >>> from modelship.checks import Check, CheckResult, run_suite
    >>> class RowCount:
    ...     name = "row_count"
    ...     def __init__(self, rows):
    ...         self.rows = rows
    ...     def run(self):
    ...         ok = self.rows >= 100
    ...         return CheckResult(name=self.name, status="pass" if ok else "fail",
    ...                            reason=f"{self.rows} rows", statistic=self.rows,
    ...                            threshold=100)
    >>> isinstance(RowCount(5), Check)
    True
    >>> run_suite([RowCount(500)]).passed
    True
    """

    @property
    def name(self) -> str:
        """The check's name."""

    def run(self) -> CheckResult:
        """Compute the check."""


CheckLike = Union[Check, Callable[[], CheckResult]]  # noqa: UP007 (a runtime alias on 3.10)


def _check_name(check: object) -> str:
    name = getattr(check, "name", None)
    if isinstance(name, str) and name:
        return name
    name = getattr(check, "__name__", None)
    if isinstance(name, str) and name:
        return name
    return type(check).__name__


def _run_one(check: CheckLike) -> CheckResult:
    name = _check_name(check)
    severity = getattr(check, "severity", Severity.BLOCKING)
    if not isinstance(severity, Severity):
        severity = Severity.BLOCKING
    try:
        result = check.run() if isinstance(check, Check) else check()
    except Exception as exc:  # a check that cannot be computed is an error, never a pass
        return CheckResult.from_exception(name, exc, severity)
    if not isinstance(result, CheckResult):
        return CheckResult(
            name=name,
            status=Status.ERROR,
            severity=severity,
            reason=f"the check returned {type(result).__name__}, not a CheckResult",
        )
    return result


def _results(value: Iterable[CheckResult]) -> tuple[CheckResult, ...]:
    return tuple(value)


@attrs.frozen
class SuiteResult:
    """The results of :func:`run_suite`, in the order the checks were given.

    Examples
    --------
    >>> from modelship.checks import CheckResult, SuiteResult
    >>> suite = SuiteResult([CheckResult(name="a", status="pass"),
    ...                      CheckResult(name="b", status="warn", reason="small shift")])
    >>> suite.passed, suite.exit_code(), suite.exit_code(strict=True)
    (True, 0, 1)
    >>> suite["b"].reason
    'small shift'
    """

    results: tuple[CheckResult, ...] = attrs.field(converter=_results)

    @property
    def passed(self) -> bool:
        """``False`` when any check failed with blocking severity or could not be computed.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> SuiteResult([CheckResult(name="a", status="error")]).passed
        False
        """
        return not any(result.blocks() for result in self.results)

    @property
    def status(self) -> Status:
        """The worst status of the suite's results (``PASS`` for an empty suite).

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> SuiteResult([CheckResult(name="a", status="warn")]).status.value
        'warn'
        """
        return Status.worst(result.status for result in self.results)

    def __getitem__(self, name: str) -> CheckResult:
        """Return the first result of the check called ``name``."""
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def exit_code(self, *, strict: bool = False) -> int:
        """Return the exit code a CI step should end with.

        ``2`` when a check could not be computed (``error``), else ``1`` when a check
        blocks (a blocking ``fail``; with ``strict=True`` any result that is not a pass),
        else ``0``.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> SuiteResult([CheckResult(name="a", status="fail", severity="advisory")]).exit_code()
        0
        """
        if any(result.status is Status.ERROR for result in self.results):
            return 2
        return int(any(result.blocks(strict=strict) for result in self.results))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-compatible form that :meth:`to_json` writes.

        Examples
        --------
        >>> from modelship.checks import SuiteResult
        >>> SuiteResult([]).to_dict()["schema_version"]
        1
        """
        return {
            "schema_version": SCHEMA_VERSION,
            "passed": self.passed,
            "status": self.status.value,
            "counts": {
                status.value: sum(result.status is status for result in self.results)
                for status in Status
            },
            "results": [result.to_dict() for result in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuiteResult:
        """Rebuild a suite from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            When ``schema_version`` is missing or newer than this modelship reads.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> suite = SuiteResult([CheckResult(name="a", status="pass")])
        >>> SuiteResult.from_dict(suite.to_dict()) == suite
        True
        """
        _report.check_schema_version(data, SCHEMA_VERSION, "suite result")
        return cls([CheckResult.from_dict(result) for result in data["results"]])

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the suite as JSON text, with a ``"schema_version"`` key.

        The text is a pure function of the results: two runs on the same data give the
        same bytes (no timestamps, no durations).

        Examples
        --------
        >>> import json
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> doc = json.loads(SuiteResult([CheckResult(name="a", status="pass")]).to_json())
        >>> doc["schema_version"], doc["passed"], doc["results"][0]["name"]
        (1, True, 'a')
        """
        return _report.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> SuiteResult:
        """Read a suite written by :meth:`to_json`.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> suite = SuiteResult([CheckResult(name="a", status="warn")])
        >>> SuiteResult.from_json(suite.to_json()) == suite
        True
        """
        return cls.from_dict(_report.loads(text, "suite result"))

    def to_junit(self, path: str | os.PathLike[str] | None = None) -> str:
        """Return JUnit XML of the suite, writing it to ``path`` when one is given.

        Each check is a ``<testsuite>`` holding one ``<testcase>`` for the check itself and
        one per column (named ``check[column]``). A blocking ``fail`` is a ``<failure>`` and
        an ``error`` an ``<error>``, each carrying the reason; warnings and advisory
        failures pass and carry their reason in ``<system-out>``. So the XML shows a
        failure exactly when the CI step should fail.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> xml = SuiteResult([CheckResult(name="a", status="fail", reason="bad")]).to_junit()
        >>> '<failure message="bad"' in xml
        True
        """
        text = _report.render_junit(self)
        if path is not None:
            _report.write_text(path, text)
        return text

    def to_markdown(self) -> str:
        """Return a Markdown summary fit for a pull-request comment or a job summary.

        One table row per check, then for each check with columns a collapsible table of
        its columns. Write it to the file named by ``$GITHUB_STEP_SUMMARY`` on GitHub.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> md = SuiteResult([CheckResult(name="a", status="pass", reason="ok")]).to_markdown()
        >>> md.splitlines()[0]
        '### modelship checks: ✅ passed'
        """
        return _report.render_markdown(self)

    def summary(self) -> str:
        """Return a plain-text summary: one line per check, then the verdict.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> print(SuiteResult([CheckResult(name="a", status="pass", reason="ok")]).summary())
        PASS  a: ok
        passed (1 check: 1 pass)
        """
        return _report.render_text(self)


SCHEMA_VERSION = 1
"""Version of the JSON layout written by :meth:`SuiteResult.to_json`."""


@validate_params(n_jobs=N_JOBS)
def run_suite(checks: Iterable[CheckLike], *, n_jobs: int | None = None) -> SuiteResult:
    """Run ``checks`` and collect their results, in order.

    A check that raises is recorded as an ``error`` result carrying the exception's type
    and message; the other checks still run. Nothing is random in the built-in checks, so
    the same inputs give the same results, whatever ``n_jobs``.

    Parameters
    ----------
    checks : iterable of Check or callable
        Objects with ``name`` and ``run()``, or callables taking no argument that return a
        :class:`CheckResult`.
    n_jobs : int, optional
        Number of joblib workers; ``None`` means one unless a ``joblib.parallel_config``
        context says otherwise (so a dask or ray backend set there is used), ``-1`` all
        cores. Checks are sent to workers by pickling (cloudpickle), so lambdas work.

    Returns
    -------
    SuiteResult

    Examples
    --------
    >>> from modelship.checks import CheckResult, run_suite
    >>> def always_fails():
    ...     return CheckResult(name="always_fails", status="fail", reason="by design")
    >>> def broken():
    ...     raise RuntimeError("cannot reach the feature store")
    >>> suite = run_suite([always_fails, broken])
    >>> [(r.name, r.status.value) for r in suite.results]
    [('always_fails', 'fail'), ('broken', 'error')]
    >>> suite.passed, suite.exit_code()
    (False, 2)
    """
    checks = list(checks)
    if len(checks) <= 1:
        return SuiteResult([_run_one(check) for check in checks])
    results = Parallel(n_jobs=n_jobs)(delayed(_run_one)(check) for check in checks)
    return SuiteResult(results)
