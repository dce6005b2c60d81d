"""``modelship …`` and ``python -m modelship …``: a thin shell over the public API for CI.

Exit codes: 0 success, 1 a verification or check failed, 2 an error (bad input, missing
version, storage failure, and any unexpected exception: a bug here or in a plugin, one
line on stderr; ``MODELSHIP_TRACEBACK=1`` prints its traceback on stderr instead, still
exit 2), 130 interrupted (Ctrl-C: one line on stderr, no traceback), 143 terminated
(SIGTERM, as ``timeout`` and a CI runner cancelling a step send it: one line on stderr,
and a file a command was writing is removed as after Ctrl-C). That is the program's
handling (``modelship``, ``python -m modelship``: :func:`main` called without arguments),
where SIGTERM had its default action: an ignored SIGTERM (``trap '' TERM``) stays
ignored, and ``main([...])`` called by a program leaves its signals to it. ``serve``,
``deploy apply`` and ``monitor watch``, which run until a signal stops them, are left to
their own handling of SIGTERM (a server drains, a rollout is aborted).
Machine-readable output is JSON on stdout; messages go to stderr. A reader that closes
stdout early ends the command quietly with the verdict it had reached: a command that
found a failure sets ``args.exit_code_so_far``, which is then the exit code. A command
started with stdout or stderr closed (``>&-``) writes what would go there to nothing.
A standard error that cannot be written (``2>/dev/full``) loses its messages and changes
no exit code; a standard output that cannot be written (``>/dev/full``) is an error,
exit 2, saying so.

Each capability brings its own commands through one hook, listed in :data:`COMMANDS`
(``registry``, ``check``, ``parity``, ``deploy``, ``serve``, ``monitor``), and other
packages add theirs through the ``modelship.cli`` entry-point group.

Examples
--------
>>> from modelship.cli import main
>>> main(["registry", "models", "memory://cli-doc"])
0
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from types import FrameType

import modelship as ms
from modelship._cli_common import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    for_the_command_line,
    guarded_stdio,
    reopen_closed_stdio,
    say,
    silence_stdout,
    stdout_failed,
    stdout_failure,
)
from modelship._plugins import plugin, plugins
from modelship._shown import hide_credentials, printable
from modelship.errors import ConfigError, IntegrityError, ModelshipError, SigningKeyRequired

__all__ = ["COMMANDS", "ENTRY_POINT_GROUP", "build_parser", "main"]

#: The built-in commands: the top-level command each capability adds, and its hook.
#: A hook is ``add_commands(subparsers)``: it adds that one command (with any subcommands)
#: and sets ``func`` on each, a handler taking the parsed arguments and returning the exit
#: code. Every command line builds them all (``--help`` lists them), so a hook imports
#: what building its parser takes, and a handler what running it does (see
#: :mod:`modelship._cli_hooks`). A new capability with a command line adds one line here;
#: a third-party package declares the same hook as an entry point in the ``modelship.cli``
#: group, under the name of its command.
COMMANDS: Mapping[str, str] = {
    "registry": "modelship.registry._cli:add_commands",
    "check": "modelship._cli_hooks:check_commands",
    "parity": "modelship._cli_hooks:parity_commands",
    "deploy": "modelship.deploy._cli:add_commands",
    "serve": "modelship.deploy.serve._cli:add_commands",
    "monitor": "modelship._cli_hooks:monitor_commands",
}

ENTRY_POINT_GROUP = "modelship.cli"
"""Entry-point group through which other packages add ``modelship`` commands."""

_PROG = "modelship"
_SubParsers = argparse._SubParsersAction  # the type argparse gives add_subparsers()
CommandHook = Callable[["_SubParsers[argparse.ArgumentParser]"], None]


def _load_hook(target: str) -> CommandHook:
    module, _, name = target.partition(":")
    hook: CommandHook = getattr(importlib.import_module(module), name)
    return hook


def _add_command(
    sub: _SubParsers[argparse.ArgumentParser],
    name: str,
    hook: CommandHook,
    origin: str,
    *,
    reserved: Collection[str] = (),
) -> None:
    """Add the command ``name`` that ``hook`` makes, and nothing else it makes.

    The hook runs against a scratch parser: a hook that is refused (it did not add
    ``name``) adds nothing, and one that adds other commands besides (or replaces one)
    cannot reach the command line. An alias of the command (``add_parser(name,
    aliases=[...])``) that names a command already there, or one of ``reserved``, is
    left out with a message: an alias cannot take another command's name either.
    """
    scratch = argparse.ArgumentParser(prog=_PROG).add_subparsers(dest="command")
    hook(scratch)
    if name not in scratch.choices:
        raise ConfigError(f"{origin} did not add the command {name!r} it is registered for")
    command = scratch.choices[name]
    # The command's aliases (add_parser(name, aliases=[...])) are names of the same parser.
    own = [choice for choice, parser in scratch.choices.items() if parser is command]
    others = sorted(set(scratch.choices) - set(own))
    if others:
        say(f"modelship: ignoring the commands {others} {origin} also added")
    refused = [c for c in own if c != name and (c in sub.choices or c in reserved)]
    if refused:
        say(
            f"modelship: ignoring the aliases {refused} {origin} gave {name!r}: "
            "another command has that name"
        )
    kept = [choice for choice in own if choice not in refused]
    for choice in kept:
        sub.choices[choice] = command
    # The line of `modelship --help` that names the command, its kept aliases and its help.
    for action in scratch._choices_actions:
        if action.dest == name:
            aliases = [choice for choice in kept if choice != name]
            action.metavar = f"{name} ({', '.join(aliases)})" if aliases else name
            sub._choices_actions.append(action)


def _plugin_commands() -> list[importlib.metadata.EntryPoint]:
    return sorted(plugins(ENTRY_POINT_GROUP).values(), key=lambda ep: ep.name)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``modelship`` command.

    Examples
    --------
    >>> build_parser().parse_args(["registry", "show", "/srv/models", "fraud", "@production"]).ref
    '@production'
    """
    return _parser(COMMANDS, plugins=True)


def _parser(commands: Mapping[str, str], *, plugins: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG, description="Carry trained models to production safely."
    )
    parser.add_argument("--version", action="version", version=f"modelship {ms.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, target in commands.items():
        _add_command(sub, name, _load_hook(target), target)
    if not plugins:
        return parser
    declared = _plugin_commands()
    for entry_point in declared:
        # An alias cannot take a built-in's name, nor the name another package declares.
        reserved = {*COMMANDS, *(ep.name for ep in declared if ep.name != entry_point.name)}
        origin = f"entry point {entry_point.name!r} ({entry_point.value})"
        if entry_point.name in sub.choices:
            # Like a plugin table that refuses to replace an entry: a package cannot take
            # over a command, and the command line still works for everything else.
            say(f"modelship: ignoring {origin}: {entry_point.name!r} exists")
            continue
        try:
            plugin(ENTRY_POINT_GROUP, entry_point.name, rescan=False)
        except ConfigError as exc:
            # Two packages declare the command: neither is chosen by the order of sys.path.
            # The others still work; running this one is the error, naming both.
            say(f"modelship: ignoring {origin}: {_one_line(exc)}")
            _add_refused(sub, entry_point.name, exc)
            continue
        try:
            _add_command(sub, entry_point.name, entry_point.load(), origin, reserved=reserved)
        # A broken plugin must not break the other commands: SystemExit too (a plugin
        # calling sys.exit() while it loads ended `modelship --help` with no output).
        except (Exception, SystemExit) as exc:
            say(f"modelship: ignoring {origin}: {type(exc).__name__}: {exc}")
    return parser


def _add_refused(sub: _SubParsers[argparse.ArgumentParser], name: str, exc: ConfigError) -> None:
    """Add the command ``name``, left out of ``--help``, whose run raises ``exc``: running
    a refused plugin command says why (exit 2), rather than that no such command exists."""

    def refuse(args: argparse.Namespace) -> int:
        raise exc

    # No option prefix: whatever follows the name (--flag included) is taken, not refused.
    command = sub.add_parser(name, add_help=False, prefix_chars="\0")
    command.add_argument("ignored", nargs="*")
    command.set_defaults(func=refuse)


#: The commands that run until a signal stops them: main leaves SIGTERM to their own
#: handling (``serve`` drains its requests, ``deploy apply`` aborts a rollout; a watch
#: just ends). A command here with no subcommand stands for all of its subcommands.
_OWN_SIGTERM: frozenset[tuple[str, ...]] = frozenset(
    {("serve",), ("deploy", "apply"), ("monitor", "watch")}
)


class _Terminated(KeyboardInterrupt):
    """SIGTERM while a command runs: raised by main's handler where the signal came.

    A :class:`KeyboardInterrupt`, so that what cleans up after Ctrl-C (the temporary file
    of a download, a report being written) cleans up after SIGTERM too, and no handler of
    ``Exception`` takes it for a failure of the command.
    """


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signum)


@contextlib.contextmanager
def _sigterm_raises(args: argparse.Namespace, *, program: bool) -> Iterator[None]:
    """While the command of ``args`` runs, SIGTERM raises :class:`_Terminated`, when
    ``main`` runs as the program (``program``: the console script and ``python -m
    modelship`` call it without arguments) and SIGTERM has its default action.

    Signals are otherwise left alone: ``main([...])`` called by a program leaves them to
    its handlers, those installed outside Python included (Python reports one that
    ``faulthandler.register`` or a C extension installed as the default), and an
    inherited SIG_IGN (``trap '' TERM``) stays ignored. Left alone too: a command that
    handles SIGTERM itself (:data:`_OWN_SIGTERM`), and a thread other than the main one
    (only it may set a handler)."""
    command = getattr(args, "command", None)
    path = (command, getattr(args, f"{command}_command", None))
    if (
        not program
        or path in _OWN_SIGTERM
        or path[:1] in _OWN_SIGTERM
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 failed, 2 error, 130
    interrupted, 143 terminated).

    ``argv`` defaults to the program's arguments: called so (as the ``modelship`` console
    script and ``python -m modelship`` call it), ``main`` is the program, and SIGTERM ends
    a command as Ctrl-C does (exit 143), unless SIGTERM was ignored or handled already.
    Called with ``argv`` (a program running a command), it leaves signals to the caller.

    Examples
    --------
    >>> main(["registry", "versions", "memory://cli-main-doc", "nobody"])
    2
    """
    # Before anything is opened: a closed descriptor's number would go to that file.
    reopen_closed_stdio()
    program = argv is None
    # The program's standard error cannot fail a write (2>/dev/full): a message lost is no
    # reason to exit 1, which reads as a verdict, nor 2 after a command that succeeded.
    with guarded_stdio() if program else contextlib.nullcontext():
        return _main(list(sys.argv[1:] if argv is None else argv), program=program)


def _main(tokens: list[str], *, program: bool) -> int:
    try:
        return _run(tokens, program=program)
    except _Terminated:
        # Like Ctrl-C: one line, no traceback, a file being written removed on the way out.
        say("modelship: terminated (SIGTERM)")
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        # Ctrl-C is the user's choice, not a bug: one line, no traceback. A file a command
        # was writing is a temporary until it is complete, removed on the way out.
        say("modelship: interrupted")
        return EXIT_INTERRUPTED
    except ModelshipError as exc:  # outside a command: a built-in hook or plugin refused
        say(f"modelship: {type(exc).__name__}: {_one_line(exc)}")
        return EXIT_ERROR
    except Exception as exc:
        # A bug, here or in a plugin: exit 1 would read as a verdict ("an artifact was
        # changed"), so it is an error, exit 2, in one line. Asking for the traceback must
        # not change that code: re-raising would let the interpreter exit 1.
        if os.environ.get("MODELSHIP_TRACEBACK", "") not in ("", "0"):
            say(traceback.format_exc(), end="")
            return EXIT_ERROR
        say(
            f"modelship: unexpected error: {type(exc).__name__}: {_one_line(exc)} (a bug in "
            "modelship or in a plugin; MODELSHIP_TRACEBACK=1 shows its traceback)"
        )
        return EXIT_ERROR


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line, credentials in URLs hidden, and what is not
    printable (a terminal escape in a store's key) escaped."""
    return printable(" ".join(hide_credentials(str(exc)).split()))


def _run(tokens: list[str], *, program: bool) -> int:  # noqa: PLR0911 - one exit code per way a command ends (help unwritten, broken pipe, no key, integrity, error, stdout full, done)
    chosen = tokens[0] if tokens else ""
    # A built-in command needs its own hook only: the others import what it does not use
    # (deploy's deployers). No hook imports what its commands run (`check`, `parity` and
    # `monitor` would import SciPy's statistics: see modelship._cli_hooks).
    # Anything else (`--help`, a plugin's command, a typo) gets every command.
    if chosen in COMMANDS:
        parser = _parser({chosen: COMMANDS[chosen]}, plugins=False)
    else:
        parser = build_parser()
    args = _parse(parser, tokens)
    if isinstance(args, int):
        return args
    try:
        with _sigterm_raises(args, program=program):
            code: int = args.func(args)
            _flush_stdout()  # inside the try: a reader gone early is a BrokenPipeError here
    except BrokenPipeError:
        # The reader stopped reading (``modelship registry versions --json | head``): not
        # an error of ours. Point stdout at nothing so the interpreter's final flush is
        # quiet too. A failure the command had found (a check's verdict, an artifact
        # `registry verify` found changed) is the exit code: never a success by default.
        silence_stdout()
        return int(getattr(args, "exit_code_so_far", EXIT_OK))
    except SigningKeyRequired as exc:  # no key is a configuration error, not a verdict
        say(f"modelship: {type(exc).__name__}: {_one_line(exc)}")
        return EXIT_ERROR
    except IntegrityError as exc:
        say(f"modelship: integrity check failed: {_one_line(exc)}")
        return EXIT_FAILED
    except ModelshipError as exc:
        # A version or alias not found is said with the command listing them, not the
        # registry method a Python user would call (see for_the_command_line).
        said = for_the_command_line(exc, *_model_named(args))
        say(f"modelship: {type(said).__name__}: {_one_line(said)}")
        return EXIT_ERROR
    except OSError as exc:
        if not (isinstance(exc, _StdoutUnwritable) or stdout_failed(exc)):
            raise  # not standard output's: main's handler of the unexpected says so
        return _stdout_unwritable(exc)
    return code


def _model_named(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The registry and the model the command of ``args`` names, as far as it names them:
    ``registry URL NAME ...``, ``deploy REGISTRY MODEL ...`` and ``monitor watch
    --registry R --model M``; ``(None, None)`` for the rest.

    Examples
    --------
    >>> _model_named(build_parser().parse_args(["registry", "show", "./m", "fraud", "9"]))
    ('./m', 'fraud')
    """
    for registry_attribute, model_attribute in (("url", "name"), ("registry", "model")):
        registry = getattr(args, registry_attribute, None)
        model = getattr(args, model_attribute, None)
        if isinstance(registry, str) and isinstance(model, str):
            return registry, model
    return None, None


def _parse(parser: argparse.ArgumentParser, tokens: list[str]) -> argparse.Namespace | int:
    """The parsed ``tokens``; or, when ``--help`` or ``--version`` could not be written to
    standard output (``> /dev/full``), the exit code saying so.

    argparse prints them, exits 0, and ignores an ``OSError`` of that write: the stream
    :func:`guarded_stdio` watches keeps it, and the flush finds a buffered one.
    """
    try:
        return parser.parse_args(tokens)
    except SystemExit as done:
        if done.code not in (0, None):
            raise
        try:
            _flush_stdout()
        except BrokenPipeError:  # the reader left: nothing of ours, the exit stays 0
            silence_stdout()
            raise done from None
        except _StdoutUnwritable as exc:
            return _stdout_unwritable(exc)
        failure = stdout_failure()
        if failure is not None and not isinstance(failure, BrokenPipeError):
            return _stdout_unwritable(failure)
        raise


class _StdoutUnwritable(OSError):
    """What the command wrote to standard output could not all be written."""


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:  # its own: whether or not guarded_stdio watches standard output
        raise _StdoutUnwritable(exc.errno, exc.strerror) from exc


def _stdout_unwritable(exc: OSError) -> int:
    """Exit 2 for standard output that cannot be written (``> /dev/full``, a full disk):
    an error to fix where the output goes, neither a verdict nor a bug of modelship.
    Standard output is then pointed at nothing, so the interpreter's final flush does not
    fail again."""
    silence_stdout()
    reason = exc.strerror or str(exc) or type(exc).__name__
    say(
        f"modelship: cannot write standard output: {reason}; redirect it to a file or pipe "
        "that can take it (free space on its disk, or > /dev/null to discard it)"
    )
    return EXIT_ERROR
