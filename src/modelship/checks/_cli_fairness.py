"""``modelship check bias`` and ``modelship check degradation`` on data files, for CI.

Same outputs and exit codes as ``check drift``: 0 pass, 1 a blocking check failed (with
``--strict``, any warning), 2 a check could not be computed or the input could not be
read. Reports (``--json``, ``--junit``, ``--markdown``) are written even on an error.

Wiring: :func:`modelship._cli_check.add_fairness_commands` adds the two commands to the
sub-command group of ``modelship check`` with the handlers it is given: those of this
module, which ``modelship`` imports only when one of them runs (:mod:`modelship._cli_hooks`).
"""

from __future__ import annotations

import argparse
import heapq
import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from modelship import _cli_check
from modelship._cli_common import storage_options
from modelship._columns import column_array, is_missing
from modelship._shown import brief
from modelship.checks._bias import Bias
from modelship.checks._cli_common import (
    BOOLEAN_CELLS,
    ONE_ZERO_CELLS,
    CsvTable,
    _FileCheck,
    csv_booleans,
    read_table,
    run_and_report,
    said_on_the_command_line,
)
from modelship.checks._degradation import Degradation
from modelship.checks._result import CheckResult
from modelship.checks.stats._fairness import binary_labels, group_label
from modelship.errors import CheckInputError, ConfigError

__all__ = ["add_fairness_commands", "run_bias", "run_degradation"]


def _columns(table: Any, names: list[str], what: str) -> dict[str, Any]:
    """The columns ``names`` of ``table`` as NumPy arrays, a missing value kept missing.

    An arrow column is read by :func:`~modelship._columns.column_array`: pyarrow's own
    ``ChunkedArray.to_numpy()`` decodes a null of a dictionary column (a pandas category
    written to Parquet) as one of its categories, which put rows of unknown sex into a
    real group; read chunk by chunk, a null is ``None`` (NaN in numbers), which Bias and
    Degradation refuse with a ``CheckInputError`` naming the column.
    """
    if isinstance(table, dict):
        available = list(table)
    elif hasattr(table, "column_names"):
        available = list(table.column_names)
    elif getattr(table, "dtype", None) is not None and table.dtype.names is not None:
        available = list(table.dtype.names)
    else:
        raise ConfigError(
            f"{what}: the file must have named columns (CSV, Parquet, structured .npy)"
        )
    absent = [name for name in names if name not in available]
    if absent:
        raise ConfigError(f"{what}: no column {absent[0]!r}; columns: {available}")
    out = {}
    for name in names:
        column = table[name] if not hasattr(table, "column_names") else table.column(name)
        out[name] = column_array(column, f"{what}: column {name!r}")
    return out


_SCORE_FLAGS = frozenset({"--candidate", "--baseline", "--score"})
_SHOWN_VALUES = 5  # the text cells named when a label column is refused, at most


def _labels(table: Any, cols: dict[str, Any], name: str, flag: str) -> Any:
    """The label column ``name`` (given as ``flag``: ``--label``, ``--prediction``, or a
    column of scores, ``--score``, ``--candidate``, ``--baseline``) of ``cols`` (see
    :func:`_columns`), as Bias and Degradation take labels and scores.

    A CSV file holds text where a bool column was written (``df.to_csv`` writes
    ``True``/``False``): a column whose every cell spells a boolean as pandas reads one
    (:data:`~modelship.checks._cli_common.TRUE_CELLS`,
    :data:`~modelship.checks._cli_common.FALSE_CELLS`), or 0 and 1 beside such cells
    (files of two exports joined, one writing 1/0, the other True/False), is read by
    :func:`~modelship.checks._cli_common.csv_booleans` as 1 and 0, as the Python API
    takes a bool column (a missing cell stays missing, NaN, which :func:`_filled` refuses
    naming the row and the column). Any other text is refused here, naming a few of its
    values and the flag: the checks' own messages would name their Python keywords
    (``candidate_scores``). Numbers, and every Parquet or ``.npy`` column (a bool column
    there is bool already), are left as read.

    Raises
    ------
    CheckInputError
        For a CSV column holding text that is not all booleans (or 0 and 1).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = path.write_text("y,p\\nTrue,false\\nFalse,TRUE\\n")
    >>> table = read_table(path)
    >>> cols = _columns(table, ["y", "p"], "a.csv")
    >>> _labels(table, cols, "y", "--label").tolist(), _labels(table, cols, "p", "-p").tolist()
    ([1, 0], [0, 1])
    """
    column = cols[name]
    if not isinstance(table, CsvTable) or column.dtype.kind not in "Ob":
        return column
    # The cells as written: the reader reads a column of booleans only (some missing:
    # None beside them) as bools, and 0 and 1 beside them as text.
    cells = table.text[name].tolist()
    present = [cell for cell in cells if cell is not None]
    booleans = csv_booleans(cells, present, ones_zeros=True)
    if booleans is not None:
        return _as_numbers(booleans)
    # The cells that are no label (neither a boolean nor 0 or 1) first: those to fix.
    labels = BOOLEAN_CELLS | ONE_ZERO_CELLS
    odd = list({cell for cell in present if cell not in labels})
    pool = odd or list(dict.fromkeys(present))
    first = heapq.nsmallest(_SHOWN_VALUES + 1, pool)
    shown = ", ".join(brief(cell) for cell in first[:_SHOWN_VALUES])
    more = ", ..." if len(first) > _SHOWN_VALUES else ""
    write = (
        "write scores as numbers (a classifier's probability of label 1), or predicted "
        "labels as 0 and 1 or as True and False"
        if flag in _SCORE_FLAGS
        else "write labels as 0 and 1 (positive = 1) or as True and False, and a "
        "regression's targets as numbers"
    )
    raise CheckInputError(
        f"{flag} column {name!r} holds text (values such as {shown}{more}) where numbers "
        f"are expected: {write}"
    )


def _as_numbers(booleans: NDArray[Any]) -> NDArray[Any]:
    """:func:`~modelship.checks._cli_common.csv_booleans`' column as 1 and 0: int64, or,
    with a missing cell (``None``), float64 with NaN there (as a CSV column of numbers
    with an empty cell is read)."""
    if booleans.dtype == np.bool_:
        return booleans.astype(np.int64)
    return np.array([math.nan if b is None else float(b) for b in booleans.tolist()])


def _filled(values: Any, name: str, flag: str) -> Any:
    """``values`` (the column ``name``, given as ``flag``, see :func:`_labels`), refused
    when a cell is empty, naming the row, the flag and the column: the checks said "y has
    1 non-finite values" (Degradation) or "y_true must hold only 0 and 1 ... ['nan']"
    (Bias), their Python keywords, neither the row nor the file's column.

    Raises
    ------
    CheckInputError
        For a column with an empty (missing) cell.

    Examples
    --------
    >>> try:
    ...     _filled(np.array([1.0, math.nan, math.nan]), "y", "--label")
    ... except CheckInputError as exc:
    ...     print(str(exc)[:54])
    row 2 of --label column 'y' is empty or NA (rows count
    """
    array = np.asarray(values)
    if array.dtype.kind == "f":
        empty = np.flatnonzero(np.isnan(array))
    elif array.dtype.kind == "O":
        empty = np.flatnonzero([is_missing(v) for v in array.tolist()])
    else:
        return values
    if not empty.size:
        return values
    more = len(empty) - 1
    also = f"; {more} more row{'s' if more != 1 else ''} too" if more else ""
    raise CheckInputError(
        f"row {int(empty[0]) + 1} of {flag} column {name!r} is empty or NA (rows count from "
        f"1 after the header{also}): fill it or drop the rows without a value"
    )


def _groups(table: Any, names: list[str], cols: dict[str, Any]) -> dict[str, Any]:
    """The group columns ``names`` (from ``cols``, see :func:`_columns`), a CSV file's as
    their cells' text: typed as numbers, codes such as ``"01"`` and ``"1"`` (or ``"1.0"``)
    would both be 1 and their rows one group, where the Python API keeps them apart."""
    if isinstance(table, CsvTable):
        return {name: table.text[name] for name in names}
    return {name: cols[name] for name in names}


def _reference_group(wanted: str | None, groups: dict[str, Any]) -> str | None:
    """``--reference-group`` as the group it names in ``groups`` (the cells as written).

    A value no cell is written as, but that is the number of exactly one group's cells
    (``1`` for cells written ``1.0``, as pandas writes a float column), names that group:
    the cells are kept as written only so that codes such as ``01`` and ``1`` stay apart.
    The cells of a Parquet or ``.npy`` column are read as Bias labels its groups
    (:func:`~modelship.checks.stats._fairness.group_label`: ``1.0`` is the group ``"1"``),
    so ``1``, ``1.0`` and ``grade=1`` all name it.
    """
    if wanted is None:
        return None
    feature, sep, value = wanted.rpartition("=")
    if sep and feature in groups:  # FEATURE=VALUE
        names, prefix = [feature], f"{feature}="
    else:  # a VALUE of one feature (a value may hold "=" itself)
        names, prefix, value = list(groups), "", wanted
    try:
        number = float(value)
    except ValueError:
        return wanted
    labels = {
        group_label(v)
        for name in names
        for v in dict.fromkeys(column_array(groups[name]).tolist())
        if not is_missing(v)
    }
    if value in labels or not math.isfinite(number):
        return wanted
    same = sorted(label for label in labels if _number(label) == number)
    if len(same) != 1:
        return wanted  # none, or ambiguous (01 and 1): Bias names the groups there are
    return prefix + same[0]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _pairs(items: list[str] | None, what: str) -> dict[str, float | None]:
    """``NAME=VALUE`` items as ``{name: value}``; ``none`` is ``None`` (``--limit``: the
    disparity is not gated)."""
    out: dict[str, float | None] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{what} takes NAME=VALUE, got {item!r}")
        if name in out:  # which of two values was meant cannot be known
            raise ConfigError(f"{what} names {name!r} twice; give each name once")
        try:
            out[name] = None if value.lower() == "none" else float(value)
        except ValueError:
            raise ConfigError(f"{what} {item!r}: {value!r} is not a number or 'none'") from None
    return out


def _margins(items: list[str] | None) -> dict[str, float]:
    """``--metric-margin`` items as ``{metric: margin}``; every metric is gated, so a margin
    of ``none`` (which ``--limit`` takes) is refused rather than left to the default."""
    out: dict[str, float] = {}
    for name, value in _pairs(items, "--metric-margin").items():
        if value is None:
            raise ConfigError(
                f"--metric-margin {name}=none: every compared metric is gated, so it needs "
                "a number (the allowed drop, e.g. 0.02); drop the item to use --margin"
            )
        out[name] = value
    return out


def _score_threshold(args: argparse.Namespace, task: str) -> float | None:
    """The threshold turning ``--score`` into labels: ``--threshold`` (0.5), for
    classification only; ``--threshold`` is refused where nothing would read it."""
    if args.score is None:
        if args.threshold is not None:
            raise ConfigError(
                "--threshold turns the scores of --score into labels, and there is no "
                "--score: pass --score COL --threshold T for scores, or drop --threshold "
                "for the labels of --prediction"
            )
        return None
    if task == "regression":
        if args.threshold is not None:
            raise ConfigError(
                "--threshold turns --score into labels; --task regression has no labels: "
                "drop --threshold (the column is read as predictions)"
            )
        return None
    return 0.5 if args.threshold is None else args.threshold


def _bias(args: argparse.Namespace) -> CheckResult:
    task: Literal["classification", "regression"] = args.task or "classification"
    threshold = _score_threshold(args, task)
    if args.four_fifths and task == "regression":
        raise ConfigError(
            "--four-fifths gates disparate_impact, a ratio of selection rates; --task "
            "regression has no selection: use --limit mean_error_difference=VALUE"
        )
    table = read_table(args.data, storage_options(args.option))
    predicted = args.score or args.prediction
    if predicted is None:
        raise ConfigError("give --prediction (labels) or --score with --threshold")
    cols = _columns(table, [args.label, predicted, *args.sensitive], str(args.data))
    y_true = _filled(_labels(table, cols, args.label, "--label"), args.label, "--label")
    flag = "--prediction" if args.prediction is not None else "--score"
    y_pred = _filled(_labels(table, cols, predicted, flag), predicted, flag)
    if args.prediction is not None and task == "classification":
        try:
            y_pred = binary_labels(y_pred, f"--prediction column {predicted!r}")
        except CheckInputError as exc:
            raise CheckInputError(
                f"{exc}; for scores, pass the column as --score {predicted} (with "
                "--threshold, 0.5 by default)"
            ) from None
    sensitive = _groups(table, args.sensitive, cols)
    return Bias(
        y_true=y_true,
        y_pred=y_pred,
        sensitive=sensitive,
        threshold=threshold,
        task=task,
        thresholds=_pairs(args.limit, "--limit"),
        four_fifths=args.four_fifths,
        reference_group=_reference_group(args.reference_group, sensitive),
        gate=args.gate,
        confidence=args.confidence,
        n_resamples=args.n_resamples,
        seed=args.seed,
        min_group_size=args.min_group_size,
        small_groups=args.small_groups,
    ).run()


def _degradation(args: argparse.Namespace) -> CheckResult:
    if args.task == "regression" and args.threshold is not None:
        raise ConfigError(
            "--threshold turns scores into labels; --task regression has no labels: drop "
            "--threshold (the columns are read as predictions)"
        )
    table = read_table(args.data, storage_options(args.option))
    names = [args.label, args.candidate, args.baseline, *(args.segment or [])]
    cols = _columns(table, names, str(args.data))
    read = {
        flag: _filled(_labels(table, cols, name, flag), name, flag)
        for flag, name in (
            ("--label", args.label),
            ("--candidate", args.candidate),
            ("--baseline", args.baseline),
        )
    }
    return Degradation(
        y=read["--label"],
        candidate_scores=read["--candidate"],
        baseline_scores=read["--baseline"],
        X=_groups(table, args.segment or [], cols) or None,
        metrics=args.metrics,
        task=args.task,
        # Left out when not given: Degradation's own default (0.5) applies.
        **({} if args.threshold is None else {"threshold": args.threshold}),
        margin=args.margin,
        margins=_margins(args.metric_margin),
        relative=args.relative,
        confidence=args.confidence,
        inconclusive=args.inconclusive,
        segments=args.segment,
        min_segment_size=args.min_segment_size,
        n_resamples=args.n_resamples,
        seed=args.seed,
    ).run()


def _said(
    check: Callable[[argparse.Namespace], CheckResult], args: argparse.Namespace
) -> CheckResult:
    """``check(args)``, a :class:`~modelship.ColumnMismatch` it raises said with the
    options that choose columns, not the Python keywords (see
    :func:`~modelship.checks._cli_common.said_on_the_command_line`)."""
    with said_on_the_command_line():
        return check(args)


def run_bias(args: argparse.Namespace) -> int:
    """Run ``modelship check bias`` on the ``--data`` file: the disparities between the
    ``--sensitive`` groups; print the summary, write the reports asked for, return the
    exit code (0 pass, 1 a blocking disparity, 2 an error).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.cli import build_parser
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scored.csv"
    >>> rows = [f"{i % 2},{i % 2},{'fm'[i % 3 == 0]}" for i in range(200)]
    >>> _ = path.write_text("y,pred,sex\\n" + "\\n".join(rows) + "\\n")
    >>> args = build_parser().parse_args(
    ...     ["check", "bias", "--data", str(path), "--label", "y",
    ...      "--prediction", "pred", "--sensitive", "sex"]
    ... )
    >>> run_bias(args)
    PASS  bias: 3 gated disparities within their thresholds
    passed (1 check: 1 pass)
    0
    """
    return run_and_report([_FileCheck("bias", lambda: _said(_bias, args))], args)


def run_degradation(args: argparse.Namespace) -> int:
    """Run ``modelship check degradation`` on the ``--data`` file: the ``--candidate``
    model's scores against the ``--baseline``'s; print the summary, write the reports
    asked for, return the exit code (0 pass, 1 the candidate is worse, 2 an error).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.cli import build_parser
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scored.csv"
    >>> rows = [f"{i % 2},{i % 10 / 10},{i % 10 / 10}" for i in range(400)]
    >>> _ = path.write_text("y,new,old\\n" + "\\n".join(rows) + "\\n")
    >>> args = build_parser().parse_args(
    ...     ["check", "degradation", "--data", str(path), "--label", "y",
    ...      "--candidate", "new", "--baseline", "old"]
    ... )
    >>> run_degradation(args)
    PASS  degradation: candidate not worse within tolerance on 3 metrics
    passed (1 check: 1 pass)
    0
    """
    return run_and_report([_FileCheck("degradation", lambda: _said(_degradation, args))], args)


def add_fairness_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``bias`` and ``degradation`` to the sub-commands of ``modelship check``
    (:func:`modelship._cli_check.add_fairness_commands`), with their handlers.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="modelship check")
    >>> add_fairness_commands(parser.add_subparsers())
    >>> args = parser.parse_args(["bias", "--data", "d.csv", "--label", "y",
    ...                           "--prediction", "p", "--sensitive", "sex"])
    >>> args.func is run_bias, args.min_group_size
    (True, 30)
    """
    handlers = {"bias": run_bias, "degradation": run_degradation}
    _cli_check.add_fairness_commands(commands, handlers)
