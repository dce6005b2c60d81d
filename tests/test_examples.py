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


# What an example that keeps its output in a temporary folder says when it removes it.
# (Keeping a path it is given is test_journey_review38's: a second run of each.)
REMOVES = {
    "bias_and_degradation.py": "removed now",
    "custom_deployer.py": "removed now",
    "deploy_local.py": "(temporary, removed at the end; pass a path to keep it)",
    "drift_check.py": "removed now",
    "monitor_replay.py": "removed now",
    "parity.py": "removed now",
}


# The demo takes 20 s; it runs once, in the test below, which checks what it leaves too.
@pytest.mark.parametrize("script", [p for p in EXAMPLES if p != DEMO], ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = run(script, tmp_path, temp=temp)
    assert "ModelshipWarning" not in out.stderr  # no model of __main__ is registered
    if script.name in REMOVES:  # as a user runs it: no folder left behind
        assert REMOVES[script.name] in out.stdout
        assert list(temp.iterdir()) == [], f"{script.name} left its temporary folder"
        assert list(tmp_path.iterdir()) == [temp], f"{script.name} wrote into its cwd"


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
