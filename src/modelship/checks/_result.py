"""Check results, suites, and the engine that runs them."""

from __future__ import annotations

import enum
import importlib
import math
import numbers
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, Union, runtime_checkable

import attrs
from joblib import Parallel, delayed, effective_n_jobs
from joblib.externals.loky.backend import reduction as loky_reduction

from modelship import _json
from modelship._params import (
    Constraint,
    Constraints,
    Interval,
    Options,
    check,
    check_parameters,
    validate_params,
)
from modelship._shown import brief, printable
from modelship.checks._figures import compared
from modelship.checks._records import check_field, object_field, record_from_dict
from modelship.errors import ConfigError, InvalidParameter, MissingDependency, ModelshipError
from modelship.report import (
    Entry,
    Report,
    Section,
    render_html,
    render_junit,
    render_markdown,
    render_text,
    write_text,
)

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

    Ordered from best to worst: ``PASS < SKIP < WARN < FAIL < ERROR``. ``SKIP`` marks a
    part that could not be judged, with the reason (a column constant in both samples,
    all missing, or with too few values); ``ERROR`` means the check could not be
    computed. Neither counts as a pass.

    Examples
    --------
    >>> from modelship.checks import Status
    >>> Status("warn")
    <Status.WARN: 'warn'>
    >>> max([Status.PASS, Status.FAIL, Status.WARN], key=Status.rank).value
    'fail'
    """

    PASS = "pass"
    SKIP = "skip"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    def rank(self) -> int:
        """Return the position from best (0, ``PASS``) to worst (4, ``ERROR``).

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


_STATUS_ORDER = (Status.PASS, Status.SKIP, Status.WARN, Status.FAIL, Status.ERROR)


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


_STATUS_OPTIONS = Options(Status)


def as_status(value: Status | str) -> Status:
    """The :class:`Status` of a record's ``status`` field (its converter).

    A record of a result (a bias disparity, a metric comparison) that declares no
    parameters of its own refuses a wrong status as :class:`CheckResult` does, with
    :class:`~modelship.errors.InvalidParameter`, not the ``ValueError`` of ``Status("ok")``.

    Examples
    --------
    >>> from modelship.checks._result import as_status
    >>> as_status("fail")
    <Status.FAIL: 'fail'>
    >>> as_status("ok")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: status='ok' is not allowed; status must be one of ...
    """
    check("status", value, _STATUS_OPTIONS)
    return Status(value)


_Record = TypeVar("_Record")


def read_record(cls: type[_Record], data: Any) -> _Record:
    """The record ``cls`` of a result document (see ``record_from_dict``), for a reader
    inside :func:`modelship._json.malformed`.

    A field value the record refuses (``"status": "ok"``) is a ``ValueError``, which the
    reader reports as a malformed document of its kind, as it reports a field of the
    wrong type: the ``InvalidParameter`` the record raises would pass ``malformed``
    unchanged, and not say which document was wrong.

    Examples
    --------
    >>> from modelship.checks import Disparity
    >>> from modelship.checks._result import read_record
    >>> read_record(Disparity, {"name": "d", "metric": "m", "feature_set": ["sex"],
    ...     "value": 0.1, "ci_low": 0.0, "ci_high": 0.2, "threshold": 0.1, "passed": True,
    ...     "status": "ok"})
    Traceback (most recent call last):
    ...
    ValueError: status='ok' is not allowed; status must be one of 'pass', 'skip', ...
    """
    try:
        return record_from_dict(cls, data)
    except InvalidParameter as exc:
        raise ValueError(str(exc)) from exc


def _optional_float(value: float | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond float's range, such as 10**400
        return math.inf if value > 0 else -math.inf


def _details(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    try:
        return dict(value)
    except (TypeError, ValueError):  # an iterator of things that are no pairs
        raise InvalidParameter(
            "details", value, "a mapping, or a list of (key, value) pairs"
        ) from None


def _number(value: float | None, digits: int = 4) -> str:
    """A statistic for people: ``digits`` significant digits, empty for ``None``."""
    return "" if value is None else f"{value:.{digits}g}"


def _compared(value: float | None, threshold: float | None, digits: int = 4) -> tuple[str, str]:
    """``value`` (``digits`` significant digits) and the ``threshold`` it is compared with
    (4), both with more digits when fewer would show them in the wrong order.

    A p-value of 0.04997 against 0.04998 is "0.05" and "0.04998" at 3 and 4 digits: a
    row whose printed p-value is above the threshold, but that drifted.

    Examples
    --------
    >>> _compared(0.04997, 0.04998, 3)
    ('0.04997', '0.04998')
    >>> _compared(0.001, 0.05, 3)
    ('0.001', '0.05')
    """
    if (
        value is None
        or threshold is None
        or not (math.isfinite(value) and math.isfinite(threshold))
    ):
        return _number(value, digits), _number(threshold)
    shown, (limit,) = compared(value, [threshold], digits, 4, strict=True)
    return shown, limit


def shares(before: float, after: float) -> tuple[str, str]:
    """Two shares as percentages, with the decimals it takes to tell them apart.

    Examples
    --------
    >>> from modelship.checks._result import shares
    >>> shares(0.0, 1 / 10_000), shares(0.0, 0.2)
    (('0.00%', '0.01%'), ('0.0%', '20.0%'))
    """
    texts = (percent(before), percent(after))
    for decimals in range(1, 16):
        texts = (percent(before, decimals), percent(after, decimals))
        readable = all(
            share == 0 or any(digit in "123456789" for digit in text)
            for share, text in zip((before, after), texts, strict=True)
        )
        if readable and (before == after or texts[0] != texts[1]):
            break
    return texts


def percent(share: float, decimals: int = 1) -> str:
    """A share as a percentage with ``decimals`` decimals.

    Examples
    --------
    >>> from modelship.checks._result import percent
    >>> percent(0.5)
    '50.0%'
    """
    return f"{share * 100:.{decimals}f}%"


def _facts(pairs: Iterable[tuple[str, object]]) -> dict[str, str]:
    return {label: str(value) for label, value in pairs if value is not None}


# Every ColumnResult subclass, by qualified name (attrs replaces a slotted class by a new
# one, which then takes its place here), for construction and reading by field names.
_VARIANTS: dict[str, type[ColumnResult]] = {}


class _Parts(Constraint):
    """Column results: a mapping of them by name, or a list, tuple or other iterable of
    them; never a string, whose letters are no results."""

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, Iterable) and not isinstance(value, str | bytes)

    def accepted_types(self) -> frozenset[type]:
        return frozenset((list, tuple, dict))

    def __str__(self) -> str:
        return "a mapping of names to ColumnResult, or a list of ColumnResult"

    def invalid_values(self) -> tuple[object, ...]:
        return ("age", 5)


class _Real(Constraint):
    """A result's number: anything ``float()`` takes (Python's and numpy's numbers, numpy
    booleans, ``Decimal``, a 0-d array), non-finite ones as well (written as null); never
    a text, which would be read as a number, nor an array of several values."""

    def is_satisfied_by(self, value: object) -> bool:
        if isinstance(value, str | bytes | bytearray) or getattr(value, "ndim", 0) != 0:
            return False
        # float() drops a complex number's imaginary part (with a warning), reads a text
        # array, and refuses a time delta only in the converter: none is a figure.
        kind = getattr(getattr(value, "dtype", None), "kind", "")
        if kind in _NOT_FIGURES or isinstance(value, complex):
            return False
        if isinstance(value, numbers.Real):
            return True
        try:
            float(value)  # type: ignore[arg-type]
        except OverflowError:  # an integer beyond float's range, such as 10**400
            return True
        except (TypeError, ValueError):
            return False
        return True

    def accepted_types(self) -> frozenset[type]:
        # Python's own numbers: real, no dtype, no ndim (what the checks pass).
        return frozenset((float, int, bool))

    def __str__(self) -> str:
        return "a real number (not a text)"

    def invalid_values(self) -> tuple[object, ...]:
        return ("0.3", 1j, object())


#: NumPy kinds that are no figures: complex, times, text, bytes, objects, void.
_NOT_FIGURES = frozenset("cmMUSOV")


class _Pairs(Constraint):
    """A result's details: a mapping, or anything else ``dict()`` takes (an iterable of
    key-value pairs, a pandas Series); never a text or a number."""

    def is_satisfied_by(self, value: object) -> bool:
        if isinstance(value, Mapping) or callable(getattr(value, "keys", None)):
            return True
        if isinstance(value, str | bytes | bytearray) or not isinstance(value, Iterable):
            return False
        if isinstance(value, Iterator):  # read once: the converter says what was wrong
            return True
        # Each item a (key, value) pair: dict() would also split a two-letter text.
        return all(
            isinstance(item, Sequence) and not isinstance(item, str | bytes) and len(item) == 2
            for item in value
        )

    def accepted_types(self) -> frozenset[type]:
        return frozenset((dict,))

    def __str__(self) -> str:
        return "a mapping, or a list of (key, value) pairs"

    def invalid_values(self) -> tuple[object, ...]:
        return ("age", 5, [1, 2])


_NUMBER = (None, _Real())

# The fields every result has, checked before converters run: a ConfigError naming the
# field and the value, not the ValueError of Status("passed") or float("abc").
_RESULT_CONSTRAINTS: Constraints = {
    "name": str,
    "status": Options(Status),
    "reason": str,
    "statistic": _NUMBER,
    "threshold": _NUMBER,
    "p_value": _NUMBER,
    "details": (None, _Pairs()),
}


@attrs.frozen(kw_only=True)
class ColumnResult:
    """The verdict of a check on one part of the data: a column, a group, a slice.

    What is common to every check's parts; a check with more to say per part subclasses
    it (:class:`DriftColumnResult` adds the effect size and the drift verdict).

    Parameters
    ----------
    name : str
        The column (or group).
    status : Status or str
        ``pass``, ``warn``, ``fail`` or ``error`` (the column could not be computed).
    reason : str
        One line a person can read: what was found, against which threshold.
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
    details : Mapping[str, Any]
        Everything else (sample sizes, raw p-value, missing rates, new categories...),
        JSON-compatible.

    Notes
    -----
    Given a subclass's fields (``drifted=``, ``effect_size=``...), ``ColumnResult(...)``
    builds that subclass, and :meth:`from_dict` reads one back from the keys it wrote: so
    results written before drift's fields moved to :class:`DriftColumnResult` still read.

    Examples
    --------
    >>> from modelship.checks import ColumnResult
    >>> col = ColumnResult(name="age", status="fail", reason="KS p=0.001 < 0.05",
    ...                    method="ks", statistic=0.21, p_value=0.001, threshold=0.05)
    >>> col.status.value, type(col).__name__
    ('fail', 'ColumnResult')
    >>> type(ColumnResult(name="age", status="fail", drifted=True)).__name__
    'DriftColumnResult'
    """

    #: Headings this class adds to a check's column table (see :meth:`to_entry`).
    report_headings: ClassVar[tuple[str, ...]] = ()

    _parameter_constraints: ClassVar[Constraints] = {**_RESULT_CONSTRAINTS, "method": (None, str)}
    __attrs_pre_init__ = check_parameters

    name: str
    status: Status = attrs.field(converter=Status)
    reason: str = ""
    method: str | None = None
    statistic: float | None = attrs.field(default=None, converter=_optional_float)
    p_value: float | None = attrs.field(default=None, converter=_optional_float)
    threshold: float | None = attrs.field(default=None, converter=_optional_float)
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_details)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _VARIANTS[f"{cls.__module__}.{cls.__qualname__}"] = cls

    def __new__(cls, **fields: Any) -> ColumnResult:
        return object.__new__(_variant(cls, fields))

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
            "method": self.method,
            "statistic": _json.jsonable(self.statistic),
            "p_value": _json.jsonable(self.p_value),
            "threshold": _json.jsonable(self.threshold),
            "details": _json.jsonable(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnResult:
        """Rebuild a result from :meth:`to_dict` output, as the subclass that wrote it.

        Each field's JSON type is checked; a key no result class has (written by a newer
        modelship) is ignored, and the subclass is the one whose fields hold the others.

        Raises
        ------
        ConfigError
            When a field is of the wrong JSON type (``"drifted": "false"``, a text
            ``statistic``), or ``name`` or ``status`` is missing.

        Examples
        --------
        >>> from modelship.checks import ColumnResult
        >>> col = ColumnResult(name="x", status="warn", statistic=0.3)
        >>> ColumnResult.from_dict(col.to_dict()) == col
        True
        >>> ColumnResult.from_dict({**col.to_dict(), "added_later": 1}) == col
        True
        """
        with _json.malformed("column result", "write it with SuiteResult.to_json"):
            if not isinstance(data, Mapping):
                raise TypeError(f"a column result must be an object, got {type(data).__name__}")
            _refuse_non_finite(data, "column result")
            target = _variant(cls, data, ignore_unknown=True)
            try:
                return target(**_typed_fields(target, data, "column result"))
            except InvalidParameter as exc:  # said as a field of the document read
                raise ConfigError(
                    f"malformed column result: field {exc.parameter!r}: {exc}; "
                    "write it with SuiteResult.to_json"
                ) from exc

    def to_entry(self) -> Entry:
        """This result as a row of a report (:mod:`modelship.report`).

        Examples
        --------
        >>> from modelship.checks import ColumnResult
        >>> ColumnResult(name="x", status="pass", method="ks", statistic=0.1234567).to_entry().cells
        {'method': 'ks', 'statistic': '0.1235', 'p-value': '', 'threshold': ''}
        """
        # The threshold is compared with the p-value of a test, the statistic of a distance:
        # the two are shown with the digits that keep their order.
        if self.p_value is None:
            statistic, threshold = _compared(self.statistic, self.threshold)
            p_value = ""
        else:
            statistic = _number(self.statistic)
            p_value, threshold = _compared(self.p_value, self.threshold, 3)
        return Entry(
            name=self.name,
            status=self.status.value,
            reason=self.reason,
            cells={
                "method": self.method or "",
                "statistic": statistic,
                "p-value": p_value,
                "threshold": threshold,
            },
            facts=_facts(
                [
                    ("method", self.method),
                    ("statistic", self.statistic),
                    ("p_value", self.p_value),
                    ("threshold", self.threshold),
                ]
            ),
        )


_BASE_FIELDS = frozenset(field.name for field in attrs.fields(ColumnResult))


def _variant(
    cls: type[ColumnResult], fields: Mapping[str, Any], *, ignore_unknown: bool = False
) -> type[ColumnResult]:
    """The subclass of ``cls`` whose fields hold every name in ``fields``: ``cls`` itself
    when they are its own; when none does, ``cls`` (and attrs names the stray field).

    With ``ignore_unknown`` (reading a document), names that no subclass has are left
    out of the choice: a key a newer modelship added does not demote a drift column to
    a plain :class:`ColumnResult`."""
    if _field_names(cls).issuperset(fields):
        # The common case, every result a check builds: the fields are the class's own
        # (with ignore_unknown too, as the names kept are then fewer still).
        return cls
    variants = [variant for variant in _VARIANTS.values() if issubclass(variant, cls)]
    names = set(fields)
    if ignore_unknown:
        known = {field.name for field in attrs.fields(cls)}
        for variant in variants:
            known |= {field.name for field in attrs.fields(variant)}
        names &= known
    own = {field.name for field in attrs.fields(cls)}
    if names <= own:
        return cls
    for variant in variants:
        if names <= {f.name for f in attrs.fields(variant)}:
            return variant
    return cls


# The field names of each result class, by class: read once (a class's fields never
# change), as every result built asks for them.
_FIELD_NAMES: dict[type[ColumnResult], frozenset[str]] = {}


def _field_names(cls: type[ColumnResult]) -> frozenset[str]:
    """The names of an attrs result class's fields (two threads that race here store
    equal sets)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(field.name for field in attrs.fields(cls))
    return names


def _typed_fields(target: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The values in ``data`` of the attrs class ``target``'s fields, each checked against
    its declared type (a ``TypeError`` naming the field, for :func:`_json.malformed`);
    absent fields are left to their defaults, and a ``details`` of ``null`` is empty."""
    fields: dict[str, Any] = {}
    for field in attrs.fields(target):
        if field.name not in data or (field.name == "details" and data["details"] is None):
            continue
        value = data[field.name]
        if field.type == "Mapping[str, Any]":  # details: any JSON inside, null included
            if not isinstance(value, Mapping):
                raise TypeError(
                    f"{what} field {field.name!r} must be an object, got {type(value).__name__}"
                )
        elif isinstance(field.type, str):
            check_field(f"{what} field {field.name!r}", field.type, value)
            if field.type == "float | None" and isinstance(value, int):
                try:
                    float(value)
                except OverflowError:  # 10**400 would read as infinity
                    raise ValueError(
                        f"{what} field {field.name!r} is an integer beyond a float's range"
                    ) from None
        fields[field.name] = value
    # Types only: what a result holds (any finite p_value a custom check set) reads back.
    return fields


def _refuse_non_finite(data: Mapping[str, Any], what: str) -> None:
    """A ``ValueError`` naming where ``data`` holds a non-finite float: none is ever written
    (:func:`~modelship._json.jsonable` writes ``null``), but ``1e400`` reads as infinity."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(
                f"{what} holds {value!r} at {path}: documents hold finite numbers only "
                "(a non-finite figure is written null)"
            )
        if isinstance(value, Mapping):
            items = [(f"{path}.{key}" if path else str(key), item) for key, item in value.items()]
        elif isinstance(value, list):
            items = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
        else:
            continue
        stack.extend(reversed(items))


def _columns(value: Mapping[str, ColumnResult] | Iterable[ColumnResult]) -> dict[str, ColumnResult]:
    """Column results by name; two of one name would hide one from every report.

    A mapping must key each result by its own name: reports show the key, the result's
    JSON keeps the name, and :meth:`CheckResult.from_dict` refuses a key that differs."""
    if isinstance(value, Mapping):
        for key, column in value.items():  # bounded: the result's columns
            if not isinstance(column, ColumnResult):
                raise ConfigError(
                    f"columns holds under {key!r} a {type(column).__name__}, not a "
                    "ColumnResult; build each column's verdict with ColumnResult(...)"
                )
            if key != column.name:
                raise ConfigError(
                    f"columns holds under {key!r} the result of {column.name!r}: each column "
                    f"result is kept under its own name; key it by its name "
                    f"({column.name!r}), or pass a list of column results"
                )
        return dict(value)
    columns: dict[str, ColumnResult] = {}
    for column in value:
        if not isinstance(column, ColumnResult):
            raise ConfigError(
                f"columns holds a {type(column).__name__}, not a ColumnResult; build each "
                "column's verdict with ColumnResult(...)"
            )
        if column.name in columns:
            raise ConfigError(
                f"two column results are named {column.name!r}: each part of the data is "
                "judged once (name them apart, such as by group)"
            )
        columns[column.name] = column
    return columns


_REPR_REASON = 80  # characters of a reason a repr shows


def _short(text: str, limit: int = _REPR_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@attrs.frozen(kw_only=True, repr=False)
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
        Per-column verdicts, by column name: a mapping keys each result by its own
        ``name`` (a ``ConfigError`` otherwise, as for two results of one name).
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

    result_type: ClassVar[str | None] = None
    """A subclass's tag in :meth:`to_dict` (``"result_type"``), read back by
    :meth:`SuiteResult.from_dict` to rebuild the subclass; ``None`` for a plain result."""

    _parameter_constraints: ClassVar[Constraints] = {
        **_RESULT_CONSTRAINTS,
        "severity": Options(Severity),
        "columns": _Parts(),
    }
    __attrs_pre_init__ = check_parameters

    name: str
    status: Status = attrs.field(converter=Status)
    severity: Severity = attrs.field(default=Severity.BLOCKING, converter=Severity)
    reason: str = ""
    statistic: float | None = attrs.field(default=None, converter=_optional_float)
    threshold: float | None = attrs.field(default=None, converter=_optional_float)
    p_value: float | None = attrs.field(default=None, converter=_optional_float)
    columns: Mapping[str, ColumnResult] = attrs.field(factory=dict, converter=_columns)
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_details)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tag = cls.__dict__.get("result_type")
        if tag is not None:  # attrs builds the class twice (slots): the last one is kept
            _RESULT_TYPES[tag] = cls

    def __repr__(self) -> str:
        """One line: name, status, the start of the reason, and how many columns.

        What in the reason is not printable (a newline, an ESC) is shown as an escape.

        Examples
        --------
        >>> from modelship.checks import CheckResult
        >>> CheckResult(name="auc", status="fail", reason="AUC 0.71 < 0.80")
        <CheckResult 'auc' fail: AUC 0.71 < 0.80>
        """
        reason = printable(_short(self.reason))
        count = f"({len(self.columns)} columns)"
        # A reason that ends with the count (a passing schema check's) says it once.
        columns = f" {count}" if self.columns and not reason.endswith(count) else ""
        return f"<CheckResult {self.name!r} {self.status.value}: {reason}{columns}>"

    def _repr_html_(self) -> str:
        """A compact HTML table for notebooks: the verdict and the columns that did not pass."""
        report = Report(
            title=f"check {self.name}",
            passed=not self.blocks(),
            sections=[self.to_section()],
            headings=("status", "severity", "statistic", "threshold", "reason"),
            item="check",
        )
        return render_html(report)

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
        message = " ".join(_exception_text(exc).split())
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
        data: dict[str, Any] = {"result_type": self.result_type} if self.result_type else {}
        data.update(
            {
                "name": self.name,
                "status": self.status.value,
                "severity": self.severity.value,
                "reason": self.reason,
                "statistic": _json.jsonable(self.statistic),
                "threshold": _json.jsonable(self.threshold),
                "p_value": _json.jsonable(self.p_value),
                "columns": {name: column.to_dict() for name, column in self.columns.items()},
                "details": _json.jsonable(self.details),
            }
        )
        return data

    def to_section(self, *, strict: bool = False) -> Section:
        """This result and its columns as a section of a report (:mod:`modelship.report`).

        A ``fail`` in the section fails a CI run exactly when this result blocks; with
        ``strict=True`` (a ``--strict`` run) so does every verdict that is not a pass, when
        this result is not a pass itself.

        Examples
        --------
        >>> from modelship.checks import CheckResult
        >>> section = CheckResult(name="x", status="fail", severity="advisory").to_section()
        >>> section.head.cells["severity"], section.blocking
        ('advisory', False)
        >>> CheckResult(name="x", status="warn").to_section(strict=True).strict
        True
        """
        extra: list[str] = []
        for column in self.columns.values():
            extra += [h for h in type(column).report_headings if h not in extra]
        head = Entry(
            name=self.name,
            status=self.status.value,
            reason=self.reason,
            cells={
                "severity": self.severity.value,
                "statistic": _number(self.statistic),
                "threshold": _number(self.threshold),
            },
            facts=_facts(
                [
                    ("statistic", self.statistic),
                    ("p_value", self.p_value),
                    ("threshold", self.threshold),
                ]
            ),
        )
        return Section(
            head=head,
            entries=[column.to_entry() for column in self.columns.values()],
            headings=("method", "statistic", "p-value", "threshold", *extra, "reason"),
            item="column",
            blocking=self.blocks() and self.status is Status.FAIL,
            strict=strict and self.status not in (Status.PASS, Status.ERROR),
            properties={
                "status": self.status.value,
                "severity": self.severity.value,
                "statistic": _number(self.statistic, 17),
                "threshold": _number(self.threshold, 17),
                "p_value": _number(self.p_value, 17),
            },
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Rebuild a result from :meth:`to_dict` output.

        Each field's JSON type is checked (as for its columns, see
        :meth:`ColumnResult.from_dict`); keys it does not know are ignored.

        Raises
        ------
        ConfigError
            When a field is of the wrong JSON type (a text ``statistic``, a number for
            ``name``), or ``name`` or ``status`` is missing.

        Examples
        --------
        >>> from modelship.checks import CheckResult
        >>> result = CheckResult(name="x", status="fail", severity="advisory")
        >>> CheckResult.from_dict(result.to_dict()) == result
        True
        """
        with _json.malformed("check result", "write it with SuiteResult.to_json"):
            if not isinstance(data, Mapping):
                raise TypeError(f"a check result must be an object, got {type(data).__name__}")
            _refuse_non_finite(data, "check result")
            columns = []
            for key, column in object_field(data, "columns").items():
                read = ColumnResult.from_dict(column)
                if read.name != key:
                    raise ValueError(
                        f"check result field 'columns' holds under {key!r} the result of "
                        f"{read.name!r}: each column result is kept under its own name"
                    )
                columns.append(read)
            base = {
                name: value
                for name, value in _typed_fields(CheckResult, data, "check result").items()
                if name != "columns"
            }
            return cls(**base, columns=columns)


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


def _exception_text(exc: BaseException) -> str:
    """``str(exc)``, or its ``repr`` when its ``__str__`` raises (then empty: the type is
    enough to name it)."""
    for text in (str, repr):
        try:
            return text(exc)
        except Exception:  # an exception's own __str__ may raise anything
            continue
    return ""


def _check_name(check: object) -> str:
    """The check's ``name`` or ``__name__``, else its type's name (also when reading them
    raises: a check's properties are its own code)."""
    for attribute in ("name", "__name__"):
        try:
            name = getattr(check, attribute, None)
        except Exception:  # a property of a user's check may raise anything
            continue
        if isinstance(name, str) and name:
            return name
    return type(check).__name__


def _check_severity(check: object) -> Severity:
    """The check's ``severity`` (a :class:`Severity` or its value), else ``BLOCKING``."""
    try:
        return Severity(getattr(check, "severity", Severity.BLOCKING))
    except Exception:  # a property of a user's check may raise anything
        return Severity.BLOCKING


def _run_one(check: CheckLike) -> CheckResult:
    name = _check_name(check)
    severity = _check_severity(check)
    try:
        result = check.run() if isinstance(check, Check) else check()
    # A check that cannot be computed is an error, never a pass: also one that calls
    # sys.exit (a command-line tool wrapped as a check), which must not end the suite.
    except (Exception, SystemExit) as exc:
        return CheckResult.from_exception(name, exc, severity)
    if not isinstance(result, CheckResult):
        return CheckResult(
            name=name,
            status=Status.ERROR,
            severity=severity,
            reason=f"the check returned {type(result).__name__}, not a CheckResult",
        )
    # A result the JSON report cannot hold (details keyed by both 1 and "1") is an error
    # named after its check, not a suite whose --json report fails as a whole.
    # So is one whose to_dict raises anything else (a subclass's record fields holding
    # plain dicts, a user's own to_dict): the other checks' results are still reported.
    # KeyboardInterrupt and SystemExit are no Exception, and still end the suite.
    try:
        result.to_dict()
    except Exception as exc:
        message = " ".join(_exception_text(exc).split())
        if not isinstance(exc, ModelshipError):
            message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return CheckResult(
            name=name,
            status=Status.ERROR,
            severity=severity,
            reason=f"the check's result cannot be written as JSON: {message}",
        )
    return result


def _is_check(value: object) -> bool:
    """Whether ``value`` has a ``name`` and a ``run`` (a :class:`Check`), or cannot tell.

    On Python 3.10 and 3.11 ``isinstance`` against the protocol reads the attributes, so
    a property of a user's check runs here and may raise: such an object is taken as a
    check, and its own error is recorded when the suite runs it.
    """
    try:
        return isinstance(value, Check)
    except Exception:  # a property of a user's check may raise anything
        return True


_CHECK_HINT = (
    "a check is an object with a name and a run() method (DataDrift(...), "
    "schema.check(...)) or a callable taking no argument that returns a CheckResult"
)


def _suite_checks(checks: object) -> list[CheckLike]:
    """``checks`` as a list, refused with a :class:`~modelship.errors.ConfigError` when it
    is not an iterable of checks, before any check runs.

    Refused rather than recorded as ``error`` results: a result passed in place of its
    check (``check.run()``) would mix a result computed elsewhere into the suite, and an
    item that is no check at all is a mistake in the calling code, not a check that
    failed to compute (exit code 2 would send the reader to the data).
    """
    if isinstance(checks, CheckResult):
        raise ConfigError(
            f"run_suite() takes a list of checks, got the result {checks.name!r} of a check's "
            "run(): pass the check itself, not its result (drop the .run()), in a list: "
            "run_suite([check])"
        )
    # A text or a mapping is iterable, but over characters or keys: never checks.
    if not isinstance(checks, str | bytes | Mapping) and (_is_check(checks) or callable(checks)):
        raise ConfigError(
            f"run_suite() takes a list of checks, got one {type(checks).__name__} "
            f"{brief(checks)}: pass a list, run_suite([check]), even for a single check"
        )
    if isinstance(checks, str | bytes | Mapping) or not isinstance(checks, Iterable):
        raise ConfigError(
            f"run_suite() takes a list of checks, got {type(checks).__name__} "
            f"{brief(checks)}: pass a list, run_suite([check, ...]); {_CHECK_HINT}"
        )
    items = list(checks)
    for index, item in enumerate(items):
        if isinstance(item, CheckResult):
            raise ConfigError(
                f"checks[{index}] is the result {item.name!r} of a check's run(), not a "
                "check: pass the check, not its result (drop the .run()), so that "
                "run_suite runs it with the others"
            )
        if not (callable(item) or _is_check(item)):
            raise ConfigError(
                f"checks[{index}] is {type(item).__name__} {brief(item)}, not a check; "
                f"{_CHECK_HINT}"
            )
    return items


def _results(value: Iterable[CheckResult]) -> tuple[CheckResult, ...]:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | CheckResult):
        raise InvalidParameter("results", value, "a list of CheckResult (as run_suite builds)")
    results = tuple(value)
    for index, result in enumerate(results):
        if not isinstance(result, CheckResult):
            raise InvalidParameter(
                f"results[{index}]",
                result,
                "a CheckResult: build each verdict with CheckResult(...)",
            )
    return results


@attrs.frozen(repr=False)
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

    def __repr__(self) -> str:
        """One line: the verdict and the count of checks by status.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> SuiteResult([CheckResult(name="a", status="pass"),
        ...              CheckResult(name="b", status="fail")])
        <SuiteResult failed: 2 checks (1 pass, 1 fail)>
        """
        counts = [
            f"{n} {status.value}"
            for status in Status
            if (n := sum(result.status is status for result in self.results))
        ]
        noun = "check" if len(self.results) == 1 else "checks"
        tally = f" ({', '.join(counts)})" if counts else ""
        verdict = "passed" if self.passed else "failed"
        return f"<SuiteResult {verdict}: {len(self.results)} {noun}{tally}>"

    def _repr_html_(self) -> str:
        """A compact HTML table for notebooks: each check's status, reason and the columns
        that did not pass, then those columns' verdicts (see :func:`render_html`)."""
        return render_html(self.to_report())

    def to_pandas(self) -> Any:
        """One row per column result, as a pandas ``DataFrame`` (pandas is needed here only).

        Columns: ``check``, ``check_status``, then the fields of each column result
        (``name`` renamed ``column``, ``status``, ``reason``, ``method``, ``statistic``,
        ``p_value``, ``threshold``, and those of subclasses such as ``effect_size`` and
        ``drifted``), and its ``details`` as a dict.

        Raises
        ------
        MissingDependency
            When pandas is not installed.

        Examples
        --------
        >>> from modelship.checks import ColumnResult, CheckResult, SuiteResult
        >>> col = ColumnResult(name="age", status="fail", reason="drifted", statistic=0.3)
        >>> suite = SuiteResult([CheckResult(name="drift", status="fail", columns=[col])])
        >>> frame = suite.to_pandas()
        >>> frame[["check", "column", "status", "statistic"]].values.tolist()
        [['drift', 'age', 'fail', 0.3]]
        """
        try:
            pandas = importlib.import_module("pandas")
        except ImportError:
            raise MissingDependency(
                "SuiteResult.to_pandas needs pandas: pip install 'modelship[pandas]'"
            ) from None
        rows = []
        for result in self.results:
            for column in result.columns.values():
                fields = {f.name: getattr(column, f.name) for f in attrs.fields(type(column))}
                fields["status"] = column.status.value
                fields["details"] = dict(column.details)
                rows.append(
                    {
                        "check": result.name,
                        "check_status": result.status.value,
                        "column": fields.pop("name"),
                        **fields,
                    }
                )
        base = ["check", "check_status", "column"]
        base += [f.name for f in attrs.fields(ColumnResult) if f.name != "name"]
        return pandas.DataFrame(
            rows, columns=list(dict.fromkeys(base + [k for r in rows for k in r]))
        )

    @property
    def passed(self) -> bool:
        """``False`` when any check failed with blocking severity or could not be computed.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> SuiteResult([CheckResult(name="a", status="error")]).passed
        False
        """
        return self.passes()

    def passes(self, *, strict: bool = False) -> bool:
        """Whether the suite passes: no result blocks (see :meth:`CheckResult.blocks`);
        with ``strict=True`` (a ``--strict`` run) every result must be a pass.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> suite = SuiteResult([CheckResult(name="a", status="warn")])
        >>> suite.passes(), suite.passes(strict=True)
        (True, False)
        """
        return not any(result.blocks(strict=strict) for result in self.results)

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

    def to_dict(self, *, strict: bool = False) -> dict[str, Any]:
        """Return the JSON-compatible form that :meth:`to_json` writes.

        ``"passed"`` is :meth:`passes` with ``strict``: with ``strict=True`` (a
        ``--strict`` run) a warning makes it false.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> SuiteResult([]).to_dict()["schema_version"]
        1
        >>> SuiteResult([CheckResult(name="a", status="warn")]).to_dict(strict=True)["passed"]
        False
        """
        return {
            "schema_version": SCHEMA_VERSION,
            "passed": self.passes(strict=strict),
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
            When ``schema_version`` is missing or newer than this modelship reads, or the
            document is malformed (a field missing, of the wrong type or value).

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> suite = SuiteResult([CheckResult(name="a", status="pass")])
        >>> SuiteResult.from_dict(suite.to_dict()) == suite
        True
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"a suite result must be a mapping (what to_dict returns), got "
                f"{type(data).__name__}; read a JSON file with SuiteResult.from_json"
            )
        _json.check_schema_version(data, SCHEMA_VERSION, "suite result")
        results = data.get("results")
        if not isinstance(results, list):
            raise ConfigError("malformed suite result: it has no 'results' list")
        # A missing field, or one of the wrong JSON type or outside its values.
        read = []
        with _json.malformed("suite result", "write it with SuiteResult.to_json"):
            for index, result in enumerate(results):
                try:
                    read.append(_result_class(result).from_dict(result))
                except ConfigError as exc:  # said by the result's reader: where, then what
                    raise ConfigError(
                        f"malformed suite result: in results[{index}]: {exc}"
                    ) from exc
        return cls(read)

    def to_json(self, *, indent: int | None = 2, strict: bool = False) -> str:
        """Return the suite as JSON text, with a ``"schema_version"`` key.

        ``strict=True`` judges it as a ``--strict`` run does (see :meth:`to_dict`).

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
        check("indent", indent, None, int, str)
        return _json.dumps(self.to_dict(strict=strict), indent=indent)

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
        check("text", text, str, bytes, bytearray)
        return cls.from_dict(_json.loads(text, "suite result"))

    def to_junit(self, path: str | os.PathLike[str] | None = None, *, strict: bool = False) -> str:
        """Return JUnit XML of the suite, writing it to ``path`` when one is given.

        Each check is a ``<testsuite>`` holding one ``<testcase>`` for the check itself and
        one per column (named ``check[column]``). A blocking ``fail`` is a ``<failure>`` and
        an ``error`` an ``<error>``, each carrying the reason; warnings and advisory
        failures pass and carry their reason in ``<system-out>``. So the XML shows a
        failure exactly when the CI step should fail: with ``strict=True`` (a ``--strict``
        run) a warning is a ``<failure>`` too.

        ``path`` is replaced whole or not at all (see :func:`~modelship.report.write_text`).

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> xml = SuiteResult([CheckResult(name="a", status="fail", reason="bad")]).to_junit()
        >>> '<failure message="bad"' in xml
        True
        """
        text = render_junit(self.to_report(strict=strict))
        if path is not None:
            write_text(path, text)
        return text

    def to_markdown(self, *, strict: bool = False) -> str:
        """Return a Markdown summary fit for a pull-request comment or a job summary.

        One table row per check, then for each check with columns a collapsible table of
        its columns (those that did not pass first, 50 at most); a cell longer than 500
        characters is cut, and the text is at most 1,000,000 bytes (see
        :func:`~modelship.report.render_markdown`). Write it to the file named by
        ``$GITHUB_STEP_SUMMARY`` on GitHub. With ``strict=True`` (a ``--strict`` run) a
        warning fails the verdict.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> md = SuiteResult([CheckResult(name="a", status="pass", reason="ok")]).to_markdown()
        >>> md.splitlines()[0]
        '### modelship checks: ✅ passed'
        """
        return render_markdown(self.to_report(strict=strict))

    def to_report(self, *, strict: bool = False) -> Report:
        """The suite as a report: every format of :mod:`modelship.report` renders it.

        With ``strict=True`` the report is that of a ``--strict`` run: it passes only when
        every check passes, and a check's warning is a JUnit failure.

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> from modelship.report import render_text
        >>> report = SuiteResult([CheckResult(name="a", status="pass", reason="ok")]).to_report()
        >>> report.passed, [section.head.name for section in report.sections]
        (True, ['a'])
        """
        document: Mapping[str, Any]
        try:
            document = self.to_dict(strict=strict)
        except Exception:
            # A detail JSON cannot hold (keys 1 and "1"): only the JSON rendering reads
            # the document, so it alone fails; the other formats do not show details.
            document = _Document(lambda: self.to_dict(strict=strict))
        return Report(
            title="modelship checks",
            passed=self.passes(strict=strict),
            sections=[result.to_section(strict=strict) for result in self.results],
            headings=("status", "severity", "statistic", "threshold", "reason"),
            item="check",
            package="modelship.checks",
            document=document,
        )

    def summary(self, *, strict: bool = False) -> str:
        """Return a plain-text summary: one line per check, then the verdict (with
        ``strict=True``, that of a ``--strict`` run).

        Examples
        --------
        >>> from modelship.checks import CheckResult, SuiteResult
        >>> print(SuiteResult([CheckResult(name="a", status="pass", reason="ok")]).summary())
        PASS  a: ok
        passed (1 check: 1 pass)
        """
        return render_text(self.to_report(strict=strict))


class _Document(Mapping[str, Any]):
    """The JSON document of a suite JSON cannot hold (a detail with keys 1 and "1"),
    built when read: only the JSON rendering reads it, so that rendering alone fails,
    never the summary, Markdown, JUnit or HTML, which do not show details. A suite JSON
    holds gets a plain dict instead."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._built: dict[str, Any] | None = None

    def _document(self) -> dict[str, Any]:
        if self._built is None:
            self._built = self._build()
        return self._built

    def __getitem__(self, key: str) -> Any:
        return self._document()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._document())

    def __len__(self) -> int:
        return len(self._document())

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        # Copied or pickled as the dict it builds (a lambda cannot be pickled): the same
        # error as the JSON rendering, not one about the lambda.
        return (dict, (self._document(),))


SCHEMA_VERSION = 1
"""Version of the JSON layout written by :meth:`SuiteResult.to_json`."""

# Subclasses of CheckResult by their ``result_type`` tag, filled as they are defined.
_RESULT_TYPES: dict[str, type[CheckResult]] = {}


def _result_class(data: Any) -> type[CheckResult]:
    """The class that reads one result of a suite document, by its ``result_type`` tag.

    Without a tag (documents written before it, plain results) or with a tag this
    version does not know (a newer writer), the result is read as a plain CheckResult.
    """
    tag = data.get("result_type") if isinstance(data, Mapping) else None
    if tag is not None and not isinstance(tag, str):
        raise TypeError(f"'result_type' must be text, got {tag!r}")
    return _RESULT_TYPES.get(tag, CheckResult) if tag else CheckResult


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
        cores. With more than one worker, checks are sent to workers by pickling
        (cloudpickle), so lambdas work; a check that cannot be pickled (it holds a lock)
        runs in this process instead, and one whose result cannot be sent back is an
        ``error``. With one, the checks run in this process, one after the other, and
        their results are kept as they are.

    Returns
    -------
    SuiteResult

    Raises
    ------
    ConfigError
        Before any check runs, when ``checks`` is not an iterable (one check alone: pass
        ``[check]``), or one of its items is neither a check nor a callable: a
        :class:`CheckResult` (pass the check, not the result of its ``run()``), a name, or
        ``None``.

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

    A check's result is refused: the suite runs the checks itself.

    >>> run_suite([always_fails()])
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: checks[0] is the result 'always_fails' of a check's run(), ...
    """
    checks = _suite_checks(checks)
    # One worker (n_jobs None or 1 and no parallel_config backend saying otherwise: what
    # joblib would run in this process): nothing is sent, so nothing need be picklable.
    if len(checks) <= 1 or effective_n_jobs(n_jobs) == 1:
        return SuiteResult([_run_one(check) for check in checks])
    # A check that cannot be pickled (it holds a lock, a connection) would stop joblib
    # before any check ran: it runs here instead, in this process, as with n_jobs=1.
    sendable = [_picklable(check) for check in checks]
    sent = Parallel(n_jobs=n_jobs)(
        delayed(_run_sent)(check) for check, ok in zip(checks, sendable, strict=True) if ok
    )
    results = iter(sent)
    return SuiteResult(
        [
            next(results) if ok else _run_one(check)
            for check, ok in zip(checks, sendable, strict=True)
        ]
    )


class _Discard:
    """A file that keeps nothing: pickling into it only tells whether pickling works."""

    def write(self, data: Any) -> int:
        return len(data)


def _picklable(value: object) -> bool:
    """Whether joblib's workers can be sent ``value``: pickled by the pickler joblib's
    default backend (loky) sends tasks with, cloudpickle, into a file that keeps nothing
    (large buffers are written through, not copied)."""
    try:
        loky_reduction.dump(value, _Discard())
    except Exception:  # pickling runs the value's own __reduce__
        return False
    return True


def _run_sent(check: CheckLike) -> CheckResult:
    """:func:`_run_one` in a worker: a result that cannot be sent back is an ``error``."""
    result = _run_one(check)
    if _picklable(result):
        return result
    return CheckResult(
        name=_check_name(check),
        status=Status.ERROR,
        severity=_check_severity(check),
        reason=(
            "the check's result cannot be sent back from a worker (it cannot be pickled); "
            "give it plain figures and names, or run the suite with n_jobs=1"
        ),
    )
