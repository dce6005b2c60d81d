"""How a model becomes bytes: the ``Serializer`` seam and the built-ins.

Built-ins: ``joblib`` (the default; pickles any Python object, numpy arrays efficiently),
``bytes`` (raw bytes as given) and ``numpy`` (one array in ``.npy`` format, loaded without
pickle). Third-party serializers come in through the entry point group
``modelship.serializers`` or :func:`register_serializer`.

.. warning:: Unpickling executes code. Load joblib artifacts only from registries you
   trust, and use a signing key (``open_registry(..., signing_key=...)``) so that ``load``
   refuses versions no key holder registered.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
import sys
from typing import IO, Any, ClassVar, Protocol, runtime_checkable

from modelship._hashing import CHUNK
from modelship._plugins import load_plugin, plugin, plugins
from modelship._shown import brief
from modelship.errors import ConfigError, SerializationError

__all__ = [
    "BytesSerializer",
    "JoblibSerializer",
    "LoadsWithoutCode",
    "NumpySerializer",
    "RefusedSerializer",
    "Serializer",
    "get_serializer",
    "register_serializer",
    "serializer_names",
]


@runtime_checkable
class Serializer(Protocol):
    """Turns a model into bytes on a stream and back.

    ``dump`` writes to a binary stream (never build the whole artifact in memory: the
    registry hashes and stores the stream as it is written); ``load`` reads one back.

    ``reads_sequentially`` (a class attribute, default False) declares that ``load``
    reads its stream front to back (seeking back at most a few bytes, as ``np.load`` does
    after its magic string). The registry then streams the artifact to it, each 8 MiB
    piece once its digest is checked, so hashing and deserialising overlap; otherwise it
    checks the whole artifact first and hands ``load`` a seekable file. Subclass
    ``Serializer`` to inherit the default, or declare
    ``reads_sequentially: ClassVar[bool] = True``. A class that implements the methods
    without subclassing or declaring it is still accepted (and reads as False): it is
    wrapped once, when it is registered or looked up.

    Examples
    --------
    >>> import io
    >>> class Utf8:
    ...     name = "utf8"
    ...     media_type = "text/plain"
    ...     def dump(self, obj, fp): fp.write(obj.encode())
    ...     def load(self, fp): return fp.read().decode()
    ...     def library_versions(self): return {}
    >>> register_serializer(Utf8())
    >>> get_serializer("utf8").media_type, get_serializer("utf8").reads_sequentially
    ('text/plain', False)
    >>> class Lines(Serializer):  # subclassing: reads_sequentially is inherited
    ...     name = "lines-doc"
    ...     media_type = "text/plain"
    ...     def dump(self, obj, fp): fp.write("\\n".join(obj).encode())
    ...     def load(self, fp): return fp.read().decode().split("\\n")
    ...     def library_versions(self): return {}
    >>> Lines.reads_sequentially
    False
    >>> get_serializer("joblib").reads_sequentially  # streamed to load, checked piece by piece
    True
    """

    name: str
    media_type: str
    reads_sequentially: ClassVar[bool] = False

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        """Write ``obj`` to ``fp``."""

    def load(self, fp: IO[bytes]) -> Any:
        """Read an object back from ``fp``."""

    def library_versions(self) -> dict[str, str]:
        """Versions of the libraries whose format the bytes depend on (recorded)."""


@runtime_checkable
class LoadsWithoutCode(Protocol):
    """A serializer that declares its ``load`` runs no code from the bytes (no pickle).

    ``load(..., allow_pickle=False)`` accepts only serializers that declare
    ``loads_without_code: ClassVar[bool] = True``: the built-in ``bytes`` and ``numpy``.

    Examples
    --------
    >>> isinstance(NumpySerializer(), LoadsWithoutCode), NumpySerializer.loads_without_code
    (True, True)
    >>> isinstance(JoblibSerializer(), LoadsWithoutCode)
    False
    """

    loads_without_code: ClassVar[bool]


class RefusedSerializer(SerializationError):
    """``load`` refused an artifact: its serializer may run code, or is not the one pinned.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-refused-serializer")
    >>> _ = reg.register(model_name="fraud", model={"coef": [1.5]}, serializer="joblib")
    >>> reg.load("fraud", "1", allow_pickle=False)
    Traceback (most recent call last):
    ...
    modelship.registry.RefusedSerializer: fraud 1 is stored with serializer 'joblib', ...
    >>> reg.load("fraud", "1", serializer="numpy")
    Traceback (most recent call last):
    ...
    modelship.registry.RefusedSerializer: fraud 1 is stored with serializer 'joblib', ...
    """


def check_allowed(
    codec: Serializer, what: str, *, allow_pickle: bool, pinned: Serializer | None
) -> None:
    """Raise :class:`RefusedSerializer` unless ``codec`` may read ``what`` for this caller.

    Decided before a byte is read, from what the caller allows, never from the manifest
    alone (a manifest can be rewritten to name a pickling serializer).

    Examples
    --------
    >>> check_allowed(NumpySerializer(), "m 1", allow_pickle=False, pinned=None)
    >>> check_allowed(JoblibSerializer(), "m 1", allow_pickle=False, pinned=None)
    Traceback (most recent call last):
    ...
    modelship.registry.RefusedSerializer: m 1 is stored with serializer 'joblib', ...
    """
    if pinned is not None and pinned.name != codec.name:
        raise RefusedSerializer(
            f"{what} is stored with serializer {codec.name!r}, not the {pinned.name!r} this "
            "load pinned; refusing to read it. Its manifest names another format than you "
            "expect: check who registered it"
        )
    if not allow_pickle and not (isinstance(codec, LoadsWithoutCode) and codec.loads_without_code):
        raise RefusedSerializer(
            f"{what} is stored with serializer {codec.name!r}, which may run code when it "
            "loads (pickle), and this load passed allow_pickle=False; refusing to read it. "
            "Load it with allow_pickle=True only if you trust everyone who can write to the "
            "registry (or open it with a signing_key)"
        )


def pinned_codec(pinned: Serializer, stored: str, what: str) -> Serializer:
    """``pinned``, the serializer a load pinned, if the manifest of ``what`` names it
    (``stored``); else :class:`RefusedSerializer`.

    Compared by name before the stored name is looked up: a manifest naming a serializer
    unknown here (or one an entry point would import) is refused as any other name is,
    and the pinned object itself reads the artifact, registered or not.

    Examples
    --------
    >>> pinned_codec(NumpySerializer(), "numpy", "m 1").name
    'numpy'
    >>> pinned_codec(NumpySerializer(), "evil-format", "m 1")
    Traceback (most recent call last):
    ...
    modelship.registry.RefusedSerializer: m 1 is stored with serializer 'evil-format', ...
    """
    if stored != pinned.name:
        raise RefusedSerializer(
            f"{what} is stored with serializer {brief(stored)}, not the {pinned.name!r} this "
            "load pinned; refusing to read it. Its manifest names another format than you "
            "expect: check who registered it"
        )
    return pinned


@runtime_checkable
class _Shape(Protocol):
    """What every serializer must have; ``reads_sequentially`` may be left undeclared."""

    name: str
    media_type: str

    def dump(self, obj: Any, fp: IO[bytes]) -> None: ...

    def load(self, fp: IO[bytes]) -> Any: ...

    def library_versions(self) -> dict[str, str]: ...


class _Undeclared(Serializer):
    """A serializer that does not declare ``reads_sequentially``: it reads as False.

    What else it declares is carried through: ``loads_without_code`` decides whether
    ``load(..., allow_pickle=False)`` reads it.

    Examples
    --------
    >>> class Text:
    ...     name = "text-undeclared-doc"
    ...     media_type = "text/plain"
    ...     loads_without_code = True
    ...     def dump(self, obj, fp): fp.write(obj.encode())
    ...     def load(self, fp): return fp.read().decode()
    ...     def library_versions(self): return {}
    >>> wrapped = _Undeclared(Text())
    >>> wrapped.reads_sequentially, isinstance(wrapped, LoadsWithoutCode)
    (False, True)
    >>> check_allowed(wrapped, "m 1", allow_pickle=False, pinned=None)
    """

    def __init__(self, inner: _Shape) -> None:
        self.inner = inner
        self.name = inner.name
        self.media_type = inner.media_type
        if isinstance(inner, LoadsWithoutCode):
            self.loads_without_code = inner.loads_without_code

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        self.inner.dump(obj, fp)

    def load(self, fp: IO[bytes]) -> Any:
        return self.inner.load(fp)

    def library_versions(self) -> dict[str, str]:
        return self.inner.library_versions()


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A serializer's name: recorded in every manifest it writes and looked up by it on
``load``, so it follows the alphabet and length of the names users choose
(:mod:`modelship._names`): no lookalike letters, spaces or control characters."""


def _check_shape(serializer: _Shape, what: str) -> None:
    """Raise ConfigError unless ``serializer``'s name and media type can be recorded and
    looked up again."""
    name, media_type = serializer.name, serializer.media_type
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{what} has the name {name!r}; a serializer's name must be a string of 1 to 64 "
            "ASCII letters, digits, '.', '_' and '-', starting with a letter or digit (it is "
            "recorded in each manifest, and load looks the serializer up by it)"
        )
    printable = isinstance(media_type, str) and media_type.isascii() and media_type.isprintable()
    if not printable or not media_type:
        raise ConfigError(
            f"serializer {name!r} has the media type {media_type!r}; it must be a non-empty "
            "string of printable ASCII characters, such as 'application/octet-stream'"
        )


def _declared(serializer: object, what: str) -> Serializer:
    """``serializer`` with ``reads_sequentially`` declared; ConfigError if it is none, or
    its name or media type could not be recorded."""
    if not isinstance(serializer, _Shape):
        raise ConfigError(
            f"{what} is not a Serializer: it needs name, media_type, dump, load and "
            "library_versions"
        )
    _check_shape(serializer, what)
    return serializer if isinstance(serializer, Serializer) else _Undeclared(serializer)


def library_versions_of(serializer: Serializer) -> dict[str, str]:
    """``serializer.library_versions()``, checked to be a ``dict[str, str]`` to record.

    Anything it raises, or anything else it returns, is a
    :class:`~modelship.SerializationError` naming the serializer.

    Examples
    --------
    >>> library_versions_of(NumpySerializer()) == {"numpy": _version("numpy")}
    True
    """
    try:
        versions = serializer.library_versions()
    except Exception as exc:
        raise SerializationError(
            f"serializer {serializer.name!r}: library_versions() raised {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(versions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in versions.items()
    ):
        raise SerializationError(
            f"serializer {serializer.name!r}: library_versions() returned {versions!r:.200}; "
            "it must return a dict of library names to version strings, such as "
            "{'numpy': '2.1.0'} (or {} if the bytes depend on no library)"
        )
    return dict(versions)


def _version(dist: str) -> str:
    """The version of ``dist`` this process runs: an imported module's ``__version__``.

    The module in memory is what writes the artifact, even if another version was
    installed since it was imported; and reading the attribute costs nothing, where a
    metadata lookup scans ``sys.path`` (about 1.3 ms each, measured). A module not yet
    imported (or without a version string) is looked up in the installed metadata.

    Examples
    --------
    >>> import numpy
    >>> _version("numpy") == numpy.__version__
    True
    """
    module = sys.modules.get(dist)
    version = getattr(module, "__version__", None) if module is not None else None
    if isinstance(version, str) and version:
        return version
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _joblib_pickler() -> Any:
    """joblib's pickler, writing a contiguous array's own memory instead of copies of it.

    ``joblib.dump`` writes each array as 16 MiB ``tobytes()`` copies (a memory copy of the
    whole model, and fresh pages to touch, on every registration). This subclass writes
    the same bytes as views of the array, in the same order: the file is byte for byte
    what ``joblib.dump`` writes (tested against it), and ``joblib.load`` reads it. Arrays
    joblib would not write raw (holding Python objects, or not contiguous) go through
    joblib's own code. With a joblib whose private pieces this needs are missing, it is
    joblib's pickler itself.
    """
    global _PICKLER  # noqa: PLW0603 - built once, on first use (joblib is imported lazily)
    if _PICKLER is None:
        from joblib import numpy_pickle

        _PICKLER = _zero_copy(numpy_pickle)
    return _PICKLER


_PICKLER: Any = None
_SLICE = 16 * 2**20  # joblib's write size


def _zero_copy(numpy_pickle: Any) -> Any:
    """The subclass :func:`_joblib_pickler` describes, or joblib's own pickler."""
    base = numpy_pickle.NumpyPickler
    plain = getattr(numpy_pickle, "Pickler", None)  # pickle's Python pickler, joblib's base
    wrapper_type = getattr(numpy_pickle, "NumpyArrayWrapper", None)
    if not (
        plain is not None
        and hasattr(base, "_create_array_wrapper")
        and hasattr(wrapper_type, "safe_get_numpy_array_alignment_bytes")
    ):
        return base
    save_plain = plain.save

    class _ZeroCopyPickler(base):  # type: ignore[misc, valid-type]
        def save(self, obj: Any) -> None:
            np = self.np
            if np is None or type(obj) not in (np.ndarray, np.matrix, np.memmap):
                super().save(obj)
                return
            array = np.asanyarray(obj) if type(obj) is np.memmap else obj
            wrapper = self._create_array_wrapper(array)
            contiguous = (
                array.flags.c_contiguous if wrapper.order == "C" else array.flags.f_contiguous
            )
            if array.dtype.hasobject or not contiguous:
                super().save(obj)  # joblib's own path: it pickles or gathers these
                return
            save_plain(self, wrapper)
            if self.proto >= 4:
                self.framer.commit_frame(force=True)
            out = self.file_handle
            alignment = wrapper.safe_get_numpy_array_alignment_bytes()
            if alignment is not None:  # as joblib does: a byte of padding length, then padding
                padding = alignment - (out.tell() + 1) % alignment
                out.write(padding.to_bytes(1, "little"))
                if padding:
                    out.write(b"\xff" * padding)
            flat = np.asarray(array if wrapper.order == "C" else array.T).reshape(-1)
            view = memoryview(flat.view(np.uint8))
            for start in range(0, len(view), _SLICE):  # bound: one pass per 16 MiB
                out.write(view[start : start + _SLICE])

    return _ZeroCopyPickler


class JoblibSerializer(Serializer):
    """Pickle with joblib (numpy arrays inside are written efficiently).

    Examples
    --------
    >>> import io
    >>> s, buf = JoblibSerializer(), io.BytesIO()
    >>> s.dump({"w": [1, 2]}, buf); _ = buf.seek(0)
    >>> s.load(buf)
    {'w': [1, 2]}
    """

    name = "joblib"
    media_type = "application/vnd.joblib"
    reads_sequentially: ClassVar[bool] = True

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        _joblib_pickler()(fp).dump(obj)

    def load(self, fp: IO[bytes]) -> Any:
        import joblib

        return joblib.load(fp)

    def library_versions(self) -> dict[str, str]:
        return {
            "joblib": _version("joblib"),
            "numpy": _version("numpy"),
            "python": platform.python_version(),
        }


class BytesSerializer(Serializer):
    """Store bytes exactly as given (``bytes``, ``bytearray`` or ``memoryview``).

    Examples
    --------
    >>> import io
    >>> buf = io.BytesIO(); BytesSerializer().dump(b"abc", buf); _ = buf.seek(0)
    >>> BytesSerializer().load(buf)
    b'abc'
    """

    name = "bytes"
    media_type = "application/octet-stream"
    loads_without_code: ClassVar[bool] = True

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        if not isinstance(obj, (bytes, bytearray, memoryview)):
            raise SerializationError(
                f"the 'bytes' serializer takes bytes, bytearray or memoryview, not "
                f"{type(obj).__name__}; use serializer='joblib' for Python objects"
            )
        view = memoryview(obj).cast("B")
        for start in range(0, len(view), CHUNK):
            fp.write(view[start : start + CHUNK])

    def load(self, fp: IO[bytes]) -> Any:
        return fp.read()

    def library_versions(self) -> dict[str, str]:
        return {}


class NumpySerializer(Serializer):
    """One numpy array in ``.npy`` format; loads without pickle, so without running code.

    Examples
    --------
    >>> import io, numpy as np
    >>> buf = io.BytesIO(); NumpySerializer().dump(np.arange(3), buf); _ = buf.seek(0)
    >>> NumpySerializer().load(buf)
    array([0, 1, 2])
    """

    name = "numpy"
    media_type = "application/x-npy"
    reads_sequentially: ClassVar[bool] = True
    loads_without_code: ClassVar[bool] = True

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        import numpy as np

        if not isinstance(obj, np.ndarray):
            raise SerializationError(
                f"the 'numpy' serializer takes a numpy array, not {type(obj).__name__}"
            )
        if obj.dtype.hasobject:
            raise SerializationError(
                "the 'numpy' serializer refuses object arrays (they need pickle); "
                "use serializer='joblib'"
            )
        np.save(fp, obj, allow_pickle=False)

    def load(self, fp: IO[bytes]) -> Any:
        import numpy as np

        return np.load(fp, allow_pickle=False)

    def library_versions(self) -> dict[str, str]:
        return {"numpy": _version("numpy")}


_BUILTINS: dict[str, Serializer] = {
    s.name: s for s in (JoblibSerializer(), BytesSerializer(), NumpySerializer())
}
_REGISTERED: dict[str, Serializer] = {}


def register_serializer(serializer: Serializer, *, clobber: bool = False) -> None:
    """Make ``serializer`` available by its ``name`` in this process.

    A name already taken (a built-in such as ``"joblib"``, or one registered before) is
    refused with :class:`~modelship.ConfigError` unless ``clobber=True``, as fsspec's
    ``register_implementation`` does: replacing a loader silently would change what every
    ``load`` of that name runs.

    Examples
    --------
    >>> register_serializer(BytesSerializer())
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: a serializer named 'bytes' exists already; ...

    See :class:`Serializer` for writing one.
    """
    declared = _declared(serializer, repr(serializer))
    taken = declared.name in _REGISTERED or declared.name in _BUILTINS
    if taken and not clobber:
        raise ConfigError(
            f"a serializer named {declared.name!r} exists already; pass clobber=True to "
            "replace it in this process, or give yours another name"
        )
    _REGISTERED[declared.name] = declared


_GROUP = "modelship.serializers"


def serializer_names() -> list[str]:
    """Names of every serializer this process can use.

    Examples
    --------
    >>> {"joblib", "bytes", "numpy"} <= set(serializer_names())
    True
    """
    return sorted(set(_BUILTINS) | set(_REGISTERED) | set(plugins(_GROUP)))


def get_serializer(name: str | Serializer) -> Serializer:
    """Find a serializer by name (built-in, registered, or entry point).

    Examples
    --------
    >>> get_serializer("numpy").media_type
    'application/x-npy'
    """
    if not isinstance(name, str):
        if isinstance(name, _Shape):
            return _declared(name, repr(name))
        raise ConfigError(f"serializer must be a name or a Serializer, got {brief(name)}")
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in _BUILTINS:
        return _BUILTINS[name]
    # Built-ins and registered ones came first: an entry point cannot replace them. The
    # group is read once, and again for a name it lacks.
    ep = plugin(_GROUP, name)
    if ep is None:
        raise ConfigError(
            f"no serializer named {brief(name)}; known: {', '.join(serializer_names())}. Add one "
            "with register_serializer() or the 'modelship.serializers' entry point group"
        )
    loaded = load_plugin(ep)
    try:
        serializer = loaded() if isinstance(loaded, type) else loaded
    except Exception as exc:
        raise ConfigError(
            f"entry point {ep.value!r} for the serializer {name!r} failed to make one: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(serializer, _Shape):
        raise ConfigError(f"entry point {ep.value!r} does not give a Serializer")
    declared = _declared(serializer, ep.value)
    if declared.name != name:
        raise ConfigError(
            f"entry point {name!r} ({ep.value}) gives a serializer named {declared.name!r}; "
            "versions record the serializer's name and load finds it by that name, so the "
            "two must match"
        )
    return declared
