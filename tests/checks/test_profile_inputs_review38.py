"""Profile and quantile-summary constructors refuse bad fields with typed errors."""

from __future__ import annotations

from typing import Any

import pytest

from modelship.checks import stats
from modelship.checks._profile import CategoricalProfile, NumericProfile
from modelship.errors import CheckInputError, ConfigError


@pytest.mark.parametrize(
    "fields",
    [
        {"n": 3, "quantiles": [1.0, 2.0, 3.0], "ranks": [1.0, 2.0, 3.0]},
        {"n": "3", "quantiles": [1.0, 2.0, 3.0], "ranks": [1, 2, 3]},
        {"n": 3.0, "quantiles": [1.0, 2.0, 3.0], "ranks": [1, 2, 3]},
        {"n": True, "quantiles": [1.0, 2.0], "ranks": [1, 1]},
        {"n": 3, "quantiles": ["a", "b", "c"], "ranks": [1, 2, 3]},
        {"n": 3, "quantiles": [1.0, 2.0, 3.0], "ranks": [1, 2, 2**70]},
        {"n": 3, "quantiles": [1.0, 2.0, 3.0], "ranks": [[1], [2, 3]]},
    ],
)
def test_a_quantile_summary_with_fields_of_the_wrong_kind_is_a_check_input_error(
    fields: dict[str, Any],
) -> None:
    with pytest.raises(CheckInputError):
        stats.QuantileSummary(**fields)


def test_a_numeric_profile_with_a_std_that_is_no_number_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'std' must be a number"):
        NumericProfile(n_rows=2, n_missing=2, n_inf=0, std="x", summary=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("counts", [[1, 2], {1: 2}])
def test_categorical_counts_must_map_labels_to_counts(counts: Any) -> None:
    with pytest.raises(ConfigError, match="'counts'"):
        CategoricalProfile(n_rows=3, n_missing=0, counts=counts)


def test_a_profile_whose_std_rounds_to_zero_is_judged_as_its_data_is() -> None:
    import numpy as np

    from modelship.checks import DataDrift, DriftProfile

    # Not constant, but its float64 std rounds to 0.0: the raw-data path treats no spread
    # as "any distance is infinitely far"; the profile path divided by zero (an error).
    # Both now keep the smallest positive float for it (review 41).
    data = {"x": np.array([0.0, 5e-324, 0.0, 5e-324, 5e-324])}
    profile = DriftProfile.from_data(data)
    assert profile.numeric["x"].std == 5e-324
    raw = DataDrift(reference=data, current=data).run().columns["x"]
    stored = DataDrift(reference=profile, current=data).run().columns["x"]
    assert (stored.status, stored.drifted) == (raw.status, raw.drifted)
    shifted = {"x": data["x"] + 1.0}
    raw = DataDrift(reference=data, current=shifted).run().columns["x"]
    stored = DataDrift(reference=profile, current=shifted).run().columns["x"]
    assert (stored.status, stored.reason) == (raw.status, raw.reason)
