"""The LocalDeployer's router: one loopback endpoint splitting requests by weight.

An asyncio HTTP/1.1 reverse proxy on its own thread and event loop (uvloop when
installed). Each request goes whole to one backend, chosen by smooth weighted
round-robin (the split is exact over every 100 requests, with no randomness), over a
pooled keep-alive connection. A weight change applies to the next request; requests in
flight finish where they started, and :meth:`Router.drain` waits for a backend's last
one before its process is stopped, so a switch drops no request.

A backend may be given a look at its server's exit status (a third item in what
:meth:`Router.set_backends` takes). A request is then never sent to a backend whose
server has exited: it is answered ``502`` saying how the server ended, since its port
is free once the server is dead and another process may have bound it, which must not be
sent the request. The look comes right before connecting (or taking a pooled
connection), so this narrows the window to the time between that look and the connect,
microseconds; it cannot close it without holding the port, and the LocalDeployer does
not hold it: a dead server's port that stayed bound would take connections nobody
accepts, and a probe of it (a readiness check, a direct request) would hang rather than
be refused at once. A request already sent as its server dies gets the ``502`` its
closed connection brings.

A pooled connection the backend closed while idle (its keep-alive timeout, 5 s for
``modelship serve``) is not used: one the backend's close already reached, or idle for
longer than ``_IDLE_SECONDS``, is dropped when picked. If a pooled connection still fails
before any byte of an answer, only a ``GET`` or ``HEAD`` is sent again on a fresh one: the
backend may have received and acted on anything else (a prediction would be made and
logged twice), so that is answered ``502``.

A request body is held whole before it is forwarded, so the router refuses one over
``max_body`` bytes itself (``413``, the connection closed), as the servers behind it
would: a declared length is refused before a byte of the body is read, a chunked body as
soon as it passes the limit. A request it cannot read (a Content-Length that is not
digits, a chunk-size line that is not hexadecimal, a chunk longer than it says) is
answered ``400``, as the servers answer it, and the connection closed. So is a first line
that is not an HTTP/1.x request line (``METHOD target HTTP/1.1``): bytes that are not
HTTP at all are not passed to a server.

The bodies held at once, across every client connection, are bounded too: at most
``_HELD_BODIES`` (32) times ``max_body`` bytes (128 MiB by default), counted from the
declared length (a chunked body chunk by chunk) before the bytes are read, and given back
once the request is written to a slot (a ``GET`` or ``HEAD``, which may be sent again, once
answered): requests waiting on a slot that never answers take no room from the others. A
body that would go past it is answered ``503`` (the connection closed) rather than read:
many connections each sending most of a large body slowly would otherwise make the process
that runs the router (a notebook, a CI job, ``modelship deploy apply``) hold gigabytes,
and its model servers die with it.

So is a request whose framing a server could read differently from the router (RFC
9112), as part of it could then reach a backend as a request of its own, unchecked: a
Transfer-Encoding that does not end in ``chunked`` (another coding before ``chunked`` is
``501``), a Content-Length given twice, whitespace before a field's colon, a folded line,
a bare CR or LF. A request with both Transfer-Encoding and Content-Length is read by its
chunks, and its connection closed after the answer. ``Connection`` is a list: one
naming ``close`` among others closes too.

Fields that end at the router (RFC 9110 7.6.1: ``Connection``, those it names,
``Keep-Alive``, ``TE``, ``Transfer-Encoding``, ``Upgrade``) are not passed on, either way:
a client's ``Connection: close`` does not close the pooled connection to the backend, and
a backend's does not reach a client whose connection stays open. A message without them
goes as it came, byte for byte.

A client connection is closed when no whole head arrives within ``_HEAD_SECONDS`` (5 s,
uvicorn's keep-alive timeout: idle between requests, a head trickled in, a head ending in
bare LFs, which the router does not take as a head's end) or its body within
``_BODY_SECONDS`` (60 s). A backend answer whose head is over 64 KiB is a ``502``.

Every answer the router makes itself (``400``, ``413``, ``431``, ``501``, ``502``,
``503``) carries a request id, as every answer of ``modelship serve`` does: in an
``x-request-id`` field and as ``"request_id"`` in its JSON body, so a client can tell
which of its requests the router refused. It is the client's ``X-Request-ID`` when the
servers would echo it (printable ASCII, 1 to 128 characters), else one the router makes
in the servers' format (16 hex digits, 64 random bits of the router's own, then ``-``
and a counter), as it is for a head it could not read. A forwarded request goes as it
came, without an id added: its server's answer carries the server's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import re
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelship._request_ids import RequestIds

__all__ = ["Draining", "ExitStatus", "Route", "Router"]

#: How a backend's server ended, as :attr:`subprocess.Popen.returncode` says it (``-N``:
#: killed by signal N), or None while it runs.
ExitStatus = Callable[[], int | None]
#: A backend as :meth:`Router.set_backends` takes it: ``(port, weight)``, or
#: ``(port, weight, exited)`` with a look at its server's exit status.
Route = tuple[int, int] | tuple[int, int, ExitStatus]

_MAX_HEAD = 64 * 1024
#: The largest request body a Router holds unless told otherwise: the servers' default.
DEFAULT_MAX_BODY = 4 * 2**20
#: The request bodies a Router holds at once, across all its client connections, in
#: bodies of ``max_body`` bytes; more is answered 503 (see the module's docstring).
_HELD_BODIES = 32
#: An HTTP/1.x request line (RFC 9112 3): a method (a token), one space, a target of
#: visible characters, one space, the version.
_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e\x80-\xff]+ HTTP/1\.[01]")
#: What is read away from a client after refusing its body, so that the answer arrives.
_DISCARD_BYTES = 64 * 2**20
_DISCARD_SECONDS = 2.0
#: A client connection is cut off when no whole request head arrives within this many
#: seconds (between requests too: uvicorn's keep-alive timeout), and when the body does
#: not follow within _BODY_SECONDS.
_HEAD_SECONDS = 5.0
_BODY_SECONDS = 60.0
_IDLE_PER_BACKEND = 64  # pooled connections kept per backend; more are closed after use
_IDLE_SECONDS = 2.0  # a pooled connection idle longer is closed, well before the server's 5 s
#: Interim (1xx) answer heads read and dropped before a backend's final answer; more is a
#: 502. ``modelship serve`` sends none; RFC 9110 15.2 lets a server send several unasked
#: (103 Early Hints), and a handful is all any server sends.
_MAX_INTERIM = 8
#: The fields that end at the router (RFC 9110 7.6.1), never passed on; so do those the
#: Connection field names. ``upgrade``: the router switches no protocol.
_HOP_BY_HOP = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te", b"upgrade")
)
#: The reason phrase of each status the router answers with itself.
_REASONS = {
    400: "Bad Request",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a field name (RFC 9110 5.1)

#: A message head's fields in order, names lower-cased: a list, as a field may repeat
#: (two Set-Cookie are two cookies).
_Fields = list[tuple[bytes, bytes]]


def _hop_by_hop(fields: _Fields) -> bool:
    """Whether a message head holds a field that ends at the router."""
    return any(key in _HOP_BY_HOP for key, _ in fields)


def _message(
    first: bytes, fields: _Fields, body: bytes, *, length: bytes | None, close: bool = False
) -> bytes:
    """A whole HTTP message for the next hop: the first line, the end-to-end fields (those
    that end at the router and those ``Connection`` names left out), ``length`` as the
    content-length (None: none), ``connection: close`` when ``close``, and the body."""
    ends_here = _HOP_BY_HOP.union(_tokens(fields, b"connection"))
    lines = [
        first,
        *(k + b": " + v for k, v in fields if k not in ends_here and k != b"content-length"),
    ]
    if length is not None:
        lines.append(b"content-length: " + length)
    if close:
        lines.append(b"connection: close")
    lines += [b"", b""]
    return b"\r\n".join(lines) + body


class _BackendGone(Exception):
    """The backend failed before any byte of its response arrived; ``before_sending``:
    before any byte of the request was sent either (it cannot have acted on it)."""

    def __init__(self, *, before_sending: bool = False, pooled: bool = False) -> None:
        super().__init__()
        self.before_sending = before_sending
        self.pooled = pooled  # on a pooled connection: a fresh one may do better


class _ServerExited(Exception):
    """The backend's server had exited (``status``, as ``Popen.returncode`` says it)
    before any byte of the request was sent to it."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _BadRequest(ValueError):
    """A request the router cannot read (a length that is no number, a bad chunk): it is
    answered ``400``, as the servers would, and the connection closed. A ValueError, so a
    backend's answer framed so is a ``502`` where the router forwards."""


class _Unsupported(_BadRequest):
    """A request with a transfer coding the router cannot undo (``gzip, chunked``): it is
    answered ``501``, as RFC 9112 6.1 says, and the connection closed."""


class _Busy(Exception):
    """A request body the router cannot hold now: the bodies it holds for other
    connections already take its budget (answered 503, the connection closed)."""

    def __init__(self, size: int, held: int, budget: int) -> None:
        super().__init__(size, held, budget)
        self.size, self.held, self.budget = size, held, budget


class _Held:
    """The bytes of request bodies a router holds at once, and their bound.

    Used only on the router's event loop thread, and :meth:`take` does not await between
    its check and its count: no other connection runs in between, so two cannot both see
    room that only one of them fits in.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.held = 0

    def take(self, size: int) -> int:
        """Count ``size`` more bytes as held, or raise :class:`_Busy` when that would go
        past the budget (counting nothing); ``size``, to be given back with :meth:`give`."""
        if size > 0 and self.held + size > self.budget:
            raise _Busy(size, self.held, self.budget)
        self.held += size
        return size

    def give(self, size: int) -> None:
        """Give back ``size`` bytes counted by :meth:`take`."""
        self.held -= size


class _Sent:
    """A request on its way to a slot, and the room its body took (:class:`_Held`).

    :meth:`sent` gives the room back and lets go of the bytes once they are written to the
    slot and will not be written again; :meth:`done` does what is left once the answer
    is made. Each is given back once.
    """

    def __init__(self, box: list[bytes], taken: int, held: _Held) -> None:
        self._box, self._taken, self._held = box, taken, held
        self.idempotent = box[0].startswith((b"GET ", b"HEAD "))

    @property
    def request(self) -> bytes:
        return self._box[0]

    def sent(self) -> None:
        """The request was written whole to a slot: unless it may be sent again (a
        ``GET`` or ``HEAD`` on a pooled connection that fails), let go of it."""
        if not self.idempotent:
            self.done()

    def done(self) -> None:
        """Give the room back, and the bytes, if :meth:`sent` did not."""
        self._held.give(self._taken)
        self._taken = 0
        self._box.clear()


class _TooLarge(Exception):
    """A request body over the router's limit; ``size`` bytes or more were seen."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@attrs.define(eq=False)
class _Backend:
    name: str
    port: int
    weight: int = 0
    current: int = 0  # smooth weighted round-robin state
    inflight: int = 0
    # Pooled connections and when each was last put back (the loop's clock).
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = attrs.Factory(list)
    # Set once a drain began: the backend gets no new request and pools no connection,
    # and a set_backends naming it again makes a new _Backend rather than revive it.
    drained: asyncio.Event | None = None
    # Its server's exit status (None while it runs); None: not known, never looked at.
    exited: ExitStatus | None = None

    def exit_status(self) -> int | None:
        """How the backend's server ended, or None (running, or not known)."""
        if self.exited is None:
            return None
        try:
            return self.exited()
        except Exception:  # a look that fails says nothing: the request is tried
            return None


def _parse_head(head: bytes) -> tuple[bytes, _Fields]:
    """The first line of a message head and its fields.

    A head parsers could read two ways is refused (:class:`_BadRequest`), as RFC 9112
    allows: the router forwards most heads as they came, so a field the backend reads and
    the router does not (after a bare LF, which the servers take as a line end; a name
    with whitespace before its colon; a folded line) could change the length of the body
    and smuggle a request past the router's checks.
    """
    crlf = head.count(b"\r\n")
    if b"\0" in head or head.count(b"\r") != crlf or head.count(b"\n") != crlf:
        raise _BadRequest("a bare CR, a bare LF or a NUL in the head")
    lines = head.split(b"\r\n")
    fields: _Fields = []
    for line in lines[1:]:  # bounded by the head's 64 KiB
        if not line:
            continue  # the blank line ending the head
        if line[:1] in (b" ", b"\t"):
            raise _BadRequest(f"obsolete line folding: {_shown(line)}")
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            raise _BadRequest(f"header line {_shown(line)} is not 'name: value'")
        fields.append((name.lower(), value.strip(b" \t")))
    return lines[0], fields


def _tokens(fields: _Fields, name: bytes) -> list[bytes]:
    """The comma-separated items of every ``name`` field, lower-cased, in order
    (``Connection: close, x-foo`` closes)."""
    items = [item for key, value in fields if key == name for item in value.split(b",")]
    return [low for low in (item.strip(b" \t").lower() for item in items) if low]


def _declared_length(fields: _Fields) -> int | None:
    """The Content-Length, or None. One given twice is refused even with the same value
    twice, which RFC 9112 6.3 lets a recipient collapse: no HTTP client sends it, and
    one refusal is simpler to trust than a rule for which copy counts."""
    values = [value for key, value in fields if key == b"content-length"]
    if len(values) > 1:
        raise _BadRequest(f"Content-Length given {len(values)} times")
    return _content_length(values[0]) if values else None


def _check_transfer_encoding(fields: _Fields, http10: bool) -> None:
    """Refuse a request's Transfer-Encoding unless it is ``chunked`` alone."""
    codings = _tokens(fields, b"transfer-encoding")
    if http10:  # RFC 9112 6.1: the framing of such a message is faulty
        raise _BadRequest("Transfer-Encoding in an HTTP/1.0 request")
    if not codings or codings[-1] != b"chunked":  # RFC 9112 6.3: no length can be known
        shown = _shown(b", ".join(codings))
        raise _BadRequest(f"Transfer-Encoding {shown} does not end in chunked")
    if len(codings) > 1:
        raise _Unsupported(f"Transfer-Encoding {_shown(b', '.join(codings))}: only chunked")


def _content_length(value: bytes) -> int:
    """A Content-Length: ASCII digits only, as HTTP has it (``int`` would take ``-5``,
    ``+5`` or ``1_0``)."""
    if not value.isdigit():
        raise _BadRequest(f"Content-Length {_shown(value)} is not a number of bytes")
    return int(value)


def _chunk_size(line: bytes) -> int:
    """The size of a chunk from its size line (extensions after ``;`` ignored): hex digits
    only (``int(..., 16)`` would take ``-5``, ``0x5`` or ``1_0``)."""
    digits = line.split(b";")[0].strip()
    if not digits or digits.strip(b"0123456789abcdefABCDEF"):
        raise _BadRequest(f"chunk size {_shown(digits)} is not a hexadecimal number")
    return int(digits, 16)


def _shown(value: bytes) -> str:
    """``value`` for a message: quoted, and short."""
    text = value[:40].decode("latin-1")
    return repr(text + "..." if len(value) > 40 else text)


async def _line(reader: asyncio.StreamReader) -> bytes:
    """One line of a chunked body, up to the 64 KiB a line may take."""
    try:
        return await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError:
        raise _BadRequest("a line of the chunked body is over 64 KiB") from None


async def _read_chunked(
    reader: asyncio.StreamReader, limit: int | None = None, held: _Held | None = None
) -> tuple[bytes, int]:
    """A chunked message body, de-chunked, and the bytes it took from ``held``.

    With ``limit``, a body over it raises :class:`_TooLarge` before more than the limit is
    held (a request's; a response comes from our own server and is not limited). With
    ``held``, each chunk's size is taken from it before the chunk is read
    (:class:`_Busy` when there is no room; what was taken is given back then).
    """
    out = bytearray()
    taken = 0
    try:
        for _ in range(1_000_000):  # bound: a million chunks
            size = _chunk_size(await _line(reader))
            if size == 0:
                for _ in range(10_000):  # trailers, each under the 64 KiB line limit
                    if await _line(reader) == b"\r\n":
                        return bytes(out), taken
                raise _BadRequest("more than 10,000 trailer lines")
            if limit is not None and len(out) + size > limit:
                raise _TooLarge(len(out) + size)
            if held is not None:
                taken += held.take(size)
            out += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise _BadRequest(f"a chunk of {size} bytes is longer than its size line says")
        raise _BadRequest("more than 1,000,000 chunks")
    except BaseException:
        if held is not None:
            held.give(taken)
        raise


async def _discard(reader: asyncio.StreamReader, bound: int, seconds: float) -> None:
    """Read and drop what the client sends, until EOF, ``bound`` bytes or ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    seen = 0
    while seen < bound:  # bound: each read takes at least one byte, or ends the loop
        left = deadline - loop.time()
        if left <= 0:
            return
        try:
            chunk = await asyncio.wait_for(reader.read(64 * 1024), left)
        except (asyncio.TimeoutError, ConnectionError):
            return
        if not chunk:
            return
        seen += len(chunk)


async def _refuse(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: bytes
) -> None:
    """Send ``answer`` to a request the router will not forward; the caller then closes."""
    writer.write(answer)
    if writer.can_write_eof():
        writer.write_eof()  # the answer is whole: the client may close
    await writer.drain()
    # Closing with the request still arriving would reset the connection, which can lose
    # the answer at the client: read some of it away first.
    await _discard(reader, _DISCARD_BYTES, _DISCARD_SECONDS)


class _CutOff:
    """Aborts a client connection ``seconds`` from now unless cancelled. While an answer
    is still being written to it (a client reading slowly), it waits that long again:
    an abort would throw the rest of that answer away."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, transport: asyncio.WriteTransport, seconds: float
    ) -> None:
        self._loop, self._transport, self._seconds = loop, transport, seconds
        self._handle = loop.call_later(seconds, self._fire)

    def _fire(self) -> None:
        if self._transport.get_write_buffer_size():
            self._handle = self._loop.call_later(self._seconds, self._fire)
        else:
            self._transport.abort()

    def cancel(self) -> None:
        self._handle.cancel()


async def _read_head(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, made_id: Callable[[], str]
) -> bytes | None:
    """The next request's head; empty for empty lines alone; None when the connection is
    to close (the client left, or its head is over 64 KiB: answered ``431`` under a
    request id ``made_id`` makes, as the head is not read)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    except asyncio.LimitOverrunError:
        # The head's first bytes are still buffered: a HEAD gets the answer without a body.
        try:
            start = (await reader.read(_MAX_HEAD)).lstrip(b"\r\n")
        except ConnectionError:
            return None
        bodiless = start.startswith(b"HEAD ")
        error = "request head over 64 KiB"
        writer.write(_response(431, error, made_id(), keep=False, bodiless=bodiless))
        return None
    # Empty lines before a request line are ignored (RFC 9112 2.2): some clients end a
    # body with an extra CRLF.
    return head.lstrip(b"\r\n")


def _unread(reader: asyncio.StreamReader) -> int:
    """How many bytes ``reader`` holds that no read took yet.

    StreamReader has no public way to ask: its buffer is read directly (the same
    attribute in every Python the library supports, and under uvloop, whose streams are
    asyncio's).
    """
    buffer: bytearray = reader._buffer  # type: ignore[attr-defined]
    return len(buffer)


async def _final_head(reader: asyncio.StreamReader, head: bytes) -> bytes:
    """The head of a backend's final answer, ``head`` or one after it.

    Interim answers (1xx, RFC 9110 15.2: a server may send ``103 Early Hints`` unasked,
    or a ``100 Continue`` the router did not ask for, having answered the client's
    ``Expect`` itself) are read and dropped, at most :data:`_MAX_INTERIM` of them; a
    ``101 Switching Protocols`` (the router passes no ``Upgrade`` on, so switches no
    protocol), more interim heads, or one over 64 KiB is a ValueError (a 502).
    """
    for n in range(_MAX_INTERIM + 1):  # bounded: _MAX_INTERIM interim heads at most
        status = head[9:12]
        if not status.startswith(b"1"):
            return head
        if status == b"101":
            raise ValueError("the backend switched protocols (101), which the router does not")
        if n == _MAX_INTERIM:
            break
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError as exc:
            raise ValueError("the answer's head is over 64 KiB") from exc
    raise ValueError(f"more than {_MAX_INTERIM} interim (1xx) answers before the final one")


async def _read_answer(
    reader: asyncio.StreamReader, head: bytes, bodiless: bool, keep: bool
) -> tuple[bytes, bool]:
    """A backend's whole answer after its ``head`` (interim 1xx answers dropped, see
    :func:`_final_head`), ready for a client whose connection stays open (``keep``) or
    closes after it; whether the backend's connection can carry another request (not if
    the backend sent more than the answer: see :meth:`Router._exchange`). A head or
    length the router cannot read is a ValueError (a 502)."""
    head = await _final_head(reader, head)
    first, fields = _parse_head(head)
    length = _declared_length(fields)
    chunked = b"chunked" in _tokens(fields, b"transfer-encoding")
    reusable = b"close" not in _tokens(fields, b"connection")
    if bodiless or first[9:12] in (b"204", b"304"):
        body, framed = b"", True  # a HEAD answer has a length but no body
    elif length is not None and not chunked:
        body, framed = await reader.readexactly(length), True
    elif chunked:  # re-framed with a length
        body, framed = (await _read_chunked(reader))[0], False
    else:  # close-delimited: re-framed with a length
        body, framed, reusable = await reader.read(-1), False, False
    if framed and keep and not _hop_by_hop(fields):
        return head + body, reusable  # as the backend sent it: the common answer
    # The backend's hop-by-hop fields (its own Connection: close) are not the client's:
    # the client hears close only when its own connection closes.
    declared = None if length is None else str(length).encode()
    size = declared if framed else str(len(body)).encode()
    return _message(first, fields, body, length=size, close=not keep), reusable


def _ended(status: int) -> str:
    """How a server ended, in words.

    Examples
    --------
    >>> _ended(-9), _ended(3)
    ('was killed by SIGKILL', 'exited with status 3')
    """
    if status >= 0:
        return f"exited with status {status}"
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = f"signal {-status}"
    return f"was killed by {name}"


def _exit_failure(exc: Exception, status: int) -> str:
    """What went wrong with a backend whose server ended (``status``), in words.

    Examples
    --------
    >>> print(_exit_failure(_ServerExited(-9), -9))
    its server was killed by SIGKILL; the request was not sent to it
    >>> print(_exit_failure(_BackendGone(), 1))
    its server exited with status 1 before answering; the request may have reached it, ...
    """
    if isinstance(exc, _ServerExited) or (isinstance(exc, _BackendGone) and exc.before_sending):
        return f"its server {_ended(status)}; the request was not sent to it"
    if isinstance(exc, asyncio.IncompleteReadError):
        return f"its server {_ended(status)} in the middle of its answer"
    return (
        f"its server {_ended(status)} before answering; the request may have reached it, "
        "so it was not sent again"
    )


def _what_failed(exc: Exception, status: int | None = None) -> str:
    """What went wrong with a backend, in words, for a ``502``'s ``error``; ``status``:
    how its server ended, if it has (see :func:`_exit_failure`).

    Examples
    --------
    >>> _what_failed(_BackendGone())
    'its server closed the connection before answering (it may have stopped or crashed); ...'
    >>> print(_what_failed(ValueError("the answer's head is over 64 KiB")))
    its server's answer could not be read: the answer's head is over 64 KiB
    """
    if status is not None:
        return _exit_failure(exc, status)
    if isinstance(exc, _BackendGone) and exc.before_sending:
        return "its server refused the connection (it may have stopped or crashed)"
    if isinstance(exc, _BackendGone):
        return (
            "its server closed the connection before answering (it may have stopped or "
            "crashed); the request may have reached it, so it was not sent again"
        )
    if isinstance(exc, asyncio.IncompleteReadError):
        return "its server closed the connection in the middle of its answer"
    if isinstance(exc, OSError):
        return f"the connection to its server failed: {exc.strerror or type(exc).__name__}"
    return f"its server's answer could not be read: {exc}"  # a ValueError: our own words


def _response(
    status: int, error: str, request_id: str, *, keep: bool, bodiless: bool = False
) -> bytes:
    r"""The router's own JSON answer, as the servers' errors read: ``{"error": ...,
    "request_id": ...}`` with the id in ``x-request-id`` too (a printable ASCII id, so
    the head holds no line break). To a ``HEAD`` (``bodiless``), its head only, with the
    ``content-length`` a ``GET`` would get (RFC 9110 9.3.2): a body after it would be read
    as the start of the next answer on a kept-alive connection.

    Examples
    --------
    >>> head, _, body = _response(503, "no slot", "a-1", keep=False).partition(b"\r\n\r\n")
    >>> head.split(b"\r\n")[2:]
    [b'content-length: 41', b'x-request-id: a-1', b'connection: close']
    >>> json.loads(body)
    {'error': 'no slot', 'request_id': 'a-1'}
    """
    body = json.dumps({"error": error, "request_id": request_id}).encode()
    return (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nx-request-id: {request_id}\r\n"
        f"connection: {'keep-alive' if keep else 'close'}\r\n\r\n"
    ).encode() + (b"" if bodiless else body)


class Draining:
    """One backend no longer routed to (:meth:`Router.begin_drain`), whose in-flight
    requests :meth:`wait` waits for; ``None`` inside: there was no backend to drain."""

    def __init__(self, router: Router, backend: _Backend | None) -> None:
        self._router = router
        self._backend = backend

    def wait(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` s) for the backend's in-flight requests, close its
        pooled connections and forget it (unless another is set under its name since);
        whether every request finished in time."""
        if self._backend is None:
            return True
        router = self._router
        result: bool = router._call(router._drain(self._backend, timeout), timeout=timeout + 5)
        return result


class Router:
    """A weighted HTTP router on 127.0.0.1, run on its own thread.

    ``max_body`` is the largest request body it holds and forwards (in bytes); set it to
    the servers' ``--max-body-bytes``.

    Examples
    --------
    >>> router = Router()
    >>> router.url.startswith("http://127.0.0.1:")
    True
    >>> router.set_backends({})
    >>> router.close()
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, max_body: int = DEFAULT_MAX_BODY
    ) -> None:
        self._backends: dict[str, _Backend] = {}
        self._max_body = max_body
        self._held = _Held(_HELD_BODIES * max_body)
        # The client connections' tasks. asyncio keeps one only through its connection's
        # protocol: a client that left while its request waits on a slot would make the
        # task garbage, destroyed by the collector on whatever thread runs it ("Task was
        # destroyed but it is pending!"), its cleanup off the loop's thread.
        self._clients: set[asyncio.Task[None]] = set()
        self._stopping = False  # set by stop_routing: the 503 then says why, and closes
        # The ids of the router's own answers, made as the servers make theirs, with 64
        # random bits of its own (no server shares them).
        self._ids = RequestIds()
        self._loop = self._new_loop()
        self._ready = threading.Event()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._run, name="modelship-router", daemon=True)
        self._thread.start()
        self._call(self._start(host, port))
        assert self._server is not None
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.url: str = f"http://{host}:{self.port}"

    @property
    def thread(self) -> threading.Thread:
        """The thread the router's event loop runs on."""
        return self._thread

    @staticmethod
    def _new_loop() -> asyncio.AbstractEventLoop:
        try:
            import uvloop
        except ImportError:  # the stdlib loop is slower, and correct
            return asyncio.new_event_loop()
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop

    @staticmethod
    def _report(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """The loop's exception handler: what the default one reports, but a cancellation.

        A client connection's task cancelled by :meth:`close` before its first step never
        ran its own ``except CancelledError``; asyncio's done-callback for it (Python 3.11)
        then asks for its exception, which raises the cancellation, printed with a
        traceback although nothing went wrong.
        """
        if isinstance(context.get("exception"), asyncio.CancelledError):
            return
        loop.default_exception_handler(context)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.set_exception_handler(self._report)
        self._loop.run_forever()

    def _call(self, coro: Any, timeout: float | None = 30.0) -> Any:
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    async def _start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(
            self._serve_client, host, port, limit=_MAX_HEAD, backlog=2048
        )

    # --- control (any thread) -----------------------------------------------------------

    def set_backends(self, backends: Mapping[str, Route]) -> None:
        """Route by ``{name: (port, weight)}``; applied before this returns.

        A third item, ``(port, weight, exited)``, is a look at the backend's server's exit
        status (None while it runs, see :data:`ExitStatus`): a backend whose server has
        exited is sent no request, each answered ``502`` saying how it ended. Backends
        left out keep their pooled connections until :meth:`drain`.
        """
        self._call(self._set(dict(backends)))

    async def _set(self, backends: dict[str, Route]) -> None:
        for name, route in backends.items():
            port, weight = route[0], route[1]
            b = self._backends.get(name)
            # One being drained is left to its drain, even on the same port: its requests
            # still in flight are not counted as the new one's, nor is it given traffic.
            if b is None or b.port != port or b.drained is not None:
                if b is not None and b.drained is None:
                    self._close_idle(b)
                b = self._backends[name] = _Backend(name, port)
            b.weight = weight
            b.exited = route[2] if len(route) == 3 else None
        for name, b in self._backends.items():
            if name not in backends:
                b.weight = 0

    def stop_routing(self) -> None:
        """Route no new request to any backend, for good (before a shutdown); applied
        before this returns. Requests in flight finish; :meth:`drain` waits for them.
        A request arriving after is answered ``503`` saying the deployment is shutting
        down, and its connection closed."""
        self._call(self._stop_routing())

    async def _stop_routing(self) -> None:
        self._stopping = True
        for b in self._backends.values():
            b.weight = 0

    def inflight(self, name: str) -> int:
        """Requests now being forwarded to backend ``name`` (the one set last under it)."""
        b = self._backends.get(name)
        return 0 if b is None else b.inflight

    def drain(self, name: str, timeout: float) -> bool:
        """Stop routing to ``name``, wait (up to ``timeout`` s) for its in-flight requests.

        Its pooled connections are closed; whether every request finished in time. A
        backend set under the same name while this waits is a new one: it stays.
        """
        return self.begin_drain(name).wait(timeout)

    def begin_drain(self, name: str) -> Draining:
        """Stop routing to the backend now set under ``name`` (applied before this
        returns); :meth:`Draining.wait` then waits for that backend's in-flight requests.

        The two steps apart let a caller take the backend while it holds its own lock:
        the wait drains exactly that backend, never one set under the same name later.
        """
        backend: _Backend | None = self._call(self._begin_drain(name))
        return Draining(self, backend)

    async def _begin_drain(self, name: str) -> _Backend | None:
        b = self._backends.get(name)
        if b is None:
            return None
        b.weight = 0
        if b.drained is None:  # a second drain of it waits on the same event
            b.drained = asyncio.Event()
        return b

    async def _drain(self, b: _Backend, timeout: float) -> bool:
        done = True
        try:
            if b.inflight and b.drained is not None:  # drained: set by _begin_drain
                await asyncio.wait_for(b.drained.wait(), timeout)
        except asyncio.TimeoutError:
            done = False
        finally:  # also when the router's shutdown cancels the wait
            self._close_idle(b)
            # The name may mean a new backend by now (the slot was applied again while
            # this waited): only the one drained here leaves.
            if self._backends.get(b.name) is b:
                del self._backends[b.name]
        return done

    def close(self) -> None:
        """Stop listening, close every connection and the router's thread."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for b in self._backends.values():
            self._close_idle(b)
        # Client connections still open end here, so the loop closes with no task pending;
        # also those accepted just before the server closed, whose task starts only on a
        # later turn of the loop (bounded: no connection is accepted any more).
        for _ in range(100):
            await asyncio.sleep(0)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if not tasks:
                return
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    def _close_idle(b: _Backend) -> None:
        for _, writer, _ in b.idle:
            writer.close()
        b.idle.clear()

    # --- the proxy (router thread) ------------------------------------------------------

    def _pick(self) -> _Backend | None:
        # Smooth weighted round-robin (as nginx): every backend gains its weight, the
        # richest is chosen and pays the total back.
        live = [b for b in self._backends.values() if b.weight > 0]
        if not live:
            return None
        total = 0
        best = live[0]
        for b in live:
            b.current += b.weight
            total += b.weight
            if b.current > best.current:
                best = b
        best.current -= total
        return best

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one client connection, its task held by the router while it runs."""
        task = asyncio.current_task()
        assert task is not None  # asyncio runs each connection in a task of its own
        self._clients.add(task)
        try:
            await self._serve_requests(reader, writer)
        finally:
            self._clients.discard(task)

    async def _serve_requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            for _ in range(10_000_000):  # requests per client connection (keep-alive)
                # A connection with no whole head within _HEAD_SECONDS (idle between
                # requests, a head trickled in, or one ending in bare LFs, which is not
                # taken as a head's end) or no whole body within _BODY_SECONDS after it is
                # cut off: each would hold a connection and its task for good.
                timer = _CutOff(loop, writer.transport, _HEAD_SECONDS)
                fields: _Fields | None = None  # the head's fields, once it could be read
                try:
                    head = await _read_head(reader, writer, self._ids.made)
                    if head is None:
                        return
                    if not head:
                        continue
                    timer.cancel()
                    timer = _CutOff(loop, writer.transport, _BODY_SECONDS)
                    first, fields = _parse_head(head)
                    if _REQUEST_LINE.fullmatch(first) is None:
                        raise _BadRequest(f"{_shown(first)} is not an HTTP/1.x request line")
                    request, keep, held = await self._read_request(
                        reader, writer, head, first, fields
                    )
                except asyncio.IncompleteReadError:  # the client left half-way, or was cut off
                    return
                except (_BadRequest, _TooLarge, _Busy) as refused:
                    timer.cancel()
                    bodiless = head is not None and head.startswith(b"HEAD ")
                    answer = self._refusal(refused, self._request_id(fields), bodiless)
                    await _refuse(reader, writer, answer)
                    return
                finally:
                    timer.cancel()
                bodiless = head.startswith(b"HEAD ")
                # The request goes in a box the forwarding empties once it is sent and
                # cannot be sent again, giving its bytes back then: a slot that never
                # answers keeps no room taken from the others' requests.
                sent = _Sent([request], held, self._held)
                del request
                try:
                    answer, keep = await self._forward(sent, fields, bodiless, keep)
                finally:
                    sent.done()
                if writer.transport.is_closing():  # the client left (uvloop would raise)
                    return
                writer.write(answer)
                await writer.drain()
                if not keep:
                    return
        except (OSError, asyncio.CancelledError):  # the client's socket failed: reset, gone
            return
        finally:
            writer.close()

    async def _read_request(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: bytes,
        first: bytes,
        fields: _Fields,
    ) -> tuple[bytes, bool, int]:
        """The whole request after ``head`` (read as ``first`` and ``fields``), to
        forward; whether the client's connection may carry another; the bytes its body
        took from the router's budget (:class:`_Held`), to give back once answered.

        The body's bytes are taken before they are read (:class:`_Busy` when there is no
        room); when reading fails, they are given back here."""
        http10 = first.endswith(b" HTTP/1.0")
        keep = not http10 and b"close" not in _tokens(fields, b"connection")
        length = _declared_length(fields)
        chunked = any(key == b"transfer-encoding" for key, _ in fields)
        if chunked:
            _check_transfer_encoding(fields, http10)
            # With a Content-Length too, the chunks say the length and the Content-Length
            # is dropped; such a request may be an attempt at smuggling, so its connection
            # is closed after the answer (RFC 9112 6.1).
            keep = keep and length is None
        if not chunked and length is not None and length > self._max_body:
            raise _TooLarge(length)  # before a byte of the body is read, or asked for
        expect = [value.lower() for key, value in fields if key == b"expect"]
        if chunked:
            if b"100-continue" in expect:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for it
            body, taken = await _read_chunked(reader, self._max_body, self._held)
        else:
            taken = self._held.take(length or 0)  # before a byte is read, or asked for
            try:
                if not expect:
                    # The common request: a Content-Length body, forwarded with its head
                    # as is unless it holds a field that ends here (a client's
                    # Connection: close would close the pooled connection to the backend
                    # after its answer).
                    body = b"" if length is None else await reader.readexactly(length)
                    if not _hop_by_hop(fields):
                        return head + body, keep, taken
                    declared = None if length is None else str(length).encode()
                    return _message(first, fields, body, length=declared), keep, taken
                if b"100-continue" in expect:
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for it
                body = await reader.readexactly(length or 0)
            except BaseException:
                self._held.give(taken)
                raise
        rest = [(key, value) for key, value in fields if key != b"expect"]
        return _message(first, rest, body, length=str(len(body)).encode()), keep, taken

    def _request_id(self, fields: _Fields | None) -> str:
        """The id of a request the router answers itself, by the servers' rule
        (:class:`~modelship._request_ids.RequestIds`): its first ``X-Request-ID`` when the
        servers would echo it, else a made one (also for a head that could not be read,
        ``None``)."""
        return self._ids.of(fields)

    def _refusal(
        self, refused: _BadRequest | _TooLarge | _Busy, request_id: str, bodiless: bool
    ) -> bytes:
        """The answer to a request the router will not forward: ``413``, ``501``, ``503``
        or ``400`` (to a ``HEAD``, ``bodiless``: its head only)."""
        if isinstance(refused, _Busy):
            status = 503
            error = (
                f"the router holds {refused.held} bytes of request bodies for other "
                f"connections, and this body of {refused.size} bytes would pass its limit "
                f"of {refused.budget} bytes ({_HELD_BODIES} bodies of the largest size "
                "taken); send the request again shortly, or fewer requests at once"
            )
        elif isinstance(refused, _Unsupported):
            status, error = 501, f"{refused}"
        elif isinstance(refused, _BadRequest):
            status, error = 400, f"malformed request: {refused}"
        else:
            status = 413
            error = (
                f"request body of {refused.size} bytes or more is over the limit of "
                f"{self._max_body} bytes; send fewer rows per request, or raise "
                "--max-body-bytes in the LocalDeployer's server_args"
            )
        return _response(status, error, request_id, keep=False, bodiless=bodiless)

    async def _forward(
        self, request: _Sent, fields: _Fields, bodiless: bool, keep: bool
    ) -> tuple[bytes, bool]:
        """The answer to ``request`` (whose head's ``fields`` give the id of an answer the
        router makes itself); whether the client's connection stays open after it (not
        once the router is stopping). ``request`` is let go of once sent (:class:`_Sent`)."""
        if self._stopping:
            keep = False
            error = "this deployment is shutting down; send the request to its new endpoint"
            return self._unavailable(error, fields, bodiless, keep), keep
        backend = self._pick()
        if backend is None:
            error = "no slot receives traffic; deploy a version first"
            return self._unavailable(error, fields, bodiless, keep), keep
        backend.inflight += 1
        idempotent = request.idempotent
        try:
            for fresh in (False, True):
                try:
                    return await self._exchange(backend, request, fresh, bodiless, keep), keep
                except _BackendGone as gone:
                    if fresh or not gone.pooled or not (idempotent or gone.before_sending):
                        raise
            raise _BackendGone  # pragma: no cover - the loop returns or raises
        except (
            _BackendGone,
            _ServerExited,
            OSError,
            asyncio.IncompleteReadError,
            ValueError,
        ) as exc:
            error = f"slot {backend.name} failed: {_what_failed(exc, backend.exit_status())}"
            request_id = self._request_id(fields)
            return _response(502, error, request_id, keep=keep, bodiless=bodiless), keep
        finally:
            backend.inflight -= 1
            if backend.inflight == 0 and backend.drained is not None:
                backend.drained.set()

    def _unavailable(self, error: str, fields: _Fields, bodiless: bool, keep: bool) -> bytes:
        """The router's ``503`` to a request no backend can take now."""
        request_id = self._request_id(fields)
        return _response(503, error, request_id, keep=keep, bodiless=bodiless)

    async def _connection(
        self, backend: _Backend, fresh: bool
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """A connection to ``backend``: a pooled one (unless ``fresh``), else a new one;
        whether it was pooled.

        None to a backend whose server has exited (:class:`_ServerExited`): that is
        looked at first, since its port may be another process's by then.
        """
        status = backend.exit_status()
        if status is not None:
            raise _ServerExited(status)
        pooled = None if fresh else self._pooled(backend)
        if pooled is not None:
            return *pooled, True
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", backend.port, limit=_MAX_HEAD
            )
        except OSError as exc:
            raise _BackendGone(before_sending=True) from exc
        return reader, writer, False

    async def _exchange(
        self, backend: _Backend, request: _Sent, fresh: bool, bodiless: bool, keep: bool
    ) -> bytes:
        """Send ``request`` to ``backend``; the whole response, ready for a client whose
        connection stays open (``keep``) or closes after it."""
        reader, writer, pooled = await self._connection(backend, fresh)
        try:
            writer.write(request.request)
            await writer.drain()
            request.sent()  # written whole: its room is given back, unless sent again
            head = await reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError) as exc:
            writer.close()
            raise _BackendGone(pooled=pooled) from exc
        except asyncio.LimitOverrunError as exc:  # answered 502, as an unreadable head is
            writer.close()
            raise ValueError("the answer's head is over 64 KiB") from exc
        try:
            answer, reusable = await _read_answer(reader, head, bodiless, keep)
        except BaseException:
            writer.close()
            raise
        # A backend being drained is about to stop: its connections are not kept. Nor is
        # one holding bytes past the answer (a backend that sent more than its
        # Content-Length, or an answer nobody asked for): the next request on it would
        # be answered with them, another client's answer shifted by one.
        if (
            reusable
            and not _unread(reader)
            and backend.drained is None
            and len(backend.idle) < _IDLE_PER_BACKEND
        ):
            backend.idle.append((reader, writer, asyncio.get_running_loop().time()))
        else:
            writer.close()
        return answer

    @staticmethod
    def _pooled(
        backend: _Backend,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A pooled connection still worth using, or None; the others are closed (one
        the backend sent bytes on while it was idle, unasked, too). Bounded by the pool's
        size."""
        now = asyncio.get_running_loop().time()
        while backend.idle:
            reader, writer, since = backend.idle.pop()
            if not reader.at_eof() and not _unread(reader) and now - since < _IDLE_SECONDS:
                return reader, writer
            writer.close()
        return None
