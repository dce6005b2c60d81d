"""Preprocessing parity by behaviour: replay a canary sample and compare the outputs.

At training time :func:`record_behaviour` runs the preprocessing on a small sample and
keeps inputs and outputs column by column; at deploy time :func:`compare_behaviour` runs
the production preprocessing on the same inputs and compares each output column within a
tolerance, naming the first rows that differ. Two scalers fitted on different data have
the same code, parameters and version, and only behaviour tells them apart.

Values are stored exactly: floats as JSON numbers (Python's shortest repr round-trips
every float64), non-finite floats as ``"nan"``/``"inf"``/``"-inf"`` (``{"float": "nan"}``
in a column of objects, where ``"nan"`` is a string), dates as integers of their unit.
A stored record is read back only as :meth:`BehaviourRecord.to_json` writes it: each
value's type checked against its column's dtype, and no column larger than
:data:`MAX_COLUMN_BYTES`.
"""

from __future__ import annotations

import importlib
import json
import math
import reprlib
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from modelship._params import Interval, Options, validate_params
from modelship.checks import Severity
from modelship.errors import ConfigError, MissingDependency
from modelship.parity._errors import SnapshotError
from modelship.parity._findings import Finding
from modelship.parity._json import JsonDocument

__all__ = [
    "BEHAVIOUR_ATOL",
    "BEHAVIOUR_RTOL",
    "BEHAVIOUR_SCHEMA_VERSION",
    "BehaviourRecord",
    "compare_behaviour",
    "record_behaviour",
]

BEHAVIOUR_SCHEMA_VERSION = 2
"""Version of the JSON layout written by :meth:`BehaviourRecord.to_json`.

Version 2 writes a non-finite float in an object column as ``{"float": "nan"}``, so that
the string ``"nan"`` stays a string; version 1 wrote both as ``"nan"``, and is read with
such strings as floats, as it was written.
"""

BEHAVIOUR_RTOL = 1e-6
"""Default relative tolerance: a float32 round trip (about 6e-8) passes, a refit does not."""

BEHAVIOUR_ATOL = 1e-9
"""Default absolute tolerance, for outputs at or near zero."""

MAX_CANARY_ROWS = 1000
"""Rows kept from a canary sample: enough to exercise every branch, small to store."""

MAX_COLUMN_BYTES = 64 * 2**20
"""Largest canary column, in bytes of its numpy array (rows times item size): 1000 rows of
strings of 16,000 characters. A stored record is read only within this bound, so a short
document cannot claim gigabytes."""

_MAX_DTYPE = 32  # characters of a dtype code: '<M8[ns]' is 7
_SHOWN_ROWS = 5  # differing rows named in a finding

Columns = dict[str, NDArray[Any]]
_KINDS = ("array", "mapping", "pandas", "polars")


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def _array(values: Any, what: str) -> NDArray[Any]:
    """``np.asarray(values)``; a ConfigError naming ``what`` when numpy cannot make one
    array of it (rows of different lengths: ``[[1, 2], [3]]``)."""
    try:
        return np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"the {what} cannot be read as an array ({str(exc)[:200]}): give a table, a "
            "mapping of 1-D columns of one length, or a 1-D or 2-D array whose rows have "
            "one length"
        ) from exc


def _as_columns(data: Any, what: str) -> tuple[str, Columns, int]:
    """``(kind, columns, ndim)`` of a table: data frame, mapping of columns, or array."""
    if _module(data) in ("pandas", "polars") and hasattr(data, "columns"):
        return _module(data), {str(c): np.asarray(data[c].to_numpy()) for c in data.columns}, 2
    if _module(data) == "pandas" and hasattr(data, "to_numpy"):  # a Series
        return "array", {"0": np.asarray(data.to_numpy())}, 1
    if isinstance(data, Mapping):
        columns = {
            str(name): _array(values, f"{what} column {str(name)!r}")
            for name, values in data.items()
        }
        if any(col.ndim != 1 for col in columns.values()):
            raise ConfigError(f"the {what} mapping must hold 1-D columns")
        return "mapping", columns, 2
    array = data.toarray() if _module(data) == "scipy" else _array(data, what)
    if array.ndim == 1:
        return "array", {"0": array}, 1
    if array.ndim == 2:
        return "array", {str(j): array[:, j] for j in range(array.shape[1])}, 2
    raise ConfigError(f"the {what} must be a table or a 1-D or 2-D array, got {array.ndim}-D")


def _rows(columns: Columns, what: str) -> int:
    lengths = {len(col) for col in columns.values()}
    if len(lengths) > 1:
        raise ConfigError(f"the {what} columns have different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def _encode(name: str, col: NDArray[Any]) -> dict[str, Any]:
    kind = col.dtype.kind
    if kind in "biu":
        values: list[Any] = col.tolist()
    elif kind == "U":
        values = col.tolist()
        # Written as wide as its longest value: what _decode allocates, whatever was declared.
        col = col.astype(f"{col.dtype.byteorder}U{max(map(len, values), default=1) or 1}")
    elif kind == "f":
        values = [v if math.isfinite(v) else str(v) for v in col.astype(float).tolist()]
    elif kind in "mM":
        values = col.view("int64").tolist()
    elif kind == "O":
        values = [v.item() if isinstance(v, np.generic) else v for v in col.tolist()]
        for v in values:
            if not (v is None or isinstance(v, (bool, int, float, str))):
                raise ConfigError(
                    f"column {name!r} holds a {type(v).__name__}; a canary sample holds "
                    "numbers, strings, booleans, dates or missing values"
                )
        # {"float": "nan"}: a bare "nan" in a column of strings is the string.
        values = [{"float": str(v)} if _non_finite(v) else v for v in values]
    else:
        raise ConfigError(f"column {name!r} has dtype {col.dtype}, which a canary cannot store")
    if len(values) * col.dtype.itemsize > MAX_COLUMN_BYTES:
        raise ConfigError(
            f"column {name!r} takes {len(values) * col.dtype.itemsize} bytes, more than the "
            f"{MAX_COLUMN_BYTES} a canary column may: keep fewer rows (max_rows=) or "
            "shorter strings"
        )
    return {"dtype": col.dtype.str, "values": values}


def _non_finite(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


_NON_FINITE = ("nan", "inf", "-inf")  # str() of the non-finite floats
_CANARY_KINDS = "biufUmMO"  # the dtype kinds _encode writes
_NAT = np.iinfo(np.int64).min  # NaT, as _encode writes a date column's integers


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object_value(value: Any, schema_version: int) -> Any:
    """One value of an object column, or raise ValueError."""
    if isinstance(value, dict) and len(value) == 1 and value.get("float") in _NON_FINITE:
        return float(value["float"])
    if value is None or isinstance(value, (bool, int, float, str)):
        if schema_version == 1 and value in _NON_FINITE:
            return float(value)  # version 1 wrote non-finite floats as these strings
        return value
    raise ValueError(f"{reprlib.repr(value)} is not a number, string, boolean or null")


def _column(dtype: np.dtype[Any], values: list[Any], schema_version: int) -> NDArray[Any]:
    """The column ``values`` of ``dtype`` hold; ValueError or OverflowError when a value is
    not one ``_encode`` writes for that dtype (nothing is coerced: ``"x"`` is no bool)."""
    kind = dtype.kind
    if kind == "O":
        col = np.empty(len(values), dtype=object)
        col[:] = [_object_value(v, schema_version) for v in values]
        return col
    if kind == "f":
        if not all(_is_int(v) or isinstance(v, float) or v in _NON_FINITE for v in values):
            raise ValueError("a value that is not a number")
        with np.errstate(over="raise", invalid="raise"):
            return np.array([float(v) for v in values], dtype=float).astype(dtype)
    if kind == "b":
        if not all(isinstance(v, bool) for v in values):
            raise ValueError("a value that is not true or false")
        return np.array(values, dtype=dtype).reshape(len(values))
    if kind == "U":
        if not all(isinstance(v, str) and len(v) <= dtype.itemsize // 4 for v in values):
            raise ValueError(f"a value that is not a string of at most {dtype.itemsize // 4}")
        # Allocated as wide as the longest value, not as declared: a document declaring
        # <U25000000 for three letters would otherwise take 300 MB.
        width = max(map(len, values), default=1) or 1
        return np.array(values, dtype=f"{dtype.byteorder}U{width}").reshape(len(values))
    # integers, and dates as integers of their unit
    limits = np.iinfo(dtype if kind in "iu" else np.int64)
    if not all(_is_int(v) and limits.min <= v <= limits.max for v in values):
        raise ValueError(f"a value that is not an integer from {limits.min} to {limits.max}")
    if kind in "mM":
        if np.datetime_data(dtype)[0] == "generic" and any(v != _NAT for v in values):
            raise ValueError("a date other than NaT in a column without a unit")
        return np.array(values, dtype="int64").view(dtype)
    return np.array(values, dtype=dtype).reshape(len(values))


def _decode(name: str, document: Any, what: str, schema_version: int) -> NDArray[Any]:
    if not isinstance(document, dict) or not isinstance(document.get("values"), list):
        raise SnapshotError(f"{what}: column {name!r} must have a 'dtype' and a 'values' list")
    unknown = sorted(str(key) for key in document if key not in ("dtype", "values"))
    if unknown:
        raise SnapshotError(f"{what}: column {name!r} has unknown field(s) {unknown[:5]}")
    code = document.get("dtype")
    try:
        dtype = np.dtype(code) if isinstance(code, str) and len(code) <= _MAX_DTYPE else None
    except (TypeError, ValueError, OverflowError):
        dtype = None
    # Only what _encode writes (a dtype's own spelling, of a kind it stores): no structured
    # or sub-array dtypes, no aliases.
    if dtype is None or dtype.str != code or dtype.kind not in _CANARY_KINDS:
        raise SnapshotError(
            f"{what}: column {name!r} has dtype {reprlib.repr(code)}, which is not one a "
            "behaviour record stores (numbers, booleans, strings, dates or objects, "
            "spelled as numpy.dtype.str: '<f8', '|b1', '<U5', '<M8[ns]', '|O')"
        )
    values = document["values"]
    if len(values) * (4 if dtype.kind == "U" else dtype.itemsize) > MAX_COLUMN_BYTES:
        raise SnapshotError(
            f"{what}: column {name!r} has {len(values)} rows, more than a canary column holds"
        )
    try:
        col = _column(dtype, values, schema_version)
    except (TypeError, ValueError, OverflowError, FloatingPointError) as exc:
        raise SnapshotError(
            f"{what}: column {name!r} has values that are not {dtype}: {str(exc)[:200]}"
        ) from exc
    if col.nbytes > MAX_COLUMN_BYTES:
        raise SnapshotError(
            f"{what}: column {name!r} takes {col.nbytes} bytes, more than the "
            f"{MAX_COLUMN_BYTES} a canary column may"
        )
    return col


def _layout_problem(kind: object, inputs: Columns, input_ndim: object) -> str | None:
    """What makes a record's inputs impossible to replay, or None."""
    if kind not in _KINDS:
        return f"'kind' must be one of {', '.join(_KINDS)}, got {reprlib.repr(kind)}"
    if not _is_int(input_ndim) or input_ndim not in (1, 2):
        return f"'input_ndim' must be 1 or 2, got {reprlib.repr(input_ndim)}"
    if kind == "array":
        expected = {"0"} if input_ndim == 1 else {str(j) for j in range(max(len(inputs), 1))}
        if set(inputs) != expected:
            return (
                f"the inputs of an array record are its columns '0', '1', ... (one, '0', "
                f"when 'input_ndim' is 1); got {reprlib.repr(sorted(inputs))}"
            )
    return None


def _check_table(table: object, label: str) -> None:
    """Refuse, as a ConfigError, a table a record could hold but not write: anything but
    a mapping of column name to a 1-D numpy array :func:`_encode` stores."""
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"BehaviourRecord: {label} must be a mapping of column name to 1-D numpy array "
            f"(record_behaviour() builds one), got {type(table).__name__}"
        )
    for name, col in table.items():
        if not isinstance(name, str):
            raise ConfigError(
                f"BehaviourRecord: {label} has the column name {reprlib.repr(name)}; column "
                "names are strings ('0', 'amount')"
            )
        if not isinstance(col, np.ndarray) or col.ndim != 1:
            shape = f"a {col.ndim}-D array" if isinstance(col, np.ndarray) else type(col).__name__
            raise ConfigError(
                f"BehaviourRecord: {label} column {name!r} must be a 1-D numpy array, got "
                f"{shape}: wrap a list in numpy.asarray(), split a 2-D array into columns"
            )
        try:
            _encode(name, col)
        except ConfigError as exc:
            raise ConfigError(f"BehaviourRecord: {label} {exc}") from None


@attrs.frozen(kw_only=True, eq=False)
class BehaviourRecord:
    """Canary inputs of a preprocessing step and the outputs it gave at training time.

    Build one with :func:`record_behaviour`; store it with :meth:`to_json` (the registry
    keeps it with the version) and replay it with :func:`compare_behaviour`.

    Attributes
    ----------
    kind : str
        How the inputs are handed back to the transform: ``"array"`` (a 1-D or 2-D numpy
        array), ``"mapping"`` (a dict of columns), ``"pandas"`` or ``"polars"`` (a data
        frame; needs that library at replay).
    inputs, outputs : dict of str to numpy array
        Columns; an array's columns are named ``"0"``, ``"1"``, ...
    input_ndim : int
        1 or 2, for ``"array"`` inputs.

    Raises
    ------
    ConfigError
        When ``inputs`` or ``outputs`` is not a mapping of column name (a string) to a 1-D
        numpy array of numbers, booleans, strings, dates or objects that are such values
        (what :meth:`to_json` can write), ``kind`` is not one of those, ``input_ndim`` not
        1 or 2, the inputs of an ``"array"`` record are not the columns ``"0"`` to
        ``"n-1"`` (only ``"0"`` in 1-D), or the inputs' (or the outputs') columns have
        different lengths.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.parity import BehaviourRecord, record_behaviour
    >>> record = record_behaviour(lambda x: x * 2.0, np.array([[1.0, 2.0], [3.0, np.nan]]))
    >>> record.outputs["1"]
    array([ 4., nan])
    >>> BehaviourRecord.from_json(record.to_json()) == record
    True
    """

    kind: str
    inputs: Columns
    outputs: Columns
    input_ndim: int = 2

    def __attrs_post_init__(self) -> None:
        for label, table in (("inputs", self.inputs), ("outputs", self.outputs)):
            _check_table(table, label)
        problem = _layout_problem(self.kind, self.inputs, self.input_ndim)
        if problem is not None:
            raise ConfigError(f"BehaviourRecord: {problem}")
        # as from_json refuses them, so that every record written reads back
        _rows(self.inputs, "BehaviourRecord: inputs")
        _rows(self.outputs, "BehaviourRecord: outputs")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BehaviourRecord):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # holds arrays: not hashable

    @property
    def rows(self) -> int:
        """Rows in the canary sample.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.parity import record_behaviour
        >>> record_behaviour(lambda x: x, np.zeros((7, 2))).rows
        7
        """
        return _rows(self.inputs, "canary input")

    def replay_inputs(self) -> Any:
        """Rebuild the inputs in the form they were recorded in (array, dict or data frame).

        Raises
        ------
        MissingDependency
            When the inputs were a pandas or polars data frame and that library is missing.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.parity import record_behaviour
        >>> record_behaviour(lambda x: x, np.eye(2)).replay_inputs()
        array([[1., 0.],
               [0., 1.]])
        """
        columns = dict(self.inputs)
        if self.kind == "mapping":
            return columns
        if self.kind in ("pandas", "polars"):
            try:
                library = importlib.import_module(self.kind)
            except ImportError:
                raise MissingDependency(
                    f"the canary inputs were a {self.kind} data frame: pip install {self.kind}"
                ) from None
            return library.DataFrame(columns)
        if self.input_ndim == 1:
            return columns["0"]
        return np.column_stack([columns[str(j)] for j in range(len(columns))])

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-compatible form :meth:`to_json` writes.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.parity import record_behaviour
        >>> record_behaviour(lambda x: x + 1, np.array([1, 2])).to_dict()["outputs"]
        {'0': {'dtype': '<i8', 'values': [2, 3]}}
        """
        return {
            "schema_version": BEHAVIOUR_SCHEMA_VERSION,
            "kind": self.kind,
            "input_ndim": self.input_ndim,
            "inputs": {name: _encode(name, col) for name, col in self.inputs.items()},
            "outputs": {name: _encode(name, col) for name, col in self.outputs.items()},
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """Return the record as JSON text.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.parity import record_behaviour
        >>> record_behaviour(lambda x: x + 1, np.array([1, 2])).to_json()[:40]
        '{"schema_version": 2, "kind": "array", "'
        """
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> BehaviourRecord:
        """Read a record written by :meth:`to_json`, validating every column.

        Raises
        ------
        SnapshotError
            When the text is not such a record: among others, a value whose type is not
            its column's (``"x"`` in a column of booleans, ``1000`` in an ``int8`` one), a
            dtype :meth:`to_json` does not write, a column larger than
            :data:`MAX_COLUMN_BYTES`, or an array record whose inputs are not the
            columns ``"0"``, ``"1"``, ... A version 1 document is read as it was written.

        Examples
        --------
        >>> from modelship.parity import BehaviourRecord
        >>> BehaviourRecord.from_json('{"schema_version": 2, "kind": "sql", "inputs": {},'
        ...                           ' "outputs": {}}')
        Traceback (most recent call last):
        ...
        modelship.parity.SnapshotError: behaviour record: 'kind' must be one of array, ...
        """
        what = "behaviour record"
        doc = JsonDocument.parse(text, what)
        doc.schema_version(BEHAVIOUR_SCHEMA_VERSION)
        doc.only("schema_version", "kind", "input_ndim", "inputs", "outputs")
        version = int(doc.doc["schema_version"])
        kind = doc.text("kind")
        tables = {}
        for key in ("inputs", "outputs"):
            table = doc.doc.get(key)
            if not isinstance(table, dict):
                raise SnapshotError(f"{what}: {key!r} must be an object of columns")
            tables[key] = {name: _decode(name, col, what, version) for name, col in table.items()}
            if len({len(col) for col in tables[key].values()}) > 1:
                raise SnapshotError(f"{what}: the {key} columns have different lengths")
        ndim = doc.integer("input_ndim")
        ndim = 2 if ndim is None else ndim
        problem = _layout_problem(kind, tables["inputs"], ndim)
        if problem is not None:
            raise SnapshotError(f"{what}: {problem}")
        return cls(kind=kind, inputs=tables["inputs"], outputs=tables["outputs"], input_ndim=ndim)


def _transform_function(transform: Any) -> Callable[[Any], Any]:
    method = getattr(transform, "transform", None)
    if callable(method):
        return method  # type: ignore[no-any-return]
    if callable(transform):
        return transform  # type: ignore[no-any-return]
    raise ConfigError(
        f"the preprocessing must have a transform() method or be callable, got "
        f"{type(transform).__name__}"
    )


@validate_params(max_rows=Interval(int, 1, None))
def record_behaviour(
    transform: Any, sample: Any, *, max_rows: int = MAX_CANARY_ROWS
) -> BehaviourRecord:
    """Run ``transform`` on a canary ``sample`` and record inputs and outputs.

    Parameters
    ----------
    transform : object or callable
        A fitted transformer (its ``transform`` method is called) or a function.
    sample : array, mapping of columns, or data frame
        A small sample of training inputs; the first ``max_rows`` rows are kept.
    max_rows : int
        Rows to keep (default :data:`MAX_CANARY_ROWS`).

    Raises
    ------
    ConfigError
        When the sample or the outputs are not tables of numbers, strings, booleans or
        dates (a mapping whose columns have different lengths is not one), or
        ``max_rows`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.parity import record_behaviour
    >>> def features(table):
    ...     return {"log_amount": np.log1p(table["amount"])}
    >>> record = record_behaviour(features, {"amount": np.array([0.0, 9.0, 99.0])})
    >>> record.kind, record.rows, record.outputs["log_amount"].round(3).tolist()
    ('mapping', 3, [0.0, 2.303, 4.605])
    """
    function = _transform_function(transform)
    kind, columns, ndim = _as_columns(sample, "canary sample")
    _rows(columns, "canary sample")  # ragged before the cut, though max_rows may even it
    columns = {name: col[:max_rows] for name, col in columns.items()}
    for name, col in columns.items():
        _encode(name, col)  # refuse what cannot be stored before running anything
    record = BehaviourRecord(kind=kind, inputs=columns, outputs={}, input_ndim=ndim)
    _, outputs, _ = _as_columns(function(record.replay_inputs()), "preprocessing output")
    _rows(outputs, "preprocessing output")
    for name, col in outputs.items():
        _encode(name, col)
    return attrs.evolve(record, outputs=outputs)


def _integral(recorded: NDArray[Any], produced: NDArray[Any]) -> bool:
    """Whether both columns hold integers (or booleans), compared exactly: as floats,
    int64 values beyond 2**53 would lose the digits that differ."""
    return recorded.dtype.kind in "biu" and produced.dtype.kind in "biu"


# Integers up to this size are exact as float64, and so is the difference of two.
_EXACT_FLOAT = 2**52


def _small(*columns: NDArray[Any]) -> bool:
    """Whether every value of the integer ``columns`` is within ``±2**52``."""
    return all(
        col.size == 0 or (int(col.min()) >= -_EXACT_FLOAT and int(col.max()) <= _EXACT_FLOAT)
        for col in columns
    )


def _gaps(recorded: NDArray[Any], produced: NDArray[Any]) -> list[int]:
    """``|prod - train|`` of integer columns, row by row, exactly: in float64 where that
    is exact, else in Python integers."""
    if _small(recorded, produced):
        gap = np.abs(produced.astype(np.float64) - recorded.astype(np.float64))
        return [int(value) for value in gap.astype(np.int64).tolist()]
    exact = np.abs(produced.astype(object) - recorded.astype(object))
    return [int(value) for value in exact.tolist()]


def _differs_integral(
    recorded: NDArray[Any], produced: NDArray[Any], rtol: float, atol: float
) -> NDArray[np.bool_]:
    """Which rows of two integer columns differ beyond the tolerances, exactly: decided
    in float64 where its rounding cannot change the answer, and in exact arithmetic
    (:func:`_within`) for the rows near the bound only."""
    then, now = recorded.astype(np.float64), produced.astype(np.float64)
    gap = np.abs(now - then)
    eps = float(np.finfo(np.float64).eps)
    # A tolerance beyond float64 (rtol=1e300) overflows to inf, and inf - inf is NaN: no
    # warning (an error under -W error); a bound of inf allows every gap of two integers,
    # and a NaN one is decided exactly.
    with np.errstate(over="ignore", invalid="ignore"):
        allowed = atol + np.where(then == 0, 0.0, rtol * np.abs(then))
        unbounded = np.isposinf(allowed)
        if _small(recorded, produced):  # the gap is exact; only the bound is rounded
            band = 4 * eps * allowed
            same = gap == 0
        else:  # both rounded: a margin for each, and equality only where it is exact
            band = 4 * eps * (np.abs(then) + np.abs(now) + allowed) + 1.0
            same = (
                np.asarray(recorded == produced, dtype=bool)
                if recorded.dtype == produced.dtype
                else np.zeros(gap.shape, dtype=bool)
            )
        differs: NDArray[np.bool_] = (gap > allowed + band) & ~same & ~unbounded
        near = ~same & ~differs & ~unbounded & ~(gap < allowed - band)
    for row in np.flatnonzero(near).tolist():
        first, second = int(recorded[row]), int(produced[row])
        differs[row] = not _within(abs(second - first), first, rtol, atol)
    return differs


def _within(gap: int | Fraction, recorded: int | Fraction, rtol: float, atol: float) -> bool:
    """``gap <= atol + rtol * |recorded|``, exactly (an infinite tolerance allows all)."""
    if gap == 0 or math.isinf(atol) or (math.isinf(rtol) and recorded != 0):
        return True
    relative = Fraction(rtol) * abs(Fraction(recorded)) if recorded else Fraction(0)
    return gap <= Fraction(atol) + relative


def _differs(
    recorded: NDArray[Any], produced: NDArray[Any], rtol: float, atol: float
) -> NDArray[np.bool_]:
    if _integral(recorded, produced):
        return _differs_integral(recorded, produced, rtol, atol)
    if recorded.dtype.kind in "biuf" and produced.dtype.kind in "biuf":
        close: NDArray[np.bool_] = np.isclose(
            produced.astype(float), recorded.astype(float), rtol=rtol, atol=atol, equal_nan=True
        )
        return ~close
    kinds = recorded.dtype.kind + produced.dtype.kind
    if ("m" in kinds or "M" in kinds) and kinds[0] != kinds[1]:
        # A date is not a duration nor a number, even where both read as one integer
        # (tolist() of '<M8[ns]' and of '<m8[ns]'), nor is one's NaT the other's.
        return np.ones(len(recorded), dtype=bool)
    if kinds in ("mm", "MM"):
        # The same instants in another unit (pandas 2 gives ns, pandas 3 us), compared as
        # integers of the finer unit: tolist() gives ints for ns, datetimes for us. NaT is
        # the smallest int64 in every unit, so NaT equals NaT.
        unit = np.promote_types(recorded.dtype, produced.dtype)
        then = recorded.astype(unit).view(np.int64)
        now = produced.astype(unit).view(np.int64)
        return np.asarray(then != now, dtype=bool)
    return np.array(
        [
            not _same(a, b, rtol, atol)
            for a, b in zip(recorded.tolist(), produced.tolist(), strict=True)
        ],
        dtype=bool,
    )


def _real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Whether two values of a column of objects match: numbers (a numpy scalar as the
    Python number it holds) within the tolerances, anything else equal and of one type."""
    a = a.item() if isinstance(a, np.generic) else a
    b = b.item() if isinstance(b, np.generic) else b
    if _real(a) and _real(b):
        if a == b or (_non_finite(a) and _non_finite(b) and math.isnan(a) and math.isnan(b)):
            return True  # equal, infinities of one sign, or both NaN
        if _non_finite(a) or _non_finite(b):
            return False
        # Exactly, as for integer columns: an int beyond 2**53 (or 1e308) stays itself.
        return _within(abs(Fraction(b) - Fraction(a)), Fraction(a), rtol, atol)
    return bool(a == b) and type(a) is type(b)


def _other_columns(recorded: list[str], produced: list[str]) -> str:
    """Say how production's output columns differ from the recorded ones."""
    if sorted(recorded) == sorted(produced):
        return (
            f"the output columns are in another order: {reprlib.repr(recorded)} in training, "
            f"{reprlib.repr(produced)} in production"
        )
    return (
        f"the outputs have {len(recorded)} columns in training and {len(produced)} in "
        f"production: {reprlib.repr(recorded)} and {reprlib.repr(produced)}"
    )


@validate_params(
    rtol=Interval(float, 0, None), atol=Interval(float, 0, None), severity=Options(Severity)
)
def compare_behaviour(
    record: BehaviourRecord,
    transform: Any,
    *,
    rtol: float = BEHAVIOUR_RTOL,
    atol: float = BEHAVIOUR_ATOL,
    severity: Severity | str = Severity.BLOCKING,
) -> tuple[Finding, ...]:
    """Replay ``record``'s inputs through the production ``transform``; report what differs.

    Numeric columns are compared with :func:`numpy.isclose` (``|prod - train| <= atol +
    rtol * |train|``, NaN equal to NaN), columns of integers (or booleans) on both sides
    by the same rule in exact arithmetic (as floats, ``int64`` values beyond ``2**53``
    would lose the digits that differ); dates (or durations) as the instants they are,
    whatever their unit (``datetime64[ns]`` and ``[us]``), NaT equal to NaT, and never
    equal to a duration or a number; in columns
    of objects, numbers (numpy scalars too, not booleans) by the same rule, other values
    exactly, type and all; other columns exactly. Each differing column is one finding
    naming the first rows that differ and the largest difference. Columns in another
    order are one finding, showing both orders.

    Returns
    -------
    tuple of Finding
        Empty when every output matches; a single finding when the transform raises, when
        its output is not a table (a 3-D array, a scalar, ``None``), or when it has other
        columns or rows.

    Raises
    ------
    ConfigError
        When ``record`` is not a :class:`BehaviourRecord`, ``transform`` is neither
        callable nor has a ``transform`` method, or a tolerance is negative.
    MissingDependency
        When the canary inputs were a pandas or polars data frame and that library is
        missing.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.parity import compare_behaviour, record_behaviour
    >>> x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    >>> record = record_behaviour(lambda a: a - [2.0, 20.0], x)
    >>> compare_behaviour(record, lambda a: a - [2.0, 20.0])
    ()
    >>> [f.message for f in compare_behaviour(record, lambda a: a - [2.0, 20.5])]
    ["output column '1': 3 of 3 rows differ beyond rtol=1e-06, atol=1e-09 (first rows 0, 1, 2);
    largest difference 0.5 at row 0"]
    """
    for label, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ConfigError(f"{label} must be a non-negative number, got {value!r}")
    if not isinstance(record, BehaviourRecord):
        raise ConfigError(
            "record must be a BehaviourRecord (record_behaviour() or "
            f"BehaviourRecord.from_json()), got {type(record).__name__}"
        )
    severity = Severity(severity)
    check = "preprocessing_behaviour"
    function = _transform_function(transform)
    inputs = record.replay_inputs()  # outside the try: a bad record is not production's fault
    try:
        produced = function(inputs)
    except (MissingDependency, ConfigError):
        raise
    except Exception as exc:
        return (
            Finding(
                check=check,
                severity=severity,
                message=f"the production preprocessing raised {type(exc).__name__}: {exc} "
                "on the recorded canary inputs",
            ),
        )
    try:
        _, outputs, _ = _as_columns(produced, "preprocessing output")
        _rows(outputs, "production output")
    except Exception as exc:  # a 3-D array, a scalar, None, ragged columns...
        return (
            Finding(
                check=check,
                severity=severity,
                message="the production preprocessing returned what is not a table of "
                f"columns on the recorded canary inputs ({type(produced).__name__}): {exc}",
                prod=type(produced).__name__,
            ),
        )
    if list(outputs) != list(record.outputs):
        return (
            Finding(
                check=check,
                severity=severity,
                message=_other_columns(list(record.outputs), list(outputs)),
                train=list(record.outputs),
                prod=list(outputs),
            ),
        )
    rows = _rows(record.outputs, "recorded output")
    if _rows(outputs, "production output") != rows:
        return (
            Finding(
                check=check,
                severity=severity,
                message=f"the outputs have {rows} rows in training and "
                f"{_rows(outputs, 'production output')} in production",
                train=rows,
                prod=_rows(outputs, "production output"),
            ),
        )
    findings = []
    for name, recorded in record.outputs.items():
        now = outputs[name]
        bad = np.flatnonzero(_differs(recorded, now, rtol, atol))
        if not bad.size:
            continue
        shown = bad[:_SHOWN_ROWS]
        message = (
            f"output column {name!r}: {bad.size} of {rows} rows differ beyond rtol={rtol:g}, "
            f"atol={atol:g} (first rows {', '.join(str(i) for i in shown)})"
        )
        if _integral(recorded, now):
            exact = _gaps(recorded[bad], now[bad])
            worst = max(range(len(exact)), key=exact.__getitem__)  # the first of the largest
            message += f"; largest difference {exact[worst]} at row {bad[worst]}"
        elif recorded.dtype.kind in "biuf" and now.dtype.kind in "biuf":
            gap = np.abs(now[bad].astype(float) - recorded[bad].astype(float))
            gap = np.where(np.isnan(gap), np.inf, gap)
            worst = int(np.argmax(gap))
            message += f"; largest difference {gap[worst]:.6g} at row {bad[worst]}"
        findings.append(
            Finding(
                check=check,
                severity=severity,
                message=message,
                train=recorded[shown],
                prod=now[shown],
                subject=name,
            )
        )
    return tuple(findings)
