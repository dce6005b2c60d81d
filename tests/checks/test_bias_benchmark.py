"""The fairness benchmark runs end to end in its ``--quick`` form and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_fairness.py"


@pytest.mark.slow
def test_fairness_benchmark_quick_run_prints_every_row_with_a_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(("bias", "degradation"))]
    assert [row.split(":")[0].split(" ")[0] for row in rows] == [
        "bias",
        "bias",
        "degradation",
        "degradation",
        "bias",
        "bias",
        "bias",  # a pandas categorical of the group labels, read by its codes
    ]
    for row in rows:
        ratio = next(cell for cell in row.split() if cell.endswith("x") and cell[0].isdigit())
        assert float(ratio[:-1]) > 0
