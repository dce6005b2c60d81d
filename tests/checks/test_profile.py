"""DriftProfile: drift checks against a stored summary of the reference, and how close they get."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelship.checks import DataDrift, DriftProfile, Schema, Status
from modelship.errors import ColumnMismatch, ConfigError


def skewed(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    return rng.lognormal(0.0, 1.0, n)


def tied(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    return rng.integers(0, 12, n).astype(np.float64)


def heavy(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    return rng.standard_t(1.5, n)


DISTRIBUTIONS = [skewed, tied, heavy]


def compare(
    reference: np.ndarray[Any, Any], current: np.ndarray[Any, Any], size: int, method: str
) -> tuple[Any, Any]:
    exact = DataDrift(reference={"x": reference}, current={"x": current}, method=method).run()
    profile = DriftProfile.from_data({"x": reference}, summary_size=size)
    approx = DataDrift(reference=profile, current={"x": current}, method=method).run()
    return exact.columns["x"], approx.columns["x"]


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("size", [101, 1001])
def test_ks_from_a_profile_is_within_half_a_level_step_of_the_exact_ks(
    distribution: Any, size: int
) -> None:
    rng = np.random.default_rng(size)
    exact, approx = compare(distribution(rng, 20_000), distribution(rng, 5000) * 1.1, size, "ks")
    assert abs(approx.statistic - exact.statistic) <= 1 / (2 * (size - 1))


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("method", ["psi", "js"])
def test_binned_statistics_from_a_profile_equal_the_exact_ones(
    distribution: Any, method: str
) -> None:
    rng = np.random.default_rng(3)
    exact, approx = compare(distribution(rng, 20_000), distribution(rng, 5000) * 1.2, 1001, method)
    assert approx.statistic == pytest.approx(exact.statistic, rel=1e-12, abs=1e-15)
    assert approx.details.get("psi_critical") == exact.details.get("psi_critical")


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_normalised_wasserstein_from_a_profile_is_within_the_quantile_gap(
    distribution: Any,
) -> None:
    rng = np.random.default_rng(4)
    reference = distribution(rng, 20_000)
    exact, approx = compare(reference, distribution(rng, 5000) + 0.3, 1001, "wasserstein")
    bound = (reference.max() - reference.min()) / (2 * 1000) / reference.std()
    assert abs(approx.statistic - exact.statistic) <= bound


def test_a_profile_reaches_the_same_verdicts_as_the_data() -> None:
    rng = np.random.default_rng(5)
    reference = {
        "a": rng.normal(size=20_000),
        "b": rng.normal(size=20_000),
        "c": rng.choice(np.array(["x", "y", "z"]), 20_000),
    }
    current = {
        "a": rng.normal(0.5, 1, 4000),
        "b": rng.normal(size=4000),
        "c": rng.choice(np.array(["x", "y", "z"]), 4000),
    }
    exact = DataDrift(reference=reference, current=current).run()
    approx = DataDrift(reference=DriftProfile.from_data(reference), current=current).run()
    assert {n: c.drifted for n, c in approx.columns.items()} == {
        n: c.drifted for n, c in exact.columns.items()
    }
    assert approx.columns["c"].statistic == exact.columns["c"].statistic  # counts are exact


def test_cramer_von_mises_from_a_profile_raises_config_error() -> None:
    profile = DriftProfile.from_data({"x": np.arange(100.0)})
    with pytest.raises(ConfigError, match="Cramér-von Mises needs the reference data"):
        DataDrift(reference=profile, current={"x": np.arange(50.0)}, method="cvm").run()


def test_auto_on_a_small_sample_from_a_profile_uses_ks() -> None:
    profile = DriftProfile.from_data({"x": np.random.default_rng(0).normal(size=300)})
    col = DataDrift(
        reference=profile, current={"x": np.random.default_rng(1).normal(size=300)}
    ).run()
    assert col.columns["x"].method == "ks"


def test_a_profile_keeps_kinds_declared_at_profiling() -> None:
    reference = {"zip": np.array([1, 2, 1, 2] * 3)}
    profile = DriftProfile.from_data(reference, kinds={"zip": "categorical"})
    current = {"zip": np.array([1, 3, 3, 3] * 3)}
    col = DataDrift(reference=profile, current=current).run().columns["zip"]
    assert col.kind == "categorical"
    assert col.details["unseen_categories"] == {"3": 9}


def test_a_profile_keeps_missing_and_infinite_counts() -> None:
    reference = np.r_[np.random.default_rng(0).normal(size=1000), [np.nan] * 10]
    current = np.r_[np.random.default_rng(1).normal(size=700), [np.nan] * 300]
    col = DataDrift(
        reference=DriftProfile.from_data({"x": reference}), current={"x": current}
    ).run()
    assert col.columns["x"].details["missing_rate"] == pytest.approx([10 / 1010, 0.3])
    assert col.columns["x"].status is Status.WARN


def test_a_constant_column_in_a_profile_is_skipped() -> None:
    profile = DriftProfile.from_data({"k": np.ones(50)})
    col = DataDrift(reference=profile, current={"k": np.ones(50)}).run().columns["k"]
    assert col.status is Status.SKIP


def test_an_all_missing_column_in_a_profile_is_skipped() -> None:
    profile = DriftProfile.from_data({"k": np.full(5, np.nan)})
    assert DriftProfile.from_json(profile.to_json()).numeric["k"].summary is None
    col = DataDrift(reference=profile, current={"k": np.ones(5)}).run().columns["k"]
    assert col.reason.startswith("reference has no finite values")


def test_columns_selects_from_a_profile() -> None:
    profile = DriftProfile.from_data({"a": np.arange(10.0), "b": np.arange(10.0)})
    result = DataDrift(reference=profile, current={"b": np.arange(10.0)}, columns=["b"]).run()
    assert list(result.columns) == ["b"]


def test_asking_a_profile_for_an_absent_column_raises_column_mismatch() -> None:
    profile = DriftProfile.from_data({"a": np.arange(10.0)})
    with pytest.raises(ColumnMismatch, match="the profile has no column 'z'"):
        DataDrift(reference=profile, current={"z": np.arange(10.0)}, columns=["z"]).run()


def test_a_profile_is_small() -> None:
    rng = np.random.default_rng(0)
    profile = DriftProfile.from_data({f"x{i}": rng.normal(size=100_000) for i in range(5)})
    assert len(profile.to_json()) < 5 * 30_000


def test_a_profile_holds_the_schema() -> None:
    data = {"x": np.arange(5.0), "c": np.array(list("abcab"))}
    assert DriftProfile.from_data(data).schema == Schema.infer(data)


def test_summary_size_below_two_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="summary_size"):
        DriftProfile.from_data({"x": np.arange(5.0)}, summary_size=1)


def test_a_profile_whose_columns_disagree_with_its_schema_is_refused() -> None:
    doc = DriftProfile.from_data({"x": np.arange(5.0)}).to_dict()
    doc["numeric"] = {}
    with pytest.raises(ConfigError, match="malformed drift profile"):
        DriftProfile.from_dict(doc)


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(
        np.float64, st.integers(1, 40), elements=st.floats(allow_nan=True, allow_infinity=True)
    ),
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=40),
    st.integers(2, 50),
)
def test_any_profile_round_trips_through_json(
    values: np.ndarray[Any, Any], labels: list[str | None], size: int
) -> None:
    n = min(len(values), len(labels))
    data = {"x": values[:n], "c": np.array(labels[:n], dtype=object)}
    profile = DriftProfile.from_data(data, summary_size=size, kinds={"c": "categorical"})
    assert DriftProfile.from_json(profile.to_json()) == profile


def test_a_column_shorter_than_the_summary_is_kept_whole_and_exact() -> None:
    reference = np.array([3.0, 1.0, 2.0, 2.0])
    profile = DriftProfile.from_data({"x": reference})
    assert profile.numeric["x"].summary.quantiles.tolist() == [1.0, 2.0, 2.0, 3.0]  # type: ignore[union-attr]
    exact, approx = compare(reference, np.array([2.5, 3.5, 4.0]), 1001, "ks")
    assert approx.statistic == exact.statistic


def test_kinds_given_beside_a_profile_raise_config_error() -> None:
    profile = DriftProfile.from_data({"x": np.arange(10.0)})
    with pytest.raises(ConfigError, match="fixed the kinds"):
        DataDrift(
            reference=profile, current={"x": np.arange(10.0)}, kinds={"x": "categorical"}
        ).run()


def test_a_column_spanning_more_than_the_largest_float_round_trips() -> None:
    # Found by hypothesis: max - min overflows to inf, and the std check refused the
    # profile its own from_data had just built.
    values = np.array([1.7976931348623157e308, -9.9792015476736e291])
    profile = DriftProfile.from_data({"x": values}, summary_size=2)
    assert DriftProfile.from_json(profile.to_json()) == profile
