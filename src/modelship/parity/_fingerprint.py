"""A stable fingerprint of a preprocessing configuration or fitted transformer.

Invariant: the fingerprint depends on what the object *is* (its type, its parameters,
its fitted state), never on how Python pickles it, so the same scaler fitted on the same
data has the same fingerprint in every process, on every machine. Pickle bytes are not
stable (memo numbering, protocol, library internals) and are never hashed.

A scikit-learn-like object (one with ``get_params()``) is described by its qualified type
name, its parameters (``get_params(deep=False)``; nested estimators recursively) and its
fitted attributes (public attributes ending in ``_``, such as ``mean_`` and ``scale_``);
arrays are hashed by :func:`modelship.fingerprint`. A plain mapping is a configuration.
Each parameter and attribute is hashed as a separate *part*, so two fingerprints can say
which parts differ.
"""

from __future__ import annotations

import enum
import hashlib
import inspect
import json
import math
import random
import reprlib
import types
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from modelship._fingerprint import fingerprint
from modelship.errors import ConfigError
from modelship.parity._errors import SnapshotError
from modelship.parity._installed import unicode_text
from modelship.parity._json import JsonDocument

__all__ = ["FINGERPRINT_SCHEMA_VERSION", "PreprocessingFingerprint", "fingerprint_preprocessing"]

FINGERPRINT_SCHEMA_VERSION = 1
"""Version of the JSON layout written by :meth:`PreprocessingFingerprint.to_json`."""

_MAX_DEPTH = 64  # nesting of pipelines in pipelines; deeper is a cycle we failed to see


def _sha256(document: Any) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # "surrogatepass": a lone surrogate (a file name that is not UTF-8, as os.listdir
    # decodes it) gets bytes of its own, which no other text has; text without one is
    # encoded as plain UTF-8, so every fingerprint stored before is unchanged.
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _is_estimator(obj: Any) -> bool:
    return not isinstance(obj, type) and callable(getattr(obj, "get_params", None))


_BOUND_TYPES = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)


def _bound_to_instance(value: Any) -> bool:
    """Whether ``value`` is a method bound to an instance (``scaler.transform``,
    ``mapping.get``). A builtin function's ``__self__`` is its module (``math.log``), a
    classmethod's its class, a random generator's method's the generator (whose state only
    its type describes; ``random.random`` is a method of the module's hidden generator):
    those are identified by their name, so their fingerprints stored
    before are unchanged."""
    if not isinstance(value, _BOUND_TYPES):
        return False
    owner = getattr(value, "__self__", None)
    return owner is not None and not isinstance(
        owner,
        (types.ModuleType, type, np.random.RandomState, np.random.Generator, random.Random),
    )


def _fitted(obj: Any) -> dict[str, Any]:
    attributes = getattr(obj, "__dict__", {})
    return {
        name: value
        for name, value in sorted(attributes.items())
        if name.endswith("_") and not name.startswith("_")
    }


@attrs.define
class _Canon:
    """Turns a value into a JSON document that is equal exactly when the values are."""

    active: set[int] = attrs.field(factory=set)

    def __call__(self, value: Any, depth: int = 0) -> Any:  # noqa: PLR0911, PLR0912 - one return per value type fingerprinted, in priority order
        if depth > _MAX_DEPTH:
            raise ConfigError(f"cannot fingerprint: objects nest more than {_MAX_DEPTH} deep")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return {"int": str(value)}
        if isinstance(value, float):
            return {"float": repr(value) if not math.isnan(value) else "nan"}
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {"bytes": hashlib.sha256(bytes(value)).hexdigest()}
        if isinstance(value, enum.Enum):
            return {"enum": _qualname(type(value)), "name": value.name}
        if isinstance(value, np.generic):
            return {"scalar": fingerprint(np.asarray(value))}
        if isinstance(value, types.ModuleType):  # a module a local function imported
            return {"module": value.__name__}
        if isinstance(value, types.FunctionType):
            return self._function(value, depth)
        if _bound_to_instance(value):
            return self._method(value, depth)
        if isinstance(value, (type, np.ufunc)) or (
            callable(value) and hasattr(value, "__qualname__") and not _is_estimator(value)
        ):
            return {"ref": _qualname(value)}
        if isinstance(value, (np.random.RandomState, np.random.Generator)):
            # A generator's state moves each time it is used: only its type is stable.
            return {"rng": _qualname(type(value))}
        key = id(value)
        if key in self.active:
            raise ConfigError("cannot fingerprint an object that contains itself")
        self.active.add(key)
        try:
            return self._container(value, depth + 1)
        finally:
            self.active.discard(key)

    def _function(self, function: types.FunctionType, depth: int) -> Any:
        """A function's name and, when its name does not identify it (a lambda, a
        function made in a function), what tells it from another of that name: its
        defaults, the values it captured, and its code's names and constants.

        The bytecode is never hashed: it changes between Python versions, and a
        fingerprint taken in training is compared with one taken in production.
        """
        ref = _qualname(function)
        anonymous = "<lambda>" in function.__qualname__ or "<locals>" in function.__qualname__
        if not anonymous or id(function) in self.active:
            # A module's function is identified by its name, as its defaults are by its
            # source (and a library's hold sentinels with no stable description): its
            # fingerprint is unchanged. The second case: a local function that calls itself.
            return {"ref": ref}
        self.active.add(id(function))
        try:
            document: dict[str, Any] = {"ref": ref}
            if function.__defaults__:
                document["defaults"] = self(function.__defaults__, depth + 1)
            if function.__kwdefaults__:
                document["kwdefaults"] = self(function.__kwdefaults__, depth + 1)
            if function.__closure__:
                names = function.__code__.co_freevars
                document["closure"] = {
                    name: self._captured(ref, name, cell, depth + 1)
                    for name, cell in zip(names, function.__closure__, strict=True)
                }
            document["code"] = _code(function.__code__)
            return document
        finally:
            self.active.discard(id(function))

    def _method(self, method: Any, depth: int) -> Any:
        """A method bound to an instance: its function and the instance, which tells
        ``a.transform`` from ``b.transform`` (refused, as a captured value is, when the
        instance has no stable description)."""
        function = getattr(method, "__func__", None)
        return {
            "method": self(function, depth + 1)
            if isinstance(function, types.FunctionType)
            else {"ref": _qualname(method)},
            "self": self(method.__self__, depth + 1),
        }

    def _captured(self, ref: str, name: str, cell: types.CellType, depth: int) -> Any:
        try:
            value = cell.cell_contents
        except ValueError:  # a local the enclosing function has not assigned (yet)
            return {"empty_cell": True}
        try:
            return self(value, depth)
        except ConfigError as error:
            raise ConfigError(
                f"cannot fingerprint the function {ref}: what it captured as {name!r} has no "
                f"stable description ({error}); let it capture numbers, strings, arrays or "
                "scikit-learn-like objects, or fingerprint its configuration as a mapping"
            ) from error

    def _container(self, value: Any, depth: int) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                return {
                    "object_array": list(value.shape),
                    "items": [self(item, depth) for item in value.ravel(order="C")],
                }
            if not value.dtype.isnative:
                # The same values stored big-endian ('>f8') are the same values: as the
                # native array, whose fingerprint (that of every native array) is unchanged.
                value = value.astype(value.dtype.newbyteorder("="))
            return {"array": fingerprint(value)}
        if isinstance(value, (list, tuple)):
            return {type(value).__name__: [self(item, depth) for item in value]}
        if isinstance(value, (set, frozenset)):
            items = [self(item, depth) for item in value]
            return {"set": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
        if isinstance(value, Mapping):
            pairs = [[self(k, depth), self(v, depth)] for k, v in value.items()]
            return {"dict": sorted(pairs, key=lambda pair: json.dumps(pair[0], sort_keys=True))}
        if _is_estimator(value):
            return {
                "estimator": _qualname(type(value)),
                "params": self(_params(value), depth),
                "fitted": self(_fitted(value), depth),
            }
        raise ConfigError(
            f"cannot fingerprint a {_qualname(type(value))}: give a scikit-learn-like object "
            "(with get_params), a mapping, or numbers, strings and arrays"
        )


def _code(code: types.CodeType) -> dict[str, Any]:
    """What a code object says apart from its bytecode, with nested code (an inner
    lambda, a comprehension) merged in: names, variables and constants as sorted sets, so
    that Python versions that inline a comprehension (3.12) or move the docstring out of
    the constants agree wherever the source does. ``None`` is left out of the constants
    for that reason (some versions store it for every function, some do not)."""
    names: set[str] = set()
    variables: set[str] = set()
    constants: set[str] = set()
    pending = [code]
    while pending:  # code objects nest as a tree written in the source: no cycle
        current = pending.pop()
        names.update(current.co_names)
        variables.update(
            variable  # ".0": a comprehension's iterator, gone where comprehensions are inlined
            for variable in (*current.co_varnames, *current.co_cellvars, *current.co_freevars)
            if not variable.startswith(".")
        )
        for constant in current.co_consts:
            if isinstance(constant, types.CodeType):
                pending.append(constant)
            elif constant is not None:
                constants.add(_constant(constant))
    flags = code.co_flags
    return {
        "args": list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]),
        "posonly": code.co_posonlyargcount,
        "kwonly": code.co_kwonlyargcount,
        "varargs": bool(flags & inspect.CO_VARARGS),
        "varkw": bool(flags & inspect.CO_VARKEYWORDS),
        "names": sorted(names),
        "variables": sorted(variables),
        "constants": sorted(constants),
    }


def _constant(constant: object) -> str:
    """A code constant as text: its type and repr, which are the same in every process
    (a frozenset's items sorted, as its iteration order follows string hashing)."""
    if isinstance(constant, frozenset):
        return f"frozenset:[{','.join(sorted(_constant(item) for item in constant))}]"
    if isinstance(constant, tuple):
        return f"tuple:[{','.join(_constant(item) for item in constant)}]"
    return f"{type(constant).__name__}:{constant!r}"


def _params(obj: Any) -> dict[str, Any]:
    """``obj.get_params(deep=False)``, checked: scikit-learn's are keyword names."""
    params = obj.get_params(deep=False)
    if not isinstance(params, Mapping) or not all(isinstance(key, str) for key in params):
        shown = list(params) if isinstance(params, Mapping) else params
        raise ConfigError(
            f"cannot fingerprint a {_qualname(type(obj))}: its get_params() must return a "
            f"mapping of parameter names (strings) to values, got {reprlib.repr(shown)}"
        )
    return dict(params)


def _part(prefix: str, name: object) -> str:
    """A part's name: what is not Unicode in ``name`` (a lone surrogate, as a file name
    that is not UTF-8 decodes to) escaped, so that the fingerprint's JSON reads back."""
    return unicode_text(f"{prefix}.{name}")


def _parts(obj: Any) -> tuple[str, dict[str, str]]:
    canon = _Canon()
    if _is_estimator(obj):
        params, fitted = _params(obj), _fitted(obj)
        parts = {
            _part("params", name): _sha256(canon(value)) for name, value in sorted(params.items())
        }
        parts.update(
            {_part("fitted", name): _sha256(canon(value)) for name, value in fitted.items()}
        )
        named = list(params) + list(fitted)
        kind = _qualname(type(obj))
    elif isinstance(obj, Mapping):
        parts = {_part("config", key): _sha256(canon(value)) for key, value in obj.items()}
        named, kind = list(obj), "mapping"
    else:
        return unicode_text(_qualname(type(obj))), {"value": _sha256(canon(obj))}
    if len(parts) != len(named):  # 0 and "0" would be one part, and one value ignored
        raise ConfigError(
            f"cannot fingerprint a {kind} whose names {reprlib.repr(named)} name one part "
            "twice (as 0 and '0', or a lone surrogate and its escaped spelling); use "
            "distinct keys"
        )
    return unicode_text(kind), parts


def _sorted_parts(parts: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted(parts.items()))


@attrs.frozen(kw_only=True)
class PreprocessingFingerprint:
    """The fingerprint of a preprocessing object: one digest, and one per part.

    Parameters
    ----------
    kind : str
        The object's qualified type name (``"mapping"`` for a configuration).
    parts : Mapping[str, str]
        ``"params.<name>"``, ``"fitted.<name>"`` or ``"config.<key>"`` to a digest.
    digest : str
        ``"sha256:<hex>"`` over ``kind`` and every part.

    Examples
    --------
    >>> from modelship.parity import fingerprint_preprocessing
    >>> a = fingerprint_preprocessing({"scale": 2.0, "columns": ["age"]})
    >>> b = fingerprint_preprocessing({"columns": ["age"], "scale": 2.5})
    >>> a == fingerprint_preprocessing({"columns": ["age"], "scale": 2.0}), a.diff(b)
    (True, ('config.scale',))
    """

    kind: str
    parts: Mapping[str, str] = attrs.field(converter=_sorted_parts)
    digest: str

    def diff(self, other: PreprocessingFingerprint) -> tuple[str, ...]:
        """Return the parts that differ, or exist in only one of the two, sorted.

        ``("kind",)`` when the objects are of different types.

        Raises
        ------
        ConfigError
            When ``other`` is not a :class:`PreprocessingFingerprint`.

        Examples
        --------
        >>> from modelship.parity import fingerprint_preprocessing
        >>> fingerprint_preprocessing({"a": 1}).diff(fingerprint_preprocessing([1]))
        ('kind',)
        >>> fingerprint_preprocessing({"a": 1}).diff({"a": 1})
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: diff() compares with a PreprocessingFingerprint ...
        """
        if not isinstance(other, PreprocessingFingerprint):
            raise ConfigError(
                "diff() compares with a PreprocessingFingerprint (fingerprint_preprocessing("
                "obj), or PreprocessingFingerprint.from_json(text) for a stored one), got "
                f"{type(other).__name__}"
            )
        if self.kind != other.kind:
            return ("kind",)
        names = set(self.parts) | set(other.parts)
        return tuple(sorted(n for n in names if self.parts.get(n) != other.parts.get(n)))

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the fingerprint as JSON text.

        Examples
        --------
        >>> from modelship.parity import PreprocessingFingerprint, fingerprint_preprocessing
        >>> fp = fingerprint_preprocessing({"a": 1})
        >>> PreprocessingFingerprint.from_json(fp.to_json()) == fp
        True
        """
        document = {"schema_version": FINGERPRINT_SCHEMA_VERSION, **attrs.asdict(self)}
        return json.dumps(document, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> PreprocessingFingerprint:
        """Read a fingerprint written by :meth:`to_json`, validating it.

        Raises
        ------
        SnapshotError
            When the text is not such a document, or its digest does not match its parts.

        Examples
        --------
        >>> from modelship.parity import PreprocessingFingerprint
        >>> PreprocessingFingerprint.from_json('{"schema_version": 1, "kind": "mapping",'
        ...     ' "parts": {}, "digest": "sha256:0"}')
        Traceback (most recent call last):
        ...
        modelship.parity.SnapshotError: preprocessing fingerprint: the digest does not ...
        """
        doc = JsonDocument.parse(text, "preprocessing fingerprint")
        doc.schema_version(FINGERPRINT_SCHEMA_VERSION)
        kind, parts, digest = doc.text("kind"), doc.text_map("parts"), doc.text("digest")
        if _sha256({"kind": kind, "parts": parts}) != digest:
            raise SnapshotError(
                "preprocessing fingerprint: the digest does not match its parts; "
                "the document was altered"
            )
        return cls(kind=kind, parts=parts, digest=digest)


def fingerprint_preprocessing(obj: Any) -> PreprocessingFingerprint:
    """Return the stable fingerprint of a preprocessing configuration or fitted object.

    Parameters
    ----------
    obj : object
        A scikit-learn-like transformer or pipeline (anything with ``get_params()``), a
        mapping of configuration values, or a plain value (numbers, strings, arrays and
        lists or mappings of them). An array in another byte order (``>f8``) is hashed
        as the native array of its values.

    Raises
    ------
    ConfigError
        For a value with no stable description (an open file, a lock...), naming its type;
        for an object whose ``get_params()`` is not a mapping of parameter names (strings),
        or a mapping with two keys written alike (``0`` and ``"0"``).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.parity import fingerprint_preprocessing
    >>> class Scaler:
    ...     def __init__(self, with_mean=True):
    ...         self.with_mean = with_mean
    ...     def get_params(self, deep=True):
    ...         return {"with_mean": self.with_mean}
    ...     def fit(self, x):
    ...         self.mean_ = np.mean(x, axis=0)
    ...         return self
    >>> a = Scaler().fit(np.array([[1.0], [3.0]]))
    >>> b = Scaler().fit(np.array([[1.0], [5.0]]))
    >>> a.mean_, b.mean_
    (array([2.]), array([3.]))
    >>> fingerprint_preprocessing(a).diff(fingerprint_preprocessing(b))
    ('fitted.mean_',)
    """
    kind, parts = _parts(obj)
    return PreprocessingFingerprint(
        kind=kind, parts=parts, digest=_sha256({"kind": kind, "parts": dict(sorted(parts.items()))})
    )
