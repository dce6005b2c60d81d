"""A drift profile: what drift checks need of the reference data, without the data."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence, ValuesView
from typing import Any

import attrs
import numpy as np

from modelship import _json
from modelship._columns import row_labels_reason, split_pandas_index
from modelship._documents import DocumentKind
from modelship._params import Interval, Names, validate_params
from modelship.checks import stats
from modelship.checks._records import check_field
from modelship.checks._schema import (
    EXCLUDED,
    MAX_CATEGORIES,
    ColumnSchema,
    Schema,
    decimal_bound,
    with_datetimes,
    with_nullable_dtypes,
    with_zones,
)
from modelship.checks._sides import CategoricalSide, NumericSide, Side
from modelship.checks._suspects import DATE_LIKE_SAMPLE, is_date_text, looks_like_identifier
from modelship.checks._tabular import KINDS, ColumnKind, as_table, parse_kinds
from modelship.checks.stats import QuantileSummary
from modelship.checks.stats._columns import round_to
from modelship.errors import ConfigError

__all__ = ["CategoricalProfile", "DriftProfile", "NumericProfile"]

SCHEMA_VERSION = 2
# The version a profile is written with when none of its columns needs a newer reader:
# 2 only for one holding an identifier-like column without its categories (n_distinct),
# which a reader of version 1 would take for counts that do not add up.
_FIRST_VERSION = 1


# Relative slack for the spread bounds below: the bounds are exact for the sample, so the
# slack only absorbs the rounding of a standard deviation computed in float64.
_STD_SLACK = 1e-9
# Absolute slack: among subnormal values a relative one is no slack at all. The bounds'
# halvings and the std itself each round by up to half of 5e-324, and a std that rounded
# to 0 is stored as 5e-324 (nonzero_std): two such steps cover them.
_STD_SUBNORMAL_SLACK = 2 * math.ulp(0.0)


def _count(data: Mapping[str, Any], key: str) -> int:
    """``data[key]`` as a count: a non-negative integer (not a bool, not 2.5, not "3")."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"{key!r} must be a non-negative integer, got {value!r}")
    return int(value)


def _real(data: Mapping[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{key!r} must be a number, got {value!r}")
    return float(value)


def _std_bounds(summary: QuantileSummary) -> tuple[float, float]:
    """Bounds on the population std of any sample with this summary.

    Above: half the range (the std of values in [min, max] is largest when half sit at
    each end). Below: if at least a share ``s`` of the values is ``<= q_lo`` and a share
    ``s`` is ``>= q_hi``, every centre ``c`` is at least ``(q_hi - q_lo)/2`` from one of
    them, so the variance is at least ``s (q_hi - q_lo)^2 / 4``; the quartiles give ``s``.
    """
    q, ranks, n = summary.quantiles, summary.ranks, summary.n
    # Halve before subtracting: the range of finite values can exceed the largest float.
    upper = float(q[-1]) / 2 - float(q[0]) / 2
    index = QuantileSummary.stored_indices(n, q.size)
    lo = int(np.searchsorted(ranks, n / 4))  # first stored point with >= n/4 values at or below
    at_least_above = n - index  # values >= q[t]
    hi = int(np.nonzero(at_least_above >= n / 4)[0][-1])
    share = min(float(ranks[lo]) / n, float(at_least_above[hi]) / n)
    lower = math.sqrt(share) * max(float(q[hi]) / 2 - float(q[lo]) / 2, 0.0)
    # And whatever the quartiles: n values reaching both min and max have a variance of
    # at least range^2 / (2n) (one at each end, the rest at the centre).
    lower = max(lower, upper * math.sqrt(2.0 / n))
    return lower, upper


def _text_map(value: Mapping[str, str]) -> dict[str, str]:
    return {str(name): str(why) for name, why in value.items()}


def _kind_map(value: Mapping[str, ColumnKind | str]) -> dict[str, ColumnKind]:
    return parse_kinds(value)


def _check_numeric(column: NumericProfile) -> None:
    """Refuse a numeric profile column whose fields contradict each other."""
    for key in ("n_rows", "n_missing", "n_inf"):
        _count({key: getattr(column, key)}, key)
    if column.n_rows == 0:
        raise ConfigError("'n_rows' must be positive: a profile column has at least one row")
    n_finite = column.n_rows - column.n_missing - column.n_inf
    if n_finite < 0:
        raise ConfigError(
            f"n_missing {column.n_missing} + n_inf {column.n_inf} exceed n_rows {column.n_rows}"
        )
    std = _real({"std": column.std}, "std")
    if not math.isfinite(std) or std < 0:
        raise ConfigError(f"'std' must be a finite number >= 0, got {std!r}")
    summary = column.summary
    if summary is None:
        if n_finite:
            raise ConfigError(f"the column has {n_finite} finite values but no summary")
        if std != 0:
            raise ConfigError(f"a column without finite values has std 0, got {std!r}")
        return
    if summary.n != n_finite:
        raise ConfigError(
            f"the summary counts {summary.n} values, but n_rows - n_missing - n_inf is {n_finite}"
        )
    lower, upper = _std_bounds(summary)
    slack = _STD_SUBNORMAL_SLACK
    if not lower * (1 - _STD_SLACK) - slack <= std <= upper * (1 + _STD_SLACK) + slack:
        raise ConfigError(
            f"'std' {std!r} is impossible for the summary's quantiles: the std of values "
            f"from {float(summary.quantiles[0])!r} to {float(summary.quantiles[-1])!r} with "
            f"these quartiles lies in [{lower:.6g}, {upper:.6g}]"
        )


def _check_categorical(column: CategoricalProfile) -> None:
    """Refuse a categorical profile column whose counts do not add up."""
    n_rows = _count({"n_rows": column.n_rows}, "n_rows")
    n_missing = _count({"n_missing": column.n_missing}, "n_missing")
    if n_rows == 0:
        raise ConfigError("'n_rows' must be positive: a profile column has at least one row")
    if not isinstance(column.counts, Mapping):
        raise ConfigError(
            f"'counts' must map each category to its count, got {type(column.counts).__name__}"
        )
    if column.n_distinct is not None:
        _check_uncounted(column)
        return
    odd = next((label for label in column.counts if not isinstance(label, str)), None)
    if odd is not None:
        raise ConfigError(f"'counts' keys are category labels (str), got {odd!r}")
    total = sum(_count(column.counts, label) for label in column.counts)
    if total + n_missing != n_rows:
        raise ConfigError(
            f"category counts ({total}) plus n_missing ({n_missing}) must equal n_rows ({n_rows})"
        )


def _check_uncounted(column: CategoricalProfile) -> None:
    """Refuse the counts of an identifier-like column kept without its categories unless
    they add up and the column looks like an identifier to drift checks (else they would
    test it, and need the categories)."""
    n_distinct = _count({"n_distinct": column.n_distinct}, "n_distinct")
    present = column.n_rows - column.n_missing
    if column.counts:
        raise ConfigError(
            "a column with 'n_distinct' keeps no category counts (an identifier-like column's "
            f"values are not stored), got {len(column.counts)}; profile the data again"
        )
    if present < 0 or n_distinct > present:
        raise ConfigError(
            f"'n_distinct' {n_distinct} plus n_missing {column.n_missing} exceed n_rows "
            f"{column.n_rows}; profile the data again"
        )
    if not looks_like_identifier(present, n_distinct):
        raise ConfigError(
            f"'n_distinct' {n_distinct} of {present} values is no identifier-like column, "
            "whose categories alone a profile leaves unstored; profile the data again"
        )


def _identifier_like(counts: Mapping[str, int]) -> bool:
    """Whether drift checks report a categorical column with these counts as an
    identifier (not tested), not as date text: then a profile keeps no category."""
    if not looks_like_identifier(sum(counts.values()), len(counts)):
        return False
    labels = list(itertools.islice(counts, DATE_LIKE_SAMPLE))
    return not all(is_date_text(label) for label in labels)


class _UncountedValues(ValuesView[int]):
    """As many counts as categories, adding up to the present values (each category's own
    count is not kept: every one is 1 or close, the column looking like an identifier)."""

    def __init__(self, mapping: _Uncounted) -> None:
        super().__init__(mapping)
        self._uncounted = mapping

    def __iter__(self) -> Iterator[int]:
        n, present = len(self._uncounted), self._uncounted.present
        each, more = divmod(present, n) if n else (0, 0)
        return itertools.chain(itertools.repeat(each + 1, more), itertools.repeat(each, n - more))


class _Uncounted(Mapping[str, int]):
    """The categories of an identifier-like column a profile did not keep, as a drift
    check reads them: as many as there were, with their total, for the identifier rule;
    none by name. Looking a category up (a test of the column, declared categorical when
    checking) is a :class:`ConfigError` saying how to keep them."""

    def __init__(self, name: str, n_distinct: int, present: int) -> None:
        self.name, self.n_distinct, self.present = name, n_distinct, present

    def __len__(self) -> int:
        return self.n_distinct

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def values(self) -> ValuesView[int]:
        return _UncountedValues(self)

    def _refusal(self) -> ConfigError:
        return ConfigError(
            f"the reference profile kept no categories of column {self.name!r}, which "
            f"looked like an identifier when profiled ({self.n_distinct} distinct of "
            f"{self.present} values), so it cannot be tested: make the profile with "
            f"kinds={{{self.name!r}: 'categorical'}} to keep them, or leave the column out "
            f"(exclude=[{self.name!r}])"
        )

    def __getitem__(self, label: str) -> int:
        raise self._refusal()

    def __contains__(self, label: object) -> bool:
        raise self._refusal()


@attrs.frozen(kw_only=True)
class NumericProfile:
    """One numeric reference column: a quantile summary of its finite values and counts.

    ``summary`` is ``None`` when the column had no finite value (drift then reports the
    column as an error, as it would on the data).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks import DriftProfile
    >>> profile = DriftProfile.from_data({"x": np.array([1.0, 2.0, np.nan, np.inf])})
    >>> column = profile.numeric["x"]
    >>> column.n_rows, column.n_missing, column.n_inf, column.summary.n
    (4, 1, 1, 2)
    """

    n_rows: int
    n_missing: int
    n_inf: int
    std: float
    summary: QuantileSummary | None

    def __attrs_post_init__(self) -> None:
        _check_numeric(self)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict.

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> document = DriftProfile.from_data({"x": [1.0, 2.0]}).numeric["x"].to_dict()
        >>> document["std"], document["summary"]["quantiles"]
        (0.5, [1.0, 2.0])
        """
        return {
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
            "n_inf": self.n_inf,
            "std": self.std,
            "summary": None if self.summary is None else self.summary.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericProfile:
        """Rebuild from :meth:`to_dict` output.

        Examples
        --------
        >>> from modelship.checks import DriftProfile, NumericProfile
        >>> column = DriftProfile.from_data({"x": [1.0, 5.0, 2.0]}).numeric["x"]
        >>> NumericProfile.from_dict(column.to_dict()) == column
        True
        """
        if "summary" not in data:
            raise ConfigError("a numeric profile column has no 'summary' (null when empty)")
        summary = data["summary"]
        if summary is not None and not isinstance(summary, Mapping):
            raise ConfigError(f"'summary' must be an object or null, got {type(summary).__name__}")
        return cls(
            n_rows=_count(data, "n_rows"),
            n_missing=_count(data, "n_missing"),
            n_inf=_count(data, "n_inf"),
            std=_real(data, "std"),
            summary=None if summary is None else QuantileSummary.from_dict(summary),
        )


@attrs.frozen(kw_only=True)
class CategoricalProfile:
    """One categorical reference column: the count of every category, and of missing values.

    A column that looks like an identifier (nearly every value distinct, which drift
    checks report and do not test) and was not declared categorical keeps no category:
    ``counts`` is empty and ``n_distinct`` says how many there were (``None`` for any
    other column), so that no raw value is stored.

    Examples
    --------
    >>> from modelship.checks import DriftProfile
    >>> profile = DriftProfile.from_data({"plan": ["pro", "basic", "pro", None]})
    >>> profile.categorical["plan"].counts, profile.categorical["plan"].n_missing
    ({'basic': 1, 'pro': 2}, 1)
    """

    n_rows: int
    n_missing: int
    counts: Mapping[str, int]
    n_distinct: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_categorical(self)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict.

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> DriftProfile.from_data({"c": ["a", "b", "a"]}).categorical["c"].to_dict()
        {'n_rows': 3, 'n_missing': 0, 'counts': {'a': 2, 'b': 1}}
        """
        document: dict[str, Any] = {
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
            "counts": dict(self.counts),
        }
        if self.n_distinct is not None:  # written only for an identifier-like column
            document["n_distinct"] = self.n_distinct
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalProfile:
        """Rebuild from :meth:`to_dict` output.

        Examples
        --------
        >>> from modelship.checks import CategoricalProfile
        >>> CategoricalProfile.from_dict({"n_rows": 2, "n_missing": 1, "counts": {"a": 1}}).counts
        {'a': 1}
        """
        counts = data["counts"]
        if not isinstance(counts, Mapping):
            raise ConfigError(f"'counts' must be an object, got {type(counts).__name__}")
        return cls(
            n_rows=_count(data, "n_rows"),
            n_missing=_count(data, "n_missing"),
            counts={str(label): _count(counts, label) for label in counts},
            # Absent from profiles written before, and for any column whose counts it keeps.
            n_distinct=None if data.get("n_distinct") is None else _count(data, "n_distinct"),
        )


@attrs.frozen(kw_only=True, repr=False)
class DriftProfile:
    """What drift checks need of the reference data, small enough to keep with a model.

    Per numeric column a fixed-size quantile summary (``summary_size`` quantiles at evenly
    spaced levels, the minimum and maximum included) with the standard deviation and the
    missing and infinite counts; per categorical column its category counts; and the
    :class:`Schema`. Pass it as ``reference=`` to :class:`DataDrift` (or
    :class:`PredictionDrift`) to test new data without the training data.

    From a profile, the reference CDF is known to within ``1/(2(summary_size - 1))``, so
    the KS statistic is within that of the exact one (0.0005 at the default 1001); PSI and
    the binned Jensen-Shannon distance equal the exact values when ``bins`` divides
    ``summary_size - 1`` (deciles and 1001 do); the normalised Wasserstein distance is within
    ``cdf_error * (max - min) / std``. Cramér-von Mises needs the data and is not available.

    ``left_out`` names the reference columns not profiled and why (``"excluded"`` by the
    user, or a datetime column not declared numeric); drift checks against the profile
    leave them out of the current data too. ``declared_kinds`` holds the kinds the user
    declared (``kinds=``) for profiled columns: a drift check against the profile treats
    them as declared, as it would on the data (no identifier or date-text warning).
    Every field is checked against the others when
    a profile is built or read (counts, spreads, kinds), so a damaged profile raises
    :class:`~modelship.errors.ConfigError` on read, never a wrong verdict later.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks import DataDrift, DriftProfile
    >>> rng = np.random.default_rng(2)
    >>> training = {"age": rng.normal(40, 10, 20_000), "plan": rng.choice(["a", "b"], 20_000)}
    >>> profile = DriftProfile.from_data(training)
    >>> len(profile.to_json()) < 40_000
    True
    >>> stored = DriftProfile.from_json(profile.to_json())
    >>> batch = {"age": rng.normal(40, 10, 3000), "plan": rng.choice(["a", "b"], 3000)}
    >>> DataDrift(reference=stored, current=batch).run().status.value
    'pass'
    """

    schema: Schema
    numeric: Mapping[str, NumericProfile]
    categorical: Mapping[str, CategoricalProfile]
    summary_size: int
    left_out: Mapping[str, str] = attrs.field(factory=dict, converter=_text_map)
    declared_kinds: Mapping[str, ColumnKind] = attrs.field(factory=dict, converter=_kind_map)

    @classmethod
    @validate_params(
        summary_size=Interval(int, 2, None),
        columns=(None, Names()),
        exclude=(None, Names()),
        kinds=(None, KINDS),
        categorical_max_unique=(None, Interval(int, 1, None)),
        max_categories=MAX_CATEGORIES,
    )
    def from_data(  # noqa: PLR0913 - keyword-only profiling options of a public constructor, each documented
        cls,
        reference: Any,
        *,
        summary_size: int = 1001,
        columns: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        kinds: Mapping[str, ColumnKind | str] | None = None,
        categorical_max_unique: int | None = None,
        max_categories: int = 1000,
    ) -> DriftProfile:
        """Profile ``reference``.

        Parameters
        ----------
        reference
            Tabular data, in any form :class:`DataDrift` accepts.
        summary_size : int
            Quantiles kept per numeric column; the KS error bound is ``1/(summary_size-1)``.
        columns, kinds, categorical_max_unique
            As for :class:`DataDrift`. ``kinds={"signup": "numeric"}`` profiles a datetime
            column as time stamps; datetime columns not declared so are left out, and
            :attr:`left_out` says why. The profile keeps the declared kinds
            (:attr:`declared_kinds`), so a column declared categorical to test it despite
            its identifier-like values is tested against the profile too.
        exclude : sequence of str, optional
            Columns to leave out (identifiers, free text). The profile remembers them, so
            drift checks against it leave them out of the current data too.
        max_categories : int
            As for :meth:`Schema.infer`. The category counts are kept whatever their number,
            but for a column that looks like an identifier (nearly every value distinct;
            drift checks report it untested) and is not declared categorical: it keeps
            only its counts of values, distinct values and missing ones (see
            :class:`CategoricalProfile`), and its schema no category.

        Raises
        ------
        EmptyData, CheckInputError
            When ``reference`` has no rows or a column cannot be read.
        ConfigError
            When ``summary_size`` is below 2.

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> DriftProfile.from_data({"x": [1.0, 2.0, 3.0]}, summary_size=11).summary_size
        11
        >>> data = {"x": [1.0, 2.0], "id": ["a1", "b2"]}
        >>> DriftProfile.from_data(data, exclude=["id"]).left_out
        {'id': 'excluded'}
        """
        excluded = [str(name) for name in exclude or ()]
        declared = parse_kinds(kinds)
        # Row labels pandas stored as a Parquet column are not data, as the CLI reads them.
        # Left out in sight (a polars column is known by its name alone).
        reference, dropped = split_pandas_index(reference, keep=columns or (), what="reference")
        table = as_table(
            reference,
            what="reference",
            columns=columns,
            kinds=declared,
            categorical_max_unique=categorical_max_unique,
            exclude=excluded,
        )
        schemas = []
        numeric: dict[str, NumericProfile] = {}
        categorical: dict[str, CategoricalProfile] = {}
        for name, column in table.columns.items():
            if column.kind is ColumnKind.NUMERIC:
                side = NumericSide.of(column)
                values = side.values
                assert values is not None
                numeric[name] = NumericProfile(
                    n_rows=side.n_rows,
                    n_missing=side.n_missing,
                    n_inf=side.n_inf,
                    # The spread numeric_drift divides Wasserstein by, so both paths agree.
                    std=stats.population_std(values) if len(values) else 0.0,
                    # A column shorter than the summary is kept whole: exact and smaller.
                    summary=(
                        QuantileSummary.from_sorted(
                            values, size=max(2, min(summary_size, len(values)))
                        )
                        if len(values)
                        else None
                    ),
                )
                schemas.append(ColumnSchema.of(column, max_categories=max_categories))
            else:
                counts, n_missing = column.category_counts()
                # A column drift reports as an identifier, not tested, keeps no value: its
                # counts are those the report states (present, distinct, missing).
                uncounted = name not in declared and _identifier_like(counts)
                categorical[name] = CategoricalProfile(
                    n_rows=len(column),
                    n_missing=n_missing,
                    counts={} if uncounted else counts,
                    n_distinct=len(counts) if uncounted else None,
                )
                schemas.append(
                    ColumnSchema.of(
                        column,
                        max_categories=0 if uncounted else max_categories,
                        counts=(counts, n_missing),
                    )
                )
        labels = {
            name: row_labels_reason(name)
            for name in dropped
            if columns is None and name not in excluded
        }
        left_out = {**dict.fromkeys(excluded, EXCLUDED), **labels, **table.left_out}
        return cls(
            # As Schema.infer records it: a pandas Int64 column with a missing value is
            # int64, not the float64 its values become. The schema knows what was left
            # out, so validating the reference itself warns about none of it. It records
            # each date-time column's zone, which a drift check compares with the current
            # column's (a naive batch against a zoned profile is refused).
            schema=with_datetimes(
                with_zones(
                    with_nullable_dtypes(Schema(schemas, left_out=left_out), reference), reference
                ),
                reference,
            ),
            numeric=numeric,
            categorical=categorical,
            summary_size=summary_size,
            left_out=left_out,
            declared_kinds={name: kind for name, kind in declared.items() if name in table.columns},
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict with a ``"schema_version"`` key.

        ``"declared_kinds"`` is written only when a kind was declared: a profile without
        declarations reads the same as before they were recorded (and an older reader
        ignores the key).

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> sorted(DriftProfile.from_data({"x": [1.0, 2.0]}).to_dict())
        ['categorical', 'left_out', 'numeric', 'schema', 'schema_version', 'summary_size']
        """
        uncounted = any(column.n_distinct is not None for column in self.categorical.values())
        document = {
            "schema_version": SCHEMA_VERSION if uncounted else _FIRST_VERSION,
            "summary_size": self.summary_size,
            "schema": self.schema.to_dict(),
            "numeric": {name: column.to_dict() for name, column in self.numeric.items()},
            "categorical": {name: column.to_dict() for name, column in self.categorical.items()},
            "left_out": dict(self.left_out),
        }
        if self.declared_kinds:
            document["declared_kinds"] = {
                name: kind.value for name, kind in self.declared_kinds.items()
            }
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftProfile:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            When the document is malformed or from a newer modelship.

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> profile = DriftProfile.from_data({"x": [1.0, 2.0], "c": ["a", "b"]})
        >>> DriftProfile.from_dict(profile.to_dict()) == profile
        True
        """
        _json.check_schema_version(data, SCHEMA_VERSION, "drift profile")
        try:
            schema = Schema.from_dict(data["schema"])
            numeric = {
                str(name): NumericProfile.from_dict(column)
                for name, column in data["numeric"].items()
            }
            categorical = {
                str(name): CategoricalProfile.from_dict(column)
                for name, column in data["categorical"].items()
            }
            summary_size = _count(data, "summary_size")
            # Written since exclusions were recorded; older profiles left nothing out.
            left_out = data.get("left_out", {})
            check_field("'left_out'", "Mapping[str, str]", left_out)
            # Written since declared kinds were recorded; older profiles declared none.
            declared = data.get("declared_kinds", {})
            if not isinstance(declared, Mapping):
                raise ConfigError(
                    f"'declared_kinds' must be an object, got {type(declared).__name__}"
                )
            declared_kinds = {str(name): ColumnKind(kind) for name, kind in declared.items()}
        except ConfigError as exc:  # a newer schema inside: still "upgrade modelship"
            raise _json.newer_version(ConfigError(f"malformed drift profile: {exc}"), exc) from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ConfigError(f"malformed drift profile: {type(exc).__name__}: {exc}") from None
        profiled = set(numeric) | set(categorical)
        if profiled != set(schema.names):
            raise ConfigError(
                f"malformed drift profile: columns {sorted(profiled)} do not match the "
                f"schema's {sorted(schema.names)}"
            )
        if left_out and not schema.left_out:  # a profile written before schemas kept it
            schema = attrs.evolve(schema, left_out=left_out)
        try:
            return cls(
                schema=schema,
                numeric=numeric,
                categorical=categorical,
                summary_size=summary_size,
                left_out=left_out,
                declared_kinds=declared_kinds,
            )
        except ConfigError as exc:  # a newer schema inside: still "upgrade modelship"
            raise _json.newer_version(ConfigError(f"malformed drift profile: {exc}"), exc) from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ConfigError(f"malformed drift profile: {type(exc).__name__}: {exc}") from None

    def __attrs_post_init__(self) -> None:
        _check_profile(self)

    def __repr__(self) -> str:
        """One line: how many columns of each kind, the summary size, and how many left out.

        Not the fields: the stored quantiles alone are tens of kilobytes
        (:meth:`to_dict` has them all).

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> DriftProfile.from_data({"age": [30.0, 41.0, 52.0], "income": [1.0, 2.0, 3.0],
        ...                         "plan": ["a", "b", "a"]})
        <DriftProfile 3 columns (2 numeric, 1 categorical), 1001 quantiles per numeric column>
        """
        counts = f"{len(self.numeric)} numeric, {len(self.categorical)} categorical"
        columns = len(self.numeric) + len(self.categorical)
        left_out = f", {len(self.left_out)} left out" if self.left_out else ""
        return (
            f"<DriftProfile {columns} columns ({counts}), {self.summary_size} quantiles per "
            f"numeric column{left_out}>"
        )

    def to_json(self, *, indent: int | None = None) -> str:
        """Return the profile as JSON text (compact by default: it holds many numbers).

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> DriftProfile.from_data({"x": [1.0, 2.0]}).to_json().startswith('{"schema_version": 1')
        True
        """
        return _json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> DriftProfile:
        """Read a profile written by :meth:`to_json`.

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> profile = DriftProfile.from_data({"x": [1.0, 2.0, 4.0]})
        >>> DriftProfile.from_json(profile.to_json()) == profile
        True
        """
        return cls.from_dict(_json.loads(text, "drift profile"))


def _check_profile(profile: DriftProfile) -> None:
    """Refuse a profile whose columns contradict its schema, its size or each other."""
    if profile.summary_size < 2:
        raise ConfigError(f"'summary_size' must be at least 2, got {profile.summary_size}")
    profiled = set(profile.numeric) | set(profile.categorical)
    if profiled & set(profile.left_out):
        raise ConfigError(
            f"columns both profiled and left out: {sorted(profiled & set(profile.left_out))}"
        )
    if profiled != set(profile.schema.names) or set(profile.numeric) & set(profile.categorical):
        raise ConfigError(
            f"columns {sorted(profiled)} do not match the schema's {sorted(profile.schema.names)}"
        )
    undeclarable = sorted(
        name
        for name, kind in profile.declared_kinds.items()
        if name not in profiled or profile.schema[name].kind is not kind
    )
    if undeclarable:
        raise ConfigError(f"declared kinds of columns not profiled with that kind: {undeclarable}")
    rows = set()
    for name, column_schema in zip(profile.schema.names, profile.schema.columns, strict=True):
        column: NumericProfile | CategoricalProfile
        if name in profile.numeric:
            column, kind = profile.numeric[name], ColumnKind.NUMERIC
            summary = profile.numeric[name].summary
            kept = None if summary is None else max(2, min(profile.summary_size, summary.n))
            if summary is not None and summary.quantiles.size != kept:
                # Fewer quantiles than promised widen the summary's error far beyond the
                # bound its summary_size stands for.
                raise ConfigError(
                    f"column {name!r} keeps {summary.quantiles.size} quantiles; a profile with "
                    f"summary_size {profile.summary_size} keeps {kept} for {summary.n} values"
                )
        else:
            column, kind = profile.categorical[name], ColumnKind.CATEGORICAL
        if column_schema.kind is not kind:
            raise ConfigError(
                f"column {name!r} is profiled as {kind.value} but its schema says "
                f"{column_schema.kind.value}"
            )
        if not math.isclose(column_schema.null_rate, column.n_missing / column.n_rows):
            raise ConfigError(
                f"column {name!r}: the schema's null rate {column_schema.null_rate!r} is not "
                f"n_missing / n_rows = {column.n_missing}/{column.n_rows}"
            )
        _check_schema_fields(name, column_schema, column)
        rows.add(column.n_rows)
    if len(rows) > 1:
        raise ConfigError(f"the columns of one profile must have as many rows, got {sorted(rows)}")


def _check_schema_fields(
    name: str, schema: ColumnSchema, column: NumericProfile | CategoricalProfile
) -> None:
    """Refuse a column schema that says other than the profiled column, field by field, as
    :meth:`DriftProfile.from_data` writes both: else the schema check against the profile
    would pass what the drift check on the same profile fails."""
    expected: dict[str, Any] = {"nullable": column.n_missing > 0}
    if isinstance(column, NumericProfile):
        summary = column.summary
        _check_numeric_dtype(name, schema.dtype, summary)
        ends = (None, None) if summary is None else (summary.quantiles[0], summary.quantiles[-1])
        expected.update(
            # The range recorded at the column's precision (see decimal_bound).
            minimum=None if ends[0] is None else decimal_bound(float(ends[0]), schema.dtype),
            maximum=None if ends[1] is None else decimal_bound(float(ends[1]), schema.dtype),
            categories=None,
        )
        inf_rate = column.n_inf / column.n_rows
        if not math.isclose(schema.inf_rate, inf_rate):
            raise ConfigError(
                f"column {name!r}: the schema's 'inf_rate' {schema.inf_rate!r} is not "
                f"n_inf / n_rows = {column.n_inf}/{column.n_rows}"
            )
    else:
        expected.update(minimum=None, maximum=None, inf_rate=0.0)
        # None when the column had more categories than Schema.infer's max_categories.
        if schema.categories is not None and (
            len(schema.categories) != len(column.counts)
            or set(schema.categories) != set(column.counts)
        ):
            raise ConfigError(
                f"column {name!r}: the schema's 'categories' {list(schema.categories)!r} are "
                f"not the profiled categories {sorted(column.counts)!r}"
            )
    for field, value in expected.items():
        actual = getattr(schema, field)
        if field in ("minimum", "maximum"):
            # Compared at the column's precision: versions before the decimal bounds wrote
            # a float32/float16 bound as its exact double (-0.3899421691894531 for the
            # float32 nearest -0.38994217), the same value at that precision; a bound that
            # is another value at that precision is still refused.
            actual = decimal_bound(actual, schema.dtype)
        if actual != value:
            raise ConfigError(
                f"column {name!r}: the schema's {field!r} {getattr(schema, field)!r} is not "
                f"what the profiled column says ({value!r})"
            )


# The dtype names a numeric column is profiled with: numbers and booleans (NumPy's names
# and pandas' nullable ones), date-times and text declared numeric. Matched by name, not
# by np.dtype: float128 is no dtype on some platforms that read the profile.
_NUMERIC_DTYPE = re.compile(
    r"bool|boolean|str|object|u?int\d+|float\d+|(datetime|timedelta)64(\[\w+\])?", re.IGNORECASE
)


def _check_numeric_dtype(name: str, dtype: str, summary: QuantileSummary | None) -> None:
    """Refuse a numeric column's dtype that is no numeric dtype's name, or a float16 or
    float32 dtype that cannot hold the profiled quantiles: drift checks round the current
    data to that dtype, so an edited dtype would change the verdict, not fail the read."""
    if _NUMERIC_DTYPE.fullmatch(dtype) is None:
        raise ConfigError(
            f"column {name!r}: the schema's 'dtype' {dtype!r} is not the dtype of a numeric "
            "column (int64, float32, bool...); profile the data again"
        )
    if dtype not in ("float16", "float32") or summary is None:
        return
    quantiles = summary.quantiles
    with np.errstate(over="ignore"):
        held = quantiles.astype(dtype).astype(np.float64)
    lost = np.flatnonzero(~((held == quantiles) | np.isnan(quantiles)))
    if lost.size:
        raise ConfigError(
            f"column {name!r}: the schema's 'dtype' {dtype!r} cannot hold the profiled value "
            f"{float(quantiles[lost[0]])!r}, so the profile was not made from {dtype} data; "
            "profile the data again"
        )


def rounded_summary(summary: QuantileSummary, precision: np.dtype[Any]) -> QuantileSummary:
    """``summary`` with its quantiles rounded to ``precision`` (float32, float16), as the
    values it summarises would be.

    Rounding keeps the quantiles in order. Quantiles that become equal keep one rank, the
    largest (that of the last): ``#{rounded values <= x}`` stays within the band the
    summary states between stored points (rounding is monotone), so the statistics keep
    their error bounds; at a merged point the rank may be low by at most that band.

    Examples
    --------
    >>> s = QuantileSummary.from_sorted([0.1, 0.1 + 1e-12, 0.2], size=3)
    >>> r = rounded_summary(s, np.dtype(np.float32))
    >>> r.quantiles.tolist(), r.ranks.tolist()
    ([0.10000000149011612, 0.10000000149011612, 0.20000000298023224], [2, 2, 3])
    """
    quantiles = np.array(summary.quantiles, dtype=np.float64)
    round_to(quantiles, precision)
    last = np.searchsorted(quantiles, quantiles, side="right") - 1
    return QuantileSummary(n=summary.n, quantiles=quantiles, ranks=summary.ranks[last])


def profile_side(profile: DriftProfile, name: str, precision: np.dtype[Any] | None = None) -> Side:
    """The side of column ``name`` that drift checks compare, read from ``profile``; a
    numeric column's quantiles rounded to ``precision`` when given (see
    :func:`rounded_summary`)."""
    if name in profile.numeric:
        column = profile.numeric[name]
        summary = column.summary
        if precision is not None and summary is not None:
            summary = rounded_summary(summary, precision)
        return NumericSide(
            n_rows=column.n_rows,
            n_missing=column.n_missing,
            n_inf=column.n_inf,
            summary=summary,
            std=column.std,
        )
    counts = profile.categorical[name]
    if counts.n_distinct is not None:
        present = counts.n_rows - counts.n_missing
        uncounted = _Uncounted(name, counts.n_distinct, present)
        return CategoricalSide(n_rows=counts.n_rows, n_missing=counts.n_missing, counts=uncounted)
    return CategoricalSide(n_rows=counts.n_rows, n_missing=counts.n_missing, counts=counts.counts)


#: How the registry reads and builds ``profile`` documents (declared as the
#: ``modelship.documents`` entry point ``profile``): ``register(profile=data)`` profiles the
#: data, and a profile brings its schema, stored under the role ``schema``.
PROFILE_DOCUMENT = DocumentKind(DriftProfile, build="from_data", brings=("schema",))
