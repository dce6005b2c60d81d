"""Find the globals a pickle or joblib artifact references, without unpickling it.

Invariant: nothing in the artifact runs. The scanner reads opcodes with
:func:`pickletools.genops` and keeps a *symbolic* stack and memo: strings, numbers, tuples,
lists and dicts are held as values, a global as a :class:`_Global` marker, and the result
of a call (``REDUCE``, ``NEWOBJ``, ``BUILD``...) as an inert :class:`_Object` record. No
module is imported and no callable is called. The stack is needed because protocol 4's
``STACK_GLOBAL`` takes its module and name from the stack, where they may have been
pushed long before and fetched back through the memo (``MEMOIZE``/``BINPUT`` then
``BINGET``).

joblib writes each numpy array's raw bytes right after the pickled ``NumpyArrayWrapper``
(after an alignment pad), outside the pickle grammar; the scanner reads the wrapper's
symbolic state (shape and dtype) to skip exactly those bytes, and scans an object array's
nested pickle. Compressed joblib files (zlib, gzip, bz2, xz/lzma; lz4 when the ``lz4``
package is installed) are scanned while they are decompressed, a bounded chunk at a time.

The scan is for dependency discovery, not a safety verdict: a pickle can build a module
name at load time; such references are counted in :attr:`ArtifactScan.dynamic`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickletools
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol, cast

import attrs

from modelship.errors import ConfigError
from modelship.parity._errors import ArtifactScanError

__all__ = ["ArtifactScan", "StreamingScan", "scan_artifact"]

_CHUNK = 1 << 20  # bytes skipped or decompressed per read; bounds memory on huge arrays
_MAX_KEPT = 4096  # longest string or bytes value the symbolic stack keeps
_MAX_NESTING = 32  # object arrays nest pickles; deeper than this is not a real artifact
# The newest protocol whose opcodes the scanner knows (pickle.HIGHEST_PROTOCOL may grow;
# this may not, until the scanner learns the new opcodes).
_MAX_PROTOCOL = 5

_JOBLIB_WRAPPERS = {("joblib.numpy_pickle", "NumpyArrayWrapper")}


class _Readable(Protocol):
    """What the scanner reads from: a file, or a decompressing stream over one."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


@attrs.frozen
class _Global:
    module: str
    name: str


@attrs.define(eq=False)
class _Object:
    """The inert stand-in for what a call in the pickle would have built."""

    callable: Any
    args: Any = None
    state: Any = None


class _Unknown:
    """A value the scanner does not model (a set, a buffer, a persistent id...)."""


@attrs.frozen(kw_only=True)
class ArtifactScan:
    """What :func:`scan_artifact` found in a serialized artifact.

    Attributes
    ----------
    globals : tuple of (module, name)
        Every global the artifact references (classes and functions it would import),
        sorted, each once.
    dynamic : int
        References the scanner could not name: ``STACK_GLOBAL`` on values built at load
        time, and ``copyreg`` extension codes (``EXT1/2/4``).
    format : str
        ``"pickle"`` or ``"joblib"``, with the compression after a ``+`` (``"joblib+gzip"``).

    Examples
    --------
    >>> import pickle, collections
    >>> from modelship.parity import scan_artifact
    >>> scan = scan_artifact(pickle.dumps(collections.OrderedDict(a=1)))
    >>> scan.globals, scan.modules
    ((('collections', 'OrderedDict'),), ('collections',))
    """

    globals: tuple[tuple[str, str], ...]
    dynamic: int = 0
    format: str = "pickle"

    @property
    def modules(self) -> tuple[str, ...]:
        """The top-level modules of :attr:`globals`, sorted (``sklearn`` for
        ``sklearn.linear_model._logistic``).

        Examples
        --------
        >>> from modelship.parity import ArtifactScan
        >>> ArtifactScan(globals=[("sklearn.svm._classes", "SVC"), ("numpy", "dtype")]).modules
        ('numpy', 'sklearn')
        """
        return tuple(sorted({module.split(".", 1)[0] for module, _ in self.globals}))


# --- opening: raw bytes, a path, or a stream; decompress by magic number ------------------


class _ZlibReader(io.RawIOBase):
    """A zlib stream (joblib's ``compress="zlib"``) decompressed as it is read."""

    def __init__(self, raw: _Readable) -> None:
        self._raw = raw
        self._zlib = zlib.decompressobj()
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        # Bound: each pass feeds the decompressor input it has not seen, or stops.
        while not self._buffer and not self._zlib.eof:
            # Output held back by max_length waits in unconsumed_tail: it comes first.
            data = self._zlib.unconsumed_tail or self._raw.read(_CHUNK)
            if not data:
                break  # the stream ends early: the reader sees a short read
            self._buffer = self._zlib.decompress(data, _CHUNK)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _lz4(raw: _Readable) -> _Readable:
    try:
        import lz4.frame  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        raise ArtifactScanError(
            "the artifact is lz4-compressed and the lz4 package is not installed: pip install lz4"
        ) from None
    return io.BufferedReader(_Lz4Reader(lz4.frame.LZ4FrameFile(raw, mode="rb")), _CHUNK)


class _Lz4Reader(io.RawIOBase):
    """lz4's frame reader, whose ``RuntimeError`` for damaged data is raised as the
    ``OSError`` every other decompressor raises."""

    def __init__(self, frames: _Readable) -> None:
        self._frames = frames

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        try:
            data = self._frames.read(len(target))
        except RuntimeError as exc:
            raise OSError(f"damaged lz4 data: {exc}") from exc
        target[: len(data)] = data
        return len(data)


def _decompressing(raw: Any, magic: bytes) -> tuple[_Readable, str]:  # noqa: PLR0911 - one return per compression magic number
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb"), "gzip"
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw, mode="rb"), "bz2"
    if magic.startswith(b"\xfd7zXZ"):
        return lzma.LZMAFile(raw, mode="rb"), "xz"
    if magic.startswith(b"]\x00\x00"):
        return lzma.LZMAFile(raw, mode="rb", format=lzma.FORMAT_ALONE), "lzma"
    if magic.startswith(b"\x04\x22\x4d\x18"):
        return _lz4(raw), "lz4"
    if magic[:1] == b"x" and len(magic) >= 2 and (magic[0] * 256 + magic[1]) % 31 == 0:
        return io.BufferedReader(_ZlibReader(raw), _CHUNK), "zlib"
    return raw, ""


# --- the symbolic machine ----------------------------------------------------------------


@attrs.define
class _Scanner:
    stream: _Readable
    globals: set[tuple[str, str]] = attrs.field(factory=set)
    dynamic: int = 0
    joblib: bool = False
    # Passes over n bytes without reading them and says how many it passed (fewer only at
    # the end): a stream that can, so that array bytes are never copied.
    pass_over: Callable[[int], int] | None = None

    def skip(self, count: int, what: str) -> None:
        """Read past ``count`` bytes that are not pickle opcodes (joblib's array data)."""
        remaining = count
        if self.pass_over is not None:
            remaining -= self.pass_over(count)
        else:
            # Bound: each pass consumes >= 1 byte or stops.
            while remaining > 0 and (chunk := self.stream.read(min(remaining, _CHUNK))):
                remaining -= len(chunk)
        if remaining > 0:
            raise ArtifactScanError(
                f"the artifact ends inside {what}: {remaining} of {count} bytes missing; "
                "it is truncated"
            )

    def scan(self, depth: int = 0) -> None:  # noqa: PLR0912, PLR0915 - pickle opcode interpreter: one branch per opcode, kept in one loop like pickletools
        """Scan one pickle, from its ``PROTO`` (or first opcode) to its ``STOP``."""
        if depth > _MAX_NESTING:
            raise ArtifactScanError("the artifact nests pickles more than 32 deep")
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        memo: dict[int, Any] = {}

        def pop_mark() -> list[Any]:
            nonlocal stack
            if not metastack:
                raise ArtifactScanError("malformed pickle: an opcode needs a MARK there is none")
            items, stack = stack, metastack.pop()
            return items

        def pop() -> Any:
            if not stack:
                raise ArtifactScanError("malformed pickle: an opcode pops an empty stack")
            return stack.pop()

        ops = _genops(self.stream)
        for opcode, arg in ops:  # bound: genops stops at STOP or at the end of the stream
            name = opcode.name
            if name in _PUSH_ARG:
                # Long strings and bytes are data (array buffers), never a module name:
                # keeping them would double the memory a large plain pickle needs.
                long = isinstance(arg, (str, bytes)) and len(arg) > _MAX_KEPT
                stack.append(_Unknown() if long else arg)
            elif name in _PUSH_CONST:
                stack.append(_PUSH_CONST[name])
            elif name == "PROTO" and not 0 <= int(arg) <= _MAX_PROTOCOL:
                # A newer protocol may reference globals in ways this scanner cannot see;
                # an empty scan would claim the model needs nothing.
                raise ArtifactScanError(
                    f"the pickle uses protocol {arg}, which this scanner does not understand "
                    f"(it reads protocols 0 to {_MAX_PROTOCOL}): what it references is unknown"
                )
            elif name in ("PROTO", "FRAME"):
                pass
            elif name == "STOP":
                return
            elif name == "MARK":
                metastack.append(stack)
                stack = []
            elif name == "POP":
                if stack:
                    stack.pop()
                else:
                    pop_mark()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(stack[-1] if stack else pop())
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = stack[-1] if stack else pop()
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1] if stack else pop()
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if int(arg) not in memo:
                    raise ArtifactScanError(f"malformed pickle: memo key {arg} read before put")
                stack.append(memo[int(arg)])
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                size = int(name[-1])
                items = [pop() for _ in range(size)][::-1]
                stack.append(tuple(items))
            elif name == "TUPLE":
                items = pop_mark()  # first: it replaces `stack`
                stack.append(tuple(items))
            elif name == "LIST":
                items = pop_mark()
                stack.append(items)
            elif name == "DICT":
                items = pop_mark()
                stack.append(_dict(zip(items[::2], items[1::2], strict=False)))
            elif name == "APPEND":
                value = pop()
                _extend(stack[-1] if stack else pop(), [value])
            elif name == "APPENDS":
                items = pop_mark()
                _extend(stack[-1] if stack else pop(), items)
            elif name == "SETITEM":
                value, key = pop(), pop()
                _update(stack[-1] if stack else pop(), [(key, value)])
            elif name == "SETITEMS":
                items = pop_mark()
                _update(
                    stack[-1] if stack else pop(), list(zip(items[::2], items[1::2], strict=False))
                )
            elif name in ("EMPTY_SET",):
                stack.append(_Unknown())
            elif name == "ADDITEMS":
                pop_mark()
            elif name == "FROZENSET":
                pop_mark()
                stack.append(_Unknown())
            elif name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                stack.append(self.reference(module, attr))
            elif name == "STACK_GLOBAL":
                attr, module = pop(), pop()
                if isinstance(module, str) and isinstance(attr, str):
                    stack.append(self.reference(module, attr))
                else:
                    self.dynamic += 1
                    stack.append(_Unknown())
            elif name == "INST":
                module, _, attr = str(arg).partition(" ")
                items = pop_mark()
                stack.append(_Object(self.reference(module, attr), tuple(items)))
            elif name == "OBJ":
                items = pop_mark()
                if not items:
                    raise ArtifactScanError("malformed pickle: OBJ without a class")
                stack.append(_Object(items[0], tuple(items[1:])))
            elif name in ("EXT1", "EXT2", "EXT4"):
                self.dynamic += 1
                stack.append(_Unknown())
            elif name == "REDUCE":
                args, func = pop(), pop()
                stack.append(_Object(func, args))
            elif name == "NEWOBJ":
                args, cls = pop(), pop()
                stack.append(_Object(cls, args))
            elif name == "NEWOBJ_EX":
                _kwargs, args, cls = pop(), pop(), pop()
                stack.append(_Object(cls, args))
            elif name == "BUILD":
                state = pop()
                target = stack[-1] if stack else pop()
                if isinstance(target, _Object):
                    target.state = state
                    if isinstance(target.callable, _Global) and (
                        (target.callable.module, target.callable.name) in _JOBLIB_WRAPPERS
                    ):
                        self.joblib = True
                        self.skip_array(state, depth)
            elif name == "PERSID":
                stack.append(_Unknown())
            elif name == "BINPERSID":
                pop()
                stack.append(_Unknown())
            elif name == "NEXT_BUFFER":
                stack.append(_Unknown())
            elif name == "READONLY_BUFFER":
                pass
            else:  # a future protocol's opcode: say so rather than guess its stack effect
                raise ArtifactScanError(f"the pickle uses opcode {name}, which is not supported")
        raise ArtifactScanError("the artifact ends before the pickle's STOP: it is truncated")

    def reference(self, module: str, name: str) -> _Global:
        self.globals.add((module, name))
        return _Global(module, name)

    def skip_array(self, state: Any, depth: int) -> None:
        """Skip the bytes joblib wrote after a ``NumpyArrayWrapper`` with ``state``."""
        if not isinstance(state, dict):
            raise ArtifactScanError("a joblib array wrapper without its state")
        shape, dtype = state.get("shape"), state.get("dtype")
        if not isinstance(shape, tuple) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        ):
            raise ArtifactScanError(f"a joblib array wrapper with a bad shape: {_describe(shape)}")
        itemsize, hasobject = _dtype_layout(dtype)
        if hasobject:
            self.scan(depth + 1)  # joblib pickles object arrays as a nested pickle
            return
        if state.get("numpy_array_alignment_bytes") is not None:
            pad = self.stream.read(1)
            if len(pad) != 1:
                raise ArtifactScanError("the artifact ends inside a joblib array's padding")
            self.skip(pad[0], "a joblib array's padding")
        count = 1
        for n in shape:
            count *= n
        self.skip(count * itemsize, f"a joblib array of shape {shape}")


def _dtype_layout(dtype: Any) -> tuple[int, bool]:
    """``(itemsize, hasobject)`` of a pickled ``numpy.dtype``, read from its reduce args."""
    if not (isinstance(dtype, _Object) and isinstance(dtype.args, tuple) and dtype.args):
        raise ArtifactScanError("a joblib array wrapper whose dtype is not a pickled numpy dtype")
    spec = dtype.args[0]
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    flags = state[7] if len(state) > 7 and isinstance(state[7], int) else 0
    elsize = state[5] if len(state) > 5 and isinstance(state[5], int) else -1
    hasobject = bool(flags & 1) or (isinstance(spec, str) and spec.startswith("O"))
    if elsize > 0 or hasobject:
        return max(elsize, 0), hasobject
    if not isinstance(spec, str):
        raise ArtifactScanError(f"a joblib array with an unreadable dtype {_describe(spec)}")
    import numpy as np  # parses a type code only: no code from the artifact runs

    try:
        return np.dtype(spec).itemsize, False
    except (TypeError, ValueError, OverflowError) as exc:  # numpy refuses the type code
        raise ArtifactScanError(f"a joblib array with an unknown dtype {_describe(spec)}") from exc


def _describe(value: Any) -> str:
    """``value`` for an error message: a string quoted (shortened), anything else by its
    type, since the repr of a crafted symbolic value can recurse a million levels deep."""
    if isinstance(value, str):
        return repr(value[:80])
    if isinstance(value, tuple) and all(isinstance(n, int) for n in value[:8]):
        return repr(value[:8])
    return f"a {type(value).__name__}"


def _dict(pairs: Any) -> dict[str, Any]:
    # Only string keys are ever looked up (a joblib wrapper's "shape" and "dtype"). Any
    # other key is never stored: hashing a crafted symbolic tuple nested a million deep
    # recurses in C and kills the interpreter.
    return {key: value for key, value in pairs if isinstance(key, str)}


def _extend(target: Any, items: list[Any]) -> None:
    if isinstance(target, list):
        target.extend(items)


def _update(target: Any, pairs: list[tuple[Any, Any]]) -> None:
    if isinstance(target, dict):
        target.update(_dict(pairs))


_PUSH_ARG = frozenset(
    {
        "INT",
        "BININT",
        "BININT1",
        "BININT2",
        "LONG",
        "LONG1",
        "LONG4",
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
        "BINBYTES",
        "SHORT_BINBYTES",
        "BINBYTES8",
        "BYTEARRAY8",
        "UNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "FLOAT",
        "BINFLOAT",
    }
)
_PUSH_CONST: dict[str, Any] = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


class _ReadOnly:
    """``read`` and ``readline`` only: genops would call ``tell`` on a stream that has
    one, and a decompressing stream cannot always say where it is."""

    def __init__(self, stream: _Readable) -> None:
        self._stream = stream
        self.readline = stream.readline

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes, read a chunk at a time: a length claimed by an opcode
        (``BINBYTES8`` may claim 2**62 bytes) is never allocated before the bytes exist."""
        if size <= _CHUNK:
            return self._stream.read(size)
        held = io.BytesIO()  # getvalue() hands over its buffer without a copy
        # Bound: each pass reads >= 1 byte of what is left, or stops at the end.
        while (left := size - held.tell()) > 0 and (chunk := self._stream.read(min(left, _CHUNK))):
            held.write(chunk)
        return held.getvalue()


def _genops(stream: _Readable) -> Iterator[tuple[Any, Any]]:
    """Opcodes and arguments of the pickle at ``stream``'s position, read lazily.

    Lazily matters: between two opcodes the scanner may read joblib array bytes from the
    same stream, and genops then carries on after them.
    """
    try:
        for opcode, arg, _pos in pickletools.genops(cast(IO[bytes], _ReadOnly(stream))):
            yield opcode, arg
            if opcode.name == "STOP":
                return
    except ValueError as exc:  # genops' message for a bad opcode or a short read
        raise ArtifactScanError(
            f"the artifact is not a readable pickle (corrupt or truncated): {exc}"
        ) from exc


def scan_artifact(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes],
) -> ArtifactScan:
    """Return the globals a pickle or joblib artifact references, without unpickling it.

    Parameters
    ----------
    source : bytes, path or binary file
        A plain pickle (protocols 0 to 5) or a :func:`joblib.dump` file, uncompressed or
        compressed with zlib, gzip, bz2, xz or lzma (and lz4 when ``lz4`` is installed).

    Raises
    ------
    ArtifactScanError
        When the bytes are not a pickle, are truncated, use a pickle protocol newer than 5
        (what it references cannot be known, so no empty scan is returned), or use a
        compression whose library is missing.
    ConfigError
        When ``source`` is not bytes, a path or a binary file.

    Examples
    --------
    >>> import io, joblib, numpy as np
    >>> from fractions import Fraction
    >>> from modelship.parity import scan_artifact
    >>> buf = io.BytesIO()
    >>> joblib.dump({"w": np.arange(3.0), "ratio": Fraction(1, 3)}, buf)
    >>> scan = scan_artifact(buf.getvalue())
    >>> scan.format, scan.modules
    ('joblib', ('fractions', 'joblib', 'numpy'))
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _scan_stream(io.BytesIO(bytes(source)))
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as handle:
                return _scan_stream(handle)
        except OSError as exc:
            raise ArtifactScanError(
                f"cannot read the artifact {os.fspath(source)!r}: {exc}"
            ) from exc
    if not isinstance(source, io.IOBase) or isinstance(source, io.TextIOBase):
        raise ConfigError(
            "scan_artifact needs the artifact's bytes, its path, or a file opened in binary "
            f"mode ('rb'), got {type(source).__name__}"
        )
    return _scan_stream(source)


def _scan_stream(raw: IO[bytes], *, seeks_forward: bool = False) -> ArtifactScan:
    """Scan ``raw``; with ``seeks_forward``, array bytes are passed over by seeking."""
    # A buffered reader can peek at the magic number without consuming it.
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(Any, raw))
    magic = buffered.peek(6)[:6]
    if not magic:
        raise ArtifactScanError("the artifact is empty: there is no pickle to scan")
    stream, compression = _decompressing(buffered, magic)

    def pass_over(count: int) -> int:
        start = buffered.tell()
        return buffered.seek(count, io.SEEK_CUR) - start

    scanner = _Scanner(stream, pass_over=pass_over if seeks_forward and not compression else None)
    try:
        scanner.scan()
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise ArtifactScanError(f"the artifact cannot be decompressed: {exc}") from exc
    kind = "joblib" if scanner.joblib else "pickle"
    return ArtifactScan(
        globals=tuple(sorted(scanner.globals)),
        dynamic=scanner.dynamic,
        format=f"{kind}+{compression}" if compression else kind,
    )


# --- scanning while the artifact is written ---------------------------------------------


class _Feed(io.RawIOBase):
    """A read-once stream of chunks that another thread hands over one at a time.

    :meth:`put` returns only once the reading side has taken all of the chunk it wants
    (copied it, or passed over it by seeking forward), or has stopped reading: the caller
    may then reuse the chunk's buffer. Every wait ends when the other side moves: the
    writer always calls :meth:`end`, the reader always :meth:`stop`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._chunk: memoryview | None = None
        self._at = 0  # bytes of the current chunk taken
        self._pos = 0  # bytes of the stream taken
        self._ended = False
        self._stopped = False

    # --- the writing side ---------------------------------------------------------------

    def put(self, chunk: memoryview) -> None:
        with self._cond:
            if self._stopped or not len(chunk):
                return
            self._chunk, self._at = chunk, 0
            self._cond.notify_all()
            while self._chunk is not None and not self._stopped:
                self._cond.wait()

    def end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    # --- the reading side ---------------------------------------------------------------

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._chunk = None
            self._cond.notify_all()

    def _current(self) -> memoryview | None:
        while self._chunk is None and not self._ended and not self._stopped:
            self._cond.wait()
        return self._chunk

    def _take(self, n: int) -> None:
        self._at += n
        self._pos += n
        if self._chunk is not None and self._at >= len(self._chunk):
            self._chunk = None
            self._cond.notify_all()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, b: Any) -> int:
        # Fills ``b`` across chunks (short only at the end): a buffered reader's peek at
        # the magic number reads once, and the first chunk may be a few bytes long.
        out = memoryview(b).cast("B")
        filled = 0
        with self._cond:
            # Bound: each pass takes at least one byte, or the stream has ended.
            while filled < len(out) and (chunk := self._current()) is not None:
                n = min(len(out) - filled, len(chunk) - self._at)
                out[filled : filled + n] = chunk[self._at : self._at + n]
                self._take(n)
                filled += n
        return filled

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset + (self._pos if whence == io.SEEK_CUR else 0)
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._pos:
            raise io.UnsupportedOperation("an artifact being written is read front to back")
        with self._cond:
            # Bound: each pass takes at least one byte, or the stream has ended.
            while self._pos < target and (chunk := self._current()) is not None:
                self._take(min(target - self._pos, len(chunk) - self._at))
        return self._pos


class StreamingScan:
    """:func:`scan_artifact` of an artifact as it is written, chunk by chunk, on a thread.

    :meth:`feed` each chunk in order: it returns once the scanner has taken what it needs
    of the chunk, so the caller may reuse its buffer then. Array bytes in a joblib file
    are passed over without being copied. :meth:`result` ends the stream and returns the
    scan, or raises what the scan raised (:class:`ArtifactScanError` for bytes that are
    not a pickle). The bytes scanned are exactly the bytes fed: nothing is read back.

    Examples
    --------
    >>> import pickle
    >>> from fractions import Fraction
    >>> from modelship.parity import StreamingScan
    >>> data = pickle.dumps(Fraction(1, 3))
    >>> scan = StreamingScan()
    >>> for start in range(0, len(data), 8):
    ...     scan.feed(memoryview(data)[start : start + 8])
    >>> scan.result().modules
    ('fractions',)
    """

    def __init__(self) -> None:
        self._feed = _Feed()
        self._outcome: ArtifactScan | BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="modelship-scan", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome = _scan_stream(cast(IO[bytes], self._feed), seeks_forward=True)
        except BaseException as exc:  # handed to result(), in the caller's thread
            self._outcome = exc
        finally:
            self._feed.stop()  # a writer still feeding no longer waits for this thread

    def feed(self, chunk: memoryview) -> None:
        """Hand over the next chunk; returns once the scanner is done with it."""
        self._feed.put(chunk)

    def close(self) -> None:
        """End the stream and wait for the scanner; idempotent."""
        self._feed.end()
        self._thread.join()

    def result(self) -> ArtifactScan:
        """The scan of everything fed; :class:`ArtifactScanError` if it is not a pickle."""
        self.close()
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None  # _run always sets it
        return outcome
