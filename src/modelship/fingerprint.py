"""``fingerprint``: a stable content hash of data, to version data beside code.

The same content gives the same fingerprint in every process, on every machine, with
numpy 1.26 or 2.x: the hash covers what the data is (dtype, shape, values, column names),
never how Python happens to pickle it.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelship.errors import ConfigError

__all__ = ["fingerprint"]

_CHUNK = 8 * 2**20


def _feed_array(h: Any, arr: np.ndarray[Any, Any]) -> None:
    if arr.dtype.hasobject:
        h.update(b"object")
        h.update(repr(arr.shape).encode())
        for item in arr.ravel(order="C"):
            if item is None or (isinstance(item, float) and math.isnan(item)):
                h.update(b"\x00N")
                continue
            if not isinstance(item, (str, bytes, int, float, bool)):
                raise ConfigError(
                    f"cannot fingerprint an object array holding {type(item).__name__}; "
                    "convert it to strings or numbers first"
                )
            text = repr(item).encode()
            h.update(len(text).to_bytes(8, "little"))
            h.update(text)
        return
    h.update(arr.dtype.str.encode())
    if arr.dtype.names:
        h.update(repr(arr.dtype.descr).encode())
    h.update(repr(arr.shape).encode())
    flat = arr.reshape(-1) if arr.flags.c_contiguous else None
    if flat is not None:
        raw: Any = flat.view(np.uint8) if flat.dtype.names is None else flat.tobytes()
        view = memoryview(raw)
        for start in range(0, len(view), _CHUNK):
            h.update(view[start : start + _CHUNK])
        return
    # Not contiguous: hash a block of rows at a time, never a full copy.
    rows = max(1, _CHUNK // max(1, arr[0:1].nbytes)) if arr.ndim and arr.shape[0] else 1
    for start in range(0, arr.shape[0] if arr.ndim else 1, rows):
        h.update(np.ascontiguousarray(arr[start : start + rows]).tobytes())


def _feed_columns(h: Any, columns: list[tuple[str, Any]]) -> None:
    h.update(b"table")
    h.update(len(columns).to_bytes(8, "little"))
    for name, values in columns:
        encoded = str(name).encode()
        h.update(len(encoded).to_bytes(8, "little"))
        h.update(encoded)
        _feed_array(h, np.asarray(values))


def _file_digest(fs: Any, path: str) -> str:
    h = hashlib.sha256()
    with fs.open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _path_fingerprint(location: str) -> str:
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(location)
    if fs.isfile(path):
        return "sha256:" + _file_digest(fs, path)
    if fs.isdir(path):
        h = hashlib.sha256(b"folder")
        base = path.rstrip("/")
        for file in sorted(fs.find(path)):
            rel = file[len(base) :].lstrip("/")
            h.update(rel.encode() + b"\x00" + _file_digest(fs, file).encode() + b"\n")
        return "sha256:" + h.hexdigest()
    raise ConfigError(f"cannot fingerprint {location!r}: no file or folder is there")


def fingerprint(data: Any) -> str:
    """A stable ``"sha256:<hex>"`` fingerprint of an array, a table, a file or a folder.

    Accepted: numpy arrays (incl. structured), ``bytes``, a mapping of column name to
    1-D array, a data frame (pandas or polars, by duck typing: ``.columns`` plus column
    access), and a path or fsspec URL of a file (its fingerprint is ``sha256sum`` of the
    file) or a folder (every file's relative path and hash, in sorted order).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(6).reshape(2, 3)
    >>> fingerprint(a) == fingerprint(a.copy(order="F"))
    True
    >>> fingerprint(a) == fingerprint(a.astype("float64"))
    False
    >>> fingerprint({"x": [1, 2]}) == fingerprint({"x": np.array([1, 2])})
    True
    """
    if isinstance(data, (str, os.PathLike)):
        return _path_fingerprint(os.fspath(data))
    h = hashlib.sha256()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(data).hexdigest()
    if isinstance(data, np.ndarray):
        h.update(b"array")
        _feed_array(h, data)
    elif isinstance(data, Mapping):
        _feed_columns(h, [(str(k), v) for k, v in data.items()])
    elif hasattr(data, "columns") and hasattr(data, "__getitem__"):
        columns = [str(c) for c in data.columns]
        values = []
        for c in columns:
            col = data[c]
            values.append((c, col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col)))
        _feed_columns(h, values)
    elif isinstance(data, (list, tuple)):
        h.update(b"array")
        _feed_array(h, np.asarray(data))
    else:
        raise ConfigError(
            f"cannot fingerprint a {type(data).__name__}: pass an array, a mapping of columns, "
            "a data frame, bytes, or a path/URL"
        )
    return "sha256:" + h.hexdigest()
