"""FakeKube.slow_ready: pods with given labels turn Ready only seconds after creation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube

SLOW = {"modelship.io/version": "4"}
LONG = 60.0  # far longer than any test here runs: a pod so delayed is never Ready in it


def _pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"containers": [{"name": "model-server", "image": "ai-model:1"}]},
    }


def _status(kube: FakeKube, name: str) -> dict[str, Any]:
    return (kube.get("pods", NS, name) or {}).get("status") or {}


def _running(kube: FakeKube, name: str) -> bool:
    return _status(kube, name).get("phase") == "Running"


def _ready(kube: FakeKube, name: str) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in _status(kube, name).get("conditions", [])
    )


def _settled(done: Callable[[], bool]) -> None:
    """Wait (10 s at most) until the fake's controller has brought ``done`` about."""
    deadline = time.monotonic() + 10
    while not done():
        assert time.monotonic() < deadline, "the fake's controller did not settle in 10 s"
        time.sleep(0.01)


def test_a_pod_with_the_labels_is_running_but_not_ready_before_its_seconds(
    kube: FakeKube,
) -> None:
    kube.slow_ready(SLOW, LONG)
    kube.create(_pod("slow", SLOW))
    _settled(lambda: _running(kube, "slow"))
    (condition,) = _status(kube, "slow")["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "Ready",
        "False",
        "ContainersNotReady",
    )


def test_a_pod_with_the_labels_turns_ready_once_its_seconds_have_passed(kube: FakeKube) -> None:
    kube.slow_ready(SLOW, 0.3)
    created = time.monotonic()
    kube.create(_pod("slow", SLOW))
    _settled(lambda: _ready(kube, "slow"))
    # A bound, not a race: the controller dates the pod after `created`.
    assert time.monotonic() - created >= 0.3


def test_a_pod_without_the_labels_is_not_delayed(kube: FakeKube) -> None:
    kube.slow_ready(SLOW, LONG)
    kube.create(_pod("other", {"modelship.io/version": "5"}))
    _settled(lambda: _ready(kube, "other"))


def test_a_ready_pod_stays_ready_when_its_labels_are_slowed_afterwards(kube: FakeKube) -> None:
    kube.create(_pod("early", SLOW))
    _settled(lambda: _ready(kube, "early"))
    kube.slow_ready(SLOW, LONG)
    kube.create(_pod("later", SLOW))
    _settled(lambda: _running(kube, "later"))  # a controller pass since slow_ready
    assert _ready(kube, "early")
    assert not _ready(kube, "later")


def test_slow_ready_again_with_zero_seconds_ends_the_delay(kube: FakeKube) -> None:
    kube.slow_ready(SLOW, LONG)
    kube.create(_pod("slow", SLOW))
    _settled(lambda: _running(kube, "slow"))
    kube.slow_ready(SLOW, 0)
    _settled(lambda: _ready(kube, "slow"))


@pytest.mark.parametrize(
    "labels",
    [{}, "modelship.io/version=4", [("modelship.io/version", "4")], {"v": 4}, {"": "4"}, None],
)
def test_slow_ready_refuses_labels_that_are_not_a_non_empty_mapping_of_strings(
    kube: FakeKube, labels: Any
) -> None:
    with pytest.raises(ConfigError, match=r"slow_ready labels=.*give a non-empty mapping"):
        kube.slow_ready(labels, 1.0)


@pytest.mark.parametrize("seconds", [-1, -0.5, math.nan, math.inf, True, "1", None])
def test_slow_ready_refuses_seconds_that_are_not_a_finite_number_at_least_0(
    kube: FakeKube, seconds: Any
) -> None:
    with pytest.raises(ConfigError, match=r"slow_ready seconds=.*give a finite number >= 0"):
        kube.slow_ready(SLOW, seconds)
