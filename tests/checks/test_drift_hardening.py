"""Drift and schema checks that a damaged profile or hostile data cannot talk into a pass."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelship.checks import DataDrift, DriftProfile, Schema, Status
from modelship.checks._drift import _Partial, _Rule, _verdict
from modelship.checks._tabular import ColumnKind
from modelship.errors import ConfigError


def normal(n: int, loc: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, 1.0, n)


def profile_document() -> dict[str, Any]:
    reference = {"x": normal(5000), "plan": np.array(["a", "b"] * 2500)}
    document: dict[str, Any] = json.loads(DriftProfile.from_data(reference).to_json())
    return document


# --- item 9.5: a profile is validated field against field when read ----------------------


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("numeric", "x", "std"), -1.0, "'std' must be a finite number >= 0"),
        (("numeric", "x", "std"), 1e300, "'std' 1e\\+300 is impossible"),
        (("numeric", "x", "std"), 1e-6, "'std' 1e-06 is impossible"),
        (("numeric", "x", "n_missing"), -1, "'n_missing' must be a non-negative integer"),
        (("numeric", "x", "n_inf"), 2.5, "'n_inf' must be a non-negative integer"),
        (("numeric", "x", "n_rows"), 0, "'n_rows' must be positive"),
        (("numeric", "x", "n_rows"), "5000", "'n_rows' must be a non-negative integer"),
        (("categorical", "plan", "n_missing"), 7, "must equal n_rows"),
        (("categorical", "plan", "counts", "a"), -3, "'a' must be a non-negative integer"),
        (("summary_size",), 1, "'summary_size' must be at least 2"),
    ],
)
def test_a_damaged_profile_field_raises_config_error_on_read(
    path: tuple[str, ...], value: object, message: str
) -> None:
    document = profile_document()
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        DriftProfile.from_json(json.dumps(document))


def test_an_infinite_std_raises_config_error_on_read() -> None:
    document = profile_document()
    document["numeric"]["x"]["std"] = float("inf")
    with pytest.raises(ConfigError, match="'std' must be a finite number"):
        DriftProfile.from_dict(document)


def test_a_numeric_column_without_its_summary_key_raises_config_error() -> None:
    document = profile_document()
    del document["numeric"]["x"]["summary"]
    with pytest.raises(ConfigError, match="has no 'summary'"):
        DriftProfile.from_json(json.dumps(document))


def test_a_summary_that_disagrees_with_the_counts_raises_config_error() -> None:
    document = profile_document()
    document["numeric"]["x"]["n_missing"] = 10
    with pytest.raises(ConfigError, match="the summary counts 5000 values"):
        DriftProfile.from_json(json.dumps(document))


def test_a_schema_kind_that_contradicts_the_profile_raises_config_error() -> None:
    document = profile_document()
    for column in document["schema"]["columns"]:
        if column["name"] == "x":
            # A categorical schema column has no range: without one, the schema itself
            # reads, and the profile's own kind check is what refuses it.
            column.update(kind="categorical", minimum=None, maximum=None)
    with pytest.raises(ConfigError, match="profiled as numeric but its schema says categorical"):
        DriftProfile.from_json(json.dumps(document))


def test_a_forged_huge_std_cannot_hide_a_three_sd_shift() -> None:
    document = profile_document()
    document["numeric"]["x"]["std"] = 100.0
    with pytest.raises(ConfigError):
        DataDrift(reference=DriftProfile.from_dict(document), current={"x": normal(5000, 3.0)})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=300),
    st.integers(2, 50),
)
def test_every_profile_made_from_data_reads_back(values: list[float], size: int) -> None:
    profile = DriftProfile.from_data({"x": np.asarray(values)}, summary_size=size)
    assert DriftProfile.from_json(profile.to_json()) == profile


def test_a_negative_effect_size_is_an_error_not_small() -> None:
    from modelship.checks._drift import _compute_column
    from modelship.checks._sides import NumericSide
    from modelship.checks.stats import QuantileSummary

    values = np.sort(normal(2000))
    reference = NumericSide(
        n_rows=2000,
        n_missing=0,
        n_inf=0,
        summary=QuantileSummary.from_sorted(values, size=101),
        std=-1.0,
    )
    current = NumericSide(n_rows=2000, n_missing=0, n_inf=0, values=np.sort(normal(2000, 3.0)))
    rule = _Rule("ks", "wasserstein", 0.05, 0.1, None)
    partial = _compute_column("x", reference, current, rule, bins=10, eps=1e-4, min_values=5)
    assert partial.error is not None
    assert partial.error.startswith("wasserstein is negative")


# --- item 9.18: the effect-size gate's boundary, and corrected p-values ------------------


def _partial(effect: float) -> _Partial:
    rule = _Rule("ks", "wasserstein", 0.05, 0.1, None)
    return _Partial(
        name="x", kind=ColumnKind.NUMERIC, rule=rule, statistic=0.3, raw_p=1e-9, effect_size=effect
    )


def test_an_effect_size_exactly_at_its_threshold_is_drift() -> None:
    drifted, status, reason = _verdict(_partial(0.1), 1e-9)
    assert (drifted, status) == (True, Status.FAIL)
    assert "Wasserstein 0.1 >= 0.1" in reason


def test_an_effect_size_just_below_its_threshold_is_not_drift() -> None:
    drifted, status, _ = _verdict(_partial(np.nextafter(0.1, 0.0)), 1e-9)
    assert (drifted, status) == (False, Status.PASS)


def test_a_p_value_exactly_at_alpha_is_not_significant() -> None:
    drifted, status, reason = _verdict(_partial(0.5), 0.05)
    assert (drifted, status) == (False, Status.PASS)
    assert reason == "no drift: KS p=0.05 >= 0.05 (Wasserstein 0.5 >= 0.1)"


def test_the_reason_shows_the_test_and_the_effect_size_with_their_comparisons() -> None:
    assert _verdict(_partial(0.5), 0.001)[2] == (
        "drifted: KS p=0.001 < 0.05 and Wasserstein 0.5 >= 0.1"
    )
    assert _verdict(_partial(0.01), 0.001)[2] == (
        "no drift: KS p=0.001 < 0.05 but Wasserstein 0.01 < 0.1, too small to matter"
    )


def test_a_test_named_by_the_user_decides_alone_and_sets_the_status() -> None:
    rule = _Rule("ks", "wasserstein", 0.05, None, None)
    column = _Partial(
        name="x", kind=ColumnKind.NUMERIC, rule=rule, statistic=0.3, raw_p=0.01, effect_size=0.02
    )
    assert _verdict(column, 0.001) == (
        True,
        Status.FAIL,
        "drifted: KS p=0.001 < 0.05 (Wasserstein 0.02)",
    )
    assert _verdict(column, 0.2) == (
        False,
        Status.PASS,
        "no drift: KS p=0.2 >= 0.05 (Wasserstein 0.02)",
    )


def _distance(method: str, value: float, warn: float | None) -> _Partial:
    threshold = {"psi": 0.25, "wasserstein": 0.1}[method]
    rule = _Rule(method, method, threshold, threshold, warn)
    details = {"psi_critical": 0.05} if method == "psi" else {}
    return _Partial(
        name="x",
        kind=ColumnKind.NUMERIC,
        rule=rule,
        statistic=value,
        effect_size=value,
        details=details,
    )


def test_a_distance_exactly_at_its_threshold_is_drift_with_the_critical_value() -> None:
    assert _verdict(_distance("psi", 0.25, 0.1), None) == (
        True,
        Status.FAIL,
        "drifted: PSI 0.25 >= 0.25 (no-drift critical value 0.05)",
    )


def test_psi_exactly_at_its_warning_level_warns() -> None:
    assert _verdict(_distance("psi", 0.1, 0.1), None) == (
        False,
        Status.WARN,
        "moderate shift: PSI 0.1 >= 0.1, below the drift threshold 0.25 "
        "(no-drift critical value 0.05)",
    )


def test_a_distance_below_its_threshold_is_no_drift() -> None:
    assert _verdict(_distance("psi", 0.05, 0.1), None) == (
        False,
        Status.PASS,
        "no drift: PSI 0.05 < 0.25 (no-drift critical value 0.05)",
    )
    assert _verdict(_distance("wasserstein", 0.05, None), None) == (
        False,
        Status.PASS,
        "no drift: Wasserstein 0.05 < 0.1",
    )


def test_a_columns_p_value_is_the_benjamini_hochberg_corrected_one() -> None:
    rng = np.random.default_rng(7)
    reference = {f"c{i}": rng.normal(0.0, 1.0, 400) for i in range(4)}
    current = {f"c{i}": rng.normal(0.06 * i, 1.0, 400) for i in range(4)}
    result = DataDrift(reference=reference, current=current, method="ks").run()
    raw = np.array([result.columns[f"c{i}"].details["raw_p_value"] for i in range(4)])
    # Benjamini-Hochberg by hand: p_(k) * m / k, made monotone from the largest down.
    order = np.argsort(raw)
    scaled = raw[order] * 4 / np.arange(1, 5)
    corrected = np.empty(4)
    corrected[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    reported = np.array([result.columns[f"c{i}"].p_value for i in range(4)])
    assert not np.allclose(raw, corrected)  # the fixed seed makes the correction matter
    np.testing.assert_allclose(reported, corrected, rtol=1e-12)


# --- item 9.6: a limit on missing and non-finite shares ----------------------------------


def test_a_column_entirely_infinite_fails_the_schema_check() -> None:
    schema = Schema.infer({"x": normal(200)})
    result = schema.validate({"x": np.full(200, np.inf)})
    assert result.status is Status.FAIL
    assert result.columns["x"].status is Status.FAIL
    assert "missing or non-finite rate 0.0% -> 100.0%" in result.columns["x"].reason


def test_ninety_percent_missing_fails_the_schema_check_and_drift() -> None:
    values = normal(1000)
    values[:900] = np.nan
    schema_result = Schema.infer({"x": normal(1000)}).validate({"x": values})
    drift_result = DataDrift(reference={"x": normal(1000)}, current={"x": values}).run()
    assert schema_result.status is Status.FAIL
    assert drift_result.status is Status.FAIL
    assert drift_result.details["missing_rate_columns"] == ["x"]


def test_a_column_entirely_infinite_fails_drift_even_below_the_drift_share() -> None:
    reference = {f"c{i}": normal(500, seed=i) for i in range(5)}
    current = {f"c{i}": normal(500, seed=10 + i) for i in range(5)}
    current["c0"] = np.full(500, np.inf)
    result = DataDrift(reference=reference, current=current).run()
    assert result.status is Status.FAIL
    assert "1 column above max_missing_rate 50.0%: 'c0'" in result.reason


def test_max_missing_rate_of_one_turns_the_limit_off() -> None:
    values = normal(1000)
    values[:900] = np.nan
    result = Schema.infer({"x": normal(1000)}).validate({"x": values}, max_missing_rate=1)
    assert result.status is Status.WARN


def test_a_reference_that_was_mostly_missing_already_does_not_trip_the_limit() -> None:
    reference = normal(1000)
    reference[:600] = np.nan
    current = normal(1000, seed=1)
    current[:650] = np.nan
    result = DataDrift(reference={"x": reference}, current={"x": current}).run()
    assert result.details["missing_rate_columns"] == []


def test_max_missing_rate_is_declared_and_checked() -> None:
    with pytest.raises(ConfigError, match="max_missing_rate"):
        DataDrift(reference={"x": [1.0]}, current={"x": [1.0]}, max_missing_rate=1.5)


# --- item 9.17 and 10.1: too few values; degenerate columns; the summary -----------------


def test_two_finite_values_a_hundred_apart_are_too_few_to_judge() -> None:
    result = DataDrift(
        reference={"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]}, current={"x": [100.0, 200.0]}
    )
    column = result.run().columns["x"]
    assert column.status is Status.SKIP
    assert column.reason.startswith("too few values to judge: 6 in the reference, 2 in the current")
    assert result.run().status is Status.ERROR  # nothing could be judged: never a pass


def test_one_constant_column_does_not_hide_eleven_drifted_ones() -> None:
    reference = {f"c{i:02}": normal(2000, seed=i) for i in range(11)}
    current = {f"c{i:02}": normal(2000, 1.0, seed=50 + i) for i in range(11)}
    reference["flag"] = np.ones(2000)
    current["flag"] = np.ones(2000)
    result = DataDrift(reference=reference, current=current).run()
    assert result.status is Status.FAIL
    assert result.columns["flag"].status is Status.SKIP
    assert result.reason == (
        "data set drifted: 11 of 11 columns drifted (100% >= 50%): 'c00', 'c01', 'c02', "
        "'c03', 'c04' and 6 more; 1 not tested: 'flag'"
    )
    assert result.details["drifted_columns"] == [f"c{i:02}" for i in range(11)]


# --- item 10.3: rates with the precision that shows the change ---------------------------


def test_one_missing_value_in_ten_thousand_rows_reads_as_a_change() -> None:
    current = normal(10_000, seed=1)
    current[0] = np.nan
    result = Schema.infer({"x": normal(10_000)}).validate({"x": current})
    assert result.columns["x"].reason == "null rate 0.00% -> 0.01%"


def test_a_reference_without_finite_values_is_skipped_with_its_counts() -> None:
    reference = {"x": np.r_[np.full(3, np.nan), np.full(2, np.inf)], "y": normal(5)}
    current = {"x": normal(5, seed=1), "y": normal(5, seed=2)}
    column = DataDrift(reference=reference, current=current).run().columns["x"]
    assert column.status is Status.SKIP
    assert column.reason == "reference has no finite values (3 missing, 2 infinite of 5 rows)"
