"""r2 and rmse do not depend on the targets' units: no square underflows or overflows."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.checks.stats._metrics import r2, rmse


@pytest.mark.parametrize("scale", [1e-170, 1e-100, 1.0, 1e100, 1e160])
def test_r2_and_rmse_scale_with_the_targets(scale: float) -> None:
    # Review 52l: at 1e-170 both sums of squares underflowed to 0 (r2 1.0 and rmse 0 for
    # any model); at 1e160 rmse was inf.
    rng = np.random.default_rng(3)
    y = rng.normal(size=200)
    pred = y + rng.normal(scale=0.5, size=200)
    assert r2(y * scale, pred * scale) == pytest.approx(r2(y, pred), rel=1e-12)
    assert rmse(y * scale, pred * scale) / scale == pytest.approx(rmse(y, pred), rel=1e-12)


def test_a_perfect_fit_and_a_constant_target_keep_their_values() -> None:
    assert rmse([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert r2([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert r2([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert r2([2.0, 2.0], [2.0, 3.0]) == 0.0


def test_r2_of_a_tiny_spread_is_its_exact_value() -> None:
    # Found by the final README run: scikit-learn's sums underflow here and read the
    # target as constant (1.0); predicting 0 for [0, 7e-205] is r2 -1.
    assert r2([0.0, 7.0559726885788065e-205], [0.0, 0.0]) == -1.0
