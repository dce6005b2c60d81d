"""The checks' public API as users write it; ``mypy --strict`` checks this file."""

from __future__ import annotations

import numpy as np

from modelship.checks import (
    Bias,
    BiasResult,
    CheckResult,
    DataDrift,
    Degradation,
    DegradationResult,
    Severity,
    Status,
    SuiteResult,
    run_suite,
)


def drift_gate() -> int:
    rng = np.random.default_rng(0)
    reference = {"age": rng.normal(40, 5, 500), "plan": rng.choice(["a", "b"], 500)}
    current = {"age": rng.normal(41, 5, 500), "plan": rng.choice(["a", "b"], 500)}
    drift = DataDrift(reference=reference, current=current, alpha=0.01, correction="holm")
    result: CheckResult = drift.run()
    status: Status = result.status
    suite: SuiteResult = run_suite([drift], n_jobs=1)
    print(status.value, suite.summary(), suite.to_markdown())
    return suite.exit_code(strict=True)


def fairness_and_quality() -> bool:
    y = np.array([0, 1] * 50)
    bias = Bias(
        y_true=y, y_pred=y, sensitive=np.array(["F", "M"] * 50), threshold=0.1, gate="interval"
    )
    fair: BiasResult = bias.run()
    degradation = Degradation(
        y=y,
        candidate_scores=np.linspace(0, 1, 100),
        baseline_scores=np.linspace(1, 0, 100),
        metrics=["roc_auc", "accuracy"],
        margin=0.02,
        severity=Severity.ADVISORY,
    )
    quality: DegradationResult = degradation.run()
    return fair.status is Status.PASS and quality.status is not Status.FAIL
