"""The hooks of ``modelship check``, ``parity`` and ``monitor`` in :data:`~modelship.cli.COMMANDS`:
each adds its command with handlers imported only when the command runs.

Every ``modelship`` command builds the parser of all of them (``--help`` lists them),
and the modules that run these three import SciPy's statistics (most of a second of a
two-second ``modelship registry ...``). Their parsers are built by modules that import
none of it (:mod:`modelship._cli_check`, :mod:`modelship._cli_parity`,
:mod:`modelship._cli_monitor`); the handlers given them here are
:func:`~modelship._cli_common.lazy_handler`\\ s, which import the module that runs the
command on its first run.

Examples
--------
>>> import argparse, sys
>>> parser = argparse.ArgumentParser(prog="modelship")
>>> check_commands(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["check", "schema", "--current", "c.csv", "--schema-file", "s"])
>>> args.func.__module__, args.func.__name__
('modelship.checks._cli', 'run_schema')
"""

from __future__ import annotations

import argparse

from modelship import _cli_check, _cli_monitor, _cli_parity
from modelship._cli_common import lazy_handler

__all__ = ["check_commands", "monitor_commands", "parity_commands"]

_SubParsers = argparse._SubParsersAction  # the type argparse gives add_subparsers()


def check_commands(subparsers: _SubParsers[argparse.ArgumentParser]) -> None:
    """Add ``modelship check ...``: drift, schema and profile run by
    :mod:`modelship.checks._cli`, bias and degradation by
    :mod:`modelship.checks._cli_fairness`."""
    handlers = {
        "drift": lazy_handler("modelship.checks._cli:run_drift"),
        "schema": lazy_handler("modelship.checks._cli:run_schema"),
        "profile": lazy_handler("modelship.checks._cli:run_profile"),
        "bias": lazy_handler("modelship.checks._cli_fairness:run_bias"),
        "degradation": lazy_handler("modelship.checks._cli_fairness:run_degradation"),
    }
    _cli_check.add_commands(subparsers, handlers)


def parity_commands(subparsers: _SubParsers[argparse.ArgumentParser]) -> None:
    """Add ``modelship parity ...``, run by :mod:`modelship.parity._cli`."""
    handlers = {
        "capture": lazy_handler("modelship.parity._cli:cmd_capture"),
        "check": lazy_handler("modelship.parity._cli:cmd_check"),
        "requirements": lazy_handler("modelship.parity._cli:cmd_requirements"),
    }
    _cli_parity.add_commands(subparsers, handlers)


def monitor_commands(subparsers: _SubParsers[argparse.ArgumentParser]) -> None:
    """Add ``modelship monitor ...``, run by :mod:`modelship.monitor._cli`."""
    handlers = {
        "watch": lazy_handler("modelship.monitor._cli:cmd_watch"),
        "status": lazy_handler("modelship.monitor._cli:cmd_status"),
        "replay": lazy_handler("modelship.monitor._cli:cmd_replay"),
    }
    _cli_monitor.add_commands(subparsers, handlers)
