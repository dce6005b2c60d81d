"""Store and listing defects a review found (review 39), each closed and pinned by a test.

A symbolic link to no file at a document key read as missing but wrote as taken, so
``register`` committed above a hole readers stopped at and ``set_alias`` retried 10,000
times; a listing chunk whose entries contradicted their slots (an entry edited to null)
was trusted, hiding a committed version from every page; ``where=`` refused NumPy
integers that ``register(metrics=)`` accepts.
"""

from __future__ import annotations

import builtins
import json
import os
import uuid
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.registry import Store
from modelship.registry._integrity import MAX_DOCUMENT
from modelship.registry._layout import listing_key, slot_key
from modelship.registry._listing import CHUNK
from modelship.testing import HookStore, MemoryStore

# --- 1. a symbolic link to no file where a document belongs ---------------------------------


def _versions(reg: ms.Registry, n: int, name: str = "m") -> None:
    for i in range(n):
        reg.register(model_name=name, model=f"{i}".encode(), serializer="bytes")


def _broken_link(path: Path, how: str) -> None:
    """A symbolic link at ``path`` that leads to no file: to nowhere, or round a loop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "to nowhere":
        os.symlink(path.parent / "nowhere" / "zz", path)
    else:
        os.symlink(path.name, path)  # a link to itself: ELOOP


@pytest.mark.parametrize("how", ["to nowhere", "in a loop"])
def test_a_broken_link_at_a_document_key_is_no_document_and_refuses_a_create(
    tmp_path: Path, how: str
) -> None:
    store = ms.open_registry(str(tmp_path)).store
    _broken_link(tmp_path / "docs" / "a.json", how)
    assert store.exists("docs/a.json") is False
    assert store.read_many(["docs/a.json"]) == {}  # missing, as exists() says (ELOOP too)
    with pytest.raises(FileNotFoundError):
        store.read("docs/a.json")
    with pytest.raises(ms.StoreError, match="symbolic link to no file"):
        store.create("docs/a.json", b"{}")  # not FileExistsError: nothing is stored there
    assert os.path.islink(tmp_path / "docs" / "a.json")  # left for the operator to move


@pytest.mark.parametrize("how", ["to nowhere", "in a loop"])
def test_register_over_a_broken_link_at_the_next_slot_raises_and_commits_nothing_above_it(
    tmp_path: Path, how: str
) -> None:
    reg = ms.open_registry(str(tmp_path))
    _versions(reg, 3)
    link = tmp_path / slot_key("m", 4)
    _broken_link(link, how)
    with pytest.raises(ms.StoreError, match="symbolic link to no file"):
        reg.register(model_name="m", model=b"new", serializer="bytes")
    fresh = ms.open_registry(str(tmp_path))
    assert fresh.get("m").version == "3"
    assert [mv.version for mv in fresh.versions("m")] == ["1", "2", "3"]
    assert [mv.version for mv in fresh.versions("m", limit=10, order="newest")] == ["3", "2", "1"]
    link.unlink()  # the operator moves it away: registering goes on where it stopped
    assert fresh.register(model_name="m", model=b"new", serializer="bytes").version == "4"
    assert ms.open_registry(str(tmp_path)).get("m").version == "4"


def test_set_alias_over_a_broken_link_at_the_next_alias_entry_raises_store_error_at_once(
    tmp_path: Path,
) -> None:
    reg = ms.open_registry(str(tmp_path))
    _versions(reg, 2)
    reg.set_alias("m", "prod", "1")
    _broken_link(tmp_path / "models" / "m" / "aliases" / "000000000002.json", "to nowhere")
    attempts: list[str] = []

    def count(operation: str, key: str) -> None:
        if operation == "create" and "/aliases/" in key:
            attempts.append(key)
            if len(attempts) > 3:  # the old code tried 10,000 times, then said "Conflict"
                raise AssertionError(f"set_alias retried {len(attempts)} creates")

    watched = ms.Registry(HookStore(reg.store, before=count))
    with pytest.raises(ms.StoreError, match="symbolic link to no file"):
        watched.set_alias("m", "prod", "2")
    assert len(attempts) == 1
    assert reg.aliases("m") == {"prod": "1"}


# --- 2. a listing chunk whose entries contradict their slots --------------------------------


class BatchStore(HookStore):
    """Records each batch of keys read (a ``read`` is a batch of one)."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.batches: list[list[str]] = []

    def read(self, key: str) -> bytes:
        self.batches.append([key])
        return super().read(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        keys = builtins.list(keys)
        self.batches.append(keys)
        return super().read_many(keys)

    def slot_reads(self) -> int:
        return sum(1 for batch in self.batches for key in batch if "/slots/" in key)


def _numbers(versions: Iterable[ms.ModelVersion]) -> list[str]:
    return [mv.version for mv in versions]


def _edit(store: Store, key: str, edit: Any) -> None:
    doc = json.loads(store.read(key))
    edit(doc["entries"])
    store.replace(key, json.dumps(doc).encode())


def test_a_chunk_entry_edited_to_null_for_a_committed_slot_is_ignored_and_rewritten() -> None:
    store = MemoryStore()
    _versions(ms.Registry(store), 20)
    full = [str(n) for n in range(1, 21)]
    ms.Registry(store).versions("m", limit=20)  # writes chunk 0
    key = listing_key("m", 0)

    def null(entries: list[Any]) -> None:
        entries[2] = None  # slot 3 "dead", though it names committed version 3

    _edit(store, key, null)
    with pytest.warns(ms.RepairWarning, match=r"damaged listing chunk.*entry 3 is null"):
        assert _numbers(ms.Registry(store).versions("m", limit=20)) == full
    assert json.loads(store.read(key))["entries"][2]["version"] == "3"  # rewritten
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _numbers(ms.Registry(store).versions("m", limit=20, order="newest")) == full[::-1]


def test_a_chunk_entry_of_another_registration_than_its_slot_is_ignored() -> None:
    store = MemoryStore()
    _versions(ms.Registry(store), CHUNK + 1)
    ms.Registry(store).versions("m", limit=40)

    def other(entries: list[Any]) -> None:
        entries[4]["registration"] = uuid.uuid4().hex  # a claim the slot never made

    _edit(store, listing_key("m", 0), other)
    with pytest.warns(ms.RepairWarning, match="entry 5 .* is not the registration its slot"):
        page = ms.Registry(store).versions("m", limit=40)
    assert [mv.registration for mv in page] == [
        mv.registration for mv in ms.Registry(store).versions("m")
    ]


def test_a_head_entry_edited_to_null_for_a_committed_slot_is_ignored() -> None:
    store = MemoryStore()
    _versions(ms.Registry(store), 6)
    ms.Registry(store).versions("m", limit=10)  # writes the head of chunk 0
    key = listing_key("m", 0, head=True)

    def null(entries: list[Any]) -> None:
        entries[0] = None

    _edit(store, key, null)
    with pytest.warns(ms.RepairWarning, match="entry 1 is null"):
        assert _numbers(ms.Registry(store).versions("m", limit=10, order="newest")) == [
            "6",
            "5",
            "4",
            "3",
            "2",
            "1",
        ]
    assert json.loads(store.read(key))["entries"][0]["version"] == "1"


def test_a_null_entry_for_a_dead_slot_is_trusted_without_a_warning() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    _versions(reg, 2)
    reg.register(model_name="m", model=b"x", serializer="bytes", version="4")
    _versions(reg, 2)  # slot 4 would be "4", which is taken: a dead slot, then "5", "6"
    ms.Registry(store).versions("m", limit=10)
    assert json.loads(store.read(listing_key("m", 0, head=True)))["entries"][3] is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _numbers(ms.Registry(store).versions("m", limit=10)) == ["1", "2", "4", "5", "6"]


def test_a_handle_checks_each_chunk_against_its_slots_once_in_one_batch() -> None:
    inner = MemoryStore()
    _versions(ms.Registry(inner), 4 * CHUNK)
    ms.Registry(inner).versions("m", limit=100)  # writes the chunks
    store = BatchStore(inner)
    reg = ms.Registry(store)
    assert len(reg.versions("m", limit=2 * CHUNK, order="newest")) == 2 * CHUNK
    slot_batches = [batch for batch in store.batches if any("/slots/" in k for k in batch)]
    # The two chunks' slots in one batch (the probes for the top read single slots).
    assert max(len(batch) for batch in slot_batches) == 2 * CHUNK
    store.batches.clear()
    assert len(reg.versions("m", limit=2 * CHUNK, order="newest")) == 2 * CHUNK
    assert store.slot_reads() <= 2  # only the probes for the top: the chunks were checked

    def null(entries: list[Any]) -> None:
        entries[0] = None

    _edit(inner, listing_key("m", 3), null)  # changed bytes are checked again
    with pytest.warns(ms.RepairWarning, match="entry 49 is null"):
        assert len(reg.versions("m", limit=2 * CHUNK, order="newest")) == 2 * CHUNK


# --- 3. where= with NumPy numbers ------------------------------------------------------------


def _by_metric(values: list[Any]) -> ms.Registry:
    reg = ms.Registry(MemoryStore())
    for value in values:
        reg.register(model_name="m", model=b"x", serializer="bytes", metrics={"n": value})
    return reg


@pytest.mark.parametrize("number", [np.int64(100), np.int32(100), np.uint8(100), np.float32(100)])
def test_where_compares_metrics_with_numpy_numbers_as_with_python_ones(number: Any) -> None:
    reg = _by_metric([np.int64(50), np.int64(100), np.int64(150)])
    assert _numbers(reg.versions("m", where={"metrics.n": (">=", number)})) == ["2", "3"]
    assert _numbers(reg.versions("m", where={"metrics.n": number}, limit=5)) == ["2"]


def test_a_numpy_integer_filter_is_the_same_filter_as_its_python_integer() -> None:
    reg = _by_metric([1, 2, 3])
    page = reg.versions("m", where={"metrics.n": (">=", np.int64(1))}, limit=1)
    rest = reg.versions("m", where={"metrics.n": (">=", 1)}, limit=5, cursor=page.next_cursor)
    assert _numbers(page) + _numbers(rest) == ["1", "2", "3"]


def test_a_large_numpy_unsigned_integer_is_compared_exactly() -> None:
    big = 2**64 - 1  # not a float: 2.0**64 is the nearest, and compares equal to 2**64
    reg = _by_metric([big - 1, big])
    assert _numbers(reg.versions("m", where={"metrics.n": np.uint64(big)})) == ["2"]
    assert _numbers(reg.versions("m", where={"metrics.n": ("<", np.uint64(big))})) == ["1"]


@pytest.mark.parametrize(
    "value",
    [np.bool_(True), np.float64("nan"), np.float32("inf"), np.longdouble(1.5), np.array([1])],
    ids=["bool_", "nan", "inf", "longdouble", "array"],
)
def test_where_refuses_numpy_values_that_are_no_finite_number(value: Any) -> None:
    reg = _by_metric([1])
    with pytest.raises(ms.InvalidFilter, match="metrics compare with finite numbers"):
        reg.versions("m", where={"metrics.n": (">=", value)})


@pytest.mark.parametrize("size", [0, 1, 4096, MAX_DOCUMENT])
def test_a_local_document_is_read_whole_up_to_the_cap(tmp_path: Path, size: int) -> None:
    # Reads are sized by the file's length, not by the cap: every size reads back whole.
    store = ms.open_registry(str(tmp_path)).store
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.json").write_bytes(data)
    assert store.read("docs/a.json") == data


def test_a_local_document_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    store = ms.open_registry(str(tmp_path)).store
    (tmp_path / "docs").mkdir()
    with open(tmp_path / "docs" / "a.json", "wb") as f:
        f.truncate(MAX_DOCUMENT + 1)
    with pytest.raises(ms.IntegrityError, match="holds more than"):
        store.read("docs/a.json")


def test_a_local_document_that_grew_after_it_was_sized_is_read_to_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fstat says 10 bytes, the file holds 20 by the time it is read: all 20 are read.
    from modelship.registry import _store

    store = ms.open_registry(str(tmp_path)).store
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.json").write_bytes(b"y" * 20)
    real = os.fstat

    class _Sized:
        def __init__(self, st: os.stat_result) -> None:
            self._st = st

        def __getattr__(self, name: str) -> object:
            return 10 if name == "st_size" else getattr(self._st, name)

    monkeypatch.setattr(_store.os, "fstat", lambda fd: _Sized(real(fd)))
    assert store.read("docs/a.json") == b"y" * 20


def test_set_alias_racing_a_delete_that_gave_way_says_conflict_not_archived() -> None:
    # Order (HookStore): the delete reads the aliases (prod -> 1); set_alias moves prod to
    # 2; the delete creates its marker; set_alias sees it and starts its undo; the delete
    # reads the aliases again (prod -> 2), takes its marker back and gives way; the undo
    # ends. Version 2 is live: set_alias must not say it was archived.
    import threading

    ev = {k: threading.Event() for k in ("at_create", "create", "at_reread", "finish", "done")}
    seen = {"moved": False, "undo": False}
    inner = MemoryStore()

    def before(op: str, key: str) -> None:
        me = threading.current_thread().name
        if me == "D":
            if op == "create" and key == "models/m/archived/2.json":
                ev["at_create"].set()
                ev["create"].wait(10)
            if (
                op == "read"
                and key == "models/m/hint-aliases.json"
                and inner.exists("models/m/archived/2.json")
            ):
                ev["at_reread"].set()
                ev["finish"].wait(10)
        if me == "MainThread" and ev["at_create"].is_set():
            if op == "create" and key == "models/m/aliases/000000000002.json":
                seen["moved"] = True
            elif seen["moved"] and op == "read" and key == "models/m/purged/2.json":
                ev["create"].set()
                ev["at_reread"].wait(10)
            elif (
                seen["moved"]
                and not seen["undo"]
                and op == "read"
                and key == "models/m/purged/1.json"
            ):
                seen["undo"] = True
                ev["finish"].set()
                ev["done"].wait(10)

    reg = ms.Registry(HookStore(inner, before=before))
    for i in range(2):
        reg.register(model_name="m", model=b"%d" % i, serializer="bytes", capture_environment=False)
    reg.set_alias("m", "prod", "1")
    outcome: dict[str, BaseException] = {}

    def delete() -> None:
        try:
            reg.delete("m", "2")
        except ms.ModelshipError as exc:
            outcome["delete"] = exc
        ev["done"].set()

    thread = threading.Thread(target=delete, name="D")
    thread.start()
    assert ev["at_create"].wait(10)
    with pytest.raises(ms.Conflict, match="raced this move") as raised:
        reg.set_alias("m", "prod", "2")
    thread.join(10)
    assert seen["undo"], "the interleaving was not the one meant"
    assert isinstance(outcome.get("delete"), ms.Conflict)
    assert not isinstance(raised.value, ms.ArchivedVersion)
    assert reg.aliases("m") == {"prod": "1"}
    assert reg.get("m", "2").version == "2"  # live: neither operation took effect
