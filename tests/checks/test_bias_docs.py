"""docs/bias-and-degradation.md states the code's defaults and verdict strings."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from modelship.checks import Bias, Degradation, Verdict
from modelship.checks._bias import DEFAULT_BIAS_THRESHOLDS
from modelship.checks.stats._metrics import METRICS

DOC = (Path(__file__).parents[2] / "docs" / "bias-and-degradation.md").read_text(encoding="utf-8")


def test_the_disparity_table_lists_every_default_threshold() -> None:
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| .* \| [01] \| `([^`]+)` \|$", DOC, flags=re.M))
    assert {name: rows[name] for name in DEFAULT_BIAS_THRESHOLDS} == {
        name: str(value) for name, value in DEFAULT_BIAS_THRESHOLDS.items()
    }


def test_the_metric_table_lists_every_metric_with_its_direction() -> None:
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \| .* \| (higher|lower) \| ", DOC, flags=re.M))
    assert rows == {
        name: "higher" if spec.higher_is_better else "lower" for name, spec in METRICS.items()
    }


def test_the_verdict_strings_are_the_enums_values() -> None:
    for verdict in Verdict:
        assert f'`"{verdict.value}"`' in DOC


def test_documented_defaults_match_the_constructors() -> None:
    bias = attrs.fields_dict(Bias)
    degradation = attrs.fields_dict(Degradation)
    assert bias["min_group_size"].default == 30
    assert bias["confidence"].default == 0.95
    assert bias["n_resamples"].default == 1000
    assert bias["small_groups"].default == "skip"
    assert bias["four_fifths"].default is False
    assert degradation["margin"].default == 0.01
    assert degradation["confidence"].default == 0.95
    assert degradation["inconclusive"].default == "fail"
    assert degradation["segment_inconclusive"].default == "warn"
    assert (degradation["batch_size"].default, degradation["n_batches"].default) == (256, 50)
    for text in ("`min_group_size` rows (30)", "default `0.01`", "`n_batches` (50)"):
        assert text in DOC
