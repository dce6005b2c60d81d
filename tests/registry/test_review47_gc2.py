"""Second look at review 47: copy_registry ages a destination slot by the store's time, not
its writer's clock; ``latest`` judges only the slots its walk reaches, not those a batch
read ahead below the answer.

Interleavings are made by store hooks (HookStore), times by a registration clock set back
and a store that reports chosen keys as old: no sleeps.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import pytest

import modelship as ms
from modelship.errors import IntegrityError
from modelship.registry import _commit
from modelship.registry._layout import slot_key, state_key
from modelship.testing import HookStore, MemoryStore

_SLOT_2 = slot_key("m", 2)


class Killed(BaseException):
    """The process doing the work is killed here."""


class AgedStore(MemoryStore):
    """A memory store that reports the keys in ``aged`` as written two hours ago."""

    def __init__(self) -> None:
        super().__init__()
        self.aged: set[str] = set()

    def modified(self, key: str) -> float:
        found = super().modified(key)
        return time.time() - 7200 if key in self.aged else found


class GoneStore(MemoryStore):
    """A memory store in which the keys in ``gone`` vanish just before their time is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.gone: set[str] = set()

    def modified(self, key: str) -> float:
        if key in self.gone:
            raise FileNotFoundError(key)
        return super().modified(key)


def _killed_at_manifest(op: str, key: str) -> None:
    if op == "create" and "/versions/" in key:
        raise Killed


def _register(reg: ms.Registry, data: bytes = b"one") -> ms.ModelVersion:
    return reg.register(model_name="m", model=data, serializer="bytes")


def _source_with_dead_slot_2(dst: ms.Registry) -> ms.Registry:
    """A source copied once into ``dst``, whose slot 2 then died and gc declared dead."""
    src = ms.Registry(MemoryStore())
    _register(src)
    ms.copy_registry(src, dst)
    with pytest.raises(Killed):
        _register(ms.Registry(HookStore(src.store, before=_killed_at_manifest)), b"two")
    assert src.gc(grace_seconds=0).dead_slots == (_SLOT_2,)
    return src


def _writer_clock(monkeypatch: pytest.MonkeyPatch, shift: timedelta) -> None:
    """Slots claimed from now on carry the time of a machine whose clock is off by ``shift``."""
    real = _commit.now
    monkeypatch.setattr(_commit, "now", lambda: real() + shift)


# --- 1. copy ages a destination slot in flight by both clocks ---------------------------


def test_copy_between_slot_claim_and_commit_of_a_writer_two_hours_behind_keeps_its_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dst = ms.Registry(MemoryStore())
    src = _source_with_dead_slot_2(dst)
    _writer_clock(monkeypatch, -timedelta(hours=2))
    raised: list[ms.Conflict] = []

    def copy_now(op: str, key: str) -> None:
        # After the registration claimed slot 2, before it looks for gc marks and commits.
        if op == "list" and key == ".gc" and dst.store.exists(_SLOT_2) and not raised:
            with pytest.raises(ms.Conflict, match="not taken for dead yet") as caught:
                ms.copy_registry(src, ms.Registry(dst.store))
            raised.append(caught.value)

    mv = _register(ms.Registry(HookStore(dst.store, before=copy_now)), b"three")
    assert raised, "the copy did not run between the slot claim and the commit"
    assert (mv.version, mv.sequence) == ("2", 2)
    assert ms.Registry(dst.store).get("m", "latest").version == "2"


def test_copy_gives_the_tombstone_to_a_slot_old_by_both_clocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner = AgedStore()
    dst = ms.Registry(inner)
    src = _source_with_dead_slot_2(dst)
    _writer_clock(monkeypatch, -timedelta(hours=2))  # old by the time written in it too
    with pytest.raises(Killed):  # a registration in the destination that died (clock right)
        _register(ms.Registry(HookStore(inner, before=_killed_at_manifest)), b"theirs")
    inner.aged.add(_SLOT_2)  # written there two hours ago by the store's time
    ms.copy_registry(src, dst)
    assert inner.read(_SLOT_2) == src.store.read(_SLOT_2)
    assert dst.get("m", "latest").version == "1"


def test_copy_takes_a_destination_slot_gone_before_its_time_was_read_for_in_flight() -> None:
    inner = GoneStore()
    dst = ms.Registry(inner)
    src = _source_with_dead_slot_2(dst)
    with pytest.raises(Killed):
        _register(ms.Registry(HookStore(inner, before=_killed_at_manifest)), b"theirs")
    theirs = inner.read(_SLOT_2)
    inner.gone.add(_SLOT_2)
    with pytest.raises(ms.Conflict, match="not taken for dead yet"):
        ms.copy_registry(src, dst)
    assert inner.read(_SLOT_2) == theirs


# --- 2. latest judges only the slots its walk reaches -------------------------------------


def _archived_above_19(signing_key: bytes | None = None) -> ms.Registry:
    """40 versions of ``m``, 40 down to 20 archived: latest is 19."""
    reg = ms.Registry(MemoryStore(), signing_key=signing_key)
    for i in range(40):
        reg.register(
            model_name="m", model=bytes([i]), serializer="bytes", capture_environment=False
        )
    for v in range(40, 19, -1):
        reg.delete("m", str(v))
    return reg


def test_latest_past_archived_versions_ignores_a_damaged_slot_read_ahead_below_it() -> None:
    reg = _archived_above_19()
    reg.store.replace(slot_key("m", 12), b'{"version": "12"}')  # no registration
    assert ms.Registry(reg.store).get("m", "latest").version == "19"


def test_latest_past_archived_versions_raises_on_a_damaged_slot_above_it() -> None:
    reg = _archived_above_19()
    reg.store.replace(slot_key("m", 25), b'{"version": "25"}')
    with pytest.raises(IntegrityError, match="000000000025"):
        ms.Registry(reg.store).get("m", "latest")


def test_latest_with_a_signing_key_checks_only_markers_of_versions_it_skips() -> None:
    key = secrets.token_bytes(32)
    reg = _archived_above_19(signing_key=key)
    reg.delete("m", "10")
    # Not signed with the key: below the answer, read ahead but never reached.
    below = state_key("m", "archived", "10")
    reg.store.replace(below, b'{"by": "mallory"}')
    read: list[str] = []
    view = ms.Registry(
        HookStore(reg.store, before=lambda op, k: read.append(k) if op == "read" else None),
        signing_key=key,
    )
    assert view.get("m", "latest").version == "19"
    assert below not in read
    # Above the answer, one the walk skips: raises, as before.
    reg.store.replace(state_key("m", "archived", "25"), b'{"by": "mallory"}')
    with pytest.raises(IntegrityError, match="archived/25"):
        view.get("m", "latest")
