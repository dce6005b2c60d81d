"""What environment parity costs: scanning an artifact, and capturing a snapshot.

The scanner reads every byte of an artifact (it skips joblib's array data, but must still
read it from the stream), so its baseline is one pass over the same bytes: ``sha256``,
which the registry computes anyway. ``joblib.load`` is what unpickling costs, which the
scan avoids. Snapshot capture is compared with listing the installed distributions alone,
its largest part. All rows are measured in the same run, median of ``--repeat`` runs.

``EnvironmentSnapshot.capture`` keeps what is installed until ``sys.path`` changes, so its
first call and its later ones are different costs, each shown beside the listing in the
same conditions: "first call" runs each side in a fresh process (imports done, nothing
listed yet), the two alternating, median of ``--repeat`` processes; "after a sys.path
change" prepends a fresh directory before each call in this process (the cache is
emptied, importlib's own caches of the other entries are warm); "warm" repeats the call
in this process (the capture reads its cache, the listing lists again).

Registration overhead: ``Registry.register`` with ``capture_environment=True`` (the default:
snapshot, read the stored artifact back and scan it) against ``capture_environment=False``
on the same local registry, the two interleaved (alternating, ``--repeat`` rounds, best of
each), so a loaded machine slows both alike. "Cold" is the first registration after the
installed distributions changed (the cache of what is installed is empty): each cold run
prepends a fresh directory to ``sys.path``, which empties it.

Run: ``python benchmarks/bench_parity.py [--quick] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import modelship as ms
from modelship.parity import EnvironmentSnapshot, scan_artifact


def timed(func: Callable[[], Any], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def artifact(megabytes: int, compress: int) -> bytes:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 4)), rng.integers(0, 2, 200)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    payload = {"model": model, "table": rng.normal(size=(megabytes * 2**17,))}  # 8 B each
    buffer = io.BytesIO()
    joblib.dump(payload, buffer, compress=compress)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small artifacts, one run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--first", choices=("listing", "capture"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first:  # a child: one first call in this fresh process
        func = list_installed if args.first == "listing" else EnvironmentSnapshot.capture
        start = time.perf_counter()
        func()
        print(time.perf_counter() - start)
        return
    repeat = 1 if args.quick else args.repeat
    sizes = [1, 8] if args.quick else [8, 64, 256]

    print("### Scanning an artifact (median seconds)\n")
    print("| artifact | bytes | scan_artifact | sha256 (baseline) | joblib.load | scan / sha256 |")
    print("|---|---|---|---|---|---|")
    for megabytes in sizes:
        for compress in (0, 3):
            data = artifact(megabytes, compress)
            scan = timed(lambda data=data: scan_artifact(data), repeat)
            digest = timed(lambda data=data: hashlib.sha256(data).hexdigest(), repeat)
            load = timed(lambda data=data: joblib.load(io.BytesIO(data)), repeat)
            label = f"{megabytes} MiB array + pipeline" + (", zlib" if compress else "")
            print(
                f"| {label} | {len(data):,} | {scan:.5f} | {digest:.5f} | {load:.5f} "
                f"| {scan / digest:.2f} |"
            )

    snapshot_section(repeat)
    registration_overhead(repeat=max(repeat, 5), sizes=[0, sizes[0], sizes[-1]])


def list_installed() -> list[str]:
    """The baseline: every installed distribution's name, as a user would list them."""
    return [d.metadata["Name"] for d in importlib.metadata.distributions()]


def first_call(step: str) -> float:
    """Seconds of ``step``'s first call in a fresh process (imports done first)."""
    done = subprocess.run(
        [sys.executable, __file__, "--first", step],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(done.stdout.split()[-1])


def snapshot_section(repeat: int) -> None:
    steps: dict[str, Callable[[], Any]] = {
        "listing": list_installed,
        "capture": EnvironmentSnapshot.capture,
    }
    first: dict[str, list[float]] = {"listing": [], "capture": []}
    for i in range(max(repeat, 3)):  # alternating, so a loaded machine slows both alike
        for step in ("listing", "capture") if i % 2 == 0 else ("capture", "listing"):
            first[step].append(first_call(step))
    changed: dict[str, list[float]] = {"listing": [], "capture": []}
    with tempfile.TemporaryDirectory(prefix="bench-parity-path-") as folder:
        for _ in range(repeat):
            for step, func in steps.items():
                sys.path.insert(0, tempfile.mkdtemp(dir=folder))
                start = time.perf_counter()
                func()
                changed[step].append(time.perf_counter() - start)
        del sys.path[: repeat * len(steps)]
    EnvironmentSnapshot.capture()  # fill the cache for the warm row
    warm = {step: timed(func, repeat) for step, func in steps.items()}
    rows = [
        ("first call, fresh process", {k: statistics.median(v) for k, v in first.items()}),
        (
            "after a sys.path change, same process",
            {k: statistics.median(v) for k, v in changed.items()},
        ),
        ("warm, same process (capture reads its cache)", warm),
    ]
    print("\n### Capturing a snapshot (median seconds)\n")
    print(
        "| call | list installed distributions (baseline) | EnvironmentSnapshot.capture() "
        "| capture / listing |"
    )
    print("|---|---|---|---|")
    for label, got in rows:
        print(
            f"| {label} | {got['listing']:.5f} | {got['capture']:.5f} "
            f"| {got['capture'] / got['listing']:.2f}x |"
        )


def registration_overhead(repeat: int, sizes: list[int]) -> None:
    print("\n### Registration overhead (best of interleaved runs, seconds)\n")
    print("| model | without capture (baseline) | with capture | overhead | cold, with capture |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 4)), rng.integers(0, 2, 200)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    with tempfile.TemporaryDirectory(prefix="bench-parity-") as folder:
        reg = ms.open_registry(folder)
        for megabytes in sizes:
            model = {"model": pipeline, "table": rng.normal(size=(megabytes * 2**17,))}
            best = {"off": float("inf"), "on": float("inf"), "cold": float("inf")}
            for i in range(repeat):
                for mode in ("off", "on", "cold"):
                    if mode == "cold":
                        sys.path.insert(0, tempfile.mkdtemp(dir=folder))
                    start = time.perf_counter()
                    reg.register(
                        model_name=f"m{megabytes}",
                        model=model,
                        lineage={},
                        tags={"run": str(i)},  # a new version each time, not deduplicated
                        capture_environment=mode != "off",
                    )
                    best[mode] = min(best[mode], time.perf_counter() - start)
            label = f"{megabytes} MiB array + pipeline" if megabytes else "pipeline"
            print(
                f"| {label} | {best['off']:.4f} | {best['on']:.4f} "
                f"| +{best['on'] - best['off']:.4f} ({best['on'] / best['off']:.2f}x) "
                f"| {best['cold']:.4f} |"
            )


if __name__ == "__main__":
    main()
