"""The registry itself refuses an over-long document, whatever store handed it over.

``FsspecStore`` reads a document with a limit, but a custom store (or ``MemoryStore``)
hands back whatever it holds. Each document below is valid JSON padded with whitespace
past :data:`~modelship.registry._integrity.MAX_DOCUMENT`: it would parse, so only the
registry's own limit can refuse it, before parsing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

import modelship as ms
from modelship.registry import FsspecStore
from modelship.registry._hints import read_hint
from modelship.registry._integrity import MAX_DOCUMENT, parse_json
from modelship.registry._layout import (
    alias_key,
    head_key,
    manifest_key,
    name_claim_key,
    slot_key,
)
from modelship.registry._protocols import Store
from modelship.testing import HookStore, MemoryStore


def _padded(data: bytes) -> bytes:
    """``data`` followed by whitespace: still the same JSON, one byte over the limit."""
    return data + b" " * (MAX_DOCUMENT + 1 - len(data))


@pytest.fixture(params=["memory-store", "hook-store"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory-store":
        return MemoryStore()
    return HookStore(MemoryStore(), before=lambda operation, key: None)


def _inflate(store: Store, key: str) -> None:
    store.replace(key, _padded(store.read(key)))


def test_parse_json_refuses_a_document_over_the_limit_before_parsing() -> None:
    with pytest.raises(ms.IntegrityError, match="more than"):
        parse_json(_padded(b'{"n": 1}'), "hint x")


def test_parse_json_accepts_a_document_at_the_limit() -> None:
    data = b'{"n": 1}'
    assert parse_json(data + b" " * (MAX_DOCUMENT - len(data)), "hint x") == {"n": 1}


def test_an_over_long_manifest_is_refused(store: Store) -> None:
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    _inflate(store, manifest_key("m", "1"))
    with pytest.raises(ms.IntegrityError, match="more than"):
        reg.get("m", "1")


def test_an_over_long_manifest_is_refused_when_listing_versions(store: Store) -> None:
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    _inflate(store, manifest_key("m", "1"))
    with pytest.raises(ms.IntegrityError, match="more than"):
        reg.versions("m")


def test_an_over_long_sequence_slot_is_refused(store: Store) -> None:
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    _inflate(store, slot_key("m", 1))
    with pytest.raises(ms.IntegrityError, match="more than"):
        reg.get("m", "latest")


def test_an_over_long_alias_log_entry_is_refused(store: Store) -> None:
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    reg.set_alias("m", "production", "1")
    _inflate(store, alias_key("m", 1))
    with pytest.raises(ms.IntegrityError, match="more than"):
        reg.get("m", "@production")


def test_an_over_long_name_claim_is_refused(store: Store) -> None:
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    _inflate(store, name_claim_key("m"))
    with pytest.raises(ms.IntegrityError, match="more than"):
        reg.register(model_name="m", model=b"y", serializer="bytes", lineage={})


def test_an_over_long_hint_is_ignored_like_any_unreadable_hint(store: Store) -> None:
    store.replace(head_key("m"), _padded(b'{"n": 3}'))
    assert read_hint(store, head_key("m")) == 0


def test_an_over_long_snapshot_is_ignored_with_a_warning(store: Store) -> None:
    reg = ms.Registry(store)
    reg._SNAPSHOT_AFTER = 2  # a snapshot after reading two manifests one by one
    for i in range(3):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes", lineage={})
    reg.versions("m")
    snapshots = [k for k in store.list("models/m/index") if k.endswith(".json")]
    assert snapshots, "the listing above writes a snapshot"
    _inflate(store, f"models/m/index/{snapshots[-1]}")
    with pytest.warns(UserWarning, match="more than"):
        listed = reg.versions("m")
    assert [mv.version for mv in listed] == ["1", "2", "3"]


@pytest.mark.parametrize(
    "read",
    [lambda reg: reg.get("m", "1"), lambda reg: reg.get("m"), lambda reg: reg.versions("m")],
    ids=["get", "latest", "versions"],
)
def test_a_document_under_the_limit_still_reads(
    store: Store, read: Callable[[ms.Registry], object]
) -> None:
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    key = manifest_key("m", "1")
    store.replace(key, store.read(key) + b" " * 1000)
    assert read(reg)


# --- read_many through fsspec: a failed read is not a missing key -------------------------


def _flaky_store() -> FsspecStore:
    """An fsspec store (not local, not memory: read_many goes through ``fs.cat``) whose
    read of any key ending in ``broken`` times out."""
    from fsspec.implementations.memory import MemoryFileSystem

    class Flaky(MemoryFileSystem):
        protocol = "flaky-test"

        def cat_file(self, path: str, start: Any = None, end: Any = None, **kwargs: Any) -> Any:
            if path.endswith("broken"):
                raise TimeoutError("read timed out")
            return super().cat_file(path, start, end, **kwargs)

    fs = Flaky(skip_instance_cache=True)
    root = f"/io-read-many-{uuid.uuid4().hex}"
    for key in ("a", "broken"):
        fs.pipe_file(f"{root}/{key}", b"{}")
    return FsspecStore(fs, root, url=f"flaky-test://{root}")


def test_read_many_leaves_out_only_missing_keys() -> None:
    store = _flaky_store()
    assert store.read_many(["a", "missing"]) == {"a": b"{}"}


def test_read_many_raises_a_store_error_for_a_read_that_failed() -> None:
    store = _flaky_store()
    with pytest.raises(ms.StoreError, match="timed out"):
        store.read_many(["a", "broken", "missing"])
