"""What S3 costs and leaves behind: requests per check, spool files, open uploads.

Against moto's S3 server over HTTP, through s3fs, like every other S3 test. A multipart
upload that never completed is invisible to reads and listings but stored (and billed)
until aborted, so ``gc`` must find and abort those under the registry, and only those.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship._model_version import ArtifactRef
from modelship.registry import FsspecStore, GcReport, _store
from modelship.registry._integrity import read_verified, stored_damage
from modelship.registry._layout import blob_key
from modelship.testing import HookStore

FD_PATHS = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="open files have no /proc/self/fd path here"
)


def _start_upload(bucket: dict[str, Any], key: str) -> str:
    """Begin a multipart upload of ``key`` (a bucket key) with one part; its upload id."""
    client = bucket["client"]
    upload_id: str = client.create_multipart_upload(Bucket=bucket["bucket"], Key=key)["UploadId"]
    client.upload_part(
        Bucket=bucket["bucket"], Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024
    )
    return upload_id


def _open_uploads(bucket: dict[str, Any]) -> set[tuple[str, str]]:
    """(bucket key, upload id) of every multipart upload still open in the bucket."""
    listing = bucket["client"].list_multipart_uploads(Bucket=bucket["bucket"])
    return {(u["Key"], u["UploadId"]) for u in listing.get("Uploads", [])}


def _registry(bucket: dict[str, Any]) -> ms.Registry:
    return ms.open_registry(bucket["url"], **bucket["options"])


class _Requests:
    """Names of the S3 operations s3fs's client sends (one per HTTP request, retries too)."""

    def __init__(self, fs: Any) -> None:
        self.sent: list[str] = []
        self._events = fs.s3.meta.events

    def _seen(self, request: Any, **kwargs: Any) -> None:
        self.sent.append(kwargs["event_name"].rsplit(".", 1)[-1])

    def __enter__(self) -> _Requests:
        self._events.register("before-send.s3", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        self._events.unregister("before-send.s3", self._seen)


@pytest.fixture
def store(s3_bucket: dict[str, Any]) -> FsspecStore:
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    store.create("models/m/versions/1.json", b"{}")  # also connects s3fs's client
    return store


@pytest.fixture
def tmpdir_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that ``tempfile`` uses for this test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --- exists -------------------------------------------------------------------------------


@pytest.mark.s3
@pytest.mark.parametrize(
    ("key", "expected"),
    [("models/m/versions/2.json", False), ("models/m/versions/1.json", True), ("models/m", False)],
    ids=["missing-key", "present-key", "folder"],
)
def test_s3_exists_costs_one_request(store: FsspecStore, key: str, expected: bool) -> None:
    with _Requests(store.fs) as requests:
        assert store.exists(key) is expected
    assert requests.sent == ["HeadObject"]


@pytest.mark.s3
def test_s3_read_of_a_document_costs_one_request(store: FsspecStore) -> None:
    with _Requests(store.fs) as requests:
        assert store.read("models/m/versions/1.json") == b"{}"
    assert requests.sent == ["GetObject"]


@pytest.mark.s3
def test_s3_read_many_costs_one_request_per_key(store: FsspecStore) -> None:
    store.create("models/m/versions/2.json", b'{"n": 2}')
    keys = ["models/m/versions/1.json", "models/m/versions/2.json", "models/m/versions/3.json"]
    with _Requests(store.fs) as requests:
        got = store.read_many(keys)
    assert got == {keys[0]: b"{}", keys[1]: b'{"n": 2}'}
    assert sorted(requests.sent) == ["GetObject"] * 3


@pytest.mark.s3
def test_s3_reading_or_checking_a_blob_costs_one_head_and_one_get(store: FsspecStore) -> None:
    # The size comes from the HEAD that s3fs's open sends, not from a second HEAD.
    data = b"model bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    writer = store.blob_writer()
    writer.write(data)
    writer.publish(blob_key(digest))
    ref = ArtifactRef(digest, len(data), "bytes", "application/octet-stream")
    with _Requests(store.fs) as requests:
        assert read_verified(store, ref, "m 1") == data
    assert requests.sent == ["HeadObject", "GetObject"]
    with _Requests(store.fs) as requests:
        assert stored_damage(store, digest, len(data)) is None
    assert requests.sent == ["HeadObject", "GetObject"]


@pytest.mark.s3
def test_s3_a_blob_of_the_wrong_size_is_found_before_it_is_read(store: FsspecStore) -> None:
    data = b"model bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    store.create(blob_key(digest), b"damaged: longer than the model")
    ref = ArtifactRef(digest, len(data), "bytes", "application/octet-stream")
    with _Requests(store.fs) as requests:
        assert stored_damage(store, digest, len(data)) == "it holds 30 bytes, not 11"
    assert requests.sent == ["HeadObject"]
    with pytest.raises(ms.IntegrityError, match="holds 30 bytes"):
        read_verified(store, ref, "m 1")


class _FakeS3:
    """Just enough of s3fs for FsspecStore; subclasses answer ``call_s3``."""

    protocol = ("s3",)

    def split_path(self, path: str) -> tuple[str, str, None]:
        bucket, _, key = path.partition("/")
        return bucket, key, None


def test_s3_exists_turns_errors_other_than_not_found_into_store_errors() -> None:
    class Forbidden(_FakeS3):
        def call_s3(self, method: str, **kwargs: Any) -> Any:
            raise PermissionError(13, "Access Denied")

    store = FsspecStore(Forbidden(), "bucket/reg", url="s3://bucket/reg")
    with pytest.raises(
        ms.StoreError, match=r"checking k failed on s3://bucket/reg: .*Access Denied"
    ):
        store.exists("k")


# --- the spool file -----------------------------------------------------------------------


@FD_PATHS
def test_spool_file_has_no_name_in_the_temporary_folder(tmpdir_only: Path) -> None:
    store = FsspecStore.from_url("memory://spool-unnamed")
    writer = store.blob_writer()
    writer.write(b"staged bytes")
    assert os.listdir(tmpdir_only) == []
    assert writer.publish("blob") is True
    assert store.read("blob") == b"staged bytes"


@FD_PATHS
@pytest.mark.s3
def test_s3_upload_of_an_unnamed_spool_file_is_multipart_and_whole(
    store: FsspecStore, tmpdir_only: Path
) -> None:
    data = os.urandom(20 * 2**20)  # s3fs goes multipart from two parts: 4 of 5 MiB here
    writer = store.blob_writer()
    for start in range(0, len(data), 2**20):
        writer.write(data[start : start + 2**20])
    assert os.listdir(tmpdir_only) == []
    with _Requests(store.fs) as requests:
        assert writer.publish("blobs/big") is True
    assert requests.sent == [
        "HeadObject",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
    ]
    assert store.read("blobs/big") == data


@pytest.mark.parametrize("end", ["publish", "discard"])
def test_spool_file_without_fd_paths_is_named_and_removed_on(
    end: str, tmpdir_only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_store, "_FD_PATHS", False)
    store = FsspecStore.from_url(f"memory://spool-named-{end}")
    writer = store.blob_writer()
    writer.write(b"staged bytes")
    assert [p.name.startswith("modelship-") for p in tmpdir_only.iterdir()] == [True]
    if end == "publish":
        assert writer.publish("blob") is True
        assert store.read("blob") == b"staged bytes"
    else:
        writer.discard()
        assert not store.exists("blob")
    assert os.listdir(tmpdir_only) == []


# --- incomplete multipart uploads ---------------------------------------------------------


@pytest.mark.s3
def test_gc_aborts_an_incomplete_upload_under_the_registry_and_reports_it(
    s3_bucket: dict[str, Any],
) -> None:
    reg = _registry(s3_bucket)
    upload_id = _start_upload(s3_bucket, "registry/blobs/sha256/ab/abc")

    report = reg.gc(grace_seconds=0)

    assert report.uploads == (f"blobs/sha256/ab/abc?uploadId={upload_id}",)
    assert report.removed == 1
    assert _open_uploads(s3_bucket) == set()


@pytest.mark.s3
def test_gc_keeps_an_incomplete_upload_younger_than_the_grace_period(
    s3_bucket: dict[str, Any],
) -> None:
    reg = _registry(s3_bucket)
    upload_id = _start_upload(s3_bucket, "registry/blobs/sha256/ab/abc")

    report = reg.gc()  # one hour: the upload may be a registration in flight

    assert report.uploads == ()
    assert _open_uploads(s3_bucket) == {("registry/blobs/sha256/ab/abc", upload_id)}


@pytest.mark.s3
def test_gc_never_touches_uploads_outside_the_registry_prefix(s3_bucket: dict[str, Any]) -> None:
    reg = _registry(s3_bucket)
    outside = {
        (key, _start_upload(s3_bucket, key)) for key in ("registry-other/blob", "elsewhere/blob")
    }
    inside = _start_upload(s3_bucket, "registry/blobs/sha256/ab/abc")

    report = reg.gc(grace_seconds=0)

    assert report.uploads == (f"blobs/sha256/ab/abc?uploadId={inside}",)
    assert _open_uploads(s3_bucket) == outside


@pytest.mark.s3
def test_gc_dry_run_reports_an_incomplete_upload_and_keeps_it(s3_bucket: dict[str, Any]) -> None:
    reg = _registry(s3_bucket)
    upload_id = _start_upload(s3_bucket, "registry/blobs/sha256/ab/abc")

    report = reg.gc(grace_seconds=0, dry_run=True)

    assert report.uploads == (f"blobs/sha256/ab/abc?uploadId={upload_id}",)
    assert report.dry_run
    assert _open_uploads(s3_bucket) == {("registry/blobs/sha256/ab/abc", upload_id)}


@pytest.mark.s3
def test_abort_of_an_upload_that_is_gone_already_is_not_an_error(
    s3_bucket: dict[str, Any], store: FsspecStore
) -> None:
    _start_upload(s3_bucket, "registry/blobs/sha256/ab/abc")
    [upload] = store.incomplete_uploads(before=time.time() + 1)
    store.abort_upload(upload)
    store.abort_upload(upload)
    assert store.incomplete_uploads(before=time.time() + 1) == []


def test_incomplete_uploads_follow_every_page_of_the_listing() -> None:
    pages = {
        (): {
            "Uploads": [{"Key": "reg/a", "UploadId": "1", "Initiated": _at(10)}],
            "IsTruncated": True,
            "NextKeyMarker": "reg/a",
            "NextUploadIdMarker": "1",
        },
        ("reg/a", "1"): {
            "Uploads": [
                {"Key": "reg/b", "UploadId": "2", "Initiated": _at(20)},
                {"Key": "reg/c", "UploadId": "3", "Initiated": _at(30)},
            ],
            "IsTruncated": False,
        },
    }

    class Paged(_FakeS3):
        def call_s3(self, method: str, **kwargs: Any) -> Any:
            assert (method, kwargs["Bucket"], kwargs["Prefix"]) == (
                "list_multipart_uploads",
                "bucket",
                "reg/",
            )
            return pages[tuple(kwargs[k] for k in ("KeyMarker", "UploadIdMarker") if k in kwargs)]

    store = FsspecStore(Paged(), "bucket/reg", url="s3://bucket/reg")
    assert store.incomplete_uploads(before=25) == ["a?uploadId=1", "b?uploadId=2"]


def _at(timestamp: float) -> Any:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(timestamp, timezone.utc)


def test_gc_of_a_store_without_upload_listing_reports_no_uploads() -> None:
    inner = FsspecStore.from_url("memory://gc-custom-store")
    reg = ms.Registry(HookStore(inner))  # a custom Store: the upload methods are optional
    reg.register(model_name="m", model=b"x", serializer="bytes")
    assert not hasattr(reg.store, "incomplete_uploads")
    assert reg.gc(grace_seconds=0) == GcReport()


def _open_then_change(store: FsspecStore, bucket: dict[str, Any]) -> Any:
    """A blob of three chunks, open and read 10 bytes in, then replaced by other bytes."""
    writer = store.blob_writer()
    writer.write(b"x" * (_store.CHUNK * 2 + 5))
    writer.publish("blobs/a")
    f = store.open_blob("blobs/a")
    assert f.read(10) == b"x" * 10
    bucket["client"].put_object(Bucket=bucket["bucket"], Key="registry/blobs/a", Body=b"other")
    return f


@pytest.mark.s3
def test_s3_a_blob_replaced_under_its_reader_is_a_store_error_that_says_so(
    s3_bucket: dict[str, Any],
) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    with _open_then_change(store, s3_bucket) as f, pytest.raises(ms.StoreError) as caught:
        f.read()
    assert "was replaced while it was being read: read it again" in str(caught.value)


@pytest.mark.s3
def test_s3_a_blob_deleted_under_its_reader_is_missing_not_a_store_error(
    s3_bucket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # s3fs raises FileExpired when the object's ETag changed since it was opened; a delete
    # racing the read came out so now and then (the store suite's publish check saw a
    # StoreError where "missing" is the answer). The interleaving, made certain: the
    # object changes, its read fails, and it is deleted before the store looks again.
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    looked = store.fs.invalidate_cache

    def deleted_first(path: str | None = None) -> None:
        s3_bucket["client"].delete_object(Bucket=s3_bucket["bucket"], Key="registry/blobs/a")
        looked(path)

    with _open_then_change(store, s3_bucket) as f:
        monkeypatch.setattr(store.fs, "invalidate_cache", deleted_first)
        with pytest.raises(FileNotFoundError, match="deleted while it was being read"):
            f.read()
