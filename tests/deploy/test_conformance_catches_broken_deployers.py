"""DeployerConformance fails deployers that break a rule the strategies rely on.

Each deployer here breaks one rule of docs/writing-a-deployer.md, as a hostile review
found deployers that passed the suite did; each test runs the suite's check that catches
it and shows that it fails. ``Conforming`` (the docs' example, without loading a model)
passes the same checks.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from modelship import deploy as md
from modelship.errors import ConfigError
from modelship.testing import DeployerConformance

VERSIONS = ("fraud", "1", "2")
TIMEOUT = 5.0


class Conforming:
    """A deployer that keeps every rule: examples/custom_deployer.py, without a model."""

    capabilities = md.DeployerCapabilities(exact_weights=True, max_slots=2)
    registry = None

    def __init__(self) -> None:
        self.slots: dict[str, tuple[str, str]] = {}
        self.traffic: dict[str, int] = {}
        self.lock = threading.Lock()

    def get(self, slot: str) -> tuple[str, str]:
        if slot not in self.slots:
            raise md.SlotNotFound(f"no slot {slot!r}")
        return self.slots[slot]

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        with self.lock:  # the check and the swap at once: traffic cannot move between
            if self.traffic.get(slot, 0) > 0:
                raise md.SlotInUse(f"slot {slot!r} receives traffic; move it first")
            self.slots[slot] = (model, version)
            self.traffic[slot] = 0

    def wait_ready(self, slot: str, timeout: float) -> bool:
        self.get(slot)
        return True

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        checked = md.check_weights(weights)
        with self.lock:
            for slot in checked:
                self.get(slot)
            self.traffic = {slot: checked.get(slot, 0) for slot in self.slots}

    def health(self, slot: str) -> md.SlotHealth:
        self.get(slot)
        return md.SlotHealth(True, "ok")

    def remove(self, slot: str) -> None:
        with self.lock:
            if self.traffic.get(slot, 0) > 0:
                raise md.SlotInUse(f"slot {slot!r} receives traffic; move it first")
            self.slots.pop(slot, None)
            self.traffic.pop(slot, None)

    def state(self) -> md.DeployerState:
        with self.lock:
            return md.DeployerState(
                tuple(
                    md.SlotState(s, m, v, self.traffic.get(s, 0), True)
                    for s, (m, v) in sorted(self.slots.items())
                )
            )


class ApplyDropsTraffic(Conforming):
    """apply() rebuilds the routing table: every other slot loses its traffic."""

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        super().apply(slot, model, version, spec)
        with self.lock:
            self.traffic = dict.fromkeys(self.slots, 0)


class SumOnlyWeights(Conforming):
    """Checks only that the weights sum to 100: {'blue': 150, 'green': -50} goes through."""

    def set_traffic(self, weights: Mapping[str, Any]) -> None:
        if weights and sum(weights.values()) != 100:
            raise ConfigError("weights must sum to 100")
        with self.lock:
            for slot in weights:
                self.get(slot)
            self.traffic = {slot: weights.get(slot, 0) for slot in self.slots}


class PartialSetTraffic(Conforming):
    """Moves traffic one slot at a time: a split refused for an unknown slot has moved some."""

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        checked = md.check_weights(weights)
        with self.lock:
            self.traffic = dict.fromkeys(self.slots, 0)
            for slot, weight in checked.items():
                self.get(slot)
                self.traffic[slot] = weight


class NoEmptySplit(Conforming):
    """Refuses the empty split, which means "no traffic" and which Recreate asks for."""

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        if not weights:
            raise ConfigError("give at least one slot a weight")
        super().set_traffic(weights)


suite = DeployerConformance()
INVALID = [
    {"blue": 100.0},
    {"blue": "100"},
    {"blue": 150, "green": -50},
    {"blue": 50.5, "green": 49.5},
    {"blue": True, "green": 99},
]


def test_a_deployer_whose_apply_takes_traffic_from_the_other_slots_fails() -> None:
    with pytest.raises(AssertionError, match="took traffic from blue"):
        suite.test_starting_a_slot_leaves_the_traffic_of_the_others_unchanged(
            ApplyDropsTraffic(), VERSIONS, TIMEOUT
        )


@pytest.mark.parametrize("weights", INVALID, ids=str)
def test_a_deployer_that_only_checks_the_sum_fails(weights: dict[str, Any]) -> None:
    # refused with the suite's failure, or with an error that is not ConfigError
    with pytest.raises((pytest.fail.Exception, TypeError)):
        suite.test_a_split_that_is_not_whole_percentages_summing_to_100_is_refused_unchanged(
            SumOnlyWeights(), VERSIONS, TIMEOUT, weights
        )


def test_a_deployer_that_moves_traffic_before_refusing_a_split_fails() -> None:
    with pytest.raises(AssertionError, match="moved traffic"):
        suite.test_a_split_naming_an_unknown_slot_is_refused_whole(
            PartialSetTraffic(), VERSIONS, TIMEOUT
        )


def test_a_deployer_that_refuses_the_empty_split_fails_it_and_recreate() -> None:
    with pytest.raises(ConfigError):
        suite.test_an_empty_split_takes_all_traffic_away(NoEmptySplit(), VERSIONS, TIMEOUT)
    with pytest.raises(md.RolloutAborted):
        suite.test_recreate_stops_the_serving_version_and_starts_the_next(
            NoEmptySplit(), VERSIONS, TIMEOUT
        )


@pytest.mark.parametrize("weights", INVALID, ids=str)
def test_the_conforming_deployer_passes_the_weight_checks(weights: dict[str, Any]) -> None:
    suite.test_a_split_that_is_not_whole_percentages_summing_to_100_is_refused_unchanged(
        Conforming(), VERSIONS, TIMEOUT, weights
    )


def test_the_conforming_deployer_passes_the_traffic_checks() -> None:
    for check in (
        suite.test_starting_a_slot_leaves_the_traffic_of_the_others_unchanged,
        suite.test_a_split_naming_an_unknown_slot_is_refused_whole,
        suite.test_an_empty_split_takes_all_traffic_away,
        suite.test_recreate_stops_the_serving_version_and_starts_the_next,
    ):
        check(Conforming(), VERSIONS, TIMEOUT)
