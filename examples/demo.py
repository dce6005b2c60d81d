"""End-to-end demo on the embedded defaults: a registry in a local folder.

Trains a small logistic-regression model with numpy, registers two versions with their
metrics, data fingerprints and a drift profile of the training data, promotes the better
one to ``production``, loads it back (verified against its digest before unpickling),
prints the alias history, and checks two new batches for drift against the production
profile (no training data needed), printing the CI summary. Then it deploys: version 1 of
a fraud model blue-green on the local deployer (real ``modelship serve`` processes on
127.0.0.1 behind a router), sends traffic, deploys version 2, rolls back, and prints the
rollout history (``deploy_local.py`` beside this file; needs the ``serve`` extra and
scikit-learn, which ``nox -s demo`` installs). Last, a version that is 200 ms slower is
canaried under traffic and rolled back by its latency policy with no request failing
(``canary_local.py``).

Run: ``python examples/demo.py [--registry PATH]`` (default: a new temporary folder). The
registry is kept, for you to look at afterwards: its path is printed first and last, with
the command that lists its versions; remove the folder when done.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

import modelship as ms


def make_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(n, 4)) * np.array([1.0, 0.2, 1.0, 3.0])
    logits = x @ np.array([1.5, -10.0, 0.5, 0.0]) - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(np.float64)
    return x, y


FEATURES = ["tenure", "spend", "visits", "noise"]


def columns(x: np.ndarray) -> dict[str, np.ndarray]:
    return dict(zip(FEATURES, x.T, strict=True))


def train(x: np.ndarray, y: np.ndarray, steps: int, lr: float = 0.1) -> np.ndarray:
    """Logistic regression by gradient descent; returns weights with the bias last."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        w -= lr * xb.T @ (p - y) / len(y)
    return w


def accuracy(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    xb = np.hstack([x, np.ones((len(x), 1))])
    return float(np.mean(((xb @ w) > 0) == (y > 0.5)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", help="registry URL or folder (default: a new temp folder)")
    args = parser.parse_args(argv)
    url = args.registry or tempfile.mkdtemp(prefix="modelship-demo-")

    rng = np.random.default_rng(7)
    x_train, y_train = make_data(rng, 5_000)
    x_test, y_test = make_data(rng, 2_000)

    reg = ms.open_registry(url)
    print(f"registry: {url}")
    for steps in (1, 300):
        w = train(x_train, y_train, steps)
        mv = reg.register(
            model_name="churn",
            model=w,
            metrics={"accuracy": accuracy(w, x_test, y_test)},
            params={"steps": steps, "lr": 0.1},
            tags={"algorithm": "logistic-regression"},
            data={"train": x_train, "test": x_test},
            profile=columns(x_train),  # a drift profile and schema, stored with the version
        )
        print(
            f"registered churn v{mv.version}: accuracy={mv.metrics['accuracy']:.3f} "
            f"digest={mv.artifact.digest[:19]}"
        )

        if mv.version == "1":
            reg.set_alias("churn", "production", "1")
            print("production -> v1")

    # Promote the candidate only if it beats production, and only if nobody moved
    # production meanwhile (compare-and-swap on the alias).
    live = reg.get("churn", "@production")
    candidate = reg.get("churn", "latest")
    best = max(live, candidate, key=lambda mv: mv.metrics["accuracy"])
    if best is candidate:
        reg.set_alias("churn", "production", candidate.version, expected=live.version)
        print(f"production -> v{candidate.version}")

    weights = reg.load("churn", "@production")  # digest checked before unpickling
    print(f"loaded @production: accuracy {accuracy(weights, x_test, y_test):.3f}")
    assert accuracy(weights, x_test, y_test) == best.metrics["accuracy"]

    print("alias history:")
    for move in reg.history("churn"):
        print(f"  {move.at:%H:%M:%S} {move.alias}: {move.from_version} -> {move.to_version}")

    # Later, in CI: is new data still like what production was trained on?
    production = reg.get("churn", "@production")
    quiet, _ = make_data(np.random.default_rng(8), 3_000)
    moved = quiet.copy()
    moved[:, 1] += 0.15  # "spend" moved by three quarters of its standard deviation
    for label, batch in (("same distribution", quiet), ("spend shifted", moved)):
        suite = ms.checks.run_suite(
            [
                ms.checks.DataDrift(reference=production.profile, current=columns(batch)),
                production.schema.check(columns(batch)),
            ]
        )
        drifted = [c for c, r in suite.results[0].columns.items() if r.drifted]
        print(f"batch with {label}: passed={suite.passed} drifted={drifted}")
    print(suite.to_markdown())

    # Before a candidate ships: does it select one group of people less than the others?
    import bias_and_degradation  # beside this script

    assert bias_and_degradation.stop_a_biased_candidate(), "the bias gate must stop it"

    # Before deploying: a scaler refitted on other data is stopped by the behaviour check.
    import parity  # beside this script

    print(f"refitted scaler stopped by parity: {parity.behaviour_check(url)}")

    # Put a model into service and take it back out: blue-green on the local deployer.
    import deploy_local  # beside this script

    deploy_local.main(url)

    # A slower version canaried under traffic is rolled back on its own; users never notice.
    import canary_local  # beside this script

    canary_local.main(url)
    # Kept on purpose (the last line says how to look at it): the demo's point is a
    # registry one can inspect. Only a folder the demo made itself is for the user to remove.
    made = "" if args.registry else "; remove the folder when done"
    command = f"python -m modelship registry versions {url} churn"
    print(f"registry kept in {url}; inspect it: {command}{made}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
