"""``modelship`` starts without SciPy's statistics: building the parser imports none of
the checks, and a command that computes no statistic never imports them.

``scipy.stats`` alone is most of a second of every command line (``--help``,
``registry versions``, and each of the CLI tests that runs one in a subprocess).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship._params import Options

# What a command computing no statistic must not import: SciPy's statistics and the
# checks' modules that import them.
HEAVY = (
    "scipy.stats",
    "modelship.checks",
    "modelship.checks._drift",
    "modelship.checks._bias",
    "modelship.checks.stats",
)

_SCRIPT = """
import contextlib, io, json, sys
from modelship.cli import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main(sys.argv[1:])
    except SystemExit as done:
        code = done.code
heavy = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy, "out": out.getvalue()}}))
"""


def _run(*argv: str) -> dict[str, object]:
    """Run ``main(argv)`` in a fresh interpreter: its exit code, its standard output, and
    which of :data:`HEAVY` it imported."""
    src = str(Path(ms.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": src},
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = str(tmp_path_factory.mktemp("startup") / "reg")
    ms.open_registry(url).register(model_name="fraud", model=b"m", serializer="bytes")
    return url


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["check", "--help"],
        ["check", "drift", "--help"],
        ["parity", "--help"],
        ["monitor", "watch", "--help"],
    ],
    ids=" ".join,
)
def test_help_imports_no_statistics(argv: list[str]) -> None:
    result = _run(*argv)
    assert result["code"] == 0
    assert result["heavy"] == []


@pytest.mark.parametrize(
    "command", [["registry", "versions"], ["deploy", "status"], ["deploy", "history"]]
)
def test_a_command_computing_no_statistic_imports_none(registry: str, command: list[str]) -> None:
    result = _run(*command, registry, "fraud")
    assert result["code"] == 0
    assert result["heavy"] == []


def test_a_check_still_runs_its_handler(tmp_path: Path) -> None:
    # The handler named by the parser is imported when the command runs, and runs.
    data = tmp_path / "d.csv"
    data.write_text("x\n" + "\n".join(str(i % 7) for i in range(50)) + "\n")
    result = _run("check", "drift", "--reference", str(data), "--current", str(data))
    assert result["code"] == 0
    assert "passed" in str(result["out"])
    assert "scipy.stats" in result["heavy"]


def test_the_parser_choices_are_the_checks_own() -> None:
    # The parser reads the choices from a leaf that imports none of the checks, and so do
    # the checks: one copy (fixer C51; before, the parser wrote them out).
    from modelship import _choices
    from modelship.checks import CATEGORICAL_METHODS, NUMERIC_METHODS
    from modelship.checks.stats._pvalues import P_VALUE_METHODS

    assert NUMERIC_METHODS is _choices.NUMERIC_METHODS
    assert CATEGORICAL_METHODS is _choices.CATEGORICAL_METHODS
    assert P_VALUE_METHODS is _choices.P_VALUE_METHODS

    from modelship.cli import build_parser

    check = build_parser()._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    drift = check._subparsers._group_actions[0].choices["drift"]  # type: ignore[union-attr]
    choices = {action.dest: action.choices for action in drift._actions}
    assert tuple(choices["method"]) == NUMERIC_METHODS
    assert tuple(choices["categorical_method"]) == CATEGORICAL_METHODS
    assert tuple(choices["correction"]) == P_VALUE_METHODS


def _subcommand(name: str) -> Any:
    from modelship.cli import build_parser

    check = build_parser()._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    return check._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]


def _options(constraint: Any) -> tuple[object, ...]:
    # A constraint of one Options, or a tuple of them and None (an optional parameter).
    parts = constraint if isinstance(constraint, tuple) else (constraint,)
    return next(part.values for part in parts if isinstance(part, Options))


def test_the_bias_and_degradation_choices_are_their_checks_own() -> None:
    # Second look (stop 50): these lists were written out in the parser (as before the
    # light parser) with no test tying them to the checks' own constraints.
    from modelship.checks import Bias, Degradation

    bias = {action.dest: action.choices for action in _subcommand("bias")._actions}
    assert tuple(bias["task"]) == _options(Bias._parameter_constraints["task"])
    assert tuple(bias["gate"]) == _options(Bias._parameter_constraints["gate"])
    assert tuple(bias["small_groups"]) == _options(Bias._parameter_constraints["small_groups"])
    degradation = {action.dest: action.choices for action in _subcommand("degradation")._actions}
    assert tuple(degradation["task"]) == _options(Degradation._parameter_constraints["task"])
    assert tuple(degradation["inconclusive"]) == _options(
        Degradation._parameter_constraints["inconclusive"]
    )
