"""The monitoring benchmark runs end to end in its ``--quick`` form and prints its tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_monitor.py"


def _rows(out: str, title: str) -> list[list[str]]:
    section = out.split(f"### {title}", 1)[1].split("###", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]


@pytest.mark.slow
def test_monitor_benchmark_quick_run_exits_zero_and_prints_its_tables() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--repeat", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    one = _rows(done.stdout, "One evaluation")
    assert [row[0].split(",")[0] for row in one] == [
        "policy evaluation",
        "Mann-Whitney + Hodges-Lehmann CI",
    ]
    history = _rows(done.stdout, "Cost against the length of the history")
    assert [row[0] for row in history] == ["10", "100", "1,000"]
    targets = done.stdout.split("### Targets", 1)[1].strip().splitlines()
    assert len(targets) == 2
    assert all(": PASS" in t or ": MISS" in t for t in targets)
