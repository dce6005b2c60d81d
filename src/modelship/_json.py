"""JSON in one place: canonical bytes for signing, strict documents, and their versions.

Every document modelship writes (manifests, drift profiles, schemas, suite results, parity
reports, rollout records) goes through here, so there is one notion of "plain JSON": no
NaN or infinity (strict JSON), non-finite numbers written as ``null`` in reports, and a
``schema_version`` that a reader checks before trusting the rest.

This module is a leaf: it imports nothing from modelship but the exception tree.

Examples
--------
>>> from modelship import _json
>>> _json.canonical_json({"b": 1, "a": [1.5, None]})
b'{"a":[1.5,null],"b":1}'
>>> doc = _json.loads(_json.dumps({"schema_version": 1, "score": float("nan")}), "report")
>>> doc
{'schema_version': 1, 'score': None}
>>> _json.check_schema_version(doc, supported=1, what="report")
1
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import reprlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from modelship.errors import ConfigError, ModelshipError

__all__ = [
    "JSONValue",
    "NewerVersionError",
    "canonical_json",
    "check_schema_version",
    "dumps",
    "jsonable",
    "loads",
    "malformed",
    "newer_version",
    "number_text",
    "pretty",
]

JSONValue = Any
"""A value that survives ``json.dumps(..., allow_nan=False)`` and comes back equal."""


def canonical_json(obj: JSONValue) -> bytes:
    """Serialise ``obj`` deterministically (sorted keys, no spaces, no NaN): bytes to sign.

    Raises
    ------
    ConfigError
        If ``obj`` holds something JSON cannot carry exactly (NaN, a set, an object).

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.5, None]})
    b'{"a":[1.5,null],"b":1}'
    """
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"value is not JSON-serialisable without loss: {exc}") from exc


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types for a report; non-finite floats become ``None``.

    Enums become their values, NumPy scalars and arrays the Python values and lists they
    stand for (``np.False_`` is ``false``, not the text ``"False"``; ``NaT`` is ``null``),
    sets sorted lists (in the same order whatever the hash seed), and anything else JSON
    has no type for (a date) its ``str``: a report does not fail on an odd detail. Mapping
    keys become text as ``json`` writes them (``True`` as ``"true"``).

    Raises
    ------
    ConfigError
        When two keys of one mapping would be written as the same text (``1`` and
        ``"1"``: one value would be lost), when a value contains itself (or is nested
        too deep to write), or when an integer has more digits than Python writes (4300
        by default): it could not be read back either.

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"n": np.int64(3), "p": [0.5, float("inf")], 1: {"b", "a"}})
    {'n': 3, 'p': [0.5, None], '1': ['a', 'b']}
    >>> jsonable({False: None})
    {'false': None}
    >>> jsonable({"breached": np.float64(0.3) < 0.05})
    {'breached': False}
    >>> jsonable({1: "int", "1": "text"})
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: two keys of one mapping, 1 and '1', are both written as ...
    """
    try:
        return _jsonable(value)
    except RecursionError:
        raise ConfigError(
            "a value contains itself, or is nested too deep, to be written as JSON; give "
            "the report plain figures and names"
        ) from None


def _jsonable(value: Any) -> Any:  # noqa: PLR0911 - one early return per JSON-convertible type, in priority order
    if isinstance(value, np.ma.MaskedArray):  # masked cells (np.ma.masked too) are missing
        masked, data = np.ma.getmaskarray(value), np.ma.getdata(value)
        if data.ndim == 0:
            return None if masked[()] else _jsonable(data[()])
        value = data.astype(object)
        value[masked] = None
    if isinstance(value, np.ndarray) and value.ndim == 0:  # np.array(True): no items
        value = value[()]
    # Before the checks below: np.True_ is no bool, nor np.datetime64("NaT") None, until
    # converted (else written as the text "True", which reads back as true even if False).
    if isinstance(value, np.generic):
        value = _scalar(value)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, int) and not isinstance(value, bool):
        return _writable(int(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return _object(value)
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(item) for item in value]
    if isinstance(value, set | frozenset):
        return _sorted([_jsonable(item) for item in value])
    if type(value).__name__ in _MISSING_TYPES:  # pandas' NaT and NA (pandas not imported)
        return None
    return str(value)


# The types of pandas' missing values, written as null as NumPy's NaT is.
_MISSING_TYPES = frozenset({"NaTType", "NAType"})


def _object(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """A mapping as a JSON object; refuses two keys written as the same text."""
    out: dict[str, Any] = {}
    for key, item in mapping.items():
        text = key if type(key) is str else _key(key)
        if text in out:
            first = next(other for other in mapping if _key(other) == text)
            raise ConfigError(
                f"two keys of one mapping, {reprlib.repr(first)} and {reprlib.repr(key)}, "
                f"are both written as {reprlib.repr(text)} in JSON, so one value would be "
                "lost; give them distinct keys"
            )
        out[text] = _jsonable(item)
    return out


def _scalar(value: np.generic) -> Any:
    """A NumPy scalar as the Python value it stands for: ``item()`` (``np.True_`` as
    ``True``, ``NaT`` as ``None``), but for what ``item()`` keeps a number of: a
    ``np.longdouble`` (itself: a float here), and a ``np.datetime64`` or ``np.timedelta64``
    in nanoseconds or finer, or out of the range of Python's dates (a count of its unit:
    its text here, as a date's)."""
    if isinstance(value, np.floating):
        return float(value)
    item = value.item()
    if isinstance(value, np.datetime64 | np.timedelta64) and isinstance(item, int):
        return str(value)
    return item


def _key(key: Any) -> str:
    """A mapping key as ``json`` writes it: text as it is, ``True`` as ``"true"``."""
    if isinstance(key, np.generic):
        key = _scalar(key)
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    if isinstance(key, int):
        _writable(key)
    return str(key)


# No limit on the digits Python writes may be set below 640 (2,126 bits): an int under
# 2**2000 is always written, and only a longer one is tried.
_ALWAYS_WRITTEN_BITS = 2_000


def _writable(number: int) -> int:
    """``number`` itself, or a :class:`ConfigError` when Python would refuse to write it:
    an int of more than ``sys.get_int_max_str_digits()`` digits (4300 by default), which
    ``json`` raises a bare ``ValueError`` for, and which no JSON reader in Python could
    read back."""
    if number.bit_length() > _ALWAYS_WRITTEN_BITS:
        try:
            str(number)
        except ValueError:
            digits = int(number.bit_length() * math.log10(2)) + 1
            raise ConfigError(
                f"an integer of about {digits:,} digits cannot be written as JSON: Python "
                "writes and reads back integers of at most 4300 digits by default "
                "(sys.get_int_max_str_digits()); give the report a shorter figure, such as "
                "a float or the number of digits"
            ) from None
    return number


def _sorted(items: list[Any]) -> list[Any]:
    """The items of a set in one order whatever the hash seed: their own order when they
    have one, else the order of their JSON text (a set of mixed types)."""
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def dumps(document: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """Return a document as strict JSON text (see :func:`jsonable`), keys in their order.

    Raises :class:`~modelship.errors.ConfigError` where :func:`jsonable` does.

    Examples
    --------
    >>> dumps({"b": float("nan"), "a": "é"}, indent=None)
    '{"b": null, "a": "é"}'
    """
    return json.dumps(jsonable(document), indent=indent, ensure_ascii=False, allow_nan=False)


def pretty(data: JSONValue) -> str:
    """Return JSON for people and pipes alike: indented, keys sorted, ASCII only.

    Strict JSON whatever the numbers: integers are written exactly, and non-finite
    floats as ``null`` (see :func:`jsonable`). Only an integer of more digits than Python
    writes (4300 by default) is a :class:`~modelship.errors.ConfigError`.

    Examples
    --------
    >>> print(pretty({"b": 1, "a": "é"}))
    {
      "a": "\\u00e9",
      "b": 1
    }
    >>> pretty({"huge": 10**40, "inf": float("inf")}).split()
    ['{', '"huge":', '10000000000000000000000000000000000000000,', '"inf":', 'null', '}']
    """
    return json.dumps(jsonable(data), indent=2, sort_keys=True, allow_nan=False)


def number_text(value: float | int) -> str:
    """A number for people in six significant digits, even an integer too big for a float.

    Examples
    --------
    >>> number_text(0.912345678), number_text(10**400), number_text(3)
    ('0.912346', '1e+400', '3')
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        digits = str(abs(value))
        exponent = len(digits) - 1
        mantissa = format(float(f"{digits[0]}.{digits[1:17]}"), ".6g")
        if mantissa == "10":  # 9.9999995... rounded up
            mantissa, exponent = "1", exponent + 1
        return f"{'-' if value < 0 else ''}{mantissa}e+{exponent}"
    return format(value, ".6g")


def loads(
    text: str | bytes,
    what: str,
    *,
    error: type[ModelshipError] = ConfigError,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Parse JSON text holding an object.

    ``error`` is the exception a caller's readers raise for a bad document (parity's
    documents raise :class:`~modelship.parity.SnapshotError`); ``object_pairs_hook`` builds
    each object, as ``json.loads``'s does (a :class:`~modelship.ModelshipError` it raises,
    refusing a repeated key, passes through as raised).

    Raises
    ------
    ConfigError
        Naming ``what``, if the text is not JSON or not an object (``error`` if given).

    Examples
    --------
    >>> loads('{"a": 1}', "profile")
    {'a': 1}
    >>> loads("[1]", "profile")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: the profile must be a JSON object, got list
    >>> from modelship.errors import StoreError
    >>> loads("{", "manifest", error=StoreError)
    Traceback (most recent call last):
    ...
    modelship.errors.StoreError: the manifest is not valid JSON: Expecting ...

    ``NaN``, ``Infinity`` and ``-Infinity``, which Python's ``json`` reads but strict JSON
    does not have, are refused: no document modelship writes holds them (:func:`dumps`
    writes a non-finite number as ``null``), and read as numbers they would turn a
    check off (a ``NaN`` bound that no value is outside).

    >>> loads('{"columns": [{"minimum": NaN}]}', "schema")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: the schema holds NaN at columns[0].minimum, which is ...
    """
    constants: list[str] = []

    def non_finite(name: str) -> _NonFinite:
        constants.append(name)
        return _NonFinite(name)

    try:
        document = json.loads(text, parse_constant=non_finite, object_pairs_hook=object_pairs_hook)
    except ModelshipError:  # the hook's own refusal (a ConfigError is a ValueError too)
        raise
    except (ValueError, RecursionError) as exc:  # deep nesting: not a document of ours
        raise error(f"the {what} is not valid JSON: {exc}") from exc
    if constants:  # looked for only when there is one: no walk over every document
        try:
            where = _non_finite_path(document) or "?"
        except RecursionError:  # nested about as deep as the parser allows
            where = "a deeply nested field"
        raise error(
            f"the {what} holds {constants[0]} at {where}, which is not a JSON number: "
            "documents hold no NaN or infinity; write a finite number there (or null "
            "where the field allows it), or write the document again with its to_json"
        )
    if not isinstance(document, dict):
        raise error(f"the {what} must be a JSON object, got {type(document).__name__}")
    return document


class _NonFinite:
    """Where the parser met ``NaN``, ``Infinity`` or ``-Infinity``: found, then refused."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _non_finite_path(value: Any, path: str = "") -> str | None:
    """The path (``columns[0].minimum``) of the first :class:`_NonFinite` in ``value``."""
    if isinstance(value, _NonFinite):
        return path or "the top level"
    items: Any = ()
    if isinstance(value, dict):
        items = ((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    for where, item in items:
        found = _non_finite_path(item, where)
        if found is not None:
            return found
    return None


@contextlib.contextmanager
def malformed(what: str, hint: str, *, error: type[ModelshipError] = ConfigError) -> Iterator[None]:
    """Turn what reading a document's fields raises for a field of the wrong JSON type
    (``KeyError``, ``TypeError``, ``ValueError``, ``AttributeError``, or ``OverflowError``
    for a number too large for its field) into ``error``.

    Our own errors pass unchanged: they already say what was wrong.

    Examples
    --------
    >>> with malformed("schema", "write it with Schema.to_json"):
    ...     [column["name"] for column in [5]]
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: malformed schema: TypeError: 'int' object is not ...
    """
    try:
        yield
    except ModelshipError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise error(f"malformed {what}: {type(exc).__name__}: {exc}; {hint}") from exc


class NewerVersionError(ConfigError):
    """A document refused for being written by a newer modelship: its ``schema_version`` is
    newer than this one reads (the advice: upgrade), not malformed or of another kind.

    A :class:`~modelship.errors.ConfigError`, as any refused document is; its own type
    lets a reader that wraps the error (:func:`newer_version`) and the command line (which
    then says to upgrade, not to give another file) tell it from the others.

    Examples
    --------
    >>> try:
    ...     check_schema_version({"schema_version": 3}, supported=2, what="report")
    ... except ConfigError as exc:
    ...     print(isinstance(exc, NewerVersionError))
    True
    """


def check_schema_version(document: Mapping[str, Any], supported: int, what: str) -> int:
    """Return the document's ``schema_version`` if this code reads it.

    Raises
    ------
    ConfigError
        If the version is missing or not an integer; a :class:`NewerVersionError` if it is
        newer than ``supported``.

    Examples
    --------
    >>> check_schema_version({"schema_version": 1}, supported=2, what="report")
    1
    >>> check_schema_version({"schema_version": 3}, supported=2, what="report")
    Traceback (most recent call last):
    ...
    modelship._json.NewerVersionError: the report has schema_version 3, newer than the 2 ...
    """
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"the {what} has no integer 'schema_version'")
    if version > supported:
        raise NewerVersionError(
            f"the {what} has schema_version {version}, newer than the {supported} this "
            "modelship reads; upgrade modelship"
        )
    return version


def newer_version(error: ConfigError, cause: BaseException) -> ConfigError:
    """``error``, the error of a reader that wraps ``cause`` (the error of a document it
    embeds), as a :class:`NewerVersionError` if ``cause`` is one: it keeps what it says
    (upgrade). Otherwise ``error`` itself.

    Examples
    --------
    >>> inner = NewerVersionError("the schema has schema_version 9 ...")
    >>> newer_version(ConfigError("malformed profile: ..."), inner)
    NewerVersionError('malformed profile: ...')
    >>> newer_version(ConfigError("x"), ConfigError("y"))
    ConfigError('x')
    """
    if isinstance(cause, NewerVersionError) and not isinstance(error, NewerVersionError):
        return NewerVersionError(*error.args)
    return error
