"""The registry benchmark runs end to end in its ``--quick`` form and prints its tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_registry.py"


def _rows(out: str, title: str) -> list[list[str]]:
    """The body rows of the table printed under ``### title``."""
    section = out.split(f"### {title}", 1)[1].split("###", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]


@pytest.mark.s3
@pytest.mark.slow
def test_registry_benchmark_quick_run_exits_zero_and_prints_its_tables(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout

    artifact = _rows(out, "One artifact")
    steps = {(row[0], row[1]) for row in artifact}
    # --quick runs joblib's steps on the local disk only (the store calls are the same).
    for store, serializers in (("local", ("joblib", "bytes")), ("s3", ("bytes",))):
        for step in ("register", "load+verify", "verify alone"):
            for serializer in serializers:
                assert (store, f"{step} ({serializer})") in steps
    assert {("local", "cp"), ("local", "sha256"), ("s3", "s3fs put")} <= steps
    assert all(float(row[2]) > 0 for row in artifact), "a step took no time"

    lookups = _rows(out, "Look-ups among many versions")
    assert {row[0] for row in lookups} == {"local", "s3"}
    for row in lookups:
        for cell in row[2:]:
            median, p95 = (float(x) for x in cell.split("/"))
            assert 0 < median <= p95

    targets = out.split("### Targets", 1)[1].strip().splitlines()
    assert targets
    assert all(t.rstrip().endswith(")") and (": PASS" in t or ": MISS" in t) for t in targets)
    assert list(tmp_path.iterdir()) == [], "the benchmark left files behind"


def test_drift_benchmark_refuses_a_row_it_does_not_have() -> None:
    # An empty table with exit 0 read as "nothing to measure" (stop 37's review).
    done = subprocess.run(
        [sys.executable, str(BENCH.with_name("bench_drift.py")), "--quick", "--only", "numeric:7"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout
    assert "no such row" in done.stderr
    assert "numeric:1000" in done.stderr
