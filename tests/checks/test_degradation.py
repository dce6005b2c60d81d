"""The degradation check: verdicts, methods, registry baselines, segments, budgets."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import modelship as ms
from modelship.checks import Degradation, DegradationResult, Verdict, run_suite
from modelship.errors import CheckInputError, ConfigError, IntegrityError


def holdout(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, a good score and a weaker score of the same rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, y + rng.normal(0, 0.6, n), y + rng.normal(0, 1.0, n)


def to_prob(score: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-3 * (score - 0.5)))


def test_verdict_values_are_the_documented_sentences() -> None:
    assert [v.value for v in Verdict] == [
        "worse",
        "not worse within tolerance",
        "inconclusive: holdout too small to tell",
    ]


def test_a_better_candidate_is_not_worse_on_every_metric() -> None:
    y, good, weak = holdout()
    result = Degradation(
        y=y,
        candidate_scores=to_prob(good),
        baseline_scores=to_prob(weak),
        metrics=["roc_auc", "accuracy", "f1", "log_loss", "brier", "precision", "recall"],
    ).run()
    assert result.status.value == "pass"
    for m in result.metrics.values():
        assert m.verdict is Verdict.NOT_WORSE, m.name
        assert m.difference == pytest.approx(m.candidate - m.baseline)


def test_a_worse_candidate_is_worse_and_fails() -> None:
    y, good, weak = holdout()
    result = Degradation(
        y=y, candidate_scores=weak, baseline_scores=good, metrics=["roc_auc"]
    ).run()
    assert result.status.value == "fail"
    assert result.metrics["roc_auc"].verdict is Verdict.WORSE


def test_each_metric_uses_its_documented_method() -> None:
    y, good, weak = holdout(1000)
    result = Degradation(
        y=y,
        candidate_scores=to_prob(good),
        baseline_scores=to_prob(weak),
        metrics=["roc_auc", "accuracy", "f1", "brier"],
        n_resamples=200,
    ).run()
    assert {k: m.method for k, m in result.metrics.items()} == {
        "roc_auc": "delong",
        "accuracy": "mcnemar_exact",
        "f1": "bootstrap",
        "brier": "bootstrap",
    }


def test_a_tiny_holdout_is_inconclusive_and_the_policy_decides() -> None:
    y, good, _ = holdout(60, seed=4)
    nearly = good + np.random.default_rng(5).normal(0, 0.3, 60)  # a little worse, maybe
    common = {"y": y, "candidate_scores": nearly, "baseline_scores": good, "metrics": ["roc_auc"]}
    held = Degradation(**common).run()
    assert held.metrics["roc_auc"].verdict is Verdict.INCONCLUSIVE
    assert held.status.value == "fail"
    assert Degradation(**common, inconclusive="warn").run().status.value == "warn"
    assert Degradation(**common, inconclusive="pass").run().status.value == "pass"


def test_the_decision_reads_the_one_sided_lower_bound_against_the_margin() -> None:
    y, good, weak = holdout()
    result = Degradation(
        y=y, candidate_scores=good, baseline_scores=good + 1e-9 * weak, metrics=["roc_auc"]
    ).run()
    m = result.metrics["roc_auc"]
    assert m.ci_low >= -m.margin
    assert m.verdict is Verdict.NOT_WORSE


def test_for_a_loss_a_rise_is_the_drop() -> None:
    y, good, weak = holdout()
    result = Degradation(
        y=y,
        candidate_scores=to_prob(weak),
        baseline_scores=to_prob(good),
        metrics=["log_loss"],
        n_resamples=200,
    ).run()
    m = result.metrics["log_loss"]
    assert m.difference > 0
    assert not m.higher_is_better
    assert m.verdict is Verdict.WORSE


def test_relative_margin_scales_with_the_baseline() -> None:
    y, good, _ = holdout()
    result = Degradation(
        y=y,
        candidate_scores=good,
        baseline_scores=good,
        metrics=["roc_auc"],
        margin=0.1,
        relative=True,
    ).run()
    m = result.metrics["roc_auc"]
    assert m.margin == pytest.approx(0.1 * m.baseline)


def test_a_callable_metric_is_compared_by_paired_bootstrap() -> None:
    y, good, weak = holdout(2000)

    def top_decile_precision(y_true: np.ndarray, score: np.ndarray) -> float:
        cut = np.quantile(score, 0.9)
        return float(y_true[score >= cut].mean())

    result = Degradation(
        y=y,
        candidate_scores=good,
        baseline_scores=weak,
        metrics=[top_decile_precision],
        n_resamples=200,
    ).run()
    m = result.metrics["top_decile_precision"]
    assert m.method == "bootstrap"
    assert m.verdict is Verdict.NOT_WORSE


def test_lower_is_better_flips_a_callable_metric() -> None:
    y, good, weak = holdout(2000)

    def miss_rate(y_true: np.ndarray, score: np.ndarray) -> float:
        return float(np.mean((score >= 0.5) != y_true))

    result = Degradation(
        y=y,
        candidate_scores=weak,
        baseline_scores=good,
        metrics={"miss_rate": miss_rate},
        lower_is_better={"miss_rate"},
        n_resamples=200,
    ).run()
    assert result.metrics["miss_rate"].verdict is Verdict.WORSE


def test_regression_defaults_to_rmse_mae_r2() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=3000)
    result = Degradation(
        y=y,
        candidate_scores=y + rng.normal(0, 0.3, 3000),
        baseline_scores=y + rng.normal(0, 0.5, 3000),
        n_resamples=200,
    ).run()
    assert set(result.metrics) == {"rmse", "mae", "r2"}
    assert result.status.value == "pass"


def test_a_metric_that_cannot_be_computed_is_an_error_naming_it() -> None:
    y = np.ones(50, dtype=int)
    result = Degradation(
        y=y,
        candidate_scores=np.linspace(0, 1, 50),
        baseline_scores=np.linspace(0, 1, 50),
        metrics=["roc_auc"],
    ).run()
    assert result.status.value == "error"
    assert "roc_auc could not be computed" in result.reason


def test_lengths_that_differ_raise() -> None:
    with pytest.raises(CheckInputError, match="have 3 rows but y has 2"):
        Degradation(y=[0, 1], candidate_scores=[0.1, 0.2, 0.3], baseline_scores=[0.1, 0.2]).run()


def make_models() -> tuple[np.ndarray, np.ndarray, LogisticRegression, LogisticRegression]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=4000) > 0).astype(int)
    good = LogisticRegression().fit(x[:2000], y[:2000])
    blind = LogisticRegression().fit(x[:2000, 2:], y[:2000])  # sees only noise columns

    class Blind:
        def predict_proba(self, rows: np.ndarray) -> np.ndarray:
            return blind.predict_proba(rows[:, 2:])

    return x[2000:], y[2000:], good, Blind()  # type: ignore[return-value]


def test_models_are_called_through_predict_proba() -> None:
    x, y, good, blind = make_models()
    result = Degradation(candidate=blind, baseline=good, X=x, y=y, metrics=["roc_auc"]).run()
    assert result.metrics["roc_auc"].verdict is Verdict.WORSE
    assert result.metrics["roc_auc"].baseline == pytest.approx(
        ms.checks.stats._metrics.roc_auc(y, good.predict_proba(x)[:, 1])
    )


def test_a_baseline_from_the_registry_is_loaded_and_verified() -> None:
    x, y, good, _ = make_models()
    reg = ms.open_registry("memory://degradation-registry")
    reg.register(model_name="churn", model=good)
    reg.set_alias("churn", "production", "1")
    result = Degradation(
        candidate=good,
        baseline=reg.get("churn", "@production"),
        registry=reg,
        X=x,
        y=y,
        metrics=["roc_auc"],
    ).run()
    assert result.metrics["roc_auc"].difference == 0.0


def test_a_model_version_without_its_registry_is_a_config_error() -> None:
    x, y, good, _ = make_models()
    reg = ms.open_registry("memory://degradation-no-registry")
    mv = reg.register(model_name="churn", model=good)
    with pytest.raises(ConfigError, match="pass registry="):
        Degradation(candidate=good, baseline=mv, X=x, y=y).run()


def test_a_model_version_the_registry_does_not_hold_raises_integrity_error() -> None:
    x, y, good, _ = make_models()
    reg = ms.open_registry("memory://degradation-integrity")
    mv = reg.register(model_name="churn", model=good)
    forged = attrs.evolve(mv, artifact=attrs.evolve(mv.artifact, digest="sha256:" + "0" * 64))
    with pytest.raises(IntegrityError, match="the registry holds artifact"):
        Degradation(candidate=good, baseline=forged, registry=reg, X=x, y=y).run()


def test_segments_from_a_column_name_the_worst_one() -> None:
    x, y, good, _ = make_models()
    region = np.where(np.arange(len(y)) % 2 == 0, "north", "south")
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(region=region)

    class Model:
        def __init__(self, spoil_south: bool) -> None:
            self.spoil_south = spoil_south

        def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
            p = good.predict_proba(rows[["a", "b", "c", "d"]].to_numpy())
            if self.spoil_south:
                south = (rows["region"] == "south").to_numpy()
                p[south] = p[south][::-1]
            return p

    result = Degradation(
        candidate=Model(True),
        baseline=Model(False),
        X=frame,
        y=y,
        metrics=["roc_auc"],
        segments="region",
    ).run()
    assert result.worst_segments[0] == "region=south"
    assert result.slices["region=south"]["roc_auc"].verdict is Verdict.WORSE
    assert result.slices["region=north"]["roc_auc"].verdict is Verdict.NOT_WORSE
    assert result.status.value == "fail"
    assert "roc_auc[region=south]" in result.columns


def test_segment_masks_and_small_segments_are_skipped_and_listed() -> None:
    y, good, weak = holdout(2000)
    masks = {"first": np.arange(2000) < 1000, "tiny": np.arange(2000) < 5}
    result = Degradation(
        y=y, candidate_scores=good, baseline_scores=weak, metrics=["roc_auc"], segments=masks
    ).run()
    assert set(result.slices) == {"first"}
    assert result.details["skipped_segments"] == {"tiny": 5}


class ManualClock:
    """A clock whose time moves only when a model advances it: latencies are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Timed:
    """Predicts like ``model`` and takes ``seconds`` of ``clock`` time per call; keeps
    the batches it was given."""

    def __init__(self, model: LogisticRegression, clock: ManualClock, seconds: float) -> None:
        self.model, self.clock, self.seconds = model, clock, seconds
        self.batches: list[np.ndarray] = []

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        self.batches.append(rows)
        self.clock.now += self.seconds
        return self.model.predict_proba(rows)


def test_latency_size_and_memory_are_measured_on_the_same_batches() -> None:
    x, y, good, _ = make_models()
    clock = ManualClock()
    slow, quick = Timed(good, clock, 0.004), Timed(good, clock, 0.001)
    result = Degradation(
        candidate=slow,
        baseline=quick,
        X=x,
        y=y,
        metrics=["roc_auc"],
        latency_budget=1.5,
        n_batches=5,
        warmup=1,
        clock=clock,
    ).run()
    perf = result.performance
    assert perf is not None
    assert perf.candidate["p50_ms"] == pytest.approx(4.0)
    assert perf.candidate["p99_ms"] == pytest.approx(4.0)
    assert perf.baseline["p95_ms"] == pytest.approx(1.0)
    assert perf.n_batches == 5
    timed = slice(1, 1 + 5)  # after the one warm-up call, before the memory call
    assert len(slow.batches[timed]) == 5
    for mine, theirs in zip(slow.batches[timed], quick.batches[timed], strict=True):
        assert np.array_equal(mine, theirs)
    assert "latency_p95_ratio" in perf.exceeded
    assert result.status.value == "fail"


def test_a_candidate_slower_by_less_than_the_latency_budget_passes() -> None:
    x, y, good, _ = make_models()
    clock = ManualClock()
    result = Degradation(
        candidate=Timed(good, clock, 0.0012),
        baseline=Timed(good, clock, 0.001),
        X=x,
        y=y,
        metrics=["roc_auc"],
        latency_budget=1.5,
        latency_budget_ms=2.0,
        n_batches=5,
        clock=clock,
    ).run()
    assert result.performance is not None
    assert result.performance.exceeded == {}
    assert result.status.value == "pass"


def test_a_candidate_over_the_absolute_latency_budget_fails() -> None:
    x, y, good, _ = make_models()
    clock = ManualClock()
    result = Degradation(
        candidate=Timed(good, clock, 0.003),
        baseline=Timed(good, clock, 0.003),
        X=x,
        y=y,
        metrics=["roc_auc"],
        latency_budget_ms=2.0,
        n_batches=5,
        clock=clock,
    ).run()
    assert result.performance is not None
    assert list(result.performance.exceeded) == ["latency_p95_ms"]
    assert result.status.value == "fail"


def test_a_clock_that_is_not_callable_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="clock must be a callable"):
        Degradation(y=[0, 1], candidate_scores=[0.1, 0.9], baseline_scores=[0.2, 0.8], clock=1.0)


class Wide:
    """A model that copies its input 50 times before predicting (pickles by value)."""

    def __init__(self, model: LogisticRegression) -> None:
        self.model = model

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(np.tile(rows, (1, 50)))


def test_size_and_memory_budgets() -> None:
    x, y, good, _ = make_models()
    big = LogisticRegression().fit(np.tile(x, (1, 50)), y)
    result = Degradation(
        candidate=Wide(big),
        baseline=good,
        X=x,
        y=y,
        metrics=["roc_auc"],
        size_budget_bytes=10**6,
        memory_budget=2.0,
        n_batches=2,
    ).run()
    perf = result.performance
    assert perf is not None
    assert perf.candidate["peak_memory_bytes"] > 2 * perf.baseline["peak_memory_bytes"]
    assert "peak_memory_ratio" in perf.exceeded
    assert "size_bytes" not in perf.exceeded
    assert perf.candidate["size_bytes"] > perf.baseline["size_bytes"]


def test_an_unpicklable_model_has_unknown_size_and_a_size_budget_is_exceeded() -> None:
    x, y, good, _ = make_models()
    result = Degradation(
        candidate=lambda rows: good.predict_proba(rows)[:, 1],
        baseline=good,
        X=x,
        y=y,
        metrics=["roc_auc"],
        size_budget_bytes=10**9,
        n_batches=2,
    ).run()
    assert result.performance is not None
    assert result.performance.candidate["size_bytes"] is None
    assert "unknown" in result.performance.exceeded["size_bytes"]


def test_budgets_need_models_not_scores() -> None:
    y, good, weak = holdout(200)
    with pytest.raises(ConfigError, match="need both models"):
        Degradation(y=y, candidate_scores=good, baseline_scores=weak, latency_budget=1.2).run()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ["auc"]}, "unknown metrics ['auc']"),
        ({"margins": {"f1": 0.1}, "metrics": ["roc_auc"]}, "`margins` names metrics not compared"),
    ],
)
def test_unknown_names_in_settings_raise_config_errors(kwargs: dict, message: str) -> None:
    # Each parameter's own allowed values are tested in test_parameters.py.
    with pytest.raises(ConfigError) as info:
        Degradation(y=[0, 1], candidate_scores=[0.1, 0.9], baseline_scores=[0.2, 0.8], **kwargs)
    assert message in str(info.value)


def test_exactly_one_of_model_and_scores_per_side() -> None:
    with pytest.raises(ConfigError, match="exactly one of `baseline` and `baseline_scores`"):
        Degradation(y=[0, 1], candidate_scores=[0.1, 0.9])


def test_result_round_trips_through_json_and_renders() -> None:
    y, good, weak = holdout(2000)
    check = Degradation(
        y=y,
        candidate_scores=weak,
        baseline_scores=good,
        metrics=["roc_auc", "f1"],
        n_resamples=200,
        segments={"half": np.arange(2000) < 1000},
    )
    result = check.run()
    assert DegradationResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    suite = run_suite([check])
    doc = json.loads(suite.to_json())
    assert doc["results"][0]["metrics"]["roc_auc"]["verdict"] == "worse"
    assert suite.exit_code() == 1
    assert "roc\\_auc" in suite.to_markdown()  # Markdown escapes _
