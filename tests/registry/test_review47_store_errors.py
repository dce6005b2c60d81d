"""A user's own store that raises a raw ``OSError``: the registry's callers get a StoreError.

The built-in FsspecStore turns its back end's failures into StoreErrors itself; a store
of another kind (passed to ``Registry(store)`` or returned by a registry plugin) may not,
and then no permission, a dropped connection or a timeout reached ``register``, ``load``,
``versions`` and ``set_alias`` as a bare ``OSError``. "Missing" (FileNotFoundError) and
"taken" (FileExistsError) are answers of the Store protocol and keep their meaning.
"""

from __future__ import annotations

import io
import pickle
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import pytest

import modelship as ms
from modelship.registry import (
    AbortsUploads,
    BlobWriter,
    FsspecStore,
    KnowsLocation,
    LocalBlobs,
    ReplacesBlobs,
    Store,
)
from modelship.testing import HookStore

Fault = Callable[[str, str], BaseException | None]


def _no_fault(operation: str, key: str) -> None:
    return None


class _FaultyStore:
    """A user's own store over a folder: ``fault(operation, key)`` may return an exception
    for the call to raise instead of doing it. Only the Store protocol's methods."""

    def __init__(self, inner: FsspecStore) -> None:
        self.inner = inner
        self.url = inner.url
        self.exclusive_creates = inner.exclusive_creates
        self.fault: Fault = _no_fault

    def _check(self, operation: str, key: str) -> None:
        exc = self.fault(operation, key)
        if exc is not None:
            raise exc

    def read(self, key: str) -> bytes:
        self._check("read", key)
        return self.inner.read(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        keys = list(keys)
        for key in keys:
            self._check("read", key)
        return self.inner.read_many(keys)

    def create(self, key: str, data: bytes) -> None:
        self._check("create", key)
        self.inner.create(key, data)

    def replace(self, key: str, data: bytes) -> None:
        self._check("replace", key)
        self.inner.replace(key, data)

    def exists(self, key: str) -> bool:
        self._check("exists", key)
        return self.inner.exists(key)

    def list(self, prefix: str) -> list[str]:
        self._check("list", prefix)
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self._check("delete", key)
        self.inner.delete(key)

    def blob_writer(self, callback: Any = None) -> BlobWriter:
        self._check("blob_writer", "")
        return _FaultyWriter(self, self.inner.blob_writer(callback))

    def open_blob(self, key: str) -> IO[bytes]:
        self._check("open_blob", key)
        return self.inner.open_blob(key)

    def size(self, key: str) -> int:
        self._check("size", key)
        return self.inner.size(key)

    def modified(self, key: str) -> float:
        self._check("modified", key)
        return self.inner.modified(key)


class _FaultyWriter:
    def __init__(self, store: _FaultyStore, inner: BlobWriter) -> None:
        self.store = store
        self.inner = inner

    def write(self, data: bytes | memoryview) -> int:
        self.store._check("write", "")
        return self.inner.write(data)

    def publish(self, key: str) -> bool:
        self.store._check("publish", key)
        return self.inner.publish(key)

    def discard(self) -> None:
        self.inner.discard()


class _LocalFaultyStore(_FaultyStore):
    """The same store, with the LocalBlobs and KnowsLocation capabilities."""

    def local_path(self, key: str) -> str:
        return str(self.inner.local_path(key))  # type: ignore[attr-defined]

    def location_exists(self) -> bool:
        self._check("location_exists", "")
        return bool(self.inner.location_exists())  # type: ignore[attr-defined]


def _failing(operation: str, part: str, exc: BaseException) -> Fault:
    """A fault raising ``exc`` on ``operation`` of a key containing ``part``."""
    return lambda op, key: exc if op == operation and part in key else None


@pytest.fixture
def store(tmp_path: Path) -> _FaultyStore:
    return _FaultyStore(FsspecStore.from_url(str(tmp_path / "reg")))


@pytest.fixture
def reg(store: _FaultyStore) -> ms.Registry:
    registry = ms.Registry(store)
    registry.register(model_name="m", model=b"weights", serializer="bytes")
    return registry


def _says_what_and_where(err: ms.StoreError, store: Store, words: Iterable[str]) -> None:
    text = str(err)
    for word in (store.url, *words, "retry"):
        assert word in text, (word, text)


def test_register_with_a_store_denying_the_manifest_create_raises_store_error(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    cause = PermissionError(13, "Permission denied", "versions/2.json")
    store.fault = _failing("create", "/versions/", cause)
    with pytest.raises(ms.StoreError) as info:
        reg.register(model_name="m", model=b"other", serializer="bytes")
    _says_what_and_where(info.value, store, ["create of", "PermissionError", "Permission denied"])
    assert info.value.__cause__ is cause


def test_register_with_a_blob_write_failing_raises_store_error_not_serialization_error(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    store.fault = _failing("write", "", OSError(28, "No space left on device"))
    with pytest.raises(ms.StoreError) as info:
        reg.register(model_name="m", model=b"other", serializer="bytes")
    assert not isinstance(info.value, ms.SerializationError)
    _says_what_and_where(info.value, store, ["OSError", "No space left"])


def test_get_and_load_with_a_store_denying_manifest_reads_raise_store_error(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    store.fault = _failing("read", "/versions/1.json", PermissionError(13, "Permission denied"))
    with pytest.raises(ms.StoreError, match="PermissionError"):
        reg.get("m", "1")
    with pytest.raises(ms.StoreError) as info:
        reg.load("m", "1")
    _says_what_and_where(info.value, store, ["read of", "models/m/versions/1.json"])


def test_load_with_a_store_losing_its_connection_at_open_blob_raises_store_error(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    store.fault = _failing("open_blob", "blobs/", ConnectionError("connection reset by peer"))
    with pytest.raises(ms.StoreError) as info:
        reg.load("m", "1")
    _says_what_and_where(info.value, store, ["open_blob of", "ConnectionError", "reset by peer"])
    assert isinstance(info.value.__cause__, ConnectionError)


def test_versions_with_a_store_timing_out_on_list_raises_store_error(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    store.fault = _failing("list", "models/m", TimeoutError("the listing timed out"))
    with pytest.raises(ms.StoreError) as info:
        reg.versions("m")
    _says_what_and_where(info.value, store, ["list of", "TimeoutError", "timed out"])


def test_set_alias_with_a_store_denying_the_alias_write_raises_store_error(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    store.fault = _failing("create", "alias", PermissionError(13, "Permission denied"))
    with pytest.raises(ms.StoreError) as info:
        reg.set_alias("m", "production", "1")
    _says_what_and_where(info.value, store, ["create of", "PermissionError"])


def test_a_store_error_hides_credentials_of_the_url_and_of_a_message_holding_them(
    tmp_path: Path,
) -> None:
    store = _FaultyStore(FsspecStore.from_url(str(tmp_path / "reg")))
    store.url = "https://svc:hunter22@models.example.com/reg"
    reg = ms.Registry(store, single_writer=True)
    store.fault = _failing(
        "list", "", ConnectionError("refused: https://svc:hunter22@models.example.com")
    )
    with pytest.raises(ms.StoreError) as info:
        list(reg.models())
    text = str(info.value)
    assert "hunter22" not in text
    assert "https://***@models.example.com/reg" in text
    assert "ConnectionError" in text
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_file_not_found_from_a_store_still_means_missing(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    with pytest.raises(ms.VersionNotFound):
        reg.get("m", "7")
    with pytest.raises(FileNotFoundError):
        reg.store.read("models/m/versions/7.json")
    # A manifest the store answers "missing" for is a version that is not there.
    store.fault = _failing("read", "/versions/1.json", FileNotFoundError("gone"))
    with pytest.raises(ms.VersionNotFound):
        reg.get("m", "1")


def test_file_exists_from_a_store_still_means_taken(store: _FaultyStore, reg: ms.Registry) -> None:
    with pytest.raises(FileExistsError):
        reg.store.create("models/m/versions/1.json", b"{}")
    assert reg.register(model_name="m", model=b"two", serializer="bytes").version == "2"


def test_an_error_a_store_raises_that_is_no_os_error_is_a_store_error_too(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    # A client library's error (redis' ConnectionError is no OSError) is the store's
    # failure as an OSError is (review 52); the cause stays chained.
    class Crash(Exception):
        pass

    store.fault = _failing("read", "/versions/1.json", Crash("killed"))
    with pytest.raises(ms.StoreError, match="Crash: killed") as info:
        reg.get("m", "1")
    assert isinstance(info.value.__cause__, Crash)


@pytest.mark.parametrize("kind", [_FaultyStore, _LocalFaultyStore])
def test_the_registry_store_keeps_the_capabilities_url_and_attributes_of_the_store_given(
    tmp_path: Path, kind: type[_FaultyStore]
) -> None:
    given = kind(FsspecStore.from_url(str(tmp_path / "reg")))
    seen = ms.Registry(given).store
    for capability in (LocalBlobs, AbortsUploads, KnowsLocation):
        assert isinstance(seen, capability) == isinstance(given, capability), capability
    assert isinstance(seen, Store)
    assert (seen.url, seen.exclusive_creates) == (given.url, given.exclusive_creates)
    assert seen.fault is given.fault  # type: ignore[attr-defined]
    writer = seen.blob_writer()
    assert isinstance(writer, ReplacesBlobs) == isinstance(given.blob_writer(), ReplacesBlobs)
    writer.discard()


def test_the_registry_store_pickles_with_the_capabilities_of_the_store_given(
    tmp_path: Path,
) -> None:
    given = _LocalFaultyStore(FsspecStore.from_url(str(tmp_path / "reg")))
    given.create("k", b"v")
    copy = pickle.loads(pickle.dumps(ms.Registry(given).store))
    assert isinstance(copy, LocalBlobs)
    assert isinstance(copy, KnowsLocation)
    assert copy.read("k") == b"v"
    copy.fault = _failing("read", "k", PermissionError(13, "Permission denied"))
    with pytest.raises(ms.StoreError):
        copy.read("k")


def test_a_capability_of_the_store_raising_os_error_is_a_store_error(tmp_path: Path) -> None:
    given = _LocalFaultyStore(FsspecStore.from_url(str(tmp_path / "reg")))
    given.fault = _failing("location_exists", "", PermissionError(13, "Permission denied"))
    with pytest.raises(ms.StoreError, match="location_exists"):
        list(ms.Registry(given).models())


def test_the_builtin_fsspec_store_is_used_as_it_is(tmp_path: Path) -> None:
    store = FsspecStore.from_url(str(tmp_path / "reg"))
    assert ms.Registry(store).store is store


# --- a read of an open blob failing part way; credentials in a chained group; `inner` ------

SECRET = "hunter22"


class _CutFile(io.RawIOBase):
    """A blob's file whose reads fail as a connection dropped mid-download does."""

    def __init__(self, file: IO[bytes], failure: BaseException) -> None:
        super().__init__()
        self.file = file
        self.failure = failure

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise self.failure

    def close(self) -> None:
        self.file.close()
        super().close()


class _CuttingStore(_FaultyStore):
    """The same store, whose blobs' files raise ``cut`` on read once it is set."""

    cut: BaseException | None = None

    def open_blob(self, key: str) -> IO[bytes]:
        file = super().open_blob(key)
        return file if self.cut is None else io.BufferedReader(_CutFile(file, self.cut))


def _shown_in_traceback(err: BaseException) -> list[str]:
    """The messages of ``err`` and of every exception it chains, as a traceback prints
    them (``__cause__``, else ``__context__`` unless suppressed)."""
    said: list[str] = []
    link: BaseException | None = err
    while link is not None and len(said) < 20:
        said.append(f"{type(link).__name__}: {link}")
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return said


def _cut_registry(tmp_path: Path, url: str, failure: BaseException) -> ms.Registry:
    """A registry of one version over a store at ``url``, whose blob reads then fail."""
    store = _CuttingStore(FsspecStore.from_url(str(tmp_path / "reg")))
    store.url = url
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"weights", serializer="bytes")
    store.cut = failure
    return reg


@pytest.mark.parametrize(
    "action",
    ["register the same bytes again", "load", "verify", "download", "copy_registry"],
)
def test_a_blob_read_failing_part_way_raises_store_error_without_the_credentials(
    tmp_path: Path, action: str
) -> None:
    reg = _cut_registry(
        tmp_path,
        f"https://svc:{SECRET}@models.example.com/reg",
        ConnectionError(f"connection reset reading https://svc:{SECRET}@db.example.com/b"),
    )
    calls: dict[str, Callable[[], object]] = {
        "register the same bytes again": lambda: reg.register(
            model_name="m", model=b"weights", serializer="bytes"
        ),
        "load": lambda: reg.load("m", "1"),
        "verify": lambda: reg.verify("m", "1"),
        "download": lambda: reg.download("m", "1", str(tmp_path / "out.bin")),
        "copy_registry": lambda: ms.copy_registry(
            reg, ms.Registry(FsspecStore.from_url(str(tmp_path / "dst")))
        ),
    }
    with pytest.raises(ms.StoreError) as info:
        calls[action]()
    said = _shown_in_traceback(info.value)
    assert not any(SECRET in text for text in said), said
    assert "https://***@models.example.com/reg" in str(info.value)
    assert "ConnectionError" in str(info.value)
    assert "retry" in str(info.value)


def test_a_blob_read_failing_part_way_without_credentials_chains_its_cause(
    tmp_path: Path,
) -> None:
    cause = ConnectionError("connection reset by peer")
    reg = _cut_registry(tmp_path, str(tmp_path / "reg"), cause)
    with pytest.raises(ms.StoreError) as info:
        reg.load("m", "1")
    _says_what_and_where(info.value, reg.store, ["reading the blob sha256:", "reset by peer"])
    assert info.value.__cause__ is cause


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="ExceptionGroup is built into Python 3.11 and later"
)
def test_credentials_in_a_member_of_a_chained_exception_group_are_not_shown(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    def before(operation: str, key: str) -> BaseException | None:
        group = ExceptionGroup(  # noqa: F821 - Python 3.11's (the test is skipped before)
            "all endpoints failed",
            [
                ConnectionRefusedError(f"connect to https://svc:{SECRET}@db1.example.com refused"),
                TimeoutError("db2 timed out"),
            ],
        )
        try:
            raise group
        except Exception as exc:
            failure = ConnectionError("could not reach the model store")
            failure.__cause__ = exc
            return failure if operation == "list" else None

    store.fault = before
    with pytest.raises(ms.StoreError) as info:
        reg.versions("m")
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert SECRET not in "".join(traceback.format_exception(info.value))
    assert "ConnectionError" in str(info.value)


def test_the_registry_store_forwards_an_attribute_named_inner_to_the_store_given(
    tmp_path: Path,
) -> None:
    first = FsspecStore.from_url(str(tmp_path / "first"))
    given = HookStore(first)
    seen = ms.Registry(given, single_writer=True).store
    assert seen.inner is first  # type: ignore[attr-defined]
    second = FsspecStore.from_url(str(tmp_path / "second"))
    seen.inner = second  # type: ignore[attr-defined]
    assert given.inner is second
    seen.create("k", b"v")  # through the store given, onto the store it now wraps
    assert second.read("k") == b"v"
    assert not first.exists("k")


def test_a_blob_opened_through_the_registry_store_is_sized_by_its_open_file_not_the_store(
    store: _FaultyStore, reg: ms.Registry
) -> None:
    # The wrapper around the open file is seen through: a local file is sized by its
    # descriptor, with no request to the store.
    store.fault = _failing("size", "", PermissionError(13, "Permission denied"))
    assert reg.load("m", "1") == b"weights"
