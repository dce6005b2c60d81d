"""DeployerConformance fails deployers whose status lies about a version that never
becomes ready, and one whose state is not ordered by slot name.

Each deployer here breaks one promise of the Deployer protocol, as a hostile review found
deployers that passed the suite did (the suite then only deployed versions that start);
each test runs the suite's check against it and shows that it fails. ``Honest`` keeps
every promise and passes the same checks.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from test_conformance_catches_broken_deployers import Conforming

from modelship import deploy as md
from modelship.testing import DeployerConformance

VERSIONS = ("fraud", "1", "2")
CRASHES = "bad"  # the version whose server exits at start, every time
TIMEOUT = 5.0
suite = DeployerConformance()


class Honest(Conforming):
    """Slots start at once, except version ``bad``, which crash-loops."""

    def ready(self, slot: str) -> bool:
        return self.get(slot)[1] != CRASHES

    def wait_ready(self, slot: str, timeout: float) -> bool:
        return self.ready(slot)  # a crashed server is not waited for

    def health(self, slot: str) -> md.SlotHealth:
        ok = self.ready(slot)
        return md.SlotHealth(ok, "ok" if ok else "CrashLoopBackOff")

    def names(self) -> list[str]:
        return sorted(self.slots)

    def state(self) -> md.DeployerState:
        return md.DeployerState(
            tuple(
                md.SlotState(s, *self.slots[s], self.traffic.get(s, 0), self.ready(s))
                for s in self.names()
            )
        )


class TrueAfterTimeout(Honest):
    """wait_ready waits out its timeout, then answers True whatever it saw."""

    def wait_ready(self, slot: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready(slot) and time.monotonic() < deadline:
            time.sleep(0.01)
        return True


class RaisesOnTimeout(Honest):
    """wait_ready raises TimeoutError instead of answering False."""

    def wait_ready(self, slot: str, timeout: float) -> bool:
        if not self.ready(slot):
            raise TimeoutError(f"{slot} not ready after {timeout} s")
        return True


class HealthyWhenItExists(Honest):
    """health() answers healthy once the slot exists (the platform's object, not its pods)."""

    def health(self, slot: str) -> md.SlotHealth:
        self.get(slot)
        return md.SlotHealth(True, "deployment exists")


class ReadyWhenItExists(Honest):
    """state() says ready once the slot exists."""

    def ready(self, slot: str) -> bool:
        self.get(slot)
        return True

    def wait_ready(self, slot: str, timeout: float) -> bool:
        return Honest.ready(self, slot)


class StatusLies(Honest):
    """wait_ready, health and state all read "the slot exists" as ready."""

    def ready(self, slot: str) -> bool:
        self.get(slot)
        return True


class CreationOrder(Honest):
    """state() lists slots in the order they were started, not by name."""

    def names(self) -> list[str]:
        return list(self.slots)


def test_wait_ready_answering_true_after_its_timeout_fails() -> None:
    with pytest.raises(AssertionError, match="wait_ready answered True"):
        suite.test_wait_ready_answers_false_in_time_for_a_version_that_never_becomes_ready(
            TrueAfterTimeout(), VERSIONS, CRASHES
        )


def test_wait_ready_raising_on_timeout_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="raised TimeoutError"):
        suite.test_wait_ready_answers_false_in_time_for_a_version_that_never_becomes_ready(
            RaisesOnTimeout(), VERSIONS, CRASHES
        )


def test_health_that_only_sees_the_slot_exists_fails() -> None:
    with pytest.raises(AssertionError, match="never became ready is healthy"):
        suite.test_a_version_that_never_becomes_ready_is_not_healthy(
            HealthyWhenItExists(), VERSIONS, 0.5, CRASHES
        )


def test_a_state_that_calls_every_slot_ready_fails() -> None:
    with pytest.raises(AssertionError, match="says blue \\(bad\\) is ready"):
        suite.test_a_version_that_never_becomes_ready_is_not_ready_in_the_state(
            ReadyWhenItExists(), VERSIONS, CRASHES
        )


def test_blue_green_on_a_deployer_whose_status_lies_fails() -> None:
    # BlueGreen promotes the crash-looping version: the suite's check sees no abort.
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        suite.test_blue_green_to_a_version_that_never_becomes_ready_aborts_and_keeps_serving(
            StatusLies(), VERSIONS, TIMEOUT, CRASHES, 1
        )


def test_a_state_in_creation_order_fails() -> None:
    with pytest.raises(AssertionError, match="not ordered by name"):
        suite.test_the_state_lists_slots_ordered_by_name(CreationOrder(), VERSIONS)


NEVER_READY_CHECKS = [
    suite.test_wait_ready_answers_false_in_time_for_a_version_that_never_becomes_ready,
    suite.test_a_version_that_never_becomes_ready_is_not_ready_in_the_state,
]


@pytest.mark.parametrize("check", NEVER_READY_CHECKS, ids=lambda c: c.__name__)
def test_the_honest_deployer_passes_the_never_ready_checks(check: Any) -> None:
    check(Honest(), VERSIONS, CRASHES)


@pytest.mark.parametrize("check", NEVER_READY_CHECKS, ids=lambda c: c.__name__)
def test_without_a_never_ready_version_the_checks_skip_and_say_why(check: Any) -> None:
    with pytest.raises(pytest.skip.Exception, match="never_ready fixture"):
        check(StatusLies(), VERSIONS, None)


class CrashesAfterAWhile(Honest):
    """Version bad's server answers health checks until it crashes, 0.3 s after start."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()

    def health(self, slot: str) -> md.SlotHealth:
        if time.monotonic() - self.started < 0.3:
            return md.SlotHealth(True, "starting")
        return super().health(slot)


def test_health_may_turn_unhealthy_once_the_server_has_crashed() -> None:
    suite.test_a_version_that_never_becomes_ready_is_not_healthy(
        CrashesAfterAWhile(), VERSIONS, TIMEOUT, CRASHES
    )
    with pytest.raises(pytest.skip.Exception, match="never_ready fixture"):
        suite.test_a_version_that_never_becomes_ready_is_not_healthy(
            StatusLies(), VERSIONS, TIMEOUT, None
        )


def test_the_honest_deployer_passes_blue_green_and_the_order_of_its_state() -> None:
    suite.test_blue_green_to_a_version_that_never_becomes_ready_aborts_and_keeps_serving(
        Honest(), VERSIONS, TIMEOUT, CRASHES, 1
    )
    with pytest.raises(pytest.skip.Exception, match="never_ready fixture"):
        suite.test_blue_green_to_a_version_that_never_becomes_ready_aborts_and_keeps_serving(
            StatusLies(), VERSIONS, TIMEOUT, None, 1
        )
    suite.test_the_state_lists_slots_ordered_by_name(Honest(), VERSIONS)
