"""Pre-deployment checks on a batch of new data: drift, prediction drift and schema.

Makes a training set and a new batch in which one feature (age) has shifted and a rare new
plan has appeared, profiles the training data (as a CI job would keep it beside the model),
runs the checks against the profile, writes JUnit XML and Markdown, and prints the summary.

What it shows: one drifted column of four is a warning, not data-set drift; the new plan is
statistically significant but too small to matter (and the schema check names it); the
model's scores drift, which this suite treats as advisory. So the suite passes, exit 0.

Run: ``python examples/drift_check.py [--out DIR]``: the profile and the reports are kept in
``DIR``; by default they go to a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from modelship.checks import DataDrift, DriftProfile, PredictionDrift, run_suite


def make_data(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    plans = ["basic", "pro", "team"] + (["enterprise"] if shift else [])
    weights = np.array([0.6, 0.3, 0.1] + ([0.01] if shift else []))
    return {
        "age": rng.normal(40 + 10 * shift, 10, n),
        "income": rng.lognormal(10, 0.5, n),
        "tenure_months": rng.integers(0, 120, n),
        "plan": rng.choice(plans, n, p=weights / weights.sum()),
    }


def score(data: dict[str, np.ndarray]) -> np.ndarray:
    """A stand-in model: a churn probability from age and tenure."""
    z = 0.03 * (data["age"] - 40) - 0.02 * (data["tenure_months"] - 60)
    return 1 / (1 + np.exp(-z))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where to write the reports")
    args = parser.parse_args()
    if args.out is not None:
        return run(args.out)
    with tempfile.TemporaryDirectory(prefix="modelship-checks-") as folder:
        code = run(Path(folder))
        print("(the reports were in a temporary folder, removed now; --out DIR keeps them)")
        return code


def run(out: Path) -> int:
    """Profile, check, write the reports into ``out``; the suite's exit code."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    train = make_data(rng, 20_000)
    batch = make_data(rng, 5_000, shift=0.8)

    profile = DriftProfile.from_data(train)
    (out / "profile.json").write_text(profile.to_json(), encoding="utf-8")
    stored = DriftProfile.from_json((out / "profile.json").read_text(encoding="utf-8"))

    suite = run_suite(
        [
            DataDrift(reference=stored, current=batch),
            PredictionDrift(reference=score(train), current=score(batch), severity="advisory"),
            stored.schema.check(batch),
        ]
    )
    suite.to_junit(out / "checks.xml")
    (out / "summary.md").write_text(suite.to_markdown(), encoding="utf-8")

    print(suite.summary())
    age = suite["data_drift"].columns["age"]
    print(f"\nage: {age.method} p={age.p_value:.2g}, {age.effect_method} {age.effect_size:.2f}")
    print(f"reports: {out / 'checks.xml'}, {out / 'summary.md'}")
    print(
        f"a CI step would exit {suite.exit_code()} ({suite.exit_code(strict=True)} with --strict)"
    )
    return suite.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
