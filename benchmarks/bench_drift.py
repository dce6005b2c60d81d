"""How fast is the drift check? Prints one table, every ratio against a baseline of the same run.

Rows (reference and current have the same shape; columns are column-major, as a data
frame's columns usually are):

* ``DataDrift(...).run()`` on 1,000,000, 100,000 and 10,000 rows x 20 float64 columns,
  against the *sort limit*: ``np.sort`` of every column of both samples. Targets: at
  most 1.3x at 1M on a first call, 1.5x at 100k, 5 ms in all at 10k.
* ``DataDrift(...)`` on 1,000,000 rows x 10 integer-coded categorical columns of 50
  categories, against ``np.bincount`` of the same codes (both samples). Target: 1.3x.
* The same 1,000,000 x 10 categories as data frames hold them, read by their codes:
  ``pd-category`` (pandas categoricals of 50 text categories) and ``arrow-dict`` (arrow
  dictionary arrays) against ``np.bincount`` of their codes (target: 1.3x, as for integer
  codes); ``pd-text`` (pandas columns of Python strings) against pandas' own
  ``Series.value_counts()`` of both samples, the fastest count a pandas user has;
  ``np-object`` (NumPy object arrays of strings, no data library) against
  ``collections.Counter`` of each column (no targets: reported).
* ``DataDrift(n_jobs=2)`` against ``n_jobs=1`` on 1M x 20 (threads). Target: 1.7x faster.

With ``--scipy``, a separate section after the main table (it adds a minute or two at
full size, so it is off by default; ``--only scipy:1000000`` runs it alone):

* ``scipy``: the numeric check on 1M x 20 against a loop of SciPy's ``ks_2samp`` +
  ``wasserstein_distance`` per column on the same data, with a check that the KS
  statistics and Wasserstein distances are SciPy's. Target: at least 10x faster.
* ``chi2``: the categorical check on 1M x 10 codes against a loop of ``np.unique`` (counts
  of both samples) + SciPy's ``chi2_contingency`` per column, with a check that the
  chi-square statistics are SciPy's (reported, no target).
* peak memory of one call (``tracemalloc``, which NumPy reports its buffers to), each in a
  fresh process: the numeric check against the SciPy loop, beside the input arrays' size.

"First call" is the first check in a fresh process (imports done, data generated, no
column sorted yet): each measurement is its own process, the check's and the
baseline's processes alternate, and the best of ``--repeat`` is kept for each. "Warm" is
in one process, check and baseline alternating, best of ``--repeat``. The machine may be
shared: best-of-N with interleaving keeps the ratios meaningful, but absolute times are
what a loaded machine gave. The n_jobs speed-up needs two idle cores to show.
``--quick`` is a smoke run: 10x fewer rows, and fresh processes for the first row only
(the others show "-" for their first call). Its targets column shows the full-size rows'
targets in brackets, not judged ("n/a"): a tenth of the rows is not what they are set for.

BLAS is left as users have it (not pinned to one thread), and each cell shows CPU time
beside wall time: CPU time above wall time would show BLAS threads at work.

    python benchmarks/bench_drift.py [--quick] [--repeat R] [--columns C] [--only KIND:ROWS]
                                     [--scipy]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

# BLAS is left as users have it (OpenBLAS: a thread per core). The check calls no BLAS:
# np.dot's threads spun after each call and doubled its CPU time, which shows here as CPU
# time above wall time.
from modelship.checks import DataDrift

Array = np.ndarray[Any, Any]
SEED = 20240601
CATEGORIES = 50


def numeric_data(rows: int, columns: int) -> tuple[Array, Array]:
    rng = np.random.default_rng(SEED)
    reference = np.asfortranarray(rng.normal(size=(rows, columns)))
    # Half the columns drift a little (shift and scale), half do not.
    shift = np.where(np.arange(columns) % 2 == 1, 0.02 * np.arange(columns), 0.0)
    scale = np.where(np.arange(columns) % 4 == 3, 1.1, 1.0)
    current = np.asfortranarray(rng.normal(shift, scale, size=(rows, columns)))
    return reference, current


def categorical_data(rows: int, columns: int) -> tuple[Array, Array]:
    rng = np.random.default_rng(SEED + 2)
    reference = np.asfortranarray(rng.integers(0, CATEGORIES, size=(rows, columns)))
    probs = np.linspace(1.0, 1.5, CATEGORIES)
    current = np.asfortranarray(rng.choice(CATEGORIES, size=(rows, columns), p=probs / probs.sum()))
    return reference, current


#: Rows of categories held by a data library: (how the columns are held, the baseline).
FRAMES = {
    "pd-category": "bincount",
    "arrow-dict": "bincount",
    "pd-text": "value_counts",
    "np-object": "Counter",
}


def frame_data(kind: str, rows: int, columns: int) -> tuple[Any, Any, Callable[[], object]]:
    """The categorical codes as ``kind`` holds them (reference, current), and the baseline."""
    ref_codes, cur_codes = categorical_data(rows, columns)
    labels = np.array([f"category {i:02d}" for i in range(CATEGORIES)], dtype=object)
    if kind == "np-object":
        ref_dict = {str(j): labels[ref_codes[:, j]] for j in range(columns)}
        cur_dict = {str(j): labels[cur_codes[:, j]] for j in range(columns)}

        def counter_limit() -> None:
            for data in (ref_dict, cur_dict):
                for column in data.values():
                    Counter(column.tolist())

        return ref_dict, cur_dict, counter_limit
    if kind == "arrow-dict":
        import pyarrow as pa

        def arrow(codes: Array) -> Any:
            return pa.table(
                {
                    str(j): pa.DictionaryArray.from_arrays(
                        pa.array(codes[:, j].astype(np.int32)), pa.array(labels.tolist())
                    )
                    for j in range(columns)
                }
            )

        ref, cur = arrow(ref_codes), arrow(cur_codes)

        def arrow_limit() -> None:
            for table in (ref, cur):
                for name in table.column_names:
                    for chunk in table.column(name).chunks:
                        np.bincount(chunk.indices.to_numpy(), minlength=CATEGORIES)

        return ref, cur, arrow_limit
    import pandas as pd

    def pandas(codes: Array) -> Any:
        if kind == "pd-category":
            return pd.DataFrame(
                {str(j): pd.Categorical.from_codes(codes[:, j], labels) for j in range(columns)}
            )
        return pd.DataFrame({str(j): labels[codes[:, j]] for j in range(columns)})

    ref, cur = pandas(ref_codes), pandas(cur_codes)

    def pandas_limit() -> None:
        for frame in (ref, cur):
            for name in frame.columns:
                if kind == "pd-category":
                    np.bincount(frame[name].array.codes, minlength=CATEGORIES)
                else:
                    frame[name].value_counts()

    return ref, cur, pandas_limit


def drift(reference: Any, current: Any, *, categorical: bool, n_jobs: int = 1) -> object:
    width = len(reference) if isinstance(reference, dict) else reference.shape[1]
    kinds = {str(j): "categorical" for j in range(width)} if categorical else None
    check = DataDrift(reference=reference, current=current, kinds=kinds, n_jobs=n_jobs)
    return check.run()


def sort_limit(reference: Array, current: Array) -> None:
    for j in range(reference.shape[1]):
        np.sort(reference[:, j])
        np.sort(current[:, j])


def bincount_limit(reference: Array, current: Array) -> None:
    for j in range(reference.shape[1]):
        np.bincount(reference[:, j], minlength=CATEGORIES)
        np.bincount(current[:, j], minlength=CATEGORIES)


def scipy_loop(reference: Array, current: Array) -> list[tuple[float, float]]:
    """SciPy's KS statistic and Wasserstein distance of every column, one call each."""
    from scipy.stats import ks_2samp, wasserstein_distance

    return [
        (
            float(ks_2samp(reference[:, j], current[:, j]).statistic),
            float(wasserstein_distance(reference[:, j], current[:, j])),
        )
        for j in range(reference.shape[1])
    ]


def chi2_loop(reference: Array, current: Array) -> list[float]:
    """``np.unique`` counts of both samples, then SciPy's ``chi2_contingency``, per column."""
    from scipy.stats import chi2_contingency

    out = []
    for j in range(reference.shape[1]):
        ref_values, ref_counts = np.unique(reference[:, j], return_counts=True)
        cur_values, cur_counts = np.unique(current[:, j], return_counts=True)
        categories = np.union1d(ref_values, cur_values)
        table = np.zeros((2, categories.size))
        table[0, np.searchsorted(categories, ref_values)] = ref_counts
        table[1, np.searchsorted(categories, cur_values)] = cur_counts
        out.append(float(chi2_contingency(table, correction=False).statistic))
    return out


#: The sections' baselines, by kind (the frames' are in FRAMES).
LIMITS = {
    "numeric": "np.sort",
    "categorical": "bincount",
    "scipy": "ks_2samp+wasserstein",
    "chi2": "unique+chi2_contingency",
}


def same_as_scipy(kind: str, ours: Any, theirs: Any) -> str:
    """Check that the check's statistics are SciPy's; a line saying how close they are."""
    columns = ours.columns
    if kind == "scipy":
        ks = max(abs(columns[str(j)].statistic - k) for j, (k, _) in enumerate(theirs))
        w = max(
            abs(columns[str(j)].details["wasserstein_raw"] - d) / max(abs(d), 1e-300)
            for j, (_, d) in enumerate(theirs)
        )
        assert ks <= 1e-12, f"KS statistic differs from SciPy's by {ks}"
        assert w <= 1e-9, f"Wasserstein distance differs from SciPy's by {w} (relative)"
        return (
            f"{kind}: KS statistics equal SciPy's ks_2samp (largest difference {ks:.1e}) and "
            f"Wasserstein distances SciPy's wasserstein_distance (relative {w:.1e})"
        )
    chi = max(
        abs(columns[str(j)].statistic - c) / max(abs(c), 1e-300) for j, c in enumerate(theirs)
    )
    assert chi <= 1e-9, f"chi-square statistic differs from SciPy's by {chi} (relative)"
    return (
        f"{kind}: chi-square statistics equal SciPy's chi2_contingency (relative difference "
        f"{chi:.1e})"
    )


def task(kind: str, rows: int, columns: int, subject: bool) -> Callable[[], object]:
    """The timed call: the check (``subject``) or its baseline, on fresh data."""
    if kind == "scipy":
        ref, cur = numeric_data(rows, columns)
        if subject:
            return lambda: drift(ref, cur, categorical=False)
        return lambda: scipy_loop(ref, cur)
    if kind == "chi2":
        ref, cur = categorical_data(rows, columns)
        if subject:
            return lambda: drift(ref, cur, categorical=True)
        return lambda: chi2_loop(ref, cur)
    if kind in FRAMES:
        ref_frame, cur_frame, limit = frame_data(kind, rows, columns)
        if subject:
            return lambda: drift(ref_frame, cur_frame, categorical=True)
        return limit
    if kind == "categorical":
        ref, cur = categorical_data(rows, columns)
        if subject:
            return lambda: drift(ref, cur, categorical=True)
        return lambda: bincount_limit(ref, cur)
    ref, cur = numeric_data(rows, columns)
    if subject:
        return lambda: drift(ref, cur, categorical=False)
    return lambda: sort_limit(ref, cur)


Times = tuple[float, float]  # (wall, CPU) seconds; best of each kept separately


def timed(run: Callable[[], object]) -> Times:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def best(a: Times, b: Times) -> Times:
    return min(a[0], b[0]), min(a[1], b[1])


NONE: Times = (math.inf, math.inf)


def child(kind: str, rows: int, columns: int, subject: bool) -> None:
    """In a fresh process: time one first call and print it."""
    run = task(kind, rows, columns, subject)
    print(*timed(run))


def memory_child(kind: str, rows: int, columns: int, subject: bool) -> None:
    """In a fresh process: the peak of memory allocated during one call, in bytes."""
    import tracemalloc

    run = task(kind, rows, columns, subject)
    tracemalloc.start()
    run()
    print(tracemalloc.get_traced_memory()[1])


def peak_memory(kind: str, rows: int, columns: int, subject: bool) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "--memory", kind, str(rows), str(columns)]
        + (["--subject"] if subject else []),
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return int(out.stdout.split()[-1])


def first_calls(kind: str, rows: int, columns: int, repeat: int) -> tuple[Times, Times]:
    """Best first-call times of the check and of its baseline, each in fresh processes."""
    found = {True: NONE, False: NONE}
    for _ in range(repeat):
        for subject in (True, False):
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(rows), str(columns)]
                + (["--subject"] if subject else []),
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            )
            wall, cpu = out.stdout.split()[-2:]
            found[subject] = best(found[subject], (float(wall), float(cpu)))
    return found[True], found[False]


def warm_calls(
    subject: Callable[[], object], baseline: Callable[[], object], repeat: int
) -> tuple[Times, Times, object, object]:
    """Best in-process times of each, alternating, after one call of each to warm up;
    and what that first call of each returned."""
    ours = subject()
    theirs = baseline()
    best_s = best_b = NONE
    for _ in range(repeat):
        best_s = best(best_s, timed(subject))
        best_b = best(best_b, timed(baseline))
    return best_s, best_b, ours, theirs


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 10x fewer rows, fresh processes for the first row only",
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per timing, best kept (5; --quick: 1-2)"
    )
    parser.add_argument("--columns", type=int, default=20, help="numeric columns")
    parser.add_argument(
        "--only",
        action="append",
        metavar="KIND:ROWS",
        help="run only these rows (e.g. numeric:10000, categorical:1000000; repeatable); "
        "'jobs' selects the n_jobs row",
    )
    parser.add_argument(
        "--scipy",
        action="store_true",
        help="add the SciPy section (ks_2samp + wasserstein_distance, np.unique + "
        "chi2_contingency, peak memory): a minute or two more at full size",
    )
    parser.add_argument("--child", nargs=3, metavar=("KIND", "ROWS", "COLUMNS"))
    parser.add_argument("--memory", nargs=3, metavar=("KIND", "ROWS", "COLUMNS"))
    parser.add_argument("--subject", action="store_true")
    args = parser.parse_args()
    if args.child:
        kind, rows, columns = args.child
        child(kind, int(rows), int(columns), args.subject)
        return
    if args.memory:
        kind, rows, columns = args.memory
        memory_child(kind, int(rows), int(columns), args.subject)
        return
    scale = 10 if args.quick else 1
    repeat = args.repeat or (2 if args.quick else 5)
    # A smoke run starts one fresh process per first call (each imports modelship).
    first_repeat = args.repeat or (1 if args.quick else 5)
    width = args.columns
    # (kind, rows, columns, target ratio or None, absolute target in seconds or None)
    cases: list[tuple[str, int, int, float | None, float | None]] = [
        ("numeric", 1_000_000 // scale, width, 1.3, None),
        ("numeric", 100_000 // scale, width, 1.5, None),
        ("numeric", 10_000 // scale, width, None, 0.005),
        ("categorical", 1_000_000 // scale, max(1, width // 2), 1.3, None),
        ("pd-category", 1_000_000 // scale, max(1, width // 2), 1.3, None),
        ("arrow-dict", 1_000_000 // scale, max(1, width // 2), 1.3, None),
        ("pd-text", 1_000_000 // scale, max(1, width // 2), None, None),
        ("np-object", 1_000_000 // scale, max(1, width // 2), None, None),
    ]
    # The SciPy section: at least 10x faster than SciPy's loop (ours / theirs <= 0.1).
    scipy_cases: list[tuple[str, int, int, float | None, float | None]] = [
        ("scipy", 1_000_000 // scale, width, 0.1, None),
        ("chi2", 1_000_000 // scale, max(1, width // 2), None, None),
    ]
    print(
        f"DataDrift(...).run() against its limit. First call: a fresh process per "
        f"measurement, alternating; warm: one process, alternating; best of {first_repeat} "
        f"(first) and {repeat} (warm). "
        f"Shared machine ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start): "
        "each cell is wall / CPU time (process_time, which other processes do not inflate); "
        "ratios and targets are judged on CPU time, wall ratios in brackets."
    )
    header = (
        f"{'kind':<12}{'rows':>10}{'cols':>5} {'first call':>17} {'warm':>17} "
        f"{'baseline (first / warm)':>33} {'ratio first':>17} {'ratio warm':>17}  "
        f"{'target':<9} met?"
    )
    if args.only:
        known = [f"{case[0]}:{case[1]}" for case in cases + scipy_cases] + ["jobs"]
        unknown = sorted(set(args.only) - set(known))
        if unknown:  # an empty table with exit 0 reads as "nothing to measure"
            parser.error(
                f"--only {', '.join(unknown)}: no such row; the rows are {', '.join(known)}"
            )
        scipy_cases = [case for case in scipy_cases if f"{case[0]}:{case[1]}" in args.only]
        cases = [case for case in cases if f"{case[0]}:{case[1]}" in args.only]
    elif not args.scipy:
        scipy_cases = []
    if args.quick:
        print(
            "--quick: a tenth of the rows; the target column shows the full-size rows' "
            "targets in brackets, not judged (n/a)"
        )
    sections = [("main", cases), ("scipy", scipy_cases)]
    for section, section_cases in sections:
        if not section_cases:
            continue
        if section == "scipy":
            print(
                "\nSciPy section (--scipy): the same check against SciPy's per-column "
                "functions on the same data; ratios below 1 are faster than SciPy"
            )
        print(header)
        print("-" * len(header))
        run_rows(section_cases, args.quick, repeat, first_repeat)
        if section == "scipy":
            memory_rows(section_cases)
    if not args.only or "jobs" in args.only:
        jobs_row(1_000_000 // scale, width, repeat, args.quick)


def memory_rows(cases: list[tuple[str, int, int, float | None, float | None]]) -> None:
    """Peak memory of the numeric check and of SciPy's loop, each in a fresh process."""
    for kind, rows, columns, _, _ in cases:
        if kind != "scipy":
            continue
        ours = peak_memory(kind, rows, columns, True)
        theirs = peak_memory(kind, rows, columns, False)
        inputs = 2 * rows * columns * 8
        print(
            f"peak memory of one call, {rows:,} x {columns} (tracemalloc, fresh process): "
            f"DataDrift {ours / 2**20:,.1f} MiB, SciPy's ks_2samp + wasserstein_distance loop "
            f"{theirs / 2**20:,.1f} MiB ({ours / theirs:.2f}x); the two input arrays hold "
            f"{inputs / 2**20:,.1f} MiB"
        )


def run_rows(
    cases: list[tuple[str, int, int, float | None, float | None]],
    quick: bool,
    repeat: int,
    first_repeat: int,
) -> None:
    checked: list[str] = []
    for index, (kind, rows, columns, ratio_target, absolute) in enumerate(cases):
        warm, warm_base, ours, theirs = warm_calls(
            task(kind, rows, columns, True), task(kind, rows, columns, False), repeat
        )
        if kind in ("scipy", "chi2"):
            checked.append(same_as_scipy(kind, ours, theirs))
        del ours, theirs
        # Each fresh process costs 2-3 s of imports. A smoke run starts them for its first
        # row only (that the child path works is all it shows), and judges the rest warm.
        if quick and index > 0:
            first, first_base = warm, warm_base
            shown_first = shown_first_base = shown_ratio = "-"
        else:
            first, first_base = first_calls(kind, rows, columns, first_repeat)
            shown_first, shown_first_base = pair(first), pair(first_base)
            shown_ratio = ratio(first, first_base)
        limit = FRAMES.get(kind) or LIMITS[kind]
        r_first = first[1] / first_base[1]
        verdict = "-"
        if absolute is not None:
            target = f"<= {absolute * 1e3:g} ms"
            met = first[1] <= absolute and warm[1] <= absolute
        elif ratio_target is not None:
            target, met = f"<= {ratio_target:g}x", r_first <= ratio_target
        else:
            target, met = "reported", None
        if met is not None:
            verdict = "PASS" if met else "MISS"
            if quick:  # the targets are set for the full-size rows
                target, verdict = f"({target})", "n/a"
        print(
            f"{kind:<12}{rows:>10,}{columns:>5} {shown_first:>17} {pair(warm):>17} "
            f"{f'{limit} {shown_first_base}, {pair(warm_base)}':>33} "
            f"{shown_ratio:>17} {ratio(warm, warm_base):>17}  "
            f"{target:<9} {verdict}"
        )
    for line in checked:
        print(line)


def sort_threads(reference: Array, current: Array, n_jobs: int) -> None:
    """The control: np.sort of the same columns spread over ``n_jobs`` threads."""
    columns = [reference[:, j] for j in range(reference.shape[1])]
    columns += [current[:, j] for j in range(current.shape[1])]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        list(pool.map(np.sort, columns))


def jobs_row(rows: int, width: int, repeat: int, quick: bool = False) -> None:
    """n_jobs=2 against n_jobs=1, beside the same speed-up of plain np.sort threads: the
    most any threading can give on this machine at this moment."""
    ref, cur = numeric_data(rows, width)
    best_one = best_two = best_sort_one = best_sort_two = NONE
    for _ in range(repeat):  # all four alternate, so they see the same load
        best_one = best(best_one, timed(lambda: drift(ref, cur, categorical=False, n_jobs=1)))
        best_two = best(best_two, timed(lambda: drift(ref, cur, categorical=False, n_jobs=2)))
        best_sort_one = best(best_sort_one, timed(lambda: sort_threads(ref, cur, 1)))
        best_sort_two = best(best_sort_two, timed(lambda: sort_threads(ref, cur, 2)))
    speedup = best_one[0] / best_two[0]
    control = best_sort_one[0] / best_sort_two[0]
    judged = "PASS" if speedup >= 1.7 else "MISS"
    if quick:  # the target is set for 1,000,000 rows
        judged = "n/a, a tenth of the rows"
    print(
        f"n_jobs=2 (threads) against n_jobs=1, {rows:,} x {width}, warm, wall: "
        f"{ms(best_two[0])} against {ms(best_one[0])}: {speedup:.2f}x faster "
        f"(target >= 1.7x: {judged}); control, np.sort of the "
        f"same columns on 2 threads against 1: {control:.2f}x (what this machine allows now; "
        f"load {os.getloadavg()[0]:.1f}); CPU time {ms(best_two[1])} against {ms(best_one[1])}"
    )


def pair(times: Times) -> str:
    return f"{times[0] * 1e3:,.1f}/{times[1] * 1e3:,.1f} ms"


def ratio(subject: Times, baseline: Times) -> str:
    return f"{subject[1] / baseline[1]:.2f}x ({subject[0] / baseline[0]:.2f}x)"


if __name__ == "__main__":
    main()
