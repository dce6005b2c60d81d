"""How fast is a rollback-policy evaluation? Prints tables, measured in one run.

* One evaluation of a policy (p95 and p99 latency thresholds, p95 relative to the
  baseline slot) over a window of 100,000 latency samples per slot, from the in-memory
  source, next to the time NumPy takes to ``np.sort`` the same samples (both slots'
  windows, which is what the evaluation reads). Target: at most 2x (each window is
  sorted once and every statistic and the decision's summary read from that order).
* The same evaluation plus the tracker's update after 10, 1,000 and 100,000 earlier
  evaluations, with the source holding 10 older samples per earlier evaluation
  (up to a million). Target: the slowest is at most 1.5x the fastest: the cost does not
  grow with the history.
* For information: the canary analysis' Mann-Whitney test with the Hodges-Lehmann
  interval on the same two windows (the interval's order statistics are selected
  without building the 10**10 pairwise differences).

* Accuracy against late ground truth: 1,000,000 logged predictions joined with 1,000,000
  recorded outcomes by :class:`~modelship.monitor.OutcomeSource` (``add_predictions``
  indexes the log rows by request id; the join is made as outcomes are recorded: one
  dictionary look-up each), then one window's accuracy with its interval, next to two
  baselines on the same data in the same run: a NumPy join (ids and outputs taken from
  the rows, ``argsort`` of the prediction ids, ``searchsorted`` of the outcome ids) and a
  plain dict join (an index built from the rows), each followed by the same accuracy.
  Every side is timed from the log rows to the accuracy figure. Subject and baselines
  alternate, best of ``--repeat // 3`` (at least 5) each.

BLAS is left as users have it; each figure is the best wall time, with the CPU time of
that run beside it.

``--quick`` uses 20,000 samples per window, histories of 10, 100 and 1,000 and 100,000
joined predictions, for a smoke run.

    python benchmarks/bench_monitor.py [--quick] [--samples N] [--repeat R]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

# BLAS is left as users have it (not pinned to one thread: pinning hid np.dot's spinning
# threads in the drift check); each figure shows CPU time beside wall time, and CPU time
# above wall time would show threads at work.
import numpy as np

from modelship import monitor

LATENCY = "inference_latency_seconds"
POLICY = monitor.RollbackPolicy(
    conditions=[
        "p95(inference_latency_seconds) > 0.2",
        "p99(inference_latency_seconds) > 0.5",
        "p95(inference_latency_seconds) > baseline * 1.2",
    ],
    failure_limit=None,
    consecutive_failure_limit=3,
    deadline=None,
)
WINDOW = 60.0


#: CPU seconds (``time.process_time``) of the best-wall-time run of each label.
CPU: dict[str, float] = {}


def best_time(run: Callable[[], object], repeat: int, label: str = "") -> float:
    """Best wall time of ``repeat`` runs, in seconds; its CPU time is kept in CPU[label]."""
    best = math.inf
    for _ in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, CPU[label] = elapsed, time.process_time() - cpu
    return best


def wall_cpu(seconds: float, label: str) -> str:
    """``wall ms (CPU ms)``."""
    return f"{seconds * 1e3:,.2f} ms (CPU {CPU.get(label, math.nan) * 1e3:,.2f})"


def build(samples: int, history: int, seed: int) -> tuple[monitor.InMemorySource, float]:
    """A source with ``history`` older evaluations' worth of samples and a full window."""
    rng = np.random.default_rng(seed)
    now = 1_700_000_000.0 + WINDOW * (history + 1)
    src = monitor.InMemorySource(now=now)
    for slot in ("canary", "stable"):
        old = 10 * history
        if old:
            src.add(
                LATENCY,
                slot=slot,
                values=rng.gamma(4.0, 0.02, old),
                timestamps=np.linspace(now - WINDOW * (history + 1), now - WINDOW, old),
            )
        src.add(
            LATENCY,
            slot=slot,
            values=rng.gamma(4.0, 0.02, samples),
            timestamps=np.linspace(now - WINDOW + 1e-3, now, samples),
        )
    return src, now


def evaluate(src: monitor.InMemorySource) -> monitor.Decision:
    return POLICY.evaluate(src, slot="canary", baseline="stable", window=WINDOW)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--samples", type=int, default=None, help="latency samples per window")
    parser.add_argument("--repeat", type=int, default=15, help="runs per timing (best kept)")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    samples = args.samples or (20_000 if args.quick else 100_000)
    histories = (10, 100, 1_000) if args.quick else (10, 1_000, 100_000)
    repeat = args.repeat

    print(
        f"policy: {len(POLICY.conditions)} conditions on {LATENCY}; {samples:,} samples per "
        f"slot in the window; BLAS threads as installed; best wall time of {repeat}, CPU "
        "time of that run in brackets"
    )

    src, _ = build(samples, histories[0], args.seed)
    window = src.fetch(LATENCY, slot="canary", start=src.now() - WINDOW, end=src.now())
    assert isinstance(window, monitor.Samples)
    assert window.values.size == samples
    stable = src.fetch(LATENCY, slot="stable", start=src.now() - WINDOW, end=src.now())
    assert isinstance(stable, monitor.Samples)
    values: Any = np.array(window.values)
    baseline: Any = np.array(stable.values)

    def sort_both() -> None:
        np.sort(values)
        np.sort(baseline)

    t_sort = best_time(sort_both, repeat, "sort")
    t_eval = best_time(lambda: evaluate(src), repeat, "eval")
    decision = evaluate(src)
    assert decision.verdict in ("pass", "fail"), decision.reasons

    t_mw = best_time(lambda: monitor.mann_whitney(values, baseline), max(1, repeat // 3), "mw")

    table(
        "One evaluation",
        ["measurement", "time", "np.sort of both windows", "ratio"],
        [
            [
                f"policy evaluation, {samples:,} samples per slot",
                wall_cpu(t_eval, "eval"),
                wall_cpu(t_sort, "sort"),
                f"{t_eval / t_sort:.2f}x",
            ],
            [
                f"Mann-Whitney + Hodges-Lehmann CI, {samples:,} vs {samples:,} (info)",
                wall_cpu(t_mw, "mw"),
                wall_cpu(t_sort, "sort"),
                f"{t_mw / t_sort:.2f}x",
            ],
        ],
    )

    rows = []
    times = []
    for history in histories:
        src_h, now = build(samples, history, args.seed + history)
        tracker = POLICY.tracker(started_at=now - WINDOW * (history + 1))
        quiet = evaluate(src_h)
        for i in range(history):  # earlier evaluations: the tracker's history
            verdict_i = "pass" if i % 3 else "fail"
            at = now - WINDOW * (history - i)
            tracker.update(monitor.Decision(verdict_i, (), (), "canary", "stable", WINDOW, at))
        t_step = best_time(lambda s=src_h: evaluate(s), repeat, "step")
        t_update = best_time(lambda d=quiet, t=tracker: t.update(d), repeat, "update")
        times.append(t_step + t_update)
        rows.append(
            [
                f"{history:,}",
                f"{10 * history + samples:,}",
                wall_cpu(t_step, "step"),
                f"{t_update * 1e6:,.1f} us (CPU {CPU['update'] * 1e6:,.1f})",
                f"{(t_step + t_update) / t_sort:.2f}x",
            ]
        )
    table(
        "Cost against the length of the history",
        ["earlier evaluations", "samples held per slot", "evaluate", "tracker update", "/ sorts"],
        rows,
    )

    join_section(100_000 if args.quick else 1_000_000, max(5, repeat // 3), args.seed)

    flat = max(times) / min(times)
    print("\n### Targets\n")
    print(f"evaluation <= 2x np.sort: {verdict(t_eval / t_sort <= 2)} ({t_eval / t_sort:.2f}x)")
    print(f"flat in history (slowest/fastest <= 1.5): {verdict(flat <= 1.5)} ({flat:.2f})")


def join_section(n: int, repeat: int, seed: int) -> None:
    """Prediction log joined with late outcomes: OutcomeSource against NumPy and dict joins.

    Every side starts from the same inputs, the log rows (dicts, as read from a prediction
    log) and the outcomes' ids and labels (lists), and ends at the accuracy figure: the
    subject's ``add_predictions`` (which builds the request-id index its join uses),
    ``record_outcomes`` and the window's accuracy; the NumPy join's arrays of ids and
    outputs taken from the rows, ``argsort`` and ``searchsorted``; the dict join's index
    built from the rows. Subject and baselines alternate, best wall time of ``repeat``.
    """
    rng = np.random.default_rng(seed)
    ids = [f"req-{i:08d}" for i in range(n)]
    outputs = rng.integers(0, 2, n)
    truth = np.where(rng.random(n) < 0.9, outputs, 1 - outputs)
    shuffled = rng.permutation(n)  # outcomes arrive in another order than predictions
    out_ids = [ids[i] for i in shuffled]
    out_y = truth[shuffled].tolist()
    rows = [
        {"request_id": rid, "row": 0, "timestamp": 1000.0 + i * 1e-3, "version": "2", "output": o}
        for i, (rid, o) in enumerate(zip(ids, outputs.tolist(), strict=True))
    ]
    del ids, outputs, truth

    def numpy_join() -> float:
        pred_ids = np.array([r["request_id"] for r in rows])
        predicted = np.fromiter((r["output"] for r in rows), dtype=np.int64, count=n)
        out_id_array = np.array(out_ids)
        order = np.argsort(pred_ids, kind="stable")
        at = np.searchsorted(pred_ids[order], out_id_array)
        at = np.minimum(at, n - 1)
        found = pred_ids[order][at] == out_id_array
        return stats_accuracy(np.asarray(out_y)[found], predicted[order][at[found]])

    def dict_join() -> float:
        index = {r["request_id"]: i for i, r in enumerate(rows)}
        predicted = np.fromiter((r["output"] for r in rows), dtype=np.int64, count=n)
        at = np.fromiter((index.get(r, -1) for r in out_ids), dtype=np.int64, count=n)
        found = at >= 0
        return stats_accuracy(np.asarray(out_y)[found], predicted[at[found]])

    parts = ("load", "record", "window", "total")
    best = dict.fromkeys(parts, math.inf)
    cpu = dict.fromkeys(parts, math.nan)
    best_np = best_dict = math.inf
    value = math.nan
    for _ in range(repeat):  # interleaved: each round times the subject and both baselines
        src = monitor.OutcomeSource(now=1e9)
        c0, t0 = time.process_time(), time.perf_counter()
        src.add_predictions(rows)
        c1, t1 = time.process_time(), time.perf_counter()
        src.record_outcomes(out_ids, out_y)
        c2, t2 = time.process_time(), time.perf_counter()
        window = src.evaluate("accuracy", version="2", start=0.0, end=1e9)
        c3, t3 = time.process_time(), time.perf_counter()
        for part, wall, used in (
            ("load", t1 - t0, c1 - c0),
            ("record", t2 - t1, c2 - c1),
            ("window", t3 - t2, c3 - c2),
            ("total", t3 - t0, c3 - c0),
        ):
            if wall < best[part]:
                best[part], cpu[part] = wall, used
        value = window.value
        assert window.n == n
        del src, window
        best_np = min(best_np, best_time(numpy_join, 1, "numpy join"))
        best_dict = min(best_dict, best_time(dict_join, 1, "dict join"))
    assert abs(numpy_join() - value) < 1e-12
    assert abs(dict_join() - value) < 1e-12
    CPU.update({f"join {part}": cpu[part] for part in parts})
    np_cell, dict_cell = wall_cpu(best_np, "numpy join"), wall_cpu(best_dict, "dict join")
    table(
        f"Prediction log joined with late outcomes ({n:,} x {n:,}, best of {repeat}; every "
        "side from the log rows to the accuracy figure)",
        [
            "measurement",
            "time",
            "NumPy argsort+searchsorted join",
            "dict join",
            "ratio to NumPy, wall (CPU)",
        ],
        [
            [
                "add_predictions + record_outcomes + window accuracy with CI (judged)",
                wall_cpu(best["total"], "join total"),
                np_cell,
                dict_cell,
                f"{best['total'] / best_np:.2f}x (CPU "
                f"{CPU['join total'] / CPU['numpy join']:.2f}x)",
            ],
            [
                "of which add_predictions (log rows, the request-id index; info)",
                wall_cpu(best["load"], "join load"),
                "",
                "",
                "",
            ],
            [
                "of which record_outcomes (the join; info)",
                wall_cpu(best["record"], "join record"),
                "",
                "",
                "",
            ],
            [
                "of which window accuracy with CI (joined already; info)",
                wall_cpu(best["window"], "join window"),
                "",
                "",
                "",
            ],
        ],
    )
    print(
        "\nThe parts are each their own best over the rounds, so they need not add up to the "
        "judged total. Wall ms, CPU ms of the same run in brackets."
    )


def stats_accuracy(y: Any, pred: Any) -> float:
    from modelship.checks import stats

    return float(stats.accuracy(y, pred))


if __name__ == "__main__":
    main()
