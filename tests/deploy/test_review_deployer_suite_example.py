"""examples/custom_deployer.py refuses to replace a slot that got traffic while its new
version loaded: the SlotInUse check is atomic with the replacement.

A review found ``apply("green", v2)`` checked the slot's weight before a slow
``registry.load``; a ``set_traffic({"blue": 50, "green": 50})`` in between was then
silently undone (green replaced, its weight reset: the weights summed to 50).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import pytest

from modelship.deploy import SlotInUse

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_deployer.py"


def _example_deployer() -> Any:
    spec = importlib.util.spec_from_file_location("custom_deployer_race", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.InProcessDeployer


class PausingRegistry:
    """Loads any version at once, except ``paused``: its load waits for ``go``."""

    def __init__(self, paused: str) -> None:
        self.paused = paused
        self.loading, self.go = threading.Event(), threading.Event()

    def load(self, model: str, version: str) -> str:
        if version == self.paused:
            self.loading.set()
            assert self.go.wait(30), "the test never let the load finish"
        return f"{model} {version}"


def test_traffic_moved_to_a_slot_while_its_new_version_loads_refuses_the_apply() -> None:
    registry = PausingRegistry(paused="2")
    dep = _example_deployer()(registry)
    dep.apply("blue", "fraud", "1")
    dep.apply("green", "fraud", "1")
    dep.set_traffic({"blue": 100})
    raised: list[BaseException] = []

    def apply_green() -> None:
        try:
            dep.apply("green", "fraud", "2")
        except BaseException as exc:  # handed to the test's thread
            raised.append(exc)

    thread = threading.Thread(target=apply_green)
    thread.start()
    try:
        assert registry.loading.wait(30), "apply never loaded version 2"
        dep.set_traffic({"blue": 50, "green": 50})  # between the load and the swap
    finally:
        registry.go.set()
        thread.join(30)
    assert len(raised) == 1
    assert isinstance(raised[0], SlotInUse), raised
    state = [(s.slot, s.version, s.weight) for s in dep.state().slots]
    assert state == [("blue", "1", 50), ("green", "1", 50)]


def test_an_idle_slot_is_replaced_after_its_new_version_loads() -> None:
    registry = PausingRegistry(paused="none")
    dep = _example_deployer()(registry)
    dep.apply("blue", "fraud", "1")
    dep.set_traffic({"blue": 100})
    dep.apply("green", "fraud", "2")
    with pytest.raises(SlotInUse):
        dep.apply("blue", "fraud", "2")
    state = [(s.slot, s.version, s.weight) for s in dep.state().slots]
    assert state == [("blue", "1", 100), ("green", "2", 0)]
