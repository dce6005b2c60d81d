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
  recorded outcomes by :class:`~modelship.monitor.OutcomeSource` (the join is made as
  outcomes are recorded: one dictionary look-up each), then one window's accuracy with its
  interval, next to two baselines on the same ids in the same run: a NumPy join
  (``argsort`` of the prediction ids, ``searchsorted`` of the outcome ids) and a plain
  dict join, each followed by the same accuracy. Subject and baselines alternate, best of
  ``--repeat`` (at least 5) each.

``--quick`` uses 20,000 samples per window, histories of 10, 100 and 1,000 and 100,000
joined predictions, for a smoke run.

    python benchmarks/bench_monitor.py [--quick] [--samples N] [--repeat R]
"""

from __future__ import annotations

import os

# Single-threaded, as in the other benchmarks. Set before NumPy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from modelship import monitor  # noqa: E402

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


def best_time(run: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


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
        f"slot in the window; single-threaded; best of {repeat}"
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

    t_sort = best_time(sort_both, repeat)
    t_eval = best_time(lambda: evaluate(src), repeat)
    decision = evaluate(src)
    assert decision.verdict in ("pass", "fail"), decision.reasons

    t_mw = best_time(lambda: monitor.mann_whitney(values, baseline), max(1, repeat // 3))

    table(
        "One evaluation",
        ["measurement", "time", "np.sort of both windows", "ratio"],
        [
            [
                f"policy evaluation, {samples:,} samples per slot",
                ms(t_eval),
                ms(t_sort),
                f"{t_eval / t_sort:.2f}x",
            ],
            [
                f"Mann-Whitney + Hodges-Lehmann CI, {samples:,} vs {samples:,} (info)",
                ms(t_mw),
                ms(t_sort),
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
        t_step = best_time(lambda s=src_h: evaluate(s), repeat)
        t_update = best_time(lambda d=quiet, t=tracker: t.update(d), repeat)
        times.append(t_step + t_update)
        rows.append(
            [
                f"{history:,}",
                f"{10 * history + samples:,}",
                ms(t_step),
                f"{t_update * 1e6:,.1f} us",
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
    """Prediction log joined with late outcomes: OutcomeSource against NumPy and dict joins."""
    rng = np.random.default_rng(seed)
    ids = [f"req-{i:08d}" for i in range(n)]
    outputs = rng.integers(0, 2, n)
    truth = np.where(rng.random(n) < 0.9, outputs, 1 - outputs)
    shuffled = rng.permutation(n)  # outcomes arrive in another order than predictions
    out_ids = [ids[i] for i in shuffled]
    out_y = truth[shuffled]
    rows = [
        {"request_id": rid, "row": 0, "timestamp": 1000.0 + i * 1e-3, "version": "2", "output": o}
        for i, (rid, o) in enumerate(zip(ids, outputs.tolist(), strict=True))
    ]
    pred_ids = np.array(ids)
    out_id_array = np.array(out_ids)

    def numpy_join() -> float:
        order = np.argsort(pred_ids, kind="stable")
        at = np.searchsorted(pred_ids[order], out_id_array)
        at = np.minimum(at, n - 1)
        found = pred_ids[order][at] == out_id_array
        return stats_accuracy(out_y[found], outputs[order][at[found]])

    def dict_join() -> float:
        index = {rid: i for i, rid in enumerate(ids)}
        at = np.fromiter((index.get(r, -1) for r in out_ids), dtype=np.int64, count=n)
        found = at >= 0
        return stats_accuracy(out_y[found], outputs[at[found]])

    best = {"load": math.inf, "record": math.inf, "window": math.inf}
    best_np = best_dict = math.inf
    value = math.nan
    for _ in range(repeat):  # interleaved: each round times the subject and both baselines
        src = monitor.OutcomeSource(now=1e9)
        t0 = time.perf_counter()
        src.add_predictions(rows)
        t1 = time.perf_counter()
        src.record_outcomes(out_ids, out_y)
        t2 = time.perf_counter()
        window = src.evaluate("accuracy", version="2", start=0.0, end=1e9)
        t3 = time.perf_counter()
        best["load"] = min(best["load"], t1 - t0)
        best["record"] = min(best["record"], t2 - t1)
        best["window"] = min(best["window"], t3 - t2)
        value = window.value
        assert window.n == n
        best_np = min(best_np, best_time(numpy_join, 1))
        best_dict = min(best_dict, best_time(dict_join, 1))
    assert abs(numpy_join() - value) < 1e-12
    assert abs(dict_join() - value) < 1e-12
    join = best["record"] + best["window"]
    table(
        f"Prediction log joined with late outcomes ({n:,} x {n:,}, best of {repeat})",
        ["measurement", "time", "NumPy argsort+searchsorted join", "dict join", "ratio to NumPy"],
        [
            [
                "OutcomeSource.add_predictions (log rows, info)",
                ms(best["load"]),
                ms(best_np),
                ms(best_dict),
                f"{best['load'] / best_np:.2f}x",
            ],
            [
                "record_outcomes (the join) + window accuracy with CI",
                ms(join),
                ms(best_np),
                ms(best_dict),
                f"{join / best_np:.2f}x",
            ],
            [
                "window accuracy with CI alone (joined already)",
                ms(best["window"]),
                ms(best_np),
                ms(best_dict),
                f"{best['window'] / best_np:.2f}x",
            ],
        ],
    )


def stats_accuracy(y: Any, pred: Any) -> float:
    from modelship.checks import stats

    return float(stats.accuracy(y, pred))


if __name__ == "__main__":
    main()
