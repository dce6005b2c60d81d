"""What every ``modelship`` command shares: storage options, and output to ``-``.

A leaf for command-line hooks: it imports nothing from modelship but the exception tree.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import importlib
import io
import json
import math
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from modelship._shown import hide_credentials, printable
from modelship.errors import (
    ConfigError,
    InvalidName,
    SigningKeyRequired,
    StoreError,
    VersionNotFound,
)
from modelship.report import write_text

if TYPE_CHECKING:
    from modelship.registry import Registry

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_KEY_REQUIRED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "SIGNING_KEY_ENV",
    "add_output_options",
    "add_report_options",
    "add_signing_key_option",
    "add_storage_options",
    "alias_name",
    "exit_2_without_key",
    "for_the_command_line",
    "guarded_stdio",
    "lazy_handler",
    "open_cli_registry",
    "positive_seconds",
    "reopen_closed_stdio",
    "say",
    "seconds",
    "silence_stderr",
    "silence_stdout",
    "stdout_failed",
    "stdout_failure",
    "storage_options",
    "write_output",
]

STDOUT = "-"
"""The file name that means standard output (``--json -``)."""

SIGNING_KEY_ENV = "MODELSHIP_SIGNING_KEY"
"""The environment variable the command line reads a registry's signing key from."""

# The exit codes of every ``modelship`` command (see :mod:`modelship.cli`), here so that
# a command's hook or handler imports them without what ``modelship.cli`` imports.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # the shell's 128 + SIGINT: a script tells Ctrl-C from a failure
EXIT_TERMINATED = 143  # the shell's 128 + SIGTERM, as for a process the signal ended

EXIT_KEY_REQUIRED = EXIT_ERROR
"""The exit code of every command that opens a signed registry without its key: an error
(a configuration to fix), never 1, which means a verification failed (``registry
verify``) or, for ``deploy``, a rollout aborted or nothing to roll back."""

_Handler = Callable[[argparse.Namespace], int]


def exit_2_without_key(parser: argparse.ArgumentParser) -> None:
    """Make each command handler under ``parser`` exit 2 when it opens a signed registry
    without its key (:class:`~modelship.errors.SigningKeyRequired`), saying so on stderr.

    ``modelship``'s main reads any other :class:`~modelship.IntegrityError` as a
    verification that failed (exit 1); a missing key is not one. The handlers are the
    ``func`` defaults of ``parser`` and of its subcommands, at any depth, wrapped once.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> sub = parser.add_subparsers()
    >>> def refused(args: argparse.Namespace) -> int:
    ...     raise SigningKeyRequired("the registry at /srv/models signs its versions")
    >>> sub.add_parser("look").set_defaults(func=refused)
    >>> exit_2_without_key(parser)
    >>> args = parser.parse_args(["look"])
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     code = args.func(args)
    >>> code, err.getvalue()
    (2, 'modelship: SigningKeyRequired: the registry at /srv/models signs its versions\\n')
    """
    func = parser.get_default("func")
    if callable(func) and not getattr(func, "_exits_2_without_key", False):
        parser.set_defaults(func=_exiting_2_without_key(func))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():  # an alias's parser: wrapped once
                exit_2_without_key(child)


def _exiting_2_without_key(handler: _Handler) -> _Handler:
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except SigningKeyRequired as exc:
            message = printable(" ".join(hide_credentials(str(exc)).split()))
            say(f"modelship: {type(exc).__name__}: {message}")
            return EXIT_KEY_REQUIRED

    run._exits_2_without_key = True  # type: ignore[attr-defined]
    return run


def add_signing_key_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--signing-key-env VAR``: where :func:`open_cli_registry` reads the key.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_signing_key_option(parser)
    >>> parser.parse_args([]).signing_key_env
    'MODELSHIP_SIGNING_KEY'
    >>> parser.parse_args(["--signing-key-env", ""]).signing_key_env
    ''
    """
    parser.add_argument(
        "--signing-key-env",
        default=SIGNING_KEY_ENV,
        metavar="VAR",
        help=f"environment variable holding the registry's signing key (default "
        f"{SIGNING_KEY_ENV}; '' reads none, for an unsigned registry while it is set)",
    )


def open_cli_registry(
    url: str, *, key_env: str = SIGNING_KEY_ENV, key_from: str | None = None, **options: Any
) -> Registry:
    """The registry at ``url`` as every command opens it: a signed one with the key in
    :data:`SIGNING_KEY_ENV` when that is set (its bytes as the system holds them, so any
    bytes serve as a key), as ``modelship registry`` and ``modelship serve`` read it.
    ``key_env`` names another variable (``--signing-key-env``), which must then be set;
    ``""`` reads none (an unsigned registry while the variable is set for another one).
    An explicit ``signing_key`` in ``options`` (``-o signing_key=...``) wins.
    ``key_from`` says where that explicit key came from, for the message refusing it
    (``"--signing-key-fd 3"``; by default ``-o signing_key``).

    Raises
    ------
    SigningKeyRequired
        When the registry's signing policy carries a signature that does not verify with
        the key given (the registry signs with another key: exit 2 on the command line,
        an error to fix, not a document that failed to verify), unless it is read
        unchecked (``verify_signatures=False``), which reads with any key and writes
        with none but the registry's. A policy that is damaged or carries no signature
        is no sign of another key: it is left to the checks of each document read.

    Examples
    --------
    >>> open_cli_registry("memory://cli-common-open-doc").store.url
    'memory://cli-common-open-doc'
    >>> import modelship as ms
    >>> signed = ms.open_registry("memory://cli-common-key-doc", signing_key=b"k" * 32)
    >>> signed.register(model_name="m", model=b"w", serializer="bytes").version
    '1'
    >>> open_cli_registry("memory://cli-common-key-doc", signing_key=b"j" * 32)
    Traceback (most recent call last):
    ...
    modelship.errors.SigningKeyRequired: the registry at memory://cli-common-key-doc signs with ...
    """
    from modelship.registry import open_registry

    key = os.environ.get(key_env) if key_env else None
    if key_env and key_env != SIGNING_KEY_ENV and key is None:
        raise ConfigError(f"--signing-key-env {key_env}: that environment variable is not set")
    explicit = "signing_key" in options
    if key and not explicit:
        options["signing_key"] = os.fsencode(key)
    registry: Registry = open_registry(url, **options)
    given = options.get("signing_key")
    # Read unchecked (--no-verify-signatures), any key reads; its writes are refused.
    if given is not None and options.get("verify_signatures", True) is True:
        where = (key_from or "-o signing_key") if explicit else key_env
        _refuse_another_key(registry, given, where)
    return registry


def _refuse_another_key(registry: Registry, key: bytes | str, where: str) -> None:
    """Raise :class:`~modelship.errors.SigningKeyRequired` if the registry's signing
    policy carries a signature that ``key`` did not make: the registry's key is required,
    and this is another (a rotated or mis-set secret). Without this, the first signed
    document read failed to verify (exit 1, "signed by someone else"), as if the registry
    had been changed. One read of the small policy document, parsed as the registry's
    signer parses it.

    Anything else is left to the command, as without this check: no policy (a registry
    not signed, or not yet, or a URL naming a file or no folder), one that cannot be read
    or parsed, or that no key could have made (damaged: each signed document still
    verifies with the key, or fails on its own; :meth:`Signer.policy_damage`), such as one
    that carries no signature (what a keyed reader of such a registry trusts is decided
    document by document).
    """
    from modelship.registry._layout import SIGNING_POLICY
    from modelship.registry._signing import Signer

    try:
        policy = registry.store.read(SIGNING_POLICY)
    except (FileNotFoundError, NotADirectoryError):  # none
        return
    except StoreError as exc:
        # A URL naming a file: a local store says NotADirectoryError as a StoreError. The
        # command reports what is there (RegistryNotFound); other failures are raised.
        if isinstance(exc.__cause__, NotADirectoryError):
            return
        raise
    if Signer.policy_damage(policy) is not None:
        return  # damaged: no key made it, so it tells nothing of this one
    if not Signer(key).signs_policy(policy):
        raise SigningKeyRequired(
            f"the registry at {hide_credentials(registry.store.url)} signs with another key "
            f"than the one in {where}: its signing policy ({SIGNING_POLICY}) does not verify "
            "with it, so every document it signed would be refused as changed; give the key "
            "the registry was created with"
        )


def add_storage_options(parser: argparse.ArgumentParser, *, short: bool = True) -> None:
    """Add ``-o/--option KEY=VALUE`` (repeatable): fsspec storage options.

    ``short=False`` leaves ``-o`` free for a command whose ``-o`` is its output file
    (``modelship registry download ... -o PATH``), as in curl and wget.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_storage_options(parser)
    >>> parser.parse_args(["-o", "anon=false"]).option
    ['anon=false']
    """
    parser.add_argument(
        *(("-o", "--option") if short else ("--option",)),
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fsspec storage option (value parsed as JSON when it is JSON), repeatable",
    )


def seconds(text: str) -> float:
    """An ``argparse`` type: a finite number of seconds, at least 0.

    Examples
    --------
    >>> seconds("2.5")
    2.5
    >>> seconds("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'nan' is not a number of seconds >= 0 (give e.g. 30)
    >>> seconds("\u0663\u0660")  # Arabic-Indic digits: read by float(), refused here
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '٣٠' is not a number of seconds >= 0 (give e.g. 30)
    """
    return _seconds(text, above_zero=False)


def positive_seconds(text: str) -> float:
    """An ``argparse`` type: a finite number of seconds above 0 (a wait between polls).

    Examples
    --------
    >>> positive_seconds("0.5")
    0.5
    >>> positive_seconds("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '0' is not a number of seconds > 0 (give e.g. 1)
    """
    return _seconds(text, above_zero=True)


def _seconds(text: str, *, above_zero: bool) -> float:
    try:
        # ASCII only, as the spec's durations: float() also reads other scripts' digits.
        value = float(text) if text.isascii() else math.nan
    except ValueError:
        value = math.nan
    if math.isfinite(value) and (value > 0 or (value == 0 and not above_zero)):
        return value
    bound, example = ("> 0", 1) if above_zero else (">= 0", 30)
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a number of seconds {bound} (give e.g. {example})"
    )


def storage_options(pairs: Sequence[str]) -> dict[str, Any]:
    """fsspec storage options from ``key=value`` pairs, values parsed as JSON when they are.

    ``signing_key`` is always the text given. A credential or a name (``user``,
    ``password``, ``key``, ``secret``, ``token``... see :data:`_TEXT_OPTIONS`) given as a
    number or ``null`` is the text given, so a password of digits reaches the store as
    text; ``true`` and ``false`` stay truth values (``token=false`` turns Hugging Face's
    authentication off), and a quoted string, a list or a mapping is read as JSON (gcsfs
    takes a ``token`` mapping; ``password='"true"'`` is that text).

    The S3 endpoint from the environment (``AWS_ENDPOINT_URL_S3`` ...) is added where a
    URL is opened, for ``s3://`` URLs only (see :mod:`modelship._endpoints`).

    Raises
    ------
    ConfigError
        For a pair without ``=``.

    Examples
    --------
    >>> storage_options(["anon=false", "profile=dev"])
    {'anon': False, 'profile': 'dev'}
    >>> storage_options(["user=1234", "secret=007", "key=null", "max_concurrency=4"])
    {'user': '1234', 'secret': '007', 'key': 'null', 'max_concurrency': 4}
    >>> storage_options(["token=false"])
    {'token': False}
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"storage option {pair!r} must look like key=value")
        if key in _RAW_OPTIONS:  # a key of digits, true or null is still that text
            options[key] = value
            continue
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        if key in _TEXT_OPTIONS and not isinstance(parsed, (str, list, dict, bool)):
            parsed = value  # a password of digits is that text, not a number
        options[key] = parsed
    return options


#: Options whose value is always the text given, never read as JSON.
_RAW_OPTIONS = frozenset({"signing_key"})

#: Options whose value is text by nature (credentials, user and profile names), among
#: modelship's own and those of the fsspec back ends a registry or data is read through
#: (s3fs, gcsfs, adlfs, sftp, ftp): a JSON number or ``null`` given for one is kept as
#: the text given. ``true`` and ``false`` are truth values: Hugging Face's ``token=False``
#: turns its authentication off (a ``token`` of text is the credential). A quoted string,
#: list or mapping is still read as JSON: gcsfs's ``token`` may be a mapping, and
#: ``password='"0123"'`` was the way to give digits so far.
_TEXT_OPTIONS = frozenset(
    {
        "user",  # open_registry's, and webhdfs's
        "username",
        "password",
        "passphrase",
        "key",
        "secret",
        "token",
        "profile",
        "account_name",
        "account_key",
        "sas_token",
        "client_id",
        "client_secret",
        "tenant_id",
    }
)


def write_output(target: str, text: str, *, append: bool = False) -> None:
    """Write ``text`` to the file ``target`` (``-``: standard output), UTF-8.

    Missing parent folders are created; with ``append=True`` an existing file is added to,
    as ``$GITHUB_STEP_SUMMARY`` expects.

    Raises
    ------
    ConfigError
        When the file cannot be written (a parent that is a file, no permission, a full
        disk), naming the file and the reason, chained from the ``OSError``. An error
        writing to standard output (a reader gone early) is left as it is.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out" / "summary.md"
    >>> write_output(str(path), "one\\n", append=True)
    >>> write_output(str(path), "two\\n", append=True)
    >>> path.read_text(encoding="utf-8")
    'one\\ntwo\\n'
    >>> write_output("-", "to stdout\\n")
    to stdout
    <BLANKLINE>
    """
    if target == STDOUT:
        # In standard output's own encoding: a character it cannot take (cp1252 on a
        # Windows runner) is written as an escape, not a UnicodeEncodeError.
        encoding = sys.stdout.encoding or "utf-8"
        sys.stdout.write(text.encode(encoding, "backslashreplace").decode(encoding))
        sys.stdout.flush()
        return
    # Encoded first, then put in place whole: a failure leaves the old file as it was.
    write_text(target, text, append=append)


def silence_stdout() -> None:
    """Point standard output at nothing: the reader has gone (``... | head``), so what is
    still written, and the interpreter's final flush, go nowhere instead of failing.

    Examples
    --------
    >>> silence_stdout()  # under a test's capture there is no descriptor: nothing to do
    """
    _silence(sys.stdout)


def silence_stderr() -> None:
    """Point standard error at nothing, as :func:`silence_stdout` does standard output.

    Examples
    --------
    >>> silence_stderr()  # under a test's capture there is no descriptor: nothing to do
    """
    _silence(sys.stderr)


def say(text: str, *, end: str = "\n") -> None:
    """Write ``text`` (and ``end``) to standard error: every message of the command line.

    What standard error's encoding cannot hold is written escaped. A standard error that
    cannot be written (``2>/dev/full``, a descriptor open only for reading) is pointed at
    nothing (:func:`silence_stderr`) and the command carries on: a message that cannot
    be shown never changes the exit code (1 would read as a verdict).

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     say("modelship: done")
    >>> err.getvalue()
    'modelship: done\\n'
    """
    stream = sys.stderr
    if stream is None:  # no standard error at all (pythonw): nowhere to say it
        return
    try:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write((text + end).encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()
    except (OSError, ValueError):  # full, read-only or closed: the message is lost, no more
        silence_stderr()


class _QuietRaw(io.FileIO):
    """Standard error's descriptor, written by :func:`guarded_stdio`: a write that fails
    points the descriptor at the null device, and counts as written."""

    def write(self, data: Any) -> int:
        try:
            written: int = super().write(data)
        except BlockingIOError:
            raise
        except OSError:
            _silence(self)
            return memoryview(data).nbytes
        return written


class _WatchedRaw(io.FileIO):
    """Standard output's descriptor, written by :func:`guarded_stdio`: the error of a
    write that failed is kept, so :func:`stdout_failed` knows it was standard output's."""

    failure: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            written: int = super().write(data)
        except OSError as exc:
            self.failure = exc
            raise
        return written


def _rewrapped(stream: Any, fd: int, raw_type: type[io.FileIO]) -> io.TextIOWrapper | None:
    """A text stream like ``stream`` (the interpreter's, on ``fd``), written through
    ``raw_type``; None when ``stream`` is not the interpreter's own (a test's capture)."""
    if type(stream) is not io.TextIOWrapper:
        return None
    try:
        if stream.fileno() != fd:
            return None
        stream.flush()
        raw = raw_type(fd, "w", closefd=False)
    except (OSError, ValueError):
        return None
    # Unbuffered (``python -u``, PYTHONUNBUFFERED, as in most containers) stays unbuffered:
    # a message of a long-running command reaches the descriptor when it is written.
    unbuffered = isinstance(getattr(stream, "buffer", None), io.RawIOBase)
    return io.TextIOWrapper(
        raw if unbuffered else io.BufferedWriter(raw),
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=stream.line_buffering,
        write_through=stream.write_through,
    )


@contextlib.contextmanager
def guarded_stdio() -> Iterator[None]:
    """While the command runs, standard error cannot fail a write, and a failed write
    of standard output is known as one (:func:`stdout_failed`).

    For ``modelship`` run as the program: every message written to ``sys.stderr``, by a
    command's handler too, goes through a descriptor that points itself at the null
    device when it cannot be written (``2>/dev/full``, ``2>&-`` under a wrapper that
    left the descriptor open for reading): the command ends with the exit code it would
    have had. Streams that are not the interpreter's own (a test's capture, a caller's
    redirection) are left as they are.

    Examples
    --------
    >>> with guarded_stdio():  # under a test's capture: nothing to guard
    ...     pass
    """
    saved = sys.stdout, sys.stderr
    out = _rewrapped(sys.stdout, 1, _WatchedRaw)
    err = _rewrapped(sys.stderr, 2, _QuietRaw)
    if out is not None:
        sys.stdout = out
    if err is not None:
        sys.stderr = err
    try:
        yield
    finally:
        try:
            for guarded, silence in ((out, silence_stdout), (err, silence_stderr)):
                if guarded is None:
                    continue
                try:
                    guarded.flush()
                # Standard output failed too, or a second Ctrl-C cut the flush (a reader
                # that stopped reading): what is left is not written, nothing more said.
                except (OSError, ValueError, KeyboardInterrupt):
                    silence()
                    with contextlib.suppress(OSError, ValueError, KeyboardInterrupt):
                        guarded.flush()
        finally:
            # The interpreter's own streams come back whatever happened above: its last
            # flush must not meet a stream of ours blocked on a full pipe.
            sys.stdout, sys.stderr = saved


def stdout_failure() -> OSError | None:
    """The error of the last write of standard output that failed while :func:`guarded_stdio`
    watched it, or None: for output whose writer swallows the error (argparse's ``--help``
    ignores an ``OSError``), so the command can still report it.

    Examples
    --------
    >>> stdout_failure() is None  # not guarded (a test's capture): nothing known
    True
    """
    buffer = getattr(sys.stdout, "buffer", None)
    raw = getattr(buffer, "raw", buffer)  # unbuffered (python -u): the buffer is the raw
    return raw.failure if isinstance(raw, _WatchedRaw) else None


def stdout_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is the error of writing standard output, as :func:`guarded_stdio`
    watches it (a reader gone early, :class:`BrokenPipeError`, included).

    Examples
    --------
    >>> stdout_failed(OSError(28, "No space left on device"))  # not guarded: not known
    False
    """
    buffer = getattr(sys.stdout, "buffer", None)
    raw = getattr(buffer, "raw", buffer)  # unbuffered (python -u): the buffer is the raw
    return isinstance(raw, _WatchedRaw) and raw.failure is exc


def _silence(stream: Any) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (a test's capture)
        pass


def reopen_closed_stdio() -> None:
    """Open :data:`os.devnull` on whichever of the descriptors 0, 1 and 2 is closed.

    A command started without them (``modelship ... >&-``, ``2>&-``) otherwise lends the
    number to the next file or socket opened, and what is meant for standard output goes
    into it; and Python leaves the stream of a closed descriptor as None, so a message
    for standard error went to standard output (``print(file=None)``, into a checksum
    file redirected there) and one for standard output crashed. Such a stream is pointed
    at the null device too.

    Examples
    --------
    >>> reopen_closed_stdio()  # all three open: nothing to do
    """
    streams = {1: "stdout", 2: "stderr"}
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError as exc:
            if exc.errno != errno.EBADF:
                continue
        null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if null != fd:  # the lowest free number: fd itself, unless a lower one is closed too
            os.dup2(null, fd)
            os.close(null)
        os.set_inheritable(fd, True)  # as a standard descriptor is
        name = streams.get(fd)
        if name is not None and getattr(sys, name) is None:
            setattr(sys, name, open(fd, "w", buffering=1, closefd=False))  # noqa: SIM115


def alias_name(text: str) -> str:
    """``--alias``: a name the registry accepts as an alias (a leading ``@`` dropped).

    Checked when the command line is read, as the registry would check it, so that a
    name no alias can have is a usage error (exit 2) before anything starts (``deploy
    apply`` used to start a model server first, ``deploy rollback`` to say there was
    nothing to roll back, ``monitor watch`` to watch for its whole duration).

    Examples
    --------
    >>> alias_name("@production")
    'production'
    >>> alias_name("../x")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: alias '../x' is not allowed: characters '/' are not ...
    """
    try:
        from modelship._names import check_alias

        return check_alias(text)
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def for_the_command_line(
    exc: BaseException, registry: str | None = None, model: str | None = None
) -> BaseException:
    """``exc`` as the command line says it: for a :class:`~modelship.VersionNotFound`
    (no such version or alias), whose message points a Python user at the registry's
    ``versions(name)`` or ``aliases(name)``, one of the same type with the command that
    lists them added (``modelship registry versions REGISTRY MODEL``, which shows the
    aliases too), chained from ``exc``; any other error as it is.

    The library's message is kept whole and nothing is read out of it: the command line
    catches the error where a command looks a version up and adds its own sentence.
    Only ``VersionNotFound`` itself: :class:`~modelship.ModelNotFound` names the models
    there are, and :class:`~modelship.ArchivedVersion` names its flags already.

    Examples
    --------
    >>> from modelship.errors import VersionNotFound
    >>> said = for_the_command_line(VersionNotFound("fraud has no version '9'"), "./m", "fraud")
    >>> type(said).__name__, str(said).split("`")[1]
    ('VersionNotFound', 'modelship registry versions ./m fraud')
    """
    if type(exc) is not VersionNotFound:
        return exc
    where = "REGISTRY" if registry is None else shlex.quote(hide_credentials(registry))
    name = "MODEL" if model is None else shlex.quote(model)
    said = VersionNotFound(
        f"{exc} (on the command line: `modelship registry versions {where} {name}` lists "
        "its versions and aliases)"
    )
    said.__cause__ = exc
    return said


def lazy_handler(target: str) -> _Handler:
    """The handler ``module:function`` of a command, imported only when the command runs.

    Building the parser (``modelship --help``, ``modelship registry ...``) then imports
    none of what a command needs to run: ``check`` and ``monitor`` import SciPy's
    statistics, most of a second. The function is looked up on each run, so one replaced
    on its module (a test's ``monkeypatch``) is the one called.

    Examples
    --------
    >>> run = lazy_handler("modelship.checks._cli:run_drift")
    >>> run.__module__, run.__name__
    ('modelship.checks._cli', 'run_drift')
    """
    module, _, name = target.partition(":")

    def run(args: argparse.Namespace) -> int:
        handler: _Handler = getattr(importlib.import_module(module), name)
        return handler(args)

    run.__name__ = run.__qualname__ = name
    run.__module__ = module
    return run


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Storage options and the report options every check command takes."""
    add_storage_options(parser)
    add_report_options(parser)
    parser.add_argument("--strict", action="store_true", help="warnings fail the run too")


def add_report_options(parser: argparse.ArgumentParser, *, results: str = "the results") -> None:
    """``--junit``, ``--markdown``, ``--markdown-mode`` and ``--json``, as every command
    that writes a suite's reports takes them (the check commands, ``parity check``)."""
    parser.add_argument("--junit", metavar="PATH", help="write JUnit XML here ('-': stdout)")
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        help="add a Markdown summary to this file (e.g. \"$GITHUB_STEP_SUMMARY\"; '-': stdout)",
    )
    parser.add_argument(
        "--markdown-mode",
        choices=("append", "overwrite"),
        default="append",
        help="append to the --markdown file (default, as job summaries expect) or overwrite it",
    )
    parser.add_argument(
        "--json", metavar="PATH", help=f"write {results} as JSON here ('-': stdout)"
    )
