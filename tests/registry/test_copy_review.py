"""copy_registry against a source that changes meanwhile, a destination that collects
garbage meanwhile, and destinations it must refuse (review of the copy).

Interleavings are made by store hooks (HookStore), times by a store that reports chosen
keys as old and a registration clock set back: no sleeps.
"""

from __future__ import annotations

import contextlib
import errno
import json
import secrets
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import modelship as ms
from modelship.registry import _commit
from modelship.registry._layout import (
    alias_key,
    blob_key,
    manifest_key,
    name_claim_key,
    slot_key,
)
from modelship.testing import CaseFoldingStore, HookStore, MemoryStore


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


def _killed_at_manifest(op: str, key: str) -> None:
    if op == "create" and "/versions/" in key:
        raise Killed


def _registered_two_hours_ago(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slots claimed from now on carry a time two hours back (older than any grace here)."""
    then = datetime.now(timezone.utc) - timedelta(hours=2)
    monkeypatch.setattr(_commit, "now", lambda: then)


def _memory_url(what: str) -> str:
    return f"memory://copy-review-{what}-{uuid.uuid4().hex}"


# --- 1. a copy while the source registers and moves aliases ------------------------------


def test_copy_never_carries_an_alias_naming_a_version_it_did_not_copy() -> None:
    inner = MemoryStore()
    writer = ms.Registry(inner)
    writer.register(model_name="m", model=b"v1", serializer="bytes")
    done: list[int] = []

    def register_meanwhile(op: str, key: str) -> None:
        # Between two of the copy's listings of the model's folders.
        if op == "list" and key == "models/m/archived" and not done:
            done.append(1)
            writer.register(model_name="m", model=b"v2", serializer="bytes")
            writer.set_alias("m", "production", "2")

    dst = ms.Registry(MemoryStore())
    ms.copy_registry(ms.Registry(HookStore(inner, before=register_meanwhile)), dst)
    assert done
    for alias, version in dst.aliases("m").items():
        assert dst.store.exists(manifest_key("m", version)), f"@{alias} names no version"
        assert dst.get("m", f"@{alias}") == writer.get("m", version)
    ms.copy_registry(writer, dst)  # the next copy takes the rest
    assert dst.get("m", "@production") == writer.get("m", "@production")


def test_copy_refuses_an_alias_naming_a_version_neither_registry_holds() -> None:
    store = MemoryStore()
    src = ms.Registry(store)
    src.register(model_name="m", model=b"v1", serializer="bytes")
    src.set_alias("m", "production", "1")
    # A damaged source: its alias log names a version it has no manifest of.
    entry = store.read(alias_key("m", 1)).replace(b'"production":"1"', b'"production":"9"')
    store.replace(alias_key("m", 1), entry)
    dst_store = MemoryStore()
    with pytest.raises(ms.Conflict, match="version 9, whose manifest is in neither"):
        ms.copy_registry(src, ms.Registry(dst_store))
    assert not dst_store.list("models")


# --- 2. registrations in flight in the source --------------------------------------------


def test_a_registration_in_flight_at_the_top_is_not_copied_and_its_tombstone_follows() -> None:
    inner = MemoryStore()
    src = ms.Registry(inner)
    src.register(model_name="m", model=b"v1", serializer="bytes")
    with pytest.raises(Killed):
        ms.Registry(HookStore(inner, before=_killed_at_manifest)).register(
            model_name="m", model=b"v2", serializer="bytes"
        )
    dst = ms.Registry(MemoryStore())
    ms.copy_registry(src, dst)
    assert not dst.store.exists(slot_key("m", 2)), "a slot in flight was copied"
    assert src.gc(grace_seconds=0).dead_slots == (slot_key("m", 2),)
    src.register(model_name="m", model=b"v3", serializer="bytes")
    ms.copy_registry(src, dst)
    assert dst.get("m", "latest") == src.get("m", "latest")
    assert [mv.version for mv in dst.versions("m", limit=10)] == ["1", "3"]


def test_a_slot_an_earlier_copy_left_in_flight_takes_the_sources_tombstone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _registered_two_hours_ago(monkeypatch)
    inner = MemoryStore()
    src = ms.Registry(inner)
    src.register(model_name="m", model=b"v1", serializer="bytes")
    with pytest.raises(Killed):
        ms.Registry(HookStore(inner, before=_killed_at_manifest)).register(
            model_name="m", model=b"v2", serializer="bytes"
        )
    dst_inner = AgedStore()
    dst = ms.Registry(dst_inner)
    ms.copy_registry(src, dst)
    # What a copy by an older modelship left: the slot in flight, as it was then, written
    # there two hours ago by the store's time.
    with contextlib.suppress(FileExistsError):
        dst.store.create(slot_key("m", 2), inner.read(slot_key("m", 2)))
    dst_inner.aged.add(slot_key("m", 2))
    src.gc(grace_seconds=0)
    src.register(model_name="m", model=b"v3", serializer="bytes")
    ms.copy_registry(src, dst)
    assert dst.store.read(slot_key("m", 2)) == inner.read(slot_key("m", 2))
    assert dst.get("m", "latest").version == "3"


def test_a_young_registration_in_flight_in_the_destination_keeps_its_slot() -> None:
    inner = MemoryStore()
    src = ms.Registry(inner)
    src.register(model_name="m", model=b"v1", serializer="bytes")
    dst = ms.Registry(MemoryStore())
    ms.copy_registry(src, dst)
    with pytest.raises(Killed):  # a registration in the destination, still in flight
        ms.Registry(HookStore(dst.store, before=_killed_at_manifest)).register(
            model_name="m", model=b"theirs", serializer="bytes"
        )
    theirs = dst.store.read(slot_key("m", 2))
    with pytest.raises(Killed):
        ms.Registry(HookStore(inner, before=_killed_at_manifest)).register(
            model_name="m", model=b"v2", serializer="bytes"
        )
    src.gc(grace_seconds=0)
    src.register(model_name="m", model=b"v3", serializer="bytes")
    with pytest.raises(ms.Conflict, match="not taken for dead yet"):
        ms.copy_registry(src, dst)
    assert dst.store.read(slot_key("m", 2)) == theirs


def test_a_registration_in_flight_below_a_committed_one_is_a_conflict_and_nothing_is_written() -> (
    None
):
    inner = MemoryStore()
    src = ms.Registry(inner)
    src.register(model_name="m", model=b"v1", serializer="bytes")
    with pytest.raises(Killed):
        ms.Registry(HookStore(inner, before=_killed_at_manifest)).register(
            model_name="m", model=b"v2", serializer="bytes"
        )
    src.register(model_name="m", model=b"v3", serializer="bytes")
    dst_store = MemoryStore()
    with pytest.raises(ms.Conflict, match=r"slot 2 .* has not committed"):
        ms.copy_registry(src, ms.Registry(dst_store))
    assert not dst_store.list("models")


# --- 3. and 4. gc of the destination during a copy, and after a copy that died -----------


def test_gc_of_the_destination_during_a_copy_removes_nothing_the_copy_uses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _registered_two_hours_ago(monkeypatch)
    src = ms.Registry(MemoryStore())
    mv = src.register(model_name="m", model=b"weights", serializer="bytes")
    dst_inner = AgedStore()
    # An old orphan of the same bytes (left by a registration that died there): reused.
    key = blob_key(mv.artifact.digest)
    dst_inner.create(key, b"weights")
    dst_inner.aged.add(key)
    reports: list[ms.registry.GcReport] = []

    def gc_meanwhile(op: str, key: str) -> None:
        if op == "create" and "/versions/" in key and not reports:
            reports.append(ms.Registry(dst_inner).gc(grace_seconds=60))

    ms.copy_registry(src, ms.Registry(HookStore(dst_inner, before=gc_meanwhile)))
    assert reports
    assert reports[0].removed == 0, reports[0]
    dst = ms.Registry(dst_inner)
    assert dst.load("m", "latest") == b"weights"
    assert dst.verify("m", "1") == src.get("m", "1")


def test_a_copy_while_a_gc_runs_on_the_destination_commits_nothing() -> None:
    src = ms.Registry(MemoryStore())
    src.register(model_name="m", model=b"weights", serializer="bytes")
    dst_store = MemoryStore()
    dst_store.create(".gc/running.json", b'{"at": "now"}')  # a gc in progress there
    with pytest.raises(ms.Conflict, match=r"garbage collection .* Copy again"):
        ms.copy_registry(src, ms.Registry(dst_store))
    assert not dst_store.exists(manifest_key("m", "1"))
    dst_store.delete(".gc/running.json")
    dst = ms.Registry(dst_store)
    ms.copy_registry(src, dst)
    assert dst.get("m", "latest") == src.get("m", "latest")


def test_a_copy_killed_before_its_manifests_resumes_after_gc_of_the_destination(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _registered_two_hours_ago(monkeypatch)
    src = ms.Registry(MemoryStore())
    src.register(model_name="m", model=b"w1", serializer="bytes")
    src.register(model_name="m", model=b"w2", serializer="bytes")
    dst_inner = MemoryStore()
    with pytest.raises(Killed):
        ms.copy_registry(src, ms.Registry(HookStore(dst_inner, before=_killed_at_manifest)))
    dst = ms.Registry(dst_inner)
    assert dst.gc(grace_seconds=60).dead_slots == ()
    ms.copy_registry(src, dst)
    assert [mv.version for mv in dst.versions("m", limit=10)] == ["1", "2"]
    assert dst.get("m", "latest") == src.get("m", "latest")


# --- 5. signing policies -----------------------------------------------------------------


def test_copy_of_a_signed_registry_into_one_of_unsigned_models_is_refused() -> None:
    key = secrets.token_bytes(32)
    src = ms.open_registry(_memory_url("signed"), signing_key=key)
    src.register(model_name="signed", model=b"s", serializer="bytes")
    dst = ms.Registry(MemoryStore())
    dst.register(model_name="theirs", model=b"t", serializer="bytes")
    with pytest.raises(ms.ConfigError, match=r"signs its versions .* holds unsigned models"):
        ms.copy_registry(src, dst, models=["signed"])
    assert not dst.store.exists("signing.json")
    assert dst.models() == ["theirs"]
    assert dst.get("theirs", "latest").version == "1"


def test_copy_of_an_unsigned_registry_into_a_signing_one_is_refused() -> None:
    key = secrets.token_bytes(32)
    src = ms.Registry(MemoryStore())
    src.register(model_name="plain", model=b"p", serializer="bytes")
    dst = ms.open_registry(_memory_url("signing"), signing_key=key)
    dst.register(model_name="own", model=b"o", serializer="bytes")
    with pytest.raises(ms.ConfigError, match=r"signs its versions .* does not"):
        ms.copy_registry(src, dst)
    assert dst.models() == ["own"]


# --- 6. name claims ----------------------------------------------------------------------


@pytest.mark.parametrize("case_insensitive", [False, True])
def test_copy_of_a_model_another_spelling_holds_is_refused_before_anything_is_written(
    case_insensitive: bool,
) -> None:
    src = ms.Registry(MemoryStore())
    src.register(model_name="Fraud", model=b"a", serializer="bytes")
    store: Any = CaseFoldingStore() if case_insensitive else MemoryStore()
    dst = ms.Registry(store)
    dst.register(model_name="fraud", model=b"b", serializer="bytes")
    before = {k: store.read(k) for k in _all_keys(store)}
    with pytest.raises(ms.InvalidName, match=r"'Fraud'.*holds the model 'fraud'"):
        ms.copy_registry(src, dst)
    assert {k: store.read(k) for k in _all_keys(store)} == before
    assert dst.models() == ["fraud"]


def test_a_copied_model_claims_its_name_in_the_destination() -> None:
    src = ms.Registry(MemoryStore())
    src.register(model_name="Fraud", model=b"a", serializer="bytes")
    dst = ms.Registry(MemoryStore())
    ms.copy_registry(src, dst)
    assert json.loads(dst.store.read(name_claim_key("fraud"))) == {"name": "Fraud"}
    with pytest.raises(ms.InvalidName):
        dst.register(model_name="fraud", model=b"b", serializer="bytes")
    assert dst.register(model_name="Fraud", model=b"c", serializer="bytes").version == "2"


def _all_keys(store: Any, prefix: str = "") -> list[str]:
    keys = []
    for name in store.list(prefix):
        key = f"{prefix}/{name}" if prefix else name
        keys += [key] if store.exists(key) else _all_keys(store, key)
    return keys


# --- 7. store errors ---------------------------------------------------------------------


def test_a_read_error_of_a_source_blob_is_a_store_error_naming_the_blob() -> None:
    inner = MemoryStore()
    mv = ms.Registry(inner).register(model_name="m", model=b"weights", serializer="bytes")

    def failing_disk(op: str, key: str) -> None:
        if op == "open_blob" and key == blob_key(mv.artifact.digest):
            raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(ms.StoreError, match=mv.artifact.digest):
        ms.copy_registry(
            ms.Registry(HookStore(inner, before=failing_disk)), ms.Registry(MemoryStore())
        )


# --- second review: slots before manifests, signing keys, purges, tag logs ---------------


def test_a_registration_in_the_destination_between_the_copys_slots_and_manifests_takes_the_next_number(  # noqa: E501
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _registered_two_hours_ago(monkeypatch)
    src = ms.Registry(MemoryStore())
    src.register(model_name="m", model=b"src1", serializer="bytes")
    src.register(model_name="m", model=b"src2", serializer="bytes")
    src.set_alias("m", "production", "2")
    inner = MemoryStore()
    mine: list[str] = []

    def register_meanwhile(op: str, key: str) -> None:
        # The copy is about to create its first manifest: a registration of the same model.
        if op == "create" and "/versions/" in key and not mine:
            mine.append(
                ms.Registry(inner)
                .register(model_name="m", model=b"dst", serializer="bytes")
                .version
            )

    ms.copy_registry(src, ms.Registry(HookStore(inner, before=register_meanwhile)))
    assert mine == ["3"]
    dst = ms.Registry(inner)
    assert [(mv.version, dst.load("m", mv.version)) for mv in dst.versions("m", limit=10)] == [
        ("1", b"src1"),
        ("2", b"src2"),
        ("3", b"dst"),
    ]
    assert dst.aliases("m") == {"production": "2"}
    assert not [
        n for n in inner.list("models/m/slots") if b'"dead"' in inner.read(f"models/m/slots/{n}")
    ]
    ms.copy_registry(src, dst)  # and copying again is a no-op, not a Conflict


def test_gc_of_the_destination_between_the_copys_slots_and_manifests_declares_none_dead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The copied slots carry the source's time (two hours back, older than the grace).
    _registered_two_hours_ago(monkeypatch)
    src = ms.Registry(MemoryStore())
    src.register(model_name="m", model=b"w1", serializer="bytes")
    src.register(model_name="m", model=b"w2", serializer="bytes")
    inner = MemoryStore()
    reports: list[ms.registry.GcReport] = []

    def gc_meanwhile(op: str, key: str) -> None:
        if op == "create" and "/versions/" in key and not reports:
            assert inner.exists(slot_key("m", 2))  # the slots are there, the manifests not
            reports.append(ms.Registry(inner).gc(grace_seconds=60))

    ms.copy_registry(src, ms.Registry(HookStore(inner, before=gc_meanwhile)))
    assert reports
    assert reports[0].dead_slots == (), reports[0]
    assert reports[0].blobs == (), reports[0]
    dst = ms.Registry(inner)
    assert [mv.version for mv in dst.versions("m", limit=10)] == ["1", "2"]
    assert dst.load("m", "latest") == b"w2"


def test_a_copy_killed_between_its_slots_and_manifests_resumes_after_gc_within_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _registered_two_hours_ago(monkeypatch)
    src = ms.Registry(MemoryStore())
    src.register(model_name="m", model=b"w1", serializer="bytes")
    src.register(model_name="m", model=b"w2", serializer="bytes")
    inner = MemoryStore()
    with pytest.raises(Killed):
        ms.copy_registry(src, ms.Registry(HookStore(inner, before=_killed_at_manifest)))
    assert inner.exists(slot_key("m", 1))
    assert not inner.exists(manifest_key("m", "1"))
    left = [n for n in inner.list(".staging") if n.startswith("copy-")]
    assert left, "the killed copy's mark went"
    dst = ms.Registry(inner)
    assert dst.gc(grace_seconds=60).dead_slots == ()
    ms.copy_registry(src, dst)
    assert [mv.version for mv in dst.versions("m", limit=10)] == ["1", "2"]
    # The resumed copy removed its own mark; gc removes the killed one's after the grace.
    assert [n for n in inner.list(".staging") if n.startswith("copy-")] == left


@pytest.mark.parametrize("destination", ["holds models", "empty"])
def test_copy_between_registries_signed_with_different_keys_is_refused(destination: str) -> None:
    src = ms.open_registry(_memory_url("key-a"), signing_key=secrets.token_bytes(32))
    src.register(model_name="m", model=b"w", serializer="bytes")
    src.set_alias("m", "production", "1")
    dst = ms.open_registry(_memory_url("key-b"), signing_key=secrets.token_bytes(32))
    if destination == "holds models":
        dst.register(model_name="other", model=b"x", serializer="bytes")
    before = {k: dst.store.read(k) for k in _all_keys(dst.store)}
    with pytest.raises(
        ms.ConfigError, match=r"copy-review-key-a.*copy-review-key-b.*different keys"
    ):
        ms.copy_registry(src, dst)
    assert {k: dst.store.read(k) for k in _all_keys(dst.store)} == before


def test_copy_into_a_registry_whose_policy_another_key_signed_is_refused_by_the_sources_key() -> (
    None
):
    key = secrets.token_bytes(32)
    src = ms.open_registry(_memory_url("key-a"), signing_key=key)
    src.register(model_name="m", model=b"w", serializer="bytes")
    dst_url = _memory_url("key-b")
    ms.open_registry(dst_url, signing_key=secrets.token_bytes(32)).register(
        model_name="other", model=b"x", serializer="bytes"
    )
    # The destination opened without a key (unchecked): the source's key tells.
    dst = ms.open_registry(dst_url, verify_signatures=False)
    with pytest.raises(ms.ConfigError, match="different keys"):
        ms.copy_registry(src, dst)
    assert dst.models() == ["other"]


def test_copy_between_registries_signed_with_one_key_goes_ahead() -> None:
    key = secrets.token_bytes(32)
    src = ms.open_registry(_memory_url("key-a"), signing_key=key)
    src.register(model_name="m", model=b"w", serializer="bytes")
    dst = ms.open_registry(_memory_url("key-a2"), signing_key=key)
    dst.register(model_name="other", model=b"x", serializer="bytes")
    ms.copy_registry(src, dst)
    assert dst.load("m", "latest") == b"w"


def test_a_purge_in_the_source_during_the_copy_is_a_conflict_not_damage() -> None:
    inner = MemoryStore()
    writer = ms.Registry(inner)
    writer.register(model_name="m", model=b"v1", serializer="bytes")
    mv = writer.register(model_name="m", model=b"v2-only-here", serializer="bytes")
    writer.delete("m", "2")
    purged: list[int] = []

    def purge_meanwhile(op: str, key: str) -> None:
        if op == "open_blob" and key == blob_key(mv.artifact.digest) and not purged:
            purged.append(1)
            writer.purge("m", "2")

    dst = ms.Registry(MemoryStore())
    with pytest.raises(ms.Conflict, match=r"version 2 was purged .* during the copy"):
        ms.copy_registry(ms.Registry(HookStore(inner, before=purge_meanwhile)), dst)
    assert purged
    ms.copy_registry(writer, dst)  # copying again takes the purge
    assert [v.version for v in dst.versions("m", include_archived=True)] == [
        v.version for v in writer.versions("m", include_archived=True)
    ]


def test_tag_logs_are_listed_before_the_versions_they_annotate() -> None:
    inner = MemoryStore()
    writer = ms.Registry(inner)
    writer.register(model_name="m", model=b"v1", serializer="bytes")
    writer.set_tag("m", "1", "stage", "ok")
    made: list[str] = []

    def register_and_tag(op: str, key: str) -> None:
        # Writers register and tag between each of the copy's listings of versions and
        # slots (tag logs listed after the versions named versions not copied).
        if op == "list" and key == "models/m/slots":
            mv = writer.register(model_name="m", model=f"x{len(made)}".encode(), serializer="bytes")
            writer.set_tag("m", mv.version, "stage", "ok")
            made.append(mv.version)

    dst = ms.Registry(MemoryStore())
    ms.copy_registry(ms.Registry(HookStore(inner, before=register_and_tag)), dst)
    assert made
    copied = [mv.version for mv in dst.versions("m", limit=10)]
    for key in _all_keys(dst.store, "models/m/tags"):
        assert key.split("/")[3] in copied, key
    assert dst.tags("m", "1") == {"stage": "ok"}
