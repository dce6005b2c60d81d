"""InMemoryDeployer and ManualClock behave like the deployers and clocks they stand for.

Each test pins one answer on which the double and a real deployer (LocalDeployer,
KubernetesDeployer) or SystemClock used to differ, or a fault that was used up for nothing.
"""

from __future__ import annotations

import math
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelship as ms
from modelship.deploy import (
    DeployerCapabilities,
    DeployError,
    SlotInUse,
    SlotNotFound,
)
from modelship.errors import ConfigError
from modelship.testing import Fault, FaultEffect, InjectedFault, InMemoryDeployer, ManualClock


def started(*slots: str, **options: Any) -> InMemoryDeployer:
    dep = InMemoryDeployer(**options)
    for slot in slots:
        dep.apply(slot, "m", slot)
        assert dep.wait_ready(slot, 10)
    return dep


# --- faults fire where they take effect --------------------------------------------------------


def test_an_effect_matching_a_call_another_fault_made_raise_strikes_the_next_call() -> None:
    dep = InMemoryDeployer(faults=(Fault("apply"), Fault("apply", FaultEffect.NEVER_READY)))
    with pytest.raises(InjectedFault):
        dep.apply("blue", "m", "1")
    dep.apply("blue", "m", "1")
    assert dep.wait_ready("blue", 10) is False


def test_an_effect_matching_a_call_that_was_refused_strikes_the_next_call() -> None:
    dep = started("blue")
    dep.set_traffic({"blue": 100})
    dep.inject(Fault("apply", FaultEffect.UNHEALTHY, slot="blue"))
    with pytest.raises(SlotInUse):
        dep.apply("blue", "m", "2")
    assert dep.health("blue").healthy
    dep.set_traffic({})
    dep.apply("blue", "m", "2")
    assert not dep.health("blue").healthy


def test_two_raise_faults_fire_on_two_calls_one_each() -> None:
    dep = InMemoryDeployer(faults=(Fault("state"), Fault("state")))
    for _ in range(2):
        with pytest.raises(InjectedFault):
            dep.state()
    assert dep.state().slots == ()


@pytest.mark.parametrize(
    "options",
    [{"times": 0}, {"times": -1}, {"times": 2.5}, {"times": True}, {"skip": -3}, {"skip": 1.5}],
    ids=str,
)
def test_a_fault_refuses_times_and_skip_that_mean_nothing(options: dict[str, Any]) -> None:
    name = next(iter(options))
    with pytest.raises(ConfigError, match=rf"^{name}="):
        Fault("state", **options)


def test_a_fault_refuses_an_unknown_operation_or_effect() -> None:
    with pytest.raises(ConfigError, match="op="):
        Fault("deploy")
    with pytest.raises(ConfigError, match="effect="):
        Fault("state", "explode")  # type: ignore[arg-type]


def test_a_fault_on_a_slot_fires_when_traffic_is_moved_off_it() -> None:
    dep = started("blue", "green")
    dep.set_traffic({"green": 100})
    dep.inject(Fault("set_traffic", slot="green"))
    with pytest.raises(InjectedFault):
        dep.set_traffic({"blue": 100})
    assert dep.state().slot("green").weight == 100


def test_a_traffic_fault_naming_no_slot_strikes_only_the_slots_given_traffic() -> None:
    dep = started("blue", "green")
    dep.set_traffic({"blue": 100})
    dep.inject(Fault("set_traffic", FaultEffect.UNHEALTHY, times=None))
    dep.set_traffic({})  # drains blue, gives nobody traffic
    assert dep.health("blue").healthy
    dep.set_traffic({"green": 100})
    assert (dep.health("blue").healthy, dep.health("green").healthy) == (True, False)


def test_an_injected_fault_is_a_deploy_error() -> None:
    assert issubclass(InjectedFault, DeployError)


# --- weights rounded to replicas -----------------------------------------------------------


@pytest.mark.parametrize("replicas", [0, -4, 101, 2.5, "4"])
def test_replicas_must_be_a_whole_number_from_1_to_100(replicas: Any) -> None:
    with pytest.raises(ConfigError, match=r"^replicas="):
        InMemoryDeployer(capabilities=DeployerCapabilities(exact_weights=False), replicas=replicas)


@pytest.mark.parametrize(
    ("replicas", "asked", "applied"),
    [
        (1, {"blue": 99, "green": 1}, {"blue": 100, "green": 0}),
        (2, {"blue": 95, "green": 5}, {"blue": 100, "green": 0}),
        (4, {"blue": 90, "green": 10}, {"blue": 75, "green": 25}),
        (2, {"blue": 50, "green": 50}, {"blue": 50, "green": 50}),
    ],
)
def test_a_replica_split_gives_a_smaller_share_no_more_than_a_larger(
    replicas: int, asked: dict[str, int], applied: dict[str, int]
) -> None:
    dep = started(
        "blue", "green", capabilities=DeployerCapabilities(exact_weights=False), replicas=replicas
    )
    dep.set_traffic(asked)
    assert {s.slot: s.weight for s in dep.state().slots} == applied


@given(
    replicas=st.integers(1, 100),
    cuts=st.lists(st.integers(0, 100), min_size=2, max_size=2),
)
def test_any_replica_split_sums_to_100_and_keeps_the_order_of_the_shares(
    replicas: int, cuts: list[int]
) -> None:
    low, high = sorted(cuts)
    asked = {"a": low, "b": high - low, "c": 100 - high}
    dep = InMemoryDeployer(
        capabilities=DeployerCapabilities(exact_weights=False, max_slots=3), replicas=replicas
    )
    for slot in asked:
        dep.apply(slot, "m", "1")
    dep.set_traffic(asked)
    applied = {s.slot: s.weight for s in dep.state().slots}
    assert sum(applied.values()) == 100
    for x, share in asked.items():
        if share == 0:
            assert applied[x] == 0
        for y, other in asked.items():
            if share > other:
                assert applied[x] >= applied[y], (replicas, asked, applied)


# --- slots, registry, closing --------------------------------------------------------------


def test_a_slot_beyond_max_slots_is_refused_as_kubernetes_refuses_it() -> None:
    dep = started("blue", "green")
    with pytest.raises(ConfigError, match="at most 2"):
        dep.apply("red", "m", "1")
    dep.apply("green", "m", "2")  # replacing a slot's version is no new slot
    assert [s.slot for s in dep.state().slots] == ["blue", "green"]
    single = InMemoryDeployer(capabilities=DeployerCapabilities(max_slots=1))
    single.apply("blue", "m", "1")
    with pytest.raises(ConfigError, match="at most 1"):
        single.apply("green", "m", "1")


@pytest.fixture
def registry() -> ms.Registry:
    reg = ms.open_registry(f"memory://review-deployer-{uuid.uuid4().hex}")
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    return reg


def test_a_version_missing_from_the_registry_never_becomes_ready_and_health_says_why(
    registry: ms.Registry,
) -> None:
    dep = InMemoryDeployer(registry=registry)
    dep.apply("blue", "fraud", "999")
    start = dep.clock.monotonic()
    assert dep.wait_ready("blue", 30) is False
    assert dep.clock.monotonic() == start  # a server that exited is not waited for
    health = dep.health("blue")
    assert not health.healthy
    assert "999" in health.detail
    assert dep.state().slot("blue").ready is False
    dep.apply("green", "fraud", "1")
    assert dep.wait_ready("green", 30) is True


def test_a_closed_deployer_refuses_to_start_or_route_and_has_no_slots() -> None:
    with started("blue") as dep:
        dep.set_traffic({"blue": 100})
    assert dep.state().slots == ()
    with pytest.raises(DeployError, match="closed"):
        dep.apply("blue", "m", "1")
    with pytest.raises(DeployError, match="closed"):
        dep.set_traffic({})
    with pytest.raises(SlotNotFound):
        dep.health("blue")
    dep.remove("blue")
    dep.close()  # idempotent


# --- waiting -------------------------------------------------------------------------------


class _ReportingClock(ManualClock):
    """Asks, while it sleeps, whether another thread can use the deployer."""

    def __init__(self) -> None:
        super().__init__()
        self.dep: InMemoryDeployer | None = None
        self.answered: list[bool] = []
        self.threads: list[threading.Thread] = []

    def sleep(self, seconds: float) -> None:
        done = threading.Event()

        def other() -> None:
            assert self.dep is not None
            self.dep.health("blue")
            done.set()

        self.threads.append(threading.Thread(target=other))
        self.threads[-1].start()
        self.answered.append(done.wait(5))
        super().sleep(seconds)


def test_wait_ready_does_not_hold_the_deployer_while_it_sleeps() -> None:
    clock = _ReportingClock()
    dep = InMemoryDeployer(clock=clock, faults=(Fault("apply", FaultEffect.NEVER_READY),))
    clock.dep = dep
    dep.apply("blue", "m", "1")
    assert dep.wait_ready("blue", 1) is False
    for thread in clock.threads:
        thread.join(30)
    assert clock.answered
    assert all(clock.answered), "another thread waited for the whole sleep"


def test_wait_ready_on_a_killed_slot_answers_false_at_once() -> None:
    dep = InMemoryDeployer(startup_seconds=5)
    dep.apply("blue", "m", "1")
    dep.kill("blue")
    start = dep.clock.monotonic()
    assert dep.wait_ready("blue", 600) is False
    assert dep.clock.monotonic() == start
    assert dep.health("blue").detail == "injected: down"


def test_wait_ready_on_a_slow_slot_sleeps_until_it_is_ready() -> None:
    dep = InMemoryDeployer(startup_seconds=5)
    dep.apply("blue", "m", "1")
    assert dep.wait_ready("blue", 600) is True
    assert dep.clock.monotonic() == 5


def test_killing_a_slot_that_does_not_exist_raises_slot_not_found() -> None:
    with pytest.raises(SlotNotFound, match="no slot 'nope'"):
        InMemoryDeployer().kill("nope")


# --- ManualClock -------------------------------------------------------------------------


@pytest.mark.parametrize("start", [datetime(2026, 1, 1), "2026-01-01", 0])
def test_a_manual_clock_starts_at_a_timezone_aware_time(start: Any) -> None:
    with pytest.raises(ConfigError, match=r"^start="):
        ManualClock(start)
    assert ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc)).wall().tzinfo is not None


@pytest.mark.parametrize("seconds", [math.inf, math.nan, "1", None])
def test_a_manual_clock_refuses_seconds_that_are_not_a_finite_number(seconds: Any) -> None:
    clock = ManualClock()
    with pytest.raises(ConfigError, match=r"^seconds="):
        clock.sleep(seconds)
    with pytest.raises(ConfigError, match=r"^seconds="):
        clock.advance(seconds)
    clock.sleep(-5)  # ignored, as SystemClock ignores it
    assert clock.monotonic() == 0.0
