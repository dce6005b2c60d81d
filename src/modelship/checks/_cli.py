"""``modelship check ...``: drift and schema checks on data files, for CI.

Exit codes: 0 pass, 1 a blocking check failed (with ``--strict``, any warning), 2 a check
could not be computed or the input could not be read. Reports are written even on an
error, so the CI page shows why.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from modelship._cli_common import STDOUT, add_storage_options, storage_options, write_output
from modelship.checks._drift import CATEGORICAL_METHODS, NUMERIC_METHODS, DataDrift
from modelship.checks._profile import DriftProfile
from modelship.checks._result import CheckResult, SuiteResult, run_suite
from modelship.checks._schema import Schema
from modelship.checks.stats._pvalues import P_VALUE_METHODS
from modelship.errors import ConfigError, MissingDependency, ModelshipError

__all__ = ["add_commands", "read_bytes", "read_table"]

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none"})
"""CSV cells read as missing values (compared case-insensitively, after stripping)."""


def _csv_column(cells: list[str]) -> NDArray[Any]:
    """Type one CSV column: int64, else float64 (missing as NaN), else strings (``None``)."""
    stripped = [cell.strip() for cell in cells]
    missing = [cell.lower() in MISSING_MARKERS for cell in stripped]
    present = [cell for cell, gone in zip(stripped, missing, strict=True) if not gone]
    if not any(missing):
        try:
            return np.array([int(cell) for cell in present], dtype=np.int64)
        except (ValueError, OverflowError):
            pass
    try:
        return np.array(
            [
                math.nan if gone else float(cell)
                for cell, gone in zip(stripped, missing, strict=True)
            ],
            dtype=np.float64,
        )
    except ValueError:
        return np.array(
            [None if gone else cell for cell, gone in zip(cells, missing, strict=True)],
            dtype=object,
        )


def _read_csv(path: str, data: bytes) -> dict[str, NDArray[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc}") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise ConfigError(f"{path} is empty: a CSV file needs a header row")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ConfigError(
                f"{path}, line {number}: {len(row)} fields, but the header has {len(header)}"
            )
    return {name: _csv_column([row[j] for row in body]) for j, name in enumerate(header)}


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def read_bytes(path: str | Path, storage_options: Mapping[str, Any] | None = None) -> bytes:
    """The bytes of a local file or of any fsspec URL (``s3://bucket/data.csv``).

    Raises
    ------
    OSError
        When the file cannot be read (a missing file, a denied or unreachable store).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.checks._cli import read_bytes
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = path.write_bytes(b"ok")
    >>> read_bytes(path), read_bytes(f"file://{path}")
    (b'ok', b'ok')
    """
    text = str(path)
    if not _is_url(text) and not text.startswith("file://"):
        return Path(text).read_bytes()
    fsspec = importlib.import_module("fsspec")
    with fsspec.open(text, "rb", **dict(storage_options or {})) as handle:
        data: bytes = handle.read()
    return data


def read_table(path: str | Path, storage_options: Mapping[str, Any] | None = None) -> Any:
    """Read tabular data from ``.npy``, ``.csv`` or ``.parquet`` (Parquet needs pyarrow).

    ``path`` is a local path or any fsspec URL (``s3://bucket/batch.parquet``), read with
    ``storage_options``. A ``.npy`` file holds a structured array (named columns) or a 1-D
    or 2-D array (columns ``"0"``, ``"1"``, ...). A CSV file has a header row; a column
    whose cells are all integers is int64, all numbers float64, otherwise text; the cells
    in ``MISSING_MARKERS`` are missing values.

    Raises
    ------
    MissingDependency
        For Parquet when pyarrow is not installed.
    ConfigError
        For an unknown file type or a malformed CSV file.
    OSError
        When the file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.checks._cli import read_table
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("age,plan\\n31,pro\\n45,NA\\n")
    >>> table = read_table(path)
    >>> table["age"].dtype.name, table["plan"].tolist()
    ('int64', ['pro', None])
    """
    name = str(path)
    suffix = Path(name.split("?", 1)[0]).suffix.lower()
    if suffix not in (".npy", ".csv", ".parquet", ".pq"):
        raise ConfigError(f"cannot read {Path(name).name}: use a .npy, .csv or .parquet file")
    if suffix in (".parquet", ".pq"):
        try:
            pq = importlib.import_module("pyarrow.parquet")
        except ImportError:
            raise MissingDependency(
                f"reading {Path(name).name} needs pyarrow: pip install 'modelship[parquet]'"
            ) from None
    data = read_bytes(path, storage_options)
    if suffix == ".npy":
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as exc:
            raise ConfigError(f"{name} is not a readable .npy file: {exc}") from None
    if suffix == ".csv":
        return _read_csv(name, data)
    return pq.read_table(io.BytesIO(data))


@attrs.frozen
class _FileCheck:
    """A check whose inputs are read when it runs, so a bad file is an ``error`` result."""

    name: str
    build: Callable[[], CheckResult]

    def run(self) -> CheckResult:
        return self.build()


def _kinds(args: argparse.Namespace) -> dict[str, str]:
    kinds = dict.fromkeys(args.numeric or (), "numeric")
    kinds.update(dict.fromkeys(args.categorical or (), "categorical"))
    return kinds


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return storage_options(args.option)


def _reference(args: argparse.Namespace) -> Any:
    if args.profile:
        return DriftProfile.from_json(read_bytes(args.profile, _options(args)))
    return read_table(args.reference, _options(args))


def _current(args: argparse.Namespace) -> Any:
    return read_table(args.current, _options(args))


def _drift_checks(args: argparse.Namespace) -> list[_FileCheck]:
    def drift() -> CheckResult:
        reference = _reference(args)
        is_profile = isinstance(reference, DriftProfile)
        return DataDrift(
            reference=reference,
            current=_current(args),
            method=args.method,
            categorical_method=args.categorical_method,
            alpha=args.alpha,
            correction=args.correction,
            drift_share=args.drift_share,
            columns=args.columns,
            exclude=args.exclude,
            kinds=None if is_profile else _kinds(args),
            categorical_max_unique=None if is_profile else args.categorical_max_unique,
            n_jobs=args.n_jobs,
        ).run()

    checks = [_FileCheck("data_drift", drift)]
    if args.schema:
        checks.append(_FileCheck("schema", lambda: _schema(args).validate(_current(args))))
    return checks


def _schema(args: argparse.Namespace) -> Schema:
    if getattr(args, "schema_file", None):
        return Schema.from_json(read_bytes(args.schema_file, _options(args)))
    reference = _reference(args)
    if isinstance(reference, DriftProfile):
        return reference.schema
    return Schema.infer(
        reference,
        columns=args.columns,
        kinds=_kinds(args),
        categorical_max_unique=args.categorical_max_unique,
    )


def _finish(suite: SuiteResult, args: argparse.Namespace) -> int:
    """Write the reports asked for, print the summary, return the exit code.

    The summary goes to standard output, or to standard error when a report does (``-``).
    """
    code = suite.exit_code(strict=args.strict)
    args.exit_code_so_far = code  # what main returns if a reader closes stdout early
    if args.json:
        write_output(args.json, suite.to_json() + "\n")
    if args.junit:
        write_output(args.junit, suite.to_junit())
    if args.markdown:
        append = args.markdown_mode == "append" and args.markdown != STDOUT
        write_output(args.markdown, suite.to_markdown(), append=append)
    to_stdout = STDOUT in (args.json, args.junit, args.markdown)
    print(suite.summary(), file=sys.stderr if to_stdout else sys.stdout)
    return code


def _run_drift(args: argparse.Namespace) -> int:
    return _finish(run_suite(_drift_checks(args)), args)


def _run_schema(args: argparse.Namespace) -> int:
    if not (args.reference or args.profile or args.schema_file):
        print(
            "modelship check schema: give --reference, --profile or --schema-file", file=sys.stderr
        )
        return 2
    check = _FileCheck("schema", lambda: _schema(args).validate(_current(args)))
    return _finish(run_suite([check]), args)


def _run_profile(args: argparse.Namespace) -> int:
    try:
        profile = DriftProfile.from_data(
            read_table(args.reference, _options(args)),
            summary_size=args.summary_size,
            columns=args.columns,
            exclude=args.exclude,
            kinds=_kinds(args),
            categorical_max_unique=args.categorical_max_unique,
        )
        write_output(args.output, profile.to_json() + "\n")
    except (ModelshipError, OSError) as exc:
        print(f"modelship check profile: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote the profile of {len(profile.schema.names)} columns to {args.output}",
        file=sys.stderr if args.output == STDOUT else sys.stdout,
    )
    return 0


def _add_data_options(parser: argparse.ArgumentParser, *, reference_required: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=reference_required)
    source.add_argument(
        "--reference", metavar="PATH", help="reference data: .npy, .csv, .parquet (path or URL)"
    )
    source.add_argument(
        "--profile", metavar="PATH", help="a drift profile JSON written by `check profile`"
    )
    parser.add_argument("--columns", nargs="+", metavar="COL", help="compare only these columns")
    parser.add_argument(
        "--exclude", nargs="+", metavar="COL", help="leave these columns out (identifiers)"
    )
    parser.add_argument(
        "--categorical", nargs="+", metavar="COL", help="columns to treat as categories"
    )
    parser.add_argument("--numeric", nargs="+", metavar="COL", help="columns to treat as numbers")
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
    add_storage_options(parser)
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
        "--json", metavar="PATH", help="write the results as JSON here ('-': stdout)"
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail the run too")


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check drift``, ``check schema`` and ``check profile`` to a ``modelship`` parser.

    Each command sets ``func``, a handler taking the parsed arguments and returning the
    exit code: 0 pass, 1 a blocking failure (``--strict``: any warning), 2 an error.

    Examples
    --------
    >>> import argparse
    >>> from modelship.checks._cli import add_commands
    >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> add_commands(parser.add_subparsers())
    >>> args = parser.parse_args(["check", "drift", "--reference", "r.csv", "--current", "c.csv"])
    >>> args.alpha, args.correction, args.strict
    (0.05, 'bh', False)
    """
    check = subparsers.add_parser(
        "check",
        help="run pre-deployment checks on data files",
        description="Drift and schema checks on data files. Exit 0 pass, 1 blocking "
        "failure (--strict: any warning), 2 error.",
    )
    commands = check.add_subparsers(dest="check_command", required=True, metavar="CHECK")

    drift = commands.add_parser(
        "drift", help="compare current data with reference data (or a profile) column by column"
    )
    _add_data_options(drift, reference_required=True)
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
    drift.set_defaults(func=_run_drift)

    schema = commands.add_parser("schema", help="validate current data against a schema")
    _add_data_options(schema, reference_required=False)
    schema.add_argument("--schema-file", metavar="PATH", help="a schema JSON (Schema.to_json)")
    _add_report_options(schema)
    schema.set_defaults(func=_run_schema)

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
    profile.add_argument("--columns", nargs="+", metavar="COL", help="profile only these columns")
    profile.add_argument(
        "--exclude", nargs="+", metavar="COL", help="leave these columns out (identifiers)"
    )
    profile.add_argument(
        "--categorical", nargs="+", metavar="COL", help="columns to treat as categories"
    )
    profile.add_argument("--numeric", nargs="+", metavar="COL", help="columns to treat as numbers")
    profile.add_argument("--categorical-max-unique", type=int, metavar="N")
    profile.set_defaults(func=_run_profile)
