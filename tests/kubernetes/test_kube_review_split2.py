"""Replica-ratio canary splits, as a second review reproduced their defects: the smaller
share scaled past ``max_split_replicas`` and its own spec, and a split that was not the
closest the bounds allow (the smaller count rounded as a count, not as a share)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
from _kube_helpers import NS
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes._deployer import _split
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]


@pytest.fixture
def make(make_deployer: Make) -> Make:
    """The conftest's deployers (fraud, s3://models, fast retries, 2 s requests)."""
    return make_deployer


def spec(replicas: int) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)],
        replicas=replicas,
    )


def replicas(kube: FakeKube, name: str) -> int:
    found = kube.get("deployments", NS, name)
    assert found is not None
    return int(found["spec"]["replicas"])


def test_a_split_never_scales_the_smaller_share_past_max_split_replicas_or_its_spec(
    kube: FakeKube, make: Make
) -> None:
    dep = make(max_split_replicas=20)
    for slot, version, n in (("blue", "1", 30), ("green", "2", 5)):
        dep.apply(slot, "fraud", version, spec(n))
        assert dep.wait_ready(slot, 30)
    dep.set_traffic({"blue": 100})
    dep.set_traffic({"blue": 50, "green": 50})
    assert (replicas(kube, "fraud-blue"), replicas(kube, "fraud-green")) == (30, 20)
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 60, "green": 40}


def test_a_cluster_split_runs_the_counts_whose_share_is_closest_to_the_one_asked(
    kube: FakeKube, make: Make
) -> None:
    dep = make(max_split_replicas=2)
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, spec(2))
        assert dep.wait_ready(slot, 30)
    dep.set_traffic({"blue": 100})
    dep.set_traffic({"blue": 58, "green": 42})
    assert (replicas(kube, "fraud-blue"), replicas(kube, "fraud-green")) == (2, 2)
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 50, "green": 50}  # not 67/33


def test_a_split_keeps_a_smaller_share_at_its_spec_when_that_is_above_the_cap() -> None:
    assert _split(50, 50, 30, 20, 30) == (30, 30)  # both at their spec: exactly 50/50
    assert _split(50, 50, 30, 20, 40) == (30, 30)  # but never above the larger share's


@pytest.mark.parametrize(
    ("weights", "floor", "most", "expected"),
    [
        ((58, 42), 2, 2, (2, 2)),  # 50% is closer to 42% than 33%
        ((67, 33), 3, 3, (3, 2)),  # 40% is closer to 33% than 25%
        ((80, 20), 26, 20, (26, 7)),  # 21.2% is closer to 20% than 18.8%
    ],
)
def test_a_split_takes_the_share_closest_to_the_one_asked(
    weights: tuple[int, int], floor: int, most: int, expected: tuple[int, int]
) -> None:
    assert _split(*weights, floor, most, floor) == expected


def closest_by_search(
    big: int, small: int, floor: int, most: int, small_spec: int
) -> tuple[int, int]:
    """Every pair the bounds allow, the closest share first, then the fewest replicas."""
    pairs = (
        (n, m)
        for n in range(max(floor, 1), max(floor, most) + 1)
        for m in range(1, max(small_spec, most) + 1)
    )
    return min(
        pairs,
        key=lambda p: (abs(Fraction(p[1], p[0] + p[1]) - Fraction(small, big + small)), sum(p), p),
    )


@given(
    st.integers(1, 50),
    st.integers(0, 45),
    st.integers(2, 45),
    st.integers(0, 45),
)
def test_a_split_is_the_one_a_search_of_every_allowed_pair_finds(
    small: int, floor: int, most: int, small_spec: int
) -> None:
    big = 100 - small
    assert _split(big, small, floor, most, small_spec) == closest_by_search(
        big, small, floor, most, small_spec
    )


def test_a_split_tries_few_counts_even_for_the_largest_cap() -> None:
    # an exact 97/3 needs 97 and 3, an exact 99/1 from 2**30 up the next multiple of 99:
    # found without trying every count up to max_split_replicas
    assert _split(97, 3, 1, 2**31 - 1, 1) == (97, 3)
    assert _split(99, 1, 2**30, 2**31 - 1, 1) == (99 * 10845878, 10845878)
