"""Two-sample drift statistics on sorted columns, exact or against a reference summary.

Every numeric function takes columns that are already **sorted, finite, float64, 1-D and
C-contiguous**, as :func:`sorted_finite` returns them, so that a column is sorted once and
every statistic reuses that order. Functions check that promise (one cheap pass) and raise
:class:`~modelship.errors.CheckInputError` when it is broken, and
:class:`~modelship.errors.EmptyData` when a sample has no values.

The figures agree with SciPy's reference implementations (``ks_2samp``,
``wasserstein_distance``, ``cramervonmises_2samp``, ``chi2_contingency``,
``scipy.spatial.distance.jensenshannon``), including their choice between exact and
asymptotic p-values, but are computed without a merged sort of the two samples. One
deliberate difference: with tied values, Cramér-von Mises is Anderson's statistic by its
definition (the distribution functions' squared gap over the pooled values), which
SciPy's rank formula inflates, and its p-value is that of the null distribution under
those ties (SciPy refers it to the law without ties, which rejects samples of a few values
from one distribution too often).


* the KS statistic is found by bounding :math:`|F_a - F_b|` on a coarse grid and refining
  only the intervals that could still hold the maximum, in exact integer arithmetic;
* the Wasserstein distance is integrated over quantile levels,
  :math:`\\int_0^1 |Q_a(u) - Q_b(u)|\\,du`, which needs no merge at all;
* PSI and Jensen-Shannon use the same bins, bounded by reference quantiles, so they cost
  two binary searches per edge;
* SciPy's asymptotic KS p-value costs O(n) for large samples (0.5 s at n = 500,000); the
  same number is computed here with a 1024-node quadrature.

When only a :class:`QuantileSummary` of the reference is kept
(a drift profile), ``ks_from_summary``, ``wasserstein_from_summary`` and
``psi_from_summary`` give the statistics within proven bounds of the exact ones.

The package holds one module per statistic family (``_ks``, ``_wasserstein``, ``_cvm``,
``_binned``, ``_proportions``, ``_pvalues``, the quantile summary and the statistics
computed against it) over a leaf of shared column helpers (``_columns``). Two families
take unsorted labels and scores instead, as the bias and degradation checks use them:
``_metrics`` (classification and regression metrics; DeLong, McNemar and the paired
bootstrap for comparing two models on the same rows) and ``_fairness`` (per-group rates
and the disparities between groups, with bootstrap intervals). A new family
(classification metrics, bootstrap intervals, rank tests) is a new module here, re-exported
below.

Examples
--------
>>> import numpy as np
>>> from modelship.checks import stats
>>> rng = np.random.default_rng(0)
>>> ref = stats.sorted_finite(rng.normal(size=2_000))
>>> cur = stats.sorted_finite(rng.normal(0.5, 1.0, size=1_500))
>>> drift = stats.numeric_drift(ref, cur)
>>> drift.ks_p < 1e-6, drift.psi > drift.psi_critical
(True, True)
"""

from __future__ import annotations

from modelship.checks.stats._binned import (
    binned_counts,
    chi2,
    jensen_shannon,
    psi,
    psi_critical_value,
    quantile_edges,
)

# FloatArray, IntArray and PValueMethod (below) stay importable from here, as before the
# split into modules: type aliases users may annotate with, though not in __all__.
from modelship.checks.stats._columns import FloatArray as FloatArray
from modelship.checks.stats._columns import IntArray as IntArray
from modelship.checks.stats._columns import sorted_finite
from modelship.checks.stats._cvm import cramervonmises
from modelship.checks.stats._fairness import (
    DisparityEstimate,
    confusion_table,
    disparities,
    estimate_disparities,
    group_rates,
)
from modelship.checks.stats._from_summary import (
    ks_from_summary,
    psi_from_summary,
    wasserstein_from_summary,
)
from modelship.checks.stats._ks import ks
from modelship.checks.stats._metrics import (
    MetricSpec,
    PairedInterval,
    accuracy,
    brier,
    delong,
    f1,
    log_loss,
    mae,
    mcnemar_exact,
    paired_bootstrap,
    precision,
    r2,
    recall,
    rmse,
    roc_auc,
)
from modelship.checks.stats._numeric import NumericDrift, numeric_drift
from modelship.checks.stats._proportions import two_proportion
from modelship.checks.stats._pvalues import PValueMethod as PValueMethod
from modelship.checks.stats._pvalues import adjust_p_values
from modelship.checks.stats._sketch import QuantileSummary
from modelship.checks.stats._wasserstein import population_std, wasserstein

__all__ = [
    "DisparityEstimate",
    "MetricSpec",
    "NumericDrift",
    "PairedInterval",
    "QuantileSummary",
    "accuracy",
    "adjust_p_values",
    "binned_counts",
    "brier",
    "chi2",
    "confusion_table",
    "cramervonmises",
    "delong",
    "disparities",
    "estimate_disparities",
    "f1",
    "group_rates",
    "jensen_shannon",
    "ks",
    "ks_from_summary",
    "log_loss",
    "mae",
    "mcnemar_exact",
    "numeric_drift",
    "paired_bootstrap",
    "population_std",
    "precision",
    "psi",
    "psi_critical_value",
    "psi_from_summary",
    "quantile_edges",
    "r2",
    "recall",
    "rmse",
    "roc_auc",
    "sorted_finite",
    "two_proportion",
    "wasserstein",
    "wasserstein_from_summary",
]
