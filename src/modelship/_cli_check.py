"""The parser of ``modelship check ...``: its commands and options, and no handler.

``modelship --help``, ``modelship registry ...`` and every other command build the whole
parser; the checks' modules import SciPy's statistics (most of a second), and importing
any module of :mod:`modelship.checks` imports them all. So this module imports none of
them: each command's handler is given, by name (``drift``, ``schema``, ``profile``,
``bias``, ``degradation``), in ``handlers``. :mod:`modelship._cli_hooks` gives handlers
that import :mod:`modelship.checks._cli` (or ``_cli_fairness``) when a check runs;
:func:`modelship.checks._cli.add_commands` gives those functions themselves.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

# The choices of ``check drift --method``, ``--categorical-method`` and ``--correction``:
# the drift check's own lists, from a leaf that does not import the checks.
from modelship._choices import CATEGORICAL_METHODS, NUMERIC_METHODS, P_VALUE_METHODS
from modelship._cli_common import add_output_options, add_storage_options

__all__ = [
    "Handlers",
    "add_commands",
    "add_fairness_commands",
]

Handlers = Mapping[str, Callable[[argparse.Namespace], int]]
"""A command's handler by its name: it takes the parsed arguments, returns the exit code."""


def _add_data_options(parser: argparse.ArgumentParser, *, schema_file: bool = False) -> None:
    """The options naming the reference and its columns: one of ``--reference`` and
    ``--profile`` (with ``schema_file``, for ``check schema``: or ``--schema-file``, and
    the command itself says when none is given); two is a usage error, never one of them
    silently ignored."""
    source = parser.add_mutually_exclusive_group(required=not schema_file)
    source.add_argument(
        "--reference", metavar="PATH", help="reference data: .npy, .csv, .parquet (path or URL)"
    )
    source.add_argument(
        "--profile", metavar="PATH", help="a drift profile JSON written by `check profile`"
    )
    if schema_file:
        source.add_argument("--schema-file", metavar="PATH", help="a schema JSON (Schema.to_json)")
    parser.add_argument(
        "--columns", nargs="+", action="extend", metavar="COL", help="compare only these columns"
    )
    parser.add_argument(
        "--exclude",
        nargs="+",
        action="extend",
        metavar="COL",
        help="leave these columns out (identifiers)",
    )
    parser.add_argument(
        "--categorical",
        nargs="+",
        action="extend",
        metavar="COL",
        help="columns to treat as categories",
    )
    parser.add_argument(
        "--numeric", nargs="+", action="extend", metavar="COL", help="columns to treat as numbers"
    )
    parser.add_argument(
        "--categorical-max-unique",
        type=int,
        metavar="N",
        help="numeric columns with at most N distinct values are categorical",
    )


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--current", required=True, metavar="PATH", help="the data to check (path or URL)"
    )
    add_output_options(parser)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], handlers: Handlers
) -> None:
    """Add ``check drift``, ``check schema``, ``check profile``, ``check bias`` and
    ``check degradation`` to a ``modelship`` parser.

    Each command sets ``func``, its handler in ``handlers`` (by the command's name), which
    takes the parsed arguments and returns the exit code: 0 pass, 1 a blocking failure
    (``--strict``: any warning), 2 an error.

    Examples
    --------
    >>> import argparse
    >>> from modelship._cli_check import add_commands
    >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> handlers = dict.fromkeys(["drift", "schema", "profile", "bias", "degradation"], len)
    >>> add_commands(parser.add_subparsers(), handlers)
    >>> args = parser.parse_args(["check", "drift", "--reference", "r.csv", "--current", "c.csv"])
    >>> args.alpha, args.correction, args.strict
    (0.05, 'bh', False)
    """
    check = subparsers.add_parser(
        "check",
        help="run pre-deployment checks on data files",
        description="Drift, schema, bias and degradation checks on data files. Exit 0 "
        "pass, 1 blocking failure (--strict: any warning), 2 error.",
    )
    commands = check.add_subparsers(dest="check_command", required=True, metavar="CHECK")

    drift = commands.add_parser(
        "drift", help="compare current data with reference data (or a profile) column by column"
    )
    _add_data_options(drift)
    _add_report_options(drift)
    drift.add_argument("--method", choices=NUMERIC_METHODS, help="numeric method (default: auto)")
    drift.add_argument(
        "--categorical-method",
        choices=CATEGORICAL_METHODS,
        help="categorical method (default: auto)",
    )
    drift.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    drift.add_argument(
        "--correction",
        choices=P_VALUE_METHODS,
        default="bh",
        help="multiple-testing correction across columns (bh)",
    )
    drift.add_argument(
        "--drift-share",
        type=float,
        default=0.5,
        help="share of drifted columns at which the data set drifted (0.5)",
    )
    drift.add_argument("--schema", action="store_true", help="validate the schema as well")
    drift.add_argument("--n-jobs", type=int, default=None, help="threads over columns")
    drift.set_defaults(func=handlers["drift"])

    schema = commands.add_parser("schema", help="validate current data against a schema")
    _add_data_options(schema, schema_file=True)
    _add_report_options(schema)
    schema.set_defaults(func=handlers["schema"])

    profile = commands.add_parser("profile", help="write the drift profile of reference data")
    profile.add_argument(
        "--reference", required=True, metavar="PATH", help="reference data (path or URL)"
    )
    profile.add_argument(
        "--output", required=True, metavar="PATH", help="the profile JSON to write ('-': stdout)"
    )
    add_storage_options(profile)
    profile.add_argument(
        "--summary-size", type=int, default=1001, help="quantiles per column (1001)"
    )
    profile.add_argument(
        "--columns", nargs="+", action="extend", metavar="COL", help="profile only these columns"
    )
    profile.add_argument(
        "--exclude",
        nargs="+",
        action="extend",
        metavar="COL",
        help="leave these columns out (identifiers)",
    )
    profile.add_argument(
        "--categorical",
        nargs="+",
        action="extend",
        metavar="COL",
        help="columns to treat as categories",
    )
    profile.add_argument(
        "--numeric", nargs="+", action="extend", metavar="COL", help="columns to treat as numbers"
    )
    profile.add_argument("--categorical-max-unique", type=int, metavar="N")
    profile.set_defaults(func=handlers["profile"])
    add_fairness_commands(commands, handlers)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, metavar="PATH", help="one table: .csv, .parquet, structured .npy"
    )
    parser.add_argument(
        "--label", required=True, metavar="COL", help="true labels (0/1) or targets"
    )
    parser.add_argument("--task", choices=("classification", "regression"), default=None)
    parser.add_argument("--confidence", type=float, default=0.95, help="interval confidence (0.95)")
    parser.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples (1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    add_output_options(parser)


def add_fairness_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], handlers: Handlers
) -> None:
    """Add ``bias`` and ``degradation`` to the sub-commands of ``modelship check``.

    Each command sets ``func``, its handler in ``handlers`` (``bias``, ``degradation``),
    which takes the parsed arguments and returns the exit code: 0 pass, 1 a blocking
    failure (``--strict``: any warning), 2 an error.

    Examples
    --------
    >>> import argparse
    >>> from modelship._cli_check import add_fairness_commands
    >>> parser = argparse.ArgumentParser(prog="modelship check")
    >>> add_fairness_commands(parser.add_subparsers(), {"bias": len, "degradation": len})
    >>> args = parser.parse_args(["bias", "--data", "d.csv", "--label", "y",
    ...                           "--prediction", "p", "--sensitive", "sex"])
    >>> args.min_group_size, args.gate, args.four_fifths
    (30, 'estimate', False)
    """
    bias = commands.add_parser(
        "bias",
        help="per-group metrics and disparities with bootstrap intervals",
        description="Bias check on one table of labels, predictions and sensitive columns. "
        "Exit 0 pass, 1 blocking failure (--strict: any warning), 2 error.",
    )
    _add_common(bias)
    predicted = bias.add_mutually_exclusive_group()  # one column holds the predictions
    predicted.add_argument("--prediction", metavar="COL", help="predicted labels (0/1)")
    predicted.add_argument(
        "--score", metavar="COL", help="scores, turned into labels by --threshold"
    )
    bias.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="labels are --score >= this (0.5); only with --score, for classification",
    )
    bias.add_argument(
        "--sensitive",
        nargs="+",
        action="extend",
        required=True,
        metavar="COL",
        help="sensitive feature columns",
    )
    bias.add_argument(
        "--limit",
        nargs="+",
        action="extend",
        metavar="METRIC=VALUE",
        help="disparity thresholds, e.g. demographic_parity_difference=0.05 (none: not gated)",
    )
    bias.add_argument(
        "--four-fifths", action="store_true", help="gate disparate_impact at 0.8 (US employment)"
    )
    bias.add_argument(
        "--reference-group",
        metavar="GROUP",
        help="disparate impact divides by this group: FEATURE=VALUE, or a VALUE of one feature",
    )
    bias.add_argument(
        "--gate",
        choices=("estimate", "interval"),
        default="estimate",
        help="judge the estimate, or require the whole interval within the threshold",
    )
    bias.add_argument("--min-group-size", type=int, default=30, help="smaller groups skipped (30)")
    bias.add_argument("--small-groups", choices=("skip", "warn", "fail", "ignore"), default="skip")
    bias.set_defaults(func=handlers["bias"])

    degradation = commands.add_parser(
        "degradation",
        help="is the candidate worse than the baseline on the same holdout?",
        description="Degradation check on one table of labels and both models' scores. "
        "Exit 0 pass, 1 blocking failure (--strict: any warning), 2 error.",
    )
    _add_common(degradation)
    degradation.add_argument(
        "--candidate", required=True, metavar="COL", help="the candidate's scores or predictions"
    )
    degradation.add_argument(
        "--baseline", required=True, metavar="COL", help="the baseline's scores or predictions"
    )
    degradation.add_argument(
        "--metrics", nargs="+", action="extend", metavar="NAME", help="metric names"
    )
    degradation.add_argument(
        "--threshold",
        type=float,
        default=None,  # told from a value given: refused with --task regression
        help="label threshold (0.5); not with --task regression",
    )
    degradation.add_argument("--margin", type=float, default=0.01, help="allowed drop (0.01)")
    degradation.add_argument(
        "--metric-margin",
        nargs="+",
        action="extend",
        metavar="METRIC=VALUE",
        help="allowed drop per metric",
    )
    degradation.add_argument(
        "--relative", action="store_true", help="margins are shares of the baseline's value"
    )
    degradation.add_argument(
        "--inconclusive",
        choices=("fail", "warn", "pass"),
        default="fail",
        help="what an inconclusive verdict does (fail)",
    )
    degradation.add_argument(
        "--segment", nargs="+", action="extend", metavar="COL", help="compare per segment too"
    )
    degradation.add_argument("--min-segment-size", type=int, default=30)
    degradation.set_defaults(func=handlers["degradation"])
