"""gc and copy_registry against a writer whose clock is wrong, stray files under ``.gc/``
and ``models/``, and a ``models`` argument that is no list (review 47 of the lifecycle).

Interleavings are made by store hooks (HookStore), times by a registration clock set back
or forward and a store that reports chosen keys as old: no sleeps.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import modelship as ms
from modelship.registry import GcReport, _commit
from modelship.registry._layout import blob_key, slot_key, state_key
from modelship.testing import HookStore, MemoryStore

_SLOT_2 = slot_key("m", 2)


class Killed(BaseException):
    """The process doing the work is killed here."""


class AgedStore(MemoryStore):
    """A memory store that reports the keys in ``aged`` as written two days ago."""

    def __init__(self) -> None:
        super().__init__()
        self.aged: set[str] = set()

    def modified(self, key: str) -> float:
        found = super().modified(key)
        return time.time() - 2 * 86400 if key in self.aged else found


def _register(reg: ms.Registry, data: bytes = b"shared") -> ms.ModelVersion:
    return reg.register(model_name="m", model=data, serializer="bytes")


def _writer_clock(monkeypatch: pytest.MonkeyPatch, shift: timedelta) -> None:
    """Slots claimed from now on carry the time of a machine whose clock is off by ``shift``."""
    real = _commit.now
    monkeypatch.setattr(_commit, "now", lambda: real() + shift)


# --- 1. a slot's age is its time in the store, not its writer's clock ---------------------


def test_gc_between_slot_claim_and_commit_of_a_writer_two_minutes_behind_keeps_its_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner = MemoryStore()
    _register(ms.Registry(inner))
    _writer_clock(monkeypatch, -timedelta(minutes=2))
    reports: list[GcReport] = []

    def gc_after_the_slot_claim(op: str, key: str) -> None:
        # The writer has claimed slot 2 and now looks for gc marks: another machine, with
        # the right time, runs a whole gc (grace 60 s) just before.
        if op == "list" and key == ".gc" and inner.exists(_SLOT_2) and not reports:
            reports.append(ms.Registry(inner).gc(grace_seconds=60))

    mv = _register(ms.Registry(HookStore(inner, before=gc_after_the_slot_claim)))

    assert reports[0].dead_slots == ()
    reg = ms.Registry(inner)
    assert mv.version == "2"
    assert reg.get("m", "latest") == mv
    assert [v.version for v in reg.versions("m", limit=10)] == ["1", "2"]
    assert json.loads(inner.read(_SLOT_2)).get("dead") is None


def test_gc_keeps_a_slot_claimed_now_whose_writer_clock_says_long_ago(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = AgedStore()
    reg = ms.Registry(store)
    _register(reg, b"one")
    _writer_clock(monkeypatch, -timedelta(days=365))
    orphan = blob_key("sha256:" + "ab" * 32)
    store.create(orphan, b"orphan")  # unused and old: collected unless one is in flight
    store.aged.add(orphan)
    reg.store.create(
        _SLOT_2,
        json.dumps(
            {"version": "2", "registration": "busy", "at": _commit.now().isoformat()}
        ).encode(),
    )

    report = ms.Registry(store).gc(grace_seconds=3600, dry_run=True)

    assert report.dead_slots == ()
    assert report.blobs == ()  # a registration in flight: no blob is collected


def test_gc_declares_dead_a_slot_old_in_the_store_whose_writer_clock_ran_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = AgedStore()
    reg = ms.Registry(store)
    _register(reg, b"one")
    _writer_clock(monkeypatch, timedelta(days=365))

    def die_before_the_manifest(op: str, key: str) -> None:
        if op == "create" and "/versions/" in key:
            raise Killed

    with pytest.raises(Killed):
        _register(ms.Registry(HookStore(store, before=die_before_the_manifest)), b"two")
    store.aged.add(_SLOT_2)

    assert ms.Registry(store).gc(grace_seconds=3600).dead_slots == (_SLOT_2,)
    assert json.loads(store.read(_SLOT_2))["dead"] is True
    assert _register(ms.Registry(store), b"three").version == "3"


# --- 2. only gc's own marks under .gc/ are marks ------------------------------------------


def test_a_stray_file_under_gc_blocks_no_registration_nor_copy(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "r"))
    _register(reg, b"a")
    (tmp_path / "r" / ".gc").mkdir()
    (tmp_path / "r" / ".gc" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "r" / ".gc" / "notes.txt").write_text("why this folder is here")

    assert _register(reg, b"b").version == "2"
    src = ms.open_registry(str(tmp_path / "src"))
    src.register(model_name="n", model=b"c", serializer="bytes")
    assert ms.copy_registry(src, reg).versions == 1
    assert reg.get("n", "latest") == src.get("n", "latest")


def test_gc_leaves_a_stray_file_under_gc_older_than_a_mark_lives() -> None:
    store = AgedStore()
    reg = ms.Registry(store)
    _register(reg, b"a")
    store.create(".gc/.DS_Store", b"\0\0\0\1Bud1")
    store.aged.add(".gc/.DS_Store")  # two days: a mark that old is removed
    reg.gc()
    assert store.exists(".gc/.DS_Store")


def test_a_gc_mark_under_gc_still_refuses_a_registration() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    _register(reg, b"a")
    mark = f".gc/{uuid.uuid4().hex}.json"
    store.create(mark, json.dumps({"at": datetime.now(timezone.utc).isoformat()}).encode())
    with pytest.raises(ms.Conflict, match=mark):
        _register(reg, b"b")


# --- 3. folders under models/ that are no model ------------------------------------------


def _with_a_backup_folder(tmp_path: Path) -> ms.Registry:
    reg = ms.open_registry(str(tmp_path / "r"))
    _register(reg, b"a")
    _register(reg, b"b")
    reg.delete("m", "2")
    notes = tmp_path / "r" / "models" / "old backup" / "versions"
    notes.mkdir(parents=True)
    (notes / "readme.json").write_text('"notes"')
    return reg


def test_gc_skips_a_folder_under_models_that_is_no_model_name(tmp_path: Path) -> None:
    reg = _with_a_backup_folder(tmp_path)
    assert reg.gc(grace_seconds=0).dead_slots == ()
    assert reg.models() == ["m"]
    assert (tmp_path / "r" / "models" / "old backup" / "versions" / "readme.json").exists()


def test_purge_skips_a_folder_under_models_that_is_no_model_name(tmp_path: Path) -> None:
    reg = _with_a_backup_folder(tmp_path)
    digest = reg.get("m", "2", include_archived=True).artifact.digest
    reg.purge("m", "2")
    assert reg.store.exists(state_key("m", "purged", "2"))
    assert not reg.store.exists(blob_key(digest))
    assert reg.load("m", "1") == b"a"


# --- 4. copy_registry(models=...) that is no list ----------------------------------------


@pytest.mark.parametrize("models", [5, 1.5, object(), True])
def test_copy_with_models_that_is_not_iterable_raises_config_error(models: object) -> None:
    src = ms.Registry(MemoryStore())
    _register(src)
    dst = ms.Registry(MemoryStore())
    with pytest.raises(ms.ConfigError, match="models must be a list of model names"):
        ms.copy_registry(src, dst, models=models)  # type: ignore[arg-type]
    assert dst.store.list("models") == []


def test_copy_with_models_as_a_generator_copies_them() -> None:
    src = ms.Registry(MemoryStore())
    _register(src)
    dst = ms.Registry(MemoryStore())
    assert ms.copy_registry(src, dst, models=(n for n in ["m"])).models == ("m",)
    assert dst.get("m", "latest") == src.get("m", "latest")
