"""``modelship check ...``: drift and schema checks on data files, for CI.

The handlers of ``check drift``, ``check schema`` and ``check profile`` (those of ``check
bias`` and ``check degradation`` are in :mod:`modelship.checks._cli_fairness`); the
parser is :mod:`modelship._cli_check`'s, which imports none of them. ``modelship``
imports this module only when a check runs (:mod:`modelship._cli_hooks`).

Exit codes: 0 pass, 1 a blocking check failed (with ``--strict``, any warning), 2 a check
could not be computed or the input could not be read. Reports are written even on an
error, so the CI page shows why.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterable
from typing import Any

from modelship import _cli_check
from modelship._cli_common import say, storage_options
from modelship._shown import brief, hide_credentials
from modelship.checks._cli_common import (
    CsvTable,
    _FileCheck,
    column_names,
    columns_for_the_command_line,
    given,
    not_a_document,
    on_stdout,
    print_text,
    read_bytes,
    read_table,
    refusal,
    run_and_report,
    said_on_the_command_line,
    write_report,
)
from modelship.checks._cli_fairness import run_bias, run_degradation
from modelship.checks._drift import DataDrift
from modelship.checks._profile import DriftProfile
from modelship.checks._result import CheckResult
from modelship.checks._schema import Schema
from modelship.checks._tabular import TEXT_DTYPES, ColumnKind, make_column, plain_number
from modelship.errors import CheckInputError, ConfigError, ModelshipError

__all__ = [
    "add_commands",
    "read_bytes",
    "read_table",
    "run_drift",
    "run_profile",
    "run_schema",
]


def _kinds(args: argparse.Namespace) -> dict[str, str]:
    """The kinds ``--numeric`` and ``--categorical`` declare, by column.

    Raises
    ------
    ConfigError
        For a column named by both: one would silently win.
    """
    both = sorted(set(args.numeric or ()) & set(args.categorical or ()))
    if both:
        raise ConfigError(
            f"--numeric and --categorical both name {', '.join(map(repr, both))}: "
            "give each column one kind"
        )
    kinds = dict.fromkeys(args.numeric or (), "numeric")
    kinds.update(dict.fromkeys(args.categorical or (), "categorical"))
    return kinds


def _refuse_kinds_for(source: str | None, args: argparse.Namespace) -> None:
    """Refuse ``--categorical``, ``--numeric`` and ``--categorical-max-unique`` with
    ``source`` (``"--profile"``, ``"--schema-file"``), whose columns' kinds are fixed:
    silently ignoring them would check a column otherwise than asked.

    Raises
    ------
    ConfigError
        When ``source`` is given with one of those options.
    """
    if source and (args.categorical or args.numeric or args.categorical_max_unique is not None):
        made = "profile" if source == "--profile" else "schema"
        raise ConfigError(
            f"--categorical, --numeric and --categorical-max-unique cannot change a "
            f"{made}'s columns: their kinds were fixed when the {made} was made "
            "(make it again with them)"
        )


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return storage_options(args.option)


def _reference(args: argparse.Namespace) -> Any:
    if args.profile:
        data = read_bytes(args.profile, _options(args))
        try:
            return DriftProfile.from_json(data)
        except ModelshipError as exc:  # a CSV given as --profile: say which file it was
            raise not_a_document(
                args.profile, exc, "drift profile", "`modelship check profile`"
            ) from exc
    return read_table(args.reference, _options(args), keep=args.columns or ())


def _current(args: argparse.Namespace, reference: Any = None) -> Any:
    """The current data; a Parquet file's unnamed pandas index column is kept when asked
    for by ``--columns`` or named by the ``reference`` profile or schema (one made by an
    older version, which read it as a column: dropping it would make it missing)."""
    keep = set(args.columns or ())
    schema = reference.schema if isinstance(reference, DriftProfile) else reference
    if isinstance(schema, Schema):
        keep.update(schema.names)
        keep.update(schema.left_out)
    return read_table(args.current, _options(args), keep=keep)


def _text_as_recorded(schema: Schema, current: Any) -> Any:
    """``current``, with each CSV column that ``schema`` records as text but whose cells
    all read as numbers read as text (``"007"``, not 7); a column recorded from numbers
    keeps them, so its labels are written as the schema's (``7``), and a word in it is
    an error (``CheckInputError``), never a reason to read the column as text.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.csv").write_text("zip\\n007\\nnone given\\n")
    >>> _ = (folder / "c.csv").write_text("zip\\n007\\n010\\n")
    >>> schema = Schema.infer(read_table(folder / "r.csv"))
    >>> _text_as_recorded(schema, read_table(folder / "c.csv"))["zip"].tolist()
    ['007', '010']
    """
    if not isinstance(current, CsvTable):
        return current
    return current.with_text(
        column.name
        for column in schema.columns
        if column.kind is ColumnKind.CATEGORICAL
        and column.dtype in TEXT_DTYPES
        and column.name in current
        and not current.is_text(column.name)
    )


def _compared(names: Iterable[str], args: argparse.Namespace) -> list[str]:
    """The ``names`` that ``--columns`` (when given) and ``--exclude`` leave compared."""
    chosen = set(args.columns) if args.columns else None
    excluded = set(args.exclude or ())
    return [n for n in names if (chosen is None or n in chosen) and n not in excluded]


def _csv_kinds(
    reference: CsvTable, current: CsvTable, args: argparse.Namespace
) -> tuple[CsvTable, CsvTable]:
    """``reference`` and ``current``, two CSV files, with each compared column that one
    file typed as numbers and the other as text read so that both sides meet.

    A column compared as categories (text in the reference, ``--categorical``, or
    ``--categorical-max-unique`` over the reference's numbers) is read as text on both
    sides, as written: the batch's ``007`` meets the reference's ``007``, never 7. A
    column the reference holds as numbers, undeclared, stays numbers: text in the batch
    is a ``CheckInputError`` (see :func:`_refuse_text`). Decided from the columns' dtypes
    and the kinds asked for: no schema of the reference is inferred, whose category
    counts took seconds on a million rows of text.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.csv").write_text("zip\\n007\\n010\\n")
    >>> _ = (folder / "c.csv").write_text("zip\\n007\\nnone given\\n")
    >>> args = argparse.Namespace(
    ...     columns=None, exclude=None, numeric=None, categorical=["zip"],
    ...     categorical_max_unique=None,
    ... )
    >>> r, c = _csv_kinds(read_table(folder / "r.csv"), read_table(folder / "c.csv"), args)
    >>> r["zip"].tolist(), c["zip"].tolist()
    (['007', '010'], ['007', 'none given'])
    """
    declared, max_unique = _kinds(args), args.categorical_max_unique
    as_text, numeric = [], []
    for name in _compared(reference, args):
        if name not in current:
            continue
        text = reference.is_text(name)
        if text == current.is_text(name):
            continue
        kind = declared.get(name)
        if kind is None:
            # As DataDrift types the reference: text is categorical, numbers numeric
            # unless --categorical-max-unique finds few values.
            if text:
                kind = "categorical"
            else:
                found = make_column(name, reference[name], categorical_max_unique=max_unique)
                kind = found.kind.value
            if kind == "numeric":
                numeric.append(name)
        if kind == "categorical":
            as_text.append(name)
    _refuse_text(current, numeric)
    return reference.with_text(as_text), current.with_text(as_text)


def _refuse_text(current: Any, numeric: Iterable[str]) -> None:
    """Refuse a CSV batch that holds text in a column of ``numeric``, those the reference
    holds as numbers without a kind declared, naming the first cell the CSV reader does
    not read as a number.

    Declaring the column categorical would compare a continuous column as categories:
    the message says to clean the cell, or to leave the column out.

    Raises
    ------
    CheckInputError
        For the first such column.
    """
    if not isinstance(current, CsvTable):
        return
    for name in numeric:
        if name not in current or not current.is_text(name):
            continue
        cell = next((c for c in current.text[name].tolist() if not _csv_number(c)), None)
        if cell is not None:
            raise CheckInputError(
                f"current: the reference holds column {name!r} as numbers, but the current "
                f"data holds {brief(cell)} there, which is not a number; clean that cell, "
                f"or leave the column out (--exclude {shlex.quote(name)})"
            )


def _csv_number(cell: str | None) -> bool:
    """Whether a CSV cell (``None`` where missing) is read as a number, or missing."""
    if cell is None:
        return True
    if not plain_number(cell):
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _numeric_undeclared(schema: Schema, declared: Iterable[str]) -> list[str]:
    """The columns ``schema`` holds as numbers that were not declared numeric."""
    skip = set(declared)
    return [
        column.name
        for column in schema.columns
        if column.kind is ColumnKind.NUMERIC and column.name not in skip
    ]


def _columns_said(
    exc: ModelshipError, reference: Any, current: Any, args: argparse.Namespace
) -> BaseException:
    """``exc``, the columns of ``reference`` and ``current`` not matching, as the command
    line says it (:func:`~modelship.checks._cli_common.columns_for_the_command_line`): with
    the columns only one side has in a ready-made ``--exclude``, unless ``--columns``
    chose the columns (then one of them is missing: the options are named); any other
    error as it is."""
    if args.columns:
        return columns_for_the_command_line(exc)
    excluded = set(args.exclude or ())
    known: list[str] = []
    if isinstance(reference, DriftProfile):
        names: list[str] | None = list(reference.schema.names)
        known = list(reference.left_out)
    else:
        names = column_names(reference)
    found = column_names(current)
    if names is None or found is None:
        return columns_for_the_command_line(exc)
    return columns_for_the_command_line(
        exc,
        [name for name in names if name not in excluded],
        [name for name in found if name not in excluded],
        known=known,
    )


def _drift_checks(args: argparse.Namespace) -> list[_FileCheck]:
    def drift() -> CheckResult:
        _refuse_kinds_for(args.profile and "--profile", args)
        reference = _reference(args)
        current = _current(args, reference)
        is_profile = isinstance(reference, DriftProfile)
        if is_profile:
            current = _text_as_recorded(reference.schema, current)
            numeric = _numeric_undeclared(reference.schema, reference.declared_kinds)
            _refuse_text(current, _compared(numeric, args))
        elif isinstance(current, CsvTable) and isinstance(reference, CsvTable):
            reference, current = _csv_kinds(reference, current, args)
        elif isinstance(current, CsvTable):
            # A Parquet or .npy reference's text columns ("007") are met by the batch's
            # cells as written, as against its profile. Only those: a column it holds
            # as numbers stays numbers, so one word in the batch is an error (exit 2),
            # never a reason to read a continuous column as text, untested.
            schema = _inferred(reference, args)
            current = _text_as_recorded(schema, current)
            _refuse_text(current, _numeric_undeclared(schema, _kinds(args)))
        # Said with the options, not DataDrift's keywords.
        with said_on_the_command_line(lambda exc: _columns_said(exc, reference, current, args)):
            return DataDrift(
                reference=reference,
                current=current,
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
        checks.append(_FileCheck("schema", lambda: _validate_schema(args)))
    return checks


def _validate_schema(args: argparse.Namespace) -> CheckResult:
    """The current data against the schema: only the ``--columns`` (when given), the
    ``--exclude``'d columns on neither side."""
    schema = _schema(args)
    current = _text_as_recorded(schema, _current(args, schema))
    with said_on_the_command_line():  # the options, not validate()'s keywords
        return schema.validate(current, exclude=args.exclude, columns=args.columns)


def _schema(args: argparse.Namespace) -> Schema:
    schema_file = getattr(args, "schema_file", None)
    _refuse_kinds_for((schema_file and "--schema-file") or (args.profile and "--profile"), args)
    if schema_file:
        data = read_bytes(args.schema_file, _options(args))
        try:
            return Schema.from_json(data)
        except ModelshipError as exc:  # a CSV given as --schema-file: say which file it was
            raise not_a_document(schema_file, exc, "schema", "Schema.to_json") from exc
    reference = _reference(args)
    if isinstance(reference, DriftProfile):
        # Its schema knows the columns the profile left out (--exclude'd, datetimes):
        # neither missing nor extra in the data checked against it.
        return reference.schema
    return _inferred(reference, args)


def _inferred(reference: Any, args: argparse.Namespace) -> Schema:
    """The schema of the data ``reference``, read with the columns and kinds asked for,
    as :class:`DataDrift` and a profile of it read them."""
    return Schema.infer(
        reference,
        columns=args.columns,
        exclude=args.exclude,
        kinds=_kinds(args),
        categorical_max_unique=args.categorical_max_unique,
    )


def run_drift(args: argparse.Namespace) -> int:
    """Run ``modelship check drift`` (``--schema``: the schema check too), print the
    summary, write the reports asked for; return the exit code (0 pass, 1 a blocking
    check failed, 2 an error).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.cli import build_parser
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("ref.csv", "cur.csv"):
    ...     _ = (folder / name).write_text("age\\n" + "\\n".join(str(i % 40) for i in range(200)))
    >>> args = build_parser().parse_args(
    ...     ["check", "drift", "--reference", str(folder / "ref.csv"),
    ...      "--current", str(folder / "cur.csv")]
    ... )
    >>> run_drift(args)
    PASS  data_drift: no drift in 1 column
    passed (1 check: 1 pass)
    0
    """
    return run_and_report(_drift_checks(args), args)


def run_schema(args: argparse.Namespace) -> int:
    """Run ``modelship check schema``: the current data against the schema of
    ``--reference``, ``--profile`` or ``--schema-file``; print the summary, write the
    reports asked for, return the exit code (2 when none of the three is given).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.cli import build_parser
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "ref.csv").write_text("age,city\\n41,Oslo\\n35,Bergen\\n")
    >>> _ = (folder / "cur.csv").write_text("age,city\\n38,Oslo\\n")
    >>> args = build_parser().parse_args(
    ...     ["check", "schema", "--reference", str(folder / "ref.csv"),
    ...      "--current", str(folder / "cur.csv")]
    ... )
    >>> run_schema(args)
    PASS  schema: current data matches the schema (2 columns)
    passed (1 check: 1 pass)
    0
    """
    if not (args.reference or args.profile or args.schema_file):
        say("modelship check schema: give --reference, --profile or --schema-file")
        return 2
    check = _FileCheck("schema", lambda: _validate_schema(args))
    return run_and_report([check], args)


def run_profile(args: argparse.Namespace) -> int:
    """Run ``modelship check profile``: write the drift profile of ``--reference`` to
    ``--output`` (what ``check drift --profile`` compares with); return 0, or 2 saying
    why on standard error when it cannot be made or written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.cli import build_parser
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "ref.csv").write_text("age,city\\n41,Oslo\\n35,Bergen\\n")
    >>> args = build_parser().parse_args(
    ...     ["check", "profile", "--reference", str(folder / "ref.csv"),
    ...      "--output", str(folder / "profile.json")]
    ... )
    >>> run_profile(args)
    wrote the profile of 2 columns to .../profile.json
    0
    """
    # Before the reference is read: an --output over it would replace the data profiled.
    refused = refusal("check profile", given(args, ["reference"]), given(args, ["output"]))
    if refused is not None:
        return refused
    try:
        reference = read_table(args.reference, _options(args), keep=args.columns or ())
        profile = DriftProfile.from_data(
            reference,
            summary_size=args.summary_size,
            columns=args.columns,
            exclude=args.exclude,
            kinds=_kinds(args),
            categorical_max_unique=args.categorical_max_unique,
        )
        write_report(args.output, profile.to_json() + "\n")
    except BrokenPipeError:
        raise  # the reader has gone (`--output - | true`): main ends quietly, exit 0
    except (ModelshipError, OSError) as exc:
        said = columns_for_the_command_line(exc)  # the options, not from_data's keywords
        message = hide_credentials(f"{type(said).__name__}: {said}")
        print_text(f"modelship check profile: {message}\n", sys.stderr)
        return 2
    # print_text: a path the terminal's encoding cannot hold (数据.json on cp1252) is written
    # escaped; print would raise after the profile was written, and exit 1.
    print_text(
        f"wrote the profile of {len(profile.schema.names)} columns to {args.output}\n",
        sys.stderr if on_stdout(args.output) else sys.stdout,
    )
    return 0


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``modelship check ...`` (:func:`modelship._cli_check.add_commands`) with the
    handlers themselves: what a program building its own parser calls.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> add_commands(parser.add_subparsers())
    >>> args = parser.parse_args(["check", "drift", "--reference", "r.csv", "--current", "c.csv"])
    >>> args.func is run_drift, args.alpha
    (True, 0.05)
    """
    handlers = {
        "drift": run_drift,
        "schema": run_schema,
        "profile": run_profile,
        "bias": run_bias,
        "degradation": run_degradation,
    }
    _cli_check.add_commands(subparsers, handlers)
