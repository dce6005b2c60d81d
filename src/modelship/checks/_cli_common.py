"""What every ``modelship check`` command shares: reading a data file, and finishing a run.

:func:`read_table` reads ``.npy``, ``.csv`` and ``.parquet`` files; ``_FileCheck`` defers
the reading to the check's run, so a bad file becomes an ``error`` result in the reports;
``_finish`` writes the reports asked for and returns the exit code. Both
:mod:`modelship.checks._cli` (drift, schema, profile) and
:mod:`modelship.checks._cli_fairness` (bias, degradation) import from here, so neither
imports the other's internals.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from modelship.checks._result import CheckResult, SuiteResult
from modelship.errors import ConfigError, MissingDependency
from modelship.report import write_text

__all__ = ["MISSING_MARKERS", "read_table"]

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


def _read_csv(path: Path) -> dict[str, NDArray[Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ConfigError(f"{path} is empty: a CSV file needs a header row")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ConfigError(
                f"{path}, line {number}: {len(row)} fields, but the header has {len(header)}"
            )
    return {name: _csv_column([row[j] for row in body]) for j, name in enumerate(header)}


def read_table(path: str | Path) -> Any:
    """Read tabular data from ``.npy``, ``.csv`` or ``.parquet`` (Parquet needs pyarrow).

    A ``.npy`` file holds a structured array (named columns) or a 1-D or 2-D array
    (columns ``"0"``, ``"1"``, ...). A CSV file has a header row; a column whose cells are
    all integers is int64, all numbers float64, otherwise text; the cells in
    ``MISSING_MARKERS`` are missing values.

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
    >>> from modelship.checks._cli_common import read_table
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("age,plan\\n31,pro\\n45,NA\\n")
    >>> table = read_table(path)
    >>> table["age"].dtype.name, table["plan"].tolist()
    ('int64', ['pro', None])
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".parquet", ".pq"):
        try:
            pq = importlib.import_module("pyarrow.parquet")
        except ImportError:
            raise MissingDependency(
                f"reading {path.name} needs pyarrow: pip install 'modelship[parquet]'"
            ) from None
        return pq.read_table(path)
    raise ConfigError(f"cannot read {path.name}: use a .npy, .csv or .parquet file")


@attrs.frozen
class _FileCheck:
    """A check whose inputs are read when it runs, so a bad file is an ``error`` result."""

    name: str
    build: Callable[[], CheckResult]

    def run(self) -> CheckResult:
        return self.build()


def _finish(suite: SuiteResult, args: argparse.Namespace) -> int:
    """Write the reports asked for, print the summary, return the exit code."""
    if args.json:
        write_text(args.json, suite.to_json() + "\n")
    if args.junit:
        suite.to_junit(args.junit)
    if args.markdown:
        write_text(args.markdown, suite.to_markdown())
    print(suite.summary())
    return suite.exit_code(strict=args.strict)
