"""Review 48: gc and copy_registry on a store whose clock is behind (a slot or copy mark
is old only when both its store time and the time written in it are), and ``latest``
past a listed archive marker that cannot be read (a folder of that name).

Interleavings are made by store hooks (HookStore), times by a store that stamps every
write with a time set back: no sleeps, except where noted.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta

import pytest

import modelship as ms
from modelship.errors import Conflict
from modelship.registry import GcReport, _commit
from modelship.registry._gc import copying
from modelship.registry._layout import STAGING, blob_key, slot_key, state_key
from modelship.registry._lineage import now
from modelship.testing import HookStore, MemoryStore

_SLOT_2 = slot_key("m", 2)


class Killed(BaseException):
    """The process doing the work is killed here."""


class Behind(MemoryStore):
    """A memory store whose clock is ``lag`` seconds behind this machine's."""

    def __init__(self, lag: float) -> None:
        super().__init__()
        self.lag = lag

    def _put(self, key: str, data: bytes) -> None:
        self._data[key] = (data, time.time() - self.lag)


def _register(reg: ms.Registry, data: bytes) -> ms.ModelVersion:
    return reg.register(model_name="m", model=data, serializer="bytes")


# --- 1. a store's clock behind by more than the grace period ------------------------------


def test_gc_just_before_a_commit_on_a_store_ten_minutes_behind_keeps_the_slot_and_blob() -> None:
    inner = Behind(lag=600.0)  # docs/extending.md lets a store's clock be 15 minutes off
    _register(ms.Registry(inner), b"v1")
    reports: list[GcReport] = []

    def gc_before_the_manifest(key: str) -> None:
        if key == "models/m/versions/2.json" and not reports:
            reports.append(ms.Registry(inner).gc(grace_seconds=300))

    mv = _register(ms.Registry(HookStore(inner, before_create=gc_before_the_manifest)), b"v2")

    assert reports[0].dead_slots == ()
    assert reports[0].blobs == ()
    reg = ms.Registry(inner)
    assert json.loads(inner.read(_SLOT_2)).get("dead") is None
    assert reg.get("m", "latest") == mv
    assert reg.load("m", "2") == b"v2"


def test_gc_still_collects_a_dead_slot_old_by_both_clocks_on_a_store_behind() -> None:
    inner = Behind(lag=600.0)
    _register(ms.Registry(inner), b"v1")

    def die_before_the_manifest(key: str) -> None:
        if "/versions/" in key:
            raise Killed

    with pytest.raises(Killed):
        _register(ms.Registry(HookStore(inner, before_create=die_before_the_manifest)), b"v2")
    time.sleep(0.01)  # the slot's written time is then strictly before gc's cutoff

    assert ms.Registry(inner).gc(grace_seconds=0).dead_slots == (_SLOT_2,)


def test_gc_on_a_store_behind_neither_removes_a_copy_mark_written_now_nor_collects() -> None:
    inner = Behind(lag=600.0)
    reg = ms.Registry(inner)
    _register(reg, b"v1")
    orphan = blob_key("sha256:" + "ab" * 32)
    inner.create(orphan, b"orphan")  # unused, old by the store's time

    with copying(inner) as mark:
        report = reg.gc(grace_seconds=300)
        assert inner.exists(mark.key)

    assert mark.key not in report.staging
    assert report.blobs == ()
    assert inner.exists(orphan)
    assert not [n for n in inner.list(STAGING) if n.startswith("copy-")]


def test_copy_does_not_take_a_slot_claimed_now_in_a_destination_behind_for_dead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src, dst = ms.Registry(MemoryStore()), ms.Registry(Behind(lag=2 * 3600.0))
    _register(src, b"v1")
    ms.copy_registry(src, dst)
    # A registration in the destination has just claimed slot 2 (the store stamps it two
    # hours ago, its writer's clock now) and is on its way to commit.
    claimed = {"version": "2", "registration": "busy", "at": _commit.now().isoformat()}
    dst.store.create(_SLOT_2, json.dumps(claimed).encode())
    # In the source, a registration of slot 2 died and gc declared its slot dead.
    monkeypatch.setattr(_commit, "now", lambda: now() - timedelta(days=1))

    def die_before_the_manifest(key: str) -> None:
        if "/versions/" in key:
            raise Killed

    with pytest.raises(Killed):
        _register(ms.Registry(HookStore(src.store, before_create=die_before_the_manifest)), b"x")
    monkeypatch.undo()
    time.sleep(0.01)
    assert src.gc(grace_seconds=0).dead_slots == (_SLOT_2,)

    with pytest.raises(Conflict, match="not taken for dead yet"):
        ms.copy_registry(src, dst)
    assert json.loads(dst.store.read(_SLOT_2)) == claimed


# --- 2. latest past a listed archive marker that cannot be read --------------------------


_KEY = secrets.token_bytes(32)


def _signed_with_five() -> ms.Registry:
    reg = ms.Registry(MemoryStore(), signing_key=_KEY)
    for i in range(5):
        _register(reg, b"x%d" % i)
    return reg


def test_latest_is_not_hidden_by_a_folder_named_as_an_archive_marker() -> None:
    reg = _signed_with_five()
    reg.delete("m", "5")  # a real, signed archive: the walk lists the markers past it
    reg.store.create(state_key("m", "archived", "4") + "/x", b"junk")

    assert reg.get("m", "latest").version == "4"


def test_latest_past_a_folder_marker_still_skips_versions_really_archived() -> None:
    reg = _signed_with_five()
    reg.delete("m", "5")
    reg.delete("m", "4")
    reg.store.create(state_key("m", "purged", "4") + "/x", b"junk")
    reg.store.create(state_key("m", "purged", "3") + "/x", b"junk")
    reg.delete("m", "3")

    assert reg.get("m", "latest").version == "2"


def test_latest_sees_a_version_restored_between_the_listing_and_the_marker_read() -> None:
    reg = _signed_with_five()
    for v in ("5", "4", "3"):
        reg.delete("m", v)
    inner = reg.store
    marker = state_key("m", "archived", "4")

    def restore_4_before_the_marker_read(op: str, key: str) -> None:
        if op == "read" and key == marker and inner.exists(marker):
            inner.delete(marker)  # its restore removes the marker, listed a moment ago

    view = ms.Registry(HookStore(inner, before=restore_4_before_the_marker_read), signing_key=_KEY)

    assert view.get("m", "latest").version == "4"


def test_latest_past_a_folder_marker_returns_its_version_before_damage_read_below_it() -> None:
    reg = _signed_with_five()
    reg.delete("m", "5")
    reg.store.create(state_key("m", "archived", "4") + "/x", b"junk")
    reg.store.replace(slot_key("m", 3), b"garbage")  # read ahead in 4's batch, never reached

    assert reg.get("m", "latest").version == "4"
