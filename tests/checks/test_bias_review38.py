"""Review 38, bias: CSV group codes kept as written, and the stats functions' bad input.

``modelship check bias`` read sensitive columns typed as numbers, so the codes ``"01"``
and ``"1"`` became one group; the exported functions of ``modelship.checks.stats``
miscounted bad labels or raised NumPy's IndexError, KeyError, ValueError or TypeError.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.checks import stats
from modelship.cli import main
from modelship.errors import CheckInputError, ConfigError


def _write_csv(path: Path, columns: dict[str, list[Any]]) -> Path:
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(("first", "second"), [("01", "1"), ("1.0", "1")])
def test_cli_bias_keeps_group_codes_that_read_alike_as_numbers(
    tmp_path: Path, first: str, second: str
) -> None:
    # Nobody in `first` is selected, everybody in `second`: merged, the two are one group
    # selected half the time, as often as "2", and the check passed.
    region = [first] * 60 + [second] * 60 + ["2"] * 60
    pred = [0] * 60 + [1] * 60 + [i % 2 for i in range(60)]
    y = [i % 2 for i in range(180)]
    data = _write_csv(tmp_path / "h.csv", {"y": y, "pred": pred, "region": region})
    report = tmp_path / "r.json"
    argv = ["check", "bias", "--data", str(data), "--label", "y", "--prediction", "pred"]
    code = main([*argv, "--sensitive", "region", "--json", str(report)])
    result = json.loads(report.read_text())
    result = result["results"][0] if "results" in result else result
    assert {k: v["count"] for k, v in result["groups"].items()} == {
        first: 60,
        second: 60,
        "2": 60,
    }
    assert result["disparities"]["demographic_parity_difference"]["value"] == 1.0
    assert code == 1


def test_paired_bootstrap_refuses_a_metric_that_is_neither_name_nor_callable() -> None:
    with pytest.raises(ConfigError, match=r"metric must be a name from METRICS or a callable"):
        stats.paired_bootstrap([0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 0, 0], ["f1"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([0, -1], [1, 0], r"y_true must hold only 0 and 1.*\['-1'\]"),  # was counted as a FN
        ([0, 2], [1, 0], r"y_true must hold only 0 and 1.*\['2'\]"),  # was a reshape error
        ([0, 1], [1, 0.7], r"y_pred must hold only 0 and 1.*\['0.7'\]"),  # was truncated to 0
        (np.array([0, 1], dtype=np.int8) - 2, [1, 0], r"y_true must hold only 0 and 1"),
        (["0", "1"], [1, 0], r"y_true must hold the labels 0 and 1, got dtype <U1"),
    ],
)
def test_confusion_table_refuses_labels_other_than_0_and_1(
    y_true: Any, y_pred: Any, message: str
) -> None:
    with pytest.raises(CheckInputError, match=message):
        stats.confusion_table(np.array([0, 1]), 2, y_true, y_pred)


def test_confusion_table_refuses_labels_of_another_length_or_ragged() -> None:
    with pytest.raises(CheckInputError, match=r"y_true has 2 rows but there are 3 group codes"):
        stats.confusion_table(np.array([0, 1, 1]), 2, [0, 1], [1, 0, 1])
    with pytest.raises(CheckInputError, match=r"y_pred has 3 rows but there are 2 group codes"):
        stats.confusion_table(np.array([0, 1]), 2, [0, 1], [1, 0, 1])
    with pytest.raises(CheckInputError, match=r"y_true cannot be read as an array"):
        stats.confusion_table(np.array([0, 1]), 2, [[0], [1, 1]], [1, 0])


def test_confusion_table_still_counts_float_and_boolean_labels() -> None:
    table = stats.confusion_table(np.array([0, 0, 1]), 2, [1.0, 0.0, 1.0], [True, True, False])
    assert table.tolist() == [[0, 1, 0, 1], [0, 0, 1, 0]]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([[1, 2, 3, 4], [1, 2]], r"table cannot be read as an array"),
        ([[1, 2, 3]], r"table must be counts of shape \(\.\.\., G, 4\).*got shape \(1, 3\)"),
        ([1, 2, 3, 4], r"table must be counts of shape \(\.\.\., G, 4\).*got shape \(4,\)"),
        ([["a", "b", "c", "d"]], r"table must hold numbers, got dtype <U1"),
    ],
)
def test_group_rates_refuses_a_table_that_is_not_counts(table: Any, message: str) -> None:
    with pytest.raises(CheckInputError, match=message):
        stats.group_rates(table)


def test_disparities_refuses_a_reference_outside_the_groups() -> None:
    rates = stats.group_rates([[1, 2, 3, 4], [4, 3, 2, 1]])
    with pytest.raises(ConfigError, match=r"reference=5 is not a group: there are 2 groups"):
        stats.disparities(rates, reference=5)
    impact = stats.disparities(rates, reference=1)["disparate_impact"]
    assert float(impact) == pytest.approx((6 / 10) / (4 / 10))


def test_disparities_refuses_rates_that_are_not_group_rates() -> None:
    with pytest.raises(CheckInputError, match=r"rates lacks \['true_positive_rate'"):
        stats.disparities({"selection_rate": np.array([0.1, 0.2])})
    rates = stats.group_rates([[1, 2, 3, 4], [4, 3, 2, 1]])
    with pytest.raises(CheckInputError, match=r"all of one shape"):
        stats.disparities({**rates, "precision": np.array([0.5])})


def test_estimate_disparities_refuses_point_and_resamples_that_differ() -> None:
    with pytest.raises(CheckInputError, match=r"only in point: \['a'\], only in resampled: \[\]"):
        stats.estimate_disparities({"a": np.array(0.1)}, {}, confidence=0.9)
    with pytest.raises(CheckInputError, match=r"point\['a'\] must be one number"):
        stats.estimate_disparities(
            {"a": np.array([0.1, 0.2])}, {"a": np.array([0.1, 0.2])}, confidence=0.9
        )


@pytest.mark.parametrize("reference", ["1", "region=1", "1.0", "region=1.0"])
def test_cli_reference_group_given_as_the_number_of_cells_written_as_floats(
    tmp_path: Path, reference: str
) -> None:
    # pandas writes a float column's 1 as "1.0": groups are the cells as written, and
    # --reference-group 1 still names that group (second look: it was exit 2).
    region = ["0.0"] * 60 + ["1.0"] * 60
    pred = [i % 2 for i in range(120)]
    y = [i % 2 for i in range(120)]
    data = _write_csv(tmp_path / "f.csv", {"y": y, "pred": pred, "region": region})
    argv = ["check", "bias", "--data", str(data), "--label", "y", "--prediction", "pred"]
    code = main([*argv, "--sensitive", "region", "--reference-group", reference])
    assert code == 0


def test_cli_reference_group_that_is_the_number_of_two_groups_is_still_refused(
    tmp_path: Path,
) -> None:
    region = ["01"] * 60 + ["1"] * 60 + ["2"] * 60
    pred = [i % 2 for i in range(180)]
    data = _write_csv(tmp_path / "a.csv", {"y": pred, "pred": pred, "region": region})
    argv = ["check", "bias", "--data", str(data), "--label", "y", "--prediction", "pred"]
    # "1.0" is the number of both "01" and "1": which is meant only the user can say.
    assert main([*argv, "--sensitive", "region", "--reference-group", "1.0"]) == 2
