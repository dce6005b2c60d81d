"""Review 42, second look at degradation: a ``predict_proba`` of one column is read, not
refused (a regression network's output, a sigmoid head's probability of label 1), and a
mistake in ``margins`` or ``lower_is_better`` is said before either model predicts. And at
parity's allow-list: a wildcard pattern equal to some variable's value (``--allow-env '*'``
beside ``NO_PROXY=*``) is a pattern, kept; a credential given for its name is still left
out. (Here, not in tests/parity: a file of this name there would clash with this one.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from modelship.checks import Degradation
from modelship.cli import main as modelship_main
from modelship.errors import CheckInputError, ConfigError
from modelship.parity import EnvironmentSnapshot

N = 400
RNG = np.random.default_rng(7)
X = RNG.normal(size=(N, 2))
Y_REG = X @ np.array([2.0, 1.0]) + RNG.normal(0, 0.1, N)
Y01 = (X[:, 0] + RNG.normal(0, 0.5, N) > 0).astype(int)


class OneColumnRegressor:
    """Like skorch's NeuralNetRegressor: predict_proba is the raw output, shape (n, 1)."""

    def __init__(self, w: npt.NDArray[np.float64]) -> None:
        self.w = w

    def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        return (np.asarray(x) @ self.w).reshape(-1, 1)

    def predict(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        return self.predict_proba(x)


class SigmoidHead:
    """A binary network whose one output column is P(label 1)."""

    def __init__(self, w: npt.NDArray[np.float64]) -> None:
        self.w = w

    def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        return (1 / (1 + np.exp(-(np.asarray(x) @ self.w)))).reshape(-1, 1)


class Recording:
    """A binary classifier that records every call to predict_proba."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        self.calls.append(len(x))
        p = 1 / (1 + np.exp(-np.asarray(x)[:, 0]))
        return np.column_stack([1 - p, p])


# --- 1. one column of predict_proba ---


@pytest.mark.parametrize(
    "settles", [{"task": "regression"}, {"metrics": ["rmse", "mae"]}], ids=["task", "metrics"]
)
def test_one_column_predict_proba_of_a_regressor_is_compared_as_a_regression(
    settles: dict[str, Any],
) -> None:
    result = Degradation(
        candidate=OneColumnRegressor(np.array([2.0, 1.0])),
        baseline=OneColumnRegressor(np.array([1.9, 1.0])),
        X=X,
        y=Y_REG,
        n_resamples=50,
        **settles,
    ).run()
    assert result.status.value == "pass"
    assert "rmse" in result.metrics


def test_one_column_predict_proba_of_a_sigmoid_head_is_the_probability_of_label_1() -> None:
    candidate, baseline = SigmoidHead(np.array([3.0, 0.0])), SigmoidHead(np.array([3.0, 0.1]))
    models = Degradation(candidate=candidate, baseline=baseline, X=X, y=Y01, n_resamples=50)
    scores = Degradation(
        candidate_scores=candidate.predict_proba(X),
        baseline_scores=baseline.predict_proba(X),
        y=Y01,
        n_resamples=50,
    )
    by_model, by_scores = models.run(), scores.run()
    assert sorted(by_model.metrics) == ["accuracy", "f1", "roc_auc"]
    assert by_model.metrics == by_scores.metrics


def test_single_class_message_needs_classes_of_one_label() -> None:
    class OneLabel(SigmoidHead):
        classes_ = np.array([0])

    check = Degradation(
        candidate=OneLabel(np.array([3.0, 0.0])),
        baseline=SigmoidHead(np.array([3.0, 0.0])),
        X=X,
        y=Y01,
        n_resamples=50,
    )
    with pytest.raises(CheckInputError, match=r"candidate was fitted on a single class"):
        check.run()


def test_three_columns_stay_refused_as_multi_class_with_task_regression() -> None:
    class Three:
        def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
            return np.full((len(x), 3), 1 / 3)

    check = Degradation(candidate=Three(), baseline=Three(), X=X, y=Y_REG, task="regression")
    with pytest.raises(CheckInputError, match=r"gives 3 columns.*multi-class"):
        check.run()


# --- 2. a setting's mistake is said before predicting ---


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ({"margins": {"rmse": 0.1}}, r"`margins` names metrics not compared: \['rmse'\]"),
        ({"margin": 2.0}, r"`margin` is 2 for roc_auc"),
    ],
    ids=["a-margins-name-not-compared", "a-margin-of-a-default-metric-too-large"],
)
def test_a_setting_s_mistake_is_refused_before_either_model_predicts(
    setting: dict[str, Any], said: str
) -> None:
    candidate, baseline = Recording(), Recording()
    check = Degradation(candidate=candidate, baseline=baseline, X=X, y=Y01, **setting)
    with pytest.raises(ConfigError, match=said):
        check.run()
    assert candidate.calls == []
    assert baseline.calls == []


def test_labels_other_than_0_1_with_a_classifier_are_still_refused_after_predicting() -> None:
    candidate, baseline = Recording(), Recording()
    check = Degradation(candidate=candidate, baseline=baseline, X=X, y=Y01 + 1)
    with pytest.raises(CheckInputError, match=r"candidate has predict_proba"):
        check.run()
    assert candidate.calls == [N]


# --- 4. parity: a wildcard pattern is no credential ---


@pytest.mark.parametrize("pattern", ["*", "?*", "[!_]*"])
def test_a_pattern_of_symbols_equal_to_a_variables_value_is_kept(
    monkeypatch: pytest.MonkeyPatch, pattern: str
) -> None:
    monkeypatch.setenv("NO_PROXY", pattern)
    snap = EnvironmentSnapshot.capture(env_allowlist=[pattern, "OMP_NUM_THREADS"])
    assert snap.env_allowlist == (pattern, "OMP_NUM_THREADS")


def test_a_lower_case_wildcard_equal_to_a_variables_value_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REVIEW42B_GLOB", "model_*")
    snap = EnvironmentSnapshot.capture(env_allowlist=["model_*"])
    assert snap.env_allowlist == ("model_*",)


def test_allow_env_star_beside_no_proxy_star_records_every_allowed_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("REVIEW42B_FOO", "1")
    out = tmp_path / "env.json"
    code = modelship_main(["parity", "capture", "-o", str(out), "--allow-env", "*"])
    assert code == 0, capsys.readouterr().err
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["env_allowlist"][0] == "*"
    assert document["env"]["REVIEW42B_FOO"] == "1"


def test_a_secret_variables_value_written_as_a_pattern_is_still_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REVIEW42B_DB_PASSWORD", "hunter*2x")
    snap = EnvironmentSnapshot.capture(env_allowlist=["hunter*2x", "OMP_NUM_THREADS"])
    assert snap.env_allowlist == ("OMP_NUM_THREADS",)


def test_a_lower_case_value_that_is_no_pattern_is_still_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    monkeypatch.setenv("REVIEW42B_CI_VALUE", token)  # not a secret's name: the case says it
    snap = EnvironmentSnapshot.capture(env_allowlist=[token, "OMP_NUM_THREADS"])
    assert snap.env_allowlist == ("OMP_NUM_THREADS",)
