"""The monitoring benchmark runs end to end in its ``--quick`` form and prints its tables,
with a measured figure in every cell that should hold one."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_monitor.py"

#: ``2.05 ms (CPU 2.05)``, ``3.8 us (CPU 4.8)``: a wall time and the CPU time of that run.
TIME = re.compile(r"(?P<wall>[\d,.]+) (?:ms|us) \(CPU (?P<cpu>[\d,.]+)\)")
#: ``1.65x`` or ``2.48x (CPU 2.22x)``.
RATIO = re.compile(r"(?P<wall>[\d,.]+)x(?: \(CPU (?P<cpu>[\d,.]+)x\))?")


def _rows(out: str, title: str) -> list[list[str]]:
    section = out.split(f"### {title}", 1)[1].split("###", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]


def _number(text: str) -> float:
    value = float(text.replace(",", ""))
    assert math.isfinite(value), f"{text!r} is not a finite number"
    assert value > 0, f"{text!r} is not a positive number"
    return value


def _measured(cell: str, pattern: re.Pattern[str]) -> float:
    """The wall figure of a timing or ratio cell; its CPU figure, if any, is checked too."""
    match = pattern.fullmatch(cell)
    assert match, f"{cell!r} is not a measured figure ({pattern.pattern})"
    if match["cpu"] is not None:
        _number(match["cpu"])
    return _number(match["wall"])


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
    for _, took, sort, ratio in one:
        _measured(took, TIME)
        _measured(sort, TIME)
        _measured(ratio, RATIO)
    history = _rows(done.stdout, "Cost against the length of the history")
    assert [row[0] for row in history] == ["10", "100", "1,000"]
    for _, held, evaluate, update, ratio in history:
        _number(held)
        _measured(evaluate, TIME)
        _measured(update, TIME)
        _measured(ratio, RATIO)
    join = _rows(done.stdout, "Prediction log joined with late outcomes")
    assert len(join) == 4, done.stdout
    judged, *parts = join
    for cell in judged[1:4]:
        _measured(cell, TIME)
    _measured(judged[4], RATIO)
    for part in parts:
        assert part[0].startswith("of which"), part
        _measured(part[1], TIME)
    targets = done.stdout.split("### Targets", 1)[1].strip().splitlines()
    assert len(targets) == 2
    for line, limit in zip(targets, (2.0, 1.5), strict=True):
        match = re.fullmatch(r".*: (PASS|MISS) \(([\d,.]+)x?\)", line)
        assert match, line
        # The verdict is the one the printed figure earns (a figure that rounds to the
        # limit could be either side of it).
        figure = _number(match[2])
        if figure != limit:
            assert match[1] == ("PASS" if figure < limit else "MISS"), line
