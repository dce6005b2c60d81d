"""StoreConformance fails stores that break a promise of the Store protocol.

Each store here breaks one promise, as a hostile review found stores that passed the suite
did; each test runs the suite's check that catches it and shows that it fails.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Iterable

import pytest

import modelship as ms
from modelship.testing import MemoryStore, RegistryConformance, StoreConformance


class CappedReadMany(MemoryStore):
    """read_many answers at most 64 keys, silently (a batch limit hit without paging)."""

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        return dict(itertools.islice(super().read_many(keys).items(), 64))


class PagedAtAThousand(MemoryStore):
    """read_many answers the first page of an object store's batch call only."""

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        return super().read_many(list(keys)[:1000])


class StaleListing(MemoryStore):
    """list() still names deleted keys (a listing cache that is never invalidated)."""

    def __init__(self) -> None:
        super().__init__()
        self.ever: set[str] = set()

    def create(self, key: str, data: bytes, *, allow_empty: bool = False) -> None:
        super().create(key, data, allow_empty=allow_empty)
        self.ever.add(key)

    def list(self, prefix: str) -> builtins.list[str]:
        base = prefix.rstrip("/") + "/"
        ghosts = {k[len(base) :].split("/", 1)[0] for k in self.ever if k.startswith(base)}
        return sorted(set(super().list(prefix)) | ghosts)


class Clockless(MemoryStore):
    """modified() is a constant, not the time of the last write."""

    def modified(self, key: str) -> float:
        super().modified(key)  # FileNotFoundError for a missing key
        return 1.0


class CreationTimeOnly(MemoryStore):
    """modified() is the time of the first write: a rewrite does not move it."""

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[str, float] = {}

    def modified(self, key: str) -> float:
        return self.first.setdefault(key, super().modified(key))


suite = StoreConformance()
registry_suite = RegistryConformance()


@pytest.mark.parametrize(
    "store", [CappedReadMany(), PagedAtAThousand()], ids=lambda s: type(s).__name__
)
def test_a_read_many_that_leaves_out_existing_keys_fails(store: MemoryStore) -> None:
    with pytest.raises(AssertionError, match="keys answered"):
        suite.test_read_many_answers_every_key_of_a_batch_larger_than_any_page(store)


def test_a_listing_that_names_deleted_keys_fails() -> None:
    with pytest.raises(AssertionError):
        suite.test_a_deleted_key_is_no_longer_listed(StaleListing())


def test_a_modified_time_that_is_not_a_time_of_now_fails() -> None:
    with pytest.raises(AssertionError, match="not now"):
        suite.test_modified_is_the_time_of_the_last_write(Clockless(), 0.01)


def test_a_modified_time_that_a_rewrite_does_not_move_fails() -> None:
    with pytest.raises(AssertionError, match="did not move"):
        suite.test_modified_is_the_time_of_the_last_write(CreationTimeOnly(), 0.01)


def test_a_registry_on_a_stale_listing_fails_to_list_a_restored_version() -> None:
    with pytest.raises(AssertionError):
        registry_suite.test_delete_archives_and_restore_brings_back(ms.Registry(StaleListing()))


def test_a_registry_on_a_clockless_store_fails_to_see_a_running_gc() -> None:
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        registry_suite.test_a_registration_is_not_committed_while_a_gc_runs(
            ms.Registry(Clockless())
        )


def test_a_registry_on_a_conforming_store_passes_those_checks() -> None:
    registry_suite.test_delete_archives_and_restore_brings_back(ms.Registry(MemoryStore()))
    registry_suite.test_a_registration_is_not_committed_while_a_gc_runs(ms.Registry(MemoryStore()))


@pytest.mark.parametrize(
    "store",
    [CappedReadMany(), PagedAtAThousand(), StaleListing(), Clockless(), CreationTimeOnly()],
    ids=lambda s: type(s).__name__,
)
def test_each_broken_store_passes_the_checks_it_does_not_break(store: MemoryStore) -> None:
    # the suite fails each for its own flaw, not for one they share
    suite.test_created_document_reads_back(store)
    suite.test_read_many_leaves_out_missing_keys(store)
    suite.test_list_names_direct_children_sorted(store)
    suite.test_size_and_modified_of_a_key(store)
