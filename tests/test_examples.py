"""Every script in examples/ runs and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))
DEMO = EXAMPLES[0].parent / "demo.py"


def run(
    script: Path, tmp_path: Path, *args: str, temp: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``args`` (none, as a user would) in ``tmp_path``; its registry
    and reports go to a new temp folder (``temp``, else ``tmp_path``: one pytest removes)."""
    out = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(temp or tmp_path)},
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out


# The demo takes 20 s; it runs once, in the test below, which checks what it leaves too.
@pytest.mark.parametrize("script", [p for p in EXAMPLES if p != DEMO], ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    # Its docstring offers --out DIR: a relative DIR (inside the run's folder) raised
    # ValueError once; the run without it keeps its output in a temp folder as the others.
    args = ("--out", "reports") if script.name == "bias_and_degradation.py" else ()
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = run(script, tmp_path, *args, temp=temp)
    if args:
        assert (tmp_path / "reports" / "registry").is_dir()
    if script.name == "deploy_local.py":  # its registry is temporary unless a path is given
        assert "(temporary, removed at the end; pass a path to keep it)" in out.stdout
        assert list(temp.iterdir()) == [], "deploy_local.py left its temporary registry"


def test_demo_registers_two_versions_and_promotes_the_better(tmp_path: Path) -> None:
    """The demo as ``nox -s demo`` runs it: no arguments, a registry in a new temp folder."""
    import modelship as ms

    out = run(DEMO, tmp_path)
    url = next(
        line.removeprefix("registry: ") for line in out.stdout.splitlines() if "registry: " in line
    )
    assert Path(url).parent == tmp_path, f"the demo's registry is not in a new temp folder: {url}"
    reg = ms.open_registry(url)
    versions = reg.versions("churn")
    assert len(versions) == 2
    best = max(versions, key=lambda mv: mv.metrics["accuracy"])
    assert reg.get("churn", "@production") == best
    assert "alias history" in out.stdout
    assert all(set(mv.lineage.data) == {"train", "test"} for mv in versions)
