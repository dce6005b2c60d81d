"""Review 40: rollout records are not signed, so a handle without a signed registry's key
records its rollouts.

``RegistryHistory.save`` refused such a handle (``Registry.check_writable``): a rollout
that moves no alias changed the traffic, then tried its save three times, sleeping 1 s
and 2 s, and left nothing a key holder could read. A rollout that moves an alias is
still refused before any slot changes (the alias move is signed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy import BlueGreen, Recreate, RegistryHistory
from modelship.testing import InMemoryDeployer, ManualClock

KEY = b"k" * 32


def _signed(tmp_path: Path) -> str:
    url = str(tmp_path / "reg")
    signed = ms.open_registry(url, signing_key=KEY)
    for model in (b"a", b"b"):
        signed.register(model_name="m", model=model, serializer="bytes", capture_environment=False)
    return url


def test_a_keyless_rollout_without_an_alias_is_recorded_for_the_key_holder(
    tmp_path: Path,
) -> None:
    url = _signed(tmp_path)
    clock = ManualClock()
    deployer = InMemoryDeployer(ms.open_registry(url, verify_signatures=False), clock=clock)
    strategy = BlueGreen(deployer, alias=None, clock=clock)
    started = clock.monotonic()
    first, second = strategy.deploy("m", "1"), strategy.deploy("m", "2")
    assert (first.saved, second.saved) == (True, True)
    assert clock.monotonic() == started  # no save retried after a sleep
    records = RegistryHistory(ms.open_registry(url, signing_key=KEY)).records("m")
    # Both started at the same manual-clock time: their order is by id, not by version.
    assert sorted((r.id, r.version, r.status.value) for r in records) == sorted(
        [(first.id, "1", "succeeded"), (second.id, "2", "succeeded")]
    )


def test_registry_history_save_needs_no_key_of_a_signed_registry(tmp_path: Path) -> None:
    url = _signed(tmp_path)
    rollout = Recreate(InMemoryDeployer(), alias=None).deploy("m", "1")
    RegistryHistory(ms.open_registry(url, verify_signatures=False)).save(rollout.record())
    keyed = RegistryHistory(ms.open_registry(url, signing_key=KEY))
    assert [r.id for r in keyed.records("m")] == [rollout.id]


def test_a_keyless_rollout_that_moves_an_alias_is_still_refused_before_any_slot_changes(
    tmp_path: Path,
) -> None:
    deployer = InMemoryDeployer(ms.open_registry(_signed(tmp_path), verify_signatures=False))
    with pytest.raises(ms.SigningKeyRequired):
        Recreate(deployer, alias="production").deploy("m", "2")
    assert deployer.state().slots == ()
    assert not list((tmp_path / "reg").glob("deployments/**/*.json"))
