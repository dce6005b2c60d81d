"""The data schema a model expects, inferred from its reference data."""

from __future__ import annotations

import datetime
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import attrs
import numpy as np
from numpy.typing import NDArray

from modelship import _json
from modelship._columns import (
    FLOAT_EXACT,
    column_array,
    is_missing,
    lazy_schema,
    named_items,
    row_labels_reason,
    series_name,
    split_pandas_index,
)
from modelship._documents import DocumentKind
from modelship._params import (
    Constraint,
    Constraints,
    Interval,
    MappingOf,
    Names,
    Options,
    check_parameters,
    validate_params,
)
from modelship._shown import brief, type_name
from modelship.checks._figures import percents
from modelship.checks._records import ROUNDING_TOLERANCE, check_field
from modelship.checks._result import (
    CheckResult,
    ColumnResult,
    Severity,
    Status,
)
from modelship.checks._tabular import (
    KINDS,
    Column,
    ColumnKind,
    LeftOut,
    RawColumn,
    Table,
    as_table,
    datetime_zone,
    dtype_kind,
    make_column,
    match_flags,
    nullable_dtypes,
    parse_kinds,
    raw_array,
    raw_columns,
    rows_dtype,
)
from modelship.errors import (
    CheckInputError,
    ColumnMismatch,
    ConfigError,
    EmptyData,
    InvalidParameter,
    ModelshipError,
)

__all__ = ["FINDINGS", "ColumnSchema", "DatetimeSchema", "Schema", "SchemaCheck"]

SCHEMA_VERSION = 1
# The document key saying lists of rows were typed column by column when it was written.
_ROW_LISTS = "row_lists"
_BY_COLUMN = "by_column"

#: What ``max_categories`` allows: 0 records no category list at all.
MAX_CATEGORIES = Interval(int, 0, None)

FINDINGS: Mapping[str, Severity] = {
    "missing_column": Severity.BLOCKING,
    "extra_column": Severity.ADVISORY,
    "kind_changed": Severity.BLOCKING,
    "zone_changed": Severity.BLOCKING,
    "dtype_changed": Severity.ADVISORY,
    "new_categories": Severity.ADVISORY,
    "out_of_range": Severity.ADVISORY,
    "null_rate": Severity.ADVISORY,
    "inf_rate": Severity.ADVISORY,
    "missing_rate": Severity.BLOCKING,
}
"""What schema validation looks for, and the default severity of each finding.

``missing_column``: a column of the schema is absent. ``extra_column``: a column the schema
does not know. ``kind_changed``: the column can no longer be read as its kind (text in a
numeric column). ``zone_changed``: date-times with a time zone where the reference's had
none, or the reverse (naive ones are read as UTC, so the same events would be hours apart;
two different zones, ``Europe/Paris`` and ``UTC``, are the same instants and no finding).
``dtype_changed``: the dtype differs (``int64`` became ``float64``).
``new_categories``: categories the reference never had. ``out_of_range``: more than
``range_tolerance`` of the finite values lie outside the reference's finite [min, max]
(infinities are ``inf_rate``'s, and :class:`DataDrift`'s). ``null_rate``:
missing values in a column that had none, or a null rate up by more than
``null_rate_tolerance``. ``inf_rate``: the same of a numeric column's share of infinite
values (``+inf``, ``-inf``), with the same ``null_rate_tolerance`` (a schema written
before the rate was recorded has none: no finding). ``missing_rate``: more than
``max_missing_rate`` (default 50%) of the column's values are missing or non-finite (NaN,
infinite), at least half of that above the reference's share: a column entirely ``+inf``,
or 90% NaN where the reference had none.
"""

MAX_MISSING_RATE = 0.5
"""Default ``max_missing_rate`` of :meth:`Schema.validate` and :class:`DataDrift`."""

EXCLUDED = "excluded"
"""Why a column in :attr:`Schema.left_out` is there when the user left it out."""


def _slack(before: float, after: float, limit: float) -> float:
    return ROUNDING_TOLERANCE * max(abs(before), abs(after), abs(limit))


def rate_increase_reaches(before: float, after: float, limit: float) -> bool:
    """Whether the share ``after`` is at least ``limit`` above ``before``, as the shares
    read (an exact difference of ``limit`` reaches it, whatever the starting share).

    Examples
    --------
    >>> from modelship.checks._schema import rate_increase_reaches
    >>> 0.7 - 0.45 >= 0.25, rate_increase_reaches(0.45, 0.7, 0.25)
    (False, True)
    >>> rate_increase_reaches(0.45, 0.69, 0.25)
    False
    """
    return after - before >= limit - _slack(before, after, limit)


def rate_increase_exceeds(before: float, after: float, limit: float) -> bool:
    """Whether the share ``after`` is more than ``limit`` above ``before``, as the shares
    read (an exact difference of ``limit`` does not exceed it, whatever the start).

    Examples
    --------
    >>> from modelship.checks._schema import rate_increase_exceeds
    >>> 0.4 - 0.35 > 0.05, rate_increase_exceeds(0.35, 0.4, 0.05)
    (True, False)
    >>> rate_increase_exceeds(0.35, 0.41, 0.05)
    True
    """
    return after - before > limit + _slack(before, after, limit)


def missing_rate_finding(before: float, after: float, limit: float) -> str | None:
    """Why a share of missing or non-finite values went too far, or ``None``.

    Too far: above ``limit``, and at least ``limit / 2`` above the reference's share (an
    exact difference of ``limit / 2`` is enough, whatever the starting share: see
    :func:`rate_increase_reaches`). Shared by :class:`SchemaCheck` and :class:`DataDrift`.

    Examples
    --------
    >>> from modelship.checks._schema import missing_rate_finding
    >>> missing_rate_finding(0.0, 0.9, 0.5)
    'missing or non-finite rate 0.0% -> 90.0%, above max_missing_rate 50.0%'
    >>> missing_rate_finding(0.45, 0.6, 0.5) is None
    True
    >>> missing_rate_finding(0.45, 0.7, 0.5) is None
    False
    """
    if after > limit and rate_increase_reaches(before, after, limit / 2):
        shown_before, shown_after, shown_limit = rates(before, after, limit)
        return (
            f"missing or non-finite rate {shown_before} -> {shown_after}, above "
            f"max_missing_rate {shown_limit}"
        )
    return None


def rates(before: float, after: float, limit: float) -> tuple[str, str, str]:
    """A share before and after, and the limit it is held to, as printed in a reason: with
    the decimals it takes for the printed shares to compare as the numbers do (50.01% is
    not "50.0%, above 50.0%").

    Examples
    --------
    >>> from modelship.checks._schema import rates
    >>> rates(0.0, 0.5001, 0.5)
    ('0.00%', '50.01%', '50.00%')
    """
    before_text, after_text, limit_text = percents(
        [before, after, limit], [(0, 1), (1, 2)], decimals=1, strict=True, readable=True
    )
    return before_text, after_text, limit_text


_MAX_LISTED = 20  # new categories named in a result's details


# Floating-point dtypes narrower than float64, by name: a range recorded from such a column
# is the number written (0.1), not its binary value (0.10000000149011612), and values are
# compared with it at the narrower precision of the schema's dtype and the data's.
_NARROW_FLOATS: Mapping[str, type[np.floating[Any]]] = {
    "float16": np.float16,
    "float32": np.float32,
}


def decimal_bound(value: float | None, dtype: str) -> float | None:
    """A bound of a ``float16`` or ``float32`` column as the shortest decimal that reads
    back as the same value at that precision; an integer bound as the float64 nearest it
    (what a float64 summary of the column holds); any other bound unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> float(np.float32(0.1)), decimal_bound(float(np.float32(0.1)), "float32")
    (0.10000000149011612, 0.1)
    >>> decimal_bound(0.10000000149011612, "float64")
    0.10000000149011612
    >>> decimal_bound(2**53 + 1, "int64")
    9007199254740992.0
    """
    if isinstance(value, int):
        return float(value)
    narrow = _NARROW_FLOATS.get(dtype)
    if value is None or narrow is None:
        return value
    with np.errstate(over="ignore"):
        at_precision = narrow(value)
    if not np.isfinite(at_precision):  # beyond the dtype's range: not one of its values
        return value
    return float(str(at_precision))


def _integer_dtype(dtype: str) -> bool:
    """Whether ``dtype`` names a NumPy integer dtype (``"int64"``, ``"uint8"``)."""
    try:
        return np.dtype(dtype).kind in "iu"
    except TypeError:  # "str", or a name NumPy does not know
        return False


def _range_bound(value: float | None, dtype: str, outward: int = 0) -> float | None:
    """A bound recorded for a column of ``dtype``: an integer column's as the integer it
    is (exact in JSON, where a float64 is not beyond 2**53), a float16 or float32
    column's as its shortest decimal (see :func:`decimal_bound`), any other unchanged.

    An integer column's bound given as a float of 2**53 or more is that integer rounded
    to float64, which may be past the column's values (``2**62 + 1000`` reads as
    ``2**62 + 1024``): with ``outward`` (-1 for a minimum, 1 for a maximum) it is the
    integer furthest that way that rounds to the same float, so it holds every integer
    the float may have come from (and a profile's float64 summary still reads it as its
    end), kept within the dtype's integers (``2**64 - 1`` reads as ``2**64``).

    Examples
    --------
    >>> _range_bound(2.0**64, "uint64", 1)
    18446744073709551615
    >>> _range_bound(2.0**62 + 1024, "int64", -1)
    4611686018427388417
    >>> _range_bound(3.0, "int64", -1)
    3
    """
    if value is None:
        return None
    if _integer_dtype(dtype):
        if isinstance(value, float) and value.is_integer():
            bound = int(value)
            if outward and abs(value) >= FLOAT_EXACT:
                # Halfway to the next float that way, or one short of it when halfway
                # rounds to that float (ties go to the even one).
                middle = (bound + int(math.nextafter(value, outward * math.inf))) // 2
                bound = middle if float(middle) == value else middle - outward
            info = np.iinfo(np.dtype(dtype))
            return min(max(bound, int(info.min)), int(info.max))
        return value
    return decimal_bound(value, dtype)


def _at_dtype(column: ColumnSchema, dtype: str) -> ColumnSchema:
    """``column`` recorded as of ``dtype``, its range at that dtype's precision."""
    return attrs.evolve(
        column,
        dtype=dtype,
        minimum=_range_bound(column.minimum, dtype, -1),
        maximum=_range_bound(column.maximum, dtype, 1),
    )


#: Integer bounds a schema holds: those of NumPy's 64-bit integers, signed or not.
_INTEGER_BOUNDS = (-(2**63), 2**64 - 1)


def _as_number(field: str, value: Any, *, integers: bool) -> float:
    """``value`` as a float, or with ``integers`` an integer as itself; a
    :class:`ConfigError` naming ``field`` for anything else."""
    if integers and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        number = int(value)
        if not _INTEGER_BOUNDS[0] <= number <= _INTEGER_BOUNDS[1]:
            raise ConfigError(
                f"the column schema's {field!r} {brief(number)} is beyond the 64-bit "
                "integers a column holds; infer the schema again"
            )
        return number
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int of 10**400
        raise ConfigError(
            f"the column schema's {field!r} must be a number, got {brief(value)}; infer "
            "the schema again"
        ) from None


# One named converter per field (mypy's attrs plugin takes no factory's), each naming it.
def _null_rate(value: Any) -> float:
    return _as_number("null_rate", value, integers=False)


def _inf_rate(value: Any) -> float:
    return _as_number("inf_rate", value, integers=False)


def _minimum(value: Any) -> float | None:
    return None if value is None else _as_number("minimum", value, integers=True)


def _maximum(value: Any) -> float | None:
    return None if value is None else _as_number("maximum", value, integers=True)


# A column schema built by hand from pandas or NumPy statistics holds NumPy scalars
# (``df.x.isna().any()`` is ``np.True_``, ``df.x.dtype`` a ``np.dtype``): taken as the
# Python values they stand for. Anything else is left as given, for _check_types to refuse.
def _text(value: Any) -> Any:
    return str(value) if isinstance(value, str) else value


def _dtype(value: Any) -> Any:
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, type) and issubclass(value, np.generic):  # np.float64
        return str(np.dtype(value))
    return _text(value)


def _boolean(value: Any) -> Any:
    return bool(value) if isinstance(value, (bool, np.bool_)) else value


def _type_name(value: Any) -> str:
    """The type of ``value`` as a message names it: NumPy's ``bool`` as ``numpy.bool``,
    never as Python's ``bool`` it is not."""
    return type_name(type(value))


def _kind(value: Any) -> ColumnKind:
    try:
        return ColumnKind(value)
    except ValueError:
        raise ConfigError(
            f"the column schema's 'kind' must be one of {[kind.value for kind in ColumnKind]}, "
            f"got {brief(value)}"
        ) from None


def _labels(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | np.ndarray):
        raise ConfigError(
            f"the column schema's 'categories' must be a list of strings or None, got "
            f"{brief(value)}"
        )
    labels = tuple(str(label) if isinstance(label, str) else label for label in value)
    odd = [label for label in labels if not isinstance(label, str)]
    if odd:
        raise ConfigError(
            f"the column schema's 'categories' must be strings (categories are compared as "
            f"text), got {brief(odd[0])}"
        )
    repeated = sorted(label for label, count in Counter(labels).items() if count > 1)
    if repeated:
        raise ConfigError(
            f"the column schema's 'categories' list {brief(repeated)} more than once; "
            "infer the schema again"
        )
    return labels


def _finite_bound(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ConfigError(
            f"the column schema's {attribute.name!r} must be a finite number or None, got "
            f"{value!r}: the range check compares values with it; infer the schema again"
        )


def _check_fields(
    entry: ColumnSchema | DatetimeSchema,
    kind: str,
    types: tuple[tuple[str, type], ...],
    advice: str = "",
) -> None:
    """Refuse a ``kind`` schema entry whose ``types`` fields, zone or shares (``null_rate``,
    and ``inf_rate`` if it has one) are of the wrong type or out of range."""
    for field, expected in types:
        value = getattr(entry, field)
        if not isinstance(value, expected):
            raise ConfigError(
                f"the {kind} schema's {field!r} must be {expected.__name__}, got "
                f"{_type_name(value)} {brief(value)}{advice}"
            )
    if entry.zone is not None and not isinstance(entry.zone, str):
        raise ConfigError(
            f"the {kind} schema's 'zone' must be str or None, got "
            f"{_type_name(entry.zone)} {brief(entry.zone)}{advice}"
        )
    for rate in ("null_rate", "inf_rate"):
        value = getattr(entry, rate, 0.0)
        if not 0 <= value <= 1:
            raise ConfigError(
                f"{kind} {entry.name!r}: {rate!r} must be a share in [0, 1], got {value!r}{advice}"
            )


@attrs.frozen(kw_only=True)
class ColumnSchema:
    """What the reference showed of one column.

    Parameters
    ----------
    name : str
    kind : ColumnKind or str
        ``numeric`` or ``categorical``.
    dtype : str
        The dtype as given (``"int64"``, ``"float32"``, ``"bool"``, ``"str"``...); a
        NumPy dtype (``df.x.dtype``) is taken by its name.
    nullable : bool
        Whether the reference had missing values in this column (a NumPy boolean,
        ``df.x.isna().any()``, too).
    null_rate : float
        The reference's share of missing values.
    minimum, maximum : int or float, optional
        The finite range of a numeric column (``None`` when it had no finite value, and
        for a categorical column); a non-finite bound is a ``ConfigError``. An integer
        column's range is recorded as integers, exactly (schemas written before hold
        floats, which compare as they did); a ``float32`` or ``float16`` column's as the
        shortest decimal that reads back as the same value at that precision (``0.1``,
        not ``0.10000000149011612``).
    inf_rate : float
        The reference's share of infinite values (0 for categorical columns; schemas
        written before it was recorded read as 0).
    categories : tuple of str, optional
        The categories of a categorical column, each once; ``None`` when there were
        more than the ``max_categories`` given to :meth:`Schema.infer` (then new
        categories are not looked for), and for a numeric column.
    zone : str, optional
        The time zone of a column of date-times (declared numeric): its name
        (``"America/New_York"``, ``"UTC"``), ``""`` for date-times without one; ``None``
        (not written) for any other column, and unknown for a schema written before zones
        were recorded (then no ``zone_changed`` finding).

    Raises
    ------
    ConfigError
        For a field of the wrong type or out of range (an unknown kind, a rate outside
        [0, 1], a minimum above the maximum), or one that does not fit the kind
        (categories of a numeric column, a range of a categorical one).

    Examples
    --------
    >>> from modelship.checks import ColumnSchema
    >>> ColumnSchema(name="age", kind="numeric", dtype="int64", nullable=False,
    ...              null_rate=0.0, minimum=18, maximum=90).kind.value
    'numeric'
    """

    name: str = attrs.field(converter=_text)
    kind: ColumnKind = attrs.field(converter=_kind)
    dtype: str = attrs.field(converter=_dtype)
    nullable: bool = attrs.field(converter=_boolean)
    null_rate: float = attrs.field(converter=_null_rate)
    # An int for an integer column (float annotates both, as typing has it).
    minimum: float | None = attrs.field(default=None, converter=_minimum, validator=_finite_bound)
    maximum: float | None = attrs.field(default=None, converter=_maximum, validator=_finite_bound)
    categories: tuple[str, ...] | None = attrs.field(default=None, converter=_labels)
    inf_rate: float = attrs.field(default=0.0, converter=_inf_rate)
    zone: str | None = None
    # False for a document written before inf_rate was recorded (read as 0): the
    # reference's share of infinities is unknown, and no inf_rate finding compares it.
    _inf_rate_recorded: bool = attrs.field(default=True, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._check_types()
        self._check_kind_fields()
        # What :meth:`of` records can never contradict itself: nullable is "a missing value
        # was seen", null_rate their share, and missing and infinite values are disjoint.
        if self.nullable != (self.null_rate > 0):
            raise ConfigError(
                f"column {self.name!r}: 'nullable' {self.nullable} contradicts 'null_rate' "
                f"{self.null_rate!r} (nullable is whether the reference had missing values, "
                "so it is true exactly when the null rate is above 0); infer the schema again"
            )
        total = self.null_rate + self.inf_rate
        if total > 1 + _slack(self.null_rate, self.inf_rate, 1.0):
            raise ConfigError(
                f"column {self.name!r}: 'null_rate' {self.null_rate!r} plus 'inf_rate' "
                f"{self.inf_rate!r} exceed 1 (a value is missing or infinite, not both); "
                "infer the schema again"
            )

    def _check_types(self) -> None:
        _check_fields(self, "column", (("name", str), ("dtype", str), ("nullable", bool)))
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ConfigError(
                f"column {self.name!r}: 'minimum' {self.minimum!r} is above 'maximum' "
                f"{self.maximum!r}; infer the schema again"
            )

    def _check_kind_fields(self) -> None:
        # What :meth:`of` records of each kind: a field of the other kind would never be
        # looked at, so a document that has one was not written by it.
        if self.kind is ColumnKind.NUMERIC:
            odd = ["categories"] if self.categories is not None else []
        else:
            odd = [field for field in ("minimum", "maximum") if getattr(self, field) is not None]
            odd += ["inf_rate"] if self.inf_rate else []
            odd += ["zone"] if self.zone is not None else []
        if odd:
            raise ConfigError(
                f"column {self.name!r} is {self.kind.value} but has {odd} (fields of the "
                "other kind); infer the schema again"
            )
        if self.kind is ColumnKind.NUMERIC:
            self._check_range_recorded()

    def _check_range_recorded(self) -> None:
        # What :meth:`of` records of a numeric column: both bounds when it had a finite
        # value, neither when every value was missing or infinite. A range with a bound
        # left out (or none, with finite values) would switch the range check off.
        bounds = [field for field in ("minimum", "maximum") if getattr(self, field) is None]
        if len(bounds) == 1:
            raise ConfigError(
                f"column {self.name!r} has {bounds[0]!r} None but not the other bound (a "
                "range has both bounds, or neither when the reference had no finite value); "
                "infer the schema again"
            )
        unusable = self.null_rate + self.inf_rate
        if bounds and unusable < 1 - _slack(self.null_rate, self.inf_rate, 1.0):
            raise ConfigError(
                f"column {self.name!r} is numeric with no 'minimum' nor 'maximum', yet "
                f"'null_rate' {self.null_rate!r} plus 'inf_rate' {self.inf_rate!r} is below "
                "1: the reference had finite values, whose range the schema records; infer "
                "the schema again"
            )

    @classmethod
    @validate_params(max_categories=MAX_CATEGORIES)
    def of(
        cls,
        column: Column,
        *,
        max_categories: int = 1000,
        counts: tuple[dict[str, int], int] | None = None,
    ) -> ColumnSchema:
        """Describe ``column``; ``counts`` reuses category counts already computed.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.checks import ColumnSchema
        >>> from modelship.checks._tabular import make_column
        >>> ColumnSchema.of(make_column("x", np.array([1.0, np.nan, 3.0]))).maximum
        3.0
        """
        n = len(column)
        infinite = 0
        if column.kind is ColumnKind.NUMERIC:
            missing, infinite = column.counts_of_special()
            values = column.values
            finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
            low: float | None = None
            high: float | None = None
            if column.integers is not None:  # a nullable column of integers past 2**53
                present = [
                    int(value) for value in column.integers.tolist() if not is_missing(value)
                ]
                low, high = min(present), max(present)  # exactly, as read
            elif len(finite) and values.dtype.kind in "iu":
                low, high = int(finite.min()), int(finite.max())  # exactly, beyond 2**53
            elif len(finite):
                low, high = float(finite.min()), float(finite.max())
            return cls(
                name=column.name,
                kind=column.kind,
                dtype=column.dtype,
                nullable=missing > 0,
                null_rate=missing / n,
                minimum=_range_bound(low, column.dtype, -1),
                maximum=_range_bound(high, column.dtype, 1),
                inf_rate=infinite / n,
            )
        category_counts, missing = counts if counts is not None else column.category_counts()
        categories = tuple(category_counts) if len(category_counts) <= max_categories else None
        return cls(
            name=column.name,
            kind=column.kind,
            dtype=column.dtype,
            nullable=missing > 0,
            null_rate=missing / n,
            categories=categories,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict.

        Examples
        --------
        >>> from modelship.checks import ColumnSchema
        >>> ColumnSchema(name="c", kind="categorical", dtype="str", nullable=True,
        ...              null_rate=0.5, categories=("a",)).to_dict()["categories"]
        ['a']
        """
        document = attrs.asdict(
            self, recurse=False, filter=lambda field, _: field.name != "_inf_rate_recorded"
        )
        if not self._inf_rate_recorded:
            del document["inf_rate"]  # still unknown when read back
        if self.zone is None:
            del document["zone"]  # not date-times, or unknown: as documents written before
        document["kind"] = self.kind.value
        if self.categories is not None:
            document["categories"] = list(self.categories)
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSchema:
        """Rebuild from :meth:`to_dict` output.

        Examples
        --------
        >>> from modelship.checks import ColumnSchema
        >>> col = ColumnSchema(name="c", kind="numeric", dtype="float64", nullable=False,
        ...                    null_rate=0.0, minimum=0.0, maximum=1.0)
        >>> ColumnSchema.from_dict(col.to_dict()) == col
        True

        Raises
        ------
        ConfigError
            When a field is missing, of the wrong JSON type (``"false"`` for a boolean,
            text for the list of categories), out of range (a rate outside [0, 1], a
            minimum above the maximum, a non-finite minimum or maximum, a number too large
            for its field) or of the other kind (categories of a numeric column, a range
            of a categorical one, a category listed twice).
        """
        optional: dict[str, Any] = {"inf_rate": 0.0, "zone": None}
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            raise ConfigError(f"malformed column schema {data!r}: 'name' must be a string")
        try:
            given = [field for field in attrs.fields(cls) if field.init]
            fields = {
                field.name: data[field.name] if field.name in data else optional[field.name]
                for field in given
            }
            for field in given:
                if isinstance(field.type, str):
                    check_field(repr(field.name), field.type, fields[field.name])
            # Ranges, rates and fields that do not fit the kind: the constructor refuses
            # them, naming the field (a ConfigError, which is a ValueError).
            column = cls(**fields)
            if "inf_rate" not in data:
                object.__setattr__(column, "_inf_rate_recorded", False)
            return column
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"malformed column schema {dict(data)!r}: {exc}; write it with Schema.to_json"
            ) from None


def _share(value: Any) -> float:
    return _as_number("null_rate", value, integers=False)


@attrs.frozen(kw_only=True)
class DatetimeSchema:
    """What the reference showed of a datetime column not declared numeric.

    Such a column has no range in the schema (declare it numeric, ``kinds=``, to compare
    its time stamps), but validation still finds it missing (``missing_column``), turned
    into text or numbers (``kind_changed``), made naive from zoned or the reverse
    (``zone_changed``), or emptier (``null_rate``, ``missing_rate``). The zone of an
    object column of ``datetime.datetime`` values (reference or current) is neither
    recorded nor compared: give a ``datetime64``, pandas, polars or arrow date-time column
    for it to be checked.

    Parameters
    ----------
    name : str
    dtype : str
        The dtype its date-times read as (``"datetime64[us]"``).
    zone : str, optional
        Its time zone's name, ``""`` for naive date-times, ``None`` when unknown (no value
        to tell): then no ``zone_changed`` finding.
    null_rate : float
        The reference's share of missing values (``NaT``).

    Raises
    ------
    ConfigError
        For a field of the wrong type or out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> from modelship.checks import Schema
    >>> frame = pd.DataFrame({"x": [1.0, 2.0],
    ...                       "t": pd.date_range("2024-01-01", periods=2, tz="UTC")})
    >>> column = Schema.infer(frame).datetimes[0]
    >>> column.name, column.dtype.startswith("datetime64"), column.zone, column.null_rate
    ('t', True, 'UTC', 0.0)
    """

    name: str = attrs.field(converter=_text)
    dtype: str = attrs.field(converter=_dtype)
    zone: str | None = None
    null_rate: float = attrs.field(default=0.0, converter=_share)

    def __attrs_post_init__(self) -> None:
        _check_fields(
            self, "datetime column", (("name", str), ("dtype", str)), "; infer the schema again"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict (``zone`` written only when known).

        Examples
        --------
        >>> DatetimeSchema(name="t", dtype="datetime64[us]", zone="").to_dict()
        {'name': 't', 'dtype': 'datetime64[us]', 'null_rate': 0.0, 'zone': ''}
        """
        document: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "null_rate": self.null_rate,
        }
        if self.zone is not None:
            document["zone"] = self.zone
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatetimeSchema:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            When a field is missing, of the wrong JSON type or out of range.

        Examples
        --------
        >>> column = DatetimeSchema(name="t", dtype="datetime64[ns]", zone="UTC")
        >>> DatetimeSchema.from_dict(column.to_dict()) == column
        True
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            raise ConfigError(
                f"malformed datetime column schema {brief(data)}: 'name' must be a string; "
                "write it with Schema.to_json"
            )
        try:
            check_field("'dtype'", "str", data["dtype"])
            check_field("'null_rate'", "float", data["null_rate"])
            zone = data.get("zone")
            check_field("'zone'", "str | None", zone)
            return cls(
                name=data["name"], dtype=data["dtype"], zone=zone, null_rate=data["null_rate"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"malformed datetime column schema {dict(data)!r}: {exc}; write it with "
                "Schema.to_json"
            ) from None


_Entry = TypeVar("_Entry", ColumnSchema, DatetimeSchema)


def _entries(value: Iterable[_Entry], kind: type[_Entry], what: str) -> tuple[_Entry, ...]:
    """A schema's ``columns`` or ``datetimes`` (``what``): each a ``kind``, no name twice."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError(
            f"a schema's {what} must be a list of {kind.__name__}, got {type(value).__name__}"
        )
    columns = tuple(value)
    odd = [column for column in columns if not isinstance(column, kind)]
    if odd:
        raise ConfigError(
            f"a schema's {what} must be {kind.__name__} objects, got {type(odd[0]).__name__} "
            f"{brief(odd[0])}; read a schema document with Schema.from_dict"
        )
    names = [column.name for column in columns]
    if len(set(names)) != len(names):
        column = "datetime column" if kind is DatetimeSchema else "column"
        raise ConfigError(f"a schema lists a {column} twice: {names}")
    return columns


def _datetime_columns(value: Iterable[DatetimeSchema]) -> tuple[DatetimeSchema, ...]:
    return _entries(value, DatetimeSchema, "datetimes")


def _columns(value: Sequence[ColumnSchema]) -> tuple[ColumnSchema, ...]:
    return _entries(value, ColumnSchema, "columns")


def _is_boolean(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(
            f"a schema's {attribute.name!r} must be True or False, got {_type_name(value)} "
            f"{brief(value)}"
        )


def _left_out(value: Mapping[str, str] | None) -> dict[str, str]:
    return {} if value is None else {str(name): str(why) for name, why in value.items()}


@attrs.frozen
class Schema:
    """Column names, kinds, dtypes, nullability, ranges and category sets of a data set.

    Build it with :meth:`infer` from the reference data, store it with :meth:`to_json`, and
    check new data with :meth:`validate` (or put :meth:`check` in a suite).

    ``left_out`` names the reference's columns not recorded and why (``"excluded"`` by
    the user, or the reason a datetime column was left out): validation finds them
    neither missing nor extra. Schemas written before it was recorded read with none.

    ``datetimes`` records each datetime column left out (not declared numeric) without a
    range: :meth:`validate` finds it missing, turned into text or numbers
    (``kind_changed``), made naive from zoned or the reverse (``zone_changed``; another
    zone is the same instants and passes), or emptier (``null_rate``, ``missing_rate``).
    Schemas written before it was recorded read with none, and check no datetime column.

    ``rows_read_whole`` is true for a schema read from a document written before lists
    of rows were typed column by column (one without ``"row_lists": "by_column"`` whose
    columns all have one dtype, as a whole-list reading gave them; so too one pickled
    before the field existed): such a version gave every column of
    ``[(True, 5), (False, 7)]`` the dtype NumPy gives the rows read whole (``int64``),
    and the same rows still match it.
    Any other schema judges a list of rows column by column, as the same columns in a
    dict; ``attrs.evolve(schema, rows_read_whole=False)`` opts an old one in. It is how
    rows are read, not what the schema holds: not compared, not hashed.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks import Schema
    >>> reference = {"age": np.array([23, 35, 51, 44]),
    ...              "plan": np.array(["basic", "pro", "basic", "pro"])}
    >>> schema = Schema.infer(reference)
    >>> schema["age"].minimum, schema["plan"].categories
    (23, ('basic', 'pro'))
    >>> current = {"age": np.array([30, 99]), "plan": np.array(["basic", "enterprise"])}
    >>> result = schema.validate(current)
    >>> result.status.value, result.columns["plan"].reason
    ('warn', "new categories: 'enterprise'")
    >>> Schema.from_json(schema.to_json()) == schema
    True
    >>> written_before = {"schema_version": 1, "columns": []}  # no "row_lists"
    >>> schema.rows_read_whole, Schema.from_dict(written_before).rows_read_whole
    (False, True)
    """

    columns: tuple[ColumnSchema, ...] = attrs.field(converter=_columns)
    # Not hashed (a dict): equal schemas still hash alike, by their columns.
    left_out: Mapping[str, str] = attrs.field(
        factory=dict, converter=_left_out, kw_only=True, hash=False
    )
    # How lists of rows are read, not what the data holds: not compared, not hashed.
    rows_read_whole: bool = attrs.field(
        default=False, kw_only=True, converter=_boolean, validator=_is_boolean, eq=False
    )
    datetimes: tuple[DatetimeSchema, ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_datetime_columns
    )

    def __repr__(self) -> str:
        """One line: how many columns of each kind, and how many left out.

        Not the fields: a column's categories alone can be thousands of names
        (:meth:`to_dict` has them all).

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> Schema.infer({"age": [30.0, 41.0, 52.0], "income": [1.0, 2.0, 3.0],
        ...               "plan": ["a", "b", "a"]})
        <Schema 3 columns (2 numeric, 1 categorical)>
        """
        numeric = sum(column.kind is ColumnKind.NUMERIC for column in self.columns)
        counts = f"{numeric} numeric, {len(self.columns) - numeric} categorical"
        left_out = f", {len(self.left_out)} left out" if self.left_out else ""
        return f"<Schema {len(self.columns)} columns ({counts}){left_out}>"

    def __getstate__(self) -> dict[str, Any]:
        """The fields by name, as attrs pickles a slotted class."""
        return {field.name: getattr(self, field.name) for field in attrs.fields(type(self))}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Unpickle; a schema pickled before ``rows_read_whole`` existed reads with it as
        its document would (:meth:`from_dict`): true (the old reading of a list of rows)
        when its columns share one dtype, false when they differ (read whole, every
        column got one dtype: such a schema was not written so)."""
        if "rows_read_whole" not in state:
            dtypes = {column.dtype for column in state.get("columns", ())}
            state = {**state, "rows_read_whole": len(dtypes) <= 1}
        state = {"datetimes": (), **state}  # pickled before datetime columns were recorded
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def __attrs_post_init__(self) -> None:
        both = sorted(set(self.names) & set(self.left_out))
        if both:
            raise ConfigError(
                f"a schema both records and leaves out the column(s) {both}; a column is "
                "one or the other (infer the schema again)"
            )
        both = sorted(set(self.names) & {column.name for column in self.datetimes})
        if both:
            raise ConfigError(
                f"a schema records the column(s) {both} both with a kind and as datetime "
                "columns left out; a column is one or the other (infer the schema again)"
            )

    @classmethod
    @validate_params(
        columns=(None, Names()),
        exclude=(None, Names()),
        kinds=(None, KINDS),
        categorical_max_unique=(None, Interval(int, 1, None)),
        max_categories=MAX_CATEGORIES,
    )
    def infer(  # noqa: PLR0913 - keyword-only options of the public inference, each documented
        cls,
        reference: Any,
        *,
        columns: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        kinds: Mapping[str, ColumnKind | str] | None = None,
        categorical_max_unique: int | None = None,
        max_categories: int = 1000,
    ) -> Schema:
        """Record the schema of ``reference``.

        Parameters
        ----------
        reference
            Tabular data: a dict of 1-D arrays, a 2-D or structured numpy array, or a
            pandas or polars data frame.
        columns : sequence of str, optional
            For a plain array the names of its columns, else the columns to record.
        exclude : sequence of str, optional
            Columns left out (identifiers, timestamps), as :class:`DataDrift` leaves them;
            recorded in :attr:`left_out` with the datetime columns left out, so that
            validation finds them neither missing nor extra (a datetime column not
            excluded is still recorded in :attr:`datetimes`, and checked).
        kinds : mapping, optional
            ``{column: "numeric" | "categorical"}`` overriding the kind implied by dtype.
        categorical_max_unique : int, optional
            Numeric columns with at most this many distinct values are categorical.
        max_categories : int
            A categorical column with more categories has its category set left
            unrecorded.

        Raises
        ------
        EmptyData, CheckInputError
            When ``reference`` has no rows or a column cannot be read.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.checks import Schema
        >>> Schema.infer(np.zeros((3, 2)), columns=["a", "b"]).names
        ('a', 'b')
        """
        excluded = () if exclude is None else tuple(str(name) for name in exclude)
        # Row labels pandas stored as a Parquet column are not data, as the CLI reads them;
        # left out in sight (a polars column is known by its name alone).
        reference, dropped = split_pandas_index(reference, keep=columns or (), what="reference")
        declared = parse_kinds(kinds)
        nothing: EmptyData | None = None
        try:
            table = as_table(
                reference,
                what="reference",
                columns=columns,
                exclude=excluded,
                kinds=declared,
                categorical_max_unique=categorical_max_unique,
            )
        except EmptyData as exc:
            # Every column left out: the datetime ones among them are still recorded
            # (with_datetimes, below), and checked; refused only if none is.
            left_out = _all_left_out(reference, columns, excluded, declared, categorical_max_unique)
            if left_out is None:
                raise
            nothing, table = exc, Table(columns={}, n_rows=0, left_out=left_out)
        schema = cls.of_table(table, max_categories=max_categories)
        labels = {
            name: row_labels_reason(name)
            for name in dropped
            if columns is None and name not in excluded
        }
        if excluded or labels:
            schema = attrs.evolve(
                schema,
                left_out={**dict.fromkeys(excluded, EXCLUDED), **labels, **schema.left_out},
            )
        schema = with_datetimes(
            with_zones(with_nullable_dtypes(schema, reference), reference), reference
        )
        if nothing is not None and not schema.datetimes:
            raise nothing
        return schema

    @classmethod
    @validate_params(max_categories=MAX_CATEGORIES)
    def of_table(cls, table: Table, *, max_categories: int = 1000) -> Schema:
        """Record the schema of a parsed table (see :meth:`infer`), with the columns the
        table left out (datetimes not declared numeric) in :attr:`left_out`. A table
        holds no time zones: its date-time columns' zones are unknown (``None``) unless
        recorded from the data with :func:`with_zones`, as :meth:`infer` does; nor the
        datetime columns it left out, which :func:`with_datetimes` records from the data.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> from modelship.checks._tabular import as_table
        >>> Schema.of_table(as_table({"x": [1.0]})) == Schema.infer({"x": [1.0]})
        True
        """
        return cls(
            [
                ColumnSchema.of(column, max_categories=max_categories)
                for column in table.columns.values()
            ],
            left_out=table.left_out,
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> Schema([]).names
        ()
        """
        return tuple(column.name for column in self.columns)

    @property
    def kinds(self) -> dict[str, ColumnKind]:
        """The kind of every column, by name.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> Schema.infer({"x": [1.0, 2.0]}).kinds
        {'x': <ColumnKind.NUMERIC: 'numeric'>}
        """
        return {column.name: column.kind for column in self.columns}

    def __getitem__(self, name: str) -> ColumnSchema:
        """Return the schema of column ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def check(  # noqa: PLR0913 - keyword-only tolerances of the public check, mirroring validate()
        self,
        current: Any,
        *,
        name: str = "schema",
        range_tolerance: float = 0.01,
        null_rate_tolerance: float = 0.05,
        max_missing_rate: float = MAX_MISSING_RATE,
        severities: Mapping[str, Severity | str] | None = None,
        exclude: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> SchemaCheck:
        """Return a check of ``current`` against this schema, to put in a suite.

        Parameters are those of :meth:`validate`.

        Examples
        --------
        >>> from modelship.checks import Schema, run_suite
        >>> schema = Schema.infer({"x": [1.0, 2.0, 3.0]})
        >>> run_suite([schema.check({"x": [2.0, 2.5]})]).passed
        True
        """
        return SchemaCheck(
            schema=self,
            current=current,
            name=name,
            range_tolerance=range_tolerance,
            null_rate_tolerance=null_rate_tolerance,
            max_missing_rate=max_missing_rate,
            severities=severities,
            exclude=exclude,
            columns=columns,
        )

    def validate(  # noqa: PLR0913 - keyword-only tolerances and severities of the public validation, each documented
        self,
        current: Any,
        *,
        name: str = "schema",
        range_tolerance: float = 0.01,
        null_rate_tolerance: float = 0.05,
        max_missing_rate: float = MAX_MISSING_RATE,
        severities: Mapping[str, Severity | str] | None = None,
        exclude: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> CheckResult:
        """Compare ``current`` with the schema.

        Every column gets a result whose reason lists its findings (see :data:`FINDINGS`);
        a blocking finding makes the column, and the check, ``fail``, an advisory one
        ``warn``.

        Parameters
        ----------
        current
            Tabular data, in any form :meth:`infer` accepts.
        name : str
            The check's name in reports.
        range_tolerance : float
            Share of a numeric column's non-missing values allowed outside the reference
            range before ``out_of_range`` is reported. New data often reaches a little
            past the extremes of a sample, hence not zero.
        null_rate_tolerance : float
            Increase of the null rate tolerated in a column that was nullable, and of
            the infinite rate in a numeric column that had infinities.
        max_missing_rate : float
            Share of missing or non-finite values above which a column has the blocking
            finding ``missing_rate``, when at least half of it above the reference's
            share; 1 turns it off.
        severities : mapping, optional
            Per finding, a severity replacing the default of :data:`FINDINGS`.
        exclude : sequence of str, optional
            Columns not checked, in the schema or in ``current`` (identifiers): neither
            missing nor extra. The schema's own :attr:`left_out` columns are neither
            either.
        columns : sequence of str, optional
            As for :meth:`infer`: for a plain array (2-D numpy) the names of its columns,
            else the columns to check: the others, in ``current`` or in the schema, are
            not read nor reported missing or extra (as with ``exclude``).

        Raises
        ------
        EmptyData, CheckInputError
            When ``current`` has no rows or a column holds values no check can read.
        ConfigError
            For an unknown finding in ``severities`` or a tolerance outside [0, 1].
        ColumnMismatch
            When ``columns`` names more or fewer columns than a plain array has, a
            column named data lacks, or only columns the schema (or ``exclude``) left
            out: nothing would be checked.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> schema = Schema.infer({"x": [1.0, 2.0], "y": [0, 1]})
        >>> result = schema.validate({"x": [1.5, 1.0]})
        >>> result.status.value, result.columns["y"].reason
        ('fail', 'column is missing')
        >>> relaxed = {"missing_column": "advisory"}
        >>> schema.validate({"x": [1.5, 1.0]}, severities=relaxed).status.value
        'warn'
        >>> import numpy as np
        >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
        >>> Schema.infer(X, columns=["a", "b"]).validate(X, columns=["a", "b"]).status.value
        'pass'
        """
        return self.check(
            current,
            name=name,
            range_tolerance=range_tolerance,
            null_rate_tolerance=null_rate_tolerance,
            max_missing_rate=max_missing_rate,
            severities=severities,
            exclude=exclude,
            columns=columns,
        ).run()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict with a ``"schema_version"`` key.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> Schema.infer({"x": [1.0]}).to_dict()["columns"][0]["name"]
        'x'
        """
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "columns": [column.to_dict() for column in self.columns],
        }
        if self.left_out:  # written only when there is one: older readers ignore the key
            document["left_out"] = dict(self.left_out)
        if not self.rows_read_whole:  # its absence marks a schema written before
            document[_ROW_LISTS] = _BY_COLUMN
        if self.datetimes:  # written only when there is one: older readers ignore the key
            document["datetimes"] = [column.to_dict() for column in self.datetimes]
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            When the document is malformed or from a newer modelship.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> schema = Schema.infer({"x": [1.0, None]})
        >>> Schema.from_dict(schema.to_dict()) == schema
        True
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"the schema must be a mapping (a JSON object), got {type(data).__name__}; "
                "write it with Schema.to_json"
            )
        _json.check_schema_version(data, SCHEMA_VERSION, "schema")
        columns = data.get("columns")
        if not isinstance(columns, list):
            raise ConfigError("the schema has no 'columns' list")
        # Absent from schemas written when rows were read whole (see rows_read_whole).
        rows = data.get(_ROW_LISTS)
        if rows is not None and rows != _BY_COLUMN:
            raise ConfigError(
                f"malformed schema: {_ROW_LISTS!r} must be {_BY_COLUMN!r} or absent, got "
                f"{brief(rows)}; write it with Schema.to_json"
            )
        # A field of the wrong JSON type (a number where a list of categories goes).
        with _json.malformed("schema", "write it with Schema.to_json"):
            # Absent from schemas written before it was recorded: nothing left out.
            left_out = data.get("left_out", {})
            check_field("'left_out'", "Mapping[str, str]", left_out)
            # Absent from schemas written before datetime columns were recorded: none.
            datetimes = data.get("datetimes", [])
            if not isinstance(datetimes, list):
                raise ConfigError(
                    f"malformed schema: 'datetimes' must be a list, got {brief(datetimes)}; "
                    "write it with Schema.to_json"
                )
            return cls(
                [ColumnSchema.from_dict(column) for column in columns],
                left_out=left_out,
                datetimes=[DatetimeSchema.from_dict(column) for column in datetimes],
                # Read whole, every column got one dtype: a schema whose columns differ
                # in dtype was not written so, whatever its age.
                rows_read_whole=rows is None
                and len({column.get("dtype") for column in columns if isinstance(column, dict)})
                <= 1,
            )

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the schema as JSON text.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> '"schema_version": 1' in Schema.infer({"x": [1.0]}).to_json()
        True
        """
        return _json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Schema:
        """Read a schema written by :meth:`to_json`.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> schema = Schema.infer({"plan": ["a", "b"]})
        >>> Schema.from_json(schema.to_json()) == schema
        True
        """
        return cls.from_dict(_json.loads(text, "schema"))


# polars dtypes (all nullable) by name, and the numpy dtype their values have without nulls.


@runtime_checkable
class KnowsNullableDtypes(Protocol):
    """Tabular data that types its own columns and knows which of them a missing value
    changed: a CSV file's integer column with an empty cell is float64, NaN there.

    Optional: the schema reads numpy, pandas and polars dtypes itself.
    """

    def nullable_dtypes(self) -> Mapping[str, str]:
        """By column name, the dtype its values have without the missing ones (``int64``)."""


def with_nullable_dtypes(schema: Schema, data: Any) -> Schema:
    """``schema``, with each column of a nullable dtype in ``data`` recorded as the dtype its
    values have without missing values (see :func:`_nullable_dtypes`).

    Examples
    --------
    >>> from modelship.checks import Schema
    >>> class Batch(dict):  # a reader's table, as KnowsNullableDtypes describes it
    ...     def nullable_dtypes(self):
    ...         return {"age": "int64"}
    >>> batch = Batch(age=[31.0, float("nan")])
    >>> schema = Schema.of_table(as_table(batch))
    >>> schema["age"].dtype, with_nullable_dtypes(schema, batch)["age"].dtype
    ('float64', 'int64')
    """
    nullable = _nullable_dtypes(data)
    if not nullable:
        return schema
    return attrs.evolve(
        schema,
        columns=[
            _at_dtype(column, nullable.get(column.name, column.dtype)) for column in schema.columns
        ],
    )


def with_zones(schema: Schema, data: Any) -> Schema:
    """``schema``, with the time zone of each column of date-times recorded from ``data``
    (see :func:`datetime_zones`): ``""`` for naive date-times, else the zone's name.

    Examples
    --------
    >>> import pandas as pd
    >>> from modelship.checks import Schema
    >>> frame = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=2, tz="UTC")})
    >>> schema = Schema.of_table(as_table(frame, kinds=parse_kinds({"t": "numeric"})))
    >>> schema["t"].zone is None, with_zones(schema, frame)["t"].zone
    (True, 'UTC')
    """
    names = [column.name for column in schema.columns if holds_datetimes(column.dtype)]
    zones = datetime_zones(data, names)
    if not zones:
        return schema
    return attrs.evolve(
        schema,
        columns=[
            attrs.evolve(column, zone=zones[column.name]) if column.name in zones else column
            for column in schema.columns
        ],
    )


def with_datetimes(schema: Schema, data: Any) -> Schema:
    """``schema``, with each datetime column it left out (not declared numeric) recorded
    in :attr:`Schema.datetimes` from ``data``: its dtype, zone and share of missing
    values. A column that cannot be read so stays only left out.

    Examples
    --------
    >>> import pandas as pd
    >>> from modelship.checks import Schema
    >>> frame = pd.DataFrame({"x": [1.0, 2.0], "t": pd.date_range("2024-01-01", periods=2)})
    >>> schema = Schema.of_table(as_table(frame))
    >>> schema.datetimes, [column.zone for column in with_datetimes(schema, frame).datetimes]
    ((), [''])
    """
    recorded = {column.name for column in schema.datetimes}
    names = [
        name
        for name, why in schema.left_out.items()
        if why not in (EXCLUDED, row_labels_reason(name)) and name not in recorded
    ]
    if not names or not _is_named(data):
        return schema
    # All read at once: each reading walks every column of the data (one at a time only
    # when one of them cannot be read, to keep the others).
    raw: dict[str, RawColumn] = {}
    try:
        raw = raw_columns(data, what="reference", columns=names, encode=True)
    except (ModelshipError, KeyError):
        for name in names:
            try:
                raw.update(raw_columns(data, what="reference", columns=[name], encode=True))
            except (ModelshipError, KeyError):
                continue  # not readable as date-times: left out, as before
    typed = {}
    for name, values in raw.items():
        try:
            column = make_column(name, values, ColumnKind.NUMERIC)
        except (ModelshipError, KeyError):
            continue  # not readable as date-times: left out, as before
        if holds_datetimes(column.dtype) and len(column):
            typed[name] = column
    zones = datetime_zones(data, list(typed), raw)
    found = []
    for name, column in typed.items():
        missing, _ = column.counts_of_special()
        found.append(
            DatetimeSchema(
                name=name, dtype=column.dtype, zone=zones.get(name), null_rate=missing / len(column)
            )
        )
    if not found:
        return schema
    return attrs.evolve(schema, datetimes=(*schema.datetimes, *found))


def _all_left_out(
    data: Any,
    columns: Sequence[str] | None,
    exclude: Sequence[str],
    kinds: Mapping[str, ColumnKind],
    categorical_max_unique: int | None,
) -> dict[str, str] | None:
    """Why each column of ``data`` is left out, when every one is (as
    :func:`~modelship.checks._tabular.type_columns` types them); ``None`` when the data
    cannot be read, or a column is typed or refused."""
    try:
        raw = raw_columns(data, what="reference", columns=columns, exclude=exclude, encode=True)
    except (ModelshipError, KeyError):
        return None
    left_out = {}
    for name, values in raw.items():
        try:
            make_column(
                name,
                values,
                kinds.get(name),
                categorical_max_unique=categorical_max_unique,
                declared=name in kinds,
            )
        except LeftOut as exc:
            left_out[name] = str(exc)
        except (ModelshipError, KeyError):
            return None
        else:
            return None  # typed: not every column is left out
    return left_out


def holds_datetimes(dtype: str) -> bool:
    """Whether a recorded dtype is one of date-times (``datetime64[us]``, ...).

    Examples
    --------
    >>> holds_datetimes("datetime64[us]"), holds_datetimes("float64")
    (True, False)
    """
    return dtype.startswith("datetime64")


def _values_zone(values: NDArray[Any]) -> str | None:
    """The zone of a column of date-times read as NumPy: ``""`` for ``datetime64`` (and
    objects without a zone), the ``tzinfo`` of the first present ``datetime`` with one
    (a column mixing aware and naive values is refused when typed), ``None`` for others."""
    if values.dtype.kind == "M":
        return ""
    if values.dtype.kind != "O":
        return None
    for value in values:  # an object array yields its objects; stops at the first present
        if is_missing(value) or (isinstance(value, np.datetime64) and np.isnat(value)):
            continue
        if isinstance(value, datetime.datetime) and value.utcoffset() is not None:
            return str(value.tzinfo)
        return "" if isinstance(value, (datetime.date, np.datetime64)) else None
    return None


def datetime_zones(
    data: Any, names: Iterable[str], raw: Mapping[str, RawColumn] | None = None
) -> dict[str, str]:
    """The time zone of each column of ``names`` in ``data`` that holds date-times: the
    zone's name (``"UTC"``, ``"America/New_York"``) or ``""`` for naive date-times;
    columns of anything else, or not found, are absent.

    Read as NumPy, an arrow or polars column with a zone is ``datetime64`` in UTC as a
    naive one is: the zone is read from the source column (see :func:`datetime_zone`),
    else from its values, ``raw`` when given (the columns as read, which unnamed data
    only has).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=2, tz="UTC"),
    ...                       "n": pd.date_range("2024-01-01", periods=2), "x": [1, 2]})
    >>> datetime_zones(frame, ["t", "n", "x"])
    {'t': 'UTC', 'n': ''}
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    if type(data).__name__ == "LazyFrame":  # polars: its schema answers, nothing collected
        schema = lazy_schema(data)
        return {
            str(name): str(getattr(dtype, "time_zone", None) or "")
            for name, dtype in schema.items()
            if str(name) in wanted and str(dtype).startswith("Datetime")
        }
    sources = dict(named_items(data) or [])
    found = {}
    for name in wanted:
        source = sources.get(name)
        zone = None if source is None else datetime_zone(source)
        values = (raw or {}).get(name)
        if zone is None and values is None and source is not None:
            try:
                values = column_array(source, f"column {name!r}")
            except ModelshipError:
                values = None  # a column no check reads: the typing says why
        if zone is None and isinstance(values, np.ndarray):
            zone = _values_zone(values)
        if zone is not None:
            found[name] = zone
    return found


def zone_clash(subject: str, before: str, after: str, where: str) -> str | None:
    """What is wrong with ``subject`` (``"column 't'"``) holding date-times of zone
    ``after`` where ``where`` (the reference, the schema) holds zone ``before`` (``""``
    for naive ones), and what to do; ``None`` when both have a zone or neither has (two
    zones are the same instants, compared in UTC).

    Examples
    --------
    >>> print(zone_clash("column 't'", "UTC", "", "reference")[:67])
    column 't' holds date-times with a time zone (UTC) in the reference
    >>> zone_clash("column 't'", "UTC", "Europe/Paris", "reference") is None
    True
    """
    if bool(before) == bool(after):
        return None
    risk = (
        "naive date-times are read as UTC, so the same events written as local wall-clock "
        "time would be hours apart"
    )
    if before:
        return (
            f"{subject} holds date-times with a time zone ({before}) in the {where} but "
            f"without one in the current data: {risk}; give the current ones the zone they "
            f"were written in (pandas `.dt.tz_localize({before!r})`, or 'UTC' if they are "
            "UTC; polars `.dt.replace_time_zone(...)`)"
        )
    return (
        f"{subject} holds date-times without a time zone in the {where} but with one "
        f"({after}) in the current data: {risk}; drop the current ones' zone the way the "
        f"{where}'s values were written (pandas `.dt.tz_convert(None)` for UTC, "
        "`.dt.tz_localize(None)` for local wall-clock time), or give the reference the "
        "zone (`.dt.tz_localize(...)`)"
    )


def _nullable_dtypes(data: Any) -> dict[str, str]:
    """Columns of nullable dtypes (pandas ``Int64``, ``boolean``, ``Float64``; polars and
    arrow columns of numbers; the integer columns with missing cells of a CSV file,
    :class:`KnowsNullableDtypes`), by name, with the numpy dtype their values have when
    none is missing.

    A missing value turns such a column into ``float64`` (integers) or ``object``
    (booleans) when read as numpy, so the dtype read depends on whether a batch happens to
    hold one; the schema records and compares this dtype instead.
    """
    # A data frame or array first: a column or field that happens to be named
    # nullable_dtypes is an attribute (a recarray's field), not the method.
    frame = isinstance(data, np.ndarray) or type(data).__module__.startswith(
        ("pandas", "polars", "pyarrow")
    )
    if (
        not frame
        and isinstance(data, KnowsNullableDtypes)
        and callable(getattr(data, "nullable_dtypes", None))
    ):
        return {str(name): str(dtype) for name, dtype in data.nullable_dtypes().items()}
    found = {name: str(dtype) for name, dtype in nullable_dtypes(data).items()}
    if type(data).__module__.startswith("pandas"):
        # Dates and durations of an extension dtype (arrow timestamps, with a time zone
        # or not) are recorded at their own unit, as schemas have recorded them; read as
        # objects they would come out in microseconds. A named Series is one column of
        # that name; an unnamed one is a plain array, whose column takes no such dtype.
        series = series_name(data)
        dtypes: list[tuple[Any, Any]] = []
        if series is not None:
            dtypes = [(series, data.dtype)]
        elif hasattr(data, "columns") and hasattr(data, "dtypes"):
            dtypes = list(data.dtypes.items())
        for name, dtype in dtypes:
            numpy_dtype = getattr(dtype, "numpy_dtype", None)
            extension = numpy_dtype is not None and not isinstance(dtype, np.dtype)
            if extension and np.dtype(numpy_dtype).kind in "mM":
                found[str(name)] = str(np.dtype(numpy_dtype))
    return found


def _with_default_severities(value: Mapping[str, Severity | str] | None) -> dict[str, Severity]:
    return {
        **FINDINGS,
        **{finding: Severity(severity) for finding, severity in (value or {}).items()},
    }


def _excluded(value: Sequence[str] | None) -> frozenset[str]:
    return frozenset() if value is None else frozenset(str(name) for name in value)


def _is_named(data: Any) -> bool:
    """Whether ``data`` has named columns (a mapping, a data frame, a structured array),
    not a plain array whose columns ``columns=`` names."""
    if type(data).__name__ == "LazyFrame":  # polars: named, and collected only once
        return True
    return named_items(data) is not None


def _optional_names(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(name) for name in value)


class _ASchema(Constraint):
    """A :class:`Schema`, checked when the check is built (``run()`` cannot read anything
    else). The error says how to get one from what was given instead: a drift profile
    holds one (``profile.schema``), and a saved one is read with :meth:`Schema.from_json`."""

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, Schema)

    def __str__(self) -> str:
        return "a Schema (Schema.infer(reference) or Schema.from_json(text))"

    def invalid_values(self) -> tuple[object, ...]:
        return (None, "schema.json", object())

    def violation(self, name: str, value: object) -> ConfigError | None:
        if self.is_satisfied_by(value):
            return None
        allowed = str(self)
        if isinstance(getattr(value, "schema", None), Schema):  # a DriftProfile
            allowed += f"; a {type(value).__name__} holds one: pass profile.schema"
        elif isinstance(value, str | os.PathLike):
            allowed += (
                "; to check against a schema saved in a file, pass "
                "Schema.from_json(Path(path).read_text())"
            )
        return InvalidParameter(name, value, allowed)


@attrs.frozen(kw_only=True)
class SchemaCheck:
    """A :class:`Schema` validation of ``current`` data, as a check for :func:`run_suite`.

    Build it with :meth:`Schema.check`; its parameters are those of
    :meth:`Schema.validate`.

    Examples
    --------
    >>> from modelship.checks import Schema, SchemaCheck
    >>> check = SchemaCheck(schema=Schema.infer({"x": [1, 2]}), current={"x": [1, 2]})
    >>> check.name, check.run().status.value
    ('schema', 'pass')
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "schema": _ASchema(),
        "range_tolerance": Interval(float, 0, 1),
        "null_rate_tolerance": Interval(float, 0, 1),
        "max_missing_rate": Interval(float, 0, 1, closed="right"),
        "severities": (None, MappingOf(Options(Severity), keys=Options(tuple(FINDINGS)))),
        "name": str,
        "exclude": (None, Names()),
        "columns": (None, Names()),
    }
    __attrs_pre_init__ = check_parameters

    schema: Schema
    current: Any = attrs.field(repr=False)
    name: str = "schema"
    range_tolerance: float = attrs.field(default=0.01, converter=float)
    null_rate_tolerance: float = attrs.field(default=0.05, converter=float)
    max_missing_rate: float = attrs.field(default=MAX_MISSING_RATE, converter=float)
    severities: dict[str, Severity] = attrs.field(default=None, converter=_with_default_severities)
    exclude: frozenset[str] = attrs.field(default=None, converter=_excluded)
    columns: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_names)
    severity: Severity = attrs.field(default=Severity.BLOCKING, init=False)

    def run(self) -> CheckResult:
        """Validate the data; see :meth:`Schema.validate`.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> check = Schema.infer({"x": [1, 2]}).check({"x": [1, 2], "y": [0, 0]})
        >>> check.run().columns["y"].reason
        'column is not in the schema'
        """
        # Row labels pandas stored as a Parquet column are not data, as the CLI reads
        # them, unless asked for or recorded (a schema of an older version, which read
        # them as a column: dropped, they would be missing).
        current, _ = split_pandas_index(
            self.current,
            keep={*(self.columns or ()), *self.schema.names, *self.schema.left_out},
            what="current",
        )
        # Excluded columns are not read: one no check can read (a struct) is left out too.
        raw = raw_columns(
            current,
            what="current",
            columns=self.columns,
            exclude=tuple(self.exclude),
            encode=True,
        )
        nullable = _nullable_dtypes(current)
        # The dtype a version reading rows whole gave every column; no other schema's.
        whole = rows_dtype(current) if self.schema.rows_read_whole else None
        # columns= of named data chooses the columns checked, as exclude= leaves some out:
        # the schema's others are not missing (those of a plain array name its columns,
        # so a schema column not among them is).
        skipped = set(self.exclude)
        datetimes = [column.name for column in self.schema.datetimes]
        if self.columns is not None and _is_named(current):
            skipped |= {*self.schema.names, *datetimes} - set(self.columns)
        if self.columns is not None:
            self._check_some_column_checked(skipped)
        # The zone of each date-time column the schema recorded one for (not one written
        # before zones were: unknown), as the source columns have it.
        recorded: list[ColumnSchema | DatetimeSchema] = [
            *self.schema.columns,
            *self.schema.datetimes,
        ]
        zones = datetime_zones(
            current,
            [
                column.name
                for column in recorded
                if column.zone is not None and column.name not in skipped
            ],
            raw,
        )
        results = [
            self._column(expected, raw, nullable, whole, zones.get(expected.name))
            for expected in self.schema.columns
            if expected.name not in skipped
        ]
        results += [
            self._datetime_column(expected, raw, zones.get(expected.name))
            for expected in self.schema.datetimes
            if expected.name not in skipped
        ]
        # Columns the schema left out (an excluded identifier, a datetime) are not extra.
        known = set(self.schema.names) | self.exclude | set(self.schema.left_out) | set(datetimes)
        for extra in (name for name in raw if name not in known):
            results.append(
                self._result(extra, [("extra_column", "column is not in the schema")], {})
            )
        findings = [
            f"{column.name!r}: {column.reason}"
            for column in results
            if column.status is not Status.PASS
        ]
        status = Status.worst(column.status for column in results)
        if findings:
            shown = "; ".join(findings[:3]) + ("; ..." if len(findings) > 3 else "")
            reason = f"{len(findings)} of {len(results)} columns differ from the schema: {shown}"
        else:
            reason = f"current data matches the schema ({len(results)} columns)"
        return CheckResult(
            name=self.name,
            status=status,
            severity=self.severity,
            reason=reason,
            statistic=len(findings),
            columns=results,
            details={
                "range_tolerance": self.range_tolerance,
                "null_rate_tolerance": self.null_rate_tolerance,
                "max_missing_rate": self.max_missing_rate,
            },
        )

    def _check_some_column_checked(self, skipped: set[str]) -> None:
        """Refuse ``columns=`` naming only columns left out (by the schema or by
        ``exclude=``): validating nothing would pass."""
        if {*self.schema.names, *(column.name for column in self.schema.datetimes)} - skipped:
            return
        asked = self.columns or ()
        why = {**dict.fromkeys(self.exclude, "in this check's exclude="), **self.schema.left_out}
        if not all(name in why for name in asked):
            return  # a column the schema does not know is reported extra
        shown = "; ".join(f"{name!r}: {brief(why[name])}" for name in asked[:3])
        raise ColumnMismatch(
            f"none of the columns asked for ({brief(list(asked))}) is checked by the "
            f"schema, which left them out ({shown}{'; ...' if len(asked) > 3 else ''}); "
            f"name columns it records ({brief(list(self.schema.names))}), or infer the "
            "schema again with them (not in exclude=; a datetime column declared numeric "
            "with kinds=)"
        )

    def _result(
        self, name: str, findings: list[tuple[str, str]], details: dict[str, Any]
    ) -> ColumnResult:
        statuses = [
            Status.FAIL if self.severities[finding] is Severity.BLOCKING else Status.WARN
            for finding, _ in findings
        ]
        details["findings"] = [
            {"finding": finding, "severity": self.severities[finding].value, "message": message}
            for finding, message in findings
        ]
        return ColumnResult(
            name=name,
            status=Status.worst(statuses),
            reason="; ".join(message for _, message in findings) or "matches the schema",
            method="schema",
            statistic=len(findings),
            details=details,
        )

    def _column(
        self,
        expected: ColumnSchema,
        raw: Mapping[str, RawColumn],
        nullable: Mapping[str, str],
        whole: str | None,
        zone: str | None = None,
    ) -> ColumnResult:
        """One column's findings; ``whole`` is the dtype a list of rows reads as whole
        (see :func:`rows_dtype`), which a schema written before recorded for it, and
        ``None`` for any other schema (see :attr:`Schema.rows_read_whole`): it types
        each column from its own cells, as a dict's. ``zone`` is the current column's
        time zone (``""`` naive, ``None`` when not date-times or unknown)."""
        name = expected.name
        if name not in raw:
            return self._result(name, [("missing_column", "column is missing")], {})
        findings: list[tuple[str, str]] = []
        details: dict[str, Any] = {}
        # Rows whose whole reading is the recorded dtype (booleans among integers read
        # as int64) are the numbers that schema saw, not of another nature.
        column = _as_kind(expected, raw[name], same_as_recorded=whole == expected.dtype)
        if not isinstance(column, Column):
            found, dtype = column
            message = f"kind changed: {expected.kind.value} -> {found}"
            return self._result(name, [("kind_changed", message)], {"dtype": dtype})
        dtype = nullable.get(name, column.dtype)
        details["dtype"] = dtype
        # The dtype as read counts too: a schema written before object columns of numbers
        # were recorded by their values' dtype says "object" for [1, None, 3] read now as
        # int64; the same data is no dtype change.
        dtype_changed = expected.dtype not in (dtype, column.read_dtype, whole)
        # Blocking, as kind_changed: the values can no longer be read as the recorded
        # ones (naive date-times are read as UTC, hours away from the same events in a
        # zone; pandas refuses to compare the two), unlike a dtype change of the same
        # numbers.
        if expected.zone is not None and zone is not None:
            clash = zone_clash("the column", expected.zone, zone, "schema")
            if clash is not None:
                details["zone"] = zone
                findings.append(("zone_changed", clash))
        infinite = 0
        if column.kind is ColumnKind.NUMERIC:
            missing, infinite = column.counts_of_special()
            finite = len(column) - missing - infinite
            if expected.minimum is not None and expected.maximum is not None and finite:
                # Finite values only: infinities are a signal of their own (DataDrift).
                outside = _outside_count(column, expected, dtype)
                share = (outside - infinite) / finite
                details["out_of_range_share"] = share
                if share > self.range_tolerance:
                    findings.append(("out_of_range", self._range_message(share, expected)))
        else:
            # A flag held as booleans where numbers were recorded (or the other way
            # round), or where text spelling true and false was, has the recorded labels:
            # 0 and 1 are not new next to False and True (DataDrift reads them alike);
            # any other number, or a stray cell among true/false text, is a new category.
            column, _ = match_flags(column, expected.dtype, expected.categories)
            counts, missing = column.category_counts()
            if expected.categories is not None:
                new = sorted(set(counts) - set(expected.categories))
                if new:
                    details["new_categories"] = new[:_MAX_LISTED]
                    details["n_new_categories"] = len(new)
                    shown = ", ".join(repr(label) for label in new[:5])
                    more = f" and {len(new) - 5} more" if len(new) > 5 else ""
                    findings.append(("new_categories", f"new categories: {shown}{more}"))
        # An empty column recorded empty has no dtype to change: typed text with no value
        # (pandas "string", polars String) and the same column read as None objects or
        # NaN floats (a CSV) hold the same nothing.
        if dtype_changed and not (expected.null_rate >= 1 and missing == len(column)):
            findings.insert(0, ("dtype_changed", f"dtype changed: {expected.dtype} -> {dtype}"))
        findings += self._rate_findings(expected, column, missing, infinite, details)
        unusable = (missing + infinite) / len(column)
        unusable_before = expected.null_rate + expected.inf_rate
        details["missing_or_non_finite_rate"] = unusable
        limit_reason = missing_rate_finding(unusable_before, unusable, self.max_missing_rate)
        if limit_reason is not None:
            findings.append(("missing_rate", limit_reason))
        return self._result(name, findings, details)

    def _datetime_column(
        self, expected: DatetimeSchema, raw: Mapping[str, RawColumn], zone: str | None
    ) -> ColumnResult:
        """The findings of a datetime column the schema recorded without a range (see
        :class:`DatetimeSchema`); ``zone`` is the current column's, as for :meth:`_column`."""
        name = expected.name
        if name not in raw:
            return self._result(name, [("missing_column", "column is missing")], {})
        # Read as date-times once (a zoned column's values can be slow to read): what else
        # it holds is looked at only when it holds no date-times.
        error: CheckInputError | None = None
        try:
            column = make_column(name, raw[name], ColumnKind.NUMERIC)
        except CheckInputError as exc:
            error = exc
        if error is not None or not holds_datetimes(column.dtype):
            try:
                natural = make_column(name, raw[name])
            except LeftOut:  # date-times the numeric reading refused (out of range)
                assert error is not None
                raise type(error)(f"current: {error}") from None
            except CheckInputError:  # values no check reads (durations): no date-times
                if error is not None and dtype_kind(raw[name]) == "M":
                    raise type(error)(f"current: {error}") from None
                dtype = str(raw_array(raw[name]).dtype)
                message = f"kind changed: datetime -> {dtype}"
                return self._result(name, [("kind_changed", message)], {"dtype": dtype})
            present = (
                natural.category_counts()[0]
                if natural.kind is ColumnKind.CATEGORICAL
                else len(natural) - natural.counts_of_special()[0]
            )
            if present or error is not None:  # an empty column holds no other kind of value
                found = natural.kind.value
                if natural.kind is ColumnKind.CATEGORICAL:
                    found += f" ({'booleans' if natural.dtype == 'bool' else 'text'})"
                message = f"kind changed: datetime -> {found}"
                return self._result(name, [("kind_changed", message)], {"dtype": natural.dtype})
        findings: list[tuple[str, str]] = []
        details: dict[str, Any] = {"dtype": column.dtype}
        if expected.zone is not None and zone is not None:
            clash = zone_clash("the column", expected.zone, zone, "schema")
            if clash is not None:
                details["zone"] = zone
                findings.append(("zone_changed", clash))
        missing, _ = column.counts_of_special()
        null_rate = missing / len(column)
        details["null_rate"] = details["missing_or_non_finite_rate"] = null_rate
        if (expected.null_rate == 0 and missing) or rate_increase_exceeds(
            expected.null_rate, null_rate, self.null_rate_tolerance
        ):
            before, after, _ = rates(expected.null_rate, null_rate, self.max_missing_rate)
            findings.append(("null_rate", f"null rate {before} -> {after}"))
        limit_reason = missing_rate_finding(expected.null_rate, null_rate, self.max_missing_rate)
        if limit_reason is not None:
            findings.append(("missing_rate", limit_reason))
        return self._result(name, findings, details)

    def _rate_findings(
        self,
        expected: ColumnSchema,
        column: Column,
        missing: int,
        infinite: int,
        details: dict[str, Any],
    ) -> list[tuple[str, str]]:
        """The ``null_rate`` and ``inf_rate`` findings of a column with ``missing``
        missing and ``infinite`` infinite values: either where the reference had none, or
        a rate up by more than ``null_rate_tolerance`` ("more than": an exact rise of 5
        points is not more than 5). Infinities are neither missing nor in any range, so
        no other finding sees them below ``max_missing_rate``; a schema written before
        ``inf_rate`` was recorded does not know the reference's, and has no such finding.
        """
        findings = []
        null_rate = missing / len(column)
        details["null_rate"] = null_rate
        if (not expected.nullable and missing) or rate_increase_exceeds(
            expected.null_rate, null_rate, self.null_rate_tolerance
        ):
            # Widened against max_missing_rate too: both are in the same reason.
            before, after, _ = rates(expected.null_rate, null_rate, self.max_missing_rate)
            findings.append(("null_rate", f"null rate {before} -> {after}"))
        if column.kind is not ColumnKind.NUMERIC or not expected._inf_rate_recorded:
            return findings
        inf_rate = infinite / len(column)
        details["inf_rate"] = inf_rate
        if (expected.inf_rate == 0 and infinite) or rate_increase_exceeds(
            expected.inf_rate, inf_rate, self.null_rate_tolerance
        ):
            before, after, _ = rates(expected.inf_rate, inf_rate, self.max_missing_rate)
            findings.append(
                (
                    "inf_rate",
                    f"infinite rate {before} -> {after} (look upstream for a division by "
                    "zero or an overflow)",
                )
            )
        return findings

    def _range_message(self, share: float, expected: ColumnSchema) -> str:
        shown_share, shown_tolerance = percents(
            [share, self.range_tolerance], decimals=1, strict=True, readable=True
        )
        return (
            f"{shown_share} of values outside [{_shown_bound(expected.minimum)}, "
            f"{_shown_bound(expected.maximum)}] (tolerance {shown_tolerance})"
        )


def _as_kind(
    expected: ColumnSchema, raw: RawColumn, *, same_as_recorded: bool = False
) -> Column | tuple[str, str]:
    """The column typed as the schema's kind, or ``(what it holds, its dtype)`` when it
    can no longer be read as that kind (a ``kind_changed`` finding); with
    ``same_as_recorded`` (the data reads as the schema's dtype) a numeric column is
    never of another nature."""
    name = expected.name
    if expected.kind is ColumnKind.NUMERIC and dtype_kind(raw) not in "iuf":
        # Typed once: a column that reads as numbers by itself (an object column of
        # them) is the numeric column, and no change of nature; typing an object column
        # is a pass over every value, which the checks below would make twice.
        try:
            natural = make_column(name, raw)
        except CheckInputError:  # a LeftOut too: the readings below say what it is
            pass
        else:
            if natural.kind is ColumnKind.NUMERIC:
                return natural
    try:
        column = make_column(name, raw, expected.kind)
    except CheckInputError:
        try:
            natural = make_column(name, raw)
        except LeftOut:
            return "datetime", str(raw_array(raw).dtype)
        return natural.kind.value, natural.dtype
    if (
        expected.kind is ColumnKind.NUMERIC
        and dtype_kind(raw) not in "iuf"
        and not same_as_recorded
    ):
        changed = _changed_nature(name, raw, expected.dtype, flag=_recorded_flag(expected))
        if changed is not None:
            return changed
    return column


# What a numeric column's values are, by the dtype a schema recorded: a column declared
# numeric that holds date-times, booleans or text is compared as numbers, but the same
# column holding another of these (dates where numbers were) is no longer that column.
_NATURES = {"bool": "bool", "str": "text"}


def _recorded_nature(dtype: str) -> str | None:
    """``"datetime"``, ``"bool"``, ``"text"`` or ``"number"`` for a numeric column's
    recorded ``dtype``; ``None`` for ``"object"``, which any of them may have been."""
    if dtype.startswith("datetime64"):
        return "datetime"
    if dtype == "object":
        return None
    return _NATURES.get(dtype, "number")


def _recorded_flag(expected: ColumnSchema) -> bool:
    """Whether a numeric schema column is a flag of integers: recorded from integers,
    none below 0 or above 1. Floats between 0 and 1 may be probabilities, of which
    booleans are no reading."""
    low, high = expected.minimum, expected.maximum
    return (
        expected.dtype.startswith(("int", "uint"))
        and low is not None
        and high is not None
        and low >= 0
        and high <= 1
    )


def _changed_nature(
    name: str, raw: RawColumn, recorded: str, *, flag: bool = False
) -> tuple[str, str] | None:
    """``(what the column holds, its dtype)`` when a column of a numeric schema column
    holds date-times, booleans or text where the schema recorded another of these (or
    numbers), else ``None``: ``"25"`` in a column of numbers is text, even though it
    converts to one. Booleans where a ``flag`` of integers 0 and 1 was recorded (see
    :func:`_recorded_flag`) are that flag, as DataDrift compares them."""
    expected = _recorded_nature(recorded)
    if expected is None:
        return None
    try:
        natural = make_column(name, raw)
    except LeftOut:
        found, shown, dtype = "datetime", "datetime", str(raw_array(raw).dtype)
    except CheckInputError:  # values of no kind: the numeric reading decides
        return None
    else:
        if natural.kind is ColumnKind.NUMERIC:
            return None
        # No value present holds no nature: a column with none (an empty category
        # column, which a version before read as float64) contradicts no recorded one.
        if not natural.category_counts()[0]:
            return None
        found = "bool" if natural.dtype == "bool" else "text"
        shown = f"categorical ({'booleans' if found == 'bool' else 'text'})"
        dtype = natural.dtype
    if found == "bool" and expected == "number" and flag:
        return None
    return None if found == expected else (shown, dtype)


def _shown_bound(value: float | None) -> str:
    """A range bound in a message, every digit it has (``.6g`` would show 9007199254740993
    and 9007199254740992 alike), an integral float without its ``.0``."""
    text = repr(value)
    return text.removesuffix(".0") if isinstance(value, float) else text


def _outside_count(column: Column, expected: ColumnSchema, dtype: str) -> int:
    """How many of a numeric column's values lie outside the schema's range (see
    :func:`_outside`); a nullable column of integers past 2**53 (see
    :attr:`Column.integers`) is compared as the integers it holds with integer bounds, not
    as their float64 roundings (``2**62 + 100`` is above ``2**62 + 10``)."""
    low, high = expected.minimum, expected.maximum
    if column.integers is not None and isinstance(low, int) and isinstance(high, int):
        return sum(
            1
            for value in column.integers.tolist()
            if not is_missing(value) and not low <= int(value) <= high
        )
    return int(np.count_nonzero(_outside(column.values, expected, dtype)))


def _outside(values: NDArray[Any], expected: ColumnSchema, dtype: str) -> NDArray[np.bool_]:
    """Which ``values`` lie outside the schema's range (NaN does not; infinities do).

    Integers are compared exactly with integer bounds (what an integer column's schema
    records), and in float64 with float bounds, as NumPy compares them: a schema written
    before integer bounds were holds its int64 column's range as float64, rounded
    (9221555293448421376 for 9221555293448421123), and compared exactly its own largest
    values would be out of range. Floats wider than float64 (``longdouble``) are
    compared at float64, the precision bounds are recorded at; float32 and float16 as
    :func:`_comparable` says.
    """
    if values.dtype.kind == "f" and values.dtype.itemsize > 8:
        values = values.astype(np.float64)
    values, low, high = _comparable(values, expected, dtype)
    if values.dtype.kind in "iu":
        return _below(values, low) | _above(values, high)
    outside: NDArray[np.bool_] = (values < low) | (values > high)
    return outside


def _below(values: NDArray[Any], low: float) -> NDArray[np.bool_]:
    """Integers below ``low``: exactly for an integer bound (NumPy would compare in
    float64, where 2**53 + 1 equals 2**53), in float64 for a float one (see
    :func:`_outside`)."""
    if not isinstance(low, int):
        below: NDArray[np.bool_] = values < low
        return below
    info = np.iinfo(values.dtype)
    if low > info.max:
        return np.ones(len(values), dtype=bool)
    # A bound below the dtype's range leaves no value below it (and would not convert).
    if low <= info.min:
        return np.zeros(len(values), dtype=bool)
    exact: NDArray[np.bool_] = values < values.dtype.type(low)
    return exact


def _above(values: NDArray[Any], high: float) -> NDArray[np.bool_]:
    """Integers above ``high``, as :func:`_below` compares them."""
    if not isinstance(high, int):
        above: NDArray[np.bool_] = values > high
        return above
    info = np.iinfo(values.dtype)
    if high < info.min:
        return np.ones(len(values), dtype=bool)
    if high >= info.max:
        return np.zeros(len(values), dtype=bool)
    exact: NDArray[np.bool_] = values > values.dtype.type(high)
    return exact


def _comparable(
    values: NDArray[Any], expected: ColumnSchema, dtype: str
) -> tuple[NDArray[Any], Any, Any]:
    """``values`` and the schema's bounds at the narrower precision of the schema's dtype
    and the data's ``dtype``: ``float32`` data, or a ``float32`` schema, are compared in
    ``float32``, so 0.1 read as ``float64`` is not below a minimum of ``float32`` 0.1, nor
    ``float32`` 0.9 below a minimum written 0.9. Two ``float64`` sides compare exactly."""
    low, high = expected.minimum, expected.maximum
    narrow = _NARROW_FLOATS.get(expected.dtype)
    mine = _NARROW_FLOATS.get(dtype)
    if mine is not None and (narrow is None or np.finfo(mine).bits < np.finfo(narrow).bits):
        narrow = mine
    if narrow is None or values.dtype.kind not in "fiu":
        return values, low, high
    if values.dtype.kind != "f":
        # Integers against a narrow schema: its bounds are the decimals written for its
        # values (float32 123456792 is written 123456790), so they are compared as the
        # values they stand for, and the integers exactly.
        with np.errstate(over="ignore", invalid="ignore"):
            low_at, high_at = narrow(low), narrow(high)
        if not (np.isfinite(low_at) and np.isfinite(high_at)):
            return values, low, high
        return values, float(low_at), float(high_at)
    with np.errstate(over="ignore"):
        low_at, high_at = narrow(low), narrow(high)
        if not (np.isfinite(low_at) and np.isfinite(high_at)):
            return values, low, high  # a bound beyond the dtype's range: exactly, then
        # A finite value beyond the dtype's range becomes infinite: outside, as it is.
        return values.astype(narrow, copy=False), low_at, high_at


#: How the registry reads and builds ``schema`` documents (declared as the
#: ``modelship.documents`` entry point ``schema``): ``register(schema=data)`` infers one.
SCHEMA_DOCUMENT = DocumentKind(Schema, build="infer")
