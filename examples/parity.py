"""Environment parity: a subtly different preprocessing in production is stopped before it ships.

Trains a churn model behind a StandardScaler, and registers it. The registry records the
training environment's snapshot and the distributions the artifact references (found by
scanning it, never unpickling it) by itself; the example adds the scaler's fingerprint
and its behaviour on a small canary sample. Then plays the deploy step twice:

1. the serving code refits its scaler on last week's data: same class, same parameters,
   same library versions, slightly different means. The fingerprint and the behaviour
   check both stop it, naming the columns and first rows whose outputs differ;
2. the serving code uses the scaler that was trained: parity passes.

Run: ``python examples/parity.py [--out DIR]``: the registry and the reports are kept in
``DIR``; by default they go to a temporary folder removed at the end.
``examples/demo.py`` runs :func:`behaviour_check`, the first case on its own registry.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import modelship as ms
from modelship.checks import SuiteResult
from modelship.parity import (
    BEHAVIOUR_ROLE,
    FINGERPRINT_ROLE,
    BehaviourRecord,
    ParityReport,
    PreprocessingFingerprint,
    ResourceRequest,
    compare,
    fingerprint_preprocessing,
    record_behaviour,
    requirements_txt,
)


def customers(rng: np.random.Generator, n: int, drift: float = 0.0) -> np.ndarray:
    """Age, monthly spend and tenure; ``drift`` moves every mean by that many std."""
    return np.column_stack(
        [
            rng.normal(40 + 10 * drift, 10, n),
            rng.normal(80 + 25 * drift, 25, n),
            rng.normal(30 + 12 * drift, 12, n),
        ]
    )


def train_and_register(
    registry: ms.Registry, rng: np.random.Generator
) -> tuple[ms.ModelVersion, StandardScaler]:
    """Fit a scaler and a model on the training data; register the model with its canary.

    ``register`` stores the environment and the requirements itself; the scaler's
    fingerprint and its outputs on 50 training rows go in as attachments.
    """
    train_x = customers(rng, 2000)
    churned = (train_x[:, 2] < 20) | (rng.random(2000) < 0.1)
    scaler = StandardScaler().fit(train_x)
    model = LogisticRegression().fit(scaler.transform(train_x), churned)
    mv = registry.register(
        model_name="churn-parity",
        model=model,
        metrics={"accuracy": float(model.score(scaler.transform(train_x), churned))},
        attachments={
            FINGERPRINT_ROLE: fingerprint_preprocessing(scaler).to_json(),
            BEHAVIOUR_ROLE: record_behaviour(scaler, train_x[:50]).to_json(),
        },
    )
    return mv, scaler


def parity_report(mv: ms.ModelVersion, preprocessing: StandardScaler) -> ParityReport:
    """Compare what ``mv`` recorded at training with this process and ``preprocessing``."""
    assert mv.environment is not None, "register records the environment by default"
    return compare(
        mv.environment,  # against this process's environment, captured now
        requirements=mv.requirements,
        resources=ResourceRequest(memory="512Mi", cpus=1, model_size=mv.artifact.size),
        fingerprint=mv.attachment(FINGERPRINT_ROLE, PreprocessingFingerprint),
        behaviour=mv.attachment(BEHAVIOUR_ROLE, BehaviourRecord),
        preprocessing=preprocessing,
    )


def behaviour_check(registry_url: str) -> bool:
    """Serve a model with a scaler refitted on other data; True when parity stops it.

    The serving scaler has the same class, parameters and library versions as the one
    trained: only its means and scales moved (fitted on last week's customers). The
    behaviour check replays the training canary through it and finds the outputs differ.
    """
    rng = np.random.default_rng(7)
    mv, _ = train_and_register(ms.open_registry(registry_url), rng)
    refitted = StandardScaler().fit(customers(rng, 2000, drift=0.05))
    report = parity_report(mv, refitted)
    stopped = any(f.check == "preprocessing_behaviour" for f in report.blocking)
    print(f"parity of churn-parity v{mv.version} served with a refitted scaler:")
    print(report.summary())
    return stopped and not report.passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where to write the reports")
    args = parser.parse_args()
    if args.out is not None:
        run(args.out)
        return
    with tempfile.TemporaryDirectory(prefix="modelship-parity-") as folder:
        run(Path(folder))
        print("(a temporary folder, removed now; --out DIR keeps the registry and reports)")


def run(out: Path) -> None:
    """Train and register in ``out``, then check both scalers, writing the reports there."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)

    # --- training ---------------------------------------------------------------------
    registry = ms.open_registry(str(out / "registry"))
    mv, scaler = train_and_register(registry, rng)
    joblib.dump(scaler, out / "scaler.joblib")  # the training scaler, shipped beside the model
    print(f"registered churn-parity {mv.version}; the model needs:")
    assert mv.requirements is not None, "a joblib artifact's requirements are recorded"
    print(requirements_txt(mv.requirements), end="")

    # --- deploy time: read what training recorded ---------------------------------------
    mv = registry.get("churn-parity", mv.version)

    def check(preprocessing: StandardScaler, label: str) -> bool:
        report = parity_report(mv, preprocessing)
        print(f"\n== {label}")
        print(report.summary())
        name = label.split(maxsplit=1)[0]
        SuiteResult([report.to_check_result()]).to_junit(out / f"parity-{name}.xml")
        return report.passed

    refitted = StandardScaler().fit(customers(rng, 2000, drift=0.05))
    stopped = not check(refitted, "refitted scaler (last week's data)")
    shipped = check(joblib.load(out / "scaler.joblib"), "trained scaler")
    if not (stopped and shipped):
        raise SystemExit("parity should stop the refitted scaler and pass the trained one")
    print(f"\nreports in {out}")


if __name__ == "__main__":
    main()
