"""The conventions table of docs/checks.md and the code's defaults agree."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from scipy import stats as scipy_stats

from modelship.checks import (
    AUTO_SMALL_SAMPLE,
    DISTANCE_THRESHOLDS,
    PSI_WARN_THRESHOLD,
    DataDrift,
    DriftProfile,
    stats,
)

DOC = Path(__file__).parents[2] / "docs" / "checks.md"


def documented() -> dict[str, str]:
    """``{key: value}`` of the rows of the table under ``## Conventions``."""
    text = DOC.read_text(encoding="utf-8").split("\n## Conventions\n", 1)[1]
    rows = re.findall(r"^\| `([^`]+)` \|.*\| `([^`]+)` \|$", text, flags=re.MULTILINE)
    assert rows, "no conventions table found"
    return dict(rows)


def default(name: str) -> Any:
    return attrs.fields_dict(DataDrift)[name].default


def auto_rule(n: int, values: Any) -> tuple[str | None, str | None]:
    col = DataDrift(reference=values(0, n), current=values(1, n)).run().columns["x"]
    return col.method, col.effect_method


def numeric(seed: int, n: int) -> dict[str, Any]:
    return {"x": np.random.default_rng(seed).normal(size=n)}


def categorical(seed: int, n: int) -> dict[str, Any]:
    return {"x": np.random.default_rng(seed).choice(np.array(["a", "b"]), n)}


def from_code() -> dict[str, Any]:
    psi_critical = stats.psi_critical_value(100, 100, 10)
    level = scipy_stats.chi2.cdf(psi_critical / (2 / 100), 9)
    shifted = (
        DataDrift(
            reference={"x": np.arange(1000.0) * 10},
            current={"x": np.arange(1000.0) * 10 + 5},
            method="wasserstein",
        )
        .run()
        .columns["x"]
    )
    scale = "std" if shifted.statistic == pytest.approx(5 / np.std(np.arange(1000.0) * 10)) else "?"
    return {
        "alpha": default("alpha"),
        "correction": default("correction"),
        "drift_share": default("drift_share"),
        "missing_threshold": default("missing_threshold"),
        "max_missing_rate": default("max_missing_rate"),
        "min_values": default("min_values"),
        "js.base": 2
        if stats.jensen_shannon(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)
        else "?",
        "js.threshold": DISTANCE_THRESHOLDS["js"],
        "psi.bins": default("bins"),
        "psi.eps": default("eps"),
        "psi.threshold": DISTANCE_THRESHOLDS["psi"],
        "psi.warn_threshold": PSI_WARN_THRESHOLD,
        "psi.critical_level": round(float(level), 6),
        "wasserstein.scale": scale,
        "wasserstein.threshold": DISTANCE_THRESHOLDS["wasserstein"],
        "auto.small_sample": AUTO_SMALL_SAMPLE,
        "auto.numeric_effect": auto_rule(AUTO_SMALL_SAMPLE, numeric)[1],
        "auto.categorical_test": auto_rule(100, categorical)[0],
        "auto.categorical_effect": auto_rule(100, categorical)[1],
        "profile.summary_size": inspect.signature(DriftProfile.from_data)
        .parameters["summary_size"]
        .default,
    }


def parse(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def test_every_documented_convention_is_the_code_default() -> None:
    code = from_code()
    assert {key: parse(value) for key, value in documented().items()} == code


def test_the_auto_rule_switches_test_at_the_documented_sample_size() -> None:
    size = int(documented()["auto.small_sample"])
    assert auto_rule(size - 1, numeric)[0] == "cvm"
    assert auto_rule(size, numeric)[0] == "ks"


def test_psi_bins_have_open_outer_edges() -> None:
    bins = int(documented()["psi.bins"])
    edges = stats.quantile_edges(np.arange(100.0), bins)
    far = np.array([-1e300, 1e300])
    assert stats.binned_counts(far, edges).tolist() == [1] + [0] * (bins - 2) + [1]


def test_the_psi_epsilon_is_the_stats_default() -> None:
    eps = float(documented()["psi.eps"])
    assert inspect.signature(stats.psi).parameters["eps"].default == eps
    assert inspect.signature(stats.numeric_drift).parameters["eps"].default == eps
