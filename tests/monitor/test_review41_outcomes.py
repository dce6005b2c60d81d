"""OutcomeSource reads the answers of a KServe v2 request naming no outputs: the server
answers it with every method and logs it once (``method`` predict, predict's label as
``output``, each method's answer under ``outputs``). roc_auc, log_loss and brier read the
logged predict_proba answers (p1), not the labels (they did: a false rollback)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from starlette.testclient import TestClient

from modelship.deploy.serve import PredictionLog, ServeConfig, create_app, read_prediction_log
from modelship.errors import ConfigError
from modelship.monitor import OutcomeSource

_RNG = np.random.default_rng(41)
_X = _RNG.normal(size=(60, 3))
_Y = (_X @ [1.0, -1.0, 0.5] + _RNG.normal(size=60) > 0).astype(int)
_MODEL = LogisticRegression().fit(_X, _Y)
_N = len(_X)


def _serve_v2(folder: Path) -> None:
    """One v2 request per row, naming no outputs, to a real app that logs to ``folder``."""
    app = create_app(
        _MODEL,
        name="m",
        version="1",
        config=ServeConfig(prediction_log=str(folder), log_flush_seconds=3600.0),
    )
    with TestClient(app) as client:  # leaving the block shuts the server down: it flushes
        for _ in range(600):  # the model loads in the background (bounded at 60 s)
            if client.get("/ready").status_code == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"not ready after 60 s: {client.get('/ready').text}")
        for i, row in enumerate(_X.tolist()):
            tensor = {"name": "x", "shape": [1, 3], "datatype": "FP64", "data": row}
            answer = client.post(
                "/v2/models/m/infer", json={"inputs": [tensor]}, headers={"x-request-id": f"r{i}"}
            )
            assert answer.status_code == 200, answer.text
            assert [t["name"] for t in answer.json()["outputs"]] == ["predict", "predict_proba"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("v2") / "log"
    _serve_v2(folder)
    return str(folder)


@pytest.fixture
def joined(served: str) -> OutcomeSource:
    src = OutcomeSource(now=time.time() + 60)
    src.load_prediction_log(served)
    src.record_outcomes([f"r{i}" for i in range(_N)], _Y)
    return src


def _logged_p1(url: str) -> np.ndarray:
    rows = sorted(read_prediction_log(url), key=lambda r: int(r["request_id"][1:]))
    assert {r["method"] for r in rows} == {"predict"}  # the label is "output"
    assert all(r["output"] in (0, 1) for r in rows)
    return np.array([r["outputs"]["predict_proba"][1] for r in rows])


@pytest.mark.parametrize(
    ("metric", "reference"),
    [("roc_auc", roc_auc_score), ("log_loss", log_loss), ("brier", brier_score_loss)],
)
def test_probability_metrics_of_v2_rows_read_the_logged_predict_proba_answers(
    served: str, joined: OutcomeSource, metric: str, reference: Any
) -> None:
    p1 = _logged_p1(served)
    np.testing.assert_allclose(p1, _MODEL.predict_proba(_X)[:, 1])
    window = joined.evaluate(metric, version="1", start=0.0, end=time.time() + 1)
    assert window.n == _N
    assert window.value == pytest.approx(reference(_Y, p1), rel=1e-9)


def test_label_metrics_of_v2_rows_read_the_logged_predict_answers(joined: OutcomeSource) -> None:
    window = joined.evaluate("accuracy", version="1", start=0.0, end=time.time() + 1)
    assert window.n == _N
    assert window.value == pytest.approx(float(np.mean(_MODEL.predict(_X) == _Y)))


def test_a_v2_row_is_two_predictions_and_loading_it_again_adds_nothing(served: str) -> None:
    src = OutcomeSource(now=time.time() + 60)
    assert src.load_prediction_log(served) == 2 * _N
    assert src.load_prediction_log(served) == 0
    assert src.duplicate_predictions == 2 * _N


def _hand_log(folder: Path, outputs_by_method: list[dict[str, Any]]) -> str:
    """A log of one-row requests, each answered by several methods, as the server logs it."""
    log = PredictionLog(str(folder))
    for i, by_method in enumerate(outputs_by_method):
        log.add(
            f"r{i}",
            np.array([[float(i)]]),
            [by_method["predict"][0]],
            latency_seconds=0.001,
            model="m",
            version="1",
            method="predict",
            outputs_by_method=by_method,
        )
    log.flush()
    return str(folder)


def test_a_null_predict_proba_answer_of_a_v2_row_is_a_missing_prediction(tmp_path: Path) -> None:
    url = _hand_log(
        tmp_path,
        [
            {"predict": [1], "predict_proba": [[0.3, 0.7]]},
            {"predict": [0], "predict_proba": [[float("nan"), float("nan")]]},
            {"predict": [0], "predict_proba": [None]},
        ],
    )
    src = OutcomeSource(now=time.time() + 60)
    assert src.load_prediction_log(url) == 6
    src.record_outcomes(["r0", "r1", "r2"], [1, 0, 0])
    window = src.evaluate("brier", version="1", start=0.0, end=time.time() + 1)
    assert (window.n, window.dropped) == (1, 2)
    assert window.value == pytest.approx(0.3**2)


def test_a_multi_class_predict_proba_answer_of_a_v2_row_is_refused_naming_the_row(
    tmp_path: Path,
) -> None:
    url = _hand_log(
        tmp_path,
        [
            {"predict": [1], "predict_proba": [[0.3, 0.7]]},
            {"predict": [2], "predict_proba": [[0.2, 0.3, 0.5]]},
        ],
    )
    with pytest.raises(ConfigError, match=r"'r1'.*not a predict_proba pair.*multi-class"):
        OutcomeSource(now=1.0).load_prediction_log(url)


def test_a_scalar_predict_proba_answer_of_a_v2_row_is_refused_naming_the_row(
    tmp_path: Path,
) -> None:
    url = _hand_log(tmp_path, [{"predict": [1], "predict_proba": [0.7]}])
    with pytest.raises(ConfigError, match=r"'r0'.*predict_proba answer 0.7 is not a predict_proba"):
        OutcomeSource(now=1.0).load_prediction_log(url)
