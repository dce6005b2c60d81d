"""Review 43, S3: writers with no delete right, gc marks a failed gc left, and creates
that S3 carried out though every try of them failed.

Against moto's S3 server through the fault proxy (``_s3_faults``), as S3 answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import _s3_faults
import pytest
from _s3_faults import FaultProxy, always, once

import modelship as ms
from modelship.errors import Conflict, StoreError
from modelship.registry import FsspecStore
from modelship.testing import MemoryStore

pytestmark = pytest.mark.s3


@pytest.fixture
def proxy(s3_server: dict[str, Any]) -> Iterator[FaultProxy]:
    started = FaultProxy(s3_server["endpoint"])
    yield started
    started.stop()


def _direct(bucket: dict[str, Any]) -> ms.Registry:
    return ms.open_registry(bucket["url"], **bucket["options"])


def _keys(bucket: dict[str, Any], under: str) -> list[str]:
    prefix = f"registry/{under}"
    listed = bucket["client"].list_objects_v2(Bucket=bucket["bucket"], Prefix=prefix)
    return [o["Key"][len("registry/") :] for o in listed.get("Contents", [])]


def _no_delete_right(method: str, path: str, headers: Any) -> bool:
    """Every delete, one key or many (POST ?delete), as S3 refuses a role denied it."""
    return method == "DELETE" or (method == "POST" and "delete" in path)


# --- 1. a writer given no delete right ------------------------------------------------


def test_a_writer_without_delete_right_registers_moves_aliases_and_copies(
    proxy: FaultProxy, s3_bucket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(_s3_faults._CODES, 403, b"AccessDenied")
    admin = _direct(s3_bucket)
    admin.register(model_name="m", model=b"one", serializer="bytes")
    proxy.rules.append(always(_no_delete_right, "status:403"))
    writer = ms.open_registry(s3_bucket["url"], **proxy.options())

    assert writer.register(model_name="m", model=b"two", serializer="bytes").version == "2"
    writer.set_alias("m", "prod", "2")
    source = ms.open_registry(f"s3://{s3_bucket['bucket']}/elsewhere", **s3_bucket["options"])
    source.register(model_name="k", model=b"k1", serializer="bytes")
    source.set_alias("k", "prod", "1")
    ms.copy_registry(source, writer)

    assert any(a for m, _, a in proxy.log if m == "DELETE")  # deletes were refused
    seen = _direct(s3_bucket)
    assert seen.aliases("m") == {"prod": "2"}
    assert [v.version for v in seen.versions("k")] == ["1"]
    assert seen.aliases("k") == {"prod": "1"}  # the alias logs were copied too
    # What the writer could not delete (its probe, the copy mark) is gc's to remove.
    left = _keys(s3_bucket, ".probe/") + [k for k in _keys(s3_bucket, ".staging/") if "copy-" in k]
    assert any(k.startswith(".probe/") for k in left)
    assert any("copy-" in k for k in left)
    report = admin.gc(grace_seconds=0)
    assert set(left) <= set(report.staging)
    assert _keys(s3_bucket, ".probe/") == []
    assert [k for k in _keys(s3_bucket, ".staging/") if "copy-" in k] == []


# --- 2. the mark of a gc that failed -------------------------------------------------


@pytest.mark.parametrize("read_back", ["answered", "failing"])
def test_a_gc_whose_mark_create_landed_but_failed_leaves_no_mark(
    proxy: FaultProxy, s3_bucket: dict[str, Any], read_back: str
) -> None:
    reg = ms.open_registry(s3_bucket["url"], **proxy.options())
    reg.register(model_name="m", model=b"one", serializer="bytes")
    put = lambda method, path, headers: method == "PUT" and "/.gc/" in path  # noqa: E731
    read = lambda method, path, headers: method in ("GET", "HEAD") and "/.gc/" in path  # noqa: E731
    proxy.rules += [once(put, "500-after"), always(put, "status:503")]
    if read_back == "answered":  # the mark is found to be there: gc goes on
        reg.gc()
    else:  # it cannot be: gc fails, and removes the mark it may have made
        proxy.rules.append(always(read, "status:503"))
        with pytest.raises(StoreError, match="outcome is unknown"):
            reg.gc()
    proxy.rules.clear()
    assert _keys(s3_bucket, ".gc/") == []
    assert reg.register(model_name="m", model=b"two", serializer="bytes").version == "2"


def test_a_registration_refused_for_a_gc_mark_names_it_and_says_what_to_do() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    store.create(".gc/left-by-a-killed-gc.json", b'{"at": "2026-01-01T00:00:00+00:00"}')
    with pytest.raises(Conflict) as refused:
        reg.register(model_name="m", model=b"two", serializer="bytes")
    message = str(refused.value)
    assert ".gc/left-by-a-killed-gc.json" in message
    assert "ago" in message
    assert "If no gc is running" in message
    assert "delete .gc/left-by-a-killed-gc.json" in message
    assert "24 h" in message


# --- 3. a create that landed, its reply lost, its retries failed ----------------------


def _manifest_create(method: str, path: str, headers: Any) -> bool:
    return method == "PUT" and "/versions/" in path and headers.get("If-None-Match") == "*"


def test_a_manifest_create_that_landed_then_was_throttled_commits_once(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    reg = ms.open_registry(s3_bucket["url"], **proxy.options())
    reg.register(model_name="m", model=b"one", serializer="bytes")
    proxy.rules += [once(_manifest_create, "500-after"), always(_manifest_create, "status:503")]
    assert reg.register(model_name="m", model=b"two", serializer="bytes").version == "2"
    proxy.rules.clear()
    assert [v.version for v in _direct(s3_bucket).versions("m")] == ["1", "2"]


def _store(proxy: FaultProxy, bucket: dict[str, Any]) -> FsspecStore:
    return FsspecStore.from_url(bucket["url"], **proxy.options())


def test_a_create_that_failed_and_did_not_land_fails_as_it_did(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    proxy.rules.append(always(lambda m, p, h: m == "PUT" and p.endswith("/doc"), "status:503"))
    with pytest.raises(StoreError, match="creating doc failed") as failed:
        _store(proxy, s3_bucket).create("doc", b"mine")
    assert "unknown" not in str(failed.value)
    assert _keys(s3_bucket, "doc") == []


def test_a_create_that_failed_where_another_writer_landed_is_taken(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    def theirs_first(method: str, path: str, headers: Any) -> str | None:
        if method == "PUT" and path.endswith("/doc"):
            s3_bucket["client"].put_object(
                Bucket=s3_bucket["bucket"], Key="registry/doc", Body=b"theirs"
            )
            return "status:503"
        return None

    proxy.rules.append(theirs_first)
    with pytest.raises(FileExistsError):
        _store(proxy, s3_bucket).create("doc", b"mine")


def test_a_create_that_failed_and_cannot_be_read_back_says_its_outcome_is_unknown(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    on_doc = lambda m, p, h: p.split("?")[0].endswith("/doc")  # noqa: E731
    put = lambda m, p, h: m == "PUT" and on_doc(m, p, h)  # noqa: E731
    proxy.rules += [once(put, "500-after"), always(on_doc, "status:503")]
    with pytest.raises(StoreError, match=r"outcome is unknown.*before trying again"):
        _store(proxy, s3_bucket).create("doc", b"mine")
