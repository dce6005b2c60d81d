"""Stop 55, second round: abort messages of any deployer (the in-memory double).

An abort says "the slots were deleted behind the rollout's back" only when the rollout did
not remove the stable slot itself (Recreate does); it names what shows the slots (the
deployer's state(), kubectl for Kubernetes), not `modelship deploy status`, which reads no
deployer; a slot not ready that still carries the traffic is named; Recreate asks an
optional ``check_not_being_deleted`` hook before it stops anything; ``last_error`` takes
the first line with text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from modelship.deploy import BlueGreen, DeployerCapabilities, DeployError, Recreate, RolloutAborted
from modelship.deploy._rollout import last_error
from modelship.testing import Fault, InMemoryDeployer


class _ApplyFails(InMemoryDeployer):
    fail = False

    def apply(self, *args: Any, **kwargs: Any) -> None:
        if self.fail:
            raise TimeoutError("the API timed out")
        super().apply(*args, **kwargs)


def test_a_recreate_that_removed_the_slot_itself_does_not_blame_a_deletion() -> None:
    dep = _ApplyFails(capabilities=DeployerCapabilities(max_slots=1))
    Recreate(dep, clock=dep.clock).deploy("fraud", "1")
    dep.fail = True
    with pytest.raises(RolloutAborted) as caught:
        Recreate(dep, clock=dep.clock).deploy("fraud", "2")
    text = str(caught.value)
    assert dep.state().slots == ()
    assert "were they deleted" not in text, text
    assert "restoring 1 also failed" in text
    assert "nothing ready serves (blue holds no version)" in text


class _Vanishing(InMemoryDeployer):
    """Every slot goes (a namespace torn down) just before the new slot's health check."""

    def health(self, slot: str) -> Any:
        if slot == "green":
            with self._lock:
                for name in [s.slot for s in self.state().slots]:
                    self.kill(name)
                self._slots.clear()
            raise TimeoutError("gone")
        return super().health(slot)


def test_an_abort_after_every_slot_vanished_names_state_not_deploy_status() -> None:
    dep = _Vanishing()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    with pytest.raises(RolloutAborted) as caught:
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    text = str(caught.value)
    assert "(were they deleted, or their namespace?)" in text, text
    assert "deploy status" not in text
    assert "confirm with its state() (deployer.state()" in text


class _Outage(InMemoryDeployer):
    """The platform stops answering when the traffic is to move."""

    down = False

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        if self.down:
            raise TimeoutError("no answer")
        super().set_traffic(weights)

    def state(self) -> Any:
        if self.down and self._moving:
            raise TimeoutError("no answer")
        return super().state()

    _moving = False

    def health(self, slot: str) -> Any:
        if self.down:
            self._moving = True
        return super().health(slot)


def test_an_abort_whose_state_cannot_be_read_names_state_not_deploy_status() -> None:
    dep = _Outage()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.down = True
    dep.inject(Fault("health", slot="green", times=None))
    with pytest.raises(RolloutAborted) as caught:
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    text = str(caught.value)
    assert "the deployer's state could not be read" in text, text
    assert "deploy status" not in text
    assert "look at the slots with its state()" in text


def test_a_slot_not_ready_that_carries_the_traffic_is_named() -> None:
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.kill("blue")
    dep.inject(Fault("health", slot="green", times=None))
    with pytest.raises(RolloutAborted) as caught:
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    text = str(caught.value)
    assert "nothing was serving before" not in text, text
    assert "blue holds 1, not ready, with 100% of the traffic" in text


class _Deleting(InMemoryDeployer):
    """A deployer with the optional hook: slot blue is being deleted."""

    def check_not_being_deleted(self, slot: str) -> None:
        if slot == "blue":
            raise DeployError("slot 'blue' is being deleted")


def test_recreate_asks_the_hook_before_stopping_anything() -> None:
    dep = _Deleting(capabilities=DeployerCapabilities(max_slots=1))
    Recreate(dep, clock=dep.clock).deploy("fraud", "1")
    with pytest.raises(RolloutAborted) as caught:
        Recreate(dep, clock=dep.clock).deploy("fraud", "2")
    text = str(caught.value)
    assert "blue cannot take 2, so 1 was not stopped" in text, text
    assert "is being deleted" in text
    assert "1 is serving from blue" in text
    assert [(s.slot, s.version, s.weight, s.ready) for s in dep.state().slots] == [
        ("blue", "1", 100, True)
    ]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\nthe real detail on line 2", "TimeoutError: the real detail on line 2"),
        ("  \n\t\n  indented  \n", "TimeoutError: indented"),
        ("   ", "TimeoutError"),
        ("", "TimeoutError"),
    ],
)
def test_last_error_takes_the_first_line_with_text(text: str, shown: str) -> None:
    class Down(InMemoryDeployer):
        def set_traffic(self, weights: Mapping[str, int]) -> None:
            raise TimeoutError(text)

    dep = Down()
    with pytest.raises(RolloutAborted) as caught:
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    assert last_error(caught.value.rollout.history) == shown


@pytest.mark.parametrize(
    ("op", "said"),
    [
        ("set_traffic", r"set_traffic\(\{\}\) raised InjectedFault: injected fault"),
        ("remove", r"remove\('blue'\) raised InjectedFault: injected fault"),
    ],
)
def test_a_recreate_whose_stop_failed_says_why_in_the_reason(op: str, said: str) -> None:
    # The CLI shows the reason, not the history: "stopping 1 failed" alone tells nothing.
    dep = InMemoryDeployer(capabilities=DeployerCapabilities(max_slots=1))
    Recreate(dep, clock=dep.clock).deploy("fraud", "1")
    dep.inject(Fault(op, times=None))
    with pytest.raises(RolloutAborted) as caught:
        Recreate(dep, clock=dep.clock).deploy("fraud", "2")
    assert caught.value.rollout.status.value == "aborted"
    text = str(caught.value)
    assert re.search(r"stopping 1 failed: " + said, text), text
