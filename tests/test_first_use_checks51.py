"""First-use messages of the checks and the rollback conditions (review 51): a model that
fails on the holdout, string labels, a continuous sensitive feature, a column name given
as ``sensitive``, and ``1.5 * baseline``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelship.checks import Bias, Degradation, run_suite
from modelship.errors import CheckInputError, ConfigError, ModelshipError
from modelship.monitor import Condition


class _Fitted:
    """A classifier that refuses X of other columns, as scikit-learn's does."""

    def __init__(self, exc: BaseException | None = None) -> None:
        self.exc = exc

    def predict_proba(self, x: Any) -> np.ndarray:
        if self.exc is not None:
            raise self.exc
        p = np.full(len(x), 0.5)
        return np.column_stack([1 - p, p])


_FEATURES = ValueError("The feature names should match those that were passed during fit.")


def _holdout() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(50, 2)), np.array([0, 1] * 25)


def test_a_candidate_failing_on_x_is_a_check_input_error_naming_it() -> None:
    x, y = _holdout()
    check = Degradation(candidate=_Fitted(_FEATURES), baseline=_Fitted(), X=x, y=y)
    with pytest.raises(CheckInputError) as info:
        check.run()
    message = str(info.value)
    assert message.startswith("candidate's predict_proba failed on X")
    assert "ValueError (The feature names should match" in message
    assert "the columns (names, order and types) the model was fitted on" in message
    assert "candidate_scores=" in message
    assert info.value.__cause__ is _FEATURES
    # KeyboardInterrupt and MemoryError pass unchanged
    for exc in (KeyboardInterrupt(), MemoryError()):
        with pytest.raises(type(exc)):
            Degradation(candidate=_Fitted(exc), baseline=_Fitted(), X=x, y=y).run()


def test_a_baseline_failing_on_x_is_named_in_the_suite() -> None:
    x, y = _holdout()

    def baseline(_: Any) -> np.ndarray:
        raise KeyError("sex")

    result = run_suite([Degradation(candidate=_Fitted(), baseline=baseline, X=x, y=y)])
    reason = result["degradation"].reason
    assert reason.startswith("CheckInputError: baseline (a function X -> predictions) failed")
    assert "KeyError ('sex')" in reason


def test_string_labels_say_how_to_map_them_and_show_values() -> None:
    y = np.array(["no", "yes"] * 20)
    check = Degradation(candidate_scores=np.linspace(0, 1, 40), baseline_scores=np.ones(40), y=y)
    with pytest.raises(CheckInputError) as info:
        check.run()
    message = str(info.value)
    assert "'no', 'yes'" in message
    assert "map the labels to 0/1 (positive = 1)" in message
    assert "(y == <your positive label>).astype(int)" in message


def test_a_continuous_sensitive_feature_is_told_to_be_binned() -> None:
    rng = np.random.default_rng(1)
    n = 400
    result = Bias(
        y_true=rng.integers(0, 2, n),
        y_pred=rng.integers(0, 2, n),
        sensitive={"income": rng.normal(50_000, 10_000, n)},
    ).run()
    assert result.status.value == "error"
    assert "bin it into bands" in result.reason
    assert "pandas.cut" in result.reason
    assert "lower min_group_size" not in result.reason
    # a few small groups of a category still get the old advice
    few = Bias(
        y_true=np.array([0, 1] * 10), y_pred=np.array([0, 1] * 10), sensitive=["F", "M"] * 10
    ).run()
    assert "lower min_group_size or collect more data" in few.reason
    assert "bin" not in few.reason


def test_a_column_name_as_sensitive_says_to_pass_the_column() -> None:
    bias = Bias(y_true=[0, 1] * 10, y_pred=[0, 1] * 10, sensitive="sex")
    with pytest.raises(CheckInputError, match=r"pass the column itself \(X\['sex'\]"):
        bias.run()


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("p95(inference_latency_seconds) > 1.5 * baseline", "'baseline * 1.5'"),
        ("mean(accuracy) < 0.05 + baseline min_samples=50", "'baseline + 0.05'"),
    ],
)
def test_a_number_before_baseline_says_the_form(text: str, limit: str) -> None:
    with pytest.raises(ConfigError, match="starts with 'baseline'") as info:
        Condition.parse(text)
    assert str(info.value).endswith(f"write {limit}")


def test_a_number_minus_baseline_is_not_rewritten() -> None:
    # 1 - baseline is not baseline - 1: the form is said, no rewrite offered.
    with pytest.raises(ConfigError, match="starts with 'baseline'") as info:
        Condition.parse("mean(accuracy) < 1 - baseline")
    assert "write" not in str(info.value)
    assert isinstance(info.value, ModelshipError)
