"""Review 46: the conformance suites catch what they let through before.

- DeployerConformance's ``slow_start`` fixture: a deployer that calls a slot ready before
  its server can answer (ready = "alive") fails; an honest one passes; none skips.
- MetricSourceConformance: a real clock's ``now()`` hours off (a UTC time read as local
  time) fails; 15 minutes is the bound, as the Store suite's.
- StoreConformance's ``list_page_size``: a listing that reads one page of 2,000 names
  fails when the page size is given as 2,000.

Each runs the suite's check on a store, source or deployer directly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from modelship import deploy as md
from modelship.deploy._clock import SystemClock
from modelship.errors import ConfigError
from modelship.monitor import InMemorySource
from modelship.registry import Store
from modelship.testing import (
    DeployerConformance,
    MemoryStore,
    MetricSourceConformance,
    SourceCase,
    StoreConformance,
)
from modelship.testing._deployer_double import InMemoryDeployer

VERSIONS = ("fraud", "1", "2")

# --- a deployer that calls a slot ready before it can answer ------------------------------


class AliveIsReady:
    """Calls a slot ready (in ``state`` and ``wait_ready``) as soon as its server is alive,
    which is at once; its servers take ``LOAD`` seconds to load their model first."""

    LOAD = 30.0  # long: the suite's checks fail at once, without waiting for it
    capabilities = md.DeployerCapabilities(exact_weights=True, max_slots=2)
    registry = None

    def __init__(self) -> None:
        self.slots: dict[str, tuple[str, str]] = {}
        self.traffic: dict[str, int] = {}

    def get(self, slot: str) -> tuple[str, str]:
        if slot not in self.slots:
            raise md.SlotNotFound(f"no slot {slot!r}")
        return self.slots[slot]

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        if self.traffic.get(slot, 0) > 0:
            raise md.SlotInUse(slot)
        self.slots[slot] = (model, version)
        self.traffic[slot] = 0

    def wait_ready(self, slot: str, timeout: float) -> bool:
        self.get(slot)
        return True  # alive: "it did not crash, so it is up"

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        checked = md.check_weights(weights)
        for slot in checked:
            self.get(slot)
        self.traffic = {slot: checked.get(slot, 0) for slot in self.slots}

    def health(self, slot: str) -> md.SlotHealth:
        self.get(slot)
        return md.SlotHealth(True, "alive")

    def remove(self, slot: str) -> None:
        if self.traffic.get(slot, 0) > 0:
            raise md.SlotInUse(slot)
        self.slots.pop(slot, None)
        self.traffic.pop(slot, None)

    def state(self) -> md.DeployerState:
        return md.DeployerState(
            tuple(
                md.SlotState(s, m, v, self.traffic.get(s, 0), True)
                for s, (m, v) in sorted(self.slots.items())
            )
        )


_SLOW_CHECKS = [
    "test_a_slow_starting_version_is_not_ready_until_it_can_answer",
    "test_a_strategy_sends_a_slow_starting_version_no_traffic_before_it_can_answer",
]


@pytest.mark.parametrize("check", _SLOW_CHECKS)
def test_a_deployer_that_calls_a_loading_server_ready_fails_the_slow_start_checks(
    check: str,
) -> None:
    suite = DeployerConformance()
    with pytest.raises(AssertionError, match=r"cannot answer until 30\.0 s"):
        getattr(suite, check)(AliveIsReady(), VERSIONS, 5.0, ("1", AliveIsReady.LOAD))


@pytest.mark.parametrize("check", _SLOW_CHECKS)
def test_a_deployer_ready_once_its_server_answers_passes_the_slow_start_checks(
    check: str,
) -> None:
    # The double on the real clock: a slot is ready 0.3 s after apply, not sooner.
    dep = InMemoryDeployer(clock=SystemClock(), startup_seconds=0.3)
    getattr(DeployerConformance(), check)(dep, VERSIONS, 10.0, ("1", 0.3))


@pytest.mark.parametrize("check", _SLOW_CHECKS)
def test_the_slow_start_checks_skip_without_a_slow_version(check: str) -> None:
    with pytest.raises(pytest.skip.Exception, match="slow_start fixture"):
        getattr(DeployerConformance(), check)(AliveIsReady(), VERSIONS, 5.0, None)


@pytest.mark.parametrize("given", [("1",), ("1", 0), ("1", -1.0), (1, 1.0), ("1", True), "1"])
def test_a_slow_start_that_is_not_a_version_and_seconds_is_a_config_error(given: Any) -> None:
    with pytest.raises(ConfigError, match="give \\(version, seconds\\)"):
        DeployerConformance.slow_version(given)


def test_the_slow_start_fixture_is_documented_in_the_suite() -> None:
    assert "slow_start" in (DeployerConformance.__doc__ or "")


# --- a metric source whose real clock is hours off ----------------------------------------


def _case(now: float) -> SourceCase:
    src = InMemorySource(now=now)
    src.add("m", slot="a", values=[1.0], timestamps=[now - 600.0])
    return SourceCase(src, "m", "a", start=now - 1200.0, end=now - 300.0, real_clock=True)


@pytest.mark.parametrize("hours", [5.0, -5.0, 1.0])
def test_a_real_clock_hours_off_fails_the_clock_check(hours: float) -> None:
    # A UTC time read as local time: every policy window ends hours away from now.
    case = _case(time.time() - hours * 3600)
    with pytest.raises(AssertionError, match="more than 15 minutes"):
        MetricSourceConformance().test_now_is_seconds_since_the_epoch(case)


def test_a_real_clock_minutes_off_passes_the_clock_check() -> None:
    MetricSourceConformance().test_now_is_seconds_since_the_epoch(_case(time.time() - 600))


# --- a store whose listing reads one page of 2,000 names ------------------------------------


class FirstPageOnly(MemoryStore):
    """Lists only the first 2,000 names, as a back end with pages of 2,000 that forgets
    the continuation token."""

    def list(self, prefix: str) -> list[str]:
        return super().list(prefix)[:2000]


def _memory(cls: type[MemoryStore] = MemoryStore) -> Store:
    return cls(f"test-memory://review46-{uuid.uuid4().hex}")


class _Pages2000(StoreConformance):
    list_page_size = 2000


def test_a_listing_of_one_page_of_the_given_size_fails_the_paging_check() -> None:
    check = _Pages2000().test_list_names_every_child_of_a_folder_larger_than_any_page
    with pytest.raises(AssertionError, match="named 2000 of 2010 children"):
        check(_memory(FirstPageOnly))


def test_a_listing_of_every_page_passes_the_paging_check_of_the_given_size() -> None:
    _Pages2000().test_list_names_every_child_of_a_folder_larger_than_any_page(_memory())


@pytest.mark.parametrize("size", [0, -1, 1000.0, True, "1000"])
def test_a_list_page_size_that_is_not_a_positive_int_is_a_config_error(size: Any) -> None:
    suite = type("BadPages", (StoreConformance,), {"list_page_size": size})()
    with pytest.raises(ConfigError, match="list_page_size"):
        suite.test_list_names_every_child_of_a_folder_larger_than_any_page(_memory())
