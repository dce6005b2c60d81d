"""Review 38, degradation: CSV segment codes, metrics mappings, the task of regression
metrics on 0/1 targets, and ``--metric-margin METRIC=none``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.checks import Degradation
from modelship.cli import main
from modelship.errors import ConfigError


def _write_csv(path: Path, columns: dict[str, Any]) -> Path:
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def _holdout(tmp_path: Path, segment: list[str] | None = None) -> Path:
    rng = np.random.default_rng(0)
    n = 300 if segment is None else len(segment)
    y = rng.integers(0, 2, n)
    columns: dict[str, Any] = {
        "y": y,
        "c": np.round(y + rng.normal(0, 0.6, n), 4),
        "b": np.round(y + rng.normal(0, 0.6, n), 4),
    }
    if segment is not None:
        columns["seg"] = segment
    return _write_csv(tmp_path / "h.csv", columns)


def _result(report: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(report.read_text())
    return doc["results"][0] if "results" in doc else doc


@pytest.mark.parametrize(("first", "second"), [("01", "1"), ("1.0", "1")])
def test_cli_degradation_keeps_segment_codes_that_read_alike_as_numbers(
    tmp_path: Path, first: str, second: str
) -> None:
    data = _holdout(tmp_path, [first] * 100 + [second] * 100 + ["2"] * 100)
    report = tmp_path / "r.json"
    argv = ["check", "degradation", "--data", str(data), "--label", "y", "--candidate", "c"]
    main([*argv, "--baseline", "b", "--segment", "seg", "--json", str(report)])
    assert sorted(_result(report)["slices"]) == sorted([f"seg={first}", f"seg={second}", "seg=2"])


@pytest.mark.parametrize("value", [3, None, ["roc_auc"]])
def test_metrics_mapping_values_are_checked_at_construction(value: Any) -> None:
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ConfigError, match=r"`metrics` mapping values must be metric names"):
        Degradation(y=y, candidate_scores=y, baseline_scores=y, metrics={"auc": value})


def test_metrics_mapping_keys_must_be_names() -> None:
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ConfigError, match=r"`metrics` mapping keys must be names \(str\), got 3"):
        Degradation(y=y, candidate_scores=y, baseline_scores=y, metrics={3: "roc_auc"})  # type: ignore[dict-item]


def _binary_target() -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)  # a count target that is 0 or 1 in this holdout
    return y, y + rng.normal(0, 0.3, 500), y + rng.normal(0, 0.5, 500)


def test_only_regression_metrics_on_a_binary_target_infer_regression() -> None:
    y, cand, base = _binary_target()
    result = Degradation(
        y=y, candidate_scores=cand, baseline_scores=base, metrics=["rmse", "mae"]
    ).run()
    assert result.status.value == "pass", result.reason
    assert sorted(result.metrics) == ["mae", "rmse"]


def test_mixed_metrics_on_a_binary_target_say_to_pass_task_regression() -> None:
    y, cand, base = _binary_target()
    result = Degradation(
        y=y, candidate_scores=cand, baseline_scores=base, metrics=["rmse", "accuracy"]
    ).run()
    assert result.status.value == "error"
    assert "pass task='regression' (--task regression)" in result.reason


def test_cli_regression_metrics_on_a_binary_target_infer_regression(tmp_path: Path) -> None:
    data = _holdout(tmp_path)
    report = tmp_path / "r.json"
    argv = ["check", "degradation", "--data", str(data), "--label", "y", "--candidate", "c"]
    main([*argv, "--baseline", "b", "--metrics", "rmse", "--json", str(report)])
    assert _result(report)["status"] != "error"
    assert list(_result(report)["metrics"]) == ["rmse"]


def test_cli_metric_margin_none_is_refused(tmp_path: Path, capsys: Any) -> None:
    data = _holdout(tmp_path)
    argv = ["check", "degradation", "--data", str(data), "--label", "y", "--candidate", "c"]
    code = main([*argv, "--baseline", "b", "--metric-margin", "roc_auc=none"])
    assert code == 2
    captured = capsys.readouterr()
    assert "--metric-margin roc_auc=none: every compared metric is gated" in (
        captured.out + captured.err
    )
