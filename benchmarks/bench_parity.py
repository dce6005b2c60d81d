"""What environment parity costs: scanning an artifact, and capturing a snapshot.

The scanner reads every byte of an artifact (it skips joblib's array data, but must still
read it from the stream), so its baseline is one pass over the same bytes: ``sha256``,
which the registry computes anyway. ``joblib.load`` is what unpickling costs, which the
scan avoids. Snapshot capture is compared with listing the installed distributions alone,
its largest part. All rows are measured in the same run, median of ``--repeat`` runs.

Run: ``python benchmarks/bench_parity.py [--quick] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import statistics
import time
from collections.abc import Callable
from typing import Any

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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
    args = parser.parse_args()
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

    print("\n### Capturing a snapshot (median seconds)\n")
    print("| step | seconds |")
    print("|---|---|")
    listing = timed(
        lambda: [d.metadata["Name"] for d in importlib.metadata.distributions()], repeat
    )
    capture = timed(EnvironmentSnapshot.capture, repeat)
    print(f"| list installed distributions (baseline) | {listing:.5f} |")
    print(f"| EnvironmentSnapshot.capture() | {capture:.5f} |")


if __name__ == "__main__":
    main()
