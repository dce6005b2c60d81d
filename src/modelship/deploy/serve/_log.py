"""The prediction log: what the server answered, in batches, for joining with outcomes later.

Each batch is one new JSON-lines file, published whole: on a local disk it is written
under a hidden temporary name and renamed into place (``os.replace`` is atomic on one file
system); on an object store (``s3://``, ``memory://``) one put makes the object appear
whole. A reader therefore never sees half a batch, and the files of several replicas never
collide, because each name carries the time, the process id, a per-process sequence
number and a random suffix.

Every line is one predicted row::

    {"request_id": "...", "row": 0, "timestamp": 1764680000.123, "model": "fraud",
     "version": "3", "latency_seconds": 0.0012, "inputs": [0.1, 2.0],
     "output": 1, "method": "predict"}

``method`` names the model method whose answer ``output`` holds (``"predict"``,
``"predict_proba"``); logs written before it existed lack it, and their outputs are
``predict``'s unless ``predict_proba`` was asked for. A request that asked for several
methods (a v2 request naming several ``outputs``, or none of a model that has
``predict_proba``) logs ``predict``'s answer as ``output`` and every method's answer for
the row in ``"outputs"``, an object keyed by method.

Lines are strict JSON: a NaN or infinite input or output is written as ``null``; bytes in
an answer as text (decoded as UTF-8) and an integer beyond 64 bits as its exact decimal
text, as the server answered them (:func:`json_ready`). With
``inputs="fingerprint"`` the row's features are replaced by ``"input_fingerprint"``, a
hash of the row as little-endian float64 bytes, so features that must not be stored can
still be joined on, and ``"fingerprint_keyed"`` says which hash: ``true``, HMAC-SHA-256
with the operator's secret ``fingerprint_key``; ``false``, a plain SHA-256, which anyone
who reads the log can reverse for rows of few possible values (an age, a postcode prefix,
a sex: every possible row hashed in under a second), so the server warns at start.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from modelship._endpoints import without_localhost
from modelship._shown import brief, hide_credentials
from modelship.errors import ConfigError, ModelshipError
from modelship.registry._open import unnest_storage_options

__all__ = [
    "DEFAULT_MAX_PENDING_BYTES",
    "PredictionLog",
    "PredictionLogError",
    "UnwritableBatch",
    "read_prediction_log",
]

DEFAULT_MAX_PENDING_BYTES = 64 * 2**20
"""64 MiB of request and answer arrays may wait to be written: 400,000 rows of 20 float64
features, or 40 one-row requests of 200,000 features; past it rows are dropped and
counted, so wide rows and a failing store cannot grow the server's memory without bound."""

MIN_FINGERPRINT_KEY_BYTES = 16
"""A fingerprint key is at least 16 bytes (128 bits), as a registry's signing key is: one
much shorter could be found by hashing a logged row under every possible key. 32 random
bytes are best (``python -c "import secrets; print(secrets.token_hex(32))"``)."""

UNKEYED_FINGERPRINTS = (
    "prediction log %r: inputs are logged as unkeyed SHA-256 fingerprints, which anyone "
    "who can read the log can reverse for rows of few possible values (an age, a postcode "
    "prefix, a sex) by hashing every possible row; give a secret key of at least "
    f"{MIN_FINGERPRINT_KEY_BYTES} bytes to log HMAC-SHA-256 fingerprints instead "
    "(modelship serve --log-fingerprint-key-env VAR, the name of an environment variable "
    "holding it; ServeConfig(fingerprint_key=...); PredictionLog(fingerprint_key=...))"
)
"""The warning a prediction log of unkeyed fingerprints gives when it is opened (``%r``:
its URL, credentials shown as ``***``)."""

logger = logging.getLogger("modelship.serve")

SUFFIX = ".jsonl"
REQUIRED_KEYS = frozenset(
    {"request_id", "row", "timestamp", "model", "version", "latency_seconds", "output"}
)


class PredictionLogError(ModelshipError):
    """A prediction log file cannot be read back: a line is not a logged prediction.

    Examples
    --------
    >>> import os, tempfile
    >>> from modelship.deploy.serve import PredictionLogError, read_prediction_log
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "part-1.jsonl"), "w") as f:
    ...     _ = f.write("not json\\n")
    >>> try:
    ...     read_prediction_log(folder)
    ... except PredictionLogError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    not JSON (Expecting value: line 1 column 1 (char 0))
    """


def _filesystem(url: str, storage_options: dict[str, Any]) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    if not isinstance(url, str) or not url:
        raise ConfigError(f"prediction log URL must be a non-empty string, got {brief(url)}")
    shown = hide_credentials(url)
    if not all(isinstance(key, str) for key in storage_options):
        raise ConfigError(
            f"prediction log storage options must be keyed by option names (text), got the "
            f"keys {brief(list(storage_options))}"
        )
    storage_options = unnest_storage_options(storage_options)
    try:
        fs, root = url_to_fs(without_localhost(url), **storage_options)
    except Exception as exc:
        # Any back end's own error: an unknown protocol, a missing package, a server that
        # refuses the connection (ftp:// connects here), a missing archive (zip://...),
        # an option it does not take, a NUL in a path.
        raise ConfigError(
            f"prediction log URL {shown!r} cannot be opened: "
            f"{hide_credentials(f'{type(exc).__name__}: {exc}')}; check the URL and the "
            "log's storage options"
        ) from None
    return fs, str(root).rstrip("/")


def given_options(value: Any, what: str) -> dict[str, Any]:
    """Storage options as given (``None``: none), copied; anything but a mapping is a
    ConfigError naming ``what`` and the type given, never the value (one may be a secret).

    Examples
    --------
    >>> given_options(None, "storage_options"), given_options({"anon": True}, "options")
    ({}, {'anon': True})
    >>> given_options("anon=true", "storage_options")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: storage_options must be a dict of fsspec options ...
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{what} must be a dict of fsspec options (e.g. {{'anon': True}}) or None, got "
            f"a {type(value).__name__} (not shown: it may hold a secret)"
        )
    return dict(value)


def finite_positive(value: Any) -> bool:
    """Whether ``value`` is a real number (not a truth value), finite and above 0; an
    integer past float64's range is not finite.

    Examples
    --------
    >>> [finite_positive(v) for v in (5, 0.5, 0, float("inf"), 10**400, True, "5")]
    [True, True, False, False, False, False, False]
    """
    return _number(value) and value > 0


def fingerprint_key_bytes(value: Any, what: str = "fingerprint_key") -> bytes | None:
    """A fingerprint key as bytes (text as its UTF-8 bytes), or None; a ConfigError naming
    ``what`` for anything else, or a key shorter than :data:`MIN_FINGERPRINT_KEY_BYTES`.
    No message shows the key.

    Examples
    --------
    >>> fingerprint_key_bytes("k" * 16)
    b'kkkkkkkkkkkkkkkk'
    >>> fingerprint_key_bytes(b"short")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: fingerprint_key is 5 bytes; give at least 16 ...
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = value.encode()
        except UnicodeEncodeError as exc:  # lone surrogates: bytes decoded leniently
            raise ConfigError(
                f"{what} text cannot be encoded as UTF-8 ({exc.reason} at position "
                f"{exc.start}); give the key as bytes (os.environb, or os.fsencode of the text)"
            ) from None
    if not isinstance(value, (bytes, bytearray)):
        raise ConfigError(
            f"{what} must be bytes or text, got a {type(value).__name__} (not shown: it may "
            "be the secret); give secrets.token_bytes(32), or None for unkeyed fingerprints"
        )
    if len(value) < MIN_FINGERPRINT_KEY_BYTES:
        raise ConfigError(
            f"{what} is {len(value)} bytes; give at least {MIN_FINGERPRINT_KEY_BYTES} "
            "(secrets.token_bytes(32)): a short key is found by trying every one"
        )
    return bytes(value)


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    return value


def _keyed_by_text(value: Any) -> Any:
    """``value`` with every dict key JSON cannot take (a numpy integer, a tuple) as its
    text, in dicts and lists at any depth; a tuple becomes a list."""
    if isinstance(value, dict):
        return {
            (k if k is None or isinstance(k, (str, int, float, bool)) else str(k)): (
                _keyed_by_text(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_keyed_by_text(v) for v in value]
    return value


#: The datetimes Python's datetime holds, at the microsecond: orjson's range too.
_DATETIMES = (np.datetime64("0001-01-01", "us"), np.datetime64("9999-12-31T23:59:59.999999"))


def time_cells(out: NDArray[Any]) -> NDArray[Any]:
    """A ``datetime64`` or ``timedelta64`` array, in any unit and byte order, as an array
    of the Python datetimes or timedeltas it holds, to the microsecond (what ``/predict``,
    a v2 tensor and the log write as ISO 8601 and as ``str()`` of the timedelta), ``NaT``
    as ``None`` (a missing value). A datetime beyond the years a datetime holds, or one
    a microsecond count cannot hold (in years or days, converting would wrap round), is
    numpy's text of it; so is a timedelta of years or months, which have no fixed length.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.deploy.serve._log import time_cells
    >>> time_cells(np.array(["2026-12-06T08", "NaT"], dtype="datetime64[ns]")).tolist()
    [datetime.datetime(2026, 12, 6, 8, 0), None]
    >>> time_cells(np.array(["584600", "2026"], dtype="datetime64[Y]")).tolist()
    ['584600', datetime.datetime(2026, 1, 1, 0, 0)]
    >>> [str(cell) for cell in time_cells(np.array([1, 2], dtype="timedelta64[s]"))]
    ['0:00:01', '0:00:02']
    """
    kind = out.dtype.kind
    unit = np.datetime_data(out.dtype)[0]
    known = ~np.isnat(out)
    if kind == "m" and unit in ("Y", "M", "generic"):
        # numpy would make a year 365.2425 days, and a count of no unit microseconds.
        moments = np.full(out.shape, np.timedelta64("NaT", "us"))
        beyond = known
    else:
        moments = out.astype(f"{kind}8[us]")
        beyond = np.zeros(out.shape, dtype=bool)
        if np.can_cast(out.dtype, moments.dtype, "safe"):
            # A unit as coarse or coarser: the cast wraps round silently past the
            # microseconds an int64 counts (year 584600 became 0045-12-13), and only a
            # cell that wrapped round does not come back as it was.
            beyond = known & (moments.astype(out.dtype) != out)
        if kind == "M":  # NaT is neither below nor above
            beyond |= (moments < _DATETIMES[0]) | (moments > _DATETIMES[1])
    answer = moments.astype(object)
    if beyond.any():
        if kind == "M":
            answer[beyond] = np.datetime_as_string(out[beyond])
        else:
            answer[beyond] = [str(cell) for cell in out[beyond]]
    return answer


def holds_time(dtype: np.dtype[Any]) -> bool:
    """Whether a numpy dtype is a ``datetime64`` or ``timedelta64``, or a structured one
    with such a field (in a nested record or a subarray field too): what orjson and
    ``tolist()`` write their own ways (``NaT`` as a date in 1677, nanoseconds as integers),
    so the server writes them cell by cell (:func:`time_cells`).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.deploy.serve._log import holds_time
    >>> holds_time(np.dtype("M8[ns]")), holds_time(np.dtype([("p", "f8"), ("t", "m8[s]", (2,))]))
    (True, True)
    >>> holds_time(np.dtype("f8")), holds_time(np.dtype([("p", "f8"), ("label", "S3")]))
    (False, False)
    """
    kind = dtype.kind
    if kind != "V":  # a record, or a subarray field, is "V"
        return kind in "mM"
    if dtype.subdtype is not None:
        return holds_time(dtype.subdtype[0])
    return any(holds_time(dtype[name]) for name in dtype.names or ())


def _time_texts(out: NDArray[Any]) -> Any:
    """A ``datetime64`` or ``timedelta64`` array as (nested) lists of what
    :func:`time_cells` makes of its cells, each as :func:`json_value` writes it: ISO 8601
    text, a timedelta's text, numpy's text beyond them, ``None`` for ``NaT``."""
    texts = [json_value(cell) for cell in time_cells(out).flat]
    return np.array(texts, dtype=object).reshape(out.shape).tolist()


def _records(value: NDArray[Any], depth: int) -> Any:
    """A structured array holding a datetime or duration field as (nested) lists of its
    records, each a list of its fields' values in order (as ``tolist()`` writes a record),
    every value as :func:`json_ready` makes it: a datetime or duration field's as
    :func:`_time_texts`, never its count of some unit."""
    names = value.dtype.names or ()
    if value.ndim > 1:
        return [_records(part, depth + 1) for part in value]
    fields = [
        json_ready(value[name] if holds_time(value.dtype[name]) else value[name].tolist(), depth)
        for name in names
    ]
    if value.ndim == 0:
        return fields
    return [list(record) for record in zip(*fields, strict=True)]


def bytes_text(value: bytes | bytearray) -> str:
    """Bytes in an answer as the server writes them: decoded as UTF-8, an undecodable
    byte as a backslash escape.

    Examples
    --------
    >>> from modelship.deploy.serve._log import bytes_text
    >>> bytes_text(b"yes"), bytes_text(bytearray(b"\\xffok"))
    ('yes', '\\\\xffok')
    """
    return bytes(value).decode("utf-8", "backslashreplace")


#: How deep :func:`json_ready` follows the lists, dicts and arrays of an answer: orjson's
#: own limit (it writes no deeper). A cell that refers to itself is found after this many
#: steps, where following it further would take time doubling with each reference.
MAX_ANSWER_DEPTH = 254

#: The integers JSON writers (orjson, most readers) hold exactly: 64 bits, signed or not.
_WIDEST = (-(2**63), 2**64)


#: The longest integer (in bits: about 100,000 decimal digits) whose exact decimal text
#: the server writes (:func:`int_text`); the conversion takes time growing as the square
#: of its length (0.3 s at this one), so a longer one is an :class:`UnwritableAnswer`.
MAX_INT_TEXT_BITS = 332_000

#: The bits of all the integers one answer may have written by :func:`int_text` beyond
#: what ``str()`` writes (about 400,000 decimal digits in all, about a second): several
#: rows of such integers would otherwise hold the server's event loop for as long as they
#: take (60 of 100,000 digits: 8 s), so more is an :class:`UnwritableAnswer`. Counted
#: within :func:`int_text_budget` only.
MAX_ANSWER_INT_TEXT_BITS = 4 * MAX_INT_TEXT_BITS

#: The bits converted so far within the current :func:`int_text_budget` (one request's
#: answer: a context variable, so requests answered at once each count their own).
_INT_TEXT_SPENT: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "_INT_TEXT_SPENT", default=None
)


class UnwritableAnswer(ValueError):
    """An answer nests lists, dicts or arrays more than :data:`MAX_ANSWER_DEPTH` deep,
    refers to itself, or holds an integer too long to write (:data:`MAX_INT_TEXT_BITS`,
    :data:`MAX_ANSWER_INT_TEXT_BITS` in all): JSON cannot hold it."""


@contextlib.contextmanager
def int_text_budget() -> Iterator[None]:
    """Within it, the integers :func:`int_text` writes beyond what ``str()`` writes count
    towards one answer's :data:`MAX_ANSWER_INT_TEXT_BITS`; past it, :func:`int_text` raises
    :class:`UnwritableAnswer`.

    Examples
    --------
    >>> from modelship.deploy.serve._log import int_text, int_text_budget
    >>> from modelship.deploy.serve._log import UnwritableAnswer
    >>> try:
    ...     with int_text_budget():
    ...         texts = [int_text(2**300_000 - 1) for _ in range(5)]
    ... except UnwritableAnswer as exc:
    ...     print(str(exc)[:50])
    the answer's long integers are too long to write a
    """
    token = _INT_TEXT_SPENT.set([0])
    try:
        yield
    finally:
        _INT_TEXT_SPENT.reset(token)


def _str_writes(bits: int) -> bool:
    """Whether ``str()`` writes an integer of ``bits`` bits: Python refuses more than
    ``sys.get_int_max_str_digits()`` digits (4,300 by default, 0 for no limit), and one of
    ``bits`` bits has at most ``bits * log10(2) + 1`` digits."""
    limit = sys.get_int_max_str_digits()
    return limit == 0 or bits * 0.30103 + 1 < limit


def int_text(value: int) -> str:
    """An integer's exact decimal text, however many digits it has up to
    :data:`MAX_INT_TEXT_BITS` (Python's ``str()`` refuses more than 4,300 by default, a
    limit of the whole process that one thread cannot lift for itself alone); a longer
    one raises :class:`UnwritableAnswer`, and so do those past
    :data:`MAX_ANSWER_INT_TEXT_BITS` within an :func:`int_text_budget`.

    Examples
    --------
    >>> from modelship.deploy.serve._log import int_text
    >>> int_text(2**70), len(int_text(-(10**5000)))
    ('1180591620717411303424', 5002)
    """
    value = int(value)  # an IntEnum, a numpy integer: the integer they hold
    bits = value.bit_length()
    if _str_writes(bits):
        return str(value)
    if bits > MAX_INT_TEXT_BITS:
        raise UnwritableAnswer(
            f"the answer holds an integer of {bits} bits (about {int(bits * 0.30103)} "
            "decimal digits), too long to write as exact decimal text (at most about "
            "100,000 digits)"
        )
    spent = _INT_TEXT_SPENT.get()
    if spent is not None:
        spent[0] += bits
        if spent[0] > MAX_ANSWER_INT_TEXT_BITS:
            raise UnwritableAnswer(
                "the answer's long integers are too long to write as exact decimal text "
                "in all (at most about 400,000 digits in one answer)"
            )
    import decimal

    # A Decimal made of an int is exact whatever its context's precision, and its text
    # is plain digits (exponent 0): no limit on digits applies to either.
    return str(decimal.Decimal(value))


class _Digits:
    """An integer's text standing in for it where ``str()`` would refuse it: its ``repr``."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def plain_text(value: Any) -> str:
    """``str(value)``, and of a list, tuple, dict, set or array of objects holding (at
    any depth) an integer ``str()`` refuses (more than 4,300 digits) the same text with
    that integer as :func:`int_text` writes it.

    Examples
    --------
    >>> from modelship.deploy.serve._log import plain_text
    >>> plain_text({"score": 5, 3: (1,)}), len(plain_text([7**6000]))
    ("{'score': 5, 3: (1,)}", 5073)
    """
    try:
        return str(value)
    except ValueError:
        if not isinstance(value, (list, tuple, dict, set, frozenset, np.ndarray)):
            raise
    return str(_digits_in(value, {}, 0))


def _digits_in(value: Any, made: dict[int, Any], depth: int) -> Any:  # noqa: PLR0911 - one for each kind of container
    """``value`` with every integer ``str()`` refuses, in the lists, tuples, dicts, sets
    and arrays of objects it holds, as a :class:`_Digits` of its :func:`int_text`; each
    container made once (``made``, by id), so one that refers to itself still does."""
    if type(value) is int:
        return value if _str_writes(value.bit_length()) else _Digits(int_text(value))
    plain = type(value) in (list, tuple, dict, set, frozenset)
    if not plain and not (isinstance(value, np.ndarray) and value.dtype.kind == "O"):
        return value
    if id(value) in made:
        return made[id(value)]
    if depth >= MAX_ANSWER_DEPTH:
        raise UnwritableAnswer(_TOO_DEEP)
    if isinstance(value, list):
        cells: list[Any] = []
        made[id(value)] = cells
        cells.extend(_digits_in(cell, made, depth + 1) for cell in value)
        return cells
    if isinstance(value, dict):
        pairs: dict[Any, Any] = {}
        made[id(value)] = pairs
        for key, cell in value.items():
            pairs[_digits_in(key, made, depth + 1)] = _digits_in(cell, made, depth + 1)
        return pairs
    if isinstance(value, np.ndarray):
        made[id(value)] = array = np.empty(value.shape, dtype=object)
        flat = array.reshape(-1)
        for at, cell in enumerate(value.flat):
            flat[at] = _digits_in(cell, made, depth + 1)
        return array
    return type(value)(_digits_in(cell, made, depth + 1) for cell in value)


def json_ready(value: Any, depth: int = 0) -> Any:
    """An answer (or one of its cells) with what a JSON writer cannot write exactly as
    a v2 ``BYTES`` tensor writes it: bytes (``np.bytes_``, ``bytearray`` too) as
    :func:`bytes_text`, an integer beyond 64 bits as its exact decimal text, in lists,
    tuples (as lists), dicts (a key that is not text as JSON writes it: ``"1"``,
    ``"true"``) and arrays of objects, bytes or records at any depth, a numpy
    ``datetime64`` or ``timedelta64``, or an array of them, as :func:`json_value` writes
    each (:func:`time_cells`: ISO 8601 to the microsecond, a timedelta's text, ``NaT`` as
    ``None``), and a record (a structured array's, or ``np.void``) holding such a field
    as the list of its fields' values so written, an Enum as its value made ready by these
    rules (orjson would write the value itself), a numeric array of the other byte order
    in the machine's; anything else as it is (numbers, text, numeric arrays), left to the
    writer. An answer nested deeper than :data:`MAX_ANSWER_DEPTH` raises
    :class:`UnwritableAnswer`.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.deploy.serve._log import json_ready
    >>> json_ready(np.array([b"yes", 2**70, {1: b"x"}, 7], dtype=object))
    ['yes', '1180591620717411303424', {'1': 'x'}, 7]
    >>> json_ready({"when": np.array(["2026-12-06T08", "NaT"], dtype="M8[ns]")})
    {'when': ['2026-12-06T08:00:00', None]}
    >>> json_ready(np.array([(0.5, 90)], dtype=[("p", "f8"), ("wait", "m8[s]")]))
    [[0.5, '0:01:30']]
    """
    members: set[int] = set()
    while isinstance(value, enum.Enum):  # its value may be another Enum's member
        # orjson writes an Enum's value itself, never asking the writer's default: a
        # datetime64 in it as orjson would (NaT as a date in 1677, and orjson 3.13 stops
        # the process on datetime64("1969-12")), an integer beyond 64 bits refused.
        if id(value) in members:  # a member whose value leads back to itself
            raise UnwritableAnswer(_SELF_ENUM)
        members.add(id(value))
        value = value.value
    if isinstance(value, (bytes, bytearray, np.datetime64, np.timedelta64)):
        # orjson writes a datetime64 itself, but refuses NaT and one beyond a datetime.
        return json_value(value)
    if isinstance(value, int) and not _WIDEST[0] <= value < _WIDEST[1]:
        return int_text(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" and not value.dtype.isnative:
        # orjson refuses a numeric array of the other byte order (read from a ">f8" file).
        value = value.astype(value.dtype.newbyteorder("="))
    if isinstance(value, np.void) and holds_time(value.dtype):
        value = np.asarray(value)  # one record: as a structured array's are written
    cells = isinstance(value, np.ndarray) and value.dtype.kind in "mMOSV"
    if not cells and not isinstance(value, (list, tuple, dict)):
        return value  # text, numbers, numeric arrays, sets: the writer's own
    if depth >= MAX_ANSWER_DEPTH:
        raise UnwritableAnswer(_TOO_DEEP)
    if cells:
        return _cells_ready(value, depth + 1)
    if isinstance(value, dict):
        return {_json_key(k): json_ready(v, depth + 1) for k, v in value.items()}
    return [json_ready(v, depth + 1) for v in value]


_TOO_DEEP = (
    f"the answer nests lists, dicts or arrays more than {MAX_ANSWER_DEPTH} deep, or "
    "refers to itself: JSON cannot hold it"
)
_SELF_ENUM = (
    "the answer holds an Enum member whose value refers to itself (through its own or "
    "other members' values): JSON cannot hold it"
)


def _cells_ready(value: NDArray[Any], depth: int) -> Any:
    """An array of objects, bytes, records, datetimes or durations as :func:`json_ready`
    makes it: (nested) lists. orjson writes a datetime64 array itself (``NaT`` as
    ``"1677-09-21T00:12:43.145224"``) and ``tolist()`` gives a ``[ns]`` array's or
    field's cells as integers, so those are written cell by cell."""
    if value.dtype.kind in "mM":
        return _time_texts(value)
    if holds_time(value.dtype):
        return _records(value, depth)
    return json_ready(value.tolist(), depth)


def _json_key(key: Any) -> str:
    """A dict key as JSON writes it (``"1"``, ``"true"``, ``"null"``), a numpy number or
    truth value's as the Python one it holds, text of a subclass of ``str`` (``np.str_``,
    which orjson refuses as a key) as plain text, bytes as :func:`bytes_text`, anything
    else as its text.

    Examples
    --------
    >>> import numpy as np
    >>> [_json_key(k) for k in (np.str_("yes"), np.int64(1), np.bool_(True), None, 0.5)]
    ['yes', '1', 'true', 'null', '0.5']
    """
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)  # the text itself, whatever the subclass's str() says
    if isinstance(key, (bytes, bytearray)):
        return bytes_text(key)
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, int) and not isinstance(key, bool):
        return int_text(key)  # json.dumps refuses more than 4,300 digits
    if key is None or isinstance(key, (bool, float)):
        return json.dumps(key)
    return str(key)


def json_value(value: Any) -> Any:  # noqa: PLR0911 - one answer for each kind of value
    """What JSON has no type for, as the server answers it and the log writes it: one rule
    for ``/predict``, the text of a v2 ``BYTES`` tensor and the log. A numpy scalar (in an
    object answer) as the number or truth value it holds, a numpy array (or a record
    holding a datetime or duration field) as a list, its cells by these rules
    (:func:`json_ready`), bytes as :func:`bytes_text`; a missing value (a NaN or infinite
    numpy float, pandas' ``NA`` or ``NaT``, numpy's ``NaT``) as null; a date, time or
    datetime in ISO 8601 (``isoformat()``: ``"2026-12-06T08:00:00"``; a pandas
    ``Timestamp`` to the microsecond too), a timedelta as Python writes one (``"0:00:01"``), a numpy
    ``datetime64`` or ``timedelta64`` as what it holds to the microsecond
    (:func:`time_cells`: a datetime as orjson writes one); an Enum as its value, itself
    written by these rules (``Risk.LOW`` as ``"low"``, one of ``NaT`` or NaN as null);
    anything else (a dataclass, a
    UUID, a decimal, a set) as its text (``str()``).

    Examples
    --------
    >>> import datetime, enum
    >>> import numpy as np
    >>> [json_value(v) for v in (np.int64(1), np.bool_(True), np.float32(0.5))]
    [1, True, 0.5]
    >>> json_value(np.float32("nan")) is None, json_value(np.datetime64("NaT")) is None
    (True, True)
    >>> json_value(np.bytes_(b"yes")), json_value({1})
    ('yes', '{1}')
    >>> json_value(datetime.datetime(2026, 12, 6, 8)), json_value(np.datetime64("2026-12-06"))
    ('2026-12-06T08:00:00', '2026-12-06T00:00:00')
    >>> json_value(np.timedelta64(90, "s")), json_value(np.datetime64("584600", "Y"))
    ('0:01:30', '584600')
    >>> class Risk(enum.Enum):
    ...     LOW = "low"
    >>> json_value(Risk.LOW)
    'low'
    """
    import datetime

    if isinstance(value, (bytes, bytearray)):
        return bytes_text(value)
    if isinstance(value, np.ndarray) or (isinstance(value, np.void) and holds_time(value.dtype)):
        ready = json_ready(value)  # a datetime64 array's or field's cells as text too
        return _finite_or_none(ready.tolist() if isinstance(ready, np.ndarray) else ready)
    if isinstance(value, (np.datetime64, np.timedelta64)):
        value = time_cells(np.array([value]))[0]  # as a datetime64 answer's cells are
    elif isinstance(value, np.generic):
        item = value.item()
        if isinstance(item, np.floating):
            item = float(item)  # a long double: no Python type holds it
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if not isinstance(item, np.generic):
            return item
    # pandas' missing values, known by their types' names: pandas need not be installed.
    kind = type(value)
    if value is None or (
        kind.__name__ in ("NAType", "NaTType") and kind.__module__.startswith("pandas")
    ):
        return None
    if isinstance(value, datetime.datetime):
        # datetime's own text, to the microsecond: pandas' Timestamp writes nanoseconds,
        # which a datetime64[ns] answer of the same moment does not.
        return datetime.datetime.isoformat(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):  # pandas' Timedelta's own: "0 days 00:00:01"
        return datetime.timedelta.__str__(value)
    if isinstance(value, enum.Enum):
        # Its value by these rules: NaT and a NaN as null, an integer beyond 64 bits as
        # its text, a datetime64 as text (never left to orjson, which writes one itself).
        ready = _finite_or_none(json_ready(value))
        return json_value(ready) if isinstance(ready, np.generic) else ready
    return plain_text(value)  # a set of integers beyond 4,300 digits too


def _json_line(line: dict[str, Any]) -> str:
    """One line of strict JSON: NaN and infinities (never valid JSON) are written as null,
    a numpy scalar as the value it holds, a value JSON has no type for as its text (see
    :func:`json_value`), and so is a dict key JSON cannot take (a numpy integer)."""
    try:
        return json.dumps(line, separators=(",", ":"), allow_nan=False, default=json_value)
    except (ValueError, TypeError):  # a NaN, or "keys must be str, int, float, bool or None"
        return json.dumps(
            _finite_or_none(_keyed_by_text(line)),
            separators=(",", ":"),
            allow_nan=False,
            default=json_value,
        )


class _Pending(NamedTuple):
    """One request waiting to be written."""

    request_id: str
    inputs: NDArray[Any]
    outputs: Any
    latency: float
    stamp: float
    model: str
    version: str
    method: str
    outputs_by_method: dict[str, Any] | None
    size: int


_OBJECT = np.dtype(object)


def _nbytes(value: Any) -> int:
    """About the bytes ``value`` takes waiting and in the log: a numeric array's
    ``nbytes``; for an object array or a list, the sum of :func:`_cell_bytes` over its
    items (one pass, linear in their size), so 2 MB of answer text counts 2 MB."""
    if isinstance(value, np.ndarray):
        # An identity test (numpy's object dtype is one instance): 10 ns, where reading
        # dtype.kind costs a float array's request 40 ns more.
        if value.dtype is not _OBJECT:
            return int(value.nbytes)
        # reshape, not .flat: numpy's iterators stop at 32 dimensions (an array has 64).
        return sum(_cell_bytes(cell) for cell in value.reshape(-1).tolist())
    if isinstance(value, (list, tuple)):
        return sum(_cell_bytes(cell) for cell in value)
    return _cell_bytes(value)


def _cell_bytes(cell: Any) -> int:
    """One answer item's size: 8, plus its text's length (text, bytes, an integer's
    decimal digits, a numeric array's bytes, anything else's JSON encoding as the log
    writes it: no recursion in Python, so a circular list is counted too)."""
    if cell is None or isinstance(cell, (bool, float)):
        return 8
    if isinstance(cell, (str, bytes, bytearray)):
        return 8 + len(cell)
    if isinstance(cell, int):
        return 8 + cell.bit_length() // 3  # a bit is 0.3 decimal digits
    if isinstance(cell, np.ndarray):
        if cell.dtype is not _OBJECT:
            return 8 + int(cell.nbytes)
        cell = cell.tolist()
    return 8 + _written_length(cell)


def _written_length(cell: Any) -> int:
    """The length of a cell's JSON encoding, else of its text, else :data:`_UNSIZED`: a
    cell's own code (its ``__str__``, a tzinfo's ``utcoffset``) may raise anything, and
    an estimate must never fail the request whose answer it sizes. No recursion in
    Python, so a circular list is counted too (by its text)."""
    for write in (lambda c: json.dumps(c, default=str), str):
        try:
            return len(write(cell))
        except Exception:  # a circular structure, a cell's own exception
            continue
    return _UNSIZED


#: What :func:`_cell_bytes` counts for a cell neither JSON nor ``str()`` can write.
_UNSIZED = 1024


def _values(outputs: Any) -> list[Any]:
    """An answer's rows as the log writes them: a numeric array's as they are, any other
    answer's through :func:`json_ready` (bytes as text, integers beyond 64 bits as exact
    decimal text: as the server answered them), unless orjson writes its rows as they are
    (then they hold nothing json_ready changes that the log's writer does not change the
    same way: bytes it writes as text too)."""
    if not isinstance(outputs, np.ndarray):
        return [json_ready(row) for row in outputs]
    rows: list[Any] = outputs.tolist()
    if outputs.dtype.kind not in "OSV":
        return rows
    # A structured answer's datetime or duration fields: tolist() gives [ns] as integers.
    # An Enum orjson writes itself (and stops the process on one that refers to itself).
    if not holds_time(outputs.dtype) and not holds_enum(rows) and _written_as_they_are(rows):
        return rows
    ready: list[Any] = json_ready(outputs)
    return ready


def holds_enum(cells: list[Any]) -> bool:
    """Whether an answer's ``cells`` are Enum members, some of them (known by their types,
    in C: 1,000 labels, 10 us): orjson writes an Enum's value itself, never asking the
    writer's default, and stops the process (SIGSEGV) on a member whose value leads back
    to itself, so such cells are made ready in Python (:func:`json_ready`).

    Examples
    --------
    >>> import enum
    >>> from modelship.deploy.serve._log import holds_enum
    >>> class Risk(enum.Enum):
    ...     LOW = "low"
    >>> holds_enum(["cat", Risk.LOW]), holds_enum(["cat", 1])
    (True, False)
    """
    return any(issubclass(kind, enum.Enum) for kind in set(map(type, cells)))


def _written_as_they_are(rows: list[Any]) -> bool:
    """Whether orjson writes ``rows`` (an array of objects' cells) without refusing an
    integer beyond 64 bits, a dict key that is not text or a nesting deeper than
    :data:`MAX_ANSWER_DEPTH`: in C, where :func:`json_ready` walks every cell in Python
    (10,000 rows of dicts: 0.75 ms, where json_ready took 30 ms). False without orjson
    (the server's ``serve`` extra installs it), and for rows holding a numpy datetime or
    duration (:func:`time_free`), which orjson must not write itself: rows holding no
    numpy value are written without ``OPT_SERIALIZE_NUMPY`` (1,000 labels: 4.5 us), rows
    of text and numbers with it, any others without it, every numpy value looked at in
    Python."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - the serve extra installs it
        return False
    # In a list: json_ready counts the array as a level of its own.
    try:
        orjson.dumps([rows], option=_passed_through(orjson), default=_numpy_stops)
    except orjson.JSONEncodeError:
        pass  # a numpy value, or what any pass refuses: told apart below
    else:
        return True
    if set(map(type, rows)) <= _TIMELESS:
        try:
            orjson.dumps(
                [rows],
                option=orjson.OPT_SERIALIZE_NUMPY | _passed_through(orjson),
                default=_time_refused,
            )
        except orjson.JSONEncodeError:
            return False
        return True
    return _looked_into(rows, orjson)


def _passed_through(orjson: Any) -> int:
    """orjson's options handing every datetime, date, time and dataclass to the pass's
    ``default`` (as the server's writer does), never written by orjson itself: the log
    writes them by :func:`json_value`, and orjson stops the process (SIGSEGV) on a
    datetime whose ``tzinfo.utcoffset()`` raises, where ``default`` raising only refuses
    the pass."""
    flags: int = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    return flags


def _numpy_stops(value: Any) -> Any:
    # What orjson has no type for (bytes, a set) is the log writer's (json_value); a
    # numpy value stops the pass.
    if isinstance(value, (np.ndarray, np.generic)):
        raise TypeError("a numpy value")
    return None


#: The types of cell that hold no numpy datetime or duration, none looked into: Python's
#: and numpy's numbers (not timedelta64, one of numpy's integers), truth values, text and
#: bytes.
_TIMELESS = frozenset({str, int, float, bool, type(None), bytes, bytearray}) | frozenset(
    kind
    for kind in set(np.sctypeDict.values())
    if issubclass(kind, (np.bool_, np.number, np.character))
    and not issubclass(kind, np.timedelta64)
)


def time_free(cells: list[Any]) -> bool:
    """Whether ``cells`` (an object answer's) hold no numpy ``datetime64`` or
    ``timedelta64`` at any depth: no such scalar or array, nor a record with such a field,
    in them or in the lists, dicts, tuples and arrays of objects they hold. Only then may
    orjson's ``OPT_SERIALIZE_NUMPY`` write them: it writes a ``datetime64`` itself,
    ``NaT`` as ``"1677-09-21T00:12:43.145224"`` (a real-looking date), and orjson 3.13
    stops the process (SIGILL) on ``datetime64("1969-12")``.

    Cells that are all text, Python's and numpy's numbers or truth values are found so by
    their types, read in C (1,000 cells: 17 us); any others are looked into by one pass
    of orjson without ``OPT_SERIALIZE_NUMPY``, which hands every numpy value to Python
    (1,000 dicts holding a float64 and an array each: 0.37 ms). False when that pass
    refuses them for another reason before it finds one (an integer beyond 64 bits, a
    nesting deeper than it writes), or without orjson: :func:`json_ready` makes such cells
    ready anyway.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.deploy.serve._log import time_free
    >>> time_free(["cat", np.int64(2), {"p": [0.5, np.float32(1)]}])
    True
    >>> time_free(["cat", {"when": [np.array(["NaT"], dtype="M8[ns]")]}])
    False
    """
    if set(map(type, cells)) <= _TIMELESS:
        return True
    try:
        import orjson
    except ImportError:  # pragma: no cover - the serve extra installs it
        return False
    return _looked_into(cells, orjson)


def _looked_into(cells: list[Any], orjson: Any) -> bool:
    """Whether orjson writes ``cells`` without ``OPT_SERIALIZE_NUMPY``, finding no numpy
    datetime or duration (:func:`_time_refused`) and refusing nothing else."""
    try:
        # In a list, as _written_as_they_are.
        orjson.dumps([cells], option=_passed_through(orjson), default=_time_refused)
    except orjson.JSONEncodeError:
        return False
    return True


def _time_refused(value: Any) -> Any:
    # What orjson has no type for: a numpy datetime or duration stops the pass; an array
    # of objects is looked into; anything else is the writer's (json_value). Called for
    # every numpy value: a numpy number is known by its type alone (1,000 dicts of a
    # float64 and an array each: 0.37 ms, where reading each one's dtype took 0.49).
    if type(value) in _TIMELESS:
        return None
    if isinstance(value, (np.ndarray, np.generic)):
        dtype = value.dtype
        if dtype.kind == "O":
            return value.tolist()
        if holds_time(dtype):
            raise TypeError("a numpy datetime or duration")
        return None
    return json_value(value)


def _check_folder(root: str, url: str) -> None:
    """Create a local log folder now, so an unusable path is refused at startup."""
    try:
        os.makedirs(root, exist_ok=True)
        writable = os.access(root, os.W_OK | os.X_OK)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"prediction log folder {url!r} cannot be created: {reason}") from None
    if not writable:
        raise ConfigError(f"prediction log folder {url!r} is not writable by this process")


class LogAbandoned(RuntimeError):
    """A flush that found the log abandoned (:meth:`PredictionLog.abandon`) before it
    published its file: the rows stay pending, counted as lost by the shutdown."""


class UnwritableBatch(ValueError):
    """A batch of rows that cannot be written as JSON (an output that refers to itself):
    dropped and counted in :attr:`PredictionLog.dropped_rows`, not retried.

    Examples
    --------
    >>> str(UnwritableBatch(3, ValueError("Circular reference detected")))
    '3 rows cannot be written as JSON: ValueError: Circular reference detected'
    """

    def __init__(self, rows: int, cause: BaseException, *, written: int = 0) -> None:
        super().__init__(f"{rows} rows cannot be written as JSON: {type(cause).__name__}: {cause}")
        self.rows = rows
        self.written = written  # the rows of the other requests of the batch, written


def row_fingerprint(row: NDArray[Any], key: bytes | None = None) -> str:
    """The hash of one input row as contiguous little-endian float64 bytes (hex): its
    HMAC-SHA-256 under ``key``, or without one its plain SHA-256, which anyone can compute
    for every possible row of few values and so reverse.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.deploy.serve._log import row_fingerprint
    >>> row_fingerprint(np.array([1.0, 2.0])) == row_fingerprint(np.array([1, 2]))
    True
    >>> key = b"k" * 32
    >>> row_fingerprint(np.array([1.0]), key) == row_fingerprint(np.array([1.0]))
    False
    """
    data = np.ascontiguousarray(row, dtype="<f8").tobytes()
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


class PredictionLog:
    """Buffers predictions and writes them in batches as JSON-lines files under ``url``.

    :meth:`add` is what the request path calls: it only appends a reference to the
    request's arrays to a list (no copying, no I/O; the server gives it a copy of the
    rows made before the model saw them, so a model changing its input in place does not
    change what is logged). :meth:`flush` turns the pending
    requests into lines and writes one file; the server calls it from a worker thread
    every ``flush_seconds``, whenever ``batch_rows`` rows are pending, and once at
    shutdown. At most ``max_pending_rows`` rows, holding at most ``max_pending_bytes``
    of arrays, wait in memory: beyond either, new predictions are dropped and counted in
    :attr:`dropped_rows` rather than letting a slow store grow the server's memory
    without bound.

    Parameters
    ----------
    url : str
        A folder path or any fsspec URL (``s3://bucket/predictions``, ``memory://log``).
    inputs : {"full", "fingerprint"}
        Log each row's features, or only their fingerprint (see ``fingerprint_key``).
    fingerprint_key : bytes or str, optional
        A secret of at least 16 bytes: fingerprints are then HMAC-SHA-256 under it, which
        no one without the key can reverse. Without one they are plain SHA-256, which
        anyone reading the log can reverse for rows of few possible values, and a warning
        says so when the log is opened. Only with ``inputs="fingerprint"``.
    batch_rows, flush_seconds, max_pending_rows : int, float, int
        When to write a batch, and how many rows may wait.
    max_pending_bytes : int
        How many bytes of inputs and outputs may wait (a numeric array's ``nbytes``;
        for an object array or a list, each item's length as text, 8 for a number); default
        :data:`DEFAULT_MAX_PENDING_BYTES` (64 MiB).
    storage_options : dict, optional
        Passed to fsspec (credentials, endpoint).

    Raises
    ------
    ConfigError
        A bad setting, a URL or storage options the store cannot be opened with (an
        unknown protocol, a server that refuses the connection), or a local folder that
        cannot be created or written to (it is created here, so an unusable path fails at
        startup, not at the first flush). Messages show the URL with its credentials as
        ``***`` (as the attribute ``shown_url`` holds it).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.deploy.serve import PredictionLog, read_prediction_log
    >>> log = PredictionLog("memory://predlog-doc")
    >>> log.add("req-1", np.array([[1.0, 2.0]]), np.array([0]),
    ...         latency_seconds=0.002, model="fraud", version="3")
    True
    >>> log.flush()
    1
    >>> [(r["request_id"], r["inputs"], r["output"], r["method"]) for r in read_prediction_log(
    ...     "memory://predlog-doc")]
    [('req-1', [1.0, 2.0], 0, 'predict')]
    """

    def __init__(  # noqa: PLR0913 - keyword-only buffering and storage options of the prediction log, each documented
        self,
        url: str,
        *,
        inputs: Literal["full", "fingerprint"] = "full",
        batch_rows: int = 1000,
        flush_seconds: float = 5.0,
        max_pending_rows: int = 100_000,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        storage_options: dict[str, Any] | None = None,
        fingerprint_key: bytes | str | None = None,
    ) -> None:
        if inputs not in ("full", "fingerprint"):
            raise ConfigError(f"inputs must be 'full' or 'fingerprint', got {inputs!r}")
        key = fingerprint_key_bytes(fingerprint_key)
        if key is not None and inputs != "fingerprint":
            raise ConfigError(
                "fingerprint_key is given but inputs is 'full': the rows' features are "
                "logged, not fingerprints; pass inputs='fingerprint', or no key"
            )
        if not (_integer(batch_rows) and batch_rows >= 1):
            raise ConfigError(f"batch_rows must be an integer >= 1, got {batch_rows!r}")
        if not finite_positive(flush_seconds):
            raise ConfigError(
                f"flush_seconds must be a finite number of seconds > 0 (e.g. 5.0), got "
                f"{brief(flush_seconds)}"
            )
        if not (_integer(max_pending_rows) and max_pending_rows >= batch_rows):
            raise ConfigError(
                f"max_pending_rows must be an integer >= batch_rows ({batch_rows}), "
                f"got {max_pending_rows!r}"
            )
        if not (_integer(max_pending_bytes) and max_pending_bytes >= 1):
            raise ConfigError(
                f"max_pending_bytes must be an integer >= 1, got {max_pending_bytes!r}"
            )
        self.url = url
        self.inputs = inputs
        self.batch_rows = batch_rows
        self.flush_seconds = float(flush_seconds)
        self.max_pending_rows = max_pending_rows
        self._fs, self._root = _filesystem(url, given_options(storage_options, "storage_options"))
        # What messages name: the URL with its credentials (user information) as "***".
        self.shown_url = hide_credentials(url)
        self.max_pending_bytes = max_pending_bytes
        self._local = _is_local(self._fs)
        if self._local:
            _check_folder(self._root, self.shown_url)
        self._pending: list[_Pending] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._abandoned = False  # set by abandon(): nothing more is published
        self._sequence = 0
        self._tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.dropped_rows = 0
        self.written_rows = 0
        self._fingerprint_key = key  # never shown: not an attribute a repr would list
        if inputs == "fingerprint" and key is None:
            logger.warning(UNKEYED_FINGERPRINTS, self.shown_url)

    @property
    def fingerprints_keyed(self) -> bool:
        """Whether rows are logged as fingerprints keyed with a secret (HMAC-SHA-256)."""
        return self._fingerprint_key is not None

    def abandon(self) -> int:
        """Publish nothing more (a flush under way stops before it publishes its file,
        which it removes); the rows pending, now lost. For a shutdown whose final flush
        ran out of time: those rows are then truly unwritten, not counted as dropped
        while the write goes on and lands (unless the store's own put was under way and
        lands after)."""
        self._abandoned = True
        return self.pending_rows

    @property
    def abandoned(self) -> bool:
        """Whether :meth:`abandon` was called."""
        return self._abandoned

    @property
    def pending_rows(self) -> int:
        """How many rows wait to be written (those of a write under way too)."""
        return self._pending_rows

    @property
    def pending_bytes(self) -> int:
        """How many bytes of arrays wait to be written, a write under way included (what
        ``max_pending_bytes`` bounds)."""
        return self._pending_bytes

    def add(  # noqa: PLR0913 - one logged request: id, inputs, outputs plus keyword-only latency, model, version and method
        self,
        request_id: str,
        inputs: NDArray[Any],
        outputs: Any,
        *,
        latency_seconds: float,
        model: str,
        version: str,
        method: str = "predict",
        outputs_by_method: dict[str, Any] | None = None,
    ) -> bool:
        """Queue one request's rows; False (and counted as dropped) when the buffer is full.

        ``outputs`` is the answer of ``method``; ``outputs_by_method``, when the request
        asked for several methods, holds each one's answer (logged as ``"outputs"``)."""
        rows = len(inputs)
        try:
            size = _nbytes(inputs) + _nbytes(outputs)
            if outputs_by_method is not None:
                size += sum(_nbytes(v) for m, v in outputs_by_method.items() if m != method)
        except Exception:  # an answer's own code raising: the answer was served already
            logger.exception("prediction log: request %s could not be sized; dropped", request_id)
            with self._lock:
                self.dropped_rows += rows
            return False
        with self._lock:
            if (
                self._pending_rows + rows > self.max_pending_rows
                or self._pending_bytes + size > self.max_pending_bytes
            ):
                self.dropped_rows += rows
                return False
            self._pending.append(
                _Pending(
                    request_id,
                    inputs,
                    outputs,
                    latency_seconds,
                    time.time(),
                    model,
                    version,
                    method,
                    outputs_by_method,
                    size,
                )
            )
            self._pending_rows += rows
            self._pending_bytes += size
        return True

    def _request_lines(self, p: _Pending) -> bytes:
        """One request's lines, encoded."""
        values = _values(p.outputs)
        every = (
            {m: _values(v) for m, v in p.outputs_by_method.items()} if p.outputs_by_method else None
        )
        out: list[str] = []
        for i, row in enumerate(p.inputs):
            line: dict[str, Any] = {
                "request_id": p.request_id,
                "row": i,
                "timestamp": p.stamp,
                "model": p.model,
                "version": p.version,
                "latency_seconds": p.latency,
            }
            if self.inputs == "full":
                line["inputs"] = row.tolist()
            else:
                line["input_fingerprint"] = row_fingerprint(row, self._fingerprint_key)
                line["fingerprint_keyed"] = self._fingerprint_key is not None
            line["output"] = values[i] if i < len(values) else None
            line["method"] = p.method
            if every is not None:
                line["outputs"] = {m: v[i] if i < len(v) else None for m, v in every.items()}
            out.append(_json_line(line))
            out.append("\n")
        return "".join(out).encode()

    def _chunks(self, batch: list[_Pending], bad: dict[int, BaseException]) -> Iterator[bytes]:
        """Each request's lines in turn (one request's text in memory at a time, never the
        batch's); a request whose lines cannot be written as JSON at all (an output that
        refers to itself) is left out and recorded in ``bad`` by its index, so it cannot
        keep the other requests' rows from being written."""
        for index, p in enumerate(batch):
            try:
                data = self._request_lines(p)
            except Exception as exc:
                bad[index] = exc
                continue
            yield data

    def flush(self) -> int:
        """Write every pending row as one new file; returns how many rows were written.

        Writes are serialised (one flush at a time) so batches keep their order. If the
        store fails, the rows are put back in front of the queue and the error propagates;
        the next flush tries again. A request whose rows cannot be written as JSON at all
        is dropped and counted in ``dropped_rows`` instead (it would fail again), and
        :class:`UnwritableBatch` says so once the batch's other rows are written
        (``written``).
        """
        with self._write_lock:
            # The rows being written still count against the bounds until they are
            # written: a store that fails slowly must not let a second bufferful in
            # beside the one it holds (measured: RSS grew 1.6 MB a request).
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            bad: dict[int, BaseException] = {}
            try:
                self._write(self._chunks(batch, bad))
            except BaseException:
                with self._lock:
                    self._pending[:0] = batch
                raise
            dropped = [p for i, p in enumerate(batch) if i in bad]
            rows = sum(len(p.inputs) for p in batch)
            size = sum(p.size for p in batch)
            lost = sum(len(p.inputs) for p in dropped)
            lost_size = sum(p.size for p in dropped)
            self._done(rows - lost, size - lost_size, dropped=False)
            if dropped:
                # Not the store's fault: trying again would fail the same way, and keep
                # every later row behind it. The request is dropped, and counted.
                self._done(lost, lost_size, dropped=True)
                raise UnwritableBatch(lost, next(iter(bad.values())), written=rows - lost)
            return rows

    def _done(self, rows: int, size: int, *, dropped: bool) -> None:
        with self._lock:
            self._pending_rows -= rows
            self._pending_bytes -= size
            if dropped:
                self.dropped_rows += rows
            else:
                self.written_rows += rows

    def _write(self, chunks: Iterable[bytes]) -> None:
        """Publish ``chunks`` as one new file (none when they are empty). On a local disk
        they are written one by one to a hidden temporary file, removed if anything
        fails; an object store's one put gets them as one buffer, built once."""
        self._sequence += 1
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{stamp}-{self._tag}-{self._sequence:08d}{SUFFIX}"
        path = f"{self._root}/{name}"
        if self._local:
            os.makedirs(self._root, exist_ok=True)
            temp = f"{self._root}/.{name}.tmp"
            try:
                with open(temp, "wb") as handle:
                    written = 0
                    for chunk in chunks:
                        written += handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
                if written:
                    self._check_not_abandoned()
                    os.replace(temp, path)
                else:
                    os.unlink(temp)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        else:
            data = bytearray()
            for chunk in chunks:
                data += chunk
            if data:
                self._check_not_abandoned()
                self._fs.pipe_file(path, data)

    def _check_not_abandoned(self) -> None:
        if self._abandoned:
            raise LogAbandoned("the prediction log was abandoned at shutdown; nothing published")


def _validated(line: bytes, where: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise PredictionLogError(f"{where}: not JSON ({exc})") from exc
    if not isinstance(row, dict):
        raise PredictionLogError(f"{where}: a logged prediction is a JSON object, got {row!r}")
    missing = REQUIRED_KEYS - row.keys()
    if missing:
        raise PredictionLogError(f"{where}: missing {sorted(missing)}")
    if "inputs" not in row and "input_fingerprint" not in row:
        raise PredictionLogError(f"{where}: has neither 'inputs' nor 'input_fingerprint'")
    for key, (wanted, fits) in _FIELDS.items():
        value = row.get(key, _ABSENT)
        if value is not _ABSENT and not fits(value):
            raise PredictionLogError(
                f"{where}: {key} is {brief(value)}, not {wanted}; the file was damaged or "
                "written by something else: move it out of the log to read the others"
            )
    return row


_ABSENT = object()
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _integer(value: Any) -> bool:
    """Whether ``value`` is an integer and not a truth value (``True`` is an int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond a float (strict JSON allows 10**400)
        return False


#: What a logged line's fields hold, as PredictionLog writes them (checked on reading):
#: what to say it should be, and the test of it.
_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "request_id": ("text", lambda v: isinstance(v, str)),
    "row": ("a row number (an integer >= 0)", lambda v: type(v) is int and v >= 0),
    "timestamp": ("a finite number of seconds", _number),
    "model": ("text", lambda v: isinstance(v, str)),
    "version": ("text", lambda v: isinstance(v, str)),
    "latency_seconds": ("a finite number >= 0", lambda v: _number(v) and v >= 0),
    "inputs": ("a list", lambda v: isinstance(v, list)),
    "method": ("text", lambda v: isinstance(v, str)),
    "outputs": ("an object keyed by method", lambda v: isinstance(v, dict)),
    "input_fingerprint": (
        "64 hex digits",
        lambda v: isinstance(v, str) and _HEX64.fullmatch(v) is not None,
    ),
    "fingerprint_keyed": ("true or false", lambda v: isinstance(v, bool)),
}


def log_batches(url: str, storage_options: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
    """The file system of the prediction log at ``url`` and its published batch files,
    oldest first (:func:`batch_paths`): what :func:`read_prediction_log` reads, and what a
    reader that remembers the batches it has read lists (``DriftSource``)."""
    fs, root = _filesystem(url, given_options(storage_options, "storage_options"))
    return fs, batch_paths(fs, root)


def batch_paths(fs: Any, root: str) -> list[str]:
    """The published batch files under ``root``, oldest first (their names sort by time;
    a temporary file, named with a leading dot, is not one); none for no folder."""
    try:
        return sorted(
            path
            for path in fs.find(root)
            if path.endswith(SUFFIX) and not path.rsplit("/", 1)[-1].startswith(".")
        )
    except FileNotFoundError:
        return []


def batch_rows(fs: Any, path: str) -> list[dict[str, Any]] | None:
    """The rows of the batch file ``path``, each line validated; None when it was removed
    since it was listed (a retention job: not a log's fault). A batch is published whole
    and never changed, so what is read once holds."""
    try:
        data = fs.cat_file(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PredictionLogError(
            f"{path}: the batch cannot be read ({type(exc).__name__}: {exc}); check the "
            "storage is reachable and readable, then read the log again"
        ) from exc
    return [
        _validated(line, f"{path}, line {number}")
        for number, line in enumerate(data.splitlines(), start=1)
        if line.strip()
    ]


def read_prediction_log(
    url: str, *, storage_options: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every logged prediction under ``url``, oldest batch first, each line validated.

    Returns a list of dicts with the keys described in the module docstring. A folder
    that does not exist yet holds no predictions (an empty list). Temporary files of a
    batch being written are never read, and a batch removed after the folder was listed
    (by a retention job) is skipped. A line that is not a logged prediction, or a batch
    that cannot be read, raises :class:`PredictionLogError` naming the file (and line).

    Examples
    --------
    >>> from modelship.deploy.serve import read_prediction_log
    >>> read_prediction_log("memory://no-predictions-yet")
    []
    """
    fs, paths = log_batches(url, storage_options)
    return [row for path in paths for row in batch_rows(fs, path) or ()]
