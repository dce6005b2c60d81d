"""Group fairness statistics on count tables, and their stratified bootstrap.

Everything a classification bias check needs is in one table: for each group ``g``, the
counts of rows by true label ``y`` and predicted label ``p`` (``counts[g, 2 y + p]``: true
negatives, false positives, false negatives, true positives). One ``np.bincount`` pass over
the rows builds it; per-group rates and disparities are then arithmetic on ``G x 4``
numbers, and a bootstrap resample is a new table, drawn without touching the rows:

* **stratified count-table bootstrap**: each group keeps its size ``n_g`` and its four
  cells are redrawn ``Multinomial(n_g, counts[g] / n_g)``, which is exactly resampling
  that group's rows with replacement. All groups are drawn in one call per chunk of
  resamples, the chunk sized so that memory stays bounded whatever the number of groups
  (:func:`bootstrap_disparities`).

Rates and disparities accept tables with any leading axes (``(..., G, 4)``), so the point
estimate and 1,000 resamples go through the same code. Definitions follow Fairlearn (and
AIF360 for disparate impact); an undefined rate (a group without positives has no true
positive rate) is NaN, never zero.

Regression groups use sums instead of counts: ``[n, sum pred, sum pred^2, sum err,
sum err^2]`` with ``err = y_pred - y_true``; their bootstrap draws each group's means from
their normal approximation (the centre limit of a stratified row bootstrap of a mean).

Pure functions over numpy arrays; nothing here knows about checks.

Examples
--------
>>> import numpy as np
>>> from modelship.checks.stats import _fairness as sf
>>> codes, labels = sf.factorize(np.array(["a", "b", "a", "b", "a", "b"]))
>>> table = sf.confusion_table(codes, len(labels), np.array([1, 1, 0, 0, 1, 0]),
...                            np.array([1, 0, 0, 1, 1, 1]))
>>> labels, table.tolist()
(('a', 'b'), [[1, 0, 0, 2], [0, 2, 1, 0]])
>>> rates = sf.group_rates(table)
>>> rates["selection_rate"].tolist(), float(sf.disparities(rates)["demographic_parity_difference"])
([0.6666666666666666, 0.6666666666666666], 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from modelship._columns import Encoded, column_array, is_missing
from modelship._params import Interval, validate_params
from modelship.errors import CheckInputError, ConfigError

__all__ = [
    "CLASSIFICATION_DISPARITIES",
    "REGRESSION_DISPARITIES",
    "DisparityEstimate",
    "binary_labels",
    "bootstrap_disparities",
    "bootstrap_regression",
    "bootstrap_regression_disparities",
    "bootstrap_tables",
    "bytes_label",
    "is_zero_one",
    "combine_codes",
    "rate_counts",
    "confusion_table",
    "disparities",
    "estimate_disparities",
    "factorize",
    "group_label",
    "group_rates",
    "group_sums",
    "intersect",
    "regression_disparities",
    "regression_means",
    "regression_table",
    "value_confusion_table",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


# Integer sensitive values within this range are counted with np.bincount instead of
# sorted by np.unique (a 1,000,000-row int8 column: 2 ms instead of 30 ms).
_DIRECT_RANGE = 1 << 16

# Rows per chunk of the count-table pass: three int64 input chunks (1.5 MiB) and the
# one- or two-byte buffers made from them stay in L2 cache between their passes.
_CHUNK_ROWS = 1 << 16

# confusion_table allows this many groups beyond one per row (groups without rows, such as
# the unseen combinations of intersect()): their cells cost 32 MiB of int64 counts, where
# an unchecked n_groups of 10**12 asked for 29 TiB.
_EMPTY_GROUPS = 1 << 20

# value_confusion_table counts integer values below this directly (uint16 cell codes).
_VALUE_LIMIT = 1 << 14

# Several rows are counted as one bincount value while their packed table has at most
# this many bins (64 KiB of int64 counts, in L2 cache); up to 22 groups pack two rows.
_PACKED_BINS = 1 << 13


def bytes_label(value: bytes) -> str:
    r"""The text label of a byte string, as groups and drift categories show it: its UTF-8
    text, with each byte that is not UTF-8 written as its escape (``b"\xff"`` reads
    ``\xff``), so that different invalid bytes stay different labels and the label stays
    valid text. A valid byte string that spells such an escape (``b"\\xff"``) reads the
    same.

    Examples
    --------
    >>> from modelship.checks.stats._fairness import bytes_label
    >>> bytes_label(b"F"), bytes_label("é".encode()), bytes_label(b"\xff"), bytes_label(b"\xfe")
    ('F', 'é', '\\xff', '\\xfe')
    """
    return value.decode("utf-8", errors="backslashreplace")


def group_label(value: Any) -> str:
    """The label of the group a sensitive value (or segment value) is in, as results
    show it: text as is, bytes as :func:`bytes_label` reads them, a whole float as an
    integer (``3.0`` is ``"3"``, as a float column written by pandas holds whole codes),
    anything else as ``str``.

    Examples
    --------
    >>> from modelship.checks.stats._fairness import group_label
    >>> group_label(3.0), group_label(2.5), group_label(b"F"), group_label("01")
    ('3', '2.5', 'F', '01')
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return bytes_label(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def factorize(
    values: npt.ArrayLike | Encoded, *, what: str = "sensitive feature", dense: bool = False
) -> tuple[Any, tuple[str, ...]]:
    """Return ``(codes, labels)``: each row's group index and the groups' labels, sorted.

    Labels are the values as text (``3.0`` reads ``"3"``). Integer columns with a small
    range are coded without a sort; with ``dense=True`` their codes are the values minus
    the smallest, and ``labels`` covers the whole range (a value without rows then has an
    empty group, which the caller drops after counting: this saves two passes). Text
    from pandas, polars or arrow (:class:`~modelship._columns.Encoded`) is coded from its
    codes, one pass; with a missing value it is read as an array, whose error applies.

    Raises
    ------
    CheckInputError
        For a missing value (``None``, NaN, NaT, or the declared NA of a NumPy 2
        ``StringDType``): fill it with an explicit category first.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import factorize
    >>> codes, labels = factorize(np.array([3, 1, 3, 7]))
    >>> codes.tolist(), labels
    ([1, 0, 1, 2], ('1', '3', '7'))
    >>> factorize(np.array([3, 1, 3]), dense=True)[1]
    ('1', '2', '3')
    """
    if isinstance(values, Encoded):
        found = _factorize_encoded(values, what)
        if found is not None:
            return found
        values = values.array(what)
    array = column_array(values, what)
    if array.ndim != 1:
        raise CheckInputError(f"{what} must be 1-D, got shape {array.shape}")
    if array.dtype.kind in "iu" and len(array):
        low, high = int(array.min()), int(array.max())
        if high - low < _DIRECT_RANGE:
            if array.dtype.kind == "u" and array.dtype.itemsize == 8:
                shifted = (array - np.uint64(low)).astype(np.intp)  # all >= low: no wrap
            else:
                # In 64 bits: a narrow type's difference wraps (int8 from -100 to 100 spans
                # 200), and codes of several features are added up in intp.
                wide = array.astype(np.int64, copy=False)
                shifted = wide - low if low else wide
            if dense:
                return shifted, tuple(str(v) for v in range(low, high + 1))
            present = np.flatnonzero(np.bincount(shifted, minlength=high - low + 1))
            lookup = np.zeros(high - low + 1, dtype=np.intp)
            lookup[present] = np.arange(len(present))
            return lookup[shifted], tuple(str(int(v) + low) for v in present)
    missing = _missing(array)
    if missing is not None and missing[0].any():
        raise CheckInputError(
            f"{what} has {int(missing[0].sum())} missing values ({missing[1]}); fill them "
            "with an explicit category so those rows are judged as a group"
        )
    if array.dtype.kind == "O":
        return _factorize_objects(array, what)
    uniques, codes = np.unique(array, return_inverse=True)
    labels = tuple(group_label(v) for v in uniques.tolist())
    _distinct(labels, what)
    return codes.reshape(-1).astype(np.intp, copy=False), labels


def _missing(array: npt.NDArray[Any]) -> tuple[npt.NDArray[np.bool_], str] | None:
    """The missing rows of a typed array and what they are called, or ``None`` when its
    type has no missing value (integers, booleans, bytes, objects: those are looked at
    one by one in :func:`_factorize_objects`).

    A NumPy 2 ``StringDType`` has a missing value only when declared (``na_object``):
    NaN-like (``np.nan``, ``pd.NA``) or ``None``. A text ``na_object`` is, to NumPy, that
    text (it compares equal to it), so those rows are a group named by it.
    """
    kind = array.dtype.kind
    if kind in "fc":
        return np.isnan(array), "NaN"
    if kind in "mM":
        return np.isnat(array), "NaT"
    # StringDType is kind "T" (NumPy >= 2 only); without a declared NA it has no attribute.
    if kind == "T" and hasattr(array.dtype, "na_object"):
        na: Any = array.dtype.na_object
        if na is None:  # compares equal to itself, elementwise
            return np.asarray(array == na), "None"
        if not isinstance(na, str):
            return np.isnan(array), "NA"
    return None


def _factorize_encoded(encoded: Encoded, what: str) -> tuple[Any, tuple[str, ...]] | None:
    """:func:`factorize` of text read by its codes (pandas, polars, arrow), or ``None`` to
    read the column as an array: a missing value, a label that is not text, or codes out
    of range take the array's route, whose messages then apply."""
    found = encoded.tally()
    if found is None or found[1]:
        return None
    present = np.flatnonzero(found[0])
    texts = encoded.labels[present].tolist()
    if not all(isinstance(text, str) for text in texts):
        return None
    # Labels that read alike (one per arrow chunk) are one group, in sorted order.
    groups = sorted(set(texts))
    rank = {text: i for i, text in enumerate(groups)}
    lookup = np.zeros(len(encoded.labels), dtype=np.intp)
    lookup[present] = [rank[text] for text in texts]
    return lookup[encoded.codes], tuple(groups)


def _distinct(labels: Sequence[str], what: str) -> None:
    if len(set(labels)) != len(labels):
        raise CheckInputError(f"{what} has values that read the same as text: {list(labels)}")


def _factorize_objects(array: npt.NDArray[Any], what: str) -> tuple[Any, tuple[str, ...]]:
    """Code Python objects with a dict (numpy's sort of objects is 5x slower).

    ``True == 1`` and they hash alike, so a dict keyed by value merged the groups ``True``
    and ``1`` under one label (review 44). When a boolean is among the groups, the rows are
    coded again keyed by (is it a boolean, value); text and numbers alone keep the fast
    route (the keys cost 3x). Whether a boolean is among the values is read from the
    values' types, not from the keys: a ``True`` after a ``1`` folded into it."""
    values = array.tolist()
    seen: dict[Any, int] = {}
    try:
        codes = np.fromiter(
            (seen.setdefault(value, len(seen)) for value in values),
            dtype=np.intp,
            count=len(array),
        )
    except TypeError as exc:  # unhashable values: lists, dicts, arrays
        raise CheckInputError(
            f"{what} holds values that cannot be groups ({exc}); give one label per row: "
            "text, a number or a boolean"
        ) from None
    keys: list[Any] = list(seen)
    # The values, not the keys: a True folded into an earlier 1 is no key of its own.
    if not {bool, np.bool_}.isdisjoint(map(type, values)):
        tagged: dict[tuple[bool, Any], int] = {}
        codes = np.fromiter(
            (
                tagged.setdefault((isinstance(value, (bool, np.bool_)), value), len(tagged))
                for value in values
            ),
            dtype=np.intp,
            count=len(array),
        )
        keys = [value for _, value in tagged]
    missing = [i for i, key in enumerate(keys) if is_missing(key)]
    if missing:
        count = int(np.isin(codes, missing).sum())
        raise CheckInputError(
            f"{what} has {count} missing values (None, NaN or NA); fill them with an "
            "explicit category so those rows are judged as a group"
        )
    labels = [group_label(key) for key in keys]
    _distinct(labels, what)
    order = sorted(range(len(labels)), key=labels.__getitem__)
    remap = np.empty(len(labels), dtype=np.intp)
    remap[order] = np.arange(len(labels))
    return remap[codes], tuple(labels[i] for i in order)


def _object_zero_one(array: npt.NDArray[Any]) -> npt.NDArray[np.uint8] | None:
    """An object array of booleans and numbers that are all 0 or 1 as ``uint8``; else None.

    One pass over the values, stopping at the first that is not such a label.

    Examples
    --------
    >>> import numpy as np
    >>> _object_zero_one(np.array([0, True, 1.0], dtype=object)).tolist()
    [0, 1, 1]
    >>> _object_zero_one(np.array([0, "1"], dtype=object)) is None
    True
    """
    out = np.empty(len(array), dtype=np.uint8)
    for i, value in enumerate(array.tolist()):  # numpy scalars become Python ones
        if not is_zero_one(value):
            return None
        out[i] = int(value)
    return out


def is_zero_one(value: object) -> bool:
    """Whether ``value`` (one of an object array's) is a boolean or the number 0 or 1.

    Examples
    --------
    >>> is_zero_one(True), is_zero_one(1.0), is_zero_one(np.int8(0)), is_zero_one("1")
    (True, True, True, False)
    """
    return isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)


def binary_labels(values: Any, what: str) -> npt.NDArray[Any]:
    """Check that ``values`` are 0/1 labels and return them as integers or booleans.

    Integer input is returned as is after a min/max check (no copy), booleans as is,
    floats equal to 0 or 1, and an object array of Python 0/1 (numbers or booleans), as
    ``uint8``.

    Raises
    ------
    CheckInputError
        For any other value, naming a few.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import binary_labels
    >>> binary_labels(np.array([0, 1, 1]), "y_true").tolist()
    [0, 1, 1]
    >>> binary_labels(np.array([0.0, 1.0]), "y_true").tolist()
    [0, 1]
    >>> try:
    ...     binary_labels(np.array([0, 2]), "y_true")
    ... except Exception as exc:
    ...     print(type(exc).__name__)
    CheckInputError
    """
    array = column_array(values, what)
    if array.ndim != 1:
        raise CheckInputError(f"{what} must be 1-D, got shape {array.shape}")
    if array.dtype == np.bool_:
        return array
    if array.dtype == object:
        # Python 0/1 in an object column (a pandas object Series once its missing labels
        # were dropped, as the missing-label message says to): the labels they are.
        labels = _object_zero_one(array)
        if labels is not None:
            return labels
    if array.dtype.kind not in "iuf":
        raise CheckInputError(
            f"{what} must hold the labels 0 and 1, got dtype {array.dtype}; map the labels "
            "to 0/1 (positive = 1) first"
        )
    if array.dtype.kind in "iu" and (
        # Seen as unsigned, a negative value is huge: one reduction checks both ends.
        not len(array) or _unsigned(array).max() <= 1
    ):
        return np.asarray(array)
    positive = array == 1
    outside = ~(positive | (array == 0))
    if outside.any():
        shown = sorted({group_label(v) for v in array[outside][:1000].tolist()})[:5]
        raise CheckInputError(
            f"{what} must hold only 0 and 1 (positive = 1), got {int(outside.sum())} other "
            f"values such as {shown}; map the labels to 0/1 first"
        )
    return np.asarray(positive.view(np.uint8))


def intersect(codes: Sequence[npt.NDArray[np.intp]], sizes: Sequence[int]) -> npt.NDArray[np.intp]:
    """Combine per-feature codes into one code per combination (row-major, like ``ravel``).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import intersect
    >>> intersect([np.array([0, 1, 1]), np.array([2, 0, 1])], [2, 3]).tolist()
    [2, 3, 4]
    """
    if len(codes) == 1:
        return codes[0]
    joint = np.zeros(len(codes[0]), dtype=np.intp)
    for code, size in zip(codes, sizes, strict=True):
        joint *= size
        joint += code
    return joint


# Combinations of two features' codes counted with a dense presence table up to this
# many cells (32 MB of int64); beyond, np.unique sorts the rows' keys instead.
_DENSE_COMBINATIONS = 1 << 22


def combine_codes(
    codes: Sequence[npt.NDArray[np.intp]], sizes: Sequence[int]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Code each row by its combination of feature codes, among the combinations present.

    Returns ``(joint, combos)``: ``combos[joint[i]]`` is row ``i``'s code in each feature,
    and ``combos`` lists the combinations that occur, in row-major order (that of
    :func:`intersect`). Memory is bounded by the rows, not by the product of the features'
    sizes: three features of 1,000 values make at most one combination per row, not 10^9.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import combine_codes
    >>> joint, combos = combine_codes([np.array([1, 0, 1]), np.array([2, 0, 2])], [2, 3])
    >>> joint.tolist(), combos.tolist()
    ([1, 0, 1], [[0, 0], [1, 2]])
    """
    joint = np.asarray(codes[0], dtype=np.int64)
    combos = np.arange(sizes[0], dtype=np.intp)[:, None]
    count = sizes[0]
    for code, size in zip(codes[1:], sizes[1:], strict=True):
        key = joint * size + np.asarray(code, dtype=np.int64)  # < rows x size: no overflow
        if count * size <= _DENSE_COMBINATIONS:
            present = np.flatnonzero(np.bincount(key, minlength=count * size))
            renumber = np.zeros(count * size, dtype=np.int64)
            renumber[present] = np.arange(len(present))
            joint = renumber[key]
        else:
            present, joint = np.unique(key, return_inverse=True)
            joint = joint.reshape(-1)
        combos = np.column_stack([combos[present // size], present % size])
        count = len(present)
    return joint.astype(np.intp, copy=False), combos.astype(np.intp, copy=False)


def group_sums(
    codes: npt.NDArray[np.intp], n_groups: int, table: npt.NDArray[Any]
) -> npt.NDArray[Any]:
    """Sum the rows of ``table`` by ``codes``: a finer table's marginal, ``(n_groups, C)``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import group_sums
    >>> group_sums(np.array([1, 0, 1]), 2, np.array([[1, 2], [3, 4], [5, 6]])).tolist()
    [[3, 4], [6, 8]]
    """
    out = np.zeros((n_groups, table.shape[1]), dtype=table.dtype)
    np.add.at(out, codes, table)
    return out


@validate_params(n_groups=Interval(int, 1, None))
def confusion_table(
    codes: npt.NDArray[np.intp], n_groups: int, y_true: npt.ArrayLike, y_pred: npt.ArrayLike
) -> IntArray:
    """Count rows by group, true label and predicted label: ``(n_groups, 4)``.

    Column ``2 y + p``: true negatives, false positives, false negatives, true positives.
    ``codes`` must lie in ``[0, n_groups)``; ``y_true`` and ``y_pred`` must be booleans or
    0/1 (see :func:`binary_labels`), one per code. One ``np.bincount`` pass counts
    everything. A group without rows is a row of zeros; at most ``len(codes) + 2**20``
    groups are allowed (one per row, and up to 2**20 without rows).

    Raises
    ------
    InvalidParameter
        When ``n_groups`` is not an int of 1 or more.
    CheckInputError
        For ``n_groups`` above ``len(codes) + 2**20`` (more groups without rows than a
        table should hold: pass the number of group labels); for a code outside
        ``[0, n_groups)``; for labels other than 0 and 1 (a ``-1``, a
        ``2``, a score such as ``0.7``: counted, they would land in another group's cells
        or be truncated); for ``codes``, ``y_true`` and ``y_pred`` not all 1-D arrays of
        the same length.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import confusion_table
    >>> confusion_table(np.array([0, 0, 1]), 2, np.array([1, 0, 1]), np.array([1, 1, 0])).tolist()
    [[0, 1, 0, 1], [0, 0, 1, 0]]
    """
    codes = column_array(codes, "group codes")
    if codes.dtype.kind not in "iu":
        raise CheckInputError(f"group codes must be integers, got dtype {codes.dtype}")
    if codes.ndim != 1:
        raise CheckInputError(f"group codes must be 1-D, got shape {codes.shape}")
    # Checked before the table is allocated: its 4 n_groups cells are the memory it takes.
    if n_groups > len(codes) + _EMPTY_GROUPS:
        raise CheckInputError(
            f"n_groups={n_groups:,} is more groups than {len(codes):,} group codes can "
            f"fill: at most one group per row has rows, and up to {_EMPTY_GROUPS:,} more "
            "may be empty; pass the number of group labels (len(labels) from factorize())"
        )
    labels = [_counted_labels(y_true, "y_true"), _counted_labels(y_pred, "y_pred")]
    for (array, _), what in zip(labels, ("y_true", "y_pred"), strict=True):
        if len(array) != len(codes):
            raise CheckInputError(
                f"{what} has {len(array)} rows but there are {len(codes)} group codes; "
                "give one label per row"
            )
    counter = _CellCounter()
    for start in range(0, len(codes), _CHUNK_ROWS):  # bounded: len(codes) / _CHUNK_ROWS steps
        stop = min(start + _CHUNK_ROWS, len(codes))
        chunk = codes[start:stop]
        # Checked while the chunk is in cache; seen as unsigned, a negative code is huge.
        if int(_unsigned(chunk).max()) >= n_groups:
            raise CheckInputError(
                f"group codes must lie in [0, {n_groups}), got values from "
                f"{int(codes.min())} to {int(codes.max())}; code the groups with factorize()"
            )
        for (array, unchecked), what in zip(labels, ("y_true", "y_pred"), strict=True):
            if unchecked and int(_unsigned(array[start:stop]).max()) > 1:
                binary_labels(array, what)  # raises, naming the values other than 0 and 1
        counter.add(chunk, n_groups, labels[0][0][start:stop], labels[1][0][start:stop])
    return counter.counts(4 * n_groups).reshape(n_groups, 4)


def _counted_labels(values: Any, what: str) -> tuple[npt.NDArray[Any], bool]:
    """``values`` as 0/1 labels for :func:`confusion_table`, and whether they still need
    checking: 1-D integers are checked there chunk by chunk, while each chunk is in cache
    (read once, not twice); any other input is checked (and floats converted) here."""
    array = column_array(values, what)
    if array.ndim == 1 and array.dtype.kind in "iu":
        return array, True
    return binary_labels(array, what), False


def value_confusion_table(
    values: npt.NDArray[Any], y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]
) -> tuple[IntArray, int] | None:
    """:func:`confusion_table` of small non-negative integer values, checked on the way.

    Returns ``(table, low)``: ``table[i]`` counts the rows whose value is ``low + i``, for
    every value from the smallest to the largest (a value without rows has a zero row,
    as with ``factorize(dense=True)``). Returns ``None``, having raised nothing, when the
    values are not integers in ``[0, 16384)`` or the labels are not booleans or integer
    0/1: the caller then checks and codes them the general way, with its messages.

    One pass over the rows, chunk by chunk: each chunk is checked and counted while it is
    in cache, so each column is read from memory once (this is the whole cost at a
    million rows: the columns are three times the bytes of the baseline's one).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import value_confusion_table
    >>> table, low = value_confusion_table(np.array([3, 3, 5]), np.array([1, 0, 1]),
    ...                                    np.array([1, 1, 0]))
    >>> table.tolist(), low
    ([[0, 1, 0, 1], [0, 0, 0, 0], [0, 0, 1, 0]], 3)
    >>> value_confusion_table(np.array([-1, 0]), np.array([1, 0]), np.array([1, 0])) is None
    True
    """
    arrays = (values, y_true, y_pred)
    if (
        not len(values)
        or any(a.ndim != 1 or len(a) != len(values) for a in arrays)
        or values.dtype.kind not in "iu"
        or any(a.dtype.kind not in "iub" for a in arrays[1:])
    ):
        return None
    if values.dtype == np.int8:
        # Seen as unsigned, -1 is 255, below the limit: in 16 bits it is 65535, above it.
        values = values.astype(np.int16)
    # Each checked column seen as unsigned (a negative value is huge: one reduction checks
    # both ends) with its largest allowed value; booleans need no check.
    checks = [(_unsigned(values), _VALUE_LIMIT - 1)] + [
        (_unsigned(a), 1) for a in (y_true, y_pred) if a.dtype.kind != "b"
    ]
    counter = _CellCounter()
    n_groups = 0  # the largest value so far, plus one: every chunk is coded as wide
    for start in range(0, len(values), _CHUNK_ROWS):  # bounded: len(values) / _CHUNK_ROWS steps
        stop = min(start + _CHUNK_ROWS, len(values))
        highs = [int(column[start:stop].max()) for column, _ in checks]
        if any(high > limit for high, (_, limit) in zip(highs, checks, strict=True)):
            return None
        n_groups = max(n_groups, highs[0] + 1)
        counter.add(values[start:stop], n_groups, y_true[start:stop], y_pred[start:stop])
    table = counter.counts(4 * n_groups).reshape(-1, 4)
    # Values are their own codes: the smallest is the first row that counted any.
    low = int(np.flatnonzero(table.any(axis=1))[0])
    return table[low:], low


def _unsigned(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Integers seen as unsigned: a negative value reads as a huge one."""
    return values.view(values.dtype.str.replace("i", "u"))


def _rows_per_code(cells: int) -> int:
    """How many rows one bincount value can carry: the most with ``cells**k`` bins in
    ``_PACKED_BINS`` (3 for 5 groups: 20**3 = 8,000 bins)."""
    k = 1
    while cells ** (k + 1) <= _PACKED_BINS:  # bounded: cells >= 4, so k < 7
        k += 1
    return k


class _CellCounter:
    """Counts of the cells ``4 g + 2 y + p`` over chunks of rows.

    Several rows make one bincount value (``(c1 * cells + c2) * cells + c3``): np.bincount,
    the costly pass, then counts a third as many values into ``cells**3`` bins, which are
    summed back to ``cells`` counts once, at the end.
    """

    def __init__(self) -> None:
        self.packed: dict[tuple[int, int], IntArray] = {}

    def add(
        self,
        codes: npt.NDArray[Any],
        n_groups: int,
        y_true: npt.NDArray[Any],
        y_pred: npt.NDArray[Any],
    ) -> None:
        """Count one chunk whose codes are below ``n_groups``."""
        cells = 4 * n_groups
        # The cell of a row in the narrowest type that holds it: after the cast from the
        # input's type, every pass moves one or two bytes a row, not eight. Doubling by
        # addition: numpy's shifts of small integers are not vectorised (12x slower).
        cell_type = np.uint8 if cells <= 1 << 8 else np.uint16 if cells <= 1 << 16 else np.intp
        cell = codes.astype(cell_type)
        cell += cell
        cell += y_true.astype(cell_type, copy=False)
        cell += cell
        cell += y_pred.astype(cell_type, copy=False)
        k = _rows_per_code(cells)
        per = len(cell) // k
        if k > 1 and per:
            packed = cell[:per].astype(np.uint16)
            for j in range(1, k):  # bounded: k < 7
                packed *= cells
                packed += cell[j * per : (j + 1) * per]
            self._add((cells, k), np.bincount(packed, minlength=cells**k))
            cell = cell[k * per :]
        if len(cell):
            self._add((cells, 1), np.bincount(cell, minlength=cells))

    def _add(self, key: tuple[int, int], counts: IntArray) -> None:
        if key in self.packed:
            self.packed[key] += counts
        else:
            self.packed[key] = counts

    def counts(self, n_cells: int) -> IntArray:
        """The ``n_cells`` cell counts (at least the largest ``4 n_groups`` added)."""
        out = np.zeros(n_cells, dtype=np.int64)
        for (cells, k), packed in self.packed.items():
            table = packed.reshape((cells,) * k)
            for axis in range(k):  # bounded: k < 7
                out[:cells] += table.sum(axis=tuple(a for a in range(k) if a != axis))
        return out


def _numbers(values: Any, what: str) -> FloatArray:
    """``values`` as float64, or a :class:`CheckInputError` naming ``what`` (NumPy's own
    ValueError or TypeError said neither which argument nor what to do)."""
    array = column_array(values, what)
    if array.dtype.kind not in "iufb":
        raise CheckInputError(f"{what} must hold numbers, got dtype {array.dtype}")
    return array.astype(np.float64, copy=False)


def _divide(num: Any, den: Any) -> Any:
    """``num / den``, NaN where ``den`` is not positive (dividing by NaN warns of nothing)."""
    den = np.asarray(den, dtype=np.float64)
    return np.divide(np.asarray(num, dtype=np.float64), np.where(den > 0, den, np.nan))


def group_rates(table: npt.ArrayLike) -> dict[str, FloatArray]:
    """Per-group rates of a count table ``(..., G, 4)``; NaN where a rate is undefined.

    Keys: ``count``, ``n_positive``, ``n_negative``, ``selection_rate`` ((FP + TP) / n),
    ``true_positive_rate`` (TP / (TP + FN)), ``false_positive_rate`` (FP / (FP + TN)),
    ``precision`` (TP / (TP + FP)), ``accuracy`` ((TP + TN) / n).

    Raises
    ------
    CheckInputError
        When ``table`` is not numbers of shape ``(..., G, 4)`` with at least one group
        (ragged rows, text, a column more or less), or holds a count that is not a whole
        number of rows (negative, fractional, NaN or infinite): such a table gave rates
        outside [0, 1], a selection rate of 2.

    Examples
    --------
    >>> from modelship.checks.stats._fairness import group_rates
    >>> rates = group_rates([[5, 5, 0, 10]])
    >>> rates["true_positive_rate"].tolist(), rates["false_positive_rate"].tolist()
    ([1.0], [0.5])
    """
    t = _numbers(table, "table")
    if t.ndim < 2 or t.shape[-1] != 4 or t.shape[-2] == 0:
        raise CheckInputError(
            f"table must be counts of shape (..., G, 4) (true negatives, false positives, "
            f"false negatives, true positives per group, at least one group), got shape "
            f"{t.shape}; build it with confusion_table()"
        )
    # Counts of rows: finite, whole and not negative.
    bad = ~(np.isfinite(t) & (t >= 0) & (t == np.floor(t)))
    if bad.any():
        shown = list(dict.fromkeys(t[bad][:1000].tolist()))[:5]
        raise CheckInputError(
            f"table must hold counts of rows (whole numbers, 0 or more); got "
            f"{int(bad.sum())} other values such as {shown}; build it with confusion_table()"
        )
    return _rates(t)


def _rates(t: FloatArray) -> dict[str, FloatArray]:
    """:func:`group_rates` of a table already checked (or drawn by the bootstrap)."""
    tn, fp, fn, tp = t[..., 0], t[..., 1], t[..., 2], t[..., 3]
    n = tn + fp + fn + tp
    return {
        "count": n,
        "n_positive": tp + fn,
        "n_negative": tn + fp,
        "selection_rate": _divide(fp + tp, n),
        "true_positive_rate": _divide(tp, tp + fn),
        "false_positive_rate": _divide(fp, fp + tn),
        "precision": _divide(tp, tp + fp),
        "accuracy": _divide(tp + tn, n),
    }


def rate_counts(table: npt.ArrayLike) -> dict[str, tuple[IntArray, IntArray]]:
    """Each group rate's numerator and denominator ``(k, d)`` per group of a count table
    ``(G, 4)``: rows for ``selection_rate`` and ``accuracy``, positives for
    ``true_positive_rate``, negatives for ``false_positive_rate``, predicted positives for
    ``precision``. A rate of exactly 0 or 1 (``k`` is 0 or ``d``) on a small ``d`` has no
    spread in the stratified bootstrap, whatever its true value.

    Examples
    --------
    >>> from modelship.checks.stats._fairness import rate_counts
    >>> k, d = rate_counts([[5, 5, 0, 10]])["true_positive_rate"]
    >>> k.tolist(), d.tolist()
    ([10], [10])
    """
    t = np.asarray(table, dtype=np.int64)
    tn, fp, fn, tp = t[..., 0], t[..., 1], t[..., 2], t[..., 3]
    n = tn + fp + fn + tp
    return {
        "selection_rate": (fp + tp, n),
        "true_positive_rate": (tp, tp + fn),
        "false_positive_rate": (fp, fp + tn),
        "precision": (tp, tp + fp),
        "accuracy": (tp + tn, n),
    }


CLASSIFICATION_DISPARITIES: tuple[str, ...] = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "predictive_parity_difference",
    "disparate_impact",
)
"""Classification disparities: differences (0 = parity, larger is worse) and ratios
(1 = parity, smaller is worse)."""

REGRESSION_DISPARITIES: tuple[str, ...] = ("mean_prediction_difference", "mean_error_difference")
"""Regression disparities: max - min across groups of the mean prediction and mean error."""

# Which group rate each disparity reads, for naming the groups a disparity is undefined in.
RATES_USED: Mapping[str, tuple[str, ...]] = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "equalized_odds_difference": ("true_positive_rate", "false_positive_rate"),
    "equalized_odds_ratio": ("true_positive_rate", "false_positive_rate"),
    "equal_opportunity_difference": ("true_positive_rate",),
    "predictive_parity_difference": ("precision",),
    "disparate_impact": ("selection_rate",),
    "mean_prediction_difference": ("mean_prediction",),
    "mean_error_difference": ("mean_error",),
}


# The group rates the classification disparities read, in _disparities' argument order.
_DISPARITY_RATES = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision")


def _spread(rate: FloatArray) -> FloatArray:
    """max - min over the last axis; NaN if any group's rate is NaN."""
    return np.asarray(rate.max(axis=-1) - rate.min(axis=-1))


def _ratio(rate: FloatArray) -> FloatArray:
    """min / max over the last axis; 1 when every group is at 0; NaN if any rate is NaN."""
    low, high = rate.min(axis=-1), rate.max(axis=-1)
    out = _divide(low, high)
    return np.asarray(np.where(high == 0, 1.0, out))


@validate_params(reference=(None, Interval(int, 0, None)))
def disparities(
    rates: Mapping[str, FloatArray], *, reference: int | None = None
) -> dict[str, FloatArray]:
    """Every classification disparity of :func:`group_rates` output (any leading axes).

    * ``demographic_parity_difference = max_g SR_g - min_g SR_g`` (selection rate)
    * ``demographic_parity_ratio = min_g SR_g / max_g SR_g``
    * ``equalized_odds_difference = max(TPR spread, FPR spread)``
    * ``equalized_odds_ratio = min(TPR ratio, FPR ratio)``
    * ``equal_opportunity_difference = max_g TPR_g - min_g TPR_g``
    * ``predictive_parity_difference = max_g PPV_g - min_g PPV_g`` (precision)
    * ``disparate_impact = min_{g != r} SR_g / SR_r`` with reference group ``r``
      (AIF360's privileged group), or ``min_g SR_g / max_g SR_g`` without one.

    A ratio whose denominator is 0 is 1 when the numerator is 0 too (nobody selected in
    any group), else NaN; any NaN rate makes the disparities that read it NaN.

    Raises
    ------
    CheckInputError
        When ``rates`` is not a mapping (such as a dict) or lacks one of
        ``selection_rate``, ``true_positive_rate``, ``false_positive_rate``,
        ``precision``, or they are not numbers of one shape
        ``(..., G)`` with at least one group, or a rate is outside [0, 1] (NaN, an
        undefined rate, is allowed).
    ConfigError
        When ``reference`` is not the index of one of the ``G`` groups.

    Examples
    --------
    >>> from modelship.checks.stats._fairness import disparities, group_rates
    >>> d = disparities(group_rates([[40, 10, 10, 40], [45, 5, 30, 20]]))
    >>> round(float(d["demographic_parity_difference"]), 3), float(d["equalized_odds_difference"])
    (0.25, 0.4)
    """
    needed = _DISPARITY_RATES
    if not isinstance(rates, Mapping):
        raise CheckInputError(
            f"rates must be a mapping of rate name to per-group rates, got "
            f"{type(rates).__name__}; pass the output of group_rates()"
        )
    missing = [name for name in needed if name not in rates]
    if missing:
        raise CheckInputError(
            f"rates lacks {missing}; pass the output of group_rates() (it has {list(needed)})"
        )
    sr, tpr, fpr, ppv = (_numbers(rates[name], f"rates[{name!r}]") for name in needed)
    if sr.ndim < 1 or any(rate.shape != sr.shape for rate in (tpr, fpr, ppv)):
        shapes = {name: np.shape(rates[name]) for name in needed}
        raise CheckInputError(
            f"rates must hold one rate per group, all of one shape (..., G); got {shapes}"
        )
    if sr.shape[-1] == 0:
        raise CheckInputError(
            f"rates hold no group (shape {sr.shape}): a disparity compares groups; pass "
            "the group_rates() of a table with at least one group"
        )
    for name, rate in zip(needed, (sr, tpr, fpr, ppv), strict=True):
        outside = (rate < 0) | (rate > 1)  # NaN, an undefined rate, is neither
        if outside.any():
            shown = list(dict.fromkeys(rate[outside][:1000].tolist()))[:5]
            raise CheckInputError(
                f"rates[{name!r}] must be shares in [0, 1] (NaN where undefined); got "
                f"{int(outside.sum())} other values such as {shown}: pass the output of "
                "group_rates()"
            )
    _check_reference(reference, sr.shape[-1])
    return _disparities(sr, tpr, fpr, ppv, reference)


def _check_reference(reference: int | None, n_groups: int) -> None:
    if reference is not None and reference >= n_groups:
        raise ConfigError(
            f"reference={reference} is not a group: there are {n_groups} groups, "
            f"indexed 0 to {n_groups - 1}"
        )


def _disparities(
    sr: FloatArray, tpr: FloatArray, fpr: FloatArray, ppv: FloatArray, reference: int | None
) -> dict[str, FloatArray]:
    """:func:`disparities` of rates already checked (or of bootstrap tables' rates)."""
    if reference is None:
        impact = _ratio(sr)
    else:
        others = np.delete(sr, reference, axis=-1)
        ref = sr[..., reference : reference + 1]
        impact = np.where(
            ref[..., 0] == 0,
            np.where(others.max(axis=-1) == 0, 1.0, np.nan),
            _divide(others, ref).min(axis=-1),
        )
    return {
        "demographic_parity_difference": _spread(sr),
        "demographic_parity_ratio": _ratio(sr),
        "equalized_odds_difference": np.maximum(_spread(tpr), _spread(fpr)),
        "equalized_odds_ratio": np.minimum(_ratio(tpr), _ratio(fpr)),
        "equal_opportunity_difference": _spread(tpr),
        "predictive_parity_difference": _spread(ppv),
        "disparate_impact": np.asarray(impact),
    }


def bootstrap_tables(table: npt.ArrayLike, n_resamples: int, rng: np.random.Generator) -> IntArray:
    """Stratified bootstrap of a count table ``(G, 4)``: ``(n_resamples, G, 4)`` tables.

    Each group keeps its size; its cells are drawn ``Multinomial(n_g, counts_g / n_g)``,
    the distribution of the cell counts of ``n_g`` rows drawn with replacement from that
    group. One vectorised call, no loop over resamples.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import bootstrap_tables
    >>> tables = bootstrap_tables([[5, 5, 0, 10], [1, 2, 3, 4]], 200, np.random.default_rng(0))
    >>> tables.shape, tables.sum(axis=2).min(axis=0).tolist()
    ((200, 2, 4), [20, 10])
    """
    counts = np.asarray(table, dtype=np.int64)
    sizes = counts.sum(axis=1)
    pvals = counts / np.maximum(sizes, 1)[:, None]
    draws = rng.multinomial(sizes, pvals, size=(n_resamples, len(sizes)))
    return draws.astype(np.int64, copy=False)


# Resample x group pairs drawn and reduced at once by bootstrap_disparities and
# bootstrap_regression_disparities. At the peak a pair holds 144 bytes (its four drawn
# counts, them as floats, eight rates; tracemalloc, 1,000 x 1,000 pairs), so a chunk
# stays under 40 MB whatever the number of groups, where 1,000 resamples of 10,000
# groups drawn at once held 1.5 GB. Up to 262 groups, 1,000 resamples are one chunk.
_BOOTSTRAP_PAIRS = 1 << 18


def _resample_chunks(n_resamples: int, n_groups: int) -> list[int]:
    """Resamples per chunk: at most ``_BOOTSTRAP_PAIRS`` resample x group pairs each."""
    per = max(1, _BOOTSTRAP_PAIRS // max(n_groups, 1))
    return [min(per, n_resamples - start) for start in range(0, n_resamples, per)]


@validate_params(n_resamples=Interval(int, 1, None), reference=(None, Interval(int, 0, None)))
def bootstrap_disparities(
    table: npt.ArrayLike,
    n_resamples: int,
    rng: np.random.Generator,
    *,
    reference: int | None = None,
) -> dict[str, FloatArray]:
    """Every classification disparity of ``n_resamples`` stratified bootstrap tables.

    Returns :func:`disparities` of :func:`group_rates` of :func:`bootstrap_tables`,
    ``(n_resamples,)`` each, equal to them bit for bit and leaving ``rng`` in the same
    state, but drawn in chunks of resamples: memory stays under 40 MB whatever the number
    of groups (the tables and rates of all resamples at once take 144 bytes per resample
    and group, 1.4 GB for 1,000 resamples of 10,000 groups).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats import _fairness as sf
    >>> table = [[40, 10, 10, 40], [45, 5, 30, 20]]
    >>> boot = sf.bootstrap_disparities(table, 300, np.random.default_rng(0))
    >>> whole = sf.disparities(sf.group_rates(sf.bootstrap_tables(table, 300,
    ...                                                           np.random.default_rng(0))))
    >>> boot["equalized_odds_difference"].shape, all(
    ...     np.array_equal(boot[k], whole[k], equal_nan=True) for k in whole)
    ((300,), True)
    """
    counts = np.asarray(table, dtype=np.int64)
    _check_reference(reference, len(counts))
    parts = []
    for size in _resample_chunks(n_resamples, len(counts)):
        # Drawn tables are counts and their rates shares: nothing to check per chunk.
        rates = _rates(bootstrap_tables(counts, size, rng).astype(np.float64))
        sr, tpr, fpr, ppv = (rates[name] for name in _DISPARITY_RATES)
        parts.append(_disparities(sr, tpr, fpr, ppv, reference))
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def regression_table(
    codes: npt.NDArray[np.intp], n_groups: int, y_true: npt.ArrayLike, y_pred: npt.ArrayLike
) -> FloatArray:
    """Per-group sums ``(G, 7)``, additive over groups (marginals are sums of rows).

    Columns: ``n``, ``sum pred``, ``sum (pred - c)^2``, ``sum err``, ``sum (err - d)^2``,
    ``n c``, ``n d``, with ``err = y_pred - y_true`` and ``c``, ``d`` the overall means of
    ``pred`` and ``err``. The squares are taken about those centres because ``sum pred^2
    - n mean^2`` cancels every digit of the spread when the values share a large offset
    (prices in cents, epoch seconds); the centre times ``n`` keeps each row self-contained
    for :func:`bootstrap_regression`.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import regression_table
    >>> codes, y, pred = np.array([0, 0, 1]), np.array([0., 4., 2.]), np.array([1., 3., 2.])
    >>> regression_table(codes, 2, y, pred).tolist()
    [[2.0, 4.0, 2.0, 0.0, 2.0, 4.0, 0.0], [1.0, 2.0, 0.0, 0.0, 0.0, 2.0, 0.0]]
    """
    pred = np.asarray(y_pred, dtype=np.float64)
    err = pred - np.asarray(y_true, dtype=np.float64)
    count = np.bincount(codes, minlength=n_groups).astype(np.float64)

    def sums(values: FloatArray) -> tuple[FloatArray, FloatArray, float]:
        centre = float(values.mean()) if len(values) else 0.0
        deviation = values - centre
        total = np.bincount(codes, weights=values, minlength=n_groups).astype(np.float64)
        squares = np.bincount(codes, weights=deviation * deviation, minlength=n_groups)
        return total, squares.astype(np.float64), centre

    pred_sum, pred_squares, pred_centre = sums(pred)
    err_sum, err_squares, err_centre = sums(err)
    return np.column_stack(
        [
            count,
            pred_sum,
            pred_squares,
            err_sum,
            err_squares,
            count * pred_centre,
            count * err_centre,
        ]
    )


def regression_means(table: npt.ArrayLike) -> dict[str, FloatArray]:
    """``count``, ``mean_prediction`` and ``mean_error`` per group of a regression table.

    Examples
    --------
    >>> from modelship.checks.stats._fairness import regression_means
    >>> regression_means([[2.0, 5.0, 4.5, 2.0, 4.0, 0.0, 0.0]])["mean_error"].tolist()
    [1.0]
    """
    t = np.asarray(table, dtype=np.float64)
    return {
        "count": t[..., 0],
        "mean_prediction": _divide(t[..., 1], t[..., 0]),
        "mean_error": _divide(t[..., 3], t[..., 0]),
    }


def regression_disparities(means: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    """``mean_prediction_difference`` and ``mean_error_difference``: max - min over groups.

    Examples
    --------
    >>> from modelship.checks.stats._fairness import regression_disparities
    >>> import numpy as np
    >>> d = regression_disparities({"mean_prediction": np.array([1.0, 3.0]),
    ...                             "mean_error": np.array([0.5, -0.5])})
    >>> float(d["mean_prediction_difference"]), float(d["mean_error_difference"])
    (2.0, 1.0)
    """
    return {
        "mean_prediction_difference": _spread(means["mean_prediction"]),
        "mean_error_difference": _spread(means["mean_error"]),
    }


def bootstrap_regression(
    table: npt.ArrayLike, n_resamples: int, rng: np.random.Generator
) -> dict[str, FloatArray]:
    """Resampled group means ``(n_resamples, G)``: each group's mean prediction and mean
    error drawn jointly normal with their sample (co)variances divided by ``n_g``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._fairness import bootstrap_regression
    >>> table = [[100.0, 50.0, 35.0, 0.0, 10.0, 0.0, 0.0]]
    >>> draws = bootstrap_regression(table, 500, np.random.default_rng(0))
    >>> draws["mean_prediction"].shape
    (500, 1)
    """
    n, normals = _mean_normals(table)
    z = rng.standard_normal((2, n_resamples, len(n)))
    (mean_p, sd_p), (mean_e, sd_e) = normals["mean_prediction"], normals["mean_error"]
    return {
        "count": np.broadcast_to(n, (n_resamples, len(n))),
        "mean_prediction": mean_p + sd_p * z[0],
        "mean_error": mean_e + sd_e * z[1],
    }


def _mean_normals(
    table: npt.ArrayLike,
) -> tuple[FloatArray, dict[str, tuple[FloatArray, FloatArray]]]:
    """Group sizes, and each mean's ``(mean, standard error)`` per group, in the order
    :func:`bootstrap_regression` draws them."""
    t = np.asarray(table, dtype=np.float64)
    n = t[:, 0]
    mean_p, mean_e = t[:, 1] / n, t[:, 3] / n
    # Second moments about the table's centres (see regression_table): shift-invariant.
    var_p = np.maximum(t[:, 2] / n - (mean_p - t[:, 5] / n) ** 2, 0.0) / n
    var_e = np.maximum(t[:, 4] / n - (mean_e - t[:, 6] / n) ** 2, 0.0) / n
    # Each mean alone is what the disparities read, so the two are drawn independently.
    return n, {
        "mean_prediction": (mean_p, np.sqrt(var_p)),
        "mean_error": (mean_e, np.sqrt(var_e)),
    }


@validate_params(n_resamples=Interval(int, 1, None))
def bootstrap_regression_disparities(
    table: npt.ArrayLike, n_resamples: int, rng: np.random.Generator
) -> dict[str, FloatArray]:
    """:func:`regression_disparities` of :func:`bootstrap_regression`, ``(n_resamples,)``
    each, equal to them bit for bit and leaving ``rng`` in the same state, drawn in
    chunks of resamples so that memory stays bounded whatever the number of groups.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats import _fairness as sf
    >>> table = [[100.0, 50.0, 35.0, 0.0, 10.0, 0.0, 0.0], [50.0, 30.0, 20.0, 5.0, 9.0, 0.0, 0.0]]
    >>> boot = sf.bootstrap_regression_disparities(table, 200, np.random.default_rng(0))
    >>> whole = sf.regression_disparities(sf.bootstrap_regression(table, 200,
    ...                                                           np.random.default_rng(0)))
    >>> all(np.array_equal(boot[k], whole[k]) for k in whole)
    True
    """
    n, normals = _mean_normals(table)
    chunks = _resample_chunks(n_resamples, len(n))
    # bootstrap_regression draws every mean_prediction normal, then every mean_error one.
    return {
        f"{name}_difference": np.concatenate(
            [_spread(mean + sd * rng.standard_normal((size, len(n)))) for size in chunks]
        )
        for name, (mean, sd) in normals.items()
    }


@attrs.frozen
class DisparityEstimate:
    """A disparity's point estimate and its percentile bootstrap interval.

    The interval always holds the estimate: near parity the bootstrap distribution of a
    ``max - min`` lies above the estimate, and its lower end is then the estimate.

    ``n_undefined`` resamples gave no value (a group drew no positives) and are left out
    of the interval; ``ci_low``/``ci_high`` are NaN when no resample gave one.

    Examples
    --------
    >>> from modelship.checks.stats._fairness import DisparityEstimate
    >>> DisparityEstimate("demographic_parity_difference", 0.1, 0.05, 0.15, 0).value
    0.1
    """

    name: str
    value: float
    ci_low: float
    ci_high: float
    n_undefined: int


@validate_params(confidence=Interval(float, 0, 1, closed="neither"))
def estimate_disparities(
    point: Mapping[str, FloatArray],
    resampled: Mapping[str, FloatArray],
    *,
    confidence: float,
) -> dict[str, DisparityEstimate]:
    """Pair each point disparity with the percentile interval of its resamples.

    Raises
    ------
    CheckInputError
        When ``point`` or ``resampled`` is not a mapping (such as a dict), they do not
        name the same disparities, a point value is not one number, or a resampled value
        is not numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats import _fairness as sf
    >>> table = np.array([[400, 100, 100, 400], [450, 50, 300, 200]])
    >>> rng = np.random.default_rng(0)
    >>> boot = sf.disparities(sf.group_rates(sf.bootstrap_tables(table, 1000, rng)))
    >>> est = sf.estimate_disparities(sf.disparities(sf.group_rates(table)), boot,
    ...                               confidence=0.95)
    >>> e = est["demographic_parity_difference"]
    >>> round(e.value, 2), e.ci_low < e.value < e.ci_high
    (0.25, True)
    """
    for what, argument in (("point", point), ("resampled", resampled)):
        if not isinstance(argument, Mapping):
            raise CheckInputError(
                f"{what} must be a mapping of disparity name to values, got "
                f"{type(argument).__name__}; pass the output of disparities()"
            )
    tail = (1.0 - confidence) / 2.0
    names = list(point)
    if set(names) != set(resampled):
        # Sorted by repr: names of several types (a str, an int) do not compare.
        raise CheckInputError(
            f"point and resampled must name the same disparities; only in point: "
            f"{sorted(set(names) - set(resampled), key=repr)}, only in resampled: "
            f"{sorted(set(resampled) - set(names), key=repr)}"
        )
    values = {name: _numbers(point[name], f"point[{name!r}]") for name in names}
    for name, given in values.items():
        if given.size != 1:
            raise CheckInputError(f"point[{name!r}] must be one number, got shape {given.shape}")
    # All disparities at once: sort each one's draws (NaN, an undefined draw, sorts last)
    # and interpolate linearly between order statistics, as np.quantile does.
    resamples = [_numbers(resampled[name], f"resampled[{name!r}]").reshape(-1) for name in names]
    if len({len(draws) for draws in resamples}) > 1:
        counts = {name: len(draws) for name, draws in zip(names, resamples, strict=True)}
        raise CheckInputError(f"resampled must hold as many draws of each disparity: {counts}")
    draws = np.stack(resamples) if resamples else np.empty((0, 0))
    draws[~np.isfinite(draws)] = np.nan
    ordered = np.sort(draws, axis=1)
    n_defined = np.count_nonzero(~np.isnan(draws), axis=1)
    bounds = np.full((len(names), 2), np.nan)
    rows = np.flatnonzero(n_defined)
    for j, q in enumerate((tail, 1.0 - tail)):
        position = q * (n_defined[rows] - 1)
        below = np.floor(position).astype(np.intp)
        above = np.minimum(below + 1, n_defined[rows] - 1)
        low_value, high_value = ordered[rows, below], ordered[rows, above]
        bounds[rows, j] = low_value + (high_value - low_value) * (position - below)
    out = {}
    for i, name in enumerate(names):
        value = float(values[name].reshape(-1)[0])
        low, high = float(bounds[i, 0]), float(bounds[i, 1])
        if math.isfinite(value) and n_defined[i]:
            # Near parity the resampled max - min sits above the estimate (the spread of
            # noisy rates is biased upward); the interval is widened to hold the estimate.
            low, high = min(low, float(value)), max(high, float(value))
        n_undefined = int(draws.shape[1] - n_defined[i])
        out[name] = DisparityEstimate(name, value, low, high, n_undefined)
    return out
