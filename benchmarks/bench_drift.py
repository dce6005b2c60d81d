"""How fast is the numeric drift engine? Prints one table, measured in one run.

Rows (defaults: 1,000,000 rows x 20 float64 columns, reference and current each):

* the numeric suite (``sorted_finite`` + ``numeric_drift``: KS, Wasserstein, PSI, JS per
  column) against the *sort limit*, the time NumPy takes just to ``np.sort`` every column
  of both samples. Target: at most 1.5x.
* the same suite against a plain loop over ``scipy.stats.ks_2samp`` and
  ``scipy.stats.wasserstein_distance``. Target: at least 10x faster.
* the suite's peak traced memory (tracemalloc sees NumPy's allocations) against the
  input arrays' bytes. Target: at most 2x.
* 10 categorical columns of 50 categories: ``np.bincount`` counts + ``stats.chi2`` against
  ``np.unique`` counts + ``scipy.stats.chi2_contingency``. Target: faster.

Columns are column-major (contiguous), as a data frame's columns usually are. Everything
runs single-threaded. ``--quick`` uses 100,000 rows, for a smoke run.

    python benchmarks/bench_drift.py [--quick] [--rows N] [--columns C] [--repeat R]
"""

from __future__ import annotations

import os

# Single-threaded: BLAS (np.dot) must not fan out. Set before NumPy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats as sps  # noqa: E402

from modelship.checks import stats  # noqa: E402

Array = np.ndarray[Any, Any]


def best_time(run: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def numeric_data(rows: int, columns: int, seed: int, current_rows: int) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    reference = np.asfortranarray(rng.normal(size=(rows, columns)))
    # Half the columns drift a little (shift and scale), half do not.
    shift = np.where(np.arange(columns) % 2 == 1, 0.02 * np.arange(columns), 0.0)
    scale = np.where(np.arange(columns) % 4 == 3, 1.1, 1.0)
    current = np.asfortranarray(rng.normal(shift, scale, size=(current_rows, columns)))
    return reference, current


def sort_limit(reference: Array, current: Array) -> None:
    for j in range(reference.shape[1]):
        np.sort(reference[:, j])
        np.sort(current[:, j])


def suite(reference: Array, current: Array) -> list[stats.NumericDrift]:
    results = []
    for j in range(reference.shape[1]):
        # Each pair lives until the next replaces it. (Freeing both sorted columns before
        # the next sort lets glibc trim the heap, and the next sort then faults 16 MB of
        # fresh pages back in: about +0.2x on the sort-limit ratio, an allocator artifact.)
        a = stats.sorted_finite(reference[:, j])
        b = stats.sorted_finite(current[:, j])
        results.append(stats.numeric_drift(a, b))
    return results


def scipy_loop(reference: Array, current: Array) -> list[tuple[float, float, float]]:
    out = []
    for j in range(reference.shape[1]):
        ks = sps.ks_2samp(reference[:, j], current[:, j])
        w = sps.wasserstein_distance(reference[:, j], current[:, j])
        out.append((float(ks.statistic), float(ks.pvalue), float(w)))
    return out


def categorical_ours(reference: Array, current: Array, k: int) -> list[tuple[float, float]]:
    return [
        stats.chi2(
            np.bincount(reference[:, j], minlength=k), np.bincount(current[:, j], minlength=k)
        )
        for j in range(reference.shape[1])
    ]


def categorical_scipy(reference: Array, current: Array) -> list[tuple[float, float]]:
    out = []
    for j in range(reference.shape[1]):
        ref_values, ref_counts = np.unique(reference[:, j], return_counts=True)
        cur_values, cur_counts = np.unique(current[:, j], return_counts=True)
        categories = np.union1d(ref_values, cur_values)
        table = np.zeros((2, categories.size), dtype=np.int64)
        table[0, np.searchsorted(categories, ref_values)] = ref_counts
        table[1, np.searchsorted(categories, cur_values)] = cur_counts
        result = sps.chi2_contingency(table)
        out.append((float(result[0]), float(result[1])))
    return out


def peak_memory(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def check_agreement(
    ours: list[stats.NumericDrift], theirs: list[tuple[float, float, float]]
) -> None:
    for drift, (d, p, w) in zip(ours, theirs, strict=True):
        assert math.isclose(drift.ks, d, rel_tol=1e-9, abs_tol=1e-12), (drift.ks, d)
        assert math.isclose(drift.ks_p, p, rel_tol=1e-6, abs_tol=1e-12), (drift.ks_p, p)
        assert math.isclose(drift.wasserstein, w, rel_tol=1e-9), (drift.wasserstein, w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows: a smoke run")
    parser.add_argument("--rows", type=int, default=None, help="rows per sample")
    parser.add_argument("--columns", type=int, default=20, help="numeric columns")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    columns = args.columns
    categorical_columns = max(1, columns // 2)

    reference, current = numeric_data(rows, columns, args.seed, rows)
    input_bytes = reference.nbytes + current.nbytes

    t_sort = best_time(lambda: sort_limit(reference, current), args.repeat)
    t_suite = best_time(lambda: suite(reference, current), args.repeat)
    start = time.perf_counter()
    theirs = scipy_loop(reference, current)
    t_scipy = time.perf_counter() - start
    check_agreement(suite(reference, current), theirs)
    peak = peak_memory(lambda: suite(reference, current))

    # Unequal sizes (the usual case: reference and current rarely match), for information.
    _, current_short = numeric_data(rows, columns, args.seed + 1, rows - rows // 100)
    t_sort_uneq = best_time(lambda: sort_limit(reference, current_short), args.repeat)
    t_suite_uneq = best_time(lambda: suite(reference, current_short), args.repeat)

    k = 50
    rng = np.random.default_rng(args.seed + 2)
    ref_cat = np.asfortranarray(rng.integers(0, k, size=(rows, categorical_columns)))
    probs = np.linspace(1.0, 1.5, k)
    cur_cat = np.asfortranarray(
        rng.choice(k, size=(rows, categorical_columns), p=probs / probs.sum())
    )
    t_cat = best_time(lambda: categorical_ours(ref_cat, cur_cat, k), args.repeat)
    t_cat_scipy = best_time(lambda: categorical_scipy(ref_cat, cur_cat), 1)
    for (s1, p1), (s2, p2) in zip(
        categorical_ours(ref_cat, cur_cat, k), categorical_scipy(ref_cat, cur_cat), strict=True
    ):
        assert math.isclose(s1, s2, rel_tol=1e-9), (s1, s2)
        assert math.isclose(p1, p2, rel_tol=1e-6, abs_tol=1e-12), (p1, p2)

    print(
        f"numeric: {rows:,} rows x {columns} float64 columns, reference and current; "
        f"categorical: {rows:,} x {categorical_columns} columns of {k} categories; "
        f"single-threaded, best of {args.repeat} (SciPy loops: one run); results agree"
    )
    header = (
        f"{'measurement':<58} {'ours':>10} {'baseline':>10} {'ratio':>8}  {'target':<9} verdict"
    )
    print(header)
    print("-" * len(header))

    def row(name: str, ours: str, base: str, ratio: float, target: str, ok: bool | None) -> None:
        mark = "-" if ok is None else verdict(ok)
        print(f"{name:<58} {ours:>10} {base:>10} {ratio:>7.2f}x  {target:<9} {mark}")

    r_sort = t_suite / t_sort
    row(
        "numeric suite / sort limit (np.sort of every column)",
        ms(t_suite),
        ms(t_sort),
        r_sort,
        "<= 1.5x",
        r_sort <= 1.5,
    )
    r_scipy = t_scipy / t_suite
    row(
        "speed-up over SciPy ks_2samp + wasserstein_distance loop",
        ms(t_suite),
        ms(t_scipy),
        r_scipy,
        ">= 10x",
        r_scipy >= 10,
    )
    r_mem = peak / input_bytes
    row(
        "suite peak memory / input array bytes",
        f"{peak / 2**20:,.0f} MiB",
        f"{input_bytes / 2**20:,.0f} MiB",
        r_mem,
        "<= 2x",
        r_mem <= 2,
    )
    r_cat = t_cat_scipy / t_cat
    row(
        "categorical speed-up: bincount+chi2 over unique+SciPy",
        ms(t_cat),
        ms(t_cat_scipy),
        r_cat,
        "> 1x",
        r_cat > 1,
    )
    row(
        f"numeric suite / sort limit, current has {rows - rows // 100:,} rows (info)",
        ms(t_suite_uneq),
        ms(t_sort_uneq),
        t_suite_uneq / t_sort_uneq,
        "",
        None,
    )


if __name__ == "__main__":
    main()
