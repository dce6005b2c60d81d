"""StoreConformance fails stores that break a promise, each of which passed it before.

Each store here breaks one promise of the Store protocol or of a capability, as stores
a hostile review wrote did; each test runs the suite's check for that promise on it and
shows that it fails, and the same check on the store it is made from shows that the
flaw, not the check, is what fails. The races (a reader during a write) are tried three
times where one try would do: they are probabilistic, and nearly certain.
"""

from __future__ import annotations

import builtins
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from modelship.registry import BlobWriter, FsspecStore, Store
from modelship.testing import HookStore, MemoryStore, StoreConformance

suite = StoreConformance()
TRIES = 3


def _fails(check: Callable[[], None], match: str) -> None:
    """``check`` raises an AssertionError matching ``match`` in one of :data:`TRIES`."""
    for _ in range(TRIES):
        try:
            check()
        except AssertionError as exc:
            caught = str(exc)
            break
    else:
        pytest.fail(f"the check passed {TRIES} times on a store that breaks it")
    assert match in caught, caught


# --- stores on a local folder, each a HookStore over FsspecStore with one method changed ---


class WritesInPlace(HookStore):
    """replace() truncates the file, then writes: a reader can find it empty or half written."""

    def replace(self, key: str, data: bytes) -> None:
        path = self.inner.local_path(key)  # type: ignore[attr-defined]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


class _CopyingWriter:
    def __init__(self, store: HookStore) -> None:
        self.store = store
        self.staged = bytearray()

    def write(self, data: bytes | memoryview) -> int:
        self.staged += data
        return len(data)

    def publish(self, key: str) -> bool:
        if self.store.exists(key):
            return False
        path = self.store.inner.local_path(key)  # type: ignore[attr-defined]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            for at in range(0, len(self.staged), 1 << 16):
                f.write(self.staged[at : at + (1 << 16)])
        return True

    def discard(self) -> None:
        self.staged = bytearray()


class CopiesIntoPlace(HookStore):
    """A blob's publish copies the staged bytes to the key, visible while it copies."""

    def blob_writer(self, callback: Any = None) -> BlobWriter:
        return _CopyingWriter(self)


class LockedInThisProcess(HookStore):
    """create() checks, then writes, under a lock only this process's threads share."""

    _lock = threading.Lock()

    def create(self, key: str, data: bytes) -> None:
        path = self.inner.local_path(key)  # type: ignore[attr-defined]
        with self._lock:
            if os.path.exists(path):
                raise FileExistsError(key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            time.sleep(0.001)  # the round trip between an object store's check and its put
            with open(path, "wb") as f:
                f.write(data)


class MakesItsFolder(HookStore):
    """Makes its folder when opened: a typo in a URL reads as an empty registry."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        os.makedirs(inner.local_path(""), exist_ok=True)  # type: ignore[attr-defined]


def _local(tmp_path: Path, kind: type[HookStore] = HookStore) -> HookStore:
    return kind(FsspecStore.from_url(str(tmp_path / "store")))


# --- stores in memory ---------------------------------------------------------------------


class CachesReads(MemoryStore):
    """A read cache that replace() and delete() do not clear."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: dict[str, bytes] = {}

    def read(self, key: str) -> bytes:
        if key not in self.cache:
            self.cache[key] = super().read(key)
        return self.cache[key]


class ReadsViews(MemoryStore):
    """read() answers a memoryview of the stored bytes."""

    def read(self, key: str) -> bytes:
        return memoryview(super().read(key))  # type: ignore[return-value]


class ReadsManyMutable(MemoryStore):
    """read_many() answers bytearrays."""

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        return {k: bytearray(v) for k, v in super().read_many(keys).items()}  # type: ignore[misc]


class ListsOncePerKey(MemoryStore):
    """list() names a folder once for every key in it."""

    def list(self, prefix: str) -> builtins.list[str]:
        base = prefix.rstrip("/") + "/"
        return sorted(k[len(base) :].split("/", 1)[0] for k in self._data if k.startswith(base))


class ListsWithoutBoundary(MemoryStore):
    """list("a/b") also names what is under "a/bc" (a prefix match, not a folder)."""

    def list(self, prefix: str) -> builtins.list[str]:
        names = {
            k[len(prefix) :].lstrip("/").split("/", 1)[0]
            for k in self._data
            if k.startswith(prefix)
        }
        return sorted(n for n in names if n)


class LocalTimeForUtc(MemoryStore):
    """modified() reads a UTC time as local time two hours east of UTC."""

    def modified(self, key: str) -> float:
        return super().modified(key) - 2 * 3600


class _DeletingWriter:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.staged = bytearray()

    def write(self, data: bytes | memoryview) -> int:
        self.staged += data
        return len(data)

    def publish(self, key: str) -> bool:
        try:
            self.store.create(key, bytes(self.staged), allow_empty=True)
        except FileExistsError:
            return False
        return True

    def publish_over(self, key: str) -> None:
        self.store.delete(key)
        self.store.create(key, bytes(self.staged), allow_empty=True)

    def discard(self) -> None:
        self.staged = bytearray()


class DeletesThenPublishes(MemoryStore):
    """Its blob writers' publish_over deletes the key, then publishes: a gap."""

    def blob_writer(self, callback: Any = None) -> BlobWriter:
        return _DeletingWriter(self)


class Uploads(MemoryStore):
    """An AbortsUploads store whose uploads a test begins: each is a name and a time."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: dict[str, float] = {}

    def begin(self, key: str) -> None:
        self.uploads[f"{key}?upload={len(self.uploads)}"] = time.time()

    def incomplete_uploads(self, before: float) -> builtins.list[str]:
        return sorted(name for name, began in self.uploads.items() if began < before)

    def abort_upload(self, upload: str) -> None:
        self.uploads.pop(upload, None)


class ListsEveryUpload(Uploads):
    """incomplete_uploads ignores ``before``: gc would abort uploads still running."""

    def incomplete_uploads(self, before: float) -> builtins.list[str]:
        return sorted(self.uploads)


class AbortsOnlyOnce(Uploads):
    """abort_upload of an upload that is gone raises KeyError."""

    def abort_upload(self, upload: str) -> None:
        del self.uploads[upload]


# --- readers during a write ---------------------------------------------------------------


def test_a_replace_that_writes_in_place_fails(tmp_path: Path) -> None:
    _fails(
        lambda: suite.test_a_reader_sees_a_replaced_document_old_or_new_never_a_mix(
            _local(tmp_path / str(time.monotonic_ns()), WritesInPlace)
        ),
        "replace is not whole",
    )


def test_a_publish_that_copies_into_place_fails(tmp_path: Path) -> None:
    _fails(
        lambda: suite.test_a_reader_never_sees_part_of_a_blob_being_published(
            _local(tmp_path / str(time.monotonic_ns()), CopiesIntoPlace)
        ),
        "publish is not all at once",
    )


def test_a_publish_over_that_deletes_first_fails() -> None:
    _fails(
        lambda: suite.test_a_reader_during_publish_over_sees_old_or_new_never_a_missing_key(
            DeletesThenPublishes()
        ),
        "publish_over is not one step",
    )


def test_the_reader_checks_pass_on_the_stores_the_broken_ones_are_made_from(
    tmp_path: Path,
) -> None:
    local = _local(tmp_path)
    suite.test_a_reader_sees_a_replaced_document_old_or_new_never_a_mix(local)
    suite.test_a_reader_never_sees_part_of_a_blob_being_published(local)
    suite.test_a_reader_during_publish_over_sees_old_or_new_never_a_missing_key(local)


# --- creates racing from processes --------------------------------------------------------


def test_a_create_atomic_only_among_threads_fails_the_race_of_processes(tmp_path: Path) -> None:
    store = _local(tmp_path, LockedInThisProcess)
    suite.test_racing_creates_of_one_key_have_exactly_one_winner(store, True, 8)  # threads: fine
    _fails(
        lambda: suite.test_creates_racing_from_processes_have_exactly_one_winner(
            _local(tmp_path / str(time.monotonic_ns()), LockedInThisProcess), True, 8
        ),
        "processes created one key",
    )


def test_the_race_of_processes_passes_on_a_local_folder(tmp_path: Path) -> None:
    suite.test_creates_racing_from_processes_have_exactly_one_winner(_local(tmp_path), True, 8)


def test_the_race_of_processes_is_skipped_for_a_store_in_this_process_memory() -> None:
    with pytest.raises(pytest.skip.Exception, match="not seen here"):
        suite.test_creates_racing_from_processes_have_exactly_one_winner(MemoryStore(), True, 2)


# --- exact checks -------------------------------------------------------------------------


def test_a_read_cache_that_outlives_a_write_fails() -> None:
    with pytest.raises(AssertionError):
        suite.test_a_read_after_a_replace_or_a_delete_sees_it(CachesReads())


@pytest.mark.parametrize(
    "store", [ReadsViews(), ReadsManyMutable()], ids=lambda s: type(s).__name__
)
def test_reads_that_are_not_bytes_fail(store: MemoryStore) -> None:
    with pytest.raises(AssertionError):
        suite.test_reads_answer_bytes(store)


def test_a_listing_that_names_a_folder_twice_fails() -> None:
    with pytest.raises(AssertionError):
        suite.test_list_names_each_child_once(ListsOncePerKey())


def test_a_listing_without_a_folder_boundary_fails() -> None:
    with pytest.raises(AssertionError):
        suite.test_list_of_a_folder_leaves_out_names_that_only_begin_with_it(ListsWithoutBoundary())


def test_a_modified_time_two_hours_off_fails() -> None:
    with pytest.raises(AssertionError, match="not now"):
        suite.test_modified_is_the_time_of_the_last_write(LocalTimeForUtc(), 0.01)


@pytest.mark.parametrize(
    "check",
    [
        "test_a_read_after_a_replace_or_a_delete_sees_it",
        "test_reads_answer_bytes",
        "test_list_names_each_child_once",
        "test_list_of_a_folder_leaves_out_names_that_only_begin_with_it",
    ],
)
def test_the_exact_checks_pass_on_the_memory_store(check: str) -> None:
    getattr(suite, check)(MemoryStore())


def test_the_modified_check_passes_on_the_memory_store() -> None:
    suite.test_modified_is_the_time_of_the_last_write(MemoryStore(), 0.01)


# --- optional capabilities ----------------------------------------------------------------


def test_a_store_that_makes_its_folder_when_opened_fails(tmp_path: Path) -> None:
    store = _local(tmp_path, MakesItsFolder)
    with pytest.raises(AssertionError, match="before any write"):
        suite.test_a_fresh_location_is_absent_until_the_first_write(store, True)


def test_a_store_on_a_local_folder_is_absent_until_written(tmp_path: Path) -> None:
    suite.test_a_fresh_location_is_absent_until_the_first_write(_local(tmp_path), True)


def test_incomplete_uploads_that_ignore_the_cutoff_fail() -> None:
    store = ListsEveryUpload()
    with pytest.raises(AssertionError, match="begun after `before`"):
        suite.test_an_upload_is_listed_only_by_a_cutoff_after_it_began(store, store.begin)


def test_aborting_a_gone_upload_with_a_key_error_fails() -> None:
    store = AbortsOnlyOnce()
    with pytest.raises(KeyError):
        suite.test_aborting_an_upload_that_is_gone_is_not_an_error(store, store.begin)


def test_the_upload_checks_pass_on_an_honest_uploads_store() -> None:
    store = Uploads()
    suite.test_an_upload_is_listed_only_by_a_cutoff_after_it_began(store, store.begin)
    store = Uploads()
    suite.test_aborting_an_upload_that_is_gone_is_not_an_error(store, store.begin)


def test_the_upload_checks_are_skipped_without_a_way_to_begin_one() -> None:
    with pytest.raises(pytest.skip.Exception, match="begin_upload"):
        suite.test_aborting_an_upload_that_is_gone_is_not_an_error(Uploads(), None)
