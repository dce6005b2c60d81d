"""The parser of ``modelship parity capture|check|requirements``, and no handler.

Every ``modelship`` command builds the whole parser; the handlers, in
:mod:`modelship.parity._cli`, import the checks (and with them SciPy's statistics), so
this module imports none of it: each command's handler is given, by name (``capture``,
``check``, ``requirements``), in ``handlers``. :mod:`modelship._cli_hooks` gives
handlers that import :mod:`modelship.parity._cli` when one runs;
:func:`modelship.parity._cli.add_commands` gives those functions themselves.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from modelship._cli_common import add_report_options, add_storage_options

__all__ = ["add_commands"]


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    handlers: Mapping[str, Callable[[argparse.Namespace], int]],
) -> None:
    """Add ``parity capture``, ``parity check`` and ``parity requirements`` to a parser.

    Each command sets ``func``, its handler in ``handlers`` (by the command's name),
    which takes the parsed arguments and returns the exit code.

    Examples
    --------
    >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> handlers = dict.fromkeys(["capture", "check", "requirements"], len)
    >>> add_commands(parser.add_subparsers(), handlers)
    >>> args = parser.parse_args(["parity", "check", "--snapshot", "train.json"])
    >>> args.snapshot, args.target, args.strict
    ('train.json', [], False)
    """
    parity = subparsers.add_parser(
        "parity",
        help="compare the training environment with this one",
        description="Environment parity between training and production. Exit 0 pass, "
        "1 blocking difference (--strict: any difference), 2 error.",
    )
    commands = parity.add_subparsers(dest="parity_command", required=True, metavar="COMMAND")

    capture = commands.add_parser("capture", help="write this environment's snapshot as JSON")
    capture.add_argument("-o", "--output", required=True, metavar="FILE", help="JSON to write")
    capture.add_argument(
        "--allow-env",
        nargs="+",
        action="extend",
        metavar="VAR",
        help="also record these environment variables (patterns like OMP_* allowed); "
        "credential-like names are never recorded",
    )
    capture.set_defaults(func=handlers["capture"])

    check = commands.add_parser(
        "check",
        help="compare a training snapshot with this environment (or --against a snapshot)",
    )
    check.add_argument(
        "target",
        nargs="*",
        metavar="REGISTRY MODEL [REF]",
        help="read the snapshot stored with a registered version (REF defaults to latest)",
    )
    check.add_argument("--snapshot", metavar="FILE", help="the training snapshot JSON")
    check.add_argument(
        "--against", metavar="FILE", help="compare with this snapshot, not the running one"
    )
    check.add_argument(
        "--requirements",
        metavar="FILE",
        help="the model's requirements (JSON, or name==version lines as pip freeze or "
        "pip-compile write them; markers are evaluated for the production environment)",
    )
    check.add_argument("--memory", metavar="QTY", help="memory the deployment requests (2Gi)")
    check.add_argument("--cpus", metavar="QTY", help="CPUs the deployment requests (2, 500m)")
    check.add_argument("--model-size", metavar="QTY", help="the artifact's size (bytes, 300Mi)")
    add_storage_options(check, short=False)
    add_report_options(check, results="the suite result")
    check.add_argument(
        "--report", metavar="PATH", help="write the parity report as JSON here ('-': stdout)"
    )
    check.add_argument("--strict", action="store_true", help="advisory differences fail too")
    check.set_defaults(func=handlers["check"])

    requirements = commands.add_parser(
        "requirements", help="write the pinned requirements a pickle or joblib artifact needs"
    )
    requirements.add_argument("artifact", help="the serialized model file (never unpickled)")
    requirements.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    requirements.set_defaults(func=handlers["requirements"])
