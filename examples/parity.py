"""Environment parity: a subtly different preprocessing in production is stopped before it ships.

Trains a churn model behind a StandardScaler, and registers it with what parity needs: the
training environment's snapshot, the distributions the artifact references (found by
scanning it, never unpickling it), and the scaler's fingerprint and behaviour on a small
canary sample. Then plays the deploy step twice:

1. the serving code refits its scaler on last week's data: same class, same parameters,
   same library versions, slightly different means. The fingerprint and the behaviour
   check both stop it, naming the columns and first rows whose outputs differ;
2. the serving code uses the scaler that was trained: parity passes.

Run: ``python examples/parity.py [--out DIR]`` (default: a new temporary folder).
"""

from __future__ import annotations

import argparse
import io
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
    ENVIRONMENT_ROLE,
    FINGERPRINT_ROLE,
    REQUIREMENTS_ROLE,
    BehaviourRecord,
    EnvironmentSnapshot,
    PreprocessingFingerprint,
    Requirements,
    ResourceRequest,
    capture_for_registration,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where to write the reports")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="modelship-parity-"))
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)

    # --- training ---------------------------------------------------------------------
    train_x = customers(rng, 2000)
    churned = (train_x[:, 2] < 20) | (rng.random(2000) < 0.1)
    scaler = StandardScaler().fit(train_x)
    model = LogisticRegression().fit(scaler.transform(train_x), churned)

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    snapshot, requirements = capture_for_registration(buffer.getvalue())
    canary = record_behaviour(scaler, train_x[:50])
    registry = ms.open_registry(str(out / "registry"))
    mv = registry.register(
        model_name="churn",
        model=model,
        metrics={"accuracy": float(model.score(scaler.transform(train_x), churned))},
        attachments={
            ENVIRONMENT_ROLE: snapshot.to_json(),
            REQUIREMENTS_ROLE: requirements.to_json(),
            FINGERPRINT_ROLE: fingerprint_preprocessing(scaler).to_json(),
            BEHAVIOUR_ROLE: canary.to_json(),
        },
    )
    joblib.dump(scaler, out / "scaler.joblib")  # the training scaler, shipped beside the model
    print(f"registered churn {mv.version}; the model needs:")
    print(requirements_txt(requirements), end="")

    # --- deploy time: read what training recorded ---------------------------------------
    mv = registry.get("churn", mv.version)
    train_env = EnvironmentSnapshot.from_json(mv.attachment(ENVIRONMENT_ROLE))
    needed = Requirements.from_json(mv.attachment(REQUIREMENTS_ROLE))
    fingerprint = PreprocessingFingerprint.from_json(mv.attachment(FINGERPRINT_ROLE))
    behaviour = BehaviourRecord.from_json(mv.attachment(BEHAVIOUR_ROLE))
    request = ResourceRequest(memory="512Mi", cpus=1, model_size=mv.artifact.size)

    def check(preprocessing: StandardScaler, label: str) -> bool:
        report = compare(
            train_env,  # against this process's environment, captured now
            requirements=needed,
            resources=request,
            fingerprint=fingerprint,
            behaviour=behaviour,
            preprocessing=preprocessing,
        )
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
