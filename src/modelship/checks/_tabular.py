"""Tabular input without pandas: whatever the user holds, as named 1-D columns.

Accepted: a dict of 1-D arrays, a 2-D numpy array (columns named by ``columns=``, else
``"0"``, ``"1"``, ...), a 1-D array (one column), a numpy structured array, and by duck
typing a pandas or polars data frame (``.columns`` and ``frame[name].to_numpy()``), a
polars LazyFrame (collected), a pandas or polars Series (one column, under its name) or
a pyarrow table or record batch (``.column_names`` and ``.column(name)``). Nothing here
imports pandas.

Datetime columns (numpy ``datetime64``, and pandas, polars or arrow timestamps, which
arrive as ``datetime64``) are compared as numeric time stamps (seconds since the epoch)
when declared ``numeric``; otherwise they are left out, with a note saying so.

Numeric columns keep a view of the caller's array (no copy): the drift engine copies each
column once, when it sorts it.
"""

from __future__ import annotations

import datetime
import enum
import functools
import itertools
import numbers
import re
import shlex
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal, overload

import attrs
import numpy as np
from numpy.typing import NDArray

from modelship._columns import (
    FLOAT_EXACT,
    MISSING_TYPE_NAMES,
    Encoded,
    column_array,
    encoded_column,
    is_missing,
    lazy_schema,
    named_items,
)
from modelship._params import MappingOf, Options
from modelship._shown import brief
from modelship.checks.stats._fairness import bytes_label
from modelship.errors import CheckInputError, ColumnMismatch, ConfigError, EmptyData

__all__ = [
    "BOOLEAN_CELLS",
    "FALSE_CELLS",
    "TEXT_DTYPES",
    "TRUE_CELLS",
    "Column",
    "ColumnKind",
    "Kinds",
    "LeftOut",
    "RawColumn",
    "Table",
    "as_table",
    "datetime_zone",
    "dtype_kind",
    "epoch_seconds",
    "make_column",
    "match_flags",
    "nullable_dtype",
    "nullable_dtypes",
    "number_dtype",
    "parse_kinds",
    "plain_number",
    "raw_array",
    "raw_columns",
    "rows_dtype",
    "type_columns",
]


class ColumnKind(enum.Enum):
    """How a column is compared: as numbers, or as a set of categories.

    By default integer and floating-point columns are numeric; booleans, strings and
    objects holding strings are categorical.

    Examples
    --------
    >>> from modelship.checks import ColumnKind
    >>> ColumnKind("categorical")
    <ColumnKind.CATEGORICAL: 'categorical'>
    """

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


def _is_bool_type(kind: type) -> bool:
    return issubclass(kind, (bool, np.bool_))


def _is_real_type(kind: type) -> bool:
    return issubclass(kind, (numbers.Real, np.integer, np.floating)) and not _is_bool_type(kind)


def _is_interval_type(kind: type) -> bool:
    """Whether ``kind`` is pandas' ``Interval`` (the categories of ``pandas.cut``), read as
    its text (``"(0, 30]"``), the label a bias group of it has."""
    return kind.__name__ == "Interval" and kind.__module__.startswith("pandas")


def _value_class(kind: type) -> str | None:
    """``"str"``, ``"bool"``, ``"real"`` or ``"other"``; ``None`` for a missing-value type."""
    if issubclass(kind, (str, bytes)) or _is_interval_type(kind):
        return "str"
    if _is_bool_type(kind):
        return "bool"
    if kind.__name__ in MISSING_TYPE_NAMES:
        return None
    return "real" if _is_real_type(kind) else "other"


def _object_class(name: str, values: NDArray[Any]) -> str:
    """Classify an object column as ``"str"``, ``"bool"``, ``"real"`` or ``"empty"``.

    Raises :class:`CheckInputError` for values checks cannot use, or for a mix of
    strings, booleans and numbers (a float NaN among strings is a missing value).
    """
    listed = values.tolist()
    found = {cls for kind in set(map(type, listed)) if (cls := _value_class(kind)) is not None}
    if len(found) > 1 or "other" in found:
        examples: dict[str, Any] = {}
        for value in listed:
            cls = _value_class(type(value))
            if cls is not None and not is_missing(value):
                examples.setdefault(cls, value)
        if "other" in examples:
            raise CheckInputError(
                f"column {name!r} holds values of type {type(examples['other']).__name__}, "
                "which checks cannot compare; convert the column to numbers or strings, or "
                f"leave it out ({_leave_out(name)})"
            )
        if len(examples) > 1:
            shown = " and ".join(f"{cls} ({examples[cls]!r})" for cls in sorted(examples))
            raise CheckInputError(f"column {name!r} mixes {shown} values; convert it to one type")
        found = set(examples)
    return found.pop() if found else "empty"


def _leave_out(name: str) -> str:
    """How to leave the column ``name`` out, in Python and on the command line.

    Examples
    --------
    >>> print(_leave_out("my col"))
    exclude=['my col'], --exclude 'my col'
    """
    # A name starting with "-" as --exclude=NAME: the parser would read it as an option.
    option = (
        shlex.quote(f"--exclude={name}")
        if name.startswith("-")
        else f"--exclude {shlex.quote(name)}"
    )
    return f"exclude=[{name!r}], {option}"


def _format_label(value: Any) -> str:
    """Canonical text of a category, so 3, 3.0 and "3" from different files agree."""
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        value = float(str(value))  # its shortest text, as float64 would write it
    elif isinstance(value, np.floating) and value.dtype.itemsize > 8:
        # A longdouble, compared at float64: its .item() is a longdouble, whose text
        # has 80-bit digits (0.10000000000000000555).
        value = float(value)
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        # The label a bias group of these bytes has too ("replace" merged every invalid
        # byte into U+FFFD).
        return bytes_label(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def plain_number(text: str) -> bool:
    """Whether the text ``text`` may be read as a number: ASCII, without a ``_`` digit group.

    Python's ``float`` and ``int`` also take digit groups (``1_000``) and the digits of
    other scripts (Arabic-Indic, fullwidth), which pandas and every other CSV reader keep
    as text: the CSV reader of ``modelship check`` reads such a cell as text, and a column
    declared numeric refuses it as one.

    Examples
    --------
    >>> plain_number(" -2.5e3"), plain_number("1_000"), plain_number("\uff11\uff12")
    (True, False, False)
    """
    return text.isascii() and "_" not in text


def _to_float(
    name: str,
    values: NDArray[Any],
    date_text: Callable[[str], str] | None = None,
    *,
    declared: bool = True,
) -> NDArray[np.float64]:
    """Convert a column declared numeric to float64, naming the first value that is not.

    Text is read as a number only where a CSV reader reads it as one (see
    :func:`plain_number`): ``" 1.5 "``, ``"1e3"``, ``"nan"``, ``"-inf"``, not ``"1_000"``.
    For a date-time written as text, ``date_text(name)`` (if given) says what to do: the
    caller knows where the data came from and which options it has. Without
    ``declared``, the kind is the reference's (inferred from its values), and the message
    says so instead of "declared".
    """
    numeric = "declared numeric" if declared else "numeric as the reference holds it"
    if values.dtype.kind in "iufb":
        return values.astype(np.float64)
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values.tolist()):
        if is_missing(value):
            out[i] = np.nan
            continue
        why = "a float64 number"
        try:
            text = value.decode() if isinstance(value, bytes) else value
            if isinstance(text, str) and not plain_number(text):
                why = "a plain number (a '_' digit group or digits other than ASCII ones)"
                raise ValueError(why)
            out[i] = float(text)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int of 10**400
            if isinstance(value, str) and _ISO_DATE_TIME.match(value):
                # Declaring it categorical would be refused against a profile, and would
                # leave the column untested against date-times read from Parquet.
                advice = (
                    date_text(name)
                    if date_text is not None
                    else "convert it to date-times to compare it as time stamps, or "
                    "declare it categorical"
                )
                raise CheckInputError(
                    f"column {name!r} is {numeric} but holds {brief(value)}, a "
                    "date-time written as text (a CSV reader does not parse dates): " + advice
                ) from None
            advice = (
                "declare it categorical or clean it"
                if declared
                else "declare it categorical or clean it (kinds=), or leave it out "
                f"({_leave_out(name)})"
            )
            raise CheckInputError(
                f"column {name!r} is {numeric} but holds {brief(value)}, which is not "
                f"{why}; {advice}"
            ) from None
    return out


# An ISO-8601 date or date-time as text ("2024-01-05", "2024-01-05 10:30:00+00:00",
# "2024-01-05T10:30Z"), as pandas and polars write date-times to CSV.
_ISO_DATE_TIME = re.compile(
    r"\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?\s*$",
    re.ASCII,
)


def _dtype_name(values: NDArray[Any]) -> str:
    return _name_of_dtype(values.dtype)


@functools.lru_cache(maxsize=64)
def _name_of_dtype(dtype: np.dtype[Any]) -> str:
    # dtype.name costs ~2.5 us (NumPy works it out in Python), twice per column of a table.
    kind = dtype.kind
    if kind in "USTO":
        return "str" if kind != "O" else "object"
    return str(dtype.name)


# Integer codes (and booleans) are counted with np.bincount, one pass instead of
# np.unique's sort (42 of 48 ms at 1M x 10 columns of 50 codes), when the codes span at
# most this many values or the column's length, so the tally never outgrows the column.
_TALLY_SPAN = 1 << 16


#: An integer or boolean column's tally: the codes present less ``low``, their counts, and
#: ``low`` (the smallest code when there are negative ones, else 0).
CodeTally = tuple[NDArray[np.intp], NDArray[np.intp], int]


def _code_tally(values: NDArray[Any]) -> CodeTally | None:
    """The tally of an integer or boolean column by counting, or ``None`` when its values
    span too wide a range (or are unsigned 64-bit, which bincount cannot take)."""
    kind, size = values.dtype.kind, len(values)
    if kind not in "biu" or size == 0 or (kind == "u" and values.dtype.itemsize == 8):
        return None
    span = max(_TALLY_SPAN, size)
    low = 0
    if kind == "b":
        # count_nonzero, not bincount of the bytes: 0.04 ms at 1M rows instead of 1.7
        # (bincount's increments of two bins wait on each other), and any nonzero byte
        # is True, as NumPy reads a bool (bincount gave a byte of 2, from a view of
        # other data, a second "True" label whose count replaced the first's).
        true = int(np.count_nonzero(values))
        tally = np.array([size - true, true], dtype=np.intp)
    # Codes of 16 bits or fewer cannot reach the span: no pass for their maximum, which
    # costs a quarter of np.bincount's time on a wider column read from memory.
    elif values.dtype.itemsize <= 2:
        try:
            tally = np.bincount(values)
        except ValueError:  # negative codes: count from the smallest
            low = int(values.min())
            tally = np.bincount(values.astype(np.int64) - low)
    else:
        # The largest code read unsigned, so that a negative one reads as beyond the span.
        # bincount allocates a slot up to the largest code: this pass keeps a wide code
        # from asking for gigabytes (bincount itself checks only for negative codes).
        unsigned = values if kind == "u" else values.view(values.dtype.str.replace("i", "u"))
        top = int(np.maximum.reduce(unsigned))
        if top <= 1:
            # Codes 0 and 1 (a flag): count_nonzero, 0.1 ms at 1M rows where bincount
            # takes 1.7, its increments of two slots waiting on each other.
            ones = int(np.count_nonzero(values))
            tally = np.array([size - ones, ones], dtype=np.intp)
        elif top < span:
            tally = np.bincount(values)
        else:  # a code beyond the span, or negative codes: count from the smallest
            low, high = int(values.min()), int(values.max())
            if low >= 0 or high - low >= span:
                return None
            tally = np.bincount(values.astype(np.int64) - low)
    present = tally.nonzero()[0]
    return present, tally[present], low


def _code_labels(codes: list[int], low: int, boolean: bool) -> list[str]:
    if boolean:
        return [str(bool(code)) for code in codes]
    return list(map(str, codes if low == 0 else [code + low for code in codes]))


#: Tallies of at most this many codes have their labels' sorted order remembered.
_ORDERS_KEPT = 1 << 12


@functools.lru_cache(maxsize=64)
def _label_order(
    present: bytes, low: int, boolean: bool
) -> tuple[tuple[str, ...], NDArray[np.intp]]:
    """The labels of the codes ``present`` (a tally's, as bytes) in sorted order, and
    where each is in the tally: the two sides of a column, and the next run, mostly hold
    the same codes, whose labels are then not made and sorted again."""
    labels = _code_labels(np.frombuffer(present, dtype=np.intp).tolist(), low, boolean)
    order = sorted(range(len(labels)), key=labels.__getitem__)
    where = np.array(order, dtype=np.intp)
    where.flags.writeable = False
    return tuple(labels[i] for i in order), where


def _tally_counts(tally: CodeTally, boolean: bool) -> dict[str, int]:
    """``{label: count}`` of a tally, labels in sorted order."""
    present, counts, low = tally
    if len(present) <= _ORDERS_KEPT:
        labels, where = _label_order(present.tobytes(), low, boolean)
        return dict(zip(labels, counts[where].tolist(), strict=True))
    unsorted = _code_labels(present.tolist(), low, boolean)
    return dict(sorted(zip(unsorted, counts.tolist(), strict=True)))


#: A raw column: its values, or (text and categories from pandas, polars or arrow) its
#: codes into its distinct values.
RawColumn = NDArray[Any] | Encoded


def _encoded_counts(encoded: Encoded) -> tuple[dict[str, int], int] | None:
    """``({label: count}, missing)`` of a column of text by its codes, labels sorted, or
    ``None`` when the column holds anything but text (booleans, numbers, a mix, codes out
    of range): those are read as an array, whose rules (kinds, errors) then apply."""
    found = encoded.tally()
    if found is None:
        return None
    tally, missing = found
    present = np.flatnonzero(tally)
    counts: dict[str, int] = {}
    for label, count in zip(encoded.labels[present].tolist(), tally[present].tolist(), strict=True):
        if is_missing(label):
            missing += count
        elif isinstance(label, (str, bytes)) or _is_interval_type(type(label)):
            key = _format_label(label)
            counts[key] = counts.get(key, 0) + count
        else:
            return None
    if not counts:
        # Only missing values: a column typed as text (or categories of text) keeps its
        # type, categorical (a batch that fills it is no kind change); any other is read
        # as an array, and numeric by nature, as an array of NaN is.
        return ({}, missing) if _text_source(encoded) else None
    return dict(sorted(counts.items())), missing


# polars dtypes of text, and arrow types of text (a dictionary's by its value type).
_POLARS_TEXT = ("String", "Utf8", "Categorical", "Enum")
_ARROW_TEXT_TYPES = frozenset({"string", "large_string", "string_view", "utf8", "large_utf8"})


def _text_source(encoded: Encoded) -> bool:
    """Whether an encoded column's library type is text whatever its rows hold: pandas
    ``str``/``string`` and categoricals of text (or of no categories), arrow
    ``string`` (and dictionaries of it), polars ``String``, ``Categorical``, ``Enum``."""
    source = encoded.source
    module = type(source).__module__
    dtype = getattr(source, "dtype", None)
    if module.startswith("polars"):
        return str(dtype).startswith(_POLARS_TEXT)
    if module.startswith("pyarrow"):
        kind = getattr(source, "type", None)
        kind = getattr(kind, "value_type", kind)
        return str(kind) in _ARROW_TEXT_TYPES
    if module.startswith("pandas"):
        name = str(getattr(dtype, "name", ""))
        if name in ("str", "string"):
            return True
        if name == "category":
            labels = encoded.labels.tolist()
            return all(isinstance(label, str) or _is_interval_type(type(label)) for label in labels)
    return False


@attrs.frozen(eq=False)
class Column:
    """One named 1-D column and the kind it is compared as.

    ``values`` is a real-valued numpy array for numeric columns (any integer or float
    dtype, possibly a view of the caller's data; NaN marks a missing value), and the raw
    values for categorical ones (``None`` or NaN mark a missing value). ``dtype`` is the
    column's type as given: a numpy dtype name, ``"str"`` or ``"object"``; for an object
    column of numbers or booleans, the dtype its values have without the missing ones
    (``int64`` for ``[1, None, 3]``, as for ``[1, 2, 3]``), the object dtype being kept in
    ``read_dtype``.

    A categorical column of text from pandas, polars or arrow is made from its codes
    (``encoded``), with its category counts taken once by ``np.bincount``; its ``values``
    are then read from the source only if something asks for them.
    """

    name: str
    kind: ColumnKind
    dtype: str
    _values: NDArray[Any] | None = attrs.field(default=None, alias="values", repr=False)
    #: The dtype as read, when ``dtype`` is that of the values instead: ``"object"`` for
    #: a column of Python numbers or booleans (a list holding ``None``, an object array),
    #: whose ``dtype`` is the one its values have without the missing ones (``int64``).
    read_dtype: str | None = attrs.field(default=None, kw_only=True)
    _encoded: Encoded | None = attrs.field(default=None, alias="encoded", kw_only=True, repr=False)
    _counts: tuple[dict[str, int], int] | None = attrs.field(
        default=None, alias="counts", kw_only=True, repr=False
    )
    #: A numeric column of 64-bit integers with a missing value, one of whose values a
    #: float64 does not hold exactly (2**53 or more): its values as read (Python
    #: integers, ``None``, NaN or ``pd.NA`` for a missing value), which ``values`` holds
    #: rounded to float64. Its range is taken from these, exactly; ``None`` otherwise.
    integers: NDArray[Any] | None = attrs.field(default=None, kw_only=True, repr=False)
    #: An integer or boolean column's codes, counted ahead of use by ``count_codes``.
    _tally: CodeTally | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self._values is None and self._encoded is None:
            raise TypeError("Column needs values or an encoded source")

    @property
    def values(self) -> NDArray[Any]:
        """The column's values (read from the encoded source on first use)."""
        if self._values is None:
            assert self._encoded is not None
            # Idempotent: two threads that race here store equal arrays.
            object.__setattr__(self, "_values", self._encoded.array(f"column {self.name!r}"))
        assert self._values is not None
        return self._values

    @property
    def encoded(self) -> Encoded | None:
        """The codes the column was made from, or ``None`` if it was made from values."""
        return self._encoded

    def __len__(self) -> int:
        return len(self._values) if self._values is not None else len(self._encoded or ())

    def counts_of_special(self) -> tuple[int, int]:
        """Return ``(missing, infinite)`` counts of a numeric column."""
        if self.values.dtype.kind != "f":
            return 0, 0
        missing = int(np.count_nonzero(np.isnan(self.values)))
        infinite = int(np.count_nonzero(np.isinf(self.values)))
        return missing, infinite

    def count_codes(self) -> int:
        """Count the codes of an integer or boolean categorical column now, for
        ``category_counts`` to label later; return how many distinct codes it holds (0 for
        a numeric column, one of other values, of codes spanning too wide a range, or one
        taken from counts).

        A check counts all its columns before computing any column's statistics: a count
        streams the whole column through the CPU caches, and the Python that follows runs
        slower on caches it emptied (at 1M rows x 10 columns of 50 codes, 2.3 of 29 ms).

        Examples
        --------
        >>> import numpy as np
        >>> tier = Column("tier", ColumnKind.CATEGORICAL, "int64", values=np.array([3, 1, 3, 2]))
        >>> tier.count_codes()
        3
        >>> tier.count_codes()  # counted already: nothing counted again
        0
        >>> tier.category_counts()
        ({'1': 1, '2': 1, '3': 2}, 0)
        >>> Column("age", ColumnKind.NUMERIC, "float64", values=np.array([30.0])).count_codes()
        0
        """
        if (
            self.kind is not ColumnKind.CATEGORICAL
            or self._counts is not None
            or self._values is None
            or self._tally is not None
        ):
            return 0
        tally = _code_tally(self._values)
        if tally is None:
            return 0
        # Idempotent: two threads that race here store equal tallies.
        object.__setattr__(self, "_tally", tally)
        return len(tally[0])

    def category_counts(self) -> tuple[dict[str, int], int]:
        """Return ``({label: count}, missing)`` with labels in sorted order."""
        if self._counts is not None:
            return dict(self._counts[0]), self._counts[1]
        values = self.values
        counts: dict[str, int] = {}
        codes = self._tally if self._tally is not None else _code_tally(values)
        if codes is not None:
            return _tally_counts(codes, values.dtype.kind == "b"), 0
        if values.dtype.kind in "biufUS":
            present = values[~np.isnan(values)] if values.dtype.kind == "f" else values
            labels, numbers_ = np.unique(present, return_counts=True)
            # A float32 (or float16) label as its own shortest text: 0.1 read from a
            # Parquet file is the same category as 0.1 in a CSV, not 0.10000000149011612.
            # A longdouble label at float64, as its numeric statistics are.
            if labels.dtype.kind == "f" and labels.dtype.itemsize < 8:
                listed = [float(str(label)) for label in labels]
            elif labels.dtype.kind == "f" and labels.dtype.itemsize > 8:
                listed = labels.astype(np.float64).tolist()
            else:
                listed = labels.tolist()
            for label, count in zip(listed, numbers_.tolist(), strict=True):
                key = _format_label(label)
                counts[key] = counts.get(key, 0) + int(count)
            missing = len(values) - len(present)
        else:
            tally = Counter(values.tolist())
            missing = 0
            for label, count in tally.items():
                if is_missing(label):
                    missing += count
                else:
                    key = _format_label(label)
                    counts[key] = counts.get(key, 0) + count
        return dict(sorted(counts.items())), missing


# A flag's labels as numbers ("0", "1") and as booleans, each way round.
_FLAG_AS_BOOL = {"0": "False", "1": "True"}
_BOOL_AS_FLAG = {"False": "0", "True": "1"}

#: The spellings of true and false that ``pandas.read_csv`` reads as booleans (and that
#: Spark, SQL and R write): text holding only these is a flag against booleans.
TRUE_CELLS = frozenset({"True", "TRUE", "true"})
FALSE_CELLS = frozenset({"False", "FALSE", "false"})
BOOLEAN_CELLS = TRUE_CELLS | FALSE_CELLS
_TEXT_AS_BOOL = {**dict.fromkeys(TRUE_CELLS, "True"), **dict.fromkeys(FALSE_CELLS, "False")}


def number_dtype(dtype: str) -> bool:
    """Whether a :attr:`Column.dtype` is one of integers or floats (not ``"bool"``).

    Examples
    --------
    >>> number_dtype("uint8"), number_dtype("float32"), number_dtype("bool")
    (True, True, False)
    """
    return dtype.startswith(("int", "uint", "float"))


#: Text whose present values are at least this share true/false spellings is a flag
#: against booleans, its other cells (a blank, "NULL", "N/A" a CSV export wrote for a
#: missing value) kept as their own labels, which no flag holds. One stray cell in ten
#: or fewer: below that, the column is text that happens to hold some spellings, and
#: keeps all its labels.
FLAG_TEXT_SHARE = 0.9

# The reference's spelling of a flag, by the case of its text: True and False as it
# writes them.
_SPELLINGS = {
    "lower": {"True": "true", "False": "false"},
    "upper": {"True": "TRUE", "False": "FALSE"},
    "title": {"True": "True", "False": "False"},
}


#: The :attr:`Column.dtype` of a column of text (and the dtype a schema records for one).
TEXT_DTYPES = ("str", "object")


def _spelling(label: str) -> str:
    return "lower" if label.islower() else "upper" if label.isupper() else "title"


def _text_as_bool(counts: Mapping[str, int]) -> bool:
    """Whether text of these counts is a flag: at least :data:`FLAG_TEXT_SHARE` of its
    present values spell true or false."""
    flags = sum(count for label, count in counts.items() if label in _TEXT_AS_BOOL)
    return flags > 0 and flags >= FLAG_TEXT_SHARE * sum(counts.values())


def _bool_as_text(reference_labels: Collection[str] | None) -> dict[str, str] | None:
    """The labels ``"True"`` and ``"False"`` take against a reference of text holding
    only true/false spellings of one case (``"true"``/``"false"``, as Spark and SQL
    write them); ``None`` for any other reference."""
    labels = set(reference_labels or ())
    if not labels or not labels <= BOOLEAN_CELLS:
        return None
    cases = {_spelling(label) for label in labels}
    return _SPELLINGS[cases.pop()] if len(cases) == 1 else None


def match_flags(
    column: Column, reference_dtype: str, reference_labels: Collection[str] | None = None
) -> tuple[Column, list[str]]:
    """The categorical current ``column`` labelled as the reference (of dtype
    ``reference_dtype``, holding the categories ``reference_labels`` if known) labels a
    flag: booleans on one side and numbers on the other (``.astype(int)``, a pandas
    ``Int8``, floats 0.0 and 1.0 with NaN for a missing value) are the same flag, read as
    the reference holds it; and the labels the current column holds against a boolean
    reference that no flag holds (an empty list for any other column).

    Against a boolean reference, the numbers 0 and 1 are ``"False"`` and ``"True"``, and
    any other number keeps its own label (a category the reference never held), and so
    is text at least :data:`FLAG_TEXT_SHARE` of whose present values are
    :data:`TRUE_CELLS` and :data:`FALSE_CELLS` (other text keeps all its labels); against
    a reference of numbers, booleans are ``"0"`` and ``"1"``; against a reference of text
    whose ``reference_labels`` are all true/false spellings of one case (``"true"`` and
    ``"false"``), booleans and text spelling them otherwise are written that way. Any other
    column is returned as it is (a numeric one is compared as numbers, booleans being 0
    and 1).

    Examples
    --------
    >>> flag = Column("new", ColumnKind.CATEGORICAL, "int64", values=np.array([1, 0, 1]))
    >>> matched, others = match_flags(flag, "bool")
    >>> matched.category_counts(), others
    (({'False': 1, 'True': 2}, 0), [])
    >>> count = Column("new", ColumnKind.CATEGORICAL, "int64", values=np.array([1, 0, 2]))
    >>> matched, others = match_flags(count, "bool")
    >>> matched.category_counts(), others
    (({'2': 1, 'False': 1, 'True': 1}, 0), ['2'])
    >>> match_flags(flag, "str")[0] is flag
    True
    >>> text = Column("new", ColumnKind.CATEGORICAL, "str", values=np.array(["true", "false"]))
    >>> match_flags(text, "bool")[0].category_counts()
    ({'False': 1, 'True': 1}, 0)
    >>> stray = Column("new", ColumnKind.CATEGORICAL, "str", values=np.array(["true"] * 9 + [""]))
    >>> matched, others = match_flags(stray, "bool")
    >>> matched.category_counts(), others
    (({'': 1, 'True': 9}, 0), [''])
    >>> bools = Column("new", ColumnKind.CATEGORICAL, "bool", values=np.array([True, False]))
    >>> match_flags(bools, "str", ["false", "true"])[0].category_counts()
    ({'false': 1, 'true': 1}, 0)
    """
    if column.kind is not ColumnKind.CATEGORICAL:
        return column, []
    if reference_dtype == "bool" and number_dtype(column.dtype):
        labels = _FLAG_AS_BOOL
    elif column.dtype == "bool" and number_dtype(reference_dtype):
        labels = _BOOL_AS_FLAG
    elif reference_dtype == "bool" and column.dtype != "bool":
        # Text spelling booleans ('true'/'false', as Spark and SQL write them) is the flag
        # too, a stray cell among them ('', 'NULL') a label no flag holds; any other text
        # keeps its labels (categories the reference lacks).
        counts, _ = column.category_counts()
        if not _text_as_bool(counts):
            return column, []
        labels = _TEXT_AS_BOOL
    elif reference_dtype in TEXT_DTYPES and column.dtype in ("bool", *TEXT_DTYPES):
        # Booleans, or text spelling them otherwise ("True" from a CSV file), against text
        # spelling them ("true"/"false" from Parquet or Spark): written as the reference
        # writes them.
        as_text = _bool_as_text(reference_labels)
        if as_text is None:
            return column, []
        if column.dtype == "bool":
            labels = as_text
        else:
            counts, _ = column.category_counts()
            if not _text_as_bool(counts) or set(counts) <= set(as_text.values()):
                return column, []  # not a flag, or written as the reference writes it
            labels = {cell: as_text[flag] for cell, flag in _TEXT_AS_BOOL.items()}
    else:
        return column, []
    counts, missing = column.category_counts()
    others = [label for label in counts if label not in labels]
    relabelled = dict(sorted((labels.get(label, label), count) for label, count in counts.items()))
    matched = Column(
        name=column.name,
        kind=column.kind,
        dtype=column.dtype,
        values=column.values,
        read_dtype=column.read_dtype,
        counts=(relabelled, missing),
    )
    # Only a boolean reference refuses labels (booleans hold nothing but True and False).
    return matched, others if reference_dtype == "bool" else []


class LeftOut(CheckInputError):
    """A column that checks leave out unless told how to compare it (a datetime column)."""


class Kinds(dict[str, ColumnKind]):
    """``{name: kind}`` of a :class:`Table`, remembering which kinds were ``declared``
    (the others inferred from the values): the current data typed with a reference's
    kinds is then told which ones nobody declared.

    Examples
    --------
    >>> kinds = Kinds({"age": ColumnKind.NUMERIC, "zip": ColumnKind.CATEGORICAL}, ["zip"])
    >>> kinds["zip"], sorted(kinds.declared)
    (<ColumnKind.CATEGORICAL: 'categorical'>, ['zip'])
    """

    declared: frozenset[str]

    def __init__(self, kinds: Mapping[str, ColumnKind], declared: Collection[str]):
        super().__init__(kinds)
        self.declared = frozenset(declared)


@attrs.frozen(eq=False)
class Table:
    """Named columns of equal length, in the caller's order, and those left out (with why).

    ``declared`` names the columns whose kind was given (``kinds=``), not inferred.
    """

    columns: dict[str, Column]
    n_rows: int
    left_out: dict[str, str] = attrs.Factory(dict)
    declared: frozenset[str] = frozenset()

    @property
    def kinds(self) -> Kinds:
        """The kind of every column, by name (a dict that knows the declared ones)."""
        kinds = {name: column.kind for name, column in self.columns.items()}
        return Kinds(kinds, self.declared & set(kinds))


#: A user's ``{column: "numeric" | "categorical"}`` mapping.
KINDS = MappingOf(Options(ColumnKind))


def parse_kinds(kinds: Mapping[str, ColumnKind | str] | None) -> dict[str, ColumnKind]:
    """A ``{column: kind}`` mapping that :data:`KINDS` allowed, with every kind a member."""
    return {str(name): ColumnKind(kind) for name, kind in (kinds or {}).items()}


def _unnamed(
    array: NDArray[Any], what: str, columns: Sequence[str] | None
) -> list[tuple[str, NDArray[Any]]]:
    if array.ndim == 1:
        arrays = [array]
    elif array.ndim == 2:
        arrays = [array[:, j] for j in range(array.shape[1])]
    else:
        raise CheckInputError(f"{what} must be a 1-D or 2-D array, got {array.ndim} dimensions")
    return _named(arrays, what, columns)


def _named(
    arrays: list[NDArray[Any]], what: str, columns: Sequence[str] | None
) -> list[tuple[str, NDArray[Any]]]:
    if columns is None:
        return [(str(j), column) for j, column in enumerate(arrays)]
    names = [str(name) for name in columns]
    if len(names) != len(arrays):
        raise ColumnMismatch(
            f"{what} has {len(arrays)} columns but {len(names)} names were given: {names}"
        )
    return list(zip(names, arrays, strict=True))


def _row_columns(data: Any, what: str) -> list[NDArray[Any]] | None:
    """The columns of a list (or tuple) of rows that are lists or tuples, each typed on
    its own (see :func:`_row_column`), or ``None`` for any other input.

    Read whole, NumPy gives such rows one dtype: ``[(25, "basic")]`` would become text in
    every column. Column by column, ``[(25, "basic"), (40, "pro")]`` has a column of
    numbers and one of text, as the same rows in an object array have.

    Raises
    ------
    CheckInputError
        For rows of different lengths.
    """
    if not isinstance(data, (list, tuple)) or not data:
        return None
    # By the rows' types and lengths, each set built at C speed: a million rows are
    # then read in a fraction of a second.
    if not all(issubclass(kind, (list, tuple)) for kind in set(map(type, data))):
        return None
    widths = set(map(len, data))
    if len(widths) > 1:
        raise CheckInputError(
            f"{what} has rows of different lengths ({sorted(widths)[:5]} values); give "
            "every row one value per column"
        )
    (width,) = widths
    # A list per column: zip(*data) would pass a million rows as arguments (seconds).
    return [_row_column([row[j] for row in data]) for j in range(width)]


def rows_dtype(data: Any) -> str | None:
    """The dtype NumPy gives a list of rows of Python numbers (or ``None``) read whole,
    as versions before rows were typed column by column read them: ``"float64"`` for
    every column of ``[(1.5, 2)]``, ``"object"`` for every one when a ``None`` is among
    them; ``None`` for any other input. A schema such a version wrote records it, and
    the same rows are no dtype change against it.

    Examples
    --------
    >>> rows_dtype([(1.5, 2), (2.5, 3)]), rows_dtype([(1, None)]), rows_dtype([(1, "a")])
    ('float64', 'object', None)
    """
    if not isinstance(data, (list, tuple)) or not data:
        return None
    if not all(issubclass(kind, (list, tuple)) for kind in set(map(type, data))):
        return None
    kinds = set(map(type, itertools.chain.from_iterable(data)))
    if not kinds <= {bool, int, float, type(None)}:
        return None  # text made every column text: a kind change, not a dtype's
    if type(None) in kinds:
        return "object"
    for kind, name in ((float, "float64"), (int, "int64"), (bool, "bool")):
        if kind in kinds:
            return name
    return None


def _row_column(cells: list[Any]) -> NDArray[Any]:
    """One column of rows: the array of its numbers when it holds Python ints and floats
    only (or booleans only), else an object array.

    The array is the one the object array's values make (see :func:`_object_values`),
    built at once instead of value by value: a million rows in milliseconds, not seconds.
    A NaN among the numbers goes the object way, which records the dtype of the present
    values (``int64`` for ``[1, nan, 3]``).
    """
    kinds = set(map(type, cells))
    if kinds <= {int, float} or kinds == {bool}:
        array = np.asarray(cells)
        # Python integers beyond 64 bits make an object array: they stay objects below.
        if array.dtype.kind in "biu" or (array.dtype.kind == "f" and not np.isnan(array).any()):
            return array
    # fromiter, not asarray: a value that is itself a sequence stays one object.
    return np.fromiter(cells, dtype=object, count=len(cells))


def _datetimes(values: NDArray[Any], what: str = "a column") -> NDArray[Any] | None:
    """``values`` as ``datetime64`` when it holds date-times (any unit, or objects such as
    ``datetime.datetime``, pandas ``Timestamp`` and ``np.datetime64``, NumPy's ``NaT``
    being a missing value), else ``None``. A column of ``datetime.date`` (what
    ``pandas.read_parquet`` gives for an arrow ``date32``, and ``.dt.date``) is
    ``datetime64[D]``, as arrow and polars read the same dates; dates among date-times
    are their midnight.

    Raises
    ------
    CheckInputError
        Naming ``what``, for a date-time that its UTC offset moves outside the years 1 to
        9999 that Python's ``datetime`` holds, or a ``np.datetime64`` object that
        ``datetime64[us]`` cannot hold.
    """
    if values.dtype.kind == "M":
        return values
    if values.dtype.kind != "O" or not len(values):
        return None
    # The first present value that is no date-time answers: a column of text is decided at
    # its first value, not by a look at every row (3 s at 1,000,000 x 20 columns).
    found = False
    days = True  # only datetime.date values (no time of day) so far
    for value in values:  # an object array yields its objects: nothing read beyond the answer
        if is_missing(value) or (isinstance(value, np.datetime64) and np.isnat(value)):
            continue
        if not isinstance(value, (datetime.date, np.datetime64)):
            return None
        found = True
        days = days and not isinstance(value, (datetime.datetime, np.datetime64))
    if not found:
        return None
    _same_awareness(values, what)
    if days:
        return np.array(
            [None if is_missing(value) else value for value in values.tolist()],
            dtype="datetime64[D]",
        )
    try:
        stamps = [_utc_stamp(value, what) for value in values.tolist()]
    except OverflowError:  # 9999-12-31 23:00 at UTC-5 is in the year 10000 in UTC
        raise CheckInputError(
            f"{what} holds a date-time whose time in UTC is outside the years 1 to 9999"
        ) from None
    return np.array(stamps, dtype="datetime64[us]")


def _same_awareness(values: NDArray[Any], what: str) -> None:
    """Refuse an object column of date-times some of which have a time zone and some not:
    pandas refuses to compare them, and a naive one read as UTC would move by the zone's
    offset without a word."""
    aware = naive = None
    for value in values.tolist():
        if not isinstance(value, datetime.datetime) or is_missing(value):
            continue  # missing (pandas' NaT is a datetime), a date or a np.datetime64 item
        if value.utcoffset() is None:
            naive = naive or value
        else:
            aware = aware or value
        if aware is not None and naive is not None:
            raise CheckInputError(
                f"{what} mixes date-times with a time zone ({aware.tzinfo}: {aware}) and "
                f"without one ({naive}); localize the naive ones "
                "(`.dt.tz_localize(...)`) or drop the zone (`.dt.tz_convert(None)`), so that "
                "every value is in one zone"
            )


def datetime_zone(value: Any) -> str | None:
    """The time zone of a pandas, polars or arrow column of date-times (``"UTC"``,
    ``"America/New_York"``), ``""`` for one without a zone, ``None`` for any other column.

    Read as NumPy, an arrow or polars column with a zone becomes ``datetime64`` in UTC, as
    a naive column does: a check comparing a reference with a zone against a naive batch
    (or the reverse) asks this of both sources.

    Examples
    --------
    >>> import pandas as pd
    >>> datetime_zone(pd.Series(pd.date_range("2024-01-01", periods=2, tz="UTC")))
    'UTC'
    >>> datetime_zone(pd.Series(pd.date_range("2024-01-01", periods=2)))
    ''
    >>> datetime_zone(pd.Series([1.5])) is None
    True
    """
    module = type(value).__module__
    dtype = getattr(value, "dtype", None)
    zone: Any = None
    if module.startswith("pyarrow"):
        kind = getattr(value, "type", None)
        timestamps = str(kind).startswith("timestamp")
        zone = getattr(kind, "tz", None)
    elif module.startswith("polars"):
        timestamps = str(dtype).startswith("Datetime")
        zone = getattr(dtype, "time_zone", None)
    elif module.startswith("pandas"):
        timestamps = getattr(dtype, "kind", None) == "M"
        zone = getattr(dtype, "tz", None)
    else:
        timestamps = False
    return str(zone or "") if timestamps else None


ZERO = datetime.timedelta(0)

# The datetime64 units whose ticks become microseconds by a division, which cannot wrap.
_FINER_THAN_US = {("ns", 1), ("ps", 1), ("fs", 1), ("as", 1)}
_FINER_UNITS = {"us", *(unit for unit, _ in _FINER_THAN_US)}


def _utc_stamp(value: Any, what: str) -> Any:
    """One value of an object column of date-times: ``None`` when missing (``NaT`` of
    NumPy included), a ``np.datetime64`` item in microseconds, and a ``datetime`` (or
    pandas ``Timestamp``) as the naive date-time in UTC.

    Raises
    ------
    CheckInputError
        Naming ``what``, for a ``np.datetime64`` item that microseconds cannot hold.
    """
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        stamp = value.astype("datetime64[us]")
        # A coarser unit is multiplied into microseconds, which wraps beyond some 290,000
        # years from 1970 (and the way back then differs): refused, never a wrong date.
        if (
            np.datetime_data(value.dtype) not in _FINER_THAN_US
            and stamp.astype(value.dtype) != value
        ):
            raise CheckInputError(
                f"{what} holds the date-time {value} (dtype {value.dtype.name}), which "
                "datetime64[us] cannot hold; convert the column to one datetime64 dtype"
            )
        return stamp
    if is_missing(value):
        return None
    if not isinstance(value, datetime.datetime):  # a datetime.date: its midnight
        return np.datetime64(value, "D").astype("datetime64[us]")
    return value.replace(tzinfo=None) - (value.utcoffset() or ZERO)


# Seconds in one tick of the datetime64 units a second long or more that have a fixed
# length, and ticks per second of the shorter ones. Years and months are not of fixed
# length: NumPy counts their days first.
_SECONDS_PER_TICK = {"W": 7 * 86400, "D": 86400, "h": 3600, "m": 60, "s": 1}
_TICKS_PER_SECOND = {
    "ms": 10**3,
    "us": 10**6,
    "ns": 10**9,
    "ps": 10**12,
    "fs": 10**15,
    "as": 10**18,
}
# Longest year and month in days: a count of years or months beyond int64's days / these
# would wrap when NumPy turns it into days.
_MOST_DAYS = {"Y": 366, "M": 31}
_INT64_MAX = int(np.iinfo(np.int64).max)


def epoch_seconds(values: NDArray[Any], what: str = "a column") -> NDArray[np.float64]:
    """Seconds since the epoch of a ``datetime64`` array, NaT as NaN (shared with the
    monitor's drift window, which reads logged time stamps the same way).

    The seconds are counted from the array's own unit: the usual route through
    ``datetime64[ns]`` wraps around outside 1677-09-21 to 2262-04-11 (9999-12-31 became
    -4,852,202,632 s). The ticks are scaled to seconds in float64: exact for units of a
    second or longer (within 285 million years of 1970); shorter ticks are divided by the
    ticks in a second, which in range is never further from the exact value than the
    route through nanoseconds (microseconds: one rounding instead of two).

    Raises
    ------
    CheckInputError
        Naming ``what``, for a count of years or months too large to be days in int64
        (beyond some 10**16 years).

    Examples
    --------
    >>> import numpy as np
    >>> days = np.array(["1970-01-02", "NaT", "9999-12-31"], dtype="datetime64[D]")
    >>> epoch_seconds(days).tolist()  # 9999 too: beyond what nanoseconds hold
    [86400.0, nan, 253402214400.0]
    >>> epoch_seconds(np.array(["2026-01-01T00:00:00.250"], dtype="datetime64[ms]")).tolist()
    [1767225600.25]
    >>> epoch_seconds(np.array([10**17], dtype="datetime64[Y]"), "column 'born'")
    Traceback (most recent call last):
    ...
    modelship.errors.CheckInputError: column 'born' holds a date of dtype datetime64[Y] too ...
    """
    if not values.dtype.isnative:
        # The ticks are read below through an int64 view, which ignores byte order: a
        # big-endian array (np.load of one, a FITS or HDF5 table) is swapped first.
        values = values.astype(values.dtype.newbyteorder("="))
    unit, count = np.datetime_data(values.dtype)
    missing = np.isnat(values)
    if unit in _MOST_DAYS:
        ticks = values.view(np.int64)[~missing]
        limit = _INT64_MAX // (_MOST_DAYS[unit] * count)
        if ticks.size and (int(ticks.min()) < -limit or int(ticks.max()) > limit):
            raise CheckInputError(
                f"{what} holds a date of dtype {values.dtype} too far from 1970 to count "
                "in days (int64), so it has no time stamp in seconds"
            )
        values, unit, count = values.astype("datetime64[D]"), "D", 1
    seconds = values.view(np.int64).astype(np.float64)
    if unit in _SECONDS_PER_TICK:
        if _SECONDS_PER_TICK[unit] * count != 1:
            seconds *= _SECONDS_PER_TICK[unit] * count
    elif unit in _TICKS_PER_SECOND:
        if count != 1:
            seconds *= count
        seconds /= _TICKS_PER_SECOND[unit]
    # Any other unit is NumPy's generic one, which holds only NaT.
    seconds[missing] = np.nan
    return seconds


def _as_1d(what: str, name: str, value: Any) -> NDArray[Any]:
    array = _zoned_pandas(value)
    if array is None:
        array = column_array(value, f"column {name!r} of {what}")
    if array.ndim == 0:
        raise CheckInputError(
            f"column {name!r} of {what} is a single value ({brief(value)}), not a column; "
            "give a list or array with one value per row"
        )
    if array.ndim != 1:
        # Duplicated names are refused before any column is read: a 2-D column holds
        # several values per row (a list, array or struct column).
        raise CheckInputError(
            f"column {name!r} of {what} must be 1-D (one value per row), got shape "
            f"{array.shape}; convert it to numbers or strings, or leave it out (exclude=)"
        )
    return array


# The date-times in microseconds that Python's ``datetime`` holds (years 1 to 9999): the
# ones the value-by-value reading of a zoned column (:func:`_utc_stamp`) reads.
_FIRST_STAMP = np.datetime64("0001-01-01T00:00:00", "us")
_LAST_STAMP = np.datetime64("9999-12-31T23:59:59.999999", "us")


def _zoned_pandas(value: Any) -> NDArray[Any] | None:
    """A pandas Series of date-times with a time zone (a ``DatetimeTZDtype``) as naive
    ``datetime64[us]`` in UTC (``NaT`` where missing), converted at once; ``None`` for any
    other column.

    ``to_numpy()`` makes such a Series an object array of ``Timestamp``, which
    :func:`_datetimes` reads value by value (10 s per million values): the same
    date-times, as the same array, without a Python object per value. The zone itself is
    recorded from the Series (:func:`datetime_zone`), as for polars and arrow. A column
    with a date-time outside the years 1 to 9999 in UTC (possible in a unit coarser than
    nanoseconds) is left to :func:`_datetimes`, which refuses it.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series(pd.to_datetime(["2024-03-31 02:30+02:00", None], utc=True))
    >>> _zoned_pandas(s.dt.tz_convert("Europe/Paris"))
    array(['2024-03-31T00:30:00.000000',                        'NaT'],
          dtype='datetime64[us]')
    >>> _zoned_pandas(pd.Series([1.5])) is None
    True
    """
    dtype = getattr(value, "dtype", None)
    if (
        not type(value).__module__.startswith("pandas")
        or getattr(dtype, "kind", None) != "M"
        or getattr(dtype, "tz", None) is None
        or not hasattr(value, "dt")
    ):
        return None
    try:
        utc = np.asarray(value.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
    except Exception:  # any failure: the value-by-value reading says why
        return None
    if utc.dtype.kind != "M" or utc.ndim != 1:
        return None
    # Floored to microseconds, as a Timestamp's datetime fields are (its nanoseconds
    # dropped): NumPy's cast from nanoseconds floors too.
    stamps = utc.astype("datetime64[us]")
    present = ~np.isnat(utc)
    unit = np.datetime_data(utc.dtype)[0]
    if not present.any():
        return stamps
    kept = stamps if present.all() else stamps[present]
    if (
        kept.min() < _FIRST_STAMP
        or kept.max() > _LAST_STAMP
        # A coarser unit is multiplied into microseconds, which wraps far enough out.
        or (
            unit not in _FINER_UNITS
            and (kept.astype(utc.dtype) != (utc if present.all() else utc[present])).any()
        )
    ):
        return None
    return stamps


def raw_array(raw: RawColumn) -> NDArray[Any]:
    """A raw column's values as an array (read from the source of an encoded one).

    Examples
    --------
    >>> from modelship._columns import Encoded
    >>> raw_array(Encoded(np.array([1, 0]), np.array(["a", "b"], dtype=object), ["b", "a"]))
    array(['b', 'a'], dtype='<U1')
    """
    return raw.array() if isinstance(raw, Encoded) else raw


def dtype_kind(raw: RawColumn) -> str:
    """The NumPy dtype kind of a raw column's array: ``"O"`` for codes into text (its
    array would hold Python strings), found from the labels without reading the rows.

    Examples
    --------
    >>> from modelship._columns import Encoded
    >>> dtype_kind(Encoded(np.array([0, 0]), np.array(["a"], dtype=object), ["a", "a"]))
    'O'
    >>> dtype_kind(np.array([0.5, 1.5]))
    'f'
    """
    if isinstance(raw, Encoded):
        labels = raw.labels.tolist()
        if all(isinstance(label, (str, bytes)) or is_missing(label) for label in labels):
            return "O"
        return raw.array().dtype.kind
    return raw.dtype.kind


# A column of a nullable type, by its type's name: polars dtypes (every one nullable) and
# arrow types of numbers and booleans, with the NumPy dtype of their values when none is
# missing.
_POLARS_NUMPY = {
    **{f"Int{bits}": f"int{bits}" for bits in (8, 16, 32, 64)},
    **{f"UInt{bits}": f"uint{bits}" for bits in (8, 16, 32, 64)},
    "Float32": "float32",
    "Float64": "float64",
    "Boolean": "bool",
}
_ARROW_NUMPY = {
    **{f"{sign}int{bits}": f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)},
    "halffloat": "float16",
    "float": "float32",
    "double": "float64",
    "bool": "bool",
}


def nullable_dtype(column: Any) -> np.dtype[Any] | None:
    """The NumPy dtype of a pandas, polars or arrow column of numbers or booleans when none
    of its values is missing, or ``None`` for any other column.

    Read as NumPy, one missing value turns such a column of integers into ``float64`` and
    one of booleans into ``object``: this is the dtype it has whether a missing value
    happens to be there or not (pandas ``Int64`` and ``boolean``, polars ``Int64``, arrow
    ``int64``, ...). A pandas categorical or an arrow dictionary of numbers has the dtype
    of its categories.

    Examples
    --------
    >>> import pandas as pd
    >>> nullable_dtype(pd.Series([1, None], dtype="Int64"))
    dtype('int64')
    >>> nullable_dtype(np.array([1.0, np.nan])) is None
    True
    """
    module = type(column).__module__
    name: str | None = None
    if module.startswith("polars"):
        name = _POLARS_NUMPY.get(str(getattr(column, "dtype", "")))
    elif module.startswith("pyarrow"):
        kind = getattr(column, "type", None)
        # A dictionary of numbers: the type of its values (a null among them reads as NaN).
        kind = getattr(kind, "value_type", kind)
        name = _ARROW_NUMPY.get(str(kind))
    elif module.startswith("pandas"):
        dtype = getattr(column, "dtype", None)
        numpy_dtype = getattr(dtype, "numpy_dtype", None)  # masked and arrow-backed dtypes
        if numpy_dtype is not None and not isinstance(dtype, np.dtype):
            name = str(np.dtype(numpy_dtype))
        elif str(getattr(dtype, "name", "")) == "category":
            # A categorical of numbers: that of its categories (a missing value reads
            # as NaN, which makes integer categories float64).
            categories = getattr(getattr(dtype, "categories", None), "dtype", None)
            if isinstance(categories, np.dtype):
                name = str(categories)
    if name is None:
        return None
    found = np.dtype(name)
    return found if found.kind in "biuf" else None


def nullable_dtypes(data: Any) -> dict[str, np.dtype[Any]]:
    """``{name: dtype}`` of the columns of named ``data`` (a data frame, an arrow table, a
    mapping) that :func:`nullable_dtype` finds a dtype for; ``{}`` for unnamed data.

    A polars LazyFrame is read by its schema: its query does not run.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "x": [0.5, 1.5]})
    >>> nullable_dtypes(frame)
    {'n': dtype('int64')}
    """
    if type(data).__name__ == "LazyFrame":
        schema = lazy_schema(data)
        found = {str(name): _POLARS_NUMPY.get(str(dtype)) for name, dtype in schema.items()}
        return {name: np.dtype(dtype) for name, dtype in found.items() if dtype is not None}
    items = named_items(data) or []
    pairs = ((name, nullable_dtype(column)) for name, column in items)
    return {name: dtype for name, dtype in pairs if dtype is not None}


def _raw_column(what: str, name: str, value: Any, encode: bool) -> RawColumn:
    if isinstance(value, Encoded):  # encoded by the caller already
        return value if encode else value.array(f"column {name!r} of {what}")
    encoded = encoded_column(value) if encode else None
    return encoded if encoded is not None else _as_1d(what, name, value)


def _no_duplicates(what: str, names: list[str]) -> None:
    # Counted once (not names.count per name: quadratic, 6 s for 20,000 columns).
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise CheckInputError(f"{what} has duplicated column names: {duplicated}")


@overload
def raw_columns(
    data: Any,
    *,
    what: str,
    columns: Sequence[str] | None = ...,
    exclude: Sequence[str] = ...,
    encode: Literal[False] = ...,
) -> dict[str, NDArray[Any]]: ...


@overload
def raw_columns(
    data: Any,
    *,
    what: str,
    columns: Sequence[str] | None = ...,
    exclude: Sequence[str] = ...,
    encode: bool,
) -> dict[str, RawColumn]: ...


def raw_columns(
    data: Any,
    *,
    what: str,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    encode: bool = False,
) -> dict[str, NDArray[Any]] | dict[str, RawColumn]:
    """Return ``{name: 1-D array}`` of ``data``, checking names, lengths and emptiness.

    Columns named in ``exclude`` are left out (a name ``data`` lacks is no error: the
    same exclusions serve the reference and the current data). With ``encode``, a column
    of text or categories from pandas, polars or arrow is :class:`Encoded` instead (see
    :func:`make_column`), which saves reading every value as a Python object.
    """
    items = named_items(data)
    excluded = set(exclude)
    pairs: list[tuple[str, RawColumn]]
    if items is None:
        rows = _row_columns(data, what)
        if rows is not None:
            pairs = [
                (name, column)
                for name, column in _named(rows, what, columns)
                if name not in excluded
            ]
        else:
            array = column_array(data, what)
            if (
                array.dtype.kind == "O"
                and array.ndim == 1
                and len(array)
                and isinstance(array[0], (list, tuple, np.ndarray))
            ):
                raise CheckInputError(f"{what} has rows of different lengths")
            pairs = [
                (name, column)
                for name, column in _unnamed(array, what, columns)
                if name not in excluded
            ]
    else:
        _no_duplicates(what, [name for name, _ in items])
        if columns is not None:
            lookup = dict(items)
            absent = [str(name) for name in columns if str(name) not in lookup]
            if absent:
                raise ColumnMismatch(f"{what} has no column {absent[0]!r} (asked for {absent})")
            items = [(str(name), lookup[str(name)]) for name in columns]
        # Left out before any column is read: a column no check can read (a struct, a
        # list per row) is what exclude= is for.
        pairs = [
            (name, _raw_column(what, name, value, encode))
            for name, value in items
            if name not in excluded
        ]
    if not pairs:
        raise EmptyData(f"{what} has no columns")
    _no_duplicates(what, [name for name, _ in pairs])
    n_rows = len(pairs[0][1])
    for name, raw in pairs:
        if len(raw) != n_rows:
            raise CheckInputError(
                f"column {name!r} of {what} has {len(raw)} rows, but column "
                f"{pairs[0][0]!r} has {n_rows}"
            )
    if n_rows == 0:
        raise EmptyData(f"{what} has no rows (columns: {[name for name, _ in pairs]})")
    return dict(pairs)


def make_column(  # noqa: PLR0913 - keyword-only options of the typing that callers share
    name: str,
    values: RawColumn,
    kind: ColumnKind | None = None,
    *,
    categorical_max_unique: int | None = None,
    date_text: Callable[[str], str] | None = None,
    declared: bool = True,
) -> Column:
    """Type one raw column: numeric or categorical, by dtype unless ``kind`` is given.

    An :class:`Encoded` column whose values (those present) are all text, and which is
    not declared numeric, is categorical with dtype ``"str"``, as its array would be; its
    counts come from its codes. Any other is read as an array and typed as one.
    ``date_text`` says what to do about date-times written as text in a numeric column.
    ``declared`` is false when ``kind`` is the reference's, inferred from its values (a
    message then does not call it declared).
    """
    if isinstance(values, Encoded):
        counts = None if kind is ColumnKind.NUMERIC else _encoded_counts(values)
        if counts is not None:
            return Column(
                name=name,
                kind=ColumnKind.CATEGORICAL,
                dtype="str",
                encoded=values,
                counts=counts,
            )
        values = values.array(f"column {name!r}")
    stamps = _datetimes(values, f"column {name!r}")
    if stamps is not None:
        if kind is not ColumnKind.NUMERIC:
            raise LeftOut(
                f"datetime column left out; declare kinds={{{name!r}: 'numeric'}} to compare "
                "it as time stamps (seconds since the epoch)"
            )
        seconds = epoch_seconds(stamps, f"column {name!r}")
        # The dtype's name, as for other dtypes: str() would write ">M8[D]" for big-endian.
        return Column(name=name, kind=kind, dtype=_dtype_name(stamps), values=seconds)
    dtype_kind = values.dtype.kind
    if dtype_kind in "mcV":
        raise CheckInputError(
            f"column {name!r} has dtype {values.dtype}, which checks cannot compare; "
            f"convert it to numbers or strings, or leave it out ({_leave_out(name)})"
        )
    dtype = _dtype_name(values)
    read_dtype = None
    if dtype_kind == "O":
        values, dtype, found = _typed_objects(name, values)
        # No present value, and no library type of text (read above, by its codes): an
        # object column of None is numeric, as an array of NaN (the same column read
        # from a CSV file or NumPy) is.
        natural = ColumnKind.NUMERIC if found is None else found
        read_dtype = None if dtype in ("str", "object") else "object"
        dtype_kind = values.dtype.kind
    else:
        natural = ColumnKind.NUMERIC if dtype_kind in "iuf" else ColumnKind.CATEGORICAL
    numbers_ = values if dtype_kind in "iuf" else None
    if kind is None:
        kind = natural
        if kind is ColumnKind.NUMERIC and categorical_max_unique is not None:
            # Python numbers (a list holding None) by their values, as an array of them
            # would be: the same data is the same kind whichever form it came in.
            numbers_ = _to_float(name, values, date_text) if numbers_ is None else numbers_
            present = numbers_[np.isfinite(numbers_)] if numbers_.dtype.kind == "f" else numbers_
            # A column with no number at all (only missing values) stays numeric.
            if len(present) and len(np.unique(present)) <= categorical_max_unique:
                kind = ColumnKind.CATEGORICAL
    integers = None
    if kind is ColumnKind.NUMERIC and (dtype_kind not in "iuf"):
        objects = values
        values = (
            _to_float(name, values, date_text, declared=declared) if numbers_ is None else numbers_
        )
        integers = _beyond_float(objects, values, dtype)
    return Column(
        name=name,
        kind=kind,
        dtype=dtype,
        values=values,
        read_dtype=read_dtype,
        integers=integers,
    )


def _beyond_float(
    objects: NDArray[Any], floats: NDArray[np.float64], dtype: str
) -> NDArray[Any] | None:
    """``objects``, an object column of integers (and missing values) read as ``floats``,
    when a float64 does not hold one of them exactly (see :attr:`Column.integers`).

    Examples
    --------
    >>> big = np.array([2**62 + 1, None], dtype=object)
    >>> _beyond_float(big, np.array([2.0**62, np.nan]), "int64") is big
    True
    >>> _beyond_float(np.array([1, None], dtype=object), np.array([1.0, np.nan]), "int64")
    """
    if objects.dtype.kind != "O" or not dtype.startswith(("int", "uint")) or not len(floats):
        return None
    with np.errstate(invalid="ignore"):
        largest = np.nanmax(np.abs(floats), initial=0.0)
    return objects if largest >= FLOAT_EXACT else None


def _typed_objects(name: str, values: NDArray[Any]) -> tuple[NDArray[Any], str, ColumnKind | None]:
    """An object column's values, dtype and natural kind (see :func:`_object_values`);
    ``None`` for the kind of a column without a present value, which nothing decides."""
    cls = _object_class(name, values)
    dtype = "str" if cls == "str" else "object"
    if cls in ("real", "bool"):
        values, dtype = _object_values(values)
    if cls == "empty":
        return values, dtype, None
    natural = ColumnKind.NUMERIC if cls == "real" else ColumnKind.CATEGORICAL
    return values, dtype, natural


def _object_values(values: NDArray[Any]) -> tuple[NDArray[Any], str]:
    """An object column of numbers or of booleans (``None`` or NaN among them) as the
    array its values make, and the dtype they have without the missing ones.

    Without a missing value the column becomes that array (``int64``, ``bool``), so it
    is read as the same values in an array would be; with one it stays as it is (NumPy
    has no integer or boolean missing value), recorded under the dtype of its present
    values, as a pandas ``Int64`` or polars column is. Python integers beyond 64 bits
    stay objects.
    """
    listed = values.tolist()
    if not any(kind.__name__ in MISSING_TYPE_NAMES for kind in set(map(type, listed))):
        # No None, NA or NaT: only a NaN among floats can be missing, which one vectorised
        # test finds; without one, the value-by-value scan below is skipped.
        whole = np.asarray(listed)
        if not (whole.dtype.kind == "f" and np.isnan(whole).any()):
            if whole.dtype.kind not in "biuf":  # beyond int64 / uint64: kept as objects
                return values, "object"
            return whole, _dtype_name(whole)
    present = [value for value in listed if not is_missing(value)]
    as_array = np.asarray(present)
    if as_array.dtype.kind not in "biuf":  # beyond int64 / uint64: kept as objects
        return values, "object"
    if len(present) == len(listed):
        return as_array, _dtype_name(as_array)
    return values, _dtype_name(as_array)


def as_table(  # noqa: PLR0913 - keyword-only column selection and kind options shared by every check's input
    data: Any,
    *,
    what: str = "data",
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, ColumnKind] | None = None,
    categorical_max_unique: int | None = None,
    exclude: Sequence[str] = (),
) -> Table:
    """Turn tabular input into a :class:`Table`.

    Parameters
    ----------
    data
        A dict of 1-D arrays, a 1-D or 2-D array, a structured array, or a data frame.
    what
        How messages name the data (``"reference"``, ``"current"``).
    columns
        For a plain array, the names of its columns; for named input, the columns to use,
        in this order.
    kinds
        Per column, the kind to use instead of the one implied by the dtype.
    categorical_max_unique
        Numeric columns without a ``kinds`` entry and with at most this many distinct finite
        values are categorical.
    exclude
        Columns to leave out.

    Raises
    ------
    ColumnMismatch, EmptyData, CheckInputError
        With a message naming the data and the column.
    ConfigError
        When ``kinds`` names a column the data does not have (or that is excluded): a
        misspelled name would otherwise leave its column at the kind it was meant to
        change.
    """
    raw = raw_columns(data, what=what, columns=columns, exclude=exclude, encode=True)
    unknown = sorted(set(kinds or {}) - set(raw))
    if unknown:
        raise ConfigError(
            f"kinds names unknown column(s) {unknown}; the {what} has the columns "
            f"{brief(list(raw))}: correct the names, or remove them from kinds"
        )
    return type_columns(raw, what=what, kinds=kinds, categorical_max_unique=categorical_max_unique)


def type_columns(
    raw: Mapping[str, RawColumn],
    *,
    what: str,
    kinds: Mapping[str, ColumnKind] | None = None,
    categorical_max_unique: int | None = None,
    date_text: Callable[[str], str] | None = None,
) -> Table:
    """Type the raw columns of :func:`raw_columns` (see :func:`as_table`).

    ``date_text`` is that of :func:`make_column`. ``kinds`` are declared, unless they are
    a :class:`Kinds` (a reference table's), which knows the declared ones.
    """
    kinds = kinds or {}
    declared = kinds.declared if isinstance(kinds, Kinds) else frozenset(kinds)
    typed = {}
    left_out = {}
    for name, values in raw.items():
        try:
            typed[name] = make_column(
                name,
                values,
                kinds.get(name),
                categorical_max_unique=categorical_max_unique,
                date_text=date_text,
                declared=name in declared,
            )
        except LeftOut as exc:
            left_out[name] = str(exc)
        except CheckInputError as exc:
            raise type(exc)(f"{what}: {exc}") from None
    if not typed:
        raise EmptyData(
            f"{what} has no column checks can compare: "
            + "; ".join(f"{name!r}: {why}" for name, why in left_out.items())
        )
    return Table(
        columns=typed,
        n_rows=len(next(iter(raw.values()))),
        left_out=left_out,
        declared=declared & set(typed),
    )
