"""``fingerprint``: a stable content hash of data, to version data beside code.

The same content gives the same fingerprint in every process, on every machine, with
numpy 1.26 or 2.x: the hash covers what the data is (dtype, shape, values, column names),
never how Python happens to pickle it.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import math
import os
from typing import Any
from urllib.parse import unquote

import numpy as np

from modelship._columns import column_array, named_items
from modelship._endpoints import with_s3_endpoint, without_localhost
from modelship._hashing import CHUNK, hash_stream
from modelship._shown import hide_credentials
from modelship.errors import ConfigError, MissingDependency, ModelshipError, StoreError

__all__ = ["data_fingerprint", "fingerprint"]


# The types of pandas' missing values (``pd.NA``, ``pd.NaT``), by name: pandas is not
# imported. ``pd.NaT`` is a ``datetime``, so it is looked for first.
_MISSING_TYPES = frozenset({"NAType", "NaTType"})


def _cell_text(item: Any) -> bytes | None:
    """The text an object array's cell is hashed as; ``None`` for one it cannot hash.

    Strings, bytes and numbers are their ``repr``. A ``datetime`` (a pandas ``Timestamp``
    too) is ``datetime('<ISO 8601>')``: one with a time zone in UTC, with its ``+00:00``,
    so the same instant hashes alike in every zone; one without, as it is written, so a
    naive time never hashes as an aware one. A ``date`` is ``date('<ISO 8601>')``. No
    ``repr`` of a string starts that way, so none hashes as a time.
    """
    if isinstance(item, _FineTime):
        return f"datetime({str(item)!r})".encode()
    if isinstance(item, (str, bytes, int, float)):  # bool is an int
        return repr(item).encode()
    if isinstance(item, datetime.datetime):
        try:
            # Within a day of the years 1 or 9999 (a "valid to" of datetime.max in New
            # York), UTC is beyond datetime's range: hashed with its own offset, as written.
            if item.utcoffset() is not None:
                with contextlib.suppress(OverflowError):
                    item = item.astimezone(datetime.timezone.utc)
            return f"datetime({item.isoformat()!r})".encode()
        except Exception:  # a tzinfo whose utcoffset() raises: its time cannot be read
            return None
    if isinstance(item, datetime.date):
        return f"date({item.isoformat()!r})".encode()
    return None


def _datetime64_item(cell: np.generic) -> Any:
    """The Python value a NumPy scalar cell is hashed as. A ``datetime64`` is the
    ``datetime`` it holds (``None`` for NaT), never the integer of its unit that
    ``item()`` gives for nanoseconds (which would hash as that number, and one instant
    differently by its unit); one finer than a microsecond is its NumPy ISO text, kept
    apart from every ``datetime``. A ``timedelta64`` is refused (as a ``timedelta`` is)."""
    if isinstance(cell, np.datetime64):
        if np.isnat(cell):
            return None
        micro = cell.astype("datetime64[us]")
        value = micro.item()
        if micro == cell and isinstance(value, datetime.datetime | datetime.date):
            return value
        return _FineTime(str(np.datetime_as_string(cell)))
    if isinstance(cell, np.timedelta64):
        return cell  # no text: refused, naming the column
    return cell.item()


class _FineTime(str):
    """A ``datetime64`` finer than ``datetime`` holds, by its ISO text."""


def _feed_array(h: Any, arr: np.ndarray[Any, Any], what: str) -> None:
    if arr.dtype.hasobject:
        h.update(b"object")
        h.update(repr(arr.shape).encode())
        for cell in arr.ravel(order="C"):
            # A NumPy scalar is hashed as the Python value it holds: its repr is
            # "np.float64(1.5)" under NumPy 2 and "1.5" under 1.26, and a column filled
            # from NumPy values holds the same data as one typed in.
            item = _datetime64_item(cell) if isinstance(cell, np.generic) else cell
            if (
                item is None
                or (isinstance(item, float) and math.isnan(item))
                or type(item).__name__ in _MISSING_TYPES
            ):
                h.update(b"\x00N")
                continue
            text = _cell_text(item)
            if text is None:
                raise ConfigError(
                    f"cannot fingerprint {what}: it holds a value of type "
                    f"{type(item).__name__} ({_shown(item)}); only strings, bytes, numbers, "
                    "dates and times, and missing values can be; convert it to strings or "
                    "numbers first (for pandas: .astype(str)), or leave it out"
                )
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
        for start in range(0, len(view), CHUNK):
            h.update(view[start : start + CHUNK])
        return
    # Not contiguous: hash a block of rows at a time, never a full copy.
    rows = max(1, CHUNK // max(1, arr[0:1].nbytes)) if arr.ndim and arr.shape[0] else 1
    for start in range(0, arr.shape[0] if arr.ndim else 1, rows):
        h.update(np.ascontiguousarray(arr[start : start + rows]).tobytes())


def _shown(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


# A refused value is shown up to this many characters: enough for an Interval or a Decimal.
_SHOWN_CHARS = 60


def _feed_columns(h: Any, columns: list[tuple[str, Any]], what: str) -> None:
    h.update(b"table")
    h.update(len(columns).to_bytes(8, "little"))
    for name, values in columns:
        encoded = str(name).encode()
        h.update(len(encoded).to_bytes(8, "little"))
        h.update(encoded)
        _feed_array(h, column_array(values), f"{what}, column {name!r}")


def _file_digest(fs: Any, path: str) -> str:
    with fs.open(path, "rb") as f:
        return hash_stream(f)[0]


def _credentials_of(location: str) -> list[str]:
    """The secrets in ``location``'s user information (the whole of it, the password,
    each also percent-decoded), longest first; none for a location without any. Read as
    :func:`hide_credentials` reads a URL, so what it masks in the URL is what is masked
    in the text of an error about it."""
    shown = hide_credentials(location)
    start = location.find("://") + 3
    if shown == location or start < 3 or shown[start : start + 3] != "***":
        return []
    end = len(location) - (len(shown) - start - 3)
    userinfo = location[start:end]
    pieces = [userinfo]
    if ":" in userinfo:
        pieces.append(userinfo.split(":", 1)[1])
    pieces += [unquote(piece) for piece in pieces]
    return sorted({piece for piece in pieces if piece}, key=len, reverse=True)


def _shown_without_credentials(text: str, location: str) -> str:
    """``text`` (an error's, which may repeat ``location`` or parts of it, such as
    ``user:password@host`` without the scheme) with the credentials of ``location``
    masked, and those of every URL in it."""
    text = hide_credentials(text)
    for secret in _credentials_of(location):
        # A short one (a password "e") would mask letters all over the message ("Cannot
        # conn***ct"): masked only where a URL's user information ends, before "@".
        if len(secret) >= _MASK_ANYWHERE:
            text = text.replace(secret, "***")
        else:
            text = text.replace(secret + "@", "***@")
    return text


# Secrets at least this long are masked wherever an error's text repeats them.
_MASK_ANYWHERE = 4


def _path_fingerprint(location: str) -> str:
    """The fingerprint of the file or folder at ``location``; a storage failure (no
    credentials, an unreachable endpoint) is a :class:`StoreError` naming it.

    No error shows the password or token of a URL, neither in the URL nor in the text of
    the storage library's exception it wraps; for a URL with credentials, that exception
    is neither its cause nor its context (a traceback would print its text)."""
    shown = hide_credentials(location)
    error: ModelshipError
    cause: Exception
    try:
        return _read_fingerprint(location, shown)
    except (ModelshipError, MemoryError):
        raise
    except ImportError as exc:
        cause = exc
        error = MissingDependency(
            f"fingerprinting {shown!r} needs the package for its storage "
            f"({_shown_without_credentials(str(exc), location)}); for s3:// install "
            "modelship[s3]"
        )
    except Exception as exc:  # OSError, botocore's and aiohttp's errors, ...
        cause = exc
        text = " ".join(_shown_without_credentials(str(exc), location).split())[:300]
        error = StoreError(
            f"cannot fingerprint {shown!r}: {type(exc).__name__}: {text}; check the path, "
            "the credentials and the endpoint"
        )
    # Raised here, past the except clauses, so that the storage library's exception is
    # not chained as its context either.
    if _credentials_of(location):
        raise error
    raise error from cause


def _read_fingerprint(location: str, shown: str) -> str:
    from fsspec.core import url_to_fs

    location = without_localhost(location)  # file://localhost/abs is /abs (RFC 8089)
    fs, path = url_to_fs(location, **with_s3_endpoint(location, {}))
    if fs.isfile(path):
        return "sha256:" + _file_digest(fs, path)
    if fs.isdir(path):
        h = hashlib.sha256(b"folder")
        base = path.rstrip("/")
        for file in sorted(fs.find(path)):
            rel = file[len(base) :].lstrip("/")
            h.update(rel.encode() + b"\x00" + _file_digest(fs, file).encode() + b"\n")
        return "sha256:" + h.hexdigest()
    raise ConfigError(f"cannot fingerprint {shown!r}: no file or folder is there")


def fingerprint(data: Any) -> str:
    """A stable ``"sha256:<hex>"`` fingerprint of an array, a table, a file or a folder.

    Accepted: everything the checks accept as data, under the same column names, and
    files and bytes:

    - NumPy arrays (incl. structured), lists and tuples, ``bytes``;
    - a mapping of column name to 1-D values; a pandas or polars data frame; a pyarrow
      Table or RecordBatch (by duck typing: neither library is imported);
    - a pandas or polars Series: with a name, one column under that name (so
      ``fingerprint(df["y"]) == fingerprint(df[["y"]])``); without one, a plain array;
    - a polars LazyFrame: collected first, as the checks do, so its query runs and reads
      its data (fingerprint a ``scan_parquet`` source file's path instead: cheaper, and
      unchanged however it is read);
    - a path or fsspec URL of a file (its fingerprint is ``sha256sum`` of the file) or a
      folder (every file's relative path and hash, in sorted order).

    A table's fingerprint covers its column names in order, and each column's NumPy
    dtype, shape and values as the library converts it (``to_numpy``). So the same table
    held as a dict, a pandas, a polars or a pyarrow table has the same fingerprint when
    the columns convert to the same NumPy arrays: numbers of the same width and strings,
    without missing values. A missing value may convert differently in each library (a
    null in an integer arrow column becomes a float NaN, in pandas ``Int64`` a ``NA``
    object), and then the fingerprints differ: compare fingerprints of one library's
    tables, or of files.

    In an object column (pandas text, nullable booleans, time-zoned times), ``None``,
    ``NaN``, ``pd.NA`` and ``NaT`` are all one missing value, so a ``string`` column with
    ``NA`` has the fingerprint of the same strings with ``None``. A ``datetime`` or pandas
    ``Timestamp`` is hashed as ``datetime('<ISO 8601>')``: with a time zone, converted to
    UTC (``+00:00``), so an instant has one fingerprint in every zone; without one, as
    written, so a naive time never hashes as an aware one. A ``date`` is
    ``date('<ISO 8601>')``. No string hashes as a time.

    Raises
    ------
    ConfigError
        For a type it cannot fingerprint, an object column holding something other than
        strings, bytes, numbers, dates and times (a pandas ``Interval``: convert the column
        with ``.astype(str)``), naming the column, or a path where nothing is.
    CheckInputError
        For a column that cannot be read as an array (rows of lists of different lengths).
    StoreError
        When the storage of a path or URL fails (no credentials, an unreachable endpoint).
    MissingDependency
        For a URL whose storage package is not installed (s3fs for ``s3://``).

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
    >>> fingerprint(object())
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: cannot fingerprint a object: pass an array, ...
    """
    return data_fingerprint(data, "data")


def data_fingerprint(data: Any, what: str) -> str:
    """:func:`fingerprint` of ``data``, whose errors call it ``what`` (``data['train']``).

    Examples
    --------
    >>> data_fingerprint({"x": [1]}, "data['train']") == fingerprint({"x": [1]})
    True
    >>> data_fingerprint({"x": [{1}]}, "data['train']")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: cannot fingerprint data['train'], column 'x': it holds ...
    """
    if isinstance(data, (str, os.PathLike)):
        return _path_fingerprint(os.fspath(data))
    if isinstance(data, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(data).hexdigest()
    h = hashlib.sha256()
    # A structured array is hashed whole (dtype and all), as it always was.
    columns = None if isinstance(data, np.ndarray) else named_items(data)
    if isinstance(data, np.ndarray):
        h.update(b"array")
        _feed_array(h, data, what)
    elif columns is not None:
        _feed_columns(h, columns, what)
    elif isinstance(data, (list, tuple)) or hasattr(data, "to_numpy"):  # an unnamed Series
        h.update(b"array")
        _feed_array(h, column_array(data), what)
    else:
        raise ConfigError(
            f"cannot fingerprint a {type(data).__name__}: pass an array, a mapping of columns, "
            "a data frame or series (pandas, polars), a pyarrow table, bytes, or a path/URL"
        )
    return "sha256:" + h.hexdigest()
