"""Every built-in back end, and a store double with no back door, passes both suites."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.registry import FsspecStore, Store
from modelship.testing import (
    CaseFoldingStore,
    HookStore,
    MemoryStore,
    RegistryConformance,
    StoreConformance,
)

_counter = itertools.count()


def _factory(url_of: Callable[[int], str], **options: Any) -> Callable[..., ms.Registry]:
    state = {"n": next(_counter)}

    def make(same: bool = False, **kwargs: Any) -> ms.Registry:
        if not same:
            state["n"] = next(_counter)
        return ms.open_registry(url_of(state["n"]), **options, **kwargs)

    return make


class TestLocalRegistry(RegistryConformance):
    @pytest.fixture
    def make_registry(self, tmp_path: Path) -> Callable[..., ms.Registry]:
        return _factory(lambda n: str(tmp_path / f"reg{n}"))


class TestFileUrlRegistry(RegistryConformance):
    @pytest.fixture
    def make_registry(self, tmp_path: Path) -> Callable[..., ms.Registry]:
        return _factory(lambda n: f"file://{tmp_path}/reg{n}")


class TestMemoryRegistry(RegistryConformance):
    @pytest.fixture
    def make_registry(self) -> Callable[..., ms.Registry]:
        tag = uuid.uuid4().hex
        return _factory(lambda n: f"memory://conformance-{tag}/{n}")


@pytest.mark.s3
class TestS3Registry(RegistryConformance):
    @pytest.fixture
    def make_registry(self, s3_bucket: dict[str, Any]) -> Callable[..., ms.Registry]:
        return _factory(lambda n: f"{s3_bucket['url']}{n}", **s3_bucket["options"])


class TestMemoryStoreDoubleRegistry(RegistryConformance):
    """The suite on a store written only against the public protocol: no back door."""

    @pytest.fixture
    def make_registry(self) -> Callable[..., ms.Registry]:
        stores: list[MemoryStore] = []

        def make(same: bool = False, **kwargs: Any) -> ms.Registry:
            if not same or not stores:
                stores.append(MemoryStore(f"test-memory://{len(stores)}"))
            return ms.Registry(stores[-1], **kwargs)

        return make


class TestCaseFoldingStoreRegistry(RegistryConformance):
    """The suite on a case-insensitive store: no two keys of the layout collide."""

    @pytest.fixture
    def make_registry(self) -> Callable[..., ms.Registry]:
        stores: list[CaseFoldingStore] = []

        def make(same: bool = False, **kwargs: Any) -> ms.Registry:
            if not same or not stores:
                stores.append(CaseFoldingStore(f"test-casefold://{len(stores)}"))
            return ms.Registry(stores[-1], **kwargs)

        return make


class TestLocalStore(StoreConformance):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], Store]:
        return lambda: FsspecStore.from_url(str(tmp_path / f"store{next(_counter)}"))


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        tag = uuid.uuid4().hex
        return lambda: FsspecStore.from_url(f"memory://store-{tag}/{next(_counter)}")


class TestMemoryStoreDouble(StoreConformance):
    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        return MemoryStore

    @pytest.fixture
    def reopen(self) -> Callable[[Store], Store]:
        # A second handle on the dict (a MemoryStore's pickle is a copy of it).
        return HookStore


class TestHookStoreOverLocal(StoreConformance):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], Store]:
        return lambda: HookStore(FsspecStore.from_url(str(tmp_path / f"hook{next(_counter)}")))

    @pytest.fixture
    def reopen(self) -> Callable[[Store], Store]:
        return lambda store: HookStore(FsspecStore.from_url(store.url))


@pytest.mark.s3
class TestS3Store(StoreConformance):
    @pytest.fixture
    def make_store(self, s3_bucket: dict[str, Any]) -> Callable[[], Store]:
        options = s3_bucket["options"]
        return lambda: FsspecStore.from_url(f"{s3_bucket['url']}{next(_counter)}", **options)

    @pytest.fixture
    def begin_upload(self, store: Store, s3_bucket: dict[str, Any]) -> Callable[[str], None]:
        """A multipart upload of ``key`` under the store's root, begun and left open."""
        assert isinstance(store, FsspecStore)
        bucket, _, prefix = store.root.partition("/")

        def begin(key: str) -> None:
            s3_bucket["client"].create_multipart_upload(Bucket=bucket, Key=f"{prefix}/{key}")

        return begin
