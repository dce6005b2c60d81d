"""Preprocessing parity: a stable fingerprint, and behaviour replayed on a canary sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _estimators import FakePipeline, FakeScaler, clip_outliers
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelship.errors import ConfigError
from modelship.parity import (
    BehaviourRecord,
    PreprocessingFingerprint,
    SnapshotError,
    compare_behaviour,
    fingerprint_preprocessing,
    record_behaviour,
)

HERE = Path(__file__).parent


def data(seed: int = 0, rows: int = 200) -> Any:
    return np.random.default_rng(seed).normal(loc=5.0, scale=2.0, size=(rows, 3))


# --- fingerprint ------------------------------------------------------------------------


def test_the_same_fit_has_the_same_fingerprint() -> None:
    a = fingerprint_preprocessing(FakeScaler().fit(data()))
    b = fingerprint_preprocessing(FakeScaler().fit(data()))
    assert a == b
    assert a.digest.startswith("sha256:")


def test_the_fingerprint_is_the_same_in_another_process() -> None:
    code = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1]);"
        "from _estimators import FakeScaler;"
        "from modelship.parity import fingerprint_preprocessing;"
        "x = np.random.default_rng(0).normal(loc=5.0, scale=2.0, size=(200, 3));"
        "print(fingerprint_preprocessing(FakeScaler().fit(x)).digest)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(HERE)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == fingerprint_preprocessing(FakeScaler().fit(data())).digest


def test_a_fit_on_other_data_differs_in_its_fitted_attributes() -> None:
    a = fingerprint_preprocessing(FakeScaler().fit(data(0)))
    b = fingerprint_preprocessing(FakeScaler().fit(data(1)))
    assert a.digest != b.digest
    assert a.diff(b) == ("fitted.mean_", "fitted.scale_")


def test_other_parameters_differ_in_their_params() -> None:
    a = fingerprint_preprocessing(FakeScaler(with_std=True))
    b = fingerprint_preprocessing(FakeScaler(with_std=False))
    assert a.diff(b) == ("params.with_std",)


def test_a_nested_pipeline_fingerprints_its_steps() -> None:
    def pipeline(seed: int) -> FakePipeline:
        return FakePipeline([("scale", FakeScaler().fit(data(seed))), ("clip", clip_outliers)])

    assert fingerprint_preprocessing(pipeline(0)) == fingerprint_preprocessing(pipeline(0))
    assert fingerprint_preprocessing(pipeline(0)).diff(fingerprint_preprocessing(pipeline(1))) == (
        "params.steps",
    )


def test_a_real_scikit_learn_scaler_is_fingerprinted_by_params_and_fitted_state() -> None:
    from sklearn.preprocessing import StandardScaler

    a = fingerprint_preprocessing(StandardScaler().fit(data(0)))
    assert a == fingerprint_preprocessing(StandardScaler().fit(data(0)))
    assert "fitted.mean_" in a.diff(fingerprint_preprocessing(StandardScaler().fit(data(1))))
    assert "params.with_mean" in a.parts


def test_a_configuration_mapping_is_fingerprinted_key_by_key() -> None:
    a = fingerprint_preprocessing({"bins": [0, 10, 100], "fill": float("nan"), "log": True})
    b = fingerprint_preprocessing({"log": True, "fill": float("nan"), "bins": [0, 10, 1000]})
    assert a.diff(b) == ("config.bins",)


def test_ints_floats_and_strings_never_collide() -> None:
    digests = {fingerprint_preprocessing({"v": v}).digest for v in (1, 1.0, "1", True, None)}
    assert len(digests) == 5


def test_an_object_with_no_stable_description_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot fingerprint"):
        fingerprint_preprocessing({"handle": object()})


def test_an_object_that_contains_itself_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ConfigError, match="contains itself"):
        fingerprint_preprocessing({"loop": loop})


def test_a_fingerprint_round_trips_and_detects_tampering() -> None:
    fp = fingerprint_preprocessing(FakeScaler().fit(data()))
    assert PreprocessingFingerprint.from_json(fp.to_json()) == fp
    document = json.loads(fp.to_json())
    document["parts"]["fitted.mean_"] = "sha256:" + "0" * 64
    with pytest.raises(SnapshotError, match="altered"):
        PreprocessingFingerprint.from_json(json.dumps(document))


# --- behaviour --------------------------------------------------------------------------


def test_the_same_preprocessing_replays_without_findings() -> None:
    scaler = FakeScaler().fit(data())
    record = record_behaviour(scaler, data(5, rows=50))
    assert compare_behaviour(record, FakeScaler().fit(data())) == ()


def test_a_scaler_fitted_on_other_data_is_caught_column_by_column() -> None:
    record = record_behaviour(FakeScaler().fit(data(0)), data(5, rows=50))
    findings = compare_behaviour(record, FakeScaler().fit(data(1)))
    assert [f.subject for f in findings] == ["0", "1", "2"]
    first = findings[0]
    assert first.check == "preprocessing_behaviour"
    assert first.severity.value == "blocking"
    assert "first rows 0, 1, 2, 3, 4" in first.message
    assert len(first.train) == len(first.prod) == 5


def test_only_the_rows_and_columns_that_differ_are_named() -> None:
    x = data(0, rows=20)
    record = record_behaviour(lambda a: a * 2.0, x)

    def off_in_one_cell(a: Any) -> Any:
        out = a * 2.0
        out[7, 1] += 0.25
        return out

    [finding] = compare_behaviour(record, off_in_one_cell)
    assert finding.subject == "1"
    assert "1 of 20 rows" in finding.message
    assert "first rows 7" in finding.message
    assert "largest difference 0.25 at row 7" in finding.message


def test_differences_within_tolerance_pass() -> None:
    x = data(0, rows=20)
    record = record_behaviour(lambda a: a * 2.0, x)
    assert compare_behaviour(record, lambda a: a * 2.0 * (1 + 1e-9)) == ()
    assert compare_behaviour(record, lambda a: a * 2.0 * (1 + 1e-4)) != ()
    assert compare_behaviour(record, lambda a: a * 2.0 * (1 + 1e-4), rtol=1e-3) == ()


def test_nan_matches_nan_and_nothing_else() -> None:
    x = np.array([[1.0], [np.nan], [3.0]])
    record = record_behaviour(lambda a: a, x)
    assert compare_behaviour(record, lambda a: a) == ()
    assert compare_behaviour(record, np.nan_to_num) != ()


def test_a_preprocessing_that_raises_is_a_finding() -> None:
    record = record_behaviour(lambda a: a, data(rows=5))

    def broken(a: Any) -> Any:
        raise KeyError("column 'age' not found")

    [finding] = compare_behaviour(record, broken)
    assert "raised KeyError" in finding.message


def test_other_output_columns_are_one_finding() -> None:
    record = record_behaviour(lambda a: a, data(rows=5))
    [finding] = compare_behaviour(record, lambda a: a[:, :2])
    assert (finding.train, finding.prod) == (["0", "1", "2"], ["0", "1"])


def test_text_outputs_are_compared_exactly() -> None:
    table = {"plan": np.array(["basic", "pro", None], dtype=object)}
    record = record_behaviour(lambda t: {"plan": np.char.upper(t["plan"].astype(str))}, table)
    [finding] = compare_behaviour(record, lambda t: {"plan": t["plan"].astype(str)})
    assert "3 of 3 rows" in finding.message


def test_a_data_frame_canary_is_replayed_as_a_data_frame() -> None:
    frame = pd.DataFrame({"age": [30.0, 40.0, 50.0], "plan": ["a", "b", "a"]})

    def features(df: pd.DataFrame) -> pd.DataFrame:
        assert isinstance(df, pd.DataFrame)
        return pd.DataFrame({"age_z": (df["age"] - 40.0) / 10.0, "pro": df["plan"] == "b"})

    record = BehaviourRecord.from_json(record_behaviour(features, frame).to_json())
    assert record.kind == "pandas"
    assert compare_behaviour(record, features) == ()


def test_the_canary_keeps_at_most_max_rows() -> None:
    assert record_behaviour(lambda a: a, data(rows=50), max_rows=10).rows == 10


def test_a_canary_of_objects_is_refused() -> None:
    with pytest.raises(ConfigError, match="holds a"):
        record_behaviour(lambda t: t, {"x": np.array([object()], dtype=object)})


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
        elements=st.floats(allow_nan=True, allow_infinity=True),
    )
)
def test_a_record_round_trips_through_json_bit_for_bit(x: Any) -> None:
    record = record_behaviour(lambda a: a, x)
    again = BehaviourRecord.from_json(record.to_json())
    assert again == record
    np.testing.assert_array_equal(again.replay_inputs(), x)
    assert compare_behaviour(again, lambda a: a, rtol=0, atol=0) == ()


@pytest.mark.parametrize(
    "text",
    [
        '{"schema_version": 1, "kind": "array", "inputs": [], "outputs": {}}',
        '{"schema_version": 1, "kind": "array", "inputs": {"0": {"dtype": "<f8"}}, "outputs": {}}',
        '{"schema_version": 1, "kind": "array", "inputs": {"0": {"dtype": "<f8", '
        '"values": ["x"]}}, "outputs": {}}',
        '{"schema_version": 1, "kind": "array", "inputs": {"0": {"dtype": "<f8", '
        '"values": [1.0]}, "1": {"dtype": "<f8", "values": []}}, "outputs": {}}',
    ],
    ids=["inputs-list", "no-values", "not-floats", "ragged"],
)
def test_a_malformed_record_raises_snapshot_error(text: str) -> None:
    with pytest.raises(SnapshotError):
        BehaviourRecord.from_json(text)
