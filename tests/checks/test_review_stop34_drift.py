"""Review stop 34: drift check and drift profiles.

float32 against float64 numbers, declared kinds kept by a profile, prediction profiles of
nullable classes, exclude= and left-out columns with a profile, missing rates at exact
thresholds, unseen categories bounded in a report, and reasons whose printed comparisons
are true.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.checks import DataDrift, DriftProfile, PredictionDrift, Status
from modelship.checks._drift import _Partial, _Rule, _verdict
from modelship.checks._tabular import ColumnKind
from modelship.errors import ColumnMismatch, ConfigError

pd = pytest.importorskip("pandas")


def _decimals(seed: int, n: int = 20_000) -> Any:
    """Numbers with one decimal, 0.1 ... 0.9: what a CSV or a Parquet file holds."""
    rng = np.random.default_rng(seed)
    return np.round(rng.integers(1, 10, n) / 10, 1)


# --- 1. float32 against float64 ----------------------------------------------------------


@pytest.mark.parametrize("method", ["psi", "js", "ks", "wasserstein", None])
@pytest.mark.parametrize(
    ("ref_type", "cur_type"),
    [
        (np.float32, np.float64),
        (np.float64, np.float32),
        (np.float16, np.float64),
        (np.float16, np.float32),
        (np.float32, np.int64),
    ],
)
def test_the_same_numbers_as_float32_and_float64_do_not_drift(
    method: str | None, ref_type: Any, cur_type: Any
) -> None:
    # Each float32 value sat ~1e-9 from its float64 twin, on the other side of every
    # reference-quantile bin edge and KS step: PSI 2.38 instead of 0.0005.
    ref, cur = _decimals(0), _decimals(1)
    if cur_type is np.int64 or ref_type is np.int64:
        # Whole numbers for the int side, past 2**24 where float32 rounds every odd one:
        # below it float32 holds them exactly, and the case could not fail.
        offset = 2**24 + 1
        ref, cur = np.round(ref * 10) + offset, np.round(cur * 10) + offset
    same = DataDrift(reference={"x": ref}, current={"x": cur}, method=method).run()
    if cur_type is np.int64 or ref_type is np.int64:  # float32 cannot tell odd from even
        narrow = {
            "reference": {"x": ref.astype(np.float32)},
            "current": {"x": cur.astype(np.float32)},
        }
        same = DataDrift(**narrow, method=method).run()  # type: ignore[arg-type]
    mixed = DataDrift(
        reference={"x": ref.astype(ref_type)}, current={"x": cur.astype(cur_type)}, method=method
    ).run()
    assert mixed.columns["x"].statistic == pytest.approx(same.columns["x"].statistic, rel=1e-3)
    assert mixed.columns["x"].drifted is False
    assert mixed.status is Status.PASS


@pytest.mark.parametrize(
    ("ref_type", "cur_type"), [(np.float32, np.float64), (np.float64, np.float32)]
)
@pytest.mark.parametrize("method", ["psi", "js", "ks"])
def test_a_profile_compares_float32_and_float64_at_float32(
    ref_type: Any, cur_type: Any, method: str
) -> None:
    ref, cur = _decimals(0), _decimals(1)
    exact = DriftProfile.from_json(DriftProfile.from_data({"x": ref}).to_json())
    expected = DataDrift(reference=exact, current={"x": cur}, method=method).run()
    profile = DriftProfile.from_json(DriftProfile.from_data({"x": ref.astype(ref_type)}).to_json())
    result = DataDrift(reference=profile, current={"x": cur.astype(cur_type)}, method=method).run()
    assert result.columns["x"].statistic == pytest.approx(expected.columns["x"].statistic, rel=1e-3)
    assert result.status is Status.PASS


def test_float32_against_float64_still_sees_a_real_shift() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(size=5000).astype(np.float32)
    result = DataDrift(reference={"x": ref}, current={"x": rng.normal(0.5, 1, 5000)}).run()
    assert result.columns["x"].drifted is True


def test_rounding_to_float32_keeps_values_beyond_its_range_finite() -> None:
    from modelship.checks.stats._columns import sorted_finite_counts

    values = np.array([1e300, -1e300, 0.1, np.nan, np.inf])
    finite, n_nan, n_inf = sorted_finite_counts(values, precision=np.dtype(np.float32))
    assert finite.tolist() == [-1e300, float(np.float32(0.1)), 1e300]
    assert (n_nan, n_inf) == (1, 1)


def test_float32_against_float64_from_the_command_line(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from modelship.checks._cli import add_commands

    pq.write_table(pa.table({"x": pa.array(_decimals(0).astype(np.float32))}), tmp_path / "r.pq")
    pd.DataFrame({"x": _decimals(1)}).to_csv(tmp_path / "c.csv", index=False)

    def cli(*argv: str) -> int:
        parser = argparse.ArgumentParser(prog="modelship")
        add_commands(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(list(argv))
        code: int = args.func(args)
        return code

    profile, current = str(tmp_path / "p.json"), str(tmp_path / "c.csv")
    assert cli("check", "profile", "--reference", str(tmp_path / "r.pq"), "--output", profile) == 0
    assert cli("check", "drift", "--profile", profile, "--current", current, "--method", "psi") == 0


# --- 2. a profile keeps the kinds declared -----------------------------------------------


def _zips(seed: int) -> Any:
    rng = np.random.default_rng(seed)
    return {"zip": np.array([f"{z:05d}" for z in rng.choice(99_999, 2_000, replace=False)])}


def test_a_profile_remembers_a_declared_kind_and_tests_the_column() -> None:
    kinds = {"zip": "categorical"}
    ref, cur = _zips(0), _zips(1)
    raw = DataDrift(reference=ref, current=cur, kinds=kinds).run()
    profile = DriftProfile.from_json(DriftProfile.from_data(ref, kinds=kinds).to_json())
    assert profile.declared_kinds == {"zip": ColumnKind.CATEGORICAL}
    result = DataDrift(reference=profile, current=cur).run()
    assert result.status is raw.status is Status.FAIL
    assert result.columns["zip"].drifted is True
    assert "identifier" not in result.columns["zip"].reason
    # kinds= that agrees with the profile is accepted, as the error message asked
    again = DataDrift(reference=profile, current=cur, kinds=kinds).run()
    assert again.status is Status.FAIL


def test_undeclared_identifier_columns_still_warn_against_a_profile() -> None:
    ref, cur = _zips(0), _zips(1)
    result = DataDrift(reference=DriftProfile.from_data(ref), current=cur).run()
    assert "looks like an identifier" in result.columns["zip"].reason


def test_kinds_contradicting_a_profile_or_naming_a_left_out_column_are_refused() -> None:
    profile = DriftProfile.from_data({"x": np.arange(10.0), "id": np.arange(10.0)}, exclude=["id"])
    with pytest.raises(ConfigError, match="fixed the kinds"):
        DataDrift(reference=profile, current={"x": np.arange(10.0)}, kinds={"id": "numeric"}).run()


def test_profiles_without_declared_kinds_read_and_write_as_before() -> None:
    profile = DriftProfile.from_data({"x": [1.0, 2.0, 3.0]})
    assert "declared_kinds" not in profile.to_dict()
    document = DriftProfile.from_data({"x": [1.0, 2.0, 3.0]}, kinds={"x": "numeric"}).to_dict()
    assert document["declared_kinds"] == {"x": "numeric"}
    del document["declared_kinds"]  # as an older modelship wrote it
    assert DriftProfile.from_dict(document) == profile


@pytest.mark.parametrize("declared", [{"x": "categorical"}, {"y": "numeric"}, ["x"], {"x": "?"}])
def test_damaged_declared_kinds_raise_config_error(declared: Any) -> None:
    document = DriftProfile.from_data({"x": [1.0, 2.0, 3.0]}).to_dict()
    document["declared_kinds"] = declared
    with pytest.raises(ConfigError, match="malformed drift profile"):
        DriftProfile.from_json(json.dumps(document))


# --- 3. prediction profiles --------------------------------------------------------------


def _nullable_classes(kind: str) -> Any:
    rng = np.random.default_rng(0)
    classes = [None if i % 100 == 0 else int(v) for i, v in enumerate(rng.integers(0, 100, 5000))]
    if kind == "polars":
        pl = pytest.importorskip("polars")
        return pl.Series("p", classes, dtype=pl.Int64)
    if kind == "arrow":
        pa = pytest.importorskip("pyarrow")
        return pa.array(classes, pa.int64())
    return pd.Series(classes, dtype="Int64")


@pytest.mark.parametrize("library", ["polars", "arrow", "pandas"])
def test_a_prediction_profile_of_nullable_classes_compares_classes(library: str) -> None:
    reference = _nullable_classes(library)
    current = 2 * np.random.default_rng(1).integers(0, 50, 5000)  # only even classes now
    raw = PredictionDrift(reference=reference, current=current).run()
    profile = DriftProfile.from_json(ms.monitor.prediction_profile(reference).to_json())
    assert profile.schema["prediction"].kind is ColumnKind.CATEGORICAL
    assert profile.declared_kinds == {}  # inferred, as PredictionDrift infers it: not declared
    result = PredictionDrift(reference=profile, current=current).run()
    assert result.columns["prediction"].kind == raw.columns["prediction"].kind == "categorical"
    assert result.columns["prediction"].method == "chi2"
    assert result.status is raw.status is Status.FAIL


def test_kind_contradicting_a_prediction_profile_is_a_config_error() -> None:
    reference = _nullable_classes("pandas")
    profile = ms.monitor.prediction_profile(reference)
    with pytest.raises(ConfigError, match="contradicts the profile"):
        PredictionDrift(reference=profile, current=np.arange(100.0), kind="numeric").run()
    scores = ms.monitor.prediction_profile(np.random.default_rng(0).random(500))
    with pytest.raises(ConfigError, match="prediction_profile"):
        PredictionDrift(reference=scores, current=np.arange(100), kind="categorical").run()
    # The recorded kind given again is fine, and declares it.
    declared = ms.monitor.prediction_profile(reference, kind="categorical")
    assert declared.declared_kinds == {"prediction": ColumnKind.CATEGORICAL}
    result = PredictionDrift(reference=declared, current=np.arange(100), kind="categorical").run()
    assert result.columns["prediction"].kind == "categorical"


def test_predictions_profiled_by_drift_profile_from_data_can_be_compared() -> None:
    rng = np.random.default_rng(0)
    one = PredictionDrift(
        reference=DriftProfile.from_data(rng.random(2000)), current=rng.random(2000)
    ).run()
    assert one.status is Status.PASS
    two = PredictionDrift(
        reference=DriftProfile.from_data(rng.dirichlet([1, 1], 2000)),
        current=rng.dirichlet([1, 1], 2000),
    ).run()
    assert two.status is Status.PASS
    assert set(two.columns) == {"0", "1"}


def test_unnamed_predictions_of_another_width_than_the_profile_say_what_to_do() -> None:
    rng = np.random.default_rng(0)
    profile = DriftProfile.from_data(rng.dirichlet([1, 1, 1], 500))
    with pytest.raises(ColumnMismatch, match=r"ms\.monitor\.prediction_profile"):
        PredictionDrift(reference=profile, current=rng.random(500)).run()


# --- 4. exclude= and left-out columns ----------------------------------------------------


def test_exclude_applies_to_a_profile_as_to_the_raw_reference() -> None:
    rng = np.random.default_rng(0)
    ref = {"x": rng.normal(size=300), "y": rng.normal(size=300)}
    cur = {"x": rng.normal(size=300), "y": rng.normal(size=300)}
    raw = DataDrift(reference=ref, current=cur, exclude=["y"]).run()
    profiled = DataDrift(reference=DriftProfile.from_data(ref), current=cur, exclude=["y"]).run()
    assert set(raw.columns) == set(profiled.columns) == {"x"}
    assert profiled.status is raw.status is Status.PASS
    # and a current batch without the excluded column
    only_x = DataDrift(
        reference=DriftProfile.from_data(ref), current={"x": cur["x"]}, exclude=["y"]
    ).run()
    assert set(only_x.columns) == {"x"}


def test_a_column_drift_leaves_out_is_not_required_with_a_raw_reference() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(
        {"x": rng.normal(size=500), "when": pd.date_range("2024", periods=500, freq="h")}
    )
    cur = pd.DataFrame({"x": rng.normal(size=500)})
    raw = DataDrift(reference=ref, current=cur).run()
    profiled = DataDrift(reference=DriftProfile.from_data(ref), current=cur).run()
    assert raw.reason == profiled.reason == "no drift in 1 column; 1 not tested: 'when'"
    with pytest.raises(ColumnMismatch, match="lacks column"):
        DataDrift(reference=ref, current=pd.DataFrame({"when": ref["when"]})).run()


# --- 5. missing rates at exact thresholds ------------------------------------------------


def _with_missing(missing: int, seed: int, n: int = 100_000) -> Any:
    x = np.random.default_rng(seed).normal(size=n)
    x[:missing] = np.nan
    return {"x": x}


@pytest.mark.parametrize(("before", "after"), [(0, 1000), (2000, 3000), (6000, 7000)])
def test_a_missing_rate_up_exactly_one_point_warns_wherever_it_starts(
    before: int, after: int
) -> None:
    column = (
        DataDrift(reference=_with_missing(before, 0), current=_with_missing(after, 1))
        .run()
        .columns["x"]
    )
    assert column.status is Status.WARN
    assert "missing rate" in column.reason


@pytest.mark.parametrize(("before", "after"), [(30_000, 55_000), (45_000, 70_000)])
def test_a_missing_rate_up_exactly_half_the_limit_above_it_fails(before: int, after: int) -> None:
    result = DataDrift(reference=_with_missing(before, 0), current=_with_missing(after, 1)).run()
    assert result.status is Status.FAIL
    assert result.columns["x"].details.get("max_missing_rate_exceeded") is True


def test_a_missing_rate_just_under_a_threshold_does_not_warn() -> None:
    column = (
        DataDrift(reference=_with_missing(2000, 0), current=_with_missing(2999, 1))
        .run()
        .columns["x"]
    )
    assert "missing rate" not in column.reason


# --- 6. unseen categories ----------------------------------------------------------------


def test_unseen_categories_are_capped_with_their_count_and_share() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    ref = {"plan": rng.choice(["basic", "pro", "team"], n)}
    free = np.array([f"free-{i}" for i in range(n)], dtype=object)
    free[:100] = "often"  # the most frequent unseen label comes first
    free[100:150] = "basic"
    result = DataDrift(reference=ref, current={"plan": free}).run()
    details = result.columns["plan"].details
    listed = details["unseen_categories"]
    assert len(listed) == 20
    assert next(iter(listed.items())) == ("often", 100)
    assert details["n_unseen_categories"] == n - 150 + 1
    assert details["unseen_count"] == n - 50
    assert details["unseen_share"] == pytest.approx((n - 50) / n)
    assert f"and {n - 150 + 1 - 5} more" in result.columns["plan"].reason
    assert (
        len(ms.checks.run_suite([DataDrift(reference=ref, current={"plan": free})]).to_json())
        < 20_000
    )


# --- 7. printed comparisons are true -----------------------------------------------------


def _test_rule(effect_threshold: float | None) -> _Rule:
    return _Rule("cvm", "wasserstein", 0.05, effect_threshold, None)


def test_a_p_value_just_below_alpha_is_not_printed_as_alpha() -> None:
    partial = _Partial(
        name="x", kind=ColumnKind.NUMERIC, rule=_test_rule(None), statistic=0.46,
        raw_p=0.049742, effect_size=0.186,
    )  # fmt: skip
    drifted, _, reason = _verdict(partial, 0.049742)
    assert drifted is True
    assert "p=0.0497 < 0.05" in reason
    # p exactly at alpha still reads as before
    assert "p=0.05 >= 0.05" in _verdict(partial, 0.05)[2]


def test_an_effect_size_just_below_its_threshold_is_not_printed_as_the_threshold() -> None:
    partial = _Partial(
        name="x", kind=ColumnKind.NUMERIC, rule=_test_rule(0.1), statistic=0.46,
        raw_p=1e-9, effect_size=0.09996,
    )  # fmt: skip
    _, _, reason = _verdict(partial, 1e-9)
    assert "Wasserstein 0.09996 < 0.1" in reason


def test_a_distance_just_below_its_threshold_is_not_printed_as_the_threshold() -> None:
    rule = _Rule("psi", "psi", 0.25, 0.25, 0.1)
    partial = _Partial(
        name="x", kind=ColumnKind.NUMERIC, rule=rule, statistic=0.24996, effect_size=0.24996
    )
    _, status, reason = _verdict(partial, None)
    assert status is Status.WARN
    assert "PSI 0.24996 >= 0.1, below the drift threshold 0.25" in reason
    from modelship.checks._drift import _compared

    assert _compared(0.0999999, [0.1]) == ("0.0999999", ["0.1"])


def test_the_drifted_share_is_not_printed_as_the_drift_share() -> None:
    from modelship.checks._drift import _percents

    assert _percents(199 / 400, 0.5) == ("49.8%", "50.0%")
    assert _percents(0.5, 0.5) == ("50%", "50%")
