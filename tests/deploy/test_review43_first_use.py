"""First-use mistakes of review 43: the serve extra missing, PyYAML missing, a model
that cannot be pickled. Each gets a message that says what to do."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

import modelship as ms
from modelship.errors import MissingDependency, SerializationError

WITHOUT_ORJSON = """
import runpy, sys
sys.modules["orjson"] = None  # as if the serve extra were not installed
sys.argv = ["modelship.deploy.serve", sys.argv[1], "fraud", "1"]
runpy.run_module("modelship.deploy.serve", run_name="__main__", alter_sys=True)
"""


def test_the_server_module_without_the_serve_extra_exits_2_with_the_pip_hint(
    tmp_path: Path,
) -> None:
    """``python -m modelship.deploy.serve`` (what the local deployer starts) is
    ``modelship serve``: a missing extra is exit 2 and one line, not a traceback."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_ORJSON, str(tmp_path / "registry")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'modelship[serve]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_policy_read_without_pyyaml_names_the_yaml_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(MissingDependency, match=r"pip install 'modelship\[yaml\]'"):
        ms.monitor.RollbackPolicy.from_yaml("rollback_if: error_rate > 0.05\n")


def test_a_model_that_cannot_be_pickled_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    registry = ms.open_registry(tmp_path / "registry")
    with pytest.raises(SerializationError, match="module level") as refused:
        registry.register("fraud", {"lock": threading.Lock()})
    assert "nothing was registered" in str(refused.value)
    assert registry.models() == []


def test_the_local_deployer_without_the_serve_extra_refuses_before_any_rollout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its servers would each die at start, and every rollout would abort and be
    recorded as if the version were broken: MissingDependency at once instead."""
    from modelship.deploy import LocalDeployer

    # As if orjson were not installed, even where another test already imported it.
    monkeypatch.setitem(sys.modules, "orjson", None)
    registry = ms.open_registry(tmp_path / "registry")
    with pytest.raises(
        MissingDependency, match=r"orjson missing\): pip install 'modelship\[serve\]'"
    ):
        LocalDeployer(registry)
