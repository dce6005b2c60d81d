"""First-use messages of the checks, second look (review 51c).

* a model's exception in Degradation: a caller's TimeoutError (a SIGALRM watchdog) and a
  ModelshipError pass unchanged; the advice about X's columns only for the errors of other
  columns (scikit-learn's, a KeyError of a column name), a neutral message otherwise; a
  class given for a model is said so; a failure while timing names the measurement;
* labels that are not numbers: the positive label a placeholder (not the alphabetically
  last, 'legit' of fraud/legit), numbers held as objects told to be converted;
* Bias with too few large groups: bins only for numbers; rare text values grouped; an
  intersection names its feature of many values or says intersections=False;
* the command line: --candidate/--baseline of True/False read as the label column is,
  an empty label cell named by row and column, 0/1 beside True/False accepted; a column
  name starting with '-' in the ready-made --exclude written --exclude=NAME.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelship.checks import Bias, Degradation
from modelship.cli import main
from modelship.errors import CheckInputError, ConfigError, IntegrityError

_COLUMNS_ADVICE = "the columns (names, order and types) the model was fitted on"


def _holdout() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((300, 3))
    return x, (x[:, 0] > 0.5).astype(int)


def _base(x: Any) -> np.ndarray:
    return np.asarray(x)[:, 0]


class _Raising:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def predict(self, x: Any) -> np.ndarray:
        raise self.exc


def _run(candidate: Any, **kw: Any) -> Any:
    x, y = _holdout()
    return Degradation(
        candidate=candidate, baseline=_base, X=kw.pop("X", x), y=y, metrics=["roc_auc"], **kw
    ).run()


# --- 1. a model's exception ------------------------------------------------------------


def test_a_callers_timeout_and_a_modelship_error_from_the_model_pass_unchanged() -> None:
    timeout = TimeoutError("scoring took over 1 s")  # as a SIGALRM watchdog raises it
    with pytest.raises(TimeoutError) as info:
        _run(_Raising(timeout))
    assert info.value is timeout
    integrity = IntegrityError("fraud 3: artifact digest mismatch")
    with pytest.raises(IntegrityError) as caught:
        _run(_Raising(integrity))
    assert caught.value is integrity


def test_a_bug_in_the_model_gets_a_neutral_message_not_the_columns_advice() -> None:
    class Buggy:
        def predict(self, x: Any) -> float:
            return 1 / 0

    with pytest.raises(CheckInputError) as info:
        _run(Buggy())
    message = str(info.value)
    assert message.startswith(
        "candidate's predict raised ZeroDivisionError (division by zero) on X (the holdout)"
    ), message
    assert _COLUMNS_ADVICE not in message
    assert "candidate_scores=" in message
    assert isinstance(info.value.__cause__, ZeroDivisionError)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_scikit_learns_column_errors_and_a_missing_column_get_the_columns_advice() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.random(300), "b": rng.random(300)})
    y = (frame["a"] > 0.5).astype(int).to_numpy()
    model = linear_model.LogisticRegression().fit(frame, y)
    for x in (frame.rename(columns={"b": "B"}), frame.to_numpy()[:, :1]):
        with pytest.raises(CheckInputError) as info:
            Degradation(candidate=model, baseline=_base, X=x, y=y, metrics=["roc_auc"]).run()
        assert _COLUMNS_ADVICE in str(info.value), info.value

    def reads_sex(x: Any) -> Any:
        return x["sex"]

    with pytest.raises(CheckInputError) as info:
        Degradation(
            candidate=reads_sex, baseline=lambda x: x["a"], X=frame, y=y, metrics=["roc_auc"]
        ).run()
    assert "KeyError ('sex')" in str(info.value)
    assert _COLUMNS_ADVICE in str(info.value)


def test_a_class_given_for_a_model_is_said_so() -> None:
    class Model:
        def predict(self, x: Any) -> np.ndarray:
            return _base(x)

    with pytest.raises(ConfigError, match=r"candidate is the class .*Model, not a model"):
        _run(Model)


def test_a_failure_while_timing_names_the_measurement() -> None:
    class FullBatchOnly:
        def predict(self, x: Any) -> np.ndarray:
            if len(x) < 300:
                raise ValueError("needs the full batch")
            return _base(x)

    with pytest.raises(CheckInputError) as info:
        _run(FullBatchOnly(), latency_budget=2.0, batch_size=50, n_batches=5)
    message = str(info.value)
    assert "on a batch of 50 rows of X (the latency measurement)" in message, message
    assert "batch_size=" in message
    assert "(the holdout)" not in message
    assert _COLUMNS_ADVICE not in message

    class Once:
        calls = 0

        def predict(self, x: Any) -> np.ndarray:
            self.calls += 1
            if self.calls > 1 + 1 + 2:  # the holdout, a warm-up, two timed batches
                raise RuntimeError("used up")
            return _base(x)

    with pytest.raises(CheckInputError, match=r"on X once more \(the memory measurement\)"):
        _run(Once(), memory_budget=10.0, n_batches=2, warmup=1, clock=time.perf_counter)


# --- 2. labels that are not numbers -----------------------------------------------------


def _labels_error(y: Any) -> str:
    n = len(y)
    with pytest.raises(CheckInputError) as info:
        Degradation(y=y, candidate_scores=np.linspace(0, 1, n), baseline_scores=np.ones(n)).run()
    return str(info.value)


def test_text_labels_leave_the_positive_label_to_the_user_and_list_them() -> None:
    message = _labels_error(np.array(["fraud", "legit"] * 20))
    assert "y = (y == <your positive label>).astype(int)" in message, message
    assert "'fraud', 'legit'" in message
    assert "(y == 'legit')" not in message


def test_numbers_held_as_objects_are_told_to_be_converted_and_missing_rows_dropped() -> None:
    y = pd.Series(np.array([0, 1] * 20, dtype=object))
    y[3] = np.nan
    message = _labels_error(y)
    assert "convert them with y = y.astype(float)" in message, message
    assert "drop the 1 row without a label" in message
    assert "<your positive label>" not in message
    nullable = pd.Series([0, 1] * 20, dtype="Int64")
    nullable[3] = pd.NA
    message = _labels_error(nullable)
    assert message.startswith("y has 1 missing value (NaN, NA): drop the rows"), message


# --- 3. Bias: too few large groups -------------------------------------------------------


def _too_few(sensitive: Any, key: str, n: int = 300) -> str:
    rng = np.random.default_rng(0)
    result = Bias(
        y_true=rng.integers(0, 2, n),
        y_pred=rng.integers(0, 2, n),
        sensitive=sensitive,
        n_resamples=10,
    ).run()
    reason = result.disparities[key].reason
    return reason[reason.index("a disparity needs two") :]


def test_text_with_many_rare_values_is_told_to_group_them_not_to_bin() -> None:
    rng = np.random.default_rng(1)
    zips = np.array([f"{z:05d}" for z in rng.integers(10000, 99999, 300)])
    said = _too_few({"zip": zips}, "demographic_parity_difference")
    assert "group its rare values" in said, said
    assert "pandas.cut" not in said
    income = _too_few({"income": rng.normal(5e4, 1e4, 300)}, "demographic_parity_difference")
    assert "bin it into bands" in income, income


def test_an_intersection_names_its_feature_of_many_values_or_says_intersections_false() -> None:
    rng = np.random.default_rng(2)
    sex = rng.choice(["F", "M"], 300)
    said = _too_few(
        {"income": rng.normal(5e4, 1e4, 300), "sex": sex}, "income&sex:disparate_impact"
    )
    assert "'income' alone has 300 values: bin it into bands" in said, said
    assert "intersections=False" in said
    zips = np.array([f"{z:05d}" for z in rng.integers(10000, 99999, 300)])
    said = _too_few({"zip": zips, "sex": sex}, "zip&sex:disparate_impact")
    assert "'zip' alone has" in said, said
    assert "group its rare values" in said, said
    assert "pandas.cut" not in said
    n = 60
    categories = {
        "region": rng.choice(list("ABCD"), n),
        "plan": rng.choice(list("abcdef"), n),
        "sex": rng.choice(["F", "M"], n),
        "tier": rng.choice(["x", "y", "z"], n),
    }
    rng_labels = np.random.default_rng(3)
    result = Bias(
        y_true=rng_labels.integers(0, 2, n),
        y_pred=rng_labels.integers(0, 2, n),
        sensitive=categories,
        min_group_size=5,
        n_resamples=10,
    ).run()
    reason = result.disparities["region&plan&sex&tier:disparate_impact"].reason
    assert "pass intersections=False" in reason, reason
    assert "bin" not in reason.split("a disparity needs two")[1]


# --- 4. the command line: boolean and empty cells ---------------------------------------


def _csv(path: Path, **columns: Any) -> str:
    pd.DataFrame(columns).to_csv(path, index=False)
    return str(path)


def _frame(n: int = 200) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    return {
        "y": y,
        "y_hat": rng.integers(0, 2, n),
        "score": rng.random(n),
        "base": rng.random(n),
        "sex": rng.choice(["F", "M"], n),
    }


def _degradation(data: str, capsys: pytest.CaptureFixture[str], *cols: str) -> tuple[int, str]:
    label, candidate, baseline = cols or ("y", "score", "base")
    argv = ["check", "degradation", "--data", data, "--label", label]
    argv += ["--candidate", candidate, "--baseline", baseline, "--metrics", "accuracy"]
    code = main(argv)
    return code, capsys.readouterr().out


def _bias(data: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    argv = ["check", "bias", "--data", data, "--label", "y", "--prediction", "y_hat"]
    code = main([*argv, "--sensitive", "sex"])
    return code, capsys.readouterr().out


def test_boolean_candidate_and_baseline_columns_are_read_as_the_label_column_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _frame()
    frame["cand"] = frame["score"] > 0.5  # written True/False
    frame["old"] = frame["base"] > 0.5
    data = _csv(tmp_path / "bools.csv", **frame)
    code, out = _degradation(data, capsys, "y", "cand", "old")
    assert code in (0, 1), out
    assert "candidate_scores" not in out
    frame["cand"] = np.where(frame["score"] > 0.5, "high", "low")
    data = _csv(tmp_path / "words.csv", **frame)
    code, out = _degradation(data, capsys, "y", "cand", "old")
    assert code == 2
    assert "--candidate column 'cand' holds text (values such as 'high', 'low')" in out, out
    assert "write scores as numbers" in out
    assert "candidate_scores" not in out


def test_an_empty_label_cell_is_named_by_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _frame()
    frame["y"] = pd.Series(frame["y"].astype(bool), dtype=object)
    frame["y"][3] = None  # row 4 of the data: an empty cell
    data = _csv(tmp_path / "empty.csv", **frame)
    for run in (_bias, _degradation):
        code, out = run(data, capsys)
        assert code == 2, out
        assert "row 4 of --label column 'y' is empty" in out, out
    numbers = _frame()
    numbers["score"] = numbers["score"].copy()
    numbers["score"][9] = np.nan
    code, out = _degradation(_csv(tmp_path / "nan.csv", **numbers), capsys)
    assert code == 2
    assert "row 10 of --candidate column 'score' is empty" in out, out


def test_a_label_column_mixing_0_1_and_true_false_reads_as_booleans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _frame()
    frame["y"] = [("True" if v else "False") if i % 2 else str(v) for i, v in enumerate(frame["y"])]
    data = _csv(tmp_path / "mixed.csv", **frame)
    for run in (_bias, _degradation):
        code, out = run(data, capsys)
        assert code in (0, 1), out
        assert "holds text" not in out


# --- 5. --exclude of a column name starting with '-' ----------------------------------


def test_the_ready_made_exclude_of_dashed_names_runs_as_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    reference = _csv(tmp_path / "ref.csv", age=rng.normal(size=300))
    current = _csv(
        tmp_path / "cur.csv", age=rng.normal(size=300), extra=1, **{"-1": 1, "--help": 2}
    )
    argv = ["check", "drift", "--reference", reference, "--current", current]
    assert main(argv) == 2
    out = capsys.readouterr().out
    hint = out.split("(on the command line: ")[1].split(" leaves out")[0]
    assert hint == "--exclude extra --exclude=-1 --exclude=--help", hint
    assert main([*argv, *shlex.split(hint)]) == 0, capsys.readouterr().out
