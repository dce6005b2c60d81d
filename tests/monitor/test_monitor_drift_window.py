"""Feature and prediction drift per window against the profiles stored with a version."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.checks import DataDrift, DriftProfile, PredictionDrift
from modelship.errors import ConfigError
from modelship.monitor import (
    PREDICTION_PROFILE,
    DriftSource,
    NoData,
    Samples,
    prediction_profile,
)

RNG_SEED = 11


def _train() -> np.ndarray:
    return np.random.default_rng(RNG_SEED).normal(size=(3000, 2))


def _source(**kwargs: Any) -> DriftSource:
    train = _train()
    src = DriftSource(slots={"canary": "2"}, now=1000.0, **kwargs)
    src.set_profiles(
        "2",
        features=DriftProfile.from_data(train),
        predictions=prediction_profile(train.sum(axis=1)),
    )
    return src


def _log(
    x: np.ndarray, *, t0: float = 100.0, version: str = "2", prefix: str = "r"
) -> list[dict[str, Any]]:
    return [
        {
            "request_id": f"{prefix}{i}",
            "row": 0,
            "timestamp": t0 + i * 0.01,
            "version": version,
            "inputs": row.tolist(),
            "output": float(row.sum()),
        }
        for i, row in enumerate(x)
    ]


def _shifted(n: int, shift: float, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, size=(n, 2))


def test_prediction_drift_is_the_checks_prediction_drift_against_the_stored_profile() -> None:
    src = _source()
    x = _shifted(400, 0.5)
    src.add_predictions(_log(x))
    out = src.fetch("prediction_drift:prediction", slot="canary", start=0, end=1000, stat="mean")
    direct = PredictionDrift(
        reference=prediction_profile(_train().sum(axis=1)), current=x.sum(axis=1)
    ).run()
    assert isinstance(out, Samples)
    assert float(out.values[0]) == direct.columns["prediction"].statistic
    assert out.n == 400


def test_feature_drift_is_the_checks_share_of_drifted_columns() -> None:
    src = _source()
    x = _shifted(400, 0.5)
    src.add_predictions(_log(x))
    out = src.fetch("feature_drift", slot="canary", start=0, end=1000, stat="mean")
    direct = DataDrift(reference=DriftProfile.from_data(_train()), current=x).run()
    assert isinstance(out, Samples)
    assert float(out.values[0]) == direct.statistic == 1.0


def test_one_columns_statistic_is_read_by_its_name() -> None:
    src = _source()
    x = _shifted(400, 0.3)
    src.add_predictions(_log(x))
    out = src.fetch("feature_drift:1", slot="canary", start=0, end=1000)
    direct = DataDrift(reference=DriftProfile.from_data(_train()), current=x).run()
    assert isinstance(out, Samples)
    assert float(out.values[0]) == direct.columns["1"].statistic


def test_a_window_of_reference_rows_has_no_drifted_columns() -> None:
    src = _source()
    src.add_predictions(_log(_train()[:1000]))
    out = src.fetch("feature_drift", slot="canary", start=0, end=1000)
    assert isinstance(out, Samples)
    assert float(out.values[0]) == 0.0


def test_only_rows_logged_in_the_window_are_compared() -> None:
    src = _source()
    src.add_predictions(_log(_shifted(300, 3.0), t0=100.0, prefix="old"))  # t in [100, 103)
    src.add_predictions(_log(_shifted(200, 0.0), t0=500.0, prefix="new"))
    out = src.fetch("feature_drift", slot="canary", start=400, end=1000, stat="count")
    assert isinstance(out, Samples)
    assert float(out.values[0]) == 200.0


def test_a_row_logged_twice_is_kept_once() -> None:
    src = _source()
    rows = _log(_shifted(50, 0.0))
    assert src.add_predictions(rows) == 50
    assert src.add_predictions(rows) == 0


def test_a_policy_fails_a_canary_whose_features_drifted() -> None:
    src = _source()
    src.add_predictions(_log(_shifted(400, 1.0)))
    policy = ms.monitor.RollbackPolicy(conditions=["feature_drift > 0.5"])
    assert policy.evaluate(src, slot="canary", window=1000.0).verdict == "fail"


def test_a_window_below_min_samples_is_inconclusive() -> None:
    src = _source()
    src.add_predictions(_log(_shifted(20, 1.0)))
    policy = ms.monitor.RollbackPolicy(conditions=["feature_drift > 0.5 min_samples=100"])
    assert policy.evaluate(src, slot="canary", window=1000.0).verdict == "inconclusive"


def test_a_slot_without_logged_rows_is_no_data() -> None:
    out = _source().fetch("prediction_drift", slot="canary", start=0, end=1000)
    assert isinstance(out, NoData)
    assert "no logged rows" in out.reason


def test_a_version_without_profiles_is_no_data() -> None:
    out = _source().fetch("prediction_drift", slot="stable", start=0, end=1000)
    assert isinstance(out, NoData)
    assert "no profiles" in out.reason


def test_profiles_stored_at_registration_are_used_for_the_version() -> None:
    train = _train()
    reg = ms.open_registry("memory://drift-window-registry")
    mv = reg.register(
        model_name="fraud",
        model=b"model",
        serializer="bytes",
        profile=train,
        attachments={PREDICTION_PROFILE: prediction_profile(train.sum(axis=1))},
    )
    src = DriftSource(slots={"canary": mv.version}, now=1000.0)
    src.use_version(reg.get("fraud", mv.version))
    src.add_predictions(_log(_shifted(400, 1.0), version=mv.version))
    for metric in ("feature_drift", "prediction_drift"):
        out = src.fetch(metric, slot="canary", start=0, end=1000)
        assert isinstance(out, Samples)
        assert float(out.values[0]) == 1.0


def test_a_registered_version_without_any_profile_is_refused() -> None:
    reg = ms.open_registry("memory://drift-window-no-profile")
    reg.register(model_name="m", model=b"x", serializer="bytes")
    with pytest.raises(ConfigError, match="has no drift profile"):
        DriftSource(now=0.0).use_version(reg.get("m"))


def test_rows_logged_without_inputs_cannot_show_feature_drift() -> None:
    src = _source()
    rows = _log(_shifted(50, 0.0))
    for row in rows:
        del row["inputs"]
        row["input_fingerprint"] = "abc"
    src.add_predictions(rows)
    with pytest.raises(ConfigError, match="--log-inputs full"):
        src.fetch("feature_drift", slot="canary", start=0, end=1000)


def test_rows_with_another_number_of_inputs_than_the_profile_are_refused() -> None:
    src = _source()
    src.add_predictions(_log(np.zeros((10, 3))))
    with pytest.raises(ConfigError, match=r"\[3\] inputs"):
        src.fetch("feature_drift", slot="canary", start=0, end=1000)


def test_feature_names_must_be_columns_of_the_profile() -> None:
    with pytest.raises(ConfigError, match="not in the profile"):
        DriftSource(now=0.0).set_profiles(
            "1", features=DriftProfile.from_data(_train()), feature_names=["0", "age"]
        )


def test_an_unknown_metric_is_refused() -> None:
    with pytest.raises(ConfigError, match="feature_drift, prediction_drift"):
        _source().fetch("data_drift", slot="canary", start=0, end=1000)


def test_a_percentile_of_drift_is_refused() -> None:
    with pytest.raises(ConfigError, match="no interval"):
        _source().fetch("feature_drift", slot="canary", start=0, end=1000, stat="p95")


def test_a_one_dimensional_prediction_profile_is_required() -> None:
    with pytest.raises(ConfigError, match="1-D"):
        prediction_profile(np.zeros((5, 2)))


def test_labels_are_profiled_as_categories() -> None:
    profile = prediction_profile(np.array(["approve", "deny", "approve"]))
    assert list(profile.categorical) == ["prediction"]


def test_rows_are_read_from_the_servers_prediction_log() -> None:
    from modelship.deploy.serve import PredictionLog

    url = "memory://drift-window-log"
    log = PredictionLog(url)
    x = _shifted(100, 0.0)
    log.add("req", x, x.sum(axis=1), latency_seconds=0.001, model="m", version="2")
    log.flush()
    src = _source()
    assert src.load_prediction_log(url) == 100
    result = src.check("features", version="2", start=0, end=2e10)
    assert result is not None
    assert result.columns["0"].details["n_current"] == 100


def test_a_row_with_a_timestamp_that_is_not_finite_is_refused() -> None:
    rows = _log(_shifted(3, 0.0))
    rows[1]["timestamp"] = float("inf")
    src = _source()
    with pytest.raises(ConfigError, match="prediction 1: timestamp inf"):
        src.add_predictions(rows)
    assert src.add_predictions(rows[:1]) == 1  # nothing of the refused call was kept


def test_null_predictions_are_no_sample_of_the_models_output() -> None:
    # 195 of 200 logged predictions were null: n was 200 (dropped 0), so a policy with
    # min_samples=100 judged the prediction drift of 5 real values.
    rng = np.random.default_rng(0)
    train = rng.normal(size=(2000, 2))
    src = ms.monitor.DriftSource(now=100.0)
    src.set_profiles(
        "1",
        features=ms.checks.DriftProfile.from_data(train),
        predictions=ms.monitor.prediction_profile(train.sum(axis=1)),
    )
    rows = []
    for i in range(200):
        x = rng.normal(size=2)
        rows.append(
            {
                "request_id": str(i),
                "row": 0,
                "timestamp": 50.0,
                "version": "1",
                "inputs": x.tolist(),
                "output": float(x.sum()) if i < 5 else None,
            }
        )
    src.add_predictions(rows)
    out = src.fetch("prediction_drift", slot="1", start=0.0, end=100.0, stat="mean")
    assert isinstance(out, ms.monitor.Samples)
    assert (out.n, out.dropped) == (5, 195)
    policy = ms.monitor.RollbackPolicy(conditions=["prediction_drift > 0.5 min_samples=100"])
    assert policy.evaluate(src, slot="1", window=100.0).verdict == "inconclusive"
