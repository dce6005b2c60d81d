"""Named columns from whatever a user holds: the one place that knows each data library.

Shared by the checks (:mod:`modelship.checks`) and :func:`modelship.fingerprint`, so that
every place that takes data accepts the same inputs under the same column names:

- a mapping of name to 1-D values; a NumPy structured array (its field names);
- a pandas or polars data frame (``.columns`` and ``frame[name]``);
- a polars LazyFrame, collected first (its query runs);
- a pandas or polars Series with a name: one column under that name (an unnamed Series
  is a plain array);
- a pyarrow Table or RecordBatch (``.column_names`` and ``.column(name)``).

Duck typing only: nothing here imports pandas, polars or pyarrow. This module is a leaf:
it imports nothing from modelship.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["column_array", "named_items", "series_name"]


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


def named_items(data: Any) -> list[tuple[str, Any]] | None:  # noqa: PLR0911 - one return per supported input library (polars, pandas, pyarrow, mapping, ...)
    """``(name, column)`` pairs of a named input, or ``None`` for a plain array.

    Examples
    --------
    >>> named_items({"age": [31, 45], 7: [1, 2]})
    [('age', [31, 45]), ('7', [1, 2])]
    >>> named_items([1, 2]) is None
    True
    """
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
        return [(str(name), data.column(name)) for name in data.column_names]
    if hasattr(data, "columns") and hasattr(data, "__getitem__"):  # pandas, polars
        return [(str(name), data[name]) for name in list(data.columns)]
    return None


def column_array(value: Any) -> NDArray[Any]:
    """One column (a list, an array, a Series, an arrow array) as a NumPy array.

    Examples
    --------
    >>> column_array([1, 2]).dtype.kind
    'i'
    """
    if type(value).__module__.startswith("pyarrow"):  # an Array may need a copy (strings)
        return np.asarray(value.to_numpy(zero_copy_only=False))
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
