"""The serving benchmark runs end to end in its ``--quick`` form and prints its table."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "bench_serve.py"


def _rows(out: str, title: str) -> dict[str, list[str]]:
    section = out.split(f"### {title}", 1)[1].split("###", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]
    return {row[0]: row[1:] for row in rows}


@pytest.mark.slow
def test_serving_benchmark_quick_run_prints_every_server_and_the_targets(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("wrk is required under CI=true: apt-get install -y wrk")
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--no-mlflow", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(done.stdout, "Serving speed")
    for server in ("modelship serve", "bare uvicorn+starlette"):
        rps, p50, p99, _, _, cpu, _, failed = rows[server]
        assert float(rps.replace(",", "")) > 0
        assert 0 < float(p50) <= float(p99)
        assert float(cpu.replace(",", "")) > 0
        assert failed == "0"
    targets = done.stdout.split("### Targets", 1)[1].strip().splitlines()
    assert len(targets) == 3
    assert all(": PASS (" in t or ": MISS (" in t for t in targets)
    assert list(tmp_path.iterdir()) == [], "the benchmark left files behind"
