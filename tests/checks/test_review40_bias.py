"""Review 40 of Bias, Degradation, their CLI and the fairness statistics: each test
failed before its fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelship.checks import Bias, Degradation, stats
from modelship.checks._cli_fairness import _columns
from modelship.cli import main
from modelship.errors import CheckInputError, ConfigError

N = 600


def _parquet(path: Path, columns: dict[str, Any]) -> Path:
    """``columns`` written with pyarrow; a dictionary column stays one when read back."""
    table = pa.table(columns)
    pq.write_table(table, path)
    assert pq.read_schema(path).types == table.schema.types
    return path


def _with_nulls(values: Any, n_null: int) -> pa.Array:
    """``values`` as an arrow dictionary (a pandas category) whose first rows are null."""
    items = list(np.asarray(values).tolist())
    return pa.array([None] * n_null + items[n_null:]).dictionary_encode()


def _report(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    result: dict[str, Any] = doc["results"][0]
    return result


def _labels(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, N)
    return y, np.where(rng.random(N) < 0.85, y, 1 - y)


# --- 1: a null of a Parquet category (arrow dictionary) column stays missing ----------


def test_cli_bias_refuses_missing_sensitive_values_of_a_parquet_category(
    tmp_path: Path, capsys: Any
) -> None:
    y, p = _labels()
    sex = _with_nulls(np.repeat(["F", "M"], N // 2), 150)
    data = _parquet(tmp_path / "d.parquet", {"y": y, "p": p, "sex": sex})
    argv = ["check", "bias", "--data", str(data), "--label", "y", "--prediction", "p"]
    code = main([*argv, "--sensitive", "sex"])
    out = capsys.readouterr().out
    # Before: the 150 null rows were counted in a real group ('M'), and the check judged.
    assert code == 2, out
    assert "sensitive feature 'sex' has 150 missing values" in out


def test_cli_degradation_refuses_missing_segment_labels_of_a_parquet_category(
    tmp_path: Path, capsys: Any
) -> None:
    y, _ = _labels()
    score = np.clip(0.4 * y + np.random.default_rng(1).random(N) * 0.6, 0, 1)
    region = _with_nulls(np.repeat(["east", "north", "south"], N // 3), 100)
    columns = {"y": y, "c": score, "b": score, "region": region}
    data = _parquet(tmp_path / "d.parquet", columns)
    argv = ["check", "degradation", "--data", str(data), "--label", "y"]
    code = main([*argv, "--candidate", "c", "--baseline", "b", "--segment", "region"])
    out = capsys.readouterr().out
    assert code == 2, out
    assert "segment column 'region' has 100 missing values" in out


def test_cli_columns_keep_every_null_of_an_arrow_dictionary_column_missing() -> None:
    # Parquet gives back only text as dictionaries (numbers come back plain, a null as
    # NaN); an arrow table handed over as it is may hold numeric ones too. Before, all
    # of them had their nulls decoded as a real value (0, 0.0, "F").
    table = pa.table(
        {
            "int": pa.array([None, 1, 0]).dictionary_encode(),
            "float": pa.array([None, 1.5, 0.0]).dictionary_encode(),
            "text": pa.array(["F", None, "M"]).dictionary_encode(),
        }
    )
    cols = _columns(table, ["int", "float", "text"], "t.parquet")
    assert np.isnan(cols["int"][0])
    assert np.isnan(cols["float"][0])
    assert cols["text"].tolist() == ["F", None, "M"]


# --- 2: --reference-group names a float group of a Parquet or .npy file ------------------


def _grades(tmp_path: Path, suffix: str) -> Path:
    y, p = _labels()
    grade = np.repeat([1.0, 2.0], N // 2)
    if suffix == ".parquet":
        return _parquet(tmp_path / "g.parquet", {"y": y, "p": p, "grade": grade})
    table = np.zeros(N, dtype=[("y", "i8"), ("p", "i8"), ("grade", "f8")])
    table["y"], table["p"], table["grade"] = y, p, grade
    np.save(tmp_path / "g.npy", table)
    return tmp_path / "g.npy"


@pytest.mark.parametrize("suffix", [".parquet", ".npy"])
@pytest.mark.parametrize("reference", ["1", "1.0", "grade=1", "grade=1.0"])
def test_cli_reference_group_names_a_float_group_however_the_number_is_written(
    tmp_path: Path, suffix: str, reference: str
) -> None:
    data = _grades(tmp_path, suffix)
    argv = ["check", "bias", "--data", str(data), "--label", "y", "--prediction", "p"]
    report = tmp_path / "r.json"
    options = ["--four-fifths", "--reference-group", reference, "--json", str(report)]
    code = main([*argv, "--sensitive", "grade", *options])
    assert code in (0, 1)  # judged: before, every spelling was exit 2
    impact = _report(report)["disparities"]["disparate_impact"]
    assert impact["highest_group"] == "1"  # with a reference, the group the ratio reads


# --- 3: thresholds and margins that could never fail are refused -----------------------

DIFFERENCES = [
    "demographic_parity_difference",
    "equalized_odds_difference",
    "equal_opportunity_difference",
    "predictive_parity_difference",
]
RATIOS = ["demographic_parity_ratio", "equalized_odds_ratio", "disparate_impact"]


@pytest.mark.parametrize("name", DIFFERENCES)
@pytest.mark.parametrize("limit", [1.0, 10.0])
def test_a_difference_threshold_of_1_or_more_is_refused_as_a_share(name: str, limit: float) -> None:
    with pytest.raises(ConfigError, match=rf"{name}={limit:g}: .*give a share: 0\.1 for 10 %"):
        Bias(y_true=[0, 1], y_pred=[0, 1], sensitive=["a", "b"], thresholds={name: limit})


@pytest.mark.parametrize("name", RATIOS)
@pytest.mark.parametrize("limit", [0.0, 1.5, 80.0])
def test_a_ratio_threshold_of_0_or_above_1_is_refused_as_a_share(name: str, limit: float) -> None:
    with pytest.raises(ConfigError, match=rf"{name}={limit:g}: .*give a share: 0\.8 for 80 %"):
        Bias(y_true=[0, 1], y_pred=[0, 1], sensitive=["a", "b"], thresholds={name: limit})


def test_thresholds_that_can_fail_are_still_accepted() -> None:
    y = np.tile([0, 1], N // 2)
    group = np.repeat(["a", "b"], N // 2)
    pred = np.r_[np.zeros(N // 2, int), np.ones(N // 2, int)]  # a never, b always selected
    limits = {"demographic_parity_difference": 0.999, "disparate_impact": 1.0}
    result = Bias(y_true=y, y_pred=pred, sensitive=group, thresholds=limits).run()
    assert result.disparities["demographic_parity_difference"].passed is False  # 1 > 0.999
    assert result.disparities["disparate_impact"].passed is False  # 0 < 1
    assert Bias(
        y_true=[0.0, 1.0],
        y_pred=[0.0, 1.0],
        sensitive=["a", "b"],
        task="regression",
        thresholds={"mean_error_difference": 10.0},  # in units of the target: unbounded
    ).thresholds == {"mean_error_difference": 10.0}


def test_cli_bias_limit_given_in_percent_exits_2(tmp_path: Path, capsys: Any) -> None:
    data = _grades(tmp_path, ".parquet")
    argv = ["check", "bias", "--data", str(data), "--label", "y", "--prediction", "p"]
    code = main([*argv, "--sensitive", "grade", "--limit", "demographic_parity_difference=10"])
    assert code == 2
    assert "give a share: 0.1 for 10 %" in capsys.readouterr().out


def _holdout() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    return {
        "y": y,
        "candidate_scores": rng.random(400),  # a random scorer
        "baseline_scores": np.clip(y * 0.6 + rng.random(400) * 0.4, 0, 1),
        "n_resamples": 20,
    }


@pytest.mark.parametrize("metric", ["accuracy", "precision", "recall", "f1", "roc_auc", "brier"])
@pytest.mark.parametrize("margin", [1.0, 2.0])
def test_an_absolute_margin_of_1_or_more_on_a_metric_in_0_1_is_refused(
    metric: str, margin: float
) -> None:
    with pytest.raises(ConfigError, match=r"could never find the candidate worse; give a share"):
        Degradation(metrics=[metric], margin=margin, **_holdout())
    with pytest.raises(ConfigError, match=rf"`margins` 'm' is {margin:g} for m \({metric}\)"):
        Degradation(metrics={"m": metric}, margins={"m": margin}, **_holdout())
    with pytest.raises(ConfigError, match=r"`segment_margin` is"):
        Degradation(metrics=[metric], segment_margin=margin, **_holdout())


@pytest.mark.parametrize("metric", ["accuracy", "precision", "recall", "f1", "roc_auc"])
def test_a_relative_margin_of_1_or_more_where_higher_is_better_in_0_1_is_refused(
    metric: str,
) -> None:
    with pytest.raises(ConfigError, match=r"give a share: 0\.05 for 5 % of the baseline"):
        Degradation(metrics=[metric], margin=5, relative=True, **_holdout())


def test_margins_that_can_fail_are_still_accepted() -> None:
    holdout = _holdout()
    result = Degradation(metrics=["roc_auc"], margin=0.99, **holdout).run()
    assert result.metrics["roc_auc"].margin == 0.99
    # A rise of a loss in [0, 1] may exceed its own value; log loss and R² are unbounded.
    Degradation(metrics=["brier"], margin=3, relative=True, **holdout)
    Degradation(metrics=["log_loss"], margin=3, **holdout)
    Degradation(metrics={"loss": lambda y, s: float(np.mean(s))}, margin=3, **holdout)
    y = np.random.default_rng(0).normal(size=200)
    Degradation(y=y, candidate_scores=y, baseline_scores=y, task="regression", margin=5)


def test_the_default_metrics_margin_is_checked_by_run_once_the_task_is_known() -> None:
    check = Degradation(margin=2, **_holdout())  # the task, so the metrics, not known yet
    with pytest.raises(ConfigError, match=r"`margin` is 2 for roc_auc"):
        check.run()


def test_cli_degradation_margin_given_in_points_exits_2(tmp_path: Path, capsys: Any) -> None:
    y, _ = _labels()
    score = np.random.default_rng(3).random(N)
    data = _parquet(tmp_path / "d.parquet", {"y": y, "c": score, "b": score})
    argv = ["check", "degradation", "--data", str(data), "--label", "y", "--metrics", "roc_auc"]
    assert main([*argv, "--candidate", "c", "--baseline", "b", "--margin", "2"]) == 2
    assert "give a share: 0.02 for 2 points" in capsys.readouterr().out


# --- 4a: a clock that is not a clock is a ConfigError -----------------------------------


def _needs_an_argument(seconds: float) -> float:
    return seconds


@pytest.mark.parametrize(
    ("clock", "message"),
    [
        (lambda: None, "returned None, not a finite number of seconds"),
        (lambda: "t", "returned 't', not a finite number of seconds"),
        (lambda: float("nan"), "returned nan, not a finite number of seconds"),
        (lambda: True, "returned True, not a finite number of seconds"),
        (_needs_an_argument, "could not be called: .*missing 1 required positional"),
    ],
)
def test_a_clock_that_does_not_return_seconds_is_a_config_error(
    clock: Callable[..., Any], message: str
) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((100, 2))

    def model(rows: Any) -> Any:
        return rows[:, 0]

    check = Degradation(
        y=rng.integers(0, 2, 100),
        candidate=model,
        baseline=model,
        X=x,
        metrics=["accuracy"],
        measure_performance=True,
        n_batches=2,
        warmup=0,
        clock=clock,
    )
    with pytest.raises(ConfigError, match=rf"clock=.* {message}"):
        check.run()


def test_a_counting_clock_still_times_the_batches() -> None:
    ticks = iter(range(1000))
    rng = np.random.default_rng(0)
    check = Degradation(
        y=rng.integers(0, 2, 100),
        candidate=lambda rows: rows[:, 0],
        baseline=lambda rows: rows[:, 0],
        X=rng.random((100, 2)),
        metrics=["accuracy"],
        measure_performance=True,
        n_batches=4,
        warmup=0,
        clock=lambda: next(ticks),
    )
    performance = check.run().performance
    assert performance is not None
    assert performance.candidate["p50_ms"] == 1000.0  # one tick a batch


# --- 4b: group_rates and disparities refuse impossible count tables and rates -----------


@pytest.mark.parametrize(
    "table",
    [
        [[-50, 100, 0, 0], [100, 0, 0, 0]],  # a negative count: a selection rate of 2
        [[0.5, 0.25, 0, 0], [1, 0, 0, 0]],  # counts of rows are whole
        [[np.nan, 1, 0, 0], [1, 0, 0, 0]],
        [[np.inf, 1, 0, 0], [1, 0, 0, 0]],
    ],
)
def test_group_rates_refuses_a_table_that_is_not_counts_of_rows(table: Any) -> None:
    with pytest.raises(CheckInputError, match=r"table must hold counts of rows"):
        stats.group_rates(table)


def test_group_rates_and_disparities_refuse_zero_groups() -> None:
    with pytest.raises(CheckInputError, match=r"at least one group"):
        stats.group_rates(np.zeros((0, 4)))
    empty = dict.fromkeys(
        ("selection_rate", "true_positive_rate", "false_positive_rate", "precision"),
        np.zeros(0),
    )
    with pytest.raises(CheckInputError, match=r"rates hold no group"):
        stats.disparities(empty)


def test_disparities_refuses_rates_outside_0_1_but_keeps_undefined_ones() -> None:
    rates = stats.group_rates([[1, 2, 3, 4], [4, 3, 2, 1]])
    with pytest.raises(CheckInputError, match=r"rates\['selection_rate'\] must be shares"):
        stats.disparities({**rates, "selection_rate": np.array([2.0, 0.0])})
    undefined = stats.disparities({**rates, "precision": np.array([np.nan, 0.5])})
    assert np.isnan(undefined["predictive_parity_difference"])


# --- repeated options add to each other ---------------------------------------------------


def _cli(argv: list[str], capsys: Any) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_bias_sensitive_given_twice_audits_the_columns_of_both(tmp_path: Path, capsys: Any) -> None:
    # argparse's default kept the last list only: `--sensitive sex --sensitive region`
    # audited region alone, and a model biased on sex passed.
    rng = np.random.default_rng(7)
    n = 2000
    sex = rng.choice(["F", "M"], size=n)
    region = rng.choice(["north", "south"], size=n)
    y = rng.integers(0, 2, size=n)
    pred = np.where(sex == "F", 0, y)  # never selects F: biased on sex only
    path = tmp_path / "t.csv"
    path.write_text(
        "y,pred,sex,region\n"
        + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in zip(y, pred, sex, region, strict=True))
    )
    base = ["check", "bias", "--data", str(path), "--label", "y", "--prediction", "pred"]
    once = _cli([*base, "--sensitive", "sex", "region"], capsys)
    twice = _cli([*base, "--sensitive", "sex", "--sensitive", "region"], capsys)
    assert once[0] == 1
    assert twice[0] == once[0], twice[1]


def test_a_limit_given_twice_for_one_metric_is_refused(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "y,pred,sex\n" + "".join(f"{i % 2},{i % 2},{'FM'[i % 2]}\n" for i in range(200))
    )
    code, out = _cli(
        [
            "check", "bias", "--data", str(path), "--label", "y", "--prediction", "pred",
            "--sensitive", "sex",
            "--limit", "demographic_parity_difference=0.1",
            "--limit", "demographic_parity_difference=0.2",
        ],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "names 'demographic_parity_difference' twice" in out
