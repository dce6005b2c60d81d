"""The storage doubles behave like the stores they stand for (a review of modelship.testing).

Each test pins one answer on which a double and the real store used to differ. Races are
made exact with a barrier in front of the double's own create, never with sleeps.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelship.errors import StoreError
from modelship.registry import (
    FsspecStore,
    KnowsLocation,
    LocalBlobs,
    ReplacesBlobs,
    Store,
)
from modelship.testing import CaseFoldingStore, HookStore, MemoryStore, StoreConformance

# --- the doubles pass the conformance suite, as the built-in stores do ------------------------


class TestCaseFoldingStoreDouble(StoreConformance):
    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        return CaseFoldingStore

    @pytest.fixture
    def reopen(self) -> Callable[[Store], Store]:
        return HookStore  # a second handle on its dict (its pickle is a copy)


class TestHookStoreOverMemoryStore(StoreConformance):
    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        return lambda: HookStore(MemoryStore(), before=lambda operation, key: None)

    @pytest.fixture
    def reopen(self) -> Callable[[Store], Store]:
        return lambda store: HookStore(store.inner)  # type: ignore[attr-defined]


# --- CaseFoldingStore: one create, one check -----------------------------------------------


def _racing(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """Make two threads meet in front of ``MemoryStore.<method>`` before either goes on."""
    meet = threading.Barrier(2, timeout=10)
    real = getattr(MemoryStore, method)

    def met(self: MemoryStore, *args: Any, **kwargs: Any) -> Any:
        meet.wait()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(MemoryStore, method, met)


def _both(calls: list[Callable[[], None]]) -> list[str]:
    """Run each call in its own thread; what each did ("done" or its error's name)."""
    outcome = ["" for _ in calls]

    def run(i: int) -> None:
        try:
            calls[i]()
            outcome[i] = "done"
        except Exception as exc:
            outcome[i] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcome


def test_two_threads_creating_case_twins_leave_exactly_one_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = CaseFoldingStore()
    _racing(monkeypatch, "create")
    outcome = _both(
        [lambda: store.create("models/Fraud", b"1"), lambda: store.create("models/fraud", b"2")]
    )
    assert sorted(outcome) == ["FileExistsError", "done"]
    store.delete("models/FRAUD")
    assert store.list("models") == []


def test_two_threads_replacing_case_twins_leave_exactly_one_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = CaseFoldingStore()
    _racing(monkeypatch, "replace")
    outcome = _both(
        [lambda: store.replace("hints/Head", b"1"), lambda: store.replace("hints/HEAD", b"2")]
    )
    assert outcome == ["done", "done"]
    assert store.read("hints/head") in (b"1", b"2")
    store.delete("hints/head")
    assert store.list("hints") == []


def test_case_folding_lists_names_whose_letters_fold_to_more_letters() -> None:
    store = CaseFoldingStore()
    for key in ("models/Straße/v1.json", "models/Straße/v2.json", "ﬁsh/abc/x", "İx/a"):
        store.create(key, b"1")
    assert store.list("models/Straße") == ["v1.json", "v2.json"]
    assert store.list("models/STRAßE") == ["v1.json", "v2.json"]
    assert store.list("ﬁsh") == ["abc"]
    assert store.list("İx") == ["a"]


def test_case_folding_keeps_sharp_s_and_double_s_apart_as_ntfs_does() -> None:
    store = CaseFoldingStore()
    store.create("models/straße", b"1")
    store.create("models/STRASSE", b"2")  # another name on a case-insensitive disk
    assert store.read("models/STRAßE") == b"1"
    assert store.read("models/strasse") == b"2"
    assert store.list("models") == ["STRASSE", "straße"]


# --- HookStore: every call is hooked, and nothing is lost in the wrapping -------------------


def test_a_blob_publish_runs_both_hooks_with_its_key() -> None:
    seen: list[tuple[str, str]] = []
    store = HookStore(
        MemoryStore(),
        before=lambda operation, key: seen.append((operation, key)),
        before_create=lambda key: seen.append(("before_create", key)),
    )
    writer = store.blob_writer()
    writer.write(b"abc")
    assert writer.publish("blobs/abc") is True
    assert seen == [("blob_writer", ""), ("publish", "blobs/abc"), ("before_create", "blobs/abc")]


def test_a_rival_run_from_before_create_publishes_the_blob_first() -> None:
    inner = MemoryStore()

    def rival(key: str) -> None:
        inner.create(key, b"rival")

    writer = HookStore(inner, before_create=rival).blob_writer()
    writer.write(b"mine")
    assert writer.publish("blobs/x") is False
    assert inner.read("blobs/x") == b"rival"


def test_a_hooked_local_store_hooks_its_capabilities_and_replacing_writers(
    tmp_path: Path,
) -> None:
    seen: list[tuple[str, str]] = []
    store = HookStore(
        FsspecStore.from_url(str(tmp_path)),
        before=lambda operation, key: seen.append((operation, key)),
    )
    assert isinstance(store, LocalBlobs)
    store.local_path("blobs/k")
    writer = store.blob_writer()
    assert isinstance(writer, ReplacesBlobs)
    writer.write(b"good")
    writer.publish_over("blobs/k")
    assert store.read("blobs/k") == b"good"
    assert ("local_path", "blobs/k") in seen
    assert ("publish_over", "blobs/k") in seen


def test_a_hooked_memory_store_hands_out_writers_that_do_not_replace_blobs() -> None:
    writer = HookStore(MemoryStore()).blob_writer()
    assert not isinstance(writer, ReplacesBlobs)
    writer.discard()


def test_a_subclass_of_hookstore_keeps_the_capabilities_and_its_own_methods(
    tmp_path: Path,
) -> None:
    class Counting(HookStore):
        reads = 0

        def read(self, key: str) -> bytes:
            self.reads += 1
            return super().read(key)

    local = FsspecStore.from_url(str(tmp_path))
    store = Counting(local)
    assert isinstance(store, Counting)
    assert isinstance(store, LocalBlobs)
    assert isinstance(store, KnowsLocation)
    store.create("k", b"1")
    assert store.read("k") == b"1"
    assert store.reads == 1
    assert not isinstance(Counting(MemoryStore()), LocalBlobs)


# --- MemoryStore stands for an object store ------------------------------------------------


def test_memory_store_keeps_a_document_and_a_folder_of_one_name_as_s3_does() -> None:
    store = MemoryStore()
    store.create("a", b"1")
    store.create("a/b", b"2")
    assert (store.read("a"), store.list(""), store.list("a")) == (b"1", ["a"], ["b"])


def test_memory_store_lists_no_empty_names_as_an_object_store() -> None:
    store = MemoryStore()
    store.create("a//b", b"1")
    store.create("/c", b"1")
    assert store.list("a") == []
    assert store.list("") == ["a"]


# --- misuse raises StoreError on the doubles and the built-in stores alike ------------------


@pytest.fixture(params=["memory-double", "case-folding-double", "local", "memory-url"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    stores: dict[str, Callable[[], Store]] = {
        "memory-double": MemoryStore,
        "case-folding-double": CaseFoldingStore,
        "local": lambda: FsspecStore.from_url(str(tmp_path / "store")),
        "memory-url": lambda: FsspecStore.from_url(f"memory://review-{uuid.uuid4().hex}"),
    }
    return stores[request.param]()


def test_a_published_blob_writer_refuses_more_with_store_error(any_store: Store) -> None:
    writer = any_store.blob_writer()
    writer.write(b"abc")
    assert writer.publish("blobs/k") is True
    with pytest.raises(StoreError, match="closed"):
        writer.write(b"more")
    with pytest.raises(StoreError, match="closed"):
        writer.publish("blobs/k2")
    assert not any_store.exists("blobs/k2")


def test_a_discarded_blob_writer_refuses_to_publish_with_store_error(any_store: Store) -> None:
    writer = any_store.blob_writer()
    writer.write(b"abc")
    writer.discard()
    with pytest.raises(StoreError, match="closed"):
        writer.publish("blobs/k")
    with pytest.raises(StoreError, match="closed"):
        writer.write(b"more")
    assert not any_store.exists("blobs/k")


def test_text_instead_of_bytes_is_a_store_error(any_store: Store) -> None:
    with pytest.raises(StoreError):
        any_store.create("a", "text")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        any_store.replace("b", "text")  # type: ignore[arg-type]
    writer = any_store.blob_writer()
    with pytest.raises(StoreError):
        writer.write("text")  # type: ignore[arg-type]
    writer.discard()
    assert not any_store.exists("a")


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "a/.."])
def test_a_key_with_a_parent_segment_is_refused_not_written_outside_the_root(
    tmp_path: Path, key: str
) -> None:
    # The local store joined it onto its root: ../escape was written beside the root.
    store = FsspecStore.from_url(str(tmp_path / "root"))
    with pytest.raises(StoreError, match=r"'\.\.' segment"):
        store.create(key, b"x")
    with pytest.raises(StoreError, match=r"'\.\.' segment"):
        store.read(key)
    assert not (tmp_path / "escape").exists()


def test_gc_collects_nothing_when_a_listed_manifest_is_a_folder(tmp_path: Path) -> None:
    # Read as missing, the manifest's version passed for one that never committed: gc
    # deleted its slot and artifact, and restoring the manifest from a backup found
    # the artifact gone.
    import shutil

    import modelship as ms
    from modelship.errors import IntegrityError

    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="n", model={"w": 1})
    reg.register(model_name="n", model={"w": 2})
    manifest = tmp_path / "reg" / "models" / "n" / "versions" / "2.json"
    kept = manifest.read_bytes()
    manifest.unlink()
    (manifest / "inside").mkdir(parents=True)
    with pytest.raises(IntegrityError, match="listed but cannot be read"):
        reg.gc(grace_seconds=0)
    shutil.rmtree(manifest)
    manifest.write_bytes(kept)
    assert reg.load("n", "2") == {"w": 2}


def test_a_stray_object_named_dot_dot_does_not_stop_gc() -> None:
    # Listed as a child name, it made gc build keys such as models/../slots, which the
    # store refuses: gc raised StoreError every time.
    import uuid as _uuid

    import fsspec

    import modelship as ms

    url = f"memory://dotdot-{_uuid.uuid4().hex}"
    reg = ms.open_registry(url)
    reg.register(model_name="m", model={"w": 1})
    fsspec.filesystem("memory").pipe_file(url.removeprefix("memory://") + "/models/../x", b"j")
    assert reg.gc(grace_seconds=0).dead_slots == ()
