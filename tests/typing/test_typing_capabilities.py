"""The capabilities' public APIs type-check as users write them, and a typo in them does not.

Each ``typing_*.py`` beside this file uses one capability the way a user's code does and
must pass ``mypy --strict``; each typo case below is one such use with a mistake that mypy
must report (the registry's cases are in ``tests/registry/test_typing.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(path: Path, cache: Path) -> tuple[str, int]:
    out, err, status = api.run(["--strict", "--cache-dir", str(cache), str(path)])
    return out + err, status


@pytest.mark.parametrize("name", ["checks", "deploy", "monitor", "parity"])
def test_the_api_as_users_write_it_type_checks(name: str, cache: Path) -> None:
    report, status = _mypy(HERE / f"typing_{name}.py", cache)
    assert status == 0, report


_CHECKS = (
    "import numpy as np\n"
    "from modelship.checks import DataDrift, run_suite\n"
    "data = {'x': np.arange(10.0)}\n"
)
_DEPLOY = (
    "from modelship.deploy import BlueGreen, Canary, CanaryStep, DeploymentSpec, from_spec\n"
    "from modelship.testing import InMemoryDeployer\n"
    "dep = InMemoryDeployer()\n"
)
_MONITOR = (
    "from modelship.monitor import InMemorySource, RollbackPolicy, policy_gate\n"
    "src = InMemorySource(now=0.0)\n"
)
_PARITY = "from modelship.parity import EnvironmentSnapshot, ParityRules, compare\n"

TYPOS = {
    "checks-keyword": (
        _CHECKS + "DataDrift(reference=data, current=data, alpah=0.01)\n",
        'Unexpected keyword argument "alpah" for "DataDrift"',
    ),
    "checks-choice": (
        _CHECKS + "DataDrift(reference=data, current=data, correction='bonferoni')\n",
        'Argument "correction" to "DataDrift" has incompatible type',
    ),
    "checks-suite-method": (
        _CHECKS + "run_suite([]).exitcode()\n",
        '"SuiteResult" has no attribute "exitcode"',
    ),
    "deploy-keyword": (
        _DEPLOY + "BlueGreen(dep, undo_windw=0.0)\n",
        'Unexpected keyword argument "undo_windw" for "BlueGreen"',
    ),
    "deploy-canary-keyword": (
        _DEPLOY + "Canary(dep, steps=[CanaryStep(10)], undo_windw=0.0)\n",
        'Unexpected keyword argument "undo_windw" for "Canary"',
    ),
    "deploy-from-spec-keyword": (
        _DEPLOY
        + "def f(spec: DeploymentSpec) -> None:\n    from_spec(dep, spec, undo_windw=0.0)\n",
        'Unexpected keyword argument "undo_windw" for "from_spec"',
    ),
    "deploy-rollout-method": (
        _DEPLOY + "BlueGreen(dep).deploy('m', 1).rolback()\n",
        '"Rollout" has no attribute "rolback"',
    ),
    "monitor-choice": (
        _MONITOR + "RollbackPolicy(conditions=['error_rate > 1%'], on_no_data='hlod')\n",
        'Argument "on_no_data" to "RollbackPolicy" has incompatible type',
    ),
    "monitor-keyword": (
        _MONITOR + "policy_gate(src, RollbackPolicy(conditions=['x > 1']), windw=60.0)\n",
        'Unexpected keyword argument "windw" for "policy_gate"',
    ),
    "parity-report-attribute": (
        _PARITY + "compare(EnvironmentSnapshot.capture()).blockng\n",
        '"ParityReport" has no attribute "blockng"',
    ),
    "parity-rule": (
        _PARITY + "ParityRules(os_='blocking')\n",
        'Unexpected keyword argument "os_" for "ParityRules"',
    ),
}


@pytest.mark.parametrize("case", sorted(TYPOS))
def test_a_typo_in_the_api_is_a_type_error(case: str, cache: Path, tmp_path: Path) -> None:
    source, error = TYPOS[case]
    user = tmp_path / "user.py"
    user.write_text(source)
    report, status = _mypy(user, cache)
    assert status == 1, report
    assert error in report, report
