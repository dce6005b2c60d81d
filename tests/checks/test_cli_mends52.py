"""Mends 52a, the checks' command line: one way a library error is said in the command
line's words, one reader of a CSV column of True/False cells, and an example in the
docstring of every command handler."""

from __future__ import annotations

import inspect
import pathlib
from typing import Any

import numpy as np
import pytest

from modelship.checks import _cli, _cli_common, _cli_fairness
from modelship.checks._cli_common import read_table
from modelship.errors import ColumnMismatch, ConfigError, VersionNotFound
from modelship.parity import _cli as parity_cli

# --- 1. the rewrite of an error into the command line's words, once ---------------------


def test_a_column_mismatch_is_raised_with_the_options_and_chained_from_the_original() -> None:
    original = ColumnMismatch("current lacks column(s) ['age']")
    with pytest.raises(ColumnMismatch) as caught, _cli_common.said_on_the_command_line():
        raise original
    assert str(caught.value).startswith("current lacks column(s) ['age'] (on the command line: ")
    assert "--columns COL" in str(caught.value)
    assert caught.value.__cause__ is original


def test_an_error_the_rewrite_keeps_is_raised_as_it_was() -> None:
    original = ConfigError("no such file")
    with pytest.raises(ConfigError) as caught, _cli_common.said_on_the_command_line():
        raise original
    assert caught.value is original


def test_a_version_not_found_is_said_with_the_rewrite_given() -> None:
    def rewrite(exc: Any) -> BaseException:
        return VersionNotFound(f"{exc} (said)") if isinstance(exc, VersionNotFound) else exc

    said = pytest.raises(VersionNotFound, match=r"no version '9' \(said\)")
    with said, _cli_common.said_on_the_command_line(rewrite):
        raise VersionNotFound("fraud has no version '9'")


# --- 2. one reader of True/False cells -------------------------------------------------


def test_0_and_1_beside_booleans_are_booleans_for_labels_only() -> None:
    # The one input on which the two readers disagreed: a column mixing 0/1 and
    # True/False. check bias/degradation read it as labels (pinned since review 51c);
    # a data column (check drift, schema) keeps it as text, as pandas reads it.
    cells = ["True", "0", "1", "false"]
    assert _cli_common.csv_booleans(cells, cells) is None
    assert _cli_common.csv_booleans(cells, cells, ones_zeros=True).tolist() == [
        True,
        False,
        True,
        False,
    ]
    assert _cli_common.csv_booleans(["1", "0"], ["1", "0"], ones_zeros=True) is None  # numbers


def test_a_missing_cell_stays_missing_beside_0_and_1() -> None:
    cells = ["TRUE", None, "0"]
    read = _cli_common.csv_booleans(cells, ["TRUE", "0"], ones_zeros=True)
    assert read.dtype == object
    assert read.tolist() == [True, None, False]


def test_the_label_reader_of_bias_and_degradation_is_csv_booleans(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scored.csv"
    path.write_text("y\nTrue\n0\nNA\nfalse\n1\n")
    calls: list[bool] = []

    def spy(cells: list[Any], present: list[str], *, ones_zeros: bool = False) -> Any:
        calls.append(ones_zeros)
        return _cli_common.csv_booleans(cells, present, ones_zeros=ones_zeros)

    monkeypatch.setattr(_cli_fairness, "csv_booleans", spy)
    table = read_table(str(path))
    cols = _cli_fairness._columns(table, ["y"], str(path))
    labels = _cli_fairness._labels(table, cols, "y", "--label")
    assert calls == [True]
    np.testing.assert_array_equal(labels, [1.0, 0.0, np.nan, 0.0, 1.0])


# --- 3. an example in every handler's docstring ----------------------------------------


@pytest.mark.parametrize(
    "handler",
    [
        parity_cli.cmd_capture,
        parity_cli.cmd_requirements,
        parity_cli.cmd_check,
        _cli.run_drift,
        _cli.run_schema,
        _cli.run_profile,
        _cli_fairness.run_bias,
        _cli_fairness.run_degradation,
        _cli_common.column_names,
    ],
    ids=lambda handler: handler.__name__,
)
def test_every_command_handler_has_a_docstring_example(handler: Any) -> None:
    doc = inspect.getdoc(handler) or ""
    assert "Examples\n--------\n>>> " in doc, handler.__qualname__
