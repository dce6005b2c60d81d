"""OutcomeSource reads the prediction log a real server writes: one ``modelship serve``
answers ``predict`` and ``predict_proba``, so its log mixes numbers with ``[p0, p1]``
pairs, and each metric reads the rows of the method it needs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from starlette.testclient import TestClient

from modelship.checks import stats
from modelship.deploy.serve import PredictionLog, ServeConfig, create_app
from modelship.errors import ConfigError
from modelship.monitor import NoData, OutcomeSource

_RNG = np.random.default_rng(7)
_X = _RNG.normal(size=(40, 3))
_Y = (_X[:, 0] + 0.5 * _RNG.normal(size=40) > 0).astype(int)
_MODEL = LogisticRegression().fit(_X, _Y)


def _served_log(folder: Path) -> None:
    """Rows 0-19 asked with predict, rows 20-39 with predict_proba, of one server."""
    app = create_app(
        _MODEL,
        name="fraud",
        version="3",
        config=ServeConfig(prediction_log=str(folder), log_flush_seconds=3600.0),
    )
    with TestClient(app) as client:  # leaving the block shuts the server down: it flushes
        # The app loads the model in the background and answers 503 until then; a loaded
        # machine may take seconds (bounded at 60 s).
        for _ in range(600):
            if client.get("/ready").status_code == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"not ready after 60 s: {client.get('/ready').text}")
        for i, row in enumerate(_X.tolist()):
            method = "predict" if i < 20 else "predict_proba"
            answer = client.post(
                f"/predict?method={method}",
                json={"instances": [row]},
                headers={"x-request-id": f"q{i}"},
            )
            assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def joined(tmp_path_factory: pytest.TempPathFactory) -> OutcomeSource:
    folder = tmp_path_factory.mktemp("served") / "log"
    _served_log(folder)
    src = OutcomeSource(now=time.time() + 60)
    assert src.load_prediction_log(str(folder)) == 40
    src.record_outcomes([f"q{i}" for i in range(40)], _Y)
    return src


def test_a_log_mixing_predict_and_predict_proba_answers_loads(joined: OutcomeSource) -> None:
    assert joined.duplicate_predictions == 0


def test_label_metrics_read_the_predict_answers_of_a_mixed_log(joined: OutcomeSource) -> None:
    window = joined.evaluate("accuracy", version="3", start=0.0, end=time.time() + 1)
    assert window.n == 20
    assert window.value == pytest.approx(stats.accuracy(_Y[:20], _MODEL.predict(_X[:20])))


@pytest.mark.parametrize("metric", ["roc_auc", "log_loss", "brier"])
def test_probability_metrics_read_the_predict_proba_answers_of_a_mixed_log(
    joined: OutcomeSource, metric: str
) -> None:
    window = joined.evaluate(metric, version="3", start=0.0, end=time.time() + 1)
    assert window.n == 20
    positive = _MODEL.predict_proba(_X[20:])[:, 1]
    compute = {"roc_auc": stats.roc_auc, "log_loss": stats.log_loss, "brier": stats.brier}
    assert window.value == pytest.approx(compute[metric](_Y[20:], positive))


def test_loading_the_mixed_log_again_adds_nothing(tmp_path: Path) -> None:
    _served_log(tmp_path / "log")
    src = OutcomeSource(now=time.time() + 60)
    assert src.load_prediction_log(str(tmp_path / "log")) == 40
    assert src.load_prediction_log(str(tmp_path / "log")) == 0
    assert src.duplicate_predictions == 40


def _log(folder: Path, outputs: list[object]) -> str:
    log = PredictionLog(str(folder))
    for i, out in enumerate(outputs):
        log.add(
            f"r{i}",
            np.array([[float(i)]]),
            [out],
            latency_seconds=0.001,
            model="m",
            version="1",
            # as the server logs them: a pair is predict_proba's answer
            method="predict_proba" if isinstance(out, list) else "predict",
        )
    log.flush()
    return str(folder)


def test_a_version_with_only_predict_proba_answers_has_no_accuracy_and_says_why(
    tmp_path: Path,
) -> None:
    src = OutcomeSource(now=time.time() + 60)
    src.load_prediction_log(_log(tmp_path, [[0.3, 0.7], [0.8, 0.2]]))
    src.record_outcomes(["r0", "r1"], [1, 0])
    out = src.fetch("accuracy", slot="1", start=0.0, end=time.time() + 1)
    assert isinstance(out, NoData)
    assert "accuracy reads the predict answers" in out.reason
    assert src.evaluate("brier", version="1", start=0.0, end=time.time() + 1).n == 2


def test_a_predict_proba_pair_with_null_is_a_missing_prediction(tmp_path: Path) -> None:
    src = OutcomeSource(now=time.time() + 60)
    src.load_prediction_log(_log(tmp_path, [[0.3, 0.7], [float("nan"), float("nan")], 1]))
    src.record_outcomes(["r0", "r1", "r2"], [1, 0, 1])
    window = src.evaluate("brier", version="1", start=0.0, end=time.time() + 1)
    assert (window.n, window.dropped) == (1, 1)


def test_a_multi_class_predict_proba_answer_is_refused_naming_the_row(tmp_path: Path) -> None:
    url = _log(tmp_path, [1, [0.2, 0.3, 0.5]])
    with pytest.raises(ConfigError, match=r"'r1'.*not a predict_proba pair.*multi-class"):
        OutcomeSource(now=1.0).load_prediction_log(url)


def test_a_pair_that_is_not_two_probabilities_is_refused(tmp_path: Path) -> None:
    url = _log(tmp_path, [[0.4, 0.6], [3.5, -1.0]])
    with pytest.raises(ConfigError, match=r"'r1'.*not two class probabilities"):
        OutcomeSource(now=1.0).load_prediction_log(url)


def test_add_predictions_mixing_numbers_and_lists_raises_config_error() -> None:
    rows = [
        {"request_id": "a", "row": 0, "timestamp": 1.0, "version": "1", "output": 1},
        {"request_id": "b", "row": 0, "timestamp": 1.0, "version": "1", "output": [0.2, 0.8]},
    ]
    with pytest.raises(ConfigError, match=r"'b'.*not a number"):
        OutcomeSource(now=1.0).add_predictions(rows)


@pytest.mark.parametrize("answers", ["predict", "predict_proba"])
def test_prediction_drift_of_a_mixed_log_compares_the_answers_of_the_profiles_shape(
    tmp_path: Path, answers: str
) -> None:
    # It raised numpy's ValueError (numbers and lists in one array).
    from modelship.checks import DriftProfile
    from modelship.monitor import DriftSource, prediction_profile

    _served_log(tmp_path / "log")
    if answers == "predict":
        profile = prediction_profile(_MODEL.predict(_X))
    else:
        proba = _MODEL.predict_proba(_X)
        profile = DriftProfile.from_data({"class_0": proba[:, 0], "class_1": proba[:, 1]})
    src = DriftSource(slots={"canary": "3"}, now=time.time() + 60)
    src.set_profiles("3", predictions=profile)
    assert src.load_prediction_log(str(tmp_path / "log")) == 40
    result = src.check("predictions", version="3", start=0.0, end=time.time() + 1)
    assert result is not None
    expected = {"predict": ["prediction"], "predict_proba": ["class_0", "class_1"]}[answers]
    assert sorted(result.columns) == expected
    first = result.columns[expected[0]]
    assert first.details["n_current"] == 20  # the rows of the one method only
