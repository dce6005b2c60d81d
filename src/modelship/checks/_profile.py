"""A drift profile: what drift checks need of the reference data, without the data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from modelship import _json
from modelship._documents import DocumentKind
from modelship._params import Interval, Names, validate_params
from modelship.checks import stats
from modelship.checks._schema import ColumnSchema, Schema
from modelship.checks._sides import CategoricalSide, NumericSide, Side
from modelship.checks._tabular import KINDS, ColumnKind, as_table, parse_kinds
from modelship.checks.stats import QuantileSummary
from modelship.errors import ConfigError

__all__ = ["CategoricalProfile", "DriftProfile", "NumericProfile"]

SCHEMA_VERSION = 1


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
        summary = data["summary"]
        return cls(
            n_rows=int(data["n_rows"]),
            n_missing=int(data["n_missing"]),
            n_inf=int(data["n_inf"]),
            std=float(data["std"]),
            summary=None if summary is None else QuantileSummary.from_dict(summary),
        )


@attrs.frozen(kw_only=True)
class CategoricalProfile:
    """One categorical reference column: the count of every category, and of missing values.

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

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict.

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> DriftProfile.from_data({"c": ["a", "b", "a"]}).categorical["c"].to_dict()
        {'n_rows': 3, 'n_missing': 0, 'counts': {'a': 2, 'b': 1}}
        """
        return {"n_rows": self.n_rows, "n_missing": self.n_missing, "counts": dict(self.counts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalProfile:
        """Rebuild from :meth:`to_dict` output.

        Examples
        --------
        >>> from modelship.checks import CategoricalProfile
        >>> CategoricalProfile.from_dict({"n_rows": 2, "n_missing": 1, "counts": {"a": 1}}).counts
        {'a': 1}
        """
        counts = {str(label): int(count) for label, count in data["counts"].items()}
        return cls(n_rows=int(data["n_rows"]), n_missing=int(data["n_missing"]), counts=counts)


@attrs.frozen(kw_only=True)
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

    @classmethod
    @validate_params(
        summary_size=Interval(int, 2, None),
        columns=(None, Names()),
        kinds=(None, KINDS),
        categorical_max_unique=(None, Interval(int, 1, None)),
    )
    def from_data(
        cls,
        reference: Any,
        *,
        summary_size: int = 1001,
        columns: Sequence[str] | None = None,
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
            As for :class:`DataDrift`.
        max_categories : int
            As for :meth:`Schema.infer`. The category counts are kept whatever their number;
            leave identifier-like columns out.

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
        """
        table = as_table(
            reference,
            what="reference",
            columns=columns,
            kinds=parse_kinds(kinds),
            categorical_max_unique=categorical_max_unique,
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
                categorical[name] = CategoricalProfile(
                    n_rows=len(column), n_missing=n_missing, counts=counts
                )
                schemas.append(
                    ColumnSchema.of(
                        column, max_categories=max_categories, counts=(counts, n_missing)
                    )
                )
        return cls(
            schema=Schema(schemas),
            numeric=numeric,
            categorical=categorical,
            summary_size=summary_size,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict with a ``"schema_version"`` key.

        Examples
        --------
        >>> from modelship.checks import DriftProfile
        >>> sorted(DriftProfile.from_data({"x": [1.0, 2.0]}).to_dict())
        ['categorical', 'numeric', 'schema', 'schema_version', 'summary_size']
        """
        return {
            "schema_version": SCHEMA_VERSION,
            "summary_size": self.summary_size,
            "schema": self.schema.to_dict(),
            "numeric": {name: column.to_dict() for name, column in self.numeric.items()},
            "categorical": {name: column.to_dict() for name, column in self.categorical.items()},
        }

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
            summary_size = int(data["summary_size"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"malformed drift profile: {type(exc).__name__}: {exc}") from None
        profiled = set(numeric) | set(categorical)
        if profiled != set(schema.names):
            raise ConfigError(
                f"malformed drift profile: columns {sorted(profiled)} do not match the "
                f"schema's {sorted(schema.names)}"
            )
        return cls(
            schema=schema, numeric=numeric, categorical=categorical, summary_size=summary_size
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


def profile_side(profile: DriftProfile, name: str) -> Side:
    """The side of column ``name`` that drift checks compare, read from ``profile``."""
    if name in profile.numeric:
        column = profile.numeric[name]
        return NumericSide(
            n_rows=column.n_rows,
            n_missing=column.n_missing,
            n_inf=column.n_inf,
            summary=column.summary,
            std=column.std,
        )
    counts = profile.categorical[name]
    return CategoricalSide(n_rows=counts.n_rows, n_missing=counts.n_missing, counts=counts.counts)


#: How the registry reads and builds ``profile`` documents (declared as the
#: ``modelship.documents`` entry point ``profile``): ``register(profile=data)`` profiles the
#: data, and a profile brings its schema, stored under the role ``schema``.
PROFILE_DOCUMENT = DocumentKind(DriftProfile, build="from_data", brings=("schema",))
