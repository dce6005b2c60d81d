"""Named columns from whatever a user holds: the one place that knows each data library.

Shared by the checks (:mod:`modelship.checks`) and :func:`modelship.fingerprint`, so that
every place that takes data accepts the same inputs under the same column names:

- a mapping of name to 1-D values; a NumPy structured array (its field names);
- a pandas or polars data frame (``.columns`` and ``frame[name]``);
- a polars LazyFrame, collected first (its query runs);
- a pandas or polars Series with a name: one column under that name (an unnamed Series
  is a plain array);
- a pyarrow Table or RecordBatch (``.column_names`` and ``.column(name)``).

modelship's own objects that describe data or judge it (a ``Schema``, a ``DriftProfile``,
a ``CheckResult``) hold no rows: they are refused by name, saying what to pass instead
(:func:`not_data`), never read as a frame of their parts.

Row labels are not data: pandas writes the index of a filtered or sampled frame to Parquet
as a column of its own (``__index_level_0__``), which pyarrow and polars read back as one.
:func:`without_pandas_index` drops it, as the CLI does reading such a file.

A column of text or categories can also be taken as codes into its distinct values
(:func:`encoded_column`): pandas categoricals and arrow dictionary arrays hold it that way,
and text is factorised by the data library's own hashing. Counting such a column is one
``np.bincount`` over small integers instead of a pass of Python over every value.

Duck typing only: nothing here imports pandas, polars or pyarrow. This module is a leaf:
it imports nothing from modelship but the exception tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelship.errors import CheckInputError, EmptyData, ModelshipError

__all__ = [
    "lazy_schema",
    "FLOAT_EXACT",
    "MISSING_TYPE_NAMES",
    "Encoded",
    "check_same_index",
    "column_array",
    "encoded_column",
    "is_missing",
    "named_items",
    "not_data",
    "pandas_index_columns",
    "row_labels_reason",
    "series_name",
    "split_pandas_index",
    "without_pandas_index",
]

#: Types whose values mark a missing value: ``None``, pandas' ``NA`` and ``NaT``.
MISSING_TYPE_NAMES = frozenset({"NoneType", "NAType", "NaTType"})


def is_missing(value: Any) -> bool:
    """Is ``value`` a missing value: ``None``, NaN, pandas' ``NA`` or ``NaT``?

    Examples
    --------
    >>> [is_missing(v) for v in (None, float("nan"), 0.0, "")]
    [True, True, False, False]
    """
    if value is None or type(value).__name__ in MISSING_TYPE_NAMES:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def series_name(data: Any) -> str | None:
    """The name of a pandas or polars Series (one named column), else ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> series_name(np.arange(3)) is None
    True
    """
    if isinstance(data, np.ndarray) or not hasattr(data, "to_numpy"):
        return None
    if len(getattr(data, "shape", ())) != 1 or hasattr(data, "columns"):
        return None
    name = getattr(data, "name", None)
    return None if name is None or name == "" else str(name)


# What to pass instead of modelship's own objects that hold no data, by type name.
_INSTEAD = {
    "Schema": (
        "a schema describes columns and holds no values: pass the data itself (to check "
        "data against the schema, call schema.validate(data))"
    ),
    "ColumnSchema": "a column's schema holds no values: pass the data itself",
    "DriftProfile": (
        "a profile summarises reference data and holds none of its rows: pass the data "
        "itself (a profile is a drift check's reference: DataDrift(reference=profile, "
        "current=data))"
    ),
}


def not_data(value: Any, what: str = "the data") -> str | None:
    """Why ``value`` is not data, when it is one of modelship's own objects that hold
    none (a schema, a profile, a check's result); ``None`` for anything else.

    A ``Schema`` has ``.columns`` and ``schema[name]``, as a data frame has: without this,
    its column schemas would be read as columns of values. modelship's containers of data
    (a mapping of columns, as the CLI reads a CSV into) are data.

    Examples
    --------
    >>> from modelship.checks import Schema
    >>> print(not_data(Schema.infer({"x": [1.0, 2.0]}), "current"))
    current is a Schema, not data: a schema describes columns and holds no values: pass ...
    >>> not_data({"x": [1.0, 2.0]}) is None
    True
    """
    if isinstance(value, (np.ndarray, list, tuple, dict, Encoded)):
        return None  # first: a C type's __module__ is built anew at each read (250 ns)
    # The nearest of modelship's own classes the value is: a user's subclass of Schema,
    # defined in their module, is a Schema as much as ours.
    own = next((cls for cls in type(value).__mro__ if _ours(cls.__module__)), None)
    if own is None or isinstance(value, Mapping):  # a mapping of columns is data
        return None
    name = own.__name__
    if name in _INSTEAD:
        instead = _INSTEAD[name]
    elif name.endswith("Result"):
        instead = "a result is a check's verdict and holds no values: pass the data itself"
    else:
        instead = (
            "pass an array, a mapping of column name to values, a data frame or series "
            "(pandas, polars) or a pyarrow table"
        )
    return f"{what} is a {name}, not data: {instead}"


def _cut(text: str, most: int = 100) -> str:
    """``text`` cut to ``most`` characters.

    Examples
    --------
    >>> _cut("x" * 200, 10)
    'xxxxxxx...'
    """
    return text if len(text) <= most else text[: most - 3] + "..."


def _repr(value: object) -> str:
    """``repr(value)``, or its type's name when that fails (an int past 4,300 digits)."""
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def _ours(module: str) -> bool:
    return module == "modelship" or module.startswith("modelship.")


def named_items(data: Any) -> list[tuple[str, Any]] | None:  # noqa: PLR0911 - one return per supported input library (polars, pandas, pyarrow, mapping, ...)
    """``(name, column)`` pairs of a named input, or ``None`` for a plain array.

    Examples
    --------
    >>> named_items({"age": [31, 45], 7: [1, 2]})
    [('age', [31, 45]), ('7', [1, 2])]
    >>> named_items([1, 2]) is None
    True
    """
    if not_data(data) is not None:  # not named columns (column_array says why)
        return None
    if type(data).__name__ == "LazyFrame" and hasattr(data, "collect"):  # polars
        data = data.collect()
    series = series_name(data)
    if series is not None:
        return [(series, data)]
    if isinstance(data, Mapping):
        return [(str(key), value) for key, value in data.items()]
    if isinstance(data, np.ndarray):
        if data.dtype.names is None:
            return None
        return [(name, data[name]) for name in data.dtype.names]
    if hasattr(data, "column_names") and hasattr(data, "column"):  # pyarrow.Table
        # By position: arrow refuses a name held by two columns (a KeyError), and the
        # callers refuse duplicated names as they do for a pandas frame.
        return [(str(name), data.column(i)) for i, name in enumerate(data.column_names)]
    if hasattr(data, "columns") and hasattr(data, "__getitem__"):  # pandas, polars
        return _frame_items(data)
    return None


#: The name pandas gives the column of an unnamed index level it writes to Parquet.
UNNAMED_INDEX = re.compile(r"__index_level_\d+__")


def pandas_index_columns(table: Any) -> list[str]:
    """The columns of an arrow table (or record batch) that hold an unnamed pandas index,
    as its ``pandas`` metadata names them (``__index_level_0__``), or ``[]``.

    pandas writes a range index as metadata only, and any other index (that of a sample,
    a filtered frame) as a column: the same data would otherwise read with a column more
    or less depending on its row labels. A named index (``set_index("store")``) is left
    out of this list: it was a data column, which polars and pyarrow read as one and
    which profiles made before name. Metadata that is not what pandas writes is
    ignored: the table is then read as is.

    Examples
    --------
    >>> import pandas as pd, pyarrow as pa
    >>> frame = pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0]}).iloc[[3, 0, 1]]
    >>> pandas_index_columns(pa.Table.from_pandas(frame))
    ['__index_level_0__']
    >>> pandas_index_columns(pa.Table.from_pandas(frame.reset_index(drop=True)))
    []
    """
    schema = getattr(table, "schema", None)
    metadata = getattr(schema, "metadata", None) or {}
    text = metadata.get(b"pandas") if isinstance(metadata, Mapping) else None
    if text is None:
        return []
    try:
        index = json.loads(text).get("index_columns", [])
    except (ValueError, TypeError, AttributeError):  # not JSON, or not an object
        return []
    # A range index is a dict ({"kind": "range", ...}), stored in no column.
    if not isinstance(index, list):
        return []
    names = {str(name) for name in table.column_names}
    return [
        name
        for name in index
        if isinstance(name, str) and name in names and UNNAMED_INDEX.fullmatch(name)
    ]


def row_labels_reason(name: str) -> str:
    """Why a column :func:`split_pandas_index` dropped is left out, as a check reports it.

    Examples
    --------
    >>> row_labels_reason("__index_level_0__")
    "pandas row labels, not data (keep it with columns=[..., '__index_level_0__'])"
    """
    return f"pandas row labels, not data (keep it with columns=[..., {name!r}])"


def without_pandas_index(data: Any, keep: Collection[str] = ()) -> Any:
    """``data`` without the unnamed pandas index pandas stored as a column in a Parquet
    file (``__index_level_0__``), unless ``keep`` names it; any other input as it is.
    See :func:`split_pandas_index`, which also says which columns were dropped.

    Examples
    --------
    >>> import pandas as pd, pyarrow as pa
    >>> frame = pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0]}).iloc[[3, 0, 1]]
    >>> without_pandas_index(pa.Table.from_pandas(frame)).column_names
    ['amount']
    >>> without_pandas_index(pa.Table.from_pandas(frame), keep=["__index_level_0__"]).num_columns
    2
    """
    return split_pandas_index(data, keep)[0]


def lazy_schema(frame: Any) -> Any:
    """A polars LazyFrame's schema (name -> dtype), read without running its query:
    ``collect_schema()`` from polars 1.0 (``.schema`` warns there), ``.schema`` before.

    Examples
    --------
    >>> import polars as pl
    >>> dict(lazy_schema(pl.LazyFrame({"n": [1, 2]})))
    {'n': Int64}
    """
    return frame.collect_schema() if hasattr(frame, "collect_schema") else frame.schema


def split_pandas_index(
    data: Any, keep: Collection[str] = (), what: str | None = None
) -> tuple[Any, list[str]]:
    """``(data without its row labels, the names of the columns dropped)``: the unnamed
    pandas index pandas stored as a column in a Parquet file (``__index_level_0__``),
    unless ``keep`` names it; any other input as it is, with ``[]``.

    - a pyarrow Table or RecordBatch: the columns its ``pandas`` metadata names as index
      columns (:func:`pandas_index_columns`), as the CLI drops them reading the file;
    - a polars DataFrame or LazyFrame: the columns named ``__index_level_<n>__`` (polars
      keeps no pandas metadata: the name is what pandas gives an unnamed index level, so
      a frame read from such a file gives the verdict the CLI gives on the file).

    Row labels are not data: as a column, those of two random samples of one data set
    look alike and dilute the share of columns that drifted; those of two slices of a
    log (rows 0-39,999 and 40,000 on) always drift. A named index (``set_index("store")``)
    is a column of data and stays. ``keep`` holds the names a caller asked for
    (``columns=``) or that a profile or schema made by an older version records (which
    read the labels as a column): those stay, so that such a document still checks.
    The checks report the dropped columns as left out (:func:`row_labels_reason`): a
    polars column is known by its name alone, and one so named that is data is kept
    with ``columns=``.

    Raises
    ------
    EmptyData
        With ``what`` (``"reference"``), when the row labels are all the data holds: the
        message names them and how to keep them (for ``"current"``, checked against
        columns it lacks, that it holds none of them).

    Examples
    --------
    >>> import pandas as pd, pyarrow as pa
    >>> frame = pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0]}).iloc[[3, 0, 1]]
    >>> table, dropped = split_pandas_index(pa.Table.from_pandas(frame))
    >>> table.column_names, dropped
    (['amount'], ['__index_level_0__'])
    """
    kept = {str(name) for name in keep}
    module = type(data).__module__
    dropped: list[str] = []
    names: list[Any] = []
    if module.startswith("pyarrow"):
        if not (hasattr(data, "column_names") and hasattr(data, "select")):
            return data, []
        names = list(data.column_names)
        dropped = [name for name in pandas_index_columns(data) if name not in kept]
    elif module.startswith("polars") and type(data).__name__ in ("DataFrame", "LazyFrame"):
        if type(data).__name__ == "LazyFrame":
            names = [str(name) for name in lazy_schema(data)]  # its schema, not its rows
        else:
            names = list(data.columns)
        dropped = [
            name
            for name in names
            if isinstance(name, str) and UNNAMED_INDEX.fullmatch(name) and name not in kept
        ]
    if not dropped:
        return data, []
    if what is not None and not set(map(str, names)) - set(dropped):
        shown = ", ".join(repr(name) for name in dropped)
        # The current side is checked against a reference's or schema's columns, which
        # it lacks: keeping the labels as a column would only hide that.
        fix = (
            "it holds none of the columns to check: pass the batch the data was meant to be"
            if what == "current"
            else f"pass columns=[{shown}] to check them as a column"
        )
        raise EmptyData(
            f"{what} has no column but the pandas row labels {shown}, which are not data; {fix}"
        )
    if module.startswith("pyarrow"):
        # By position: a name arrow holds twice is for the callers to refuse.
        gone = set(dropped)
        return (
            data.select([i for i, name in enumerate(data.column_names) if str(name) not in gone]),
            dropped,
        )
    return data.drop(dropped), dropped


def _frame_items(frame: Any) -> list[tuple[str, Any]]:
    """The columns of an object taken for a data frame by its ``.columns`` and ``[name]``.

    Raises
    ------
    CheckInputError
        When its ``.columns`` cannot be listed or a column cannot be read by name (an
        object that only looks like a data frame): the message names the column and
        carries the object's own error.
    """
    name: Any = None
    try:
        items = []
        for name in list(frame.columns):
            items.append((str(name), frame[name]))
    except (ModelshipError, MemoryError):
        raise
    except Exception as exc:  # the object's own error, of any type: named, and chained
        text = " ".join(str(exc).split())
        # Cut, not echoed whole (a leaf module: no modelship._shown here).
        shown = "its .columns" if name is None else f"its column {_cut(_repr(name))} by name"
        raise CheckInputError(
            f"a {type(frame).__name__} was read as a data frame (it has .columns and "
            f"[name]), but {shown} could not be read ({type(exc).__name__}: {_cut(text)}); "
            "pass a mapping of column name to values, a data frame or an array"
        ) from exc
    return items


def column_array(value: Any, what: str = "a column") -> NDArray[Any]:
    """One column (a list, an array, a Series, an arrow array) as a NumPy array.

    A list or tuple of text with other items (a NaN, ``None``, a number) is read as an
    object array, not as the text NumPy would write them as: a NaN among strings stays a
    missing value, as in an object array or a pandas column, never the category ``'nan'``.

    Raises
    ------
    CheckInputError
        When NumPy or the data library cannot make an array of ``value`` (rows that hold
        lists of different lengths, a damaged arrow array): the message names ``what``
        and carries the library's own reason.

    Examples
    --------
    >>> column_array([1, 2]).dtype.kind
    'i'
    >>> column_array(["a", float("nan")]).tolist()
    ['a', nan]
    >>> column_array([[1, 2], [3]], "column 'x'")
    Traceback (most recent call last):
    ...
    modelship.errors.CheckInputError: column 'x' cannot be read as an array: its rows hold ...
    """
    refused = not_data(value, what)
    if refused is not None:
        raise CheckInputError(refused)
    try:
        return _to_array(value)
    except (ModelshipError, MemoryError):
        raise
    except Exception as exc:  # the library's own error, of any type: named, and chained
        raise unreadable(what, exc) from exc


def check_same_index(inputs: Mapping[str, Any]) -> None:
    """Refuse pandas inputs whose row labels differ: rows are paired by position.

    ``inputs`` maps what each input is called to its value; a mapping value (several
    columns) is looked into. Among the pandas Series and DataFrames found, every index must
    ``.equals()`` the first one's: pandas would pair such rows by label, the checks pair
    them by position, and a shuffled or filtered index would silently pair the wrong rows.
    Other inputs (arrays, lists, polars, arrow) have no row labels and are not compared.

    Raises
    ------
    CheckInputError
        Naming the two inputs whose indexes differ, and how to align them.

    Examples
    --------
    >>> import pandas as pd
    >>> check_same_index({"y_true": pd.Series([0, 1]), "y_pred": [1, 0]})
    >>> check_same_index({"y_true": pd.Series([0, 1]), "y_pred": pd.Series([1, 0], index=[1, 0])})
    Traceback (most recent call last):
    ...
    modelship.errors.CheckInputError: y_pred and y_true are pandas objects with different ...
    """
    first: tuple[str, Any] | None = None
    for what, value in _pandas_objects(inputs):
        if first is None:
            first = (what, value.index)
        elif not value.index.equals(first[1]):
            raise CheckInputError(
                f"{what} and {first[0]} are pandas objects with different indexes (their "
                "rows would be paired by position, not by label); align them first "
                "(`.reindex(other.index)`), or drop the labels on all of them "
                "(`.reset_index(drop=True)`, or pass `.to_numpy()`)"
            )


def _pandas_objects(inputs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    found = []
    for what, value in inputs.items():
        if isinstance(value, Mapping):
            found += _pandas_objects({f"{what} {k!r}": v for k, v in value.items()})
        elif type(value).__module__.startswith("pandas") and hasattr(value, "index"):
            found.append((what, value))
    return found


def unreadable(what: str, exc: BaseException) -> CheckInputError:
    """The error for data that NumPy or its library could not turn into an array."""
    text = " ".join(str(exc).split())
    if "inhomogeneous" in text or "setting an array element with a sequence" in text:
        return CheckInputError(
            f"{what} cannot be read as an array: its rows hold sequences (lists or arrays) "
            "of different lengths; give one value per row (a number, text, a boolean or a "
            "date-time)"
        )
    return CheckInputError(
        f"{what} cannot be read as an array ({type(exc).__name__}: {text}); the library "
        "that holds it could not convert it: check that the data is valid"
    )


def _to_array(value: Any) -> NDArray[Any]:
    if type(value).__module__.startswith("pyarrow"):  # an Array may need a copy (strings)
        chunks = getattr(value, "chunks", None)
        if chunks and str(value.type).startswith("dictionary<"):
            # Chunk by chunk: arrow cannot join dictionaries that hold a null.
            array = np.concatenate([chunk.to_numpy(zero_copy_only=False) for chunk in chunks])
        else:
            array = np.asarray(value.to_numpy(zero_copy_only=False))
        return _exact_integers(value, array)
    if isinstance(value, np.ma.MaskedArray):
        return _unmasked(value)
    if hasattr(value, "to_numpy"):
        return _exact_integers(value, np.asarray(value.to_numpy()))
    array = np.asarray(value)
    if (
        array.dtype.kind in "US"
        and isinstance(value, (list, tuple))
        and not _all_text(value, array)
    ):
        # NumPy wrote the other items as text: a NaN (pandas' missing text) became the
        # category 'nan', None 'None', 3 '3'. As objects, they are typed as an object
        # array's would be: a missing value, or a mix of text and numbers refused.
        return np.asarray(value, dtype=object)
    return array


def _all_text(value: list[Any] | tuple[Any, ...], array: NDArray[Any]) -> bool:
    """Whether every item of ``value``, which NumPy read as the text ``array``, is text
    (``str``, or ``bytes`` for a bytes array).

    ``str.join`` is the test: one pass in C, half the time of a pass over the items'
    types (a list of a million strings reads some 15% slower for it, not 30%).

    Examples
    --------
    >>> _all_text(["a", "b"], np.asarray(["a", "b"]))
    True
    >>> _all_text(["a", float("nan")], np.asarray(["a", float("nan")]))
    False
    """
    items = value if array.ndim == 1 else np.asarray(value, dtype=object).ravel().tolist()
    try:
        ("" if array.dtype.kind == "U" else b"").join(items)
    except TypeError:
        return False
    return True


# 64-bit integer types of pandas (masked, arrow-backed), polars and arrow, by name: read
# as NumPy with a missing value they become float64, exact only below 2**53.
_WIDE_INTEGERS = frozenset({"int64", "uint64", "Int64", "UInt64"})
#: The first integer whose successor a float64 does not hold: integers from here on are
#: rounded when read as float64.
FLOAT_EXACT = float(2**53)


def _wide_integer_type(value: Any) -> bool:
    """Whether a pandas, polars or arrow column holds 64-bit integers (its categories or
    dictionary values, for a categorical)."""
    module = type(value).__module__
    if module.startswith("pyarrow"):
        kind = getattr(value, "type", None)
        return str(getattr(kind, "value_type", kind)) in _WIDE_INTEGERS
    if module.startswith("polars"):
        return str(getattr(value, "dtype", "")) in _WIDE_INTEGERS
    if module.startswith("pandas"):
        dtype = getattr(value, "dtype", None)
        if str(getattr(dtype, "name", "")) == "category":
            dtype = getattr(getattr(dtype, "categories", None), "dtype", None)
        else:
            dtype = getattr(dtype, "numpy_dtype", dtype)  # masked and arrow-backed dtypes
        return isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype.itemsize == 8
    return False


def _exact_integers(value: Any, array: NDArray[Any]) -> NDArray[Any]:
    """``array`` (``value`` read as NumPy), or, when ``value`` is a column of 64-bit
    integers whose missing value made ``array`` float64 and one of whose values is too
    large for a float64 to hold exactly (2**53 or more), its exact values: an object array
    of Python integers with ``None`` for a missing value, as a list of them would give.

    A rounded float64 would make ``2**62 + 1`` the category ``2**62``, and ``2**64 - 1``
    one outside uint64. Smaller integers keep the float64 array, exact and fast.

    Examples
    --------
    >>> import pandas as pd
    >>> _exact_integers(pd.Series([1, None], dtype="Int64"), np.array([1.0, np.nan])).dtype
    dtype('float64')
    >>> big = pd.Series([2**62 + 1, None], dtype="Int64")
    >>> _exact_integers(big, big.to_numpy()).tolist()
    [4611686018427387905, None]
    """
    if array.dtype != np.float64 or array.ndim != 1 or not _wide_integer_type(value):
        return array
    with np.errstate(invalid="ignore"):
        if not len(array) or not np.nanmax(np.abs(array), initial=0.0) >= FLOAT_EXACT:
            return array
    listed = _integer_list(value)
    if listed is None or len(listed) != len(array):
        return array
    exact = np.empty(len(listed), dtype=object)
    exact[:] = listed
    return exact


def _integer_list(value: Any) -> list[Any] | None:
    """A column of integers as Python integers, ``None`` for a missing value."""
    module = type(value).__module__
    if module.startswith("pyarrow") and hasattr(value, "to_pylist"):
        return list(value.to_pylist())
    if module.startswith("polars") and hasattr(value, "to_list"):
        return list(value.to_list())
    if module.startswith("pandas"):
        dtype = getattr(value, "dtype", None)
        if str(getattr(dtype, "name", "")) == "category":
            # Its categories, by code: to_numpy() reads them through float64.
            categorical = value.array if hasattr(value, "cat") else value
            codes = np.asarray(categorical.codes)
            labels = [*np.asarray(categorical.categories, dtype=object).tolist(), None]
            return [labels[code] for code in codes.tolist()]  # -1: the None at the end
        listed = value.to_numpy(dtype=object, na_value=None).tolist()
        return [None if item is None else int(item) for item in listed]
    return None


def _unmasked(value: np.ma.MaskedArray[Any, Any]) -> NDArray[Any]:
    """A masked array's data with its masked entries missing: NaN in floats, NaT in
    date-times, ``None`` in any other dtype (then of dtype object, as a list with ``None``
    would be). ``np.asarray`` alone would keep the values under the mask (a ``-999``
    sentinel) as if they were data.

    Examples
    --------
    >>> _unmasked(np.ma.masked_array([1.0, -999.0], mask=[0, 1])).tolist()
    [1.0, nan]
    >>> _unmasked(np.ma.masked_array([1, -999], mask=[0, 1])).tolist()
    [1, None]
    """
    data = np.ma.getdata(value)
    mask = np.ma.getmaskarray(value)
    if not mask.any():
        return np.asarray(data)
    if data.dtype.kind in "fc":
        out = data.copy()
        out[mask] = np.nan
    elif data.dtype.kind in "mM":
        out = data.copy()
        out[mask] = np.datetime64("NaT") if data.dtype.kind == "M" else np.timedelta64("NaT")
    else:
        out = data.astype(object)
        out[mask] = None
    return np.asarray(out)


class Encoded:
    """One column as ``codes`` into its distinct ``labels``, and the column it came from.

    ``labels[codes[i]]`` is row ``i``'s value. A code is in ``[0, len(labels))``, except
    that with ``minus_one_missing`` (pandas categoricals, whose codes are 8 or 16 bits)
    -1 is a missing value; a missing value may also be a label of its own (``None``, NaN
    or ``pd.NA``). Labels may
    repeat in text (two categories that format alike) and may include values no row
    holds (a categorical's unused categories). :meth:`array` is the column as
    :func:`column_array` gives it, for any use that needs the values themselves.

    Examples
    --------
    >>> import numpy as np
    >>> enc = Encoded(np.array([0, 1, 0]), np.array(["a", "b"], dtype=object), ["a", "b", "a"])
    >>> len(enc), enc.array().tolist()
    (3, ['a', 'b', 'a'])
    """

    __slots__ = ("codes", "labels", "minus_one_missing", "source")

    def __init__(
        self,
        codes: NDArray[np.integer[Any]],
        labels: NDArray[Any],
        source: Any,
        *,
        minus_one_missing: bool = False,
    ):
        self.codes = codes
        self.labels = labels
        self.source = source
        self.minus_one_missing = minus_one_missing

    def __len__(self) -> int:
        return len(self.codes)

    def array(self, what: str = "a column") -> NDArray[Any]:
        """The column's values, as :func:`column_array` of its source (``what`` names it
        in an error)."""
        return column_array(self.source, what)

    def tally(self) -> tuple[NDArray[np.intp], int] | None:
        """``(rows per label, rows coded -1)``, one ``np.bincount`` of the codes, or
        ``None`` if a code is outside ``[0, len(labels))``, or ``[-1, len(labels))`` with
        ``minus_one_missing`` (never from pandas or arrow, but the codes are checked, not
        trusted: an arrow index of -1 is damage, not a missing value).

        Examples
        --------
        >>> import numpy as np
        >>> codes = np.array([1, -1, 1], dtype=np.int8)
        >>> labels = np.array(["a", "b"], dtype=object)
        >>> counts, missing = Encoded(codes, labels, None, minus_one_missing=True).tally()
        >>> counts.tolist(), missing
        ([0, 2], 1)
        >>> Encoded(codes, labels, None).tally() is None
        True
        """
        codes, n_labels = self.codes, len(self.labels)
        kind, size = codes.dtype.kind, codes.dtype.itemsize
        missing = 0
        if kind == "i" and size <= 2 and self.minus_one_missing:
            # pandas categorical codes: -1 is the top unsigned value
            top = 1 << (8 * size)
            tally = np.bincount(codes.view(f"u{size}"), minlength=n_labels)
            if tally.size == top:
                missing = int(tally[-1])
                tally = tally[:-1]
        elif kind in "iu":
            # Wider codes are checked before the count, which would otherwise allocate a
            # bin for every value up to a stray code (an arrow array built unchecked).
            if len(codes) and int(codes.max()) >= n_labels:
                return None
            try:
                # intp: NumPy 1.26's bincount refuses uint64, whose values here all fit.
                tally = np.bincount(codes.astype(np.intp, copy=False), minlength=n_labels)
            except ValueError:  # a negative code
                return None
        else:
            return None
        if tally.size > n_labels and tally[n_labels:].any():
            return None
        return tally[:n_labels], missing


# Arrow types whose values are text: dictionary-encoded by arrow's own hashing.
_ARROW_TEXT = frozenset({"string", "large_string", "string_view"})
# pandas dtypes factorised by pandas' hashing: text and Python objects.
_PANDAS_TEXT = frozenset({"object", "string", "str"})


def encoded_column(value: Any) -> Encoded | None:
    """``value`` as :class:`Encoded` when it is a pandas, polars or arrow column of text
    or categories, else ``None`` (numbers, dates, NumPy arrays and lists).

    The codes are pandas' categorical codes or ``Series.factorize()``, arrow's dictionary
    indices or ``dictionary_encode()``, and for polars those of its arrow form. The
    encoding only saves time: a library whose interface differs from the one expected
    gives ``None``, and the caller reads the column as an array, with the same result.

    Examples
    --------
    >>> import numpy as np
    >>> encoded_column(np.array(["a", "b"])) is None
    True
    """
    module = type(value).__module__
    try:
        if module.startswith("pandas"):
            return _pandas_codes(value)
        if module.startswith("pyarrow"):
            return _arrow_codes(value, value)
        if module.startswith("polars"):
            dtype = str(getattr(value, "dtype", ""))
            if dtype.startswith(("Categorical", "Enum", "String", "Utf8")):
                return _arrow_codes(value.to_arrow(), value)
    except Exception:  # any surprise from another library's API: the plain route, same result
        return None
    return None


def _pandas_codes(value: Any) -> Encoded | None:
    if getattr(value, "ndim", 1) != 1:
        return None
    dtype = str(getattr(getattr(value, "dtype", None), "name", ""))
    if dtype == "category":
        # A Series' Categorical (its .array): .codes is a view there, a copy via .cat.
        categorical = value.array if hasattr(value, "cat") else value
        codes = np.asarray(categorical.codes)
        if codes.dtype.kind == "i" and codes.dtype.itemsize <= 2:
            labels = np.asarray(categorical.categories, dtype=object)
            return Encoded(codes, labels, value, minus_one_missing=True)
    elif dtype not in _PANDAS_TEXT:
        return None
    # Missing values (None, NaN, pd.NA) become one label of their own: every code >= 0.
    codes, uniques = value.factorize(use_na_sentinel=False)
    return Encoded(np.asarray(codes), np.asarray(uniques, dtype=object), value)


def _arrow_codes(value: Any, source: Any) -> Encoded | None:
    kind = str(value.type)
    if kind in _ARROW_TEXT:
        # Nulls as null indices ("mask"), which _indices maps to the trailing None label:
        # with "encode", pyarrow gives string_view's null entry as "" without a null bit.
        value = value.dictionary_encode()
    elif not kind.startswith("dictionary<"):
        return None
    chunks = list(value.chunks) if hasattr(value, "chunks") else [value]
    if not chunks:
        return None
    first = chunks[0].dictionary
    if all(chunk.dictionary.equals(first) for chunk in chunks[1:]):
        # One dictionary (one chunk, or chunks that share it): the indices are the codes,
        # zero-copy from one chunk without nulls.
        labels = np.empty(len(first) + 1, dtype=object)
        labels[:-1] = first.to_numpy(zero_copy_only=False)
        labels[-1] = None  # the label of a null index
        parts = [_indices(chunk, len(first)) for chunk in chunks]
        codes = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return Encoded(codes, labels, source)
    # Each chunk has its own dictionary: they are laid end to end (a label may repeat)
    # and each chunk's indices moved past those before it, with one label for a null.
    sizes = [len(chunk.dictionary) for chunk in chunks]
    labels = np.empty(sum(sizes) + 1, dtype=object)
    codes = np.empty(len(value), dtype=np.int64)
    start = row = 0
    for chunk, size in zip(chunks, sizes, strict=True):
        labels[start : start + size] = chunk.dictionary.to_numpy(zero_copy_only=False)
        indices = _indices(chunk, len(labels) - 1 - start)
        np.add(indices, start, out=codes[row : row + len(chunk)])
        start, row = start + size, row + len(chunk)
    labels[-1] = None
    return Encoded(codes, labels, source)


def _indices(chunk: Any, null_code: int) -> NDArray[Any]:
    """A dictionary chunk's indices as a NumPy array, a null as ``null_code``."""
    indices = chunk.indices
    if indices.null_count:
        indices = indices.cast("int64").fill_null(null_code)
    return np.asarray(indices.to_numpy())
