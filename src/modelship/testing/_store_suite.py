"""The Store conformance suite: what the registry relies on from any storage back end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from modelship.errors import StoreError
from modelship.registry import AbortsUploads, KnowsLocation, LocalBlobs, ReplacesBlobs, Store

__all__ = ["StoreConformance"]

_DAY = 24 * 3600.0


class StoreConformance:
    """Behaviours every :class:`~modelship.registry.Store` must show. Subclass it.

    Override ``make_store``: a factory of stores on fresh, empty locations. Capability
    fixtures say what to expect and default to what the store declares:
    ``exclusive_creates`` (the store's own attribute; when False, the race test is
    skipped), ``racers`` (how many threads race for one key) and ``clock_resolution``
    (the seconds between two distinct :meth:`~modelship.registry.Store.modified` times;
    1.0 by default, as S3's object times have).

    Examples
    --------
    The package's example (:mod:`modelship.testing`) subclasses it with a factory. A store
    whose creates are not atomic across processes, tested with fewer racing threads::

        class TestMyNfsStore(StoreConformance):
            make_store = my_store_factory   # a fixture, as in the package example

            @pytest.fixture
            def exclusive_creates(self):
                return False                # the race test is skipped, with a reason

            @pytest.fixture
            def racers(self):
                return 2

    Needs pytest (``pip install 'modelship[test]'``).
    """

    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:  # pragma: no cover - overridden
        raise NotImplementedError("override make_store in your subclass")

    @pytest.fixture
    def store(self, make_store: Callable[[], Store]) -> Store:
        return make_store()

    @pytest.fixture
    def exclusive_creates(self, store: Store) -> bool:
        return store.exclusive_creates

    @pytest.fixture
    def racers(self) -> int:
        return 8

    @pytest.fixture
    def clock_resolution(self) -> float:
        return 1.0

    # --- documents ----------------------------------------------------------------------

    def test_store_implements_the_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)
        assert isinstance(store.url, str)

    def test_created_document_reads_back(self, store: Store) -> None:
        store.create("a/b.json", b"{}")
        assert store.read("a/b.json") == b"{}"
        assert store.exists("a/b.json")

    def test_second_create_of_a_key_raises_file_exists_and_keeps_the_first(
        self, store: Store
    ) -> None:
        store.create("k", b"first")
        with pytest.raises(FileExistsError):
            store.create("k", b"second")
        assert store.read("k") == b"first"

    def test_racing_creates_of_one_key_have_exactly_one_winner(
        self, store: Store, exclusive_creates: bool, racers: int
    ) -> None:
        if not exclusive_creates:
            pytest.skip("the store does not promise exclusive creates")
        won: list[int] = []
        lost: list[int] = []
        start = threading.Barrier(racers)

        def race(i: int) -> None:
            start.wait()
            try:
                store.create("race/key", str(i).encode())
                won.append(i)
            except FileExistsError:
                lost.append(i)

        threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(won) == 1
        assert len(lost) == racers - 1
        assert store.read("race/key") == str(won[0]).encode()

    def test_replace_overwrites_whole(self, store: Store) -> None:
        store.replace("hint", b"1")
        store.replace("hint", b"22")
        assert store.read("hint") == b"22"

    def test_missing_key_reads_raise_file_not_found(self, store: Store) -> None:
        with pytest.raises(FileNotFoundError):
            store.read("nowhere")
        with pytest.raises(FileNotFoundError):
            store.open_blob("nowhere")
        assert not store.exists("nowhere")

    def test_read_many_leaves_out_missing_keys(self, store: Store) -> None:
        store.create("x/1", b"one")
        assert store.read_many(["x/1", "x/2"]) == {"x/1": b"one"}
        assert store.read_many([]) == {}

    def test_read_many_answers_every_key_of_a_batch_larger_than_any_page(
        self, store: Store
    ) -> None:
        # gc reads a model's manifests with one read_many: a key left out of the answer
        # reads as missing, and the blobs only it references are deleted. 1,500 keys is
        # past the page sizes of object stores' batch calls (1,000 for S3).
        written = {f"many/{i:04d}": str(i).encode() for i in range(2000) if i % 4}
        for key, data in written.items():
            store.create(key, data)
        asked = [f"many/{i:04d}" for i in reversed(range(2000))]  # every fourth is missing
        answer = store.read_many(asked)
        assert len(answer) == len(written), f"{len(answer)} of {len(written)} keys answered"
        assert answer == written

    def test_list_names_direct_children_sorted(self, store: Store) -> None:
        for key in ("f/b.json", "f/a.json", "f/sub/c.json"):
            store.create(key, b"1")
        assert store.list("f") == ["a.json", "b.json", "sub"]
        assert store.list("f/sub") == ["c.json"]
        assert store.list("no/such/folder") == []

    def test_delete_removes_and_a_missing_key_is_not_an_error(self, store: Store) -> None:
        store.create("d", b"1")
        store.delete("d")
        store.delete("d")
        assert not store.exists("d")
        store.create("d", b"2")  # the key is free again
        assert store.read("d") == b"2"

    def test_a_deleted_key_is_no_longer_listed(self, store: Store) -> None:
        for key in ("l/a.json", "l/b.json"):
            store.create(key, b"1")
        assert store.list("l") == ["a.json", "b.json"]
        store.delete("l/a.json")
        assert store.list("l") == ["b.json"]
        store.create("l/a.json", b"2")  # a restore lists it again
        assert store.list("l") == ["a.json", "b.json"]

    def test_size_and_modified_of_a_key(self, store: Store) -> None:
        store.create("s", b"12345")
        assert store.size("s") == 5
        assert store.modified("s") > 0
        with pytest.raises(FileNotFoundError):
            store.modified("missing")

    def test_modified_is_the_time_of_the_last_write(
        self, store: Store, clock_resolution: float
    ) -> None:
        # gc compares modified() with time.time() for its grace period, and for whether
        # another gc is running: a time that is not the write's makes both wrong.
        store.create("t", b"1")
        created = store.modified("t")
        assert abs(created - time.time()) < _DAY, f"modified() gave {created!r}, not now"
        deadline = time.monotonic() + 2 * clock_resolution + 1.0
        rewritten = created
        while rewritten <= created and time.monotonic() < deadline:
            time.sleep(min(0.05, clock_resolution))
            store.replace("t", b"2")
            rewritten = store.modified("t")
        assert rewritten > created, "a rewrite did not move modified() forward"
        assert abs(rewritten - time.time()) < _DAY

    def test_a_key_under_a_document_is_created_or_refused_but_never_called_taken(
        self, store: Store
    ) -> None:
        # A file where a folder belongs: "taken" (FileExistsError) would make writers move
        # on to the next number forever. Creating it, or a StoreError, are both fine.
        store.create("models/m/slots", b"a stray file")
        for key in ("models/m/slots/000000000001.json", "models/m/slots/000000000002.json"):
            try:
                store.create(key, b"{}")
            except FileExistsError:  # pragma: no cover - the failure being tested
                pytest.fail(f"creating {key} under a document raised FileExistsError")
            except StoreError:
                pass

    def test_a_document_over_a_folder_is_created_or_refused_but_never_called_taken(
        self, store: Store
    ) -> None:
        # The other way round: a folder where a document belongs (S3 keeps both, a disk
        # refuses). "Taken" would again send writers to the next number forever.
        store.create("models/m/slots/000000000001.json", b"{}")
        try:
            store.create("models/m/slots", b"a stray file")
        except FileExistsError:  # pragma: no cover - the failure being tested
            pytest.fail("creating a document where a folder is raised FileExistsError")
        except StoreError:
            pass
        assert store.read("models/m/slots/000000000001.json") == b"{}"

    def test_a_folder_is_no_document(self, store: Store) -> None:
        # gc reads the manifests it listed with one read_many: a folder among them is
        # missing, as on S3, not a failure of the whole batch.
        store.create("f/inside", b"1")
        assert not store.exists("f")
        with pytest.raises(FileNotFoundError):
            store.read("f")
        assert store.read_many(["f", "f/inside"]) == {"f/inside": b"1"}
        # Nor a blob: verify reports a folder where a blob was as damage, not a failure.
        for call in (store.open_blob, store.size, store.modified):
            with pytest.raises(FileNotFoundError):
                call("f")

    # --- blobs --------------------------------------------------------------------------

    def test_published_blob_reads_back_whole(self, store: Store) -> None:
        writer = store.blob_writer()
        for part in (b"ab", b"", b"cd" * 1000):
            writer.write(part)
        assert not store.exists("blobs/x")
        assert writer.publish("blobs/x") is True
        with store.open_blob("blobs/x") as f:
            assert f.read() == b"ab" + b"cd" * 1000
        assert store.size("blobs/x") == 2002

    def test_publish_onto_an_existing_key_returns_false_and_keeps_it(self, store: Store) -> None:
        first = store.blob_writer()
        first.write(b"same")
        assert first.publish("blobs/y") is True
        second = store.blob_writer()
        second.write(b"same")
        assert second.publish("blobs/y") is False
        assert store.read("blobs/y") == b"same"

    def test_a_blob_published_over_a_folder_is_never_called_already_stored(
        self, store: Store
    ) -> None:
        # False means "these bytes are stored already": the registry would then commit a
        # version whose artifact is a folder. Storing the blob, or a StoreError, are fine.
        store.create("blobs/f/inside", b"1")
        writer = store.blob_writer()
        writer.write(b"blob")
        try:
            published = writer.publish("blobs/f")
        except StoreError:
            return
        assert published is True, "publish answered 'already stored' where only a folder is"
        with store.open_blob("blobs/f") as f:
            assert f.read() == b"blob"

    def test_discarded_blob_leaves_nothing(self, store: Store) -> None:
        writer = store.blob_writer()
        writer.write(b"never")
        writer.discard()
        writer.discard()
        assert not store.exists("blobs/z")

    # --- optional capabilities ----------------------------------------------------------

    def test_a_local_blob_is_the_file_at_its_path(self, store: Store) -> None:
        if not isinstance(store, LocalBlobs):
            pytest.skip("the store does not declare LocalBlobs")
        writer = store.blob_writer()
        writer.write(b"local")
        writer.publish("blobs/l")
        with open(store.local_path("blobs/l"), "rb") as f:
            assert f.read() == b"local"

    def test_a_writer_that_replaces_blobs_puts_its_bytes_over_the_stored_ones(
        self, store: Store
    ) -> None:
        writer = store.blob_writer()
        if not isinstance(writer, ReplacesBlobs):
            writer.discard()
            pytest.skip("the store's blob writers do not declare ReplacesBlobs")
        store.create("blobs/r", b"damaged bytes")
        writer.write(b"good")
        writer.publish_over("blobs/r")
        assert store.read("blobs/r") == b"good"
        assert store.size("blobs/r") == 4
        fresh = store.blob_writer()
        assert isinstance(fresh, ReplacesBlobs)
        fresh.write(b"new")
        fresh.publish_over("blobs/new")  # nothing there yet: published all the same
        assert store.read("blobs/new") == b"new"

    def test_a_fresh_store_has_no_incomplete_uploads(self, store: Store) -> None:
        if not isinstance(store, AbortsUploads):
            pytest.skip("the store does not declare AbortsUploads")
        assert store.incomplete_uploads(before=0.0) == []

    def test_a_store_that_knows_its_location_finds_it_once_a_key_is_written(
        self, store: Store
    ) -> None:
        if not isinstance(store, KnowsLocation):
            pytest.skip("the store does not declare KnowsLocation")
        store.create("located", b"1")
        assert store.location_exists() is True
