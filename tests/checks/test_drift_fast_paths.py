"""The drift engine's fast paths give what the plain computations give.

Counts of NaN and infinities read from the sort, integer categories counted with
``np.bincount``, the equal-size exact KS p-value read from a per-size table, and columns
spread over threads: each is checked against the straightforward way.
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats as sps

from modelship.checks import DataDrift, run_suite
from modelship.checks._tabular import Column, ColumnKind
from modelship.checks.stats import _ks
from modelship.checks.stats._columns import sorted_finite_counts

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

specials = st.sampled_from([math.nan, math.inf, -math.inf])
values_with_specials = st.lists(
    st.one_of(st.floats(-1e6, 1e6, allow_nan=False), specials), min_size=0, max_size=60
)


@FAST
@given(values_with_specials)
def test_sorted_finite_counts_drops_and_counts_what_isnan_and_isinf_find(values: Any) -> None:
    x = np.asarray(values, dtype=np.float64)
    finite, n_nan, n_inf = sorted_finite_counts(x)
    assert n_nan == int(np.isnan(x).sum())
    assert n_inf == int(np.isinf(x).sum())
    np.testing.assert_array_equal(finite, np.sort(x[np.isfinite(x)]))


@FAST
@given(
    values_with_specials, st.integers(0, 10), st.sampled_from([np.float64, np.float32, np.int64])
)
def test_sorting_into_a_buffer_gives_what_sorting_into_a_new_array_gives(
    values: Any, spare: int, dtype: Any
) -> None:
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)].astype(np.int64) if dtype is np.int64 else x.astype(dtype)
    buffer = np.full(x.size + spare, 7.0)
    finite, n_nan, n_inf = sorted_finite_counts(x, buffer)
    expected = sorted_finite_counts(x)
    np.testing.assert_array_equal(finite, expected[0])
    assert (n_nan, n_inf) == expected[1:]
    assert finite.size == 0 or np.shares_memory(finite, buffer)


def test_a_buffer_too_short_is_not_used() -> None:
    buffer = np.zeros(2)
    finite, _, _ = sorted_finite_counts(np.array([3.0, 1.0, 2.0]), buffer)
    assert finite.tolist() == [1.0, 2.0, 3.0]
    assert not np.shares_memory(finite, buffer)


@FAST
@given(
    st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32]),
    st.lists(st.integers(-300, 300), min_size=1, max_size=80),
)
def test_integer_categories_are_counted_like_their_labels(dtype: Any, codes: list[int]) -> None:
    info = np.iinfo(dtype)
    values = np.asarray([min(max(c, info.min), info.max) for c in codes]).astype(dtype)
    column = Column(name="c", kind=ColumnKind.CATEGORICAL, dtype=str(values.dtype), values=values)
    expected = Counter(str(int(v)) for v in values.tolist())
    assert column.category_counts() == (dict(sorted(expected.items())), 0)


@FAST
@given(hnp.arrays(bool, st.integers(1, 50)))
def test_boolean_categories_are_counted_like_their_labels(values: Any) -> None:
    column = Column(name="b", kind=ColumnKind.CATEGORICAL, dtype="bool", values=values)
    expected = Counter(str(bool(v)) for v in values.tolist())
    assert column.category_counts() == (dict(sorted(expected.items())), 0)


@FEW
@given(st.integers(0, 2**32 - 1), st.sampled_from([np.int32, np.int64, np.uint16]))
def test_long_integer_code_columns_are_counted_like_their_labels(seed: int, dtype: Any) -> None:
    # Long columns whose largest codes rise and fall along the column.
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 4) * 65_536 + rng.integers(0, 1000))
    top = rng.integers(1, 5000, size=size // 1000 + 1).repeat(1000)[:size]
    values = (rng.integers(0, 1 << 30, size=size) % top).astype(dtype)
    column = Column(name="c", kind=ColumnKind.CATEGORICAL, dtype=str(values.dtype), values=values)
    labels, counts = np.unique(values, return_counts=True)
    expected = {str(label): int(count) for label, count in zip(labels, counts, strict=True)}
    assert column.category_counts() == (dict(sorted(expected.items())), 0)


def test_a_code_too_wide_for_a_tally_at_the_end_of_a_long_column_is_still_counted() -> None:
    values = np.zeros(3 * 65_536, dtype=np.int64)
    values[-1] = 10**12
    column = Column(name="id", kind=ColumnKind.CATEGORICAL, dtype="int64", values=values)
    assert column.category_counts() == ({"0": values.size - 1, "1000000000000": 1}, 0)


def test_integer_codes_spread_too_wide_for_a_tally_are_still_counted() -> None:
    values = np.array([-(10**12), 0, 0, 10**12], dtype=np.int64)
    column = Column(name="id", kind=ColumnKind.CATEGORICAL, dtype="int64", values=values)
    assert column.category_counts() == ({"-1000000000000": 1, "0": 2, "1000000000000": 1}, 0)


@FAST
@given(st.integers(1, 3000), st.data())
def test_equal_size_exact_ks_p_value_agrees_with_scipy_and_takes_its_branch(
    n: int, data: Any
) -> None:
    h = data.draw(st.integers(1, n))
    assert _ks._scipy_ks_equal is not None
    theirs = float(_ks._scipy_ks_equal(n, h))
    ours = _ks._ks_exact_sf(n, n, h)
    # SciPy takes the asymptotic p-value when its exact one leaves [0, 1]: so must we.
    assert (0.0 <= ours <= 1.0) == (0.0 <= theirs <= 1.0)
    assert math.isclose(ours, theirs, rel_tol=2e-12, abs_tol=1e-300)


@FAST
@given(st.integers(141, 400_000), st.floats(1e-6, 0.999))
def test_asymptotic_ks_p_value_is_kstwo_bit_for_bit_where_scipy_computes_it(
    n: int, d: float
) -> None:
    nx2 = n * d * d
    assume(not 2.2 <= nx2 < 370.0)  # computed by our own quadrature there
    assume(not (nx2 < 2.2 and 30_000 < n <= 100_000 and n * d**1.5 <= 1.4))  # 1 there
    assert _ks._kstwo_sf(d, float(n)) == float(sps.kstwo.sf(d, float(n)))


def _columns(seed: int, n_columns: int, rows: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for j in range(n_columns):
        values = rng.normal(0.05 * j * (seed % 3), 1.0, rows)
        values[rng.random(rows) < 0.05 * (j % 3)] = np.nan
        values[rng.random(rows) < 0.02 * (j % 2)] = np.inf
        out[f"x{j}"] = values
    out["plan"] = rng.integers(0, 4 + seed % 3, rows)
    return out


@FEW
@given(st.integers(0, 10_000), st.integers(2, 8), st.integers(20, 2000), st.integers(20, 2000))
def test_threads_give_the_same_json_bytes_as_one_thread(
    seed: int, n_columns: int, ref_rows: int, cur_rows: int
) -> None:
    reference = _columns(seed, n_columns, ref_rows)
    current = _columns(seed + 1, n_columns, cur_rows)
    kinds = {"plan": "categorical"}
    one = run_suite([DataDrift(reference=reference, current=current, kinds=kinds)]).to_json()
    for n_jobs in (2, -1):
        threads = DataDrift(reference=reference, current=current, kinds=kinds, n_jobs=n_jobs)
        assert run_suite([threads]).to_json() == one


def test_more_threads_than_columns_still_gives_every_column_in_order() -> None:
    reference = _columns(1, 2, 300)
    current = _columns(2, 2, 300)
    kinds = {"plan": "categorical"}
    result = DataDrift(reference=reference, current=current, kinds=kinds, n_jobs=16).run()
    assert list(result.columns) == ["x0", "x1", "plan"]


def test_a_numeric_drift_check_calls_no_blas(monkeypatch: Any) -> None:
    """BLAS (``np.dot``) spreads a dot product of 16k+ elements over every core, and its
    threads then spin: a 1M x 20 check burned 0.53 s of CPU for 0.27 s of wall time. The
    drift engine's sums of products are ``einsum``'s single-threaded loop instead.
    """
    from modelship.checks import DriftProfile
    from modelship.checks.stats import population_std, sorted_finite, wasserstein

    rng = np.random.default_rng(3)
    reference = rng.normal(size=(70_000, 2))
    unequal = rng.normal(0.1, 1.0, size=(50_000, 2))
    expected = (
        DataDrift(reference=reference, current=reference[::-1]).run(),
        DataDrift(reference=reference, current=unequal).run(),
    )
    profile = DriftProfile.from_data(reference)

    def no_blas(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("np.dot called: BLAS threads would spin on every core")

    for name in ("dot", "vdot", "inner", "matmul"):
        monkeypatch.setattr(np, name, no_blas)
    same = DataDrift(reference=reference, current=reference[::-1]).run()
    shifted = DataDrift(reference=reference, current=unequal).run()
    DataDrift(reference=profile, current=unequal).run()
    assert (same.status, shifted.status) == (expected[0].status, expected[1].status)
    assert same.to_dict()["columns"] == expected[0].to_dict()["columns"]
    column = sorted_finite(reference[:, 0])
    population_std(column)
    wasserstein(column, sorted_finite(unequal[:, 0]))


def _blas_calls(path: Path) -> list[tuple[str, int]]:
    """``(top-level function, line)`` of every ``np.dot``/``vdot``/``inner``/``matmul``
    call and every ``@`` in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for top in tree.body:
        name = getattr(top, "name", "<module>")
        for node in ast.walk(top):
            matmul = isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)
            call = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "np"
                and node.func.attr in {"dot", "vdot", "inner", "matmul"}
            )
            if matmul or call:
                found.append((name, node.lineno))
    return found


def test_the_statistics_use_blas_only_for_the_bootstraps_matrix_product() -> None:
    """A vector product goes through ``stats._columns.dot`` (``einsum``): BLAS's would
    spin a thread per core (DeLong on 1M rows: 73 ms of CPU for 37 ms of wall time). Only
    the bootstrap's matrix product, where BLAS's threads pay for themselves, is BLAS."""
    import modelship.checks.stats
    import modelship.monitor

    allowed = {("_metrics.py", "paired_bootstrap")}
    found = []
    for package in (modelship.checks.stats, modelship.monitor):
        for path in sorted(Path(package.__file__).parent.glob("*.py")):
            found += [(path.name, name, line) for name, line in _blas_calls(path)]
    assert {(module, name) for module, name, _ in found} <= allowed, found
    assert found, "the bootstrap's matrix product moved: update this test"
