"""The parser of ``modelship monitor watch|status|replay``, and no handler.

Every ``modelship`` command builds the whole parser; :mod:`modelship.monitor` imports
the checks (SciPy's statistics, most of a second) and ``requests``, so this module
imports none of it: each command's handler is given, by name (``watch``, ``status``,
``replay``), in ``handlers``. :mod:`modelship._cli_hooks` gives handlers that import
:mod:`modelship.monitor._cli` (where the commands are described) when one runs;
:func:`modelship.monitor._cli.add_commands` gives those functions themselves.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="modelship")
>>> add_commands(parser.add_subparsers(), dict.fromkeys(["watch", "status", "replay"], len))
>>> args = parser.parse_args(["monitor", "watch", "http://127.0.0.1:9090", "--slot", "green",
...                           "-c", "p95(inference_latency_seconds) > 0.2"])
>>> args.slot, args.condition, args.interval
('green', ['p95(inference_latency_seconds) > 0.2'], 60.0)
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

from modelship._cli_common import EXIT_ERROR, add_signing_key_option, alias_name, positive_seconds
from modelship.errors import ModelshipError

__all__ = ["add_commands"]


def _epoch_seconds(text: str) -> float:
    """``--since``: a finite number of seconds since the epoch."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: give seconds since the epoch (e.g. 1767225600)"
        )
    return value


def _run(func: Any) -> Any:
    def handler(args: argparse.Namespace) -> int:
        try:
            code: int = func(args)
        except ModelshipError as exc:
            print(f"modelship monitor: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_ERROR
        return code

    return handler


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    handlers: Mapping[str, Callable[[argparse.Namespace], int]],
) -> None:
    """Add ``monitor watch|status|replay`` to a ``modelship`` parser, each with its
    handler in ``handlers`` (by the command's name), wrapped: a ModelshipError it raises
    is exit 2, saying so on stderr.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> add_commands(parser.add_subparsers(), dict.fromkeys(["watch", "status", "replay"], len))
    >>> parser.parse_args(["monitor", "replay", "decisions.jsonl"]).log
    'decisions.jsonl'
    """
    monitor = subparsers.add_parser(
        "monitor",
        help="watch a slot with a rollback policy; show or replay a decision log",
        description="Exit 0 ok, 1 rolled back or a replay differs, 2 error (or a watch in "
        "which no evaluation judged the slot).",
    )
    commands = monitor.add_subparsers(dest="monitor_command", required=True, metavar="ACTION")

    watch = commands.add_parser(
        "watch",
        help="evaluate a policy against Prometheus on a schedule",
        description="Evaluate a rollback policy against Prometheus every --interval s; "
        "one JSON line per evaluation. With --registry/--model, a rollback moves the alias "
        "back (a running `modelship deploy apply` follows).",
    )
    watch.add_argument("url", help="Prometheus base URL (http://127.0.0.1:9090)")
    watch.add_argument(
        "-c", "--condition", action="append", default=[], help="a trigger condition (repeatable)"
    )
    watch.add_argument("--policy", default=None, help="YAML file with a monitoring: section")
    watch.add_argument("--slot", default=None, help="the slot to watch (its slot label)")
    watch.add_argument("--baseline", default=None, help="slot relative conditions compare with")
    watch.add_argument(
        "--label", action="append", default=[], help="extra series matcher NAME=VALUE"
    )
    watch.add_argument(
        "--interval", type=positive_seconds, default=60.0, help="seconds between evaluations"
    )
    watch.add_argument("--duration", type=positive_seconds, default=600.0, help="seconds to watch")
    watch.add_argument(
        "--window",
        type=positive_seconds,
        default=None,
        help="seconds of data per evaluation, and at least the time since the one before "
        "(default --interval)",
    )
    watch.add_argument(
        "--timeout", type=positive_seconds, default=5.0, help="Prometheus timeout, seconds"
    )
    watch.add_argument(
        "--since",
        type=_epoch_seconds,
        default=None,
        help="look at no sample before this time, seconds since the epoch (default: the "
        "start of the --registry/--model rollout; with --slot, whole windows)",
    )
    watch.add_argument("--log", default=None, help="new file for the decision log (JSON Lines)")
    watch.add_argument("--registry", default=None, help="registry of the rollout to roll back")
    add_signing_key_option(watch)
    watch.add_argument("--model", default=None, help="model whose alias a rollback moves back")
    watch.add_argument(
        "--alias",
        type=alias_name,
        default=None,  # told from one given: refused without --registry and --model
        help="alias to move back, with --registry and --model (default production)",
    )
    watch.set_defaults(func=_run(handlers["watch"]))

    status = commands.add_parser("status", help="the latest decision of a decision log")
    status.add_argument("log", help="decision log (JSON Lines)")
    status.set_defaults(func=_run(handlers["status"]))

    again = commands.add_parser(
        "replay", help="re-run a decision log offline; exit 1 if a decision differs"
    )
    again.add_argument("log", help="decision log (JSON Lines)")
    again.set_defaults(func=_run(handlers["replay"]))
