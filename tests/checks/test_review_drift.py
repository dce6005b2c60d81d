"""Drift against what a hostile review found: forged profiles that hid drift, false alarms
from profiles, labels that did not meet, and options that were ignored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.checks import DataDrift, DriftProfile
from modelship.checks.stats import QuantileSummary, ks, ks_from_summary
from modelship.cli import main
from modelship.errors import CheckInputError, ConfigError

RNG_SEED = 20261204


def profile_document(values: np.ndarray) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DriftProfile.from_data({"x": values}).to_json())
    return document


def test_ranks_that_contradict_the_quantiles_are_refused() -> None:
    # Ranks rewritten to fit a distribution shifted by 0.3 sd passed every check and
    # turned a drift the raw data shows (KS p=6.7e-124) into "no drift".
    from scipy.stats import norm

    rng = np.random.default_rng(RNG_SEED)
    document = profile_document(rng.normal(0, 1, 20_000))
    summary = document["numeric"]["x"]["summary"]
    n, q = summary["n"], np.array(summary["quantiles"])
    index = QuantileSummary.stored_indices(n, q.size)
    forged = np.maximum(np.round(n * norm.cdf(q + 0.3)).astype(int), index + 1)
    forged = np.maximum.accumulate(np.minimum(forged, n))
    forged[-1] = n
    summary["ranks"] = forged.tolist()
    with pytest.raises(ConfigError, match="ranks contradict its quantiles"):
        DriftProfile.from_json(json.dumps(document))


def test_equal_quantiles_with_different_ranks_are_refused() -> None:
    with pytest.raises(CheckInputError, match="ranks contradict its quantiles"):
        QuantileSummary(n=4, quantiles=np.array([1.0, 1.0, 3.0]), ranks=np.array([1, 2, 4]))
    QuantileSummary(n=4, quantiles=np.array([1.0, 1.0, 3.0]), ranks=np.array([2, 2, 4]))


def test_a_profile_keeping_fewer_quantiles_than_promised_is_refused() -> None:
    # Min and max for 20,000 values, claiming summary_size 1001: cdf_error 0.5, not
    # 0.0005, and a drift alarm on data that had not drifted.
    document = profile_document(np.random.default_rng(RNG_SEED).normal(size=20_000))
    summary = document["numeric"]["x"]["summary"]
    summary["quantiles"] = [summary["quantiles"][0], summary["quantiles"][-1]]
    summary["ranks"] = [1, summary["n"]]
    with pytest.raises(ConfigError, match="keeps 2 quantiles"):
        DriftProfile.from_json(json.dumps(document))


def test_a_std_no_sample_with_that_range_can_have_is_refused() -> None:
    # 90% zeros: the quartiles tie, and std=1e-6 passed; Wasserstein was then 4.5e3.
    rng = np.random.default_rng(RNG_SEED)
    values = np.where(rng.random(20_000) < 0.9, 0.0, rng.normal(0, 1, 20_000))
    document = profile_document(values)
    document["numeric"]["x"]["std"] = 1e-6
    with pytest.raises(ConfigError, match="'std' 1e-06 is impossible"):
        DriftProfile.from_json(json.dumps(document))


def test_a_profiles_ks_p_value_does_not_alarm_more_often_than_its_level() -> None:
    # The p-value of the approximate statistic alarmed on 11 of 40 pairs of one
    # distribution at 1M rows (nominal 2): it is now taken at the smallest statistic the
    # exact one can be.
    rng = np.random.default_rng(RNG_SEED)
    reference = np.sort(rng.normal(size=1_000_000))
    summary = QuantileSummary.from_sorted(reference)
    alarms = 0
    for _ in range(20):
        current = np.sort(rng.normal(size=1_000_000))
        statistic, p = ks_from_summary(summary, current)
        exact_statistic, exact_p = ks(reference, current)
        assert abs(statistic - exact_statistic) <= summary.cdf_error
        assert p >= exact_p  # never more alarming than the raw data
        alarms += p < 0.05
    assert alarms <= 3


def test_a_per_column_significance_level_outside_zero_and_one_is_refused() -> None:
    data = {"x": np.arange(100.0)}
    with pytest.raises(ConfigError, match=r"thresholds\['x'\]=2.0 is the significance level"):
        DataDrift(reference=data, current=data, method="ks", thresholds={"x": 2.0}).run()


def test_float32_categories_meet_their_float64_text() -> None:
    # Parquet's float32 0.1 was the category '0.10000000149011612', unseen in float64 data.
    values = np.array([0.1, 0.2, 0.2] * 50)
    result = DataDrift(
        reference={"g": values.astype(np.float32)},
        current={"g": values},
        kinds={"g": "categorical"},
    ).run()
    assert result.columns["g"].status.value == "pass"


def test_csv_cells_one_file_types_as_numbers_and_the_other_as_text_meet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reference's zip column holds a word, so it was text ('007'), the current one
    # all digits, so numbers (7): every category was "unseen", a 100% drift.
    rows = ["007", "010", "007", "010"] * 50
    (tmp_path / "ref.csv").write_text("zip\n" + "\n".join([*rows, "unknown"]) + "\n")
    (tmp_path / "cur.csv").write_text("zip\n" + "\n".join(rows) + "\n")
    ref, cur, out = (str(tmp_path / name) for name in ("ref.csv", "cur.csv", "out.json"))
    main(["check", "drift", "--reference", ref, "--current", cur, "--json", out])
    column = json.loads((tmp_path / "out.json").read_text())["results"][0]["columns"]["zip"]
    assert column["status"] == "pass", column["reason"]


def test_kinds_given_with_a_profile_are_refused_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.csv").write_text("code\n" + "\n".join(["1", "2", "3", "50"] * 50) + "\n")
    data, profile = str(tmp_path / "r.csv"), str(tmp_path / "p.json")
    assert main(["check", "profile", "--reference", data, "--output", profile]) == 0
    code = main(
        ["check", "drift", "--profile", profile, "--current", data, "--categorical", "code"]
    )
    # An error (exit 2), never a drift verdict (exit 1): docs/cli.md.
    assert code == 2
    out = capsys.readouterr().out
    assert "ERROR data_drift: ConfigError: --categorical, --numeric and" in out
    assert "cannot change a profile's columns" in out


def test_a_profile_of_a_heavy_tail_decides_a_small_shift_as_its_data_would() -> None:
    # A shift KS finds (p ~ 0) but of a hundredth of a standard deviation: too small to
    # matter. From the data: no drift. From the profile, the Wasserstein estimate's last
    # band (the tail's longest gap) made it 0.18 >= 0.1 and the column drifted.
    rng = np.random.default_rng(1)
    reference = {"amount": rng.lognormal(0.0, 2.0, 1_000_000)}
    current = {"amount": rng.lognormal(0.05, 2.0, 500_000)}
    from_data = DataDrift(reference=reference, current=current).run().columns["amount"]
    profile = DriftProfile.from_data(reference)
    from_profile = DataDrift(reference=profile, current=current).run().columns["amount"]
    assert not from_data.drifted
    assert not from_profile.drifted, from_profile.reason
    assert "too small to matter" in from_profile.reason
    assert from_profile.effect_size <= from_data.effect_size
