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
from typing import IO, Any, Protocol, runtime_checkable

from modelship.errors import ConfigError, SerializationError

__all__ = [
    "BytesSerializer",
    "JoblibSerializer",
    "NumpySerializer",
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

    A serializer whose ``load`` reads its stream front to back (seeking back at most a
    few bytes, as ``np.load`` does after its magic string) may set the class attribute
    ``reads_sequentially = True``. The registry then streams the artifact to it, each
    8 MiB piece once its digest is checked, so hashing and deserialising overlap. Without
    it the registry checks the whole artifact first and then hands ``load`` a seekable
    file.

    Examples
    --------
    >>> import io
    >>> class Utf8:
    ...     name = "utf8"
    ...     media_type = "text/plain"
    ...     def dump(self, obj, fp): fp.write(obj.encode())
    ...     def load(self, fp): return fp.read().decode()
    ...     def library_versions(self): return {}
    >>> isinstance(Utf8(), Serializer)
    True
    >>> register_serializer(Utf8())
    >>> get_serializer("utf8").media_type
    'text/plain'
    >>> get_serializer("joblib").reads_sequentially  # streamed to load, checked piece by piece
    True
    """

    name: str
    media_type: str

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        """Write ``obj`` to ``fp``."""

    def load(self, fp: IO[bytes]) -> Any:
        """Read an object back from ``fp``."""

    def library_versions(self) -> dict[str, str]:
        """Versions of the libraries whose format the bytes depend on (recorded)."""


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class JoblibSerializer:
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
    reads_sequentially = True

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        import joblib

        joblib.dump(obj, fp)

    def load(self, fp: IO[bytes]) -> Any:
        import joblib

        return joblib.load(fp)

    def library_versions(self) -> dict[str, str]:
        import platform

        return {
            "joblib": _version("joblib"),
            "numpy": _version("numpy"),
            "python": platform.python_version(),
        }


class BytesSerializer:
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

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        if not isinstance(obj, (bytes, bytearray, memoryview)):
            raise SerializationError(
                f"the 'bytes' serializer takes bytes, bytearray or memoryview, not "
                f"{type(obj).__name__}; use serializer='joblib' for Python objects"
            )
        view = memoryview(obj).cast("B")
        step = 8 * 2**20
        for start in range(0, len(view), step):
            fp.write(view[start : start + step])

    def load(self, fp: IO[bytes]) -> Any:
        return fp.read()

    def library_versions(self) -> dict[str, str]:
        return {}


class NumpySerializer:
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
    reads_sequentially = True

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


def register_serializer(serializer: Serializer) -> None:
    """Make ``serializer`` available by its ``name`` in this process.

    Examples
    --------
    See :class:`Serializer`.
    """
    if not isinstance(serializer, Serializer):
        raise ConfigError(
            f"{serializer!r} is not a Serializer: it needs name, media_type, dump, load and "
            "library_versions"
        )
    _REGISTERED[serializer.name] = serializer


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    eps = importlib.metadata.entry_points(group="modelship.serializers")
    return {ep.name: ep for ep in eps}


def serializer_names() -> list[str]:
    """Names of every serializer this process can use.

    Examples
    --------
    >>> {"joblib", "bytes", "numpy"} <= set(serializer_names())
    True
    """
    return sorted(set(_BUILTINS) | set(_REGISTERED) | set(_entry_points()))


def get_serializer(name: str | Serializer) -> Serializer:
    """Find a serializer by name (built-in, registered, or entry point).

    Examples
    --------
    >>> get_serializer("numpy").media_type
    'application/x-npy'
    """
    if not isinstance(name, str):
        if isinstance(name, Serializer):
            return name
        raise ConfigError(f"serializer must be a name or a Serializer, got {name!r}")
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in _BUILTINS:
        return _BUILTINS[name]
    ep = _entry_points().get(name)
    if ep is None:
        raise ConfigError(
            f"no serializer named {name!r}; known: {', '.join(serializer_names())}. Add one "
            "with register_serializer() or the 'modelship.serializers' entry point group"
        )
    loaded = ep.load()
    serializer = loaded() if isinstance(loaded, type) else loaded
    if not isinstance(serializer, Serializer):
        raise ConfigError(f"entry point {ep.value!r} does not give a Serializer")
    return serializer
