"""S3 failures a real network brings, against moto's S3 server through a fault proxy.

Replies lost after S3 acted, bodies cut halfway, missing buckets, odd registry prefixes,
huge documents, conflicting uploads and hanging servers: each must end in the outcome
that really happened, or in a :class:`~modelship.errors.ModelshipError` that says what
failed, never in a raw exception or a wrong answer.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _s3_faults import FaultProxy, always, once

import modelship as ms
from modelship.cli import main
from modelship.errors import IntegrityError, StoreError
from modelship.registry import FsspecStore, _store

pytestmark = pytest.mark.s3


@pytest.fixture
def proxy(s3_server: dict[str, Any]) -> Iterator[FaultProxy]:
    started = FaultProxy(s3_server["endpoint"])
    yield started
    started.stop()


def _through(proxy: FaultProxy, bucket: dict[str, Any], **options: Any) -> ms.Registry:
    """The registry of ``bucket``, every request of it passing through ``proxy``."""
    return ms.open_registry(bucket["url"], **proxy.options(**options))


def _direct(bucket: dict[str, Any]) -> ms.Registry:
    return ms.open_registry(bucket["url"], **bucket["options"])


def _create_of(part: str) -> Any:
    """Matches the conditional PUT (If-None-Match: *) of a key whose path holds ``part``."""
    return lambda method, path, headers: (
        method == "PUT" and part in path and headers.get("If-None-Match") == "*"
    )


LOST_REPLIES = pytest.mark.parametrize("lost", ["500-after", "drop-after"])


# --- 1. a create that landed, its reply lost ------------------------------------------


@LOST_REPLIES
def test_s3_create_whose_reply_is_lost_commits_one_version(
    proxy: FaultProxy, s3_bucket: dict[str, Any], lost: str
) -> None:
    reg = _through(proxy, s3_bucket)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    proxy.rules.append(once(_create_of("/versions/"), lost))
    assert reg.register(model_name="m", model=b"two", serializer="bytes").version == "2"
    assert [v.version for v in _direct(s3_bucket).versions("m")] == ["1", "2"]


def test_s3_explicit_version_whose_reply_is_lost_is_returned_not_refused(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    reg = _through(proxy, s3_bucket)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    proxy.rules.append(once(_create_of("/versions/"), "500-after"))
    mv = reg.register(model_name="m", model=b"two", serializer="bytes", version="7")
    assert mv.version == "7"
    assert [v.version for v in _direct(s3_bucket).versions("m")] == ["1", "7"]


def test_s3_alias_move_whose_reply_is_lost_reports_the_move(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    reg = _through(proxy, s3_bucket)
    for model in (b"one", b"two"):
        reg.register(model_name="m", model=model, serializer="bytes")
    reg.set_alias("m", "production", "1")
    proxy.rules.append(once(_create_of("/aliases/"), "500-after"))
    reg.set_alias("m", "production", "2", expected="1")
    history = [(h.from_version, h.to_version) for h in _direct(s3_bucket).history("m")]
    assert history == [(None, "1"), ("1", "2")]


def test_s3_tag_change_whose_reply_is_lost_reports_the_change(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    reg = _through(proxy, s3_bucket)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    proxy.rules.append(once(_create_of("/tags/"), "500-after"))
    reg.set_tag("m", "1", "stage", "prod", expected=None)
    assert _direct(s3_bucket).tags("m", "1") == {"stage": "prod"}


def test_s3_write_probe_whose_reply_is_lost_lets_the_registry_write(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    proxy.rules.append(once(_create_of("/.probe/"), "500-after"))
    reg = _through(proxy, s3_bucket)
    assert reg.register(model_name="m", model=b"one", serializer="bytes").version == "1"
    probes = s3_bucket["client"].list_objects_v2(Bucket=s3_bucket["bucket"], Prefix="registry/.p")
    assert probes.get("KeyCount", 0) == 0


def test_s3_create_of_a_key_holding_other_bytes_is_refused(s3_bucket: dict[str, Any]) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    store.create("k", b"first")
    with pytest.raises(FileExistsError):
        store.create("k", b"second")
    assert store.read("k") == b"first"


# --- 2. a connection cut in the middle of a body --------------------------------------


def _blob_get(method: str, path: str, headers: Any) -> bool:
    return method == "GET" and "/blobs/" in path


@pytest.fixture
def cut_reads(proxy: FaultProxy, s3_bucket: dict[str, Any]) -> ms.Registry:
    """A registry holding m 1 (1 MiB), read through ``proxy``, which cuts every blob body."""
    _direct(s3_bucket).register(model_name="m", model=os.urandom(2**20), serializer="bytes")
    proxy.rules.append(always(_blob_get, "truncate:1000"))
    return _through(proxy, s3_bucket)


@pytest.mark.parametrize("read", ["download", "load", "verify"])
def test_s3_body_cut_midway_raises_store_error(
    cut_reads: ms.Registry, tmp_path: Path, read: str
) -> None:
    calls = {
        "download": lambda: cut_reads.download("m", "1", tmp_path / "m.bin"),
        "load": lambda: cut_reads.load("m", "1"),
        "verify": lambda: cut_reads.verify("m", "1"),
    }
    with pytest.raises(StoreError, match="ClientPayloadError"):
        calls[read]()
    assert list(tmp_path.iterdir()) == []


def test_s3_copy_of_a_blob_cut_midway_raises_store_error(
    cut_reads: ms.Registry, tmp_path: Path
) -> None:
    with pytest.raises(StoreError):
        ms.copy_registry(cut_reads, ms.open_registry(str(tmp_path / "copy")))


def test_cli_download_of_a_body_cut_midway_exits_2_with_a_message(
    cut_reads: ms.Registry,
    s3_bucket: dict[str, Any],
    proxy: FaultProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MODELSHIP_S3_ENDPOINT_URL", proxy.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    argv = ["registry", "download", s3_bucket["url"], "m", "1", "-o", str(tmp_path / "m.bin")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "StoreError" in err
    assert "Traceback" not in err


# --- 3. a bucket that does not exist ---------------------------------------------------


def test_s3_register_into_a_missing_bucket_raises_store_error_naming_it(
    s3_server: dict[str, Any],
) -> None:
    reg = ms.open_registry("s3://no-such-bucket-stop31/registry", **s3_server["options"])
    with pytest.raises(StoreError, match="bucket 'no-such-bucket-stop31' does not exist"):
        reg.register(model_name="m", model=b"x", serializer="bytes")


def test_s3_store_writes_into_a_missing_bucket_raise_store_error(
    s3_server: dict[str, Any],
) -> None:
    store = FsspecStore.from_url("s3://no-such-bucket-stop31/registry", **s3_server["options"])
    with pytest.raises(StoreError, match="does not exist"):
        store.create("k", b"x")
    with pytest.raises(StoreError, match="does not exist"):
        store.replace("k", b"x")
    writer = store.blob_writer()
    writer.write(b"x")
    with pytest.raises(StoreError, match="does not exist"):
        writer.publish("blobs/k")


def test_cli_copy_into_a_missing_bucket_exits_2_with_a_message(
    s3_server: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ms.open_registry(str(tmp_path / "src")).register(model_name="m", model=b"x", serializer="bytes")
    monkeypatch.setenv("MODELSHIP_S3_ENDPOINT_URL", s3_server["endpoint"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert main(["registry", "copy", str(tmp_path / "src"), "s3://no-such-bucket-stop31/r"]) == 2
    err = capsys.readouterr().err
    assert "bucket 'no-such-bucket-stop31' does not exist" in err
    assert "Traceback" not in err


# --- 4. gc of a registry at the root of a bucket --------------------------------------


def _upload(bucket: dict[str, Any], key: str) -> str:
    """Begin a multipart upload of the bucket key ``key``; its upload id."""
    client = bucket["client"]
    upload_id: str = client.create_multipart_upload(Bucket=bucket["bucket"], Key=key)["UploadId"]
    return upload_id


def test_s3_gc_at_a_bucket_root_aborts_only_the_registrys_uploads(
    s3_bucket: dict[str, Any],
) -> None:
    reg = ms.open_registry(f"s3://{s3_bucket['bucket']}", **s3_bucket["options"])
    reg.register(model_name="m", model=b"x", serializer="bytes")
    other = _upload(s3_bucket, "datasets/2026/huge.parquet")
    ours = _upload(s3_bucket, "blobs/sha256/ab/abc")

    report = reg.gc(grace_seconds=0)

    assert report.uploads == (f"blobs/sha256/ab/abc?uploadId={ours}",)
    listing = s3_bucket["client"].list_multipart_uploads(Bucket=s3_bucket["bucket"])
    assert [(u["Key"], u["UploadId"]) for u in listing["Uploads"]] == [
        ("datasets/2026/huge.parquet", other)
    ]


# --- 5. a registry prefix holding glob characters ----------------------------------------


@pytest.mark.parametrize("prefix", ["team[a]/models*", "star*[1]", "q?x"])
def test_s3_registry_under_a_prefix_with_glob_characters_lists_and_collects(
    s3_bucket: dict[str, Any], prefix: str
) -> None:
    reg = ms.open_registry(f"s3://{s3_bucket['bucket']}/{prefix}", **s3_bucket["options"])
    for model in (b"one", b"two"):
        reg.register(model_name="m", model=model, serializer="bytes")
    assert [v.version for v in reg.versions("m")] == ["1", "2"]
    assert [v.version for v in reg.versions("m", limit=5, order="newest")] == ["2", "1"]
    assert reg.gc(dry_run=True).dead_slots == ()


def test_s3_read_many_reads_keys_as_written_not_as_patterns(s3_bucket: dict[str, Any]) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    store.create("a*", b"star")
    store.create("a1", b"one")
    assert store.read_many(["a*", "a[1]", "a?"]) == {"a*": b"star"}


# --- 6. a document key holding a huge object ------------------------------------------


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> int:
    """Documents capped at 1,000 bytes, so that a "huge" one is 1 MiB."""
    monkeypatch.setattr(_store, "MAX_DOCUMENT", 1000)
    monkeypatch.setattr(_store, "_DOCUMENT_RANGE", 1001, raising=False)
    return 1000


def test_s3_document_reads_never_ask_for_more_than_the_cap(
    proxy: FaultProxy, s3_bucket: dict[str, Any], small_cap: int
) -> None:
    ranges: list[str | None] = []
    proxy.rules.append(lambda method, path, headers: ranges.append(headers.get("Range")))
    store = FsspecStore.from_url(s3_bucket["url"], **proxy.options())
    huge = s3_bucket["url"].split("/", 3)[3] + "/huge.json"
    s3_bucket["client"].put_object(Bucket=s3_bucket["bucket"], Key=huge, Body=b"x" * 2**20)
    with pytest.raises(IntegrityError, match="holds more than"):
        store.read("huge.json")
    with pytest.raises(IntegrityError, match="holds more than"):
        store.read_many(["huge.json"])
    assert ranges == [f"bytes=0-{small_cap}"] * 2


def test_s3_an_empty_document_reads_as_no_bytes(s3_bucket: dict[str, Any]) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    empty = s3_bucket["url"].split("/", 3)[3] + "/empty.json"
    s3_bucket["client"].put_object(Bucket=s3_bucket["bucket"], Key=empty, Body=b"")
    assert store.read("empty.json") == b""
    assert store.read_many(["empty.json", "missing.json"]) == {"empty.json": b""}


# --- 7. 409 ConditionalRequestConflict on an artifact upload --------------------------


def _blob_upload(multipart: bool) -> Any:
    """Matches the conditional PUT of a blob, or the completion of its multipart upload."""
    if multipart:
        return lambda method, path, headers: (
            method == "POST" and "/blobs/" in path and "uploadId=" in path
        )
    return _create_of("/blobs/")


@pytest.mark.parametrize("multipart", [False, True], ids=["put", "multipart"])
def test_s3_artifact_upload_answered_409_is_tried_again(
    proxy: FaultProxy, s3_bucket: dict[str, Any], multipart: bool
) -> None:
    reg = _through(proxy, s3_bucket)
    model = os.urandom(11 * 2**20) if multipart else b"same bytes"
    proxy.rules.append(once(_blob_upload(multipart), "status:409"))
    mv = reg.register(model_name="m", model=model, serializer="bytes")
    assert any(action == "status:409" for *_, action in proxy.log)
    assert _direct(s3_bucket).load("m", mv.version) == model
    listing = s3_bucket["client"].list_multipart_uploads(Bucket=s3_bucket["bucket"])
    assert listing.get("Uploads", []) == []


# --- 8. retries and timeouts that do not multiply -------------------------------------


def test_s3_store_gets_bounded_retries_and_timeouts_by_default(s3_bucket: dict[str, Any]) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    assert store.fs.retries == _store.S3_RETRIES == 1
    assert store.fs.config_kwargs == _store.S3_CONFIG


def test_s3_storage_options_given_win_over_the_defaults(s3_bucket: dict[str, Any]) -> None:
    options = {**s3_bucket["options"], "retries": 4, "config_kwargs": {"read_timeout": 99}}
    store = FsspecStore.from_url(s3_bucket["url"], **options)
    assert store.fs.retries == 4
    assert store.fs.config_kwargs == {**_store.S3_CONFIG, "read_timeout": 99}


def test_aws_retry_variables_win_over_the_default_retries(
    s3_bucket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    assert "retries" not in store.fs.config_kwargs


def test_s3_retries_below_one_raise_config_error(s3_bucket: dict[str, Any]) -> None:
    with pytest.raises(ms.ConfigError, match="retries"):
        FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"], retries=0)


def test_s3_a_silent_server_is_given_up_on_after_few_tries(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    # One second of silence instead of 15, so that the tries are counted quickly.
    options = proxy.options(config_kwargs={"read_timeout": 1})
    store = FsspecStore.from_url(s3_bucket["url"], **options)
    proxy.rules.append(always(lambda *request: True, "hang"))
    began = time.monotonic()
    with pytest.raises(StoreError, match="ReadTimeoutError"):
        store.read("k")
    assert time.monotonic() - began < 10  # 3 tries of 1 s; were 5 x 5 x 5
    assert len(proxy.log) == 3


def test_s3_connection_resets_cost_few_requests(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **proxy.options())
    proxy.rules.append(always(lambda *request: True, "drop-before"))
    with pytest.raises(StoreError, match="ConnectionClosedError"):
        store.read("k")
    # 3 tries, each of which aiohttp may send again on a fresh connection; 250 for one
    # get() before.
    assert len(proxy.log) <= 6


def test_docs_state_the_s3_defaults_the_code_has() -> None:
    text = (Path(__file__).parents[2] / "docs" / "registry.md").read_text()
    assert f"| `retries` | `{_store.S3_RETRIES}` |" in text
    for key in ("connect_timeout", "read_timeout"):
        assert f'| `config_kwargs["{key}"]` | `{_store.S3_CONFIG[key]}` |' in text
    assert f'| `config_kwargs["retries"]` | `{json.dumps(_store.S3_CONFIG["retries"])}` |' in text


# --- second look ----------------------------------------------------------------------


def test_s3_create_whose_reply_is_lost_and_cannot_be_read_back_is_not_called_taken(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    # The read-back failing counted as "taken": register() went on to the next number and
    # committed the same model twice. Neither answer is known: the caller is told so.
    reg = _through(proxy, s3_bucket)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    armed = {"on": False}

    def create_manifest(method: str, path: str, headers: Any) -> bool:
        hit = _create_of("/versions/")(method, path, headers)
        armed["on"] = armed["on"] or hit
        return bool(hit)

    def read_manifest(method: str, path: str, headers: Any) -> bool:
        return armed["on"] and method == "GET" and "/versions/2.json" in path

    proxy.rules.append(once(create_manifest, "500-after"))
    proxy.rules.append(always(read_manifest, "status:503"))
    with pytest.raises(StoreError, match="reading it back failed"):
        reg.register(model_name="m", model=b"two", serializer="bytes")
    proxy.rules.clear()
    assert [v.version for v in _direct(s3_bucket).versions("m")] == ["1", "2"]


def test_s3_error_codes_are_not_read_from_a_key_in_a_message(
    proxy: FaultProxy, s3_bucket: dict[str, Any]
) -> None:
    # botocore's network errors name the URL: a model named InvalidRange made a dropped
    # connection an empty document (the 416 rule), so get() called the registry damaged.
    _direct(s3_bucket).register(model_name="InvalidRange", model=b"x", serializer="bytes")
    reg = _through(proxy, s3_bucket)
    proxy.rules.append(
        always(lambda m, p, h: m == "GET" and "/versions/1.json" in p, "drop-before")
    )
    with pytest.raises(StoreError, match="Connection"):
        reg.store.read("models/InvalidRange/versions/1.json")


def test_s3_two_markers_alike_are_not_both_their_writers(s3_bucket: dict[str, Any]) -> None:
    # "Equal bytes are this writer's" told two purges by one user in one microsecond that
    # each had made the purge marker; each marker now holds a nonce of its own.
    from modelship.registry._layout import state_key
    from modelship.registry._signing import Signer
    from modelship.registry._states import mark

    store = _direct(s3_bucket).store
    key = state_key("m", "purged", "1")
    assert [mark(store, key, {"by": "ana", "at": "t"}, Signer(None)) for _ in range(2)] == [
        True,
        False,
    ]


def test_s3_tries_are_the_stores_own_and_survive_pickling(s3_bucket: dict[str, Any]) -> None:
    # s3fs takes its tries as an attribute, set on fsspec's shared instance: a second
    # registry with other tries changed the first's, and a pickled store came back with
    # s3fs's 5.
    import pickle

    first = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"], retries=4)
    second = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    assert (first.fs.retries, second.fs.retries) == (4, 1)
    assert pickle.loads(pickle.dumps(first)).fs.retries == 4


def test_s3_copy_of_a_blob_deleted_while_it_is_read_is_an_integrity_error(
    s3_bucket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gc or purge of the source deleting the blob mid-read let s3fs's raw
    # FileNotFoundError out of copy_registry.
    from modelship._hashing import CHUNK
    from modelship.registry import copy_registry
    from modelship.registry._integrity import GuardedFile

    source = ms.open_registry(s3_bucket["url"] + "/src", **s3_bucket["options"])
    target = ms.open_registry(s3_bucket["url"] + "/dst", **s3_bucket["options"])
    source.register(model_name="m", model=os.urandom(3 * CHUNK + 1), serializer="bytes")
    client, bucket, reads = s3_bucket["client"], s3_bucket["bucket"], [0]
    read = GuardedFile.readinto

    def deleted_after_the_first_piece(self: GuardedFile, buffer: Any) -> int:
        reads[0] += 1
        if reads[0] == 2:
            for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
                if "/src/blobs/" in "/" + item["Key"]:
                    client.delete_object(Bucket=bucket, Key=item["Key"])
        return read(self, buffer)

    monkeypatch.setattr(GuardedFile, "readinto", deleted_after_the_first_piece)
    with pytest.raises(IntegrityError, match="deleted from the source"):
        copy_registry(source, target)


@pytest.mark.parametrize("inside", ["", "/models"])
def test_s3_registry_is_not_copied_into_itself(s3_bucket: dict[str, Any], inside: str) -> None:
    # With an s3fs object per registry, "one place" was told by object identity and
    # never matched: an S3 registry was copied into its own models/ folder.
    from modelship.registry import copy_registry

    source = _direct(s3_bucket)
    source.register(model_name="m", model=b"one", serializer="bytes")
    target = ms.open_registry(s3_bucket["url"] + inside, **s3_bucket["options"])
    with pytest.raises(ms.ConfigError, match="one registry lies inside the other"):
        copy_registry(source, target)
