"""Review 38: ``modelship deploy rollback`` records its rollback in the deployment history,
as ``Rollout.rollback()`` does, so a second rollback does not move the alias back onto the
version the first one rolled back from."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy import BlueGreen, Container, DeploymentSpec
from modelship.deploy._cli import main
from modelship.deploy._history import RegistryHistory
from modelship.deploy._rollout import EventKind, RolloutRecord, RolloutStatus
from modelship.registry import Registry
from modelship.testing import InMemoryDeployer


def _spec(threads: str) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="m", image="m:1", port=9000, env={"THREADS": threads})]
    )


def _registry(tmp_path: Path, versions: int) -> tuple[str, Registry]:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for n in range(1, versions + 1):
        reg.register(model_name="fraud", model=str(n).encode(), serializer="bytes")
    return url, reg


def _deploy(reg: Registry, steps: list[tuple[str, str]]) -> InMemoryDeployer:
    dep = InMemoryDeployer(registry=reg)
    for version, threads in steps:
        BlueGreen(dep, _spec(threads), clock=dep.clock).deploy("fraud", version)
        dep.clock.sleep(10.0)
    return dep


def test_a_second_rollback_does_not_move_back_onto_the_version_rolled_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, reg = _registry(tmp_path, 2)
    _deploy(reg, [("1", "1"), ("2", "1"), ("1", "1"), ("2", "1")])

    assert main(["rollback", url, "fraud"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["from"], first["to"]) == ("2", "1")
    assert "not_recorded" not in first

    assert main(["rollback", url, "fraud"]) == 1  # before: 0, moved from 1 back to 2
    err = capsys.readouterr().err
    assert f"fraud 2, where the alias production would go back to, was rolled back by " \
        f"rollout {first['rollout']}" in err  # fmt: skip
    assert reg.aliases("fraud") == {"production": "1"}


def test_the_rollback_is_recorded_on_the_rollout_it_undid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, reg = _registry(tmp_path, 2)
    _deploy(reg, [("1", "1"), ("2", "1")])

    assert main(["rollback", url, "fraud"]) == 0
    moved = json.loads(capsys.readouterr().out)

    undone = next(r for r in RegistryHistory(reg).records("fraud") if r.id == moved["rollout"])
    assert undone.status is RolloutStatus.ROLLED_BACK  # before: succeeded
    kinds = [e.kind for e in undone.events[-2:]]
    assert kinds == [EventKind.ROLLBACK, EventKind.ALIAS]
    assert undone.events[-1].data == {"alias": "production", "to": "1", "expected": "2"}


def test_a_spec_change_after_the_rollout_undone_does_not_clear_the_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, reg = _registry(tmp_path, 2)
    # 2, then 1, then 2 (previous 1), then 2 again with a new spec (previous 2).
    _deploy(reg, [("2", "1"), ("1", "1"), ("2", "1"), ("2", "8")])

    assert main(["rollback", url, "fraud"]) == 0
    assert json.loads(capsys.readouterr().out)["to"] == "1"

    assert main(["rollback", url, "fraud"]) == 1  # before: 0, moved from 1 back to 2
    assert "was rolled back by rollout" in capsys.readouterr().err
    assert reg.aliases("fraud") == {"production": "1"}


def test_a_later_successful_rollout_of_the_version_clears_the_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, reg = _registry(tmp_path, 2)
    dep = _deploy(reg, [("1", "1"), ("2", "1")])
    assert main(["rollback", url, "fraud"]) == 0
    capsys.readouterr()
    # The slots follow the alias (as `deploy apply @production` does), then 2, fixed, is
    # deployed again and succeeds.
    BlueGreen(dep, _spec("1"), clock=dep.clock).deploy("fraud", "1")
    BlueGreen(dep, _spec("1"), clock=dep.clock).deploy("fraud", "2")

    assert main(["rollback", url, "fraud"]) == 0
    moved = json.loads(capsys.readouterr().out)
    assert (moved["from"], moved["to"]) == ("2", "1")


def test_records_written_without_the_alias_they_moved_are_read_and_left_as_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # History as versions before the alias was recorded wrote it: no events at all.
    url, reg = _registry(tmp_path, 2)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    history = RegistryHistory(reg)
    for n, (version, previous) in enumerate([("1", None), ("2", "1"), ("1", "2"), ("2", "1")]):
        history.save(
            RolloutRecord(
                id=f"20260101T00000{n}000000Z-0000000{n}",
                model="fraud",
                version=version,
                strategy="blue-green",
                status=RolloutStatus.SUCCEEDED,
                slot="blue" if n % 2 == 0 else "green",
                previous_version=previous,
                previous_slot=None if previous is None else ("green" if n % 2 == 0 else "blue"),
                started_at=start + timedelta(seconds=n),
            )
        )
    reg.set_alias("fraud", "production", "2")

    assert main(["rollback", url, "fraud"]) == 0
    assert json.loads(capsys.readouterr().out)["to"] == "1"
    assert reg.aliases("fraud") == {"production": "1"}
    # A record that does not say which alias it moved may be another alias's (staging
    # and production sharing the registry): marking it rolled back for production would
    # block that alias's own rollback, so it is left as it is (second look). Records
    # written since say their alias and are marked (the tests above).
    assert main(["history", url, "fraud"]) == 0  # the history still reads
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["succeeded"] * 4
