"""Review 38 fixes (monitor): ``monitor watch --slot`` rolls the alias back to the version
before the one watched, not to the previous version of an older rollout of another
version into that slot; a sequential test on two constant, different arms rejects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen, Container, DeploymentSpec
from modelship.monitor import SequentialTest
from modelship.testing import InMemoryDeployer

P95 = "p95(inference_latency_seconds) > 0.2"
# Nothing listens there: every evaluation is an error, and the fifth rolls back
# (error_limit 4), with no Prometheus to script.
UNREACHABLE = "http://127.0.0.1:9"


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _spec(threads: str) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="m", image="m:1", port=9000, env={"THREADS": threads})]
    )


def _watch_slot(reg_url: str, slot: str) -> int:
    return main(
        [
            "monitor", "watch", UNREACHABLE, "-c", P95, "--interval", "0.01",
            "--duration", "60", "--timeout", "1",
            "--registry", reg_url, "--model", "fraud", "--slot", slot,
        ]
    )  # fmt: skip


def _deploy(reg: Any, steps: list[tuple[str, str]]) -> InMemoryDeployer:
    dep = InMemoryDeployer(registry=reg)
    for version, threads in steps:
        BlueGreen(dep, _spec(threads), clock=dep.clock).deploy("fraud", version)
        dep.clock.sleep(10.0)
    return dep


def test_watch_slot_after_a_spec_change_rolls_back_to_the_version_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg_url = str(tmp_path / "reg")
    reg = ms.open_registry(reg_url)
    for n in range(1, 4):
        reg.register(model_name="fraud", model=str(n).encode(), serializer="bytes")
    # 1 into blue, 2 into green, 3 into blue, then 3 again with a new spec into green:
    # green's older rollout (of 2, previous 1) is not the one that put 3 there.
    dep = _deploy(reg, [("1", "1"), ("2", "1"), ("3", "1"), ("3", "8")])
    assert dep.state().serving().slot == "green"
    assert reg.aliases("fraud")["production"] == "3"

    code = _watch_slot(reg_url, "green")

    printed = _lines(capsys.readouterr().out)
    assert code == 1  # rolled back
    assert printed[-1]["event"] == "rollback"
    assert printed[-1]["alias"]["from"] == "3"
    assert printed[-1]["alias"]["to"] == "2"  # before: "1", skipping 2
    assert reg.aliases("fraud")["production"] == "2"


def test_watch_slot_after_only_a_spec_change_moves_the_alias_nowhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg_url = str(tmp_path / "reg")
    reg = ms.open_registry(reg_url)
    reg.register(model_name="fraud", model=b"1", serializer="bytes")
    # 1 into blue, then 1 again with a new spec into green: no rollout moved the alias
    # from another version, so there is no version to go back to.
    dep = _deploy(reg, [("1", "1"), ("1", "8")])
    assert dep.state().serving().slot == "green"

    code = _watch_slot(reg_url, "green")

    printed = _lines(capsys.readouterr().out)
    assert code == 2
    assert printed[-1]["event"] == "error"
    assert printed[-1]["alias"] is None
    assert "nothing to roll back to" in printed[-1]["message"]
    assert not any(p.get("event") == "rollback" for p in printed)  # before: "from 1 to 1"
    assert reg.aliases("fraud")["production"] == "1"


# --- a sequential look at two constant, different arms ---------------------------------------


@pytest.mark.parametrize(("treated", "control"), [(1.0, 0.0), (0.0, 1.0), (1e-200, 0.0)])
def test_a_look_at_two_constant_different_arms_rejects_at_the_difference(
    treated: float, control: float
) -> None:
    result = SequentialTest(tau=0.1).look([treated] * 5000, [control] * 5000)

    assert result.reject  # before: p 1, never rejected
    assert (result.p_value, result.log_lr, result.variance) == (0.0, np.inf, 0.0)
    assert (result.ci_low, result.ci_high) == (treated - control, treated - control)
    assert (result.n_x, result.n_y) == (5000, 5000)


def test_a_constant_difference_outside_the_earlier_interval_empties_it() -> None:
    test = SequentialTest(tau=0.1)
    test.look_summary(difference=0.0, variance=0.0001)  # interval about +-0.03

    with pytest.warns(ms.ModelshipWarning, match="no longer overlap") as caught:
        result = test.look([1.0] * 50, [0.0] * 50)

    assert result.reject
    assert np.isnan(result.ci_low)
    assert np.isnan(result.ci_high)
    assert caught[0].filename == __file__  # the warning names the caller's line


def test_a_variance_that_underflows_over_varying_values_stays_no_information() -> None:
    # Not constant: the values vary, their variance is below the smallest float.
    result = SequentialTest(tau=0.1).look([1e-200, 2e-200] * 10, [0.0] * 20)

    assert result.variance == 0.0
    assert (result.p_value, result.reject, result.log_lr) == (1.0, False, 0.0)


# --- a watch's rollback is recorded, as `deploy rollback` records its own -------------------


def test_a_second_watch_does_not_move_the_alias_back_onto_the_version_it_rolled_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg_url = str(tmp_path / "reg")
    reg = ms.open_registry(reg_url)
    for n in range(1, 3):
        reg.register(model_name="fraud", model=str(n).encode(), serializer="bytes")
    dep = _deploy(reg, [("1", "1"), ("2", "1"), ("1", "1"), ("2", "1")])
    assert dep.state().serving().slot == "green"

    assert _watch_slot(reg_url, "green") == 1  # 2 rolled back: the alias moves to 1
    assert reg.aliases("fraud")["production"] == "1"
    capsys.readouterr()
    # The slots follow the alias (as `deploy apply @production` does); 1 is then watched.
    BlueGreen(dep, _spec("8"), clock=dep.clock).deploy("fraud", "1")

    code = _watch_slot(reg_url, dep.state().serving().slot)

    printed = _lines(capsys.readouterr().out)
    assert code == 2
    assert printed[-1]["event"] == "error"
    assert "2, was itself rolled back" in printed[-1]["message"]
    assert reg.aliases("fraud")["production"] == "1"  # before: moved back onto 2
