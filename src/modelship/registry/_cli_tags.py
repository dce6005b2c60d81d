"""``modelship registry tag ...`` and the filter and paging options of ``registry versions``.

``--tag KEY=VALUE`` (or ``KEY!=VALUE``) and ``--metric 'NAME>=NUMBER'`` become a ``where=``
filter (:mod:`._where`); ``--limit`` lists one page and prints the cursor of the next one
on stderr (in ``--json``, as ``next_cursor``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import Any

from modelship import _json
from modelship.errors import ConfigError, InvalidFilter
from modelship.registry._registry import Registry

__all__ = [
    "add_expected_options",
    "add_listing_options",
    "add_tag_commands",
    "expected_arguments",
    "listing_arguments",
]

# The value is everything after the operator, spaces included: a tag " ana " is matched by
# --tag 'owner= ana ' (a metric's number may still have spaces around it: int() and float()
# ignore them).
_CONDITION = re.compile(r"^\s*([^<>=!\s]+)\s*(==|!=|<=|>=|<|>|=)(.*)$", re.DOTALL)

Opener = Callable[[argparse.Namespace], "Registry"]


def _split(text: str, what: str) -> tuple[str, str, str]:
    match = _CONDITION.match(text)
    if not match:
        raise InvalidFilter(
            f"--{what} {text!r} is not a condition; write it as NAME=VALUE or NAME>=VALUE "
            "(operators ==, !=, <, <=, >, >=)"
        )
    key, op, value = match.groups()
    return key, "==" if op == "=" else op, value


def _number(text: str, value: str) -> int | float:
    """``value`` of ``--metric text`` as a number: an integer exactly (a float carries 53
    bits, so 1764979200123456789 would become another integer), else a float, integral
    ones as integers (``1e3`` is 1000)."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise InvalidFilter(f"--metric {text!r}: {value!r} is not a number") from None
    return int(number) if number.is_integer() else number


def _field(what: str, key: str, where: dict[str, Any]) -> str:
    """The ``where=`` field of another ``--what`` condition on ``key``: ``tags.KEY``, then
    ``tag.KEY`` (the same field to the library), so both conditions must hold; a third is
    refused rather than replacing one (a mapping holds one condition per field)."""
    for field in (f"{what}s.{key}", f"{what}.{key}"):
        if field not in where:
            return field
    raise InvalidFilter(
        f"--{what}: at most two conditions on {key!r} (a range: --{what} '{key}>=LOW' "
        f"--{what} '{key}<=HIGH'); drop one of the three"
    )


def listing_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The ``order`` and ``where`` of ``Registry.versions`` that the parsed options ask for.

    Examples
    --------
    >>> ns = argparse.Namespace(tag=["stage=prod"], metric=["auc>=0.9"], newest=True,
    ...                         limit=None, cursor=None)
    >>> listing_arguments(ns)["where"]
    {'tags.stage': ('==', 'prod'), 'metrics.auc': ('>=', 0.9)}

    Two conditions on one name must both hold (a range):

    >>> ns.tag, ns.metric = [], ["auc>0.8", "auc<0.9"]
    >>> listing_arguments(ns)["where"]
    {'metrics.auc': ('>', 0.8), 'metric.auc': ('<', 0.9)}
    """
    where: dict[str, Any] = {}
    for text in args.tag or []:
        key, op, value = _split(text, "tag")
        where[_field("tag", key, where)] = (op, value)
    for text in args.metric or []:
        key, op, value = _split(text, "metric")
        where[_field("metric", key, where)] = (op, _number(text, value))
    if args.limit is None and args.cursor is not None:
        raise ConfigError("--cursor continues a page: pass --limit with it")
    return {"order": "newest" if args.newest else "oldest", "where": where or None}


def add_listing_options(p: argparse.ArgumentParser) -> None:
    """Add ``--tag``, ``--metric``, ``--newest``, ``--limit`` and ``--cursor`` to ``p``.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_listing_options(p)
    >>> p.parse_args(["--limit", "5", "--newest"]).limit
    5
    """
    p.add_argument(
        "--tag",
        action="append",
        metavar="KEY=VALUE",
        help="only versions whose current tag KEY is VALUE, taken verbatim (KEY!=VALUE: is "
        "not); repeatable, every condition must hold (at most two per KEY)",
    )
    p.add_argument(
        "--metric",
        action="append",
        metavar="NAME>=NUMBER",
        help="only versions whose metric compares so (==, !=, <, <=, >, >=); repeatable, "
        "every condition must hold (at most two per NAME: a range)",
    )
    p.add_argument("--newest", action="store_true", help="newest first")
    p.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="list one page of N versions; the next page's --cursor is printed on stderr",
    )
    p.add_argument("--cursor", help="continue from a page's cursor (with the same options)")


def add_expected_options(p: argparse.ArgumentParser, what: str) -> None:
    """Add ``--expected VALUE`` (taken literally) and ``--expected-unset`` to ``p``.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_expected_options(p, "the alias")
    >>> expected_arguments(p.parse_args(["--expected", "none"]))
    {'expected': 'none'}
    >>> expected_arguments(p.parse_args(["--expected-unset"]))
    {'expected': None}
    """
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--expected",
        metavar="VALUE",
        help=f"change only if {what} is VALUE now (literally: 'none' is the value 'none')",
    )
    group.add_argument(
        "--expected-unset", action="store_true", help=f"change only if {what} is unset now"
    )


def expected_arguments(args: argparse.Namespace) -> dict[str, str | None]:
    """The ``expected=`` keyword the ``--expected`` options ask for (none: no check)."""
    if args.expected_unset:
        return {"expected": None}
    return {} if args.expected is None else {"expected": args.expected}


def _print_json(data: Any) -> None:
    sys.stdout.write(_json.pretty(data) + "\n")


def add_tag_commands(
    rsub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    open_registry: Opener,
) -> None:
    """Add ``registry tag set|remove|show|history``; ``open_registry(args)`` opens the registry.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="modelship registry")
    >>> add_tag_commands(parser.add_subparsers(), argparse.ArgumentParser(add_help=False),
    ...                  lambda args: None)
    >>> parser.parse_args(["tag", "set", "/srv/models", "fraud", "3", "stage", "prod"]).value
    'prod'
    """
    tag = rsub.add_parser("tag", help="set, remove and show a version's tags and their history")
    tsub = tag.add_subparsers(dest="tag_command", required=True, metavar="ACTION")

    def action(name: str, help: str, *positional: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = tsub.add_parser(name, help=help, parents=[common])
        for arg in ("url", "name", "ref", *positional):
            p.add_argument(arg)
        return p

    def set_tag(args: argparse.Namespace) -> int:
        kwargs = expected_arguments(args)
        open_registry(args).set_tag(args.name, args.ref, args.key, args.value, **kwargs)
        return 0

    def remove_tag(args: argparse.Namespace) -> int:
        open_registry(args).remove_tag(args.name, args.ref, args.key, **expected_arguments(args))
        return 0

    def show(args: argparse.Namespace) -> int:
        _print_json(open_registry(args).tags(args.name, args.ref))
        return 0

    def history(args: argparse.Namespace) -> int:
        changes = open_registry(args).tag_history(args.name, args.ref)
        _print_json([change.to_dict() for change in changes])
        return 0

    p = action("set", "set a tag of a version (ref: version, latest or @alias)", "key", "value")
    add_expected_options(p, "the tag")
    p.set_defaults(func=set_tag)
    p = action("remove", "remove a tag of a version", "key")
    add_expected_options(p, "the tag")
    p.set_defaults(func=remove_tag)
    action("show", "print a version's current tags as JSON").set_defaults(func=show)
    action("history", "print a version's tag changes as JSON").set_defaults(func=history)
