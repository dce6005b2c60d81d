"""``versions()`` reads a snapshot of the manifests instead of every manifest, and stays right.

The snapshot (``models/<name>/index/<count>.json``) is a cache written by ``versions()``
once it had to read many manifests one by one. It must never change what ``versions()``
returns: a manifest the snapshot lacks is read from the store, an entry whose manifest
is not listed is ignored, a damaged snapshot is ignored with a warning, and a reader
without write access still lists everything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from _workers import open_storage as _open

import modelship as ms
from modelship import RepairWarning
from modelship.registry import Registry, Store
from modelship.testing import HookStore

NAME = "indexed"
INDEX = f"models/{NAME}/index"


class CountingStore(HookStore):
    """Counts the manifests read one by one (not through a snapshot)."""

    def __init__(self, inner: Store, **hooks: Any) -> None:
        super().__init__(inner, **hooks)
        self.manifest_reads = 0

    def _count(self, keys: Iterable[str]) -> list[str]:
        keys = list(keys)
        self.manifest_reads += sum(f"/{NAME}/versions/" in key for key in keys)
        return keys

    def read(self, key: str) -> bytes:
        self._count([key])
        return self.inner.read(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        return self.inner.read_many(self._count(keys))


@pytest.fixture(autouse=True)
def small_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write a snapshot after 5 manifests read one by one, not hundreds."""
    monkeypatch.setattr(Registry, "_SNAPSHOT_AFTER", 5)


def _register(reg: ms.Registry, n: int) -> None:
    for i in range(n):
        reg.register(
            model_name=NAME,
            model=f"model {i}".encode(),
            serializer="bytes",
            metrics={"i": i},
            lineage={},
            progress=False,
        )


def _snapshots(reg: ms.Registry) -> list[str]:
    return sorted(reg.store.list(INDEX))


def _numbers(versions: list[ms.ModelVersion]) -> list[str]:
    return [mv.version for mv in versions]


def test_versions_writes_a_snapshot_then_reads_only_the_manifests_it_lacks(
    storage: dict[str, Any],
) -> None:
    reg = _open(storage)
    _register(reg, 12)
    assert _snapshots(reg) == []
    first = reg.versions(NAME)
    assert _numbers(first) == [str(i) for i in range(1, 13)]
    assert _snapshots(reg) == ["000000000012.json"]

    _register(reg, 2)
    counting = CountingStore(reg.store)
    got = Registry(counting).versions(NAME)
    assert _numbers(got) == [str(i) for i in range(1, 15)]
    assert got[:12] == first
    assert counting.manifest_reads == 2, "read manifests the snapshot holds"
    # The records read through the snapshot still reach their attachments and artifacts.
    assert reg.load(NAME, got[0].version) == b"model 0"


def test_a_newer_snapshot_replaces_the_older_ones(storage: dict[str, Any]) -> None:
    reg = _open(storage)
    _register(reg, 6)
    reg.versions(NAME)
    assert _snapshots(reg) == ["000000000006.json"]
    _register(reg, 4)
    reg.versions(NAME)  # 4 read one by one: under the threshold, no new snapshot
    assert _snapshots(reg) == ["000000000006.json"]
    _register(reg, 2)
    assert _numbers(reg.versions(NAME)) == [str(i) for i in range(1, 13)]
    assert _snapshots(reg) == ["000000000012.json"]


def test_the_snapshot_never_decides_which_versions_exist(storage: dict[str, Any]) -> None:
    reg = _open(storage)
    _register(reg, 8)
    reg.versions(NAME)
    key = f"{INDEX}/000000000008.json"
    doc = json.loads(reg.store.read(key))
    # One entry missing (as when a slow registration commits a lower number after the
    # snapshot was taken), and one entry for a manifest that is not in the store.
    invented = dict(doc["manifests"]["1.json"], version="99", sequence=99)
    del doc["manifests"]["3.json"]
    doc["manifests"]["99.json"] = invented
    reg.store.delete(key)
    reg.store.create(key, json.dumps(doc).encode())

    counting = CountingStore(reg.store)
    got = Registry(counting).versions(NAME)
    assert _numbers(got) == [str(i) for i in range(1, 9)]
    assert counting.manifest_reads == 1
    assert got == Registry(counting).versions(NAME)


@pytest.mark.parametrize(
    "damage",
    [
        b"not json",
        b'{"format": 99, "manifests": {}}',
        b'{"format": 1, "manifests": {"2.json": {"name": "indexed", "version": "5"}}}',
    ],
    ids=["not-json", "unknown-format", "entry-for-another-version"],
)
def test_a_damaged_snapshot_is_ignored_with_a_warning(
    storage: dict[str, Any], damage: bytes
) -> None:
    reg = _open(storage)
    _register(reg, 6)
    expected = reg.versions(NAME)
    key = f"{INDEX}/000000000006.json"
    reg.store.delete(key)
    reg.store.create(key, damage)
    with pytest.warns(RepairWarning, match="000000000006.json"):
        got = reg.versions(NAME)
    assert got == expected


def test_archived_and_purged_versions_stay_hidden_when_read_through_a_snapshot(
    storage: dict[str, Any],
) -> None:
    reg = _open(storage)
    _register(reg, 7)
    reg.versions(NAME)
    reg.delete(NAME, "3")
    reg.delete(NAME, "5")
    reg.purge(NAME, "5")
    assert _numbers(reg.versions(NAME)) == ["1", "2", "4", "6", "7"]
    assert _numbers(reg.versions(NAME, include_archived=True)) == ["1", "2", "3", "4", "6", "7"]


def test_a_reader_that_cannot_write_lists_everything_and_writes_no_snapshot(
    tmp_path: Path,
) -> None:
    reg = ms.open_registry(str(tmp_path / "registry"))
    _register(reg, 8)

    tried: list[str] = []

    def refuse(key: str) -> None:
        tried.append(key)
        raise PermissionError(f"read-only credentials: cannot write {key}")

    read_only = Registry(HookStore(reg.store, before_create=refuse))
    assert _numbers(read_only.versions(NAME)) == [str(i) for i in range(1, 9)]
    assert _numbers(read_only.versions(NAME)) == [str(i) for i in range(1, 9)]
    assert _snapshots(reg) == []
    assert len(tried) == 1, f"the read-only handle kept trying to write: {tried}"
    # A writer that can write takes the snapshot as usual.
    reg.versions(NAME)
    assert _snapshots(reg) == ["000000000008.json"]


def test_gc_and_copy_see_the_same_versions_with_a_snapshot(tmp_path: Path) -> None:
    src = ms.open_registry(str(tmp_path / "src"))
    _register(src, 9)
    src.versions(NAME)
    assert src.gc(grace_seconds=0).removed == 0, "gc took a snapshot for a leftover"
    dst = ms.open_registry(str(tmp_path / "dst"))
    ms.copy_registry(src, dst)
    assert dst.versions(NAME) == src.versions(NAME)
