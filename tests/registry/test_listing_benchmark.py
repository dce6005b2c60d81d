"""The listing benchmark runs end to end in its ``--quick`` form and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_listing.py"


@pytest.mark.slow
def test_listing_benchmark_quick_run_prints_pages_beside_their_baselines(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--no-s3", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    table = done.stdout.split("### Newest 100 versions", 1)[1].split("###", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| local")]
    assert len(rows) == 1
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert all(float(cell) > 0 for cell in cells[2:6]), cells
    assert "### Targets" in done.stdout
    assert list(tmp_path.iterdir()) == [], "the benchmark left files behind"
