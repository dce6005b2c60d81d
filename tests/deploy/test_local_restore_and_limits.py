"""A failed Recreate restores the previous version with the spec it ran with (not the
failing deploy's), and says so when that spec is unknown; the LocalDeployer refuses
``graceful_seconds=0`` (every server it started exited) and waits any finite timeout."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from numpy_models import Threshold, importable_by_servers

import modelship as ms
from modelship.deploy import (
    DeploymentSpec,
    EventKind,
    InMemoryHistory,
    Recreate,
    RolloutAborted,
    RolloutStatus,
    _strategies,
)
from modelship.deploy._strategies import spec_digest
from modelship.deploy.local import LocalDeployer
from modelship.errors import InvalidParameter
from modelship.testing._deployer_double import Fault, FaultEffect, InMemoryDeployer


def spec(path: str, image: str = "m:1") -> DeploymentSpec:
    return DeploymentSpec.from_dict(
        {
            "deployment": {
                "strategy": "recreate",
                "containers": [{"name": "m", "image": image}],
                "healthcheck": {"path": path},
            }
        }
    )


GOOD, BAD = spec("/health"), spec("/healthz")  # a typo in the new spec's probe path


class SpecsSeen(InMemoryDeployer):
    """The double, keeping the spec each ``apply`` was given."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.specs: list[tuple[str, str, DeploymentSpec | None]] = []

    def apply(
        self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
    ) -> None:
        super().apply(slot, model, version, spec)
        self.specs.append((slot, version, spec))


def double() -> SpecsSeen:
    """Version 2 never becomes ready; the registry's history is shared by every strategy."""
    reg = ms.open_registry(f"memory://fixf-{uuid.uuid4().hex}")
    for flip in (False, True):
        reg.register(model_name="fraud", model=Threshold(flip))
    return SpecsSeen(
        registry=reg, faults=(Fault("apply", FaultEffect.NEVER_READY, version="2", times=None),)
    )


def recreate(dep: InMemoryDeployer, given: DeploymentSpec | None) -> Recreate:
    return Recreate(dep, given, clock=dep.clock, progress_deadline=30)


def restored(dep: SpecsSeen) -> DeploymentSpec | None:
    slot, version, given = dep.specs[-1]
    assert (slot, version) == ("blue", "1")
    return given


def test_a_failed_recreate_restores_with_the_spec_another_strategy_of_this_process_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dep = double()
    recreate(dep, GOOD).deploy("fraud", "1")
    with pytest.raises(RolloutAborted) as caught:
        recreate(dep, BAD).deploy("fraud", "2")
    assert restored(dep) is GOOD
    assert "not known" not in str(caught.value)
    applied = [e for e in caught.value.rollout.history if e.kind is EventKind.APPLIED]
    assert [(e.data["version"], e.data["spec_digest"]) for e in applied] == [
        ("2", spec_digest(BAD)),
        ("1", spec_digest(GOOD)),
    ]
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]
    # Known from its digest alone when this deploy's spec is the same spec (another object).
    monkeypatch.setattr(_strategies, "_known_specs", {}, raising=False)
    again = spec("/health")
    with pytest.raises(RolloutAborted) as caught:
        recreate(dep, again).deploy("fraud", "2")
    assert restored(dep) is again
    assert "not known" not in str(caught.value)


def test_a_version_applied_without_a_spec_is_restored_without_one() -> None:
    dep = double()
    recreate(dep, None).deploy("fraud", "1")
    with pytest.raises(RolloutAborted):
        recreate(dep, BAD).deploy("fraud", "2")
    assert restored(dep) is None


def test_a_spec_this_process_never_applied_is_replaced_by_this_deploys_and_the_abort_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dep = double()
    recreate(dep, GOOD).deploy("fraud", "1")
    # As if another process had applied it: only its digest is in the history.
    monkeypatch.setattr(_strategies, "_known_specs", {}, raising=False)
    with pytest.raises(RolloutAborted) as caught:
        recreate(dep, BAD).deploy("fraud", "2")
    assert restored(dep) is BAD  # rather than leave it stopped
    message = str(caught.value)
    assert "1 was started again with this deploy's spec: the spec it ran with is not known" in (
        message
    )
    assert "this process did not apply" in message
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]


def test_a_spec_the_history_cannot_tell_is_replaced_by_this_deploys_and_the_abort_says_so() -> None:
    dep = double()
    # Each strategy with its own history: the second finds no record of blue.
    Recreate(dep, GOOD, clock=dep.clock, history=InMemoryHistory()).deploy("fraud", "1")
    with pytest.raises(RolloutAborted) as caught:
        Recreate(dep, BAD, clock=dep.clock, history=InMemoryHistory()).deploy("fraud", "2")
    assert restored(dep) is BAD
    assert "the spec it ran with is not known (no apply into blue" in str(caught.value)


def test_graceful_seconds_zero_is_refused_at_construction(
    served_registry: Path,  # noqa: F811
) -> None:
    with pytest.raises(InvalidParameter, match=r"graceful_seconds=0 is not allowed.*> 0"):
        LocalDeployer(registry=ms.open_registry(str(served_registry)), graceful_seconds=0)


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[ms.Registry]:
    """A registry of its own (the rollouts move its alias and write its history)."""
    reg = ms.open_registry(str(tmp_path / "registry"))
    for flip in (False, True):
        reg.register(model_name="fraud", model=Threshold(flip))
    with importable_by_servers():
        yield reg


@pytest.mark.slow
def test_a_recreate_whose_new_spec_fails_serves_the_previous_version_again(
    own_registry: ms.Registry,
) -> None:
    with LocalDeployer(
        registry=own_registry, graceful_seconds=1, drain_timeout=1, server_args=["--no-warmup"]
    ) as dep:
        Recreate(dep, spec("/health"), progress_deadline=30).deploy("fraud", "1")
        # Another strategy object, as a second `modelship deploy apply` builds one.
        with pytest.raises(RolloutAborted) as caught:
            Recreate(dep, spec("/healthz"), progress_deadline=5).deploy("fraud", "2")
        assert caught.value.rollout.status is RolloutStatus.ABORTED
        serving = dep.state().serving()
        assert serving is not None
        assert (serving.slot, serving.version, serving.weight) == ("blue", "1", 100)
        assert dep.health("blue").healthy, dep.health("blue")
        assert "1 is serving from blue" in str(caught.value)


@pytest.mark.slow
def test_wait_ready_takes_any_finite_timeout(own_registry: ms.Registry) -> None:
    with LocalDeployer(
        registry=own_registry, graceful_seconds=1, drain_timeout=1, server_args=["--no-warmup"]
    ) as dep:
        dep.apply("blue", "fraud", "1")
        assert dep.wait_ready("blue", 1e308) is True
