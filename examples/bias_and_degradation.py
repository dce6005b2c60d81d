"""Bias and degradation checks: two candidates against the model in production.

Registers a production churn model, then judges two candidates on the same holdout:

* candidate A is a little better everywhere: it passes both checks;
* candidate B was trained without the southern region's data and pushes the scores of
  the "65+" age band down: it is worse than production, worst in the south (named first
  in ``worst_segments``), and misses the 65+ churners (the bias check names the group).
  The suite fails: a CI step would exit 1.

The baseline is loaded from the registry by alias and verified against its digest.
Reports (JUnit XML, Markdown, JSON) go to ``--out``.

:func:`stop_a_biased_candidate` is the bias step of ``demo.py``: a candidate whose
selection rate is lower for one age band is stopped by the bias check, a fair one ships.

Run: ``python examples/bias_and_degradation.py [--out DIR]``: the registry and the reports
are kept in ``DIR``; by default they go to a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

import modelship as ms
from modelship.checks import Bias, Degradation, run_suite


class ChurnModel:
    """A logistic model over four features; optionally other weights in the south, and an
    offset for the 65+ age band (the flaws of candidate B)."""

    def __init__(
        self,
        weights: list[float],
        south_weights: list[float] | None = None,
        old_offset: float = 0.0,
    ) -> None:
        self.weights = np.array(weights)
        self.south_weights = np.array(south_weights if south_weights is not None else weights)
        self.old_offset = old_offset

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        # Columns 0-3 are features; column 4 flags the southern region, column 5 the 65+ band.
        z = np.where(x[:, 4] == 1, x[:, :4] @ self.south_weights, x[:, :4] @ self.weights)
        p = 1 / (1 + np.exp(-(z + self.old_offset * x[:, 5])))
        return np.column_stack([1 - p, p])


def make_holdout(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, dict]:
    features = rng.normal(size=(n, 4))
    south = rng.random(n) < 0.3
    age_band = rng.choice(["18-34", "35-64", "65+"], n, p=[0.35, 0.45, 0.2])
    x = np.column_stack([features, south, age_band == "65+"]).astype(float)
    z = features @ np.array([1.2, -0.8, 0.5, 0.0]) + rng.logistic(size=n) * 0.6
    y = (z > 0).astype(int)
    sensitive = {"age_band": age_band, "sex": rng.choice(["F", "M"], n)}
    return x, y, {"sensitive": sensitive, "region": np.where(south, "south", "north")}


def judge(name: str, candidate: ChurnModel, reg: ms.Registry, data: tuple, out: Path) -> bool:
    x, y, meta = data
    labels = (candidate.predict_proba(x)[:, 1] >= 0.5).astype(int)
    suite = run_suite(
        [
            Bias(y_true=y, y_pred=labels, sensitive=meta["sensitive"], name=f"bias ({name})"),
            Degradation(
                candidate=candidate,
                baseline=reg.get("churn", "@production"),
                registry=reg,
                X=x,
                y=y,
                metrics=["roc_auc", "accuracy", "f1", "brier"],
                segments=meta["region"],
                segment_inconclusive="warn",
                latency_budget=3.0,
                name=f"degradation ({name})",
            ),
        ]
    )
    suite.to_junit(out / f"{name}.xml")
    (out / f"{name}.md").write_text(suite.to_markdown(), encoding="utf-8")
    (out / f"{name}.json").write_text(suite.to_json(), encoding="utf-8")
    print(f"== {name} ==")
    print(suite.summary())
    degradation = suite.results[1]
    for metric, m in degradation.metrics.items():  # type: ignore[attr-defined]
        print(
            f"  {metric:<9} {m.candidate:.4f} vs {m.baseline:.4f}  "
            f"[{m.ci_low:+.4f}, {m.ci_high:+.4f}]  {m.verdict.value}"
        )
    print(f"  worst segments: {list(degradation.worst_segments)}")  # type: ignore[attr-defined]
    eo = suite.results[0].disparities["equalized_odds_difference"]  # type: ignore[attr-defined]
    print(f"  equalized odds difference {eo.value:.3f} [{eo.ci_low:.3f}, {eo.ci_high:.3f}]")
    return suite.passed


def stop_a_biased_candidate(seed: int = 11, n: int = 6_000) -> bool:
    """The demo's bias gate: a candidate that selects the 65+ band less is stopped.

    Two candidates score the same holdout. The fair one ignores age; the biased one lowers
    its scores for the 65+ band, so fewer of them are selected (predicted to churn, and
    offered the retention discount) than of anyone else. The bias check computes each
    group's selection rate, true and false positive rates, and the disparities between
    groups with bootstrap intervals: the fair candidate passes, the biased one fails on
    demographic parity, equalized odds and equal opportunity, naming the groups.

    Returns whether the gate behaved (fair passed, biased stopped). Under a second.
    """
    x, y, meta = make_holdout(np.random.default_rng(seed), n)
    age_band = meta["sensitive"]["age_band"]
    candidates = {
        "fair": ChurnModel([1.2, -0.8, 0.5, 0.0]),
        "biased against 65+": ChurnModel([1.2, -0.8, 0.5, 0.0], old_offset=-1.5),
    }
    verdicts = {}
    for name, model in candidates.items():
        selected = (model.predict_proba(x)[:, 1] >= 0.5).astype(int)
        suite = run_suite(
            [Bias(y_true=y, y_pred=selected, sensitive={"age_band": age_band}, name="bias")]
        )
        bias = suite.results[0]
        rates = ", ".join(
            f"{label} {group.selection_rate:.2f}"
            for label, group in bias.groups.items()  # type: ignore[attr-defined]
        )
        dpd = bias.disparities["demographic_parity_difference"]  # type: ignore[attr-defined]
        print(f"== bias check, {name} candidate: {'ships' if suite.passed else 'STOPPED'} ==")
        print(f"  selection rate by age band: {rates}")
        print(
            f"  demographic parity difference {dpd.value:.3f} "
            f"[{dpd.ci_low:.3f}, {dpd.ci_high:.3f}], threshold {dpd.threshold}"
        )
        print(suite.summary())
        verdicts[name] = suite.passed
    return verdicts["fair"] and not verdicts["biased against 65+"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where reports are written")
    args = parser.parse_args()
    if args.out is not None:
        run(args.out)
        return
    with tempfile.TemporaryDirectory(prefix="modelship-bias-") as folder:
        run(Path(folder))
        print("(a temporary folder, removed now; --out DIR keeps the registry and reports)")


def run(out: Path) -> None:
    """Register production in ``out``, judge both candidates, write the reports there."""
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(7)
    data = make_holdout(rng, 20_000)
    reg = ms.open_registry(str(out / "registry"))
    production = ChurnModel([1.0, -0.6, 0.3, 0.0])
    reg.register(model_name="churn", model=production)
    reg.set_alias("churn", "production", "1")

    a_passed = judge("candidate-a", ChurnModel([1.2, -0.8, 0.5, 0.0]), reg, data, out)
    flawed = ChurnModel([1.2, -0.8, 0.5, 0.0], south_weights=[0.4, -0.2, 0.6, 0.3], old_offset=-1.0)
    b_passed = judge("candidate-b", flawed, reg, data, out)
    assert a_passed, "candidate A is better everywhere and should pass"
    assert not b_passed, "candidate B is worse for one region and one group and must be stopped"
    print(f"candidate A ships, candidate B is stopped; reports in {out}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    # Run as the module, not as __main__: the registered ChurnModel is then pickled as
    # bias_and_degradation.ChurnModel, which a model server could import too.
    import bias_and_degradation

    bias_and_degradation.main()
