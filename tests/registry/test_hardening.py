"""Holes a hostile review found (issue 9), each closed and pinned by one test.

Interleavings are made exact with :class:`~modelship.testing.HookStore`: the hook of one
writer runs the other at the chosen step, so no test sleeps or hopes for a race.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import time
from pathlib import Path
from typing import IO, Any, ClassVar

import pytest

import modelship as ms
from modelship._model_version import canonical_json
from modelship.cli import main
from modelship.registry import FsspecStore, Serializer, register_serializer
from modelship.registry._layout import (
    alias_hint_key,
    alias_key,
    blob_key,
    head_key,
    manifest_key,
    name_claim_key,
    slot_key,
    state_key,
)
from modelship.testing import CaseFoldingStore, HookStore, MemoryStore


def _local(path: Path, **hooks: Any) -> tuple[ms.Registry, FsspecStore]:
    inner = FsspecStore.from_url(str(path))
    return ms.Registry(HookStore(inner, **hooks) if hooks else inner), inner


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- 1. gc and a registration that reuses an old orphan blob ---------------------------------


def test_gc_never_deletes_a_blob_that_a_registration_reuses_during_its_scan(
    tmp_path: Path,
) -> None:
    plain, inner = _local(tmp_path)
    plain.register(model_name="other", model=b"keep", serializer="bytes")
    orphan = b"old orphan bytes"
    writer = inner.blob_writer()
    writer.write(orphan)
    writer.publish(blob_key(_digest(orphan)))
    two_hours_ago = time.time() - 7200
    os.utime(inner.local_path(blob_key(_digest(orphan))), (two_hours_ago, two_hours_ago))
    ran: list[str] = []

    def register_before_the_delete(operation: str, key: str) -> None:
        # The worst moment: gc has read the blob's age and decided; it deletes next.
        if operation == "delete" and key == blob_key(_digest(orphan)) and not ran:
            ran.append(key)
            with contextlib.suppress(ms.Conflict):  # refused while gc runs: nothing lost
                plain.register(model_name="m", model=orphan, serializer="bytes")

    gc_side, _ = _local(tmp_path, before=register_before_the_delete)
    gc_side.gc(grace_seconds=3600)
    assert ran
    for name in plain.models():
        for mv in plain.versions(name):
            plain.verify(name, mv.version)


def test_a_registration_refused_during_gc_leaves_a_dead_slot_and_no_version() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"a", serializer="bytes")
    store.create(".gc/run.json", b"{}")
    with pytest.raises(ms.Conflict, match="garbage collection"):
        reg.register(model_name="m", model=b"b", serializer="bytes")
    assert [mv.version for mv in reg.versions("m")] == ["1"]
    assert b'"dead"' in store.read(slot_key("m", 2))


# --- 2. delete and set_alias are exclusive; purge spares aliased versions -------------------


def test_set_alias_landing_during_delete_leaves_no_alias_on_an_archived_version() -> None:
    inner = MemoryStore()
    other = ms.Registry(inner)
    for _ in range(2):
        other.register(model_name="m", model=b"x", serializer="bytes")

    def alias_first(operation: str, key: str) -> None:
        if operation == "create" and key == state_key("m", "archived", "2"):
            other.set_alias("m", "production", "2")

    deleter = ms.Registry(HookStore(inner, before=alias_first))
    with pytest.raises(ms.Conflict, match="aliased"):
        deleter.delete("m", "2")
    assert other.aliases("m") == {"production": "2"}
    assert other.get("m", "@production").version == "2"  # live, not archived


def test_delete_landing_during_set_alias_undoes_the_move() -> None:
    inner = MemoryStore()
    other = ms.Registry(inner)
    for _ in range(2):
        other.register(model_name="m", model=b"x", serializer="bytes")
    other.set_alias("m", "production", "1")

    def delete_first(operation: str, key: str) -> None:
        if operation == "create" and key == alias_key("m", 2):
            other.delete("m", "2")

    mover = ms.Registry(HookStore(inner, before=delete_first))
    with pytest.raises(ms.ArchivedVersion, match="undone"):
        mover.set_alias("m", "production", "2")
    assert other.aliases("m") == {"production": "1"}


def test_purge_refuses_a_version_an_alias_points_to_and_keeps_its_bytes() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    mv = reg.register(model_name="m", model=b"served", serializer="bytes")
    reg.set_alias("m", "production", "1")
    store.create(state_key("m", "archived", "1"), b"{}")  # as a lost race used to leave it
    with pytest.raises(ms.Conflict, match="production"):
        reg.purge("m", "1")
    assert store.exists(blob_key(mv.artifact.digest))
    assert not store.exists(state_key("m", "purged", "1"))


# --- 3. dedup never trusts a damaged blob -----------------------------------------------------


@pytest.mark.parametrize(
    "damaged", [b"short", b"same length, other bytes!"[: len(b"the good bytes of a model")]]
)
def test_registering_over_a_damaged_blob_replaces_it_and_warns(damaged: bytes) -> None:
    good = b"the good bytes of a model"
    store = MemoryStore()
    store.create(blob_key(_digest(good)), damaged)
    reg = ms.Registry(store)
    with pytest.warns(ms.RepairWarning, match="damaged"):
        reg.register(model_name="m", model=good, serializer="bytes")
    assert reg.load("m") == good


def test_registering_over_an_intact_blob_is_silent(recwarn: pytest.WarningsRecorder) -> None:
    reg = ms.Registry(MemoryStore())
    reg.register(model_name="a", model=b"same", serializer="bytes")
    reg.register(model_name="b", model=b"same", serializer="bytes")
    assert not [w for w in recwarn if issubclass(w.category, ms.RepairWarning)]


def test_a_dangling_symbolic_link_at_a_blob_key_is_replaced_by_the_blob(tmp_path: Path) -> None:
    reg, inner = _local(tmp_path)
    path = inner.local_path(blob_key(_digest(b"model")))
    os.makedirs(os.path.dirname(path))
    os.symlink(tmp_path / "nowhere", path)
    reg.register(model_name="m", model=b"model", serializer="bytes")
    assert reg.load("m") == b"model"


def test_copy_registry_replaces_a_damaged_destination_blob() -> None:
    src, dst_store = ms.Registry(MemoryStore()), MemoryStore()
    mv = src.register(model_name="m", model=b"good bytes", serializer="bytes")
    dst_store.create(blob_key(mv.artifact.digest), b"bad bytes!")
    report = ms.copy_registry(src, ms.Registry(dst_store))
    assert report.blobs_repaired == 1
    assert ms.Registry(dst_store).load("m") == b"good bytes"


@pytest.mark.parametrize("where", ["local", "memory-store"])
def test_copy_registry_repairs_a_damaged_blob_without_a_moment_it_is_missing(
    tmp_path: Path, where: str
) -> None:
    # A version the destination committed on the damaged blob keeps bytes at its key
    # throughout: a local store renames the good copy over it (ReplacesBlobs); a store
    # without that capability deletes it only once the good copy is staged.
    src = ms.Registry(MemoryStore())
    mv = src.register(model_name="m", model=b"good bytes", serializer="bytes")
    key = blob_key(mv.artifact.digest)
    dst: ms.registry.Store = (
        FsspecStore.from_url(str(tmp_path / "dst")) if where == "local" else MemoryStore()
    )
    dst.create(key, b"bad bytes!")
    seen: list[tuple[str, bool]] = []

    def before(operation: str, hooked: str) -> None:
        if hooked == key:
            seen.append((operation, dst.exists(key)))

    report = ms.copy_registry(src, ms.Registry(HookStore(dst, before=before)))
    assert report.blobs_repaired == 1
    # Up to the publish that puts the good bytes there (hooked just before it, so after
    # the delete of a store without ReplacesBlobs: the moment it documents).
    assert all(present for op, present in seen if op != "publish"), seen
    deleted = [op for op, _ in seen if op == "delete"]
    assert deleted == ([] if where == "local" else ["delete"])
    assert ms.Registry(dst).load("m") == b"good bytes"


# --- 4. the two-pass load deserialises the bytes it checked ----------------------------------


class _RewritesBeforeReading(Serializer):
    """Rewrites the stored blob between the check and the read: what an attacker would do."""

    name = "test-rewrites-before-reading"
    media_type = "application/octet-stream"
    path: ClassVar[str] = ""

    def dump(self, obj: Any, f: IO[bytes]) -> None:
        f.write(obj)

    def load(self, f: IO[bytes]) -> Any:
        os.chmod(self.path, 0o644)
        with open(self.path, "r+b") as blob:
            blob.write(b"EVIL")
        return f.read()

    def library_versions(self) -> dict[str, str]:
        return {}


def test_two_pass_load_deserialises_only_the_bytes_it_checked(tmp_path: Path) -> None:
    register_serializer(_RewritesBeforeReading(), clobber=True)
    reg, inner = _local(tmp_path)
    mv = reg.register(model_name="m", model=b"good", serializer="test-rewrites-before-reading")
    _RewritesBeforeReading.path = inner.local_path(blob_key(mv.artifact.digest))
    assert reg.load("m") == b"good"


# --- 11. a hint that runs ahead costs O(log n) probes -----------------------------------------


@pytest.mark.parametrize("hint", ["HEAD", "ALIASES"])
def test_a_hint_a_million_ahead_costs_logarithmic_probes(hint: str) -> None:
    inner = MemoryStore()
    reg = ms.Registry(inner)
    for _ in range(3):
        reg.register(model_name="m", model=b"x", serializer="bytes")
    reg.set_alias("m", "production", "2")
    key = head_key("m") if hint == "HEAD" else alias_hint_key("m")
    inner.replace(key, b'{"n": 1000000}')
    probes: list[str] = []
    counted = ms.Registry(
        HookStore(inner, before=lambda op, k: probes.append(k) if op == "exists" else None)
    )
    assert counted.get("m").version == "3"
    assert counted.aliases("m") == {"production": "2"}
    assert len(probes) <= 4 * 20 + 10  # two searches of ~2 log2(10**6) probes, plus states


# --- 12. a file where a folder belongs ends in a typed error, never a spin --------------------


def _write(reg: ms.Registry, part: str) -> None:
    if part == "aliases":
        reg.set_alias("m", "production", "1")
    else:
        reg.register(model_name="m", model=b"y", serializer="bytes")


@pytest.mark.parametrize("part", ["slots", "aliases"])
def test_a_file_where_a_model_folder_belongs_raises_store_error(tmp_path: Path, part: str) -> None:
    reg, inner = _local(tmp_path)
    reg.register(model_name="m", model=b"x", serializer="bytes")
    creates: list[str] = []

    def bounded(operation: str, key: str) -> None:
        if operation == "create":
            creates.append(key)
        assert len(creates) < 1000, "the writer spins"

    folder = tmp_path / "models" / "m" / part
    for child in folder.glob("*"):
        child.unlink()
    if folder.exists():
        folder.rmdir()
    folder.write_bytes(b"not a folder")
    writer = ms.Registry(HookStore(inner, before=bounded))
    with pytest.raises(ms.StoreError, match="a file is where a folder belongs"):
        _write(writer, part)
    assert len(creates) < 1000


# --- 13 (store-level part), 14 and 17: storage failures are typed -----------------------------


def test_a_full_disk_during_register_is_a_store_error_not_a_serialization_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, _ = _local(tmp_path)
    reg.check_writable()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ms.StoreError, match="No space left"):
        reg.register(model_name="m", model=b"x", serializer="bytes")


def test_a_staging_folder_on_another_file_system_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, _ = _local(tmp_path)
    reg.check_writable()

    def cross_device(src: str, dst: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    with pytest.raises(ms.StoreError, match="EXDEV"):
        reg.register(model_name="m", model=b"x", serializer="bytes")


def test_permission_denied_reading_the_store_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, _ = _local(tmp_path)
    reg.register(model_name="m", model=b"x", serializer="bytes")

    def denied(path: Any) -> list[str]:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(os, "listdir", denied)
    assert main(["registry", "models", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "StoreError" in err
    assert "listing models" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("grace", [float("nan"), float("inf"), -1.0])
def test_gc_refuses_a_grace_that_is_not_a_finite_nonnegative_number(grace: float) -> None:
    with pytest.raises(ms.ConfigError, match="grace_seconds"):
        ms.Registry(MemoryStore()).gc(grace_seconds=grace)


# --- 15. damaged documents are IntegrityErrors ---------------------------------------------


def _damage_manifest(reg: ms.Registry, store: MemoryStore, change: Any) -> None:
    mv = reg.get("m", "1")
    doc = mv.to_dict()
    change(doc)
    store.replace(manifest_key("m", "1"), canonical_json(doc))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(created_at="yesterday"),
        lambda d: d.update(artifact=["not", "an", "object"]),
        lambda d: d["artifact"].update(size=10**30, checkpoints=None),
        lambda d: d.update(metrics="auc"),
    ],
    ids=["bad-date", "artifact-not-object", "huge-size", "metrics-not-object"],
)
def test_a_damaged_manifest_raises_integrity_error(change: Any) -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes")
    _damage_manifest(reg, store, change)
    with pytest.raises(ms.IntegrityError):
        reg.load("m", "1")


def test_an_alias_entry_without_aliases_raises_integrity_error() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes")
    store.create(alias_key("m", 1), b'{"revision": 1}')
    with pytest.raises(ms.IntegrityError, match="aliases"):
        reg.get("m", "@production")


def test_a_slot_holding_a_list_raises_integrity_error() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes")
    store.replace(slot_key("m", 1), b"[]")
    with pytest.raises(ms.IntegrityError, match="slot"):
        reg.get("m", "latest")


def test_a_manifest_replaced_by_a_link_to_dev_zero_is_read_with_a_limit(tmp_path: Path) -> None:
    reg, _ = _local(tmp_path)
    reg.register(model_name="m", model=b"x", serializer="bytes")
    path = tmp_path / "models" / "m" / "versions" / "1.json"
    path.unlink()
    path.symlink_to("/dev/zero")
    with pytest.raises(ms.IntegrityError, match="more than"):
        reg.get("m", "1")


# --- 16. reading where there is no registry ----------------------------------------------


def test_reading_a_folder_that_does_not_exist_raises_and_creates_nothing(tmp_path: Path) -> None:
    typo = tmp_path / "no" / "such" / "registry"
    reg = ms.open_registry(str(typo))
    with pytest.raises(ms.RegistryNotFound, match="no registry"):
        reg.models()
    with pytest.raises(ms.RegistryNotFound):
        reg.get("m")
    assert not (tmp_path / "no").exists()


def test_the_cli_exits_2_on_a_location_with_no_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "models", str(tmp_path / "typo")]) == 2
    assert "RegistryNotFound" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_the_first_registration_creates_the_registry_folder(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "new"))
    reg.register(model_name="m", model=b"x", serializer="bytes")
    assert reg.models() == ["m"]


# --- 13. case-insensitive stores -----------------------------------------------------------


def test_hints_are_kept_on_a_case_insensitive_store() -> None:
    store = CaseFoldingStore()
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes")
    reg.set_alias("m", "production", "1")
    assert store.exists(head_key("m"))
    assert store.exists(alias_hint_key("m"))  # the old ALIASES hint could not sit by aliases/
    assert reg.get("m", "@production").version == "1"


def test_a_model_name_differing_only_in_case_is_refused_on_a_case_insensitive_store() -> None:
    reg = ms.Registry(CaseFoldingStore())
    reg.register(model_name="Fraud", model=b"x", serializer="bytes")
    with pytest.raises(ms.InvalidName, match="only in case"):
        reg.register(model_name="fraud", model=b"y", serializer="bytes")
    assert reg.load("Fraud") == b"x"


def test_a_legacy_model_without_a_name_claim_still_refuses_another_spelling() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    store.delete(name_claim_key("fraud"))  # as a registry written before claims
    with pytest.raises(ms.InvalidName, match="only in case"):
        reg.register(model_name="Fraud", model=b"y", serializer="bytes")
    assert reg.register(model_name="fraud", model=b"z", serializer="bytes").version == "2"


@pytest.mark.parametrize("serializer", ["bytes", "joblib", "test-rewrites-before-reading"])
def test_a_blob_replaced_by_a_link_to_dev_zero_is_refused_not_read_forever(
    tmp_path: Path, serializer: str
) -> None:
    register_serializer(_RewritesBeforeReading(), clobber=True)
    reg, inner = _local(tmp_path)
    mv = reg.register(model_name="m", model=b"model bytes", serializer=serializer)
    path = inner.local_path(blob_key(mv.artifact.digest))
    os.unlink(path)
    os.symlink("/dev/zero", path)
    with pytest.raises(ms.IntegrityError):
        reg.load("m")
    with pytest.raises(ms.IntegrityError):
        reg.verify("m")
