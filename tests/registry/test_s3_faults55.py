"""Fix 55a: gc under a listing that lags, a gc mark whose delete fails, and S3 errors
that say what failed and what to do.

A lagging listing is a memory store that leaves chosen keys out of ``list`` (as an
eventually consistent LIST, or a caching proxy, does); the S3 cases run against moto's S3
server through the fault proxy (``_s3_faults``), as S3 answers.
"""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _s3_faults import FaultProxy, always
from fsspec.implementations.memory import MemoryFileSystem

import modelship as ms
from modelship.errors import IntegrityError, StoreError
from modelship.registry import FsspecStore, _gc
from modelship.registry._gc import referenced_digests
from modelship.registry._layout import blob_key
from modelship.testing import MemoryStore

_MANIFEST = "models/m/versions/1.json"


class LaggingStore(MemoryStore):
    """A memory store whose listings leave out the keys in ``hidden``."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: set[str] = set()

    def list(self, prefix: str) -> builtins.list[str]:
        base = prefix.rstrip("/") + "/" if prefix else ""
        return [n for n in super().list(prefix) if f"{base}{n}" not in self.hidden]


class FailingMarkDeletes(MemoryStore):
    """A memory store whose deletes under ``.gc/`` fail ``fails`` times (a 503, a reset)."""

    def __init__(self, fails: int) -> None:
        super().__init__()
        self.fails = fails
        self.tries = 0

    def delete(self, key: str) -> None:
        if key.startswith(".gc/"):
            self.tries += 1
            if self.tries <= self.fails:
                raise StoreError(f"deleting {key} failed on memory://: OSError: SlowDown")
        super().delete(key)


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    # raising=False: the code before this fix has no such delays (and must fail here).
    monkeypatch.setattr(_gc, "_MARK_RETRY_DELAYS", (0.0, 0.0, 0.0), raising=False)


def _registered(store: MemoryStore, data: bytes = b"precious") -> ms.Registry:
    reg = ms.Registry(store)
    reg.register(model_name="m", model=data, serializer="bytes")
    time.sleep(0.02)  # older than gc's cutoff at grace_seconds=0
    return reg


# --- 1. a listing that lags leaves a committed manifest out ---------------------------


def test_gc_keeps_a_committed_version_whose_manifest_a_lagging_listing_leaves_out() -> None:
    store = LaggingStore()
    reg = _registered(store)
    store.hidden.add(_MANIFEST)

    report = reg.gc(grace_seconds=0)

    assert report.dead_slots == ()
    assert report.blobs == ()
    store.hidden.clear()
    assert [v.version for v in reg.versions("m")] == ["1"]
    assert reg.load("m", "1") == b"precious"
    assert reg.verify("m", "1") is not None


def test_gc_collects_what_is_unused_once_the_listing_shows_the_manifest() -> None:
    store = LaggingStore()
    reg = _registered(store)
    store.create(blob_key("sha256:" + "ab" * 32), b"an orphan")
    time.sleep(0.02)
    store.hidden.add(_MANIFEST)
    assert reg.gc(grace_seconds=0).blobs == ()  # the lag keeps every blob
    store.hidden.clear()
    assert reg.gc(grace_seconds=0).blobs == (blob_key("sha256:" + "ab" * 32),)
    assert reg.load("m", "1") == b"precious"


def test_referenced_digests_reads_a_manifest_the_listing_left_out() -> None:
    store = LaggingStore()
    reg = _registered(store)
    digest = reg.get("m", "1").artifact.digest
    store.hidden.add(_MANIFEST)
    assert digest in referenced_digests(store, purged_before=None)
    # Still left out when it is the one being purged.
    assert digest not in referenced_digests(store, purged_before=None, leaving_out=_MANIFEST)


# --- 2. gc's own mark, whose delete fails ----------------------------------------------


def test_gc_tries_again_to_delete_its_mark() -> None:
    store = FailingMarkDeletes(fails=2)
    reg = _registered(store)
    reg.gc()
    assert store.list(".gc") == []
    assert reg.register(model_name="m", model=b"next", serializer="bytes").version == "2"


def test_a_mark_gc_cannot_delete_is_named_with_what_to_do_and_the_report_kept() -> None:
    store = FailingMarkDeletes(fails=100)
    reg = _registered(store)
    store.create(blob_key("sha256:" + "cd" * 32), b"an orphan")
    time.sleep(0.02)
    with pytest.raises(StoreError) as failed:
        reg.gc(grace_seconds=0)
    (mark,) = store.list(".gc")
    message = str(failed.value)
    assert f".gc/{mark}" in message
    assert "refused" in message
    assert f"store.delete('.gc/{mark}')" in message
    assert failed.value.key == f".gc/{mark}"  # type: ignore[attr-defined]
    report = failed.value.report  # type: ignore[attr-defined]
    assert report.blobs == (blob_key("sha256:" + "cd" * 32),)
    assert store.tries == 4  # bounded


def test_a_gc_that_failed_and_left_its_mark_chains_its_own_error() -> None:
    store = FailingMarkDeletes(fails=100)
    reg = _registered(store)
    store.create("models/m/versions/2.json/x", b"a folder where a manifest is")
    with pytest.raises(StoreError) as failed:
        reg.gc()
    assert isinstance(failed.value.__cause__, IntegrityError)
    assert failed.value.report is None  # type: ignore[attr-defined]
    assert "gc itself failed" in str(failed.value)


# --- 3. against S3 ---------------------------------------------------------------------


@pytest.fixture
def proxy(s3_server: dict[str, Any]) -> Iterator[FaultProxy]:
    started = FaultProxy(s3_server["endpoint"])
    yield started
    started.stop()


@pytest.mark.s3
def test_a_gc_mark_delete_answered_503_raises_with_the_report(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    reg = ms.open_registry(s3_bucket["url"], **proxy.options())
    reg.register(model_name="m", model=b"a", serializer="bytes")
    proxy.rules.append(always(lambda m, p, h: m == "DELETE" and "/.gc/" in p, "status:503"))
    with pytest.raises(StoreError, match=r"refused.*store\.delete") as failed:
        reg.gc()
    assert failed.value.report.removed == 0  # type: ignore[attr-defined]
    assert "SlowDown" in str(failed.value)
    proxy.rules.clear()
    reg.store.delete(failed.value.key)  # type: ignore[attr-defined]
    assert reg.register(model_name="m", model=b"b", serializer="bytes").version == "2"


@pytest.mark.s3
@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_a_503_names_s3s_code_and_status_and_says_it_is_transient(
    proxy: FaultProxy, s3_bucket: dict[str, Any], method: str
) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **proxy.options())
    if method == "GET":
        store.create("doc", b"there")
    proxy.rules.append(always(lambda m, p, h: m == method and "/doc" in p, "status:503"))
    with pytest.raises(StoreError) as failed:
        store.create("doc", b"mine") if method == "PUT" else store.read("doc")
    message = str(failed.value)
    assert "S3 error SlowDown, HTTP 503" in message
    assert "transient: retry later" in message
    assert 'config_kwargs={"retries"' in message


# --- mend 55-3: an interrupted gc, a mark whose create failed, advice for other stores --


class FailingMarkCreates(FailingMarkDeletes):
    """:class:`FailingMarkDeletes` whose create of a mark also fails (an outage), after
    storing it when ``lands`` (a reply lost) or before."""

    def __init__(self, fails: int, *, lands: bool) -> None:
        super().__init__(fails)
        self.lands = lands

    def create(self, key: str, data: bytes, **options: Any) -> None:
        if key.startswith(".gc/"):
            if self.lands:
                super().create(key, data, **options)
            raise StoreError(f"creating {key} failed on memory://: OSError: 503")
        super().create(key, data, **options)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_an_interrupted_gc_whose_mark_stays_raises_the_interrupt_with_a_note(
    monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException]
) -> None:
    store = FailingMarkDeletes(fails=100)
    reg = _registered(store)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise interrupt

    monkeypatch.setattr(_gc, "_collect", interrupted)
    with pytest.raises(interrupt) as caught:  # never an Exception that swallows Ctrl-C
        reg.gc()
    (mark,) = store.list(".gc")
    (note,) = caught.value.__notes__  # type: ignore[attr-defined]
    assert f"store.delete('.gc/{mark}')" in note
    assert "refused" in note
    assert store.tries == 1  # one try, no waiting


def test_an_interrupted_gc_exits_130_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelship import cli

    url = "memory://mend55c-gc-cli"
    ms.open_registry(url).register(model_name="m", model=b"a", serializer="bytes")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    def refused(self: FsspecStore, key: str) -> None:
        raise StoreError(f"deleting {key} failed (simulated 503)")

    monkeypatch.setattr(_gc, "_collect", interrupted)
    monkeypatch.setattr(FsspecStore, "delete", refused)
    assert cli.main(["registry", "gc", url]) == 130


@pytest.mark.parametrize("lands", [False, True])
def test_a_mark_whose_create_failed_and_delete_too_says_it_may_exist(lands: bool) -> None:
    # An outage: the create fails (having landed or not), and so does the delete.
    store = FailingMarkCreates(fails=100, lands=lands)
    reg = _registered(store)
    with pytest.raises(StoreError) as caught:
        reg.gc()
    assert type(caught.value) is StoreError  # the create's own error, not GcMarkLeft
    assert str(caught.value).startswith("creating .gc/")
    (note,) = caught.value.__notes__  # type: ignore[attr-defined]
    named = re.search(r"\.gc/[0-9a-f]{32}\.json", note)
    assert named is not None
    assert store.list(".gc") == ([named.group().removeprefix(".gc/")] if lands else [])
    assert "may exist" in note
    assert store.tries == 1  # one try, not the retries with waits of GcMarkLeft


class _SlowGcs(MemoryFileSystem):
    """A Google Cloud Storage-like file system (``gs://``) whose reads time out."""

    protocol = ("gcs", "gs")

    def cat_file(self, *args: object, **kwargs: object) -> bytes:
        raise TimeoutError("read timed out")


def test_a_timeout_on_another_object_store_gets_no_s3_advice() -> None:
    store = FsspecStore(_SlowGcs(), "/bucket/mend55c", url="gs://bucket/mend55c")
    with pytest.raises(StoreError) as caught:
        store.read("registry.json")
    message = str(caught.value)
    assert message.endswith("TimeoutError: read timed out (transient: retry later)")
    assert "config_kwargs" not in message
    assert "AWS" not in message
    assert "S3" not in message
