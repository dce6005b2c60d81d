"""Every script in examples/ runs and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_demo_registers_two_versions_and_promotes_the_better(tmp_path: Path) -> None:
    import modelship as ms

    url = str(tmp_path / "reg")
    out = subprocess.run(
        [sys.executable, str(EXAMPLES[0].parent / "demo.py"), "--registry", url],
        capture_output=True,
        text=True,
        check=True,
    )
    reg = ms.open_registry(url)
    versions = reg.versions("churn")
    assert len(versions) == 2
    best = max(versions, key=lambda mv: mv.metrics["accuracy"])
    assert reg.get("churn", "@production") == best
    assert "alias history" in out.stdout
    assert all(set(mv.lineage.data) == {"train", "test"} for mv in versions)
