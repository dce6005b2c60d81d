"""A LocalDeployer is one service of two slots, blue and green, as it declares (max_slots=2).

It started a server for any slot name (a third, a fourth: each one more process, and
``set_traffic`` routed to them), where the InMemoryDeployer and the KubernetesDeployer
refuse a slot beyond their two. ``apply`` now refuses any other name with a
``ConfigError`` before a server starts; the other calls answer as for a slot that does
not exist (``SlotNotFound``; ``remove`` has nothing to do), as the KubernetesDeployer's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture

import modelship as ms
from modelship.deploy import SlotNotFound
from modelship.deploy.local import LocalDeployer, _deployer
from modelship.errors import ConfigError

OTHER_SLOTS = ["red", "canary", "Blue", "blue ", "", "stable"]


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv of every server the deployer starts (started for real)."""
    started: list[list[str]] = []
    start = _deployer.ServerProcess.start

    def recording(argv: list[str], **kwargs: Any) -> Any:
        started.append(argv)
        return start(argv, **kwargs)

    monkeypatch.setattr(_deployer.ServerProcess, "start", staticmethod(recording))
    return started


@pytest.fixture
def idle(tmp_path: Path) -> Iterator[LocalDeployer]:
    """A deployer with no model to serve: nothing here gets as far as starting a server."""
    with LocalDeployer(ms.open_registry(str(tmp_path)), server_args=["--no-warmup"]) as dep:
        yield dep


@pytest.mark.parametrize("slot", OTHER_SLOTS)
def test_apply_refuses_a_slot_other_than_blue_and_green_before_a_server_starts(
    idle: LocalDeployer, starts: list[list[str]], slot: str
) -> None:
    with pytest.raises(
        ConfigError,
        match=rf"^slot must be one of \('blue', 'green'\) \(a LocalDeployer is one service "
        rf"with these two\), got {slot!r}$",
    ):
        idle.apply(slot, "fraud", "1")
    assert starts == []
    assert idle.pids() == {}
    assert idle.state().slots == ()


@pytest.mark.parametrize("slot", [None, 1, ["blue"], b"blue"])
def test_apply_refuses_a_slot_that_is_not_text(idle: LocalDeployer, slot: Any) -> None:
    with pytest.raises(ConfigError, match=r"^slot must be one of \('blue', 'green'\)"):
        idle.apply(slot, "fraud", "1")
    assert idle.pids() == {}


def test_the_other_calls_answer_for_another_slot_as_for_one_not_started(
    idle: LocalDeployer,
) -> None:
    names = r"\(a LocalDeployer's slots are blue and green\)$"
    with pytest.raises(SlotNotFound, match=r"^no slot 'red'; slots: \[\] " + names):
        idle.wait_ready("red", 0)
    with pytest.raises(SlotNotFound, match=r"^no slot 'red'; slots: \[\] " + names):
        idle.health("red")
    with pytest.raises(SlotNotFound, match=r"^no slot 'red'; slots: \[\] " + names):
        idle.slot_url("red")
    with pytest.raises(SlotNotFound, match=r"^no slot 'red'; slots: \[\] " + names):
        idle.set_traffic({"red": 100})
    with pytest.raises(SlotNotFound, match=r"^no slot \['red'\]; slots: \[\] " + names):
        idle.health(["red"])  # type: ignore[arg-type]
    # A blue or green not started is only not started: no note about names.
    with pytest.raises(SlotNotFound, match=r"^no slot 'green'; slots: \[\]$"):
        idle.health("green")
    idle.remove("red")  # as the KubernetesDeployer's: no such slot, nothing to remove
    assert idle.state().slots == ()


@pytest.mark.slow
def test_a_third_slot_is_refused_beside_blue_and_green_running(
    served_registry: Path,  # noqa: F811
    starts: list[list[str]],
) -> None:
    """The reviewer's repro: blue and green run, red and purple were started as well."""
    reg = ms.open_registry(str(served_registry))
    with LocalDeployer(registry=reg, server_args=["--no-warmup"]) as dep:
        for slot in ("blue", "green"):
            dep.apply(slot, "fraud", "1")
            assert dep.wait_ready(slot, 60)
        for slot in ("red", "purple"):
            with pytest.raises(ConfigError, match=rf"got {slot!r}$"):
                dep.apply(slot, "fraud", "1")
        assert len(starts) == 2
        assert sorted(dep.pids()) == ["blue", "green"]
        with pytest.raises(
            SlotNotFound,
            match=r"^no slot 'red'; slots: \['blue', 'green'\] \(a LocalDeployer's slots are",
        ):
            dep.set_traffic({"red": 50, "purple": 50})
        assert [(s.slot, s.weight, s.ready) for s in dep.state().slots] == [
            ("blue", 0, True),
            ("green", 0, True),
        ]
        dep.set_traffic({"blue": 50, "green": 50})  # the two it has still take traffic
        assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 50, "green": 50}
