"""The README's quick start is two commands, and CI runs the second one as it is written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start() -> list[str]:
    """The commands of the README's first bash block, comments cut."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.DOTALL)
    assert block, "the README has no bash block"
    lines = (line.split("#", 1)[0].strip() for line in block[1].splitlines())
    return [line for line in lines if line]


def test_the_quick_start_is_two_commands_one_for_the_demo_one_for_the_tests() -> None:
    demo, tests = _quick_start()
    assert demo.endswith("nox -s demo"), demo
    assert tests.endswith("nox -s tests"), tests


def test_ci_runs_the_readmes_test_command_as_written() -> None:
    _, tests = _quick_start()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in (line.strip() for line in ci if not line.lstrip().startswith("#")), (
        f".ci/run does not run the README's test command {tests!r} as written"
    )
