"""Review 47, bias and degradation: a change of exactly the margin, the most resamples,
and which rate an undefined disparity lacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from modelship.checks import Bias, Degradation
from modelship.checks._result import Status
from modelship.errors import ConfigError


def _boundary(delta: float, margin: float) -> Degradation:
    """Every error of the candidate exactly ``delta`` larger: its MAE rises by ``delta``
    on every resample (computed as, e.g., 0.010000000000000009 for 0.01)."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=200) * 3
    base = y + 0.5 + rng.random(200)
    return Degradation(
        candidate_scores=base + delta,
        baseline_scores=base,
        y=y,
        metrics=["mae"],
        margin=margin,
        task="regression",
        n_resamples=200,
    )


@pytest.mark.parametrize("change", [0.01, 0.1, 0.05, 0.2, 0.3])
def test_loss_rising_by_exactly_the_margin_is_not_worse(change: float) -> None:
    result = _boundary(change, change).run()
    mae = result.metrics["mae"]
    assert mae.verdict is not None
    assert mae.verdict.value.startswith("not worse"), mae.reason
    assert result.status is Status.PASS
    # The interval's end is shown as the allowed rise, as the verdict took it.
    assert f"allowed rise {change:g}:" in mae.reason


@pytest.mark.parametrize("change", [0.01, 0.3])
def test_loss_rising_clearly_past_the_margin_is_worse(change: float) -> None:
    result = _boundary(change * (1 + 1e-6), change).run()
    assert result.metrics["mae"].verdict is not None
    assert result.metrics["mae"].verdict.value == "worse"
    assert result.status is Status.FAIL


def _labels() -> dict[str, np.ndarray]:
    y = np.array([0, 1] * 20)
    return {"y": y, "g": np.array([0] * 20 + [1] * 20)}


def test_a_million_resamples_are_allowed() -> None:
    d = _labels()
    # Constructed only: running a million resamples is not a quick test.
    assert Bias(y_true=d["y"], y_pred=d["y"], sensitive=d["g"], n_resamples=10**6)
    scores = d["y"].astype(float)
    assert Degradation(candidate_scores=scores, baseline_scores=scores, y=d["y"], n_resamples=10**6)


def test_more_than_a_million_resamples_are_refused_saying_why() -> None:
    d = _labels()
    scores = d["y"].astype(float)
    makers = [
        lambda n: Bias(y_true=d["y"], y_pred=d["y"], sensitive=d["g"], n_resamples=n),
        lambda n: Degradation(
            candidate_scores=scores, baseline_scores=scores, y=d["y"], n_resamples=n
        ),
    ]
    for make in makers:
        with pytest.raises(ConfigError, match=r"n_resamples=1000001 is not allowed") as info:
            make(10**6 + 1)
        assert "[1, 1000000]" in str(info.value)
        assert "kept in memory" in str(info.value)


@pytest.mark.parametrize("check", ["bias", "degradation"])
def test_cli_refuses_a_huge_n_resamples_with_exit_2(check: str, tmp_path: Path) -> None:
    # Group "f" has 27 rows, under min_group_size: were the count let through, the check
    # would stop before drawing a resample, never trying to hold 10**20 of them.
    data = tmp_path / "d.csv"
    data.write_text(
        "y,yp,sex,cand,base\n"
        + "".join(f"{i % 2},{i % 2},{'fm'[i % 3 == 0]},0.{i % 9},0.{i % 7}\n" for i in range(80))
    )
    columns = (
        ["--prediction", "yp", "--sensitive", "sex"]
        if check == "bias"
        else ["--candidate", "cand", "--baseline", "base", "--metrics", "f1"]
    )
    run = subprocess.run(
        [
            *(sys.executable, "-m", "modelship", "check", check, "--data", str(data)),
            *("--label", "y", *columns, "--n-resamples", "99999999999999999999"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "n_resamples must be an int in [1, 1000000]" in run.stdout + run.stderr


def test_undefined_disparity_names_only_the_rate_a_group_lacks() -> None:
    # Group -5 has positives (true positive rate 3/5) and no negatives: only its false
    # positive rate has no value.
    y = np.array([0, 1] * 20 + [1] * 5)
    y_pred = np.array([0, 1, 1, 0] * 10 + [1, 1, 1, 0, 0])
    groups = np.array([2] * 40 + [-5] * 5)
    result = Bias(
        y_true=y, y_pred=y_pred, sensitive=groups, small_groups="ignore", n_resamples=20
    ).run()
    assert result.groups["-5"].true_positive_rate == pytest.approx(0.6)
    reason = result.disparities["equalized_odds_difference"].reason
    assert "false positive rate has no value for ['-5'] (no negatives there)" in reason
    assert "true positive rate" not in reason
