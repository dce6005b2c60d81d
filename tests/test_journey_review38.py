"""Review 38, the user's journey: refusals that say what to do, and what a user sees.

* ``run_suite`` refuses what is not a list of checks (a check's result, a name, ``None``,
  one check alone) with a :class:`ConfigError`, before any check runs;
* a model whose class was defined in ``__main__`` warns when registered, and the model
  server that cannot load it says why;
* a ``DriftProfile``'s repr is one short line;
* a watch says which condition made it roll back, and an old decision log still replays;
* a missing alias points at ``aliases()``, and ``set_alias(..., "latest")`` at the number;
* the examples keep a path they are given (tests/test_examples.py: and leave no folder
  behind otherwise).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import modelship as ms
from modelship.checks import CheckResult, DataDrift, DriftProfile, run_suite
from modelship.deploy import Rollout
from modelship.errors import ConfigError, InvalidName, ModelshipWarning, VersionNotFound

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SRC = Path(ms.__file__).resolve().parent.parent


def _drifted() -> DataDrift:
    return DataDrift(reference={"a": np.arange(50.0)}, current={"a": np.arange(50.0) + 40})


# --- 1. run_suite takes a list of checks ---------------------------------------------------


def test_a_check_result_in_place_of_its_check_is_refused_saying_drop_run() -> None:
    with pytest.raises(
        ConfigError, match=r"checks\[0\] is the result 'data_drift'.*drop the \.run\(\)"
    ):
        run_suite([_drifted().run()])  # type: ignore[list-item]


@pytest.mark.parametrize("item", ["drift", None, 5], ids=["name", "None", "number"])
def test_an_item_that_is_no_check_is_refused_saying_what_a_check_is(item: object) -> None:
    with pytest.raises(ConfigError, match=r"checks\[1\] is .* not a check; a check is an object"):
        run_suite([_drifted(), item])  # type: ignore[list-item]


def test_nothing_runs_before_a_bad_item_is_refused() -> None:
    ran: list[str] = []

    def first() -> CheckResult:
        ran.append("first")
        return CheckResult(name="first", status="pass")

    with pytest.raises(ConfigError):
        run_suite([first, None])  # type: ignore[list-item]
    assert ran == []


@pytest.mark.parametrize("lone", [_drifted(), _drifted().run], ids=["check", "callable"])
def test_one_check_alone_is_refused_saying_to_pass_a_list(lone: object) -> None:
    with pytest.raises(ConfigError, match=r"got one .*: pass a list, run_suite\(\[check\]\)"):
        run_suite(lone)  # type: ignore[arg-type]


def test_checks_and_callables_that_return_results_still_run_together() -> None:
    suite = run_suite([_drifted(), _drifted().run, lambda: CheckResult(name="x", status="pass")])
    assert [r.status.value for r in suite.results] == ["fail", "fail", "pass"]
    assert suite.exit_code() == 1


# --- 2. a model of __main__ --------------------------------------------------------------

_MAIN_MODEL = """
import json, sys, warnings
import modelship as ms

class Thresh:
    n_features_in_ = 2
    def predict(self, x):
        return [float(row[0] > 0) for row in x]

reg = ms.open_registry(sys.argv[1])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    reg.register(model_name="thresh", model=Thresh())
print(json.dumps([[w.category.__name__, str(w.message), w.filename] for w in caught]))
"""


def _register_main_model(tmp_path: Path) -> tuple[str, list[list[str]]]:
    script = tmp_path / "notebook.py"
    script.write_text(textwrap.dedent(_MAIN_MODEL), encoding="utf-8")
    registry = str(tmp_path / "models")
    out = subprocess.run(
        [sys.executable, str(script), registry],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=True,
    )
    return registry, json.loads(out.stdout)


def test_registering_a_model_whose_class_is_in_main_warns_where_it_was_registered(
    tmp_path: Path,
) -> None:
    _, caught = _register_main_model(tmp_path)
    mine = [w for w in caught if w[0] == "ModelshipWarning"]
    assert len(mine) == 1, caught
    _, message, filename = mine[0]
    assert "thresh 1: the model refers to classes or functions defined in __main__ (Thresh)" in (
        message
    )
    assert "Move them into a module importable on the servers' PYTHONPATH" in message
    assert filename.endswith("notebook.py")  # the register() call, not modelship's code


def test_a_model_of_an_importable_module_registers_without_the_warning() -> None:
    reg = ms.open_registry("memory://journey-review38-importable")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelshipWarning)
        mv = reg.register(model_name="m", model=Fraction(1, 3))
    assert reg.load("m", mv.version) == Fraction(1, 3)


def test_the_model_server_that_cannot_load_a_class_of_main_says_where_to_move_it(
    tmp_path: Path,
) -> None:
    registry, _ = _register_main_model(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "modelship.deploy.serve", registry, "thresh", "1", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert out.returncode != 0
    assert "Can't get attribute 'Thresh'" in out.stderr
    assert (
        "The model refers to a class or function defined in __main__, the notebook or script "
        "that registered it: a server cannot import it. Move it into a module importable on "
        "the servers' PYTHONPATH"
    ) in out.stderr


# --- 4. a profile's repr ------------------------------------------------------------------


def test_a_drift_profile_shows_itself_in_one_short_line() -> None:
    rng = np.random.default_rng(0)
    profile = DriftProfile.from_data(
        {"age": rng.normal(size=5000), "income": rng.normal(size=5000), "plan": ["a", "b"] * 2500}
    )
    assert repr(profile) == (
        "<DriftProfile 3 columns (2 numeric, 1 categorical), 1001 quantiles per numeric column>"
    )


# --- 5. why a watch rolled back -------------------------------------------------------------


def _rolled_back_watch(tmp_path: Path) -> tuple[ms.monitor.WatchResult, Rollout]:
    from modelship.deploy import BlueGreen
    from modelship.testing import InMemoryDeployer

    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    src = ms.monitor.InMemorySource(now=dep.clock.monotonic)
    src.add(
        "latency",
        slot=rollout.slot,
        values=[0.5] * 9,
        timestamps=[dep.clock.monotonic()] * 9,
    )
    policy = ms.monitor.RollbackPolicy(conditions=["p95(latency) > 200ms min_samples=5"])
    result = ms.monitor.watch(
        rollout,
        src,
        policy,
        interval=60.0,
        duration=600.0,
        clock=dep.clock,
        log_path=tmp_path / "decisions.jsonl",
    )
    return result, rollout


def test_a_watch_says_which_condition_made_it_roll_back(tmp_path: Path) -> None:
    result, _ = _rolled_back_watch(tmp_path)
    assert result.rolled_back
    assert result.last is not None
    assert result.last.reason == "1 failures > failure_limit=0"  # the tracker's, as recorded
    assert result.reason == "1 failures > failure_limit=0: green p95 = 0.5 > 0.2 (n=9)"
    assert result.last_decision is not None
    assert result.last_decision.conditions[0].verdict == "fail"


def test_the_rollback_event_in_the_history_names_the_condition_too(tmp_path: Path) -> None:
    _, rollout = _rolled_back_watch(tmp_path)
    rollbacks = [
        e for e in rollout.history if e.kind.value == "monitor" and "-> rollback" in e.message
    ]
    assert [e.message for e in rollbacks] == [
        "monitor green: fail -> rollback "
        "(1 failures > failure_limit=0: green p95 = 0.5 > 0.2 (n=9))"
    ]
    assert rollbacks[0].data["step"]["reason"] == "1 failures > failure_limit=0"


def test_a_watch_log_replays_identically(tmp_path: Path) -> None:
    _rolled_back_watch(tmp_path)
    log = ms.monitor.DecisionLog.from_jsonl((tmp_path / "decisions.jsonl").read_text())
    assert ms.monitor.replay(log).identical


# --- 6. what a refusal about aliases points at ---------------------------------------------


def test_a_missing_alias_points_at_the_aliases_not_the_versions() -> None:
    reg = ms.open_registry("memory://journey-review38-alias")
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    reg.set_alias("fraud", "production", "1")
    with pytest.raises(VersionNotFound) as caught:
        reg.get("fraud", "@Production")
    assert str(caught.value) == (
        "fraud has no alias 'Production' (its aliases: production); see aliases('fraud')"
    )


@pytest.mark.parametrize("latest", ["latest", "Latest"])
def test_set_alias_to_latest_says_to_pass_the_number(latest: str) -> None:
    reg = ms.open_registry("memory://journey-review38-latest")
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    with pytest.raises(InvalidName) as caught:
        reg.set_alias("fraud", "canary", latest)
    assert str(caught.value) == (
        f"an alias points at a version number (such as '3'), not at the reference {latest!r}: "
        "to point 'canary' at the newest version, pass its number, "
        "reg.get('fraud', 'latest').version"
    )
    assert reg.aliases("fraud") == {}


# --- 7. the examples keep a path they are given -------------------------------------------
# That they leave no folder behind when run as a user runs them (no arguments) is checked
# by tests/test_examples.py, on its own run of each example.


@pytest.mark.parametrize(
    ("script", "keeps", "kept"),
    [
        ("drift_check.py", "--out", "out"),
        ("monitor_replay.py", "--log", "decisions.jsonl"),
        # A relative DIR (inside the run's folder) raised ValueError once. parity.py's --out
        # is the same few lines as drift_check's and the two bias/parity runs are slow.
        ("bias_and_degradation.py", "--out", "reports"),
    ],
)
def test_an_example_keeps_a_path_it_is_given(
    script: str, keeps: str, kept: str, tmp_path: Path
) -> None:
    temp, cwd = tmp_path / "tmp", tmp_path / "cwd"
    temp.mkdir()
    cwd.mkdir()
    (tmp_path / "kept").mkdir()
    # drift_check and monitor_replay are given an absolute path, bias_and_degradation a
    # relative one.
    path = kept if script == "bias_and_degradation.py" else str(tmp_path / "kept" / kept)
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script), keeps, path],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(SRC)},
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (cwd / path).exists()  # cwd / an absolute path is that path
    if script == "bias_and_degradation.py":
        assert (cwd / path / "registry").is_dir()
